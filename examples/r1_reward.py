"""Use a running `r1-reward` server from Python trainers, with the standard library only.

TRL (GRPOTrainer)::

    from r1_reward import make_trl_reward_funcs
    trainer = GRPOTrainer(model=..., reward_funcs=make_trl_reward_funcs("http://127.0.0.1:5000"),
                          train_dataset=dataset)   # dataset columns: prompt, solution (or tests, task, language)

  One function per reward component (TRL logs `rewards/<name>/mean` for each and weights them with
  `reward_weights`); the first one called sends the whole batch in one request, the others reuse it.
  A component that does not apply to a row returns None, which TRL ignores for that row.

verl (custom reward function)::

    reward.custom_reward_function.path=examples/r1_reward.py
    reward.custom_reward_function.name=compute_score        # or compute_score_batch with the batch manager

  The server URL comes from R1_REWARD_URL (default http://127.0.0.1:5000). Returns
  {"score": total, <component>: value}, None for a component that does not apply (reward_kwargs
  `skipped_value: 0.0` for GDPO). Use the naive or dapo manager: PRIME's positional call is refused.

A failed reward is never a zero. When a reward that applies to a sample errors, panics or times
out, the server's `total` for that sample is null and `failed` names the components: the TRL
functions return None for it (TRL leaves None out), verl's functions raise RewardFailedError (verl
needs a number), and OpenRLHF's `/get_reward` answers null for it.

OpenRLHF needs no code: `--remote_rm_url http://127.0.0.1:5000/get_reward` (≤ 0.9) or
`--reward.remote_url http://127.0.0.1:5000/get_reward` (newer), with `--label_key answer`.
"""

import hashlib
import json
import os
import sys
import time
import types
import urllib.error
import urllib.request

DEFAULT_URL = os.environ.get("R1_REWARD_URL", "http://127.0.0.1:5000")


class RewardServerError(RuntimeError):
    """The server refused the request or could not be reached."""


class RewardFailedError(RewardServerError):
    """A reward that applies to the sample failed (error, panic, timeout): it has no score."""


class R1RewardClient:
    """POSTs batches to `/v1/reward`; retries connection errors, 429 and 503 (starting)."""

    def __init__(self, url=None, timeout=180.0, retries=5):
        self.url = (url or DEFAULT_URL).rstrip("/")
        self.timeout = timeout
        self.retries = retries

    def reward(self, items):
        """items: dicts with prompt, completion, task, answer, tests, limits, language.
        Returns one {"total", "failed", "components": [{"name", "outcome", "value", "reason", ...}]}
        per item; "total" is None when "failed" names a component that failed or timed out."""
        if not items:
            return []
        body = json.dumps({"items": items}).encode("utf-8")
        return self._post("/v1/reward", body)["results"]

    def _post(self, path, body):
        last_error = None
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(
                self.url + path, data=body, headers={"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as error:
                detail = error.read().decode("utf-8", "replace")
                if error.code not in (429, 503):
                    raise RewardServerError(f"{path}: HTTP {error.code}: {detail}") from None
                last_error = f"HTTP {error.code}: {detail}"
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                last_error = str(error)
            time.sleep(min(2**attempt * 0.25, 10.0))
        raise RewardServerError(f"{path}: no answer after {self.retries + 1} attempts: {last_error}")


def _text(completion):
    """TRL completions are strings (standard) or message lists (conversational)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[0], dict):
        return completion[-1].get("content") or ""
    raise TypeError(f"unsupported completion type: {type(completion).__name__}")


def _prompt_text(prompt):
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt
    return "\n".join(message.get("content") or "" for message in prompt if message.get("role") == "user")


def _column(kwargs, name, n):
    values = kwargs.get(name)
    return list(values) if values is not None else [None] * n


def _items_for_trl(prompts, completions, kwargs, answer_column, tests_column, task_column, language_column):
    n = len(completions)
    prompts = list(prompts) if prompts is not None else [None] * n
    answers = _column(kwargs, answer_column, n)
    tests = _column(kwargs, tests_column, n)
    tasks = _column(kwargs, task_column, n)
    languages = _column(kwargs, language_column, n)
    items = []
    for i in range(n):
        item = {"prompt": _prompt_text(prompts[i]), "completion": _text(completions[i])}
        if answers[i] is not None:
            item["answer"] = str(answers[i])
            item["task"] = "math"
        if tests[i] is not None:
            item["tests"] = json.loads(tests[i]) if isinstance(tests[i], str) else tests[i]
            item["task"] = "code"
        if tasks[i] is not None:
            item["task"] = tasks[i]
        if languages[i] is not None:
            item["language"] = languages[i]
        items.append(item)
    return items


def make_trl_reward_funcs(url=None, components=None, answer_column="solution", tests_column="tests",
                          task_column="task", language_column="language"):
    """TRL reward functions, one per bus component (all of the server's when `components` is None)."""
    client = R1RewardClient(url)
    last = {"key": None, "results": None}

    def batch(prompts, completions, kwargs):
        items = _items_for_trl(prompts, completions, kwargs, answer_column, tests_column, task_column,
                               language_column)
        key = hashlib.sha256(json.dumps(items, sort_keys=True).encode("utf-8")).hexdigest()
        if last["key"] != key:
            last["results"] = client.reward(items)
            last["key"] = key
        return last["results"]

    if components is None:
        probe = client.reward([{"completion": ""}])
        components = [c["name"] for c in probe[0]["components"]]

    def make(name):
        def reward(prompts=None, completions=None, **kwargs):
            values = []
            for result in batch(prompts, completions, kwargs):
                component = next((c for c in result["components"] if c["name"] == name), None)
                scored = component is not None and component["outcome"] == "scored"
                values.append(component["value"] if scored else None)
            return values

        reward.__name__ = name
        return reward

    return [make(name) for name in components]


def trl_reward(prompts=None, completions=None, **kwargs):
    """One TRL reward function: the bus's weighted total (R1's plain sum with the default config);
    None for a sample whose reward failed."""
    items = _items_for_trl(prompts, completions, kwargs, "solution", "tests", "task", "language")
    return [result["total"] for result in R1RewardClient().reward(items)]


# verl `data_source`s whose ground truth is code tests (verl's `prime_code` family and the
# code-RL datasets): `{"inputs", "outputs", "fn_name"?}`, usually as a JSON string.
CODE_SOURCES = ("codecontests", "apps", "codeforces", "taco", "deepcoder", "livecodebench",
                "primeintellect", "prime_code", "code", "leetcode")


def _code_tests(data_source, ground_truth):
    """The ground truth as code tests, when it is some: routed by `data_source` or recognised by
    its shape (the sandbox schema or a dataset's inputs/outputs, as an object or a JSON string)."""
    value = ground_truth
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            # A code dataset's tests that do not parse: the server says why, per sample.
            return ground_truth if _is_code_source(data_source) else None
    if isinstance(value, dict) and ("kind" in value or ("inputs" in value and "outputs" in value)):
        return value
    return None


def _is_code_source(data_source):
    source = (data_source or "").lower()
    return any(name in source for name in CODE_SOURCES)


def _item_for_verl(data_source, solution_str, ground_truth, extra_info):
    extra_info = extra_info or {}
    item = {"prompt": extra_info.get("question") or "", "completion": solution_str}
    tests = _code_tests(data_source, ground_truth)
    if tests is not None:
        item["tests"] = tests
        item["task"] = "code"
    elif isinstance(ground_truth, dict):
        tests = ground_truth.get("tests")
        if tests is not None:
            item["tests"] = json.loads(tests) if isinstance(tests, str) else tests
            item["task"] = "code"
        if ground_truth.get("answer") is not None:
            item["answer"] = str(ground_truth["answer"])
            item["task"] = "math"
    elif ground_truth is not None and ground_truth != "":
        item["answer"] = str(ground_truth)
        item["task"] = "math"
    if extra_info.get("tests") is not None:
        tests = extra_info["tests"]
        item["tests"] = json.loads(tests) if isinstance(tests, str) else tests
        item["task"] = "code"
    for key in ("task", "language"):
        if extra_info.get(key) is not None:
            item[key] = extra_info[key]
    return item


def _verl_result(result, skipped_value=None):
    if result["total"] is None:
        raise RewardFailedError(f"rewards failed for this sample: {', '.join(result['failed'])}: "
                                + "; ".join(f"{c['name']}: {c['reason']}" for c in result["components"]
                                            if c["name"] in result["failed"]))
    # The same keys for every sample, so verl's per-key lists stay aligned. A component that does
    # not apply (code on a math row) is None: verl's validation metrics leave None out of a key's
    # mean, where 0.0 would drag it down.
    out = {"score": result["total"]}
    for component in result["components"]:
        out[component["name"]] = component["value"] if component["outcome"] == "scored" else skipped_value
    return out


class PrimeManagerError(SystemExit):
    """verl's PRIME reward manager reads a bare number from compute_score and scores anything else,
    and any exception, as 0 for the whole batch. A SystemExit is the one thing it does not swallow."""


def _refuse_positional(args):
    if args:
        raise PrimeManagerError(
            "r1_reward.compute_score was called positionally, as verl's PRIME reward manager calls it; "
            "PRIME reads a bare number and silently scores this function's dict results (and every "
            "failure) as 0. Use reward_manager naive or dapo, or call compute_score with keywords.")


def compute_score(*args, data_source=None, solution_str="", ground_truth=None, extra_info=None, **kwargs):
    """verl's per-sample custom reward: {"score": total, <component>: value or None, ...}.
    reward_kwargs: `url` (else R1_REWARD_URL); `skipped_value` (default None) for components that
    do not apply, e.g. 0.0 for verl's GDPO, which turns None into NaN advantages."""
    _refuse_positional(args)
    item = _item_for_verl(data_source, solution_str, ground_truth, extra_info)
    return _verl_result(R1RewardClient(kwargs.get("url")).reward([item])[0], kwargs.get("skipped_value"))


def compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos=None, **kwargs):
    """verl's batch reward manager: one request for the whole batch."""
    extra_infos = extra_infos if extra_infos is not None else [None] * len(solution_strs)
    items = [
        _item_for_verl(source, solution, truth, extra)
        for source, solution, truth, extra in zip(data_sources, solution_strs, ground_truths, extra_infos)
    ]
    return [_verl_result(result, kwargs.get("skipped_value"))
            for result in R1RewardClient(kwargs.get("url")).reward(items)]


# verl loads this file by path under a generated module name that it does not register in
# sys.modules, so its functions cannot be pickled into a process pool (verl's PRIME manager): every
# sample would then score 0 without this code running. Registered, the pool's forked workers
# reach compute_score, which refuses PRIME's call with a clear message. (A second load by path
# replaces the first: the newest functions are the picklable ones.)
if getattr(sys.modules.get(__name__), "__dict__", None) is not globals():
    sys.modules[__name__] = types.ModuleType(__name__)
    sys.modules[__name__].__dict__.update(globals())
