"""Reference for preprocess::Scaler: scikit-learn's StandardScaler on a few seeded matrices,
including a constant column, a near-constant one and large offsets. Writes
tests/fixtures/sklearn_scaler/cases.json. Pins: tools/reference/requirements-sklearn.txt.

    /tmp/sklvenv/bin/python tools/reference/sklearn_scaler.py
"""
import json
import pathlib

import numpy as np
import sklearn
from sklearn.preprocessing import StandardScaler

rng = np.random.default_rng(20261124)
cases = []
for name, n, d in [("gaussian", 50, 6), ("tall", 400, 3), ("two_rows", 2, 4)]:
    x = rng.normal(size=(n, d)) * rng.uniform(0.1, 100, size=d) + rng.uniform(-1e3, 1e3, size=d)
    x[:, 0] = 7.25  # constant column: scale 1, output 0
    if d > 3:
        x[:, 1] = 1e6 + rng.normal(size=n) * 1e-12  # variance at rounding level
    s = StandardScaler().fit(x)
    cases.append({
        "name": name,
        "x": x.tolist(),
        "mean": s.mean_.tolist(),
        "scale": s.scale_.tolist(),
        "z": s.transform(x).tolist(),
    })
out = pathlib.Path(__file__).resolve().parents[2] / "tests/fixtures/sklearn_scaler/cases.json"
out.write_text(json.dumps({"sklearn": sklearn.__version__, "numpy": np.__version__, "cases": cases}))
print(f"wrote {out}")
