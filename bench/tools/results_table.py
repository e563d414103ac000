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

Fair peers only: a "x <peer>" column is refused, with the reason printed instead, for a peer that is missing
from the run (its library not linked: scripts/setup.sh --peers installs them) or that ran below 60 % of its
ceiling at 1024^3 at that thread count (fp32 FMA for OpenBLAS / Eigen, VNNI for oneDNN's int8 GEMM): such a
baseline inflates every ratio. The check is per thread count; cells of a thread count the peer failed are blank.
A last section checks the kernels issue's ratio targets against the fair peers.
"""
import argparse
import json
import os
import re
import sys

TIME_SCALE = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}

# A peer baseline must reach this share of its ceiling at 1024^3 (same thread count) to be compared against.
FAIR_PCT = 60.0
CUBE = {"M": "1024", "N": "1024", "K": "1024"}
# peer column (function name without BM_peer_) -> (library as in the JSON context "peers", the peer function
# whose 1024^3 rate qualifies it, ceiling kind of that rate)
PEER_LIBRARY = {
    "openblas_sgemm": ("openblas", "BM_peer_openblas_sgemm", "fp32_fma"),
    "openblas_sgemv": ("openblas", "BM_peer_openblas_sgemm", "fp32_fma"),
    "openblas_conv": ("openblas", "BM_peer_openblas_sgemm", "fp32_fma"),
    "im2col_sgemm_conv": ("openblas", "BM_peer_openblas_sgemm", "fp32_fma"),
    "eigen_sgemm": ("eigen", "BM_peer_eigen_sgemm", "fp32_fma"),
    "dnnl_u8s8s32": ("dnnl", "BM_peer_dnnl_u8s8s32", "int8_vnni"),
    "dnnl_gemv_s8u8s32": ("dnnl", "BM_peer_dnnl_u8s8s32", "int8_vnni"),
}
LIBRARY_NAME = {"openblas": "OpenBLAS", "eigen": "Eigen (-march=native)", "dnnl": "oneDNN"}
# The peers each family is meant to be compared with (a missing one is reported, not silently dropped).
EXPECTED_PEERS = {
    "bench_bgemm": ["openblas_sgemm", "eigen_sgemm"],
    "bench_bconv2d": ["openblas_conv"],
    "bench_qgemm": ["dnnl_u8s8s32", "openblas_sgemm"],
    "bench_tgemm": ["dnnl_u8s8s32", "openblas_sgemm"],
    "bench_bitserial": ["dnnl_u8s8s32", "openblas_sgemm"],
}


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


def arg_dict(args):
    return dict(a.split(":", 1) for a in args.split("/") if ":" in a)


def peer_identity(ctx):
    """One line naming what each linked peer ran as (corename, SIMD, ISA), from the JSON context."""
    bits = []
    if ctx.get("openblas_corename"):
        bits.append("OpenBLAS corename %s (OPENBLAS_CORETYPE %s in the process)" % (
            ctx["openblas_corename"], ctx.get("openblas_coretype_env", "?")))
    if ctx.get("eigen_simd"):
        bits.append("Eigen SIMD %s" % ctx["eigen_simd"])
    if ctx.get("dnnl_version"):
        bits.append("oneDNN %s ISA %s (ONEDNN_MAX_CPU_ISA %s)" % (
            ctx["dnnl_version"], ctx.get("dnnl_effective_isa", "?"), ctx.get("dnnl_max_cpu_isa_env", "?")))
    return "; ".join(bits)


class FairPeers:
    """Which peer may be compared against at which thread count: the peer's 1024^3 rate as a share of its ceiling,
    taken from the same family's run when it has one, else from any other file (bench_peers first)."""

    def __init__(self, families, ceilings):
        self.families = families  # name -> (ctx, rows)
        self.ceilings = ceilings  # kind -> {threads(str): best}

    def cube_pct(self, family, ref_func, kind):
        order = [family, "bench_peers"] + sorted(self.families)
        out = {}
        for fam in order:
            if fam not in self.families:
                continue
            for r in self.families[fam][1]:
                a = arg_dict(r["args"])
                if r["func"] != ref_func or any(a.get(k) != v for k, v in CUBE.items()) or not r.get("gops"):
                    continue
                t = a.get("threads", "1")
                if t in out:
                    continue
                ceil = self.ceilings.get(kind, {}).get(t)
                pct = 100.0 * r["gops"] / ceil if ceil else r.get("pct")
                out[t] = (pct, r["gops"], ceil, fam)
        return out

    def verdict(self, family, ctx, peer, present):
        """-> (ok_threads: set of thread strings, reasons: list of str)."""
        lib, ref_func, kind = PEER_LIBRARY.get(peer, (None, None, None))
        libname = LIBRARY_NAME.get(lib, peer)
        if not present:
            linked = ctx.get("peers", "")
            why = ("%s is not linked in this build (install the peers with `scripts/setup.sh --peers`, "
                   "reconfigure and rebuild)" % libname) if lib and lib not in linked.split(",") else \
                  "no %s rows in this run" % peer
            return set(), ["`x %s` not printed: %s." % (peer, why)]
        if not lib:
            return None, []  # a peer this tool does not know: no gate
        pcts = self.cube_pct(family, ref_func, kind)
        if not pcts:
            return set(), ["`x %s` not printed: no 1024^3 run of %s to check that %s runs at its best." % (
                peer, ref_func[3:], libname)]
        ok, reasons = set(), []
        for t, (pct, gops, ceil, fam) in sorted(pcts.items()):
            if pct is not None and pct >= FAIR_PCT:
                ok.add(t)
            else:
                reasons.append("`x %s` at %s thread(s) not printed: %s ran at %s %% of the %s ceiling at 1024^3 "
                               "(%s of %s GOPS, %s) < %d %%: not a fair baseline." % (
                                   peer, t, libname, fmt_num(pct, 2), kind, fmt_num(gops),
                                   fmt_num(ceil) if ceil else "?", fam, FAIR_PCT))
        return ok, reasons


def family_table(name, ctx, rows, fair):
    out = ["## %s" % name, "", machine_line(ctx), ""]
    ident = peer_identity(ctx)
    if ident:
        out += ["Peers: " + ident + ".", ""]
    peers = []
    for r in rows:
        if r["func"].startswith("BM_peer_") and r["func"] not in peers:
            peers.append(r["func"])
    # Ratios are printed for the family's own kernels; a table of peers only compares the peers with each other.
    only_peers = all(r["func"].startswith("BM_peer_") for r in rows)
    present = [p[len("BM_peer_"):] for p in peers]
    notes = []
    allowed = {}  # peer func -> set of thread strings (None: no gate)
    for p in EXPECTED_PEERS.get(name, []):
        if p not in present:
            notes += fair.verdict(name, ctx, p, False)[1]
    for p in peers:
        ok, why = fair.verdict(name, ctx, p[len("BM_peer_"):], True)
        allowed[p] = ok
        notes += why
    shown = [p for p in peers if allowed[p] is None or allowed[p]]

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
    head += ["x " + p[len("BM_peer_"):] for p in shown]
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
        threads = arg_dict(args).get("threads", "1")
        for r in members:
            func = r["func"][3:] if r["func"].startswith("BM_") else r["func"]
            if r.get("error"):
                cells = [func, args, "error: " + r["error"], "", "", "", ""] + [""] * len(shown)
            else:
                cells = [func, args, r["label"], fmt_time(r.get("time")), fmt_num(r.get("gops")),
                         fmt_num(r.get("pct"), 2), fmt_num(r.get("cv"), 2)]
                for p in shown:
                    pg = peer_gops_for(p, args)
                    is_peer = r["func"].startswith("BM_peer_")
                    fair_here = allowed[p] is None or threads in allowed[p]
                    if r["func"] == p or (is_peer and not only_peers) or not pg or r.get("gops") is None \
                            or not fair_here:
                        cells.append("")
                    else:
                        cells.append("%.2f" % (r["gops"] / pg))
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    out.append("")
    if notes:
        out += ["Peer columns left out:", ""] + ["- " + n for n in notes] + [""]
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
    native = (t.get("torch") or {}).get("torch_native") or {}
    if native:
        out += ["PyTorch %s ran with ATen CPU capability %s, OpenBLAS corename %s (OPENBLAS_CORETYPE %s in the "
                "process), oneDNN (mkldnn) %s." % (
                    (t.get("torch") or {}).get("torch_version", "?"), native.get("aten_cpu_capability", "?"),
                    native.get("openblas_corename", "not OpenBLAS"), native.get("openblas_coretype_env", "?"),
                    "available" if native.get("mkldnn_available") else "not available"), ""]
    rows = t.get("rows", [])
    head = ["model", "input", "step", "batch", "threads", "lowbit ms", "PyTorch ms", "lowbit / PyTorch",
            "ratio of best reps", "lowbit peak MB", "PyTorch peak MB", "load before / after"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for r in rows:
        out.append("| " + " | ".join([
            str(r.get("model", "")), str(r.get("input", "")), str(r.get("step", "")), str(r.get("batch", "")),
            str(r.get("threads", "")), fmt_num(r.get("lowbit_ms")), fmt_num(r.get("torch_ms")),
            ("%.2f" % r["ratio"]) if r.get("ratio") else "",
            ("%.2f" % r["ratio_best"]) if r.get("ratio_best") else "", fmt_num(r.get("lowbit_peak_mb")),
            fmt_num(r.get("torch_peak_mb")),
            "%s / %s" % ((r.get("loadavg_before") or "?").split(" ")[0], (r.get("loadavg_after") or "?").split(" ")[0])]) + " |")
    out.append("")
    return out


def ceiling_map(path):
    """kind -> {threads (str): best} from ceilings.json (empty if missing)."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        c = json.load(f)
    return {k: {t: v.get("best") for t, v in e.get("threads", {}).items()}
            for k, e in c.get("ceilings", {}).items() if e.get("available", True)}


# The kernels issue's ratio targets against a peer: (what, family, kernel functions, peer function, argument
# filter, minimum ratio). Each is evaluated per thread count over every matching row (min..max shown).
TARGETS = [
    ("bgemm W1A1 at 1024^3 >= 16x OpenBLAS sgemm", "bench_bgemm",
     ["BM_bgemm_i32_avx512", "BM_bgemm_bits_avx512"], "BM_peer_openblas_sgemm", CUBE, 16.0),
    ("bgemm W1A1 at 1024^3 vs Eigen sgemm (information; research note: >= 15x the best fp32 peer)",
     "bench_bgemm", ["BM_bgemm_i32_avx512", "BM_bgemm_bits_avx512"], "BM_peer_eigen_sgemm", CUBE, 15.0),
    ("bgemm W1A1 at 64x1024x576 >= 12x OpenBLAS sgemm", "bench_bgemm",
     ["BM_bgemm_i32_avx512", "BM_bgemm_bits_avx512"], "BM_peer_openblas_sgemm",
     {"M": "64", "N": "1024", "K": "576"}, 12.0),
    ("bconv2d end to end (bits out) >= 8x OpenBLAS im2col+sgemm, ResNet-20 / VGG-small 3x3 layers",
     "bench_bconv2d", ["BM_bconv2d_bits_avx512"], "BM_peer_openblas_conv", {"k": "3"}, 8.0),
    ("bconv2d end to end (f32 out) >= 8x OpenBLAS im2col+sgemm, ResNet-20 / VGG-small 3x3 layers",
     "bench_bconv2d", ["BM_bconv2d_f32_avx512"], "BM_peer_openblas_conv", {"k": "3"}, 8.0),
    ("int2 x int8 GEMV 16384x8192 >= 2.5x oneDNN int8 GEMV", "bench_qgemm",
     ["BM_qgemm_i2s8_i32_avx512vnni", "BM_qgemm_i2u8_i32_avx512vnni"], "BM_peer_dnnl_u8s8s32",
     {"M": "16384", "N": "1", "K": "8192"}, 2.5),
    ("int4 x int8 GEMM (N = 512) >= 0.65x oneDNN u8s8s32", "bench_qgemm", ["BM_qgemm_i4u8_i32_avx512vnni"],
     "BM_peer_dnnl_u8s8s32", {"M": "4096", "N": "512", "K": "4096"}, 0.65),
    ("bit-serial W2A2 (N = 512) >= 0.9x oneDNN u8s8s32", "bench_bitserial",
     ["BM_bitserial_i32_avx512", "BM_bitserial_dorefa_f32_avx512"], "BM_peer_dnnl_u8s8s32",
     {"M": "4096", "N": "512", "K": "4096", "wbits": "2", "xbits": "2"}, 0.9),
]


def targets_table(families, fair, train_path):
    out = ["## Targets of the kernels issue against the fair peers", "",
           "Ratios GOPS(kernel) / GOPS(peer) in the same run, medians of the repetitions, min..max over the "
           "matching rows and kernel variants; a peer that failed the 60 %-of-ceiling check at that thread count "
           "gives no figure. Generated from the JSON files above.", ""]
    head = ["target", "threads", "ratio (min..max)", "rows", "met?"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for what, fam, kernels, peer, filt, need in TARGETS:
        if fam not in families:
            out.append("| %s | | | | no %s.json |" % (what, fam))
            continue
        ctx, rows = families[fam]
        if not any(r["func"] == peer for r in rows):
            out.append("| %s | | | | no %s in this run (see the family table) |" % (what, peer[len("BM_peer_"):]))
            continue
        ok, _ = fair.verdict(fam, ctx, peer[len("BM_peer_"):], True)
        peer_by_args = {r["args"]: r.get("gops") for r in rows if r["func"] == peer}
        by_t = {}
        for r in rows:
            a = arg_dict(r["args"])
            if r["func"] not in kernels or any(a.get(k) != v for k, v in filt.items()) or not r.get("gops"):
                continue
            pargs = "/".join(x for x in r["args"].split("/") if x.split(":", 1)[0] not in ("wbits", "xbits"))
            pg = peer_by_args.get(r["args"]) or peer_by_args.get(pargs)
            if pg:
                by_t.setdefault(a.get("threads", "1"), []).append(r["gops"] / pg)
        if not by_t:
            out.append("| %s | | | | no matching rows |" % what)
        for t in sorted(by_t):
            v = by_t[t]
            if ok is not None and t not in ok:
                out.append("| %s | %s | | %d | no fair peer figure (see the family table) |" % (what, t, len(v)))
                continue
            met = "met" if min(v) >= need else "**not met** (min %.2fx < %gx)" % (min(v), need)
            out.append("| %s | %s | %.2f..%.2f | %d | %s |" % (what, t, min(v), max(v), len(v), met))
    if os.path.exists(train_path):
        with open(train_path) as f:
            tr = json.load(f)
        for r in tr.get("rows", []):
            if r.get("model") == "resnet20" and r.get("step") == "train" and r.get("ratio"):
                met = "met" if r["ratio"] <= 1.0 else "**not met** (%.2fx > 1.0x)" % r["ratio"]
                out.append("| ResNet-20 fp32 training step <= 1.0x PyTorch time (foundation issue) | %s | %.2f "
                           "| 1 | %s |" % (r["threads"], r["ratio"], met))
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
             "kernels count one MAC per bit of XOR+popcount. `%% ceiling` is relative to this machine's measured "
             "peak of the matching kind at the same thread count (table below). `x <peer>` = GOPS of the row / "
             "GOPS of that same-run baseline at the same shape and threads (the peer's arguments must all match "
             "the row's); a peer column is printed only for a peer that ran at >= %d %% of its ceiling at "
             "1024^3 (fp32 FMA for OpenBLAS and Eigen, VNNI for oneDNN int8), otherwise the table says why. "
             "Times and GOPS are medians over the repetitions; cv %% is the run-to-run coefficient of variation "
             "of the time; the load average before and after each program is in its JSON context." % FAIR_PCT,
             ""]
    ceil = os.path.join(res, "ceilings.json")
    if os.path.exists(ceil):
        lines += ceilings_table(ceil)
    families = {}
    files = sorted(f for f in os.listdir(res) if f.endswith(".json") and f.startswith("bench_"))
    for f in files:
        try:
            ctx, rows = load_family(os.path.join(res, f))
        except (ValueError, KeyError) as e:
            print("results_table.py: skipping %s: %s" % (f, e), file=sys.stderr)
            continue
        if rows:
            families[re.sub(r"\.json$", "", f)] = (ctx, rows)
    fair = FairPeers(families, ceiling_map(ceil))
    for name in sorted(families):
        lines += family_table(name, families[name][0], families[name][1], fair)
    tr = os.path.join(res, "train_step.json")
    if os.path.exists(tr):
        lines += train_table(tr)
    lines += targets_table(families, fair, tr)
    text = "\n".join(lines) + "\n"
    out = a.out or os.path.join(res, "README.md")
    if out == "-":
        sys.stdout.write(text)
    else:
        with open(out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
