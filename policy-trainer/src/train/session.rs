//! One training session: what the SFT and GRPO loops share with the run around them — the
//! policy, the run folder, the metrics, the held-out evaluation before and after, checkpoints and
//! step events — so each loop holds only its own update.

use crate::error::TrainError;
use crate::train::metrics::Metrics;
use crate::train::optim::{AdamW, OptimizerConfig};
use crate::train::policy::Policy;
use crate::train::run_dir::{Phase, RunDir, TrainerState};
use candle_nn::VarMap;
use std::path::PathBuf;

/// Where a loop starts: at step 0, or after the steps a checkpoint holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Start {
    pub step: usize,
    pub optimizer_steps: usize,
    /// The checkpoint resumed from (its optimizer moments and reference are restored).
    pub checkpoint: Option<PathBuf>,
}

/// Run-wide settings a session needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSettings {
    pub seed: u64,
    /// Checkpoint every this many steps (0: never; the run saves its final model anyway).
    pub checkpoint_every: usize,
    /// The run's whole configuration, saved in every checkpoint so a resume can refuse a
    /// changed one.
    pub run_config: serde_json::Value,
}

/// A held-out measure of the policy (`None`: nothing held out), as metric fields.
pub trait HeldOut {
    fn measure(&self, policy: &Policy) -> Result<Option<serde_json::Value>, TrainError>;
}

/// What a loop hands back after each step.
pub struct StepDone<'a> {
    /// Steps completed, and the loop's total.
    pub done: usize,
    pub total: usize,
    pub record: serde_json::Value,
    pub optimizer: &'a AdamW,
    /// The GRPO reference, saved with the checkpoint so a resume restores it.
    pub reference: Option<&'a VarMap>,
}

pub struct Session<'a> {
    pub phase: Phase,
    pub policy: &'a Policy,
    pub run: &'a RunDir,
    pub metrics: &'a mut Metrics,
    pub settings: &'a SessionSettings,
    pub start: Start,
    /// Called with every step's metrics record (progress display).
    pub on_step: &'a mut dyn FnMut(&serde_json::Value),
}

impl Session<'_> {
    /// A fresh optimizer, or the checkpoint's when resuming.
    pub fn optimizer(&self, config: OptimizerConfig) -> Result<AdamW, TrainError> {
        let mut optimizer = AdamW::new(&self.policy.vars, config)?;
        if let Some(dir) = &self.start.checkpoint {
            optimizer.load(
                &dir.join("optimizer.safetensors"),
                self.start.optimizer_steps,
            )?;
        }
        Ok(optimizer)
    }

    /// The held-out measure before training (only on a fresh start), recorded at step 0.
    pub fn measure_before(
        &mut self,
        held_out: &dyn HeldOut,
    ) -> Result<Option<serde_json::Value>, TrainError> {
        if self.start.step > 0 {
            return Ok(None);
        }
        self.measure_at(0, held_out)
    }

    /// The held-out measure, recorded at `step`.
    pub fn measure_at(
        &mut self,
        step: usize,
        held_out: &dyn HeldOut,
    ) -> Result<Option<serde_json::Value>, TrainError> {
        let measured = held_out.measure(self.policy)?;
        if let Some(fields) = &measured {
            let mut record = serde_json::json!({"phase": self.phase, "step": step});
            merge(&mut record, fields);
            self.metrics.write(&record)?;
        }
        Ok(measured)
    }

    /// Record a step, tell the observer, and checkpoint when one is due (and after the last step).
    pub fn step_done(&mut self, step: StepDone<'_>) -> Result<(), TrainError> {
        self.metrics.write(&step.record)?;
        (self.on_step)(&step.record);
        let every = self.settings.checkpoint_every;
        if every > 0 && (step.done.is_multiple_of(every) || step.done == step.total) {
            let state = TrainerState {
                phase: self.phase,
                step: step.done,
                optimizer_steps: step.optimizer.steps,
                config: self.settings.run_config.clone(),
            };
            self.run
                .save_checkpoint(self.policy, step.optimizer, step.reference, &state)?;
        }
        Ok(())
    }
}

/// Copy `from`'s fields into `into` (both JSON objects).
pub fn merge(into: &mut serde_json::Value, from: &serde_json::Value) {
    if let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) {
        into.extend(from.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}
