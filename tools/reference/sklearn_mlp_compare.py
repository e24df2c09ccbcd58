#!/usr/bin/env python3
"""Our MLP against scikit-learn's MLPClassifier on the very same RAVDESS splits.

For every (protocol, fold) in `splits.parquet` this rebuilds the training set exactly as
ser-pipeline's train stage does (rows with part `train` from features.parquet plus rows with part
`train_augmented` from augmented.parquet), fits a StandardScaler on it, trains scikit-learn's
MLPClassifier with the original project's configuration

    MLPClassifier(hidden_layer_sizes=(512, 256, 128), activation="relu", solver="adam",
                  alpha=1e-4, batch_size=64, learning_rate="adaptive", learning_rate_init=1e-3,
                  max_iter=1000, early_stopping=True, validation_fraction=0.1,
                  n_iter_no_change=10, tol=1e-4, random_state=42)

(learning_rate="adaptive" only affects solver="sgd"; with adam it is ignored), predicts the test
rows and scores accuracy and macro F1 with sklearn.metrics. Our MLP's scores for the same
(protocol, fold) come from predictions.parquet (model == "mlp"), its fit times and epochs from
reports/fits.csv, its validation curve from reports/<protocol>/mlp/training_curve_<fold>.csv.

Each scikit-learn fit is single-threaded (OMP/OPENBLAS/MKL_NUM_THREADS=1, set here before numpy
is imported), like each of our fits; time.perf_counter() brackets `fit` only (validation split
included, scaling excluded), as ser-pipeline's fit_seconds does.

Writes a Markdown report (--out, default reports/sklearn_mlp_compare.md) and, beside it, a CSV
with one row per (protocol, fold, seed). Prints the Markdown.

Usage (from the repository root, after `ser-pipeline run --stage all`):
  python3 -m venv /tmp/sklvenv
  /tmp/sklvenv/bin/pip install -r tools/reference/requirements-sklearn.txt
  /tmp/sklvenv/bin/python tools/reference/sklearn_mlp_compare.py \
      [--data-dir data] [--reports-dir reports] [--out reports/sklearn_mlp_compare.md] \
      [--seeds 42,1,2,3,4] [--ours-run SEED:DATA_DIR:REPORTS_DIR ...]

--seeds: the first seed gives the headline comparison (default 42 only, the original config);
further seeds refit scikit-learn with other random_state values to show how much its scores move
with the seed alone, i.e. how large a gap between the two implementations is still noise.
--ours-run: the output of another `run --stage train` of ours on the same splits with another
[models.mlp] seed (bench/train.sh makes them); with several seeds on both sides the report adds
a seed-spread table (means, SDs, difference over its standard error) and, beside the CSV,
<out stem>_ours_seeds.csv.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import pyarrow.types as pat  # noqa: E402
import sklearn  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

PROTOCOL_ORDER = ["random", "actor_holdout", "actor_kfold"]

MLP_PARAMS = dict(
    hidden_layer_sizes=(512, 256, 128),
    activation="relu",
    solver="adam",
    alpha=1e-4,
    batch_size=64,
    learning_rate="adaptive",
    learning_rate_init=1e-3,
    max_iter=1000,
    early_stopping=True,
    validation_fraction=0.1,
    n_iter_no_change=10,
    tol=1e-4,
)


def feature_columns(path: Path) -> list[str]:
    """Every floating-point column after `tuning`, in file order."""
    schema = pq.read_schema(path)
    names = list(schema.names)
    if "tuning" not in names:
        sys.exit(f"{path}: no `tuning` column; cannot locate the feature columns")
    start = names.index("tuning") + 1
    cols = [n for n in names[start:] if pat.is_floating(schema.field(n).type)]
    if not cols:
        sys.exit(f"{path}: no float columns after `tuning`")
    return cols


def read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    df = pq.read_table(path, columns=columns).to_pandas()
    for c in ("path", "emotion"):
        df[c] = df[c].astype(str)
    if df["path"].duplicated().any():
        sys.exit(f"{path}: duplicate paths")
    return df.set_index("path")


def fold_key(fold: str):
    # seed-1 < seed-2 < ... < seed-10; fold-0 < ... ; holdout
    head, _, tail = fold.rpartition("-")
    return (head, int(tail)) if tail.isdigit() else (fold, -1)


def ordered_splits(splits: pd.DataFrame) -> list[tuple[str, str]]:
    keys = splits[["protocol", "fold"]].drop_duplicates().itertuples(index=False, name=None)
    rank = {p: i for i, p in enumerate(PROTOCOL_ORDER)}
    return sorted(keys, key=lambda k: (rank.get(k[0], len(rank)), k[0], fold_key(k[1])))


def our_curve(reports: Path, protocol: str, fold: str):
    """(first-epoch loss, best validation accuracy) from our training curve, if written."""
    p = reports / protocol / "mlp" / f"training_curve_{fold}.csv"
    if not p.exists():
        return None, None
    c = pd.read_csv(p)
    if c.empty:
        return None, None
    best = c["validation_accuracy"].max() if "validation_accuracy" in c else None
    return float(c["loss"].iloc[0]), (None if best is None or pd.isna(best) else float(best))


def mean(xs):
    xs = [x for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return statistics.fmean(xs) if xs else None


def sd(xs):
    xs = [x for x in xs if x is not None]
    return statistics.stdev(xs) if len(xs) > 1 else None


def fmt(x, nd=4):
    return "n/a" if x is None else f"{x:.{nd}f}"


def pts(x):
    return "n/a" if x is None else f"{100 * x:+.1f}"


def blas_info() -> str:
    try:
        import threadpoolctl

        info = threadpoolctl.threadpool_info()
        return ", ".join(
            sorted({f"{d.get('internal_api')} {d.get('architecture')} x{d.get('num_threads')}" for d in info})
        ) or "none loaded"
    except Exception as e:  # pragma: no cover - informational only
        return f"? ({e})"


def load_our_run(seed: int, data: Path, reports: Path, splits: pd.DataFrame) -> dict:
    """Another run of ours (other MLP seed): its predictions, fits and curves, on the same splits."""
    sp = pq.read_table(data / "splits.parquet").to_pandas()
    cols = ["path", "protocol", "fold", "part"]
    for c in cols:
        sp[c] = sp[c].astype(str)
    key = lambda df: sorted(map(tuple, df[cols].itertuples(index=False, name=None)))  # noqa: E731
    if key(sp) != key(splits):
        raise ValueError(f"{data / 'splits.parquet'} differs from the main run's splits")
    preds = pq.read_table(data / "predictions.parquet").to_pandas()
    for c in ("path", "protocol", "fold", "model", "true", "predicted"):
        preds[c] = preds[c].astype(str)
    fits = pd.read_csv(reports / "fits.csv", dtype={"fold": str})
    return dict(seed=seed, preds=preds[preds.model == "mlp"], fits=fits[fits.model == "mlp"], reports=reports)


def our_fold(run: dict, protocol: str, fold: str, test_paths: list[str]) -> dict:
    p = run["preds"]
    p = p[(p.protocol == protocol) & (p.fold == fold)]
    if sorted(p["path"]) != sorted(test_paths):
        sys.exit(f"ours seed {run['seed']}: {protocol} {fold}: test rows differ from the main run's")
    f = run["fits"]
    f = f[(f.protocol == protocol) & (f.fold == fold)]
    loss1, best_val = our_curve(run["reports"], protocol, fold)
    return dict(seed=run["seed"], protocol=protocol, fold=fold,
                accuracy=accuracy_score(p["true"], p["predicted"]),
                macro_f1=f1_score(p["true"], p["predicted"], average="macro"),
                epochs=int(f.epochs.iloc[0]) if len(f) == 1 else None,
                fit_seconds=float(f.fit_seconds.iloc[0]) if len(f) == 1 else None,
                first_loss=loss1, best_validation_accuracy=best_val)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default="data", type=Path,
                    help="folder with features/augmented/splits/predictions.parquet (default data)")
    ap.add_argument("--reports-dir", default="reports", type=Path,
                    help="folder with fits.csv and the MLP training curves (default reports)")
    ap.add_argument("--out", default="reports/sklearn_mlp_compare.md", type=Path,
                    help="Markdown report; the CSV goes beside it (default reports/sklearn_mlp_compare.md)")
    ap.add_argument("--seeds", default="42",
                    help="comma-separated random_state values; the first is the headline (default 42)")
    ap.add_argument("--ours-seed", type=int, default=42,
                    help="[models.mlp] seed of the run in --data-dir (a label only; default 42)")
    ap.add_argument("--ours-run", action="append", default=[], metavar="SEED:DATA_DIR:REPORTS_DIR",
                    help="another train-stage run of ours with a different [models.mlp] seed on the same "
                         "splits (repeatable); gives our seed spread")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if not seeds:
        ap.error("--seeds: give at least one seed")

    d = args.data_dir
    for name in ("features", "splits", "predictions"):
        if not (d / f"{name}.parquet").exists():
            sys.exit(f"missing {d / (name + '.parquet')}: run `ser-pipeline run --stage all` first")
    feats = feature_columns(d / "features.parquet")
    features = read_table(d / "features.parquet", ["path", "emotion", *feats])
    augmented = None
    if (d / "augmented.parquet").exists():
        aug_names = set(pq.read_schema(d / "augmented.parquet").names)
        missing = [c for c in feats if c not in aug_names]
        if missing:
            sys.exit(f"augmented.parquet lacks feature columns {missing[:5]}...")
        augmented = read_table(d / "augmented.parquet", ["path", "emotion", *feats])
    splits = pq.read_table(d / "splits.parquet").to_pandas()
    for c in ("path", "protocol", "fold", "part"):
        splits[c] = splits[c].astype(str)
    preds = pq.read_table(d / "predictions.parquet").to_pandas()
    for c in ("path", "protocol", "fold", "model", "true", "predicted"):
        preds[c] = preds[c].astype(str)
    fits_path = args.reports_dir / "fits.csv"
    fits = pd.read_csv(fits_path, dtype={"fold": str}) if fits_path.exists() else None
    if fits is None:
        print(f"warning: {fits_path} missing: no fit times for ours", file=sys.stderr)

    extra_runs = []
    for spec in args.ours_run:
        try:
            seed_s, data_s, rep_s = spec.split(":", 2)
            extra_runs.append(load_our_run(int(seed_s), Path(data_s), Path(rep_s), splits))
        except ValueError as e:
            sys.exit(f"--ours-run {spec}: {e}")

    rows = []
    ours_rows = []
    for protocol, fold in ordered_splits(splits):
        s = splits[(splits.protocol == protocol) & (splits.fold == fold)]
        tr = s.loc[s.part == "train", "path"].tolist()
        tra = s.loc[s.part == "train_augmented", "path"].tolist()
        te = s.loc[s.part == "test", "path"].tolist()
        parts = [features.loc[tr]]
        if tra:
            if augmented is None:
                sys.exit(f"{protocol} {fold}: train_augmented rows but no augmented.parquet")
            parts.append(augmented.loc[tra])
        train = pd.concat(parts)
        test = features.loc[te]
        x_train = train[feats].to_numpy(np.float64)
        y_train = train["emotion"].to_numpy()
        scaler = StandardScaler().fit(x_train)
        x_train = scaler.transform(x_train)
        x_test = scaler.transform(test[feats].to_numpy(np.float64))
        y_test = test["emotion"].to_numpy()

        # Ours on the same split.
        p = preds[(preds.model == "mlp") & (preds.protocol == protocol) & (preds.fold == fold)]
        if sorted(p["path"]) != sorted(te):
            sys.exit(f"{protocol} {fold}: predictions.parquet (mlp) test rows differ from splits.parquet")
        ours_acc = accuracy_score(p["true"], p["predicted"])
        ours_f1 = f1_score(p["true"], p["predicted"], average="macro")
        ours_secs = ours_epochs = None
        if fits is not None:
            f = fits[(fits.model == "mlp") & (fits.protocol == protocol) & (fits.fold == fold)]
            if len(f) == 1:
                ours_secs = float(f.fit_seconds.iloc[0])
                ours_epochs = int(f.epochs.iloc[0])
                if (int(f.n_train.iloc[0]), int(f.n_augmented.iloc[0])) != (len(tr), len(tra)):
                    sys.exit(f"{protocol} {fold}: fits.csv says {int(f.n_train.iloc[0])}+"
                             f"{int(f.n_augmented.iloc[0])} rows, splits.parquet {len(tr)}+{len(tra)}")
        ours_loss1, ours_best_val = our_curve(args.reports_dir, protocol, fold)
        ours_rows.append(dict(seed=args.ours_seed, protocol=protocol, fold=fold, accuracy=ours_acc,
                              macro_f1=ours_f1, epochs=ours_epochs, fit_seconds=ours_secs,
                              first_loss=ours_loss1, best_validation_accuracy=ours_best_val))
        for run in extra_runs:
            ours_rows.append(our_fold(run, protocol, fold, te))

        for k, seed in enumerate(seeds):
            clf = MLPClassifier(**MLP_PARAMS, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t0 = time.perf_counter()
                clf.fit(x_train, y_train)
                secs = time.perf_counter() - t0
            y_pred = clf.predict(x_test)
            row = dict(
                protocol=protocol, fold=fold, seed=seed, headline=(k == 0),
                n_train=len(tr), n_augmented=len(tra), n_test=len(te),
                sklearn_accuracy=accuracy_score(y_test, y_pred),
                sklearn_macro_f1=f1_score(y_test, y_pred, average="macro"),
                sklearn_epochs=int(clf.n_iter_),
                sklearn_fit_seconds=secs,
                sklearn_first_loss=float(clf.loss_curve_[0]),
                sklearn_best_validation_accuracy=float(clf.best_validation_score_),
                ours_accuracy=ours_acc, ours_macro_f1=ours_f1,
                ours_epochs=ours_epochs, ours_fit_seconds=ours_secs,
                ours_first_loss=ours_loss1, ours_best_validation_accuracy=ours_best_val,
            )
            rows.append(row)
            print(f"{protocol:13s} {fold:8s} seed {seed:3d}: sklearn acc {row['sklearn_accuracy']:.4f} "
                  f"({row['sklearn_epochs']} ep, {secs:.1f} s) | ours acc {ours_acc:.4f} "
                  f"({ours_epochs} ep, {fmt(ours_secs, 1)} s)", file=sys.stderr, flush=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    csv_path = args.out.with_suffix(".csv")
    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else ("" if v is None else v))
                        for k, v in r.items()})

    if extra_runs:
        ours_csv = args.out.with_name(args.out.stem + "_ours_seeds.csv")
        with open(ours_csv, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(ours_rows[0].keys()))
            w.writeheader()
            for r in ours_rows:
                w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else ("" if v is None else v))
                            for k, v in r.items()})
    md = report(rows, ours_rows, seeds, args, feats, csv_path)
    args.out.write_text(md)
    print(md)
    print(f"written: {args.out}, {csv_path}", file=sys.stderr)
    return 0


def report(rows, ours_rows, seeds, args, feats, csv_path) -> str:
    head = [r for r in rows if r["headline"]]
    protocols = list(dict.fromkeys(r["protocol"] for r in head))
    L = []
    L.append(f"Training sets: splits.parquet `train` + `train_augmented` rows; "
             f"{len(feats)} feature columns ({feats[0]} .. {feats[-1]}); StandardScaler on the training rows.")
    L.append(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, Python {platform.python_version()}; "
             f"BLAS: {blas_info()}; headline seeds: ours {args.ours_seed}, scikit-learn random_state={seeds[0]}. "
             f"Fit times: single-threaded fits on both sides; ours from fits.csv.")
    L.append("")
    L.append("| protocol | folds | accuracy ours | accuracy sklearn | diff (pts, ours - sklearn) "
             "| macro F1 ours | macro F1 sklearn | epochs ours | epochs sklearn "
             "| fit s ours | fit s sklearn | fit time ours/sklearn |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p in protocols:
        rs = [r for r in head if r["protocol"] == p]
        ao, ask = mean([r["ours_accuracy"] for r in rs]), mean([r["sklearn_accuracy"] for r in rs])
        to, tsk = mean([r["ours_fit_seconds"] for r in rs]), mean([r["sklearn_fit_seconds"] for r in rs])
        eo, esk = mean([r["ours_epochs"] for r in rs]), mean([r["sklearn_epochs"] for r in rs])
        L.append(f"| {p} | {len(rs)} | {fmt(ao)} | {fmt(ask)} | {pts(ao - ask)} "
                 f"| {fmt(mean([r['ours_macro_f1'] for r in rs]))} | {fmt(mean([r['sklearn_macro_f1'] for r in rs]))} "
                 f"| {fmt(eo, 1)} | {fmt(esk, 1)} | {fmt(to, 2)} | {fmt(tsk, 2)} "
                 f"| {'n/a' if to is None else f'{to / tsk:.2f}x'} |")
    L.append("")
    L.append("Per fold (headline seed):")
    L.append("")
    L.append("| protocol | fold | train (+aug) | test | acc ours | acc sklearn | diff pts | F1 ours | F1 sklearn "
             "| epochs ours / sklearn | best val acc ours / sklearn | epoch-1 loss ours / sklearn "
             "| fit s ours / sklearn |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in head:
        L.append(f"| {r['protocol']} | {r['fold']} | {r['n_train']} (+{r['n_augmented']}) | {r['n_test']} "
                 f"| {fmt(r['ours_accuracy'])} | {fmt(r['sklearn_accuracy'])} "
                 f"| {pts(r['ours_accuracy'] - r['sklearn_accuracy'])} "
                 f"| {fmt(r['ours_macro_f1'])} | {fmt(r['sklearn_macro_f1'])} "
                 f"| {r['ours_epochs'] if r['ours_epochs'] is not None else 'n/a'} / {r['sklearn_epochs']} "
                 f"| {fmt(r['ours_best_validation_accuracy'], 3)} / {fmt(r['sklearn_best_validation_accuracy'], 3)} "
                 f"| {fmt(r['ours_first_loss'], 3)} / {fmt(r['sklearn_first_loss'], 3)} "
                 f"| {fmt(r['ours_fit_seconds'], 2)} / {fmt(r['sklearn_fit_seconds'], 2)} |")
    ours_seeds = list(dict.fromkeys(r["seed"] for r in ours_rows))
    if len(seeds) > 1 or len(ours_seeds) > 1:
        L.append("")
        L.append(f"Seed spread: ours with [models.mlp] seed in {', '.join(map(str, ours_seeds))}, scikit-learn with "
                 f"random_state in {', '.join(map(str, seeds))}, on the same splits. For each seed, the mean over a "
                 "protocol's folds; then the mean and SD of those per-seed means. 'diff / SE' is the difference of "
                 "the two means over its standard error (sqrt(SD1^2/n1 + SD2^2/n2)); |diff / SE| < 2 is "
                 "consistent with seed noise.")
        L.append("")
        L.append("| protocol | acc ours (mean +- SD) | acc sklearn (mean +- SD) | diff pts | diff / SE "
                 "| macro F1 ours / sklearn | epochs ours / sklearn | epoch-1 loss ours / sklearn "
                 "| best val acc ours / sklearn | fit s per epoch ours / sklearn |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

        def per_seed(rs, key, seed_list):
            return [mean([r[key] for r in rs if r["seed"] == s_]) for s_ in seed_list]

        for p in protocols:
            o = [r for r in ours_rows if r["protocol"] == p]
            k = [r for r in rows if r["protocol"] == p]
            ko = {key: per_seed(o, key, ours_seeds) for key in
                  ("accuracy", "macro_f1", "epochs", "first_loss", "best_validation_accuracy")}
            kk = {key: per_seed(k, "sklearn_" + key, seeds) for key in
                  ("accuracy", "macro_f1", "epochs", "first_loss", "best_validation_accuracy")}
            ao, ak = mean(ko["accuracy"]), mean(kk["accuracy"])
            so, sk = sd(ko["accuracy"]) or 0.0, sd(kk["accuracy"]) or 0.0
            se = math.sqrt(so ** 2 / len(ours_seeds) + sk ** 2 / len(seeds))
            z = "n/a" if se == 0 else f"{(ao - ak) / se:+.2f}"
            spe_o = [r["fit_seconds"] / r["epochs"] for r in o if r["fit_seconds"] is not None and r["epochs"]]
            spe_k = [r["sklearn_fit_seconds"] / r["sklearn_epochs"] for r in k]
            L.append(f"| {p} | {fmt(ao)} +- {fmt(so)} ({len(ours_seeds)}) | {fmt(ak)} +- {fmt(sk)} ({len(seeds)}) "
                     f"| {pts(ao - ak)} | {z} "
                     f"| {fmt(mean(ko['macro_f1']))} / {fmt(mean(kk['macro_f1']))} "
                     f"| {fmt(mean(ko['epochs']), 1)} / {fmt(mean(kk['epochs']), 1)} "
                     f"| {fmt(mean(ko['first_loss']), 3)} / {fmt(mean(kk['first_loss']), 3)} "
                     f"| {fmt(mean(ko['best_validation_accuracy']), 3)} / {fmt(mean(kk['best_validation_accuracy']), 3)} "
                     f"| {fmt(mean(spe_o), 4)} / {fmt(mean(spe_k), 4)} "
                     f"({'n/a' if not spe_o else f'{mean(spe_o) / mean(spe_k):.2f}x'}) |")
    L.append("")
    L.append(f"Per-fold rows: `{csv_path}`.")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    sys.exit(main())
