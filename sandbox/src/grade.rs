//! From a [`Problem`] to a [`TestReport`]: one fresh instance per test, tests in parallel, outputs
//! compared on the host.

use crate::compare::{stdout_matches, value_matches};
use crate::engine::{EngineOptions, Failure, GuestEngine, Reply, Run, WORKER_STACK_BYTES};
use crate::error::SandboxError;
use crate::extract::extract_code;
use crate::problem::{CallCase, Compare, Limits, Problem, StdioCase, Tests};
use crate::report::{CaseResult, CaseStatus, TestReport};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::time::Instant;

/// Judges problems. Cheap to share: one per process is plenty.
pub struct Sandbox {
    engine: GuestEngine,
    pool: rayon::ThreadPool,
}

/// Most memory a test may ask for (a wasm32 memory is at most 4 GiB).
const MAX_MEMORY_MB: u64 = 4096;
/// Longest time limit a test may ask for.
const MAX_TIME_MS: u64 = 600_000;

impl Sandbox {
    /// Provision the runtime if needed (first use on a machine builds it) and load it.
    pub fn new(options: EngineOptions, threads: usize) -> Result<Sandbox, SandboxError> {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            threads
        };
        let options = EngineOptions {
            max_instances: options.max_instances.max(4 * threads as u32 + 4),
            ..options
        };
        let engine = GuestEngine::new(options)?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .stack_size(WORKER_STACK_BYTES)
            .thread_name(|i| format!("r1-judge-{i}"))
            .build()?;
        Ok(Sandbox { engine, pool })
    }

    /// Whether `limits.fuel` is honoured.
    pub fn fuel_enabled(&self) -> bool {
        self.engine.fuel_enabled()
    }

    /// Judge one problem; its tests run in parallel.
    pub fn judge(&self, problem: &Problem) -> Result<TestReport, SandboxError> {
        validate(problem)?;
        Ok(self.pool.install(|| self.judge_checked(problem)))
    }

    /// Judge many problems on all worker threads; one result per input, same order.
    pub fn judge_all(&self, problems: &[Problem]) -> Vec<Result<TestReport, SandboxError>> {
        self.pool.install(|| {
            problems
                .par_iter()
                .map(|p| validate(p).map(|()| self.judge_checked(p)))
                .collect()
        })
    }

    /// Run a program once with `stdin` (no judging), as SandboxFusion's `/run_code` does.
    pub fn run_program(&self, code: &str, stdin: &str, limits: &Limits) -> ProgramRun {
        self.pool.install(|| {
            let started = Instant::now();
            let (status, detail, stdout, stderr) =
                match self.engine.start(stdin.as_bytes(), limits, 0) {
                    Err(f) => (f.status, Some(f.detail), Vec::new(), String::new()),
                    Ok(mut run) => {
                        let finished = run_main(&mut run, code);
                        let outcome = run.output_verdict(finished);
                        let (status, detail) = match outcome {
                            Ok(()) => (CaseStatus::Pass, None),
                            Err(f) => (f.status, Some(f.detail)),
                        };
                        (status, detail, run.stdout(), run.stderr_tail())
                    }
                };
            ProgramRun {
                status,
                detail,
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr,
                time_ms: started.elapsed().as_secs_f64() * 1e3,
            }
        })
    }

    fn judge_checked(&self, problem: &Problem) -> TestReport {
        let started = Instant::now();
        let (code, extracted) = extract_code(&problem.code);
        let attempt = Attempt {
            code,
            limits: &problem.limits,
            compare: &problem.compare,
        };
        let cases: Vec<CaseResult> = match &problem.tests {
            Tests::Call { entry, cases } => cases
                .par_iter()
                .enumerate()
                .map(|(i, case)| self.timed(|| self.call_case(&attempt, entry, case, i)))
                .collect(),
            Tests::Stdio { cases, checker } => cases
                .par_iter()
                .enumerate()
                .map(|(i, case)| {
                    self.timed(|| self.stdio_case(&attempt, case, checker.as_deref(), i))
                })
                .collect(),
            Tests::Assert { entry, script } => {
                vec![self.timed(|| self.assert_case(code, entry, script, attempt.limits))]
            }
            Tests::Design {
                class,
                ops,
                args,
                outputs,
            } => {
                let design = Design {
                    class,
                    ops,
                    args,
                    outputs,
                };
                vec![self.timed(|| self.design_case(&attempt, &design))]
            }
        };
        TestReport::from_cases(
            problem.id.clone(),
            extracted,
            cases,
            started.elapsed().as_secs_f64() * 1e3,
        )
    }

    /// Run one test inside its own panic boundary: a fault of the judge on one test is that
    /// test's `judge_error`, never the loss of its problem or of the batch around it.
    fn timed(&self, test: impl FnOnce() -> CaseOutcome) -> CaseResult {
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(test))
            .unwrap_or_else(|panic| CaseOutcome::judge_fault(&panic));
        CaseResult {
            status: outcome.status,
            time_ms: started.elapsed().as_secs_f64() * 1e3,
            detail: outcome.detail,
            fuel: outcome.fuel,
            memory_bytes: outcome.memory,
        }
    }

    fn stdio_case(
        &self,
        attempt: &Attempt<'_>,
        case: &StdioCase,
        checker: Option<&str>,
        index: usize,
    ) -> CaseOutcome {
        let mut run = match self
            .engine
            .start(case.stdin.as_bytes(), attempt.limits, index as u64)
        {
            Ok(run) => run,
            Err(failure) => return CaseOutcome::failed(failure),
        };
        let finished = run_main(&mut run, attempt.code);
        let result = run.output_verdict(finished).and_then(|()| {
            let stdout = run.stdout();
            let text = String::from_utf8_lossy(&stdout);
            match checker {
                Some(script) => self.special_judge(script, case, &text, attempt.limits),
                None => stdout_matches(&text, &case.stdout, attempt.compare)
                    .map_err(|diff| Failure::new(CaseStatus::WrongAnswer, diff)),
            }
        });
        CaseOutcome::from_run(result, &run)
    }

    /// A special judge: the trusted checker runs in a fresh instance of its own, after the
    /// solution has finished, and sees the input, the expected output and the actual output.
    fn special_judge(
        &self,
        script: &str,
        case: &StdioCase,
        actual: &str,
        limits: &Limits,
    ) -> Result<(), Failure> {
        let mut checker = self.engine.start(b"", &trusted_limits(limits), 1)?;
        let request = json!({"op": "judge_output", "checker": script, "input": case.stdin,
                             "expected": case.stdout, "actual": actual});
        let value = match checker.request(&request)? {
            Reply::Response(value) => value,
            Reply::Exited(code) => {
                return Err(Failure::new(
                    CaseStatus::JudgeError,
                    format!("the checker exited with status {code}"),
                ))
            }
        };
        match value.get("status").and_then(Value::as_str) {
            Some("ok") if value.get("checked") == Some(&Value::Bool(true)) => Ok(()),
            Some("wrong_answer") => Err(Failure::new(
                CaseStatus::WrongAnswer,
                error_text(&value, "the checker rejected the output"),
            )),
            _ => Err(Failure::new(
                CaseStatus::JudgeError,
                error_text(&value, "the checker could not run"),
            )),
        }
    }

    fn call_case(
        &self,
        attempt: &Attempt<'_>,
        entry: &str,
        case: &CallCase,
        index: usize,
    ) -> CaseOutcome {
        let mut run = match self.engine.start(b"", attempt.limits, index as u64) {
            Ok(run) => run,
            Err(failure) => return CaseOutcome::failed(failure),
        };
        let compare = attempt.compare;
        let result = load(&mut run, attempt.code).and_then(|()| {
            let request =
                json!({"op": "call", "entry": entry, "args": case.input, "convert": true});
            if let Some(class) = &case.raises {
                return expect_raise(run.request(&request), class);
            }
            let value = expect_ok(run.request(&request), "returning")?;
            let actual = value.get("value").cloned().unwrap_or(Value::Null);
            value_matches(&actual, &case.output, compare)
                .or_else(|diff| match &case.or_output {
                    Some(other) => value_matches(&actual, other, compare).map_err(|_| diff),
                    None => Err(diff),
                })
                .map_err(|diff| Failure::new(CaseStatus::WrongAnswer, diff))
        });
        CaseOutcome::from_run(result, &run)
    }

    /// A design problem: the operations run in the solution's instance; the returns come back
    /// and are compared op by op on the host.
    fn design_case(&self, attempt: &Attempt<'_>, design: &Design<'_>) -> CaseOutcome {
        let mut run = match self.engine.start(b"", attempt.limits, 0) {
            Ok(run) => run,
            Err(failure) => return CaseOutcome::failed(failure),
        };
        let result = load(&mut run, attempt.code).and_then(|()| {
            let request = json!({"op": "design", "class": design.class, "ops": design.ops,
                                 "args": design.args});
            let value = expect_ok(run.request(&request), "running the operations")?;
            let returned = value.get("value").and_then(Value::as_array).cloned();
            design.check(&returned.unwrap_or_default(), attempt.compare)
        });
        CaseOutcome::from_run(result, &run)
    }

    /// The check script runs in its own instance; the candidate in another. The check reaches
    /// the solution only through host calls, so the solution never sees the test's expectations.
    fn assert_case(&self, code: &str, entry: &str, script: &str, limits: &Limits) -> CaseOutcome {
        let mut solution = match self.engine.start(b"", limits, 0) {
            Ok(run) => run,
            Err(failure) => return CaseOutcome::failed(failure),
        };
        if let Err(failure) = load(&mut solution, code) {
            return CaseOutcome::from_run(Err(failure), &solution);
        }
        let mut checker = match self.engine.start(b"", &trusted_limits(limits), 1) {
            Ok(run) => run,
            Err(failure) => return CaseOutcome::failed(failure),
        };
        checker.attach_peer(solution);
        let reply = checker.request(&json!({"op": "check", "script": script, "entry": entry}));
        // A failure on the solution's side decides the test, whatever the check did with it.
        if let Some(failure) = checker.take_peer_failure() {
            return CaseOutcome::failed(failure);
        }
        let result = match reply {
            Ok(Reply::Response(value)) => match value.get("status").and_then(Value::as_str) {
                Some("ok") if value.get("checked") == Some(&Value::Bool(true)) => Ok(()),
                Some("wrong_answer") => Err(Failure::new(
                    CaseStatus::WrongAnswer,
                    error_text(&value, "an assertion failed"),
                )),
                Some("runtime_error") => Err(Failure::new(
                    CaseStatus::RuntimeError,
                    error_text(&value, "the check raised"),
                )),
                _ => Err(Failure::new(
                    CaseStatus::JudgeError,
                    error_text(&value, "the check script could not run"),
                )),
            },
            Ok(Reply::Exited(code)) => Err(Failure::new(
                CaseStatus::JudgeError,
                format!("the check script exited with status {code}"),
            )),
            Err(failure) => Err(failure),
        };
        CaseOutcome::from_run(result, &checker)
    }
}

/// What every test of one problem shares: the solution and how it is run and compared.
struct Attempt<'a> {
    code: &'a str,
    limits: &'a Limits,
    compare: &'a Compare,
}

/// Limits of a trusted instance (a check script or a checker): the test's time, at least the
/// default memory, no fuel budget (the solution's fuel is what a fuel limit measures).
fn trusted_limits(limits: &Limits) -> Limits {
    Limits {
        memory_mb: limits.memory_mb.max(256),
        fuel: None,
        ..*limits
    }
}

/// What `run_program` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProgramRun {
    pub status: CaseStatus,
    pub detail: Option<String>,
    pub stdout: String,
    pub stderr: String,
    pub time_ms: f64,
}

struct CaseOutcome {
    status: CaseStatus,
    detail: Option<String>,
    fuel: Option<u64>,
    memory: u64,
}

impl CaseOutcome {
    /// A panic inside the judge while running a test.
    fn judge_fault(panic: &Box<dyn std::any::Any + Send>) -> CaseOutcome {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        CaseOutcome {
            status: CaseStatus::JudgeError,
            detail: Some(format!("the judge failed on this test: {message}")),
            fuel: None,
            memory: 0,
        }
    }

    fn failed(failure: Failure) -> CaseOutcome {
        CaseOutcome {
            status: failure.status,
            detail: Some(failure.detail),
            fuel: None,
            memory: 0,
        }
    }

    fn from_run(result: Result<(), Failure>, run: &Run) -> CaseOutcome {
        let (status, detail) = match run.output_verdict(result) {
            Ok(()) => (CaseStatus::Pass, None),
            Err(failure) => (failure.status, Some(failure.detail)),
        };
        CaseOutcome {
            status,
            detail,
            fuel: run.fuel_used(),
            memory: run.peak_memory(),
        }
    }
}

/// A design problem's operations and expected returns.
struct Design<'a> {
    class: &'a str,
    ops: &'a [String],
    args: &'a [Vec<Value>],
    outputs: &'a [Value],
}

impl Design<'_> {
    /// The first operation whose return differs names the failure.
    fn check(&self, returned: &[Value], compare: &Compare) -> Result<(), Failure> {
        if returned.len() != self.outputs.len() {
            return Err(Failure::new(
                CaseStatus::WrongAnswer,
                format!(
                    "{} returns for {} operations",
                    returned.len(),
                    self.outputs.len()
                ),
            ));
        }
        for (i, (actual, expected)) in returned.iter().zip(self.outputs).enumerate().skip(1) {
            value_matches(actual, expected, compare).map_err(|diff| {
                let op = self.ops.get(i).map_or("?", String::as_str);
                Failure::new(CaseStatus::WrongAnswer, format!("op {i} `{op}`: {diff}"))
            })?;
        }
        Ok(())
    }
}

fn validate(problem: &Problem) -> Result<(), SandboxError> {
    let language = problem.language.to_ascii_lowercase();
    if !matches!(language.as_str(), "python" | "python3" | "py") {
        return Err(SandboxError::UnsupportedLanguage(problem.language.clone()));
    }
    if problem.test_count() == 0 {
        return Err(SandboxError::NoTests);
    }
    if let Tests::Design {
        ops, args, outputs, ..
    } = &problem.tests
    {
        if ops.is_empty() || ops.len() != args.len() || ops.len() != outputs.len() {
            return Err(SandboxError::InvalidDesign(format!(
                "{} ops, {} argument lists, {} outputs: one each, at least the constructor",
                ops.len(),
                args.len(),
                outputs.len()
            )));
        }
    }
    let limits = &problem.limits;
    if limits.time_ms == 0 || limits.time_ms > MAX_TIME_MS {
        return Err(SandboxError::InvalidLimits(format!(
            "time_ms must be in 1..={MAX_TIME_MS}"
        )));
    }
    if limits.memory_mb == 0 || limits.memory_mb > MAX_MEMORY_MB {
        return Err(SandboxError::InvalidLimits(format!(
            "memory_mb must be in 1..={MAX_MEMORY_MB}"
        )));
    }
    if !(problem.compare.float_tol >= 0.0 && problem.compare.float_tol.is_finite()) {
        return Err(SandboxError::InvalidLimits(
            "compare.float_tol must be a finite number >= 0".into(),
        ));
    }
    Ok(())
}

fn error_text(value: &Value, fallback: &str) -> String {
    value
        .get("error")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(fallback)
        .to_owned()
}

/// A response must be `ok`; otherwise its status becomes the test's.
fn expect_ok(reply: Result<Reply, Failure>, doing: &str) -> Result<Value, Failure> {
    match reply? {
        Reply::Exited(code) => Err(Failure::new(
            CaseStatus::RuntimeError,
            format!("the solution exited (status {code}) before {doing}"),
        )),
        Reply::Response(value) => match value.get("status").and_then(Value::as_str) {
            Some("ok") => Ok(value),
            Some("compile_error") => Err(Failure::new(
                CaseStatus::CompileError,
                error_text(&value, "the solution does not compile"),
            )),
            Some("runtime_error") => Err(Failure::new(
                CaseStatus::RuntimeError,
                error_text(&value, "the solution raised"),
            )),
            _ => Err(Failure::new(
                CaseStatus::JudgeError,
                error_text(&value, "unexpected guest response"),
            )),
        },
    }
}

/// A call that must raise `class` (or a subclass): its exception's classes come back from the
/// guest; a return is a wrong answer.
fn expect_raise(reply: Result<Reply, Failure>, class: &str) -> Result<(), Failure> {
    let value = match reply? {
        Reply::Response(value) => value,
        Reply::Exited(code) => {
            return Err(Failure::new(
                CaseStatus::WrongAnswer,
                format!("expected {class} to be raised, the solution exited (status {code})"),
            ))
        }
    };
    let status = value.get("status").and_then(Value::as_str);
    let classes: Vec<&str> = value
        .get("error_classes")
        .and_then(Value::as_array)
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match status {
        Some("runtime_error") if classes.contains(&class) => Ok(()),
        Some("runtime_error") => Err(Failure::new(
            CaseStatus::WrongAnswer,
            format!(
                "expected {class} to be raised, got {}",
                error_text(&value, "another exception")
            ),
        )),
        Some("ok") => Err(Failure::new(
            CaseStatus::WrongAnswer,
            format!("expected {class} to be raised, the call returned"),
        )),
        _ => expect_ok(Ok(Reply::Response(value)), "raising").map(|_| ()),
    }
}

fn load(run: &mut Run, code: &str) -> Result<(), Failure> {
    expect_ok(run.request(&json!({"op": "load", "code": code})), "loading").map(|_| ())
}

/// Run a whole program; a clean `exit(0)`/`os._exit(0)` is a normal end of the program.
fn run_main(run: &mut Run, code: &str) -> Result<(), Failure> {
    match run.request(&json!({"op": "main", "code": code}))? {
        Reply::Exited(0) => Ok(()),
        Reply::Exited(code) => Err(Failure::new(
            CaseStatus::RuntimeError,
            format!("exit status {code}"),
        )),
        reply => expect_ok(Ok(reply), "finishing").map(|_| ()),
    }
}
