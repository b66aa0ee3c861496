//! `r1-train eval`: majority voting groups equivalent answers, MMATH loads from the fixtures,
//! reports are reproducible with a fixed seed, and the command writes its table and JSON.

use policy_trainer::model::ModelSource;
use policy_trainer::pipeline::eval::{consensus_correct, evaluate, read_mmath, EvalConfig};
use policy_trainer::train::policy::Policy;
use policy_trainer::train::reward::BusRewarder;
use std::path::Path;

fn mmath() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/mmath")
}

#[test]
fn the_majority_answer_decides_cons_at_k() {
    let votes = |v: &[(&str, bool)]| -> Vec<(String, bool)> {
        v.iter().map(|(c, ok)| (c.to_string(), *ok)).collect()
    };
    // 5 and 5.0 are one answer with three votes; 4 and 2+2 have two.
    assert!(!consensus_correct(&votes(&[
        ("\\boxed{4}", true),
        ("\\boxed{2+2}", true),
        ("\\boxed{5}", false),
        ("\\boxed{5.0}", false),
        ("the answer is \\boxed{5}", false),
    ])));
    // A tie goes to the answer seen first; completions without an answer do not vote.
    assert!(consensus_correct(&votes(&[
        ("\\boxed{4}", true),
        ("no idea", false),
        ("\\boxed{5}", false),
        ("\\boxed{\\frac{8}{2}}", true),
        ("\\boxed{5}", false),
    ])));
    assert!(!consensus_correct(&votes(&[("no idea", false)])));
}

#[test]
fn mmath_loads_per_language_and_bad_requests_are_errors() {
    let items = read_mmath(&mmath(), &["en".into(), "zh".into()], 3).unwrap();
    assert_eq!(items.len(), 6);
    assert_eq!(
        items
            .iter()
            .filter(|i| i.language.as_deref() == Some("zh"))
            .count(),
        3
    );
    assert!(items.iter().all(|i| i.example.answer.is_some()));
    assert_eq!(items[0].example.answer.as_deref(), Some("204"));
    assert!(read_mmath(&mmath(), &["xx".into()], 3).is_err());
    assert!(read_mmath(Path::new("/nonexistent"), &[], 3).is_err());
}

#[test]
fn reports_are_reproducible_with_a_seed_and_the_cli_writes_them() {
    let source: ModelSource = toml::from_str("source = \"toy\"\ntemplate = \"chatml\"").unwrap();
    let policy = Policy::load(&source, None, 1).unwrap();
    let items = read_mmath(&mmath(), &["en".into(), "fr".into()], 2).unwrap();
    let bus = judges::BusConfig::from_toml(
        "[[reward]]\nname = \"accuracy\"\nkind = \"math\"\n[[reward]]\nname = \"language\"\nkind = \"language\"\n",
    )
    .unwrap();
    let rewarder = BusRewarder::from_config(Some(&bus), None).unwrap();
    let config = EvalConfig {
        samples: 2,
        max_new_tokens: 8,
        seed: 5,
        ..EvalConfig::default()
    };
    let first = evaluate(&policy, &items, &rewarder, &["accuracy"], &config).unwrap();
    let second = evaluate(&policy, &items, &rewarder, &["accuracy"], &config).unwrap();
    assert_eq!(first, second);
    assert_eq!(first.overall.problems, 4);
    assert_eq!(first.by_language.keys().collect::<Vec<_>>(), ["en", "fr"]);
    assert!((0.0..=1.0).contains(&first.overall.pass_at_1));
    assert!(first.table().contains("cons@2"));

    let dir = std::env::temp_dir().join(format!("r1-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    policy_trainer::model::weights::save_hf(&dir, &policy.saved()).unwrap();
    let json = dir.join("report.json");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_r1-train"))
        .arg("eval")
        .arg(&dir)
        .args([
            "--data",
            "toy:first",
            "--limit",
            "5",
            "--samples",
            "2",
            "--max-new-tokens",
            "8",
            "--json",
        ])
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("pass@1"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["overall"]["problems"], 5);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_r1-train"))
        .arg("eval")
        .arg(&dir)
        .args(["--data", "toy:nope"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("use first, sort, sum, code or last"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn humaneval_items_are_judged_in_the_sandbox() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/humaneval/HumanEval.jsonl.gz");
    let items = policy_trainer::pipeline::eval::read_humaneval(&path, 3).unwrap();
    assert_eq!(items.len(), 3);
    assert!(items[0].example.prompt.contains("def has_close_elements"));
    // The reference solutions, written as a chat model would (whole function, fenced), pass;
    // a body that returns nothing fails.
    let rows: Vec<serde_json::Value> = {
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()),
            &mut text,
        )
        .unwrap();
        text.lines()
            .take(3)
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let bus = judges::BusConfig::from_toml(
        "[[reward]]\nname = \"code\"\nkind = \"code\"\ntasks = [\"code\"]\ntimeout_ms = 60000\n",
    )
    .unwrap();
    let rewarder = BusRewarder::from_config(Some(&bus), None).unwrap();
    let mut samples = Vec::new();
    for (item, row) in items.iter().zip(&rows) {
        let prompt = row["prompt"].as_str().unwrap();
        for body in [
            row["canonical_solution"].as_str().unwrap(),
            "    return None\n",
        ] {
            samples.push(judges::Sample {
                prompt: item.example.prompt.clone(),
                completion: format!("Here it is.\n```python\n{prompt}{body}```"),
                task: item.example.task.clone(),
                tests: item.example.tests.clone(),
                ..Default::default()
            });
        }
    }
    let values: Vec<Option<f64>> =
        policy_trainer::train::reward::Rewarder::reward(&rewarder, &samples)
            .unwrap()
            .iter()
            .map(|r| r.components[0].value)
            .collect();
    assert_eq!(
        values,
        [
            Some(1.0),
            Some(0.0),
            Some(1.0),
            Some(0.0),
            Some(1.0),
            Some(0.0)
        ]
    );
}
