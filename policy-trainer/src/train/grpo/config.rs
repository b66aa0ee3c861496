//! `[grpo]`: the GRPO loop's settings.

use crate::error::TrainError;
use crate::train::llm_judge::LocalJudgeConfig;
use crate::train::loss::{AdvantageScaling, Aggregation};
use crate::train::optim::OptimizerConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpoConfig {
    pub steps: usize,
    pub prompts_per_step: usize,
    /// G: completions per prompt.
    pub group_size: usize,
    /// Sequences per forward/backward pass.
    #[serde(default = "default_micro_batch")]
    pub micro_batch: usize,
    /// μ: optimizer passes over each rollout batch (> 1 makes the data off-policy).
    #[serde(default = "crate::config_value::one")]
    pub mu: usize,
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    #[serde(default = "crate::config_value::one_f")]
    pub top_p: f64,
    #[serde(default)]
    pub top_k: usize,
    pub max_new_tokens: usize,
    #[serde(default)]
    pub beta: f64,
    /// Copy the policy into the reference every this many steps (0: never).
    #[serde(default)]
    pub ref_reset_every: usize,
    #[serde(default = "default_epsilon")]
    pub epsilon_low: f64,
    #[serde(default = "default_epsilon")]
    pub epsilon_high: f64,
    #[serde(default)]
    pub aggregation: Aggregation,
    #[serde(default)]
    pub advantage: AdvantageScaling,
    /// Drop groups whose rewards are all equal and sample more prompts (DAPO).
    #[serde(default = "crate::config_value::yes")]
    pub dynamic_sampling: bool,
    /// Rollout batches tried per step to fill it with informative groups.
    #[serde(default = "default_max_tries")]
    pub max_sampling_tries: usize,
    /// Exclude completions cut at `max_new_tokens` from the loss (DAPO).
    #[serde(default = "crate::config_value::yes")]
    pub mask_truncated: bool,
    /// The reward component reported as accuracy (greedy, on held-out prompts).
    #[serde(default = "default_accuracy")]
    pub accuracy_reward: String,
    /// Completions per held-out prompt, sampled like the rollouts (mean accuracy over them
    /// estimates pass@1); a temperature of 0 evaluates one greedy completion instead.
    #[serde(default = "default_eval_samples")]
    pub eval_samples: usize,
    /// Evaluate held-out accuracy every this many steps (0: only before and after).
    #[serde(default)]
    pub eval_every: usize,
    pub optimizer: OptimizerConfig,
    /// The reward bus (the `judges` configuration); absent: the bus's embedded default.
    #[serde(default)]
    pub rewards: Option<judges::BusConfig>,
    /// A generative judge run in process by a local model, added to the bus.
    #[serde(default)]
    pub local_judge: Option<LocalJudgeConfig>,
}

fn default_micro_batch() -> usize {
    64
}
fn default_temperature() -> f64 {
    1.0
}
fn default_epsilon() -> f64 {
    0.2
}
fn default_max_tries() -> usize {
    4
}
fn default_eval_samples() -> usize {
    4
}
fn default_accuracy() -> String {
    "accuracy".into()
}

impl GrpoConfig {
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: &str| Err(TrainError::Config(format!("grpo: {m}")));
        if self.steps == 0
            || self.prompts_per_step == 0
            || self.group_size < 2
            || self.micro_batch == 0
            || self.mu == 0
            || self.max_new_tokens == 0
            || self.max_sampling_tries == 0
        {
            return bad("steps, prompts_per_step, micro_batch, mu, max_new_tokens, max_sampling_tries > 0 and group_size >= 2");
        }
        if self.beta < 0.0 || self.epsilon_low < 0.0 || self.epsilon_high < 0.0 {
            return bad("beta and epsilons must be >= 0");
        }
        if !(self.temperature > 0.0 && self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("temperature > 0 and 0 < top_p <= 1");
        }
        self.optimizer.validate()
    }
}
