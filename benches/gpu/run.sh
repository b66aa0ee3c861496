#!/usr/bin/env bash
# On a CUDA machine: a few bf16 GRPO steps of SmolLM2-135M-Instruct (benches/gpu/*.toml), then
# generation tokens/s, training tokens/s, peak device memory, loss and reward per step.
#   bash benches/gpu/run.sh [config.toml]
# Needs the models (policy-trainer/fetch-models.sh) and the CUDA toolkit
# (policy-trainer/cuda-toolkit.sh) in ~/.cache/r1-engine, fetched beforehand where the package
# index can be reached.
set -euo pipefail
cd "$(dirname "$0")/../.."
config="${1:-benches/gpu/smollm2-grpo-cuda.toml}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/r1-engine/target}"
eval "$(bash policy-trainer/cuda-toolkit.sh)"
cargo build --offline -p policy-trainer --features cuda --bin r1-train
output=$(mktemp -d)
peak="$output/peak-mib"
echo 0 >"$peak"
( while sleep 0.5; do
    used=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1)
    [ "$used" -gt "$(cat "$peak")" ] && echo "$used" >"$peak"
  done ) &
watcher=$!
trap 'kill $watcher 2>/dev/null || true' EXIT
"$CARGO_TARGET_DIR"/debug/r1-train grpo --config "$config" --output "$output/run"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
python3 - "$output/run/metrics.jsonl" "$peak" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"phase": "grpo"' in l or '"phase":"grpo"' in l]
print("| step | gen tok/s | train tok/s | loss | reward | truncated |")
print("|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['step']} | {r['generation_tokens_per_s']:.0f} | {r['training_tokens_per_s']:.0f} "
          f"| {r['loss']:+.4f} | {r['reward']:.3f} | {r['truncated_fraction']:.2f} |")
print(f"peak device memory: {open(sys.argv[2]).read().strip()} MiB (nvidia-smi, whole device)")
PY
