//! Agreement with Math-Verify's released test suite (fixtures/mathverify).
//!
//! Each case carries the settings its upstream test used; they map onto this
//! crate's options. Disagreements must be listed, with a reason, in
//! fixtures/mathverify/DISAGREEMENTS.md.

use serde_json::Value;
use verifiers::{verify, Config, Mode};

fn config_for(case: &Value) -> Config {
    let mut config = Config::default();
    config.extract.mode = Mode::Lenient;
    let c = &case["config"];
    if let Some(types) = c["match_types"].as_array() {
        let types: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
        config.extract.math_spans = types.contains(&"latex");
        config.extract.numbers = types.contains(&"expr");
        // Math-Verify reads `1,5` as 1.5 only in its plain-expression mode.
        config.extract.decimal_comma = !types.contains(&"latex");
    }
    if let Some(p) = c["precision"].as_u64() {
        if p != 6 {
            config.compare.float_rounding = Some(p as u32);
        }
    }
    if c["strict"] == Value::Bool(false) {
        config.compare.strict_variables = false;
    }
    if c["allow_set_relation_comp"] == Value::Bool(true) {
        config.compare.allow_set_relation = true;
    }
    config
}

fn documented_disagreements() -> Vec<String> {
    let text = include_str!("../../fixtures/mathverify/DISAGREEMENTS.md");
    text.lines()
        .filter_map(|l| {
            l.strip_prefix("- `")
                .and_then(|r| r.split('`').next())
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn agrees_with_math_verify_suite() {
    let data = include_str!("../../fixtures/mathverify/suite.jsonl");
    let documented = documented_disagreements();
    let (mut total, mut agree) = (0, 0);
    let mut undocumented = Vec::new();
    for line in data.lines() {
        let case: Value = serde_json::from_str(line).expect("fixture line is JSON");
        let Some(expected) = case["expected"].as_bool() else {
            continue;
        };
        let (gold, pred) = (
            case["gold"].as_str().unwrap_or(""),
            case["pred"].as_str().unwrap_or(""),
        );
        let verdict = verify(gold, pred, &config_for(&case));
        total += 1;
        if verdict.is_correct() == expected {
            agree += 1;
        } else {
            let source = case["source"].as_str().unwrap_or("?").to_string();
            if !documented.contains(&source) {
                undocumented.push(format!(
                    "{source}: expected {expected}, got {:?} ({}) extracted {:?} gold {:?} pred {:?}",
                    verdict.status, verdict.reason, verdict.extracted, verdict.gold_canonical, verdict.pred_canonical
                ));
            }
        }
    }
    let rate = agree as f64 / total as f64;
    println!(
        "Math-Verify suite: {agree}/{total} agree ({:.2}%)",
        100.0 * rate
    );
    assert!(
        undocumented.is_empty(),
        "undocumented disagreements:\n{}",
        undocumented.join("\n")
    );
    assert!(total >= 274, "suite has {total} cases");
    assert!(rate >= 0.99, "agreement {rate:.4} below 99%");
}
