//! `r1-train serve`'s endpoint on a real loopback socket: the reward bus's own OpenAI client
//! talks to it, greedy replies are reproducible, limits are honoured, bad requests get
//! OpenAI-shaped 400s.

use judges::generative::{ChatModel, ChatRequest, Message, OpenAiChat, OpenAiOptions};
use policy_trainer::model::ModelSource;
use policy_trainer::serve::{app, ServeState};
use policy_trainer::train::policy::Policy;
use std::sync::{Arc, Mutex};

async fn start() -> String {
    let source: ModelSource = toml::from_str("source = \"toy\"\ntemplate = \"chatml\"").unwrap();
    let policy = Policy::load(&source, None, 3).unwrap();
    let state = Arc::new(ServeState {
        policy: Mutex::new(policy),
        model_name: "toy".into(),
        max_tokens_limit: 64,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app(state)).await.unwrap() });
    format!("http://{address}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_judge_client_talks_to_a_served_policy() {
    let url = start().await;
    let options: OpenAiOptions =
        serde_json::from_value(serde_json::json!({"url": url, "model": "toy"})).unwrap();
    let client = OpenAiChat::new(&options).unwrap();
    let request = ChatRequest {
        messages: vec![
            Message::new("system", "answer briefly"),
            Message::new("user", "sort 3 1 2 0"),
        ],
        max_tokens: 12,
        temperature: 0.0,
        top_logprobs: None,
    };
    let first = client.chat(&request).await.unwrap();
    let second = client.chat(&request).await.unwrap();
    assert_eq!(
        first.content, second.content,
        "greedy replies are reproducible"
    );

    let http = reqwest::Client::new();
    let reply: serde_json::Value = http
        .post(format!("{url}/v1/chat/completions"))
        .json(&serde_json::json!({"model": "toy", "messages": [{"role": "user", "content": "sum 1 2 3 4"}],
                                  "max_tokens": 5, "n": 3, "temperature": 1.0, "seed": 9}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["object"], "chat.completion");
    assert_eq!(reply["choices"].as_array().unwrap().len(), 3);
    assert!(reply["usage"]["completion_tokens"].as_u64().unwrap() <= 15);
    for choice in reply["choices"].as_array().unwrap() {
        assert!(matches!(
            choice["finish_reason"].as_str(),
            Some("stop" | "length")
        ));
        assert!(choice["message"]["content"].is_string());
    }
    let models: serde_json::Value = http
        .get(format!("{url}/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "toy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_openai_shaped_errors() {
    let url = start().await;
    let http = reqwest::Client::new();
    for (body, needle) in [
        ("{not json".to_string(), ""),
        (
            r#"{"messages": []}"#.to_string(),
            "messages must not be empty",
        ),
        (
            r#"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 1000}"#.to_string(),
            "max_tokens",
        ),
        (
            r#"{"messages": [{"role": "user", "content": "x"}], "top_p": 0}"#.to_string(),
            "top_p",
        ),
        (r#"{"messages": [{"role": "user"}]}"#.to_string(), "content"),
    ] {
        let response = http
            .post(format!("{url}/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: serde_json::Value = response.json().await.unwrap();
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body}: {message}");
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }
    // Still serving.
    let health = http.get(format!("{url}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}
