//! The `Reward` trait and the built-in rewards.

use crate::error::RewardError;
use async_trait::async_trait;
use sandbox::{Limits, Problem, Sandbox, Tests};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use verifiers::format::{r1_readable, r1_zero_soft, r1_zero_strict, tag_count, Template};

/// One completion to reward, with what its rewards may need.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    #[serde(default)]
    pub prompt: String,
    pub completion: String,
    /// Routing key (`math`, `code`, …); rewards list the tasks they apply to.
    #[serde(default)]
    pub task: Option<String>,
    /// Math ground truth.
    #[serde(default)]
    pub answer: Option<String>,
    /// Code tests: the sandbox schema, or a dataset's `{"inputs", "outputs", "fn_name"?}` (also
    /// as a JSON string).
    #[serde(default, deserialize_with = "sandbox::dataset::any_format_opt")]
    pub tests: Option<Tests>,
    #[serde(default)]
    pub limits: Option<Limits>,
    /// Target language (ISO 639-1); detected from the prompt when absent.
    #[serde(default)]
    pub language: Option<String>,
    /// Completion length in tokens, when the caller knows it (length shaping).
    #[serde(default)]
    pub completion_tokens: Option<usize>,
}

/// A reward's value for one sample and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub value: f64,
    pub reason: String,
}

impl Score {
    pub fn new(value: f64, reason: impl Into<String>) -> Score {
        Score {
            value,
            reason: reason.into(),
        }
    }
}

/// A reward function. `Ok(None)` means it does not apply to the sample (TRL's `None`).
#[async_trait]
pub trait Reward: Send + Sync {
    /// Whether `score` should run on the blocking pool (CPU-bound work off the async runtime).
    fn cpu_bound(&self) -> bool {
        true
    }

    async fn score(&self, sample: &Sample) -> Result<Option<Score>, RewardError>;
}

/// Math accuracy through `verifiers` (1 correct, 0 otherwise).
pub struct MathAccuracy {
    pub config: verifiers::Config,
}

#[async_trait]
impl Reward for MathAccuracy {
    async fn score(&self, sample: &Sample) -> Result<Option<Score>, RewardError> {
        let Some(answer) = sample.answer.as_deref() else {
            return Ok(None);
        };
        let verdict = verifiers::verify(answer, &sample.completion, &self.config);
        if verdict.status == verifiers::Status::GoldUnparseable {
            return Ok(None);
        }
        let reason = format!("{}: {}", verdict.status.as_str(), verdict.reason);
        Ok(Some(Score::new(
            if verdict.is_correct() { 1.0 } else { 0.0 },
            reason,
        )))
    }
}

/// How code tests become a reward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CodeMode {
    /// 1 when every test passes (DeepCoder's sparse reward).
    #[default]
    Binary,
    /// The fraction of tests passed.
    Fraction,
}

/// Code accuracy through the WASM sandbox.
pub struct CodeAccuracy {
    pub sandbox: Arc<Sandbox>,
    pub mode: CodeMode,
}

#[async_trait]
impl Reward for CodeAccuracy {
    async fn score(&self, sample: &Sample) -> Result<Option<Score>, RewardError> {
        let Some(tests) = sample.tests.clone() else {
            return Ok(None);
        };
        let problem = Problem {
            id: None,
            language: "python".into(),
            code: sample.completion.clone(),
            tests,
            limits: sample.limits.unwrap_or_default(),
            compare: Default::default(),
        };
        let verdict = self.sandbox.judge(&problem)?;
        let value = match self.mode {
            CodeMode::Binary => f64::from(u8::from(verdict.passed)),
            CodeMode::Fraction => verdict.pass_rate,
        };
        let reason = format!(
            "{} ({:.0}% of {} tests)",
            verdict.verdict.as_str(),
            verdict.pass_rate * 100.0,
            verdict.cases.len()
        );
        Ok(Some(Score::new(value, reason)))
    }
}

/// Which format check a format reward runs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FormatStyle {
    R1ZeroStrict,
    R1ZeroSoft,
    TagCount,
    R1Readable,
    Template(Template),
}

/// A template reward from `verifiers::format`.
pub struct FormatReward {
    pub style: FormatStyle,
}

#[async_trait]
impl Reward for FormatReward {
    async fn score(&self, sample: &Sample) -> Result<Option<Score>, RewardError> {
        let text = &sample.completion;
        let result = match &self.style {
            FormatStyle::R1ZeroStrict => r1_zero_strict(text),
            FormatStyle::R1ZeroSoft => r1_zero_soft(text),
            FormatStyle::TagCount => tag_count(text),
            FormatStyle::R1Readable => r1_readable(text),
            FormatStyle::Template(template) => template.check(text),
        };
        Ok(Some(Score::new(result.score, result.reason)))
    }
}

/// R1's language-consistency reward on the chain of thought.
pub struct LanguageReward;

#[async_trait]
impl Reward for LanguageReward {
    async fn score(&self, sample: &Sample) -> Result<Option<Score>, RewardError> {
        let target = match sample.language.as_deref() {
            Some(code) => code.to_owned(),
            None => match verifiers::language::detect_language(&sample.prompt) {
                Some(code) => code.to_owned(),
                None => return Ok(None),
            },
        };
        let scored = verifiers::language::language_consistency(&sample.completion, &target)
            .map_err(|e| RewardError::Input(e.to_string()))?;
        Ok(scored.score.map(|value| {
            Score::new(
                value,
                format!(
                    "{} of {} words in {}",
                    scored.target_words, scored.words, scored.target
                ),
            )
        }))
    }
}

/// DAPO's soft overlong punishment: 0 up to `max_tokens - cache_tokens`, then linear down to -1
/// at `max_tokens`, -1 beyond. Length is `completion_tokens`, else whitespace-separated words.
pub struct OverlongPenalty {
    pub max_tokens: usize,
    pub cache_tokens: usize,
}

#[async_trait]
impl Reward for OverlongPenalty {
    fn cpu_bound(&self) -> bool {
        false
    }

    async fn score(&self, sample: &Sample) -> Result<Option<Score>, RewardError> {
        let length = sample
            .completion_tokens
            .unwrap_or_else(|| sample.completion.split_whitespace().count());
        let free = self.max_tokens.saturating_sub(self.cache_tokens);
        let value = if length <= free {
            0.0
        } else if length <= self.max_tokens {
            (free as f64 - length as f64) / self.cache_tokens.max(1) as f64
        } else {
            -1.0
        };
        Ok(Some(Score::new(
            value,
            format!("{length} tokens, limit {}", self.max_tokens),
        )))
    }
}
