//! A held-out style suite: solutions and attacks written the way people and models write them
//! (fast I/O templates, `exit()`, Unicode, big integers, NaN, float-for-int, LeetCode shapes,
//! design problems, expected exceptions, sleeps, large sources, special judges, dataset
//! formats), each with the verdict a correct judge gives. Every case is judged by a one-thread
//! sandbox, a two-thread one and one with fuel metering, as one batch each: the verdicts must be
//! the expected ones and identical across the three.

use sandbox::{EngineOptions, Problem, Sandbox};
use serde_json::Value;

struct Case {
    name: String,
    expect: String,
    problem: Problem,
}

fn suite() -> Vec<Case> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/style.jsonl");
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|line| {
            let row: Value = serde_json::from_str(line).unwrap();
            let name = row["name"].as_str().unwrap().to_owned();
            let problem = Problem::from_value(row["problem"].clone())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            Case {
                expect: row["expect"].as_str().unwrap().to_owned(),
                name,
                problem,
            }
        })
        .collect()
}

fn verdicts(sandbox: &Sandbox, cases: &[Case]) -> Vec<String> {
    let problems: Vec<Problem> = cases.iter().map(|c| c.problem.clone()).collect();
    sandbox
        .judge_all(&problems)
        .into_iter()
        .zip(cases)
        .map(|(report, case)| match report {
            Ok(report) => report.verdict.as_str().to_owned(),
            Err(e) => panic!("{}: not judgeable: {e}", case.name),
        })
        .collect()
}

#[test]
fn real_style_solutions_get_the_right_verdict_on_any_thread_count_and_with_fuel() {
    let cases = suite();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let engines = [
        ("1 thread", EngineOptions::default(), 1),
        ("2 threads", EngineOptions::default(), 2),
        (
            "fuel",
            EngineOptions {
                fuel: true,
                ..Default::default()
            },
            2,
        ),
    ];
    let mut wrong = Vec::new();
    for (label, options, threads) in engines {
        let sandbox = Sandbox::new(options, threads).expect("sandbox set-up");
        for (case, verdict) in cases.iter().zip(verdicts(&sandbox, &cases)) {
            if verdict != case.expect {
                wrong.push(format!(
                    "{label}: {}: expected {}, got {verdict}",
                    case.name, case.expect
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
