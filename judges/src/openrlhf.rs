//! OpenRLHF's remote reward protocol (`/get_reward`): its request, the labels real datasets put
//! in it, and a reply OpenRLHF can always read — every reward and score a number (it builds
//! tensors from them), so an item without a reward is 0 *and says so*.

use crate::bus::{Outcome, Rewarded};
use crate::reward::Sample;
use serde::Deserialize;
use serde_json::{json, Map, Value};

#[derive(Deserialize)]
pub(crate) struct OpenRlhfRequest {
    pub query: Vec<String>,
    #[serde(default)]
    pub prompts: Vec<String>,
    #[serde(default)]
    pub labels: Vec<Value>,
}

/// End-of-text tokens a decoded OpenRLHF query may end with.
const END_TOKENS: [&str; 5] = [
    "<|endoftext|>",
    "<|im_end|>",
    "</s>",
    "<｜end▁of▁sentence｜>",
    "<|eot_id|>",
];

/// The response: `query` minus its `prompt` prefix and trailing end-of-text tokens. `None` for
/// the prefix flag when the query does not start with the prompt (OpenRLHF cut a long prompt
/// from the left): the whole query is scored then.
pub(crate) fn response_of(query: &str, prompt: &str) -> (String, bool) {
    let (mut response, prefixed) = match query.strip_prefix(prompt) {
        Some(rest) => (rest, true),
        None => (query, false),
    };
    response = response.trim_end();
    while let Some(stripped) = END_TOKENS.iter().find_map(|t| response.strip_suffix(t)) {
        response = stripped.trim_end();
    }
    (response.to_owned(), prefixed)
}

/// A label as datasets write it: a math answer (string or number), or an object with `answer`
/// / `ground_truth`, `tests` (the sandbox schema, also as a JSON string), `limits`, `task`,
/// `language`. Null fields count as absent (mixed math/code rows carry `"tests": null`).
pub(crate) fn sample_from_label(
    prompt: String,
    completion: String,
    label: Value,
) -> Result<Sample, String> {
    let mut sample = Sample {
        prompt,
        completion,
        ..Default::default()
    };
    match label {
        Value::Null => {}
        Value::String(answer) if answer.is_empty() => {}
        Value::String(answer) => {
            sample.task = Some("math".into());
            sample.answer = Some(answer);
        }
        Value::Number(n) => {
            sample.task = Some("math".into());
            sample.answer = Some(n.to_string());
        }
        Value::Object(fields) if big_integer(&fields).is_some() => {
            sample.task = Some("math".into());
            sample.answer = big_integer(&fields).map(str::to_owned);
        }
        Value::Object(fields) => fill_from_object(&mut sample, fields)?,
        other => {
            return Err(format!(
                "a label must be a string or an object, not {other}"
            ))
        }
    }
    Ok(sample)
}

/// The digits of an integer the request body held beyond 64 bits (`{"$int": "<digits>"}`).
fn big_integer(fields: &Map<String, Value>) -> Option<&str> {
    match (fields.len(), fields.get("$int")) {
        (1, Some(Value::String(digits))) => Some(digits),
        _ => None,
    }
}

fn fill_from_object(sample: &mut Sample, mut fields: Map<String, Value>) -> Result<(), String> {
    fields.retain(|_, v| !v.is_null());
    if let Some(tests) = fields.remove("tests") {
        sample.tests = Some(
            sandbox::Tests::from_value(without_null_fields(json_text(tests)?))
                .map_err(|e| format!("label tests: {e}"))?,
        );
        sample.task = Some("code".into());
    }
    if let Some(limits) = fields.remove("limits") {
        sample.limits = Some(
            serde_json::from_value(without_null_fields(json_text(limits)?))
                .map_err(|e| format!("label limits: {e}"))?,
        );
    }
    for key in ["answer", "ground_truth"] {
        if let Some(answer) = fields.remove(key) {
            sample.answer = Some(match answer {
                Value::String(s) => s,
                Value::Object(big) if big_integer(&big).is_some() => {
                    big_integer(&big).unwrap_or_default().to_owned()
                }
                other => other.to_string(),
            });
            sample.task.get_or_insert_with(|| "math".into());
        }
    }
    if let Some(Value::String(task)) = fields.remove("task") {
        sample.task = Some(task);
    }
    if let Some(Value::String(language)) = fields.remove("language") {
        sample.language = Some(language);
    }
    Ok(())
}

/// A value datasets often store as a JSON string (HF `datasets` columns): parsed when it is one.
fn json_text(value: Value) -> Result<Value, String> {
    match value {
        Value::String(text) => {
            serde_json::from_str(&text).map_err(|e| format!("label field is not JSON: {e}"))
        }
        other => Ok(other),
    }
}

/// An object's null-valued keys dropped (`"script": null` beside a stdio test); values inside
/// lists are kept (a call case's expected `None` is `null`).
fn without_null_fields(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_null_fields(v)))
                .collect(),
        ),
        other => other,
    }
}

/// One item's result: the bus's breakdown, or why its label could not be used.
pub(crate) type ItemResult = Result<Rewarded, String>;

/// The reply. `rewards` is the bus total and `scores` correctness (the `accuracy` or `code`
/// component) for dynamic filtering; an item with a failed reward or an unusable label gets 0
/// in both, is named in `failed` (the components, or `label`), counts 1 in
/// `extra_logs.reward_failed`, and carries its reason in `errors`.
pub(crate) fn reply(reward_names: &[&str], items: &[ItemResult]) -> Value {
    let rewards: Vec<f64> = items
        .iter()
        .map(|r| r.as_ref().ok().and_then(Rewarded::reward).unwrap_or(0.0))
        .collect();
    let scores: Vec<f64> = items.iter().map(score).collect();
    let failed: Vec<Vec<&str>> = items
        .iter()
        .map(|r| match r {
            Ok(rewarded) => rewarded.failed(),
            Err(_) => vec!["label"],
        })
        .collect();
    let errors: Vec<Option<String>> = items.iter().map(error_of).collect();
    let mut extra_logs = Map::new();
    for name in reward_names {
        // Per component; skipped and failed count 0 (the item's `failed` says which failed).
        let values: Vec<f64> = items
            .iter()
            .map(|r| {
                let component = r
                    .as_ref()
                    .ok()
                    .and_then(|r| r.components.iter().find(|c| c.name == *name));
                component.and_then(|c| c.value).unwrap_or(0.0)
            })
            .collect();
        extra_logs.insert((*name).to_owned(), json!(values));
    }
    let flags: Vec<f64> = failed
        .iter()
        .map(|f| f64::from(u8::from(!f.is_empty())))
        .collect();
    extra_logs.insert("reward_failed".into(), json!(flags));
    json!({"rewards": rewards, "scores": scores, "extra_logs": extra_logs, "failed": failed,
           "errors": errors})
}

fn score(item: &ItemResult) -> f64 {
    let Ok(rewarded) = item else { return 0.0 };
    if !rewarded.is_complete() {
        return 0.0;
    }
    rewarded
        .components
        .iter()
        .find(|c| matches!(c.name.as_str(), "accuracy" | "code") && c.outcome == Outcome::Scored)
        .and_then(|c| c.value)
        .unwrap_or(0.0)
}

fn error_of(item: &ItemResult) -> Option<String> {
    match item {
        Err(reason) => Some(format!("label: {reason}")),
        Ok(rewarded) if !rewarded.is_complete() => Some(
            rewarded
                .components
                .iter()
                .filter(|c| c.outcome.is_failure())
                .map(|c| format!("{}: {}", c.name, c.reason))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Ok(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(value: Value) -> Result<Sample, String> {
        sample_from_label("p".into(), "c".into(), value)
    }

    #[test]
    fn dataset_label_shapes_are_read() {
        // Mixed math/code rows as HF `datasets` writes them.
        let math = label(json!({"answer": "4", "tests": null, "script": null})).unwrap();
        assert_eq!(
            (math.answer.as_deref(), math.task.as_deref()),
            (Some("4"), Some("math"))
        );
        assert!(math.tests.is_none());
        // `answer: null` is no answer, not the text "null".
        assert_eq!(label(json!({"answer": null})).unwrap().answer, None);
        // Tests as a JSON string, with a stray null key.
        let tests =
            json!({"kind": "stdio", "cases": [{"stdin": "1\n", "stdout": "1\n"}], "script": null});
        let code = label(json!({"tests": tests.to_string()})).unwrap();
        assert_eq!(code.task.as_deref(), Some("code"));
        assert!(code.tests.is_some());
        assert!(label(json!({"tests": "not json"})).is_err());
        // A dataset's own format (APPS / TACO / DeepCoder), as the JSON string they store.
        let apps = json!({"inputs": ["2\n"], "outputs": ["4\n"]}).to_string();
        let code = label(json!({"tests": apps})).unwrap();
        assert!(matches!(code.tests, Some(sandbox::Tests::Stdio { .. })));
        assert!(label(json!([1, 2])).is_err());
    }

    #[test]
    fn the_prompt_prefix_is_cut_when_present() {
        assert_eq!(
            response_of("Q: 1+1? A: 2<|im_end|>", "Q: 1+1?"),
            (" A: 2".into(), true)
        );
        assert_eq!(
            response_of("cut prompt A: 2", "Q: long prompt"),
            ("cut prompt A: 2".into(), false)
        );
    }

    #[test]
    fn every_reward_and_log_is_a_number() {
        let items: Vec<ItemResult> = vec![Err("bad tests".into())];
        let body = reply(&["accuracy"], &items);
        assert_eq!(body["rewards"], json!([0.0]));
        assert_eq!(body["scores"], json!([0.0]));
        assert_eq!(body["extra_logs"]["accuracy"], json!([0.0]));
        assert_eq!(body["extra_logs"]["reward_failed"], json!([1.0]));
        assert_eq!(body["failed"], json!([["label"]]));
        assert!(body["errors"][0].as_str().unwrap().contains("bad tests"));
    }
}
