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
#   - the igebm-mnist Langevin step as a share of the measured sgemm peak (the one taken up front,
#     and the median share of the sgemm round run after each step: --paired-peak);
#   - peak memory (max RSS) of `ebm train` on uva-cnn vs the reference's,
#     from /usr/bin/time -v (Debian's `time`, see scripts/install-deps.sh);
#   - each of the above ebm figures for every kernel path (EBM_ISA: avx512,
#     avx2, generic) that this CPU supports;
#   - the busy-machine case: `ebm bench train` at 1 and at 2 threads while
#     one competing CPU-bound process (a shell busy loop) runs.
# PyTorch is held to the ISA of each ebm path (the "held" columns), so that
# an AVX2 or generic row is what a user of such a CPU sees, and is also run
# unrestricted (its own best kernels on this CPU, the "free" columns):
#   avx512  unrestricted (the held and free figures are the same run)
#   avx2    ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell
#   generic ATEN_CPU_CAPABILITY=default DNNL_MAX_CPU_ISA=SSE41 (no AVX in ATen's
#           kernels, SSE4.1 in oneDNN's convolutions); OpenBLAS as for ebm
#           (GENERIC_BLAS_CORE, when set, is OPENBLAS_CORETYPE for both sides)
# A line per hold prints what PyTorch reports it then uses (ATen's CPU
# capability, oneDNN's ISA from DNNL_VERBOSE, OpenBLAS's core).
# Prints markdown tables (the README's Performance section is made from it).
#
#   make bench                      # = bench/compare.sh build/ebm
#   THREADS=2 REF_ITERS=5 bench/compare.sh build/ebm
#
# Environment: BATCH (128), ITERS (ebm timed Langevin steps, 50),
# TRAIN_ITERS (ebm timed training iterations, 5), REF_ITERS (reference
# training iterations of 60 steps each, 4), RSS_ITERS (training iterations of
# the memory runs, 3), ROUNDS (alternating runs per side, the best mean
# kept, 3), THREADS ("1 2"), ISAS (the kernel paths to run; default every one
# this CPU supports), BUSY (1: run the busy-machine case), HOLD (1: PyTorch held
# to each path's ISA as above; 0: unrestricted only), TORCH_ENV_avx2 /
# TORCH_ENV_generic (the holds above), GENERIC_BLAS_CORE (unset), PYTHON (/usr/bin/python3), EBM_REF
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
BUSY=${BUSY:-1}
HOLD=${HOLD:-1}
TORCH_ENV_avx512=""
TORCH_ENV_avx2=${TORCH_ENV_avx2:-"ATEN_CPU_CAPABILITY=avx2 DNNL_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell"}
TORCH_ENV_generic=${TORCH_ENV_generic:-"ATEN_CPU_CAPABILITY=default DNNL_MAX_CPU_ISA=SSE41"}
EBM_ENV_generic=""
if [ -n "${GENERIC_BLAS_CORE:-}" ]; then
  TORCH_ENV_generic="$TORCH_ENV_generic OPENBLAS_CORETYPE=$GENERIC_BLAS_CORE"
  EBM_ENV_generic="OPENBLAS_CORETYPE=$GENERIC_BLAS_CORE"
fi
if [ -z "${ISAS:-}" ]; then
  ISAS=""
  for p in avx512 avx2 generic; do
    if EBM_ISA=$p "$EBM" version >/dev/null 2>&1; then ISAS="$ISAS $p"; fi
  done
fi

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
echo "Kernel paths run:$ISAS (best on this CPU: $("$EBM" version | sed -n 's/.*best on this CPU: \([a-z0-9]*\).*/\1/p')); $("$EBM" version | grep '^blas')"
# The kernels PyTorch reports under the environment "$@" (a hold).
torch_isa() {
  env "$@" DNNL_VERBOSE=1 "$PY" -c '
import ctypes, re, sys, torch
cap = re.search(r"CPU capability usage: (.*)", torch.__config__.show()).group(1)
ob = ctypes.CDLL("libopenblas.so.0"); ob.openblas_get_corename.restype = ctypes.c_char_p
sys.stdout.flush()
torch.nn.functional.conv2d(torch.zeros(128, 16, 16, 16), torch.zeros(32, 16, 3, 3))
print(f"ATen {cap}, OpenBLAS {ob.openblas_get_corename().decode()}", flush=True)
' 2>/dev/null | awk -F, '/onednn_verbose,info,cpu,isa:/ { isa = $NF; sub(/^isa:/, "", isa) } !/onednn_verbose/ { line = $0 } END { printf "%s, oneDNN %s\n", line, isa }'
}
if [ "$have_torch" = 1 ]; then
  for p in $ISAS; do
    h=$(eval echo "\$TORCH_ENV_$p")
    [ "$HOLD" = 1 ] || h=""
    echo "PyTorch for path $p: ${h:-unrestricted} -> $(torch_isa $h)"
  done
fi
echo "uva-cnn (CNNModel of bench/torch_reference.py), batch $BATCH; each figure is the best of $ROUNDS alternating runs of"
echo "a mean ($ITERS ebm steps, $TRAIN_ITERS ebm iterations, $REF_ITERS reference iterations of 60 steps). \"held\": PyTorch held to"
echo "the path's ISA (lines above); \"free\": PyTorch unrestricted on this CPU."
echo
echo "| path | threads | ebm Langevin ms/step | PyTorch held ms/step | speed-up | PyTorch free ms/step | speed-up | ebm s/iter | PyTorch held s/iter | speed-up | PyTorch free s/iter | speed-up | ebm step GFLOP/s (% of sgemm peak) |"
echo "|:-----|--------:|---------------------:|----------------:|---------:|----------------:|---------:|-----------:|---------------:|---------:|---------------:|---------:|-----------------------------------:|"
minof() { calc "min($1, $2)"; }
# The holds to run: "free" always, and each path's own when it has one.
holds="free"
if [ "$HOLD" = 1 ]; then
  for p in $ISAS; do [ -n "$(eval echo "\$TORCH_ENV_$p")" ] && holds="$holds $p"; done
fi
hold_of() { # the hold whose PyTorch figures path $1 is compared with
  if [ "$HOLD" = 1 ] && [ -n "$(eval echo "\$TORCH_ENV_$1")" ]; then echo "$1"; else echo free; fi
}
for t in $THREADS; do
  # ROUNDS alternating runs of each side (PyTorch under each hold, then each
  # ebm path); the best mean of each is kept (other processes on a shared
  # machine only ever add time). Per hold H: pms_H, pit_H; per path P:
  # ems_P, eit_P, gflops_P, pct_P, peak_P.
  for h in $holds; do eval "pms_$h=1e30 pit_$h=1e30"; done
  for p in $ISAS; do eval "ems_$p=1e30 eit_$p=1e30"; done
  r=0
  while [ "$r" -lt "$ROUNDS" ]; do
    r=$((r + 1))
    if [ "$have_torch" = 1 ]; then
      for h in $holds; do
        henv=""
        [ "$h" = free ] || henv=$(eval echo "\$TORCH_ENV_$h")
        ref=$(env $henv "$PY" "$REF" --iters "$REF_ITERS" --threads "$t" --batch "$BATCH" --log-every 1000000 | tail -n 1)
        eval "pms_$h=$(minof "$(eval echo "\$pms_$h")" "$(echo "$ref" | field langevin_step_ms)")"
        eval "pit_$h=$(minof "$(eval echo "\$pit_$h")" "$(echo "$ref" | field sec_per_iter)")"
      done
    fi
    for p in $ISAS; do
      eenv=$(eval echo "\${EBM_ENV_$p:-}")
      lang=$(env $eenv EBM_ISA=$p "$EBM" bench langevin --arch uva-cnn --batch "$BATCH" --iters "$ITERS" --threads "$t" --json)
      train=$(env $eenv EBM_ISA=$p "$EBM" bench train --arch uva-cnn --batch "$BATCH" --iters "$TRAIN_ITERS" --threads "$t" --json)
      ms=$(echo "$lang" | field langevin_step_ms)
      if [ "$(calc "$ms < $(eval echo "\$ems_$p")")" = True ]; then
        eval "ems_$p=$ms gflops_$p=$(echo "$lang" | field gflops) pct_$p=$(echo "$lang" | field peak_pct)"
        eval "peak_$p=$(echo "$lang" | field sgemm_peak_gflops)"
      fi
      eval "eit_$p=$(minof "$(eval echo "\$eit_$p")" "$(echo "$train" | field sec_per_iter)")"
    done
  done
  for p in $ISAS; do
    ems=$(eval echo "\$ems_$p") eit=$(eval echo "\$eit_$p")
    h=$(hold_of "$p")
    if [ "$have_torch" = 1 ]; then
      hms=$(eval echo "\$pms_$h") hit=$(eval echo "\$pit_$h")
      r1=$(calc "f'{$hms / $ems:.2f}x'") r1f=$(calc "f'{$pms_free / $ems:.2f}x'")
      r2=$(calc "f'{$hit / $eit:.2f}x'") r2f=$(calc "f'{$pit_free / $eit:.2f}x'")
      hms_s=$(calc "f'{$hms:.3f}'") fms_s=$(calc "f'{$pms_free:.3f}'")
      hit_s=$(calc "f'{$hit:.3f}'") fit_s=$(calc "f'{$pit_free:.3f}'")
      if [ "$h" = free ]; then hms_s="(free) $hms_s" hit_s="(free) $hit_s"; fi
    else
      hms_s="n/a (no torch)" fms_s="n/a" hit_s="n/a" fit_s="n/a" r1="n/a" r1f="n/a" r2="n/a" r2f="n/a"
    fi
    printf '| %-7s | %7s | %20.3f | %15s | %8s | %15s | %8s | %10.3f | %14s | %8s | %14s | %8s | %34s |\n' "$p" "$t" "$ems" \
      "$hms_s" "$r1" "$fms_s" "$r1f" "$eit" "$hit_s" "$r2" "$fit_s" "$r2f" \
      "$(printf '%.1f (%.0f %% of %.0f)' "$(eval echo "\$gflops_$p")" "$(eval echo "\$pct_$p")" "$(eval echo "\$peak_$p")")"
  done
done
echo

tmax=$(echo $THREADS | tr ' ' '\n' | sort -n | tail -n 1)
for p in $ISAS; do
  ig=$(env $(eval echo "\${EBM_ENV_$p:-}") EBM_ISA=$p "$EBM" bench langevin --arch igebm-mnist --batch "$BATCH" --iters 5 --threads "$tmax" --paired-peak --json)
  printf 'igebm-mnist Langevin step, path %s, batch %s, %s threads: %.1f ms, %.1f GFLOP/s = %.0f %% of the sgemm peak measured in that run (%.0f GFLOP/s); %.0f %% of the sgemm round after each step (median)\n' \
    "$p" "$BATCH" "$tmax" "$(echo "$ig" | field langevin_step_ms)" "$(echo "$ig" | field gflops)" \
    "$(echo "$ig" | field peak_pct)" "$(echo "$ig" | field sgemm_peak_gflops)" "$(echo "$ig" | field paired_peak_pct)"
done
echo

if [ "$BUSY" = 1 ]; then
  # One competing CPU-bound process; threads 1 and 2 alternate, best of ROUNDS.
  sh -c 'while :; do :; done' &
  busy_pid=$!
  trap 'kill "$busy_pid" 2>/dev/null' EXIT
  b1=1e30 b2=1e30
  r=0
  while [ "$r" -lt "$ROUNDS" ]; do
    r=$((r + 1))
    b1=$(minof "$b1" "$("$EBM" bench train --arch uva-cnn --batch "$BATCH" --iters "$TRAIN_ITERS" --threads 1 --json | field sec_per_iter)")
    b2=$(minof "$b2" "$("$EBM" bench train --arch uva-cnn --batch "$BATCH" --iters "$TRAIN_ITERS" --threads 2 --json | field sec_per_iter)")
  done
  kill "$busy_pid"
  trap - EXIT
  echo "| busy machine: uva-cnn training with one competing busy loop, path $("$EBM" version | sed -n 's/^isa \([a-z0-9]*\).*/\1/p') | s/iter |"
  echo "|---|---:|"
  printf '| --threads 1 | %.3f |\n| --threads 2 | %.3f |\n| 2 threads vs 1 | %s |\n' "$b1" "$b2" "$(calc "f'{$b1 / $b2:.2f}x'")"
  echo
fi

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
    printf '| torch_reference.py (PyTorch) | %s MiB |\n' "$(calc "f'{$prss / 1024:.0f}'")"
    printf '| ratio ebm / PyTorch | %s |\n' "$(calc "f'{${erss:-0} / $prss:.2f}'")"
  fi
else
  echo "(no /usr/bin/time -v: install Debian's 'time' package for the memory comparison)"
fi
echo
echo "GFLOP/s counts conv/linear multiply-adds (2 FLOP each) of the forward pass and of the backward"
echo "pass to the input; the sgemm peak is one single-threaded 1024^3 OpenBLAS sgemm per thread, side by side."
