#!/usr/bin/env bash
# One GRPO step (sampling + loss + backward + AdamW), this crate (candle, test profile) against
# PyTorch on the same CPU, alternated in one run. Prints each run's JSON and the median ratio.
#   bash benches/compare/grpo_step_side_by_side.sh [ROUNDS] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-3}"
steps="${2:-5}"
python=$(bash benches/compare/torch_venv.sh)
cargo build --quiet -p policy-trainer --example grpo_step
binary="${CARGO_TARGET_DIR:-target}/debug/examples/grpo_step"
results=$(mktemp)
for _ in $(seq "$rounds"); do
  "$binary" "$steps" | tee -a "$results"
  "$python" benches/compare/grpo_step_torch.py "$steps" | tee -a "$results"
done
python3 - "$results" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
ours = statistics.median(r["completion_tokens_per_s"] for r in runs if r["impl"].startswith("candle"))
torch = statistics.median(r["completion_tokens_per_s"] for r in runs if r["impl"].startswith("PyTorch"))
print(f"median completion tokens/s: candle {ours:.0f}, PyTorch {torch:.0f}; ratio candle/PyTorch {ours / torch:.2f}")
PY
