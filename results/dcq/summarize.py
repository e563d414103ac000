#!/usr/bin/env python3
"""Table of the DCQ grid (lab/grids/dcq.json) from the runs of results/dcq/run_lenet.sh.

  python3 results/dcq/summarize.py [--out OUT_DIR] RUNS_DIR...

Writes table.md, table.csv, results.json (and plot.svg when gnuplot is installed) to OUT_DIR (default
results/dcq). Every cell x seed of the grid is looked up, in the order the directories are given, as
RUNS_DIR/<cell id>_seed<S>/results.json (run_lenet.sh's layout; teachers as teacher_<teacher id>_seed<S>) or
RUNS_DIR/runs/<cell id>_seed<S>/results.json (a `lowbit reproduce dcq --out RUNS_DIR` grid; teachers as
RUNS_DIR/teachers/<teacher id>_seed<S>); missing ones are listed. Verdicts follow lab/grids/README.md "Claims and
verdicts": per pair d = mean(method) - mean(baseline) over seeds, se = sqrt(s_m^2/n_m + s_b^2/n_b) (sample std);
D and SE averaged over the K pairs (SE = sqrt(sum se^2)/K); better: held if D - 2SE > 0 and D >= margin, not held
if D + 2SE < margin, else inconclusive; a pair with fewer than 2 seeds on either side makes it inconclusive.
Each claim is judged on all its pairs (missing runs -> inconclusive) and on the pairs whose runs exist.
"""
import json, math, os, subprocess, sys

here = os.path.dirname(os.path.abspath(__file__))
grid = json.load(open(os.path.join(here, "..", "..", "lab", "grids", "dcq.json")))
args = sys.argv[1:]
out = here
if len(args) >= 2 and args[0] == "--out":
    out, args = args[1], args[2:]
if not args:
    sys.exit("usage: summarize.py [--out OUT_DIR] RUNS_DIR...")
run_dirs = args
seeds = grid["seeds"]


def load(name, teacher=None):
    """The finished results.json of run NAME (or of TEACHER = (id, seed)) in the first directory that has it."""
    for d in run_dirs:
        cands = [os.path.join(d, name), os.path.join(d, "runs", name)]
        if teacher:
            cands.append(os.path.join(d, "teachers", f"{teacher[0]}_seed{teacher[1]}"))
        for c in cands:
            p = os.path.join(c, "results.json")
            if os.path.exists(p):
                r = json.load(open(p))
                if "test" in r:
                    return r  # else interrupted: look further
    return None


def stats(v):
    n = len(v)
    m = sum(v) / n if n else float("nan")
    s = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1)) if n > 1 else float("nan")
    return m, s, n


rows, per_run, missing = {}, [], []
for t in grid["teachers"]:
    accs, twall = [], []
    for s in seeds:
        r = load(f"teacher_{t['id']}_seed{s}", teacher=(t["id"], s))
        if r is None:
            missing.append(f"teacher:{t['id']} seed {s}")
            continue
        accs.append(100 * r["test"]["acc"])
        twall.append(r["wall_seconds"])
        per_run.append({"row": "teacher:" + t["id"], "seed": s, "test_acc": 100 * r["test"]["acc"],
                        "epochs": len(r["epochs"]), "wall_seconds": r["wall_seconds"],
                        "train_images": r["dataset"]["train"]["n"]})
    rows["teacher:" + t["id"]] = dict(label=f"teacher {t['id']} (fp32)", accs=accs, epochs=t["epochs"],
                                      images=t.get("train_subset") or None, wall=twall)
for c in grid["cells"]:
    accs, wall, images = [], [], None
    for s in seeds:
        r = load(f"{c['id']}_seed{s}")
        if r is None:
            missing.append(f"{c['id']} seed {s}")
            continue
        accs.append(100 * r["test"]["acc"])
        wall.append(r["wall_seconds"])
        images = r["dataset"]["train"]["n"]
        per_run.append({"row": c["id"], "seed": s, "test_acc": 100 * r["test"]["acc"], "epochs": len(r["epochs"]),
                        "wall_seconds": r["wall_seconds"], "train_images": images,
                        "method": r.get("method", {}).get("settings"),
                        "teacher_crc32": r.get("method", {}).get("teacher", {}).get("crc32"),
                        "init_crc32": r.get("init", {}).get("crc32") if isinstance(r.get("init"), dict) else None})
    rows[c["id"]] = dict(label=c["label"], accs=accs, epochs=c["epochs"], images=images, wall=wall)


def verdict(claim, pairs):
    ds, ses = [], []
    for p in pairs:
        a, b = rows[p["method"]]["accs"], rows[p["baseline"]]["accs"]
        if len(a) < 2 or len(b) < 2:
            return None, None, "inconclusive (fewer than 2 seeds: %s)" % (p["method"] if len(a) < 2 else p["baseline"])
        ma, sa, na = stats(a)
        mb, sb, nb = stats(b)
        ds.append(ma - mb)
        ses.append(math.sqrt(sa ** 2 / na + sb ** 2 / nb))
    if not ds:
        return None, None, "inconclusive (no pair has runs)"
    D = sum(ds) / len(ds)
    SE = math.sqrt(sum(x * x for x in ses)) / len(ses)
    m = claim.get("margin", 0.0)
    if D - 2 * SE > 0 and D >= m:
        v = "held"
    elif D + 2 * SE < m:
        v = "not held"
    else:
        v = "inconclusive"
    return D, SE, v


claims = []
for cl in grid["claims"]:
    ran = [p for p in cl["pairs"] if len(rows[p["method"]]["accs"]) >= 2 and len(rows[p["baseline"]]["accs"]) >= 2]
    Dall, SEall, vall = verdict(cl, cl["pairs"])
    Dran, SEran, vran = verdict(cl, ran) if ran else (None, None, "inconclusive (no pair has runs)")
    per_pair = []  # each pair alone, by the same rule: where the pooled verdict comes from
    for p in ran:
        Dp, SEp, vp = verdict(cl, [p])
        per_pair.append({"method": p["method"], "baseline": p["baseline"], "d": Dp, "se": SEp, "verdict": vp})
    claims.append({"id": cl["id"], "text": cl["text"], "source": cl["source"], "rule": cl["rule"],
                   "margin": cl.get("margin", 0.0), "pairs": cl["pairs"], "per_pair": per_pair,
                   "all_pairs": {"D": Dall, "SE": SEall, "verdict": vall},
                   "pairs_with_runs": {"pairs": [p["method"] for p in ran], "D": Dran, "SE": SEran, "verdict": vran}})

fmt = lambda x: "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"
md = [f"# {grid['title']}", "",
      "Test top-1 accuracy (%), mean ± sample std over the seeds that ran; every cell starts from its seed's teacher.",
      "Produced by `results/dcq/run_lenet.sh` (the LeNet-5 cells, `lowbit train` per run), `lowbit reproduce dcq "
      "--cells 'resnet20_*'` (the ResNet-20 cells) and `results/dcq/summarize.py`; see README.md here and the grid "
      "notes (dcq.md) for the design.", "",
      "| row | test acc % | seeds | epochs | wall s (mean) | train images |", "|---|---|---|---|---|---|"]
csv = ["row,label,mean,std,seeds,epochs,wall_seconds_mean,train_images"]
for k, r in rows.items():
    m, s, n = stats(r["accs"]) if r["accs"] else (None, None, 0)
    w = sum(r["wall"]) / len(r["wall"]) if r["wall"] else None
    acc = "missing" if n == 0 else f"{m:.2f} ± {fmt(s)}"
    md.append(f"| {r['label']} | {acc} | {n} | {r['epochs']} | {fmt(w)} | {r['images'] or ''} |")
    csv.append(f"{k},\"{r['label']}\",{fmt(m) if n else ''},{fmt(s) if n > 1 else ''},{n},{r['epochs']},"
               f"{fmt(w) if w else ''},{r['images'] or ''}")
md += ["", "## Claims", "",
       "| claim | pairs with runs: D ± SE (points) → verdict | all pairs of the claim → verdict |", "|---|---|---|"]
for c in claims:
    pr = c["pairs_with_runs"]
    a = c["all_pairs"]
    left = f"{fmt(pr['D'])} ± {fmt(pr['SE'])} → **{pr['verdict']}** ({len(pr['pairs'])} pairs)" if pr["D"] is not None \
        else pr["verdict"]
    right = f"{fmt(a['D'])} ± {fmt(a['SE'])} → **{a['verdict']}**" if a["D"] is not None else a["verdict"]
    md.append(f"| {c['text']} [{c['source']}; rule {c['rule']}, margin {c['margin']}] | {left} | {right} |")
md += ["", "Each pair alone, by the same rule (d ± se in points → verdict):", "",
       "| claim | method − baseline | d ± se | verdict |", "|---|---|---|---|"]
for c in claims:
    for p in c["per_pair"]:
        md.append(f"| {c['id']} | {rows[p['method']]['label']} − {rows[p['baseline']]['label']} | "
                  f"{fmt(p['d'])} ± {fmt(p['se'])} | {p['verdict']} |")
md += ["", "Verdict rule: lab/grids/README.md (D − 2·SE > 0 and D ≥ margin: held; D + 2·SE < margin: not held; else "
       "inconclusive).", "", "## Missing cells × seeds", ""]
md += [f"- {m}" for m in missing] or ["none"]
os.makedirs(out, exist_ok=True)
open(os.path.join(out, "table.md"), "w").write("\n".join(md) + "\n")
open(os.path.join(out, "table.csv"), "w").write("\n".join(csv) + "\n")
json.dump({"grid": grid["name"], "seeds": seeds, "runs": per_run, "claims": claims, "missing": missing},
          open(os.path.join(out, "results.json"), "w"), indent=1)

# plot: LeNet-5 panels, methods as series over precisions
dat = os.path.join(out, "plot.dat")
series = ["DoReFa QAT", "KD", "DCQ w/o phase 2", "DCQ", "LSQ QAT", "DCQ + LSQ"]
panels = sorted({c["label"].split(":")[0] for c in grid["cells"] if rows[c["id"]]["accs"]})
with open(dat, "w") as f:
    for pi, panel in enumerate(panels):
        f.write(f"# {panel}\n")
        for si, sname in enumerate(series):
            for c in grid["cells"]:
                if c["label"].startswith(panel + ":") and c["method_label"] == sname and rows[c["id"]]["accs"]:
                    m, s, n = stats(rows[c["id"]]["accs"])
                    x = grid["precision_order"].index(c["precision_label"]) + 0.12 * (si - 2.5)
                    f.write(f"{pi} {si} {x:.3f} {m:.4f} {0 if n < 2 else s:.4f}\n")
        f.write("\n\n")
if panels and subprocess.run(["sh", "-c", "command -v gnuplot"], capture_output=True).returncode == 0:
    gp = ["set terminal svg size 1000,400", f"set output '{os.path.join(out, 'plot.svg')}'",
          f"set multiplot layout 1,{len(panels)}", "set key bottom left font ',8'",
          "set xtics (" + ", ".join(f"'{p}' {i}" for i, p in enumerate(grid["precision_order"])) + ")",
          "set xrange [-0.5:2.5]", "set ylabel 'test acc %'"]
    for pi, panel in enumerate(panels):
        gp.append(f"set title '{panel}'")
        gp.append("plot " + ", ".join(
            f"'{dat}' index {pi} using ($2=={si}?$3:1/0):4:5 with yerrorbars title '{s}'" for si, s in
            enumerate(series)))
    gp.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(gp), text=True, check=False)
os.remove(dat)
