#!/bin/sh
# The pictures of "using a model" (`make examples`), into examples/out/:
#   compose-and.png, compose-or.png, compose-not.png, compose-and-toys.png
#     AND / OR / AND NOT of 2-D energies: the composed density exp(-E) as a
#     heat-map with 4000 MCMC samples on it (no trained model needed);
#   with a trained image model CKPT (e.g. uva-cnn on Fashion-MNIST):
#     inpaint.png   rows input / masked (bottom half) / inpainted
#     denoise.png   rows input / salt-and-pepper 20% / denoised
#     chains.png    Langevin chains from noise over time (rows = chains)
#   with a class-conditional model COND_CKPT:
#     translate.png trajectories of test images under another class's energy
#     compose-classes.png  samples of E(x, A) + E(x, B) for two classes
# Usage: scripts/examples.sh BUILD_EBM_PATH [CKPT [COND_CKPT]]
# Environment: EBM_EXAMPLES_DATA (default fashion-mnist:test) is the data
# set the images come from; EBM_EXAMPLES_OUT (default examples/out) the
# output directory; EBM_EXAMPLES_CLASSES (default "0 1") the two classes
# (translation goes to the second).
set -u

if [ $# -lt 1 ] || [ $# -gt 3 ] || [ ! -x "$1" ]; then
  echo "usage: scripts/examples.sh BUILD_EBM_PATH [CKPT [COND_CKPT]] (an executable ebm, e.g. build/ebm)" >&2
  exit 2
fi
ebm=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
ckpt=${2:-}
cond=${3:-}
for f in "$ckpt" "$cond"; do
  if [ -n "$f" ] && [ ! -f "$f" ]; then
    echo "examples: no such checkpoint: $f" >&2
    exit 2
  fi
done
abs() { [ -n "$1" ] && echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
ckpt=$(abs "$ckpt")
cond=$(abs "$cond")
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
out=${EBM_EXAMPLES_OUT:-examples/out}
data=${EBM_EXAMPLES_DATA:-fashion-mnist:test}
classes=${EBM_EXAMPLES_CLASSES:-0 1}
class_a=${classes% *}
class_b=${classes#* }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

run() {
  echo "+ ebm $*"
  "$ebm" "$@" || { echo "examples: 'ebm $*' failed" >&2; failed=1; }
}

echo "== composition of 2-D energies"
# Annealed MALA (T from 20 down to 1) so chains can reach every mode.
toy="--sampler mala --anneal 20 --steps 2000 --n 4000 --seed 1"
run compose --term toy:8gaussians --term gaussian:2:mean=2.5,0 $toy --out "$tmp/and.npy" --png "$out/compose-and.png"
run compose --or --term toy:rings:weight=0.5 --term toy:8gaussians:weight=0.5 $toy --out "$tmp/or.npy" \
  --png "$out/compose-or.png"
run compose --term toy:8gaussians --not gaussian:2:mean=2.5,0 --alpha 0.5 $toy --out "$tmp/not.npy" \
  --png "$out/compose-not.png"
run compose --term toy:pinwheel --term toy:rings:weight=0.3 $toy --out "$tmp/and2.npy" --png "$out/compose-and-toys.png"

if [ -n "$ckpt" ]; then
  echo
  echo "== inpainting, denoising and chains with $ckpt"
  # 16 images of the data set in the model's range: sampling 0 steps from them
  run sample --ckpt "$ckpt" --init "data:$data" --steps 0 --n 16 --seed 1 --out "$tmp/x.npy"
  run inpaint --ckpt "$ckpt" --input "$tmp/x.npy" --mask pattern:bottom-half --steps 200 --seed 1 \
    --out "$tmp/inpainted.npy" --png "$out/inpaint.png"
  run denoise --ckpt "$ckpt" --input "$tmp/x.npy" --corrupt salt-pepper --noise 0.2 --steps 40 --seed 1 \
    --out "$tmp/denoised.npy" --png "$out/denoise.png"
  run sample --ckpt "$ckpt" --n 8 --steps 400 --every 40 --seed 1 --out "$tmp/chains.npy" --chain "$out/chains.png"
else
  echo
  echo "examples: no CKPT given; skipping inpaint / denoise / chains (pass a trained image model)"
fi

if [ -n "$cond" ]; then
  echo
  echo "== cross-class mapping and class composition with $cond"
  run sample --ckpt "$cond" --init "data:$data" --steps 0 --n 8 --seed 2 --out "$tmp/xc.npy"
  run translate --ckpt "$cond" --input "$tmp/xc.npy" --to-class "$class_b" --steps 200 --every 20 --seed 1 \
    --out "$tmp/translated.npy" --png "$out/translate.png"
  run compose --term "$cond:class=$class_a" --term "$cond:class=$class_b" --steps 200 --n 16 --seed 1 \
    --out "$tmp/classes.npy" --png "$out/compose-classes.png"
else
  echo "examples: no COND_CKPT given; skipping translate / class composition (pass a class-conditional model)"
fi

echo
case "$out" in /*) where=$out ;; *) where=$repo/$out ;; esac
echo "examples: pictures are in $where/:"
ls -1 "$out" | sed 's/^/  /'
exit "$failed"
