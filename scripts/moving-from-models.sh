#!/bin/sh
# Moving Fashion-MNIST made end to end from learned models: an image model
# draws the items, a path model draws where each item's centre is in each of
# the 16 frames, and (optionally) a video energy refines the composed videos
# with K Langevin steps.
#
#   scripts/moving-from-models.sh EBM IMG PATHS OUT [N] [SEED] [VIDEO K]
#
# Environment (optional): PATHS_FLAGS and VIDEO_FLAGS, more `ebm sample`
# flags for the path model and the video energy (default: their
# checkpoints' samplers). A window= sum of an energy on a few points needs
# a start for whole paths: PATHS_FLAGS="--init gaussian:npy:paths1k.npy
# --steps 60 --temperature 3"; VIDEO_FLAGS="--noise 0" runs the video
# energy's steps without injected noise.
#
# EBM    the ebm binary (build/ebm)
# IMG    an image model's checkpoint (1x28x28 or smaller grey items; its
#        range, read from `ebm info`, is mapped onto [0, 1])
# PATHS  a path model's checkpoint (32-D vectors x0 y0 x1 y1 ... in canvas
#        pixels: trained on `ebm data make paths:npy:VIDEOS`), or a spec
#        such as CKPT:window=2,14 (an energy on 3 consecutive points summed
#        over a path's 14 windows; scripts/npy-path-windows.py)
# OUT    a folder for items.npy, paths.npy, videos.npy, strip.png (the first
#        8 videos, a row each) and anim.png (the same 8, animated)
# N      videos (64), SEED (1)
# VIDEO K  a video energy and its steps, run last on the composed videos:
#        refined.npy and refined.png (animated)
#
# A script and not a library call: every step is already one `ebm` verb
# (sample, data make) with its own checks and messages, and the hand-offs
# are files a user wants to keep and look at; the only glue is the range
# mapping (scripts/npy-to-unit-range.py).
set -eu
[ $# -ge 4 ] || { sed -n 2,33p "$0"; exit 2; }
EBM=$1 IMG=$2 PATHS=$3 OUT=$4 N=${5:-64} SEED=${6:-1} VIDEO=${7:-} K=${8:-0}
HERE=$(dirname "$0")
mkdir -p "$OUT"
range=$("$EBM" info "$IMG" | sed -n 's/.*range \[\([^,]*\), \([^]]*\)\].*/\1 \2/p' | head -1)
[ -n "$range" ] || { echo "moving-from-models: $IMG: no range in 'ebm info'" >&2; exit 1; }
"$EBM" sample --ckpt "$IMG" --n "$N" --seed "$SEED" --out "$OUT/items-model-range.npy" --threads 1
python3 "$HERE/npy-to-unit-range.py" "$OUT/items-model-range.npy" "$OUT/items.npy" $range
"$EBM" sample --ckpt "$PATHS" ${PATHS_FLAGS:-} --n "$N" --seed "$SEED" --out "$OUT/paths.npy" --threads 1
"$EBM" data make moving:npy:"$OUT/items.npy" --paths npy:"$OUT/paths.npy" --seed "$SEED" --out "$OUT/videos.npy" \
  --png "$OUT/strip.png" --apng "$OUT/anim.png"
if [ -n "$VIDEO" ] && [ "$K" -gt 0 ]; then
  "$EBM" sample --ckpt "$VIDEO" --init npy:"$OUT/videos.npy" --steps "$K" ${VIDEO_FLAGS:-} \
    --seed "$SEED" --out "$OUT/refined.npy" --png "$OUT/refined.png" --threads 1
fi
