#!/bin/sh
# bench/compare.sh [EBM] — ebm next to the PyTorch reference
# (bench/torch_reference.py, CNNModel = our uva-cnn, oneDNN on the CPU)
# in one run, on the same machine, at each thread count of $THREADS:
#   - one Langevin step (noise, clamp, forward + backward to the input,
#     clipped step, clamp) on a batch of 128:  ebm bench langevin
#     vs the reference's langevin_step_ms;
#   - one full training iteration (60 Langevin steps + energies + update,
#     --preset uva):                          ebm bench train
#     vs the reference's sec_per_iter;
#   - the igebm-mnist Langevin step as a share of the measured sgemm peak;
#   - peak memory (max RSS) of `ebm train` on uva-cnn vs the reference's,
#     from /usr/bin/time -v (Debian's `time`, see scripts/install-deps.sh).
# Prints markdown tables (the README's Performance section is made from it).
#
#   make bench                      # = bench/compare.sh build/ebm
#   THREADS=2 REF_ITERS=5 bench/compare.sh build/ebm
#
# Environment: BATCH (128), ITERS (ebm timed Langevin steps, 50),
# TRAIN_ITERS (ebm timed training iterations, 5), REF_ITERS (reference
# training iterations of 60 steps each, 4), RSS_ITERS (training iterations of
# the memory runs, 3), ROUNDS (alternating runs per side, the best mean
# kept, 3), THREADS ("1 2"), PYTHON (/usr/bin/python3), EBM_REF
# (the reference script), DATA (fashion-mnist, for the memory runs).
set -eu

EBM=${1:-build/ebm}
REPO=$(cd "$(dirname "$0")/.." && pwd)
REF=${EBM_REF:-$REPO/bench/torch_reference.py}
PY=${PYTHON:-/usr/bin/python3}
BATCH=${BATCH:-128}
ITERS=${ITERS:-50}
TRAIN_ITERS=${TRAIN_ITERS:-5}
REF_ITERS=${REF_ITERS:-4}
RSS_ITERS=${RSS_ITERS:-3}
THREADS=${THREADS:-"1 2"}
ROUNDS=${ROUNDS:-3}
DATA=${DATA:-fashion-mnist}

field() { # field NAME < json-line
  "$PY" -c 'import json, sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"
}
calc() { "$PY" -c "print($1)"; }

have_torch=0
if [ -f "$REF" ] && "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then have_torch=1; fi
have_time=0
if /usr/bin/time -v true >/dev/null 2>&1; then have_time=1; fi

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || uname -m)
echo "Machine: $cpu, $(nproc) cores online, $(uname -sr); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "uva-cnn (CNNModel of ebm_ref.py), batch $BATCH; each figure is the best of $ROUNDS alternating runs of"
echo "a mean ($ITERS ebm steps, $TRAIN_ITERS ebm iterations, $REF_ITERS reference iterations of 60 steps)."
echo
echo "| threads | ebm Langevin ms/step | PyTorch ms/step | speed-up | ebm s/iter | PyTorch s/iter | speed-up | ebm step GFLOP/s (% of sgemm peak) |"
echo "|--------:|---------------------:|----------------:|---------:|-----------:|---------------:|---------:|-----------------------------------:|"
minof() { calc "min($1, $2)"; }
for t in $THREADS; do
  # ROUNDS alternating runs of each side; the best mean of each is kept
  # (other processes on a shared machine only ever add time).
  ems=1e30 eit=1e30 pms=1e30 pit=1e30
  r=0
  while [ "$r" -lt "$ROUNDS" ]; do
    r=$((r + 1))
    lang=$("$EBM" bench langevin --arch uva-cnn --batch "$BATCH" --iters "$ITERS" --threads "$t" --json)
    train=$("$EBM" bench train --arch uva-cnn --batch "$BATCH" --iters "$TRAIN_ITERS" --threads "$t" --json)
    if [ "$(calc "$(echo "$lang" | field langevin_step_ms) < $ems")" = True ]; then
      ems=$(echo "$lang" | field langevin_step_ms)
      gflops=$(echo "$lang" | field gflops)
      pct=$(echo "$lang" | field peak_pct)
      peak=$(echo "$lang" | field sgemm_peak_gflops)
    fi
    eit=$(minof "$eit" "$(echo "$train" | field sec_per_iter)")
    if [ "$have_torch" = 1 ]; then
      ref=$("$PY" "$REF" --iters "$REF_ITERS" --threads "$t" --batch "$BATCH" --log-every 1000000 | tail -n 1)
      pms=$(minof "$pms" "$(echo "$ref" | field langevin_step_ms)")
      pit=$(minof "$pit" "$(echo "$ref" | field sec_per_iter)")
    fi
  done
  if [ "$have_torch" = 1 ]; then
    r1=$(calc "f'{$pms / $ems:.2f}x'")
    r2=$(calc "f'{$pit / $eit:.2f}x'")
    pms=$(calc "f'{$pms:.3f}'")
    pit=$(calc "f'{$pit:.3f}'")
  else
    pms="n/a (no torch)" pit="n/a" r1="n/a" r2="n/a"
  fi
  printf '| %7s | %20.3f | %15s | %8s | %10.3f | %14s | %8s | %34s |\n' "$t" "$ems" "$pms" "$r1" "$eit" "$pit" "$r2" \
    "$(printf '%.1f (%.0f %% of %.0f)' "$gflops" "$pct" "$peak")"
done
echo

tmax=$(echo $THREADS | tr ' ' '\n' | sort -n | tail -n 1)
ig=$("$EBM" bench langevin --arch igebm-mnist --batch "$BATCH" --iters 5 --threads "$tmax" --json)
printf 'igebm-mnist Langevin step, batch %s, %s threads: %.1f ms, %.1f GFLOP/s = %.0f %% of the sgemm peak measured in that run (%.0f GFLOP/s)\n' \
  "$BATCH" "$tmax" "$(echo "$ig" | field langevin_step_ms)" "$(echo "$ig" | field gflops)" \
  "$(echo "$ig" | field peak_pct)" "$(echo "$ig" | field sgemm_peak_gflops)"
echo

if [ "$have_time" = 1 ]; then
  rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | sed -n 's/.*Maximum resident set size (kbytes): //p' | tail -n 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  erss=$(rss "$EBM" train --data "$DATA" --arch uva-cnn --preset uva --iters "$RSS_ITERS" --threads "$tmax" \
         --sample-every 0 --out "$tmp/run")
  if [ "$have_torch" = 1 ]; then
    prss=$(rss "$PY" "$REF" --iters "$RSS_ITERS" --threads "$tmax" --log-every 1000000)
  else
    prss=""
  fi
  echo "| peak memory, uva-cnn training ($RSS_ITERS iterations, $tmax threads) | max RSS |"
  echo "|---|---:|"
  printf '| ebm train --preset uva | %s MiB |\n' "$(calc "f'{${erss:-0} / 1024:.0f}'")"
  if [ -n "$prss" ]; then
    printf '| ebm_ref.py (PyTorch) | %s MiB |\n' "$(calc "f'{$prss / 1024:.0f}'")"
    printf '| ratio ebm / PyTorch | %s |\n' "$(calc "f'{${erss:-0} / $prss:.2f}'")"
  fi
else
  echo "(no /usr/bin/time -v: install Debian's 'time' package for the memory comparison)"
fi
echo
echo "GFLOP/s counts conv/linear multiply-adds (2 FLOP each) of the forward pass and of the backward"
echo "pass to the input; the sgemm peak is one single-threaded 1024^3 OpenBLAS sgemm per thread, side by side."
