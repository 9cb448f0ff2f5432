#!/usr/bin/env bash
# Trains once with every backend in the registry, with --profile, writing
# logs/loss_<backend>.csv and logs/profile_<backend>.{csv,json}, then draws
# the plots (tools/plot) into docs/. A backend added to the registry is
# picked up from `mnist_cnn --list-backends`.
#
#   tools/profile_runs.sh                 # 3 epochs, seed 1, every backend
#   EPOCHS=1 tools/profile_runs.sh naive simd
#
# Environment: BUILD_DIR (default build-bench, Release), EPOCHS (3), SEED (1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${BUILD_DIR:-build-bench}
epochs=${EPOCHS:-3}
seed=${SEED:-1}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCNN_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target mnist_cnn >/dev/null

if [[ $# -gt 0 ]]; then
  backends=("$@")
else
  mapfile -t backends < <("$build/mnist_cnn" --list-backends | awk '{print $1}')
fi
mkdir -p logs
for b in "${backends[@]}"; do
  echo "== $b"
  "$build/mnist_cnn" --backend "$b" --seed "$seed" --epochs "$epochs" --profile \
    --log "logs/loss_$b.csv"
done
tools/plot
