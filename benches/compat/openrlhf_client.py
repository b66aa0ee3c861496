"""OpenRLHF's own reward path against r1-reward: `SingleTurnAgentExecutor.execute` (what its vLLM
rollout actor runs per sample with `--remote_rm_url URL/get_reward`) with a stand-in engine that
"generates" chosen completions, then `SamplesGenerator._process_response_into_experience`, which
turns the reply into the tensors PPO trains on.

    python openrlhf_client.py http://127.0.0.1:5000
"""

import asyncio
import sys
import types
from types import SimpleNamespace

import common
from common import (BAD, CALL_TESTS_JSON, CODE, CODE_PROMPT, GOOD, MATH_PROMPT, NO_FORMAT, SANDBOX_TESTS,
                    STDIO_CODE, STDIO_PROMPT, STDIO_TESTS_JSON, WRONG_CODE, chatml, check)

import json  # noqa: E402  (after common, which sets sys.path)


def stub_vllm():
    """vllm is GPU-only; the modules below only import these names from it."""
    vllm = types.ModuleType("vllm")
    vllm.__version__ = "0.29.0"
    vllm.SamplingParams = SimpleNamespace
    inputs = types.ModuleType("vllm.inputs")
    inputs.TokensPrompt = dict
    utils = types.ModuleType("vllm.utils")
    utils.random_uuid = lambda: "0"
    vllm.inputs, vllm.utils = inputs, utils
    sys.modules.update({"vllm": vllm, "vllm.inputs": inputs, "vllm.utils": utils})


class Engine:
    """Answers each prompt with the completion chosen for it, as token ids (like vLLM)."""

    def __init__(self, tokenizer, completions):
        self.tokenizer = tokenizer
        self.completions = completions

    async def generate(self, prompt_token_ids, sampling_params, multi_modal_data=None):
        prompt = self.tokenizer.decode(prompt_token_ids)
        # The prompt itself, or its tail when OpenRLHF cut it from the left.
        text = next(c for p, c in self.completions if p == prompt or p.endswith(prompt))
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        ids = ids[: sampling_params.max_tokens]
        output = SimpleNamespace(token_ids=ids, text=self.tokenizer.decode(ids), logprobs=None,
                                 finish_reason="stop")
        return SimpleNamespace(outputs=[output])


def main():
    url = sys.argv[1].rstrip("/") + "/get_reward"
    stub_vllm()
    from openrlhf.trainer.ppo_utils.samples_generator import SamplesGenerator
    from openrlhf.utils.agent import SingleTurnAgentExecutor
    from importlib.metadata import version

    tokenizer = common.tokenizer()
    eos = "<|im_end|>"
    long_prompt = chatml("Ignore this long preamble. " * 40 + MATH_PROMPT)
    # (prompt as fed to the policy, label as the dataset's label column holds it, completion,
    #  expected reward, expected score). Labels: what `--label_key` rows look like after HF
    # `datasets` (a struct column fills absent fields with null; tests are often a JSON string).
    rows = [
        (chatml(MATH_PROMPT), "4", GOOD + eos, 3.0, 1.0),
        (chatml(MATH_PROMPT + " "), "4", BAD + eos, 2.0, 0.0),
        (chatml(MATH_PROMPT + "  "), 4, GOOD + eos, 3.0, 1.0),
        (chatml(MATH_PROMPT + "   "), {"answer": "4", "tests": None}, GOOD + eos, 3.0, 1.0),
        (chatml(MATH_PROMPT + "    "), {"answer": "4", "tests": None, "fn_name": None, "task": None},
         NO_FORMAT + eos, 2.0, 1.0),
        (chatml(CODE_PROMPT), {"answer": None, "tests": json.dumps(SANDBOX_TESTS)}, CODE + eos, 3.0, 1.0),
        (chatml(CODE_PROMPT + " "), {"answer": None, "tests": CALL_TESTS_JSON}, WRONG_CODE + eos, 2.0, 0.0),
        (chatml(STDIO_PROMPT), {"tests": {"inputs": ["1 2\n", "5 5\n"], "outputs": ["3\n", "10\n"],
                                          "fn_name": None}}, STDIO_CODE + eos, 3.0, 1.0),
        (chatml(STDIO_PROMPT + " "), {"tests": STDIO_TESTS_JSON, "answer": None}, STDIO_CODE + eos, 3.0, 1.0),
        # No --label_key: OpenRLHF sends "" for every label; only format and language apply.
        (chatml("Say something about the number four."), "", GOOD + eos, 2.0, 0.0),
        # An unusable label: that item is 0, named in `failed`, never a 400 for the batch.
        (chatml(CODE_PROMPT + "  "), {"tests": "{not json"}, CODE + eos, 0.0, 0.0),
    ]
    completions = [(p, c) for p, _, c, _, _ in rows]
    engine = Engine(tokenizer, completions + [(long_prompt, GOOD + eos)])
    params = SimpleNamespace(max_tokens=None, logprobs=None)
    executor = SingleTurnAgentExecutor(url)

    async def run_all():
        calls = [executor.execute(p, label, params, 4096, tokenizer, engine) for p, label, _, _, _ in rows]
        # A prompt longer than max_len - max_tokens: OpenRLHF cuts it from the left, so the query
        # no longer starts with the prompt it sends.
        calls.append(executor.execute(long_prompt, "4", SimpleNamespace(max_tokens=64, logprobs=None), 160,
                                      tokenizer, engine))
        return await asyncio.gather(*calls)

    outputs = asyncio.run(run_all())
    for (prompt, label, _, reward, score), output in zip(rows, outputs):
        check(output["reward"] == [reward] and output["scores"] == [score],
              f"label {label!r}: reward {output['reward']}, score {output['scores']} (want {reward}, {score})")
        experience = SamplesGenerator._process_response_into_experience(None, output, max_len=4096)
        check(experience.rewards.flatten().tolist() == [reward], f"experience rewards {experience.rewards}")
        check(experience.info["score"].flatten().tolist() == [score], f"experience score {experience.info}")
        for key in ("accuracy", "code", "format", "language", "reward_failed"):
            check(key in experience.info, f"extra_logs.{key} reaches the experience info: {experience.info}")
    truncated = outputs[-1]
    check(truncated["reward"] is not None and truncated["extra_logs"]["accuracy"] == [1.0],
          f"left-truncated prompt: {truncated}")
    check(outputs[len(rows) - 1]["extra_logs"]["reward_failed"] == [1.0], f"unusable label: {outputs[-2]}")
    print(f"openrlhf {version('openrlhf')}: "
          f"{len(outputs)} samples through SingleTurnAgentExecutor and the experience maker: ok")


if __name__ == "__main__":
    main()
