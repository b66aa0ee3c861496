//! `metrics.jsonl`: one JSON object per step, flushed as written. On resume, lines past the
//! checkpoint are dropped so the file matches the restored state.

use crate::error::TrainError;
use crate::train::run_dir::Phase;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Metrics {
    path: PathBuf,
    file: std::fs::File,
}

impl Metrics {
    pub fn open(root: &Path, keep_until: Option<(Phase, usize)>) -> Result<Metrics, TrainError> {
        let path = root.join("metrics.jsonl");
        let kept: Vec<String> = match (std::fs::read_to_string(&path), keep_until) {
            (Ok(text), Some((phase, step))) => text
                .lines()
                .filter(|line| kept_on_resume(line, phase, step))
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        let mut file = std::fs::File::create(&path).map_err(|e| TrainError::io(&path, e))?;
        for line in kept {
            writeln!(file, "{line}").map_err(|e| TrainError::io(&path, e))?;
        }
        Ok(Metrics { path, file })
    }

    /// One line in one `write` call: formatting straight into the file wrote a record in many
    /// small pieces, so a reader (a dashboard, a test polling the run) could see half a line.
    pub fn write(&mut self, record: &serde_json::Value) -> Result<(), TrainError> {
        let line = format!("{record}\n");
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.flush())
            .map_err(|e| TrainError::io(&self.path, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether a metrics line belongs to the state restored at (`phase`, `step`).
fn kept_on_resume(line: &str, phase: Phase, step: usize) -> bool {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
        return false;
    };
    let line_phase = value["phase"].as_str().unwrap_or("");
    let line_step = value["step"].as_u64().unwrap_or(u64::MAX) as usize;
    match phase {
        Phase::Sft => line_phase == "sft" && line_step <= step,
        Phase::Grpo => line_phase == "sft" || line_step <= step,
    }
}
