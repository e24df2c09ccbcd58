#!/usr/bin/env python3
"""Fuses the test predictions of several `run --stage all` outputs, recording by recording.

A probe for issue 4, not part of the pipeline: it measures what an ensemble of models trained
on *different rows* (e.g. an SVM on 1 s segments and an MLP on 0.2 s segments) would score,
before anyone builds such an ensemble into `train`. Each RUN:MODEL names an output folder of
`tools/ablation.sh` (its `data/predictions.parquet`) and a model in it. The runs must share
their splits (the same `[split.*]` settings: splits are of recordings and do not depend on the
rows or the models), which is checked: every run must have the same test recordings in every
(protocol, fold).

Per (protocol, fold) and recording, the fused probabilities are the mean of the members'
`prob_*` columns ("arith", as the pipeline's `models.ensemble` does) or the sum of their logs
("geo"); the prediction is the argmax. Prints, per rule, the mean accuracy and macro F1 over the
folds of each protocol, and the mean over folds of the smallest class recall, as
`reports/metrics.csv`'s `mean` rows do.

Usage (venv with tools/reference/requirements-sklearn.txt, e.g. /tmp/sklvenv):
  python tools/fuse_runs.py /tmp/abl/spk_svm:svm /tmp/abl/spk_mlp_seg0.2:mlp
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

KEY = ["protocol", "fold", "path"]


def load(spec: str) -> pd.DataFrame:
    run, _, model = spec.rpartition(":")
    if not run:
        sys.exit(f"{spec}: expected RUN_DIR:MODEL")
    p = pd.read_parquet(Path(run) / "data" / "predictions.parquet")
    p = p[p.model == model]
    if "normalisation" in p.columns:  # the batch figure; lone-clip rows are judged apart
        p = p[p.normalisation != "lone"]
    if p.empty:
        sys.exit(f"{spec}: no predictions of model {model!r}")
    return p.sort_values(KEY).reset_index(drop=True)


def fold_scores(truth: np.ndarray, pred: np.ndarray, classes: list[str]):
    acc = float((truth == pred).mean())
    recalls, f1s = [], []
    for c in classes:
        t, p = truth == c, pred == c
        if not t.any():
            continue
        tp = float((t & p).sum())
        recall = tp / t.sum()
        precision = tp / p.sum() if p.any() else 0.0
        recalls.append(recall)
        f1s.append(0.0 if tp == 0 else 2 * precision * recall / (precision + recall))
    return acc, float(np.mean(f1s)), float(min(recalls))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("members", nargs="+", help="RUN_DIR:MODEL")
    args = ap.parse_args()
    runs = [load(s) for s in args.members]
    probs = [c for c in runs[0].columns if c.startswith("prob_")]
    classes = [c[len("prob_"):] for c in probs]
    for spec, r in zip(args.members[1:], runs[1:]):
        if not r[KEY].equals(runs[0][KEY]):
            sys.exit(f"{spec}: its test recordings differ from {args.members[0]}'s (other splits?)")
        if [c for c in r.columns if c.startswith("prob_")] != probs:
            sys.exit(f"{spec}: other classes than {args.members[0]}")
    base = runs[0][KEY + ["true"]]
    print("| rule | protocol | accuracy | macro F1 | min class recall |")
    print("|---|---|---|---|---|")
    for rule in ("arith", "geo"):
        if rule == "arith":
            fused = sum(r[probs].to_numpy() for r in runs) / len(runs)
        else:
            fused = sum(np.log(np.clip(r[probs].to_numpy(), 1e-12, 1.0)) for r in runs)
        pred = np.array(classes)[fused.argmax(axis=1)]
        for protocol in dict.fromkeys(base.protocol):
            scores = []
            for fold in dict.fromkeys(base.fold[base.protocol == protocol]):
                m = ((base.protocol == protocol) & (base.fold == fold)).to_numpy()
                scores.append(fold_scores(base.true.to_numpy()[m], pred[m], classes))
            acc, f1, rec = np.mean(scores, axis=0)
            print(f"| {rule} | {protocol} | {acc:.4f} | {f1:.4f} | {rec:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
