//! SandboxFusion's `test_cases` (`{"type": "stdin_stdout" | "function_call" | "assert", ...}`)
//! translated into what the sandbox reads: the datasets' `{inputs, outputs, fn_name?}` rows, or an
//! `assert` test. Its whole submit request is read in [`crate::submit`].

use crate::problem::Tests;
use serde_json::{Map, Value};

/// What SandboxFusion test cases become.
pub(crate) enum Translated {
    /// Rows in the datasets' format (`crate::dataset` reads them).
    Rows(Map<String, Value>),
    Tests(Tests),
}

/// `test_cases` of the `type` given.
pub(crate) fn translate(fields: &Map<String, Value>) -> Result<Translated, String> {
    let kind = fields.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "stdin_stdout" | "function_call" => {
            let mut rows = Map::new();
            let inputs = renamed(fields, "input", "inputs")?;
            let json_input = fields.get("json_input").and_then(Value::as_bool) == Some(true);
            let inputs = if json_input {
                inputs
                    .iter()
                    .map(arguments_from_lines)
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                inputs.clone()
            };
            rows.insert("inputs".into(), Value::Array(inputs));
            rows.insert(
                "outputs".into(),
                Value::Array(renamed(fields, "output", "outputs")?.clone()),
            );
            if kind == "function_call" {
                let name = fields.get("fn_name").and_then(Value::as_str);
                let name = name.filter(|n| !n.is_empty()).ok_or(
                    "SandboxFusion `function_call` test cases need a `fn_name`".to_owned(),
                )?;
                rows.insert("fn_name".into(), Value::String(name.to_owned()));
            }
            Ok(Translated::Rows(rows))
        }
        "assert" => {
            let script = ["test", "tests"]
                .iter()
                .find_map(|k| fields.get(*k).and_then(Value::as_str))
                .ok_or("SandboxFusion `assert` test cases need `test` (the check script)")?;
            let entry = fields
                .get("entry_point")
                .and_then(Value::as_str)
                .ok_or("SandboxFusion `assert` test cases need `entry_point`")?;
            Ok(Translated::Tests(Tests::Assert {
                entry: entry.to_owned(),
                script: script.to_owned(),
            }))
        }
        other => Err(format!(
            "SandboxFusion test case type `{other}` is not one of stdin_stdout, function_call, assert"
        )),
    }
}

fn renamed<'a>(
    fields: &'a Map<String, Value>,
    key: &str,
    alias: &str,
) -> Result<&'a Vec<Value>, String> {
    fields
        .get(key)
        .or_else(|| fields.get(alias))
        .and_then(Value::as_array)
        .ok_or_else(|| format!("SandboxFusion test cases need `{key}` as a list"))
}

/// LiveCodeBench's `json_input`: one JSON value per line of the input string.
fn arguments_from_lines(input: &Value) -> Result<Value, String> {
    let Value::String(text) = input else {
        return Ok(input.clone());
    };
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .map_err(|e| format!("json_input line {line:?} is not JSON: {e}"))
        })
        .collect::<Result<Vec<Value>, String>>()
        .map(Value::Array)
}
