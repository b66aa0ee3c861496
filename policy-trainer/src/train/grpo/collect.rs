//! A step's rollouts: sample groups of completions for random training prompts, score them on
//! the bus, and keep the groups whose rewards differ (DAPO's dynamic sampling) until the step has
//! enough.

use crate::error::TrainError;
use crate::model::sampling::{Completion, SamplingConfig};
use crate::train::data::Example;
use crate::train::grpo::config::GrpoConfig;
use crate::train::policy::Policy;
use crate::train::reward::Rewarder;
use crate::train::rollout::rollouts;
use judges::Rewarded;
use rand::seq::IndexedRandom;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::time::Instant;

/// One sampled group.
pub struct Group {
    /// The prompt's task (routing key), for per-task figures.
    pub task: String,
    pub prompt: Vec<u32>,
    pub completions: Vec<Completion>,
    /// One per completion; empty when a reward of the group failed.
    pub rewards: Vec<f64>,
}

/// Everything a step sampled: the groups it trains on and what the metrics report.
#[derive(Default)]
pub struct Collected {
    pub kept: Vec<Group>,
    /// Every scored completion, kept or not.
    pub rewarded: Vec<Rewarded>,
    /// One rollout, to read what the policy writes.
    pub example: Option<serde_json::Value>,
    pub generated_tokens: usize,
    /// Sum of `-log π` over the generated tokens (their mean estimates the policy's entropy).
    pub surprisal: f64,
    /// Seconds spent generating the rollouts, and scoring them.
    pub generation_seconds: f64,
    pub reward_seconds: f64,
    pub truncated: usize,
    pub completions: usize,
    pub tallies: BTreeMap<String, TaskTally>,
    /// Completions whose reward failed (their groups are not trained on).
    pub failed_rewards: usize,
}

/// What a step's sampling needs besides the policy.
pub struct Collect<'a> {
    pub grpo: &'a GrpoConfig,
    pub rewarder: &'a dyn Rewarder,
    pub train_set: &'a [Example],
    pub stop_sequences: &'a [Vec<u32>],
    pub seed: u64,
}

impl Collect<'_> {
    /// Sample and score batches of groups until `prompts_per_step` informative ones are kept
    /// (or, without dynamic sampling, after one batch).
    pub fn step(&self, policy: &Policy, step: usize) -> Result<Collected, TrainError> {
        let grpo = self.grpo;
        let mut collected = Collected::default();
        for attempt in 0..grpo.max_sampling_tries {
            let groups = self.sample_groups(policy, step, attempt, &mut collected)?;
            for group in groups {
                let tally = collected.tallies.entry(group.task.clone()).or_default();
                if group.rewards.len() < group.completions.len() {
                    // A sample without a reward has no advantage: its group sits this step out.
                    tally.add_failed();
                    continue;
                }
                let varied = group
                    .rewards
                    .iter()
                    .any(|r| (r - group.rewards[0]).abs() > 1e-9);
                let keep = (varied || !grpo.dynamic_sampling)
                    && collected.kept.len() < grpo.prompts_per_step;
                tally.add(&group.rewards, varied, keep);
                if keep {
                    collected.kept.push(group);
                }
            }
            if collected.kept.len() >= grpo.prompts_per_step || !grpo.dynamic_sampling {
                break;
            }
        }
        Ok(collected)
    }

    /// One batch of groups for random prompts, scored; their rewards and counts go into
    /// `collected`.
    fn sample_groups(
        &self,
        policy: &Policy,
        step: usize,
        attempt: usize,
        collected: &mut Collected,
    ) -> Result<Vec<Group>, TrainError> {
        let grpo = self.grpo;
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            self.seed ^ ((step as u64) << 20) ^ ((attempt as u64) << 8),
        );
        let prompts: Vec<&Example> = self
            .train_set
            .choose_multiple(&mut rng, grpo.prompts_per_step.min(self.train_set.len()))
            .collect();
        let sampling = SamplingConfig {
            seed: self.seed ^ ((step as u64) << 24) ^ ((attempt as u64) << 16),
            ..self.sampling()
        };
        let started = Instant::now();
        let sampled = rollouts(policy, &prompts, grpo.group_size, &sampling)?;
        collected.generation_seconds += started.elapsed().as_secs_f64();
        let mut groups = Vec::with_capacity(sampled.len());
        let mut samples = Vec::new();
        for (example, rollout) in prompts.iter().zip(sampled) {
            for c in &rollout.completions {
                collected.generated_tokens += c.tokens.len();
                collected.surprisal -= c.logprobs.iter().map(|l| f64::from(*l)).sum::<f64>();
                collected.truncated += usize::from(!c.stopped);
                collected.completions += 1;
            }
            samples.extend(rollout.samples);
            groups.push(Group {
                task: example.task.clone().unwrap_or_else(|| "-".into()),
                prompt: rollout.prompt,
                completions: rollout.completions,
                rewards: Vec::new(),
            });
        }
        let started = Instant::now();
        let rewarded = self.rewarder.reward(&samples)?;
        collected.reward_seconds += started.elapsed().as_secs_f64();
        for (g, group) in groups.iter_mut().enumerate() {
            let scores = &rewarded[g * grpo.group_size..(g + 1) * grpo.group_size];
            let complete: Option<Vec<f64>> = scores.iter().map(Rewarded::reward).collect();
            collected.failed_rewards += scores.iter().filter(|r| !r.is_complete()).count();
            group.rewards = complete.unwrap_or_default();
        }
        if collected.example.is_none() {
            if let (Some(sample), Some(reward)) = (samples.first(), rewarded.first()) {
                collected.example = Some(serde_json::json!({
                    "prompt": sample.prompt, "completion": sample.completion,
                    "reward": reward.reward(), "failed": reward.failed(),
                }));
            }
        }
        collected.rewarded.extend(rewarded);
        Ok(groups)
    }

    /// The rollouts' sampling settings (the seed is set per group).
    pub fn sampling(&self) -> SamplingConfig {
        SamplingConfig {
            temperature: self.grpo.temperature,
            top_p: self.grpo.top_p,
            top_k: self.grpo.top_k,
            max_new_tokens: self.grpo.max_new_tokens,
            stop_sequences: self.stop_sequences.to_vec(),
            ..SamplingConfig::default()
        }
    }
}

/// One task's share of a step's rollouts: how a task that stops improving can be seen losing
/// its place in the batch (its groups all-equal, so dynamic sampling drops them).
#[derive(Default)]
pub struct TaskTally {
    reward_sum: f64,
    samples: usize,
    groups: usize,
    flat: usize,
    kept: usize,
    failed: usize,
}

impl TaskTally {
    pub fn add(&mut self, rewards: &[f64], varied: bool, kept: bool) {
        self.reward_sum += rewards.iter().sum::<f64>();
        self.samples += rewards.len();
        self.groups += 1;
        self.flat += usize::from(!varied);
        self.kept += usize::from(kept);
    }

    /// A group with a failed reward (not trained on, not in the reward mean).
    pub fn add_failed(&mut self) {
        self.groups += 1;
        self.failed += 1;
    }

    /// `task/<task>/reward` (mean total), `/flat_groups` (share of groups with equal rewards),
    /// `/kept_groups` (groups trained on) and `/failed_groups` (a reward failed).
    pub fn record(&self, task: &str, record: &mut serde_json::Value) {
        let key = |what: &str| format!("task/{task}/{what}");
        record[key("reward")] = (self.reward_sum / self.samples.max(1) as f64).into();
        record[key("flat_groups")] = (self.flat as f64 / self.groups.max(1) as f64).into();
        record[key("kept_groups")] = self.kept.into();
        record[key("failed_groups")] = self.failed.into();
    }
}
