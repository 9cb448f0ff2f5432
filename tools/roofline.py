#!/usr/bin/env python3
"""Roofline plot per ISA path (tools/plot roofline): docs/roofline.png.

One panel per ISA path the benchmarks ran (avx512, avx2, portable, ...), log
scales, arithmetic intensity (FLOP per byte) across, GFLOP/s up:
  - the roofs, measured on the machine the JSON comes from: the path's FMA
    peak (bench/peak_bench.cpp with the bench/fma_peak_*.cpp loops) and the DRAM
    and L2 triad bandwidths (bench/bandwidth_bench.cpp) as slopes; solid for
    all threads, dashed for one thread (naive runs on one);
  - each operation of each backend at batch 32 (bench/ops_bench.cpp): its
    intensity is its FLOPs over the minimum bytes it must move (inputs read
    once, outputs written once: the benchmark's bytes_per_second counter), its
    height the GFLOP/s it achieved; labelled with the operation, coloured by
    backend.
It also prints, per point, the roof above it and the share of that roof the
operation reaches. At batch 32 every operation's data fits in the L2, so the
L2 slope is the memory roof that applies; the DRAM slope is where an
operation would stand if its data came from memory.

    tools/plot roofline --measure          # run cnn_bench, save the JSON, plot
    tools/plot roofline [--bench logs/bench_roofline.json] [--out docs/roofline.png]

--measure builds cnn_bench in Release (build-bench, like tools/bench.sh) and
runs the operations at batch 32, the peaks and the bandwidths (3 randomly
interleaved repetitions: about a minute on 2 cores), into --bench. Several
--bench files may be given (e.g. tools/bench.sh's plus a bandwidth run).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS = ["conv_fwd", "pool_fwd", "fc_fwd", "softmax_xent", "fc_bwd", "pool_bwd", "conv_bwd",
       "sgd_update", "train_step"]
FILTER = "^(%s)/[^/]+/32/|^fma_peak|^bandwidth" % "|".join(OPS)
ISA_ORDER = ["avx512", "avx2", "neon", "portable"]
COLOURS = ["#1f5fa8", "#d4540b", "#3a9a4a", "#8e63b5", "#b5651d", "#17becf", "#e377c2"]


def measure(path, build):
    # A new build directory gets the benchmarks only; an existing one keeps
    # its settings (its tests stay configured).
    fresh = not os.path.exists(os.path.join(build, "CMakeCache.txt"))
    subprocess.run(["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                    "-DCNN_BUILD_BENCH=ON"] + (["-DCNN_BUILD_TESTS=OFF"] if fresh else []),
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", build, "-j%d" % os.cpu_count(), "--target", "cnn_bench"],
                   check=True, stdout=subprocess.DEVNULL)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    subprocess.run([os.path.join(build, "bench", "cnn_bench"), "--benchmark_filter=" + FILTER,
                    "--benchmark_min_time=0.1", "--benchmark_repetitions=3",
                    "--benchmark_enable_random_interleaving=true",
                    "--benchmark_display_aggregates_only=true",
                    "--benchmark_out=" + path, "--benchmark_out_format=json"],
                   check=True, stdout=sys.stderr)


def counter(b, key):
    v = b.get(key)
    return float(v) if isinstance(v, (int, float)) else 0.0


def load(paths):
    """peaks[isa][threads] GFLOP/s, bw[level][threads] GB/s, points."""
    peaks, bw, runs = {}, {}, {}
    for path in paths:
        with open(path) as f:
            data = json.load(f)
        for b in data.get("benchmarks", []):
            if b.get("error_occurred"):
                continue
            name = b.get("run_name", b["name"])
            kind = b.get("aggregate_name") if b.get("run_type") == "aggregate" else "run"
            m = re.match(r"^fma_peak/(\w+)/threads:(\d+)", name)
            if m and kind in ("run", "median"):
                # The best repetition: load from other processes only lowers a peak.
                d = peaks.setdefault(m.group(1), {})
                d[int(m.group(2))] = max(d.get(int(m.group(2)), 0.0), counter(b, "GFLOP/s"))
            m = re.match(r"^bandwidth/triad_(\w+)/threads:(\d+)", name)
            if m and kind in ("run", "median"):
                d = bw.setdefault(m.group(1), {})
                d[int(m.group(2))] = max(d.get(int(m.group(2)), 0.0), counter(b, "GB/s"))
            m = re.match(r"^([a-z_]+)/([a-z0-9_@]+)/32/real_time$", name)
            if m and m.group(1) in OPS and kind in ("run", "median"):
                runs.setdefault((m.group(1), m.group(2)), {}).setdefault(kind, []).append(b)
    points = []
    for (op, cfg), kinds in runs.items():
        bs = kinds.get("median") or kinds["run"]
        gf = sorted(counter(b, "GFLOP/s") for b in bs)[len(bs) // 2]
        bps = sorted(counter(b, "bytes_per_second") for b in bs)[len(bs) // 2]
        label = bs[0].get("label", "")
        th = re.search(r"threads=(\d+)", label)
        if gf <= 0 or bps <= 0:
            continue
        points.append({"op": op, "cfg": cfg, "backend": cfg.split("@")[0],
                       "isa": label.split()[0] if label else "?",
                       "threads": int(th.group(1)) if th else 1,
                       "ai": gf * 1e9 / bps, "gflops": gf})
    return peaks, bw, points


def roof_at(threads, table):
    """The roof for `threads` threads: the best figure measured with at most
    that many (more threads can always do what fewer do; on a busy machine
    the all-thread runs share the cores and come out lower)."""
    fit = [v for t, v in table.items() if t <= threads]
    return max(fit) if fit else None


def busy(peaks, bw):
    """Whether some all-thread roof was measured below the one-thread one."""
    return any(len(d) > 1 and d[max(d)] < d.get(1, 0) for d in list(peaks.values()) + list(bw.values()))


def summarise(peaks, bw, points):
    """Per point: the roof above it (the lower of the path's peak and the L2
    slope at its intensity, for its thread count), the share of that roof it
    reaches, which roof that is, and the DRAM roof for comparison."""
    lines = ["%-9s %-13s %-16s %3s %7s %8s %8s %7s  %-12s %9s" % (
        "isa", "operation", "backend", "thr", "FLOP/B", "GFLOP/s", "roof", "of roof", "bound by",
        "DRAM roof")]
    for p in sorted(points, key=lambda p: (isa_key(p["isa"]), OPS.index(p["op"]), p["cfg"])):
        peak = roof_at(p["threads"], peaks.get(p["isa"], {}))
        l2 = roof_at(p["threads"], bw.get("l2", {}))
        dram = roof_at(p["threads"], bw.get("dram", {}))
        roofs = ([(peak, "compute")] if peak else []) + ([(l2 * p["ai"], "L2 bandwidth")] if l2 else [])
        if not roofs:
            continue
        roof, what = min(roofs)
        lines.append("%-9s %-13s %-16s %3d %7.2f %8.2f %8.1f %6.1f%%  %-12s %9s" % (
            p["isa"], p["op"], p["cfg"], p["threads"], p["ai"], p["gflops"], roof,
            100.0 * p["gflops"] / roof, what,
            "%.1f" % min(dram * p["ai"], peak or 1e30) if dram else "-"))
    return "\n".join(lines)


def isa_key(isa):
    return (ISA_ORDER.index(isa) if isa in ISA_ORDER else len(ISA_ORDER), isa)


def panel(isa, peaks, bw, points, backends, tmp, key):
    """The gnuplot commands of one panel."""
    all_t = max([t for d in (peaks.get(isa, {}), bw.get("dram", {})) for t in d] or [1])
    cmds, plots = [], []
    roofs = [("dram", "DRAM"), ("l2", "L2")]
    for t, dash, width in ((all_t, 1, 2.5), (1, 2, 1.2)):
        p = roof_at(t, peaks.get(isa, {}))
        if p is None:
            continue
        for level, name in roofs:
            b = roof_at(t, bw.get(level, {}))
            if b is None:
                continue
            title = ("%s %.0f GB/s, peak %.0f GFLOP/s (%d thread%s)"
                     % (name, b, p, t, "" if t == 1 else "s")) if key else ""
            plots.append("(%g*x < %g ? %g*x : %g) with lines lw %g dt %d lc rgb '%s' title '%s'"
                         % (b, p, b, p, width, dash, "#555555" if level == "dram" else "#b22222",
                            title))
        if t != all_t and p == roof_at(all_t, peaks.get(isa, {})):
            continue  # the same roof: one label
        cmds.append('set label "%s peak %.0f GFLOP/s (%d thr)" at graph 0.98, first %g right '
                    'offset 0,0.6 font ",8"' % (isa, p, t, p))
    for i, be in enumerate(backends):
        pts = [p for p in points if p["isa"] == isa and p["backend"] == be]
        data = os.path.join(tmp, "pts_%s_%d.dat" % (isa, i))
        with open(data, "w") as f:
            for p in pts:
                f.write('%g %g "%s"\n' % (p["ai"], p["gflops"], p["op"]))
        colour = COLOURS[i % len(COLOURS)]
        if pts:
            plots.append("'%s' using 1:2 with points pt 7 ps 1.1 lc rgb '%s' title '%s'"
                         % (data, colour, be if key else ""))
            plots.append("'%s' using 1:2:3 with labels left offset 0.5,0.35 font ',7' "
                         "tc rgb '%s' notitle" % (data, colour))
        elif key:
            plots.append("NaN with points pt 7 lc rgb '%s' title '%s'" % (colour, be))
    if not plots:
        return ""
    return """set title "%s path"
%s
plot %s
unset label
""" % (isa, "\n".join(cmds), ", \\\n     ".join(plots))


def plot(peaks, bw, points, out, tmp, cpu):
    isas = sorted({p["isa"] for p in points}, key=isa_key)
    backends = sorted({p["backend"] for p in points}, key=lambda b: (b != "naive", b))
    lo = min(p["ai"] for p in points)
    hi = max(p["ai"] for p in points)
    ymax = max([v for d in peaks.values() for v in d.values()] + [p["gflops"] for p in points])
    ymin = min(p["gflops"] for p in points)
    note = (" (BUSY MACHINE: all-thread roofs measured below one-thread ones, one-thread"
            " figures used)" if busy(peaks, bw) else "")
    body = "".join(panel(isa, peaks, bw, points, backends, tmp, k == 0)
                   for k, isa in enumerate(isas))
    script = """set terminal pngcairo size %d,640 font "DejaVu Sans,10" noenhanced
set output '%s'
set multiplot layout 1,%d title "Roofline per ISA path, operations at batch 32 (cnn_bench; %s): solid roofs all threads, dashed one thread%s"
set logscale xy
set xrange [%g:%g]
set yrange [%g:%g]
set samples 400
set grid lc rgb "#dddddd"
set xlabel 'arithmetic intensity (FLOP per byte, minimum traffic)'
set ylabel 'GFLOP/s'
set key bottom right font ",8" spacing 1.0 samplen 2 opaque
%s
unset multiplot
""" % (560 * len(isas) + 80, out, len(isas), cpu.replace('"', "'"), note, lo / 3, hi * 4, ymin / 3,
       ymax * 3, body)
    path = os.path.join(tmp, "roofline.gp")
    with open(path, "w") as f:
        f.write(script)
    subprocess.run(["gnuplot", path], check=True, cwd=tmp)


def main(argv):
    ap = argparse.ArgumentParser(prog="tools/plot roofline",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--bench", action="append", help="benchmark JSON (default logs/bench_roofline.json)")
    ap.add_argument("--out", default="docs/roofline.png")
    ap.add_argument("--measure", action="store_true", help="run cnn_bench first, into --bench")
    ap.add_argument("--build", default="build-bench", help="build directory for --measure")
    args = ap.parse_args(argv)
    paths = args.bench or ["logs/bench_roofline.json"]
    if args.measure:
        measure(paths[0], args.build)
    try:
        peaks, bw, points = load(paths)
    except (OSError, ValueError) as e:
        print("plot roofline: cannot read %s: %s (run tools/plot roofline --measure)"
              % (", ".join(paths), e), file=sys.stderr)
        return 1
    missing = [what for what, ok in (("operations at batch 32", points), ("fma_peak", peaks),
                                     ("bandwidth", bw)) if not ok]
    if missing:
        print("plot roofline: %s holds no %s (run tools/plot roofline --measure)"
              % (", ".join(paths), " / ".join(missing)), file=sys.stderr)
        return 1
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_table import cpu_model  # noqa: E402
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        plot(peaks, bw, points, out, tmp, cpu_model())
    if busy(peaks, bw):
        print("plot roofline: some all-thread roofs were measured below the one-thread ones (a busy"
              " machine); the one-thread figures stand in for them", file=sys.stderr)
    print(summarise(peaks, bw, points))
    print("plot: wrote %s" % os.path.relpath(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
