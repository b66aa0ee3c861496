//! The reward seam: the trainer sees only [`Rewarder`]; [`BusRewarder`] plugs in the `judges`
//! reward bus in process (with the code sandbox and a local LLM judge when configured).

use crate::error::TrainError;
use crate::train::llm_judge::{local_judge, LocalJudgeConfig};
use judges::{Bus, BusConfig, Outcome, RewardKind, Rewarded, Sample};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Scores completions.
pub trait Rewarder {
    fn reward(&self, samples: &[Sample]) -> Result<Vec<Rewarded>, TrainError>;
}

/// The `judges` reward bus, driven from the training thread.
pub struct BusRewarder {
    bus: Arc<Bus>,
    runtime: tokio::runtime::Runtime,
}

impl BusRewarder {
    pub fn new(bus: Bus) -> Result<BusRewarder, TrainError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(TrainError::RewardRuntime)?;
        Ok(BusRewarder {
            bus: Arc::new(bus),
            runtime,
        })
    }

    /// The bus built from a configuration (the embedded default when `None`), with the code
    /// sandbox when a `code` reward is configured and an in-process judge when one is given.
    pub fn from_config(
        config: Option<&BusConfig>,
        local: Option<&LocalJudgeConfig>,
    ) -> Result<BusRewarder, TrainError> {
        let config = config.cloned().unwrap_or_else(BusConfig::embedded_default);
        config.validate()?;
        let needs_sandbox = config
            .reward
            .iter()
            .any(|r| matches!(r.kind, RewardKind::Code { .. }));
        let sandbox = if needs_sandbox {
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
            Some(Arc::new(sandbox::Sandbox::new(
                Default::default(),
                threads,
            )?))
        } else {
            None
        };
        let mut bus = Bus::new(&config, sandbox)?;
        if let Some(judge) = local {
            let tasks: Vec<&str> = judge.tasks.iter().map(String::as_str).collect();
            let reward = Arc::new(local_judge(judge)?);
            bus.add(&judge.name, judge.weight, &tasks, judge.timeout_ms, reward)?;
        }
        BusRewarder::new(bus)
    }
}

impl Rewarder for BusRewarder {
    fn reward(&self, samples: &[Sample]) -> Result<Vec<Rewarded>, TrainError> {
        Ok(self.runtime.block_on(self.bus.reward_batch(samples)))
    }
}

/// Mean of every component that scored at least once, by name (the bus routes each component
/// to its tasks, so this is also a per-task measure: `code` scores only code prompts).
pub fn component_means(rewarded: &[Rewarded]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for c in rewarded.iter().flat_map(|r| &r.components) {
        if let (Outcome::Scored, Some(value)) = (&c.outcome, c.value) {
            let entry = sums.entry(c.name.clone()).or_default();
            entry.0 += value;
            entry.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(name, (sum, n))| (name, sum / n as f64))
        .collect()
}

/// Mean value of one reward component over scored samples (`None` if it never scored).
pub fn component_mean(rewarded: &[Rewarded], name: &str) -> Option<f64> {
    component_means(rewarded).get(name).copied()
}

/// The value of one component of one sample, when it scored.
pub fn scored(rewarded: &Rewarded, name: &str) -> Option<f64> {
    rewarded
        .components
        .iter()
        .find(|c| c.name == name && c.outcome == Outcome::Scored)
        .and_then(|c| c.value)
}
