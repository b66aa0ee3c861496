//! Replays every request TRL, verl and OpenRLHF sent to `r1-reward` when their own reward code ran
//! against it (`benches/compat/run.sh` records them in `tests/fixtures/clients/<client>-<version>.jsonl`)
//! and asserts the status and the body are the captured ones. The only field ignored is the time
//! each reward took (`/v1/reward`: `results[].components[].millis`); there are no request ids.

mod common;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// One captured request/response pair.
struct Record {
    at: String,
    method: String,
    path: String,
    request: Value,
    status: u16,
    response: Value,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clients")
}

fn records() -> Vec<Record> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("tests/fixtures/clients (run benches/compat/run.sh)")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for client in ["trl-", "verl-", "openrlhf-"] {
        assert!(
            names.iter().any(|n| n.starts_with(client)),
            "no {client}*.jsonl capture in {names:?}"
        );
    }
    let mut records = Vec::new();
    for (file, name) in files.iter().zip(&names) {
        let text = std::fs::read_to_string(file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let at = format!("{name}:{}", i + 1);
            let mut value: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: {e}"));
            let field = |value: &mut Value, key: &str| value[key].take();
            records.push(Record {
                method: field(&mut value, "method").as_str().unwrap().to_owned(),
                path: field(&mut value, "path").as_str().unwrap().to_owned(),
                request: field(&mut value, "request"),
                status: field(&mut value, "status").as_u64().unwrap() as u16,
                response: field(&mut value, "response"),
                at,
            });
        }
    }
    records
}

/// The body without the fields that legitimately vary between runs: the milliseconds each reward
/// took in `/v1/reward` (`results[].components[].millis`).
fn without_varying(path: &str, mut body: Value) -> Value {
    if path == "/v1/reward" {
        let results = body.get_mut("results").and_then(Value::as_array_mut);
        for result in results.into_iter().flatten() {
            let components = result.get_mut("components").and_then(Value::as_array_mut);
            for component in components.into_iter().flatten() {
                if let Some(fields) = component.as_object_mut() {
                    fields.remove("millis");
                }
            }
        }
    }
    body
}

/// Where two JSON values first differ, as a JSON pointer with both sides.
fn first_difference(want: &Value, got: &Value, at: &str) -> Option<String> {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for key in a.keys().chain(b.keys()) {
                let (x, y) = (a.get(key), b.get(key));
                let here = format!("{at}/{key}");
                match (x, y) {
                    (Some(x), Some(y)) => {
                        if let Some(d) = first_difference(x, y, &here) {
                            return Some(d);
                        }
                    }
                    _ => return Some(format!("{here}: captured {x:?}, replayed {y:?}")),
                }
            }
            None
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(x, y, &format!("{at}/{i}"))),
        _ if want == got => None,
        _ => Some(format!("{at}: captured {want}, replayed {got}")),
    }
}

/// Why a replayed answer differs from the captured one (`None`: it does not).
fn mismatch(record: &Record, status: u16, body: &Value) -> Option<String> {
    if status != record.status {
        return Some(format!(
            "status: captured {}, replayed {status}",
            record.status
        ));
    }
    let want = without_varying(&record.path, record.response.clone());
    let got = without_varying(&record.path, body.clone());
    first_difference(&want, &got, "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_captured_client_request_gets_the_captured_answer() {
    let records = records();
    let url = common::serve_default().await;

    let client = reqwest::Client::new();
    let mut failures = Vec::new();
    for record in &records {
        let method = reqwest::Method::from_bytes(record.method.as_bytes()).unwrap();
        let mut request = client.request(method, format!("{url}{}", record.path));
        if !record.request.is_null() {
            request = request
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&record.request).unwrap());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if let Some(why) = mismatch(record, status, &body) {
            failures.push(format!(
                "{} ({} {}): {why}",
                record.at, record.method, record.path
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} captured client requests answered differently:\n{}",
        failures.len(),
        records.len(),
        failures.join("\n")
    );
}

/// The comparison is strict: a changed reward, a component's outcome or an extra key is caught;
/// only `millis` in `/v1/reward` is not.
#[test]
fn the_comparison_catches_a_changed_reward() {
    let records = records();
    let openrlhf = records
        .iter()
        .find(|r| {
            r.path == "/get_reward"
                && r.response["rewards"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
        })
        .expect("a captured /get_reward reply");
    assert_eq!(
        mismatch(openrlhf, openrlhf.status, &openrlhf.response),
        None
    );
    let mut changed = openrlhf.response.clone();
    let reward = changed["rewards"][0].as_f64().unwrap();
    changed["rewards"][0] = json!(reward + 0.5);
    let why = mismatch(openrlhf, openrlhf.status, &changed).expect("a changed reward is caught");
    assert!(why.starts_with("/rewards/0"), "{why}");
    assert!(mismatch(openrlhf, 500, &openrlhf.response).is_some());

    let native = records
        .iter()
        .find(|r| r.path == "/v1/reward" && r.status == 200)
        .expect("a captured /v1/reward reply");
    let mut timed = native.response.clone();
    timed["results"][0]["components"][0]["millis"] = json!(12345.0);
    assert_eq!(mismatch(native, 200, &timed), None, "millis is ignored");
    let mut outcome = native.response.clone();
    outcome["results"][0]["components"][0]["outcome"] = json!("failed");
    assert!(mismatch(native, 200, &outcome).is_some());
    let mut extra = native.response.clone();
    extra["results"][0]["new_field"] = json!(1);
    assert!(mismatch(native, 200, &extra).is_some());
}
