//! One training run end to end, shared by `r1-train sft|grpo` and the recipe's stages: resume
//! rules, the SFT then GRPO phases, the final model and the curves; and rejection sampling into
//! a dataset file.

use crate::error::TrainError;
use crate::pipeline::config::TrainConfig;
use crate::pipeline::progress::{Event, Progress};
use crate::pipeline::rejection::{rejection_sample, RejectionStats};
use crate::train::data::write_jsonl;
use crate::train::grpo::{self, GrpoSummary};
use crate::train::metrics::Metrics;
use crate::train::plot::plot_curves;
use crate::train::policy::Policy;
use crate::train::reward::BusRewarder;
use crate::train::run_dir::{Phase, RunDir, TrainerState};
use crate::train::session::{Session, SessionSettings, Start};
use crate::train::sft::{self, SftSummary};
use std::path::{Path, PathBuf};

/// Which loops a run trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// The `[sft]` section.
    Sft,
    /// The `[grpo]` section, after the `[sft]` cold start when there is one.
    Grpo,
}

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

/// What the phases of one run share.
struct RunContext<'a> {
    config: &'a TrainConfig,
    policy: Policy,
    run: RunDir,
    settings: SessionSettings,
    progress: &'a dyn Progress,
}

impl RunContext<'_> {
    fn session<'s>(
        &'s self,
        phase: Phase,
        start: Start,
        metrics: &'s mut Metrics,
        on_step: &'s mut dyn FnMut(&serde_json::Value),
    ) -> Session<'s> {
        Session {
            phase,
            policy: &self.policy,
            run: &self.run,
            metrics,
            settings: &self.settings,
            start,
            on_step,
        }
    }
}

/// Run the config's SFT phase and (for [`Job::Grpo`]) its GRPO phase into `config.output`.
pub fn train(
    config: &TrainConfig,
    job: Job,
    resume: Resume,
    progress: &dyn Progress,
) -> Result<TrainOutcome, TrainError> {
    match job {
        Job::Sft if config.sft.is_none() => {
            return Err(TrainError::Config("the config has no [sft] section".into()))
        }
        Job::Grpo if config.grpo.is_none() => {
            return Err(TrainError::Config(
                "the config has no [grpo] section".into(),
            ))
        }
        _ => {}
    }
    let run = RunDir::create(&config.output, config.keep_checkpoints)?;
    let resumed = resume_point(&run, config, resume)?;
    if let Some((dir, state)) = &resumed {
        progress.event(&Event::Resumed {
            checkpoint: dir,
            phase: state.phase,
            step: state.step,
        });
    }
    let policy = Policy::load(
        &config.model,
        resumed.as_ref().map(|(d, _)| d.as_path()),
        config.seed,
    )?;
    let resumed_at = resumed.as_ref().map(|(_, s)| (s.phase, s.step));
    let mut metrics = Metrics::open(&run.root, resumed_at)?;
    let context = RunContext {
        config,
        policy,
        run,
        settings: SessionSettings {
            seed: config.seed,
            checkpoint_every: config.checkpoint_every,
            run_config: serde_json::to_value(config)
                .map_err(|e| TrainError::json(&config.output, e))?,
        },
        progress,
    };
    let outcome = run_phases(&context, job, resumed, &mut metrics)?;
    finish(&context, job, &metrics, outcome)
}

/// The checkpoint to continue from, by the resume rule.
fn resume_point(
    run: &RunDir,
    config: &TrainConfig,
    resume: Resume,
) -> Result<Option<(PathBuf, TrainerState)>, TrainError> {
    match (run.latest_checkpoint()?, resume) {
        (Some((dir, state)), Resume::Required | Resume::IfAny) => {
            let saved: Option<TrainConfig> = serde_json::from_value(state.config.clone()).ok();
            if saved.as_ref() != Some(config) {
                return Err(TrainError::Conflict(format!(
                    "{} was written with a different configuration; resume with the same one",
                    dir.display()
                )));
            }
            Ok(Some((dir, state)))
        }
        (Some((dir, _)), Resume::Never) => Err(TrainError::Conflict(format!(
            "{} already holds checkpoints ({}); pass --resume or choose another --output",
            run.root.display(),
            dir.display()
        ))),
        (None, Resume::Required) => Err(TrainError::Conflict(format!(
            "--resume: no checkpoint in {}",
            run.root.display()
        ))),
        (None, _) => Ok(None),
    }
}

/// The SFT phase (unless a GRPO checkpoint is resumed), then GRPO for [`Job::Grpo`].
fn run_phases(
    context: &RunContext<'_>,
    job: Job,
    resumed: Option<(PathBuf, TrainerState)>,
    metrics: &mut Metrics,
) -> Result<TrainOutcome, TrainError> {
    let config = context.config;
    let progress = context.progress;
    let (phase, start) = match resumed {
        Some((dir, state)) => (
            state.phase,
            Start {
                step: state.step,
                optimizer_steps: state.optimizer_steps,
                checkpoint: Some(dir),
            },
        ),
        None => (Phase::Sft, Start::default()),
    };
    let sft_steps = config.sft.as_ref().map_or(0, |s| s.steps);
    let grpo_steps = match (job, &config.grpo) {
        (Job::Grpo, Some(g)) => g.steps,
        _ => 0,
    };
    progress.event(&Event::RunStarted {
        total: sft_steps + grpo_steps,
        done: start.step + if phase == Phase::Grpo { sft_steps } else { 0 },
    });
    let mut on_step = |record: &serde_json::Value| progress.event(&Event::Step(record));
    let mut outcome = TrainOutcome {
        sft: None,
        grpo: None,
        resumed_at: start.checkpoint.as_ref().map(|_| (phase, start.step)),
        final_dir: config.output.join("final"),
        metrics: metrics.path().to_path_buf(),
        curves: config.output.join("curves.png"),
    };
    if let Some(sft_config) = config
        .sft
        .as_ref()
        .filter(|s| phase == Phase::Sft && start.step < s.steps)
    {
        let (train_set, eval_set) = config.sft_examples(sft_config)?;
        let mut session = context.session(Phase::Sft, start.clone(), metrics, &mut on_step);
        let summary = sft::train(&mut session, sft_config, &train_set, &eval_set)?;
        progress.event(&Event::SftFinished(&summary));
        outcome.sft = Some(summary);
    }
    if let (Job::Grpo, Some(grpo_config)) = (job, &config.grpo) {
        let start = if phase == Phase::Grpo {
            start
        } else {
            Start::default()
        };
        let (train_set, eval_set) = config.examples()?;
        let rewarder = BusRewarder::from_config(
            grpo_config.rewards.as_ref(),
            grpo_config.local_judge.as_ref(),
        )?;
        let mut session = context.session(Phase::Grpo, start, metrics, &mut on_step);
        let summary = grpo::train(&mut session, grpo_config, &rewarder, &train_set, &eval_set)?;
        progress.event(&Event::GrpoFinished {
            summary: &summary,
            accuracy_reward: &grpo_config.accuracy_reward,
        });
        outcome.grpo = Some(summary);
    }
    progress.event(&Event::RunFinished);
    Ok(outcome)
}

/// The final model and the curves.
fn finish(
    context: &RunContext<'_>,
    job: Job,
    metrics: &Metrics,
    mut outcome: TrainOutcome,
) -> Result<TrainOutcome, TrainError> {
    outcome.final_dir = context.run.save_final(&context.policy)?;
    let series: &[&str] = match job {
        Job::Grpo => &["loss", "reward", "reward/accuracy", "eval_accuracy"],
        Job::Sft => &["loss", "lr"],
    };
    plot_curves(metrics.path(), series, &outcome.curves)?;
    Ok(outcome)
}

/// Rejection-sample the config's training prompts from its model (`[sample]`) and write the kept
/// examples to `out` as JSONL (atomically).
pub fn sample_dataset(config: &TrainConfig, out: &Path) -> Result<RejectionStats, TrainError> {
    let sample_config = config
        .sample
        .as_ref()
        .ok_or_else(|| TrainError::Config("the config has no [sample] section".into()))?;
    let policy = Policy::load(&config.model, None, config.seed)?;
    let (prompts, _) = config.examples()?;
    let rewarder = BusRewarder::from_config(sample_config.rewards.as_ref(), None)?;
    let (kept, stats) = rejection_sample(&policy, &prompts, &rewarder, sample_config, config.seed)?;
    write_jsonl(out, &kept)?;
    Ok(stats)
}
