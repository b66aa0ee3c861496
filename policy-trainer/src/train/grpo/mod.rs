//! GRPO: G sampled completions per prompt, rewards from a [`Rewarder`] (the `judges` bus
//! in-process), group-relative advantages, and the clipped surrogate with optional k3 KL —
//! with DAPO's dynamic sampling and truncation masking, and μ > 1 reuse of a rollout batch.
//!
//! A step: collect groups and score them (`collect`) → log-probs and μ updates (`update`) →
//! reference reset (`reference`) → metrics record (`record`) → the session records it and
//! checkpoints.
//!
//! [`Rewarder`]: crate::train::reward::Rewarder

mod collect;
mod config;
mod record;
mod reference;
mod update;

pub use config::GrpoConfig;

use crate::error::TrainError;
use crate::model::sampling::SamplingConfig;
use crate::train::data::Example;
use crate::train::reward::Rewarder;
use crate::train::session::{merge, HeldOut, Session, StepDone};
use collect::Collect;
use record::{mean_reward, step_record, HeldOutRewards, Runaway};
use reference::Reference;
use std::time::Instant;
use update::Updater;

/// What a GRPO run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct GrpoSummary {
    pub steps: usize,
    pub accuracy_before: Option<f64>,
    pub accuracy_after: Option<f64>,
    pub first_reward: Option<f64>,
    pub last_reward: f64,
}

/// Train from the session's start to `grpo.steps`.
pub fn train(
    session: &mut Session<'_>,
    grpo: &GrpoConfig,
    rewarder: &dyn Rewarder,
    train_set: &[Example],
    eval_set: &[Example],
) -> Result<GrpoSummary, TrainError> {
    let policy = session.policy;
    let stop_sequences = policy.stop_sequences();
    let collect = Collect {
        grpo,
        rewarder,
        train_set,
        stop_sequences: &stop_sequences,
        seed: session.settings.seed,
    };
    let held_out = HeldOutRewards {
        examples: eval_set,
        rewarder,
        sampling: SamplingConfig {
            seed: session.settings.seed ^ 0xe7a1,
            ..collect.sampling()
        },
        samples: grpo.eval_samples,
        accuracy_reward: &grpo.accuracy_reward,
    };
    let accuracy = |m: Option<serde_json::Value>| m.and_then(|m| m["eval_accuracy"].as_f64());
    let accuracy_before = accuracy(session.measure_before(&held_out)?);
    let mut optimizer = session.optimizer(grpo.optimizer.clone())?;
    let reference = Reference::new(policy, grpo.beta, session.start.checkpoint.as_deref())?;
    let updater = Updater {
        policy,
        grpo,
        reference: &reference,
    };
    let (mut first_reward, mut last_reward) = (None, f64::NAN);
    let mut runaway = Runaway::default();
    for step in session.start.step..grpo.steps {
        let started = Instant::now();
        let collected = collect.step(policy, step)?;
        let update = updater.update(&mut optimizer, &collected.kept)?;
        let done = step + 1;
        reference.reset_if_due(policy, done, grpo.ref_reset_every)?;
        let evaluated = if grpo.eval_every > 0 && done % grpo.eval_every == 0 {
            held_out.measure(policy)?
        } else {
            None
        };
        let mut record = step_record(done, &collected, &update, started.elapsed().as_secs_f64());
        if let Some(warning) = runaway.observe(&collected, policy, grpo) {
            record["warning"] = warning.into();
        }
        if let Some(fields) = &evaluated {
            merge(&mut record, fields);
        }
        last_reward = mean_reward(&collected);
        first_reward.get_or_insert(last_reward);
        session.step_done(StepDone {
            done,
            total: grpo.steps,
            record,
            optimizer: &optimizer,
            reference: reference.vars(),
        })?;
    }
    let accuracy_after = accuracy(session.measure_at(grpo.steps, &held_out)?);
    Ok(GrpoSummary {
        steps: grpo.steps,
        accuracy_before,
        accuracy_after,
        first_reward,
        last_reward,
    })
}
