#!/usr/bin/env python3
"""How often a test recording's other repetition is in training, per fold of a protocol.

RAVDESS records every (actor, emotion, intensity, statement) twice (repetitions 01 and 02). In
the `random` protocol a test recording's other repetition, a near-duplicate, is usually in
training; in `actor_kfold` and `actor_holdout` never. Reads a run's `data/splits.parquet`
(augmented copies ignored). Usage (any Python with pandas and pyarrow):
  python tools/repetition_overlap.py data/splits.parquet [--protocol random]
"""
import argparse

import pandas as pd


def other_repetition(path: str) -> str:
    folder, name = path.rsplit("/", 1)
    fields = name.split("-")
    fields[5] = "02" if fields[5] == "01" else "01"
    return f"{folder}/{'-'.join(fields)}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("splits")
    ap.add_argument("--protocol", default="random")
    args = ap.parse_args()
    s = pd.read_parquet(args.splits)
    s = s[s.source_path.isna() & (s.protocol == args.protocol)]
    shares = []
    for fold, g in s.groupby("fold", sort=True):
        train = set(g[g.part == "train"].path)
        test = list(g[g.part == "test"].path)
        share = sum(other_repetition(p) in train for p in test) / len(test)
        shares.append(share)
        print(f"{args.protocol} {fold}: {len(test)} test recordings, other repetition in training: {share:.4f}")
    print(f"{args.protocol} mean: {sum(shares) / len(shares):.4f}")


if __name__ == "__main__":
    main()
