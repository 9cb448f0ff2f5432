#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan), writes their seed
# corpora, replays the saved regression inputs, then fuzzes each target for
# a bounded time (FUZZ_SECONDS, default 60). Any crash, leak, sanitizer
# report or allocation over the limit makes libFuzzer exit non-zero, and so
# this script; the offending input is left in build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
secs="${FUZZ_SECONDS:-60}"

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target fuzz_all
bin=build-fuzz/tests/fuzz
mkdir -p build-fuzz/artifacts

for target in $(ls "$bin" | grep '^fuzz_' | grep -v make_corpus); do
  name="${target#fuzz_}"
  corpus="build-fuzz/corpus/$name"
  mkdir -p "$corpus"
  "$bin/fuzz_make_corpus" "$name" "$corpus"
  regress="tests/fuzz/regressions/$name"
  if compgen -G "$regress/*" >/dev/null; then
    echo "fuzz: replaying $(ls "$regress" | wc -l) regression input(s) for $target"
    "$bin/$target" -malloc_limit_mb=64 "$regress"/*
  fi
  echo "fuzz: $target for ${secs}s"
  "$bin/$target" -max_total_time="$secs" -malloc_limit_mb=64 -rss_limit_mb=1024 -max_len=16384 \
    -artifact_prefix=build-fuzz/artifacts/"$name"- -print_final_stats=1 "$corpus" 2>&1 | tail -4
  [[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "fuzz: $target FAILED" >&2; exit 1; }
done
echo "fuzz: all targets clean"
