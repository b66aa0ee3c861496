//! What sampling is asked for and what it returns: the settings (temperature, top-k, top-p,
//! stop tokens, a token budget, a seed) and completions with the log-probability of every
//! sampled token. The rollout engine (`engine.rs`) does the sampling.

use serde::{Deserialize, Serialize};

/// How to sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingConfig {
    /// 0 is greedy.
    pub temperature: f64,
    /// Keep the smallest set of tokens whose probability reaches `top_p` (1 = off).
    pub top_p: f64,
    /// Keep the `top_k` most likely tokens (0 = off).
    pub top_k: usize,
    pub max_new_tokens: usize,
    /// Generation of a row ends after it samples one of these (the token is kept).
    pub stop_tokens: Vec<u32>,
    /// Generation of a row ends once its tokens end with one of these (multi-token stops such
    /// as `</answer>` spelled in several tokens; kept in the completion).
    pub stop_sequences: Vec<Vec<u32>>,
    pub seed: u64,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            max_new_tokens: 64,
            stop_tokens: Vec::new(),
            stop_sequences: Vec::new(),
            seed: 0,
        }
    }
}

/// One sampled completion.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub tokens: Vec<u32>,
    /// `log π(token)` under the temperature-scaled distribution (what the GRPO loss uses).
    pub logprobs: Vec<f32>,
    /// Ended on a stop token (false: cut at `max_new_tokens`, i.e. truncated).
    pub stopped: bool,
}

impl Completion {
    /// Append a sampled token; it stops the completion when it is a stop token or ends a stop
    /// sequence.
    pub fn push(&mut self, token: u32, logprob: f32, config: &SamplingConfig) {
        self.tokens.push(token);
        self.logprobs.push(logprob);
        self.stopped = config.stop_tokens.contains(&token)
            || config
                .stop_sequences
                .iter()
                .any(|s| !s.is_empty() && self.tokens.ends_with(s));
    }
}
