#!/bin/sh
# Runs every libFuzzer target in BUILD_DIR for SECONDS each (default 60),
# seeded from tests/fixtures/io (and examples/arch). Prints per target the
# run time, the number of executions and whether it found a crash (or leak /
# timeout / OOM beyond the 1 GiB cap);
# exits 1 if any did. The growing corpus and any crash inputs stay in
# BUILD_DIR/fuzz-corpus/<target> and BUILD_DIR/fuzz-artifacts/.
# Usage: scripts/run-fuzz.sh BUILD_DIR [SECONDS]   (`make fuzz` calls it)
set -u
BUILD_DIR=${1:?usage: run-fuzz.sh BUILD_DIR [SECONDS]}
SECONDS_EACH=${2:-60}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FIX="$ROOT/tests/fixtures/io"
ART="$BUILD_DIR/fuzz-artifacts"
mkdir -p "$ART"

# seeds TARGET: the fixture files a target starts from (one per line).
seeds() {
  case "$1" in
    fuzz_safetensors) ls "$FIX"/*.safetensors "$FIX"/hostile/st_* ;;
    fuzz_st_json) ls "$FIX"/seeds/st_json/* ;;
    fuzz_npy) ls "$FIX"/*.npy "$FIX"/hostile/npy_* ;;
    fuzz_idx) ls "$FIX"/*idx* "$FIX"/hostile/idx_* ;;
    fuzz_png) ls "$FIX"/*.png ;;
    fuzz_arch) ls "$FIX"/seeds/arch/* "$ROOT"/examples/arch/*.json ;;
    fuzz_checkpoint) ls "$FIX"/seeds/checkpoint/* "$FIX"/ref_model.safetensors ;;
    fuzz_classifier) ls "$FIX"/seeds/classifier/* ;;
    fuzz_curves_table) ls "$ROOT"/docs/*.tsv ;;
    fuzz_run_clock) ls "$FIX"/seeds/run_clock/* ;;
    fuzz_level_schedule) ls "$FIX"/seeds/level_schedule/* ;;
    fuzz_sampler_meta) ls "$FIX"/seeds/sampler_meta/* ;;
    fuzz_run_report) ls "$FIX"/seeds/run_report/* ;;
    fuzz_train_config) ls "$FIX"/seeds/train_config/* ;;
    fuzz_spec_text) ls "$FIX"/seeds/spec_text/* ;;
  esac 2>/dev/null
}

status=0
found=0
for bin in "$BUILD_DIR"/fuzz_*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  name=$(basename "$bin")
  found=$((found + 1))
  corpus="$BUILD_DIR/fuzz-corpus/$name"
  seeddir="$BUILD_DIR/fuzz-seeds/$name"
  rm -rf "$seeddir"
  mkdir -p "$corpus" "$seeddir"
  for f in $(seeds "$name"); do cp "$f" "$seeddir/"; done
  log="$BUILD_DIR/fuzz-$name.log"
  start=$(date +%s)
  # -timeout: an input taking 10 s is a hang; -rss_limit_mb / -malloc_limit_mb:
  # an input that makes us allocate more than 1 GiB is a bug (every reader
  # bounds its allocations; a checkpoint's metadata cannot make the network
  # allocate beyond what its plan and the file's size allow).
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$bin" -max_total_time="$SECONDS_EACH" \
    -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=1024 -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="$ART/$name-" "$corpus" "$seeddir" >"$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  units=$(ls "$corpus" | wc -l)
  if [ "$rc" -eq 0 ]; then
    printf '%-18s %4ss %10s execs  corpus %5s  no crash\n' "$name" "$secs" "${execs:-?}" "$units"
  else
    artifact=$(ls -t "$ART/$name-"* 2>/dev/null | head -n 1)
    kind=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)[^(]*' "$log")
    printf '%-18s %4ss %10s execs  corpus %5s  CRASH: %s (%s; log %s)\n' "$name" "$secs" \
      "${execs:-?}" "$units" "${kind:-exit $rc}" "${artifact:-no artifact}" "$log"
    status=1
  fi
done
if [ "$found" -eq 0 ]; then
  echo "run-fuzz.sh: no fuzz_* targets in $BUILD_DIR (configure with -DEBM_FUZZ=ON and CC=clang)" >&2
  exit 2
fi
exit $status
