//! Per-token log-probabilities under the model's (temperature-scaled) distribution: what sampling
//! records, the losses train on and checks compare.

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
