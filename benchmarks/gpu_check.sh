#!/usr/bin/env bash
# The prepared GPU check, one script, in parts run in this order (most wanted first):
#   tests      the CUDA tests (tests/test_gpu.py: eager and CUDA-graph training against references)
#   schedule   the paper's full schedule, 10,000 steps of MIL + 4 betas x 5 seeds (25 models), on the
#              same 5 synthetic worlds trained four ways: recorded as a CUDA graph (--cuda-graph) and
#              launched kernel by kernel, layer 1 in fp32 and in bf16 (benchmarks/schedule_check.py:
#              training seconds in schedule/schedule_check.json); then seed by seed (compare_precision.py):
#              graph vs eager in fp32, graph bf16 vs eager fp32, eager bf16 vs eager fp32
#   fused      the fp32 study once more with the fused training pass (--fused) against autograd
#   grid       the full-size imbalance grid (cbmil imbalance: 3 x 3 cells of the full preset, 5 worlds x
#              3,000 steps, CB 0.99 / 0.9999 for the ranking and the top-3 loss, each balanced by class
#              weights and by re-sampling against the same loss plain) trained with --cuda-graph; generating its 45
#              D = 2048 worlds on the CPU takes several minutes of its own (imbalance_run.json has both)
#   selection  the bf16 study with the test set evaluated every 500 steps (selection_bias.csv: what
#              picking the best test checkpoint adds)
#   bench      bench_train.py on CUDA: limit, steps eager / fused / CUDA graph, vectorized (last line: JSON)
#   bash benchmarks/gpu_check.sh [--parts "tests schedule bench"] [OUT]   # on a CUDA machine; files under OUT
#   bash benchmarks/gpu_check.sh --device cpu [OUT]     # CPU smoke test with tiny sizes, no graph (CI runs it)
# Every part runs even if an earlier one failed; the exit status is that of the first failure.
# Time on an H100/H200-class machine, estimated from the v1 log (results/gpu_h200) and this CPU's data
# generation, not measured as a whole: tests ~1 min; schedule ~5-6 min (five full worlds made once, ~1.5 min,
# then four trainings and evaluations); bench ~1-2 min; fused and selection ~2-3 min each; grid the longest
# (45 worlds made on the CPU). With a 10-minute limit per command: --parts "tests schedule bench" first.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
device=cuda
parts="tests schedule fused grid selection bench"
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --parts) parts=$2; shift 2 ;;
    *) break ;;
  esac
done
out=${1:-gpu_check_out}
mkdir -p "$out"
status=0
part() { echo "=== $*" >&2; "$@" || { rc=$?; echo "=== FAILED ($rc): $*" >&2; [ $status -ne 0 ] || status=$rc; }; }
wanted() { [[ " $parts " == *" $1 "* ]]; }

$PY -c "import torch; print('torch', torch.__version__, '| cuda', torch.cuda.is_available(), '|',
torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')" >&2
if [ "$device" = "cuda" ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv >&2 || true
  schedule=(--preset full --seeds 5 --iterations 10000)
  ways=(graph-fp32 graph-bf16 eager-fp32 eager-bf16)
  every=500
  sel_precision=bf16
  grid=(--preset full --worlds 5 --iterations 3000 --betas 0.99 0.9999 --cuda-graph
        --losses ranking topk --balance weights sampler)
  bench=(--device cuda --json --repeats 20)
else
  schedule=(--preset ci --seeds 2 --iterations 3)
  ways=(eager-fp32 eager-bf16)   # no CUDA graph on a CPU; the smoke test checks the plumbing only
  every=2
  sel_precision=fp32   # bf16 is emulated (slow) on most CPUs
  grid=(--preset ci --levels uniform extreme --overlaps 0 --worlds 3 --iterations 2
        --losses ranking topk --balance weights sampler)
  bench=(--device cpu --json --dim 64 --videos 39 --max-snippets 40 --repeats 1 --sweep-iterations 3)
fi
compare() { part $PY benchmarks/compare_precision.py "$out/schedule/$1/runs.json" "$out/schedule/$2/runs.json" >&2; }

if wanted tests && [ "$device" = "cuda" ]; then
  part $PY -m pytest -q -p no:cacheprovider tests/test_gpu.py
fi
if wanted schedule; then
  part $PY benchmarks/schedule_check.py "${schedule[@]}" --device "$device" --ways "${ways[@]}" \
       --out "$out/schedule" >&2
  if [ "$device" = "cuda" ]; then
    compare eager-fp32 graph-fp32
    compare eager-fp32 graph-bf16
  fi
  compare eager-fp32 eager-bf16
fi
if wanted fused; then  # the fused training pass (--fused) against autograd (the default): fp32, seed by seed
  part $PY -m cbmil reproduce --data synthetic "${schedule[@]}" --device "$device" --precision fp32 --fused \
       --out "$out/fp32_fused" --figures none --quiet >&2
  [ ! -f "$out/schedule/eager-fp32/runs.json" ] ||
    part $PY benchmarks/compare_precision.py "$out/schedule/eager-fp32/runs.json" "$out/fp32_fused/runs.json" >&2
fi
if wanted grid; then
  part $PY -m cbmil imbalance "${grid[@]}" --device "$device" --out "$out/imbalance" --figures "$out/imbalance" >&2
fi
if wanted selection; then  # the selection bias at the full schedule: the test set evaluated every 1/20 of it
  part $PY -m cbmil reproduce --data synthetic "${schedule[@]}" --device "$device" --precision "$sel_precision" \
       --eval-every "${every}" --out "$out/selection_bias" --figures none --quiet >&2
fi
if wanted bench; then
  part $PY benchmarks/bench_train.py "${bench[@]}"   # last line: one JSON object with every figure
fi
exit $status
