#!/usr/bin/env python3
"""Reference for `src/models/svm/`: scikit-learn's SVC(kernel="rbf") on small seeded problems.
Writes tests/fixtures/sklearn_svm/cases.json, read by tests/svm_parity.rs. Pins:
tools/reference/requirements-sklearn.txt (scikit-learn 1.9.1, numpy 2.4.6).

    /tmp/sklvenv/bin/python tools/reference/sklearn_svm.py

Each case: training rows `x` / labels `y` (fitted as is, no scaling), test rows `x_test`, the
SVC parameters, and scikit-learn's fitted `gamma` (`_gamma`), `n_support_`, `predict` (vote
ties to the first class) and `predict` with `break_ties=True` (to the larger ovr decision), the
pairwise decision values in libsvm's sign convention (positive = the pair's first class; for
two classes scikit-learn's `decision_function` is negated to get it) and, for more than two
classes, `decision_function` with `decision_function_shape="ovr"`. Inputs are rounded to 5
decimals so that both sides read the same numbers.
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


def classification(n, d, k, seed):
    x, y = make_classification(
        n_samples=n, n_features=d, n_informative=min(d, 8), n_redundant=0,
        n_classes=k, n_clusters_per_class=1, class_sep=1.0, flip_y=0.03, random_state=seed,
    )
    x = StandardScaler().fit_transform(x)
    return np.round(x, 5), y


def rings(n, seed):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    r = y + 1 + rng.uniform(-0.4, 0.4, n)
    t = rng.uniform(0, 2 * np.pi, n)
    return np.round(np.c_[r * np.cos(t), r * np.sin(t)], 5), y


def case(name, x, y, n_train, c, gamma, tol):
    xtr, ytr, xte = x[:n_train], y[:n_train], x[n_train:]
    clf = SVC(kernel="rbf", C=c, gamma=gamma, tol=tol, decision_function_shape="ovr").fit(xtr, ytr)
    ovo = SVC(kernel="rbf", C=c, gamma=gamma, tol=tol, decision_function_shape="ovo").fit(xtr, ytr)
    k = len(clf.classes_)
    dec_ovo = ovo.decision_function(xte)
    out = {
        "name": name,
        "c": c,
        "gamma": gamma,
        "tol": tol,
        "n_classes": k,
        "x": xtr.tolist(),
        "y": ytr.tolist(),
        "x_test": xte.tolist(),
        "fitted_gamma": float(clf._gamma),
        "n_support": clf.n_support_.tolist(),
        "predict": clf.predict(xte).tolist(),
        "predict_break_ties": SVC(
            kernel="rbf", C=c, gamma=gamma, tol=tol, break_ties=True
        ).fit(xtr, ytr).predict(xte).tolist() if k > 2 else clf.predict(xte).tolist(),
    }
    if k == 2:
        out["decision_ovo"] = (-dec_ovo).reshape(-1, 1).tolist()
    else:
        out["decision_ovo"] = dec_ovo.tolist()
        out["decision_ovr"] = clf.decision_function(xte).tolist()
    return out


cases = []
x, y = classification(300, 20, 8, seed=7)
cases.append(case("eight_classes", x, y, 220, 10.0, "scale", 1e-3))
cases.append(case("eight_classes_tight", x, y, 220, 10.0, "scale", 1e-8))
x, y = classification(160, 12, 4, seed=11)
cases.append(case("four_classes_c1_auto", x, y, 120, 1.0, "auto", 1e-3))
x, y = rings(240, seed=3)
cases.append(case("rings_gamma_0.5", x, y, 180, 1.0, 0.5, 1e-3))
x, y = classification(120, 6, 2, seed=5)
cases.append(case("two_classes", x, y, 90, 10.0, "scale", 1e-3))

out = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/sklearn_svm/cases.json"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps({"sklearn": sklearn.__version__, "numpy": np.__version__, "cases": cases}))
print(f"wrote {out}")
