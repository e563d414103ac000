#!/usr/bin/python3
"""Join bench_train_step and pytorch_peer.py results into bench/results/train_step.json (stdlib only).

Input: a directory with pairs lowbit_<tag>.json (Google Benchmark JSON of one configuration, with repetitions)
and torch_<tag>.json (pytorch_peer.py output), tag = <model>_<step>_b<batch>_t<threads>. Output rows:
median ms/step of each, ratio = lowbit / PyTorch (< 1 means lowbit is faster), peak RSS of each process.
"""
import argparse
import datetime
import json
import os
import re
import sys

SCALE_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
INPUTS = {"lenet5": "1x28x28 (Fashion-MNIST shape)", "resnet20": "3x32x32 (CIFAR-10 shape)"}


def lowbit_row(path):
    with open(path) as f:
        data = json.load(f)
    its = [b for b in data.get("benchmarks", []) if b.get("run_type") == "iteration" and not b.get("error_occurred")]
    errs = [b for b in data.get("benchmarks", []) if b.get("error_occurred")]
    if errs:
        return {"error": errs[0].get("error_message", "error")}, data.get("context", {})
    med = [b for b in data.get("benchmarks", []) if b.get("aggregate_name") == "median"]
    if med:
        b = med[0]
        ms = b["real_time"] * SCALE_MS.get(b.get("time_unit", "ns"), 1e-6)
    elif its:
        v = sorted(b["real_time"] * SCALE_MS.get(b.get("time_unit", "ns"), 1e-6) for b in its)
        ms = v[len(v) // 2]
    else:
        return {"error": "no result"}, data.get("context", {})
    all_ms = [b["real_time"] * SCALE_MS.get(b.get("time_unit", "ns"), 1e-6) for b in its]
    peak = max((b.get("peak_rss_MB", 0.0) for b in its), default=0.0)
    before = min((b.get("rss_before_MB", 0.0) for b in its), default=0.0)
    return {"ms": ms, "ms_all": all_ms, "peak_mb": peak, "rss_before_mb": before,
            "label": its[0].get("label", "") if its else ""}, data.get("context", {})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--priority", default="")
    a = ap.parse_args()
    rows, ctx = [], {}
    torch_info = {}
    for f in sorted(os.listdir(a.dir)):
        m = re.match(r"lowbit_(\w+?)_(train|infer)_b(\d+)_t(\d+)\.json$", f)
        if not m:
            continue
        model, step, batch, threads = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
        tag = f[len("lowbit_"):]
        lb, c = lowbit_row(os.path.join(a.dir, f))
        ctx = ctx or c
        tpath = os.path.join(a.dir, "torch_" + tag)
        tr = {}
        if os.path.exists(tpath):
            try:
                with open(tpath) as fh:
                    tr = json.load(fh)
            except ValueError as e:
                tr = {"error": str(e)}
        torch_info = torch_info or {k: tr.get(k) for k in ("torch_version", "torch_parallel_info", "torch_native")}
        row = {"model": model, "input": INPUTS.get(model, ""), "step": step, "batch": batch, "threads": threads,
               "lowbit_ms": lb.get("ms"), "torch_ms": tr.get("ms_median"),
               "lowbit_ms_all": lb.get("ms_all"), "torch_ms_all": tr.get("ms_all"),
               "lowbit_peak_mb": lb.get("peak_mb"), "torch_peak_mb": tr.get("peak_rss_mb"),
               "lowbit_rss_before_mb": lb.get("rss_before_mb"), "torch_rss_before_mb": tr.get("rss_before_mb"),
               "loadavg_before": c.get("loadavg_before"), "loadavg_after": tr.get("loadavg_after")}
        if lb.get("error"):
            row["lowbit_error"] = lb["error"]
        row["lowbit_ms_best"] = min(lb["ms_all"]) if lb.get("ms_all") else None
        row["torch_ms_best"] = tr.get("ms_min")
        if row["lowbit_ms"] and row["torch_ms"]:
            row["ratio"] = row["lowbit_ms"] / row["torch_ms"]
        if row["lowbit_ms_best"] and row["torch_ms_best"]:
            row["ratio_best"] = row["lowbit_ms_best"] / row["torch_ms_best"]
        rows.append(row)
    order = {"train": 0, "infer": 1}
    rows.sort(key=lambda r: (r["threads"], r["model"], order[r["step"]], r["batch"]))
    out = {
        "schema": "lowbit-train-step-1",
        "date_utc": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "note": ("ms per step = median over repetitions (Google Benchmark for lowbit, the same repetition scheme "
                 "in bench/pytorch_peer.py); ratio = lowbit_ms / torch_ms (< 1: lowbit faster); ratio_best = the "
                 "same with the fastest repetition of each (less sensitive to other jobs on a shared machine). "
                 "train = "
                 "forward + cross-entropy + backward + SGD(momentum 0.9, wd 5e-4) at batch 128; infer = eval "
                 "mode without autograd. Peak MB = VmHWM / ru_maxrss of a process that ran only that "
                 "configuration (PyTorch's includes ~200+ MB of its own libraries: see *_rss_before_mb). "
                 "Priority: %s." % (a.priority or "unknown")),
        "machine": {"cpu_model": ctx.get("cpu_model"), "lowbit_isa": ctx.get("lowbit_isa"),
                    "git_revision": ctx.get("git_revision"), "compiler": ctx.get("compiler"),
                    "num_cpus": ctx.get("num_cpus"), "mhz_per_cpu": ctx.get("mhz_per_cpu")},
        "torch": torch_info,
        "rows": rows,
    }
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    w = sys.stdout.write
    w("%-9s %-6s %5s %3s %10s %10s %7s %10s %9s %9s\n" % ("model", "step", "batch", "thr", "lowbit ms", "torch ms",
                                                        "ratio", "ratio_best", "lb MB", "torch MB"))
    for r in rows:
        w("%-9s %-6s %5d %3d %10s %10s %7s %10s %9s %9s\n" % (
            r["model"], r["step"], r["batch"], r["threads"],
            "%.3f" % r["lowbit_ms"] if r["lowbit_ms"] else r.get("lowbit_error", "-"),
            "%.3f" % r["torch_ms"] if r["torch_ms"] else "-",
            "%.2f" % r["ratio"] if r.get("ratio") else "-",
            "%.2f" % r["ratio_best"] if r.get("ratio_best") else "-",
            "%.0f" % r["lowbit_peak_mb"] if r["lowbit_peak_mb"] else "-",
            "%.0f" % r["torch_peak_mb"] if r["torch_peak_mb"] else "-"))
    w("wrote %s\n" % a.out)


if __name__ == "__main__":
    main()
