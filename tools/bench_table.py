#!/usr/bin/env python3
"""Markdown table from the Google Benchmark JSON of bench/ops_bench.cpp.

One row per operation, one column per backend configuration (backend, or
backend@isa for a non-default ISA path), in the order the suite ran them
with naive first: the median real time per call in µs at the chosen batch
size and, in parentheses, the speed-up over naive. A last row gives the
whole training step in GFLOP/s (dense-equivalent counts, kernels/flops.h)
and, when the JSON holds an fma_peak benchmark, its share of that peak.

    tools/bench_table.py logs/bench_ops.json [--batch 32]
"""
import argparse
import json
import os
import re
import sys

UNIT_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
# Row order: the order of a training step (bench/ops_bench.cpp); an
# operation not listed here goes last.
OPS = ["conv_fwd", "pool_fwd", "fc_fwd", "softmax_xent", "fc_bwd", "pool_bwd", "conv_bwd",
       "sgd_update", "forward_train", "forward_infer", "loss_grad", "backward", "update",
       "train_step"]


def order_ops(ops):
    return sorted(ops, key=lambda o: (OPS.index(o) if o in OPS else len(OPS), o))


def order_cfgs(cfgs):
    """naive first, then each backend with its other ISA paths after it."""
    return sorted(cfgs, key=lambda c: (c != "naive", c.split("@")[0], "@" in c, c))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def pick(benchmarks):
    """Median aggregates when the run had repetitions, else the plain runs."""
    medians = [b for b in benchmarks if b.get("aggregate_name") == "median"]
    if medians:
        return medians, "median of %d" % max(int(b.get("repetitions", 1)) for b in medians)
    return [b for b in benchmarks if b.get("run_type", "iteration") == "iteration"], "single run"


def gflops_of(b):
    """A peak benchmark's rate in GFLOP/s, whatever its counter is called."""
    best = 0.0
    for k, v in b.items():
        if isinstance(v, (int, float)) and "flop" in k.lower():
            best = max(best, v / 1e9 if v > 1e6 else v)  # raw FLOP/s or GFLOP/s
    return best


def peak_for(peaks, threads):
    """Best peak measured with `threads` threads, else the best of all."""
    same = [v for k, v in peaks.items() if re.search(r"threads:%d(/|$)" % threads, k)]
    return max(same) if same else max(peaks.values(), default=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json")
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()
    with open(args.json) as f:
        data = json.load(f)
    runs, how = pick(data.get("benchmarks", []))
    ops, cfgs, cell, label, gf, peaks = [], [], {}, {}, {}, {}
    data_kind = set()  # "mnist" or "synthetic" (bench/ops_bench.cpp)
    # A peak is the best repetition: other load can only lower it.
    for b in data.get("benchmarks", []):
        rn = b.get("run_name", b["name"])
        if rn.startswith("fma_peak") and b.get("run_type", "iteration") == "iteration":
            peaks[rn] = max(peaks.get(rn, 0.0), gflops_of(b))

    name_re = re.compile(r"^([a-z_]+)/([^/]+)/(\d+)/real_time$")
    for b in runs:
        run_name = b.get("run_name", b["name"])
        if run_name.startswith("fma_peak"):
            if run_name not in peaks:  # no single runs in the JSON: the median
                peaks[run_name] = gflops_of(b)
            continue
        m = name_re.match(run_name)
        if not m or int(m.group(3)) != args.batch or b.get("error_occurred"):
            continue
        op, cfg = m.group(1), m.group(2)
        if op not in ops:
            ops.append(op)
        if cfg not in cfgs:
            cfgs.append(cfg)
        cell[op, cfg] = b["real_time"] * UNIT_US[b.get("time_unit", "ns")]
        lab = b.get("label", "")
        m_data = re.search(r"\s*data=(\S+)", lab)
        if m_data:
            data_kind.add(m_data.group(1))
            lab = lab.replace(m_data.group(0), "")
        label.setdefault(cfg, lab)
        gf[op, cfg] = b.get("GFLOP/s", 0.0)
    if not cell:
        sys.exit("bench_table: no per-operation results at batch %d in %s" % (args.batch, args.json))
    ops, cfgs = order_ops(ops), order_cfgs(cfgs)

    ctx = data.get("context", {})
    print("Per-operation time at batch %d: µs per call (%s, real time), speed-up over naive in "
          "parentheses." % (args.batch, how))
    print("Machine: %s, %s logical CPUs; %s. Input images: %s." % (
        cpu_model(), ctx.get("num_cpus", os.cpu_count()), ctx.get("date", ""),
        "/".join(sorted(data_kind)) or "unknown"))
    print()
    print("| operation | " + " | ".join(cfgs) + " |")
    print("| --- |" + " ---: |" * len(cfgs))
    print("| *(ISA, threads)* | " + " | ".join(label.get(c, "") for c in cfgs) + " |")
    for op in ops:
        row = []
        for c in cfgs:
            t = cell.get((op, c))
            if t is None:
                row.append("–")
                continue
            base = cell.get((op, "naive"))
            s = "%.1f" % t if t >= 10 else "%.2f" % t
            if base and c != "naive":
                s += " (%.1f×)" % (base / t)
            row.append(s)
        print("| %s | %s |" % (op, " | ".join(row)))
    if any(("train_step", c) in gf for c in cfgs):
        row = []
        for c in cfgs:
            g = gf.get(("train_step", c))
            m = re.search(r"threads=(\d+)", label.get(c, ""))
            peak = peak_for(peaks, int(m.group(1)) if m else 0)
            if g is None:
                row.append("–")
            elif peak:
                row.append("%.1f (%.1f%%)" % (g, 100 * g / peak))
            else:
                row.append("%.1f" % g)
        what = "train_step GFLOP/s" + (" (% of peak)" if peaks else "")
        print("| %s | %s |" % (what, " | ".join(row)))
    if peaks:
        print()
        print("fp32 FMA peak (bench/peak_bench.cpp): " +
              ", ".join("%s = %.1f GFLOP/s" % kv for kv in peaks.items()) +
              "; each percentage is of the best peak at the backend's thread count.")


if __name__ == "__main__":
    main()
