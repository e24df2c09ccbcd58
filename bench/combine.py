#!/usr/bin/env python3
"""Combines the outputs of bench/run.sh's parts into one Markdown table and one CSV.

Reads, from --dir (each part optional; a missing part is left out of the table):
  extract-w1.jsonl, extract-w2.jsonl   bench/extract.sh (facts, one line per try, output check)
  train-latest.csv                      bench/train.sh (per fold and scikit-learn seed)
  train-latest_ours_seeds.csv           bench/train.sh (ours per fold and [models.mlp] seed)
  pipeline-latest.jsonl                 bench/pipeline.sh (end to end, scaling)
  kernels-latest.json                   criterion medians of benches/kernels.rs
Writes bench-latest.md and bench-latest.csv there and prints the Markdown.

CSV columns (long form, one figure per row): section, case, tool, metric, value, unit, note.
Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import statistics
import subprocess
from pathlib import Path

KERNEL_SECONDS = 10.0  # benches/kernels.rs processes 10 s of audio per iteration


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def read_jsonl(path: Path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def machine():
    model = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{nproc} CPUs ({model})"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--command", default="bench/run.sh")
    ap.add_argument("--seconds", type=int, default=None)
    args = ap.parse_args()
    d = args.dir
    rows = []  # CSV rows
    table = []  # Markdown rows: (measure, ours, reference, ratio, target, verdict)
    notes = []

    def add(section, case, tool, metric, value, unit, note=""):
        rows.append(dict(section=section, case=case, tool=tool, metric=metric,
                         value="" if value is None else (f"{value:.6g}" if isinstance(value, float) else value),
                         unit=unit, note=note))

    # ---- extraction -----------------------------------------------------------------------
    extract = {}
    for w in (1, 2):
        p = d / f"extract-w{w}.jsonl"
        if not p.is_file():
            continue
        lines = read_jsonl(p)
        facts = lines[0]
        tries = [r for r in lines[1:] if "tool" in r and not r.get("discarded")]
        compare = next((r["compare"] for r in lines if "compare" in r), None)
        e = {}
        for tool in ("ours", "reference"):
            t = [r for r in tries if r["tool"] == tool]
            if not t:
                continue
            wall = med([r["wall_s"] for r in t])
            cpu = med([r["cpu_s"] for r in t])
            files = t[0]["files"]
            e[tool] = dict(wall=wall, cpu=cpu, files=files, fps=files / wall, runs=len(t),
                           loaded=any(r.get("contaminated") for r in t))
            name = "ser-pipeline" if tool == "ours" else "python-reference"
            add("extraction", f"{w}_worker", name, "median_wall", wall, "s", f"{len(t)} run(s)")
            add("extraction", f"{w}_worker", name, "throughput", files / wall, "files/s")
            add("extraction", f"{w}_worker", name, "cpu_per_file", 1000 * cpu / files, "ms")
        extract[w] = (facts, e, compare)
        if "ours" in e and "reference" in e:
            ratio = e["ours"]["fps"] / e["reference"]["fps"]
            add("extraction", f"{w}_worker", "ser-pipeline", "throughput_ratio_vs_reference", ratio, "x")
            target = ">= 20x" if w == 2 else ""
            verdict = ("met" if ratio >= 20 else "missed") if w == 2 else ""
            table.append((f"extraction, {w} worker{'s' if w > 1 else ''} ({e['ours']['files']} files)",
                          f"{e['ours']['fps']:.0f} files/s ({e['ours']['wall']:.2f} s)",
                          f"{e['reference']['fps']:.1f} files/s ({e['reference']['wall']:.2f} s)",
                          f"**{ratio:.1f}x**", target, verdict))
            if e["ours"]["loaded"] or e["reference"]["loaded"]:
                notes.append(f"extraction at {w} worker(s): a kept run had other load on the machine "
                             f"(see extract-w{w}.md)")
        if compare:
            for fam in ("mfcc", "chroma", "mel"):
                key = f"{fam}_max_rel_dev"
                if key in compare:
                    add("extraction", f"{w}_worker", "agreement", f"{fam}_max_rel_dev", compare[key], "relative",
                        "per column, relative to the column's largest |value|")
                    add("extraction", f"{w}_worker", "agreement", f"{fam}_median_rel_dev",
                        compare.get(f"{fam}_median_rel_dev"), "relative")
    if extract:
        w = max(extract)
        compare = extract[w][2]
        if compare:
            devs = ", ".join(f"{fam} {compare[f'{fam}_max_rel_dev']:.1e} (median {compare[f'{fam}_median_rel_dev']:.1e})"
                             for fam in ("mfcc", "chroma", "mel") if f"{fam}_max_rel_dev" in compare)
            table.append(("feature agreement, max relative difference per family", devs,
                          f"{compare['matched_rows']} rows matched", "", "", ""))

    # ---- training -------------------------------------------------------------------------
    p = d / "train-latest.csv"
    if p.is_file():
        with open(p) as fh:
            t = [r for r in csv.DictReader(fh) if r["headline"] in ("True", "true", "1")]
        # Every scikit-learn seed, and ours over every [models.mlp] seed when train.sh ran them
        # (train-latest_ours_seeds.csv). Early stopping decides the epoch count, and one seed's
        # count moves by a quarter either way (the per-seed rows), so the verdict is taken on the
        # means over all seeds; the headline seed's rows are shown for reference only.
        with open(p) as fh:
            skl_all = list(csv.DictReader(fh))
        ours_all = []
        po = d / "train-latest_ours_seeds.csv"
        if po.is_file():
            with open(po) as fh:
                ours_all = [r for r in csv.DictReader(fh) if r["fit_seconds"]]
        seeded = len({r["seed"] for r in ours_all}) > 1 and len({r["seed"] for r in skl_all}) > 1
        verdict_note = "" if seeded else " (one seed)"

        def seed_means(rs, key):
            """Mean over seeds of the mean over a protocol's folds."""
            by_seed = {}
            for r in rs:
                by_seed.setdefault(r["seed"], []).append(float(r[key]))
            return statistics.mean(statistics.mean(v) for v in by_seed.values()), len(by_seed)

        for protocol in dict.fromkeys(r["protocol"] for r in t):
            pr = [r for r in t if r["protocol"] == protocol]
            ours_s = sum(float(r["ours_fit_seconds"]) for r in pr)
            skl_s = sum(float(r["sklearn_fit_seconds"]) for r in pr)
            ours_acc = statistics.mean(float(r["ours_accuracy"]) for r in pr)
            skl_acc = statistics.mean(float(r["sklearn_accuracy"]) for r in pr)
            add("training", protocol, "ser-pipeline", "fit_seconds_total", ours_s, "s", f"{len(pr)} fold(s)")
            add("training", protocol, "scikit-learn", "fit_seconds_total", skl_s, "s", f"{len(pr)} fold(s)")
            add("training", protocol, "ser-pipeline", "accuracy_mean", ours_acc, "fraction")
            add("training", protocol, "scikit-learn", "accuracy_mean", skl_acc, "fraction")
            ratio = ours_s / skl_s
            add("training", protocol, "ser-pipeline", "fit_time_ratio_vs_sklearn", ratio, "x")
            same = abs(ours_acc - skl_acc) <= 0.02
            fits = f"{len(pr)} fit{'s' if len(pr) > 1 else ''}"
            if seeded:
                table.append((f"MLP training, {protocol}, headline seed only ({fits})",
                              f"{ours_s:.2f} s, acc {ours_acc:.3f}", f"{skl_s:.2f} s, acc {skl_acc:.3f}",
                              f"{ratio:.2f}x time", "", ""))
                ou = [r for r in ours_all if r["protocol"] == protocol]
                sk = [r for r in skl_all if r["protocol"] == protocol]
                o_s, n_o = seed_means(ou, "fit_seconds")
                s_s, n_s = seed_means(sk, "sklearn_fit_seconds")
                o_acc, _ = seed_means(ou, "accuracy")
                s_acc, _ = seed_means(sk, "sklearn_accuracy")
                ratio = o_s / s_s
                same = abs(o_acc - s_acc) <= 0.02
                add("training", protocol, "ser-pipeline", "seed_mean_fit_seconds", o_s * len(pr), "s",
                    f"{n_o} seeds x {len(pr)} fold(s)")
                add("training", protocol, "scikit-learn", "seed_mean_fit_seconds", s_s * len(pr), "s",
                    f"{n_s} seeds x {len(pr)} fold(s)")
                add("training", protocol, "ser-pipeline", "seed_mean_accuracy", o_acc, "fraction")
                add("training", protocol, "scikit-learn", "seed_mean_accuracy", s_acc, "fraction")
                add("training", protocol, "ser-pipeline", "seed_mean_fit_time_ratio_vs_sklearn", ratio, "x")
                table.append((f"MLP training, {protocol}, mean over {n_o} / {n_s} seeds ({fits} each)",
                              f"{o_s * len(pr):.2f} s, acc {o_acc:.3f}", f"{s_s * len(pr):.2f} s, acc {s_acc:.3f}",
                              f"**{ratio:.2f}x** time", "<= 0.5x time, acc +-2 pts",
                              "met" if ratio <= 0.5 and same else "missed"))
            else:
                table.append((f"MLP training, {protocol} ({fits})",
                              f"{ours_s:.2f} s, acc {ours_acc:.3f}", f"{skl_s:.2f} s, acc {skl_acc:.3f}",
                              f"**{ratio:.2f}x** time", "<= 0.5x time, acc +-2 pts",
                              ("met" if ratio <= 0.5 and same else "missed") + verdict_note))

        if t:
            if seeded:
                ours_s = sum(float(r["fit_seconds"]) for r in ours_all)
                skl_s = sum(float(r["sklearn_fit_seconds"]) for r in skl_all)
                ours_ep = sum(float(r["epochs"]) for r in ours_all)
                skl_ep = sum(float(r["sklearn_epochs"]) for r in skl_all)
                label = (f"MLP training, all {len(ours_all)} / {len(skl_all)} fits "
                         f"({len({r['seed'] for r in ours_all})} / {len({r['seed'] for r in skl_all})} seeds)")
            else:
                ours_s = sum(float(r["ours_fit_seconds"]) for r in t)
                skl_s = sum(float(r["sklearn_fit_seconds"]) for r in t)
                ours_ep = sum(float(r["ours_epochs"]) for r in t)
                skl_ep = sum(float(r["sklearn_epochs"]) for r in t)
                label = f"MLP training, all {len(t)} fits"
            # Per fit: the two sides may have run different numbers of fits.
            n_o = len(ours_all) if seeded else len(t)
            n_s = len(skl_all) if seeded else len(t)
            ratio = (ours_s / n_o) / (skl_s / n_s)
            per_epoch = (ours_s / ours_ep) / (skl_s / skl_ep)
            add("training", "all", "ser-pipeline", "fit_time_ratio_vs_sklearn", ratio, "x",
                f"{n_o} vs {n_s} fits")
            add("training", "all", "ser-pipeline", "per_epoch_time_ratio_vs_sklearn", per_epoch, "x",
                f"{ours_ep:.0f} vs {skl_ep:.0f} epochs")
            table.append((label, f"{ours_s:.2f} s, {ours_ep:.0f} epochs",
                          f"{skl_s:.2f} s, {skl_ep:.0f} epochs",
                          f"**{ratio:.2f}x** time per fit ({per_epoch:.2f}x per epoch)", "<= 0.5x time",
                          ("met" if ratio <= 0.5 else "missed") + verdict_note))

    # ---- end to end and scaling -----------------------------------------------------------
    p = d / "pipeline-latest.jsonl"
    if p.is_file():
        lines = read_jsonl(p)
        runs = [r for r in lines if "case" in r]
        e2e = [r for r in runs if r["case"] == "e2e_run_all"]
        if e2e:
            wall = med([r["wall_s"] for r in e2e])
            rss = max(r["peak_rss_mb"] for r in e2e)
            add("end_to_end", "run_all", "ser-pipeline", "median_wall", wall, "s", f"{len(e2e)} run(s)")
            add("end_to_end", "run_all", "ser-pipeline", "peak_rss", rss, "MB")
            table.append((f"`run --stage all --force`, {e2e[0]['files']} files", f"{wall:.1f} s", "", "",
                          "<= 30 s", "met" if wall <= 30 else "missed"))
            table.append(("peak RSS of `run --stage all`", f"{rss:.0f} MB", "", "", "<= 500 MB",
                          "met" if rss <= 500 else "missed"))
            if any(r["other_load_cores"] > 0.25 for r in e2e):
                notes.append("end to end: other load on the machine during a run (see pipeline-latest.jsonl)")
        one = next((r for r in runs if r["case"] == "extract_1x"), None)
        many = next((r for r in runs if r["case"].startswith("extract_") and r["case"] != "extract_1x"), None)
        if one and many:
            k = many["files"] / one["files"]
            time_ratio = many["wall_s"] / one["wall_s"]
            rss_ratio = many["peak_rss_mb"] / one["peak_rss_mb"]
            for r in (one, many):
                add("scaling", r["case"], "ser-pipeline", "wall", r["wall_s"], "s", f"{r['files']} files")
                add("scaling", r["case"], "ser-pipeline", "throughput", r["files"] / r["wall_s"], "files/s")
                add("scaling", r["case"], "ser-pipeline", "peak_rss", r["peak_rss_mb"], "MB")
            add("scaling", many["case"], "ser-pipeline", "time_ratio_vs_1x", time_ratio, "x", f"linear = {k:.0f}")
            add("scaling", many["case"], "ser-pipeline", "peak_rss_ratio_vs_1x", rss_ratio, "x", "flat = 1")
            table.append((f"scaling: extract {one['files']} -> {many['files']} files, time",
                          f"{one['wall_s']:.1f} s -> {many['wall_s']:.1f} s (**{time_ratio:.1f}x** for {k:.0f}x files)",
                          "", "", f"linear ({k:.0f}x)", "met" if time_ratio <= 1.15 * k else "missed"))
            table.append(("scaling: peak RSS",
                          f"{one['peak_rss_mb']:.0f} MB -> {many['peak_rss_mb']:.0f} MB (**{rss_ratio:.2f}x**)",
                          "", "", "flat, <= 500 MB",
                          "met" if many["peak_rss_mb"] <= 500 and rss_ratio <= 1.15 else "missed"))

    # ---- kernels --------------------------------------------------------------------------
    p = d / "kernels-latest.json"
    if p.is_file():
        k = json.loads(p.read_text())
        parts = []
        for name, e in k.items():
            rate = KERNEL_SECONDS / (e["median_ns"] * 1e-9)
            add("kernels", name, "ser-pipeline", "audio_seconds_per_second", rate, "s/s",
                "criterion median, 10 s of 48 kHz audio, one thread")
            parts.append(f"{name} {rate:,.0f}")
        table.append(("kernels (criterion, one thread), seconds of 48 kHz audio per second",
                      "; ".join(parts), "", "", "", ""))

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    md = [
        "# Benchmarks: ser-pipeline vs the Python reference",
        "",
        f"- Date: {now}; machine: {machine()}; git {git or '?'}",
        f"- Command: `{args.command}`" + (f" ({args.seconds} s in all)" if args.seconds else ""),
        "- Details per part (with when each was last measured; `--skip` keeps a part's older result): "
        + ", ".join(f"`{n}` ({datetime.datetime.fromtimestamp((d / n).stat().st_mtime, datetime.timezone.utc):%Y-%m-%d %H:%M} UTC)"
                    for n in ("extract-w1.md", "extract-w2.md", "train-latest.md", "pipeline-latest.jsonl",
                              "kernels-latest.txt") if (d / n).is_file())
        + "; every figure below is also in `bench-latest.csv`.",
        "",
        "| measure | ser-pipeline | Python reference | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
    ]
    md += ["| " + " | ".join(r) + " |" for r in table]
    if notes:
        md += ["", "Notes:"] + [f"- {n}" for n in notes]
    text = "\n".join(md) + "\n"
    (d / "bench-latest.md").write_text(text)
    with open(d / "bench-latest.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["section", "case", "tool", "metric", "value", "unit", "note"])
        w.writeheader()
        w.writerows(rows)
    print(text)
    print(f"written: {d / 'bench-latest.md'}, {d / 'bench-latest.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
