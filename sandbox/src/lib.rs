//! Judge untrusted Python solutions against LeetCode-, stdin/stdout- and HumanEval-style tests,
//! inside wasmtime.
//!
//! The guest is CPython 3.11 built for WASI by this crate's provisioning step
//! ([`runtime`]), snapshotted after start-up, and instantiated fresh for every test. Expected
//! outputs stay on the host ([`compare`]); an `assert` check script runs in a second instance
//! that reaches the solution only through host calls.
//!
//! ```no_run
//! use sandbox::{EngineOptions, Problem, Sandbox};
//! let sandbox = Sandbox::new(EngineOptions::default(), 0)?;
//! let problem: Problem = serde_json::from_str(r#"{"code": "print(int(input()) * 2)",
//!     "tests": {"kind": "stdio", "cases": [{"stdin": "21\n", "stdout": "42\n"}]}}"#)?;
//! assert!(sandbox.judge(&problem)?.passed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod capture;
pub mod compare;
pub mod dataset;
mod engine;
mod error;
pub mod exact_json;
pub mod extract;
mod fusion;
mod grade;
pub mod problem;
mod report;
pub mod runtime;
mod sleep;
pub mod submit;

pub use engine::EngineOptions;
pub use error::{Cause, SandboxError};
pub use grade::{ProgramRun, Sandbox};
pub use problem::{CallCase, Compare, Limits, Problem, StdioCase, Tests};
pub use report::{CaseResult, CaseStatus, TestReport};
