"""One GRPO step in PyTorch (CPU, float32), the same shape and work as
policy-trainer/examples/grpo_step.rs: per prompt, G completions sampled with a KV cache
(temperature 1), then the token-level (DAPO) clipped loss, backward, gradient clipping, AdamW.
Uses transformers' LlamaForCausalLM for the model. Prints one JSON line.

usage: grpo_step_torch.py [STEPS]
"""
import json
import sys
import time

import torch
from transformers import DynamicCache, LlamaConfig, LlamaForCausalLM

PROMPTS, GROUP, PROMPT_LEN, NEW_TOKENS = 4, 8, 32, 32
steps = int(sys.argv[1]) if len(sys.argv) > 1 else 5
torch.manual_seed(0)
config = LlamaConfig(vocab_size=512, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                     num_attention_heads=8, num_key_value_heads=4, rms_norm_eps=1e-6,
                     rope_theta=10000.0, tie_word_embeddings=True, max_position_embeddings=128)
model = LlamaForCausalLM(config)
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)


def sample_group(prompt):
    model.eval()
    with torch.no_grad():
        rows = prompt.unsqueeze(0).repeat(GROUP, 1)
        cache = DynamicCache()
        logits = model(rows, past_key_values=cache, use_cache=True).logits[:, -1]
        out = []
        for _ in range(NEW_TOKENS):
            probs = torch.softmax(logits.float(), dim=-1)
            token = torch.multinomial(probs, 1)
            out.append(token)
            logits = model(token, past_key_values=cache, use_cache=True).logits[:, -1]
        return torch.cat([rows, torch.cat(out, dim=1)], dim=1)


seconds = []
for step in range(steps + 1):
    started = time.perf_counter()
    sequences = []
    for p in range(PROMPTS):
        prompt = torch.tensor([(i * 31 + p * 7 + step) % 512 for i in range(PROMPT_LEN)])
        sequences.append(sample_group(prompt))
    rows = torch.cat(sequences)
    model.train()
    inputs, targets = rows[:, :-1], rows[:, 1:]
    mask = torch.zeros_like(targets, dtype=torch.float32)
    mask[:, PROMPT_LEN - 1:] = 1.0
    advantages = torch.tensor([1.0 if i % 2 == 0 else -1.0 for i in range(rows.shape[0])]).unsqueeze(1)
    logp = torch.log_softmax(model(inputs).logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    ratio = torch.exp(logp - logp.detach())
    per_token = -torch.min(ratio * advantages, torch.clamp(ratio, 1 - 0.2, 1 + 0.28) * advantages)
    loss = (per_token * mask).sum() / mask.sum()
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if step > 0:
        seconds.append(time.perf_counter() - started)

total = sum(seconds)
print(json.dumps({"impl": f"PyTorch {torch.__version__} + transformers (CPU, {torch.get_num_threads()} threads)",
                  "steps": steps, "seconds_per_step": total / steps,
                  "completion_tokens_per_s": PROMPTS * GROUP * NEW_TOKENS * steps / total}))
