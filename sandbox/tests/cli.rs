//! `r1-sandbox judge`: one verdict line per input line, in order; malformed lines reported in
//! place; exit codes 0 / 1 / 2.

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

fn judge(input: &str) -> (i32, Vec<Value>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_r1-sandbox"))
        .args(["judge", "--jsonl", "-", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn r1-sandbox");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const GOOD: &str = r#"{"id": "a", "code": "print(2)", "tests": {"kind": "stdio", "cases": [{"stdin": "", "stdout": "2"}]}}"#;
const BAD: &str = r#"{"id": "b", "code": "print(3)", "tests": {"kind": "stdio", "cases": [{"stdin": "", "stdout": "2"}]}}"#;

#[test]
fn verdict_lines_keep_input_order_and_exit_codes_say_what_happened() {
    let (code, lines, stderr) = judge(&format!("{GOOD}\n{BAD}\n{GOOD}\n"));
    assert_eq!(code, 1, "{stderr}");
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a", "b", "a"]);
    assert_eq!(lines[1]["verdict"], "wrong_answer");
    assert_eq!(lines[0]["passed"], true);
    assert!(
        stderr.contains("3 problems: 2 passed, 1 failed, 0 errors"),
        "{stderr}"
    );

    let (code, lines, _) = judge(&format!("{GOOD}\n"));
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 1);
}

#[test]
fn malformed_lines_get_an_error_line_in_place() {
    let (code, lines, _) = judge(&format!(
        "{GOOD}\n{{not json\n{}\n{GOOD}\n",
        r#"{"code": "", "language": "rust", "tests": {"kind": "stdio", "cases": [{"stdout": ""}]}}"#
    ));
    assert_eq!(code, 2);
    assert_eq!(lines.len(), 4);
    assert!(lines[1]["error"]
        .as_str()
        .unwrap()
        .starts_with("line 2: invalid problem"));
    assert!(lines[2]["error"]
        .as_str()
        .unwrap()
        .contains("unsupported language"));
    assert_eq!(lines[3]["passed"], true);
}
