//! HumanEval (fixtures/humaneval, MIT): every canonical solution passes; mutants fail.

mod common;

use flate2::read::GzDecoder;
use sandbox::{CaseStatus, Problem, TestReport};
use serde_json::{json, Value};
use std::io::Read;

fn tasks() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/humaneval/HumanEval.jsonl.gz"
    );
    let mut text = String::new();
    GzDecoder::new(std::fs::File::open(path).expect("fixture"))
        .read_to_string(&mut text)
        .expect("gzip");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

fn as_problem(task: &Value, body: &str) -> Problem {
    common::problem(json!({
        "id": task["task_id"],
        "code": format!("{}{}", task["prompt"].as_str().unwrap(), body),
        "tests": {"kind": "assert", "entry": task["entry_point"], "script": task["test"]},
        "limits": {"time_ms": 10000}
    }))
}

fn judge_all(problems: &[Problem]) -> Vec<TestReport> {
    common::sandbox()
        .judge_all(problems)
        .into_iter()
        .map(|v| v.expect("judgeable"))
        .collect()
}

#[test]
fn all_164_canonical_solutions_pass() {
    let tasks = tasks();
    assert_eq!(tasks.len(), 164);
    let problems: Vec<Problem> = tasks
        .iter()
        .map(|t| as_problem(t, t["canonical_solution"].as_str().unwrap()))
        .collect();
    let failures: Vec<String> = judge_all(&problems)
        .iter()
        .filter(|v| !v.passed)
        .map(|v| format!("{:?}: {:?} {:?}", v.id, v.verdict, v.cases[0].detail))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn empty_bodies_and_none_returns_fail() {
    let tasks = tasks();
    for body in ["    pass\n", "    return None\n"] {
        let problems: Vec<Problem> = tasks.iter().map(|t| as_problem(t, body)).collect();
        let passed: Vec<String> = judge_all(&problems)
            .iter()
            .filter(|v| v.passed)
            .map(|v| format!("{:?}", v.id))
            .collect();
        assert!(passed.is_empty(), "body {body:?} passed: {passed:?}");
    }
}

/// Off-by-one mutants: the first integer literal of the canonical body, plus one. Some mutants
/// are equivalent (a constant that does not matter), so a few may pass; almost all must fail.
#[test]
fn off_by_one_mutants_fail() {
    let tasks = tasks();
    let mut problems = Vec::new();
    for task in &tasks {
        let body = task["canonical_solution"].as_str().unwrap();
        let bytes = body.as_bytes();
        let Some(start) = (0..bytes.len()).find(|&i| {
            bytes[i].is_ascii_digit()
                && (i == 0
                    || !(bytes[i - 1].is_ascii_alphanumeric()
                        || bytes[i - 1] == b'_'
                        || bytes[i - 1] == b'.'))
        }) else {
            continue;
        };
        let end = (start..bytes.len())
            .find(|&i| !bytes[i].is_ascii_digit())
            .unwrap_or(bytes.len());
        let Ok(n) = body[start..end].parse::<u64>() else {
            continue;
        };
        let mutant = format!("{}{}{}", &body[..start], n + 1, &body[end..]);
        problems.push(as_problem(task, &mutant));
    }
    let verdicts = judge_all(&problems);
    let failed = verdicts.iter().filter(|v| !v.passed).count();
    assert!(problems.len() > 100, "only {} mutants", problems.len());
    assert!(
        failed * 100 >= problems.len() * 85,
        "only {failed}/{} off-by-one mutants failed",
        problems.len()
    );
    assert!(verdicts.iter().all(|v| v.verdict != CaseStatus::JudgeError));
}

/// Result off-by-one mutants: the canonical solution, its result nudged by one (number + 1,
/// bool negated, one element dropped, one character added). Every one must fail.
#[test]
fn result_off_by_one_mutants_all_fail() {
    let tasks = tasks();
    let problems: Vec<Problem> = tasks
        .iter()
        .map(|t| {
            let entry = t["entry_point"].as_str().unwrap();
            let wrapper = format!(
                "\n_r1_original = {entry}\n\
                 def {entry}(*args, **kwargs):\n\
                 \x20   r = _r1_original(*args, **kwargs)\n\
                 \x20   if isinstance(r, bool): return not r\n\
                 \x20   if isinstance(r, (int, float)): return r + 1\n\
                 \x20   if isinstance(r, str): return r + 'x'\n\
                 \x20   if isinstance(r, (list, tuple)): return type(r)(list(r)[:-1]) if r else type(r)([0])\n\
                 \x20   return 'mutant'\n"
            );
            as_problem(t, &format!("{}{wrapper}", t["canonical_solution"].as_str().unwrap()))
        })
        .collect();
    let passed: Vec<String> = judge_all(&problems)
        .iter()
        .filter(|v| v.passed)
        .map(|v| format!("{:?}", v.id))
        .collect();
    assert!(passed.is_empty(), "mutants passed: {passed:?}");
}
