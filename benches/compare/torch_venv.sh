#!/usr/bin/env bash
# Builds the throwaway PyTorch (CPU) + transformers virtualenv used by the trainer's reference checks:
# the logits comparison test and the GRPO-step side-by-side bench. Prints the venv's python.
# The registry's Linux torch wheel needs its CUDA libraries to import even on CPU (about 3 GB in all).
set -euo pipefail
venv="${R1_TORCH_VENV:-$HOME/.cache/r1-engine/torch-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch, transformers' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check torch==2.11.0 transformers==5.17.0 >&2
fi
echo "$venv/bin/python"
