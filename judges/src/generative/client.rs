//! [`OpenAiChat`]: the client for OpenAI-compatible chat-completions servers, with retries,
//! capped back-off, per-attempt timeouts and a concurrency limit.

use super::{clip, ChatModel, ChatReply, ChatRequest};
use crate::error::RewardError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How to reach an OpenAI-compatible chat-completions server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiOptions {
    /// `http://host:port`, `…/v1` or the full `…/v1/chat/completions` URL.
    pub url: String,
    pub model: String,
    /// Environment variable holding the bearer token (vLLM/SGLang `--api-key`).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Calls in flight at once; more wait their turn.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: usize,
    /// Further attempts after a retryable failure (connection, timeout, 408, 429, 5xx).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// First back-off; doubled per attempt, capped at 30 s, plus jitter.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    /// Limit for one HTTP attempt.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
}

fn default_max_concurrent() -> usize {
    64
}
fn default_retries() -> u32 {
    4
}
fn default_backoff_ms() -> u64 {
    500
}
fn default_request_timeout_ms() -> u64 {
    120_000
}

/// A client for `POST /v1/chat/completions` with retries, back-off, timeouts and a concurrency
/// limit.
pub struct OpenAiChat {
    endpoint: String,
    model: String,
    api_key: Option<String>,
    http: reqwest::Client,
    permits: Semaphore,
    retries: u32,
    backoff: Duration,
}

impl OpenAiChat {
    pub fn new(options: &OpenAiOptions) -> Result<OpenAiChat, RewardError> {
        let url = options.url.trim_end_matches('/');
        if !url.starts_with("http://") {
            return Err(RewardError::Config(format!(
                "judge url {url:?}: only plain http:// is built in (put a TLS proxy in front of https servers)"
            )));
        }
        if options.max_concurrent == 0 || options.request_timeout_ms == 0 {
            return Err(RewardError::Config(
                "judge: max_concurrent and request_timeout_ms must be > 0".into(),
            ));
        }
        let endpoint = if url.ends_with("/chat/completions") {
            url.to_owned()
        } else if url.ends_with("/v1") {
            format!("{url}/chat/completions")
        } else {
            format!("{url}/v1/chat/completions")
        };
        let api_key = match &options.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                RewardError::Config(format!("judge: environment variable {var} is not set"))
            })?),
            None => None,
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(options.request_timeout_ms))
            .build()
            .map_err(RewardError::Client)?;
        Ok(OpenAiChat {
            endpoint,
            model: options.model.clone(),
            api_key,
            http,
            permits: Semaphore::new(options.max_concurrent),
            retries: options.retries,
            backoff: Duration::from_millis(options.backoff_ms),
        })
    }

    fn body(&self, request: &ChatRequest) -> Value {
        let mut body = json!({
            "model": self.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "n": 1,
            "stream": false,
        });
        if let Some(k) = request.top_logprobs {
            body["logprobs"] = json!(true);
            body["top_logprobs"] = json!(k);
        }
        body
    }

    /// One attempt.
    async fn attempt(&self, body: &Value) -> Result<ChatReply, AttemptError> {
        let mut call = self.http.post(&self.endpoint).json(body);
        if let Some(key) = &self.api_key {
            call = call.bearer_auth(key);
        }
        let response = call.send().await.map_err(AttemptError::Transport)?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| Duration::from_secs_f64(s.min(60.0)));
            let text = response.text().await.unwrap_or_default();
            let retryable =
                status.as_u16() == 408 || status.as_u16() == 429 || status.is_server_error();
            return Err(AttemptError::Refused {
                retryable,
                message: format!("judge server answered {status}: {}", clip(&text, 300)),
                retry_after,
            });
        }
        let value: Value = response.json().await.map_err(AttemptError::Transport)?;
        parse_completion(&value).map_err(|message| AttemptError::Refused {
            retryable: false,
            message,
            retry_after: None,
        })
    }
}

/// Why one attempt failed.
enum AttemptError {
    /// No usable HTTP exchange (connection, timeout, a body that is not JSON): retried.
    Transport(reqwest::Error),
    /// The server answered, but not with a usable reply.
    Refused {
        retryable: bool,
        message: String,
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
    },
}

#[async_trait]
impl ChatModel for OpenAiChat {
    async fn chat(&self, request: &ChatRequest) -> Result<ChatReply, RewardError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| RewardError::Upstream("judge client closed".into()))?;
        let body = self.body(request);
        let mut attempt = 0;
        loop {
            let err = match self.attempt(&body).await {
                Ok(reply) => return Ok(reply),
                Err(err) => err,
            };
            let (retryable, retry_after) = match &err {
                AttemptError::Transport(_) => (true, None),
                AttemptError::Refused {
                    retryable,
                    retry_after,
                    ..
                } => (*retryable, *retry_after),
            };
            if !retryable || attempt >= self.retries {
                let attempts = attempt + 1;
                return Err(match err {
                    AttemptError::Transport(source) => RewardError::Transport { attempts, source },
                    AttemptError::Refused { message, .. } => RewardError::Upstream(format!(
                        "{message} (after {attempts} attempt{})",
                        if attempts == 1 { "" } else { "s" }
                    )),
                });
            }
            let wait = retry_after.unwrap_or_else(|| backoff(self.backoff, attempt));
            match &err {
                AttemptError::Transport(e) => {
                    tracing::debug!(attempt, ?wait, error = %e, "retrying the judge call")
                }
                AttemptError::Refused { message, .. } => {
                    tracing::debug!(attempt, ?wait, %message, "retrying the judge call")
                }
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// `base · 2^attempt`, capped at 30 s, plus up to 25 % jitter so retries do not arrive together.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exponential = base.saturating_mul(1 << attempt.min(16));
    let capped = exponential.min(Duration::from_secs(30));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    capped + capped.mul_f64(f64::from(nanos % 1000) / 4000.0)
}

/// Read `choices[0]` of a chat-completion reply. Reasoning servers may put the chain of thought
/// in `reasoning_content` / `reasoning`; only `content` carries the verdict.
fn parse_completion(value: &Value) -> Result<ChatReply, String> {
    let choice = value.get("choices").and_then(|c| c.get(0)).ok_or_else(|| {
        format!(
            "judge reply has no choices: {}",
            clip(&value.to_string(), 300)
        )
    })?;
    let content = choice
        .pointer("/message/content")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let first_token_logprobs = choice
        .pointer("/logprobs/content/0/top_logprobs")
        .and_then(Value::as_array)
        .map(|alternatives| {
            alternatives
                .iter()
                .filter_map(|alt| {
                    Some((
                        alt.get("token")?.as_str()?.to_owned(),
                        alt.get("logprob")?.as_f64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ChatReply {
        content,
        first_token_logprobs,
    })
}
