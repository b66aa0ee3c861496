//! `r1-reward`'s HTTP surface (axum): OpenRLHF's `/get_reward`, the native `/v1/reward`, a
//! SandboxFusion-compatible `/run_code`, `/health`, `/metrics` and `/openapi.json`.

use crate::bus::{Bus, Outcome, Rewarded};
use crate::error::{panic_message, ErrorKind, RewardError};
use crate::openrlhf::{reply, response_of, sample_from_label, ItemResult, OpenRlhfRequest};
use crate::reward::Sample;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::sync::Semaphore;

/// Server limits.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    pub max_body_bytes: usize,
    /// Requests handled at once; more get 429.
    pub max_concurrent: usize,
    /// Samples in one request.
    pub max_batch: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_body_bytes: 64 << 20,
            max_concurrent: 256,
            max_batch: 65_536,
        }
    }
}

/// Shared state: the bus appears once it is built (`/health` answers 503 until then).
pub struct AppState {
    bus: OnceLock<Arc<Bus>>,
    sandbox: OnceLock<Arc<sandbox::Sandbox>>,
    /// Why the sandbox could not be set up (`/run_code` answers 500 with it).
    sandbox_error: OnceLock<sandbox::SandboxError>,
    permits: Semaphore,
    limits: ServerLimits,
    metrics: Metrics,
}

impl AppState {
    pub fn new(limits: ServerLimits) -> Arc<AppState> {
        Arc::new(AppState {
            bus: OnceLock::new(),
            sandbox: OnceLock::new(),
            sandbox_error: OnceLock::new(),
            permits: Semaphore::new(limits.max_concurrent),
            limits,
            metrics: Metrics::new(),
        })
    }

    /// Mark the server ready.
    pub fn set_ready(&self, bus: Arc<Bus>, sandbox: Option<Arc<sandbox::Sandbox>>) {
        let _ = self.bus.set(bus);
        if let Some(sandbox) = sandbox {
            let _ = self.sandbox.set(sandbox);
        }
    }

    /// Record why the sandbox could not be set up: `/run_code` then answers 500 with the cause
    /// instead of 503 (the server is up; the sandbox will not come).
    pub fn set_sandbox_failed(&self, error: sandbox::SandboxError) {
        let _ = self.sandbox_error.set(error);
    }
}

struct Metrics {
    registry: Registry,
    /// `/get_reward` labels that could not be used (the item is rewarded 0 and says why).
    unusable_labels: IntCounter,
    /// `/get_reward` queries that did not start with their prompt (scored whole).
    prefix_mismatches: IntCounter,
    requests: IntCounterVec,
    request_seconds: HistogramVec,
    reward_seconds: HistogramVec,
    reward_outcomes: IntCounterVec,
}

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("r1_requests_total", "HTTP requests by endpoint and status"),
            &["endpoint", "status"],
        )
        .expect("metric");
        let buckets = vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            30.0,
        ];
        let request_seconds = HistogramVec::new(
            HistogramOpts::new("r1_request_seconds", "HTTP request latency")
                .buckets(buckets.clone()),
            &["endpoint"],
        )
        .expect("metric");
        let reward_seconds = HistogramVec::new(
            HistogramOpts::new("r1_reward_seconds", "Latency of each reward per sample")
                .buckets(buckets),
            &["reward"],
        )
        .expect("metric");
        let reward_outcomes = IntCounterVec::new(
            Opts::new(
                "r1_reward_outcomes_total",
                "Reward outcomes (scored, skipped, timed_out, failed)",
            ),
            &["reward", "outcome"],
        )
        .expect("metric");
        let unusable_labels = IntCounter::new(
            "r1_unusable_labels_total",
            "/get_reward items whose label could not be used (rewarded 0, reason in `errors`)",
        )
        .expect("metric");
        let prefix_mismatches = IntCounter::new(
            "r1_prompt_prefix_mismatches_total",
            "/get_reward queries that do not start with their prompt (scored whole)",
        )
        .expect("metric");
        for metric in [
            Box::new(unusable_labels.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(prefix_mismatches.clone()),
            Box::new(requests.clone()),
            Box::new(request_seconds.clone()),
            Box::new(reward_seconds.clone()),
            Box::new(reward_outcomes.clone()),
        ] {
            registry.register(metric).expect("unique metric");
        }
        Metrics {
            registry,
            unusable_labels,
            prefix_mismatches,
            requests,
            request_seconds,
            reward_seconds,
            reward_outcomes,
        }
    }

    /// Count a query that does not start with its prompt; the first one is logged with the
    /// first bytes of each side (OpenRLHF cuts long prompts from the left).
    fn prefix_mismatch(&self, query: &str, prompt: &str) {
        static LOGGED: std::sync::Once = std::sync::Once::new();
        self.prefix_mismatches.inc();
        LOGGED.call_once(|| {
            let head = |s: &str| s.chars().take(80).collect::<String>();
            tracing::warn!(
                query = %head(query),
                prompt = %head(prompt),
                "a /get_reward query does not start with its prompt; the whole query is scored"
            );
        });
    }

    fn observe(&self, results: &[Rewarded]) {
        for rewarded in results {
            for c in &rewarded.components {
                let outcome = match c.outcome {
                    Outcome::Scored => "scored",
                    Outcome::Skipped => "skipped",
                    Outcome::TimedOut => "timed_out",
                    Outcome::Failed => "failed",
                };
                self.reward_outcomes
                    .with_label_values(&[&c.name, outcome])
                    .inc();
                if c.outcome != Outcome::Skipped && c.millis > 0.0 {
                    self.reward_seconds
                        .with_label_values(&[&c.name])
                        .observe(c.millis / 1e3);
                }
            }
        }
    }
}

/// One error type for every endpoint, mapped to a status code and a JSON body: the client's
/// fault is 4xx, the server's (a sandbox that could not be set up, a panic) 5xx.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the request is malformed or names something unjudgeable.
    BadRequest(String),
    /// 429.
    TooBusy,
    /// 503: the bus is still starting.
    NotReady,
    /// 500: a server-side fault (set-up failure, panic); the cause is logged.
    Internal(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooBusy => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::BadRequest(m) | ApiError::Internal(m) => m.clone(),
            ApiError::TooBusy => "too many concurrent requests".into(),
            ApiError::NotReady => "the reward bus is starting".into(),
        }
    }
}

impl From<&sandbox::SandboxError> for ApiError {
    fn from(err: &sandbox::SandboxError) -> ApiError {
        if err.is_setup() {
            ApiError::Internal(format!("the code sandbox could not be set up: {err}"))
        } else {
            ApiError::BadRequest(err.to_string())
        }
    }
}

impl From<RewardError> for ApiError {
    fn from(err: RewardError) -> ApiError {
        match err.kind() {
            ErrorKind::Input => ApiError::BadRequest(err.to_string()),
            ErrorKind::Config | ErrorKind::Setup | ErrorKind::Runtime => {
                ApiError::Internal(err.to_string())
            }
        }
    }
}

impl ApiError {
    /// A blocking task that did not finish: a panic is the server's fault (500), its message
    /// logged; so is a cancellation (the runtime is shutting down).
    fn from_join(err: tokio::task::JoinError, what: &str) -> ApiError {
        if err.is_panic() {
            let cause = panic_message(err.into_panic().as_ref());
            tracing::error!(panic = %cause, "{what} panicked");
            ApiError::Internal(format!("{what} panicked"))
        } else {
            tracing::error!("{what} was cancelled");
            ApiError::Internal(format!("{what} was cancelled"))
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(json!({"error": self.message()}))).into_response()
    }
}

/// The router; testable without a socket, served by `r1-reward` on one.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/get_reward", post(get_reward))
        .route("/v1/reward", post(native_reward))
        .route("/run_code", post(run_code))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            catch_panics,
        ))
        .with_state(state)
}

/// Any handler that panics is answered 500 (not a dropped connection), counted, and the panic
/// logged.
async fn catch_panics(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_owned();
    match CatchUnwind(Box::pin(next.run(request))).await {
        Ok(response) => response,
        Err(payload) => {
            let cause = panic_message(payload.as_ref());
            tracing::error!(path, status = 500, panic = %cause, "a handler panicked");
            // The endpoint label the handlers use: `/v1/reward` → `v1_reward`.
            let endpoint = path.trim_start_matches('/').replace('/', "_");
            state
                .metrics
                .requests
                .with_label_values(&[endpoint.as_str(), "500"])
                .inc();
            ApiError::Internal("the request handler panicked".into()).into_response()
        }
    }
}

/// A future that turns a panic while polling its inner future into an `Err` with the payload.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// Parse a JSON body ourselves so every malformed body gets the same clear 400, with integer
/// literals beyond 64 bits kept exact (`{"$int": "<digits>"}`: code tests compare them exactly,
/// and a big numeric label stays its digits rather than a rounded float).
fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    let invalid =
        |e: &dyn std::fmt::Display| ApiError::BadRequest(format!("invalid request body: {e}"));
    let text = std::str::from_utf8(body).map_err(|e| invalid(&e))?;
    let value = sandbox::exact_json::parse(text).map_err(|e| invalid(&e))?;
    serde_json::from_value(value).map_err(|e| invalid(&e))
}

fn ready(state: &AppState) -> Result<Arc<Bus>, ApiError> {
    state.bus.get().cloned().ok_or(ApiError::NotReady)
}

/// Run one request under the concurrency limit, with its metrics and one structured log line.
async fn timed<F, T>(state: &AppState, endpoint: &str, work: F) -> Result<T, ApiError>
where
    F: std::future::Future<Output = Result<T, ApiError>>,
{
    let Ok(_permit) = state.permits.try_acquire() else {
        state
            .metrics
            .requests
            .with_label_values(&[endpoint, "429"])
            .inc();
        tracing::warn!(endpoint, status = 429, "too many concurrent requests");
        return Err(ApiError::TooBusy);
    };
    let started = Instant::now();
    let result = work.await;
    let status = match &result {
        Ok(_) => StatusCode::OK,
        Err(err) => err.status(),
    };
    let seconds = started.elapsed().as_secs_f64();
    state
        .metrics
        .requests
        .with_label_values(&[endpoint, status.as_str()])
        .inc();
    state
        .metrics
        .request_seconds
        .with_label_values(&[endpoint])
        .observe(seconds);
    let millis = seconds * 1e3;
    match &result {
        Ok(_) => tracing::info!(endpoint, status = status.as_u16(), millis, "request"),
        Err(err) if status.is_server_error() => {
            tracing::error!(endpoint, status = status.as_u16(), millis, error = %err.message(), "request failed")
        }
        Err(err) => {
            tracing::warn!(endpoint, status = status.as_u16(), millis, error = %err.message(), "request refused")
        }
    }
    result
}

async fn get_reward(
    State(state): State<Arc<AppState>>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let work = async {
        let bus = ready(&state)?;
        let request: OpenRlhfRequest = parse(&body)?;
        let n = request.query.len();
        if n > state.limits.max_batch {
            return Err(ApiError::BadRequest(format!(
                "batch of {n} exceeds the limit of {}",
                state.limits.max_batch
            )));
        }
        for (field, len) in [
            ("prompts", request.prompts.len()),
            ("labels", request.labels.len()),
        ] {
            if len != 0 && len != n {
                return Err(ApiError::BadRequest(format!(
                    "{field} has {len} items, query has {n}"
                )));
            }
        }
        let mut items: Vec<Result<Sample, String>> = Vec::with_capacity(n);
        for (i, query) in request.query.into_iter().enumerate() {
            let prompt = request.prompts.get(i).cloned().unwrap_or_default();
            let label = request.labels.get(i).cloned().unwrap_or(Value::Null);
            let (completion, prefixed) = response_of(&query, &prompt);
            if !prefixed && !prompt.is_empty() {
                state.metrics.prefix_mismatch(&query, &prompt);
            }
            items.push(sample_from_label(prompt, completion, label));
        }
        let usable: Vec<Sample> = items
            .iter()
            .filter_map(|i| i.as_ref().ok().cloned())
            .collect();
        let mut scored = bus.reward_batch(&usable).await.into_iter();
        state.metrics.observe(scored.as_slice());
        let results: Vec<ItemResult> = items
            .into_iter()
            .map(|item| match item {
                Ok(_) => scored.next().ok_or_else(|| "no result".to_string()),
                Err(reason) => {
                    state.metrics.unusable_labels.inc();
                    Err(reason)
                }
            })
            .collect();
        Ok(Json(reply(&bus.reward_names(), &results)))
    };
    timed(&state, "get_reward", work).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NativeRequest {
    items: Vec<Sample>,
}

async fn native_reward(
    State(state): State<Arc<AppState>>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let work = async {
        let bus = ready(&state)?;
        let request: NativeRequest = parse(&body)?;
        if request.items.len() > state.limits.max_batch {
            return Err(ApiError::BadRequest(format!(
                "batch of {} exceeds the limit of {}",
                request.items.len(),
                state.limits.max_batch
            )));
        }
        let results = bus.reward_batch(&request.items).await;
        state.metrics.observe(&results);
        Ok(Json(json!({"results": results})))
    };
    timed(&state, "v1_reward", work).await
}

#[derive(Deserialize)]
struct RunCodeRequest {
    code: String,
    #[serde(default = "python")]
    language: String,
    #[serde(default)]
    stdin: String,
    #[serde(default)]
    run_timeout: Option<f64>,
    #[serde(rename = "memory_limit_MB", default)]
    memory_limit_mb: Option<i64>,
}

fn python() -> String {
    "python".into()
}

/// SandboxFusion's `/run_code` for Python: same request fields and response shape.
async fn run_code(
    State(state): State<Arc<AppState>>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let work = async {
        ready(&state)?;
        let request: RunCodeRequest = parse(&body)?;
        if !matches!(request.language.as_str(), "python" | "python3") {
            return Ok(Json(
                json!({"status": "SandboxError", "message": format!("language {:?} is not supported (python only)", request.language),
                "compile_result": null, "run_result": null, "executor_pod_name": null, "files": {}}),
            ));
        }
        let sandbox = match (state.sandbox.get(), state.sandbox_error.get()) {
            (Some(sandbox), _) => sandbox.clone(),
            (None, Some(err)) => return Err(ApiError::from(err)),
            (None, None) => return Err(ApiError::NotReady),
        };
        let mut limits = sandbox::Limits::default();
        if let Some(seconds) = request.run_timeout {
            if !(seconds > 0.0 && seconds <= 600.0) {
                return Err(ApiError::BadRequest(
                    "run_timeout must be in (0, 600] seconds".into(),
                ));
            }
            limits.time_ms = (seconds * 1e3).ceil() as u64;
        }
        if let Some(mb) = request.memory_limit_mb.filter(|mb| *mb > 0) {
            limits.memory_mb = (mb as u64).min(4096);
        }
        let run = tokio::task::spawn_blocking(move || {
            sandbox.run_program(&request.code, &request.stdin, &limits)
        })
        .await
        .map_err(|err| ApiError::from_join(err, "the run"))?;
        let (run_status, return_code) = match run.status {
            sandbox::CaseStatus::Pass => ("Finished", 0),
            sandbox::CaseStatus::TimeLimit => ("TimeLimitExceeded", -1),
            _ => ("Finished", 1),
        };
        let mut stderr = run.stderr.clone();
        if let Some(detail) = &run.detail {
            if !stderr.is_empty() {
                stderr.push('\n');
            }
            stderr.push_str(detail);
        }
        Ok(Json(json!({
            "status": if run.status == sandbox::CaseStatus::Pass { "Success" } else { "Failed" },
            "message": "",
            "compile_result": null,
            "run_result": {"status": run_status, "execution_time": run.time_ms / 1e3, "return_code": return_code,
                           "stdout": run.stdout, "stderr": stderr},
            "executor_pod_name": null,
            "files": {}
        })))
    };
    timed(&state, "run_code", work).await
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    match state.bus.get() {
        Some(_) => (StatusCode::OK, Json(json!({"status": "ok"}))).into_response(),
        None => ApiError::NotReady.into_response(),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let mut buffer = Vec::new();
    let encoder = TextEncoder::new();
    if encoder
        .encode(&state.metrics.registry.gather(), &mut buffer)
        .is_err()
    {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(header::CONTENT_TYPE, encoder.format_type().to_owned())],
        buffer,
    )
        .into_response()
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_up_failures_are_5xx_and_bad_input_is_4xx() {
        let setup = sandbox::SandboxError::Provision("no toolchain".into());
        assert_eq!(
            ApiError::from(&setup).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let bad = sandbox::SandboxError::NoTests;
        assert_eq!(ApiError::from(&bad).status(), StatusCode::BAD_REQUEST);
        let reward_setup = RewardError::from(setup);
        assert_eq!(
            ApiError::from(reward_setup).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(
            ApiError::from(RewardError::from(bad)).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ApiError::from(RewardError::Timeout(5)).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[tokio::test]
    async fn a_panicked_blocking_task_is_500_not_400() {
        let joined = tokio::task::spawn_blocking(|| panic!("guest bookkeeping broke"))
            .await
            .unwrap_err();
        let err = ApiError::from_join(joined, "the run");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.message(), "the run panicked");
    }

    /// The same layer `app` uses, on a router with a handler that panics: 500 with a JSON body,
    /// and the server keeps answering.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_handler_is_answered_500() {
        async fn boom() -> &'static str {
            panic!("handler bug")
        }
        let state = AppState::new(ServerLimits::default());
        let router = Router::new()
            .route("/boom", get(boom))
            .route("/fine", get(|| async { "fine" }))
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                catch_panics,
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        let response = reqwest::get(format!("{url}/boom")).await.unwrap();
        assert_eq!(response.status().as_u16(), 500);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "the request handler panicked");
        let fine = reqwest::get(format!("{url}/fine")).await.unwrap();
        assert_eq!(fine.status().as_u16(), 200);
        let panics = state
            .metrics
            .requests
            .with_label_values(&["boom", "500"])
            .get();
        assert_eq!(panics, 1);
    }
}
