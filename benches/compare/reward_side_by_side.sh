#!/usr/bin/env bash
# r1-reward over HTTP side by side with an OpenRLHF-style Python server using Math-Verify 0.9.0
# (throwaway virtualenv), then the 1,000-client load run and the bad-input run.
#
#   bash benches/compare/reward_side_by_side.sh [--seconds 10] [--batch 256] [--clients 2]
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${MV_VENV:-$HOME/.cache/r1-engine/mathverify-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet math-verify==0.9.0
fi
cargo run -q -p benches --bin reward-side-by-side -- --python "$venv/bin/python" "$@"
