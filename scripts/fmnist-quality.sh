#!/bin/sh
# FD and KID (ebm eval fid) of a Fashion-MNIST model's samples against the test set:
#   fresh:  N chains from uniform noise, the uva Langevin sampler (60 steps, λ 10, σ 0.005, clip 0.03)
#   buffer: the first 1024 items of a replay buffer (a run directory's, or a .npy such as
#           ../shared/reference/ebm_ref.py --out's samples.npy), when given
# and a 10×10 picture of each beside the model. The numbers of README "Models worth sampling".
# Usage: scripts/fmnist-quality.sh EBM CKPT CLASSIFIER [RUN_DIR|BUFFER.npy|-] [N] [extra ebm sample flags...]
set -eu
EBM=${1:?usage: fmnist-quality.sh EBM CKPT CLASSIFIER [RUN_DIR|BUFFER.npy|-] [N] [sample flags]}
CKPT=${2:?checkpoint}
CLF=${3:?classifier (ebm classifier train --out CLF)}
BUF=${4:--}
N=${5:-10000}
[ $# -gt 5 ] && shift 5 || shift $#
OUT=${CKPT%.safetensors}
SAMPLER="--sampler langevin --steps 60 --step-size 10 --noise 0.005 --grad-clip 0.03"
fid() { "$EBM" eval fid --samples "$1" --ref fashion-mnist:test --classifier "$CLF" --range -1,1 | sed -n 's/^\(FD\|KID\)/'"$2"' &/p'; }

"$EBM" sample --ckpt "$CKPT" --n "$N" $SAMPLER --seed 7 --out "$OUT.fresh.npy" "$@" >/dev/null
fid "$OUT.fresh.npy" "fresh ($N from noise)"
"$EBM" sample --ckpt "$CKPT" --n 100 $SAMPLER --seed 7 --out "$OUT.fresh100.npy" --png "$OUT.fresh.png" "$@" >/dev/null
case "$BUF" in
  -) ;;
  *.npy) "$EBM" sample --ckpt "$CKPT" --init "npy:$BUF" --steps 0 --n 1024 --out "$OUT.buffer.npy" --png "$OUT.buffer.png" >/dev/null
         fid "$OUT.buffer.npy" "buffer (1024)" ;;
  *) "$EBM" sample --from-buffer "$BUF" --steps 0 --n 1024 --out "$OUT.buffer.npy" --png "$OUT.buffer.png" >/dev/null
     fid "$OUT.buffer.npy" "buffer (1024)" ;;
esac
rm -f "$OUT.fresh100.npy"
