//! The rollout engine against the training forward: the same greedy tokens and log-probs for
//! prompts of different lengths decoded in one left-padded batch, and a group's samples
//! unchanged by what else shares its batch (padding, finished rows leaving, seeds per row).

use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarMap;
use policy_trainer::model::engine::{generate, sample_groups, GroupRequest};
use policy_trainer::model::sampling::{Completion, SamplingConfig};
use policy_trainer::model::Decoder;

mod common;

const VOCAB: usize = 40;

/// A tiny model with spread-out logits (so greedy choices are not near-ties), computing in
/// `dtype`.
fn model(dtype: DType) -> (Decoder, VarMap) {
    let config = common::tiny_config(VOCAB, false, true);
    let vars = VarMap::new();
    let model = Decoder::new(&config, &vars, dtype, &Device::Cpu).unwrap();
    common::seeded(&vars, 0.3, 10.0, 11);
    (model, vars)
}

/// Greedy decoding by re-running the training forward over the whole sequence each token.
fn reference_greedy(model: &Decoder, prompt: &[u32], steps: usize) -> (Vec<u32>, Vec<f32>) {
    let mut sequence = prompt.to_vec();
    let mut logprobs = Vec::new();
    for _ in 0..steps {
        let input = Tensor::from_vec(sequence.clone(), (1, sequence.len()), &Device::Cpu).unwrap();
        let logits = model.forward(&input).unwrap();
        let last = logits
            .narrow(1, sequence.len() - 1, 1)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_dtype(DType::F32)
            .unwrap();
        let logp = candle_nn::ops::log_softmax(&last, D::Minus1).unwrap();
        let row = logp.to_vec1::<f32>().unwrap();
        let best = (0..row.len())
            .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)))
            .unwrap();
        sequence.push(best as u32);
        logprobs.push(row[best]);
    }
    (sequence[prompt.len()..].to_vec(), logprobs)
}

#[test]
fn greedy_batched_rows_follow_the_training_forward() {
    let (model, _vars) = model(DType::F32);
    let prompts: [&[u32]; 3] = [&[1, 2, 3], &[7], &[4, 9, 9, 2, 30, 5]];
    let config = SamplingConfig {
        temperature: 0.0,
        max_new_tokens: 8,
        ..Default::default()
    };
    let requests: Vec<GroupRequest> = prompts
        .iter()
        .map(|p| GroupRequest {
            prompt: p,
            n: 2,
            seed: 0,
        })
        .collect();
    let groups = sample_groups(&model, &requests, &config).unwrap();
    for (prompt, group) in prompts.iter().zip(&groups) {
        let (tokens, logprobs) = reference_greedy(&model, prompt, 8);
        assert_eq!(group.len(), 2);
        for completion in group {
            assert_eq!(completion.tokens, tokens, "prompt {prompt:?}");
            for (a, b) in completion.logprobs.iter().zip(&logprobs) {
                assert!((a - b).abs() < 1e-4, "{a} vs {b}");
            }
        }
    }
}

#[test]
fn a_groups_samples_do_not_depend_on_its_batch() {
    let (model, _vars) = model(DType::F32);
    let config = SamplingConfig {
        temperature: 1.0,
        max_new_tokens: 12,
        // Some rows stop early and leave the batch; the others go on.
        stop_tokens: vec![3, 17],
        ..Default::default()
    };
    let alone = generate(
        &model,
        &[5, 6, 7],
        4,
        &SamplingConfig {
            seed: 21,
            ..config.clone()
        },
    );
    let alone = alone.unwrap();
    let requests = [
        GroupRequest {
            prompt: &[1, 2, 3, 4, 5, 6, 7, 8],
            n: 3,
            seed: 1,
        },
        GroupRequest {
            prompt: &[5, 6, 7],
            n: 4,
            seed: 21,
        },
        GroupRequest {
            prompt: &[9],
            n: 5,
            seed: 2,
        },
    ];
    let batched = sample_groups(&model, &requests, &config).unwrap();
    let same = |a: &[Completion], b: &[Completion]| {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                x.tokens == y.tokens
                    && x.stopped == y.stopped
                    && x.logprobs
                        .iter()
                        .zip(&y.logprobs)
                        .all(|(p, q)| (p - q).abs() < 1e-4)
            })
    };
    assert!(same(&alone, &batched[1]), "{alone:?}\n{:?}", batched[1]);
    let all: Vec<&Completion> = batched.iter().flatten().collect();
    assert!(all.iter().any(|c| c.stopped) && all.iter().any(|c| !c.stopped));
    assert!(all.iter().all(|c| c.tokens.len() == c.logprobs.len()));
    assert!(
        alone.iter().any(|c| c.tokens != alone[0].tokens),
        "rows draw apart"
    );
}

#[test]
fn bf16_rollouts_follow_the_f32_ones() {
    let (full, vars) = model(DType::F32);
    let half = Decoder::new(&full.config, &vars, DType::BF16, &Device::Cpu).unwrap();
    let config = SamplingConfig {
        temperature: 0.0,
        max_new_tokens: 4,
        ..Default::default()
    };
    let a = generate(&full, &[3, 1, 4, 1, 5], 1, &config).unwrap();
    let b = generate(&half, &[3, 1, 4, 1, 5], 1, &config).unwrap();
    assert_eq!(a[0].tokens, b[0].tokens);
    for (x, y) in a[0].logprobs.iter().zip(&b[0].logprobs) {
        assert!((x - y).abs() < 0.1, "{x} vs {y}");
    }
}

#[test]
fn bad_requests_are_refused() {
    let (model, _vars) = model(DType::F32);
    let config = SamplingConfig::default();
    let empty = GroupRequest {
        prompt: &[],
        n: 1,
        seed: 0,
    };
    let outside = GroupRequest {
        prompt: &[VOCAB as u32],
        n: 1,
        seed: 0,
    };
    let none = GroupRequest {
        prompt: &[1],
        n: 0,
        seed: 0,
    };
    for bad in [empty, outside, none] {
        assert!(sample_groups(&model, &[bad], &config).is_err());
    }
}
