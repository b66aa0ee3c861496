//! `r1-train sft|grpo|sample` configuration (TOML): one run's model, data and loop sections, with
//! embedded defaults that train a tiny model on a toy task.

use crate::error::TrainError;
use crate::model::{ModelSource, SourceKind};
use crate::pipeline::rejection::RejectionConfig;
use crate::train::data::{toy_mix, DataConfig, Example};
use crate::train::grpo::GrpoConfig;
use crate::train::sft::SftConfig;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `r1-train sft` without `--config`: a tiny model learns to sort three digits.
pub const DEFAULT_SFT: &str = include_str!("default-sft.toml");
/// `r1-train grpo` without `--config`: a format-only cold start, then GRPO on the real reward bus.
pub const DEFAULT_GRPO: &str = include_str!("default-grpo.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    #[serde(default)]
    pub seed: u64,
    /// Run folder: checkpoints, metrics.jsonl, curves.png, final/.
    pub output: PathBuf,
    /// Save a checkpoint every this many steps (0: only the final model).
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: usize,
    /// Checkpoints kept (older ones are deleted).
    #[serde(default = "default_keep")]
    pub keep_checkpoints: usize,
    pub model: ModelSource,
    pub data: DataConfig,
    /// Supervised fine-tuning (for `grpo`: a cold start run first, when present).
    #[serde(default)]
    pub sft: Option<SftConfig>,
    #[serde(default)]
    pub grpo: Option<GrpoConfig>,
    /// Rejection sampling (`r1-train sample`).
    #[serde(default)]
    pub sample: Option<RejectionConfig>,
}

pub(crate) fn default_checkpoint_every() -> usize {
    50
}
pub(crate) fn default_keep() -> usize {
    2
}

impl TrainConfig {
    pub fn from_toml(text: &str) -> Result<TrainConfig, TrainError> {
        let config: TrainConfig = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// The config in a TOML file.
    pub fn from_file(path: &std::path::Path) -> Result<TrainConfig, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        TrainConfig::from_toml(&text)
    }

    /// Train and held-out examples (toy completions carry the right answers).
    pub fn examples(&self) -> Result<(Vec<Example>, Vec<Example>), TrainError> {
        self.data
            .examples(crate::train::data::ToyAnswers::Correct, self.seed)
    }

    /// The SFT phase's data: the run's data with the phase's toy answers, plus the training part
    /// of `toy_extra`.
    pub fn sft_examples(
        &self,
        sft: &SftConfig,
    ) -> Result<(Vec<Example>, Vec<Example>), TrainError> {
        let (mut train, eval) = self.data.examples(sft.toy_answers, self.seed)?;
        if let Some(extra) = &sft.toy_extra {
            train.extend(
                toy_mix(
                    extra.as_slice(),
                    sft.toy_extra_answers,
                    self.data.eval_size,
                    sft.toy_extra_limit,
                    self.seed,
                )?
                .0,
            );
        }
        Ok((train, eval))
    }

    pub fn validate(&self) -> Result<(), TrainError> {
        if self.model.source != SourceKind::Toy && self.model.path.is_none() {
            return Err(TrainError::Config(
                "model.path is needed for hf and gguf sources".into(),
            ));
        }
        self.data.validate()?;
        if let Some(sft) = &self.sft {
            sft.validate()?;
        }
        if let Some(grpo) = &self.grpo {
            grpo.validate()?;
        }
        Ok(())
    }
}
