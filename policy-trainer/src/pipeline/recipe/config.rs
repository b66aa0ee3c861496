//! The recipe's schema: the base model, default data and the stages, each a variant of [`Stage`]
//! with exactly the sections its kind needs (a missing or stray section is a parse error); and
//! the references between stages, checked before anything runs.

use crate::config_value::OneOrMany;
use crate::error::TrainError;
use crate::model::{ModelSource, SourceKind};
use crate::pipeline::config::{default_checkpoint_every, default_keep, TrainConfig};
use crate::pipeline::rejection::RejectionConfig;
use crate::train::data::DataConfig;
use crate::train::grpo::GrpoConfig;
use crate::train::sft::SftConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `r1-train recipe` without `--config`: the whole pipeline on a tiny model and toy tasks.
pub const DEFAULT_RECIPE: &str = include_str!("default-recipe.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipeConfig {
    #[serde(default)]
    pub seed: u64,
    /// The recipe folder; each stage writes into `<output>/<stage name>/`.
    pub output: PathBuf,
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: usize,
    #[serde(default = "default_keep")]
    pub keep_checkpoints: usize,
    /// The base model (`from = "base"`).
    pub model: ModelSource,
    /// Data for stages that name none.
    #[serde(default)]
    pub data: Option<DataConfig>,
    #[serde(rename = "stage")]
    pub stages: Vec<Stage>,
}

/// The kinds of stage, for reports.
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
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stage {
    /// Supervised fine-tuning (cold start, or SFT on an earlier stage's rejection samples).
    Sft(SftStage),
    /// GRPO (R1-Zero, reasoning RL, all-scenario RL with a judge).
    Grpo(GrpoStage),
    /// Rejection sampling into a dataset.
    Sample(SampleStage),
    /// Teacher samples → SFT of a student of another size.
    Distill(DistillStage),
    /// pass@1, cons@k and language consistency of several models.
    Eval(EvalStage),
}

/// `from`: the model a stage starts from (or samples, or evaluates): `base` or an earlier stage
/// that trains one.
fn base() -> String {
    "base".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftStage {
    pub name: String,
    #[serde(default = "base")]
    pub from: String,
    /// The stage's prompts; absent: the recipe's `[data]`.
    #[serde(default)]
    pub data: Option<DataConfig>,
    /// Start from this model instead of `from` (e.g. a distillation student's own base).
    #[serde(default)]
    pub model: Option<ModelSource>,
    /// Train on the dataset an earlier `sample` stage wrote.
    #[serde(default)]
    pub samples: Option<String>,
    pub sft: SftConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpoStage {
    pub name: String,
    #[serde(default = "base")]
    pub from: String,
    #[serde(default)]
    pub data: Option<DataConfig>,
    #[serde(default)]
    pub model: Option<ModelSource>,
    pub grpo: GrpoConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleStage {
    pub name: String,
    #[serde(default = "base")]
    pub from: String,
    #[serde(default)]
    pub data: Option<DataConfig>,
    #[serde(default)]
    pub model: Option<ModelSource>,
    pub sample: RejectionConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistillStage {
    pub name: String,
    /// The teacher.
    #[serde(default = "base")]
    pub from: String,
    #[serde(default)]
    pub data: Option<DataConfig>,
    /// The teacher's samples.
    pub sample: RejectionConfig,
    /// The student's SFT.
    pub sft: SftConfig,
    /// The student, of another size: a model, or an earlier stage that trains one.
    pub student: Student,
    /// The share of the teacher's samples held out to measure the student's loss.
    #[serde(default = "default_held_out")]
    pub held_out: f64,
}

fn default_held_out() -> f64 {
    0.1
}

/// A distillation student: an earlier stage's model or a model of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Student {
    Stage(String),
    Model(ModelSource),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalStage {
    pub name: String,
    /// The model evaluated when `eval.models` is empty.
    #[serde(default = "base")]
    pub from: String,
    #[serde(default)]
    pub data: Option<DataConfig>,
    pub eval: EvalOptions,
}

/// What an `eval` stage measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalOptions {
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

impl Stage {
    pub fn name(&self) -> &str {
        match self {
            Stage::Sft(s) => &s.name,
            Stage::Grpo(s) => &s.name,
            Stage::Sample(s) => &s.name,
            Stage::Distill(s) => &s.name,
            Stage::Eval(s) => &s.name,
        }
    }

    pub fn from(&self) -> &str {
        match self {
            Stage::Sft(s) => &s.from,
            Stage::Grpo(s) => &s.from,
            Stage::Sample(s) => &s.from,
            Stage::Distill(s) => &s.from,
            Stage::Eval(s) => &s.from,
        }
    }

    pub fn data(&self) -> Option<&DataConfig> {
        match self {
            Stage::Sft(s) => s.data.as_ref(),
            Stage::Grpo(s) => s.data.as_ref(),
            Stage::Sample(s) => s.data.as_ref(),
            Stage::Distill(s) => s.data.as_ref(),
            Stage::Eval(s) => s.data.as_ref(),
        }
    }

    /// The model the stage names instead of `from`.
    pub fn model(&self) -> Option<&ModelSource> {
        match self {
            Stage::Sft(s) => s.model.as_ref(),
            Stage::Grpo(s) => s.model.as_ref(),
            Stage::Sample(s) => s.model.as_ref(),
            Stage::Distill(_) | Stage::Eval(_) => None,
        }
    }

    pub fn kind(&self) -> StageKind {
        match self {
            Stage::Sft(_) => StageKind::Sft,
            Stage::Grpo(_) => StageKind::Grpo,
            Stage::Sample(_) => StageKind::Sample,
            Stage::Distill(_) => StageKind::Distill,
            Stage::Eval(_) => StageKind::Eval,
        }
    }

    /// Whether the stage produces a model later stages may start from.
    fn trains(&self) -> bool {
        matches!(self, Stage::Sft(_) | Stage::Grpo(_) | Stage::Distill(_))
    }
}

impl RecipeConfig {
    pub fn from_toml(text: &str) -> Result<RecipeConfig, TrainError> {
        let config: RecipeConfig = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// The recipe in a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<RecipeConfig, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        RecipeConfig::from_toml(&text)
    }

    /// Names and references between stages, checked before anything runs.
    fn validate(&self) -> Result<(), TrainError> {
        if self.stages.is_empty() {
            return Err(TrainError::Config("the recipe has no [[stage]]".into()));
        }
        let mut earlier: BTreeMap<&str, &Stage> = BTreeMap::new();
        for stage in &self.stages {
            let name = stage.name();
            check_name(name)?;
            if earlier.contains_key(name) {
                return Err(TrainError::Config(format!(
                    "stage {name:?} is defined twice"
                )));
            }
            let references = References {
                earlier: &earlier,
                stage: name,
            };
            references.check_stage(stage, self)?;
            if stage.data().is_none() && self.data.is_none() && !has_samples(stage) {
                return Err(TrainError::Config(format!(
                    "stage {name:?} has no [stage.data] and the recipe no [data]"
                )));
            }
            earlier.insert(name, stage);
        }
        Ok(())
    }

    pub fn stage_dir(&self, name: &str) -> PathBuf {
        self.output.join(name)
    }

    /// The model a reference names: the base model, or an earlier stage's final weights.
    pub fn model(&self, reference: &str) -> ModelSource {
        let Some(stage) = self.stages.iter().find(|s| s.name() == reference) else {
            return self.model.clone();
        };
        let dir = self.stage_dir(reference);
        let (path, started_from) = match stage {
            Stage::Distill(s) => (
                dir.join("student").join("final"),
                match &s.student {
                    Student::Model(student) => student.clone(),
                    Student::Stage(from) => self.model(from),
                },
            ),
            _ => (
                dir.join("final"),
                stage
                    .model()
                    .cloned()
                    .unwrap_or_else(|| self.model(stage.from())),
            ),
        };
        ModelSource {
            source: SourceKind::Hf,
            path: Some(path),
            tokenizer: None,
            ..started_from
        }
    }

    /// A stage as a trainer config: its model, data (its samples, when it trains on them) and
    /// sections; references to other stages resolved.
    pub fn train_config(&self, stage: &Stage, output: PathBuf) -> TrainConfig {
        let mut data = stage
            .data()
            .or(self.data.as_ref())
            .cloned()
            .unwrap_or(DataConfig {
                toy: None,
                train: None,
                eval: None,
                eval_size: 0,
            });
        if let Stage::Sft(SftStage {
            samples: Some(samples),
            ..
        }) = stage
        {
            data.toy = None;
            data.train = Some(self.stage_dir(samples).join("samples.jsonl"));
        }
        let (sft, grpo, sample) = match stage {
            Stage::Sft(s) => (Some(s.sft.clone()), None, None),
            Stage::Grpo(s) => (None, Some(self.resolve_judge(&s.grpo)), None),
            Stage::Sample(s) => (None, None, Some(s.sample.clone())),
            Stage::Distill(s) => (Some(s.sft.clone()), None, Some(s.sample.clone())),
            Stage::Eval(_) => (None, None, None),
        };
        TrainConfig {
            seed: self.seed,
            output,
            checkpoint_every: self.checkpoint_every,
            keep_checkpoints: self.keep_checkpoints,
            model: stage
                .model()
                .cloned()
                .unwrap_or_else(|| self.model(stage.from())),
            data,
            sft,
            grpo,
            sample,
        }
    }

    /// A local judge that names a stage gets that stage's final weights.
    fn resolve_judge(&self, grpo: &GrpoConfig) -> GrpoConfig {
        let mut grpo = grpo.clone();
        if let Some(judge) = grpo.local_judge.as_mut() {
            let reference = judge.model.to_string_lossy().to_string();
            if self.stages.iter().any(|s| s.name() == reference) {
                judge.model = self.model(&reference).path.unwrap_or_default();
            }
        }
        grpo
    }
}

fn has_samples(stage: &Stage) -> bool {
    matches!(
        stage,
        Stage::Sft(SftStage {
            samples: Some(_),
            ..
        })
    )
}

fn check_name(name: &str) -> Result<(), TrainError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if name == "base" || name.is_empty() || !name.chars().all(allowed) {
        return Err(TrainError::Config(format!(
            "stage name {name:?}: use letters, digits, '_' or '-' (and not `base`)"
        )));
    }
    Ok(())
}

/// The stages before one, to check what it refers to.
struct References<'a> {
    earlier: &'a BTreeMap<&'a str, &'a Stage>,
    stage: &'a str,
}

impl References<'_> {
    /// `base`, or an earlier stage that trains a model.
    fn model(&self, reference: &str) -> Result<(), TrainError> {
        if reference == "base" || self.earlier.get(reference).is_some_and(|s| s.trains()) {
            return Ok(());
        }
        Err(TrainError::Config(format!(
            "stage {:?}: {reference:?} is not `base` or an earlier stage that trains a model",
            self.stage
        )))
    }

    fn check_stage(&self, stage: &Stage, recipe: &RecipeConfig) -> Result<(), TrainError> {
        self.model(stage.from())?;
        if stage.model().is_some() && stage.from() != "base" {
            return Err(TrainError::Config(format!(
                "stage {:?}: set `model` or `from`, not both",
                self.stage
            )));
        }
        match stage {
            Stage::Sft(SftStage {
                samples: Some(samples),
                ..
            }) if !matches!(self.earlier.get(samples.as_str()), Some(Stage::Sample(_))) => {
                return Err(TrainError::Config(format!(
                    "stage {:?}: samples = {samples:?} is not an earlier `sample` stage",
                    self.stage
                )));
            }
            Stage::Grpo(s) => {
                if let Some(judge) = &s.grpo.local_judge {
                    let reference = judge.model.to_string_lossy();
                    if recipe.stages.iter().any(|s| s.name() == reference) {
                        self.model(&reference)?;
                    }
                }
            }
            Stage::Distill(s) => {
                if let Student::Stage(reference) = &s.student {
                    self.model(reference)?;
                }
                if !(s.held_out > 0.0 && s.held_out < 1.0) {
                    return Err(TrainError::Config(format!(
                        "stage {:?}: held_out must be in (0, 1)",
                        self.stage
                    )));
                }
            }
            Stage::Eval(s) => {
                for model in &s.eval.models {
                    self.model(model)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}
