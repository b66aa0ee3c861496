//! The generative judge: an LLM asked, through a [`ChatModel`], whether a response is correct
//! (against a reference answer) or how helpful / harmless it is.
//!
//! The judge never talks HTTP itself: [`OpenAiChat`] is the client for OpenAI-compatible servers
//! (vLLM, SGLang, llama.cpp), and a trainer can implement [`ChatModel`] for an in-process model.
//! A failed call (transport, timeout, server error) is an error — reported by the bus as `failed` —
//! never a zero: "the judge said wrong" and "the judge did not answer" stay apart.
//!
//! Files: `client.rs` ([`OpenAiChat`], retries and back-off), `judge.rs` ([`GenerativeJudge`]:
//! rubrics, prompts, reading a reply into a score), `parse.rs` (verdicts, 1–10 scores and
//! yes/no probabilities from free text).

use crate::error::RewardError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

mod client;
mod judge;
mod parse;

pub use client::{OpenAiChat, OpenAiOptions};
pub use judge::{GenerativeJudge, JudgeOptions, Rubric};
pub use parse::{parse_score, parse_verdict, yes_probability};

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: impl Into<String>) -> Message {
        Message {
            role: role.to_owned(),
            content: content.into(),
        }
    }
}

/// What the judge asks of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    pub temperature: f64,
    /// Ask for this many alternatives (with log-probabilities) per generated token.
    pub top_logprobs: Option<u8>,
}

/// A model's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatReply {
    pub content: String,
    /// Alternatives for the first generated token as `(token, logprob)`, when asked for.
    pub first_token_logprobs: Vec<(String, f64)>,
}

/// Anything that answers chat requests: a remote server or an in-process model.
#[async_trait]
pub trait ChatModel: Send + Sync {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatReply, RewardError>;
}

/// At most `max` characters of `text`, with an ellipsis when cut (for error messages).
pub(crate) fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
