#!/usr/bin/env bash
# The embedded recipe over several seeds and thread counts, and the spread of its figures.
#
#   bash policy-trainer/recipe-seeds.sh "0 1 2" "1 2"        # seeds, thread counts
#   bash policy-trainer/recipe-seeds.sh --report runs/seeds   # only the table, from finished runs
#
# Each run writes runs/seeds/s<seed>-t<threads>/ (a finished run is skipped, an interrupted one
# resumes). The table gives min / median / max over the runs of what the README quotes: each
# RL stage's held-out figures per reward component, rejection sampling's kept samples per task,
# and the final evaluation's pass@1 per model and task.
set -euo pipefail
cd "$(dirname "$0")/.."
root=runs/seeds
if [[ "${1:-}" == "--report" ]]; then
  root="${2:-$root}"
else
  seeds="${1:-0 1 2}"
  threads="${2:-1 2}"
  cargo build -p policy-trainer --bin r1-train --locked
  bin="${CARGO_TARGET_DIR:-target}/debug/r1-train"
  for t in $threads; do
    for s in $seeds; do
      out="$root/s$s-t$t"
      echo "== seed $s, $t thread(s) → $out" >&2
      start=$(date +%s)
      RAYON_NUM_THREADS="$t" "$bin" recipe --seed "$s" --output "$out" > "$out.log" 2>&1 ||
        { echo "seed $s, $t thread(s) failed: see $out.log" >&2; exit 1; }
      echo "$(( $(date +%s) - start ))" > "$out.seconds"
    done
  done
fi
python3 - "$root" <<'EOF'
import json, pathlib, statistics, sys

root = pathlib.Path(sys.argv[1])
runs = sorted(p for p in root.iterdir() if (p / "summary.json").exists())
if not runs:
    sys.exit(f"no finished runs under {root}")
figures = {}  # name -> list of values, one per run

def add(name, value):
    figures.setdefault(name, []).append(value)

def kept(run):
    lines = (run / "rejection/samples.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line]

# A task that one run kept nothing of still counts there, as 0.
tasks = sorted({s.get("task") or "-" for run in runs for s in kept(run)})
for run in runs:
    for stage in json.loads((run / "summary.json").read_text()):
        for component, (before, after) in stage.get("held_out", {}).items():
            add(f"{stage['name']}: held-out {component} before", before)
            add(f"{stage['name']}: held-out {component} after", after)
    samples = kept(run)
    add("rejection: kept samples", len(samples))
    for task in tasks:
        add(f"rejection: kept {task} samples", sum((s.get("task") or "-") == task for s in samples))
    for model, report in json.loads((run / "eval/eval.json").read_text()).items():
        for task, row in report["by_language"].items():
            add(f"eval pass@1: {model} {task}", row["pass_at_1"])
    seconds = run.with_suffix(".seconds")
    if seconds.exists():
        add("wall time (min)", int(seconds.read_text()) / 60)

print(f"{len(runs)} runs: {', '.join(r.name for r in runs)}")
print(f"{'figure':<44} {'min':>7} {'median':>7} {'max':>7}")
for name, values in figures.items():
    if len(values) != len(runs):
        name += f" ({len(values)} runs)"
    print(f"{name:<44} {min(values):>7.3f} {statistics.median(values):>7.3f} {max(values):>7.3f}")
EOF
