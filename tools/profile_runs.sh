#!/usr/bin/env bash
# Trains once with every backend in the registry, with --profile, writing
# logs/loss_<backend>.csv and logs/profile_<backend>.{csv,json}, then draws
# the plots (tools/plot) into docs/ ($OUT). A backend added to the registry is
# picked up from `mnist_cnn --list-backends`. Every profile has the same
# rows (src/profile_report.h), so docs/profile_layers.png compares each
# layer group across backends. Timings want a quiet machine.
#
#   tools/profile_runs.sh                 # 3 epochs, seed 1, every backend
#   EPOCHS=1 tools/profile_runs.sh naive simd
#
# Environment: BUILD_DIR (default build-bench, Release), EPOCHS (3), SEED (1),
# OUT (where tools/plot writes, default docs); threads as mnist_cnn's default
# (OMP_NUM_THREADS, else every core).
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
  # Every backend is rerun: no stale profile of a renamed or removed one.
  rm -f logs/profile_*.csv logs/profile_*.json
fi
mkdir -p logs
for b in "${backends[@]}"; do
  echo "== $b"
  "$build/mnist_cnn" --backend "$b" --seed "$seed" --epochs "$epochs" --profile \
    --log "logs/loss_$b.csv"
done
tools/plot --out "${OUT:-docs}"
