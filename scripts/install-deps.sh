#!/usr/bin/env bash
# Installs what ebm needs from Debian's packages, only if something is missing.
# Idempotent: runs `apt-get update` only when a package must be installed.
#   scripts/install-deps.sh            build + test + demo dependencies (chromium: the
#                                      report's browser test; python3-numpy: the Python module)
#   scripts/install-deps.sh --torch    also python3-torch (PyTorch parity, bench)
set -euo pipefail

pkgs=(cmake make gcc clang pkg-config libpng-dev zlib1g-dev libcjson-dev
      libopenblas-dev libopenblas0-pthread dataset-fashion-mnist chromium python3-numpy
      libopenmpi-dev openmpi-bin) # MPI: optional for the build, needed for the MPI tests
if [[ "${1:-}" == "--torch" ]]; then
  pkgs+=(python3-torch time) # time: /usr/bin/time -v in bench/compare.sh
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
