#!/usr/bin/env bash
# Issue 19's curve: FD and KID of fresh chains and of the replay buffer against CPU
# time, for ebm's PCD (`--preset uva --lr 5e-4`), ebm's improved CD (`--preset icd`)
# and the PyTorch reference (../shared/reference/ebm_ref.py's model, sampler and loop,
# run by scripts/ebm-ref-budget.py), each one thread, seed 1, stopped at the same CPU
# minutes (default 20 120 480: 10 min, 1 h and 4 h of 2 cores).
#
#   bench/fmnist-curve.sh run   [DIR]   # train and score; two jobs at a time, nice 19
#   bench/fmnist-curve.sh table [DIR]   # DIR/curve.tsv, DIR/curve.md, DIR/curve.png
#
# `run` is idempotent and resumable: a killed run continues bit-exactly from its last
# checkpoint when the same command is given again (ebm's --budget-total clock, the
# reference's state.pt), and finished points are never redone (DIR/done/). Each point
# of an ebm run is a copy of the run directory taken when its clock reached the point
# (DIR/pcd@120, ...); the reference keeps its own (DIR/ref/at-7200s). The evaluation
# classifier is DIR/clf.safetensors (`ebm classifier train`, 5 epochs, seed 0),
# trained first when missing. Scores: scripts/fmnist-quality.sh, 10 000 fresh chains.
# Environment: EBM (default build/ebm), POINTS ("20 120 480"), PYTHON (/usr/bin/python3).
set -uo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-}
DIR=${2:-runs/fmnist-curve}
EBM=$(realpath "${EBM:-$HERE/build/ebm}")
POINTS=${POINTS:-20 120 480}
PYTHON=${PYTHON:-/usr/bin/python3}
case "$MODE" in run | table) ;; *)
  echo "usage: bench/fmnist-curve.sh run|table [DIR]" >&2
  exit 2
  ;;
esac
mkdir -p "$DIR/done" "$DIR/scores" && cd "$DIR" || exit 1
CLF=$PWD/clf.safetensors
TIME=(/usr/bin/time -v)
export EBM_THREADS=1

log() { echo "$(date -u +%T) $*"; }
is_done() { [ -f "done/$1" ]; }
mark() { date -u +%FT%TZ >"done/$1"; }

# train_to NAME MINUTES FLAGS...: ebm's run NAME continued until its clock holds MINUTES
train_to() {
  local name=$1 min=$2
  shift 2
  is_done "$name-$min" && return 0
  log "train $name to $min CPU-minutes"
  local args=(--out "$name" --budget "${min}m" --budget-clock cpu --budget-total --threads 1)
  if [ -f "$name/ckpt/last.safetensors" ]; then
    args+=(--resume)
  else
    args+=(--data fashion-mnist --arch uva-cnn "$@" --iters 1000000 --seed 1 --sample-every 0)
  fi
  nice -n 19 "${TIME[@]}" "$EBM" train "${args[@]}" >"$name-$min.out" 2>"$name-$min.err" ||
    { log "FAILED: $name to $min (see $DIR/$name-$min.err)"; return 1; }
  rm -rf "$name@$min" && cp -a "$name" "$name@$min" && mark "$name-$min"
}

# ref_to SECONDS: the reference continued until its CPU reaches SECONDS
ref_to() {
  is_done "ref-$1" && return 0
  log "reference to $1 CPU-seconds"
  local keep resume=()
  keep=$(for m in $POINTS; do printf '%s,' $((m * 60)); done)
  [ -f ref/state.pt ] && resume=(--resume)
  nice -n 19 "${TIME[@]}" "$PYTHON" "$HERE/scripts/ebm-ref-budget.py" --out ref "${resume[@]}" --budget-cpu "$1" \
    --keep-at "${keep%,}" --threads 1 --seed 1 >"ref-$1.out" 2>"ref-$1.err" ||
    { log "FAILED: reference to $1 (see $DIR/ref-$1.err)"; return 1; }
  mark "ref-$1"
}

# score TAG CKPT BUFFER: scripts/fmnist-quality.sh into scores/TAG.txt
score() {
  is_done "score-$1" && return 0
  log "score $1"
  nice -n 19 "${TIME[@]}" sh "$HERE/scripts/fmnist-quality.sh" "$EBM" "$2" "$CLF" "$3" 10000 \
    >"scores/$1.txt" 2>"scores/$1.err" && mark "score-$1"
}

reference_slot() {
  for m in $POINTS; do
    ref_to $((m * 60)) || return 1
    score "ref-$m" "ref/at-$((m * 60))s/model.safetensors" "ref/at-$((m * 60))s/samples.npy"
  done
}

ebm_slot() {
  for m in $POINTS; do
    train_to pcd "$m" --preset uva --lr 5e-4 && score "pcd-$m" "pcd@$m/ckpt/last.safetensors" "pcd@$m"
    train_to icd "$m" --preset icd && score "icd-$m" "icd@$m/ckpt/last.safetensors" "icd@$m"
  done
}

if [ "$MODE" = run ]; then
  if [ ! -f "$CLF" ]; then
    log "evaluation classifier"
    if ! nice -n 19 "$EBM" classifier train --out "$CLF.tmp" --force --threads 1 >clf.out 2>clf.err; then
      log "FAILED: the classifier (see $DIR/clf.err)"
      exit 1
    fi
    mv "$CLF.tmp" "$CLF"
  fi
  reference_slot >reference.log 2>&1 &
  ebm_slot >ebm.log 2>&1 &
  wait
  log "run finished; bench/fmnist-curve.sh table $DIR"
  exit 0
fi

"$PYTHON" "$HERE/bench/fmnist_curve_table.py" . "$POINTS" &&
  "$EBM" show curves --table curve.tsv --logx --title "Fashion-MNIST: FD against CPU time (1 thread)" \
    --ylabel "FD (ebm eval fid)" --out curve.png
