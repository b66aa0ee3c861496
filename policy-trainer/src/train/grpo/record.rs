//! What a GRPO step writes into `metrics.jsonl`: rewards (total, per component, per task), the
//! update's figures, rollout counts and one sample; and the held-out reward measure.

use crate::error::TrainError;
use crate::model::generate::SamplingConfig;
use crate::train::data::Example;
use crate::train::grpo::collect::Collected;
use crate::train::grpo::update::UpdateStats;
use crate::train::policy::Policy;
use crate::train::reward::{component_means, Rewarder};
use crate::train::rollout::reward_held_out;
use crate::train::session::HeldOut;

/// Mean total reward of the step's completions whose rewards all came back (a failed reward is
/// no score, so it is left out rather than counted as zero).
pub fn mean_reward(collected: &Collected) -> f64 {
    let totals: Vec<f64> = collected
        .rewarded
        .iter()
        .filter_map(|r| r.reward())
        .collect();
    totals.iter().sum::<f64>() / totals.len().max(1) as f64
}

/// The step's metrics record.
pub fn step_record(
    done: usize,
    collected: &Collected,
    update: &UpdateStats,
    seconds: f64,
) -> serde_json::Value {
    let sampled = collected.completions.max(1) as f64;
    let mut record = serde_json::json!({
        "phase": "grpo", "step": done, "reward": mean_reward(collected), "loss": update.loss,
        "kl": update.kl, "clip_fraction": update.clip_fraction, "lr": update.lr,
        "grad_norm": update.grad_norm, "groups_kept": collected.kept.len(),
        "completions": collected.completions, "failed_rewards": collected.failed_rewards,
        "truncated_fraction": collected.truncated as f64 / sampled,
        "mean_completion_tokens": collected.generated_tokens as f64 / sampled,
        "tokens_per_s": (collected.generated_tokens + update.trained_tokens) as f64 / seconds.max(1e-9),
        "seconds": seconds,
    });
    for (name, mean) in component_means(&collected.rewarded) {
        record[format!("reward/{name}")] = mean.into();
    }
    if let Some(sample) = &collected.example {
        record["sample"] = sample.clone();
    }
    for (task, tally) in &collected.tallies {
        tally.record(task, &mut record);
    }
    record
}

/// Held-out means of every reward component (`eval/<name>`), and the accuracy component as
/// `eval_accuracy`: a task the rewards do not call accuracy (code) is watched too.
pub struct HeldOutRewards<'a> {
    pub examples: &'a [Example],
    pub rewarder: &'a dyn Rewarder,
    pub sampling: SamplingConfig,
    pub samples: usize,
    pub accuracy_reward: &'a str,
}

impl HeldOut for HeldOutRewards<'_> {
    fn measure(&self, policy: &Policy) -> Result<Option<serde_json::Value>, TrainError> {
        if self.examples.is_empty() {
            return Ok(None);
        }
        let rewarded = reward_held_out(
            policy,
            self.examples,
            self.rewarder,
            &self.sampling,
            self.samples,
        )?;
        let means = component_means(&rewarded);
        let mut record = serde_json::json!({});
        if let Some(accuracy) = means.get(self.accuracy_reward) {
            record["eval_accuracy"] = (*accuracy).into();
        }
        for (name, mean) in means {
            record[format!("eval/{name}")] = mean.into();
        }
        Ok(Some(record))
    }
}
