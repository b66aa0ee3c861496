//! `r1-train recipe`: DeepSeek-R1's pipeline from one config. Stages run in order, each into its
//! own folder under the recipe's output: SFT (cold start, or SFT on rejection samples), GRPO
//! (R1-Zero, reasoning RL, all-scenario RL with a judge), rejection sampling, distillation
//! (teacher samples → SFT of a student of another size) and evaluation. A stage that finished
//! (its `stage.json` is written last) is skipped on the next run; an interrupted one resumes
//! from its newest checkpoint. The run ends with a per-stage table and `recipe.png`.

use crate::config::{
    DataConfig, GrpoConfig, ModelSource, OneOrMany, SftConfig, SourceKind, TrainConfig,
};
use crate::data::{read_jsonl, Example, ToyAnswers};
use crate::error::TrainError;
use crate::eval::{evaluate, EvalConfig, EvalItem, EvalReport};
use crate::grpo::BusRewarder;
use crate::rejection::RejectionConfig;
use crate::run::{plot_panels, Panel, Policy};
use crate::runner::{self, Resume};
use crate::weights::write_synced;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `r1-train recipe` without `--config`: the whole pipeline on a tiny model and toy tasks.
pub const DEFAULT_RECIPE: &str = include_str!("default-recipe.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeConfig {
    #[serde(default)]
    pub seed: u64,
    /// The recipe folder; each stage writes into `<output>/<stage name>/`.
    pub output: PathBuf,
    #[serde(default = "crate::config::default_checkpoint_every")]
    pub checkpoint_every: usize,
    #[serde(default = "crate::config::default_keep")]
    pub keep_checkpoints: usize,
    /// The base model (`from = "base"`).
    pub model: ModelSource,
    /// Data for stages that name none.
    #[serde(default)]
    pub data: Option<DataConfig>,
    #[serde(rename = "stage")]
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Sft,
    Grpo,
    Sample,
    Distill,
    Eval,
}

/// One step of the recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    pub name: String,
    pub kind: StageKind,
    /// The model this stage starts from (or samples, for `sample`/`distill`/`eval`): `base` or
    /// an earlier stage that trains one.
    #[serde(default = "base")]
    pub from: String,
    /// The stage's prompts; absent: the recipe's `[data]`.
    #[serde(default)]
    pub data: Option<DataConfig>,
    /// Train on the dataset an earlier `sample` stage wrote (SFT on rejection samples).
    #[serde(default)]
    pub samples: Option<String>,
    #[serde(default)]
    pub sft: Option<SftConfig>,
    #[serde(default)]
    pub grpo: Option<GrpoConfig>,
    /// Rejection sampling (for `sample`, and the teacher's samples in `distill`).
    #[serde(default)]
    pub sample: Option<RejectionConfig>,
    /// Start from this model instead of `from` (a model of another size or family, e.g. a
    /// distillation student's own base).
    #[serde(default)]
    pub model: Option<ModelSource>,
    /// `distill`: the student, of another size, trained on the teacher's samples: a model, or
    /// an earlier stage that trains one.
    #[serde(default)]
    pub student: Option<Student>,
    /// `distill`: the share of the teacher's samples held out to measure the student's loss.
    #[serde(default = "default_held_out")]
    pub held_out: f64,
    #[serde(default)]
    pub eval: Option<EvalStage>,
}

/// A distillation student: an earlier stage's model or a model of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Student {
    Stage(String),
    Model(ModelSource),
}

fn base() -> String {
    "base".into()
}
fn default_held_out() -> f64 {
    0.1
}

/// What an `eval` stage measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalStage {
    /// Models compared (`base` or stage names); absent: the stage's `from`.
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default = "default_samples")]
    pub samples: usize,
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    #[serde(default = "default_top_p")]
    pub top_p: f64,
    pub max_new_tokens: usize,
    /// The components that decide correctness (the first that scored a sample).
    #[serde(default = "default_accuracy")]
    pub accuracy: OneOrMany<String>,
    /// Held-out prompts evaluated (from the stage's data); absent: all.
    #[serde(default)]
    pub limit: Option<usize>,
    /// The reward bus; absent: its embedded default.
    #[serde(default)]
    pub rewards: Option<judges::BusConfig>,
}

fn default_samples() -> usize {
    4
}
fn default_temperature() -> f64 {
    0.6
}
fn default_top_p() -> f64 {
    0.95
}
fn default_accuracy() -> OneOrMany<String> {
    OneOrMany::Many(vec!["accuracy".into(), "code".into()])
}

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

impl RecipeConfig {
    pub fn from_toml(text: &str) -> Result<RecipeConfig, TrainError> {
        let config: RecipeConfig =
            toml::from_str(text).map_err(|e| TrainError::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Names, references and per-kind sections, checked before anything runs.
    fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: String| Err(TrainError::Config(m));
        if self.stages.is_empty() {
            return bad("the recipe has no [[stage]]".into());
        }
        let mut earlier: BTreeMap<&str, StageKind> = BTreeMap::new();
        for stage in &self.stages {
            let name = stage.name.as_str();
            if name == "base"
                || name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return bad(format!(
                    "stage name {name:?}: use letters, digits, '_' or '-' (and not `base`)"
                ));
            }
            if earlier.contains_key(name) {
                return bad(format!("stage {name:?} is defined twice"));
            }
            let trains = |kind: StageKind| {
                matches!(kind, StageKind::Sft | StageKind::Grpo | StageKind::Distill)
            };
            let model_ref = |reference: &str| -> Result<(), TrainError> {
                if reference == "base" || earlier.get(reference).is_some_and(|k| trains(*k)) {
                    Ok(())
                } else {
                    Err(TrainError::Config(format!(
                        "stage {name:?}: {reference:?} is not `base` or an earlier stage that trains a model"
                    )))
                }
            };
            model_ref(&stage.from)?;
            if stage.model.is_some() && stage.from != "base" {
                return bad(format!("stage {name:?}: set `model` or `from`, not both"));
            }
            if let Some(Student::Stage(reference)) = &stage.student {
                model_ref(reference)?;
            }
            if let Some(samples) = &stage.samples {
                if earlier.get(samples.as_str()) != Some(&StageKind::Sample) {
                    return bad(format!(
                        "stage {name:?}: samples = {samples:?} is not an earlier `sample` stage"
                    ));
                }
            }
            let need = |present: bool, section: &str| {
                if present {
                    Ok(())
                } else {
                    Err(TrainError::Config(format!(
                        "stage {name:?} ({:?}) needs [stage.{section}]",
                        stage.kind
                    )))
                }
            };
            match stage.kind {
                StageKind::Sft => need(stage.sft.is_some(), "sft")?,
                StageKind::Grpo => need(stage.grpo.is_some(), "grpo")?,
                StageKind::Sample => need(stage.sample.is_some(), "sample")?,
                StageKind::Distill => {
                    need(stage.sample.is_some(), "sample")?;
                    need(stage.sft.is_some(), "sft")?;
                    need(stage.student.is_some(), "student")?;
                    if !(stage.held_out > 0.0 && stage.held_out < 1.0) {
                        return bad(format!("stage {name:?}: held_out must be in (0, 1)"));
                    }
                }
                StageKind::Eval => {
                    need(stage.eval.is_some(), "eval")?;
                    for model in stage.eval.iter().flat_map(|e| &e.models) {
                        model_ref(model)?;
                    }
                }
            }
            if let Some(judge) = stage.grpo.as_ref().and_then(|g| g.local_judge.as_ref()) {
                let reference = judge.model.to_string_lossy();
                if self.stages.iter().any(|s| s.name == reference) {
                    model_ref(&reference)?;
                }
            }
            if stage.data.is_none() && self.data.is_none() && stage.samples.is_none() {
                return bad(format!(
                    "stage {name:?} has no [stage.data] and the recipe no [data]"
                ));
            }
            earlier.insert(name, stage.kind);
        }
        Ok(())
    }

    fn stage_dir(&self, name: &str) -> PathBuf {
        self.output.join(name)
    }

    /// The model a reference names: the base model, or an earlier stage's final weights.
    fn model(&self, reference: &str) -> ModelSource {
        if reference == "base" {
            return self.model.clone();
        }
        let dir = self.stage_dir(reference);
        let is_distill = self
            .stages
            .iter()
            .any(|s| s.name == reference && s.kind == StageKind::Distill);
        let path = if is_distill {
            dir.join("student").join("final")
        } else {
            dir.join("final")
        };
        let started_from = self
            .stages
            .iter()
            .find(|s| s.name == reference)
            .map(|s| match (&s.student, &s.model) {
                (Some(Student::Model(student)), _) => student.clone(),
                (Some(Student::Stage(from)), _) => self.model(from),
                (None, Some(model)) => model.clone(),
                (None, None) => self.model(&s.from),
            })
            .unwrap_or_else(|| self.model.clone());
        ModelSource {
            source: SourceKind::Hf,
            path: Some(path),
            tokenizer: None,
            ..started_from
        }
    }

    /// A stage as a trainer config: its model, data (its samples, when it trains on them) and
    /// sections; references to other stages resolved.
    fn train_config(&self, stage: &Stage, output: PathBuf) -> TrainConfig {
        let mut data = stage
            .data
            .clone()
            .or_else(|| self.data.clone())
            .unwrap_or(DataConfig {
                toy: None,
                train: None,
                eval: None,
                eval_size: 0,
            });
        if let Some(samples) = &stage.samples {
            data.toy = None;
            data.train = Some(self.stage_dir(samples).join("samples.jsonl"));
        }
        let mut grpo = stage.grpo.clone();
        if let Some(judge) = grpo.as_mut().and_then(|g| g.local_judge.as_mut()) {
            let reference = judge.model.to_string_lossy().to_string();
            if self.stages.iter().any(|s| s.name == reference) {
                judge.model = self.model(&reference).path.unwrap_or_default();
            }
        }
        TrainConfig {
            seed: self.seed,
            output,
            checkpoint_every: self.checkpoint_every,
            keep_checkpoints: self.keep_checkpoints,
            model: stage
                .model
                .clone()
                .unwrap_or_else(|| self.model(&stage.from)),
            data,
            sft: stage.sft.clone(),
            grpo,
            sample: stage.sample.clone(),
        }
    }
}

/// Run every stage in order (skipping complete ones); returns their reports.
pub fn run(config: &RecipeConfig) -> Result<Vec<StageReport>, TrainError> {
    std::fs::create_dir_all(&config.output)
        .map_err(|e| TrainError::Io(format!("creating {}: {e}", config.output.display())))?;
    let mut reports = Vec::new();
    for (i, stage) in config.stages.iter().enumerate() {
        let dir = config.stage_dir(&stage.name);
        let resolved = serde_json::json!({
            "stage": stage,
            "trainer": config.train_config(stage, dir.clone()),
        });
        let report_path = dir.join("stage.json");
        if let Ok(text) = std::fs::read_to_string(&report_path) {
            let mut report: StageReport = serde_json::from_str(&text)
                .map_err(|e| TrainError::Input(format!("{}: {e}", report_path.display())))?;
            if report.config != resolved {
                return Err(TrainError::Conflict(format!(
                    "stage {:?} finished with a different configuration ({}); delete that folder or choose another output",
                    stage.name,
                    dir.display()
                )));
            }
            eprintln!(
                "== stage {}/{}: {} — complete, skipped",
                i + 1,
                config.stages.len(),
                stage.name
            );
            report.skipped = true;
            report.panels = panels(config, stage);
            reports.push(report);
            continue;
        }
        eprintln!(
            "== stage {}/{}: {} ({:?} from {})",
            i + 1,
            config.stages.len(),
            stage.name,
            stage.kind,
            stage.from
        );
        let started = Instant::now();
        let mut report = match stage.kind {
            StageKind::Sft | StageKind::Grpo => train_stage(config, stage, &dir)?,
            StageKind::Sample => sample_stage(config, stage, &dir)?,
            StageKind::Distill => distill_stage(config, stage, &dir)?,
            StageKind::Eval => eval_stage(config, stage, &dir)?,
        };
        report.seconds = started.elapsed().as_secs_f64();
        report.config = resolved;
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| TrainError::Io(format!("{}: {e}", report_path.display())))?;
        // Written last and renamed into place: its presence means the stage is complete.
        let tmp = dir.join(".stage.json.tmp");
        write_synced(&tmp, json.as_bytes())?;
        std::fs::rename(&tmp, &report_path)
            .map_err(|e| TrainError::Io(format!("{}: {e}", report_path.display())))?;
        eprintln!("{}", table(std::slice::from_ref(&report)).trim_end());
        report.panels = panels(config, stage);
        reports.push(report);
    }
    let png = config.output.join("recipe.png");
    let all: Vec<Panel> = reports.iter().flat_map(|r| r.panels.clone()).collect();
    if !all.is_empty() {
        plot_panels(&all, 3, &png)?;
    }
    let summary = serde_json::to_string_pretty(&reports)
        .map_err(|e| TrainError::Io(format!("summary: {e}")))?;
    write_synced(&config.output.join("summary.json"), summary.as_bytes())?;
    Ok(reports)
}

fn new_report(stage: &Stage, steps: usize, metric: &str) -> StageReport {
    StageReport {
        name: stage.name.clone(),
        kind: stage.kind,
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

/// Means of a metric over its first and last `window` values in a run's `metrics.jsonl` (at
/// most half of them each, so the two never overlap).
fn early_late(metrics: &Path, key: &str, window: usize) -> Option<(f64, f64)> {
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
fn first_last(metrics: &Path, key: &str) -> Option<(f64, f64)> {
    early_late(metrics, key, 1)
}

/// First and last held-out mean of every reward component (`eval/<name>` in the metrics).
fn held_out_changes(metrics: &Path) -> BTreeMap<String, (f64, f64)> {
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

fn train_stage(
    config: &RecipeConfig,
    stage: &Stage,
    dir: &Path,
) -> Result<StageReport, TrainError> {
    let train_config = config.train_config(stage, dir.to_path_buf());
    train_config.validate()?;
    let with_grpo = stage.kind == StageKind::Grpo;
    let outcome = runner::train(&train_config, with_grpo, Resume::IfAny)?;
    let metrics = &outcome.metrics;
    let mut report = if with_grpo {
        let grpo = train_config.grpo.as_ref().expect("validated");
        let mut report = new_report(
            stage,
            grpo.steps,
            &format!("held-out {}", grpo.accuracy_reward),
        );
        report.reward = early_late(metrics, "reward", REWARD_WINDOW);
        (report.before, report.after) = first_last(metrics, "eval_accuracy").unzip();
        report.held_out = held_out_changes(metrics);
        report.note = report
            .held_out
            .iter()
            .map(|(name, (before, after))| format!("{name} {before:.2} → {after:.2}"))
            .collect::<Vec<_>>()
            .join(", ");
        report
    } else {
        let sft = train_config.sft.as_ref().expect("validated");
        let mut report = new_report(stage, sft.steps, "held-out loss");
        (report.before, report.after) = first_last(metrics, "eval_loss").unzip();
        report
    };
    if let Some((phase, step)) = outcome.resumed_at {
        let resumed = format!("resumed at {phase:?} step {step}");
        report.note = if report.note.is_empty() {
            resumed
        } else {
            format!("{resumed}; {}", report.note)
        };
    }
    Ok(report)
}

fn sample_stage(
    config: &RecipeConfig,
    stage: &Stage,
    dir: &Path,
) -> Result<StageReport, TrainError> {
    let train_config = config.train_config(stage, dir.to_path_buf());
    let stats = runner::sample_dataset(&train_config, &dir.join("samples.jsonl"))?;
    let mut report = new_report(stage, stats.prompts, "kept share");
    report.after = Some(stats.kept as f64 / stats.sampled.max(1) as f64);
    report.note = format!(
        "kept {} of {} samples ({} of {} prompts); dropped: {} incorrect, {} mixed language, {} long paragraph, {} code block, {} duplicate, {} over the per-prompt limit",
        stats.kept,
        stats.sampled,
        stats.prompts_kept,
        stats.prompts,
        stats.incorrect,
        stats.mixed_language,
        stats.long_paragraph,
        stats.code_block,
        stats.duplicate,
        stats.over_limit
    );
    Ok(report)
}

/// The teacher samples (rejection-filtered), the student learns them by SFT; its loss on
/// held-out teacher samples is the measure.
fn distill_stage(
    config: &RecipeConfig,
    stage: &Stage,
    dir: &Path,
) -> Result<StageReport, TrainError> {
    let teacher = config.train_config(stage, dir.to_path_buf());
    let samples_path = dir.join("samples.jsonl");
    let (train_path, held_out_path) = (dir.join("train.jsonl"), dir.join("held_out.jsonl"));
    if !held_out_path.exists() {
        let stats = runner::sample_dataset(&teacher, &samples_path)?;
        eprintln!(
            "teacher: kept {} of {} samples ({} prompts)",
            stats.kept, stats.sampled, stats.prompts
        );
        let mut samples = read_jsonl(&samples_path)?;
        if samples.len() < 2 {
            return Err(TrainError::Input(format!(
                "stage {:?}: the teacher kept {} samples; distillation needs at least 2",
                stage.name,
                samples.len()
            )));
        }
        samples.shuffle(&mut rand::rngs::StdRng::seed_from_u64(config.seed));
        let held =
            ((samples.len() as f64 * stage.held_out).round() as usize).clamp(1, samples.len() - 1);
        runner::write_jsonl(&train_path, &samples[held..])?;
        runner::write_jsonl(&held_out_path, &samples[..held])?;
    }
    let student = TrainConfig {
        output: dir.join("student"),
        model: match stage.student.as_ref().expect("validated") {
            Student::Model(model) => model.clone(),
            Student::Stage(reference) => config.model(reference),
        },
        data: DataConfig {
            toy: None,
            train: Some(train_path.clone()),
            eval: Some(held_out_path),
            eval_size: 0,
        },
        sample: None,
        grpo: None,
        ..teacher
    };
    student.validate()?;
    let outcome = runner::train(&student, false, Resume::IfAny)?;
    let sft = student.sft.as_ref().expect("validated");
    let mut report = new_report(stage, sft.steps, "student held-out loss");
    (report.before, report.after) = first_last(&outcome.metrics, "eval_loss").unzip();
    let teacher_params = parameters(&teacher.model)?;
    let student_params = parameters(&student.model)?;
    report.note = format!(
        "{} teacher samples; teacher {teacher_params} parameters, student {student_params}",
        read_jsonl(&train_path)?.len()
    );
    Ok(report)
}

fn parameters(source: &ModelSource) -> Result<usize, TrainError> {
    let policy = Policy::load(source, None, 0)?;
    let vars = policy.vars.all_vars();
    Ok(vars.iter().map(|v| v.elem_count()).sum())
}

fn eval_stage(config: &RecipeConfig, stage: &Stage, dir: &Path) -> Result<StageReport, TrainError> {
    let options = stage.eval.as_ref().expect("validated");
    let data_config = config.train_config(stage, dir.to_path_buf());
    let (_, held_out) = data_config.examples(ToyAnswers::Correct)?;
    let items: Vec<EvalItem> = held_out
        .into_iter()
        .take(options.limit.unwrap_or(usize::MAX))
        .map(|example: Example| EvalItem {
            example,
            language: None,
        })
        .collect();
    if items.is_empty() {
        return Err(TrainError::Config(format!(
            "stage {:?}: no held-out prompts to evaluate (data.eval_size or data.eval)",
            stage.name
        )));
    }
    let rewarder = BusRewarder::from_config(options.rewards.as_ref(), None)?;
    let eval_config = EvalConfig {
        samples: options.samples,
        temperature: options.temperature,
        top_p: options.top_p,
        max_new_tokens: options.max_new_tokens,
        seed: config.seed,
    };
    let accuracy: Vec<&str> = options
        .accuracy
        .as_slice()
        .iter()
        .map(String::as_str)
        .collect();
    let models = if options.models.is_empty() {
        vec![stage.from.clone()]
    } else {
        options.models.clone()
    };
    let mut results: BTreeMap<String, EvalReport> = BTreeMap::new();
    let mut text = String::new();
    for model in &models {
        let policy = Policy::load(&config.model(model), None, config.seed)?;
        let report = evaluate(&policy, &items, &rewarder, &accuracy, &eval_config)?;
        text.push_str(&format!("{model}\n{}\n", report.table()));
        results.insert(model.clone(), report);
    }
    std::fs::create_dir_all(dir).map_err(|e| TrainError::Io(format!("{}: {e}", dir.display())))?;
    let json = serde_json::to_string_pretty(&results)
        .map_err(|e| TrainError::Io(format!("eval.json: {e}")))?;
    write_synced(&dir.join("eval.json"), json.as_bytes())?;
    write_synced(&dir.join("eval.txt"), text.as_bytes())?;
    eprint!("{text}");
    let pass = |model: &str| results.get(model).map(|r| r.overall.pass_at_1);
    let mut report = new_report(stage, items.len(), "pass@1");
    report.before = pass(&models[0]);
    report.after = pass(&models[models.len() - 1]);
    report.note = models
        .iter()
        .map(|m| {
            let row = &results[m].overall;
            format!("{m} {:.3}/{:.3}", row.pass_at_1, row.cons_at_k)
        })
        .collect::<Vec<_>>()
        .join(", ")
        + &format!(" (pass@1/cons@{})", options.samples);
    Ok(report)
}

/// The curves a stage contributes to `recipe.png`.
fn panels(config: &RecipeConfig, stage: &Stage) -> Vec<Panel> {
    let dir = config.stage_dir(&stage.name);
    let panel = |title: String, metrics: PathBuf, series: &[&str]| Panel {
        title,
        metrics,
        series: series.iter().map(|s| s.to_string()).collect(),
    };
    match stage.kind {
        StageKind::Sft => vec![panel(
            format!("{}: SFT loss", stage.name),
            dir.join("metrics.jsonl"),
            &["loss", "eval_loss"],
        )],
        StageKind::Grpo => {
            let mut series = vec!["reward".to_string()];
            if let Some(grpo) = &stage.grpo {
                let bus = grpo
                    .rewards
                    .clone()
                    .unwrap_or_else(judges::BusConfig::embedded_default);
                series.extend(bus.reward.iter().map(|r| format!("reward/{}", r.name)));
                series.extend(
                    grpo.local_judge
                        .iter()
                        .map(|j| format!("reward/{}", j.name)),
                );
            }
            series.push("eval_accuracy".into());
            vec![Panel {
                title: format!("{}: GRPO rewards", stage.name),
                metrics: dir.join("metrics.jsonl"),
                series,
            }]
        }
        StageKind::Distill => vec![panel(
            format!("{}: student loss", stage.name),
            dir.join("student").join("metrics.jsonl"),
            &["loss", "eval_loss"],
        )],
        StageKind::Sample | StageKind::Eval => Vec::new(),
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
