#!/usr/bin/env bash
# Runs TRL's, verl's and OpenRLHF's own reward-calling code against a real `r1-reward` on loopback,
# records every request/response pair the server saw into judges/tests/fixtures/clients/ (replayed
# by `cargo test -p judges --test client_replay`) and prints a summary table.
#
#   bash benches/compat/run.sh                 # all three clients
#   bash benches/compat/run.sh trl openrlhf    # some of them
#
# Needs python3.11 with pip and access to the package index. Throwaway virtualenvs go under
# ${R1_COMPAT_DIR:-~/.cache/r1-engine/compat}: one with torch (the index's Linux wheel needs its
# CUDA libraries to import even on CPU, about 5 GB), shared by the client venvs through a .pth
# file, and one per client. GPU-only dependencies (deepspeed, vllm, flash-attn) are not installed:
# verl and OpenRLHF are installed with --no-deps plus what their reward code imports.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
compat=${R1_COMPAT_DIR:-$HOME/.cache/r1-engine/compat}
python=${PYTHON:-python3.11}
export CARGO_TARGET_DIR="$HOME/.cache/r1-engine/target"
export PIP_DISABLE_PIP_VERSION_CHECK=1

TORCH_VERSION=2.11.0
TRL_VERSION=1.16.0
VERL_VERSION=0.9.1
OPENRLHF_VERSION=0.11.2

clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(trl verl openrlhf)

mkdir -p "$compat"
site() { echo "$1/lib/python3.11/site-packages"; }

# make_venv NAME SPEC PIP-COMMAND...: (re)create $compat/NAME unless it was built for SPEC.
# Each PIP-COMMAND is one string of `pip install` arguments.
make_venv() {
  local name=$1 dir="$compat/$1" spec=$2
  shift 2
  if [ -f "$dir/.r1-spec" ] && [ "$(cat "$dir/.r1-spec")" = "$spec" ]; then
    return
  fi
  echo "== installing $name ($spec) into $dir" >&2
  rm -rf "$dir"
  "$python" -m venv "$dir"
  if [ "$name" != torch ]; then
    site "$compat/torch" > "$(site "$dir")/r1_shared_torch.pth"
  fi
  local args
  for args in "$@"; do
    # shellcheck disable=SC2086
    "$dir/bin/pip" install --quiet $args >&2
  done
  "$dir/bin/pip" freeze > "$dir/freeze.txt" 2>/dev/null
  echo "$spec" > "$dir/.r1-spec"
}

make_venv torch "torch==$TORCH_VERSION" "torch==$TORCH_VERSION numpy"
for client in "${clients[@]}"; do
  case $client in
    trl)
      make_venv trl "trl==$TRL_VERSION" "trl==$TRL_VERSION transformers==5.15.0" ;;
    verl)
      # verl[cpu] pins megatron-core and triton; the reward managers need none of that.
      make_venv verl "verl==$VERL_VERSION" "--no-deps verl==$VERL_VERSION" \
        "transformers==5.9.0 tensordict==0.10.0 ray==2.55.0 omegaconf hydra-core codetiming dill pandas pyarrow psutil aiohttp packaging pylatexenc datasets" ;;
    openrlhf)
      # openrlhf pins deepspeed, flash-attn and (for rollouts) vllm: GPU builds. Its reward path
      # (openrlhf.utils.agent) needs aiohttp and a tokenizer; the sample → experience step torch
      # and ray (vllm is stubbed: only its names are imported).
      make_venv openrlhf "openrlhf==$OPENRLHF_VERSION" "--no-deps openrlhf==$OPENRLHF_VERSION" \
        "transformers==5.15.0 aiohttp ray==2.55.0 sympy pylatexenc" ;;
    *) echo "unknown client: $client (trl, verl, openrlhf)" >&2; exit 2 ;;
  esac
done
[ "${R1_COMPAT_INSTALL_ONLY:-}" = 1 ] && exit 0

cargo build --offline -q -p judges --bin r1-reward
server_bin="$CARGO_TARGET_DIR/debug/r1-reward"

work=$(mktemp -d)
server_pid=""
proxy_pid=""
cleanup() {
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

port=$(free_port)
"$server_bin" --host 127.0.0.1 --port "$port" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 600); do
  if "$python" -c "import urllib.request, sys; urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=1)" 2>/dev/null; then
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 1
done

fixtures="$root/judges/tests/fixtures/clients"
mkdir -p "$fixtures"
summary="$work/summary.tsv"
status=0
for client in "${clients[@]}"; do
  case $client in
    trl) version=$TRL_VERSION ;;
    verl) version=$VERL_VERSION ;;
    openrlhf) version=$OPENRLHF_VERSION ;;
  esac
  record="$fixtures/$client-$version.jsonl"
  rm -f "$fixtures/$client"-*.jsonl
  proxy_port=$(free_port)
  "$python" benches/compat/record_proxy.py "$proxy_port" "http://127.0.0.1:$port" "$record" &
  proxy_pid=$!
  for _ in $(seq 50); do
    "$python" -c "import socket; socket.create_connection(('127.0.0.1', $proxy_port), 1)" 2>/dev/null && break
    sleep 0.1
  done
  echo "== $client $version" >&2
  if R1_REWARD_URL="http://127.0.0.1:$proxy_port" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
      WANDB_MODE=disabled TOKENIZERS_PARALLELISM=false \
      "$compat/$client/bin/python" "benches/compat/${client}_client.py" "http://127.0.0.1:$proxy_port" >&2; then
    ok=yes
  else
    ok=NO
    status=1
  fi
  kill "$proxy_pid"
  wait "$proxy_pid" 2>/dev/null || true
  proxy_pid=""
  calls=$(wc -l < "$record" 2>/dev/null || echo 0)
  printf '%s\t%s\t%s\t%s\n' "$client" "$version" "$calls" "$ok" >> "$summary"
done

echo
printf '%-10s %-10s %6s  %s\n' client version calls ok
while IFS=$'\t' read -r client version calls ok; do
  printf '%-10s %-10s %6s  %s\n' "$client" "$version" "$calls" "$ok"
done < "$summary"
du -ch "$fixtures"/*.jsonl | tail -1 | sed 's/^/fixtures: /'
exit $status
