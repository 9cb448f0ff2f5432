#!/usr/bin/env bash
# How the default run behaves beside other programs: trains with the default
# thread count and with --threads 1, first on the machine as it is, then
# while a competing process of this script's own keeps one core busy (a
# shell busy-loop, stopped when the script ends, however it ends), and
# prints the median training time of each (the sum of the epoch times the
# trainer prints) and the ratios.
#
#   tools/busy_check.sh [--build DIR] [--runs N] [--epochs E] [--load busy|compile] [-- TRAINER ARGS]
#
# --load busy (the default) is one busy-looping shell; --load compile is a
# two-job rebuild of the project in a scratch build directory, repeated for
# as long as the measurement runs. The goal it checks: with one core kept
# busy, the default run takes at most 1.25x the time of --threads 1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=build runs=5 epochs=1 load=busy
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --load) load="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "busy_check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
extra=("$@")
bin="$build/mnist_cnn"
[[ -x "$bin" ]] || { echo "busy_check: $bin not found: build the project first (README quick start)" >&2; exit 1; }
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "busy_check: --runs must be a positive integer" >&2; exit 2; }
[[ "$load" == busy || "$load" == compile ]] || { echo "busy_check: --load must be busy or compile" >&2; exit 2; }

loader=""
scratch=""
stop_load() {
  if [[ -n "$loader" ]]; then
    kill -- "-$loader" 2>/dev/null || kill "$loader" 2>/dev/null || true
    wait "$loader" 2>/dev/null || true
    loader=""
  fi
}
cleanup() { stop_load; [[ -n "$scratch" ]] && rm -rf "$scratch"; true; }
trap cleanup EXIT INT TERM

# One training run -> its training time in seconds (sum of the epoch times).
train_time() {
  "$bin" --seed 1 --epochs "$epochs" --log "$tmp/log.csv" "$@" "${extra[@]}" |
    awk '/^Epoch/ { for (i = 1; i <= NF; ++i) if ($i ~ /^time=/) { sub("time=", "", $i); sub("s", "", $i); s += $i } }
         END { printf "%.3f\n", s }'
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# Runs of the default and of --threads 1, interleaved so that drift of the
# machine hits both alike. Prints "default_median threads1_median" and the spread.
measure() {
  local d=() o=()
  for ((r = 0; r < runs; ++r)); do
    d+=("$(train_time)")
    o+=("$(train_time --threads 1)")
  done
  echo "  default:     ${d[*]}  (median $(printf '%s\n' "${d[@]}" | median) s)" >&2
  echo "  --threads 1: ${o[*]}  (median $(printf '%s\n' "${o[@]}" | median) s)" >&2
  echo "$(printf '%s\n' "${d[@]}" | median) $(printf '%s\n' "${o[@]}" | median)"
}

tmp=$(mktemp -d)
scratch="$tmp"
echo "busy_check: $("$bin" --seed 1 --epochs 1 --log "$tmp/log.csv" "${extra[@]}" | grep '^Backend:') | $(nproc) cores | $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "busy_check: $runs runs each, $epochs epoch(s), seed 1"

echo "quiet (the machine as it is):"
read -r qd q1 < <(measure)

case "$load" in
  busy) setsid bash -c 'while :; do :; done' & loader=$! ;;
  compile)
    setsid bash -c "cmake -S . -B '$tmp/build' -DCMAKE_BUILD_TYPE=Release -DCNN_BUILD_TESTS=OFF -DCNN_BUILD_BENCH=OFF >/dev/null 2>&1
      while :; do cmake --build '$tmp/build' -j2 --clean-first >/dev/null 2>&1 || true; done" & loader=$! ;;
esac
sleep 1
echo "with one core kept busy ($load load):"
read -r bd b1 < <(measure)
stop_load

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
echo
echo "quiet: default $qd s, --threads 1 $q1 s: speed-up $(ratio "$q1" "$qd")x"
r=$(ratio "$bd" "$b1")
echo "busy:  default $bd s, --threads 1 $b1 s: default / --threads 1 = ${r}x (goal: <= 1.25)"
awk -v r="$r" 'BEGIN { exit !(r <= 1.25) }' && echo "busy_check: PASS" || { echo "busy_check: FAIL"; exit 3; }
