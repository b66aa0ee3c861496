//! Against Hugging Face transformers (PyTorch, CPU, f32) on real weights: SmolLM2-135M-Instruct
//! imported from its GGUF, and checkpoints written by this crate (Llama and Qwen2 layouts) load in
//! `transformers` with the same logits.
//!
//! Slow and networked (fetches ~100 MB of weights and a ~3 GB PyTorch virtualenv once), so
//! ignored by default: `cargo test -p policy-trainer --test reference -- --ignored --nocapture`.

mod common;

use candle_core::{DType, Device};
use policy_trainer::model::weights::{load_gguf, save_hf, Saved};
use policy_trainer::model::ChatTemplate;
use policy_trainer::model::{Decoder, ModelConfig};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn script_output(script: &str) -> String {
    let output = Command::new("bash")
        .arg(repo().join(script))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Logits from transformers for `ids`, and what it reports.
fn transformers_logits(
    python: &str,
    dir: &Path,
    ids: &[u32],
    vocab: usize,
) -> (Vec<f32>, serde_json::Value) {
    let out = dir.join("reference.f32");
    let ids_arg: Vec<String> = ids.iter().map(u32::to_string).collect();
    let output = Command::new(python)
        .arg(repo().join("policy-trainer/tests/reference/transformers_logits.py"))
        .arg(dir)
        .arg(ids_arg.join(","))
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let logits: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(logits.len(), ids.len() * vocab);
    (logits, report)
}

/// (max |Δ|, max |logit|, positions whose argmax differs).
fn compare(ours: &[f32], theirs: &[f32], vocab: usize) -> (f32, f32, usize) {
    let difference = ours
        .iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    let scale = theirs.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    let argmax = |row: &[f32]| {
        (0..row.len())
            .max_by(|&a, &b| row[a].total_cmp(&row[b]))
            .unwrap()
    };
    let disagreements = ours
        .chunks(vocab)
        .zip(theirs.chunks(vocab))
        .filter(|(a, b)| argmax(a) != argmax(b))
        .count();
    (difference, scale, disagreements)
}

#[test]
#[ignore = "fetches SmolLM2-135M and PyTorch; run with --ignored"]
fn smollm2_logits_match_transformers() {
    let models = PathBuf::from(script_output("policy-trainer/fetch-models.sh"));
    let python = script_output("benches/compare/torch_venv.sh");
    let loaded = load_gguf(
        &models.join("SmolLM2-135M-Instruct.Q4_1.gguf"),
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    let tokenizer = loaded.tokenizer.clone().unwrap();
    let dir = std::env::temp_dir().join(format!("r1-reference-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    save_hf(
        &dir,
        &Saved {
            config: &loaded.config,
            vars: &loaded.vars,
            tokenizer: Some(&tokenizer),
            eos_tokens: &loaded.eos_tokens,
        },
    )
    .unwrap();
    let model = Decoder::new(&loaded.config, &loaded.vars, DType::F32, &Device::Cpu).unwrap();
    let text = ChatTemplate::Chatml.prompt(None, "What is 12 + 30? Answer in \\boxed{}.");
    let ids = tokenizer.encode(&text).unwrap();
    let vocab = loaded.config.vocab_size;
    let (theirs, report) = transformers_logits(&python, &dir, &ids, vocab);
    let (difference, scale, disagreements) = compare(&common::logits(&model, &ids), &theirs, vocab);
    eprintln!(
        "SmolLM2-135M, {} tokens: max |Δlogit| {difference:.2e} (max |logit| {scale:.1}), argmax disagreements {disagreements}; {report}",
        ids.len()
    );
    assert_eq!(report["class"], "LlamaForCausalLM");
    assert_eq!(
        report["retokenized"],
        serde_json::json!(ids),
        "transformers tokenizes the text differently"
    );
    assert!(
        difference < 1e-3 * scale.max(1.0),
        "max |Δlogit| {difference} vs max |logit| {scale}"
    );
    assert_eq!(disagreements, 0);
    // Greedy continuation of the real model, for the record.
    let mut tokens = ids.clone();
    for _ in 0..12 {
        let logits = common::logits(&model, &tokens);
        let last = &logits[logits.len() - vocab..];
        tokens.push(
            (0..vocab)
                .max_by(|&a, &b| last[a].total_cmp(&last[b]))
                .unwrap() as u32,
        );
    }
    eprintln!(
        "greedy: {:?}",
        tokenizer.decode(&tokens[ids.len()..]).unwrap()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs the PyTorch virtualenv; run with --ignored"]
fn checkpoints_written_here_load_in_transformers() {
    let python = script_output("benches/compare/torch_venv.sh");
    for (tied, bias, class) in [
        (true, false, "LlamaForCausalLM"),
        (false, true, "Qwen2ForCausalLM"),
    ] {
        let config = ModelConfig {
            hidden_size: 32,
            ..common::tiny_config(
                policy_trainer::model::tokenizer::toy_tokenizer().vocab_size(),
                tied,
                bias,
            )
        };
        let vars = candle_nn::VarMap::new();
        let model = Decoder::new(&config, &vars, DType::F32, &Device::Cpu).unwrap();
        for var in vars.all_vars() {
            var.set(&(var.as_tensor() * 25.0).unwrap()).unwrap();
        }
        let dir = std::env::temp_dir().join(format!("r1-reference-{}-{class}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let tokenizer = policy_trainer::model::tokenizer::toy_tokenizer();
        let saved = Saved {
            config: &config,
            vars: &vars,
            tokenizer: Some(&tokenizer),
            eos_tokens: &[],
        };
        save_hf(&dir, &saved).unwrap();
        let ids = [1u32, 40, 41, 9, 77, 2, 15, 30];
        let (theirs, report) = transformers_logits(&python, &dir, &ids, config.vocab_size);
        let (difference, scale, _) =
            compare(&common::logits(&model, &ids), &theirs, config.vocab_size);
        eprintln!("{class}: max |Δlogit| {difference:.2e} (max |logit| {scale:.2})");
        assert_eq!(report["class"], class);
        assert!(difference < 1e-4 * scale.max(1.0), "{class}: {difference}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
