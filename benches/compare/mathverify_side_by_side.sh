#!/usr/bin/env bash
# Times Math-Verify 0.9.0 (Python, throwaway virtualenv) and `r1-check --jsonl`
# on the same pairs, in one run, and prints the ratio.
#
#   bash benches/compare/mathverify_side_by_side.sh [pairs.jsonl]
#
# Default pairs: the Math-Verify test-suite mix (fixtures/mathverify/suite.jsonl).
# Both sides check every pair single-threaded with per-pair timing, parse gold
# and prediction for every pair (RL completions are unique), and are timed on
# their second pass over the pairs (warm: imports, code and caches loaded).
set -euo pipefail
cd "$(dirname "$0")/../.."
pairs=${1:-fixtures/mathverify/suite.jsonl}
venv=${MV_VENV:-$HOME/.cache/r1-engine/mathverify-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet math-verify==0.9.0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$pairs" "$work/pairs.jsonl" <<'PY'
import json, sys
out = open(sys.argv[2], "w")
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "gold" in r and "pred" in r:
        out.write(json.dumps({"gold": r["gold"], "pred": r["pred"]}) + "\n")
PY
n=$(wc -l < "$work/pairs.jsonl")
cargo build --release -q -p verifiers --bin r1-check
bin=${CARGO_TARGET_DIR:-target}/release/r1-check

"$venv/bin/python" - "$work/pairs.jsonl" > "$work/mv.txt" <<'PY'
import json, sys, time
from math_verify import parse, verify
pairs = [json.loads(l) for l in open(sys.argv[1])]
for timed in (False, True):
    times = []
    for p in pairs:
        t = time.perf_counter()
        try:
            g = parse(p["gold"], parsing_timeout=None)
            a = parse(p["pred"], parsing_timeout=None)
            verify(g, a, timeout_seconds=None)
        except Exception:
            pass
        times.append(time.perf_counter() - t)
times.sort()
total = sum(times)
print(f"{total} {times[len(times)//2]} {times[min(len(times)-1, int(len(times)*0.99))]} {times[-1]}")
PY

cat "$work/pairs.jsonl" "$work/pairs.jsonl" > "$work/twice.jsonl"
start=$(date +%s.%N)
"$bin" --jsonl "$work/twice.jsonl" --threads 1 --timings > "$work/r1.jsonl" 2>/dev/null
end=$(date +%s.%N)
python3 - "$work/mv.txt" "$work/r1.jsonl" "$start" "$end" "$n" <<'PY'
import json, sys
mv_total, mv_med, mv_p99, mv_max = map(float, open(sys.argv[1]).read().split())
n = int(sys.argv[5])
us = sorted(json.loads(l)["micros"] for l in list(open(sys.argv[2]))[n:])
wall = (float(sys.argv[4]) - float(sys.argv[3])) / 2
med, p99, mx = us[len(us)//2], us[min(len(us)-1, int(len(us)*0.99))], us[-1]
print(f"pairs: {n}")
print(f"Math-Verify 0.9.0 : median {mv_med*1e3:8.3f} ms  p99 {mv_p99*1e3:8.3f} ms  max {mv_max*1e3:8.1f} ms  total {mv_total:6.2f} s")
print(f"r1-check          : median {med/1e3:8.3f} ms  p99 {p99/1e3:8.3f} ms  max {mx/1e3:8.3f} ms  total {wall:6.2f} s (process wall time per pass, 1 thread)")
print(f"ratio (Math-Verify / r1-check): median {mv_med*1e6/med:7.0f}x  p99 {mv_p99*1e6/p99:7.0f}x  total {mv_total/wall:6.0f}x")
PY
