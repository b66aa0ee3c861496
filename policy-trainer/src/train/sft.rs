//! Supervised fine-tuning: completion-only next-token loss over chat-templated examples,
//! normalised over the supervised tokens of the whole accumulated batch.

use crate::config_value::OneOrMany;
use crate::error::TrainError;
use crate::model::logprobs::token_logprobs;
use crate::train::data::{Example, ToyAnswers, ToyTask};
use crate::train::loss::sft_loss;
use crate::train::optim::{Accumulated, AdamW, OptimizerConfig};
use crate::train::policy::Policy;
use crate::train::session::{HeldOut, Session, StepDone};
use candle_core::{DType, Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::time::Instant;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftConfig {
    pub steps: usize,
    /// Examples per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    #[serde(default = "crate::config_value::one")]
    pub grad_accum: usize,
    /// Longer examples are cut (prompt + completion tokens).
    #[serde(default = "default_max_len")]
    pub max_len: usize,
    /// Toy completions carry the right answer or a random one (format-only cold start).
    #[serde(default)]
    pub toy_answers: ToyAnswers,
    /// More toy tasks mixed into the training data (skills the cold start teaches besides
    /// the format, or R1's non-reasoning data beside rejection samples).
    #[serde(default)]
    pub toy_extra: Option<OneOrMany<ToyTask>>,
    /// Which answers the `toy_extra` completions carry.
    #[serde(default)]
    pub toy_extra_answers: ToyAnswers,
    /// At most this many training prompts per `toy_extra` task.
    #[serde(default)]
    pub toy_extra_limit: Option<usize>,
    pub optimizer: OptimizerConfig,
}

fn default_max_len() -> usize {
    512
}

impl SftConfig {
    pub fn validate(&self) -> Result<(), TrainError> {
        if self.steps == 0 || self.batch_size == 0 || self.grad_accum == 0 || self.max_len < 2 {
            return Err(TrainError::Config(
                "sft: steps, batch_size, grad_accum must be > 0 and max_len >= 2".into(),
            ));
        }
        self.optimizer.validate()
    }
}

/// An example as tokens: the whole sequence and where the supervised part starts.
pub struct Encoded {
    pub tokens: Vec<u32>,
    pub prompt_len: usize,
}

/// Template the prompt, append the completion and the end-of-turn marker, cut to `max_len`.
pub fn encode(policy: &Policy, example: &Example, max_len: usize) -> Result<Encoded, TrainError> {
    let completion = example.completion.as_deref().ok_or_else(|| {
        TrainError::Input(format!(
            "SFT example without a completion: {:?}",
            example.prompt
        ))
    })?;
    let mut tokens = policy.prompt_tokens(&example.prompt)?;
    let prompt_len = tokens.len();
    let answer = format!("{completion}{}", policy.template.end_of_turn());
    tokens.extend(policy.tokenizer.encode(&answer)?);
    tokens.truncate(max_len);
    if tokens.len() <= prompt_len {
        return Err(TrainError::Input(format!(
            "prompt of {prompt_len} tokens leaves nothing to supervise within max_len {max_len}: {:?}",
            example.prompt
        )));
    }
    Ok(Encoded { tokens, prompt_len })
}

/// Inputs, targets and the supervised-token mask of a right-padded batch.
pub struct Batch {
    pub inputs: Tensor,
    pub targets: Tensor,
    pub mask: Tensor,
    pub supervised: usize,
}

pub fn batch(encoded: &[&Encoded], device: &Device) -> Result<Batch, TrainError> {
    let width = encoded
        .iter()
        .map(|e| e.tokens.len() - 1)
        .max()
        .unwrap_or(1);
    let rows = encoded.len();
    let (mut inputs, mut targets, mut mask) = (
        vec![0u32; rows * width],
        vec![0u32; rows * width],
        vec![0f32; rows * width],
    );
    let mut supervised = 0;
    for (r, e) in encoded.iter().enumerate() {
        for t in 0..e.tokens.len() - 1 {
            inputs[r * width + t] = e.tokens[t];
            targets[r * width + t] = e.tokens[t + 1];
            if t + 1 >= e.prompt_len {
                mask[r * width + t] = 1.0;
                supervised += 1;
            }
        }
    }
    Ok(Batch {
        inputs: Tensor::from_vec(inputs, (rows, width), device)?,
        targets: Tensor::from_vec(targets, (rows, width), device)?,
        mask: Tensor::from_vec(mask, (rows, width), device)?,
        supervised,
    })
}

/// Mean per-token loss of `examples` (no gradient kept), in batches of `batch_size`.
pub fn mean_loss(
    policy: &Policy,
    examples: &[Encoded],
    batch_size: usize,
) -> Result<f64, TrainError> {
    let (mut total, mut tokens) = (0.0, 0usize);
    for chunk in examples.chunks(batch_size.max(1)) {
        let refs: Vec<&Encoded> = chunk.iter().collect();
        let b = batch(&refs, policy.model.device())?;
        let logits = policy.model.forward(&b.inputs)?.detach();
        let logp = token_logprobs(&logits, &b.targets, 1.0)?;
        let loss = sft_loss(&logp, &b.mask, b.supervised)?;
        total += loss.to_dtype(DType::F64)?.to_scalar::<f64>()? * b.supervised as f64;
        tokens += b.supervised;
    }
    Ok(total / tokens.max(1) as f64)
}

/// What an SFT run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct SftSummary {
    pub steps: usize,
    pub first_loss: Option<f64>,
    pub last_loss: f64,
    pub eval_loss_before: Option<f64>,
    pub eval_loss_after: Option<f64>,
}

/// The held-out loss (`eval_loss`).
struct HeldOutLoss<'a> {
    examples: &'a [Encoded],
    batch_size: usize,
}

impl HeldOut for HeldOutLoss<'_> {
    fn measure(&self, policy: &Policy) -> Result<Option<serde_json::Value>, TrainError> {
        if self.examples.is_empty() {
            return Ok(None);
        }
        let loss = mean_loss(policy, self.examples, self.batch_size)?;
        Ok(Some(serde_json::json!({ "eval_loss": loss })))
    }
}

/// Train from the session's start to `sft.steps`.
pub fn train(
    session: &mut Session<'_>,
    sft: &SftConfig,
    train_set: &[Example],
    eval_set: &[Example],
) -> Result<SftSummary, TrainError> {
    let encode_all = |examples: &[Example]| -> Result<Vec<Encoded>, TrainError> {
        examples
            .iter()
            .map(|e| encode(session.policy, e, sft.max_len))
            .collect()
    };
    let encoded = encode_all(train_set)?;
    let held_out = HeldOutLoss {
        examples: &encode_all(eval_set)?,
        batch_size: sft.batch_size,
    };
    let eval_loss = |m: Option<serde_json::Value>| m.and_then(|m| m["eval_loss"].as_f64());
    let eval_loss_before = eval_loss(session.measure_before(&held_out)?);
    let mut optimizer = session.optimizer(sft.optimizer.clone())?;
    let (mut first_loss, mut last_loss) = (None, f64::NAN);
    for step in session.start.step..sft.steps {
        let started = Instant::now();
        let chosen = pick(
            encoded.len(),
            sft.batch_size * sft.grad_accum,
            session.settings.seed,
            step,
        );
        let (loss, tokens, grads) = accumulate(session.policy, &encoded, &chosen, sft, &optimizer)?;
        let report = optimizer.step(&grads, sft.optimizer.learning_rate(step, sft.steps))?;
        first_loss.get_or_insert(loss);
        last_loss = loss;
        let seconds = started.elapsed().as_secs_f64();
        let record = serde_json::json!({
            "phase": "sft", "step": step + 1, "loss": loss, "lr": report.lr,
            "grad_norm": report.grad_norm, "tokens": tokens,
            "tokens_per_s": tokens as f64 / seconds.max(1e-9), "seconds": seconds,
        });
        session.step_done(StepDone {
            done: step + 1,
            total: sft.steps,
            record,
            optimizer: &optimizer,
            reference: None,
        })?;
    }
    let eval_loss_after = eval_loss(session.measure_at(sft.steps, &held_out)?);
    Ok(SftSummary {
        steps: sft.steps,
        first_loss,
        last_loss,
        eval_loss_before,
        eval_loss_after,
    })
}

/// Forward and backward over the chosen examples in micro-batches: the step's loss (normalised
/// over all its supervised tokens), the tokens seen, and the summed gradients.
fn accumulate(
    policy: &Policy,
    encoded: &[Encoded],
    chosen: &[usize],
    sft: &SftConfig,
    optimizer: &AdamW,
) -> Result<(f64, usize, Accumulated), TrainError> {
    let supervised: usize = chosen
        .iter()
        .map(|&i| encoded[i].tokens.len() - encoded[i].prompt_len)
        .sum();
    let mut grads = Accumulated::default();
    let (mut loss_value, mut tokens) = (0.0, 0);
    for micro in chosen.chunks(sft.batch_size) {
        let refs: Vec<&Encoded> = micro.iter().map(|&i| &encoded[i]).collect();
        let b = batch(&refs, policy.model.device())?;
        let logits = policy.model.forward(&b.inputs)?;
        let logp = token_logprobs(&logits, &b.targets, 1.0)?;
        let loss = sft_loss(&logp, &b.mask, supervised)?;
        loss_value += loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        tokens += b.inputs.elem_count();
        grads.add(optimizer.vars(), &loss.backward()?)?;
    }
    Ok((loss_value, tokens, grads))
}

/// `count` example indices for `step`: consecutive slices of a per-epoch seeded permutation, so
/// a resumed run sees exactly the batches an uninterrupted one would.
fn pick(len: usize, count: usize, seed: u64, step: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(count);
    let mut position = step * count;
    while out.len() < count {
        let epoch = position / len;
        let mut order: Vec<usize> = (0..len).collect();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(
            seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64),
        ));
        let offset = position % len;
        let take = (len - offset).min(count - out.len());
        out.extend_from_slice(&order[offset..offset + take]);
        position += take;
    }
    out
}
