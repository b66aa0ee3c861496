//! Mixed precision: parameters and optimizer state stay f32 whatever the compute dtype, so a
//! bf16 run takes the small steps an f32 run takes, and log-probabilities over a 150k
//! vocabulary are normalised in f32.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use policy_trainer::model::logprobs::token_logprobs;
use policy_trainer::model::{Decoder, ModelConfig};
use policy_trainer::train::loss::sft_loss;
use policy_trainer::train::optim::{Accumulated, AdamW, OptimizerConfig};

mod common;

fn flat(vars: &VarMap) -> Vec<f32> {
    common::named_vars(vars)
        .iter()
        .flat_map(|(_, v)| {
            v.as_tensor()
                .to_dtype(DType::F32)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        })
        .collect()
}

/// A model computing in `dtype` over its own parameters, initialised like `template`.
fn model_like(config: &ModelConfig, template: &VarMap, dtype: DType) -> (VarMap, Decoder) {
    let vars = VarMap::new();
    let model = Decoder::new(config, &vars, dtype, &Device::Cpu).unwrap();
    policy_trainer::train::policy::copy_vars(template, &vars).unwrap();
    (vars, model)
}

/// `steps` AdamW steps of the SFT loss on a fixed batch at learning rate `lr`; the weight change.
fn train(config: &ModelConfig, start: &VarMap, dtype: DType, lr: f64, steps: usize) -> Vec<f32> {
    let (vars, model) = model_like(config, start, dtype);
    let before = flat(&vars);
    let optimizer_config = OptimizerConfig {
        lr,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weight_decay: 0.0,
        decay_all_parameters: false,
        max_grad_norm: 0.0,
        warmup_steps: 0,
        min_lr_ratio: 1.0,
    };
    let mut optimizer = AdamW::new(&vars, optimizer_config).unwrap();
    let seq: Vec<u32> = (0..17)
        .map(|i| (i * 7 + 3) % config.vocab_size as u32)
        .collect();
    let inputs = Tensor::from_vec(seq[..16].to_vec(), (1, 16), &Device::Cpu).unwrap();
    let targets = Tensor::from_vec(seq[1..].to_vec(), (1, 16), &Device::Cpu).unwrap();
    let mask = Tensor::ones((1, 16), DType::F32, &Device::Cpu).unwrap();
    for _ in 0..steps {
        let logits = model.forward(&inputs).unwrap();
        let logprobs = token_logprobs(&logits, &targets, 1.0).unwrap();
        let loss = sft_loss(&logprobs, &mask, 16).unwrap();
        let mut grads = Accumulated::default();
        grads
            .add(optimizer.vars(), &loss.backward().unwrap())
            .unwrap();
        optimizer.step(&grads, lr).unwrap();
    }
    flat(&vars)
        .iter()
        .zip(&before)
        .map(|(after, before)| after - before)
        .collect()
}

#[test]
fn a_bf16_run_at_lr_1e_6_moves_the_weights_as_an_f32_run_does() {
    let config = common::tiny_config(64, false, true);
    let start = VarMap::new();
    Decoder::new(&config, &start, DType::F32, &Device::Cpu).unwrap();
    let (steps, lr) = (5, 1e-6);
    let full = train(&config, &start, DType::F32, lr, steps);
    let half = train(&config, &start, DType::BF16, lr, steps);
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let dot: f64 = full
        .iter()
        .zip(&half)
        .map(|(a, b)| *a as f64 * *b as f64)
        .sum();
    let (n_full, n_half) = (norm(&full), norm(&half));
    let cosine = dot / (n_full * n_half).max(1e-30);
    // Adam moves every weight by about lr per step: the f32 run's change is ~steps·lr per entry.
    let per_entry = n_full / (full.len() as f64).sqrt();
    eprintln!(
        "weight change per entry {per_entry:e}; bf16 vs f32: cosine {cosine:.5}, norm ratio {:.5}",
        n_half / n_full
    );
    assert!(
        per_entry > 0.5 * steps as f64 * lr,
        "f32 moved {per_entry:e} per entry"
    );
    assert!(
        cosine > 0.95 && (0.9..1.1).contains(&(n_half / n_full)),
        "bf16 vs f32 weight change: cosine {cosine:.4}, norm ratio {:.4}",
        n_half / n_full
    );
}

/// Log-softmax of one row in f64, the reference.
fn reference_logprob(row: &[f32], target: usize) -> f64 {
    let max = row.iter().cloned().fold(f32::MIN, f32::max) as f64;
    let sum: f64 = row.iter().map(|&x| (x as f64 - max).exp()).sum();
    row[target] as f64 - max - sum.ln()
}

#[test]
fn bf16_logprobs_over_a_150k_vocabulary_match_f32() {
    const VOCAB: usize = 151_936;
    let config = common::tiny_config(VOCAB, true, false);
    let vars = VarMap::new();
    let full = Decoder::new(&config, &vars, DType::F32, &Device::Cpu).unwrap();
    // Spread the logits (a trained model's are far from uniform) with large embeddings.
    common::seeded(&vars, 0.02, 40.0, 7);
    // The same f32 parameters, computed in bf16.
    let half = Decoder::new(&config, &vars, DType::BF16, &Device::Cpu).unwrap();
    let seq: Vec<u32> = (0..33).map(|i| (i * 4_099 + 17) % VOCAB as u32).collect();
    let inputs = Tensor::from_vec(seq[..32].to_vec(), (1, 32), &Device::Cpu).unwrap();
    let targets = Tensor::from_vec(seq[1..].to_vec(), (1, 32), &Device::Cpu).unwrap();
    let logp = |logits: &Tensor| {
        let logp = token_logprobs(logits, &targets, 1.0).unwrap();
        assert_eq!(logp.dtype(), DType::F32);
        logp.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    };
    let half_logits = half.forward(&inputs).unwrap();
    assert_eq!(half_logits.dtype(), DType::BF16);
    let (f, h) = (logp(&full.forward(&inputs).unwrap()), logp(&half_logits));
    let spread =
        f.iter().cloned().fold(f32::MIN, f32::max) - f.iter().cloned().fold(f32::MAX, f32::min);
    assert!(spread > 1.0, "log-probs too uniform to test: {f:?}");

    // The normalisation itself adds no error: bf16 logits normalised exactly (in f64).
    let rows = half_logits
        .to_dtype(DType::F32)
        .unwrap()
        .flatten_to(1)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let normalisation = rows
        .iter()
        .zip(&seq[1..])
        .zip(&h)
        .map(|((row, &t), &got)| (reference_logprob(row, t as usize) - got as f64).abs())
        .fold(0.0f64, f64::max);
    // Whole-model drift: what bf16 matmuls cost against f32 on the same parameters.
    let drift = f
        .iter()
        .zip(&h)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!(
        "log-prob spread {spread:.2} nats; normalisation error {normalisation:.2e}; \
         bf16 - f32 drift {drift:.5} nats"
    );
    assert!(
        normalisation < 1e-4,
        "log-softmax of bf16 logits off by {normalisation} nats"
    );
    assert!(drift < 0.1, "bf16 log-probs drift from f32 by {drift} nats");
}

#[test]
fn parameters_are_f32_whatever_the_compute_dtype_and_f16_is_refused() {
    let config = common::tiny_config(32, true, false);
    let vars = VarMap::new();
    Decoder::new(&config, &vars, DType::BF16, &Device::Cpu).unwrap();
    assert!(common::named_vars(&vars)
        .iter()
        .all(|(_, v)| v.dtype() == DType::F32));
    let err = Decoder::new(&config, &VarMap::new(), DType::F16, &Device::Cpu)
        .err()
        .expect("f16 refused");
    assert!(err.to_string().contains("loss scaling"), "{err}");
}
