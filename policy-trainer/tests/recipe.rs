//! The whole recipe on a tiny model: every stage of the embedded default runs (with fewer
//! steps), each keeps its promise — RL raises reward, rejection sampling keeps only verified
//! samples, distillation lowers the student's loss on teacher data, evaluation is reproducible —
//! and a second run skips what is complete.

use judges::Outcome;
use policy_trainer::pipeline::progress::Event;
use policy_trainer::pipeline::recipe::{
    self, RecipeConfig, Stage, StageKind, StageReport, DEFAULT_RECIPE,
};
use policy_trainer::train::data::read_jsonl;
use policy_trainer::train::llm_judge::LocalJudgeConfig;
use policy_trainer::train::reward::{BusRewarder, Rewarder};
use std::path::Path;

mod common;

/// The embedded recipe, shortened to fit a CI test.
fn small_recipe(output: &Path) -> RecipeConfig {
    let mut config = RecipeConfig::from_toml(DEFAULT_RECIPE).unwrap();
    config.seed = common::test_seed();
    config.output = output.to_path_buf();
    for stage in &mut config.stages {
        match stage {
            Stage::Grpo(s) if s.name == "reasoning_rl" => {
                s.grpo.steps = 30;
                s.grpo.eval_every = 0;
            }
            Stage::Sample(s) if s.name == "rejection" => s.sample.prompts = Some(120),
            Stage::Grpo(s) if s.name == "all_scenario_rl" => {
                s.grpo.steps = 24;
                s.grpo.eval_every = 0;
            }
            Stage::Sft(s) if s.name == "sft_rejection" => s.sft.steps = 100,
            Stage::Sft(s) if s.name == "student_pretrain" => s.sft.steps = 120,
            Stage::Distill(s) => {
                s.sample.prompts = Some(200);
                s.sft.steps = 120;
            }
            Stage::Eval(s) => {
                s.eval.models = vec!["cold_start".into(), "reasoning_rl".into(), "distill".into()];
                s.eval.limit = Some(40);
                s.eval.samples = 2;
            }
            _ => {}
        }
    }
    config
}

fn stage_mut<'a>(config: &'a mut RecipeConfig, name: &str) -> &'a mut Stage {
    config.stages.iter_mut().find(|s| s.name() == name).unwrap()
}

fn report<'a>(reports: &'a [StageReport], name: &str) -> &'a StageReport {
    reports.iter().find(|r| r.name == name).unwrap()
}

/// Progress events as lines on stderr (shown when a test fails).
fn log(event: &Event<'_>) {
    eprintln!("{event}");
}

/// Mean of a metric over the first and over the last `n` records that carry it.
fn early_late(metrics: &Path, key: &str, n: usize) -> (f64, f64) {
    let values: Vec<f64> = std::fs::read_to_string(metrics)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v[key].as_f64())
        .collect();
    assert!(values.len() >= 2 * n, "{key}: {values:?}");
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    (mean(&values[..n]), mean(&values[values.len() - n..]))
}

#[test]
fn every_stage_runs_keeps_its_promise_and_resumes() {
    let dir = std::env::temp_dir().join(format!("r1-recipe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = small_recipe(&dir);
    let reports = recipe::run(&config, &log).unwrap();
    eprintln!("{}", recipe::table(&reports));
    assert_eq!(reports.len(), config.stages.len());
    assert!(dir.join("recipe.png").metadata().unwrap().len() > 10_000);
    assert!(recipe::table(&reports).contains("reasoning_rl"));

    // SFT stages lower the held-out loss.
    for name in ["judge", "pretrain", "cold_start"] {
        let r = report(&reports, name);
        assert!(r.after.unwrap() < r.before.unwrap() * 0.2, "{r:?}");
    }

    // Reasoning RL raises held-out accuracy (by two standard errors of the difference: a rise,
    // not noise, on any seed; how far it goes is `learning.rs`'s and the README's business)
    // and the rollout reward.
    let rl = report(&reports, "reasoning_rl");
    let draws = rl.config["trainer"]["data"]["eval_size"].as_f64().unwrap()
        * rl.config["stage"]["grpo"]["eval_samples"].as_f64().unwrap();
    let (before, after) = (rl.before.unwrap(), rl.after.unwrap());
    let standard_error = ((before * (1.0 - before) + after * (1.0 - after)) / draws)
        .sqrt()
        .max(0.01);
    assert!(after - before > 2.0 * standard_error, "{rl:?}");
    // No task falls through an RL stage by more than 0.2 or three standard errors of the
    // difference, whichever is larger: every reward component, held out (math accuracy and
    // format, code tests, the judge's helpfulness on general prompts). A component is measured
    // on its share of the held-out draws (taken as an even split between the tasks), so on a
    // few dozen draws a fall of 0.2 can be noise alone.
    for name in ["reasoning_rl", "all_scenario_rl"] {
        let r = report(&reports, name);
        assert!(r.held_out.contains_key("code"), "{name}: {:?}", r.held_out);
        // Math and code; general prompts too where the judge scores helpfulness.
        let tasks = if r.held_out.contains_key("helpfulness") {
            3.0
        } else {
            2.0
        };
        let draws = r.config["trainer"]["data"]["eval_size"].as_f64().unwrap()
            * r.config["stage"]["grpo"]["eval_samples"].as_f64().unwrap()
            / tasks;
        for (component, (before, after)) in &r.held_out {
            let spread = (before.clamp(0.0, 1.0) * (1.0 - before.clamp(0.0, 1.0))
                + after.clamp(0.0, 1.0) * (1.0 - after.clamp(0.0, 1.0)))
                / draws;
            let allowed = (3.0 * spread.sqrt()).max(0.2);
            assert!(
                *after >= before - allowed,
                "{name}: held-out {component} fell {before:.3} → {after:.3} (allowed {allowed:.3})"
            );
        }
    }
    let (early, late) = early_late(&dir.join("reasoning_rl/metrics.jsonl"), "reward", 5);
    assert!(late > early, "reasoning RL reward {early} → {late}");

    // All-scenario RL: the in-process judge scores the general prompts of every step, and the
    // reasoning skill survives. (Its reward rises over the default's 40 steps — see the README —
    // but 24 steps of a judge right ~92 % of the time are too noisy to assert a rise on.)
    let metrics = dir.join("all_scenario_rl/metrics.jsonl");
    let (early, late) = early_late(&metrics, "reward/helpfulness", 10);
    eprintln!("judge reward (10-step means) {early:.3} → {late:.3}");
    let all_scenario = report(&reports, "all_scenario_rl");
    assert!(
        all_scenario.after.unwrap() >= all_scenario.before.unwrap() - 0.15,
        "{all_scenario:?}"
    );

    // Rejection sampling keeps only samples the bus verifies again (math and code).
    let kept = read_jsonl(&dir.join("rejection/samples.jsonl")).unwrap();
    assert!(kept.len() >= 40, "kept {}", kept.len());
    for task in ["math", "code"] {
        let n = kept
            .iter()
            .filter(|e| e.task.as_deref() == Some(task))
            .count();
        assert!(n >= 5, "rejection sampling kept {n} {task} samples");
    }
    let Some(Stage::Sample(stage)) = config.stages.iter().find(|s| s.name() == "rejection") else {
        panic!("the recipe has no `rejection` sample stage");
    };
    let rewarder = BusRewarder::from_config(stage.sample.rewards.as_ref(), None).unwrap();
    let samples: Vec<judges::Sample> = kept
        .iter()
        .map(|e| e.sample(e.completion.clone().unwrap()))
        .collect();
    for (sample, rewarded) in samples.iter().zip(rewarder.reward(&samples).unwrap()) {
        let verdict = rewarded
            .components
            .iter()
            .find(|c| c.outcome == Outcome::Scored)
            .and_then(|c| c.value);
        assert_eq!(verdict, Some(1.0), "{sample:?}");
    }

    // Distillation: the smaller student's loss on held-out teacher samples drops.
    let distill = report(&reports, "distill");
    assert!(
        distill.after.unwrap() < distill.before.unwrap() * 0.75,
        "{distill:?}"
    );

    // The final evaluation (T 0.6) agrees, task by task: reasoning RL lifts math and keeps code.
    let first_eval = std::fs::read(dir.join("eval/eval.json")).unwrap();
    let eval: serde_json::Value = serde_json::from_slice(&first_eval).unwrap();
    let pass = |model: &str, task: &str| {
        eval[model]["by_language"][task]["pass_at_1"]
            .as_f64()
            .unwrap_or_else(|| panic!("eval.json lacks {model}/{task}"))
    };
    for task in ["math", "code"] {
        let (before, after) = (pass("cold_start", task), pass("reasoning_rl", task));
        assert!(
            after >= before - 0.2,
            "{task}: pass@1 {before:.3} → {after:.3} through reasoning RL"
        );
    }

    // A second run skips every complete stage; evaluation rerun gives the same numbers.
    std::fs::remove_file(dir.join("eval/stage.json")).unwrap();
    let again = recipe::run(&config, &log).unwrap();
    for r in &again {
        assert_eq!(r.skipped, r.kind != StageKind::Eval, "{}", r.name);
    }
    assert_eq!(
        std::fs::read(dir.join("eval/eval.json")).unwrap(),
        first_eval
    );

    // An interrupted training stage resumes from its checkpoint (here: its last one).
    std::fs::remove_file(dir.join("sft_rejection/stage.json")).unwrap();
    std::fs::remove_dir_all(dir.join("sft_rejection/final")).unwrap();
    let resumed = recipe::run(&config, &log).unwrap();
    let sft = report(&resumed, "sft_rejection");
    assert!(!sft.skipped && sft.note.contains("resumed"), "{sft:?}");

    // A changed stage is not mistaken for a finished one.
    let mut changed = config.clone();
    let Stage::Sft(cold_start) = stage_mut(&mut changed, "cold_start") else {
        panic!("cold_start is an SFT stage");
    };
    cold_start.sft.steps += 1;
    let err = recipe::run(&changed, &log).unwrap_err().to_string();
    assert!(err.contains("cold_start"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_recipes_are_refused_before_anything_runs() {
    let base = RecipeConfig::from_toml(DEFAULT_RECIPE).unwrap();
    let text = |edit: &dyn Fn(&mut RecipeConfig)| {
        let mut config = base.clone();
        edit(&mut config);
        toml::to_string(&config).unwrap()
    };
    // A stage's sections as TOML, edited: a missing or a stray section is a parse error.
    let edit_stage = |name: &str, edit: &dyn Fn(&mut toml::Table)| {
        let mut value = toml::Table::try_from(&base).unwrap();
        let stages = value["stage"].as_array_mut().unwrap();
        let stage = stages
            .iter_mut()
            .find(|s| s["name"].as_str() == Some(name))
            .unwrap();
        edit(stage.as_table_mut().unwrap());
        toml::to_string(&value).unwrap()
    };
    let cases: Vec<(String, &str)> = vec![
        (
            text(&|c| {
                if let Stage::Grpo(s) = stage_mut(c, "reasoning_rl") {
                    s.from = "distill".into();
                }
            }),
            "earlier stage",
        ),
        (
            text(&|c| {
                if let Stage::Sample(s) = stage_mut(c, "rejection") {
                    s.name = "judge".into();
                }
            }),
            "twice",
        ),
        (
            edit_stage("cold_start", &|s| {
                s.remove("sft");
            }),
            "missing field `sft`",
        ),
        (
            edit_stage("cold_start", &|s| {
                s.insert("held_out".into(), 0.5.into());
            }),
            "unknown field `held_out`",
        ),
        (
            text(&|c| {
                if let Stage::Sft(s) = stage_mut(c, "sft_rejection") {
                    s.samples = Some("cold_start".into());
                }
            }),
            "not an earlier `sample` stage",
        ),
        (
            text(&|c| {
                if let Stage::Sft(s) = stage_mut(c, "judge") {
                    s.name = "base".into();
                }
            }),
            "stage name",
        ),
        (text(&|c| c.stages.clear()), "no [[stage]]"),
    ];
    for (toml_text, expected) in cases {
        let err = RecipeConfig::from_toml(&toml_text).unwrap_err();
        assert_eq!(err.kind(), policy_trainer::ErrorKind::Config);
        let message = err.report();
        assert!(message.contains(expected), "{message} ∌ {expected}");
    }
    // The judge may name a stage only if it trains a model before the RL stage.
    let judge_ref = text(&|c| {
        if let Stage::Grpo(s) = stage_mut(c, "all_scenario_rl") {
            let judge: &mut LocalJudgeConfig = s.grpo.local_judge.as_mut().unwrap();
            judge.model = "eval".into();
        }
    });
    assert!(RecipeConfig::from_toml(&judge_ref).is_err());
}

#[test]
fn the_smollm2_example_recipe_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/smollm2-recipe.toml");
    let config = RecipeConfig::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap();
    let kinds: Vec<StageKind> = config.stages.iter().map(Stage::kind).collect();
    for kind in [
        StageKind::Sft,
        StageKind::Grpo,
        StageKind::Sample,
        StageKind::Distill,
        StageKind::Eval,
    ] {
        assert!(kinds.contains(&kind), "{kind:?}");
    }
    assert_eq!(
        config.stages[0].from(),
        "base",
        "R1-Zero starts from the base model"
    );
}
