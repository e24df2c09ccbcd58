#!/usr/bin/env python3
"""Sanity check for bench/extract.sh: do both tools' last outputs hold the same features?

Matches ser-pipeline's features.parquet rows to the reference .npy rows by relative path and
prints, per feature family, the largest relative deviation |ours - ref| / max(|ref| of that
column over all files, tiny), plus the row counts. It is not a parity test (tests/librosa_parity.rs
is): the reference here is librosa computing in float32 with a float64 FFT, ours with its
default float32 front end (float32 FFT), so small deviations are expected. It only guards against a benchmark that times different work.
Prints one JSON object.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


def main() -> int:
    ours_path, ref_npy = Path(sys.argv[1]), Path(sys.argv[2])
    t = pq.read_table(ours_path)
    names = [n for n in t.schema.names if n.startswith(("mfcc_mean_", "chroma_mean_", "mel_mean_"))]
    ours = np.column_stack([t.column(n).to_numpy() for n in names]).astype(np.float64)
    ours_paths = t.column("path").to_pylist()
    ref = np.load(ref_npy)
    ref_paths = ref_npy.with_suffix(".paths.txt").read_text().split()
    idx = {p: i for i, p in enumerate(ref_paths)}
    common = [p for p in ours_paths if p in idx]
    o = ours[[ours_paths.index(p) for p in common]]
    r = ref[[idx[p] for p in common]]
    res = {"ours_rows": len(ours_paths), "ref_rows": len(ref_paths), "matched_rows": len(common),
           "ours_columns": len(names), "ref_columns": int(ref.shape[1])}
    if o.shape == r.shape:
        scale = np.maximum(np.abs(r).max(axis=0), 1e-12)
        rel = np.abs(o - r) / scale
        for fam, sl in (("mfcc", slice(0, 40)), ("chroma", slice(40, 52)), ("mel", slice(52, 180))):
            res[f"{fam}_max_rel_dev"] = float(rel[:, sl].max())
            res[f"{fam}_median_rel_dev"] = float(np.median(rel[:, sl]))
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
