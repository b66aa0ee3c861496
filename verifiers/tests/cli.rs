//! The `r1-check` binary's interface: exit codes, JSON lines, bad input.

use std::io::Write;
use std::process::{Command, Stdio};

fn r1_check(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_r1-check"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("r1-check starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("r1-check finishes");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn single_pair_exit_codes() {
    let (code, out, _) = r1_check(&["--gold", "\\frac12", "--pred", "so \\boxed{0.5}"], None);
    assert_eq!(code, 0);
    assert!(out.starts_with("correct"), "{out}");
    let (code, out, _) = r1_check(&["--gold", "\\frac12", "--pred", "so \\boxed{0.6}"], None);
    assert_eq!(code, 1);
    assert!(out.starts_with("incorrect"), "{out}");
    let (code, _, err) = r1_check(&["--gold", "1"], None);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = r1_check(&["--jsonl", "/nonexistent/file.jsonl"], None);
    assert_eq!(code, 2);
    assert!(err.contains("cannot open"), "{err}");
}

#[test]
fn single_pair_json() {
    let (code, out, _) = r1_check(
        &[
            "--gold",
            "3",
            "--pred",
            "no boxed answer here",
            "--strict",
            "--json",
        ],
        None,
    );
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON output");
    assert_eq!(v["status"], "no_answer");
    assert_eq!(v["correct"], false);
}

#[test]
fn jsonl_keeps_order_and_survives_bad_lines() {
    let mut input = String::new();
    for k in 0..5000 {
        input.push_str(&format!(
            "{{\"gold\": \"{k}\", \"pred\": \"\\\\boxed{{{}}}\"}}\n",
            if k % 3 == 0 { k + 1 } else { k }
        ));
        if k == 2500 {
            input.push_str("{this is not json\n");
            input.push_str("{\"gold\": 5}\n");
        }
    }
    let (code, out, err) = r1_check(&["--jsonl", "-", "--threads", "2"], Some(&input));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect();
    assert_eq!(lines.len(), 5002);
    for (k, line) in lines.iter().enumerate() {
        let input_index = if k <= 2500 {
            k
        } else if k <= 2502 {
            usize::MAX
        } else {
            k - 2
        };
        if input_index == usize::MAX {
            assert!(
                line["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("malformed")),
                "{line}"
            );
            continue;
        }
        assert_eq!(line["correct"], input_index % 3 != 0, "line {k}: {line}");
        assert!(line["reason"].is_string() && line.get("extracted").is_some());
    }
    assert!(
        err.contains("5002 lines") && err.contains("2 malformed"),
        "{err}"
    );
}
