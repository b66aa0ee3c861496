//! What a judged problem returns: one outcome per test plus the totals a reward needs.

use serde::Serialize;

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Pass,
    WrongAnswer,
    TimeLimit,
    MemoryLimit,
    OutputLimit,
    RuntimeError,
    CompileError,
    /// The judge itself could not run the test (bad test script, guest harness fault).
    JudgeError,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Pass => "pass",
            CaseStatus::WrongAnswer => "wrong_answer",
            CaseStatus::TimeLimit => "time_limit",
            CaseStatus::MemoryLimit => "memory_limit",
            CaseStatus::OutputLimit => "output_limit",
            CaseStatus::RuntimeError => "runtime_error",
            CaseStatus::CompileError => "compile_error",
            CaseStatus::JudgeError => "judge_error",
        }
    }
}

/// One test's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub status: CaseStatus,
    /// Wall time of the test, instantiation included.
    pub time_ms: f64,
    /// Why it failed: traceback tail, first differing token, limit hit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Fuel consumed when fuel metering is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
    /// Peak linear memory of the solution's instance.
    pub memory_bytes: u64,
}

/// The verdict for one problem.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Every test passed (and there was at least one).
    pub passed: bool,
    pub pass_rate: f64,
    /// The first failing status, or `pass`.
    pub verdict: CaseStatus,
    /// How the code was taken from the completion: `fenced`, `whole`.
    pub extracted: &'static str,
    pub cases: Vec<CaseResult>,
    pub time_ms: f64,
}

impl TestReport {
    pub(crate) fn from_cases(
        id: Option<String>,
        extracted: &'static str,
        cases: Vec<CaseResult>,
        time_ms: f64,
    ) -> TestReport {
        let passes = cases
            .iter()
            .filter(|c| c.status == CaseStatus::Pass)
            .count();
        let verdict = cases
            .iter()
            .map(|c| c.status)
            .find(|s| *s != CaseStatus::Pass)
            .unwrap_or(if cases.is_empty() {
                CaseStatus::JudgeError
            } else {
                CaseStatus::Pass
            });
        TestReport {
            id,
            passed: !cases.is_empty() && passes == cases.len(),
            pass_rate: if cases.is_empty() {
                0.0
            } else {
                passes as f64 / cases.len() as f64
            },
            verdict,
            extracted,
            cases,
            time_ms,
        }
    }
}
