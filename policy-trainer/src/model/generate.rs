//! Generation with a KV cache: a group of `n` completions of one prompt (GRPO's G
//! samples share their prompt, so the batch needs no padding), temperature, top-k, top-p, stop
//! tokens, a token budget, a seed, and the log-probability of every sampled token.

use crate::model::decoder::{Decoder, KvCache};
use crate::model::error::ModelError;
use candle_core::{DType, Tensor};
use rand::{Rng, SeedableRng};
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
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub tokens: Vec<u32>,
    /// `log π(token)` under the temperature-scaled distribution (what the GRPO loss uses).
    pub logprobs: Vec<f32>,
    /// Ended on a stop token (false: cut at `max_new_tokens`, i.e. truncated).
    pub stopped: bool,
}

/// Sample `n` completions of `prompt`.
pub fn generate(
    model: &Decoder,
    prompt: &[u32],
    n: usize,
    config: &SamplingConfig,
) -> Result<Vec<Completion>, ModelError> {
    if prompt.is_empty() || n == 0 {
        return Err(ModelError::Input(
            "sampling needs a prompt and n > 0".into(),
        ));
    }
    if !(config.temperature >= 0.0 && config.top_p > 0.0 && config.top_p <= 1.0) {
        return Err(ModelError::Config(
            "sampling: temperature >= 0 and 0 < top_p <= 1".into(),
        ));
    }
    if let Some(bad) = prompt
        .iter()
        .find(|t| **t as usize >= model.config.vocab_size)
    {
        return Err(ModelError::Input(format!(
            "token {bad} is outside the vocabulary"
        )));
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);
    let device = model.device();
    let mut cache = KvCache::new(model.config.num_hidden_layers);
    let rows: Vec<u32> = prompt
        .iter()
        .copied()
        .cycle()
        .take(prompt.len() * n)
        .collect();
    let mut logits = model.forward(
        &Tensor::from_vec(rows, (n, prompt.len()), device)?,
        Some(&mut cache),
    )?;
    let mut out = vec![
        Completion {
            tokens: Vec::new(),
            logprobs: Vec::new(),
            stopped: false,
        };
        n
    ];
    for _ in 0..config.max_new_tokens {
        let last = logits.narrow(1, logits.dim(1)? - 1, 1)?.squeeze(1)?;
        let rows = last.to_dtype(DType::F32)?.to_vec2::<f32>()?;
        let mut next = Vec::with_capacity(n);
        for (row, completion) in rows.iter().zip(out.iter_mut()) {
            let (token, logprob) = pick(row, config, &mut rng);
            if !completion.stopped {
                completion.tokens.push(token);
                completion.logprobs.push(logprob);
                completion.stopped = config.stop_tokens.contains(&token)
                    || config
                        .stop_sequences
                        .iter()
                        .any(|s| !s.is_empty() && completion.tokens.ends_with(s));
            }
            next.push(token);
        }
        if out.iter().all(|c| c.stopped) {
            break;
        }
        logits = model.forward(&Tensor::from_vec(next, (n, 1), device)?, Some(&mut cache))?;
    }
    Ok(out)
}

/// Choose one token from a row of logits; returns it with its temperature-scaled log-prob.
fn pick(logits: &[f32], config: &SamplingConfig, rng: &mut impl Rng) -> (u32, f32) {
    let temperature = if config.temperature > 0.0 {
        config.temperature
    } else {
        1.0
    };
    let scaled: Vec<f64> = logits.iter().map(|&l| f64::from(l) / temperature).collect();
    let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_norm = max + scaled.iter().map(|l| (l - max).exp()).sum::<f64>().ln();
    let logprob = |i: usize| (scaled[i] - log_norm) as f32;
    if config.temperature == 0.0 {
        let best = (0..scaled.len())
            .max_by(|&a, &b| scaled[a].total_cmp(&scaled[b]))
            .unwrap_or(0);
        return (best as u32, logprob(best));
    }
    let mut order: Vec<usize> = (0..scaled.len()).collect();
    order.sort_unstable_by(|&a, &b| scaled[b].total_cmp(&scaled[a]));
    if config.top_k > 0 {
        order.truncate(config.top_k);
    }
    let probabilities: Vec<f64> = order
        .iter()
        .map(|&i| (scaled[i] - log_norm).exp())
        .collect();
    let mut keep = order.len();
    if config.top_p < 1.0 {
        let mut cumulative = 0.0;
        for (k, p) in probabilities.iter().enumerate() {
            cumulative += p;
            if cumulative >= config.top_p {
                keep = k + 1;
                break;
            }
        }
    }
    let total: f64 = probabilities[..keep].iter().sum();
    let mut draw = rng.random::<f64>() * total;
    for k in 0..keep {
        draw -= probabilities[k];
        if draw <= 0.0 {
            return (order[k] as u32, logprob(order[k]));
        }
    }
    let last = order[keep - 1];
    (last as u32, logprob(last))
}

/// Log-probs of given completion tokens under the model (for checks against sampling).
pub fn score_tokens(
    model: &Decoder,
    prompt: &[u32],
    completion: &[u32],
    temperature: f64,
) -> Result<Vec<f32>, ModelError> {
    let all: Vec<u32> = prompt.iter().chain(completion).copied().collect();
    let inputs = Tensor::from_vec(
        all[..all.len() - 1].to_vec(),
        (1, all.len() - 1),
        model.device(),
    )?;
    let targets = Tensor::from_vec(all[1..].to_vec(), (1, all.len() - 1), model.device())?;
    let logits = model.forward(&inputs, None)?;
    let logp = crate::model::logprobs::token_logprobs(&logits, &targets, temperature)?;
    let logp = logp
        .narrow(1, prompt.len() - 1, completion.len())?
        .squeeze(0)?;
    Ok(logp.to_dtype(DType::F32)?.to_vec1::<f32>()?)
}
