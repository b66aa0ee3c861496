"""Guest harness of the r1 code judge (runs inside the WASM CPython, snapshotted after initialize()).

Every request is one JSON object; every response is one JSON object. The host never sends expected
outputs: `call` results travel back as tagged JSON and are compared on the host, and an `assert`
check runs in a separate instance that reaches the solution only through `_r1host.peer_call`.
"""

import atexit
import builtins
import importlib.machinery
import json
import marshal
import sys
import traceback

STDLIB = "/stdlib"
# Packages a judged program cannot use here (no sockets, threads, processes or GUI) or that only
# bloat the snapshot.
SKIPPED_PACKAGES = {
    "test", "tests", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip", "venv",
    "distutils", "pydoc_data", "multiprocessing", "asyncio", "email", "http", "urllib",
    "xmlrpc", "wsgiref", "sqlite3", "dbm", "curses", "ctypes", "msilib", "site-packages",
    "__phello__", "concurrent", "xml",
}
# Imported before the snapshot so that solutions pay nothing for them.
PRELOADED = (
    "collections", "collections.abc", "heapq", "bisect", "math", "cmath", "itertools",
    "functools", "re", "json", "typing", "string", "operator", "copy", "random", "decimal",
    "fractions", "statistics", "datetime", "dataclasses", "enum", "array", "textwrap", "io",
    "time", "numbers", "struct", "base64", "unicodedata", "traceback", "linecache", "hashlib",
    "queue", "pprint", "calendar", "abc", "types", "weakref", "contextlib", "inspect", "ast",
    "difflib", "keyword", "locale", "os", "platform",
)
# What LeetCode-style solutions expect to find without importing it (the LiveCodeBench prelude).
PRELUDE = """
from typing import *
from collections import *
from heapq import *
from bisect import *
from itertools import *
from functools import *
from math import *
from string import *
from operator import *
import collections, heapq, bisect, itertools, functools, math, string, operator, re, json
import random, copy, sys
inf = float('inf')
from builtins import pow  # math's and operator's two-argument pow hid pow(b, e, m)
"""
# The prelude's names, computed once before the snapshot; each namespace starts as a copy.
PRELUDE_NAMES = {}
DEFAULT_RECURSION_LIMIT = 50_000
ERROR_LINES = 8


class ListNode:
    def __init__(self, val=0, next=None):
        self.val = val
        self.next = next


class TreeNode:
    def __init__(self, val=0, left=None, right=None):
        self.val = val
        self.left = left
        self.right = right


class SolutionRaised(BaseException):
    """The solution raised while serving a check; not an Exception, so a check cannot swallow it."""


class MemoryFinder:
    """Imports stdlib modules from code objects compiled before the snapshot: no filesystem."""

    def __init__(self, modules):
        self.modules = modules

    def find_spec(self, name, path=None, target=None):
        entry = self.modules.get(name)
        if entry is None:
            return None
        is_package, _, filename = entry
        spec = importlib.machinery.ModuleSpec(name, self, origin=filename, is_package=is_package)
        spec.has_location = True
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        is_package, code, filename = self.modules[module.__name__]
        module.__file__ = filename
        if is_package:
            module.__path__ = []
        exec(marshal.loads(code), module.__dict__)

    def invalidate_caches(self):
        pass


def _collect_stdlib():
    import os

    modules = {}
    for root, dirs, files in os.walk(STDLIB):
        rel = os.path.relpath(root, STDLIB)
        parts = [] if rel == "." else rel.split(os.sep)
        if parts and parts[0] in SKIPPED_PACKAGES:
            dirs[:] = []
            continue
        if parts and "__init__.py" not in files:
            dirs[:] = []
            continue
        dirs[:] = [d for d in sorted(dirs) if d not in SKIPPED_PACKAGES and d != "__pycache__"]
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            stem = name[:-3]
            if not parts and stem in SKIPPED_PACKAGES:
                continue
            is_package = stem == "__init__"
            dotted = ".".join(parts if is_package else parts + [stem])
            if not dotted:
                continue
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                source = handle.read()
            try:
                code = compile(source, path, "exec", dont_inherit=True, optimize=0)
            except SyntaxError:
                continue
            modules[dotted] = (is_package, marshal.dumps(code), path)
    return modules


# False only in the benchmark's un-snapshotted baseline: imports then read /stdlib at start-up.
EAGER_STDLIB = True


def run_threads_inline():
    """WASI has no threads. The competitive-programming idiom `threading.stack_size(big);
    Thread(target=main).start()` (for deep recursion) runs `main` inline to completion instead
    of failing: `start` runs the target, `join` returns at once, `stack_size` is accepted."""
    try:
        import threading
    except ImportError:
        return

    def start(self):
        self.run()

    threading.Thread.start = start
    threading.Thread.join = lambda self, timeout=None: None
    threading.stack_size = lambda size=0: 0


def initialize():
    """Runs once before the snapshot: in-memory stdlib, preloaded modules, warm caches."""
    if EAGER_STDLIB:
        finder = MemoryFinder(_collect_stdlib())
        sys.meta_path[:] = [
            f for f in sys.meta_path if f is not importlib.machinery.PathFinder
        ] + [finder]
        sys.path[:] = []
        sys.path_hooks[:] = []
        sys.path_importer_cache.clear()
    for name in PRELOADED:
        __import__(name)
    exec(compile(PRELUDE, "<prelude>", "exec"), PRELUDE_NAMES)
    del PRELUDE_NAMES["__builtins__"]
    compile("def f(x):\n    return [i * i for i in range(x)]\n", "<warm-up>", "exec")
    sys.setrecursionlimit(DEFAULT_RECURSION_LIMIT)
    # `site` is never imported here, so `exit` / `quit` would be undefined (`print("NO"); exit()`).
    builtins.exit = builtins.quit = sys.exit
    # No locale in WASI: the streams would be ASCII and any non-ASCII print would raise.
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if stream is not None:
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")
    run_threads_inline()
    if hasattr(sys, "set_int_max_str_digits"):
        sys.set_int_max_str_digits(0)  # big-integer problems print numbers of any length
    import random

    random.seed(0)
    return True


# ---------------------------------------------------------------- tagged values


def encode(value):
    """Python value -> JSON-able structure; the host compares it (types outside JSON are tagged)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if -(2**53) < value < 2**53:
            return value
        return {"$int": str(value)}
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {"$float": repr(value)}
        return value
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"$dict": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": list(value)}
    if isinstance(value, complex):
        return {"$complex": [encode(value.real), encode(value.imag)]}
    kind = type(value).__name__
    if kind == "ListNode" and hasattr(value, "val"):
        return {"$list_node": [encode(v) for v in list_from_nodes(value)]}
    if kind == "TreeNode" and hasattr(value, "val"):
        return {"$tree_node": [encode(v) for v in list_from_tree(value)]}
    import collections
    import decimal
    import fractions

    if isinstance(value, (decimal.Decimal, fractions.Fraction)):
        return encode(float(value))
    if isinstance(value, collections.deque):
        return [encode(v) for v in value]
    return {"$repr": repr(value)}


def decode(value):
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (tag, inner), = value.items()
        if tag == "$int":
            return int(inner)
        if tag == "$float":
            return float(inner)
        if tag == "$tuple":
            return tuple(decode(v) for v in inner)
        if tag == "$set":
            return {decode(v) for v in inner}
        if tag == "$dict":
            return {decode(k): decode(v) for k, v in inner}
        if tag == "$bytes":
            return bytes(inner)
        if tag == "$complex":
            return complex(decode(inner[0]), decode(inner[1]))
        if tag == "$list_node":
            return nodes_from_list(decode(inner))
        if tag == "$tree_node":
            return tree_from_list(decode(inner))
    return {k: decode(v) for k, v in value.items()}


def nodes_from_list(values):
    head = None
    for v in reversed(values):
        head = ListNode(v, head)
    return head


def list_from_nodes(node):
    out, seen = [], 0
    while node is not None and seen < 10_000_000:
        out.append(node.val)
        node = node.next
        seen += 1
    return out


def tree_from_list(values):
    """LeetCode's level-order list (None for missing children) -> TreeNode."""
    if not values or values[0] is None:
        return None
    root = TreeNode(values[0])
    queue, i = [root], 1
    for node in queue:
        if i >= len(values):
            break
        if values[i] is not None:
            node.left = TreeNode(values[i])
            queue.append(node.left)
        i += 1
        if i < len(values) and values[i] is not None:
            node.right = TreeNode(values[i])
            queue.append(node.right)
        i += 1
    return root


def list_from_tree(root):
    out, queue = [], [root]
    for node in queue:
        if node is None:
            out.append(None)
        else:
            out.append(node.val)
            queue.append(node.left)
            queue.append(node.right)
    while out and out[-1] is None:
        out.pop()
    return out


# ---------------------------------------------------------------- requests


def error_tail(exc):
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    text = "".join(lines).rstrip().splitlines()
    return "\n".join(text[-ERROR_LINES:])


def failure(status, exc):
    return {"status": status, "error_type": type(exc).__name__, "error": error_tail(exc),
            "error_classes": [cls.__name__ for cls in type(exc).__mro__]}


def compile_solution(code):
    try:
        return compile(code, "<solution>", "exec", dont_inherit=True), None
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        return None, failure("compile_error", exc)


def run_main(request):
    """stdio: run the program as __main__; its stdout is judged on the host."""
    code, error = compile_solution(request["code"])
    if error is not None:
        return error
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    try:
        try:
            exec(code, namespace)
        finally:
            end_program()
    except SystemExit as exc:
        if exc.code not in (None, 0):
            return {"status": "runtime_error", "error_type": "SystemExit",
                    "error": f"SystemExit: {exc.code!r}"}
    except BaseException as exc:  # noqa: BLE001 - every escape is the solution's failure
        return failure("runtime_error", exc)
    return {"status": "ok"}


def end_program():
    """What interpreter shutdown does for a program: its `atexit` handlers run, and the streams
    it may have replaced (fast-I/O templates wrap or swap `sys.stdout`) are flushed."""
    try:
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None and hasattr(stream, "flush"):
                stream.flush()


SOLUTION = {}


def fresh_namespace(name):
    """Module globals with the prelude's names, as LeetCode-style code expects them."""
    namespace = dict(PRELUDE_NAMES)
    namespace.update(__name__=name, __builtins__=builtins, ListNode=ListNode, TreeNode=TreeNode)
    return namespace


def load(request):
    """call/assert: execute the solution module once; later requests call into it."""
    code, error = compile_solution(request["code"])
    if error is not None:
        return error
    namespace = fresh_namespace("solution")
    try:
        exec(code, namespace)
    except BaseException as exc:  # noqa: BLE001
        return failure("runtime_error", exc)
    SOLUTION["globals"] = namespace
    return {"status": "ok"}


def resolve(entry, namespace):
    """`fn`, `Solution().method` or `obj.attr.fn` -> a callable in the solution's namespace."""
    entry = entry.strip()
    head, _, rest = entry.partition(".")
    if head.endswith("()"):
        target = namespace[head[:-2]]()
    elif head in namespace:
        target = namespace[head]
    elif not rest and "Solution" in namespace:
        return getattr(namespace["Solution"](), head)
    else:
        raise NameError(f"name {head!r} is not defined by the solution")
    for part in filter(None, rest.split(".")):
        target = getattr(target, part)
    return target


def node_shape(annotation):
    """Which LeetCode structure an annotation names: (builder, is_a_list_of_them) or None.
    `ListNode` / `Optional[TreeNode]` is one; `List[Optional[ListNode]]` (merge k lists) is a
    list of them."""
    text = annotation if isinstance(annotation, str) else repr(annotation)
    if "ListNode" in text:
        build = nodes_from_list
    elif "TreeNode" in text:
        build = tree_from_list
    else:
        return None
    compact = text.replace(" ", "").replace("typing.", "")
    return build, compact.startswith(("List[", "list[", "Sequence["))


def convert_args(fn, args, kwargs):
    """LeetCode passes linked lists and trees as lists: convert where the signature asks."""
    import inspect

    try:
        signature = inspect.signature(fn)
        bound = signature.bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return args, kwargs
    for name, value in list(bound.arguments.items()):
        shape = node_shape(signature.parameters[name].annotation)
        if shape is None or not isinstance(value, list):
            continue
        build, many = shape
        if many:
            bound.arguments[name] = [build(v) if isinstance(v, list) else None for v in value]
        else:
            bound.arguments[name] = build(value)
    return list(bound.args), dict(bound.kwargs)


def returned_nodes(fn, value):
    """A returned structure as LeetCode writes it: an empty list or tree (None) is []."""
    shape = node_shape(getattr(fn, "__annotations__", {}).get("return"))
    if shape is None:
        return value
    if shape[1] and isinstance(value, list):
        return [[] if v is None else v for v in value]
    return [] if value is None else value


NOT_LOADED = {"status": "runtime_error", "error_type": "RuntimeError",
              "error": "the solution was not loaded"}


def call(request):
    namespace = SOLUTION.get("globals")
    if namespace is None:
        return NOT_LOADED
    try:
        fn = resolve(request["entry"], namespace)
        args = decode(request.get("args", []))
        kwargs = decode(request.get("kwargs", {}))
        if request.get("convert"):
            args, kwargs = convert_args(fn, args, kwargs)
        value = fn(*args, **kwargs)
        if request.get("convert"):
            value = returned_nodes(fn, value)
        return {"status": "ok", "value": encode(value)}
    except BaseException as exc:  # noqa: BLE001
        return failure("runtime_error", exc)


def design(request):
    """A LeetCode design problem: construct `class` with the first op's arguments, call each
    later op as a method; the returns go back in order (the constructor's is None)."""
    namespace = SOLUTION.get("globals")
    if namespace is None:
        return NOT_LOADED
    try:
        cls = resolve(request["class"], namespace)
        ops, all_args = request["ops"], decode(request["args"])
        args, kwargs = convert_args(cls, all_args[0], {})
        instance = cls(*args, **kwargs)
        values = [None]
        for op, op_args in zip(ops[1:], all_args[1:]):
            method = getattr(instance, op)
            args, kwargs = convert_args(method, op_args, {})
            values.append(encode(returned_nodes(method, method(*args, **kwargs))))
        return {"status": "ok", "value": values}
    except BaseException as exc:  # noqa: BLE001
        return failure("runtime_error", exc)


def remote(entry):
    """A stand-in for a solution function inside the check instance."""
    import _r1host

    peer_call = _r1host.peer_call

    def proxy(*args, **kwargs):
        request = {"op": "call", "entry": entry, "args": encode(list(args)),
                   "kwargs": {k: encode(v) for k, v in kwargs.items()}}
        response = json.loads(peer_call(json.dumps(request).encode()))
        if response.get("status") != "ok":
            raise SolutionRaised(response.get("error", "the solution failed"))
        return decode(response["value"])

    proxy.__name__ = entry
    return proxy


def referenced_names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= referenced_names(const)
    return names


def check(request):
    """assert: run the trusted check script here; the candidate lives in the peer instance."""
    script = request["script"]
    entry = request["entry"]
    try:
        code = compile(script, "<check>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return failure("harness_error", exc)
    namespace = fresh_namespace("check")
    try:
        exec(code, namespace)
        for name in referenced_names(code):
            if name not in namespace and not hasattr(builtins, name):
                namespace[name] = remote(name)
        checker = namespace.get("check")
        if checker is None:
            return {"status": "harness_error", "error_type": "NameError",
                    "error": "the test script defines no check(candidate)"}
        checker(remote(entry))
    except AssertionError as exc:
        return failure("wrong_answer", exc)
    except SolutionRaised as exc:
        return {"status": "runtime_error", "error_type": "SolutionRaised", "error": str(exc)}
    except BaseException as exc:  # noqa: BLE001
        return failure("runtime_error", exc)
    return {"status": "ok", "checked": True}


def checker_verdict(check_fn, request, actual):
    """(accepted, message) from `check(input, expected, actual)`: a truth value, a pair
    (ok, message), or nothing (a checker that only asserts accepts by returning)."""
    try:
        verdict = check_fn(request["input"], request["expected"], actual)
    except AssertionError as exc:
        return False, error_tail(exc)
    message = ""
    if isinstance(verdict, tuple) and len(verdict) == 2:
        verdict, message = verdict
    return verdict is None or bool(verdict), str(message)


def judge_output(request):
    """stdio with a special judge: the trusted checker decides. It must accept the expected
    output itself first (a checker that rejects the reference is broken: a judge error); after
    that, an exception it raises on the actual output is a rejection of that output."""
    try:
        code = compile(request["checker"], "<checker>", "exec", dont_inherit=True)
        namespace = fresh_namespace("checker")
        exec(code, namespace)
        check_fn = namespace.get("check")
        if not callable(check_fn):
            return {"status": "harness_error", "error_type": "NameError",
                    "error": "the checker defines no check(input, expected, actual)"}
        accepted, message = checker_verdict(check_fn, request, request["expected"])
    except BaseException as exc:  # noqa: BLE001
        return failure("harness_error", exc)
    if not accepted:
        return {"status": "harness_error", "error_type": "CheckerError",
                "error": "the checker rejects the expected output: " + message}
    try:
        accepted, message = checker_verdict(check_fn, request, request["actual"])
    except BaseException as exc:  # noqa: BLE001
        return {"status": "wrong_answer", "error_type": type(exc).__name__,
                "error": "the checker raised on this output: " + error_tail(exc)}
    if not accepted:
        return {"status": "wrong_answer", "error_type": "Rejected",
                "error": message or "the checker rejected the output"}
    return {"status": "ok", "checked": True}


HANDLERS = {"main": run_main, "load": load, "call": call, "check": check, "design": design,
            "judge_output": judge_output}


def dispatch(raw):
    """Entry point from r1_run: bytes in, bytes out; never raises."""
    try:
        request = json.loads(raw)
        handler = HANDLERS[request["op"]]
        response = handler(request)
    except BaseException as exc:  # noqa: BLE001
        response = failure("harness_error", exc)
    finally:
        for stream in (sys.__stdout__, sys.__stderr__):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001 - a closed or full pipe is the host's to report
                pass
    try:
        return json.dumps(response).encode()
    except BaseException as exc:  # noqa: BLE001
        return json.dumps(failure("harness_error", exc)).encode()
