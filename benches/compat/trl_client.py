"""TRL's own reward path against r1-reward: `GRPOTrainer._calculate_rewards` with
`make_trl_reward_funcs` on chosen completions (standard and conversational), then one real
`trainer.train()` step of a tiny randomly initialised model (built from a config; nothing is
downloaded), which generates, calls the reward functions and logs `rewards/<name>/mean`.

    python trl_client.py http://127.0.0.1:5000
"""

import json
import math
import sys
import tempfile

import common
from common import (BAD, CODE, CODE_PROMPT, GOOD, MATH_PROMPT, NO_FORMAT, SANDBOX_TESTS, STDIO_CODE, STDIO_PROMPT,
                    STDIO_TESTS_JSON, check)


def same(got, want):
    return len(got) == len(want) and all(
        (math.isnan(g) and w is None) or g == w for g, w in zip(got, want))


def main():
    url = sys.argv[1]
    import torch
    import trl
    from datasets import Dataset
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    import r1_reward

    torch.manual_seed(0)
    tokenizer = common.tokenizer()
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=None))
    funcs = r1_reward.make_trl_reward_funcs(url)
    names = [f.__name__ for f in funcs]
    check(names == ["accuracy", "code", "format", "language"], f"component functions: {names}")

    # Dataset columns as a mixed math/code dataset stores them: null where a row has no value.
    rows = [
        {"prompt": MATH_PROMPT, "solution": "4", "tests": None},
        {"prompt": MATH_PROMPT, "solution": "4", "tests": None},
        {"prompt": CODE_PROMPT, "solution": None, "tests": json.dumps(SANDBOX_TESTS)},
        {"prompt": STDIO_PROMPT, "solution": None, "tests": STDIO_TESTS_JSON},
    ]
    dataset = Dataset.from_list(rows)
    args = GRPOConfig(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=8, num_generations=2,
                      max_completion_length=8, max_steps=1, use_cpu=True, report_to="none", logging_steps=1,
                      save_strategy="no", seed=0, bf16=False)
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=funcs, args=args,
                          train_dataset=dataset)

    # 1. The reward call of one step, on chosen completions (standard format).
    inputs = [dict(rows[0]), dict(rows[1]), dict(rows[0]), dict(rows[2]), dict(rows[3])]
    prompts = [r["prompt"] for r in inputs]
    completions = [GOOD, BAD, NO_FORMAT, CODE, STDIO_CODE]
    ids = [tokenizer(c, add_special_tokens=False)["input_ids"] for c in completions]
    for row, completion in zip(inputs, completions):
        row["completion"] = completion
    per_func = trainer._calculate_rewards(inputs, prompts, completions, ids)
    columns = {name: per_func[:, i].tolist() for i, name in enumerate(names)}
    check(same(columns["accuracy"], [1.0, 0.0, 1.0, None, None]), f"accuracy: {columns}")
    check(same(columns["code"], [None, None, None, 1.0, 1.0]), f"code: {columns}")
    check(same(columns["format"], [1.0, 1.0, 0.0, 1.0, 1.0]), f"format: {columns}")
    totals = (per_func * trainer.reward_weights.unsqueeze(0)).nansum(dim=1).tolist()
    check(totals[0] == 3.0 and totals[1] == 2.0 and totals[3] == 3.0, f"TRL's weighted totals: {totals}")

    # 2. Conversational format.
    conv_inputs = [{"prompt": [{"role": "user", "content": MATH_PROMPT}], "solution": "4", "tests": None}] * 2
    conv_prompts = [r["prompt"] for r in conv_inputs]
    conv_completions = [[{"role": "assistant", "content": GOOD}], [{"role": "assistant", "content": BAD}]]
    conv_ids = [tokenizer(c[0]["content"], add_special_tokens=False)["input_ids"] for c in conv_completions]
    conv = trainer._calculate_rewards(conv_inputs, conv_prompts, conv_completions, conv_ids)
    check(conv[:, 0].tolist() == [1.0, 0.0], f"conversational accuracy: {conv}")

    # 3. One real training step: generation, the reward call, advantages, logging.
    trainer.train()
    logged = {k: v for entry in trainer.state.log_history for k, v in entry.items()}
    for name in names:
        check(f"rewards/{name}/mean" in logged, f"TRL logs rewards/{name}/mean: {sorted(logged)}")
    print(f"trl {trl.__version__}: _calculate_rewards (standard, conversational) and one GRPO step: ok; "
          f"logged {', '.join(f'{k}={logged[k]}' for k in sorted(logged) if k.startswith('rewards/'))}")


if __name__ == "__main__":
    main()
