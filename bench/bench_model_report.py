#!/usr/bin/python3
"""Joins bench/bench_model.sh's per-process results into bench/results/model_<model>_w1a1.json and renders
bench/results/model_bench.md (python3 standard library only).

  bench_model_report.py model --model resnet20 --work DIR --rounds 5 --lbm F --fp32-checkpoint F --qat-checkpoint F
                              --info F --settings TEXT --load BEFORE AFTER --out FILE
  bench_model_report.py markdown --out FILE model_lenet5_w1a1.json model_resnet20_w1a1.json

Kinds (one process each, every round): runtime (`lowbit bench-model model.lbm`: the W1A1 model on the runtime),
pytorch (bench/pytorch_peer.py, fp32, eval mode, inference_mode), fp32_eval (lowbit's fp32 checkpoint, training
graph in eval mode), qat_eval (the W1A1 checkpoint, training graph in eval mode). A speed-up of the runtime over a
kind is that kind's median ms per batch divided by the runtime's, both from the same round; the reported figure is
the median over rounds (with the smallest and largest round). The CPU-time ratio (process CPU time per run, all
threads) is given beside it: on a shared machine it is the steadier figure at one thread.
Targets (issue 13): W1A1 ResNet-20 at batch 1, 1 thread: >= 10x PyTorch fp32 and >= 8x lowbit's fp32 eval; the
verdict is "met" when the median speed-up reaches the target, else "missed" with the factor still missing
(target / median).
"""
import argparse
import json
import os
import statistics
import sys

KINDS = ("runtime", "pytorch", "fp32_eval", "qat_eval")
CONFIGS = ((1, 1), (64, 2))
TARGETS = {"resnet20": {(1, 1): {"pytorch": 10.0, "fp32_eval": 8.0}}}


def load(path):
    with open(path) as f:
        return json.load(f)


def figures(kind, j):
    """median/p90/p99 ms per batch, cpu ms per run, runs, images/s of one process's output."""
    if kind == "pytorch":
        return {"median_ms": j["ms_median"], "p90_ms": j["ms_p90"], "p99_ms": j["ms_p99"],
                "cpu_ms_per_run": j["cpu_ms_per_run"], "runs": j["runs"], "images_per_s": j["images_per_s"]}
    r = j["results"][0]
    return {k: r[k] for k in ("median_ms", "p90_ms", "p99_ms", "cpu_ms_per_run", "runs", "images_per_s")}


def spread(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def cmd_model(a):
    rounds = []
    first = {}
    for r in range(1, a.rounds + 1):
        row = {}
        for b, t in CONFIGS:
            for k in KINDS:
                p = os.path.join(a.work, "r%d_%s_b%d_t%d_%s.json" % (r, a.model, b, t, k))
                j = load(p)
                first.setdefault((b, t, k), j)
                row["b%d_t%d_%s" % (b, t, k)] = figures(k, j)
        rounds.append(row)

    results = []
    for b, t in CONFIGS:
        key = "b%d_t%d_" % (b, t)
        entry = {"batch": b, "threads": t, "kinds": {}, "runtime_speedup": {}}
        for k in KINDS:
            entry["kinds"][k] = {
                "median_ms": spread([r[key + k]["median_ms"] for r in rounds]),
                "images_per_s": spread([r[key + k]["images_per_s"] for r in rounds]),
                "cpu_ms_per_run": spread([r[key + k]["cpu_ms_per_run"] for r in rounds]),
            }
        for k in KINDS[1:]:
            wall = [r[key + k]["median_ms"] / r[key + "runtime"]["median_ms"] for r in rounds]
            cpu = [r[key + k]["cpu_ms_per_run"] / r[key + "runtime"]["cpu_ms_per_run"] for r in rounds]
            s = {"wall": spread(wall), "cpu": spread(cpu)}
            target = TARGETS.get(a.model, {}).get((b, t), {}).get(k)
            if target:
                got = s["wall"]["median"]
                s["target"] = target
                s["verdict"] = "met" if got >= target else "missed (%.2fx short: %.2fx of %.0fx)" % (
                    target / got, got, target)
                s["rule"] = "met when the median over rounds of (kind median ms / runtime median ms) >= target"
            entry["runtime_speedup"][k] = s
        entry["runtime_arena_bytes"] = first[(b, t, "runtime")]["results"][0]["arena_bytes"]
        results.append(entry)

    rt = first[(1, 1, "runtime")]
    fp = first[(1, 1, "fp32_eval")]
    peer = first[(1, 1, "pytorch")]
    lbm_bytes = os.path.getsize(a.lbm)
    fp32_bytes = os.path.getsize(a.fp32_checkpoint)
    sizes = {
        "lbm_bytes": lbm_bytes,
        "fp32_checkpoint_bytes": fp32_bytes,
        "fp32_checkpoint_over_lbm": fp32_bytes / lbm_bytes,
        "fp32_parameter_bytes": fp["model"]["weight_bytes"],
        "fp32_parameters_over_lbm": fp["model"]["weight_bytes"] / lbm_bytes,
        "lbm_weight_bytes": rt["model"]["weight_bytes"],
        "qat_checkpoint_bytes": os.path.getsize(a.qat_checkpoint),
        "arena_bytes": {"batch%d" % e["batch"]: e["runtime_arena_bytes"] for e in results},
        "note": "fp32 checkpoint = the fp32 run's model.lbar (parameters and BatchNorm buffers, no optimizer state)",
    }
    with open(a.info) as f:
        info = [l.replace(a.work.rstrip("/") + "/", "") for l in f.read().splitlines()]  # no machine paths
    profile = {}
    for b, t in CONFIGS:
        p = os.path.join(a.perf_dir or "", "perf_%s_b%d_t%d.txt" % (a.model, b, t))
        if a.perf_dir and os.path.exists(p):
            with open(p) as f:
                rows = [l.split(None, 1) for l in f.read().splitlines() if l.strip()]
            # "12.34%  [.] symbol": percent of the runtime process's samples, symbol (templates shortened).
            profile["batch%d_threads%d" % (b, t)] = [
                {"percent": float(r[0].rstrip("%")), "symbol": r[1].replace("[.] ", "").replace("[k] ", "")[:140]}
                for r in rows if len(r) == 2 and r[0].endswith("%")]
    out = {
        "benchmark": "bench/bench_model.sh: W1A1 %s (BNN, first/last 8-bit) on 1x28x28 inputs" % a.model,
        "model": a.model,
        "input": rt["model"]["input"],
        "macs_per_image": rt["model"]["macs_per_image"],
        "machine": rt["machine"],
        "lowbit": rt["lowbit"],
        "pytorch": {k: peer[k] for k in ("torch_version", "torch_native", "torch_parallel_info") if k in peer},
        "settings": a.settings,
        "loadavg_before_after": [a.load[0], a.load[1]],
        "rounds": a.rounds,
        "results": results,
        "sizes": sizes,
        "lowbit_info": info,
        "runtime_profile": profile,
        "per_round": rounds,
    }
    text = json.dumps(out, indent=1) + "\n"
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, a.out)


def fmt_ms(s):
    return "%.3f" % s["median"]


def cmd_markdown(a):
    lines = ["# Deployed models: speed and size (bench/bench_model.sh)", ""]
    docs = [load(p) for p in a.files]
    if not docs:
        sys.exit("bench_model_report.py: no result files")
    d0 = docs[0]
    m = d0["machine"]
    peer = d0.get("pytorch", {})
    native = peer.get("torch_native", {})
    lines += [
        "Machine: %s, %s CPUs, lowbit ISA %s (LOWBIT_ISA %s), lowbit %s. PyTorch %s (ATen capability %s, BLAS %s)." % (
            m["cpu_model"], m["online_cpus"], m["isa"], m["lowbit_isa_env"], d0["lowbit"]["git_revision"],
            peer.get("torch_version", "?"), native.get("aten_cpu_capability", "?"),
            native.get("openblas_corename", "?")),
        "Settings: %s. Load average before / after timing: %s / %s." % (
            d0["settings"], d0["loadavg_before_after"][0], d0["loadavg_before_after"][1]),
        "",
        "Speed-up of the W1A1 model on the runtime = the other kind's median time per batch / the runtime's, in the "
        "same round; median over %d rounds [smallest, largest round]; cpu = the same ratio of process CPU time per "
        "run. Kinds: PyTorch fp32 (eval, inference_mode), lowbit fp32 eval (fp32 checkpoint, training graph in eval "
        "mode), lowbit QAT eval (the W1A1 checkpoint, training graph in eval mode)." % d0["rounds"],
        "",
        "| model | batch | threads | runtime ms | runtime images/s | vs PyTorch fp32 | vs lowbit fp32 eval | "
        "vs lowbit QAT eval | PyTorch images/s | QAT eval images/s |",
        "| :-- | --: | --: | --: | --: | --: | --: | --: | --: | --: |",
    ]
    verdicts = []
    for d in docs:
        for e in d["results"]:
            sp = e["runtime_speedup"]

            def cell(k):
                s = sp[k]
                return "%.2fx [%.2f, %.2f] (cpu %.2fx)" % (s["wall"]["median"], s["wall"]["min"], s["wall"]["max"],
                                                         s["cpu"]["median"])

            k = e["kinds"]
            lines.append("| %s W1A1 | %d | %d | %s | %.0f | %s | %s | %s | %.0f | %.0f |" % (
                d["model"], e["batch"], e["threads"], fmt_ms(k["runtime"]["median_ms"]),
                k["runtime"]["images_per_s"]["median"], cell("pytorch"), cell("fp32_eval"), cell("qat_eval"),
                k["pytorch"]["images_per_s"]["median"], k["qat_eval"]["images_per_s"]["median"]))
            for kind, s in sp.items():
                if "verdict" in s:
                    verdicts.append("- %s W1A1, batch %d, %d thread(s), vs %s: target >= %.0fx, median %.2fx: **%s**" % (
                        d["model"], e["batch"], e["threads"], kind, s["target"], s["wall"]["median"], s["verdict"]))
    lines += ["", "Median ms per batch of each kind (over rounds):", "",
              "| model | batch | threads | runtime | PyTorch fp32 | lowbit fp32 eval | lowbit QAT eval |",
              "| :-- | --: | --: | --: | --: | --: | --: |"]
    for d in docs:
        for e in d["results"]:
            k = e["kinds"]
            lines.append("| %s | %d | %d | %s | %s | %s | %s |" % (
                d["model"], e["batch"], e["threads"], fmt_ms(k["runtime"]["median_ms"]), fmt_ms(k["pytorch"]["median_ms"]),
                fmt_ms(k["fp32_eval"]["median_ms"]), fmt_ms(k["qat_eval"]["median_ms"])))
    lines += ["", "Targets (rule: met when the median over rounds reaches the target):", ""] + verdicts
    lines += ["", "Sizes:", "",
              "| model | .lbm bytes | fp32 checkpoint bytes | ratio | fp32 parameter bytes | ratio | arena bytes batch 1 | "
              "arena bytes batch 64 | MACs / image |",
              "| :-- | --: | --: | --: | --: | --: | --: | --: | --: |"]
    for d in docs:
        s = d["sizes"]
        lines.append("| %s W1A1 | %d | %d | %.1fx | %d | %.1fx | %d | %d | %d |" % (
            d["model"], s["lbm_bytes"], s["fp32_checkpoint_bytes"], s["fp32_checkpoint_over_lbm"],
            s["fp32_parameter_bytes"], s["fp32_parameters_over_lbm"], s["arena_bytes"]["batch1"],
            s["arena_bytes"]["batch64"], d["macs_per_image"]))
    lines += ["", "fp32 checkpoint = the fp32 run's model.lbar (parameters and BatchNorm buffers, no optimizer state); "
              "fp32 parameter bytes = 4 x the parameter count.", ""]
    for d in docs:
        for cfg, rows in d.get("runtime_profile", {}).items():
            lines += ["", "Where the runtime's time goes, %s W1A1, %s (perf, top symbols):" % (
                d["model"], cfg.replace("batch", "batch ").replace("_threads", ", threads ")), ""]
            lines += ["    %6.2f%%  %s" % (r["percent"], r["symbol"]) for r in rows[:12]]
    text = "\n".join(lines)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, a.out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("model")
    m.add_argument("--model", required=True)
    m.add_argument("--work", required=True)
    m.add_argument("--rounds", type=int, required=True)
    m.add_argument("--lbm", required=True)
    m.add_argument("--fp32-checkpoint", required=True)
    m.add_argument("--qat-checkpoint", required=True)
    m.add_argument("--info", required=True)
    m.add_argument("--settings", default="")
    m.add_argument("--perf-dir", default="")
    m.add_argument("--load", nargs=2, default=["?", "?"])
    m.add_argument("--out", required=True)
    md = sub.add_parser("markdown")
    md.add_argument("--out", required=True)
    md.add_argument("files", nargs="+")
    a = ap.parse_args()
    cmd_model(a) if a.cmd == "model" else cmd_markdown(a)


if __name__ == "__main__":
    main()
