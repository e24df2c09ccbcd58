#!/usr/bin/env python3
"""Reference runs of scikit-learn's MLPClassifier for the parity tests of `src/models/mlp/`.

Writes, relative to the repository root:
  tests/fixtures/sklearn_mlp/trajectory.json
      Exact-trajectory cases: small data, scikit-learn's own initial weights (drawn with its
      `_init_coef`), and, after training with shuffle=False and early_stopping=False (so no other
      random draw is made), the loss curve and the final predict_proba. The Rust test starts from
      the same weights and must follow the same path.
  tests/fixtures/sklearn_mlp/accuracy.json
      A fixed synthetic 8-class problem (make_classification, rounded to 5 decimals, which both
      sides read as is) and scikit-learn's test accuracy with the default adam/early-stopping
      recipe for twenty seeds. The random streams differ (numpy's MT19937 vs ChaCha8), so the
      Rust test compares the mean accuracy over the same seeds.

Usage (from the repository root):
  python3 -m venv /tmp/mlpvenv
  /tmp/mlpvenv/bin/pip install -r tools/reference/requirements-sklearn.txt
  /tmp/mlpvenv/bin/python tools/reference/sklearn_mlp.py
  # optional: check that a model written by Mlp::to_safetensors loads with the Python package
  /tmp/mlpvenv/bin/python tools/reference/sklearn_mlp.py --read-model model.safetensors
"""

from __future__ import annotations

import argparse
import json
import platform
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

OUT = Path("tests/fixtures/sklearn_mlp")


def sklearn_initial_weights(clf: MLPClassifier, sizes: list[int], seed: int):
    """The weights `clf.fit` starts from: `_init_coef` layer by layer from RandomState(seed)."""
    clf._random_state = np.random.RandomState(seed)
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w, b = clf._init_coef(fan_in, fan_out, np.float64)
        coefs.append(w)
        intercepts.append(b)
    return coefs, intercepts


def trajectory_case(name, n, d, n_classes, hidden, alpha, batch_size, epochs, seed):
    X, y = make_classification(
        n_samples=n, n_features=d, n_informative=min(d, 4), n_redundant=0,
        n_classes=n_classes, n_clusters_per_class=1, random_state=seed,
    )
    X = np.round(X, 5)
    params = dict(
        hidden_layer_sizes=tuple(hidden), activation="relu", solver="adam", alpha=alpha,
        batch_size=batch_size, learning_rate_init=1e-3, max_iter=epochs, shuffle=False,
        early_stopping=False, n_iter_no_change=epochs + 1, tol=1e-4, random_state=seed,
    )
    out_units = 1 if n_classes == 2 else n_classes
    sizes = [d, *hidden, out_units]
    coefs, intercepts = sklearn_initial_weights(MLPClassifier(**params), sizes, seed)
    clf = MLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.n_iter_ == epochs
    return {
        "name": name,
        "n_classes": n_classes,
        "hidden_layers": hidden,
        "alpha": alpha,
        "batch_size": batch_size,
        "epochs": epochs,
        "x": X.tolist(),
        "y": y.tolist(),
        "init_weights": [w.tolist() for w in coefs],
        "init_biases": [b.tolist() for b in intercepts],
        "loss_curve": list(clf.loss_curve_),
        "final_proba": clf.predict_proba(X).tolist(),
    }


def accuracy_problem(seeds):
    X, y = make_classification(
        n_samples=640, n_features=16, n_informative=10, n_redundant=4, n_classes=8,
        n_clusters_per_class=1, class_sep=1.5, flip_y=0.0, random_state=2024,
    )
    X = np.round(X, 5)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    hidden = [128, 64]
    accuracies, epochs = [], []
    for seed in seeds:
        clf = MLPClassifier(
            hidden_layer_sizes=tuple(hidden), activation="relu", solver="adam", alpha=1e-4,
            batch_size=64, learning_rate_init=1e-3, max_iter=1000, early_stopping=True,
            validation_fraction=0.1, n_iter_no_change=10, tol=1e-4, shuffle=True,
            random_state=seed,
        )
        clf.fit(X_train, y_train)
        accuracies.append(float(clf.score(X_test, y_test)))
        epochs.append(int(clf.n_iter_))
    return {
        "n_classes": 8,
        "hidden_layers": hidden,
        "seeds": list(seeds),
        "x_train": X_train.tolist(),
        "y_train": y_train.tolist(),
        "x_test": X_test.tolist(),
        "y_test": y_test.tolist(),
        "sklearn_accuracy": accuracies,
        "sklearn_mean_accuracy": float(np.mean(accuracies)),
        "sklearn_epochs": epochs,
    }


def read_model(path: str) -> None:
    from safetensors.numpy import load_file

    tensors = load_file(path)
    n_layers = len(tensors) // 2
    for i in range(n_layers):
        w, b = tensors[f"layers.{i}.weight"], tensors[f"layers.{i}.bias"]
        print(f"layers.{i}: weight {w.shape} {w.dtype}, bias {b.shape} {b.dtype}")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--read-model",
        help="print the tensors of a safetensors file written by Mlp::to_safetensors",
    )
    args = ap.parse_args()
    if args.read_model:
        read_model(args.read_model)
        return

    OUT.mkdir(parents=True, exist_ok=True)
    provenance = {
        "generator": "tools/reference/sklearn_mlp.py",
        "scikit_learn": sklearn.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }
    trajectory = {
        **provenance,
        "cases": [
            trajectory_case("softmax_3_classes", 120, 6, 3, [8, 6], 1e-2, 32, 30, 7),
            trajectory_case("logistic_2_classes", 100, 5, 2, [7], 1e-3, 16, 30, 11),
        ],
    }
    (OUT / "trajectory.json").write_text(json.dumps(trajectory) + "\n")
    accuracy = {**provenance, **accuracy_problem(range(20))}
    (OUT / "accuracy.json").write_text(json.dumps(accuracy) + "\n")
    print(
        "sklearn accuracy per seed", accuracy["sklearn_accuracy"],
        "mean %.4f" % accuracy["sklearn_mean_accuracy"], "epochs", accuracy["sklearn_epochs"],
    )


if __name__ == "__main__":
    main()
