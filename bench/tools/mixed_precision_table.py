#!/usr/bin/python3
"""Markdown table of bench_mixed_precision's JSON: each found mixed config against the uniform config nearest in size.

Usage: mixed_precision_table.py bench/results/bench_mixed_precision.json > bench/results/bench_mixed_precision.md

Per benchmark the median over repetitions is used (the "median" aggregate; the single run without repetitions).
A found config (ccq_* / dfq_*) is paired with the uniform config (uniform_w<b>_a<a>) of the same model, activation
bits and thread count whose packed size (size_bytes counter) is nearest to it; a tie goes to the smaller uniform
model. The ratio is time(uniform) / time(found): above 1 the mixed config is faster than the uniform one of about
its size. A tie in size (W3 and W4 share the 4-bit container) goes to the smaller model, then the fewer bits.
python3 standard library only.
"""
import json
import re
import sys

TIME_SCALE = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}  # -> milliseconds
NAME = re.compile(r"BM_forward/(?P<model>[^/]+)/(?P<config>[^/]+)/threads:(?P<threads>\d+)")


def medians(doc):
    rows, singles = {}, {}
    for b in doc["benchmarks"]:
        m = NAME.match(b.get("run_name", b["name"]))
        if not m:
            continue
        key = (m["model"], m["config"], int(m["threads"]))
        row = {"ms": b["real_time"] * TIME_SCALE[b.get("time_unit", "ns")], "size": b["size_bytes"],
               "bits": b["avg_wbits"], "bitops": b["bitops"]}
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                rows[key] = row
        else:
            singles.setdefault(key, row)
    for k, v in singles.items():
        rows.setdefault(k, v)
    return rows


def main(path):
    doc = json.load(open(path))
    rows = medians(doc)
    ctx = doc["context"]
    print("# Mixed-precision configs found by CCQ / DFQ vs uniform DoReFa of the nearest size: inference speed\n")
    print(f"Machine: {ctx.get('cpu_model', '?')}, {ctx.get('num_cpus', '?')} CPUs, ISA {ctx.get('lowbit_isa', '?')}, "
          f"load average at start {', '.join(f'{x:.2f}' for x in ctx.get('load_avg', []))}; revision "
          f"{ctx.get('git_revision', '?')}; configs of seed {ctx.get('mixed_seed', '?')} of the committed grid results.")
    print("Medians over repetitions of one forward pass (LeNet-5: batch 64, VGG-small: batch 16), eval mode, on the "
          "layers' kernels. Ratio = time(uniform) / time(found); above 1 the mixed config is faster.\n")
    print("| model | threads | found config | avg W bits | size (B) | GBitOPs/img | ms | nearest uniform | size (B) | "
          "GBitOPs/img | ms | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    ratios = []
    for (model, config, threads), r in sorted(rows.items()):
        if config.startswith("uniform_"):
            continue
        abits = re.search(r"_a(\d+)", config).group(1)
        uni = [(k, v) for k, v in rows.items()
               if k[0] == model and k[2] == threads and k[1].startswith("uniform_") and k[1].endswith("_a" + abits)]
        if not uni:
            continue
        (uk, u) = min(uni, key=lambda kv: (abs(kv[1]["size"] - r["size"]), kv[1]["size"], kv[1]["bits"]))
        print(f"| {model} | {threads} | {config} | {r['bits']:.2f} | {r['size']:.0f} | {r['bitops'] / 1e9:.4f} | "
              f"{r['ms']:.2f} | {uk[1]} | {u['size']:.0f} | {u['bitops'] / 1e9:.4f} | {u['ms']:.2f} | "
              f"{u['ms'] / r['ms']:.2f} |")
        ratios.append(u["ms"] / r["ms"])
    if ratios:
        ratios.sort()
        mid = ratios[len(ratios) // 2] if len(ratios) % 2 else 0.5 * (ratios[len(ratios) // 2 - 1] + ratios[len(ratios) // 2])
        print(f"\n{len(ratios)} pairs: ratio from {ratios[0]:.2f} to {ratios[-1]:.2f}, median {mid:.2f}.")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: mixed_precision_table.py BENCH_JSON")
    main(sys.argv[1])
