#!/usr/bin/env python3
"""Reference classification metrics from scikit-learn for `tests/metrics_parity.rs`.

Writes, relative to the repository root:
  tests/fixtures/sklearn_metrics/cases.json   seeded y_true / y_pred cases over the eight RAVDESS
                                              emotions, and for each scikit-learn's
                                                classification_report(y_true, y_pred,
                                                    labels=range(8), target_names=LABELS,
                                                    output_dict=True, zero_division=0)
                                                confusion_matrix(y_true, y_pred, labels=range(8))

The cases cover what `ser_pipeline::metrics` must get right beyond the common case: a class that
is never predicted (precision 0/0), a class absent from y_true but listed in labels (recall 0/0,
support 0, still in the macro average), a class that is both (F1 0/0), heavy imbalance, and a
tiny sample.

Usage (from the repository root):
  python3 -m venv /tmp/sklvenv
  /tmp/sklvenv/bin/pip install -r tools/reference/requirements-sklearn.txt
  /tmp/sklvenv/bin/python tools/reference/sklearn_metrics.py
"""

from __future__ import annotations

import json
import platform
import re
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import classification_report, confusion_matrix

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "fixtures" / "sklearn_metrics" / "cases.json"

SEED = 20240612
LABELS = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
K = len(LABELS)


def noisy_predictions(rng: np.random.Generator, y_true: np.ndarray, p_correct: float) -> np.ndarray:
    """Each prediction is the true class with probability p_correct, else a uniform class."""
    wrong = rng.integers(0, K, size=y_true.shape)
    keep = rng.random(y_true.shape) < p_correct
    return np.where(keep, y_true, wrong)


def make_cases(rng: np.random.Generator) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    cases = []

    y = rng.integers(0, K, size=240)
    cases.append(("balanced", "uniform classes, 70% kept correct (plus chance hits)", y, noisy_predictions(rng, y, 0.7)))

    y = rng.integers(0, K, size=150)
    p = noisy_predictions(rng, y, 0.6)
    p[p == 1] = 0  # "calm" is never predicted: its precision is 0/0
    cases.append(("never_predicted", "class 1 (calm) is never predicted", y, p))

    y = rng.integers(0, K - 1, size=150)  # "surprised" never occurs in y_true ...
    p = noisy_predictions(rng, y, 0.6)
    p[:5] = K - 1  # ... but is predicted a few times: recall 0/0, precision 0
    cases.append(("absent_from_true", "class 7 (surprised) absent from y_true, predicted 5 times", y, p))

    y = rng.integers(0, K, size=120)
    y[y == 6] = 5
    p = noisy_predictions(rng, y, 0.5)
    p[p == 6] = 4  # "disgust" is neither present nor predicted: F1 0/0
    cases.append(("absent_and_never_predicted", "class 6 (disgust) neither in y_true nor predicted", y, p))

    weights = np.array([0.4, 0.25, 0.12, 0.08, 0.06, 0.05, 0.03, 0.01])
    y = rng.choice(K, size=1000, p=weights)
    cases.append(("imbalanced", "skewed class frequencies, 1000 samples", y, noisy_predictions(rng, y, 0.8)))

    y = np.array([0, 3, 3])
    p = np.array([3, 3, 0])
    cases.append(("tiny", "three samples over eight labels", y, p))

    return cases


def main() -> None:
    rng = np.random.default_rng(SEED)
    out_cases = []
    for name, description, y_true, y_pred in make_cases(rng):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = classification_report(
                y_true,
                y_pred,
                labels=list(range(K)),
                target_names=LABELS,
                output_dict=True,
                zero_division=0,
            )
        cm = confusion_matrix(y_true, y_pred, labels=list(range(K)))
        out_cases.append(
            {
                "name": name,
                "description": description,
                "y_true": [int(v) for v in y_true],
                "y_pred": [int(v) for v in y_pred],
                "report": report,
                "confusion_matrix": cm.tolist(),
            }
        )

    data = {
        "generator": "tools/reference/sklearn_metrics.py",
        "seed": SEED,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "call": "classification_report(y_true, y_pred, labels=range(8), target_names=labels, "
        "output_dict=True, zero_division=0); confusion_matrix(y_true, y_pred, labels=range(8))",
        "labels": LABELS,
        "cases": out_cases,
    }
    text = json.dumps(data, indent=1)
    # Keep integer lists on one line so the fixture stays small and diffable.
    text = re.sub(r"\[\s*([-\d,\s]*?)\s*\]", lambda m: "[" + re.sub(r"\s+", "", m.group(1)).replace(",", ", ") + "]", text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".json.tmp")
    tmp.write_text(text + "\n")
    tmp.replace(OUT)
    print(f"wrote {OUT.relative_to(ROOT)} ({len(out_cases)} cases, {OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
