//! One sandbox per test binary (the first use on a machine provisions the runtime).
#![allow(dead_code)] // each test binary uses a different subset

use sandbox::{EngineOptions, Problem, Sandbox, TestReport};
use serde_json::{json, Value};
use std::sync::OnceLock;

pub fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| Sandbox::new(EngineOptions::default(), 0).expect("sandbox set-up"))
}

pub fn problem(value: Value) -> Problem {
    serde_json::from_value(value).expect("valid problem")
}

pub fn judge(value: Value) -> TestReport {
    sandbox().judge(&problem(value)).expect("judgeable")
}

/// Judge a whole program with one stdin/stdout case.
pub fn stdio(code: &str, stdin: &str, stdout: &str) -> TestReport {
    judge(
        json!({"code": code, "tests": {"kind": "stdio", "cases": [{"stdin": stdin, "stdout": stdout}]}}),
    )
}
