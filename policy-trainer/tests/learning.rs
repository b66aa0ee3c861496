//! It learns, on two CPU cores: the embedded default configs (a tiny random model with the toy
//! tokenizer) drive the SFT loss down, and GRPO with the real reward bus raises held-out
//! accuracy after a cold start that does not teach the task. Thresholds are asserted.

use policy_trainer::config::{TrainConfig, DEFAULT_GRPO, DEFAULT_SFT};
use policy_trainer::data::ToyAnswers;
use policy_trainer::grpo::{self, BusRewarder};
use policy_trainer::run::{Metrics, Policy, RunDir};
use policy_trainer::sft;

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("r1-learning-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn load(default: &str, output: &std::path::Path) -> TrainConfig {
    let mut config = TrainConfig::from_toml(default).unwrap();
    config.output = output.to_path_buf();
    config.checkpoint_every = 0;
    config
}

#[test]
fn sft_drives_the_held_out_loss_below_threshold() {
    let dir = scratch("sft");
    let config = load(DEFAULT_SFT, &dir);
    let sft_config = config.sft.clone().unwrap();
    let policy = Policy::load(&config.model, None, config.seed).unwrap();
    let (train, eval) = config.sft_examples().unwrap();
    let run = RunDir::create(&dir, 1).unwrap();
    let mut metrics = Metrics::open(&dir, None).unwrap();
    let summary = sft::train(
        &policy,
        &config,
        &sft_config,
        &train,
        &eval,
        &run,
        &mut metrics,
        0,
        0,
        &mut |_| {},
    )
    .unwrap();
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

#[test]
fn grpo_with_the_reward_bus_raises_held_out_accuracy() {
    let dir = scratch("grpo");
    let mut config = load(DEFAULT_GRPO, &dir);
    // Before and after only (the evaluations in between cost time, not learning).
    config.grpo.as_mut().unwrap().eval_every = 0;
    let (sft_config, grpo_config) = (config.sft.clone().unwrap(), config.grpo.clone().unwrap());
    let policy = Policy::load(&config.model, None, config.seed).unwrap();
    let run = RunDir::create(&dir, 1).unwrap();
    let mut metrics = Metrics::open(&dir, None).unwrap();
    // The cold start: the format and copying digits, not which digit "first" asks for.
    let (cold, _) = config.sft_examples().unwrap();
    sft::train(
        &policy,
        &config,
        &sft_config,
        &cold,
        &[],
        &run,
        &mut metrics,
        0,
        0,
        &mut |_| {},
    )
    .unwrap();
    let (train, held_out) = config.examples(ToyAnswers::Correct).unwrap();
    let rewarder = BusRewarder::from_config(grpo_config.rewards.as_ref()).unwrap();
    let summary = grpo::train(
        &policy,
        &config,
        &grpo_config,
        &rewarder,
        &train,
        &held_out,
        &run,
        &mut metrics,
        0,
        0,
        &mut |_| {},
    )
    .unwrap();
    let (before, after) = (
        summary.accuracy_before.unwrap(),
        summary.accuracy_after.unwrap(),
    );
    eprintln!("grpo held-out accuracy (4 samples per prompt, T = 1) {before:.3} -> {after:.3}");
    assert!(
        before <= 0.3,
        "the cold start already solves the task: {before}"
    );
    assert!(after >= 0.6, "GRPO reached only {after} (from {before})");
    let _ = std::fs::remove_dir_all(&dir);
}
