"""Shared by the client drivers: the rows real datasets produce, and a tokenizer built offline.

The tokenizer is a byte-level BPE trained here on the rows' text (no weights or files are
downloaded), with ChatML special tokens, so `decode(encode(text)) == text` as with real ones.
"""

import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "examples"))

GOOD = "<think>\nTwo and two make four.\n</think>\n<answer>\\boxed{4}</answer>"
BAD = "<think>\nTwo and two make five.\n</think>\n<answer>\\boxed{5}</answer>"
NO_FORMAT = "The answer is \\boxed{4}"
CODE = ("<think>\nReturn the sum.\n</think>\n<answer>\n```python\ndef add(a, b):\n    return a + b\n```\n"
        "</answer>")
WRONG_CODE = ("<think>\nReturn the difference.\n</think>\n<answer>\n```python\ndef add(a, b):\n"
              "    return a - b\n```\n</answer>")
STDIO_CODE = ("<think>\nRead two numbers, print the sum.\n</think>\n<answer>\n```python\n"
              "a, b = map(int, input().split())\nprint(a + b)\n```\n</answer>")
SANDBOX_TESTS = {"kind": "call", "entry": "add",
                 "cases": [{"input": [1, 2], "output": 3}, {"input": [5, 5], "output": 10}]}
# verl's prime_code / APPS / TACO rows: the dataset's own tests as a JSON string.
CALL_TESTS_JSON = json.dumps({"inputs": [[1, 2], [5, 5]], "outputs": [[3], [10]], "fn_name": "add"})
STDIO_TESTS_JSON = json.dumps({"inputs": ["1 2\n", "5 5\n"], "outputs": ["3\n", "10\n"]})

MATH_PROMPT = "What is 2+2? Put the answer in \\boxed{}."
CODE_PROMPT = "Write add(a, b) that returns the sum."
STDIO_PROMPT = "Read a and b from one line and print a + b."

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def chatml(user):
    return f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"


def tokenizer():
    """A transformers fast tokenizer (byte-level BPE, ChatML specials, a ChatML chat template)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [GOOD, BAD, NO_FORMAT, CODE, WRONG_CODE, STDIO_CODE, MATH_PROMPT, CODE_PROMPT, STDIO_PROMPT]
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=None, eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", unk_token=None)
    fast.chat_template = (
        "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    for text in corpus + [chatml(MATH_PROMPT) + GOOD + "<|im_end|>"]:
        assert fast.decode(fast(text, add_special_tokens=False)["input_ids"]) == text, text
    return fast


def check(condition, message):
    if not condition:
        raise AssertionError(message)
