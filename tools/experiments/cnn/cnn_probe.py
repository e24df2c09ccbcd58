#!/usr/bin/env python3
"""Probe for issue 4, not part of the pipeline: does a small CNN trained from scratch on log-mel
spectrograms beat the pipeline's pooled features + SVM on the same splits?

Input: the 1200 RAVDESS speech files (RAVDESS_DIR), and a `data/splits.parquet` written by the
pipeline's train stage (any run of `pipeline.toml`: the splits depend only on `[split]`), so the
CNN sees exactly the train/test recordings of the pipeline's `random` (seeds 1-3) and
`actor_kfold` (5 folds) protocols. Augmented copies in the splits are ignored.

Front end as the recommended `pipeline.toml`: 22.05 kHz (librosa.load, soxr_hq), silence trimmed
40 dB below the peak, log-mel (64 bands here, n_fft 2048, hop 512, power_to_db), each band
standardised per speaker over all that speaker's frames (no labels, as the pipeline's
`speaker_normalization`).

Model: four 3x3 conv blocks (16, 32, 64, 64 channels, ReLU, 2x2 max pooling after the first
three), global mean and max pooling, dropout 0.3, a dense softmax layer; AdamW (lr 1e-3, weight
decay 1e-4), batches of 32, random 128-frame crops (about 3 s) with one time mask (<= 20 frames)
and one band mask (<= 8 bands), at most 40 epochs (--epochs), early stopping on the loss of a
stratified 10 % of the training recordings (patience 6, --patience; best weights kept). A test recording's
probabilities are the mean over 128-frame crops every 32 frames (zero-padded when shorter:
zero is the speaker's mean after standardisation).

Prints one JSON line per fold (accuracy, macro F1, minimum class recall, fit seconds) and the
means per protocol. Usage:
  python cnn_probe.py --splits RUN/data/splits.parquet [--protocol random] [--epochs 40]
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import librosa
import numpy as np
import optax
import pandas as pd

LABELS = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
SR, N_FFT, HOP, N_MELS, CROP = 22050, 2048, 512, 64, 128


def logmel(path: Path) -> np.ndarray:
    y, _ = librosa.load(path, sr=SR, mono=True)
    y, _ = librosa.effects.trim(y, top_db=40)
    m = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS)
    return librosa.power_to_db(m).T.astype(np.float32)  # (frames, bands)


def load_corpus(root: Path, cache: Path) -> dict:
    if cache.exists():
        z = np.load(cache, allow_pickle=True)
        return dict(z["feats"].item())
    paths = sorted(p.relative_to(root).as_posix() for p in root.glob("Actor_*/*.wav"))
    feats = {p: logmel(root / p) for p in paths}
    np.savez(cache, feats=np.array(feats, dtype=object))
    return feats


def speaker_norm(feats: dict) -> dict:
    out = {}
    for actor in sorted({p.split("/")[0] for p in feats}):
        keys = [p for p in feats if p.startswith(actor + "/")]
        allf = np.concatenate([feats[k] for k in keys])
        mu, sd = allf.mean(0), allf.std(0) + 1e-6
        for k in keys:
            out[k] = (feats[k] - mu) / sd
    return out


def label(path: str) -> int:
    return int(path.split("/")[-1].split("-")[2]) - 1


def init(key):
    chans = [1, 16, 32, 64, 64]
    params = {}
    keys = jax.random.split(key, 5)
    for i in range(4):
        fan_in = chans[i] * 9
        params[f"w{i}"] = jax.random.normal(keys[i], (3, 3, chans[i], chans[i + 1])) * np.sqrt(2 / fan_in)
        params[f"b{i}"] = jnp.zeros(chans[i + 1])
    params["wo"] = jax.random.normal(keys[4], (128, 8)) * np.sqrt(1 / 128)
    params["bo"] = jnp.zeros(8)
    return params


def forward(params, x, key, train):
    # x: (batch, frames, bands)
    h = x[..., None]
    for i in range(4):
        h = jax.lax.conv_general_dilated(h, params[f"w{i}"], (1, 1), "SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
        h = jax.nn.relu(h + params[f"b{i}"])
        if i < 3:
            h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    h = jnp.concatenate([h.mean(axis=(1, 2)), h.max(axis=(1, 2))], axis=-1)
    if train:
        keep = jax.random.bernoulli(key, 0.7, h.shape)
        h = jnp.where(keep, h / 0.7, 0.0)
    return h @ params["wo"] + params["bo"]


def loss_fn(params, x, y, key, train):
    logits = forward(params, x, key, train)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def crop(f: np.ndarray, start: int) -> np.ndarray:
    seg = f[start:start + CROP]
    if len(seg) < CROP:
        seg = np.pad(seg, ((0, CROP - len(seg)), (0, 0)))
    return seg


def train_crops(feats, keys, rng):
    xs = []
    for k in keys:
        f = feats[k]
        start = rng.integers(0, max(1, len(f) - CROP + 1))
        c = crop(f, start).copy()
        t = rng.integers(0, 21)
        t0 = rng.integers(0, CROP - t + 1)
        c[t0:t0 + t] = 0
        b = rng.integers(0, 9)
        b0 = rng.integers(0, N_MELS - b + 1)
        c[:, b0:b0 + b] = 0
        xs.append(c)
    return np.stack(xs)


def eval_crops(f):
    starts = list(range(0, max(1, len(f) - CROP + 1), 32))
    if len(f) > CROP and starts[-1] != len(f) - CROP:
        starts.append(len(f) - CROP)
    return np.stack([crop(f, s) for s in starts])


def fit_predict(feats, train_keys, test_keys, seed, epochs, patience):
    rng = np.random.default_rng(seed)
    y_all = np.array([label(k) for k in train_keys])
    # Stratified 10 % validation of the training recordings.
    val = []
    for c in range(8):
        idx = np.flatnonzero(y_all == c)
        rng.shuffle(idx)
        val.extend(idx[: max(1, round(0.1 * len(idx)))])
    val = set(val)
    tr = [k for i, k in enumerate(train_keys) if i not in val]
    va = [k for i, k in enumerate(train_keys) if i in val]
    params = init(jax.random.PRNGKey(seed))
    opt = optax.adamw(1e-3, weight_decay=1e-4)
    state = opt.init(params)

    @jax.jit
    def step(params, state, x, y, key):
        l, g = jax.value_and_grad(loss_fn)(params, x, y, key, True)
        upd, state = opt.update(g, state, params)
        return optax.apply_updates(params, upd), state, l

    @jax.jit
    def probs(params, x):
        return jax.nn.softmax(forward(params, x, jax.random.PRNGKey(0), False))

    def predict(params, keys):
        return np.stack([np.asarray(probs(params, eval_crops(feats[k]))).mean(0) for k in keys])

    yv = np.array([label(k) for k in va])
    best, best_params, wait = np.inf, params, 0
    key = jax.random.PRNGKey(seed + 1000)
    for epoch in range(epochs):
        order = rng.permutation(len(tr))
        for b in range(0, len(order) - 31, 32):
            ks = [tr[i] for i in order[b:b + 32]]
            x = train_crops(feats, ks, rng)
            y = np.array([label(k) for k in ks])
            key, sub = jax.random.split(key)
            params, state, _ = step(params, state, x, y, sub)
        p = predict(params, va)
        vloss = -np.mean(np.log(p[np.arange(len(yv)), yv] + 1e-12))
        if vloss < best - 1e-4:
            best, best_params, wait = vloss, params, 0
        else:
            wait += 1
            if wait >= patience:
                break
    return predict(best_params, test_keys), epoch + 1


def scores(y, pred):
    from sklearn.metrics import f1_score, recall_score
    return {
        "accuracy": float(np.mean(y == pred)),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=range(8))),
        "min_recall": float(recall_score(y, pred, average=None, labels=range(8)).min()),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", required=True, type=Path)
    ap.add_argument("--root", type=Path, default=Path(os.environ.get("RAVDESS_DIR", "data/ravdess")))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/cnn_logmel64.npz"))
    ap.add_argument("--protocol", action="append")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--patience", type=int, default=6)
    ap.add_argument("--folds", type=int, default=None, help="only the first N folds of a protocol")
    args = ap.parse_args()
    jax.config.update("jax_platform_name", "cpu")
    feats = speaker_norm(load_corpus(args.root, args.cache))
    splits = pd.read_parquet(args.splits)
    splits = splits[splits.source_path.isna()]
    protocols = args.protocol or ["random", "actor_kfold"]
    summary = {}
    for proto in protocols:
        rows = []
        for fold, g in splits[splits.protocol == proto].groupby("fold", sort=True):
            if args.folds is not None and len(rows) >= args.folds:
                break
            train_keys = sorted(g[g.part == "train"].path)
            test_keys = sorted(g[g.part == "test"].path)
            t = time.time()
            p, epochs = fit_predict(feats, train_keys, test_keys, seed=len(rows) + 1,
                                    epochs=args.epochs, patience=args.patience)
            y = np.array([label(k) for k in test_keys])
            s = scores(y, p.argmax(1))
            s.update(protocol=proto, fold=fold, epochs=epochs, fit_s=round(time.time() - t, 1))
            print(json.dumps(s), flush=True)
            rows.append(s)
        summary[proto] = {m: float(np.mean([r[m] for r in rows])) for m in ("accuracy", "macro_f1", "min_recall")}
        print(json.dumps({"protocol": proto, "mean": summary[proto]}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
