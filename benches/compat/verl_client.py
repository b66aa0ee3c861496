"""verl's own reward path against r1-reward, with `examples/r1_reward.py` loaded the way verl loads a
custom reward function (`reward.custom_reward_function.path` / `.name`):

- the reward-loop managers the 0.9 trainer resolves (`get_reward_manager_cls`: naive, dapo), run by
  verl's `RewardLoopWorker` on a DataProto batch, then `RewardLoopManager.compute_rm_score`'s
  aggregation and the validation metrics (`process_validation_metrics`);
- the legacy managers still in `verl.workers.reward_manager` (naive, dapo, batch), called as the
  older trainers did;
- PRIME, which must be refused loudly (it reads a bare number and zeroes anything else).

    python verl_client.py http://127.0.0.1:5000
"""

import math
import os
import sys
import tempfile

import common
from common import (BAD, CALL_TESTS_JSON, CODE, CODE_PROMPT, GOOD, MATH_PROMPT, NO_FORMAT, STDIO_CODE,
                    STDIO_PROMPT, STDIO_TESTS_JSON, WRONG_CODE, check)

SHIM = os.path.join(common.ROOT, "examples", "r1_reward.py")

# (data_source, question, response, ground_truth, expected score, component that must be None)
ROWS = [
    ("openai/gsm8k", MATH_PROMPT, GOOD, "4", 3.0, "code"),
    ("openai/gsm8k", MATH_PROMPT, BAD, "4", 2.0, "code"),
    ("math_dapo", MATH_PROMPT, NO_FORMAT, "4", None, "code"),
    ("codecontests", CODE_PROMPT, CODE, CALL_TESTS_JSON, 3.0, "accuracy"),
    ("taco", CODE_PROMPT, WRONG_CODE, CALL_TESTS_JSON, 2.0, "accuracy"),
    ("apps", STDIO_PROMPT, STDIO_CODE, STDIO_TESTS_JSON, 3.0, "accuracy"),
]


def data_proto(tokenizer):
    """A batch as verl's rollout hands it to the reward managers: left-padded prompts,
    right-padded responses, the parquet row's non-tensor fields."""
    import numpy as np
    import torch
    from verl import DataProto

    pad = tokenizer.pad_token_id
    prompts = [tokenizer.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True,
                                             tokenize=False) for _, q, _, _, _, _ in ROWS]
    prompt_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
    response_ids = [tokenizer(r + "<|im_end|>", add_special_tokens=False)["input_ids"] for _, _, r, _, _, _ in ROWS]
    lp, lr = max(map(len, prompt_ids)), max(map(len, response_ids))
    prompt_t = torch.tensor([[pad] * (lp - len(p)) + p for p in prompt_ids])
    response_t = torch.tensor([r + [pad] * (lr - len(r)) for r in response_ids])
    mask = torch.tensor([[0] * (lp - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (lr - len(r))
                         for p, r in zip(prompt_ids, response_ids)])
    tensors = {"prompts": prompt_t, "responses": response_t, "input_ids": torch.cat([prompt_t, response_t], 1),
               "attention_mask": mask, "position_ids": torch.clamp(mask.cumsum(1) - 1, min=0)}
    non_tensors = {
        "data_source": np.array([s for s, *_ in ROWS], dtype=object),
        "reward_model": np.array([{"style": "rule", "ground_truth": gt} for _, _, _, gt, _, _ in ROWS], dtype=object),
        "extra_info": np.array([{"split": "train", "index": i, "question": q} for i, (_, q, *_) in enumerate(ROWS)],
                               dtype=object),
        "uid": np.array([f"uid-{i // 2}" for i in range(len(ROWS))], dtype=object),
    }
    return DataProto.from_dict(tensors=tensors, non_tensors=non_tensors)


def config(tokenizer_dir, manager, reward_kwargs=None):
    from omegaconf import OmegaConf

    reward_yaml = os.path.join(os.path.dirname(__import__("verl").__file__), "trainer", "config", "reward",
                               "reward.yaml")
    reward = OmegaConf.load(reward_yaml) if os.path.exists(reward_yaml) else OmegaConf.create({})
    cfg = OmegaConf.create({"reward": reward, "actor_rollout_ref": {"model": {"path": tokenizer_dir,
                                                                              "tokenizer_path": tokenizer_dir}}})
    overrides = OmegaConf.create({"reward": {
        "custom_reward_function": {"path": SHIM, "name": "compute_score", "reward_kwargs": reward_kwargs or {}},
        "reward_manager": {"source": "register", "name": manager},
        "reward_model": {"enable": False},
        "num_workers": 1,
    }, "trainer": {"experiment_name": "r1-compat"}})
    return OmegaConf.merge(cfg, overrides)


def check_rewards(label, reward_tensor, extra, skipped_value=None):
    totals = reward_tensor.sum(-1).tolist()
    for i, (source, _, _, _, want, skipped) in enumerate(ROWS):
        if want is not None:
            check(totals[i] == want, f"{label}: row {i} ({source}) total {totals[i]}, want {want}")
        check(extra[skipped][i] == skipped_value, f"{label}: row {i} ({source}) skipped {skipped} is "
              f"{extra[skipped][i]!r}, want {skipped_value} (a 0 would dilute verl's logged means)")
        check(extra["score"][i] == totals[i], f"{label}: score {extra['score'][i]} vs reward {totals[i]}")


def reward_loop(manager, tokenizer_dir, data, reward_kwargs=None):
    """verl 0.9's path: RewardLoopWorker per sample, then RewardLoopManager's aggregation.
    Returns the batch with rm_scores and the reward keys."""
    import ray
    from verl.experimental.reward_loop import reward_loop as rl
    from verl.trainer.ppo.reward import extract_reward
    from verl.trainer.ppo.metric_utils import process_validation_metrics

    cfg = config(tokenizer_dir, manager, reward_kwargs)
    worker = rl.RewardLoopWorker(cfg)

    class Remote:
        """Stands in for the Ray actor handle: `.compute_score_batch.remote(chunk)`."""

        class compute_score_batch:  # noqa: N801
            @staticmethod
            def remote(chunk):
                return worker.loop.run_until_complete(worker.compute_score_batch(chunk))

    manager_self = type("M", (), {})()
    manager_self.reward_model_manager = None
    manager_self.reward_loop_workers = [Remote()]
    manager_self.reward_manager_cls = rl.resolve_reward_manager_cls(cfg)
    real_get = ray.get
    rl.ray.get = lambda refs: refs  # the "refs" above are the results already
    try:
        out = rl.RewardLoopManager.compute_rm_score(manager_self, data)
    finally:
        rl.ray.get = real_get
    batch = data.union(out)  # in place: `data` now carries rm_scores
    reward_tensor, extra = extract_reward(batch)
    skipped_value = (reward_kwargs or {}).get("skipped_value")
    check_rewards(f"reward loop {manager}", reward_tensor, extra, skipped_value)
    if skipped_value is not None:
        return batch
    infos = {"reward": reward_tensor.sum(-1).tolist(), **{k: list(v) for k, v in extra.items()}}
    metrics = process_validation_metrics(list(data.non_tensor_batch["data_source"]),
                                         list(data.non_tensor_batch["uid"]), infos)
    check("code" not in metrics["openai/gsm8k"], f"math rows log no code metric: {metrics['openai/gsm8k'].keys()}")
    check(metrics["codecontests"]["code"]["mean@1"] == 1.0, f"code metric: {metrics['codecontests']}")
    check(all(not math.isnan(m) for per in metrics.values() for var in per.values() for m in var.values()),
          f"no NaN in logged metrics: {metrics}")
    return batch


def gdpo(tokenizer_dir, tokenizer):
    """verl's GDPO normalises each named reward key per group: a None there becomes NaN
    (np.asarray(..., float32)) and every advantage NaN. With reward_kwargs skipped_value=0.0
    the advantages are finite."""
    import numpy as np
    from verl.trainer.ppo.core_algos import compute_gdpo_outcome_advantage

    def advantages(batch):
        prompt_length = batch.batch["prompts"].size(1)
        mask = batch.batch["attention_mask"][:, prompt_length:]
        adv, _ = compute_gdpo_outcome_advantage(
            token_level_rewards=batch.batch["rm_scores"], response_mask=mask,
            index=batch.non_tensor_batch["uid"], config={"gdpo_reward_keys": ["accuracy", "code", "format"]},
            non_tensor_batch=batch.non_tensor_batch, batch=batch.batch)
        return adv

    zeroed = reward_loop("gdpo", tokenizer_dir, data_proto(tokenizer), {"skipped_value": 0.0})
    check(bool(np.isfinite(advantages(zeroed).numpy()).all()), "GDPO advantages with skipped_value=0.0")
    default = reward_loop("naive", tokenizer_dir, data_proto(tokenizer))
    check(bool(np.isnan(advantages(default).numpy()).any()), "GDPO on None components is NaN (documented)")


def legacy(name, tokenizer, data):
    """The managers older trainers (and custom ones) call as `manager(data, return_dict=True)`."""
    from verl.workers.reward_manager import get_reward_manager_cls
    from verl.trainer.ppo.reward import get_custom_reward_fn

    fn_name = "compute_score_batch" if name == "batch" else "compute_score"
    cfg = config("", "naive")
    cfg.reward.custom_reward_function.name = fn_name
    fn = get_custom_reward_fn(cfg)
    manager = get_reward_manager_cls(name)(tokenizer=tokenizer, num_examine=0, compute_score=fn)
    check("rm_scores" not in data.batch.keys(), "a fresh batch")
    result = manager(data, return_dict=True)
    check_rewards(f"legacy {name}", result["reward_tensor"], result["reward_extra_info"])
    return len(ROWS)


def prime(tokenizer, data):
    """PRIME calls compute_score(data_source, solution, ground_truth, extra_info) positionally in a
    process pool and turns anything but a number into 0 for the whole batch; the shim must stop it
    with a clear message instead."""
    from verl.workers.reward_manager import get_reward_manager_cls
    from verl.trainer.ppo.reward import get_custom_reward_fn

    fn = get_custom_reward_fn(config("", "naive"))
    manager = get_reward_manager_cls("prime")(tokenizer=tokenizer, num_examine=0, compute_score=fn)
    try:
        result = manager(data, return_dict=True)
    except BaseException as error:  # noqa: B036 -- SystemExit is how it must end
        check("PRIME" in str(error), f"PRIME refused with a clear message: {error!r}")
        print(f"verl prime: refused: {error}")
        return 0
    raise AssertionError(f"PRIME scored the shim's results silently: {result['reward_tensor'].sum(-1).tolist()}")


def main():
    url = sys.argv[1]
    os.environ["R1_REWARD_URL"] = url
    import verl

    tokenizer = common.tokenizer()
    tokenizer_dir = tempfile.mkdtemp()
    tokenizer.save_pretrained(tokenizer_dir)
    from verl.experimental.reward_loop.reward_manager.registry import REWARD_MANAGER

    print(f"verl {verl.__version__}: reward-loop managers {sorted(REWARD_MANAGER)}")
    samples = 0
    for name in ("naive", "dapo"):
        reward_loop(name, tokenizer_dir, data_proto(tokenizer))
        samples += len(ROWS)
        print(f"verl reward loop {name}: ok")
    gdpo(tokenizer_dir, tokenizer)
    samples += 2 * len(ROWS)
    print("verl reward loop gdpo: ok with reward_kwargs skipped_value=0.0 (None gives NaN advantages)")
    for name in ("naive", "dapo", "batch"):
        samples += legacy(name, tokenizer, data_proto(tokenizer))
        print(f"verl legacy {name}: ok")
    prime(tokenizer, data_proto(tokenizer))
    print(f"verl {verl.__version__}: {samples} samples: ok")


if __name__ == "__main__":
    main()
