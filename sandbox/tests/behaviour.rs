//! Semantics of the three test kinds, comparison rules, verdict details and deep recursion.

mod common;

use common::{judge, stdio};
use sandbox::{CaseStatus, EngineOptions, Problem, Sandbox, SandboxError};
use serde_json::{json, Value};

#[test]
fn memoized_recursion_reaches_depth_10000_and_plain_recursion_100000() {
    let lru = "import sys\nfrom functools import lru_cache\nsys.setrecursionlimit(10**6)\n@lru_cache(maxsize=None)\ndef f(n):\n    return 0 if n == 0 else f(n - 1) + 1\nprint(f(int(input())))\n";
    let plain = "import sys\nsys.setrecursionlimit(10**6)\ndef g(n):\n    return 0 if n == 0 else g(n - 1) + 1\nprint(g(int(input())))\n";
    for (code, depth) in [(lru, 10_000), (lru, 15_000), (plain, 100_000)] {
        let v = judge(json!({"code": code, "tests": {"kind": "stdio",
            "cases": [{"stdin": depth.to_string(), "stdout": depth.to_string()}]},
            "limits": {"time_ms": 10000, "memory_mb": 1024}}));
        assert!(v.passed, "depth {depth}: {v:?}");
    }
    // A memoized DFS as a LeetCode call-kind solution, 10,000 deep.
    let dfs = "class Solution:\n    def depth(self, n: int) -> int:\n        @cache\n        def go(i):\n            return 0 if i == n else 1 + go(i + 1)\n        sys.setrecursionlimit(10**6)\n        return go(0)\n";
    let v = judge(
        json!({"code": dfs, "tests": {"kind": "call", "entry": "Solution().depth",
        "cases": [{"input": [10000], "output": 10000}]}, "limits": {"time_ms": 10000}}),
    );
    assert!(v.passed, "{v:?}");
}

#[test]
fn leetcode_linked_lists_and_trees_convert_from_lists() {
    let code = r#"
class Solution:
    def reverseList(self, head: Optional[ListNode]) -> Optional[ListNode]:
        prev = None
        while head:
            head.next, prev, head = prev, head, head.next
        return prev

    def invertTree(self, root: Optional[TreeNode]) -> Optional[TreeNode]:
        if root:
            root.left, root.right = self.invertTree(root.right), self.invertTree(root.left)
        return root
"#;
    let v = judge(
        json!({"code": code, "tests": {"kind": "call", "entry": "reverseList",
        "cases": [{"input": [[1, 2, 3]], "output": [3, 2, 1]}, {"input": [[]], "output": []}]}}),
    );
    assert!(v.passed, "{v:?}");
    let v = judge(
        json!({"code": code, "tests": {"kind": "call", "entry": "Solution().invertTree",
        "cases": [{"input": [[4, 2, 7, 1, 3, 6, 9]], "output": [4, 7, 2, 9, 6, 3, 1]}]}}),
    );
    assert!(v.passed, "{v:?}");
    // Lists of linked lists, both ways: merge k lists (an empty list is a None head) and
    // split a list into parts (None parts come back as []).
    let lists = r#"
class Solution:
    def mergeKLists(self, lists: List[Optional[ListNode]]) -> Optional[ListNode]:
        values = []
        for node in lists:
            while node:
                values.append(node.val)
                node = node.next
        head = None
        for v in sorted(values, reverse=True):
            head = ListNode(v, head)
        return head

    def splitListToParts(self, head: Optional[ListNode], k: int) -> List[Optional[ListNode]]:
        parts = []
        for _ in range(k):
            parts.append(head)
            if head:
                rest = head.next
                head.next = None
                head = rest
        return parts
"#;
    let v = judge(
        json!({"code": lists, "tests": {"kind": "call", "entry": "Solution().mergeKLists",
        "cases": [{"input": [[[1, 4, 5], [1, 3, 4], [2, 6]]], "output": [1, 1, 2, 3, 4, 4, 5, 6]},
                  {"input": [[[], [1]]], "output": [1]}, {"input": [[]], "output": []}]}}),
    );
    assert!(v.passed, "{v:?}");
    let v = judge(
        json!({"code": lists, "tests": {"kind": "call", "entry": "Solution().splitListToParts",
        "cases": [{"input": [[1, 2, 3], 5], "output": [[1], [2], [3], [], []]}]}}),
    );
    assert!(v.passed, "{v:?}");
}

#[test]
fn call_results_compare_with_python_semantics() {
    let code = "def f(kind):\n    return {'tuple': (1, 2), 'float': 0.1 + 0.2, 'set': {3, 1, 2}, 'big': 2**100, 'dict': {1: 'a'}, 'bool': True}[kind]\n";
    let cases = json!([
        {"input": ["tuple"], "output": [1, 2]},
        {"input": ["float"], "output": 0.3},
        {"input": ["set"], "output": [1, 2, 3]},
        {"input": ["big"], "output": {"$int": "1267650600228229401496703205376"}},
        {"input": ["dict"], "output": {"$dict": [[1, "a"]]}},
        {"input": ["bool"], "output": true}
    ]);
    let v = judge(json!({"code": code, "tests": {"kind": "call", "entry": "f", "cases": cases}}));
    assert!(v.passed, "{v:?}");
    let v = judge(
        json!({"code": "def f():\n    return [3, 1, 2]\n", "tests": {"kind": "call", "entry": "f",
        "cases": [{"input": [], "output": [1, 2, 3]}]}, "compare": {"unordered": true}}),
    );
    assert!(v.passed);
    let v = judge(
        json!({"code": "def f():\n    return [3, 1, 2]\n", "tests": {"kind": "call", "entry": "f",
        "cases": [{"input": [], "output": [1, 2, 3]}]}}),
    );
    assert_eq!(v.verdict, CaseStatus::WrongAnswer);
    assert!(v.cases[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("expected [1,2,3]"));
}

#[test]
fn design_problems_run_their_operations_and_name_the_first_wrong_one() {
    let code = r#"
class LRUCache:
    def __init__(self, capacity: int):
        self.capacity, self.items = capacity, OrderedDict()

    def get(self, key: int) -> int:
        if key not in self.items:
            return -1
        self.items.move_to_end(key)
        return self.items[key]

    def put(self, key: int, value: int) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        if len(self.items) > self.capacity:
            self.items.popitem(last=False)
"#;
    let tests = json!({"kind": "design", "class": "LRUCache",
        "ops": ["LRUCache", "put", "put", "get", "put", "get", "put", "get", "get", "get"],
        "args": [[2], [1, 1], [2, 2], [1], [3, 3], [2], [4, 4], [1], [3], [4]],
        "outputs": [null, null, null, 1, null, -1, null, -1, 3, 4]});
    let v = judge(json!({"code": code, "tests": tests}));
    assert!(v.passed, "{v:?}");
    // A cache that never evicts fails at the first get that should miss.
    let wrong = code.replace("self.items.popitem(last=False)", "pass");
    let v = judge(json!({"code": wrong, "tests": tests}));
    assert_eq!(v.verdict, CaseStatus::WrongAnswer);
    let detail = v.cases[0].detail.as_deref().unwrap();
    assert!(detail.starts_with("op 5 `get`"), "{detail}");
    // Mismatched lists are the problem's error, not a verdict.
    let bad = json!({"code": code, "tests": {"kind": "design", "class": "LRUCache",
        "ops": ["LRUCache", "get"], "args": [[2]], "outputs": [null, -1]}});
    assert!(matches!(
        common::sandbox().judge(&common::problem(bad)),
        Err(SandboxError::InvalidDesign(_))
    ));
}

#[test]
fn a_call_can_be_expected_to_raise() {
    let code = "def parse(text):\n    if not text.isdigit():\n        raise ValueError(text)\n    return int(text)\n";
    let case = |input: &str, raises: &str| json!({"input": [input], "raises": raises});
    let tests = |cases: Value| json!({"kind": "call", "entry": "parse", "cases": cases});
    // The class itself or a base class of it.
    let v = judge(
        json!({"code": code, "tests": tests(json!([case("x", "ValueError"), case("y", "Exception"),
        {"input": ["12"], "output": 12}]))}),
    );
    assert!(v.passed, "{v:?}");
    let v = judge(
        json!({"code": code, "tests": tests(json!([case("12", "ValueError"), case("x", "KeyError")]))}),
    );
    assert_eq!(v.cases[0].status, CaseStatus::WrongAnswer, "{v:?}");
    assert!(v.cases[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("the call returned"));
    assert_eq!(v.cases[1].status, CaseStatus::WrongAnswer, "{v:?}");
}

#[test]
fn programs_find_what_a_real_interpreter_gives_them() {
    // Three-argument pow, though the prelude imports math's and operator's `pow`.
    let v = judge(json!({"code": "def f(b, e, m):\n    return pow(b, e, m)\n",
        "tests": {"kind": "call", "entry": "f", "cases": [{"input": [3, 200, 1000000007], "output": 136318165}]}}));
    assert!(v.passed, "{v:?}");
    assert!(stdio("pow(2, 10, 1000)\nprint(pow(2, 10, 1000))", "", "24").passed);
    // exit() and quit() end a program as under `site`.
    assert!(stdio("print('NO')\nexit()\nprint('YES')", "", "NO").passed);
    assert!(stdio("print('NO')\nquit(0)", "", "NO").passed);
    // Non-ASCII output and input.
    assert!(stdio("print(input() + ' → ü')", "ß\n", "ß → ü").passed);
    // atexit handlers run and a replaced sys.stdout is flushed (fast-I/O templates).
    let fast_io = "import sys, io, atexit\nout = io.StringIO()\natexit.register(lambda: sys.__stdout__.write(out.getvalue()))\nout.write('42\\n')";
    assert!(stdio(fast_io, "", "42").passed);
    let wrapped = "import sys, io\nsys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, 'w', closefd=False)), write_through=False)\nprint(7)";
    assert!(stdio(wrapped, "", "7").passed);
    // The deep-recursion idiom: a thread with a big stack runs its target inline.
    let threaded = "import sys, threading\nsys.setrecursionlimit(10**6)\nthreading.stack_size(2**27)\ndef depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\ndef main():\n    print(depth(20000))\nt = threading.Thread(target=main)\nt.start()\nt.join()";
    assert!(stdio(threaded, "", "20000").passed);
}

#[test]
fn stdio_is_token_wise_case_sensitive_and_float_tolerant() {
    assert!(stdio("print('1   2\\n3  ')", "", "1 2 3").passed);
    assert!(stdio("print(1/3)", "", "0.333333").passed);
    assert!(!stdio("print('YES')", "", "yes").passed);
    assert!(!stdio("print(1, 2)", "", "1 2 3").passed);
    let v = stdio("print(4)", "", "5");
    assert_eq!(
        v.cases[0].detail.as_deref(),
        Some("token 1: expected `5`, got `4`")
    );
}

#[test]
fn errors_carry_the_traceback_tail_and_compile_errors_are_their_own_verdict() {
    let v = stdio("def f(:\n  pass", "", "");
    assert_eq!(v.verdict, CaseStatus::CompileError);
    let v = stdio("x = [1]\nprint(x[5])", "", "");
    assert_eq!(v.verdict, CaseStatus::RuntimeError);
    assert!(
        v.cases[0].detail.as_deref().unwrap().contains("IndexError"),
        "{v:?}"
    );
}

#[test]
fn completions_are_taken_from_their_last_python_block() {
    let completion = "First try:\n```python\nprint(0)\n```\nBetter:\n```python\nprint(int(input()) * 2)\n```\nDone.";
    let v = judge(
        json!({"code": completion, "tests": {"kind": "stdio", "cases": [{"stdin": "21", "stdout": "42"}]}}),
    );
    assert!(v.passed);
    assert_eq!(v.extracted, "fenced");
}

#[test]
fn tests_do_not_share_state_and_runs_are_deterministic() {
    let code = "import random\nimport builtins\nbuiltins.counter = getattr(builtins, 'counter', 0) + 1\nprint(builtins.counter, random.random())";
    let cases: Vec<_> = (0..4)
        .map(|_| json!({"stdin": "", "stdout": "x"}))
        .collect();
    let first = judge(json!({"code": code, "tests": {"kind": "stdio", "cases": cases}}));
    let second = judge(json!({"code": code, "tests": {"kind": "stdio", "cases": cases}}));
    let outputs = |v: &sandbox::TestReport| -> Vec<String> {
        v.cases.iter().map(|c| c.detail.clone().unwrap()).collect()
    };
    // Every test sees a fresh interpreter: the counter is always 1.
    assert!(
        outputs(&first).iter().all(|d| d.contains("got `1`")),
        "{first:?}"
    );
    assert_eq!(outputs(&first), outputs(&second));
}

#[test]
fn bad_problems_get_clear_errors() {
    let sandbox = common::sandbox();
    let p = common::problem(
        json!({"language": "cpp", "code": "", "tests": {"kind": "stdio", "cases": [{"stdout": ""}]}}),
    );
    assert!(matches!(
        sandbox.judge(&p),
        Err(SandboxError::UnsupportedLanguage(_))
    ));
    let p = common::problem(json!({"code": "", "tests": {"kind": "stdio", "cases": []}}));
    assert!(matches!(sandbox.judge(&p), Err(SandboxError::NoTests)));
    let p = common::problem(
        json!({"code": "", "tests": {"kind": "stdio", "cases": [{"stdout": ""}]}, "limits": {"time_ms": 0}}),
    );
    assert!(matches!(
        sandbox.judge(&p),
        Err(SandboxError::InvalidLimits(_))
    ));
    assert!(serde_json::from_value::<sandbox::Problem>(
        json!({"code": "", "tests": {"kind": "nope"}})
    )
    .is_err());
}

#[test]
fn fuel_budgets_give_load_independent_time_limits() {
    let sandbox = Sandbox::new(
        EngineOptions {
            fuel: true,
            ..Default::default()
        },
        1,
    )
    .expect("fuel engine");
    let loop_code = "s = 0\nfor i in range(10**6):\n    s += i\nprint(s)";
    let p = |fuel: u64| {
        common::problem(json!({"code": loop_code, "tests": {"kind": "stdio",
        "cases": [{"stdin": "", "stdout": "499999500000"}]}, "limits": {"fuel": fuel, "time_ms": 60000}}))
    };
    let rich = sandbox.judge(&p(u64::MAX / 2)).unwrap();
    assert!(rich.passed, "{rich:?}");
    let used = rich.cases[0].fuel.expect("fuel reported");
    let again = sandbox.judge(&p(u64::MAX / 2)).unwrap();
    assert_eq!(again.cases[0].fuel, Some(used), "fuel use is deterministic");
    let poor = sandbox.judge(&p(used / 2)).unwrap();
    assert_eq!(poor.verdict, CaseStatus::TimeLimit);
}

#[test]
fn a_checker_judges_problems_with_several_right_outputs() {
    // Print two positive numbers that sum to c: many outputs are right.
    let checker = "def check(input, expected, actual):\n    a, b = map(int, actual.split())\n    return (a > 0 and b > 0 and a + b == int(input), f'{a} + {b} is not {input.strip()}')\n";
    let problem = |code: &str, checker: &str| {
        judge(
            json!({"code": code, "tests": {"kind": "stdio", "checker": checker,
            "cases": [{"stdin": "7\n", "stdout": "3 4\n"}, {"stdin": "2\n", "stdout": "1 1\n"}]}}),
        )
    };
    for right in [
        "c = int(input())\nprint(c - 1, 1)",
        "c = int(input())\nprint(1, c - 1)",
    ] {
        let v = problem(right, checker);
        assert!(v.passed, "{right}: {v:?}");
    }
    let v = problem("c = int(input())\nprint(c, 0)", checker);
    assert_eq!(v.verdict, CaseStatus::WrongAnswer, "{v:?}");
    assert!(
        v.cases[0]
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("is not 7"),
        "{v:?}"
    );
    // Output the checker cannot even parse is the solution's wrong answer.
    let v = problem("print('seven')", checker);
    assert_eq!(v.verdict, CaseStatus::WrongAnswer, "{v:?}");
    // An assertion in the checker rejects too.
    let asserting = "def check(input, expected, actual):\n    assert actual.split() == expected.split(), 'differs'\n";
    let v = problem("print(2, 2)", asserting);
    assert_eq!(v.verdict, CaseStatus::WrongAnswer, "{v:?}");
    // A checker that rejects the expected output itself is broken: the judge's error.
    let broken = "def check(input, expected, actual):\n    return False\n";
    let v = problem("c = int(input())\nprint(c - 1, 1)", broken);
    assert_eq!(v.verdict, CaseStatus::JudgeError, "{v:?}");
    let v = problem("print(1)", "x = 1\n");
    assert_eq!(v.verdict, CaseStatus::JudgeError, "{v:?}");
    // The solution's own failures still decide first.
    let v = problem("raise ValueError('no')", checker);
    assert_eq!(v.verdict, CaseStatus::RuntimeError, "{v:?}");
}

#[test]
fn sandbox_fusion_submit_requests_judge_like_the_sandbox_schema() {
    let submit = |completion: &str, test_cases: Value| {
        let problem = Problem::from_value(json!({"completion": completion, "config": {
            "language": "python", "run_timeout": 5, "provided_data": {"test_cases": test_cases},
            "extra": {"run_all_cases": true}}}))
        .expect("a valid submit request");
        common::sandbox().judge(&problem).expect("judgeable")
    };
    let stdio = json!({"type": "stdin_stdout", "input": ["1 2", "3 4"], "output": ["3", "7"], "fn_name": null});
    assert!(
        submit(
            "```python\na, b = map(int, input().split())\nprint(a + b)\n```",
            stdio.clone()
        )
        .passed
    );
    assert!(!submit("```python\nprint(3)\n```", stdio).passed);
    let call = json!({"type": "function_call", "input": [[1, 2], [3, 4]], "output": [[3], [7]], "fn_name": "add"});
    assert!(submit("def add(a, b):\n    return a + b\n", call.clone()).passed);
    assert!(!submit("def add(a, b):\n    return a - b\n", call).passed);
    let assert = json!({"type": "assert", "test": "def check(candidate):\n    assert candidate(2) == 4\n", "entry_point": "sq"});
    assert!(submit("def sq(x):\n    return x * x\n", assert).passed);
}

#[test]
fn integers_beyond_64_bits_stay_exact_in_dataset_tests() {
    // A dataset row's tests as a JSON string (verl's prime_code ground truth), big literals raw.
    let tests = r#"{"inputs": [[123456789012345678901], [-99999999999999999999]],
                    "outputs": [123456789012345678902, -99999999999999999998], "fn_name": "inc"}"#;
    let right = judge(json!({"code": "def inc(x):\n    return x + 1\n", "tests": tests}));
    assert!(right.passed, "{right:?}");
    let off_by_one = judge(json!({"code": "def inc(x):\n    return x + 2\n", "tests": tests}));
    assert_eq!(
        off_by_one.verdict,
        CaseStatus::WrongAnswer,
        "{off_by_one:?}"
    );
    // The arguments arrive as Python ints, not floats.
    let typed = judge(
        json!({"code": "def inc(x):\n    assert type(x) is int\n    return x + 1\n", "tests": tests}),
    );
    assert!(typed.passed, "{typed:?}");
}
