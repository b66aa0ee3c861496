#!/usr/bin/env bash
# SmolLM2-135M-Instruct trained with GRPO on two-number sums under the R1 format, on this
# machine's CPUs, for each seed given (default 1 2): held-out accuracy and format rate before and
# after, and the curves (see grpo.toml for the settings and their history).
#   bash benches/smollm2/run.sh [SEED ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/r1-engine/target}"
bash policy-trainer/fetch-models.sh >/dev/null
cargo build --offline -p policy-trainer --bin r1-train
root=runs/smollm2-learns
mkdir -p "$root/data"
python3 - "$root/data" <<'PY'
import json, random, sys
rng = random.Random(20261203)
pairs = sorted({(rng.randint(10, 99), rng.randint(10, 99)) for _ in range(4000)})
rng.shuffle(pairs)
def rows(chunk):
    return [{"prompt": f"What is {a} + {b}?", "answer": str(a + b), "task": "math"} for a, b in chunk]
for name, chunk in (("eval", pairs[:64]), ("train", pairs[64:])):
    with open(f"{sys.argv[1]}/{name}.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows(chunk))
PY
seeds=("$@")
[ ${#seeds[@]} -eq 0 ] && seeds=(1 2)
for seed in "${seeds[@]}"; do
  start=$(date +%s)
  "$CARGO_TARGET_DIR"/debug/r1-train grpo --config benches/smollm2/grpo.toml \
    --seed "$seed" --output "$root/seed-$seed" >"$root/seed-$seed.log" 2>&1
  echo "seed $seed: $(( $(date +%s) - start )) s" >>"$root/seed-$seed.log"
done
python3 - "$root" "${seeds[@]}" <<'PY'
import json, sys
root, seeds = sys.argv[1], sys.argv[2:]
print("| seed | held-out accuracy | format rate | tag score | steps | minutes |")
print("|---|---|---|---|---|---|")
for seed in seeds:
    rows = [json.loads(l) for l in open(f"{root}/seed-{seed}/metrics.jsonl")]
    evals = [r for r in rows if "eval/format" in r]
    first, last = evals[0], evals[-1]
    steps = max(r["step"] for r in rows)
    last_line = open(f"{root}/seed-{seed}.log").read().strip().splitlines()[-1]
    minutes = int(last_line.split()[-2]) / 60 if last_line.startswith("seed ") else float("nan")
    pair = lambda k: f"{first[k]:.3f} → {last[k]:.3f}"
    print(f"| {seed} | {pair('eval/accuracy')} | {pair('eval/format')} | {pair('eval/tags')} | {steps} | {minutes:.0f} |")
PY
echo "curves: $root/seed-*/curves.png"
