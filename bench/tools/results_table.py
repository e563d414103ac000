#!/usr/bin/python3
"""Render lowbit's benchmark results as Markdown tables (python3 standard library only).

Reads, from --results (default bench/results):
  ceilings.json        written by bench_ceilings: this machine's peaks
  bench_<family>.json  Google Benchmark JSON of one program (scripts/bench.sh writes them, with repetitions)
  train_step.json      written by scripts/bench_train.sh: lowbit vs PyTorch training step (optional)
and writes --out (default bench/results/README.md): one table per family.

Per benchmark row the median over repetitions is shown (the "median" aggregate if the run has repetitions,
else the single run): time per call, GOPS, % of the machine's ceiling (pct_ceiling counter), the coefficient of
variation of the time over repetitions, and for every same-run baseline of that family (a benchmark whose
function name starts with BM_peer_) with the same argument string, the ratio GOPS(row) / GOPS(peer). Rows are
grouped by argument string (shape and threads) so that a kernel and its peers sit together.
"""
import argparse
import json
import os
import re
import sys

TIME_SCALE = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def fmt_time(seconds):
    if seconds is None:
        return ""
    if seconds >= 1.0:
        return "%.3g s" % seconds
    if seconds >= 1e-3:
        return "%.3g ms" % (seconds * 1e3)
    if seconds >= 1e-6:
        return "%.3g us" % (seconds * 1e6)
    return "%.3g ns" % (seconds * 1e9)


def fmt_num(x, digits=3):
    if x is None:
        return ""
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return "%.0f" % x
    return "%.*g" % (digits, x)


def split_name(run_name):
    """'BM_x/M:1/N:2/threads:1/real_time' -> ('BM_x', 'M:1/N:2/threads:1')."""
    parts = run_name.split("/")
    func = parts[0]
    args = [p for p in parts[1:] if p not in ("real_time", "manual_time") and not p.startswith("repeats:")
            and not p.startswith("min_time:") and not p.startswith("iterations:")]
    return func, "/".join(args)


def median(values):
    v = sorted(values)
    if not v:
        return None
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def load_family(path):
    """Returns (context, rows) where rows is an ordered list of dicts with the median figures."""
    with open(path) as f:
        data = json.load(f)
    ctx = data.get("context", {})
    per_run = {}  # run_name -> {"iterations": [...], "aggregates": {name: entry}}
    order = []
    for b in data.get("benchmarks", []):
        name = b.get("run_name", b.get("name", ""))
        if name not in per_run:
            per_run[name] = {"iterations": [], "aggregates": {}}
            order.append(name)
        if b.get("error_occurred"):
            per_run[name]["error"] = b.get("error_message", "error")
            continue
        if b.get("run_type") == "aggregate":
            per_run[name]["aggregates"][b.get("aggregate_name")] = b
        else:
            per_run[name]["iterations"].append(b)
    rows = []
    for name in order:
        r = per_run[name]
        func, args = split_name(name)
        row = {"func": func, "args": args, "error": r.get("error")}
        its = r["iterations"]
        med = r["aggregates"].get("median")
        src = med if med is not None else (its[0] if len(its) == 1 else None)
        if src is not None:
            scale = TIME_SCALE.get(src.get("time_unit", "ns"), 1e-9)
            row["time"] = src.get("real_time", 0.0) * scale
            row["gops"] = src.get("GOPS")
            row["pct"] = src.get("pct_ceiling")
        elif its:  # repetitions without aggregates: take the medians ourselves
            scale = TIME_SCALE.get(its[0].get("time_unit", "ns"), 1e-9)
            row["time"] = median([b.get("real_time", 0.0) for b in its]) * scale
            g = [b["GOPS"] for b in its if "GOPS" in b]
            p = [b["pct_ceiling"] for b in its if "pct_ceiling" in b]
            row["gops"] = median(g) if g else None
            row["pct"] = median(p) if p else None
        else:
            row["time"] = row["gops"] = row["pct"] = None
        mean = r["aggregates"].get("mean")
        sd = r["aggregates"].get("stddev")
        if mean and sd and mean.get("real_time"):
            row["cv"] = 100.0 * sd.get("real_time", 0.0) / mean["real_time"]
        elif len(its) > 1:
            t = [b.get("real_time", 0.0) for b in its]
            m = sum(t) / len(t)
            row["cv"] = 100.0 * (sum((x - m) ** 2 for x in t) / (len(t) - 1)) ** 0.5 / m if m else None
        else:
            row["cv"] = None
        row["reps"] = max(len(its), 1)
        lab = (med or (its[0] if its else {})).get("label", "")
        row["label"] = lab
        rows.append(row)
    return ctx, rows


def machine_line(ctx):
    bits = []
    for key, title in (("cpu_model", "CPU"), ("lowbit_isa", "ISA"), ("lowbit_isa_env", "LOWBIT_ISA"),
                       ("git_revision", "rev"), ("compiler", "compiler"), ("date", "date"),
                       ("priority", "priority"), ("loadavg_before", "load before")):
        if ctx.get(key):
            bits.append("%s: %s" % (title, ctx[key]))
    if ctx.get("host_name"):
        bits.insert(0, "host: %s" % ctx["host_name"])
    return "; ".join(bits)


def family_table(name, ctx, rows):
    out = ["## %s" % name, "", machine_line(ctx), ""]
    peers = []
    for r in rows:
        if r["func"].startswith("BM_peer_") and r["func"] not in peers:
            peers.append(r["func"])
    # Ratios are printed for the family's own kernels; a table of peers only compares the peers with each other.
    only_peers = all(r["func"].startswith("BM_peer_") for r in rows)
    def arg_dict(args):
        return dict(a.split(":", 1) for a in args.split("/") if ":" in a)

    peer_rows = [(r["func"], arg_dict(r["args"]), r.get("gops")) for r in rows if r["func"].startswith("BM_peer_")]

    def peer_gops_for(peer, args):
        # The peer row whose arguments are all present with equal values in the kernel row's arguments, so a
        # kernel with extra arguments (e.g. wbits/xbits of bit-serial) still pairs with the M/N/K/threads peer.
        mine = arg_dict(args)
        for func, pargs, g in peer_rows:
            if func == peer and pargs and all(mine.get(k) == v for k, v in pargs.items()):
                return g
        return None

    head = ["benchmark", "args (shape, threads)", "label", "time", "GOPS", "% ceiling", "cv %"]
    head += ["x " + p[len("BM_peer_"):] for p in peers]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    groups = []
    by_args = {}
    for r in rows:
        if r["args"] not in by_args:
            by_args[r["args"]] = []
            groups.append(r["args"])
        by_args[r["args"]].append(r)
    for args in groups:
        members = sorted(by_args[args], key=lambda r: r["func"].startswith("BM_peer_"))
        for r in members:
            func = r["func"][3:] if r["func"].startswith("BM_") else r["func"]
            if r.get("error"):
                cells = [func, args, "error: " + r["error"], "", "", "", ""] + [""] * len(peers)
            else:
                cells = [func, args, r["label"], fmt_time(r.get("time")), fmt_num(r.get("gops")),
                         fmt_num(r.get("pct"), 2), fmt_num(r.get("cv"), 2)]
                for p in peers:
                    pg = peer_gops_for(p, args)
                    is_peer = r["func"].startswith("BM_peer_")
                    if r["func"] == p or (is_peer and not only_peers) or not pg or r.get("gops") is None:
                        cells.append("")
                    else:
                        cells.append("%.2f" % (r["gops"] / pg))
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    out.append("")
    return out


def ceilings_table(path):
    with open(path) as f:
        c = json.load(f)
    m = c.get("machine", {})
    run = c.get("run", {})
    threads = [str(t) for t in run.get("threads", [1, 2])]
    out = ["## Machine ceilings (bench_ceilings)", "",
           "%s, %d CPUs, ISA %s; %s; measured %s at %s priority, load %s; rev %s" % (
               m.get("cpu_model", "?"), m.get("online_cpus", 0), m.get("lowbit_isa", "?"),
               m.get("cpu_flags_simd", ""), c.get("date_utc", "?"),
               "SCHED_FIFO" if run.get("realtime_priority") else "normal",
               run.get("loadavg_before", "?"), c.get("build", {}).get("git_revision", "?")),
           ""]
    head = ["ceiling", "unit"] + ["%s thr (best / median)" % t for t in threads] + ["inner loop"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    order = ["fp32_fma", "int8_vnni", "int8_avx2", "binary_xor_popcnt", "binary_avx2_lut", "read_l1", "read_l2",
             "read_l3", "dram_read"]
    kinds = c.get("ceilings", {})
    for kind in [k for k in order if k in kinds] + sorted(k for k in kinds if k not in order):
        e = kinds[kind]
        if not e.get("available", True):
            out.append("| %s | %s | %s |" % (kind, e.get("unit", ""), " | ".join(["skipped"] * len(threads) +
                                                                                [e.get("missing", "")])))
            continue
        cells = [kind, e.get("unit", "")]
        for t in threads:
            v = e.get("threads", {}).get(t)
            cells.append("%s / %s" % (fmt_num(v["best"], 4), fmt_num(v["median"], 4)) if v else "")
        cells.append(e.get("what", ""))
        out.append("| " + " | ".join(cells) + " |")
    out += ["", c.get("unit_convention", ""), ""]
    return out


def train_table(path):
    with open(path) as f:
        t = json.load(f)
    out = ["## train_step (lowbit vs PyTorch, same session)", "", t.get("note", ""), ""]
    rows = t.get("rows", [])
    head = ["model", "input", "step", "batch", "threads", "lowbit ms", "PyTorch ms", "lowbit / PyTorch",
            "ratio of best reps", "lowbit peak MB", "PyTorch peak MB"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for r in rows:
        out.append("| " + " | ".join([
            str(r.get("model", "")), str(r.get("input", "")), str(r.get("step", "")), str(r.get("batch", "")),
            str(r.get("threads", "")), fmt_num(r.get("lowbit_ms")), fmt_num(r.get("torch_ms")),
            ("%.2f" % r["ratio"]) if r.get("ratio") else "",
            ("%.2f" % r["ratio_best"]) if r.get("ratio_best") else "", fmt_num(r.get("lowbit_peak_mb")),
            fmt_num(r.get("torch_peak_mb"))]) + " |")
    out.append("")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--results", default=os.path.join(here, "..", "results"))
    ap.add_argument("--out", default=None, help="Markdown file (default <results>/README.md; '-' = stdout)")
    a = ap.parse_args()
    res = os.path.normpath(a.results)
    lines = ["# lowbit benchmark results", "",
             "Generated by `bench/tools/results_table.py` from the JSON files in this folder "
             "(`scripts/bench.sh` runs everything). Units: GOPS = 2*MACs/s/1e9 for every data type; binary "
             "kernels count one MAC per bit of XOR+popcount. `% ceiling` is relative to this machine's measured "
             "peak of the matching kind at the same thread count (table below). `x <peer>` = GOPS of the row / "
             "GOPS of that same-run baseline at the same shape and threads (the peer's arguments must all match the row's). Times and GOPS are medians over the "
             "repetitions; cv % is the run-to-run coefficient of variation of the time.", ""]
    ceil = os.path.join(res, "ceilings.json")
    if os.path.exists(ceil):
        lines += ceilings_table(ceil)
    files = sorted(f for f in os.listdir(res) if f.endswith(".json") and f.startswith("bench_"))
    for f in files:
        try:
            ctx, rows = load_family(os.path.join(res, f))
        except (ValueError, KeyError) as e:
            print("results_table.py: skipping %s: %s" % (f, e), file=sys.stderr)
            continue
        if rows:
            lines += family_table(re.sub(r"\.json$", "", f), ctx, rows)
    tr = os.path.join(res, "train_step.json")
    if os.path.exists(tr):
        lines += train_table(tr)
    text = "\n".join(lines) + "\n"
    out = a.out or os.path.join(res, "README.md")
    if out == "-":
        sys.stdout.write(text)
    else:
        with open(out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
