//! `r1-reward`'s HTTP surface against a real server on loopback.

use judges::http::{app, AppState, ServerLimits};
use judges::{Bus, BusConfig};
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

fn sandbox() -> Arc<sandbox::Sandbox> {
    static SANDBOX: OnceLock<Arc<sandbox::Sandbox>> = OnceLock::new();
    SANDBOX
        .get_or_init(|| Arc::new(sandbox::Sandbox::new(Default::default(), 2).expect("sandbox")))
        .clone()
}

/// Start a server on 127.0.0.1:<free port>; returns its base URL and state.
async fn serve(limits: ServerLimits, ready: bool) -> (String, Arc<AppState>) {
    let state = AppState::new(limits);
    if ready {
        let bus = Bus::new(&BusConfig::embedded_default(), Some(sandbox())).unwrap();
        state.set_ready(Arc::new(bus), Some(sandbox()));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = app(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, state)
}

async fn post(url: &str, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_until_ready() {
    let (url, state) = serve(ServerLimits::default(), false).await;
    let status = reqwest::get(format!("{url}/health"))
        .await
        .unwrap()
        .status();
    assert_eq!(status, 503);
    let (code, _) = post(&url, "/get_reward", r#"{"query": []}"#).await;
    assert_eq!(code, 503);
    state.set_ready(
        Arc::new(Bus::new(&BusConfig::embedded_default(), Some(sandbox())).unwrap()),
        None,
    );
    assert_eq!(
        reqwest::get(format!("{url}/health"))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openrlhf_protocol() {
    let (url, _) = serve(ServerLimits::default(), true).await;
    let (code, body) = post(
        &url,
        "/get_reward",
        r#"{"query": [], "prompts": [], "labels": []}"#,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(body["rewards"], json!([]));
    assert_eq!(body["scores"], json!([]));
    assert_eq!(body["failed"], json!([]));

    let prompt = "<|im_start|>user\nWhat is one plus one?<|im_end|>\n<|im_start|>assistant\n";
    let good = format!("{prompt}<think>We add one and one to get two.</think><answer>\\boxed{{2}}</answer><|im_end|>");
    let wrong =
        format!("{prompt}<think>We add them.</think><answer>\\boxed{{3}}</answer><|endoftext|>");
    let code_label = json!({"task": "code", "tests": {"kind": "call", "entry": "f", "cases": [{"input": [], "output": 1}]}});
    let code_query = format!(
        "{prompt}<think>Return one.</think><answer>```python\ndef f():\n    return 1\n```</answer>"
    );
    let request = json!({"query": [good, wrong, code_query], "prompts": [prompt, prompt, prompt], "labels": ["2", "2", code_label]});
    let (code, body) = post(&url, "/get_reward", request.to_string()).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["rewards"], json!([3.0, 2.0, 3.0]), "{body}");
    assert_eq!(body["scores"], json!([1.0, 0.0, 1.0]));
    assert_eq!(body["extra_logs"]["accuracy"], json!([1.0, 0.0, 0.0]));
    assert_eq!(body["extra_logs"]["format"], json!([1.0, 1.0, 1.0]));
    assert_eq!(body["failed"], json!([[], [], []]));

    // Label shapes real datasets produce: tests as a JSON string, `"tests": null` beside an
    // answer, stray null keys; an unusable label is that item's 0 with its reason, not a 400.
    let string_tests = json!({"tests": code_label["tests"].to_string(), "script": null});
    let mixed_row = json!({"answer": "2", "tests": null});
    let request = json!({"query": [code_query, good, wrong], "prompts": [prompt, prompt, prompt],
                         "labels": [string_tests, mixed_row, {"tests": "{not json"}]});
    let (code, body) = post(&url, "/get_reward", request.to_string()).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["scores"], json!([1.0, 1.0, 0.0]), "{body}");
    assert_eq!(body["failed"], json!([[], [], ["label"]]));
    assert!(
        body["errors"][2].as_str().unwrap().contains("not JSON"),
        "{body}"
    );
    let metrics = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("r1_unusable_labels_total 1"), "{metrics}");

    let (code, body) = post(
        &url,
        "/get_reward",
        r#"{"query": ["a", "b"], "labels": ["1"]}"#,
    )
    .await;
    assert_eq!(code, 400);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("labels has 1 items"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_batch_api_returns_breakdowns() {
    let (url, _) = serve(ServerLimits::default(), true).await;
    let request = json!({"items": [
        {"prompt": "Compute 2+2.", "completion": "<think>Two and two make four.</think><answer>4</answer>", "task": "math", "answer": "4", "language": "en"},
        {"completion": "no tags", "task": "chat"}
    ]});
    let (code, body) = post(&url, "/v1/reward", request.to_string()).await;
    assert_eq!(code, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["total"], 3.0);
    let format = results[1]["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "format")
        .unwrap();
    assert_eq!(format["value"], 0.0);
    assert!(format["reason"].as_str().unwrap().contains("<think>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_code_speaks_sandboxfusion() {
    let (url, _) = serve(ServerLimits::default(), true).await;
    let (code, body) = post(
        &url,
        "/run_code",
        r#"{"code": "print(input()[::-1])", "language": "python", "stdin": "abc"}"#,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(body["status"], "Success");
    assert_eq!(body["run_result"]["stdout"], "cba\n");
    assert_eq!(body["run_result"]["return_code"], 0);
    let (_, body) = post(
        &url,
        "/run_code",
        r#"{"code": "while True: pass", "run_timeout": 0.3}"#,
    )
    .await;
    assert_eq!(body["run_result"]["status"], "TimeLimitExceeded");
    let (_, body) = post(&url, "/run_code", r#"{"code": "1/0"}"#).await;
    assert_eq!(body["status"], "Failed");
    assert!(body["run_result"]["stderr"]
        .as_str()
        .unwrap()
        .contains("ZeroDivisionError"));
    let (_, body) = post(
        &url,
        "/run_code",
        r#"{"code": "int main(){}", "language": "cpp"}"#,
    )
    .await;
    assert_eq!(body["status"], "SandboxError");
}

struct Panics;

#[async_trait::async_trait]
impl judges::Reward for Panics {
    fn cpu_bound(&self) -> bool {
        false
    }

    async fn score(
        &self,
        sample: &judges::Sample,
    ) -> Result<Option<judges::Score>, judges::RewardError> {
        if sample.completion.contains("boom") {
            panic!("reward bug");
        }
        Ok(Some(judges::Score::new(1.0, "fine")))
    }
}

/// A failed reward reaches every protocol as "no reward" (null), never as a 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_reward_is_never_a_silent_zero_on_the_wire() {
    let state = AppState::new(ServerLimits::default());
    let config = BusConfig::from_toml(
        "[[reward]]\nname = \"format\"\nkind = \"format\"\nstyle = \"tag_count\"\n",
    )
    .unwrap();
    let mut bus = Bus::new(&config, None).unwrap();
    bus.add("fragile", 1.0, &[], 1_000, Arc::new(Panics))
        .unwrap();
    state.set_ready(Arc::new(bus), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = app(state);
    tokio::spawn(async move { axum::serve(listener, router).await });

    let items = json!({"items": [{"completion": "boom"}, {"completion": "fine"}]});
    let (code, body) = post(&url, "/v1/reward", items.to_string()).await;
    assert_eq!(code, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results[0]["total"], Value::Null, "{body}");
    assert_eq!(results[0]["failed"], json!(["fragile"]));
    assert_eq!(results[1]["total"], 1.0, "{body}");
    assert_eq!(results[1]["failed"], json!([]));

    let query = json!({"query": ["boom", "fine"]});
    let (code, body) = post(&url, "/get_reward", query.to_string()).await;
    assert_eq!(code, 200, "{body}");
    // OpenRLHF builds tensors from these: the failed item is 0 and says so.
    assert_eq!(body["rewards"], json!([0.0, 1.0]), "{body}");
    assert_eq!(body["scores"], json!([0.0, 0.0]), "{body}");
    assert_eq!(body["failed"], json!([["fragile"], []]));
    assert_eq!(body["extra_logs"]["fragile"], json!([0.0, 1.0]));
    assert_eq!(body["extra_logs"]["reward_failed"], json!([1.0, 0.0]));
    assert!(
        body["errors"][0].as_str().unwrap().contains("fragile"),
        "{body}"
    );
    assert_eq!(body["errors"][1], Value::Null);
}

/// A sandbox that could not be set up is the server's fault: `/run_code` answers 500 with the
/// cause, not 400 (bad input) nor 503 forever (starting).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_that_could_not_be_set_up_is_a_server_error() {
    let state = AppState::new(ServerLimits::default());
    let config = BusConfig::from_toml(
        "[[reward]]\nname = \"format\"\nkind = \"format\"\nstyle = \"tag_count\"\n",
    )
    .unwrap();
    state.set_ready(Arc::new(Bus::new(&config, None).unwrap()), None);
    state.set_sandbox_failed(sandbox::SandboxError::Provision(
        "guest/build-python.sh failed".into(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = app(state);
    tokio::spawn(async move { axum::serve(listener, router).await });
    let (code, body) = post(&url, "/run_code", r#"{"code": "print(1)"}"#).await;
    assert_eq!(code, 500, "{body}");
    let message = body["error"].as_str().unwrap();
    assert!(message.contains("could not be set up"), "{message}");
    assert!(message.contains("build-python.sh failed"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_4xx_and_the_server_stays_up() {
    let limits = ServerLimits {
        max_body_bytes: 1 << 20,
        max_batch: 1000,
        ..Default::default()
    };
    let (url, _) = serve(limits, true).await;
    for (body, wanted) in [
        ("{not json".to_owned(), 400),
        (r#"{"query": "not a list"}"#.to_owned(), 400),
        (r#"{"query": [1, 2]}"#.to_owned(), 400),
        // A label it cannot use is that item's 0 with a reason, not a failed request.
        (r#"{"query": ["a"], "labels": [[1]]}"#.to_owned(), 200),
        (json!({"query": vec!["x"; 1001]}).to_string(), 400),
    ] {
        let (code, _) = post(&url, "/get_reward", body.clone()).await;
        assert_eq!(code, wanted, "{:.60}", body);
    }
    // A 10 MB body: the server answers 413 as soon as it sees the length, and may close the
    // connection before the client has finished sending (then the client sees a broken pipe).
    let huge = format!(r#"{{"query": ["{}"]}}"#, "x".repeat(10 << 20));
    let sent = reqwest::Client::new()
        .post(format!("{url}/get_reward"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await;
    match sent {
        Ok(response) => assert_eq!(response.status().as_u16(), 413),
        Err(err) => assert!(err.is_request(), "{err:?}"),
    }
    let (code, _) = post(
        &url,
        "/v1/reward",
        r#"{"items": [{"completion": "x", "bogus": 1}]}"#,
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(
        reqwest::get(format!("{url}/health"))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_gets_429() {
    let limits = ServerLimits {
        max_concurrent: 1,
        ..Default::default()
    };
    let (url, _) = serve(limits, true).await;
    let slow = r#"{"code": "while True: pass", "run_timeout": 1.5}"#;
    let first = tokio::spawn({
        let url = url.clone();
        async move { post(&url, "/run_code", slow).await.0 }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (second, _) = post(&url, "/run_code", slow).await;
    assert_eq!(second, 429);
    assert_eq!(first.await.unwrap(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_openapi() {
    let (url, _) = serve(ServerLimits::default(), true).await;
    post(&url, "/v1/reward", r#"{"items": [{"completion": "<think>a b c d</think><answer>1</answer>", "task": "math", "answer": "1"}]}"#).await;
    let text = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("r1_requests_total{endpoint=\"v1_reward\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("r1_reward_seconds_bucket{reward=\"accuracy\""),
        "{text}"
    );
    let spec: Value = reqwest::get(format!("{url}/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["paths"]["/get_reward"].is_object());
}

/// 1,000 clients at once, each sending small batches back to back for a bounded time: every
/// request must succeed (the concurrency limit is set above the client count).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_clients_get_no_errors() {
    let limits = ServerLimits {
        max_concurrent: 2048,
        ..Default::default()
    };
    let (url, _) = serve(limits, true).await;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut clients = tokio::task::JoinSet::new();
    for id in 0..1000 {
        let (client, url) = (client.clone(), url.clone());
        clients.spawn(async move {
            let (mut ok, mut errors) = (0u64, Vec::new());
            let mut round = 0;
            loop {
                let body = json!({
                    "query": [format!("<think>client {id} round {round}</think><answer>\\boxed{{{id}}}</answer>")],
                    "prompts": [""], "labels": [id.to_string()]});
                match client.post(format!("{url}/get_reward")).json(&body).send().await {
                    Ok(r) if r.status() == 200 => match r.json::<Value>().await {
                        Ok(v) if v["rewards"][0] == json!(2.0) => ok += 1,
                        Ok(v) => errors.push(format!("wrong reward {v}")),
                        Err(e) => errors.push(e.to_string()),
                    },
                    Ok(r) => errors.push(format!("status {}", r.status())),
                    Err(e) => errors.push(e.to_string()),
                }
                round += 1;
                if std::time::Instant::now() >= deadline {
                    return (ok, errors);
                }
            }
        });
    }
    let (mut ok, mut errors) = (0, Vec::new());
    while let Some(joined) = clients.join_next().await {
        let (n, e) = joined.unwrap();
        ok += n;
        errors.extend(e);
    }
    assert!(
        errors.is_empty(),
        "{} errors, first: {:?}",
        errors.len(),
        errors.first()
    );
    assert!(
        ok >= 1000,
        "every client finished at least one request ({ok} in all)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_item_batch_is_refused_clearly() {
    let (url, _) = serve(ServerLimits::default(), true).await;
    let million = format!(r#"{{"query": [{}""]}}"#, r#""","#.repeat(999_999));
    let (code, body) = post(&url, "/get_reward", million).await;
    assert_eq!(code, 400);
    assert!(
        body["error"].as_str().unwrap().contains("1000000 exceeds"),
        "{body}"
    );
    let items = format!(
        r#"{{"items": [{}{{"completion": ""}}]}}"#,
        r#"{"completion": ""},"#.repeat(999_999)
    );
    let (code, _) = post(&url, "/v1/reward", items).await;
    assert_eq!(code, 400);
    let (code, body) = post(
        &url,
        "/get_reward",
        r#"{"query": ["\\boxed{1}"], "labels": ["1"]}"#,
    )
    .await;
    assert_eq!((code, &body["scores"]), (200, &json!([1.0])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integers_beyond_64_bits_in_a_body_stay_exact() {
    let (url, _) = serve(ServerLimits::default(), true).await;
    let prompt = "<|im_start|>user\nWhat is 2^80 - 1?<|im_end|>\n<|im_start|>assistant\n";
    let answer = |n: &str| {
        format!("{prompt}<think>Compute.</think><answer>\\boxed{{{n}}}</answer><|im_end|>")
    };
    // A numeric label beyond 64 bits, written raw as a dataset row would carry it.
    let body = format!(
        r#"{{"query": [{}, {}], "prompts": [{p}, {p}], "labels": [1208925819614629174706175, 1208925819614629174706175]}}"#,
        json!(answer("1208925819614629174706175")),
        json!(answer("1208925819614629174706176")),
        p = json!(prompt)
    );
    let (code, body) = post(&url, "/get_reward", body).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["scores"], json!([1.0, 0.0]), "{body}");
    // Call tests with big arguments and a big expected value, as a JSON object in /v1/reward.
    let item = |code: &str| {
        format!(
            r#"{{"completion": {}, "task": "code", "tests": {{"kind": "call", "entry": "inc", "cases": [{{"input": [123456789012345678901], "output": 123456789012345678902}}]}}}}"#,
            json!(format!("```python\n{code}\n```"))
        )
    };
    let body = format!(
        r#"{{"items": [{}, {}]}}"#,
        item("def inc(x):\n    return x + 1"),
        item("def inc(x):\n    return x + 2")
    );
    let (code, body) = post(&url, "/v1/reward", body).await;
    assert_eq!(code, 200, "{body}");
    let code_value = |i: usize| {
        body["results"][i]["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "code")
            .and_then(|c| c["value"].as_f64())
    };
    assert_eq!(
        (code_value(0), code_value(1)),
        (Some(1.0), Some(0.0)),
        "{body}"
    );
}
