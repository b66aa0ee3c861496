//! Rejection sampling: only verified, readable, distinct completions are kept, and
//! `r1-train sample` writes them as a dataset the SFT loop reads.

use judges::{Component, Outcome, Rewarded};
use policy_trainer::pipeline::config::{TrainConfig, DEFAULT_GRPO};
use policy_trainer::pipeline::rejection::{
    rejection_reason, rejection_sample, Rejection, RejectionConfig,
};
use policy_trainer::train::data::{read_jsonl, ToyAnswers};
use policy_trainer::train::reward::{BusRewarder, Rewarder};
use policy_trainer::train::run_dir::Phase;
use policy_trainer::train::sft;

mod common;
use std::process::Command;

fn config() -> RejectionConfig {
    toml::from_str("samples_per_prompt = 4\nmax_new_tokens = 16\nmax_paragraph_chars = 50").unwrap()
}

fn scored(accuracy: f64, language: Option<f64>) -> Rewarded {
    let component = |name: &str, value: f64| Component {
        name: name.into(),
        weight: 1.0,
        outcome: Outcome::Scored,
        value: Some(value),
        reason: String::new(),
        millis: 0.0,
    };
    let mut components = vec![component("accuracy", accuracy)];
    components.extend(language.map(|v| component("language", v)));
    Rewarded {
        total: accuracy,
        components,
    }
}

#[test]
fn filters_name_the_reason() {
    let c = config();
    let good = "<think>2</think><answer>\\boxed{2}</answer>";
    assert_eq!(
        rejection_reason(&c, Some("math"), good, &scored(1.0, None)),
        None
    );
    assert_eq!(
        rejection_reason(&c, Some("math"), good, &scored(0.0, None)),
        Some(Rejection::Incorrect)
    );
    assert_eq!(
        rejection_reason(&c, Some("math"), good, &scored(1.0, Some(0.5))),
        Some(Rejection::MixedLanguage)
    );
    let long = format!("<think>{}</think>\n\nso \\boxed{{2}}", "x".repeat(60));
    assert_eq!(
        rejection_reason(&c, Some("math"), &long, &scored(1.0, None)),
        Some(Rejection::LongParagraph)
    );
    let code = "```python\nprint(2)\n```\n\\boxed{2}";
    assert_eq!(
        rejection_reason(&c, Some("math"), code, &scored(1.0, None)),
        Some(Rejection::CodeBlock)
    );
    // A correct answer whose language reward timed out has no verdict: not kept, and said so.
    let mut timed_out = scored(1.0, Some(1.0));
    timed_out.components[1].outcome = Outcome::TimedOut;
    timed_out.components[1].value = None;
    assert_eq!(
        rejection_reason(&c, Some("math"), good, &timed_out),
        Some(Rejection::RewardFailed)
    );
    assert_eq!(
        rejection_reason(&c, Some("code"), code, &scored(1.0, None)),
        None
    );
}

#[test]
fn only_verified_samples_are_kept_and_the_cli_writes_a_dataset() {
    let root = std::env::temp_dir().join(format!("r1-rejection-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    // A toy policy that is right often but not always: a short SFT on the right answers.
    let mut train_config = TrainConfig::from_toml(DEFAULT_GRPO).unwrap();
    train_config.output = root.join("policy");
    train_config.checkpoint_every = 0;
    train_config.data.eval_size = 16;
    let sft_config = train_config.sft.as_mut().unwrap();
    sft_config.toy_answers = ToyAnswers::Correct;
    sft_config.toy_extra = None;
    sft_config.steps = 160;
    let sft_config = sft_config.clone();
    let mut harness = common::Harness::new(&train_config);
    let (train, held_out) = train_config.sft_examples(&sft_config).unwrap();
    let mut ignore = |_: &serde_json::Value| {};
    let mut session = harness.session(Phase::Sft, &mut ignore);
    sft::train(&mut session, &sft_config, &train, &[]).unwrap();
    let policy = &harness.policy;
    let rewarder =
        BusRewarder::from_config(train_config.grpo.as_ref().unwrap().rewards.as_ref(), None)
            .unwrap();
    let mut config = config();
    config.temperature = 1.0;
    config.max_per_prompt = 2;
    let (kept, stats) = rejection_sample(policy, &held_out, &rewarder, &config, 7).unwrap();
    eprintln!("{stats:?}");
    assert_eq!(stats.sampled, 16 * 4);
    assert_eq!(
        stats.reward_failed
            + stats.incorrect
            + stats.mixed_language
            + stats.long_paragraph
            + stats.code_block
            + stats.duplicate
            + stats.over_limit
            + stats.kept,
        stats.sampled
    );
    assert!(
        stats.kept > 0 && stats.incorrect > 0,
        "the toy policy should be right sometimes: {stats:?}"
    );
    // Every kept completion verifies again, and no prompt has more than max_per_prompt.
    let samples: Vec<judges::Sample> = kept
        .iter()
        .map(|e| e.sample(e.completion.clone().unwrap()))
        .collect();
    for rewarded in rewarder.reward(&samples).unwrap() {
        let accuracy = rewarded
            .components
            .iter()
            .find(|c| c.name == "accuracy")
            .unwrap();
        assert_eq!(accuracy.value, Some(1.0), "{rewarded:?}");
    }
    for example in &held_out {
        assert!(kept.iter().filter(|k| k.prompt == example.prompt).count() <= 2);
    }

    // The same through the binary, from a checkpoint folder.
    let checkpoint = harness.run.save_final(policy).unwrap();
    let config_path = root.join("sample.toml");
    std::fs::write(
        &config_path,
        format!(
            "output = {:?}\n[model]\nsource = \"hf\"\npath = {:?}\n[data]\ntoy = \"first\"\neval_size = 16\n[sample]\nsamples_per_prompt = 2\nmax_new_tokens = 16\n[sample.rewards]\n[[sample.rewards.reward]]\nname = \"accuracy\"\nkind = \"math\"\n",
            root.join("out").display().to_string(),
            checkpoint.display().to_string()
        ),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_r1-train"))
        .args(["sample", "--config"])
        .arg(&config_path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dataset = read_jsonl(&root.join("out/samples.jsonl")).unwrap();
    assert!(!dataset.is_empty());
    assert!(dataset
        .iter()
        .all(|e| e.completion.is_some() && e.answer.is_some()));
    let _ = std::fs::remove_dir_all(&root);
}
