#!/usr/bin/env python3
"""Our `svm` model against scikit-learn's SVC on the very same RAVDESS splits of one run.

For every (protocol, fold) in `splits.parquet` this rebuilds the training set as ser-pipeline's
train stage does (rows with part `train` from features.parquet plus rows with part
`train_augmented` from augmented.parquet; first, when the run used
`train.speaker_normalization`, each actor's rows standardised by a StandardScaler fitted on that
actor's corpus rows), fits a StandardScaler on it, then

    SVC(kernel="rbf", C=c, gamma=gamma, tol=tol)        # [models.svm] of the run

and predicts the test rows. The feature columns and the configuration come from the run's saved
model card (`models/svm/model.json`). Prints, per protocol, the mean accuracy of scikit-learn's
SVC and of ours (`predictions.parquet`, model == "svm"), the share of test rows on which the two
predict the same class (against scikit-learn's `predict`, which gives vote ties to the first tied
class, and against its `break_ties=True` rule, which ours follows), and the mean fit time of each
(ours from reports/fits.csv; both single-threaded).

With segment rows (`features.segment_seconds` in the run's config) the rows come from
segments.parquet and augmented_segments.parquet, and a test file's prediction is the argmax of
the mean over its segments of log(max(p, 1e-12)), as ours. With `models.svm.probability` the SVC
gets `probability=True` (libsvm's Platt scaling on its own 5-fold split, seeded by
random_state=0, so not our folds) and its prediction is the argmax of those probabilities, as
ours; the break_ties columns then repeat the plain ones.

Replaces the ad-hoc probe that motivated the model (tools/svm_probe_draft.py, which used its own
splits and no augmented rows).

Usage (from the repository root, after `ser-pipeline run --stage all` with "svm" in
models.train; venv with tools/reference/requirements-sklearn.txt):
  /tmp/sklvenv/bin/python tools/reference/sklearn_svm_compare.py [--data-dir data] [--reports-dir reports]
"""
import argparse
import json
import os
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import sklearn  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=Path("data"))
    ap.add_argument("--reports-dir", type=Path, default=Path("reports"))
    a = ap.parse_args()
    card = json.loads((a.data_dir / "models/svm/model.json").read_text())
    names, config = card["feature_names"], card["config"]
    svm = config["models"]["svm"]
    segmented = config["features"].get("segment_seconds") is not None
    probability = bool(svm.get("probability", False))
    table, aug_table = (("segments.parquet", "augmented_segments.parquet") if segmented
                        else ("features.parquet", "augmented.parquet"))
    feats = pd.read_parquet(a.data_dir / table).set_index("path")
    aug_path = a.data_dir / aug_table
    aug = pd.read_parquet(aug_path).set_index("path") if aug_path.exists() else feats.iloc[:0]
    x = {"train": feats[names].to_numpy(float).copy(), "aug": aug[names].to_numpy(float).copy()}
    if config["train"]["speaker_normalization"]:
        for actor in np.unique(feats["actor"]):
            s = StandardScaler().fit(x["train"][(feats["actor"] == actor).to_numpy()])
            for key, table in (("train", feats), ("aug", aug)):
                rows = (table["actor"] == actor).to_numpy()
                if rows.any():
                    x[key][rows] = s.transform(x[key][rows])
    # Each path's rows (one, or one per segment), in table order.
    row = {"train": {}, "aug": {}}
    for key, table in (("train", feats), ("aug", aug)):
        for i, p in enumerate(table.index):
            row[key].setdefault(p, []).append(i)
    splits = pd.read_parquet(a.data_dir / "splits.parquet")
    preds = pd.read_parquet(a.data_dir / "predictions.parquet")
    preds = preds[preds.model == "svm"]
    fits = pd.read_csv(a.reports_dir / "fits.csv", dtype={"fold": str})
    fits = fits[fits.model == "svm"]
    results = []
    for (protocol, fold), sp in splits.groupby(["protocol", "fold"], sort=False):
        def rows(part, key):
            return [i for p in dict.fromkeys(sp.loc[sp.part == part, "path"]) for i in row[key][p]]
        xtr = np.vstack([x["train"][rows("train", "train")], x["aug"][rows("train_augmented", "aug")]])
        ytr = np.concatenate([feats["emotion"].to_numpy()[rows("train", "train")],
                              aug["emotion"].to_numpy()[rows("train_augmented", "aug")]])
        ours = preds[(preds.protocol == protocol) & (preds.fold == fold)].set_index("path")
        test = list(ours.index)
        scaler = StandardScaler().fit(xtr)
        clf = SVC(kernel="rbf", C=svm["c"], gamma=svm["gamma"], tol=svm["tol"],
                  max_iter=svm.get("max_iter") or -1, probability=probability, random_state=0)
        start = time.perf_counter()
        clf.fit(scaler.transform(xtr), ytr)
        seconds = time.perf_counter() - start
        groups = [row["train"][p] for p in test]
        xte = scaler.transform(x["train"][[i for g in groups for i in g]])
        bounds = np.cumsum([0] + [len(g) for g in groups])

        def per_file(scores):
            # A file's rows pooled: the mean log-probability (or the row itself, alone).
            pooled = [scores[b0:b1].mean(axis=0) for b0, b1 in zip(bounds[:-1], bounds[1:])]
            return clf.classes_[np.argmax(np.array(pooled), axis=1)]

        if probability:
            theirs = broken = per_file(np.log(np.maximum(clf.predict_proba(xte), 1e-12)))
        elif segmented:
            raise SystemExit("segment rows need models.svm.probability (the pooled rows need "
                             "probabilities)")
        else:
            theirs = clf.predict(xte)
            # break_ties=True: the argmax of the ovr decision function, i.e. vote ties go to
            # the more confident class, as ours.
            broken = clf.classes_[np.argmax(clf.decision_function(xte), axis=1)]
        truth = ours["true"].to_numpy()
        f = fits[(fits.protocol == protocol) & (fits.fold == fold)]
        results.append(dict(protocol=protocol, fold=fold,
                            sklearn_acc=float(np.mean(theirs == truth)),
                            sklearn_bt_acc=float(np.mean(broken == truth)),
                            ours_acc=float(np.mean(ours["predicted"].to_numpy() == truth)),
                            agreement=float(np.mean(theirs == ours["predicted"].to_numpy())),
                            agreement_bt=float(np.mean(broken == ours["predicted"].to_numpy())),
                            sklearn_fit_s=seconds, ours_fit_s=float(f.fit_seconds.iloc[0])))
    df = pd.DataFrame(results)
    print(f"scikit-learn {sklearn.__version__}, {len(names)} features, "
          f"C={svm['c']} gamma={svm['gamma']} tol={svm['tol']}, probability={probability}, "
          f"segment rows={segmented}, "
          f"speaker_normalization={config['train']['speaker_normalization']}")
    print("| protocol | folds | sklearn acc | sklearn acc, break_ties | ours acc | same as sklearn "
          "| same as break_ties | sklearn fit s | ours fit s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for protocol, g in df.groupby("protocol", sort=False):
        print(f"| {protocol} | {len(g)} | {g.sklearn_acc.mean():.4f} | {g.sklearn_bt_acc.mean():.4f} "
              f"| {g.ours_acc.mean():.4f} | {g.agreement.mean():.4f} | {g.agreement_bt.mean():.4f} "
              f"| {g.sklearn_fit_s.mean():.3f} | {g.ours_fit_s.mean():.3f} |")


if __name__ == "__main__":
    main()
