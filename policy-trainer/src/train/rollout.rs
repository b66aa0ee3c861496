//! Rollouts: sampled completions of one example, as tokens and as reward-bus samples; and the
//! held-out check that rewards them.

use crate::error::TrainError;
use crate::model::generate::{generate, Completion, SamplingConfig};
use crate::train::data::Example;
use crate::train::policy::Policy;
use crate::train::reward::Rewarder;
use judges::{Rewarded, Sample};

/// Sampled completions of one example, as tokens and as reward-bus samples.
pub struct Rollouts {
    pub prompt: Vec<u32>,
    pub completions: Vec<Completion>,
    pub samples: Vec<Sample>,
}

/// `n` sampled completions of one example.
pub fn rollouts(
    policy: &Policy,
    example: &Example,
    n: usize,
    config: &SamplingConfig,
) -> Result<Rollouts, TrainError> {
    let prompt = policy.prompt_tokens(&example.prompt)?;
    let completions = generate(&policy.model, &prompt, n, config)?;
    let samples = completions
        .iter()
        .map(|c| {
            Ok(Sample {
                completion_tokens: Some(c.tokens.len()),
                ..example.sample(policy.completion_text(c)?)
            })
        })
        .collect::<Result<_, TrainError>>()?;
    Ok(Rollouts {
        prompt,
        completions,
        samples,
    })
}

/// `samples` completions per held-out example (one greedy one when `config.temperature` is 0),
/// rewarded. The mean of a reward over them estimates pass@1 at that temperature.
pub fn reward_held_out(
    policy: &Policy,
    examples: &[Example],
    rewarder: &dyn Rewarder,
    config: &SamplingConfig,
    samples: usize,
) -> Result<Vec<Rewarded>, TrainError> {
    let n = if config.temperature == 0.0 {
        1
    } else {
        samples.max(1)
    };
    let mut scored = Vec::with_capacity(examples.len() * n);
    for (i, example) in examples.iter().enumerate() {
        let config = SamplingConfig {
            seed: config.seed.wrapping_add(i as u64),
            ..config.clone()
        };
        scored.extend(rollouts(policy, example, n, &config)?.samples);
    }
    rewarder.reward(&scored)
}
