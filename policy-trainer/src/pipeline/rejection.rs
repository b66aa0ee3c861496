//! Rejection sampling (R1's stage 3 data): k completions per prompt from a checkpoint, scored by
//! the reward bus, kept only when verified correct and readable — language-consistent, no
//! over-long paragraphs, no code blocks outside code tasks — then deduplicated into an SFT-ready
//! dataset.

use crate::config_value::OneOrMany;
use crate::error::TrainError;
use crate::model::sampling::SamplingConfig;
use crate::train::data::Example;
use crate::train::policy::Policy;
use crate::train::reward::{scored, Rewarder};
use crate::train::rollout::rollouts;
use judges::Rewarded;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Rejection sampling (`r1-train sample`, a recipe's `sample` stage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectionConfig {
    /// k: completions sampled per prompt.
    pub samples_per_prompt: usize,
    #[serde(default = "default_sample_temperature")]
    pub temperature: f64,
    #[serde(default = "crate::config_value::one_f")]
    pub top_p: f64,
    pub max_new_tokens: usize,
    /// The reward component that decides correctness (a list: the first one that scored a
    /// sample, e.g. `["accuracy", "code"]` for mixed math and code prompts), and the value it
    /// must reach.
    #[serde(default = "default_keep_reward")]
    pub keep_reward: OneOrMany<String>,
    #[serde(default = "crate::config_value::one_f")]
    pub min_value: f64,
    /// When the bus scores a `language` component: the consistency a kept sample needs.
    #[serde(default = "default_min_language")]
    pub min_language: f64,
    /// Reject completions with a paragraph (text between blank lines) longer than this.
    #[serde(default = "default_max_paragraph")]
    pub max_paragraph_chars: usize,
    /// Kept completions per prompt, after deduplication.
    #[serde(default = "default_max_per_prompt")]
    pub max_per_prompt: usize,
    /// Sample at most this many prompts (from the start of the training set); absent: all.
    #[serde(default)]
    pub prompts: Option<usize>,
    /// The reward bus; absent: its embedded default.
    #[serde(default)]
    pub rewards: Option<judges::BusConfig>,
}

fn default_sample_temperature() -> f64 {
    0.7
}
fn default_keep_reward() -> OneOrMany<String> {
    OneOrMany::One("accuracy".into())
}
fn default_min_language() -> f64 {
    0.95
}
fn default_max_paragraph() -> usize {
    2000
}
fn default_max_per_prompt() -> usize {
    1
}

/// Why samples were dropped, and how many were kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RejectionStats {
    pub prompts: usize,
    pub sampled: usize,
    /// A reward the decision needs failed or timed out (no verdict: not kept).
    pub reward_failed: usize,
    pub incorrect: usize,
    pub mixed_language: usize,
    pub long_paragraph: usize,
    pub code_block: usize,
    pub duplicate: usize,
    pub over_limit: usize,
    pub kept: usize,
    /// Prompts with at least one kept completion.
    pub prompts_kept: usize,
}

/// Why a completion is not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    RewardFailed,
    Incorrect,
    MixedLanguage,
    LongParagraph,
    CodeBlock,
}

impl RejectionStats {
    fn count(&mut self, rejection: Rejection) {
        *match rejection {
            Rejection::RewardFailed => &mut self.reward_failed,
            Rejection::Incorrect => &mut self.incorrect,
            Rejection::MixedLanguage => &mut self.mixed_language,
            Rejection::LongParagraph => &mut self.long_paragraph,
            Rejection::CodeBlock => &mut self.code_block,
        } += 1;
    }
}

/// Why a scored completion is not kept (`None`: keep it).
pub fn rejection_reason(
    config: &RejectionConfig,
    task: Option<&str>,
    completion: &str,
    rewarded: &Rewarded,
) -> Option<Rejection> {
    if !rewarded.is_complete() {
        return Some(Rejection::RewardFailed);
    }
    let component = |name: &str| scored(rewarded, name);
    let decisive = config
        .keep_reward
        .as_slice()
        .iter()
        .find_map(|name| component(name));
    match decisive {
        Some(value) if value >= config.min_value => {}
        _ => return Some(Rejection::Incorrect),
    }
    if component("language").is_some_and(|v| v < config.min_language) {
        return Some(Rejection::MixedLanguage);
    }
    if completion
        .split("\n\n")
        .any(|p| p.chars().count() > config.max_paragraph_chars)
    {
        return Some(Rejection::LongParagraph);
    }
    if task != Some("code") && completion.contains("```") {
        return Some(Rejection::CodeBlock);
    }
    None
}

/// Sample, score and filter; returns the kept examples (completion set, SFT-ready) in prompt
/// order, and the counts.
pub fn rejection_sample(
    policy: &Policy,
    examples: &[Example],
    rewarder: &dyn Rewarder,
    config: &RejectionConfig,
    seed: u64,
) -> Result<(Vec<Example>, RejectionStats), TrainError> {
    if config.samples_per_prompt == 0 || config.max_new_tokens == 0 || config.max_per_prompt == 0 {
        return Err(TrainError::Config(
            "sample: samples_per_prompt, max_new_tokens and max_per_prompt must be > 0".into(),
        ));
    }
    let examples = &examples[..config.prompts.unwrap_or(usize::MAX).min(examples.len())];
    let mut stats = RejectionStats {
        prompts: examples.len(),
        ..RejectionStats::default()
    };
    let mut kept = Vec::new();
    let mut seen = HashSet::new();
    let sampling = SamplingConfig {
        temperature: config.temperature,
        top_p: config.top_p,
        max_new_tokens: config.max_new_tokens,
        stop_sequences: policy.stop_sequences(),
        seed,
        ..SamplingConfig::default()
    };
    let prompts: Vec<&Example> = examples.iter().collect();
    let sampled = rollouts(policy, &prompts, config.samples_per_prompt, &sampling)?;
    for (example, rollout) in examples.iter().zip(sampled) {
        let samples = rollout.samples;
        stats.sampled += samples.len();
        let rewarded = rewarder.reward(&samples)?;
        let mut kept_here = 0;
        for (sample, reward) in samples.into_iter().zip(&rewarded) {
            let text = sample.completion;
            match rejection_reason(config, example.task.as_deref(), &text, reward) {
                Some(rejection) => stats.count(rejection),
                None if !seen.insert((example.prompt.clone(), text.clone())) => {
                    stats.duplicate += 1
                }
                None if kept_here >= config.max_per_prompt => stats.over_limit += 1,
                None => {
                    kept_here += 1;
                    kept.push(Example {
                        completion: Some(text),
                        ..example.clone()
                    });
                }
            }
        }
        stats.prompts_kept += usize::from(kept_here > 0);
    }
    stats.kept = kept.len();
    Ok((kept, stats))
}
