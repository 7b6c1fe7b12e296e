#!/bin/sh
# The README's texture results: for each procedural texture (48x48 RGB),
# learn the ConvNet energy and synthesize a 96x96 texture, written with
# the input side by side under docs/; then the FRAME (Gabor) baseline on
# one of them (with the settings it was measured with).
# Prints each run's one-line summary (Gram distances) and user CPU time.
# Usage: scripts/texture-results.sh [build/ebm] [OUTDIR]
set -eu
EBM=${1:-build/ebm}
OUT=${2:-demo/out/texture}
mkdir -p "$OUT" docs
for t in checks stripes blobs; do
  "$EBM" data make "texture:$t" --out "$OUT/$t.png" --size 48x48 --seed 1
  /usr/bin/time -f '%U s user' "$EBM" texture --input "$OUT/$t.png" --out "$OUT/$t-synth.png" \
    --iters 200 --seed 1 --threads 1 --side-by-side "docs/texture-$t.png"
done
"$EBM" texture --input "$OUT/stripes.png" --out "$OUT/stripes-gabor.png" --filters gabor \
  --steps 40 --lr 5e-4 --init-cell 1 --iters 40 --seed 1 --side-by-side docs/texture-stripes-gabor.png
