#!/bin/sh
# The busy-machine case of issue 18 on its own: uva-cnn training
# (`ebm bench train`, s/iter) at --threads 1 and 2 while one competing
# CPU-bound process runs (a shell busy loop started from this shell: the same
# session and autogroup, so the scheduler shares the cores thread by thread).
# Runs alternate within each round and every round is printed, with the load
# average, so a shared machine's noise shows instead of hiding in a best-of.
#
#   bench/busy.sh build/ebm                   # --threads 1 vs 2
#   bench/busy.sh build/ebm build-old/ebm     # and a second binary at 2 threads (before / after)
#
# Environment: ROUNDS (4), ITERS (timed iterations per run, 3), BATCH (128),
# PYTHON (/usr/bin/python3).
set -eu

EBM=${1:-build/ebm}
OLD=${2:-}
ROUNDS=${ROUNDS:-4}
ITERS=${ITERS:-3}
BATCH=${BATCH:-128}
PY=${PYTHON:-/usr/bin/python3}

per_iter() { # per_iter BINARY THREADS: seconds per training iteration
  "$1" bench train --arch uva-cnn --batch "$BATCH" --iters "$ITERS" --threads "$2" --json |
    "$PY" -c 'import json, sys; print(json.loads(sys.stdin.readline())["sec_per_iter"])'
}

sh -c 'while :; do :; done' &
busy_pid=$!
trap 'kill "$busy_pid" 2>/dev/null' EXIT INT TERM

echo "busy machine: uva-cnn training, batch $BATCH, $ITERS iterations per run, one busy loop; $(nproc) cores"
printf '| round | load avg | %s -t1 s/iter | %s -t2 s/iter | 2 threads vs 1 |' "$EBM" "$EBM"
[ -n "$OLD" ] && printf ' %s -t2 s/iter | %s -t2 vs 1 |' "$OLD" "$OLD"
printf '\n|---|---:|---:|---:|---:|'
[ -n "$OLD" ] && printf -- '---:|---:|'
printf '\n'
ratios="" old_ratios=""
r=0
while [ "$r" -lt "$ROUNDS" ]; do
  r=$((r + 1))
  load=$(cut -d' ' -f1 /proc/loadavg)
  t1=$(per_iter "$EBM" 1)
  t2=$(per_iter "$EBM" 2)
  ratio=$("$PY" -c "print(f'{$t1 / $t2:.2f}')")
  ratios="$ratios $ratio"
  printf '| %d | %s | %.3f | %.3f | %sx |' "$r" "$load" "$t1" "$t2" "$ratio"
  if [ -n "$OLD" ]; then
    o2=$(per_iter "$OLD" 2)
    oratio=$("$PY" -c "print(f'{$t1 / $o2:.2f}')")
    old_ratios="$old_ratios $oratio"
    printf ' %.3f | %sx |' "$o2" "$oratio"
  fi
  printf '\n'
done
median() { "$PY" -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" $1; }
echo
echo "median of the rounds' 2-threads-vs-1 ratios: $(median "$ratios")x$([ -n "$OLD" ] && echo "; $OLD at 2 threads against $EBM at 1: $(median "$old_ratios")x")"
