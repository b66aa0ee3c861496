//! `r1-train` as a user runs it: a run killed with SIGKILL mid-training resumes from its last
//! checkpoint, losing at most one step, and ends with exactly the weights of an uninterrupted
//! run; bad configs and misuse are clear errors.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_r1-train");

/// A short cold start + GRPO run that checkpoints every step.
fn config(output: &Path) -> String {
    policy_trainer::pipeline::config::DEFAULT_GRPO
        .replace(
            "output = \"runs/grpo\"",
            &format!("output = {:?}", output.display().to_string()),
        )
        .replace("checkpoint_every = 25", "checkpoint_every = 1")
        .replace("steps = 200", "steps = 6")
        .replace("steps = 80", "steps = 10")
        .replace("eval_every = 20", "eval_every = 0")
        .replace("eval_size = 100", "eval_size = 20")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("r1-resume-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn train(config_path: &Path, resume: bool) -> std::process::Output {
    let mut command = Command::new(BINARY);
    command.args(["grpo", "--config"]).arg(config_path);
    if resume {
        command.arg("--resume");
    }
    command.output().unwrap()
}

fn metrics_steps(dir: &Path) -> Vec<(String, u64)> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["phase"].as_str().unwrap().to_string(),
                v["step"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn newest_checkpoint(dir: &Path) -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("checkpoint-"))
        .collect();
    names.sort();
    names.pop()
}

fn weights(dir: &Path) -> Vec<(String, Vec<f32>)> {
    let tensors = candle_core::safetensors::load(
        dir.join("final/model.safetensors"),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    let mut out: Vec<(String, Vec<f32>)> = tensors
        .into_iter()
        .map(|(n, t)| (n, t.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn kill_9_then_resume_matches_an_uninterrupted_run() {
    let root = scratch("kill");
    let (straight, killed) = (root.join("straight"), root.join("killed"));
    for dir in [&straight, &killed] {
        std::fs::write(dir.with_extension("toml"), config(dir)).unwrap();
    }
    let output = train(&straight.with_extension("toml"), false);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Kill the second run with SIGKILL once it is a few GRPO steps in.
    let mut child = Command::new(BINARY)
        .args(["grpo", "--config"])
        .arg(killed.with_extension("toml"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while !metrics_steps(&killed).contains(&("grpo".to_string(), 4)) {
        assert!(
            Instant::now() < deadline,
            "the run never reached GRPO step 4"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let logged = metrics_steps(&killed);
    let last_logged = logged
        .iter()
        .filter(|(p, _)| p == "grpo")
        .map(|(_, s)| *s)
        .max()
        .unwrap();
    let checkpoint = newest_checkpoint(&killed).unwrap();
    let saved: u64 = checkpoint.rsplit('-').next().unwrap().parse().unwrap();
    assert!(checkpoint.starts_with("checkpoint-grpo-"), "{checkpoint}");
    assert!(
        last_logged - saved <= 1,
        "lost more than one step: logged {last_logged}, saved {saved}"
    );
    assert!(!killed.join("final").exists());

    let output = train(&killed.with_extension("toml"), true);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("resuming from"));
    assert_eq!(metrics_steps(&killed), metrics_steps(&straight));
    assert_eq!(weights(&killed), weights(&straight));
    assert!(killed.join("curves.png").exists());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn misuse_is_refused_with_a_clear_message() {
    let root = scratch("misuse");
    let run = root.join("run");
    let config_path = run.with_extension("toml");
    // Resume with nothing to resume.
    std::fs::write(&config_path, config(&run)).unwrap();
    let output = train(&config_path, true);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no checkpoint"));
    // A config error names the problem and exits 2.
    std::fs::write(
        &config_path,
        config(&run).replace("group_size = 8", "group_size = 1"),
    )
    .unwrap();
    let output = train(&config_path, false);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("group_size >= 2"));
    std::fs::write(&config_path, "seed = \"zero\"").unwrap();
    let output = train(&config_path, false);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("seed"));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn sft_reads_jsonl_data_and_names_a_bad_line() {
    let root = scratch("jsonl");
    let data = root.join("train.jsonl");
    let lines: Vec<String> = (0..40)
        .map(|i| {
            serde_json::json!({"prompt": format!("echo {i}"), "completion": format!("\\boxed{{{i}}}")})
                .to_string()
        })
        .collect();
    std::fs::write(&data, lines.join("\n")).unwrap();
    let run = root.join("run");
    let config = format!(
        "output = {:?}\ncheckpoint_every = 0\n[model]\nsource = \"toy\"\n[data]\ntrain = {:?}\n[sft]\nsteps = 3\nbatch_size = 8\noptimizer = {{ lr = 1e-3 }}\n",
        run.display().to_string(),
        data.display().to_string()
    );
    let config_path = root.join("sft.toml");
    std::fs::write(&config_path, &config).unwrap();
    let output = Command::new(BINARY)
        .args(["sft", "--config"])
        .arg(&config_path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(metrics_steps(&run).len(), 3);
    assert!(run.join("final/model.safetensors").exists());
    // A malformed line is reported with its file and line number, and nothing is trained.
    std::fs::write(&data, format!("{}\n{{\"prompt\": 3}}\n", lines[0])).unwrap();
    let config = config.replace(
        &run.display().to_string(),
        &root.join("run2").display().to_string(),
    );
    std::fs::write(&config_path, config).unwrap();
    let output = Command::new(BINARY)
        .args(["sft", "--config"])
        .arg(&config_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("train.jsonl:2"), "{stderr}");
    let _ = std::fs::remove_dir_all(&root);
}
