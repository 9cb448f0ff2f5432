#!/usr/bin/env bash
# Builds the benchmark suite in Release (its own build directory), runs every
# per-operation benchmark at batch 32 for every backend in the registry (and
# the fp32 FMA peak benchmark when the suite has one), saves Google
# Benchmark's JSON as logs/bench_ops.json and prints a Markdown table: one
# row per operation, one column per backend (median µs per call and the
# speed-up over naive). Repetitions run randomly interleaved, so a burst of
# load from other processes hits one repetition of many benchmarks rather
# than every repetition of one backend; the table takes the medians (and,
# for the FMA peak, the best repetition: load can only lower a peak).
#
#   tools/bench.sh                      # ~1-2 min on 2 cores
#   BENCH_REPS=5 BENCH_MIN_TIME=0.2 tools/bench.sh
#   tools/bench.sh --benchmark_filter='conv_fwd/'   # extra flags go to cnn_bench
#
# Environment: BENCH_BUILD_DIR (default build-bench), BENCH_REPS (3),
# BENCH_MIN_TIME (seconds per repetition, 0.1), BENCH_OUT (logs/bench_ops.json).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${BENCH_BUILD_DIR:-build-bench}
reps=${BENCH_REPS:-3}
min_time=${BENCH_MIN_TIME:-0.1}
out=${BENCH_OUT:-logs/bench_ops.json}

echo "bench: building cnn_bench (Release) in $build" >&2
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCNN_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target cnn_bench >/dev/null

ops='conv_fwd|pool_fwd|fc_fwd|softmax_xent|fc_bwd|pool_bwd|conv_bwd|sgd_update|forward_train|forward_infer|loss_grad|backward|update|train_step'
mkdir -p "$(dirname "$out")"
echo "bench: running (batch 32, $reps x ${min_time}s per benchmark); JSON -> $out" >&2
"$build/bench/cnn_bench" \
  --benchmark_filter="^($ops)/[^/]+/32/|^fma_peak" \
  --benchmark_min_time="$min_time" \
  --benchmark_repetitions="$reps" \
  --benchmark_enable_random_interleaving=true \
  --benchmark_display_aggregates_only=true \
  --benchmark_out="$out" --benchmark_out_format=json \
  "$@" >&2

python3 tools/bench_table.py "$out"
