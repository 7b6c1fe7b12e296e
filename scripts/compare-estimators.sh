#!/bin/sh
# The estimators side by side on the 2-D toys at equal wall time: each of
# pcd, nce, dsm, ssm and recovery trains the same mlp energy (the toy-2d
# recipe: `ebm train` picks it for toy data) for BUDGET of wall time
# (--budget; --iters is only a ceiling, at a constant learning rate), then
# `ebm eval nll` scores it exactly on the toy's test set next to the toy's
# entropy. Prints one markdown table row per run.
# Usage: scripts/compare-estimators.sh BUILD_EBM_PATH [BUDGET (default 30s)] [OUT_DIR]
# TOYS and METHODS (space-separated) pick a subset.
set -u

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "usage: scripts/compare-estimators.sh BUILD_EBM_PATH [BUDGET] [OUT_DIR]" >&2
  exit 2
fi
ebm=$1
budget=${2:-30s}
out=${3:-demo/out/estimators}
mkdir -p "$out"
failed=0

# Each method's own settings (the rest is the toy-2d recipe):
#   nce       4 noise samples per data item from the fitted Gaussian
#   dsm       one noise level σ = 0.2 (σ = 0.1 left 8gaussians' modes
#             badly weighted: test NLL 3.06 against 2.47)
#   recovery  one level (a plain mlp: the level-0 energy is the network), s = 0.3
settings() {
  case $1 in
    nce) echo "--noise-ratio 4" ;;
    dsm) echo "--sigma-min 0.2" ;;
    recovery) echo "--levels 1 --sigma-min 0.3" ;;
    *) echo "" ;;
  esac
}

echo "| toy | method | steps in $budget | test NLL (nats) | true entropy | gap |"
echo "|---|---|--:|--:|--:|--:|"
for toy in ${TOYS:-8gaussians rings 2spirals checkerboard}; do
  for method in ${METHODS:-pcd nce dsm ssm recovery}; do
    run="$out/$toy-$method"
    rm -rf "$run"
    # shellcheck disable=SC2046
    if ! "$ebm" train --data "toy:$toy" --arch mlp --method "$method" $(settings "$method") \
         --iters 1000000 --lr-decay none --budget "$budget" --seed 1 --out "$run" >"$run.log" 2>&1; then
      echo "compare-estimators: training $method on $toy failed (see $run.log)" >&2
      failed=1
      continue
    fi
    steps=$(sed -n 's/.*ran out at step \([0-9]*\).*/\1/p' "$run.log" | tail -1)
    line=$("$ebm" eval nll --ckpt "$run/ckpt/last.safetensors" --data "toy:$toy:test" 2>&1)
    nll=$(echo "$line" | sed -n 's/.*test NLL \([-0-9.naif]*\) nats.*/\1/p')
    ent=$(echo "$line" | sed -n 's/.*true entropy \([-0-9.]*\) nats.*/\1/p')
    gap=$(echo "$line" | sed -n 's/.*(gap \([-0-9.naif]*\)).*/\1/p')
    echo "| $toy | $method | ${steps:-?} | ${nll:-?} | ${ent:-?} | ${gap:-?} |"
  done
done
exit $failed
