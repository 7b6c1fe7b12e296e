#!/bin/sh
# The estimators side by side on the 2-D toys at EQUAL CPU TIME: the machine
# is shared, so wall time says little. For each method a calibration run of
# CAL_ITERS steps on one thread measures its user-CPU seconds per step
# (/usr/bin/time); the real run then gets the steps that fit in BUDGET
# user-CPU seconds (at least CAL_ITERS), trains the same mlp energy (the
# toy-2d recipe: `ebm train` picks it for toy data, with its cosine decay
# of the learning rate over the run's steps, as a user gets it; flow and
# fce use their own flow), and `ebm eval nll` scores it exactly on the
# toy's test set next to the toy's entropy. Prints a markdown table, one row per run.
# Usage: scripts/compare-estimators.sh BUILD_EBM_PATH [BUDGET_CPU_SECONDS (default 30)] [OUT_DIR]
# TOYS, METHODS (space-separated) pick a subset; CAL_ITERS (default 100).
set -u

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "usage: scripts/compare-estimators.sh BUILD_EBM_PATH [BUDGET_CPU_SECONDS] [OUT_DIR]" >&2
  exit 2
fi
if [ ! -x /usr/bin/time ]; then
  echo "compare-estimators: needs /usr/bin/time (Debian package 'time') to measure CPU seconds" >&2
  exit 2
fi
ebm=$1
budget=${2:-30}
out=${3:-demo/out/estimators}
cal=${CAL_ITERS:-100}
mkdir -p "$out"
failed=0

# Each method's own settings (the rest is the toy-2d recipe):
#   nce       4 noise samples per data item from the fitted Gaussian
#   dsm       one noise level at the default σ = 0.1 (with the cosine
#             decay it beats σ = 0.2 on 8gaussians, test NLL 2.2130 against
#             2.2542; the model is the data blurred by N(0, σ²))
#   recovery  one level (a plain mlp: the level-0 energy is the network) at
#             the default s = 0.1 (s = 0.3 ran away on rings: wells
#             sharper than 30 Langevin steps of b·s² could enter, test NLL
#             35.8 against 3.27 at s = 0.1)
#   flow      the flow alone by maximum likelihood (no energy network)
#   fce       a small flow against the mlp energy
settings() {
  case $1 in
    nce) echo "--arch mlp --noise-ratio 4" ;;
    recovery) echo "--arch mlp --levels 1" ;;
    flow) echo "--flow couplings=8,hidden=64,depth=2 --batch 256" ;;
    fce) echo "--arch mlp --flow couplings=4,hidden=32,depth=1" ;;
    *) echo "--arch mlp" ;;
  esac
}

# train TOY METHOD ITERS RUN: one single-thread run; prints its user-CPU seconds.
train() {
  rm -rf "$4"
  # shellcheck disable=SC2046
  /usr/bin/time -f '%U' -o "$4.cpu" "$ebm" train --threads 1 --data "toy:$1" --method "$2" $(settings "$2") \
    --iters "$3" --seed 1 --out "$4" >"$4.log" 2>&1 || return 1
  cat "$4.cpu"
}

echo "| toy | method | CPU s/step | steps in ${budget} CPU s | test NLL (nats) | true entropy | gap |"
echo "|---|---|--:|--:|--:|--:|--:|"
for toy in ${TOYS:-8gaussians rings 2spirals checkerboard}; do
  for method in ${METHODS:-pcd cd nce fce recovery dsm ssm flow}; do
    run="$out/$toy-$method"
    if ! cpu=$(train "$toy" "$method" "$cal" "$run"); then
      echo "compare-estimators: calibrating $method on $toy failed (see $run.log)" >&2
      failed=1
      continue
    fi
    iters=$(awk -v b="$budget" -v c="$cpu" -v n="$cal" 'BEGIN { s = c > 0 ? b * n / c : n; printf "%d", s < n ? n : s }')
    per=$(awk -v c="$cpu" -v n="$cal" 'BEGIN { printf "%.2g", c / n }')
    if ! train "$toy" "$method" "$iters" "$run" >/dev/null; then
      echo "compare-estimators: training $method on $toy failed (see $run.log)" >&2
      failed=1
      continue
    fi
    line=$("$ebm" eval nll --ckpt "$run/ckpt/last.safetensors" --data "toy:$toy:test" 2>&1)
    nll=$(echo "$line" | sed -n 's/.*test NLL \([-0-9.naif]*\) nats.*/\1/p')
    ent=$(echo "$line" | sed -n 's/.*true entropy \([-0-9.]*\) nats.*/\1/p')
    gap=$(echo "$line" | sed -n 's/.*(gap \([-0-9.naif]*\)).*/\1/p')
    echo "| $toy | $method | $per | $iters | ${nll:-?} | ${ent:-?} | ${gap:-?} |"
  done
done
exit $failed
