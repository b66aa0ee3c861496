//! Real CodeI/O problems (fixtures/codeio, from the reasoning-gym 0.1.25 wheel) with the same
//! tests written in every format the sandbox accepts: its own schema, the datasets'
//! `inputs`/`outputs` (object and JSON string; APPS, TACO, verl `prime_code`) and
//! SandboxFusion's `test_cases` (bare and wrapped), as function calls and as stdin/stdout
//! programs. The reference passes in every format, mechanical mutants fail in every format, and
//! each (solution, problem) pair gets the same verdict, per test, whatever the format.

mod common;

use sandbox::{CaseStatus, Problem, TestReport, Tests};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn rows() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/codeio/rows.jsonl");
    std::fs::read_to_string(path)
        .expect("fixture")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

/// SandboxFusion's whole submit request (`completion` + `config.provided_data`), whose
/// `provided_data` is the tests of the format listed before it.
const SUBMIT_CALL: &str = "SandboxFusion submit request, function_call";
const SUBMIT_STDIO: &str = "SandboxFusion submit request, stdin_stdout";

fn problem_value(id: String, format: &str, code: String, tests: Value) -> Value {
    if format == SUBMIT_CALL || format == SUBMIT_STDIO {
        json!({"id": id, "completion": code, "config": {"language": "python",
               "run_timeout": 10, "provided_data": tests}})
    } else {
        json!({"id": id, "code": code, "tests": tests, "limits": {"time_ms": 10000}})
    }
}

/// The same tests in every format: (name, tests value, whether it is the stdio form).
fn formats(row: &Value) -> Vec<(&'static str, Value, bool)> {
    let (inputs, outputs) = (&row["call"]["inputs"], &row["call"]["outputs"]);
    let fn_name = &row["fn_name"];
    let call_cases: Vec<Value> = inputs
        .as_array()
        .unwrap()
        .iter()
        .zip(outputs.as_array().unwrap())
        .map(|(input, output)| json!({"input": input, "output": output}))
        .collect();
    let call_dataset = json!({"inputs": inputs, "outputs": outputs, "fn_name": fn_name});
    let fusion_call =
        json!({"type": "function_call", "input": inputs, "output": outputs, "fn_name": fn_name});

    let (stdins, stdouts) = (&row["stdio"]["inputs"], &row["stdio"]["outputs"]);
    let stdio_cases: Vec<Value> = stdins
        .as_array()
        .unwrap()
        .iter()
        .zip(stdouts.as_array().unwrap())
        .map(|(stdin, stdout)| json!({"stdin": stdin, "stdout": stdout}))
        .collect();
    let stdio_dataset = json!({"inputs": stdins, "outputs": stdouts});
    let fusion_stdio =
        json!({"type": "stdin_stdout", "input": stdins, "output": stdouts, "fn_name": null});

    vec![
        (
            "sandbox call",
            json!({"kind": "call", "entry": fn_name, "cases": call_cases}),
            false,
        ),
        ("dataset object, fn_name", call_dataset.clone(), false),
        (
            "dataset JSON string, fn_name",
            json!(call_dataset.to_string()),
            false,
        ),
        ("SandboxFusion function_call", fusion_call.clone(), false),
        (
            "SandboxFusion test_cases function_call",
            json!({"test_cases": fusion_call}),
            false,
        ),
        (SUBMIT_CALL, json!({"test_cases": fusion_call}), false),
        (
            "sandbox stdio",
            json!({"kind": "stdio", "cases": stdio_cases}),
            true,
        ),
        ("dataset object, no fn_name", stdio_dataset.clone(), true),
        (
            "dataset JSON string",
            json!(stdio_dataset.to_string()),
            true,
        ),
        ("SandboxFusion stdin_stdout", fusion_stdio.clone(), true),
        (
            "SandboxFusion test_cases stdin_stdout",
            json!({"test_cases": fusion_stdio}),
            true,
        ),
        (SUBMIT_STDIO, json!({"test_cases": fusion_stdio}), true),
    ]
}

/// Solutions: the reference and mutants derived from it mechanically (Python appended to the
/// reference, before the stdio driver), with the verdict each must get.
const SOLUTIONS: [(&str, &str, CaseStatus); 4] = [
    ("reference", "", CaseStatus::Pass),
    (
        "returns None",
        "\n\ndef main_solution(*args, **kwargs):\n    return None\n",
        CaseStatus::WrongAnswer,
    ),
    (
        "perturbed result",
        "\n\n_r1_reference = main_solution\n\
         def main_solution(*args, **kwargs):\n\
         \x20   r = _r1_reference(*args, **kwargs)\n\
         \x20   if isinstance(r, bool): return not r\n\
         \x20   if isinstance(r, int): return r + 1\n\
         \x20   if isinstance(r, float): return r + 1.0 + abs(r)\n\
         \x20   if isinstance(r, str): return r + '_r1'\n\
         \x20   if isinstance(r, list): return list(reversed(r)) + ['r1']\n\
         \x20   if isinstance(r, dict): return {**r, 'r1_mutant': 1}\n\
         \x20   return 'r1_mutant'\n",
        CaseStatus::WrongAnswer,
    ),
    (
        "raises",
        "\n\ndef main_solution(*args, **kwargs):\n    raise ValueError('mutant')\n",
        CaseStatus::RuntimeError,
    ),
];

/// What a verdict must agree on across formats.
#[derive(Debug, PartialEq)]
struct Outcome {
    passed: bool,
    verdict: CaseStatus,
    cases: Vec<CaseStatus>,
}

fn outcome(report: &TestReport) -> Outcome {
    Outcome {
        passed: report.passed,
        verdict: report.verdict,
        cases: report.cases.iter().map(|c| c.status).collect(),
    }
}

/// The cases of parsed tests, without the formats' extras (a dataset's one-item output lists
/// also accept the bare item), so every call format and every stdio format can be compared.
fn normalized(tests: &Tests) -> Value {
    match tests {
        Tests::Call { entry, cases } => json!({"entry": entry, "cases": cases
            .iter()
            .map(|c| json!([c.input, c.output, c.raises]))
            .collect::<Vec<_>>()}),
        Tests::Stdio { cases, checker } => json!({"checker": checker, "cases": cases
            .iter()
            .map(|c| json!([c.stdin, c.stdout]))
            .collect::<Vec<_>>()}),
        other => panic!("unexpected tests {other:?}"),
    }
}

#[test]
fn every_format_parses_to_the_same_tests() {
    let rows = rows();
    for row in &rows {
        let mut seen: BTreeMap<bool, (Value, &str)> = BTreeMap::new();
        for (name, tests, stdio) in formats(row) {
            let parsed = Tests::from_value(tests).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(matches!(parsed, Tests::Stdio { .. }), stdio, "{name}");
            let norm = normalized(&parsed);
            match seen.get(&stdio) {
                Some((first, first_name)) => assert_eq!(
                    &norm, first,
                    "{}: {name} differs from {first_name}",
                    row["id"]
                ),
                None => {
                    seen.insert(stdio, (norm, name));
                }
            }
        }
    }
}

#[test]
fn every_format_judges_real_problems_alike() {
    let rows = rows();
    assert!(rows.len() >= 25, "only {} rows", rows.len());
    let format_count = formats(&rows[0]).len();
    let mut disagreements = Vec::new();
    let mut wrong = Vec::new();
    for (solution, mutation, expected) in SOLUTIONS {
        let mut problems = Vec::new();
        let mut labels = Vec::new();
        for row in &rows {
            let code = row["code"].as_str().unwrap();
            let program = row["stdio_program"].as_str().unwrap();
            let driver = program
                .strip_prefix(code)
                .expect("the stdio program is the reference plus a driver");
            for (format, tests, stdio) in formats(row) {
                let source = if stdio {
                    format!("{code}{mutation}{driver}")
                } else {
                    format!("{code}{mutation}")
                };
                let id = format!("{} / {solution} / {format}", row["id"].as_str().unwrap());
                let problem = Problem::from_value(problem_value(id, format, source, tests))
                    .unwrap_or_else(|e| panic!("{} {format}: {e}", row["id"]));
                problems.push(problem);
                labels.push((row["id"].as_str().unwrap().to_owned(), format));
            }
        }
        let reports: Vec<TestReport> = common::sandbox()
            .judge_all(&problems)
            .into_iter()
            .map(|r| r.expect("judgeable"))
            .collect();
        let mut passes = 0;
        for (chunk, chunk_labels) in reports
            .chunks(format_count)
            .zip(labels.chunks(format_count))
        {
            let first = outcome(&chunk[0]);
            for (report, (id, format)) in chunk.iter().zip(chunk_labels) {
                passes += usize::from(report.passed);
                if report.passed != (expected == CaseStatus::Pass) || report.verdict != expected {
                    wrong.push(format!(
                        "{id} / {solution} / {format}: passed={} {:?} {:?}",
                        report.passed,
                        report.verdict,
                        report.cases.iter().find_map(|c| c.detail.clone())
                    ));
                }
                let this = outcome(report);
                if this != first {
                    disagreements.push(format!(
                        "{id} / {solution}: {format} {this:?} but {} {first:?}",
                        chunk_labels[0].1
                    ));
                }
                assert_ne!(report.verdict, CaseStatus::JudgeError, "{id} {format}");
            }
        }
        eprintln!(
            "{solution}: {} problems x {format_count} formats, {passes} passed",
            rows.len()
        );
    }
    assert!(
        wrong.is_empty() && disagreements.is_empty(),
        "{} unexpected verdicts:\n{}\n{} disagreements between formats:\n{}",
        wrong.len(),
        wrong.join("\n"),
        disagreements.len(),
        disagreements.join("\n")
    );
}
