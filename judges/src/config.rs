//! Bus configuration (TOML), with an embedded default.

use crate::error::RewardError;
use crate::generative::{JudgeOptions, OpenAiOptions};
use crate::reward::{CodeMode, FormatStyle};
use serde::{Deserialize, Serialize};

/// The embedded default configuration (DeepSeek-R1's sum of rule rewards).
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BusConfig {
    /// Results kept in the content-hash cache before it is cleared; 0 turns it off.
    #[serde(default = "default_cache_entries")]
    pub cache_entries: usize,
    pub reward: Vec<RewardSpec>,
}

fn default_cache_entries() -> usize {
    1 << 16
}

/// One reward on the bus.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(try_from = "RawSpec")]
pub struct RewardSpec {
    /// Name in the breakdown (and TRL's per-function logs).
    pub name: String,
    #[serde(flatten)]
    pub kind: RewardKind,
    #[serde(default = "one")]
    pub weight: f64,
    /// Tasks this reward applies to; empty means all.
    #[serde(default)]
    pub tasks: Vec<String>,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn one() -> f64 {
    1.0
}

fn default_timeout_ms() -> u64 {
    10_000
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RewardKind {
    Math {
        /// Only `\boxed{}` / `<answer>` count (rewards); false also reads "the answer is …".
        strict: bool,
    },
    Code {
        mode: CodeMode,
    },
    Format {
        style: FormatStyle,
    },
    Language,
    Overlong {
        max_tokens: usize,
        cache_tokens: usize,
    },
    /// A generative judge behind an OpenAI-compatible server.
    Judge {
        judge: JudgeOptions,
        server: OpenAiOptions,
    },
}

/// The TOML shape of a reward, checked field by field (serde cannot deny unknown fields through
/// a flattened enum).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: String,
    kind: String,
    #[serde(default = "one")]
    weight: f64,
    #[serde(default)]
    tasks: Vec<String>,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
    strict: Option<bool>,
    mode: Option<CodeMode>,
    style: Option<FormatStyle>,
    max_tokens: Option<usize>,
    cache_tokens: Option<usize>,
    judge: Option<JudgeOptions>,
    server: Option<OpenAiOptions>,
}

impl TryFrom<RawSpec> for RewardSpec {
    type Error = String;

    fn try_from(raw: RawSpec) -> Result<RewardSpec, String> {
        let name = raw.name.clone();
        let stray = |allowed: &[&str]| -> Result<(), String> {
            let given = [
                ("strict", raw.strict.is_some()),
                ("mode", raw.mode.is_some()),
                ("style", raw.style.is_some()),
                ("max_tokens", raw.max_tokens.is_some()),
                ("cache_tokens", raw.cache_tokens.is_some()),
                ("judge", raw.judge.is_some()),
                ("server", raw.server.is_some()),
            ];
            match given
                .iter()
                .find(|(field, set)| *set && !allowed.contains(field))
            {
                Some((field, _)) => Err(format!(
                    "reward {name:?}: `{field}` does not apply to kind {:?}",
                    raw.kind
                )),
                None => Ok(()),
            }
        };
        let missing = |field: &str| format!("reward {name:?}: kind {:?} needs `{field}`", raw.kind);
        let kind = match raw.kind.as_str() {
            "math" => {
                stray(&["strict"])?;
                RewardKind::Math {
                    strict: raw.strict.unwrap_or(true),
                }
            }
            "code" => {
                stray(&["mode"])?;
                RewardKind::Code {
                    mode: raw.mode.unwrap_or_default(),
                }
            }
            "format" => {
                stray(&["style"])?;
                RewardKind::Format {
                    style: raw.style.clone().ok_or_else(|| missing("style"))?,
                }
            }
            "language" => {
                stray(&[])?;
                RewardKind::Language
            }
            "overlong" => {
                stray(&["max_tokens", "cache_tokens"])?;
                RewardKind::Overlong {
                    max_tokens: raw.max_tokens.ok_or_else(|| missing("max_tokens"))?,
                    cache_tokens: raw.cache_tokens.ok_or_else(|| missing("cache_tokens"))?,
                }
            }
            "judge" => {
                stray(&["judge", "server"])?;
                RewardKind::Judge {
                    judge: raw.judge.clone().ok_or_else(|| missing("judge"))?,
                    server: raw.server.clone().ok_or_else(|| missing("server"))?,
                }
            }
            other => {
                return Err(format!(
                "reward {name:?}: unknown kind {other:?} (math, code, format, language, overlong, judge)"
            ))
            }
        };
        Ok(RewardSpec {
            name: raw.name,
            kind,
            weight: raw.weight,
            tasks: raw.tasks,
            timeout_ms: raw.timeout_ms,
        })
    }
}

impl BusConfig {
    pub fn from_toml(text: &str) -> Result<BusConfig, RewardError> {
        let config: BusConfig = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    pub fn embedded_default() -> BusConfig {
        BusConfig::from_toml(DEFAULT_CONFIG).expect("the embedded default configuration is valid")
    }

    /// Check names, weights and limits (serde alone cannot).
    pub fn validate(&self) -> Result<(), RewardError> {
        let mut names = std::collections::HashSet::new();
        for spec in &self.reward {
            if !names.insert(spec.name.as_str()) {
                return Err(RewardError::Config(format!(
                    "reward {:?} is defined twice",
                    spec.name
                )));
            }
            if !spec.weight.is_finite() {
                return Err(RewardError::Config(format!(
                    "reward {:?}: weight must be finite",
                    spec.name
                )));
            }
            if spec.timeout_ms == 0 {
                return Err(RewardError::Config(format!(
                    "reward {:?}: timeout_ms must be > 0",
                    spec.name
                )));
            }
            if let RewardKind::Overlong {
                max_tokens,
                cache_tokens,
            } = spec.kind
            {
                if cache_tokens == 0 || cache_tokens > max_tokens {
                    return Err(RewardError::Config(format!(
                        "reward {:?}: need 0 < cache_tokens <= max_tokens",
                        spec.name
                    )));
                }
            }
        }
        Ok(())
    }
}
