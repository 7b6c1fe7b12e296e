#!/bin/sh
# How often the default JEM recipe diverges, and whether the divergence
# guard kept the last good checkpoint each time (issue 20). Trains SEEDS
# seeds of `ebm train --method jem` with JEM's defaults (SGLD 20 steps of
# size 1, noise 0.01, buffer 10 000, 5 % fresh noise, px and pyx weights 1;
# the common Adam settings) and reads each run's end: finished, or
# "diverged at step N" — then the run directory must still hold a loadable
# checkpoint of an earlier step (`ebm info`) and events.jsonl the event.
# Prints one markdown row per seed and a summary line; exits 1 when the
# guard lost a checkpoint.
# Usage: scripts/jem-stability.sh BUILD_EBM_PATH [SEEDS (5)] [ITERS (200)] [OUT_DIR]
# Environment: DATA (fashion-mnist), ARCH (jem-cnn), SAVE_EVERY (10), EXTRA
# (more `ebm train` flags, e.g. "--lr 1e-3 --batch 32"), INJECT=N (the test
# hook EBM_TEST_INJECT_NAN_AT: every run meets a NaN energy at step N, to
# show the guard at work), STOP=N (interrupt each run once its metrics reach
# step N — it saves and exits — so a long schedule, e.g. a cosine decay over
# ITERS, is tested over its first N steps; such a run counts as finished),
# START=S (run seeds S..SEEDS only: two streams of seeds side by side).
set -u

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "usage: scripts/jem-stability.sh BUILD_EBM_PATH [SEEDS] [ITERS] [OUT_DIR]" >&2
  exit 2
fi
ebm=$1
seeds=${2:-5}
iters=${3:-200}
out=${4:-demo/out/jem-stability}
data=${DATA:-fashion-mnist}
arch=${ARCH:-jem-cnn}
save_every=${SAVE_EVERY:-10}
mkdir -p "$out"

diverged=0
kept=0
lost=0
echo "| seed | end | checkpoint kept at step |"
echo "|--:|---|--:|"
seed=${START:-1}
while [ "$seed" -le "$seeds" ]; do
  run="$out/seed$seed"
  rm -rf "$run"
  # shellcheck disable=SC2086 # EXTRA is a list of flags
  EBM_TEST_INJECT_NAN_AT=${INJECT:-} "$ebm" train --method jem --data "$data" --arch "$arch" --iters "$iters" \
    --seed "$seed" --save-every "$save_every" ${EXTRA:-} --out "$run" >"$run.log" 2>&1 &
  pid=$!
  if [ -n "${STOP:-}" ]; then
    while kill -0 "$pid" 2>/dev/null; do
      sleep 2
      step=$(tail -n 1 "$run/metrics.jsonl" 2>/dev/null | sed -n 's/^{"step":\([0-9]*\),.*/\1/p')
      if [ -n "$step" ] && [ "$step" -ge "$STOP" ]; then kill -INT "$pid" 2>/dev/null; break; fi
    done
  fi
  wait "$pid"
  rc=$?
  stopped=$(sed -n 's/.*interrupted at step \([0-9]*\).*/\1/p' "$run.log" | head -n 1)
  if [ "$rc" -eq 0 ]; then
    echo "| $seed | finished $iters steps | - |"
  elif [ -n "${STOP:-}" ] && [ -n "$stopped" ]; then
    echo "| $seed | stopped at step $stopped (STOP=$STOP), no divergence | - |"
  elif step=$(sed -n 's/.*diverged at step \([0-9]*\).*/\1/p' "$run.log" | head -n 1) && [ -n "$step" ]; then
    diverged=$((diverged + 1))
    ckpt_step=$("$ebm" info "$run/ckpt/last.safetensors" 2>/dev/null | sed -n 's/^step: \([0-9]*\)$/\1/p')
    if [ -n "$ckpt_step" ] && [ "$ckpt_step" -lt "$step" ] && grep -q '"diverged"' "$run/events.jsonl"; then
      kept=$((kept + 1))
      echo "| $seed | diverged at step $step | $ckpt_step |"
    elif [ "$step" -le "$save_every" ] && [ ! -e "$run/ckpt/last.safetensors" ]; then
      echo "| $seed | diverged at step $step, before the first save | - |"
    else
      lost=$((lost + 1))
      echo "| $seed | diverged at step $step | LOST (checkpoint step '${ckpt_step}') |"
    fi
  else
    echo "| $seed | failed (exit $rc): $(tail -n 1 "$run.log") | - |"
  fi
  seed=$((seed + 1))
done
echo
echo "$diverged of $((seeds - ${START:-1} + 1)) seeds diverged; the guard kept an earlier checkpoint in $kept of them ($lost lost)"
[ "$lost" -eq 0 ]
