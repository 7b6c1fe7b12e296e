#!/bin/sh
# The cross-class mapping test of README "Using a model" (issue 19 item 5):
# for each target class C, `ebm translate` the first 20 Fashion-MNIST test
# images of other classes to C and ask the evaluation classifier how many
# it now calls C. Prints one row: the share per target class 0..9 and the
# mean. With GRID=OUT.png it also draws the conversion grid: the first test
# image of each class (left column) and its translations to classes 0..9.
#
#   scripts/translate-test.sh build/ebm CKPT CLF [STEPS (60)] [WORKDIR]
#
# Environment: EXTRA (more `ebm translate` flags, e.g. "--prior P:range=0,1"),
# GRID (a PNG path), THREADS (1).
set -eu

if [ $# -lt 3 ] || [ ! -x "$1" ]; then
  echo "usage: scripts/translate-test.sh BUILD_EBM_PATH CKPT CLF [STEPS] [WORKDIR]" >&2
  exit 2
fi
ebm=$1 ckpt=$2 clf=$3 steps=${4:-60} work=${5:-demo/out/translate-test}
here=$(dirname "$0")
threads=${THREADS:-1}
mkdir -p "$work"
[ -f "$work/src.npy" ] || python3 "$here/translate-sets.py" sets "$work"

shares=""
for c in 0 1 2 3 4 5 6 7 8 9; do
  # shellcheck disable=SC2086 # EXTRA is a list of flags
  "$ebm" translate --ckpt "$ckpt" --input "$work/x$c.npy" --to-class "$c" --steps "$steps" ${EXTRA:-} \
    --out "$work/t$c.npy" --seed 1 --threads "$threads" >"$work/t$c.log" 2>&1 ||
    { cat "$work/t$c.log" >&2; exit 1; }
  share=$("$ebm" eval classify --ckpt "$clf" --data "npy:$work/t$c.npy,$work/y$c.npy" --threads "$threads" |
    sed -n 's/^accuracy of argmin_y E(x, y) *//p')
  shares="$shares $share"
  if [ -n "${GRID:-}" ]; then
    # shellcheck disable=SC2086
    "$ebm" translate --ckpt "$ckpt" --input "$work/src.npy" --to-class "$c" --steps "$steps" ${EXTRA:-} \
      --out "$work/g$c.npy" --seed 1 --threads "$threads" >/dev/null 2>&1
  fi
done
echo "$shares" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i;
  printf "translated into the target class, per class 0-9:%s; mean %.3f\n", $0, s / NF }'
if [ -n "${GRID:-}" ]; then
  python3 "$here/translate-sets.py" grid "$work" "$work/grid.npy"
  "$ebm" data show "npy:$work/grid.npy" --first --cols 11 --n 110 --out "$GRID" >/dev/null
  echo "conversion grid (rows: a test image of each class, then its translations to 0-9): $GRID"
fi
