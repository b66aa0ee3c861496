//! What a stage did (`stage.json`), the figures it takes from its run's metrics, its panels in
//! `recipe.png`, and the per-stage table.

use crate::pipeline::recipe::config::{RecipeConfig, Stage, StageKind};
use crate::train::plot::Panel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Steps averaged at each end of an RL stage for its reward change (one step's reward is
/// noisy).
pub const REWARD_WINDOW: usize = 5;

/// What a stage did: written as `stage.json` when it completes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    pub name: String,
    pub kind: StageKind,
    /// Optimizer steps (training stages) or prompts (sampling, evaluation).
    pub steps: usize,
    /// Wall time of the run that completed the stage.
    pub seconds: f64,
    /// Mean rollout reward over the first and the last [`REWARD_WINDOW`] steps (RL stages).
    pub reward: Option<(f64, f64)>,
    /// The stage's own measure, before and after (`metric` names it).
    pub metric: String,
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// RL stages: every reward component's held-out mean before and after, so a task the
    /// stage's measure does not cover (code beside math accuracy) is seen if it falls.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub held_out: BTreeMap<String, (f64, f64)>,
    pub note: String,
    /// The stage as it ran (its config with references resolved): a changed stage is not
    /// mistaken for a finished one.
    pub config: serde_json::Value,
    /// Filled in when this run found the stage already complete.
    #[serde(skip)]
    pub skipped: bool,
    /// Panels this stage contributes to `recipe.png`.
    #[serde(skip)]
    pub panels: Vec<Panel>,
}

impl StageReport {
    pub fn new(stage: &Stage, steps: usize, metric: &str) -> StageReport {
        StageReport {
            name: stage.name().to_string(),
            kind: stage.kind(),
            steps,
            seconds: 0.0,
            reward: None,
            metric: metric.into(),
            before: None,
            after: None,
            held_out: BTreeMap::new(),
            note: String::new(),
            config: serde_json::Value::Null,
            skipped: false,
            panels: Vec::new(),
        }
    }
}

/// Means of a metric over its first and last `window` values in a run's `metrics.jsonl` (at
/// most half of them each, so the two never overlap).
pub fn early_late(metrics: &Path, key: &str, window: usize) -> Option<(f64, f64)> {
    let text = std::fs::read_to_string(metrics).ok()?;
    let values: Vec<f64> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v[key].as_f64())
        .collect();
    let n = window.min(values.len() / 2).max(1);
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    (!values.is_empty()).then(|| (mean(&values[..n]), mean(&values[values.len() - n..])))
}

/// First and last values of a metric (measures taken once before and once after).
pub fn first_last(metrics: &Path, key: &str) -> Option<(f64, f64)> {
    early_late(metrics, key, 1)
}

/// First and last held-out mean of every reward component (`eval/<name>` in the metrics).
pub fn held_out_changes(metrics: &Path) -> BTreeMap<String, (f64, f64)> {
    let names: std::collections::BTreeSet<String> = std::fs::read_to_string(metrics)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()))
        .flatten()
        .filter_map(|k| k.strip_prefix("eval/").map(str::to_string))
        .collect();
    names
        .into_iter()
        .filter_map(|name| Some((name.clone(), first_last(metrics, &format!("eval/{name}"))?)))
        .collect()
}

/// The curves a stage contributes to `recipe.png`.
pub fn panels(config: &RecipeConfig, stage: &Stage) -> Vec<Panel> {
    let dir = config.stage_dir(stage.name());
    let panel = |title: String, metrics: PathBuf, series: &[&str]| Panel {
        title,
        metrics,
        series: series.iter().map(|s| s.to_string()).collect(),
    };
    let name = stage.name();
    match stage {
        Stage::Sft(_) => vec![panel(
            format!("{name}: SFT loss"),
            dir.join("metrics.jsonl"),
            &["loss", "eval_loss"],
        )],
        Stage::Grpo(s) => {
            let mut series = vec!["reward".to_string()];
            let bus = s
                .grpo
                .rewards
                .clone()
                .unwrap_or_else(judges::BusConfig::embedded_default);
            series.extend(bus.reward.iter().map(|r| format!("reward/{}", r.name)));
            series.extend(
                s.grpo
                    .local_judge
                    .iter()
                    .map(|j| format!("reward/{}", j.name)),
            );
            series.push("eval_accuracy".into());
            vec![Panel {
                title: format!("{name}: GRPO rewards"),
                metrics: dir.join("metrics.jsonl"),
                series,
            }]
        }
        Stage::Distill(_) => vec![panel(
            format!("{name}: student loss"),
            dir.join("student").join("metrics.jsonl"),
            &["loss", "eval_loss"],
        )],
        Stage::Sample(_) | Stage::Eval(_) => Vec::new(),
    }
}

/// The run summary: one row per stage.
pub fn table(reports: &[StageReport]) -> String {
    let pair = |v: Option<(f64, f64)>| v.map_or("-".into(), |(a, b)| format!("{a:.3} → {b:.3}"));
    let one = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.3}"));
    let mut out = format!(
        "{:<16} {:<7} {:>6} {:>8} {:<16} {:<22} {:<17} {}\n",
        "stage", "kind", "steps", "time", "reward (5 steps)", "measure", "before → after", "notes"
    );
    for r in reports {
        let kind = serde_json::to_value(r.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        // A stage finished by an earlier run shows that run's time, starred.
        let time = format!("{:.0}s{}", r.seconds, if r.skipped { "*" } else { "" });
        let change = match (r.before, r.after) {
            (None, None) => "-".to_string(),
            (b, a) => format!("{} → {}", one(b), one(a)),
        };
        out.push_str(&format!(
            "{:<16} {:<7} {:>6} {:>8} {:<16} {:<22} {:<17} {}\n",
            r.name,
            kind,
            r.steps,
            time,
            pair(r.reward),
            r.metric,
            change,
            r.note
        ));
    }
    out
}
