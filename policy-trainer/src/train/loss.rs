//! SFT and GRPO losses over per-token log-probabilities, as published (DeepSeekMath §4.1,
//! DeepSeek-R1, Dr. GRPO, DAPO); TRL's conventions where the papers leave a choice.

use crate::error::TrainError;
use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

/// Completion-only next-token loss: `-Σ logp·mask / supervised_tokens`, where
/// `supervised_tokens` counts the supervised tokens of the whole accumulated batch (so
/// micro-batches of different sizes weigh by tokens, as TRL's `num_items_in_batch`).
pub fn sft_loss(
    logprobs: &Tensor,
    mask: &Tensor,
    supervised_tokens: usize,
) -> Result<Tensor, TrainError> {
    if supervised_tokens == 0 {
        return Err(TrainError::Input(
            "no supervised tokens in the batch".into(),
        ));
    }
    let mask = mask.to_dtype(logprobs.dtype())?;
    Ok(((logprobs * mask)?.sum_all()?.neg()? / supervised_tokens as f64)?)
}

/// How per-token GRPO losses are reduced to one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The paper: mean over each sequence's tokens, then over sequences.
    Grpo,
    /// Dr. GRPO: sum over all tokens / (sequences × max completion length).
    DrGrpo,
    /// DAPO: token level, sum over all tokens / all tokens.
    #[default]
    Dapo,
}

/// GRPO hyper-parameters that shape the loss.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GrpoLossConfig {
    pub epsilon_low: f64,
    pub epsilon_high: f64,
    /// KL coefficient; 0 skips the reference model.
    pub beta: f64,
    pub aggregation: Aggregation,
    /// Dr. GRPO's constant length (the max completion length).
    pub max_completion_len: usize,
}

/// The loss and what it is made of (for logs).
pub struct GrpoLoss {
    pub loss: Tensor,
    /// Mean k3 KL over completion tokens (0 without a reference).
    pub kl: f64,
    pub clip: ClipFractions,
}

/// Shares of completion tokens where clipping took effect, by the advantage's sign (as TRL
/// counts them): a ratio below `1 - ε_low` matters only when A < 0, above `1 + ε_high` only
/// when A > 0; elsewhere the unclipped term is the smaller one and the gradient flows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClipFractions {
    pub low: f64,
    pub high: f64,
    /// Either of the two.
    pub region: f64,
}

impl ClipFractions {
    fn count(ratios: &[f64], advantages: &[f64], mask: &[f64], config: &GrpoLossConfig) -> Self {
        let t = mask.len() / advantages.len().max(1);
        let (mut low, mut high, mut tokens) = (0usize, 0usize, 0f64);
        for (i, (ratio, m)) in ratios.iter().zip(mask).enumerate() {
            if *m <= 0.0 {
                continue;
            }
            tokens += 1.0;
            let advantage = advantages[i / t.max(1)];
            low += usize::from(*ratio < 1.0 - config.epsilon_low && advantage < 0.0);
            high += usize::from(*ratio > 1.0 + config.epsilon_high && advantage > 0.0);
        }
        let share = |n: usize| n as f64 / tokens.max(1.0);
        ClipFractions {
            low: share(low),
            high: share(high),
            region: share(low + high),
        }
    }

    /// `self · w + other`, to average over micro-batches.
    pub fn weighted_add(self, other: ClipFractions, w: f64) -> ClipFractions {
        ClipFractions {
            low: other.low + self.low * w,
            high: other.high + self.high * w,
            region: other.region + self.region * w,
        }
    }
}

/// The clipped-surrogate GRPO loss with optional k3 KL.
///
/// `logprobs`, `old_logprobs`, `ref_logprobs`, `mask`: `[b, t]`; `advantages`: `[b]`.
/// Without `old_logprobs` (on-policy: one optimizer step per rollout) the ratio is
/// `exp(logp - detach(logp)) = 1` with the gradient of `logp`.
pub fn grpo_loss(
    logprobs: &Tensor,
    old_logprobs: Option<&Tensor>,
    ref_logprobs: Option<&Tensor>,
    advantages: &Tensor,
    mask: &Tensor,
    config: &GrpoLossConfig,
) -> Result<GrpoLoss, TrainError> {
    let dtype = logprobs.dtype();
    let mask = mask.to_dtype(dtype)?;
    let old = match old_logprobs {
        Some(old) => old.clone(),
        None => logprobs.detach(),
    };
    let ratio = (logprobs - &old)?.exp()?;
    let advantages = advantages.to_dtype(dtype)?.unsqueeze(1)?;
    let unclipped = ratio.broadcast_mul(&advantages)?;
    let clipped_ratio = ratio.clamp(1.0 - config.epsilon_low, 1.0 + config.epsilon_high)?;
    let clipped = clipped_ratio.broadcast_mul(&advantages)?;
    let mut per_token = unclipped.minimum(&clipped)?.neg()?;
    let mut kl_mean = 0.0;
    let tokens = mask.sum_all()?.to_dtype(DType::F64)?.to_scalar::<f64>()?;
    if config.beta != 0.0 {
        let reference = ref_logprobs
            .ok_or_else(|| TrainError::Input("beta > 0 needs reference log-probs".into()))?;
        // k3: exp(ref - logp) - (ref - logp) - 1 ≥ 0.
        let delta = (reference - logprobs)?;
        let kl = ((delta.exp()? - &delta)? - 1.0)?;
        kl_mean = (&kl * &mask)?
            .sum_all()?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?
            / tokens.max(1.0);
        per_token = (per_token + (kl * config.beta)?)?;
    }
    let masked = (per_token * &mask)?;
    let loss = match config.aggregation {
        Aggregation::Grpo => {
            let per_sequence = masked
                .sum(1)?
                .broadcast_div(&mask.sum(1)?.clamp(1.0, f64::INFINITY)?)?;
            per_sequence.mean_all()?
        }
        Aggregation::DrGrpo => {
            let b = mask.dim(0)?;
            (masked.sum_all()? / (b * config.max_completion_len.max(1)) as f64)?
        }
        Aggregation::Dapo => (masked.sum_all()? / tokens.max(1.0))?,
    };
    let values = |t: &Tensor| -> Result<Vec<f64>, TrainError> {
        Ok(t.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?)
    };
    let clip = ClipFractions::count(
        &values(&ratio)?,
        &values(&advantages)?,
        &values(&mask)?,
        config,
    );
    Ok(GrpoLoss {
        loss,
        kl: kl_mean,
        clip,
    })
}

/// How rewards of a group become advantages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AdvantageScaling {
    /// `(r - group mean) / (group std + eps)` (GRPO; unbiased std as TRL and verl).
    #[default]
    Group,
    /// `r - group mean` (Dr. GRPO).
    None,
    /// `(r - group mean) / (batch std + eps)`.
    Batch,
}

/// Advantages for `rewards` laid out as consecutive groups of `group` samples.
pub fn advantages(
    rewards: &[f64],
    group: usize,
    scaling: AdvantageScaling,
) -> Result<Vec<f64>, TrainError> {
    if group == 0 || !rewards.len().is_multiple_of(group) {
        return Err(TrainError::Input(format!(
            "{} rewards do not split into groups of {group}",
            rewards.len()
        )));
    }
    let std = |values: &[f64]| -> f64 {
        let n = values.len() as f64;
        if values.len() < 2 {
            return 0.0;
        }
        let mean = values.iter().sum::<f64>() / n;
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    };
    let batch_std = std(rewards);
    let mut out = Vec::with_capacity(rewards.len());
    for chunk in rewards.chunks(group) {
        let mean = chunk.iter().sum::<f64>() / chunk.len() as f64;
        let scale = match scaling {
            AdvantageScaling::Group => std(chunk) + 1e-4,
            AdvantageScaling::None => 1.0,
            AdvantageScaling::Batch => batch_std + 1e-4,
        };
        out.extend(chunk.iter().map(|r| (r - mean) / scale));
    }
    Ok(out)
}
