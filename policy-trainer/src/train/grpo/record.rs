//! What a GRPO step writes into `metrics.jsonl`: rewards (total, per component, per task), the
//! update's figures, rollout counts and one sample; and the held-out reward measure.

use crate::error::TrainError;
use crate::model::sampling::SamplingConfig;
use crate::train::data::Example;
use crate::train::grpo::collect::Collected;
use crate::train::grpo::config::GrpoConfig;
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
    let generated = collected.generated_tokens as f64;
    let rate = |tokens: f64, seconds: f64| tokens / seconds.max(1e-9);
    let mut record = serde_json::json!({
        "phase": "grpo", "step": done, "reward": mean_reward(collected), "loss": update.loss,
        "kl": update.kl, "clip_fraction": update.clip.region,
        "clip_fraction/low": update.clip.low, "clip_fraction/high": update.clip.high,
        "entropy": collected.surprisal / generated.max(1.0), "lr": update.lr,
        "grad_norm": update.grad_norm, "groups_kept": collected.kept.len(),
        "completions": collected.completions, "failed_rewards": collected.failed_rewards,
        "truncated_fraction": collected.truncated as f64 / sampled,
        "mean_completion_tokens": generated / sampled,
        "tokens_per_s": rate(generated + update.trained_tokens as f64, seconds),
        "generation_tokens_per_s": rate(generated, collected.generation_seconds),
        "training_tokens_per_s": rate(update.trained_tokens as f64, update.seconds),
        "reward_seconds": collected.reward_seconds,
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

/// Counts steps in which every rollout ran to `max_new_tokens`: after a few the model is
/// probably never producing a stop, and with `mask_truncated` such steps teach nothing.
#[derive(Default)]
pub struct Runaway {
    steps: usize,
}

impl Runaway {
    const WARN_AFTER: usize = 3;

    pub fn observe(
        &mut self,
        collected: &Collected,
        policy: &Policy,
        grpo: &GrpoConfig,
    ) -> Option<String> {
        let all_cut = collected.completions > 0 && collected.truncated == collected.completions;
        self.steps = if all_cut { self.steps + 1 } else { 0 };
        if self.steps != Self::WARN_AFTER {
            return None;
        }
        let eos: Vec<String> = policy
            .eos_tokens
            .iter()
            .map(|id| {
                policy
                    .tokenizer
                    .decode(&[*id])
                    .unwrap_or_else(|_| id.to_string())
            })
            .collect();
        Some(format!(
            "every rollout of the last {} steps ran to max_new_tokens ({}): the model never \
             stopped. Stops are the model's end ids {:?} and the {:?} template's texts {:?}; \
             check that they are what this model emits (its generation_config.json, the \
             template), or raise max_new_tokens.{}",
            self.steps,
            grpo.max_new_tokens,
            eos,
            policy.template,
            policy.template.stop_texts(),
            if grpo.mask_truncated {
                " With mask_truncated these steps train on nothing."
            } else {
                ""
            }
        ))
    }
}
