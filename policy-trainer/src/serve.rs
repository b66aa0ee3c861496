//! `r1-train serve`: an OpenAI-compatible `/v1/chat/completions` endpoint for a checkpoint, so a
//! trained policy can be tried by a person or act as the reward bus's generative judge (the
//! `judges` crate's `OpenAiChat` client talks to it).

use crate::error::TrainError;
use crate::model::engine::generate;
use crate::model::sampling::SamplingConfig;
use crate::model::ChatTemplate;
use crate::train::policy::Policy;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use std::sync::{Arc, Mutex};

/// What the server shares between requests. Generation is CPU- or GPU-bound and runs one
/// request at a time on the blocking pool.
pub struct ServeState {
    pub policy: Mutex<Policy>,
    /// The name reported by `/v1/models` and in replies.
    pub model_name: String,
    /// Upper bound on `max_tokens`.
    pub max_tokens_limit: usize,
}

#[derive(Debug, Deserialize)]
struct ChatMessage {
    role: String,
    content: String,
}

#[derive(Debug, Deserialize)]
struct ChatCompletionRequest {
    messages: Vec<ChatMessage>,
    #[serde(default)]
    max_tokens: Option<usize>,
    #[serde(default)]
    max_completion_tokens: Option<usize>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default)]
    n: Option<usize>,
    #[serde(default)]
    seed: Option<u64>,
    #[serde(default)]
    stop: Option<Stop>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

/// An error in OpenAI's shape: `{"error": {"message", "type"}}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = if self.0.is_client_error() {
            "invalid_request_error"
        } else {
            "server_error"
        };
        (
            self.0,
            Json(serde_json::json!({"error": {"message": self.1, "type": kind}})),
        )
            .into_response()
    }
}

/// The router (testable on any listener).
pub fn app(state: Arc<ServeState>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat))
        .with_state(state)
}

async fn models(State(state): State<Arc<ServeState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({"object": "list", "data": [
        {"id": state.model_name, "object": "model", "owned_by": "r1-train"}]}))
}

async fn chat(
    State(state): State<Arc<ServeState>>,
    body: Result<Json<ChatCompletionRequest>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(request) = body.map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.body_text()))?;
    let params = Params::check(request, state.max_tokens_limit)?;
    let worker = state.clone();
    let generated = tokio::task::spawn_blocking(move || {
        let policy = worker.policy.lock().unwrap_or_else(|e| e.into_inner());
        complete(&policy, &params)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "generation panicked");
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("generation failed: {e}"),
        )
    })?;
    let (choices, prompt_tokens, completion_tokens) = generated.map_err(|e| match e.kind() {
        crate::ErrorKind::Input | crate::ErrorKind::Config => {
            ApiError(StatusCode::BAD_REQUEST, e.report())
        }
        _ => {
            tracing::error!(error = %e.report(), "generation failed");
            ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.report())
        }
    })?;
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(Json(serde_json::json!({
        "id": format!("chatcmpl-{created}-{prompt_tokens}-{completion_tokens}"),
        "object": "chat.completion",
        "created": created,
        "model": state.model_name,
        "choices": choices,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    })))
}

/// A request's settings, checked.
struct Params {
    messages: Vec<ChatMessage>,
    max_tokens: usize,
    n: usize,
    temperature: f64,
    top_p: f64,
    seed: u64,
    stops: Vec<String>,
}

impl Params {
    fn check(request: ChatCompletionRequest, max_tokens_limit: usize) -> Result<Params, ApiError> {
        let bad = |m: String| Err(ApiError(StatusCode::BAD_REQUEST, m));
        if request.messages.is_empty() {
            return bad("messages must not be empty".into());
        }
        let max_tokens = request
            .max_completion_tokens
            .or(request.max_tokens)
            .unwrap_or(max_tokens_limit.min(256));
        if max_tokens == 0 || max_tokens > max_tokens_limit {
            return bad(format!(
                "max_tokens must be between 1 and {max_tokens_limit}"
            ));
        }
        let n = request.n.unwrap_or(1);
        if !(1..=16).contains(&n) {
            return bad("n must be between 1 and 16".into());
        }
        let temperature = request.temperature.unwrap_or(1.0);
        let top_p = request.top_p.unwrap_or(1.0);
        if !((0.0..=2.0).contains(&temperature) && top_p > 0.0 && top_p <= 1.0) {
            return bad("temperature must be in [0, 2] and top_p in (0, 1]".into());
        }
        let stops = match request.stop {
            None => Vec::new(),
            Some(Stop::One(s)) => vec![s],
            Some(Stop::Many(v)) => v,
        };
        Ok(Params {
            messages: request.messages,
            max_tokens,
            n,
            temperature,
            top_p,
            seed: request.seed.unwrap_or(0),
            stops,
        })
    }
}

/// Generate the choices: (choices, prompt tokens, completion tokens).
fn complete(
    policy: &Policy,
    params: &Params,
) -> Result<(Vec<serde_json::Value>, usize, usize), TrainError> {
    let prompt = policy.tokenizer.encode(&render(policy, &params.messages))?;
    let mut stop_sequences = policy.stop_sequences();
    for stop in &params.stops {
        let ids = policy.tokenizer.encode(stop)?;
        if !ids.is_empty() {
            stop_sequences.push(ids);
        }
    }
    let config = SamplingConfig {
        temperature: params.temperature,
        top_p: params.top_p,
        max_new_tokens: params.max_tokens,
        stop_sequences,
        seed: params.seed,
        ..SamplingConfig::default()
    };
    let completions = generate(&policy.model, &prompt, params.n, &config)?;
    let mut choices = Vec::with_capacity(params.n);
    let mut completion_tokens = 0;
    for (index, completion) in completions.iter().enumerate() {
        completion_tokens += completion.tokens.len();
        let mut content = policy.tokenizer.decode(&completion.tokens)?;
        // The stop text itself is not part of the message (OpenAI's convention).
        if completion.stopped {
            let stop_texts = policy.template.stop_texts().iter().copied();
            for stop in stop_texts.chain(params.stops.iter().map(String::as_str)) {
                if let Some(stripped) = content.strip_suffix(stop) {
                    content = stripped.to_string();
                    break;
                }
            }
        }
        choices.push(serde_json::json!({
            "index": index,
            "message": {"role": "assistant", "content": content},
            "finish_reason": if completion.stopped { "stop" } else { "length" },
        }));
    }
    Ok((choices, prompt.len(), completion_tokens))
}

/// The conversation as the model's template writes it: every turn for ChatML, otherwise the
/// system message and the last user turn.
fn render(policy: &Policy, messages: &[ChatMessage]) -> String {
    if policy.template == ChatTemplate::Chatml {
        let mut text: String = messages
            .iter()
            .map(|m| format!("<|im_start|>{}\n{}<|im_end|>\n", m.role, m.content))
            .collect();
        text.push_str("<|im_start|>assistant\n");
        return text;
    }
    let system = messages
        .iter()
        .find(|m| m.role == "system")
        .map(|m| m.content.as_str())
        .or(policy.system.as_deref());
    let user = messages
        .iter()
        .rev()
        .find(|m| m.role == "user")
        .map_or("", |m| m.content.as_str());
    policy.template.prompt(system, user)
}
