//! The reward bus end to end: real verifiers, the real WASM sandbox, routing, weights,
//! skip semantics, timeouts that never block a batch, ordering and the cache.

use async_trait::async_trait;
use judges::{Bus, BusConfig, Outcome, Reward, RewardError, Sample, Score};
use serde_json::json;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

fn sandbox() -> Arc<sandbox::Sandbox> {
    static SANDBOX: OnceLock<Arc<sandbox::Sandbox>> = OnceLock::new();
    SANDBOX
        .get_or_init(|| Arc::new(sandbox::Sandbox::new(Default::default(), 2).expect("sandbox")))
        .clone()
}

fn default_bus() -> Arc<Bus> {
    Arc::new(Bus::new(&BusConfig::embedded_default(), Some(sandbox())).expect("bus"))
}

fn math(completion: &str, answer: &str) -> Sample {
    Sample {
        prompt: "What is one plus one? Answer in English.".into(),
        completion: completion.into(),
        task: Some("math".into()),
        answer: Some(answer.into()),
        ..Default::default()
    }
}

fn component<'a>(r: &'a judges::Rewarded, name: &str) -> &'a judges::Component {
    r.components
        .iter()
        .find(|c| c.name == name)
        .expect("component")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn math_sample_gets_accuracy_format_and_language() {
    let bus = default_bus();
    assert_eq!(
        bus.reward_names(),
        ["accuracy", "code", "format", "language"]
    );
    let good = math(
        "<think>We add one and one to get two.</think><answer>\\boxed{2}</answer>",
        "2",
    );
    let r = bus.reward(&good).await;
    assert_eq!(component(&r, "accuracy").value, Some(1.0));
    assert_eq!(component(&r, "format").value, Some(1.0));
    assert_eq!(component(&r, "language").value, Some(1.0));
    assert_eq!(component(&r, "code").outcome, Outcome::Skipped);
    assert_eq!(r.total, 3.0);

    let wrong = math(
        "<think>Nous ajoutons un et un pour obtenir trois.</think> \\boxed{3}",
        "2",
    );
    let r = bus.reward(&wrong).await;
    assert_eq!(component(&r, "accuracy").value, Some(0.0));
    assert_eq!(component(&r, "format").value, Some(0.0));
    assert!(component(&r, "language").value.unwrap() < 0.2, "{r:?}");
    assert!(r.total < 0.2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_samples_are_judged_in_the_sandbox() {
    let bus = default_bus();
    let tests: sandbox::Tests = serde_json::from_value(json!({"kind": "call", "entry": "add",
        "cases": [{"input": [1, 2], "output": 3}, {"input": [2, 2], "output": 4}]}))
    .unwrap();
    let sample = |code: &str| Sample {
        prompt: "Write add(a, b).".into(),
        completion: format!(
            "<think>Just add them.</think><answer>\n```python\n{code}\n```\n</answer>"
        ),
        task: Some("code".into()),
        tests: Some(tests.clone()),
        ..Default::default()
    };
    let r = bus
        .reward(&sample("def add(a, b):\n    return a + b"))
        .await;
    assert_eq!(component(&r, "code").value, Some(1.0), "{r:?}");
    assert_eq!(component(&r, "accuracy").outcome, Outcome::Skipped);
    let r = bus.reward(&sample("def add(a, b):\n    return 3")).await;
    assert_eq!(component(&r, "code").value, Some(0.0));
    assert!(component(&r, "code").reason.contains("wrong_answer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_reward_is_reported_and_does_not_block_the_batch() {
    let config = BusConfig::from_toml(
        "[[reward]]\nname = \"code\"\nkind = \"code\"\ntimeout_ms = 300\n\
         [[reward]]\nname = \"format\"\nkind = \"format\"\nstyle = \"tag_count\"\n",
    )
    .unwrap();
    let bus = Arc::new(Bus::new(&config, Some(sandbox())).unwrap());
    let tests: sandbox::Tests =
        serde_json::from_value(json!({"kind": "stdio", "cases": [{"stdin": "", "stdout": "1"}]}))
            .unwrap();
    let slow = Sample {
        completion: "while True:\n    pass\n".into(),
        tests: Some(tests),
        limits: Some(sandbox::Limits {
            time_ms: 5_000,
            ..Default::default()
        }),
        ..Default::default()
    };
    let started = Instant::now();
    let results = bus
        .reward_batch(&[slow.clone(), math("<think>a</think>", "1")])
        .await;
    assert!(
        started.elapsed() < Duration::from_millis(3_000),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(component(&results[0], "code").outcome, Outcome::TimedOut);
    assert_eq!(component(&results[0], "format").outcome, Outcome::Scored);
    assert_eq!(component(&results[1], "format").value, Some(0.5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_keep_order_and_are_deterministic() {
    let bus = default_bus();
    let samples: Vec<Sample> = (0..64)
        .map(|i| {
            math(
                &format!("<think>The value is {i}.</think><answer>\\boxed{{{i}}}</answer>"),
                &(i % 3).to_string(),
            )
        })
        .collect();
    let first = bus.reward_batch(&samples).await;
    let second = bus.reward_batch(&samples).await; // served from the cache
    let values = |rs: &[judges::Rewarded]| -> Vec<(f64, Vec<Option<f64>>)> {
        rs.iter()
            .map(|r| (r.total, r.components.iter().map(|c| c.value).collect()))
            .collect()
    };
    assert_eq!(values(&first), values(&second));
    for (i, r) in first.iter().enumerate() {
        let expected = if i < 3 { 1.0 } else { 0.0 };
        assert_eq!(component(r, "accuracy").value, Some(expected), "sample {i}");
    }
    assert!(bus.reward_batch(&[]).await.is_empty());
}

struct Constant;

#[async_trait]
impl Reward for Constant {
    fn cpu_bound(&self) -> bool {
        false
    }

    async fn score(&self, sample: &Sample) -> Result<Option<Score>, RewardError> {
        Ok((!sample.completion.is_empty()).then(|| Score::new(0.5, "constant")))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_rewards_plug_in_through_the_trait() {
    let config = BusConfig::from_toml(
        "[[reward]]\nname = \"overlong\"\nkind = \"overlong\"\nmax_tokens = 10\ncache_tokens = 4\n",
    )
    .unwrap();
    let mut bus = Bus::new(&config, None).unwrap();
    bus.add("judge", 2.0, &["general"], 1_000, Arc::new(Constant))
        .unwrap();
    assert!(bus
        .add("judge", 1.0, &[], 1_000, Arc::new(Constant))
        .is_err());
    let sample = |words: usize, task: &str| Sample {
        completion: vec!["w"; words].join(" "),
        task: Some(task.into()),
        ..Default::default()
    };
    let r = bus.reward(&sample(6, "general")).await;
    assert_eq!(component(&r, "overlong").value, Some(0.0));
    assert_eq!(component(&r, "judge").value, Some(0.5));
    assert_eq!(r.total, 1.0);
    let r = bus.reward(&sample(8, "math")).await;
    assert_eq!(component(&r, "overlong").value, Some(-0.5));
    assert_eq!(component(&r, "judge").outcome, Outcome::Skipped);
    assert_eq!(bus.reward(&sample(11, "math")).await.total, -1.0);
}

#[test]
fn bad_configurations_are_rejected_with_a_reason() {
    for bad in [
        "[[reward]]\nname = \"a\"\nkind = \"nope\"\n",
        "[[reward]]\nname = \"a\"\nkind = \"language\"\n[[reward]]\nname = \"a\"\nkind = \"language\"\n",
        "[[reward]]\nname = \"a\"\nkind = \"overlong\"\nmax_tokens = 4\ncache_tokens = 8\n",
        "[[reward]]\nname = \"a\"\nkind = \"language\"\ntimeout_ms = 0\n",
        "not toml",
    ] {
        let err = BusConfig::from_toml(bad).unwrap_err();
        assert_eq!(err.kind(), judges::ErrorKind::Config, "{bad}");
    }
    let code_only = BusConfig::from_toml("[[reward]]\nname = \"c\"\nkind = \"code\"\n").unwrap();
    assert!(Bus::new(&code_only, None).is_err());
}

/// A reward that misbehaves in one way.
#[derive(Clone, Copy, Debug)]
enum Broken {
    Errors,
    /// Panics on the async runtime.
    PanicsAsync,
    /// Panics on the blocking pool.
    PanicsBlocking,
    TimesOut,
}

#[async_trait]
impl Reward for Broken {
    fn cpu_bound(&self) -> bool {
        matches!(self, Broken::PanicsBlocking)
    }

    async fn score(&self, _: &Sample) -> Result<Option<Score>, RewardError> {
        match self {
            Broken::Errors => Err(RewardError::Upstream("the judge said nothing".into())),
            Broken::PanicsAsync | Broken::PanicsBlocking => panic!("reward bug"),
            Broken::TimesOut => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(Some(Score::new(1.0, "too late")))
            }
        }
    }
}

/// The bus's failed-reward rule: a reward that errors, panics (on either pool) or times out
/// leaves the sample without a total — `reward()` is `None`, `failed` names it, the JSON total
/// is `null` — never a silent 0; a skipped reward is not a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_reward_leaves_the_sample_without_a_total() {
    let general = Sample {
        completion: "words".into(),
        task: Some("general".into()),
        ..Default::default()
    };
    for broken in [
        Broken::Errors,
        Broken::PanicsAsync,
        Broken::PanicsBlocking,
        Broken::TimesOut,
    ] {
        let mut bus = Bus::new(
            &BusConfig {
                cache_entries: 0,
                reward: Vec::new(),
            },
            None,
        )
        .unwrap();
        bus.add("constant", 1.0, &[], 1_000, Arc::new(Constant))
            .unwrap();
        bus.add("broken", 1.0, &["general"], 200, Arc::new(broken))
            .unwrap();
        let bus = Arc::new(bus);
        let results = bus
            .reward_batch(&[
                general.clone(),
                Sample {
                    task: Some("math".into()),
                    ..general.clone()
                },
            ])
            .await;
        let failed = &results[0];
        let expected = if matches!(broken, Broken::TimesOut) {
            Outcome::TimedOut
        } else {
            Outcome::Failed
        };
        assert_eq!(component(failed, "broken").outcome, expected, "{broken:?}");
        assert_eq!(component(failed, "broken").value, None);
        assert_eq!(failed.failed(), vec!["broken"], "{broken:?}");
        assert_eq!(failed.reward(), None, "{broken:?}: no total, not a zero");
        let wire = serde_json::to_value(failed).unwrap();
        assert_eq!(wire["total"], serde_json::Value::Null, "{wire}");
        assert_eq!(wire["failed"], json!(["broken"]));
        // The same reward not routed to the sample: skipped, and the total is complete.
        let skipped = &results[1];
        assert_eq!(component(skipped, "broken").outcome, Outcome::Skipped);
        assert_eq!(skipped.reward(), Some(0.5), "{broken:?}");
        let wire = serde_json::to_value(skipped).unwrap();
        assert_eq!(wire["total"], 0.5);
        assert_eq!(wire["failed"], json!([]));
    }
}
