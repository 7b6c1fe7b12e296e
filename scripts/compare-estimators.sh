#!/bin/sh
# The estimators side by side at EQUAL CPU TIME: the machine is shared, so
# wall time says little. For each method a calibration run of CAL_ITERS
# steps on one thread measures its user-CPU seconds per step
# (/usr/bin/time); the real run then gets the steps that fit in BUDGET
# user-CPU seconds (at least CAL_ITERS) and is scored. Prints a markdown
# table, one row per run.
#
# 2-D toys (the default): the same mlp energy with the toy-2d recipe
# (`ebm train` picks it for toy data, with its cosine decay of the learning
# rate over the run's steps, as a user gets it; flow and fce use their own
# flow), scored exactly by `ebm eval nll` on the toy's test set next to the
# toy's entropy.
#
# DATA=fashion-mnist: the uva-cnn energy with the PyTorch reference's recipe
# at --lr 5e-4 (recovery: the same layers with noise conditioning,
# examples/arch/noise-conditioned-uva-cnn.json), scored by FD and KID
# (`ebm eval fid`, the features of CLASSIFIER) of SAMPLES fresh samples
# against the 10 000 test images: pcd / nce / fce chains from uniform noise
# with the uva sampler (60 Langevin steps, λ 10, σ 0.005, clip 0.03),
# recovery its own chain of levels from noise (the schedule its checkpoint
# records).
#
# Usage: scripts/compare-estimators.sh BUILD_EBM_PATH [BUDGET_CPU_SECONDS (default 30)] [OUT_DIR]
# TOYS, METHODS (space-separated) pick a subset; CAL_ITERS (default 100;
# 20 on Fashion-MNIST, where the table also shows the run's own CPU seconds,
# start-up included);
# EXTRA: flags added to every `ebm train` (a variant of every method);
# DATA=fashion-mnist with CLASSIFIER=CLF.safetensors (required) and SAMPLES
# (default 2000).
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
images=0
case ${DATA:-toys} in
  toys) ;;
  fashion-mnist)
    images=1
    cal=${CAL_ITERS:-20}
    if [ ! -f "${CLASSIFIER:-}" ]; then
      echo "compare-estimators: DATA=fashion-mnist needs CLASSIFIER=CLF.safetensors (ebm classifier train --out CLF)" >&2
      exit 2
    fi ;;
  *) echo "compare-estimators: DATA must be toys or fashion-mnist, got '$DATA'" >&2; exit 2 ;;
esac
mkdir -p "$out"
failed=0

# Each method's own settings on the toys (the rest is the toy-2d recipe):
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
toy_settings() {
  case $1 in
    nce) echo "--arch mlp --noise-ratio 4" ;;
    recovery) echo "--arch mlp --levels 1" ;;
    flow) echo "--flow couplings=8,hidden=64,depth=2 --batch 256" ;;
    fce) echo "--arch mlp --flow couplings=4,hidden=32,depth=1" ;;
    *) echo "--arch mlp" ;;
  esac
}

# On Fashion-MNIST (range [-1, 1] from the uva recipe):
#   recovery  6 levels from σ 0.01 to 1 (geometric), 30 Langevin steps each
#   fce       a small flow (4 couplings of one hidden conv layer of 32)
image_settings() {
  uva="--preset uva --lr 5e-4"
  case $1 in
    recovery) echo "--arch @examples/arch/noise-conditioned-uva-cnn.json $uva --levels 6 --sigma-min 0.01 --sigma-max 1 --steps 30" ;;
    fce) echo "--arch uva-cnn $uva --flow couplings=4,hidden=32,depth=1" ;;
    *) echo "--arch uva-cnn $uva" ;;
  esac
}

settings() {
  if [ "$images" = 1 ]; then image_settings "$1"; else toy_settings "$1"; fi
}

# train DATA METHOD ITERS RUN: one single-thread run; prints its user-CPU seconds.
train() {
  rm -rf "$4"
  # shellcheck disable=SC2046
  /usr/bin/time -f '%U' -o "$4.cpu" "$ebm" train --threads 1 --data "$1" --method "$2" $(settings "$2") \
    ${EXTRA:-} --iters "$3" --seed 1 --out "$4" >"$4.log" 2>&1 || return 1
  cat "$4.cpu"
}

# score_toy TOY RUN: "test NLL | entropy | gap" cells from `ebm eval nll`.
score_toy() {
  line=$("$ebm" eval nll --ckpt "$2/ckpt/last.safetensors" --data "toy:$1:test" 2>&1)
  nll=$(echo "$line" | sed -n 's/.*test NLL \([-0-9.naif]*\) nats.*/\1/p')
  ent=$(echo "$line" | sed -n 's/.*true entropy \([-0-9.]*\) nats.*/\1/p')
  gap=$(echo "$line" | sed -n 's/.*(gap \([-0-9.naif]*\)).*/\1/p')
  echo "${nll:-?} | ${ent:-?} | ${gap:-?}"
}

# score_images METHOD RUN: "FD | KID" cells of SAMPLES fresh samples.
score_images() {
  n=${SAMPLES:-2000}
  case $1 in
    recovery) chains="" ;;
    *) chains="--sampler langevin --steps 60 --step-size 10 --noise 0.005 --grad-clip 0.03" ;;
  esac
  # shellcheck disable=SC2086
  "$ebm" sample --threads 1 --ckpt "$2/ckpt/last.safetensors" --n "$n" $chains --seed 7 --out "$2.samples.npy" \
    >"$2.sample.log" 2>&1 || { echo "? | ?"; return; }
  line=$("$ebm" eval fid --threads 1 --samples "$2.samples.npy" --ref fashion-mnist:test --classifier "$CLASSIFIER" \
    --range -1,1 2>&1)
  fd=$(echo "$line" | sed -n 's/^FD *\([-0-9.naif]*\).*/\1/p')
  kid=$(echo "$line" | sed -n 's/^KID *\([^ ]* ± [^ ]*\).*/\1/p')
  echo "${fd:-?} | ${kid:-?}"
}

if [ "$images" = 1 ]; then
  echo "| data | method | CPU s/step | steps | CPU s of the run | FD (${SAMPLES:-2000} samples) | KID |"
  echo "|---|---|--:|--:|--:|--:|--:|"
else
  echo "| toy | method | CPU s/step | steps in ${budget} CPU s | test NLL (nats) | true entropy | gap |"
  echo "|---|---|--:|--:|--:|--:|--:|"
fi
if [ "$images" = 1 ]; then sets="fashion-mnist"; else sets=${TOYS:-8gaussians rings 2spirals checkerboard}; fi
for set in $sets; do
  if [ "$images" = 1 ]; then data=$set; all="pcd nce fce recovery"; else data="toy:$set"; all="pcd cd nce fce recovery dsm ssm flow"; fi
  for method in ${METHODS:-$all}; do
    run="$out/$set-$method"
    if ! cpu=$(train "$data" "$method" "$cal" "$run"); then
      echo "compare-estimators: calibrating $method on $set failed (see $run.log)" >&2
      failed=1
      continue
    fi
    iters=$(awk -v b="$budget" -v c="$cpu" -v n="$cal" 'BEGIN { s = c > 0 ? b * n / c : n; printf "%d", s < n ? n : s }')
    per=$(awk -v c="$cpu" -v n="$cal" 'BEGIN { printf "%.2g", c / n }')
    if ! used=$(train "$data" "$method" "$iters" "$run"); then
      echo "compare-estimators: training $method on $set failed (see $run.log)" >&2
      failed=1
      continue
    fi
    if [ "$images" = 1 ]; then
      echo "| $set | $method | $per | $iters | $used | $(score_images "$method" "$run") |"
    else
      echo "| $set | $method | $per | $iters | $(score_toy "$set" "$run") |"
    fi
  done
done
exit $failed
