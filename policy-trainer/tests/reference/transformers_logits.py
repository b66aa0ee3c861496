"""Reference logits from Hugging Face transformers (PyTorch, CPU, float32).

usage: transformers_logits.py MODEL_DIR IDS OUT
  MODEL_DIR  a folder written by r1-train (config.json, model.safetensors, tokenizer.json)
  IDS        comma-separated token ids
  OUT        receives the logits [len(IDS), vocab] as little-endian float32, row-major
Prints one JSON line: the model class, the logits' shape, and the ids transformers' tokenizer
gives for the text those ids decode to (a check that the saved tokenizer.json loads too).
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

model_dir, ids, out = sys.argv[1], [int(i) for i in sys.argv[2].split(",")], sys.argv[3]
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
model.eval()
with torch.no_grad():
    logits = model(torch.tensor([ids])).logits[0].to(torch.float32).contiguous()
logits.numpy().astype("<f4").tofile(out)
tokenizer = AutoTokenizer.from_pretrained(model_dir)
text = tokenizer.decode(ids)
print(json.dumps({
    "class": type(model).__name__,
    "shape": list(logits.shape),
    "retokenized": tokenizer(text, add_special_tokens=False)["input_ids"],
}))
