//! One training run end to end, shared by `r1-train sft|grpo` and the recipe's stages: resume
//! rules, the SFT then GRPO phases, a progress bar (plain lines when not a terminal), the final
//! model and the curves; and rejection sampling into a dataset file.

use crate::config::TrainConfig;
use crate::data::ToyAnswers;
use crate::error::TrainError;
use crate::grpo::{self, BusRewarder, GrpoSummary};
use crate::rejection::{rejection_sample, RejectionStats};
use crate::run::{plot_curves, Metrics, Phase, Policy, RunDir, TrainerState};
use crate::sft::{self, SftSummary};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};

/// What to do with checkpoints already in the run folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Refuse to start over them.
    Never,
    /// Continue from the newest; there must be one.
    Required,
    /// Continue from the newest when there is one (recipe stages).
    IfAny,
}

/// What a finished run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOutcome {
    pub sft: Option<SftSummary>,
    pub grpo: Option<GrpoSummary>,
    /// Where the run resumed from (phase, step), if it did.
    pub resumed_at: Option<(Phase, usize)>,
    pub final_dir: PathBuf,
    pub metrics: PathBuf,
    pub curves: PathBuf,
}

/// Run the config's SFT phase and (with `with_grpo`) its GRPO phase into `config.output`.
pub fn train(
    config: &TrainConfig,
    with_grpo: bool,
    resume: Resume,
) -> Result<TrainOutcome, TrainError> {
    let bad = |m: String| Err(TrainError::Config(m));
    if config.sft.is_none() && !with_grpo {
        return bad("the config has no [sft] section".into());
    }
    if with_grpo && config.grpo.is_none() {
        return bad("the config has no [grpo] section".into());
    }
    let run = RunDir::create(&config.output, config.keep_checkpoints)?;
    let resumed: Option<(PathBuf, TrainerState)> = match (run.latest_checkpoint()?, resume) {
        (Some((dir, state)), Resume::Required | Resume::IfAny) => {
            if state.config != *config {
                return Err(TrainError::Conflict(format!(
                    "{} was written with a different configuration; resume with the same one",
                    dir.display()
                )));
            }
            eprintln!(
                "resuming from {} ({:?} step {})",
                dir.display(),
                state.phase,
                state.step
            );
            Some((dir, state))
        }
        (Some((dir, _)), Resume::Never) => {
            return Err(TrainError::Conflict(format!(
                "{} already holds checkpoints ({}); pass --resume or choose another --output",
                run.root.display(),
                dir.display()
            )))
        }
        (None, Resume::Required) => {
            return Err(TrainError::Conflict(format!(
                "--resume: no checkpoint in {}",
                run.root.display()
            )))
        }
        (None, _) => None,
    };
    let policy = Policy::load(
        &config.model,
        resumed.as_ref().map(|(d, _)| d.as_path()),
        config.seed,
    )?;
    let mut metrics = Metrics::open(&run.root, resumed.as_ref().map(|(_, s)| (s.phase, s.step)))?;
    let sft_steps = config.sft.as_ref().map_or(0, |s| s.steps);
    let grpo_steps = if with_grpo {
        config.grpo.as_ref().map_or(0, |g| g.steps)
    } else {
        0
    };
    let (phase, done, optimizer_steps) = match &resumed {
        Some((_, s)) => (s.phase, s.step, s.optimizer_steps),
        None => (Phase::Sft, 0, 0),
    };
    let bar = ProgressBar::new((sft_steps + grpo_steps) as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>5} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
        )
        .expect("a valid template"),
    );
    bar.set_position(match phase {
        Phase::Sft => done,
        Phase::Grpo => sft_steps + done,
    } as u64);
    let mut on_step = |record: &serde_json::Value| progress(&bar, record);
    let mut outcome = TrainOutcome {
        sft: None,
        grpo: None,
        resumed_at: resumed.as_ref().map(|(_, s)| (s.phase, s.step)),
        final_dir: PathBuf::new(),
        metrics: PathBuf::new(),
        curves: PathBuf::new(),
    };
    if let Some(sft_config) = &config.sft {
        if phase == Phase::Sft && done < sft_config.steps {
            let (train_set, eval_set) = config.sft_examples()?;
            let summary = sft::train(
                &policy,
                config,
                sft_config,
                &train_set,
                &eval_set,
                &run,
                &mut metrics,
                done,
                optimizer_steps,
                &mut on_step,
            )?;
            report(
                &bar,
                format!(
                    "sft: {} steps, train loss {} → {:.4}, held-out loss {} → {}",
                    summary.steps,
                    fmt4(summary.first_loss, "(resumed)"),
                    summary.last_loss,
                    fmt4(summary.eval_loss_before, "(resumed)"),
                    fmt4(summary.eval_loss_after, "-"),
                ),
            );
            outcome.sft = Some(summary);
        }
    }
    if let (true, Some(grpo_config)) = (with_grpo, &config.grpo) {
        let (start, opt_steps) = if phase == Phase::Grpo {
            (done, optimizer_steps)
        } else {
            (0, 0)
        };
        let (train_set, eval_set) = config.examples(ToyAnswers::Correct)?;
        let rewarder = BusRewarder::from_config(
            grpo_config.rewards.as_ref(),
            grpo_config.local_judge.as_ref(),
        )?;
        let summary = grpo::train(
            &policy,
            config,
            grpo_config,
            &rewarder,
            &train_set,
            &eval_set,
            &run,
            &mut metrics,
            start,
            opt_steps,
            &mut on_step,
        )?;
        report(
            &bar,
            format!(
                "grpo: {} steps, mean reward {} → {:.3}, held-out {} {} → {}",
                summary.steps,
                fmt3(summary.first_reward, "(resumed)"),
                summary.last_reward,
                grpo_config.accuracy_reward,
                fmt3(summary.accuracy_before, "(resumed)"),
                fmt3(summary.accuracy_after, "-"),
            ),
        );
        outcome.grpo = Some(summary);
    }
    bar.finish_and_clear();
    outcome.final_dir = run.save_final(&policy)?;
    outcome.curves = run.root.join("curves.png");
    let series: &[&str] = if with_grpo {
        &["loss", "reward", "reward/accuracy", "eval_accuracy"]
    } else {
        &["loss", "lr"]
    };
    plot_curves(metrics.path(), series, &outcome.curves)?;
    outcome.metrics = metrics.path().to_path_buf();
    Ok(outcome)
}

fn fmt4(value: Option<f64>, missing: &str) -> String {
    value.map_or(missing.into(), |v| format!("{v:.4}"))
}

fn fmt3(value: Option<f64>, missing: &str) -> String {
    value.map_or(missing.into(), |v| format!("{v:.3}"))
}

/// Advance the bar with one metrics record (every 10th step as a line when it is hidden).
fn progress(bar: &ProgressBar, record: &serde_json::Value) {
    let f = |key: &str| record[key].as_f64().unwrap_or(f64::NAN);
    let message = if record["phase"] == "sft" {
        format!(
            "loss {:.4} lr {:.2e} tok/s {:.0}",
            f("loss"),
            f("lr"),
            f("tokens_per_s")
        )
    } else {
        format!(
            "reward {:.3} loss {:+.4} kl {:.4} clip {:.3} tok/s {:.0}",
            f("reward"),
            f("loss"),
            f("kl"),
            f("clip_fraction"),
            f("tokens_per_s")
        )
    };
    bar.set_prefix(record["phase"].as_str().unwrap_or("").to_string());
    bar.set_message(message.clone());
    bar.inc(1);
    if bar.is_hidden() {
        let step = record["step"].as_u64().unwrap_or(0);
        if step.is_multiple_of(10) || step == 1 {
            eprintln!(
                "{} step {step}: {message}",
                record["phase"].as_str().unwrap_or("")
            );
        }
    }
}

/// A summary line, above the progress bar when it is drawn, on stderr when it is hidden.
fn report(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// Rejection-sample the config's training prompts from its model (`[sample]`) and write the kept
/// examples to `out` as JSONL (atomically).
pub fn sample_dataset(config: &TrainConfig, out: &Path) -> Result<RejectionStats, TrainError> {
    let sample_config = config
        .sample
        .as_ref()
        .ok_or_else(|| TrainError::Config("the config has no [sample] section".into()))?;
    let policy = Policy::load(&config.model, None, config.seed)?;
    let (prompts, _) = config.examples(ToyAnswers::Correct)?;
    let rewarder = BusRewarder::from_config(sample_config.rewards.as_ref(), None)?;
    let (kept, stats) = rejection_sample(&policy, &prompts, &rewarder, sample_config, config.seed)?;
    write_jsonl(out, &kept)?;
    Ok(stats)
}

/// Write examples as JSONL through a temporary file and a rename.
pub fn write_jsonl(out: &Path, examples: &[crate::data::Example]) -> Result<(), TrainError> {
    let io = |e: std::io::Error| TrainError::Io(format!("{}: {e}", out.display()));
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut text = String::new();
    for example in examples {
        text.push_str(&serde_json::to_string(example).map_err(|e| TrainError::Io(e.to_string()))?);
        text.push('\n');
    }
    let tmp = out.with_extension("jsonl.tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, out).map_err(io)
}
