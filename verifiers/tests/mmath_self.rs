//! Every MMATH gold answer verifies against itself written in several forms
//! (the self-consistency lm-eval's Minerva checker fails 6% of the time).

use serde_json::Value;
use verifiers::{verify, Config, Status};

fn forms(answer: &str) -> Vec<(String, Config)> {
    let bare = answer.trim().trim_matches('$').to_string();
    let mut out = vec![
        (
            format!("<think>reasoning</think>\nSo the answer is $\\boxed{{{bare}}}$."),
            Config::default(),
        ),
        (format!("<answer>{bare}</answer>"), Config::default()),
        (
            format!("Final Answer: The final answer is ${bare}$. I hope it is correct."),
            Config::lenient(),
        ),
    ];
    // A rewritten form: integers as decimals, fractions as \dfrac, brackets sized.
    let rewritten = if bare.parse::<i64>().is_ok() {
        format!("{bare}.0")
    } else {
        bare.replace("\\frac", "\\dfrac")
            .replace('(', "\\left(")
            .replace(')', "\\right)")
    };
    out.push((format!("\\boxed{{{rewritten}}}"), Config::default()));
    out
}

#[test]
fn every_gold_answer_matches_itself_in_four_forms() {
    let data = include_str!("../../fixtures/mmath/answers.jsonl");
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in data.lines() {
        let record: Value = serde_json::from_str(line).expect("fixture line is JSON");
        let gold = record["answer"].as_str().expect("answer is a string");
        for (completion, config) in forms(gold) {
            let v = verify(gold, &completion, &config);
            checked += 1;
            if v.status != Status::Correct {
                failures.push(format!(
                    "{gold:?} vs {completion:?}: {:?} {}",
                    v.status, v.reason
                ));
            }
        }
    }
    assert_eq!(checked, 374 * 4);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn gold_answers_are_not_equal_to_their_neighbours() {
    // Guard against a checker that accepts everything: shifted answers differ.
    let data = include_str!("../../fixtures/mmath/answers.jsonl");
    let answers: Vec<String> = data
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["answer"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let mut accepted = 0;
    for pair in answers.windows(2) {
        if pair[0] != pair[1]
            && verify(
                &pair[0],
                &format!("\\boxed{{{}}}", pair[1].trim_matches('$')),
                &Config::default(),
            )
            .is_correct()
        {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 0);
}
