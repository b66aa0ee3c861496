//! SandboxFusion's submit request (`{"completion", "config": {"language", "run_timeout",
//! "memory_limit_mb", "provided_data", "extra"}}`) as a [`Problem`], so code written against its
//! evaluation API judges here unchanged.

use crate::problem::{Compare, Limits, Problem, Tests};
use serde_json::Value;

/// Whether `value` is a SandboxFusion submit request rather than the sandbox's own problem.
pub fn is_submit_request(value: &Value) -> bool {
    value.get("completion").is_some()
        && value.get("config").is_some()
        && value.get("code").is_none()
}

/// A SandboxFusion submit request as a problem.
pub fn problem_from_submit(request: &Value) -> Result<Problem, String> {
    let completion = request
        .get("completion")
        .and_then(Value::as_str)
        .ok_or("a submit request needs `completion` as a string")?;
    let config = request
        .get("config")
        .and_then(Value::as_object)
        .ok_or("a submit request needs `config` as an object")?;
    if config
        .get("extra")
        .and_then(|e| e.get("special_judge_program"))
        .is_some_and(|p| !p.is_null())
    {
        return Err(
            "`special_judge_program` (a program reading files) is not supported: give \
                    the sandbox's stdio tests a `checker` defining check(input, expected, actual)"
                .into(),
        );
    }
    let provided = config
        .get("provided_data")
        .ok_or("a submit request needs `config.provided_data`")?;
    let cases = provided.get("test_cases").unwrap_or(provided);
    let mut limits = Limits::default();
    if let Some(seconds) = config.get("run_timeout").and_then(Value::as_f64) {
        limits.time_ms = (seconds * 1e3).round().clamp(1.0, u64::MAX as f64) as u64;
    }
    if let Some(mb) = config.get("memory_limit_mb").and_then(Value::as_u64) {
        limits.memory_mb = mb;
    }
    Ok(Problem {
        id: request.get("id").map(|id| match id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        language: config
            .get("language")
            .and_then(Value::as_str)
            .unwrap_or("python")
            .to_owned(),
        code: completion.to_owned(),
        tests: Tests::from_value(cases.clone())?,
        limits,
        compare: Compare::default(),
    })
}

impl Problem {
    /// The sandbox's problem schema, or a SandboxFusion submit request.
    pub fn from_value(value: Value) -> Result<Problem, String> {
        if is_submit_request(&value) {
            return problem_from_submit(&value);
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::CallCase;
    use serde_json::json;

    #[test]
    fn each_test_case_type_becomes_sandbox_tests() {
        let stdio =
            json!({"type": "stdin_stdout", "input": ["1 2"], "output": ["3"], "fn_name": null});
        let Tests::Stdio { cases, .. } = Tests::from_value(stdio).unwrap() else {
            panic!("stdio")
        };
        assert_eq!(
            (cases[0].stdin.as_str(), cases[0].stdout.as_str()),
            ("1 2", "3")
        );
        let call = json!({"test_cases": {"type": "function_call", "input": [[1, 2]],
                          "output": [[3]], "fn_name": "add"}});
        let Tests::Call { entry, cases } = Tests::from_value(call).unwrap() else {
            panic!("call")
        };
        assert_eq!(entry, "add");
        assert_eq!(cases[0].or_output, Some(json!(3)));
        let lines = json!({"type": "function_call", "input": ["[1, 2]\n5"], "output": [[3]],
                           "fn_name": "f", "json_input": true});
        let Tests::Call { cases, .. } = Tests::from_value(lines).unwrap() else {
            panic!("call")
        };
        assert_eq!(
            cases[0],
            CallCase {
                input: vec![json!([1, 2]), json!(5)],
                output: json!([3]),
                raises: None,
                or_output: Some(json!(3)),
            }
        );
        let assert = json!({"type": "assert", "test": "def check(c): pass", "entry_point": "f"});
        assert!(matches!(
            Tests::from_value(assert),
            Ok(Tests::Assert { .. })
        ));
    }

    #[test]
    fn a_submit_request_is_a_problem_and_its_limits_carry_over() {
        let request = json!({"id": 7, "completion": "```python\nprint(3)\n```",
            "config": {"language": "python", "run_timeout": 1.5, "memory_limit_mb": 512,
                       "provided_data": {"test_cases": {"type": "stdin_stdout",
                                         "input": [""], "output": ["3"]}},
                       "extra": {"run_all_cases": true}}});
        let problem = Problem::from_value(request).unwrap();
        assert_eq!(problem.id.as_deref(), Some("7"));
        assert_eq!(
            (problem.limits.time_ms, problem.limits.memory_mb),
            (1500, 512)
        );
        assert_eq!(problem.test_count(), 1);
    }

    #[test]
    fn what_cannot_be_judged_here_is_a_clear_error() {
        for bad in [
            json!({"completion": "x", "config": {"provided_data": {"test_cases":
                {"type": "stdin_stdout", "input": ["1"], "output": ["1"]}},
                "extra": {"special_judge_program": "import sys"}}}),
            json!({"completion": "x", "config": {}}),
            json!({"completion": "x", "config": {"provided_data": {"test_cases":
                {"type": "function_call", "input": [[1]], "output": [[1]]}}}}),
            json!({"completion": "x", "config": {"provided_data": {"test_cases":
                {"type": "jupyter"}}}}),
        ] {
            let err = Problem::from_value(bad.clone()).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
    }
}
