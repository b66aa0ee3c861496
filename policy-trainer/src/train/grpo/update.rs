//! A step's update from its kept groups: group-relative advantages, rows of prompt +
//! completion, old and reference log-probs where needed, then μ optimizer passes of the clipped
//! surrogate over micro-batches.

use crate::error::TrainError;
use crate::model::logprobs::token_logprobs;
use crate::train::grpo::collect::Group;
use crate::train::grpo::config::GrpoConfig;
use crate::train::grpo::reference::Reference;
use crate::train::loss::{advantages, grpo_loss, Aggregation, ClipFractions, GrpoLossConfig};
use crate::train::optim::{Accumulated, AdamW};
use crate::train::policy::Policy;
use candle_core::{DType, Tensor};

/// What an update reports (the last of its μ passes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateStats {
    pub loss: f64,
    pub kl: f64,
    pub clip: ClipFractions,
    pub grad_norm: f64,
    /// The learning rate of the (last) optimizer step.
    pub lr: f64,
    /// Token positions run forward and backward, over all passes.
    pub trained_tokens: usize,
    /// Seconds of the passes (old and reference log-probs included).
    pub seconds: f64,
}

/// One training sequence: prompt + completion, with its advantage and loss mask.
struct Row {
    tokens: Vec<u32>,
    prompt_len: usize,
    advantage: f64,
    /// False: a truncated completion excluded from the loss.
    counted: bool,
}

/// The policy, its optimizer and reference, and the settings an update runs with.
pub struct Updater<'a> {
    pub policy: &'a Policy,
    pub grpo: &'a GrpoConfig,
    pub reference: &'a Reference,
}

impl Updater<'_> {
    /// μ optimizer steps on the kept groups.
    pub fn update(&self, optimizer: &mut AdamW, kept: &[Group]) -> Result<UpdateStats, TrainError> {
        let started = std::time::Instant::now();
        let grpo = self.grpo;
        let rewards: Vec<f64> = kept
            .iter()
            .flat_map(|g| g.rewards.iter().copied())
            .collect();
        let advantage = advantages(&rewards, grpo.group_size, grpo.advantage)?;
        let rows = build_rows(kept, &advantage, grpo.mask_truncated);
        let micro: Vec<&[Row]> = rows.chunks(grpo.micro_batch).collect();
        let weights = micro_weights(&micro, grpo.aggregation);
        // Old log-probs only when the data goes off-policy (μ > 1).
        let old = if grpo.mu > 1 {
            self.logprobs(&micro, Some(&self.policy.model))?
        } else {
            vec![None; micro.len()]
        };
        let refs = self.logprobs(&micro, self.reference.model())?;
        let mut stats = UpdateStats::default();
        for _ in 0..grpo.mu {
            let tokens = stats.trained_tokens;
            stats = self.pass(optimizer, &micro, &weights, (&old, &refs))?;
            stats.trained_tokens += tokens;
        }
        stats.seconds = started.elapsed().as_secs_f64();
        Ok(stats)
    }

    /// One optimizer step over every micro-batch.
    fn pass(
        &self,
        optimizer: &mut AdamW,
        micro: &[&[Row]],
        weights: &[f64],
        (old, refs): (&[Option<Tensor>], &[Option<Tensor>]),
    ) -> Result<UpdateStats, TrainError> {
        let grpo = self.grpo;
        let loss_config = GrpoLossConfig {
            epsilon_low: grpo.epsilon_low,
            epsilon_high: grpo.epsilon_high,
            beta: grpo.beta,
            aggregation: grpo.aggregation,
            max_completion_len: grpo.max_new_tokens,
        };
        let mut grads = Accumulated::default();
        let mut stats = UpdateStats::default();
        for (i, m) in micro.iter().enumerate() {
            let b = tensors(m, self.policy.model.device())?;
            let logits = self.policy.model.forward(&b.inputs)?;
            let logp = token_logprobs(&logits, &b.targets, grpo.temperature)?;
            let out = grpo_loss(
                &logp,
                old[i].as_ref(),
                refs[i].as_ref(),
                &b.advantages,
                &b.mask,
                &loss_config,
            )?;
            let loss = (out.loss * weights[i])?;
            stats.loss += loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            stats.kl += out.kl * weights[i];
            stats.clip = out.clip.weighted_add(stats.clip, weights[i]);
            stats.trained_tokens += b.inputs.elem_count();
            grads.add(optimizer.vars(), &loss.backward()?)?;
        }
        stats.lr = grpo
            .optimizer
            .learning_rate(optimizer.steps, grpo.steps * grpo.mu);
        stats.grad_norm = optimizer.step(&grads, stats.lr)?.grad_norm;
        Ok(stats)
    }

    /// Detached per-token log-probs of each micro-batch under `model` (`None` without one).
    fn logprobs(
        &self,
        micro: &[&[Row]],
        model: Option<&crate::model::Decoder>,
    ) -> Result<Vec<Option<Tensor>>, TrainError> {
        micro
            .iter()
            .map(|m| {
                let Some(model) = model else {
                    return Ok(None);
                };
                let b = tensors(m, model.device())?;
                let logits = model.forward(&b.inputs)?.detach();
                Ok(Some(
                    token_logprobs(&logits, &b.targets, self.grpo.temperature)?.detach(),
                ))
            })
            .collect()
    }
}

fn build_rows(groups: &[Group], advantage: &[f64], mask_truncated: bool) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut a = advantage.iter();
    for group in groups {
        for completion in &group.completions {
            let mut tokens = group.prompt.clone();
            tokens.extend(&completion.tokens);
            rows.push(Row {
                tokens,
                prompt_len: group.prompt.len(),
                advantage: *a.next().unwrap_or(&0.0),
                counted: completion.stopped || !mask_truncated,
            });
        }
    }
    rows
}

/// Each micro-batch's share of the whole batch's loss, so that summing micro-batch losses
/// reproduces the aggregation over the whole batch.
fn micro_weights(micro: &[&[Row]], aggregation: Aggregation) -> Vec<f64> {
    let tokens = |rows: &[Row]| -> usize {
        rows.iter()
            .filter(|r| r.counted)
            .map(|r| r.tokens.len() - r.prompt_len)
            .sum()
    };
    let total_rows: usize = micro.iter().map(|m| m.len()).sum();
    let total_tokens: usize = micro.iter().map(|m| tokens(m)).sum();
    micro
        .iter()
        .map(|m| match aggregation {
            Aggregation::Dapo => tokens(m) as f64 / total_tokens.max(1) as f64,
            Aggregation::Grpo | Aggregation::DrGrpo => m.len() as f64 / total_rows.max(1) as f64,
        })
        .collect()
}

struct RowTensors {
    inputs: Tensor,
    targets: Tensor,
    mask: Tensor,
    advantages: Tensor,
}

fn tensors(rows: &[Row], device: &candle_core::Device) -> Result<RowTensors, TrainError> {
    let width = rows.iter().map(|r| r.tokens.len() - 1).max().unwrap_or(1);
    let n = rows.len();
    let (mut inputs, mut targets, mut mask) = (
        vec![0u32; n * width],
        vec![0u32; n * width],
        vec![0f32; n * width],
    );
    for (i, row) in rows.iter().enumerate() {
        for t in 0..row.tokens.len() - 1 {
            inputs[i * width + t] = row.tokens[t];
            targets[i * width + t] = row.tokens[t + 1];
            if row.counted && t + 1 >= row.prompt_len {
                mask[i * width + t] = 1.0;
            }
        }
    }
    let advantages: Vec<f32> = rows.iter().map(|r| r.advantage as f32).collect();
    Ok(RowTensors {
        inputs: Tensor::from_vec(inputs, (n, width), device)?,
        targets: Tensor::from_vec(targets, (n, width), device)?,
        mask: Tensor::from_vec(mask, (n, width), device)?,
        advantages: Tensor::from_vec(advantages, n, device)?,
    })
}
