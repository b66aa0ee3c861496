//! One GRPO step timed end to end — sampling with the KV cache, the loss, backward, AdamW — for
//! the side-by-side comparison with PyTorch (`benches/compare/grpo_step_side_by_side.sh`).
//! Prints one JSON line: completion tokens per second over the measured steps.
//!
//! usage: grpo_step [STEPS]

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use policy_trainer::model::engine::{sample_groups, GroupRequest};
use policy_trainer::model::logprobs::token_logprobs;
use policy_trainer::model::sampling::SamplingConfig;
use policy_trainer::model::{Decoder, ModelConfig};
use policy_trainer::train::loss::{grpo_loss, Aggregation, GrpoLossConfig};
use policy_trainer::train::optim::{Accumulated, AdamW, OptimizerConfig};
use std::time::Instant;

/// The shape both sides use (bench/compare/grpo_step_torch.py has the same numbers).
const PROMPTS: usize = 4;
const GROUP: usize = 8;
const PROMPT_LEN: usize = 32;
const NEW_TOKENS: usize = 32;

fn main() -> anyhow::Result<()> {
    let steps: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(5);
    let config = ModelConfig {
        vocab_size: 512,
        hidden_size: 256,
        intermediate_size: 688,
        num_hidden_layers: 4,
        num_attention_heads: 8,
        num_key_value_heads: 4,
        rms_norm_eps: 1e-6,
        rope_theta: 10_000.0,
        tie_word_embeddings: true,
        attention_bias: false,
        max_position_embeddings: 128,
    };
    let device = Device::Cpu;
    let vars = VarMap::new();
    let model = Decoder::new(&config, &vars, DType::F32, &device)?;
    let mut optimizer = AdamW::new(
        &vars,
        OptimizerConfig {
            lr: 1e-4,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decay_all_parameters: false,
            max_grad_norm: 1.0,
            warmup_steps: 0,
            min_lr_ratio: 1.0,
        },
    )?;
    let loss_config = GrpoLossConfig {
        epsilon_low: 0.2,
        epsilon_high: 0.28,
        beta: 0.0,
        aggregation: Aggregation::Dapo,
        max_completion_len: NEW_TOKENS,
    };
    let mut seconds = Vec::new();
    let (mut sampling_s, mut backward_s) = (0.0, 0.0);
    for step in 0..=steps {
        let started = Instant::now();
        let prompts: Vec<Vec<u32>> = (0..PROMPTS)
            .map(|p| {
                (0..PROMPT_LEN)
                    .map(|i| ((i * 31 + p * 7 + step) % 512) as u32)
                    .collect()
            })
            .collect();
        let requests: Vec<GroupRequest> = prompts
            .iter()
            .enumerate()
            .map(|(p, prompt)| GroupRequest {
                prompt,
                n: GROUP,
                seed: (step * PROMPTS + p) as u64,
            })
            .collect();
        let sampling = SamplingConfig {
            temperature: 1.0,
            max_new_tokens: NEW_TOKENS,
            ..SamplingConfig::default()
        };
        let mut rows = Vec::new();
        for (prompt, group) in prompts
            .iter()
            .zip(sample_groups(&model, &requests, &sampling)?)
        {
            for completion in group {
                let mut tokens = prompt.clone();
                tokens.extend(&completion.tokens);
                rows.push(tokens);
            }
        }
        let sampled_at = Instant::now();
        let width = PROMPT_LEN + NEW_TOKENS - 1;
        let n = rows.len();
        let inputs: Vec<u32> = rows.iter().flat_map(|r| r[..width].to_vec()).collect();
        let targets: Vec<u32> = rows.iter().flat_map(|r| r[1..].to_vec()).collect();
        let mask: Vec<f32> = (0..n)
            .flat_map(|_| (0..width).map(|t| if t + 1 >= PROMPT_LEN { 1.0 } else { 0.0 }))
            .collect();
        let advantages: Vec<f32> = (0..n)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let logits = model.forward(&Tensor::from_vec(inputs, (n, width), &device)?)?;
        let logp = token_logprobs(
            &logits,
            &Tensor::from_vec(targets, (n, width), &device)?,
            1.0,
        )?;
        let out = grpo_loss(
            &logp,
            None,
            None,
            &Tensor::from_vec(advantages, n, &device)?,
            &Tensor::from_vec(mask, (n, width), &device)?,
            &loss_config,
        )?;
        let mut grads = Accumulated::default();
        grads.add(optimizer.vars(), &out.loss.backward()?)?;
        let backward_at = Instant::now();
        optimizer.step(&grads, 1e-4)?;
        // Step 0 warms up allocations and is not counted.
        if step > 0 {
            seconds.push(started.elapsed().as_secs_f64());
            sampling_s += (sampled_at - started).as_secs_f64();
            backward_s += (backward_at - sampled_at).as_secs_f64();
        }
    }
    let total: f64 = seconds.iter().sum();
    let tokens = (PROMPTS * GROUP * NEW_TOKENS * steps) as f64;
    println!(
        "{}",
        serde_json::json!({"impl": "candle (this crate)", "steps": steps, "seconds_per_step": total / steps as f64,
                           "completion_tokens_per_s": tokens / total,
                           "sampling_share": sampling_s / total, "loss_and_backward_share": backward_s / total})
    );
    Ok(())
}
