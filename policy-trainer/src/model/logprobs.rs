//! Per-token log-probabilities under the model's (temperature-scaled) distribution: what sampling
//! records, the losses train on and checks compare.

use crate::model::decoder::Decoder;
use crate::model::error::ModelError;
use candle_core::{DType, Tensor, D};

/// `log π(target_t | prefix)` for every position: `logits: [b, t, vocab]`, `targets: [b, t]`
/// (u32) → `[b, t]`. Logits are divided by `temperature` first (the sampling distribution).
/// Half-precision logits are widened to f32 first: the normaliser sums the whole vocabulary,
/// which bf16 cannot do to better than a few tenths of a nat at 150k terms.
pub fn token_logprobs(
    logits: &Tensor,
    targets: &Tensor,
    temperature: f64,
) -> Result<Tensor, ModelError> {
    let logits = match logits.dtype() {
        DType::BF16 | DType::F16 => logits.to_dtype(DType::F32)?,
        _ => logits.clone(),
    };
    let logits = if temperature != 1.0 {
        (logits / temperature)?
    } else {
        logits.clone()
    };
    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
    Ok(logp
        .gather(&targets.unsqueeze(D::Minus1)?, D::Minus1)?
        .squeeze(D::Minus1)?)
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
    let logits = model.forward(&inputs)?;
    let logp = token_logprobs(&logits, &targets, temperature)?;
    let logp = logp
        .narrow(1, prompt.len() - 1, completion.len())?
        .squeeze(0)?;
    Ok(logp.to_dtype(DType::F32)?.to_vec1::<f32>()?)
}
