//! The crate's public input: one problem with its tests, as JSON (also the CLI's and the reward
//! server's schema).

use serde::{Deserialize, Serialize};

/// A solution to judge and the tests it must pass.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default = "python")]
    pub language: String,
    /// Solution source, or a raw completion whose last fenced python block is the solution.
    pub code: String,
    /// The sandbox schema, or a dataset's `{"inputs", "outputs", "fn_name"?}` (also as a JSON
    /// string).
    #[serde(deserialize_with = "crate::dataset::any_format")]
    pub tests: Tests,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub compare: Compare,
}

fn python() -> String {
    "python".to_owned()
}

/// The three test shapes found in code-RL datasets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Tests {
    /// LeetCode / APPS `fn_name`: call `entry` with JSON arguments, compare the return value.
    Call { entry: String, cases: Vec<CallCase> },
    /// Whole program: feed stdin, compare stdout token-wise — or, for problems with several
    /// right outputs (special judge), let `checker` decide.
    Stdio {
        cases: Vec<StdioCase>,
        /// Python source defining `check(input, expected, actual)` (all text); it returns a
        /// truth value or `(ok, message)`, or nothing to accept; an `AssertionError` rejects. It
        /// runs in its own instance after the solution, which never sees it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checker: Option<String>,
    },
    /// HumanEval style: `script` defines `check(candidate)`; it runs with `entry` as candidate.
    Assert { entry: String, script: String },
    /// LeetCode design problems (`LRUCache`): `ops[0]` constructs `class` with `args[0]`, each
    /// later op is a method called with its `args`; the returns are compared with `outputs`
    /// (the constructor's is `null`), op by op.
    Design {
        class: String,
        ops: Vec<String>,
        args: Vec<Vec<serde_json::Value>>,
        outputs: Vec<serde_json::Value>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallCase {
    /// Positional arguments.
    pub input: Vec<serde_json::Value>,
    /// The expected return value (absent with `raises`).
    #[serde(default)]
    pub output: serde_json::Value,
    /// The call must raise this exception class (or a subclass of it), e.g. `"ValueError"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raises: Option<String>,
    /// Another accepted return value (datasets in the APPS shape wrap the value in a list and
    /// accept either).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub or_output: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdioCase {
    #[serde(default)]
    pub stdin: String,
    pub stdout: String,
}

/// Per-test resource limits.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock budget of one test (instantiation, loading the solution and running it).
    #[serde(default = "default_time_ms")]
    pub time_ms: u64,
    /// Linear-memory cap of the solution's instance.
    #[serde(default = "default_memory_mb")]
    pub memory_mb: u64,
    /// Optional deterministic budget in wasm fuel units (needs a sandbox built with fuel metering).
    #[serde(default)]
    pub fuel: Option<u64>,
    /// Cap on captured stdout (and separately stderr) per test.
    #[serde(default = "default_output_kb")]
    pub output_kb: u64,
}

fn default_time_ms() -> u64 {
    2_000
}
fn default_memory_mb() -> u64 {
    256
}
fn default_output_kb() -> u64 {
    1_024
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            time_ms: default_time_ms(),
            memory_mb: default_memory_mb(),
            fuel: None,
            output_kb: default_output_kb(),
        }
    }
}

/// How outputs are compared on the host.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Compare {
    /// Absolute-or-relative tolerance for floats (`|a-b| <= tol * max(1, |b|)`); 0 means exact.
    #[serde(default = "default_float_tol")]
    pub float_tol: f64,
    /// Treat a returned list (call) or the output lines (stdio) as a multiset.
    #[serde(default)]
    pub unordered: bool,
}

fn default_float_tol() -> f64 {
    1e-6
}

impl Default for Compare {
    fn default() -> Self {
        Compare {
            float_tol: default_float_tol(),
            unordered: false,
        }
    }
}

impl Problem {
    /// Number of separately judged tests.
    pub fn test_count(&self) -> usize {
        match &self.tests {
            Tests::Call { cases, .. } => cases.len(),
            Tests::Stdio { cases, .. } => cases.len(),
            Tests::Assert { .. } | Tests::Design { .. } => 1,
        }
    }
}
