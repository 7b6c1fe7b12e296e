#!/bin/sh
# Builds ebm for 64-bit ARM (aarch64) with Debian's cross compiler and runs
# the test suite under qemu-user: the generic kernel path (its portable vector
# code becomes NEON there), OpenBLAS's armv8 kernels and every other test, on
# a machine without ARM hardware. Not part of `make test` (the cross build and
# the emulated suite take tens of CPU-minutes).
#   scripts/test-arm64.sh [BUILD_DIR] [TEST_FILTER...]    (default build-arm64)
# Installs what it needs when missing (root): gcc-aarch64-linux-gnu, qemu-user
# and the arm64 -dev packages of the dependencies (dpkg --add-architecture).
# The CLI tests run the ebm binary as a child process: that needs the
# kernel's binfmt_misc to hand aarch64 programs to qemu, registered here when
# it can be (root, binfmt_misc mountable); otherwise those tests fail to exec.
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build-arm64}
[ $# -gt 0 ] && shift
PKGS="gcc-aarch64-linux-gnu qemu-user libopenblas-dev:arm64 zlib1g-dev:arm64 libpng-dev:arm64 libcjson-dev:arm64"
missing=
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "test-arm64: installing$missing" >&2
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
cmake -S . -B "$BUILD" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCMAKE_BUILD_TYPE=Release \
  -DEBM_NATIVE=OFF -DEBM_MPI=OFF -DEBM_WERROR=ON >/dev/null
cmake --build "$BUILD" -j "$(nproc)"

# binfmt_misc: aarch64 ELF files run by qemu-aarch64. No -L / QEMU_LD_PREFIX:
# the programs load the arm64 multiarch libc under / that the -dev packages
# installed; pointing qemu at the cross toolchain's own libc copy
# (/usr/aarch64-linux-gnu) mixes two builds of glibc and hangs pthread_create.
BINFMT=/proc/sys/fs/binfmt_misc
if [ ! -e "$BINFMT/qemu-aarch64" ]; then
  [ -e "$BINFMT/register" ] || mount -t binfmt_misc binfmt_misc "$BINFMT" 2>/dev/null || true
  if [ -w "$BINFMT/register" ]; then
    printf '%s' ':qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64:' \
      > "$BINFMT/register" || true
  fi
fi
if [ -e "$BINFMT/qemu-aarch64" ]; then RUN=; else
  echo "test-arm64: no binfmt_misc for aarch64 here: the CLI tests cannot start the ebm binary" >&2
  RUN=qemu-aarch64
fi
$RUN "$BUILD/ebm" version
# emulation is 5-30x slower than the host: a larger per-test limit than 300 s
EBM_TEST_TIMEOUT=${EBM_TEST_TIMEOUT:-3000} exec $RUN "$BUILD/ebm_tests" "$@"
