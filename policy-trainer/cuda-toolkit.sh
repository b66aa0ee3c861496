#!/usr/bin/env bash
# Assembles the part of CUDA 13.0 that `cargo build/check --features cuda` needs (nvcc, NVVM, the
# runtime, crt and CCCL headers) from NVIDIA's wheels on the Python package index, pinned by sha256,
# into ~/.cache/r1-engine/cuda-13.0 (R1_CUDA_DIR overrides). 13.0 exactly: its PTX is what driver
# 580 accepts. Prints the environment to export, e.g.:
#   eval "$(bash policy-trainer/cuda-toolkit.sh)" && cargo check -p policy-trainer --features cuda
set -euo pipefail
dir="${R1_CUDA_DIR:-$HOME/.cache/r1-engine/cuda-13.0}"
wheels=(
  "nvidia-cuda-nvcc==13.0.88 56fe502eb77625a12f25172caa3cdddb4e4c8ba2c8c17dba44b164761b380f03"
  "nvidia-nvvm==13.0.88 c5f41ffeb6466944a026dfa5317d7d85355c119bbec279205d22f1869d1054e0"
  "nvidia-cuda-runtime==13.0.96 7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548"
  "nvidia-cuda-crt==13.0.88 2c8043c7c9e02492716426e9919fc78d2c5b3b2a7a768a88e952676b08aa55a4"
  "nvidia-cuda-cccl==13.0.85 e0da7ad981f3a8aff08241b5bfc1af868742a63e2762f53a5171c492ef242649"
)
if [ ! -x "$dir/bin/nvcc" ]; then
  tmp=$(mktemp -d)
  for entry in "${wheels[@]}"; do
    read -r spec sum <<<"$entry"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$tmp" "$spec" >&2
    wheel=$(ls -t "$tmp"/*.whl | head -1)
    echo "$sum  $wheel" | sha256sum --check --quiet
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$wheel" "$tmp/unpacked"
    rm "$wheel"
  done
  mkdir -p "$dir.part"
  cp -r "$tmp"/unpacked/nvidia/cu13/. "$dir.part/"
  chmod +x "$dir.part"/bin/* "$dir.part"/nvvm/bin/*
  rm -rf "$dir" "$tmp"
  mv "$dir.part" "$dir"
fi
cat <<ENV
export CUDA_ROOT="$dir" CUDA_PATH="$dir" CUDA_HOME="$dir" NVCC="$dir/bin/nvcc" CUDA_COMPUTE_CAP="\${CUDA_COMPUTE_CAP:-90}"
export PATH="$dir/bin:\$PATH"
ENV
