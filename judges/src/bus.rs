//! The bus: every configured reward on every sample, concurrently, with weights, routing by task,
//! per-reward timeouts and a content-hash cache.
//!
//! # The failed-reward rule
//!
//! A reward that applies to a sample but yields no value — it returned an error, panicked or
//! passed its timeout — makes the sample **failed**: its component says `failed` or `timed_out`
//! (with the reason), [`Rewarded::failed`] names it, [`Rewarded::reward`] is `None`, and on the
//! wire the sample's `total` is `null` beside `"failed": [names]`. A failure is never scored as
//! zero: "the reward said 0" and "the reward said nothing" stay apart, and the caller decides
//! what a sample without a reward is worth (drop it, retry it). A reward that does not apply
//! (`skipped`) is not a failure: the total simply leaves it out.

use crate::config::{BusConfig, RewardKind};
use crate::error::{panic_message, RewardError};
use crate::generative::{GenerativeJudge, OpenAiChat};
use crate::reward::{
    CodeAccuracy, FormatReward, LanguageReward, MathAccuracy, OverlongPenalty, Reward, Sample,
    Score,
};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What happened to one reward on one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Scored,
    /// The reward does not apply (wrong task, no ground truth, no words).
    Skipped,
    TimedOut,
    Failed,
}

impl Outcome {
    /// The reward applied but gave no value (failed or timed out): the sample has no total.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::TimedOut | Outcome::Failed)
    }
}

/// One named part of a sample's reward.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    pub name: String,
    pub weight: f64,
    pub outcome: Outcome,
    /// The unweighted value; `None` unless scored.
    pub value: Option<f64>,
    pub reason: String,
    /// Time this reward took (0 when skipped or cached).
    pub millis: f64,
}

/// A sample's total and its breakdown.
///
/// Serialized as `{"total": number | null, "failed": [names], "components": [...]}`: `total`
/// is `null` exactly when `failed` is not empty (see the [module's rule](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct Rewarded {
    /// The weighted sum of the scored components. Partial when a component failed: read
    /// [`Rewarded::reward`] (or check [`Rewarded::failed`]) before using it as the sample's reward.
    pub total: f64,
    pub components: Vec<Component>,
}

impl Rewarded {
    /// The sample's reward: the total, or `None` when an applicable reward failed or timed out.
    pub fn reward(&self) -> Option<f64> {
        self.is_complete().then_some(self.total)
    }

    /// Names of the components that failed or timed out (empty when the total is complete).
    pub fn failed(&self) -> Vec<&str> {
        self.components
            .iter()
            .filter(|c| c.outcome.is_failure())
            .map(|c| c.name.as_str())
            .collect()
    }

    /// No applicable reward failed or timed out.
    pub fn is_complete(&self) -> bool {
        !self.components.iter().any(|c| c.outcome.is_failure())
    }
}

impl Serialize for Rewarded {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("Rewarded", 3)?;
        out.serialize_field("total", &self.reward())?;
        out.serialize_field("failed", &self.failed())?;
        out.serialize_field("components", &self.components)?;
        out.end()
    }
}

struct Entry {
    name: String,
    weight: f64,
    tasks: Vec<String>,
    timeout_ms: u64,
    /// Identifies the reward's configuration in cache keys.
    identity: Vec<u8>,
    reward: Arc<dyn Reward>,
}

type Cache = Mutex<HashMap<[u8; 32], Option<Score>>>;

/// The reward bus. Share it behind an `Arc`; all methods take `&self`.
///
/// Failed rewards follow one rule, applied here and nowhere else: a reward that applies to a
/// sample and errors, panics or times out leaves the sample without a total
/// ([`Rewarded::reward`] is `None`, the JSON `total` is `null`, `failed` names the components);
/// it is never counted as zero. See the [module documentation](self).
pub struct Bus {
    entries: Vec<Entry>,
    cache: Arc<Cache>,
    cache_entries: usize,
}

impl Bus {
    /// Build the configured rewards. A `code` reward needs `sandbox`.
    pub fn new(
        config: &BusConfig,
        sandbox: Option<Arc<sandbox::Sandbox>>,
    ) -> Result<Bus, RewardError> {
        let mut entries = Vec::new();
        for spec in &config.reward {
            let reward: Arc<dyn Reward> = match &spec.kind {
                RewardKind::Math { strict } => Arc::new(MathAccuracy {
                    config: if *strict {
                        verifiers::Config::default()
                    } else {
                        verifiers::Config::lenient()
                    },
                }),
                RewardKind::Code { mode } => Arc::new(CodeAccuracy {
                    sandbox: sandbox.clone().ok_or_else(|| {
                        RewardError::Config(format!(
                            "reward {:?} needs the code sandbox",
                            spec.name
                        ))
                    })?,
                    mode: *mode,
                }),
                RewardKind::Format { style } => Arc::new(FormatReward {
                    style: style.clone(),
                }),
                RewardKind::Language => Arc::new(LanguageReward),
                RewardKind::Overlong {
                    max_tokens,
                    cache_tokens,
                } => Arc::new(OverlongPenalty {
                    max_tokens: *max_tokens,
                    cache_tokens: *cache_tokens,
                }),
                RewardKind::Judge { judge, server } => Arc::new(GenerativeJudge::new(
                    Arc::new(OpenAiChat::new(server)?),
                    judge.clone(),
                )?),
            };
            entries.push(Entry {
                name: spec.name.clone(),
                weight: spec.weight,
                tasks: spec.tasks.clone(),
                timeout_ms: spec.timeout_ms,
                identity: serde_json::to_vec(spec).unwrap_or_default(),
                reward,
            });
        }
        Ok(Bus {
            entries,
            cache: Arc::new(Mutex::new(HashMap::new())),
            cache_entries: config.cache_entries,
        })
    }

    /// Names of the configured rewards, in order.
    pub fn reward_names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }

    /// Add a reward defined outside this crate (a trainer's in-process judge, say).
    pub fn add(
        &mut self,
        name: &str,
        weight: f64,
        tasks: &[&str],
        timeout_ms: u64,
        reward: Arc<dyn Reward>,
    ) -> Result<(), RewardError> {
        if self.entries.iter().any(|e| e.name == name) {
            return Err(RewardError::Config(format!(
                "reward {name:?} is defined twice"
            )));
        }
        if !weight.is_finite() || timeout_ms == 0 {
            return Err(RewardError::Config(format!(
                "reward {name:?}: weight must be finite and timeout_ms > 0"
            )));
        }
        self.entries.push(Entry {
            name: name.to_owned(),
            weight,
            tasks: tasks.iter().map(|t| t.to_string()).collect(),
            timeout_ms,
            // Custom rewards are not cached: their identity is not known to the bus.
            identity: Vec::new(),
            reward,
        });
        Ok(())
    }

    /// Reward one sample: all its rewards run concurrently.
    pub async fn reward(&self, sample: &Sample) -> Rewarded {
        let sample = Arc::new(sample.clone());
        let mut tasks = tokio::task::JoinSet::new();
        let mut task_index = HashMap::new();
        for (index, entry) in self.entries.iter().enumerate() {
            if !applies(&entry.tasks, &sample) {
                continue;
            }
            let reward = entry.reward.clone();
            let sample = sample.clone();
            let cache = self.cache.clone();
            let cached = !entry.identity.is_empty() && self.cache_entries > 0;
            let key = cached.then(|| cache_key(&entry.identity, &sample));
            let capacity = self.cache_entries;
            let timeout = Duration::from_millis(entry.timeout_ms);
            let name = entry.name.clone();
            let handle = tasks.spawn(async move {
                let hit = key.and_then(|k| cache.lock().ok().and_then(|c| c.get(&k).cloned()));
                if let Some(hit) = hit {
                    return (index, Ok(hit), 0.0);
                }
                let started = std::time::Instant::now();
                let result = run_one(&name, reward, sample, timeout).await;
                let millis = started.elapsed().as_secs_f64() * 1e3;
                if let (Some(key), Ok(score)) = (key, &result) {
                    if let Ok(mut cache) = cache.lock() {
                        if cache.len() >= capacity {
                            cache.clear();
                        }
                        cache.insert(key, score.clone());
                    }
                }
                (index, result, millis)
            });
            task_index.insert(handle.id(), index);
        }
        let mut results: HashMap<usize, (Result<Option<Score>, RewardError>, f64)> = HashMap::new();
        while let Some(joined) = tasks.join_next_with_id().await {
            match joined {
                Ok((_, (index, result, millis))) => {
                    results.insert(index, (result, millis));
                }
                // A reward that panicked on the async runtime (not the blocking pool).
                Err(err) => {
                    if let Some(&index) = task_index.get(&err.id()) {
                        if err.is_panic() {
                            log_panic(&self.entries[index].name, err.into_panic().as_ref());
                        }
                        results.insert(index, (Err(RewardError::Panicked), 0.0));
                    }
                }
            }
        }
        let mut total = 0.0;
        let components = self
            .entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                let (result, millis) = match results.remove(&index) {
                    Some((result, millis)) => (Some(result), millis),
                    None => (None, 0.0),
                };
                let (outcome, value, reason) = match result {
                    None if !applies(&entry.tasks, &sample) => {
                        (Outcome::Skipped, None, "not routed to this task".to_owned())
                    }
                    None => (Outcome::Failed, None, "the reward task was lost".to_owned()),
                    Some(Ok(None)) => (Outcome::Skipped, None, "does not apply".to_owned()),
                    Some(Ok(Some(score))) => {
                        total += entry.weight * score.value;
                        (Outcome::Scored, Some(score.value), score.reason)
                    }
                    Some(Err(RewardError::Timeout(ms))) => {
                        (Outcome::TimedOut, None, format!("no result within {ms} ms"))
                    }
                    Some(Err(err)) => (Outcome::Failed, None, err.to_string()),
                };
                Component {
                    name: entry.name.clone(),
                    weight: entry.weight,
                    outcome,
                    value,
                    reason,
                    millis,
                }
            })
            .collect();
        Rewarded { total, components }
    }

    /// Reward a batch; samples run concurrently, results come back in input order.
    pub async fn reward_batch(self: &Arc<Self>, samples: &[Sample]) -> Vec<Rewarded> {
        let mut tasks = tokio::task::JoinSet::new();
        for (index, sample) in samples.iter().cloned().enumerate() {
            let bus = self.clone();
            tasks.spawn(async move { (index, bus.reward(&sample).await) });
        }
        let mut out: Vec<Option<Rewarded>> = vec![None; samples.len()];
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((index, rewarded)) => out[index] = Some(rewarded),
                Err(err) if err.is_panic() => log_panic("the bus", err.into_panic().as_ref()),
                Err(_) => {}
            }
        }
        out.into_iter()
            .zip(samples)
            .map(|(rewarded, sample)| rewarded.unwrap_or_else(|| self.all_failed(sample)))
            .collect()
    }

    /// A sample whose whole reward task was lost (a panic in the bus itself): every applicable
    /// reward failed, so the sample has no total.
    fn all_failed(&self, sample: &Sample) -> Rewarded {
        let components = self
            .entries
            .iter()
            .map(|entry| {
                let (outcome, reason) = if applies(&entry.tasks, sample) {
                    (Outcome::Failed, "the sample's reward task panicked")
                } else {
                    (Outcome::Skipped, "not routed to this task")
                };
                Component {
                    name: entry.name.clone(),
                    weight: entry.weight,
                    outcome,
                    value: None,
                    reason: reason.to_owned(),
                    millis: 0.0,
                }
            })
            .collect();
        Rewarded {
            total: 0.0,
            components,
        }
    }
}

fn applies(tasks: &[String], sample: &Sample) -> bool {
    tasks.is_empty()
        || sample
            .task
            .as_deref()
            .is_some_and(|task| tasks.iter().any(|t| t == task))
}

async fn run_one(
    name: &str,
    reward: Arc<dyn Reward>,
    sample: Arc<Sample>,
    timeout: Duration,
) -> Result<Option<Score>, RewardError> {
    let millis = timeout.as_millis() as u64;
    if reward.cpu_bound() {
        // Off the async runtime; a timed-out computation finishes in the background, ignored.
        // (Bounding this with a per-core semaphore measured ~30 % slower at batch 256.)
        let handle = tokio::runtime::Handle::current();
        let work = tokio::task::spawn_blocking(move || handle.block_on(reward.score(&sample)));
        match tokio::time::timeout(timeout, work).await {
            Ok(Ok(result)) => result,
            Ok(Err(err)) => {
                if err.is_panic() {
                    log_panic(name, err.into_panic().as_ref());
                }
                Err(RewardError::Panicked)
            }
            Err(_) => Err(RewardError::Timeout(millis)),
        }
    } else {
        tokio::time::timeout(timeout, reward.score(&sample))
            .await
            .unwrap_or(Err(RewardError::Timeout(millis)))
    }
}

/// A panic is a bug: its message goes to the log (the breakdown only says `failed`).
fn log_panic(reward: &str, payload: &(dyn std::any::Any + Send)) {
    let cause = panic_message(payload);
    tracing::error!(reward, panic = %cause, "a reward panicked");
}

/// Same reward configuration + same sample content → same key.
fn cache_key(identity: &[u8], sample: &Sample) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(identity);
    hasher.update(serde_json::to_vec(sample).unwrap_or_default());
    hasher.finalize().into()
}
