#!/bin/sh
# bench/compare.sh [EBM] — one Langevin step (forward + backward to the input,
# noise, clamps) of the uva-cnn model on a batch of 128, ebm next to the
# PyTorch reference (../shared/reference/ebm_ref.py, its langevin_step_ms),
# at 1 and 2 threads, in the same run. Prints a markdown table.
#
#   make bench                      # = bench/compare.sh build/ebm
#   THREADS="1 2 4" ITERS=50 bench/compare.sh build/ebm
#
# Environment: BATCH (128), ITERS (ebm timed steps, 30), REF_ITERS (reference
# training iterations of 60 steps each, 3), THREADS ("1 2"), PYTHON
# (/usr/bin/python3), EBM_REF (the reference script).
set -eu

EBM=${1:-build/ebm}
REPO=$(cd "$(dirname "$0")/.." && pwd)
REF=${EBM_REF:-$REPO/../shared/reference/ebm_ref.py}
PY=${PYTHON:-/usr/bin/python3}
BATCH=${BATCH:-128}
ITERS=${ITERS:-30}
REF_ITERS=${REF_ITERS:-3}
THREADS=${THREADS:-"1 2"}

field() { # field NAME < json-line
  "$PY" -c 'import json, sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"
}

have_torch=0
if [ -f "$REF" ] && "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then have_torch=1; fi

echo "Langevin step, uva-cnn (CNNModel of ebm_ref.py), batch $BATCH, $(uname -m), $(nproc) cores"
echo
echo "| threads | ebm ms/step | ebm GFLOP/s | PyTorch ms/step | PyTorch / ebm |"
echo "|--------:|------------:|------------:|----------------:|--------------:|"
for t in $THREADS; do
  line=$("$EBM" bench langevin --arch uva-cnn --batch "$BATCH" --iters "$ITERS" --threads "$t" --json)
  ems=$(echo "$line" | field langevin_step_ms)
  gflops=$(echo "$line" | field gflops)
  if [ "$have_torch" = 1 ]; then
    pms=$("$PY" "$REF" --iters "$REF_ITERS" --threads "$t" --batch "$BATCH" --log-every 1000000 | tail -n 1 |
          field langevin_step_ms)
    ratio=$("$PY" -c "print(f'{$pms / $ems:.2f}x')")
    pms=$("$PY" -c "print(f'{$pms:.3f}')")
  else
    pms="n/a (no torch)"
    ratio="n/a"
  fi
  printf '| %7s | %11.3f | %11.2f | %15s | %13s |\n' "$t" "$ems" "$gflops" "$pms" "$ratio"
done
echo
echo "GFLOP/s counts conv/linear multiply-adds (2 FLOP each) of the forward pass and of the"
echo "backward pass to the input (the same multiply-adds again): 4 x forward MACs x batch."
