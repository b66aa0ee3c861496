//! How closely time limits hold on a saturated machine: while busy threads (twice the cores)
//! compete for the CPU, judge busy-loop and sleeping solutions with a 1 s limit and report how
//! far past the limit each test ran, in wall time.
//!
//! ```text
//! cargo run -p benches --bin sandbox-limits-under-load [-- --tests 16]
//! ```

use anyhow::Result;
use sandbox::{EngineOptions, Problem, Sandbox};
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const LIMIT_MS: f64 = 1000.0;

fn problems(code: &str, n: usize) -> Result<Vec<Problem>> {
    (0..n)
        .map(|_| {
            Ok(serde_json::from_value(json!({"code": code,
                "tests": {"kind": "stdio", "cases": [{"stdin": "", "stdout": ""}]},
                "limits": {"time_ms": LIMIT_MS as u64}}))?)
        })
        .collect()
}

/// Overshoot of each test past the limit, in percent of the limit, sorted.
fn overshoots(sandbox: &Sandbox, problems: &[Problem]) -> Vec<f64> {
    let mut out: Vec<f64> = sandbox
        .judge_all(problems)
        .into_iter()
        .flatten()
        .flat_map(|report| report.cases)
        .map(|case| (case.time_ms - LIMIT_MS) / LIMIT_MS * 100.0)
        .collect();
    out.sort_by(f64::total_cmp);
    out
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let tests: usize = match args.iter().position(|a| a == "--tests") {
        Some(i) => args.get(i + 1).map_or(Ok(16), |n| n.parse())?,
        None => 16,
    };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let sandbox = Sandbox::new(EngineOptions::default(), cores)?;
    let stop = Arc::new(AtomicBool::new(false));
    let hogs: Vec<_> = (0..2 * cores)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
            })
        })
        .collect();
    println!("# Time limits under load ({tests} tests each, {LIMIT_MS} ms limit, {} busy threads on {cores} cores)\n", 2 * cores);
    println!("| solution | median overshoot | worst overshoot |");
    println!("|---|---|---|");
    for (label, code) in [
        ("busy loop", "while True:\n    pass"),
        ("time.sleep(30)", "import time\ntime.sleep(30)"),
        (
            "sleep(0.1) in a loop",
            "import time\nwhile True:\n    time.sleep(0.1)",
        ),
    ] {
        let o = overshoots(&sandbox, &problems(code, tests)?);
        let (median, worst) = (o[o.len() / 2], o[o.len() - 1]);
        println!("| {label} | {median:+.1}% | {worst:+.1}% |");
    }
    stop.store(true, Ordering::Relaxed);
    for hog in hogs {
        let _ = hog.join();
    }
    Ok(())
}
