//! Supervised fine-tuning: completion-only next-token loss over chat-templated examples,
//! normalised over the supervised tokens of the whole accumulated batch.

use crate::config::{SftConfig, TrainConfig};
use crate::data::Example;
use crate::error::TrainError;
use crate::loss::{sft_loss, token_logprobs};
use crate::optim::{Accumulated, AdamW};
use crate::run::{Metrics, Phase, Policy, RunDir, TrainerState};
use candle_core::{DType, Device, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::time::Instant;

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
        let logits = policy.model.forward(&b.inputs, None)?.detach();
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

/// Train from `start_step` to `sft.steps`, checkpointing into `run`.
#[allow(clippy::too_many_arguments)]
pub fn train(
    policy: &Policy,
    config: &TrainConfig,
    sft: &SftConfig,
    train_set: &[Example],
    eval_set: &[Example],
    run: &RunDir,
    metrics: &mut Metrics,
    start_step: usize,
    optimizer_steps: usize,
    on_step: &mut dyn FnMut(&serde_json::Value),
) -> Result<SftSummary, TrainError> {
    let encoded: Vec<Encoded> = train_set
        .iter()
        .map(|e| encode(policy, e, sft.max_len))
        .collect::<Result<_, _>>()?;
    let eval: Vec<Encoded> = eval_set
        .iter()
        .map(|e| encode(policy, e, sft.max_len))
        .collect::<Result<_, _>>()?;
    let eval_loss_before = if start_step == 0 && !eval.is_empty() {
        Some(mean_loss(policy, &eval, sft.batch_size)?)
    } else {
        None
    };
    if let Some(loss) = eval_loss_before {
        metrics.write(&serde_json::json!({"phase": "sft", "step": 0, "eval_loss": loss}))?;
    }
    let mut optimizer = AdamW::new(&policy.vars, sft.optimizer.clone())?;
    if start_step > 0 {
        if let Some((dir, _)) = run.latest_checkpoint()? {
            optimizer.load(&dir.join("optimizer.safetensors"), optimizer_steps)?;
        }
    }
    let per_step = sft.batch_size * sft.grad_accum;
    let (mut first_loss, mut last_loss) = (None, f64::NAN);
    for step in start_step..sft.steps {
        let started = Instant::now();
        let chosen = pick(encoded.len(), per_step, config.seed, step);
        let supervised: usize = chosen
            .iter()
            .map(|&i| encoded[i].tokens.len() - encoded[i].prompt_len)
            .sum();
        let mut grads = Accumulated::default();
        let mut loss_value = 0.0;
        let mut tokens = 0;
        for micro in chosen.chunks(sft.batch_size) {
            let refs: Vec<&Encoded> = micro.iter().map(|&i| &encoded[i]).collect();
            let b = batch(&refs, policy.model.device())?;
            let logits = policy.model.forward(&b.inputs, None)?;
            let logp = token_logprobs(&logits, &b.targets, 1.0)?;
            let loss = sft_loss(&logp, &b.mask, supervised)?;
            loss_value += loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
            tokens += b.inputs.elem_count();
            grads.add(optimizer.vars(), &loss.backward()?)?;
        }
        let lr = sft.optimizer.learning_rate(step, sft.steps);
        let report = optimizer.step(&grads, lr)?;
        first_loss.get_or_insert(loss_value);
        last_loss = loss_value;
        let seconds = started.elapsed().as_secs_f64();
        let record = serde_json::json!({
            "phase": "sft", "step": step + 1, "loss": loss_value, "lr": report.lr,
            "grad_norm": report.grad_norm, "tokens": tokens,
            "tokens_per_s": tokens as f64 / seconds.max(1e-9), "seconds": seconds,
        });
        metrics.write(&record)?;
        on_step(&record);
        let done = step + 1;
        if config.checkpoint_every > 0 && (done % config.checkpoint_every == 0 || done == sft.steps)
        {
            run.save_checkpoint(
                policy,
                &optimizer,
                None,
                &TrainerState {
                    phase: Phase::Sft,
                    step: done,
                    optimizer_steps: optimizer.steps,
                    config: config.clone(),
                },
            )?;
        }
    }
    let eval_loss_after = if eval.is_empty() {
        None
    } else {
        Some(mean_loss(policy, &eval, sft.batch_size)?)
    };
    if let Some(loss) = eval_loss_after {
        metrics
            .write(&serde_json::json!({"phase": "sft", "step": sft.steps, "eval_loss": loss}))?;
    }
    Ok(SftSummary {
        steps: sft.steps,
        first_loss,
        last_loss,
        eval_loss_before,
        eval_loss_after,
    })
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
