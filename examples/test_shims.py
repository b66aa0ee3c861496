"""Checks the TRL, verl and OpenRLHF integrations against a running r1-reward server.

    python3 examples/test_shims.py http://127.0.0.1:5000

Standard library only; run by `cargo test -p judges --test shims`, which starts the server.
"""

import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import r1_reward  # noqa: E402

GOOD = "<think>\nTwo and two make four.\n</think>\n<answer>\\boxed{4}</answer>"
BAD = "<think>\nTwo and two make five.\n</think>\n<answer>\\boxed{5}</answer>"
NO_FORMAT = "The answer is \\boxed{4}"
CODE = "<think>\nReturn the sum.\n</think>\n<answer>\n```python\ndef add(a, b):\n    return a + b\n```\n</answer>"
WRONG_CODE = "<think>\nReturn the difference.\n</think>\n<answer>\n```python\ndef add(a, b):\n    return a - b\n```\n</answer>"
TESTS = {"kind": "call", "entry": "add", "cases": [{"input": [1, 2], "output": 3}, {"input": [5, 5], "output": 10}]}


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def trl(url):
    funcs = r1_reward.make_trl_reward_funcs(url)
    names = [f.__name__ for f in funcs]
    check(names == ["accuracy", "code", "format", "language"], f"component functions: {names}")
    by_name = dict(zip(names, funcs))

    # Standard format, as GRPOTrainer calls it: dataset columns arrive as keyword lists.
    prompts = ["What is 2+2?"] * 3 + ["Write add(a, b)."]
    completions = [GOOD, BAD, NO_FORMAT, CODE]
    columns = {"solution": ["4", "4", "4", None], "tests": [None, None, None, json.dumps(TESTS)],
               "completion_ids": [[1]] * 4, "trainer_state": None}
    accuracy = by_name["accuracy"](prompts=prompts, completions=completions, **columns)
    check(accuracy == [1.0, 0.0, 1.0, None], f"accuracy: {accuracy}")
    code = by_name["code"](prompts=prompts, completions=completions, **columns)
    check(code == [None, None, None, 1.0], f"code: {code}")
    fmt = by_name["format"](prompts=prompts, completions=completions, **columns)
    check(fmt == [1.0, 1.0, 0.0, 1.0], f"format: {fmt}")

    # Conversational format.
    conv_prompts = [[{"role": "user", "content": "What is 2+2?"}]] * 2
    conv_completions = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": BAD}]]
    conv = by_name["accuracy"](prompts=conv_prompts, completions=conv_completions, solution=["4", "4"])
    check(conv == [1.0, 0.0], f"conversational accuracy: {conv}")

    # One combined function: R1's plain sum (accuracy + format + language).
    totals = r1_reward.trl_reward(prompts=prompts[:2], completions=completions[:2], solution=["4", "4"])
    check(totals[0] == 3.0 and totals[1] == 2.0, f"totals: {totals}")


def verl():
    scored = r1_reward.compute_score(data_source="math", solution_str=GOOD, ground_truth="4",
                                     extra_info={"question": "What is 2+2?"})
    check(scored["score"] == 3.0 and scored["accuracy"] == 1.0, f"verl math: {scored}")
    wrong = r1_reward.compute_score(data_source="math", solution_str=BAD, ground_truth="4")
    check(wrong["accuracy"] == 0.0 and set(wrong) == set(scored), f"verl keys stay aligned: {wrong}")
    # A component that does not apply is None (verl leaves it out of that key's logged mean),
    # or the `skipped_value` reward kwarg (0.0 for GDPO, which turns None into NaN advantages).
    check(scored["code"] is None, f"verl skipped component: {scored}")
    zeroed = r1_reward.compute_score(data_source="math", solution_str=GOOD, ground_truth="4", skipped_value=0.0)
    check(zeroed["code"] == 0.0 and zeroed["accuracy"] == 1.0, f"verl skipped_value: {zeroed}")
    # verl's PRIME manager calls positionally and zeroes dict results: refused, not silently 0.
    try:
        r1_reward.compute_score("math", GOOD, "4", None)
    except r1_reward.PrimeManagerError as error:
        check("PRIME" in str(error), f"PRIME refusal message: {error}")
    else:
        raise AssertionError("a positional (PRIME) call must be refused")
    code = r1_reward.compute_score(data_source="codecontests", solution_str=CODE, ground_truth="",
                                   extra_info={"tests": TESTS})
    check(code["code"] == 1.0, f"verl code: {code}")
    # verl's prime_code rows: the dataset's own tests as a JSON string in ground_truth.
    apps = json.dumps({"inputs": [[1, 2], [5, 5]], "outputs": [[3], [10]], "fn_name": "add"})
    routed = r1_reward.compute_score(data_source="codecontests", solution_str=CODE, ground_truth=apps)
    check(routed["code"] == 1.0 and routed["accuracy"] is None, f"verl prime_code ground truth: {routed}")
    wrong = r1_reward.compute_score(data_source="taco", solution_str=WRONG_CODE, ground_truth=apps)
    check(wrong["code"] == 0.0, f"verl prime_code wrong: {wrong}")
    batch = r1_reward.compute_score_batch(["math", "codecontests"], [BAD, WRONG_CODE],
                                          ["4", {"tests": TESTS}], [None, None])
    # No question in extra_info: the language reward cannot pick a target and is skipped.
    check([b["score"] for b in batch] == [1.0, 1.0] and batch[1]["code"] == 0.0, f"verl batch: {batch}")


def openrlhf(url):
    """The request OpenRLHF builds for `--remote_rm_url <url>/get_reward`."""
    def post(body):
        request = urllib.request.Request(url + "/get_reward", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=180) as response:
            return json.loads(response.read())

    prompt = "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
    body = {"query": [prompt + GOOD + "<|im_end|>", prompt + BAD + "<|endoftext|>"],
            "prompts": [prompt, prompt], "labels": ["4", "4"]}
    answer = post(body)
    check(answer["rewards"] == [3.0, 2.0], f"openrlhf rewards: {answer}")
    check(answer["scores"] == [1.0, 0.0], f"openrlhf scores: {answer}")
    check(answer["extra_logs"]["accuracy"] == [1.0, 0.0], f"openrlhf logs: {answer}")
    empty = post({"query": [], "prompts": [], "labels": []})
    check(empty == {"rewards": [], "scores": [], "failed": [], "errors": [],
                    "extra_logs": {"accuracy": [], "code": [], "format": [], "language": [],
                                   "reward_failed": []}}, f"empty batch: {empty}")
    check(answer["failed"] == [[], []], f"openrlhf failed: {answer}")


def failures():
    """A sample whose reward failed has no score: None for TRL, an exception for verl."""
    failed = {"total": None, "failed": ["code"],
              "components": [{"name": "code", "outcome": "timed_out", "value": None, "reason": "no result within 10 ms"},
                             {"name": "format", "outcome": "scored", "value": 1.0, "reason": "ok"}]}
    try:
        r1_reward._verl_result(failed)
    except r1_reward.RewardFailedError as error:
        check("code" in str(error) and "10 ms" in str(error), f"verl failure message: {error}")
    else:
        raise AssertionError("verl must not score a failed sample")
    fine = dict(failed, total=1.0, failed=[])
    fine["components"] = [dict(c, outcome="scored", value=1.0) for c in failed["components"]]
    check(r1_reward._verl_result(fine)["score"] == 1.0, "verl scores a complete sample")


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else r1_reward.DEFAULT_URL
    os.environ["R1_REWARD_URL"] = url
    r1_reward.DEFAULT_URL = url
    for name, run in [("trl", lambda: trl(url)), ("verl", verl), ("openrlhf", lambda: openrlhf(url)),
                      ("failures", failures)]:
        run()
        print(f"{name}: ok")


if __name__ == "__main__":
    main()
