#!/usr/bin/env bash
# The lent-GPU check of the paper step, in one go (< 8 min on one H100): `benchmarks/train_step.py --device cuda`
# gives paper at 256x256 batch 64 (sec/kimg and peak memory, with and without PL + style mixing; ADA's table:
# 21.6-24.2 sec/kimg, 5.0 GB on one V100) and tiny trials packed on one GPU, then a short CPU part.  One JSON object.
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >&2 || true
exec timeout 450 python -m benchmarks.train_step --device cuda --presets paper --cuda-kimg "${CUDA_KIMG:-1}" \
    --seconds 1 --repeats 1 --threads 8
