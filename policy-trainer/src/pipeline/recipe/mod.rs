//! `r1-train recipe`: DeepSeek-R1's pipeline from one config. Stages run in order, each into its
//! own folder under the recipe's output: SFT (cold start, or SFT on rejection samples), GRPO
//! (R1-Zero, reasoning RL, all-scenario RL with a judge), rejection sampling, distillation
//! (teacher samples → SFT of a student of another size) and evaluation. A stage that finished
//! (its `stage.json` is written last) is skipped on the next run; an interrupted one resumes
//! from its newest checkpoint. The run ends with a per-stage table and `recipe.png`.

mod config;
mod report;
mod stages;

pub use config::{
    DistillStage, EvalOptions, EvalStage, GrpoStage, RecipeConfig, SampleStage, SftStage, Stage,
    StageKind, Student, DEFAULT_RECIPE,
};
pub use report::{table, StageReport, REWARD_WINDOW};

use crate::error::TrainError;
use crate::model::weights::write_synced;
use crate::pipeline::progress::{Event, Progress};
use crate::train::plot::{plot_panels, Panel};
use report::panels;
use stages::StageRun;
use std::path::Path;
use std::time::Instant;

/// Run every stage in order (skipping complete ones); returns their reports.
pub fn run(config: &RecipeConfig, progress: &dyn Progress) -> Result<Vec<StageReport>, TrainError> {
    std::fs::create_dir_all(&config.output).map_err(|e| TrainError::io(&config.output, e))?;
    let mut reports = Vec::new();
    for (i, stage) in config.stages.iter().enumerate() {
        let (index, count, name) = (i + 1, config.stages.len(), stage.name());
        let dir = config.stage_dir(name);
        let resolved = serde_json::json!({
            "stage": stage,
            "trainer": config.train_config(stage, dir.clone()),
        });
        let mut report = match finished(&dir, &resolved, name)? {
            Some(mut report) => {
                progress.event(&Event::StageSkipped { index, count, name });
                report.skipped = true;
                report
            }
            None => {
                let kind = serde_json::to_value(stage.kind()).unwrap_or_default();
                progress.event(&Event::StageStarted {
                    index,
                    count,
                    name,
                    kind: kind.as_str().unwrap_or(""),
                    from: stage.from(),
                });
                let report = run_stage(config, stage, &dir, resolved, progress)?;
                let row = table(std::slice::from_ref(&report));
                progress.event(&Event::StageFinished(&row));
                report
            }
        };
        report.panels = panels(config, stage);
        reports.push(report);
    }
    let all: Vec<Panel> = reports.iter().flat_map(|r| r.panels.clone()).collect();
    if !all.is_empty() {
        plot_panels(&all, 3, &config.output.join("recipe.png"))?;
    }
    let path = config.output.join("summary.json");
    let summary = serde_json::to_string_pretty(&reports).map_err(|e| TrainError::json(&path, e))?;
    write_synced(&path, summary.as_bytes())?;
    Ok(reports)
}

/// The report of a stage that completed before, if it did with the same configuration.
fn finished(
    dir: &Path,
    resolved: &serde_json::Value,
    name: &str,
) -> Result<Option<StageReport>, TrainError> {
    let path = dir.join("stage.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let report: StageReport =
        serde_json::from_str(&text).map_err(|e| TrainError::json(&path, e))?;
    if report.config != *resolved {
        return Err(TrainError::Conflict(format!(
            "stage {name:?} finished with a different configuration ({}); delete that folder or choose another output",
            dir.display()
        )));
    }
    Ok(Some(report))
}

/// Run a stage and write its report last, renamed into place: its presence means the stage is
/// complete.
fn run_stage(
    config: &RecipeConfig,
    stage: &config::Stage,
    dir: &Path,
    resolved: serde_json::Value,
    progress: &dyn Progress,
) -> Result<StageReport, TrainError> {
    let started = Instant::now();
    let run = StageRun {
        recipe: config,
        stage,
        dir,
        progress,
    };
    let mut report = run.run()?;
    report.seconds = started.elapsed().as_secs_f64();
    report.config = resolved;
    let path = dir.join("stage.json");
    let json = serde_json::to_string_pretty(&report).map_err(|e| TrainError::json(&path, e))?;
    let tmp = dir.join(".stage.json.tmp");
    write_synced(&tmp, json.as_bytes())?;
    std::fs::rename(&tmp, &path).map_err(|e| TrainError::io(&path, e))?;
    Ok(report)
}
