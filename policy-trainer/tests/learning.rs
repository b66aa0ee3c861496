//! It learns, on two CPU cores: the embedded default configs (a tiny random model with the toy
//! tokenizer) drive the SFT loss down, and GRPO with the real reward bus raises held-out
//! accuracy after a cold start that does not teach the task. Thresholds are asserted.

use policy_trainer::pipeline::config::{TrainConfig, DEFAULT_GRPO, DEFAULT_SFT};
use policy_trainer::train::grpo;
use policy_trainer::train::reward::BusRewarder;
use policy_trainer::train::run_dir::Phase;
use policy_trainer::train::sft;

mod common;

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("r1-learning-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn load(default: &str, output: &std::path::Path) -> TrainConfig {
    let mut config = TrainConfig::from_toml(default).unwrap();
    config.seed = common::test_seed();
    config.output = output.to_path_buf();
    config.checkpoint_every = 0;
    config
}

#[test]
fn sft_drives_the_held_out_loss_below_threshold() {
    let dir = scratch("sft");
    let config = load(DEFAULT_SFT, &dir);
    let sft_config = config.sft.clone().unwrap();
    let (train, eval) = config.sft_examples(&sft_config).unwrap();
    let mut harness = common::Harness::new(&config);
    let mut on_step = |_: &serde_json::Value| {};
    let mut session = harness.session(Phase::Sft, &mut on_step);
    let summary = sft::train(&mut session, &sft_config, &train, &eval).unwrap();
    let (before, after) = (
        summary.eval_loss_before.unwrap(),
        summary.eval_loss_after.unwrap(),
    );
    eprintln!("sft held-out loss {before:.4} -> {after:.4}");
    // Random init sits at ln(vocab) ≈ 4.6 nats per token.
    assert!(before > 4.0, "{before}");
    assert!(after < 0.05, "held-out loss {after} is not below 0.05");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A cold start, then GRPO on the real reward bus, on the embedded default as `adjust` changes
/// it; returns the GRPO summary and its per-step records.
fn cold_start_then_grpo(
    name: &str,
    adjust: impl Fn(&mut TrainConfig),
) -> (grpo::GrpoSummary, Vec<serde_json::Value>) {
    let dir = scratch(name);
    let mut config = load(DEFAULT_GRPO, &dir);
    adjust(&mut config);
    let (sft_config, grpo_config) = (config.sft.clone().unwrap(), config.grpo.clone().unwrap());
    let mut harness = common::Harness::new(&config);
    // The cold start: the format and copying digits, not which digit "first" asks for.
    let (cold, _) = config.sft_examples(&sft_config).unwrap();
    let mut ignore = |_: &serde_json::Value| {};
    let mut session = harness.session(Phase::Sft, &mut ignore);
    sft::train(&mut session, &sft_config, &cold, &[]).unwrap();
    let (train, held_out) = config.examples().unwrap();
    let rewarder = BusRewarder::from_config(grpo_config.rewards.as_ref(), None).unwrap();
    let mut records = Vec::new();
    let mut record = |r: &serde_json::Value| records.push(r.clone());
    let mut session = harness.session(Phase::Grpo, &mut record);
    let summary = grpo::train(&mut session, &grpo_config, &rewarder, &train, &held_out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (summary, records)
}

#[test]
fn grpo_with_the_reward_bus_raises_held_out_accuracy() {
    // Before and after only (the evaluations in between cost time, not learning).
    let (summary, _) = cold_start_then_grpo("grpo", |c| c.grpo.as_mut().unwrap().eval_every = 0);
    let (before, after) = (
        summary.accuracy_before.unwrap(),
        summary.accuracy_after.unwrap(),
    );
    eprintln!("grpo held-out accuracy (4 samples per prompt, T = 1) {before:.3} -> {after:.3}");
    assert!(
        before <= 0.3,
        "the cold start already solves the task: {before}"
    );
    assert!(after >= 0.8, "GRPO reached only {after} (from {before})");
}

/// Three GRPO steps after a short cold start (80 steps: enough for the format on any seed, so
/// some groups' rewards differ), with `adjust` applied to the GRPO config.
fn short_grpo(
    name: &str,
    adjust: impl Fn(&mut policy_trainer::train::grpo::GrpoConfig),
) -> Vec<serde_json::Value> {
    cold_start_then_grpo(name, |config| {
        config.data.eval_size = 8;
        config.sft.as_mut().unwrap().steps = 80;
        let grpo_config = config.grpo.as_mut().unwrap();
        grpo_config.steps = 3;
        grpo_config.eval_every = 0;
        grpo_config.dynamic_sampling = false;
        adjust(grpo_config);
    })
    .1
}

#[test]
fn kl_to_the_reference_and_off_policy_reuse_are_reported() {
    // μ = 2 with a fixed reference: the second pass sees a moved policy, so KL > 0.
    let records = short_grpo("kl", |g| {
        g.beta = 0.1;
        g.mu = 2;
        g.ref_reset_every = 0;
    });
    assert_eq!(records.len(), 3);
    // Until a step has a group whose rewards differ there is no advantage, the policy stays at
    // its reference and the KL is 0; from that step on the moved policy must show.
    let first_informative = records
        .iter()
        .position(|r| r["task/math/flat_groups"].as_f64() < Some(1.0))
        .unwrap_or_else(|| panic!("no group's rewards differed: {records:?}"));
    for r in &records[first_informative..] {
        assert!(r["kl"].as_f64().unwrap() > 0.0, "{r}");
    }
    for r in &records {
        assert!(r["loss"].as_f64().unwrap().is_finite());
        let f = |key: &str| r[key].as_f64().unwrap_or_else(|| panic!("no {key}: {r}"));
        assert!((0.0..=1.0).contains(&f("clip_fraction")));
        assert!(
            (f("clip_fraction/low") + f("clip_fraction/high") - f("clip_fraction")).abs() < 1e-9
        );
        // Entropy estimate from the sampled tokens, and generation / training rates apart.
        assert!(f("entropy") > 0.0, "{r}");
        assert!(f("generation_tokens_per_s") > 0.0 && f("training_tokens_per_s") > 0.0);
        assert!(r["sample"]["completion"].is_string());
    }
    // μ = 1 and the reference reset after every step: the policy equals its reference when the
    // loss is computed, so the KL is exactly zero.
    let records = short_grpo("reset", |g| {
        g.beta = 0.1;
        g.ref_reset_every = 1;
    });
    assert!(
        records.iter().all(|r| r["kl"].as_f64() == Some(0.0)),
        "{records:?}"
    );
}
