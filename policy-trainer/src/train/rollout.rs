//! Rollouts: sampled completions of one example, as tokens and as reward-bus samples; and the
//! held-out check that rewards them.

use crate::error::TrainError;
use crate::model::engine::{sample_groups, GroupRequest};
use crate::model::sampling::{Completion, SamplingConfig};
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

/// `n` sampled completions of each example, all in one engine batch; example `i` samples with
/// seed `config.seed + i`.
pub fn rollouts(
    policy: &Policy,
    examples: &[&Example],
    n: usize,
    config: &SamplingConfig,
) -> Result<Vec<Rollouts>, TrainError> {
    let prompts = examples
        .iter()
        .map(|example| policy.prompt_tokens(&example.prompt))
        .collect::<Result<Vec<_>, _>>()?;
    let requests: Vec<GroupRequest> = prompts
        .iter()
        .enumerate()
        .map(|(i, prompt)| GroupRequest {
            prompt,
            n,
            seed: config.seed.wrapping_add(i as u64),
        })
        .collect();
    let groups = sample_groups(&policy.model, &requests, config)?;
    examples
        .iter()
        .zip(prompts)
        .zip(groups)
        .map(|((example, prompt), completions)| {
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
        })
        .collect()
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
    let examples: Vec<&Example> = examples.iter().collect();
    let scored: Vec<Sample> = rollouts(policy, &examples, n, config)?
        .into_iter()
        .flat_map(|r| r.samples)
        .collect();
    rewarder.reward(&scored)
}
