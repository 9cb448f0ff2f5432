#!/usr/bin/env bash
# A/B benchmark of two revisions: did a change make an operation faster, and
# is the difference real?
#
#   tools/bench_compare.sh [options] BASE [NEW]
#
# BASE and NEW are git revisions of the repository you are in (NEW defaults
# to the working tree, uncommitted changes included). Each revision is
# exported (git archive) into its own source tree and built in Release in its
# own build directory under the work directory, so the checkout is never
# touched; a revision's build is kept and reused by the next comparison. The
# per-operation benchmarks (bench/ops_bench.cpp) of both builds then run in
# interleaved rounds, BASE NEW NEW BASE BASE NEW ..., one repetition per
# benchmark per round, so a burst of load from other processes, or a drift of
# the clock, falls on both sides alike. Google Benchmark's own compare.py
# (Debian's libbenchmark-tools, with python3-scipy and python3-numpy)
# compares them: the median time of each side and a two-sided Mann-Whitney U
# test over the rounds. The table has one row per operation x backend x batch:
#
#   benchmark                 base µs    new µs   change  p-value  verdict
#   conv_bwd/simd/32           1131.6     455.4   -59.8%   0.0001  faster
#
# A difference is significant when the U test's p-value is below --alpha AND
# the medians differ by at least --threshold percent: with dozens of
# benchmarks, a p-value alone flags one in twenty unchanged ones.
#
# Options:
#   --filter REGEX     Google Benchmark filter over op/backend/batch names
#                      (default: the primitives and train_step of every
#                      backend's default ISA path at batch 32):
#                      --filter 'conv_bwd/(simd|im2col)/' , --filter '/32/'
#   --fail-above PCT   exit 1 when a benchmark is significantly slower by
#                      more than PCT percent (put it in front of a merge)
#   --threshold PCT    smallest change called significant (default 5)
#   --alpha A          U-test significance level (default 0.05)
#   --reps N           interleaved rounds (default 9, the fewest compare.py
#                      calls reliable)
#   --min-time S       seconds per benchmark per round (default 0.05)
#   --work DIR         source trees, builds and results (default
#                      $BENCH_COMPARE_DIR, else /tmp/bench_compare-$UID/<repo>)
#
# The benchmarks read $CNN_DATA_DIR, else the checkout's data/ (the same
# images for both sides). Exit status: 0, 1 (--fail-above tripped), 2 (a bad
# revision, a revision that does not build, a missing tool: one line on
# stderr saying which). Results stay in WORK/results: base.json and new.json
# (every round), compare.txt (compare.py's own report) and diff.json.
set -euo pipefail

me=bench_compare
die() { echo "$me: $*" >&2; exit 2; }
note() { echo "$me: $*" >&2; }

filter='^(conv_fwd|pool_fwd|fc_fwd|softmax_xent|fc_bwd|pool_bwd|conv_bwd|sgd_update|train_step)/[^/@]+/32/'
fail_above="" threshold=5 alpha=0.05 reps=9 min_time=0.05 work="${BENCH_COMPARE_DIR:-}"
revs=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --filter) filter="${2:?--filter needs a regex}"; shift 2 ;;
    --fail-above) fail_above="${2:?--fail-above needs a percentage}"; shift 2 ;;
    --threshold) threshold="${2:?--threshold needs a percentage}"; shift 2 ;;
    --alpha) alpha="${2:?--alpha needs a level}"; shift 2 ;;
    --reps) reps="${2:?--reps needs a count}"; shift 2 ;;
    --min-time) min_time="${2:?--min-time needs seconds}"; shift 2 ;;
    --work) work="${2:?--work needs a directory}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) revs+=("$1"); shift ;;
  esac
done
[[ ${#revs[@]} -ge 1 && ${#revs[@]} -le 2 ]] || die "usage: tools/bench_compare.sh [options] BASE [NEW] (see --help)"
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive whole number, not '$reps'"
for v in "$threshold" "$alpha" "$min_time" ${fail_above:+"$fail_above"}; do
  [[ "$v" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "not a number: '$v'"
done

# Tools, each missing one a one-line error.
command -v git >/dev/null || die "git not found"
command -v cmake >/dev/null || die "cmake not found (tools/setup.sh installs it)"
compare_py="${BENCH_COMPARE_PY:-/usr/share/benchmark/compare.py}"
[[ -f "$compare_py" ]] || die "Google Benchmark's compare.py not found at $compare_py (Debian package libbenchmark-tools; tools/setup.sh installs it)"
py=""
for cand in /usr/bin/python3 python3; do
  if command -v "$cand" >/dev/null && "$cand" -c 'import scipy, numpy' 2>/dev/null; then py=$cand; break; fi
done
[[ -n "$py" ]] || die "compare.py needs python3 with scipy and numpy (Debian python3-scipy python3-numpy; tools/setup.sh installs them)"

repo=$(git rev-parse --show-toplevel 2>/dev/null) || die "not inside a git repository"
work="${work:-${TMPDIR:-/tmp}/bench_compare-$(id -u)/$(basename "$repo")}"
mkdir -p "$work/results"
results="$work/results"
export CNN_DATA_DIR="${CNN_DATA_DIR:-$repo/data}"

# label: "base" or "new"; rev: a revision, or "" for the working tree.
# Sets src_<label>, bin_<label> and desc_<label>.
prepare() {
  local label=$1 rev=$2 sha src bld
  if [[ -z "$rev" ]]; then
    src=$repo bld="$work/build-worktree"
    printf -v "desc_$label" 'working tree (%s + changes)' "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo 'no commit')"
  else
    sha=$(git -C "$repo" rev-parse --verify --quiet "$rev^{commit}") ||
      die "'$rev' is not a revision of $repo"
    src="$work/src-$sha" bld="$work/build-$sha"
    printf -v "desc_$label" '%s (%s)' "$rev" "${sha:0:10}"
    if [[ ! -f "$src/.exported" ]]; then
      rm -rf "$src" && mkdir -p "$src"
      git -C "$repo" archive "$sha" | tar -x -C "$src" || die "could not export $rev into $src"
      touch "$src/.exported"
    fi
  fi
  local log="$work/build-$label.log" desc_var="desc_$label"
  note "building ${!desc_var} in $bld (log: $log)"
  if ! { cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=Release -DCNN_BUILD_TESTS=OFF -DCNN_BUILD_BENCH=ON &&
         cmake --build "$bld" -j"$(nproc)" --target cnn_bench; } >"$log" 2>&1; then
    die "${!desc_var} does not build: $(grep -m1 -E 'error|Error' "$log" | cut -c1-160) (full log: $log)"
  fi
  [[ -x "$bld/bench/cnn_bench" ]] || die "${!desc_var} built no bench/cnn_bench (full log: $log)"
  printf -v "bin_$label" '%s' "$bld/bench/cnn_bench"
}

prepare base "${revs[0]}"
prepare new "${revs[1]:-}"

n=$("$bin_new" --benchmark_list_tests --benchmark_filter="$filter" 2>/dev/null | grep -c . || true)
[[ "$n" -gt 0 ]] || die "--filter '$filter' matches no benchmark of $desc_new"

# Interleaved rounds: ABBA order, so neither side always runs first.
rm -f "$results"/round.*.json
note "$reps rounds of $n benchmarks x 2 builds, ${min_time}s each"
for ((r = 1; r <= reps; r++)); do
  order=(base new)
  ((r % 2 == 0)) && order=(new base)
  for side in "${order[@]}"; do
    bin_var="bin_$side"
    "${!bin_var}" --benchmark_filter="$filter" --benchmark_min_time="$min_time" \
      --benchmark_repetitions=1 --benchmark_out="$results/round.$side.$r.json" \
      --benchmark_out_format=json >/dev/null 2>"$results/round.$side.$r.err" ||
      die "the $side build's cnn_bench failed in round $r: $(tail -n1 "$results/round.$side.$r.err")"
  done
  if [[ -t 2 ]]; then printf '%s: round %d/%d done\r' "$me" "$r" "$reps" >&2; fi
done
if [[ -t 2 ]]; then echo >&2; fi

# The rounds of each side as one Google Benchmark JSON with N repetitions
# and their median, the form compare.py reads.
"$py" - "$results" "$reps" <<'EOF'
import json, statistics, sys
results, reps = sys.argv[1], int(sys.argv[2])
for side in ("base", "new"):
    merged, runs = None, {}
    for r in range(1, reps + 1):
        with open("%s/round.%s.%d.json" % (results, side, r)) as f:
            j = json.load(f)
        merged = merged or {"context": j["context"], "benchmarks": []}
        for b in j["benchmarks"]:
            if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
                continue
            b.update(repetitions=reps, repetition_index=r - 1)
            merged["benchmarks"].append(b)
            runs.setdefault(b["name"], []).append(b)
    for name, bs in runs.items():
        agg = dict(bs[0], name=name + "_median", run_name=bs[0].get("run_name", name),
                   run_type="aggregate", aggregate_name="median")
        for k in ("real_time", "cpu_time"):
            agg[k] = statistics.median(b[k] for b in bs)
        merged["benchmarks"].append(agg)
    with open("%s/%s.json" % (results, side), "w") as f:
        json.dump(merged, f, indent=1)
EOF

"$py" "$compare_py" -a --no-color --alpha "$alpha" -d "$results/diff.json" \
  benchmarks "$results/base.json" "$results/new.json" >"$results/compare.txt" 2>&1 ||
  die "compare.py failed: $(tail -n1 "$results/compare.txt")"

# The table, from compare.py's own numbers (diff.json): medians, change of
# the medians, the U test's p-value on real time.
"$py" - "$results/diff.json" "$alpha" "$threshold" "${fail_above:-}" "$desc_base" "$desc_new" \
  "$reps" "$min_time" "$results" <<'EOF'
import json, re, sys
path, alpha, threshold, fail_above, base, new, reps, min_time, results = sys.argv[1:]
alpha, threshold = float(alpha), float(threshold)
to_us = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
with open(path) as f:
    diff = json.load(f)
pvalues = {d["name"]: d["utest"].get("time_pvalue") for d in diff if d.get("utest")}
rows = []
for d in diff:
    if d.get("aggregate_name") != "median":
        continue
    name = d["name"][: -len("_median")]
    m = d["measurements"][0]
    u = to_us.get(d["time_unit"], 1.0)
    change = 100.0 * m["time"]
    p = pvalues.get(name)
    if p is None:
        verdict = "n/a (needs 2+ rounds)"
    elif p < alpha and abs(change) >= threshold:
        verdict = "SLOWER" if change > 0 else "faster"
    else:
        verdict = ""
    rows.append((re.sub("/(real|manual)_time$", "", name), m["real_time"] * u, m["real_time_other"] * u,
                 change, p, verdict))
w = max([len("benchmark")] + [len(r[0]) for r in rows])
print("base: %s" % base)
print("new:  %s" % new)
print("%s interleaved rounds, %ss per benchmark per round; medians of the rounds; "
      "significant = U-test p < %g (compare.py) and |change| >= %g%%" % (reps, min_time, alpha, threshold))
print()
print("%-*s %12s %12s %8s %8s  %s" % (w, "benchmark", "base µs", "new µs", "change", "p-value", "verdict"))
for name, b, n, c, p, v in rows:
    print("%-*s %12.2f %12.2f %+7.1f%% %8s  %s" % (w, name, b, n, c, "-" if p is None else "%.4f" % p, v))
print()
print("compare.py's own report: %s/compare.txt" % results)
if fail_above:
    bad = [r for r in rows if r[5] == "SLOWER" and r[3] > float(fail_above)]
    if bad:
        print("bench_compare: %d benchmark(s) significantly slower by more than %s%%: %s"
              % (len(bad), fail_above, ", ".join(r[0] for r in bad)), file=sys.stderr)
        sys.exit(1)
EOF
