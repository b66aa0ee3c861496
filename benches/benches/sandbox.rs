//! Per-test overhead of the WASM judge: a trivial test end to end (fresh instance from the
//! snapshot, solution loaded, run, host-side compare).

use criterion::{criterion_group, criterion_main, Criterion};
use sandbox::{EngineOptions, Problem, Sandbox};
use serde_json::json;

fn problem(value: serde_json::Value) -> Problem {
    serde_json::from_value(value).expect("valid problem")
}

fn overhead(c: &mut Criterion) {
    let sandbox = Sandbox::new(EngineOptions::default(), 1).expect("sandbox");
    let stdio = problem(json!({"code": "print(int(input()) * 2)",
        "tests": {"kind": "stdio", "cases": [{"stdin": "21", "stdout": "42"}]}}));
    let call = problem(
        json!({"code": "class Solution:\n    def double(self, x: int) -> int:\n        return 2 * x\n",
        "tests": {"kind": "call", "entry": "Solution().double", "cases": [{"input": [21], "output": 42}]}}),
    );
    let assert = problem(json!({"code": "def double(x):\n    return 2 * x\n",
        "tests": {"kind": "assert", "entry": "double",
                  "script": "def check(candidate):\n    assert candidate(21) == 42\n"}}));
    let mut group = c.benchmark_group("sandbox");
    group.sample_size(50);
    for (name, p) in [
        ("stdio_test", &stdio),
        ("call_test", &call),
        ("assert_test", &assert),
    ] {
        assert!(sandbox.judge(p).expect("judge").passed, "{name} must pass");
        group.bench_function(name, |b| b.iter(|| sandbox.judge(p).expect("judge")));
    }
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
