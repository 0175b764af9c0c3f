#!/usr/bin/env bash
# The prepared GPU check: CUDA tests, then the training benchmark on CUDA with the paper's full
# schedule (10,000 steps) for MIL + 4 betas x 5 seeds vectorized.
#   bash benchmarks/gpu_check.sh                 # on a CUDA machine
#   bash benchmarks/gpu_check.sh --device cpu    # CPU smoke test with tiny sizes (CI runs this)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python}
device=cuda
if [ "${1:-}" = "--device" ]; then device=${2:-cuda}; fi
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
if [ "$device" = "cuda" ]; then
  $PY -m pytest -q -p no:cacheprovider tests/test_gpu.py tests/test_train.py
  $PY benchmarks/bench_train.py --json --device cuda --sweep-iterations 10000
else
  $PY benchmarks/bench_train.py --json --device cpu --dim 64 --videos 39 --max-snippets 40 --repeats 1 \
      --sweep-iterations 3
fi
