//! `r1-train` configuration (TOML), with embedded defaults that train a tiny model on a toy task.

use crate::data::{read_jsonl, toy_mix, Example, ToyAnswers, ToyTask};
use crate::error::TrainError;
use crate::loss::{AdvantageScaling, Aggregation};
use crate::optim::OptimizerConfig;
use crate::text::ChatTemplate;
use judges::generative::JudgeOptions;
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

/// Where the initial weights come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSource {
    /// `toy` (random init with the toy tokenizer), `hf` (a folder) or `gguf` (a file).
    pub source: SourceKind,
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// A `tokenizer.json` overriding the one found with the weights.
    #[serde(default)]
    pub tokenizer: Option<PathBuf>,
    #[serde(default)]
    pub template: ChatTemplate,
    /// A system message for every prompt.
    #[serde(default)]
    pub system: Option<String>,
    /// `f32` (default), `bf16` or `f16`.
    #[serde(default = "default_dtype")]
    pub dtype: String,
    /// `cpu` or `cuda` (needs the `cuda` feature).
    #[serde(default = "default_device")]
    pub device: String,
    /// Shape of a `toy` model.
    #[serde(default)]
    pub toy: ToyShape,
}

fn default_dtype() -> String {
    "f32".into()
}
fn default_device() -> String {
    "cpu".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Toy,
    Hf,
    Gguf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToyShape {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
}

impl Default for ToyShape {
    fn default() -> Self {
        ToyShape {
            hidden_size: 64,
            intermediate_size: 128,
            layers: 2,
            heads: 4,
            kv_heads: 2,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Generated tasks (one or a list) instead of files.
    #[serde(default)]
    pub toy: Option<OneOrMany<ToyTask>>,
    /// Training examples (JSONL).
    #[serde(default)]
    pub train: Option<PathBuf>,
    /// Held-out examples (JSONL) for accuracy before and after.
    #[serde(default)]
    pub eval: Option<PathBuf>,
    /// Toy prompts held out for evaluation.
    #[serde(default = "default_eval_size")]
    pub eval_size: usize,
}

fn default_eval_size() -> usize {
    100
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftConfig {
    pub steps: usize,
    /// Examples per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    #[serde(default = "one")]
    pub grad_accum: usize,
    /// Longer examples are cut (prompt + completion tokens).
    #[serde(default = "default_max_len")]
    pub max_len: usize,
    /// Toy completions carry the right answer or a random one (format-only cold start).
    #[serde(default)]
    pub toy_answers: ToyAnswers,
    /// More toy tasks mixed into the training data (skills the cold start teaches besides
    /// the format, or R1's non-reasoning data beside rejection samples).
    #[serde(default)]
    pub toy_extra: Option<OneOrMany<ToyTask>>,
    /// Which answers the `toy_extra` completions carry.
    #[serde(default)]
    pub toy_extra_answers: ToyAnswers,
    /// At most this many training prompts per `toy_extra` task.
    #[serde(default)]
    pub toy_extra_limit: Option<usize>,
    pub optimizer: OptimizerConfig,
}

fn one() -> usize {
    1
}
fn default_max_len() -> usize {
    512
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpoConfig {
    pub steps: usize,
    pub prompts_per_step: usize,
    /// G: completions per prompt.
    pub group_size: usize,
    /// Sequences per forward/backward pass.
    #[serde(default = "default_micro_batch")]
    pub micro_batch: usize,
    /// μ: optimizer passes over each rollout batch (> 1 makes the data off-policy).
    #[serde(default = "one")]
    pub mu: usize,
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    #[serde(default = "one_f")]
    pub top_p: f64,
    #[serde(default)]
    pub top_k: usize,
    pub max_new_tokens: usize,
    #[serde(default)]
    pub beta: f64,
    /// Copy the policy into the reference every this many steps (0: never).
    #[serde(default)]
    pub ref_reset_every: usize,
    #[serde(default = "default_epsilon")]
    pub epsilon_low: f64,
    #[serde(default = "default_epsilon")]
    pub epsilon_high: f64,
    #[serde(default)]
    pub aggregation: Aggregation,
    #[serde(default)]
    pub advantage: AdvantageScaling,
    /// Drop groups whose rewards are all equal and sample more prompts (DAPO).
    #[serde(default = "yes")]
    pub dynamic_sampling: bool,
    /// Rollout batches tried per step to fill it with informative groups.
    #[serde(default = "default_max_tries")]
    pub max_sampling_tries: usize,
    /// Exclude completions cut at `max_new_tokens` from the loss (DAPO).
    #[serde(default = "yes")]
    pub mask_truncated: bool,
    /// The reward component reported as accuracy (greedy, on held-out prompts).
    #[serde(default = "default_accuracy")]
    pub accuracy_reward: String,
    /// Completions per held-out prompt, sampled like the rollouts (mean accuracy over them
    /// estimates pass@1); a temperature of 0 evaluates one greedy completion instead.
    #[serde(default = "default_eval_samples")]
    pub eval_samples: usize,
    /// Evaluate held-out accuracy every this many steps (0: only before and after).
    #[serde(default)]
    pub eval_every: usize,
    pub optimizer: OptimizerConfig,
    /// The reward bus (the `judges` configuration); absent: the bus's embedded default.
    #[serde(default)]
    pub rewards: Option<judges::BusConfig>,
    /// A generative judge run in process by a local model, added to the bus.
    #[serde(default)]
    pub local_judge: Option<LocalJudgeConfig>,
}

fn default_micro_batch() -> usize {
    64
}
fn default_temperature() -> f64 {
    1.0
}
fn one_f() -> f64 {
    1.0
}
fn default_epsilon() -> f64 {
    0.2
}
fn yes() -> bool {
    true
}
fn default_max_tries() -> usize {
    4
}
fn default_eval_samples() -> usize {
    4
}
fn default_accuracy() -> String {
    "accuracy".into()
}

/// A TOML value that is one item or a list of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(item) => std::slice::from_ref(item),
            OneOrMany::Many(items) => items,
        }
    }
}

impl TrainConfig {
    pub fn from_toml(text: &str) -> Result<TrainConfig, TrainError> {
        let config: TrainConfig =
            toml::from_str(text).map_err(|e| TrainError::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Train and held-out examples: generated for toy tasks (with `answers` in the SFT
    /// completions), read from JSONL otherwise.
    pub fn examples(
        &self,
        answers: ToyAnswers,
    ) -> Result<(Vec<Example>, Vec<Example>), TrainError> {
        if let Some(tasks) = &self.data.toy {
            return toy_mix(
                tasks.as_slice(),
                answers,
                self.data.eval_size,
                None,
                self.seed,
            );
        }
        let train = read_jsonl(
            self.data
                .train
                .as_deref()
                .unwrap_or(std::path::Path::new("")),
        )?;
        let eval = match &self.data.eval {
            Some(path) => read_jsonl(path)?,
            None => Vec::new(),
        };
        Ok((train, eval))
    }

    /// The SFT phase's data: [`TrainConfig::examples`] with the phase's toy answers, plus the
    /// training part of `toy_extra`.
    pub fn sft_examples(&self) -> Result<(Vec<Example>, Vec<Example>), TrainError> {
        let sft = self
            .sft
            .as_ref()
            .ok_or_else(|| TrainError::Config("the config has no [sft] section".into()))?;
        let (mut train, eval) = self.examples(sft.toy_answers)?;
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
        let bad = |m: &str| Err(TrainError::Config(m.to_string()));
        if self.model.source != SourceKind::Toy && self.model.path.is_none() {
            return bad("model.path is needed for hf and gguf sources");
        }
        if self.data.toy.is_none() && self.data.train.is_none() {
            return bad("data: set `toy` or `train`");
        }
        if self
            .data
            .toy
            .as_ref()
            .is_some_and(|t| t.as_slice().is_empty())
        {
            return bad("data.toy: name at least one task");
        }
        if let Some(sft) = &self.sft {
            if sft.steps == 0 || sft.batch_size == 0 || sft.grad_accum == 0 || sft.max_len < 2 {
                return bad("sft: steps, batch_size, grad_accum must be > 0 and max_len >= 2");
            }
            sft.optimizer.validate()?;
        }
        if let Some(grpo) = &self.grpo {
            if grpo.steps == 0
                || grpo.prompts_per_step == 0
                || grpo.group_size < 2
                || grpo.micro_batch == 0
                || grpo.mu == 0
                || grpo.max_new_tokens == 0
                || grpo.max_sampling_tries == 0
            {
                return bad("grpo: steps, prompts_per_step, micro_batch, mu, max_new_tokens, max_sampling_tries > 0 and group_size >= 2");
            }
            if grpo.beta < 0.0 || grpo.epsilon_low < 0.0 || grpo.epsilon_high < 0.0 {
                return bad("grpo: beta and epsilons must be >= 0");
            }
            if !(grpo.temperature > 0.0 && grpo.top_p > 0.0 && grpo.top_p <= 1.0) {
                return bad("grpo: temperature > 0 and 0 < top_p <= 1");
            }
            grpo.optimizer.validate()?;
        }
        Ok(())
    }
}

/// Rejection sampling (`r1-train sample`, a recipe's `sample` stage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectionConfig {
    /// k: completions sampled per prompt.
    pub samples_per_prompt: usize,
    #[serde(default = "default_sample_temperature")]
    pub temperature: f64,
    #[serde(default = "one_f")]
    pub top_p: f64,
    pub max_new_tokens: usize,
    /// The reward component that decides correctness (a list: the first one that scored a
    /// sample, e.g. `["accuracy", "code"]` for mixed math and code prompts), and the value it
    /// must reach.
    #[serde(default = "default_keep_reward")]
    pub keep_reward: OneOrMany<String>,
    #[serde(default = "one_f")]
    pub min_value: f64,
    /// When the bus scores a `language` component: the consistency a kept sample needs.
    #[serde(default = "default_min_language")]
    pub min_language: f64,
    /// Reject completions with a paragraph (text between blank lines) longer than this.
    #[serde(default = "default_max_paragraph")]
    pub max_paragraph_chars: usize,
    /// Kept completions per prompt, after deduplication.
    #[serde(default = "default_max_per_prompt")]
    pub max_per_prompt: usize,
    /// Sample at most this many prompts (from the start of the training set); absent: all.
    #[serde(default)]
    pub prompts: Option<usize>,
    /// The reward bus; absent: its embedded default.
    #[serde(default)]
    pub rewards: Option<judges::BusConfig>,
}

fn default_sample_temperature() -> f64 {
    0.7
}
fn default_keep_reward() -> OneOrMany<String> {
    OneOrMany::One("accuracy".into())
}
fn default_min_language() -> f64 {
    0.95
}
fn default_max_paragraph() -> usize {
    2000
}
fn default_max_per_prompt() -> usize {
    1
}

/// A judge reward backed by a local model (`[grpo.local_judge]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalJudgeConfig {
    /// The component's name in the reward breakdown.
    pub name: String,
    /// A Hugging Face folder or a `.gguf` file (in a recipe: also a stage's name).
    pub model: PathBuf,
    #[serde(default)]
    pub template: ChatTemplate,
    /// The judge model's own system message; the bus's generic grader system message is
    /// replaced by it (small judges are tuned with theirs).
    #[serde(default)]
    pub system: Option<String>,
    #[serde(default = "one_f")]
    pub weight: f64,
    /// Tasks routed to the judge (e.g. `["general"]`); empty: all.
    #[serde(default)]
    pub tasks: Vec<String>,
    #[serde(default = "default_judge_timeout_ms")]
    pub timeout_ms: u64,
    pub judge: JudgeOptions,
}

fn default_judge_timeout_ms() -> u64 {
    120_000
}
