//! The trainer's layers depend one way (`model` ← `train` ← `pipeline` ← `serve`) and keep their
//! invariants: each layer's files are read and the names a layer must never use are refused.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Every line of the layer's files that uses one of `forbidden` (comments aside).
fn violations(layer: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(layer);
    let mut found = Vec::new();
    for file in sources(&root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for name in forbidden {
                if code.contains(name) {
                    found.push(format!("{}:{}: {name}", file.display(), i + 1));
                }
            }
        }
    }
    found
}

#[test]
fn the_model_layer_knows_nothing_of_rewards_runs_or_servers() {
    let found = violations(
        "model",
        &[
            "crate::train",
            "crate::pipeline",
            "crate::serve",
            "crate::error",
            "judges",
            "sandbox",
            "tokio",
            "axum",
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_training_layer_never_reaches_up_or_prints() {
    let found = violations(
        "train",
        &[
            "crate::pipeline",
            "crate::serve",
            "println!",
            "eprintln!",
            "indicatif",
            "toml::",
        ],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_pipeline_never_reaches_up_or_prints() {
    let found = violations(
        "pipeline",
        &["crate::serve", "println!", "eprintln!", "indicatif"],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_checker_sees_a_violation() {
    // The scan itself must find what it looks for (here: the model layer's own imports).
    assert!(!violations("model", &["crate::model::decoder"]).is_empty());
}
