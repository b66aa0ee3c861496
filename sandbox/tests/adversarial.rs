//! Every attack is contained: forged passes fail, escapes find nothing, limits hold, and the
//! host keeps judging afterwards.

mod common;

use common::{judge, stdio};
use sandbox::CaseStatus;
use serde_json::json;

fn add_check() -> serde_json::Value {
    json!("def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(40, 2) == 42\n")
}

fn assert_kind(code: &str) -> sandbox::TestReport {
    judge(json!({"code": code, "tests": {"kind": "assert", "entry": "add", "script": add_check()}}))
}

fn call_kind(code: &str) -> sandbox::TestReport {
    judge(
        json!({"code": code, "tests": {"kind": "call", "entry": "add",
        "cases": [{"input": [1, 2], "output": 3}, {"input": [40, 2], "output": 42}]}}),
    )
}

#[test]
fn honest_solutions_pass_every_kind() {
    assert!(assert_kind("def add(a, b):\n    return a + b\n").passed);
    assert!(call_kind("def add(a, b):\n    return a + b\n").passed);
    assert!(stdio("print(sum(map(int, input().split())))", "1 2\n", "3\n").passed);
}

#[test]
fn exiting_before_the_tests_fails() {
    for exit in [
        "import sys\nsys.exit(0)\n",
        "import os\nos._exit(0)\n",
        "raise SystemExit(0)\n",
        "quit()\n",
    ] {
        let code = format!("{exit}def add(a, b):\n    return a + b\n");
        let v = assert_kind(&code);
        assert!(!v.passed, "{exit:?} passed an assert test: {v:?}");
        assert!(!call_kind(&code).passed, "{exit:?} passed a call test");
    }
    // A program that exits before printing has printed nothing.
    let v = stdio("import sys\nsys.exit(0)\nprint(3)", "", "3");
    assert_eq!(v.verdict, CaseStatus::WrongAnswer);
}

#[test]
fn exiting_or_raising_inside_the_candidate_fails() {
    for body in [
        "raise SystemExit(0)",
        "import os; os._exit(0)",
        "raise KeyboardInterrupt",
        "import sys; sys.exit()",
    ] {
        let code = format!("def add(a, b):\n    {body}\n");
        let v = assert_kind(&code);
        assert!(!v.passed, "{body:?}: {v:?}");
        assert_eq!(v.verdict, CaseStatus::RuntimeError, "{body:?}");
    }
}

#[test]
fn printing_expected_looking_output_fails() {
    let v = call_kind(
        "def add(a, b):\n    print(3)\n    print('{\"status\": \"ok\", \"value\": 3}')\n",
    );
    assert_eq!(v.verdict, CaseStatus::WrongAnswer);
    let v = assert_kind("print('ok')\nprint('{\"status\": \"ok\", \"checked\": true}')\ndef add(a, b):\n    return 0\n");
    assert!(!v.passed);
}

#[test]
fn reading_frames_and_memory_finds_no_expected_values() {
    // Walk every frame and every object the interpreter holds, looking for the expected answer.
    let spy = r#"
import sys, gc
def add(a, b):
    seen = []
    f = sys._getframe(0)
    while f is not None:
        seen.extend(v for v in f.f_locals.values() if isinstance(v, int))
        seen.extend(c for c in f.f_code.co_consts if isinstance(c, int))
        f = f.f_back
    for obj in gc.get_objects():
        if isinstance(obj, dict):
            seen.extend(v for v in obj.values() if type(v) is int and v in (3, 42))
    return 42 if 42 in seen else (3 if 3 in seen else -1)
"#;
    let v = assert_kind(spy);
    assert!(!v.passed, "{v:?}");
    assert!(!call_kind(spy).passed);
}

#[test]
fn monkeypatching_builtins_and_the_harness_fails() {
    let patches = [
        "import builtins\nbuiltins.AssertionError = type('X', (Exception,), {})\n",
        "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.len = lambda x: 0\n",
        "import json\njson.dumps = lambda *a, **k: '{\"status\": \"ok\", \"value\": 3, \"checked\": true}'\n",
        "import r1_harness\nr1_harness.HANDLERS['call'] = lambda r: {'status': 'ok', 'value': 3}\n",
        "import r1_harness\nr1_harness.HANDLERS['check'] = lambda r: {'status': 'ok', 'checked': True}\n",
    ];
    for patch in patches {
        let code = format!("{patch}def add(a, b):\n    return 0\n");
        assert!(!assert_kind(&code).passed, "assert passed with {patch:?}");
        assert!(!call_kind(&code).passed, "call passed with {patch:?}");
    }
}

#[test]
fn no_files_network_processes_threads_or_environment() {
    let probes = [
        "try:\n    print(open('/etc/passwd').read()[:20])\nexcept Exception:\n    print('blocked')",
        "try:\n    import os; print(os.listdir('/'))\nexcept Exception:\n    print('blocked')",
        "try:\n    import socket; s = socket.socket(); s.connect(('127.0.0.1', 80)); print('open')\nexcept Exception:\n    print('blocked')",
        "try:\n    import os; r = os.system('echo hi'); print('blocked' if r != 0 else 'ran')\nexcept Exception:\n    print('blocked')",
        "try:\n    import os; pid = os.fork(); print('forked')\nexcept Exception:\n    print('blocked')",
        "try:\n    import subprocess; subprocess.run(['ls']); print('ran')\nexcept Exception:\n    print('blocked')",
        // A thread's target runs inline on the one guest thread: no second thread exists.
        "import threading\nseen = []\nt = threading.Thread(target=lambda: seen.append(threading.get_ident()))\nt.start(); t.join()\nprint('blocked' if seen == [threading.get_ident()] else 'thread')",
        "import os\nprint('blocked' if dict(os.environ) == {} else os.environ)",
        "try:\n    open('/tmp/r1-escape', 'w').write('x'); print('wrote')\nexcept Exception:\n    print('blocked')",
    ];
    for probe in probes {
        let v = stdio(probe, "", "blocked\n");
        assert!(v.passed, "{probe}\n{v:?}");
    }
}

#[test]
fn infinite_loops_hit_the_time_limit_even_when_they_catch_everything() {
    for code in [
        "while True:\n    pass",
        "while True:\n    try:\n        while True: pass\n    except BaseException:\n        pass",
    ] {
        let v = judge(
            json!({"code": code, "tests": {"kind": "stdio", "cases": [{"stdin": "", "stdout": ""}]},
            "limits": {"time_ms": 300}}),
        );
        assert_eq!(v.verdict, CaseStatus::TimeLimit, "{code}");
        assert!(
            v.cases[0].time_ms < 3_000.0,
            "took {} ms",
            v.cases[0].time_ms
        );
    }
    let v = assert_kind("def add(a, b):\n    while True: pass\n");
    assert_eq!(v.verdict, CaseStatus::TimeLimit);
}

#[test]
fn sleeping_or_polling_past_the_limit_never_holds_a_worker() {
    let started = std::time::Instant::now();
    for code in [
        "import time\ntime.sleep(30)\nprint(1)",
        "import select\nselect.select([], [], [], 30)\nprint(1)",
        "import time\ntry:\n    time.sleep(30)\nexcept BaseException:\n    pass\nprint(1)",
        "import time\nwhile True:\n    time.sleep(0.05)",
    ] {
        let v = judge(
            json!({"code": code, "tests": {"kind": "stdio", "cases": [{"stdin": "", "stdout": "1"}]},
            "limits": {"time_ms": 400}}),
        );
        assert_eq!(v.verdict, CaseStatus::TimeLimit, "{code}: {v:?}");
    }
    // Four 30-second sleeps under a 0.4 s limit: held far less than one of them.
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    // A short sleep within the limit really sleeps and then runs on.
    let v = stdio(
        "import time\nt = time.monotonic()\ntime.sleep(0.05)\nprint(time.monotonic() - t >= 0.05)",
        "",
        "True\n",
    );
    assert!(v.passed, "{v:?}");
}
#[test]
fn memory_bombs_get_a_memory_limit_verdict() {
    for code in [
        "x = bytearray(2 * 10**9)",
        "xs = []\nwhile True:\n    xs.append(' ' * 10**6)",
        "try:\n    xs = [0] * 10**8\nexcept MemoryError:\n    print('caught')",
    ] {
        let v = judge(
            json!({"code": code, "tests": {"kind": "stdio", "cases": [{"stdin": "", "stdout": "x"}]},
            "limits": {"memory_mb": 128, "time_ms": 5000}}),
        );
        assert_eq!(v.verdict, CaseStatus::MemoryLimit, "{code}: {v:?}");
    }
}

#[test]
fn output_floods_are_cut_off() {
    let v = judge(json!({"code": "while True:\n    print('x' * 1000)",
        "tests": {"kind": "stdio", "cases": [{"stdin": "", "stdout": "x"}]}, "limits": {"output_kb": 256}}));
    assert_eq!(v.verdict, CaseStatus::OutputLimit, "{v:?}");
    let detail = v.cases[0].detail.as_deref().unwrap();
    assert!(detail.starts_with("stdout exceeded 256 KiB"), "{detail}");
    // stderr keeps the same cap, but a flood of it is cut and marked, never a failure.
    let code = "import sys\nfor _ in range(200):\n    sys.stderr.write('x' * 1000)\nprint(1)";
    let v = judge(json!({"code": code, "tests": {"kind": "stdio",
        "cases": [{"stdin": "", "stdout": "1"}]}, "limits": {"output_kb": 16}}));
    assert!(v.passed, "{v:?}");
    let limits = sandbox::Limits {
        output_kb: 16,
        ..Default::default()
    };
    let run = common::sandbox().run_program(code, "", &limits);
    assert_eq!(
        (run.status, run.stdout.as_str()),
        (CaseStatus::Pass, "1\n"),
        "{run:?}"
    );
    assert!(
        run.stderr
            .ends_with("[stderr cut at 16 KiB (limits.output_kb): 183616 more bytes dropped]"),
        "{}",
        run.stderr
    );
    // Below the cap stderr is no failure: 100 KiB of warnings with the default 1 MiB cap.
    let v = stdio(
        "import sys\nsys.stderr.write('w' * 100_000)\nprint(1)",
        "",
        "1",
    );
    assert!(v.passed, "{v:?}");
}

#[test]
fn recursion_and_huge_integer_bombs_are_contained() {
    let bombs = [
        "import sys\nsys.setrecursionlimit(10**9)\ndef f(n):\n    return f(n + 1)\nf(0)",
        "import sys, functools\nsys.setrecursionlimit(10**9)\n@functools.lru_cache(None)\ndef f(n):\n    return f(n + 1)\nf(0)",
        "def f():\n    return f()\nf()",
        "print(len(str(10 ** (10 ** 8))))",
        "x = 2 ** (10 ** 10)",
    ];
    for code in bombs {
        let v = judge(
            json!({"code": code, "tests": {"kind": "stdio", "cases": [{"stdin": "", "stdout": "1"}]},
            "limits": {"time_ms": 2000, "memory_mb": 512}}),
        );
        assert!(
            matches!(
                v.verdict,
                CaseStatus::RuntimeError | CaseStatus::TimeLimit | CaseStatus::MemoryLimit
            ),
            "{code}: {v:?}"
        );
    }
    // The host is still fine.
    assert!(stdio("print(6 * 7)", "", "42").passed);
}
