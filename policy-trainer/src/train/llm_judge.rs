//! A checkpoint as the reward bus's generative judge, in process: this crate's generation behind
//! the `judges::ChatModel` trait, so all-scenario RL can grade general prompts with a local model
//! (no server) exactly as it would with an OpenAI-compatible one.

use crate::error::TrainError;
use crate::model::engine::generate;
use crate::model::sampling::SamplingConfig;
use crate::model::{ChatTemplate, ModelSource};
use crate::train::policy::Policy;
use async_trait::async_trait;
use judges::generative::JudgeOptions;
use judges::generative::{ChatModel, ChatReply, ChatRequest, GenerativeJudge};
use judges::RewardError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

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
    #[serde(default = "crate::config_value::one_f")]
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

/// A policy answering chat requests on the blocking pool, one at a time.
pub struct LocalChat {
    policy: Arc<Mutex<Policy>>,
}

impl LocalChat {
    pub fn new(policy: Policy) -> LocalChat {
        LocalChat {
            policy: Arc::new(Mutex::new(policy)),
        }
    }
}

#[async_trait]
impl ChatModel for LocalChat {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatReply, RewardError> {
        let user = request
            .messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map(|m| m.content.clone())
            .ok_or_else(|| RewardError::Input("the judge request has no user message".into()))?;
        let policy = self.policy.clone();
        let max_new_tokens = request.max_tokens as usize;
        let temperature = request.temperature;
        let generated = tokio::task::spawn_blocking(move || -> Result<String, TrainError> {
            let policy = policy.lock().unwrap_or_else(|e| e.into_inner());
            let prompt = policy.prompt_tokens(&user)?;
            let config = SamplingConfig {
                temperature,
                max_new_tokens,
                stop_sequences: policy.stop_sequences(),
                ..SamplingConfig::default()
            };
            let completion = generate(&policy.model, &prompt, 1, &config)?
                .pop()
                .ok_or_else(|| TrainError::Input("the judge generated nothing".into()))?;
            policy.completion_text(&completion)
        })
        .await
        .map_err(|_| RewardError::Panicked)?
        .map_err(|e| RewardError::Upstream(format!("local judge: {}", e.report())))?;
        Ok(ChatReply {
            content: generated,
            first_token_logprobs: Vec::new(),
        })
    }
}

/// Load the judge model and wrap it as a bus reward.
pub fn local_judge(config: &LocalJudgeConfig) -> Result<GenerativeJudge, TrainError> {
    let source = ModelSource {
        system: config.system.clone(),
        ..ModelSource::from_path(&config.model, config.template)
    };
    let policy = Policy::load(&source, None, 0)?;
    Ok(GenerativeJudge::new(
        Arc::new(LocalChat::new(policy)),
        config.judge.clone(),
    )?)
}
