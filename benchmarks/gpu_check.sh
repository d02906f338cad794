#!/usr/bin/env bash
# Issue 5's GPU numbers in one call: training throughput and MFU of the `small` and `base` DiT
# presets (the trainer's bf16 step), and the time to sample one clip, on whatever CUDA device
# this runs on. Needs worldsmith importable with a CUDA build of torch; ~3-5 minutes on an H100.
#   bash benchmarks/gpu_check.sh [OUT_DIR]      # tables on stdout, and OUT_DIR/gpu_check.log
set -euo pipefail
out=${1:-${OUT:-.}}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
here=$(dirname "$0")
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
  # 9x32x32 latents: a 33-frame 256 px clip through the 4x8x8 tokenizer (2304 tokens per clip)
  for preset in small base; do
    python "$here/bench_dit.py" --device cuda --preset "$preset" --samplers dpmpp_2m --repeats 3 \
      --train-batch 32 --train-latent 16x9x32x32 --train-steps 10
  done
  # the published 704p shape's token count for one clip (9x88x160 latents) at base size, batch 1
  python "$here/bench_dit.py" --device cuda --preset base --samplers "" --train-batch 1 \
    --train-latent 16x9x88x160 --train-steps 5
} 2>&1 | tee "$out/gpu_check.log"
