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
    feats = pd.read_parquet(a.data_dir / "features.parquet").set_index("path")
    aug_path = a.data_dir / "augmented.parquet"
    aug = pd.read_parquet(aug_path).set_index("path") if aug_path.exists() else feats.iloc[:0]
    x = {"train": feats[names].to_numpy(float).copy(), "aug": aug[names].to_numpy(float).copy()}
    if config["train"]["speaker_normalization"]:
        for actor in np.unique(feats["actor"]):
            s = StandardScaler().fit(x["train"][(feats["actor"] == actor).to_numpy()])
            for key, table in (("train", feats), ("aug", aug)):
                rows = (table["actor"] == actor).to_numpy()
                if rows.any():
                    x[key][rows] = s.transform(x[key][rows])
    row = {"train": {p: i for i, p in enumerate(feats.index)},
           "aug": {p: i for i, p in enumerate(aug.index)}}
    splits = pd.read_parquet(a.data_dir / "splits.parquet")
    preds = pd.read_parquet(a.data_dir / "predictions.parquet")
    preds = preds[preds.model == "svm"]
    fits = pd.read_csv(a.reports_dir / "fits.csv", dtype={"fold": str})
    fits = fits[fits.model == "svm"]
    results = []
    for (protocol, fold), sp in splits.groupby(["protocol", "fold"], sort=False):
        def rows(part, key):
            return [row[key][p] for p in sp.loc[sp.part == part, "path"]]
        xtr = np.vstack([x["train"][rows("train", "train")], x["aug"][rows("train_augmented", "aug")]])
        ytr = np.concatenate([feats["emotion"].to_numpy()[rows("train", "train")],
                              aug["emotion"].to_numpy()[rows("train_augmented", "aug")]])
        ours = preds[(preds.protocol == protocol) & (preds.fold == fold)].set_index("path")
        test = list(ours.index)
        scaler = StandardScaler().fit(xtr)
        clf = SVC(kernel="rbf", C=svm["c"], gamma=svm["gamma"], tol=svm["tol"],
                  max_iter=svm.get("max_iter") or -1)
        start = time.perf_counter()
        clf.fit(scaler.transform(xtr), ytr)
        seconds = time.perf_counter() - start
        xte = scaler.transform(x["train"][[row["train"][p] for p in test]])
        theirs = clf.predict(xte)
        # break_ties=True: the argmax of the ovr decision function, i.e. vote ties go to the
        # more confident class, as ours.
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
          f"C={svm['c']} gamma={svm['gamma']} tol={svm['tol']}, "
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
