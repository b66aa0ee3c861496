//! Choosing the next token from a row of logits: greedy, or a draw at a temperature with
//! optional top-k and top-p, without sorting the vocabulary (a full sort of a 150k vocabulary
//! costs more than the model's forward at this size). Each row draws from its own seeded
//! generator, so a row's samples do not depend on what else is in the batch.

use crate::model::sampling::SamplingConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The generator of row `row` of a group sampled with `seed`.
pub fn row_rng(seed: u64, row: usize) -> StdRng {
    // SplitMix64's finaliser spreads neighbouring seeds and rows apart.
    let mut z = seed ^ (row as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    StdRng::seed_from_u64(z ^ (z >> 31))
}

/// One token of `logits` and its log-probability under the temperature-scaled distribution
/// (before top-k / top-p, which is what the GRPO loss compares against).
pub fn pick(logits: &[f32], config: &SamplingConfig, rng: &mut StdRng) -> (u32, f32) {
    let temperature = if config.temperature > 0.0 {
        config.temperature
    } else {
        1.0
    };
    let scale = 1.0 / temperature;
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64 * scale;
    let weight = |l: f32| (l as f64 * scale - max).exp();
    let total: f64 = logits.iter().map(|&l| weight(l)).sum();
    let log_norm = max + total.ln();
    let logprob = |i: usize| (logits[i] as f64 * scale - log_norm) as f32;
    let chosen = if config.temperature == 0.0 {
        argmax(logits)
    } else if config.top_k == 0 && config.top_p >= 1.0 {
        draw_full(logits, &weight, total, rng)
    } else {
        draw_truncated(logits, config, &weight, total, rng)
    };
    (chosen as u32, logprob(chosen))
}

fn argmax(logits: &[f32]) -> usize {
    (0..logits.len())
        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]).then(b.cmp(&a)))
        .unwrap_or(0)
}

/// Inverse-CDF draw over the whole vocabulary: one pass, no ordering.
fn draw_full(logits: &[f32], weight: &dyn Fn(f32) -> f64, total: f64, rng: &mut StdRng) -> usize {
    let mut draw = rng.random::<f64>() * total;
    let mut last_positive = 0;
    for (i, &l) in logits.iter().enumerate() {
        let w = weight(l);
        if w > 0.0 {
            last_positive = i;
        }
        draw -= w;
        if draw <= 0.0 && w > 0.0 {
            return i;
        }
    }
    last_positive
}

/// Draw among the `top_k` most likely tokens, cut further to the smallest prefix whose
/// probability reaches `top_p`. Candidates are found by partial selection, widening until the
/// nucleus is covered (it is usually a few dozen tokens).
fn draw_truncated(
    logits: &[f32],
    config: &SamplingConfig,
    weight: &dyn Fn(f32) -> f64,
    total: f64,
    rng: &mut StdRng,
) -> usize {
    let vocab = logits.len();
    let limit = if config.top_k > 0 {
        config.top_k.min(vocab)
    } else {
        vocab
    };
    let mut width = limit.min(64);
    let kept = loop {
        let order = top(logits, width);
        let mut cumulative = 0.0;
        let nucleus = order.iter().position(|&i| {
            cumulative += weight(logits[i]) / total;
            cumulative >= config.top_p
        });
        match nucleus {
            Some(k) => break order[..=k].to_vec(),
            None if width >= limit => break order,
            None => width = (width * 4).min(limit),
        }
    };
    let weights: Vec<f64> = kept.iter().map(|&i| weight(logits[i])).collect();
    let mut draw = rng.random::<f64>() * weights.iter().sum::<f64>();
    for (&i, w) in kept.iter().zip(&weights) {
        draw -= w;
        if draw <= 0.0 {
            return i;
        }
    }
    kept[kept.len() - 1]
}

/// The indices of the `k` largest logits, largest first (ties by lower index).
fn top(logits: &[f32], k: usize) -> Vec<usize> {
    let by_logit = |a: &usize, b: &usize| logits[*b].total_cmp(&logits[*a]).then(a.cmp(b));
    let mut order: Vec<usize> = (0..logits.len()).collect();
    if k < order.len() {
        order.select_nth_unstable_by(k - 1, by_logit);
        order.truncate(k);
    }
    order.sort_unstable_by(by_logit);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(temperature: f64, top_k: usize, top_p: f64) -> SamplingConfig {
        SamplingConfig {
            temperature,
            top_k,
            top_p,
            ..SamplingConfig::default()
        }
    }

    /// Empirical frequencies of 20k draws.
    fn frequencies(logits: &[f32], config: &SamplingConfig) -> Vec<f64> {
        let mut rng = row_rng(3, 0);
        let mut counts = vec![0usize; logits.len()];
        for _ in 0..20_000 {
            counts[pick(logits, config, &mut rng).0 as usize] += 1;
        }
        counts.iter().map(|&c| c as f64 / 20_000.0).collect()
    }

    #[test]
    fn draws_follow_the_tempered_truncated_distribution() {
        // Probabilities 0.5, 0.25, 0.125, 0.0625, 0.0625 at temperature 1.
        let logits: Vec<f32> = [0.5f32, 0.25, 0.125, 0.0625, 0.0625]
            .iter()
            .map(|p| p.ln())
            .collect();
        let expect = |got: &[f64], want: &[f64]| {
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 0.015, "{got:?} vs {want:?}");
            }
        };
        expect(
            &frequencies(&logits, &config(1.0, 0, 1.0)),
            &[0.5, 0.25, 0.125, 0.0625, 0.0625],
        );
        expect(
            &frequencies(&logits, &config(1.0, 2, 1.0)),
            &[2.0 / 3.0, 1.0 / 3.0, 0.0, 0.0, 0.0],
        );
        // 0.5 + 0.25 = 0.75 reaches top_p 0.7: two tokens kept.
        expect(
            &frequencies(&logits, &config(1.0, 0, 0.7)),
            &[2.0 / 3.0, 1.0 / 3.0, 0.0, 0.0, 0.0],
        );
        // Temperature 0.5 squares the probabilities: 0.25, 0.0625, … renormalised.
        let squares = [0.25, 0.0625, 0.015625, 0.00390625, 0.00390625];
        let sum: f64 = squares.iter().sum();
        let tempered: Vec<f64> = squares.iter().map(|p| p / sum).collect();
        expect(&frequencies(&logits, &config(0.5, 0, 1.0)), &tempered);
    }

    #[test]
    fn the_log_prob_is_of_the_tempered_untruncated_distribution() {
        let logits = [2.0f32, 1.0, 0.0, -1.0];
        let mut rng = row_rng(1, 0);
        let (token, logprob) = pick(&logits, &config(0.0, 0, 1.0), &mut rng);
        let norm: f64 = logits.iter().map(|&l| (l as f64).exp()).sum::<f64>().ln();
        assert_eq!(token, 0);
        assert!((logprob as f64 - (2.0 - norm)).abs() < 1e-6);
        let (token, logprob) = pick(&logits, &config(2.0, 1, 1.0), &mut rng);
        let norm: f64 = logits
            .iter()
            .map(|&l| (l as f64 / 2.0).exp())
            .sum::<f64>()
            .ln();
        assert_eq!(token, 0);
        assert!((logprob as f64 - (1.0 - norm)).abs() < 1e-6);
    }

    #[test]
    fn a_wide_nucleus_widens_the_candidates() {
        // 1000 equal tokens: top_p 0.9 needs 900 of them, far past the first 64 candidates.
        let logits = vec![0.0f32; 1000];
        let mut rng = row_rng(5, 0);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..5_000 {
            seen.insert(pick(&logits, &config(1.0, 0, 0.9), &mut rng).0);
        }
        assert!(seen.len() > 800, "{} distinct tokens", seen.len());
        assert!(seen.iter().all(|&t| t < 1000));
    }

    #[test]
    fn rows_draw_independent_streams() {
        let (mut a, mut b) = (row_rng(9, 0), row_rng(9, 1));
        let first: Vec<u64> = (0..4).map(|_| a.random()).collect();
        let second: Vec<u64> = (0..4).map(|_| b.random()).collect();
        assert_ne!(first, second);
        let mut again = row_rng(9, 0);
        assert_eq!(first, (0..4).map(|_| again.random()).collect::<Vec<u64>>());
    }
}
