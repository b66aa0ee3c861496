//! Test formats as code-RL datasets ship them (APPS, TACO, CodeContests, DeepCoder,
//! LiveCodeBench, PrimeIntellect; verl's `prime_code` ground truth): `{"inputs": [...],
//! "outputs": [...], "fn_name"?: "..."}`, often serialised as a JSON string. They are read into
//! the sandbox's own [`Tests`], so every entry point (CLI, `/v1/reward`, `/get_reward`, the
//! shims) judges them alike. SandboxFusion's `test_cases` come in through [`crate::fusion`].

use crate::fusion::{self, Translated};
use crate::problem::{CallCase, StdioCase, Tests};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

impl Tests {
    /// The sandbox schema (`{"kind": ...}`), or a dataset's `inputs`/`outputs` (`fn_name`: call
    /// tests, else stdio), either as an object or as a JSON string holding one.
    pub fn from_value(value: Value) -> Result<Tests, String> {
        match value {
            Value::String(text) => {
                let parsed = crate::exact_json::parse(&text)
                    .map_err(|e| format!("tests are not JSON: {e}"))?;
                match parsed {
                    Value::String(_) => Err("tests are a JSON string inside a JSON string".into()),
                    other => Tests::from_value(other),
                }
            }
            Value::Object(fields) if fields.contains_key("kind") => {
                serde_json::from_value(Value::Object(fields)).map_err(|e| e.to_string())
            }
            Value::Object(mut fields) if fields.contains_key("test_cases") => {
                Tests::from_value(fields.remove("test_cases").unwrap_or_default())
            }
            Value::Object(fields) if fields.contains_key("type") => {
                match fusion::translate(&fields)? {
                    Translated::Rows(rows) => from_dataset(&rows),
                    Translated::Tests(tests) => Ok(tests),
                }
            }
            Value::Object(fields) => from_dataset(&fields),
            other => Err(format!(
                "tests must be an object or a JSON string, not {other}"
            )),
        }
    }
}

fn list<'a>(fields: &'a Map<String, Value>, key: &str) -> Result<&'a Vec<Value>, String> {
    fields
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("dataset tests need `{key}` as a list"))
}

fn from_dataset(fields: &Map<String, Value>) -> Result<Tests, String> {
    let (inputs, outputs) = (list(fields, "inputs")?, list(fields, "outputs")?);
    if inputs.len() != outputs.len() || inputs.is_empty() {
        return Err(format!(
            "dataset tests: {} inputs for {} outputs",
            inputs.len(),
            outputs.len()
        ));
    }
    match fields
        .get("fn_name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        Some(entry) => Ok(Tests::Call {
            entry: entry.to_owned(),
            cases: inputs.iter().zip(outputs).map(call_case).collect(),
        }),
        None => Ok(Tests::Stdio {
            checker: None,
            cases: inputs
                .iter()
                .zip(outputs)
                .map(|(stdin, stdout)| StdioCase {
                    stdin: text_of(stdin),
                    stdout: text_of(stdout),
                })
                .collect(),
        }),
    }
}

/// A call case: the input is the argument list (a bare value is one argument). APPS-style
/// outputs wrap the return value in a one-item list; like APPS's own checker, the value itself
/// or that list is accepted.
fn call_case((input, output): (&Value, &Value)) -> CallCase {
    let input = match input {
        Value::Array(arguments) => arguments.clone(),
        other => vec![other.clone()],
    };
    let also = match output {
        Value::Array(items) if items.len() == 1 => Some(items[0].clone()),
        _ => None,
    };
    CallCase {
        input,
        output: output.clone(),
        raises: None,
        or_output: also,
    }
}

/// Stdin / stdout text: a string as is, a list of lines joined.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(lines) => lines
            .iter()
            .map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

/// `#[serde(deserialize_with)]` for a [`Tests`] field that accepts every format above.
pub fn any_format<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tests, D::Error> {
    Tests::from_value(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
}

/// The same for an optional field (`null` is no tests).
pub fn any_format_opt<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Tests>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        value => Tests::from_value(value)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stdio_and_call_datasets_become_sandbox_tests() {
        let stdio = json!({"inputs": ["1 2\n", ["3 4"]], "outputs": ["3\n", "7"]});
        let Tests::Stdio { cases, .. } = Tests::from_value(json!(stdio.to_string())).unwrap()
        else {
            panic!("stdio expected");
        };
        assert_eq!(
            (cases[1].stdin.as_str(), cases[1].stdout.as_str()),
            ("3 4", "7")
        );
        let call = json!({"inputs": [[1, 2], [5]], "outputs": [[3], 5], "fn_name": "add"});
        let Tests::Call { entry, cases } = Tests::from_value(call).unwrap() else {
            panic!("call expected");
        };
        assert_eq!(entry, "add");
        assert_eq!(cases[0].input, vec![json!(1), json!(2)]);
        assert_eq!(cases[0].or_output, Some(json!(3)));
        assert_eq!(cases[1].or_output, None);
    }

    #[test]
    fn bad_dataset_tests_are_clear_errors() {
        for bad in [
            json!({"inputs": ["1"], "outputs": []}),
            json!({"inputs": "1"}),
            json!("{not json"),
            json!(3),
        ] {
            assert!(Tests::from_value(bad).is_err());
        }
        // The sandbox's own schema still goes through its own checks.
        assert!(Tests::from_value(json!({"kind": "stdio", "cases": [], "x": 1})).is_err());
    }
}
