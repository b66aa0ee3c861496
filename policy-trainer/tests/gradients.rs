//! Correctness of the trainable decoder and its losses on tiny models:
//! every parameter gets a gradient, autograd agrees with finite differences for the SFT and
//! GRPO losses, the KV cache reproduces the full forward, and the loss arithmetic matches
//! hand-computed values.

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use policy_trainer::model::logprobs::token_logprobs;
use policy_trainer::model::{Decoder, ModelConfig};
use policy_trainer::train::loss::{
    advantages, grpo_loss, sft_loss, AdvantageScaling, Aggregation, GrpoLossConfig,
};

mod common;

fn tiny(tied: bool, bias: bool) -> ModelConfig {
    common::tiny_config(11, tied, bias)
}

fn tokens(rows: &[&[u32]]) -> Tensor {
    let t = rows[0].len();
    let flat: Vec<u32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_vec(flat, (rows.len(), t), &Device::Cpu).unwrap()
}

/// Inputs, targets (shifted by one) and a completion mask for a small batch.
fn batch(dtype: DType) -> (Tensor, Tensor, Tensor) {
    let seqs: [&[u32]; 3] = [
        &[1, 4, 2, 7, 3, 9, 5],
        &[2, 2, 8, 1, 6, 0, 10],
        &[3, 5, 7, 9, 1, 4, 4],
    ];
    let inputs: Vec<&[u32]> = seqs.iter().map(|s| &s[..6]).collect();
    let targets: Vec<&[u32]> = seqs.iter().map(|s| &s[1..]).collect();
    // The first two targets are prompt; completions have different lengths.
    let mask = Tensor::from_vec(
        vec![
            0f32, 0., 1., 1., 1., 1., //
            0., 0., 1., 1., 0., 0., //
            0., 0., 1., 1., 1., 0.,
        ],
        (3, 6),
        &Device::Cpu,
    )
    .unwrap()
    .to_dtype(dtype)
    .unwrap();
    (tokens(&inputs), tokens(&targets), mask)
}

#[test]
fn every_parameter_receives_a_gradient() {
    for (tied, bias) in [(false, true), (true, false)] {
        let config = tiny(tied, bias);
        let vars = VarMap::new();
        let model = Decoder::new(&config, &vars, DType::F32, &Device::Cpu).unwrap();
        let (inputs, targets, mask) = batch(DType::F32);
        let logits = model.forward(&inputs).unwrap();
        let logp = token_logprobs(&logits, &targets, 1.0).unwrap();
        let loss = sft_loss(&logp, &mask, 9).unwrap();
        let grads = loss.backward().unwrap();
        let named = common::named_vars(&vars);
        let expected = 2
            + 9 * config.num_hidden_layers
            + usize::from(!tied)
            + if bias {
                3 * config.num_hidden_layers
            } else {
                0
            };
        assert_eq!(
            named.len(),
            expected,
            "{:?}",
            named.iter().map(|n| &n.0).collect::<Vec<_>>()
        );
        for (name, var) in named {
            let grad = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{name} (tied={tied}) has no gradient"));
            let size = grad
                .abs()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(
                size.is_finite() && size > 0.0,
                "{name}: gradient sum {size}"
            );
        }
    }
}

fn set_entry(var: &Var, index: usize, value: f64) {
    let shape = var.as_tensor().shape().clone();
    let mut data = var
        .as_tensor()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    data[index] = value;
    var.set(&Tensor::from_vec(data, shape, &Device::Cpu).unwrap())
        .unwrap();
}

fn entry(var: &Var, index: usize) -> f64 {
    var.as_tensor()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap()[index]
}

/// Central differences against autograd, in f64, for a few entries of every parameter.
fn check_gradients(loss_of: &dyn Fn(&Decoder) -> Tensor, model: &Decoder, vars: &VarMap) {
    let loss = loss_of(model);
    let grads = loss.backward().unwrap();
    let h = 1e-5;
    let mut checked = 0;
    for (name, var) in common::named_vars(vars) {
        let n = var.as_tensor().elem_count();
        let analytic: Vec<f64> = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for index in [0, n / 3, n - 1] {
            let original = entry(&var, index);
            set_entry(&var, index, original + h);
            let up = loss_of(model).to_scalar::<f64>().unwrap();
            set_entry(&var, index, original - h);
            let down = loss_of(model).to_scalar::<f64>().unwrap();
            set_entry(&var, index, original);
            let numeric = (up - down) / (2.0 * h);
            let error = (numeric - analytic[index]).abs();
            assert!(
                error <= 1e-6 + 1e-4 * numeric.abs().max(analytic[index].abs()),
                "{name}[{index}]: numeric {numeric:e}, autograd {:e}",
                analytic[index]
            );
            checked += 1;
        }
    }
    assert!(checked > 60);
}

#[test]
fn sft_loss_gradients_match_finite_differences() {
    let vars = VarMap::new();
    let model = Decoder::new(&tiny(false, true), &vars, DType::F64, &Device::Cpu).unwrap();
    let (inputs, targets, mask) = batch(DType::F64);
    let loss_of = |m: &Decoder| {
        let logp = token_logprobs(&m.forward(&inputs).unwrap(), &targets, 0.7).unwrap();
        sft_loss(&logp, &mask, 9).unwrap()
    };
    check_gradients(&loss_of, &model, &vars);
}

#[test]
fn grpo_loss_gradients_match_finite_differences() {
    let config = tiny(true, true);
    let vars = VarMap::new();
    let model = Decoder::new(&config, &vars, DType::F64, &Device::Cpu).unwrap();
    let reference_vars = VarMap::new();
    let reference = Decoder::new(&config, &reference_vars, DType::F64, &Device::Cpu).unwrap();
    let (inputs, targets, mask) = batch(DType::F64);
    let fixed = |m: &Decoder| {
        token_logprobs(&m.forward(&inputs).unwrap(), &targets, 1.0)
            .unwrap()
            .detach()
    };
    // Old log-probs slightly off the current policy, so some ratios differ from 1.
    let old = (fixed(&model) + 0.01).unwrap();
    let reference_logp = fixed(&reference);
    let advantages = Tensor::new(&[1.2f64, -0.4, -0.8], &Device::Cpu).unwrap();
    for aggregation in [Aggregation::Grpo, Aggregation::DrGrpo, Aggregation::Dapo] {
        let config = GrpoLossConfig {
            epsilon_low: 0.2,
            epsilon_high: 0.28,
            beta: 0.04,
            aggregation,
            max_completion_len: 6,
        };
        let loss_of = |m: &Decoder| {
            let logp = token_logprobs(&m.forward(&inputs).unwrap(), &targets, 1.0).unwrap();
            grpo_loss(
                &logp,
                Some(&old),
                Some(&reference_logp),
                &advantages,
                &mask,
                &config,
            )
            .unwrap()
            .loss
        };
        check_gradients(&loss_of, &model, &vars);
    }
}

#[test]
fn loss_arithmetic_matches_hand_computation() {
    let d = Device::Cpu;
    let logp = Tensor::new(&[[-1.0f64, -2.0, -3.0], [-0.5, -0.5, -4.0]], &d).unwrap();
    let mask = Tensor::new(&[[1.0f64, 1.0, 1.0], [1.0, 1.0, 0.0]], &d).unwrap();
    let sft = sft_loss(&logp, &mask, 5)
        .unwrap()
        .to_scalar::<f64>()
        .unwrap();
    assert!((sft - 7.0 / 5.0).abs() < 1e-12);
    // On-policy, no KL: per-token loss is -A.
    let adv = Tensor::new(&[1.0f64, -2.0], &d).unwrap();
    let cfg = |aggregation| GrpoLossConfig {
        epsilon_low: 0.2,
        epsilon_high: 0.2,
        beta: 0.0,
        aggregation,
        max_completion_len: 4,
    };
    let value = |aggregation| {
        grpo_loss(&logp, None, None, &adv, &mask, &cfg(aggregation))
            .unwrap()
            .loss
            .to_scalar::<f64>()
            .unwrap()
    };
    // grpo: mean(-1, +2) = 0.5; dapo: (-3 + 4) / 5 = 0.2; dr_grpo: (-3 + 4) / (2·4) = 0.125.
    assert!((value(Aggregation::Grpo) - 0.5).abs() < 1e-12);
    assert!((value(Aggregation::Dapo) - 0.2).abs() < 1e-12);
    assert!((value(Aggregation::DrGrpo) - 0.125).abs() < 1e-12);
    // Off-policy with a ratio of e^0.5 ≈ 1.65 > 1.2 and a positive advantage: clipped.
    let old = (&logp - 0.5).unwrap();
    let clipped = grpo_loss(
        &logp,
        Some(&old),
        None,
        &adv,
        &mask,
        &cfg(Aggregation::Dapo),
    )
    .unwrap();
    // Clipping takes effect only where A > 0 (3 of the 5 tokens): TRL's high-clip count; the
    // negative-advantage row keeps its gradient (the unclipped term is the smaller one).
    assert_eq!(clipped.clip.high, 0.6);
    assert_eq!(clipped.clip.low, 0.0);
    assert_eq!(clipped.clip.region, 0.6);
    let below = grpo_loss(
        &logp,
        Some(&(&logp + 0.5).unwrap()),
        None,
        &adv,
        &mask,
        &cfg(Aggregation::Dapo),
    )
    .unwrap();
    assert_eq!((below.clip.low, below.clip.high), (0.4, 0.0));
    let expected = (-3.0 * 1.2 + 2.0 * 2.0 * 0.5f64.exp()) / 5.0;
    assert!((clipped.loss.to_scalar::<f64>().unwrap() - expected).abs() < 1e-12);
    // Missing reference with beta > 0 is an error, not a silent zero.
    let mut with_kl = cfg(Aggregation::Dapo);
    with_kl.beta = 0.1;
    assert!(grpo_loss(&logp, None, None, &adv, &mask, &with_kl).is_err());
}

#[test]
fn advantages_by_group_batch_or_mean_only() {
    let rewards = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
    let group = advantages(&rewards, 4, AdvantageScaling::Group).unwrap();
    let std = 0.5; // unbiased std of [1, 0, 0, 0]
    assert!((group[0] - 0.75 / (std + 1e-4)).abs() < 1e-9);
    assert_eq!(
        &group[4..],
        &[0.0; 4],
        "a zero-variance group has no signal"
    );
    let mean_only = advantages(&rewards, 4, AdvantageScaling::None).unwrap();
    assert_eq!(mean_only[..4], [0.75, -0.25, -0.25, -0.25]);
    assert!(advantages(&rewards, 3, AdvantageScaling::Group).is_err());
}
