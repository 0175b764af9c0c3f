#!/usr/bin/env bash
# The prepared GPU check, one script: CUDA tests, the training benchmark on CUDA (fp32 and bf16),
# then the paper's full schedule (10,000 steps) for MIL + 4 betas x 5 seeds, trained vectorized
# with layer 1 in fp32 and again in bf16 (each seed on its own synthetic world), the two studies'
# AUCs compared seed by seed, the fp32 study once more with the fused training pass (--fused)
# against autograd (the default) seed by seed, and the full-size imbalance grid (cbmil imbalance: 3 x 3 cells of
# the full preset, 5 worlds x 3,000 steps, MIL + CB-MIL 0.99 / 0.9999; generating its 45 D = 2048
# worlds on the CPU takes several minutes of its own), and the bf16 study once more with the test set
# evaluated every 500 steps (selection_bias.csv: what picking the best test checkpoint adds).
#   bash benchmarks/gpu_check.sh [OUT]                 # on a CUDA machine; files under OUT
#   bash benchmarks/gpu_check.sh --device cpu [OUT]    # CPU smoke test with tiny sizes (CI runs it)
# Every part runs even if an earlier one failed; the exit status is that of the first failure.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
device=cuda
if [ "${1:-}" = "--device" ]; then device=$2; shift 2; fi
out=${1:-gpu_check_out}
mkdir -p "$out"
status=0
part() { echo "=== $*" >&2; "$@" || { rc=$?; echo "=== FAILED ($rc): $*" >&2; [ $status -ne 0 ] || status=$rc; }; }

$PY -c "import torch; print('torch', torch.__version__, '| cuda', torch.cuda.is_available(), '|',
torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')" >&2
if [ "$device" = "cuda" ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv >&2 || true
  part $PY -m pytest -q -p no:cacheprovider tests/test_gpu.py
  schedule=(--preset full --seeds 5 --iterations 10000)
  every=500
  sel_precision=bf16
  grid=(--preset full --worlds 5 --iterations 3000 --betas 0.99 0.9999)
  bench=(--device cuda --json --repeats 20)
else
  schedule=(--preset ci --seeds 2 --iterations 3)
  every=2
  sel_precision=fp32   # bf16 is emulated (slow) on most CPUs; the smoke test checks the plumbing only
  grid=(--preset ci --levels uniform extreme --overlaps 0 --worlds 3 --iterations 2)
  bench=(--device cpu --json --dim 64 --videos 39 --max-snippets 40 --repeats 1 --sweep-iterations 3)
fi
for precision in fp32 bf16; do
  part $PY -m cbmil reproduce --data synthetic "${schedule[@]}" --device "$device" --precision $precision \
       --out "$out/$precision" --figures none --quiet >&2
done
part $PY benchmarks/compare_precision.py "$out/fp32/runs.json" "$out/bf16/runs.json" >&2
# the fused training pass (--fused) against autograd (the default): same study, fp32, seed by seed and timed
part $PY -m cbmil reproduce --data synthetic "${schedule[@]}" --device "$device" --precision fp32 --fused \
     --out "$out/fp32_fused" --figures none --quiet >&2
part $PY benchmarks/compare_precision.py "$out/fp32/runs.json" "$out/fp32_fused/runs.json" >&2
# the selection bias at the full schedule: the bf16 study again, the test set evaluated every 1/20 of it
part $PY -m cbmil reproduce --data synthetic "${schedule[@]}" --device "$device" --precision "$sel_precision" \
     --eval-every "${every}" --out "$out/selection_bias" --figures none --quiet >&2
part $PY -m cbmil imbalance "${grid[@]}" --device "$device" --out "$out/imbalance" --figures "$out/imbalance" >&2
part $PY benchmarks/bench_train.py "${bench[@]}"   # last line: one JSON object with every figure
exit $status
