#!/usr/bin/env python3
"""Collects `lowbit train` run directories (their results.json) into one accuracy record:
   bench/tools/collect_accuracy.py [--notes FILE] OUT_STEM [LABEL=]RUN_DIR [[LABEL=]RUN_DIR ...]
(runs with the same label, model, dataset and epochs form one row; the label defaults to the model)
writes OUT_STEM.json (every run with its provenance, and mean ± sample std per model/dataset/epochs) and
OUT_STEM.md (the table, then the text of --notes FILE: targets, commands, recipe). Standard library only."""
import json, os, statistics, sys

def main():
    args = sys.argv[1:]
    notes = ""
    if args[:1] == ["--notes"] and len(args) > 1:
        try:
            notes = open(args[1]).read()
        except OSError as e:
            sys.exit(f"collect_accuracy: cannot read --notes {args[1]}: {e}")
        args = args[2:]
    if len(args) < 2:
        sys.exit(__doc__)
    stem, dirs = args[0], args[1:]
    runs = []
    for arg in dirs:
        label, d = arg.split("=", 1) if "=" in arg else ("", arg)
        path = os.path.join(d, "results.json")
        try:
            r = json.load(open(path))
        except (OSError, ValueError) as e:
            sys.exit(f"collect_accuracy: cannot read {path}: {e}")
        if "test" not in r:
            sys.exit(f"collect_accuracy: {path} has no final test result (unfinished run?)")
        runs.append({
            "cell": label or r["config"]["model"], "quant": r.get("quant"),
            "model": r["config"]["model"], "dataset": r["config"]["dataset"], "seed": r["seed"],
            "epochs": r["config"]["epochs"], "test_acc_pct": 100.0 * r["test"]["acc"],
            "wall_seconds": sum(e["seconds"] for e in r["epochs"]),
            "threads": r["build"]["threads"], "isa": r["build"]["isa"], "git_revision": r["build"]["git_revision"],
            "compiler": r["build"]["compiler"], "dataset_crc32": {k: v["crc32"] for k, v in r["dataset"].items() if isinstance(v, dict)},
            "config": r["config"], "run_dir": os.path.basename(os.path.normpath(d))})
    groups = {}
    for r in runs:
        groups.setdefault((r["cell"], r["model"], r["dataset"], r["epochs"]), []).append(r)
    summary = []
    for (cell, model, dataset, epochs), rs in groups.items():
        accs = [r["test_acc_pct"] for r in rs]
        summary.append({"cell": cell, "model": model, "dataset": dataset, "epochs": epochs, "seeds": [r["seed"] for r in rs],
                        "mean": statistics.mean(accs), "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                        "values": accs})
    json.dump({"schema": "lowbit-accuracy-1", "summary": summary, "runs": runs}, open(stem + ".json", "w"), indent=1)
    with open(stem + ".md", "w") as f:
        f.write("| cell | model | dataset | epochs | test top-1 % (mean ± std) | per seed | seeds |\n"
                "|---|---|---|---|---|---|---|\n")
        for s in summary:
            f.write(f"| {s['cell']} | {s['model']} | {s['dataset']} | {s['epochs']} | {s['mean']:.2f} ± {s['std']:.2f} | "
                    f"{', '.join(f'{v:.2f}' for v in s['values'])} | {', '.join(map(str, s['seeds']))} |\n")
        if notes:
            f.write("\n" + notes.rstrip("\n") + "\n")
    print(open(stem + ".md").read(), end="")

if __name__ == "__main__":
    main()
