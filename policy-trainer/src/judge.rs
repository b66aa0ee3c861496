//! A checkpoint as the reward bus's generative judge, in process: this crate's generation behind
//! the `judges::ChatModel` trait, so all-scenario RL can grade general prompts with a local model
//! (no server) exactly as it would with an OpenAI-compatible one.

use crate::config::{ModelSource, SourceKind};
use crate::error::TrainError;
use crate::run::Policy;
use crate::sample::{sample, SamplingConfig};
use async_trait::async_trait;
use judges::generative::{ChatModel, ChatReply, ChatRequest, GenerativeJudge};
use judges::RewardError;
use std::sync::{Arc, Mutex};

pub use crate::config::LocalJudgeConfig;

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
                stop_sequences: policy.template.stop_sequences(&policy.tokenizer),
                ..SamplingConfig::default()
            };
            let completion = sample(&policy.model, &prompt, 1, &config)?
                .pop()
                .ok_or_else(|| TrainError::Input("the judge generated nothing".into()))?;
            policy.completion_text(&completion)
        })
        .await
        .map_err(|_| RewardError::Panicked)?
        .map_err(|e| RewardError::Upstream(format!("local judge: {e}")))?;
        Ok(ChatReply {
            content: generated,
            first_token_logprobs: Vec::new(),
        })
    }
}

/// Load the judge model and wrap it as a bus reward.
pub fn local_judge(config: &LocalJudgeConfig) -> Result<GenerativeJudge, TrainError> {
    let source = ModelSource {
        source: if config.model.extension().is_some_and(|e| e == "gguf") {
            SourceKind::Gguf
        } else {
            SourceKind::Hf
        },
        path: Some(config.model.clone()),
        tokenizer: None,
        template: config.template,
        system: config.system.clone(),
        dtype: "f32".into(),
        device: "cpu".into(),
        toy: Default::default(),
    };
    let policy = Policy::load(&source, None, 0)?;
    GenerativeJudge::new(Arc::new(LocalChat::new(policy)), config.judge.clone())
        .map_err(|e| TrainError::Config(format!("local_judge {:?}: {e}", config.name)))
}
