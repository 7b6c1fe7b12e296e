#!/bin/sh
# Training demo (about 5–6 minutes on 2 cores), into demo/out/train/:
#   1. an mlp energy on the 2-D toys 8gaussians and rings (PCD; CD-k too on
#      rings): the exact test NLL before and after training next to the
#      toy's entropy, and density pictures (model | truth). The runs start
#      with --iters 0 (the initial model, scored) and continue with --resume.
#   2. uva-cnn (the PyTorch reference's CNNModel) on Fashion-MNIST with
#      --preset fresh (the reference's settings, trained on short-run chains
#      that start from a Gaussian fitted to the data: the recipe whose fresh
#      samples scored best, README "Fresh chains from a Gaussian"): sample
#      grids every 250 steps and report.html (ebm train --report), then 100
#      new chains drawn by `ebm sample` at the checkpoint's own settings, and
#      a chain picture.
# Usage: scripts/demo-train.sh BUILD_EBM_PATH   (e.g. build/ebm)
# FMNIST_ITERS (default 1000) and TOY_ITERS (default 2500) shorten or
# lengthen the runs.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: scripts/demo-train.sh BUILD_EBM_PATH (an executable ebm, e.g. build/ebm)" >&2
  exit 2
fi
ebm=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
out=demo/out/train
toy_iters=${TOY_ITERS:-2500}
fmnist_iters=${FMNIST_ITERS:-1000}
rm -rf "$out"
mkdir -p "$out"
failed=0
start=$(date +%s)

run() {
  echo "+ ebm $*"
  "$ebm" "$@" || { echo "demo-train: 'ebm $*' failed" >&2; failed=1; }
}

# The 2-D recipe: IGEBM's Langevin (λ 10, σ 0.005) is tuned for images; on
# the toys' [-4, 4]² box, ULA with ε = 0.05 is a proper sampler, and the
# energies need room (α 0.01) and a faster optimiser (lr 3e-3, β1 0.9,
# cosine decay) to get sharp in a few thousand steps.
toy_recipe="--arch mlp --sampler ula --step-size 0.05 --steps 30 --alpha 0.01 --lr 3e-3 --beta1 0.9
  --clip-std 0 --lr-decay cosine --buffer 2000 --save-every 500 --sample-every 500"

toy() { # toy NAME METHOD
  name=$1
  method=$2
  dir="$out/toy-$name-$method"
  echo "== $name, $method: the initial model, then $toy_iters steps"
  # shellcheck disable=SC2086
  run train --data "toy:$name" --method "$method" $toy_recipe --iters 0 --seed 1 --out "$dir"
  run eval nll --ckpt "$dir/ckpt/last.safetensors" --data "toy:$name:test"
  t0=$(date +%s)
  run train --out "$dir" --resume --iters "$toy_iters"
  echo "   ($(($(date +%s) - t0)) s)"
  run eval nll --ckpt "$dir/ckpt/last.safetensors" --data "toy:$name:test"
  run show density --ckpt "$dir/ckpt/last.safetensors" --out "$out/density-$name-$method.png"
}

toy 8gaussians pcd
toy rings pcd
toy rings cd

echo "== Fashion-MNIST: uva-cnn, --preset fresh, $fmnist_iters steps"
dir="$out/fashion-mnist-fresh"
t0=$(date +%s)
run train --data fashion-mnist --arch uva-cnn --preset fresh --iters "$fmnist_iters" --save-every 250 \
  --sample-every 250 --seed 1 --report --out "$dir"
secs=$(($(date +%s) - t0))
echo "   ($secs s for $fmnist_iters steps of 60 Langevin steps on 128 images)"
# No sampler flag: the checkpoint stores the recipe's sampling settings
# (the data's Gaussian as the start, 60 steps), which is what a user gets.
run sample --ckpt "$dir/ckpt/last.safetensors" --n 100 --seed 2 \
  --out "$out/fashion-mnist-samples.npy" --png "$out/fashion-mnist-samples.png"
run sample --ckpt "$dir/ckpt/last.safetensors" --n 8 --every 6 --seed 3 \
  --out "$out/fashion-mnist-chains.npy" --chain "$out/fashion-mnist-chain.png"

echo
echo "demo-train: done in $(($(date +%s) - start)) s. Everything is in $repo/$out/:"
echo "  density-*.png                model density (left) next to the true one"
echo "  toy-*/ fashion-mnist-fresh/  run directories: config.json, metrics.jsonl, samples/, ckpt/"
echo "  fashion-mnist-fresh/report.html  the run as one web page (plots, samples over time, config)"
echo "  fashion-mnist-samples.png      100 new samples of the trained model (ebm sample, its own settings)"
echo "  fashion-mnist-chain.png        8 chains, every 6th of their 60 steps, start to end"
exit "$failed"
