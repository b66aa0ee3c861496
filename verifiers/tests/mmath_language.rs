//! Language consistency on MMATH (fixtures/mmath/questions.jsonl.gz: 374 problems × 10 languages,
//! MIT): a text in the target language scores ≥ 0.95; mixtures score their true share ± 0.1
//! (all of them across scripts; ≥ 94% of Latin-script pairs, whose short sentences trigram
//! detection sometimes cannot tell apart).

use flate2::read::GzDecoder;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use verifiers::language::{detect_language, language_consistency};

const LANGS: [&str; 10] = ["ar", "en", "es", "fr", "ja", "ko", "pt", "th", "vi", "zh"];

/// (lang, gid) → question text.
fn questions() -> HashMap<(String, u64), String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/mmath/questions.jsonl.gz"
    );
    let mut text = String::new();
    GzDecoder::new(std::fs::File::open(path).expect("fixture"))
        .read_to_string(&mut text)
        .expect("gzip");
    text.lines()
        .map(|line| {
            let row: Value = serde_json::from_str(line).expect("json");
            (
                (
                    row["lang"].as_str().unwrap().to_owned(),
                    row["gid"].as_u64().unwrap(),
                ),
                row["question"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_language_scores_at_least_095_on_its_own_text() {
    let questions = questions();
    assert_eq!(questions.len(), 3740);
    let mut report = Vec::new();
    for lang in LANGS {
        let scores: Vec<f64> = questions
            .iter()
            .filter(|((l, _), _)| l == lang)
            .filter_map(|(_, q)| {
                language_consistency(&format!("<think>{q}</think>"), lang)
                    .unwrap()
                    .score
            })
            .collect();
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        let low = scores.iter().filter(|s| **s < 0.95).count();
        report.push(format!(
            "{lang}: mean {mean:.4}, {low}/{} below 0.95",
            scores.len()
        ));
        assert!(
            scores.len() >= 370,
            "{lang}: only {} texts had words",
            scores.len()
        );
        assert!(mean >= 0.95, "{}", report.join("\n"));
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn prompts_are_detected_in_their_language() {
    let questions = questions();
    let mut report = Vec::new();
    let mut worst = 1.0f64;
    for lang in LANGS {
        let texts: Vec<&String> = questions
            .iter()
            .filter(|((l, _), _)| l == lang)
            .map(|(_, q)| q)
            .collect();
        let right = texts
            .iter()
            .filter(|q| detect_language(q) == Some(lang))
            .count();
        report.push(format!("{lang} {right}/{}", texts.len()));
        worst = worst.min(right as f64 / texts.len() as f64);
    }
    eprintln!("detected: {}", report.join(", "));
    assert!(worst >= 0.85, "detected: {}", report.join(", "));
}

#[test]
fn mixtures_score_their_true_share() {
    let questions = questions();
    let mut worst = 0.0f64;
    let mut checked = 0usize;
    let mut total_error = 0.0f64;
    let mut misses = Vec::new();
    for lang in LANGS.iter().filter(|l| **l != "en") {
        for gid in (0..374).step_by(7) {
            let (Some(own), Some(english)) = (
                questions.get(&(lang.to_string(), gid)),
                questions.get(&("en".to_string(), gid)),
            ) else {
                continue;
            };
            // The true share: the target-language words of the own-language part (its Asymptote
            // code and stray Latin letters are not) over all words of both parts.
            let own_part = language_consistency(own, lang).unwrap();
            let other_words = language_consistency(english, "en").unwrap().words;
            // Mixtures of sentences, not of a word or two: short runs are not classified.
            if own_part.words < 15 || other_words < 15 {
                continue;
            }
            checked += 1;
            let truth = own_part.target_words as f64 / (own_part.words + other_words) as f64;
            let mixed = format!("{own}\n{english}");
            let score = language_consistency(&mixed, lang).unwrap().score.unwrap();
            worst = worst.max((score - truth).abs());
            total_error += (score - truth).abs();
            if (score - truth).abs() > 0.1 {
                misses.push(format!(
                    "{lang} #{gid}: scored {score:.3}, true share {truth:.3}"
                ));
            }
        }
    }
    eprintln!(
        "{checked} mixtures, mean error {:.3}, largest {worst:.3}, {} beyond ±0.1: {misses:?}",
        total_error / checked as f64,
        misses.len()
    );
    assert!(checked >= 250, "only {checked} mixtures");
    // Different scripts are exact; English inside a Latin-script target is told apart by trigram
    // statistics, which fail on some short sentences (known limit, see README).
    let latin_pair = |m: &String| ["es", "fr", "pt", "vi"].iter().any(|l| m.starts_with(l));
    assert!(misses.iter().all(latin_pair), "{misses:#?}");
    assert!(misses.len() * 100 <= checked * 6, "{misses:#?}");
    assert!(total_error / checked as f64 <= 0.03);
}
