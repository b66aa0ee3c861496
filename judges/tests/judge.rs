//! The generative judge against a real OpenAI-compatible chat-completions server on loopback.
//!
//! The server is a small axum app speaking the protocol; what it answers is decided by a
//! `MODE=` marker in the question, so each test exercises one behaviour of the client: verdict
//! formats, log-probability scoring, retries with back-off, non-retryable errors, timeouts, the
//! concurrency limit and bearer authentication.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use judges::generative::{
    ChatModel, GenerativeJudge, JudgeOptions, OpenAiChat, OpenAiOptions, Rubric,
};
use judges::{Bus, BusConfig, Outcome, Reward, Sample};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Server {
    /// Attempts seen per question.
    attempts: Mutex<HashMap<String, usize>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

fn completion(content: &str, logprobs: Option<Value>) -> Value {
    json!({
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "judge",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "logprobs": logprobs, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    })
}

/// The text between a heading and the next blank-line heading, in the judge's user prompt.
fn section<'a>(prompt: &'a str, heading: &str) -> &'a str {
    let start = prompt.find(heading).map(|i| i + heading.len()).unwrap_or(0);
    let rest = &prompt[start..];
    rest[..rest.find("\n\n").unwrap_or(rest.len())].trim()
}

async fn chat(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Json(request): Json<Value>,
) -> Response {
    let user = request["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mode = user
        .split("MODE=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("json")
        .to_owned();
    let question = section(&user, "## Question\n").to_owned();
    let attempt = {
        let mut attempts = server.attempts.lock().unwrap();
        let n = attempts.entry(question.clone()).or_default();
        *n += 1;
        *n
    };
    let now = server.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    server.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let response = answer(&mode, attempt, &user, &request, &headers).await;
    server.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

async fn answer(
    mode: &str,
    attempt: usize,
    user: &str,
    request: &Value,
    headers: &HeaderMap,
) -> Response {
    // The "model" grades by whether the graded answer contains the reference.
    let reference = section(user, "## Reference answer\n");
    let graded = section(user, "## Answer to grade\n");
    let correct = !reference.is_empty() && graded.contains(reference);
    let word = if correct { "correct" } else { "incorrect" };
    match mode {
        "json" => Json(completion(
            &format!("Checking the steps.\n```json\n{{\"analysis\": \"compared {{x}} with the reference\", \"correctness\": \"{word}\"}}\n```"),
            None,
        ))
        .into_response(),
        "tags" => Json(completion(
            &format!("<think>hmm [Correct]?</think>Verdict: [{}]", if correct { "Correct" } else { "Incorrect" }),
            None,
        ))
        .into_response(),
        "score" => Json(completion("Clear and complete.\nScore: 8", None)).into_response(),
        "logprobs" => {
            if request["logprobs"] != json!(true) || request["max_tokens"] != json!(1) {
                return (StatusCode::BAD_REQUEST, "expected a one-token logprob request").into_response();
            }
            let (yes, no) = if correct { (-0.1, -2.4) } else { (-3.0, -0.05) };
            let top = json!([{"token": "Yes", "logprob": yes}, {"token": "No", "logprob": no}, {"token": "Maybe", "logprob": -6.0}]);
            let first = if correct { "Yes" } else { "No" };
            Json(completion(first, Some(json!({"content": [{"token": first, "logprob": -0.1, "top_logprobs": top}]})))).into_response()
        }
        "flaky" if attempt <= 2 => (StatusCode::SERVICE_UNAVAILABLE, "warming up").into_response(),
        "flaky" => Json(completion("{\"correctness\": \"correct\"}", None)).into_response(),
        "ratelimit" if attempt == 1 => {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")], "slow down").into_response()
        }
        "ratelimit" => Json(completion("[Correct]", None)).into_response(),
        "badrequest" => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": {"message": "model not found", "type": "invalid_request_error"}})),
        )
            .into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Json(completion("[Correct]", None)).into_response()
        }
        "hold" => {
            tokio::time::sleep(Duration::from_millis(60)).await;
            Json(completion("[Correct]", None)).into_response()
        }
        "rambling" => Json(completion("I am not sure what to make of this.", None)).into_response(),
        "auth" => {
            if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer sekrit") {
                Json(completion("[Correct]", None)).into_response()
            } else {
                (StatusCode::UNAUTHORIZED, "no key").into_response()
            }
        }
        other => (StatusCode::BAD_REQUEST, format!("unknown mode {other}")).into_response(),
    }
}

async fn start() -> (String, Arc<Server>) {
    let server = Arc::new(Server::default());
    let router = Router::new()
        .route("/v1/chat/completions", post(chat))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, server)
}

fn options(url: &str) -> OpenAiOptions {
    OpenAiOptions {
        url: url.to_owned(),
        model: "judge".into(),
        api_key_env: None,
        max_concurrent: 8,
        retries: 3,
        backoff_ms: 20,
        request_timeout_ms: 5_000,
    }
}

fn judge(server: &OpenAiOptions, judge: JudgeOptions) -> GenerativeJudge {
    GenerativeJudge::new(Arc::new(OpenAiChat::new(server).unwrap()), judge).unwrap()
}

fn sample(mode: &str, question: &str, answer: &str, completion: &str) -> Sample {
    Sample {
        prompt: format!("{question} MODE={mode}"),
        completion: completion.into(),
        answer: Some(answer.into()),
        task: Some("general".into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correctness_from_json_and_tag_verdicts() {
    let (url, _) = start().await;
    for mode in ["json", "tags"] {
        let judge = judge(&options(&url), JudgeOptions::new(Rubric::Correctness));
        let right = judge
            .score(&sample(
                mode,
                "What is 6*7?",
                "42",
                "<think>6*7</think>The answer is 42.",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(right.value, 1.0, "{mode}: {right:?}");
        let wrong = judge
            .score(&sample(
                mode,
                "What is 6*8?",
                "48",
                "<think>6*8 is 48</think>The answer is 46.",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            wrong.value, 0.0,
            "{mode}: only the summary is judged: {wrong:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logprob_scoring_reads_the_first_token() {
    let (url, _) = start().await;
    let mut opts = JudgeOptions::new(Rubric::Correctness);
    opts.logprobs = true;
    let judge = judge(&options(&url), opts);
    let right = judge
        .score(&sample("logprobs", "Q1", "7", "It is 7."))
        .await
        .unwrap()
        .unwrap();
    let expected = (-0.1f64).exp() / ((-0.1f64).exp() + (-2.4f64).exp());
    assert!((right.value - expected).abs() < 1e-9, "{right:?}");
    let wrong = judge
        .score(&sample("logprobs", "Q2", "7", "It is 8."))
        .await
        .unwrap()
        .unwrap();
    assert!(wrong.value < 0.1, "{wrong:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rubric_scores_are_normalised() {
    let (url, _) = start().await;
    let judge = judge(&options(&url), JudgeOptions::new(Rubric::Helpfulness));
    let mut s = sample(
        "score",
        "Explain tides.",
        "",
        "<think>moon</think>The moon pulls the sea.",
    );
    s.answer = None;
    let score = judge.score(&s).await.unwrap().unwrap();
    assert!((score.value - 7.0 / 9.0).abs() < 1e-9, "{score:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_failures_are_retried_and_others_are_not() {
    let (url, server) = start().await;
    let judge = judge(&options(&url), JudgeOptions::new(Rubric::Correctness));
    let flaky = judge
        .score(&sample("flaky", "Flaky?", "1", "1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(flaky.value, 1.0);
    let limited = judge
        .score(&sample("ratelimit", "Limited?", "1", "1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(limited.value, 1.0);
    let refused = judge
        .score(&sample("badrequest", "Refused?", "1", "1"))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("model not found"), "{refused}");
    assert!(refused.to_string().contains("after 1 attempt"), "{refused}");
    let attempts = server.attempts.lock().unwrap().clone();
    assert_eq!(attempts["Flaky? MODE=flaky"], 3);
    assert_eq!(attempts["Limited? MODE=ratelimit"], 2);
    assert_eq!(attempts["Refused? MODE=badrequest"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_times_out_after_the_retries() {
    let (url, server) = start().await;
    let mut slow = options(&url);
    slow.request_timeout_ms = 200;
    slow.retries = 1;
    let judge = judge(&slow, JudgeOptions::new(Rubric::Correctness));
    let started = std::time::Instant::now();
    let err = judge
        .score(&sample("slow", "Slow?", "1", "1"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(err.to_string().contains("after 2 attempts"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(server.attempts.lock().unwrap()["Slow? MODE=slow"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrency_limit_holds() {
    let (url, server) = start().await;
    let mut limited = options(&url);
    limited.max_concurrent = 3;
    let judge = Arc::new(judge(&limited, JudgeOptions::new(Rubric::Correctness)));
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..24 {
        let judge = judge.clone();
        calls.spawn(async move {
            judge
                .score(&sample("hold", &format!("Hold {i}"), "1", "1"))
                .await
        });
    }
    while let Some(result) = calls.join_next().await {
        assert_eq!(result.unwrap().unwrap().unwrap().value, 1.0);
    }
    let max = server.max_in_flight.load(Ordering::SeqCst);
    assert!((2..=3).contains(&max), "max in flight {max}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_is_sent_as_a_bearer_token() {
    let (url, _) = start().await;
    let mut keyed = options(&url);
    keyed.api_key_env = Some("R1_JUDGE_TEST_KEY_7f3a".into());
    assert!(
        OpenAiChat::new(&keyed).is_err(),
        "a missing variable is a config error"
    );
    std::env::set_var("R1_JUDGE_TEST_KEY_7f3a", "sekrit");
    let judge = judge(&keyed, JudgeOptions::new(Rubric::Correctness));
    let score = judge
        .score(&sample("auth", "Key?", "1", "1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(score.value, 1.0);
}

/// Through the bus, configured from TOML: a judged sample is scored, an unparseable reply is
/// `failed` (not a zero), and a sample without a reference is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_routes_general_prompts_to_the_judge() {
    let (url, _) = start().await;
    let config = BusConfig::from_toml(&format!(
        r#"
[[reward]]
name = "accuracy"
kind = "math"
tasks = ["math"]

[[reward]]
name = "judge"
kind = "judge"
tasks = ["general"]
timeout_ms = 20000
[reward.judge]
rubric = "correctness"
[reward.server]
url = "{url}"
model = "judge"
retries = 1
backoff_ms = 10
"#
    ))
    .unwrap();
    let bus = Arc::new(Bus::new(&config, None).unwrap());
    let mut math = sample("json", "1+1?", "2", "\\boxed{2}");
    math.task = Some("math".into());
    let batch = vec![
        sample("json", "Capital of France?", "Paris", "It is Paris."),
        sample("rambling", "Capital of Peru?", "Lima", "Lima"),
        math,
    ];
    let results = bus.reward_batch(&batch).await;
    let judged = &results[0].components[1];
    assert_eq!((judged.outcome, judged.value), (Outcome::Scored, Some(1.0)));
    let failed = &results[1].components[1];
    assert_eq!(failed.outcome, Outcome::Failed, "{failed:?}");
    assert!(failed.reason.contains("no verdict"), "{}", failed.reason);
    assert_eq!(results[2].components[1].outcome, Outcome::Skipped);
    assert_eq!(results[2].components[0].value, Some(1.0));
    assert_eq!(results[2].total, 1.0);
}

#[test]
fn bad_judge_configs_are_refused() {
    for (toml, needle) in [
        ("[[reward]]\nname = \"j\"\nkind = \"judge\"\n[reward.server]\nurl = \"http://x\"\nmodel = \"m\"\n", "needs `judge`"),
        ("[[reward]]\nname = \"j\"\nkind = \"judge\"\n[reward.judge]\nrubric = \"kindness\"\n[reward.server]\nurl = \"http://x\"\nmodel = \"m\"\n", "kindness"),
        ("[[reward]]\nname = \"j\"\nkind = \"math\"\n[reward.judge]\nrubric = \"correctness\"\n", "does not apply"),
    ] {
        let err = BusConfig::from_toml(toml).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }
    let https = BusConfig::from_toml(
        "[[reward]]\nname = \"j\"\nkind = \"judge\"\n[reward.judge]\nrubric = \"helpfulness\"\n[reward.server]\nurl = \"https://x\"\nmodel = \"m\"\n",
    )
    .unwrap();
    let err = Bus::new(&https, None).err().unwrap().to_string();
    assert!(err.contains("http://"), "{err}");
    let logprob_rubric = GenerativeJudge::new(
        Arc::new(OpenAiChat::new(&options("http://127.0.0.1:9")).unwrap()) as Arc<dyn ChatModel>,
        JudgeOptions {
            logprobs: true,
            ..JudgeOptions::new(Rubric::Harmlessness)
        },
    );
    assert!(logprob_rubric.is_err());
}

#[test]
fn the_example_judge_config_is_valid() {
    let text = include_str!("../../examples/judge.toml");
    let config = BusConfig::from_toml(text).unwrap();
    let bus = Bus::new(&config, None).unwrap();
    assert_eq!(
        bus.reward_names(),
        ["accuracy", "format", "language", "helpful", "harmless"]
    );
}
