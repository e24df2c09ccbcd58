#!/usr/bin/env python3
"""Reference features from librosa 0.11 for `tests/librosa_parity.rs`.

Writes, relative to the repository root:
  tests/fixtures/librosa/signals/NAME.wav   small synthetic 16-bit PCM mono signals (ours)
  tests/fixtures/librosa/reference.json     librosa's features for those signals and, when a
                                            RAVDESS copy is found, for six fixed RAVDESS files
                                            (values and sha256 only: no RAVDESS audio is copied)

The features are the ones `ser_pipeline::features::Extractor` mirrors:
  mfcc   = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=40)
  chroma = librosa.feature.chroma_stft(S=np.abs(librosa.stft(y)), sr=sr)
  mel    = librosa.feature.melspectrogram(y=y, sr=sr)
  tuning = librosa.estimate_tuning(S=np.abs(librosa.stft(y)), sr=sr, bins_per_octave=12)
each pooled with np.mean(x, axis=1), and the optional families and statistics (see EXTRA below):
  log_mel            = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80)
  mfcc_delta(2)      = librosa.feature.delta(mfcc, order=1 | 2)   (width 9, mode 'interp')
  rms                = librosa.feature.rms(y=y)                   (float32, as librosa computes it)
  zcr                = librosa.feature.zero_crossing_rate(y)
  spectral_centroid  = librosa.feature.spectral_centroid(S=|stft|, sr=sr)
  spectral_bandwidth = librosa.feature.spectral_bandwidth(S=|stft|, sr=sr)
  spectral_rolloff   = librosa.feature.spectral_rolloff(S=|stft|, sr=sr)
  spectral_flatness  = librosa.feature.spectral_flatness(S=|stft|)
  spectral_contrast  = librosa.feature.spectral_contrast(S=|stft|, sr=sr)
pooled over frames in float64 by mean, np.std, np.min, np.max, np.median and np.percentile(q=10,
90); and silence trimming, librosa.effects.trim(y, top_db) for top_db 30 and 60, with the default
families' means of the trimmed signal.

It also writes tests/fixtures/librosa/yin.json (see `yin_entry`): per frame,
  f0 = librosa.yin(y, fmin=65, fmax=600, sr=sr, frame_length=2048, hop_length=512)
its aperiodicity (the CMNDF value at the chosen lag, from librosa's own internals), and the `f0`
family's frames (voicing rule and interpolated semitones, written here with numpy), for the
synthetic signals above, two signals of their own (YIN_SIGNALS, made from their own seed so the
others are unchanged) and the RAVDESS files. `--only yin` writes yin.json and its signals only.

The Rust code computes in float64 from float32 samples, so the reference feeds librosa the
float32 samples as read (soundfile, dtype='float32') cast to float64. Synthetic signals are read
back from the WAV written here, so quantisation is identical on both sides. For the RAVDESS files
the original recipe's own float32 computation (librosa.load(path, sr=None), no cast) is recorded
too, under `float32_recipe`, with its deviation from the float64 reference.

Usage (from the repository root):
  python3 -m venv /tmp/refvenv
  /tmp/refvenv/bin/pip install -r tools/reference/requirements.txt
  /tmp/refvenv/bin/python tools/reference/librosa_fixtures.py [--ravdess data/ravdess]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
from pathlib import Path

import librosa
import numba
import numpy as np
import scipy
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]
OUT_DIR = ROOT / "tests" / "fixtures" / "librosa"
SIGNAL_DIR = OUT_DIR / "signals"

SEED = 20240611
N_MFCC = 40

# Fixed RAVDESS files (relative to the RAVDESS root): actors 01..20, six emotions, both
# intensities and statements. The corpus copy here holds actors 01 to 20 only.
RAVDESS_FILES = [
    "Actor_01/03-01-01-01-01-01-01.wav",  # neutral
    "Actor_05/03-01-05-02-01-01-05.wav",  # angry, strong
    "Actor_08/03-01-03-01-02-02-08.wav",  # happy
    "Actor_12/03-01-04-02-01-02-12.wav",  # sad, strong
    "Actor_17/03-01-06-01-02-01-17.wav",  # fearful
    "Actor_20/03-01-08-02-02-02-20.wav",  # surprised, strong
]


def versions() -> dict:
    """The reference's software versions, recorded in every fixture file."""
    return {
        "python": platform.python_version(),
        "librosa": librosa.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "soundfile": sf.__version__,
        "numba": numba.__version__,
    }

def tone(sr: int, seconds: float, hz: float, amp: float) -> np.ndarray:
    t = np.arange(int(round(sr * seconds))) / sr
    return amp * np.sin(2 * np.pi * hz * t)


def synthetic_signals(rng: np.random.Generator) -> list[tuple[str, int, np.ndarray]]:
    """(name, sample_rate, float64 signal in [-1, 1]) for each synthetic fixture."""
    signals = []
    signals.append(("tone440_22050", 22050, tone(22050, 1.0, 440.0, 0.5)))

    # 20 cents sharp of A4, with a second partial, so tuning estimation has a clear answer.
    sharp = 440.0 * 2.0 ** (20.0 / 1200.0)
    y = tone(48000, 0.75, sharp, 0.4) + tone(48000, 0.75, 2 * sharp, 0.15)
    signals.append(("tone_sharp20c_48000", 48000, y))

    sr, seconds, f0, f1 = 48000, 0.75, 100.0, 8000.0
    t = np.arange(int(sr * seconds)) / sr
    phase = 2 * np.pi * (f0 * t + 0.5 * (f1 - f0) / seconds * t**2)
    signals.append(("chirp100_8000_48000", sr, 0.5 * np.sin(phase)))

    noise = np.clip(0.1 * rng.standard_normal(16000), -1.0, 1.0)
    signals.append(("white_noise_16000", 16000, noise))

    half = np.zeros(11025)
    signals.append(
        ("silence_then_tone_22050", 22050, np.concatenate([half, tone(22050, 0.5, 660.0, 0.3)]))
    )

    # A few LSBs of noise: exercises the amin / top_db floor of power_to_db.
    signals.append(("near_silent_22050", 22050, 1.5e-4 * rng.standard_normal(11025)))

    # Shorter than n_fft: librosa.stft pads head and tail as one block (the short-signal path).
    signals.append(("short_tone_16000", 16000, tone(16000, 0.05, 1000.0, 0.5)))

    # A tone burst between pauses with a faint noise floor (about -70 dBFS), 20 ms fades:
    # librosa.effects.trim keeps different spans at top_db 30 and 60.
    sr = 16000
    floor = 3e-4 * rng.standard_normal(int(1.2 * sr))
    burst = tone(sr, 0.5, 220.0, 0.5) + tone(sr, 0.5, 660.0, 0.1)
    fade = np.minimum(1.0, np.minimum(np.arange(len(burst)), np.arange(len(burst))[::-1]) / (0.02 * sr))
    start = int(0.4 * sr)
    floor[start:start + len(burst)] += burst * fade
    signals.append(("pause_tone_pause_16000", sr, floor))
    return signals


# The f0 family (src/features/pitch.rs): librosa.yin's parameters and the voicing rule.
YIN_FMIN, YIN_FMAX, YIN_FRAME, YIN_HOP, YIN_TROUGH = 65.0, 600.0, 2048, 512, 0.1
VOICED_APERIODICITY, VOICED_RMS_DB, REFERENCE_HZ = 0.55, 40.0, 440.0
YIN_SEED = 20261125


def glide_hz(t: np.ndarray) -> np.ndarray:
    """The voiced signal's F0 at time t (s) into its tone: 110 -> 220 Hz exponentially over
    1 s, with a 5 Hz vibrato of +-0.3 semitone."""
    return 110.0 * 2.0 ** t * 2.0 ** (0.3 / 12.0 * np.sin(2 * np.pi * 5.0 * t))


def yin_signals(rng: np.random.Generator) -> list[tuple[str, int, np.ndarray, dict]]:
    """(name, sample_rate, signal, facts) for the signals made for the yin fixtures."""
    out = []
    # 0.2 s silence, 1 s harmonic glide with vibrato (6 partials at 1/k, 20 ms fades), 0.3 s
    # white noise: voiced, silent and aperiodic frames with a known pitch.
    sr = 22050
    lead, seconds, tail = int(0.2 * sr), 1.0, int(0.3 * sr)
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * np.cumsum(glide_hz(t)) / sr
    tone = sum(np.sin(k * phase) / k for k in range(1, 7))
    fade = np.minimum(1.0, np.minimum(np.arange(len(t)), np.arange(len(t))[::-1]) / (0.02 * sr))
    y = np.concatenate([np.zeros(lead), 0.25 * tone * fade, 0.05 * rng.standard_normal(tail)])
    out.append(("voiced_glide_22050", sr, y, {"tone_start": lead, "tone_samples": len(t)}))
    # A 16 kHz speech-like pulse train at 180 Hz (decaying resonance per period), then silence.
    sr = 16000
    n = int(0.6 * sr)
    period = sr / 180.0
    k = np.arange(n)
    pulse = np.exp(-(k % period) / 20.0) * np.sin(2 * np.pi * 700.0 * (k % period) / sr)
    y = np.concatenate([0.4 * pulse, np.zeros(int(0.2 * sr))])
    out.append(("pulse180_16000", sr, y, {"tone_start": 0, "tone_samples": n}))
    return out


def yin_entry(y: np.ndarray, sr: int) -> dict:
    """librosa.yin's F0 per frame, its aperiodicity, and the f0 family's frames of y (float64)."""
    from librosa.core.pitch import _cumulative_mean_normalized_difference, _parabolic_interpolation

    f0 = librosa.yin(y, fmin=YIN_FMIN, fmax=YIN_FMAX, sr=sr, frame_length=YIN_FRAME,
                     hop_length=YIN_HOP, trough_threshold=YIN_TROUGH)
    # librosa.yin's steps (0.11), to read the CMNDF at the chosen lag.
    yp = np.pad(y, (YIN_FRAME // 2, YIN_FRAME // 2), mode="constant")
    frames = librosa.util.frame(yp, frame_length=YIN_FRAME, hop_length=YIN_HOP)
    min_p = int(np.floor(sr / YIN_FMAX))
    max_p = min(int(np.ceil(sr / YIN_FMIN)), YIN_FRAME - 1)
    c = _cumulative_mean_normalized_difference(frames, min_p, max_p)
    shifts = _parabolic_interpolation(c)
    trough = librosa.util.localmin(c, axis=-2)
    trough[0, :] = c[0, :] < c[1, :]
    below = np.logical_and(trough, c < YIN_TROUGH)
    idx = np.argmax(below, axis=0)
    none = ~below.any(axis=0)
    idx[none] = np.argmin(c, axis=0)[none]
    cols = np.arange(c.shape[1])
    again = sr / (min_p + idx + shifts[idx, cols])
    assert np.array_equal(again, f0), "the step-by-step yin differs from librosa.yin"
    aperiodicity = c[idx, cols]
    rms = librosa.feature.rms(y=y, frame_length=YIN_FRAME, hop_length=YIN_HOP)[0]
    assert len(rms) == len(f0)
    rms64 = rms.astype(np.float64)
    voiced = (aperiodicity < VOICED_APERIODICITY) & (
        rms64 > float(rms.max()) * 10.0 ** (-VOICED_RMS_DB / 20.0))
    st = 12.0 * np.log2(f0 / REFERENCE_HZ)
    t = np.arange(len(f0))
    if voiced.any():
        semitones = np.interp(t, t[voiced], st[voiced])
    else:
        semitones = np.full(len(f0), 12.0 * np.log2(YIN_FMIN / REFERENCE_HZ))
    return {
        "sample_rate": sr,
        "n_samples": len(y),
        "n_frames": len(f0),
        "min_period": min_p,
        "max_period": max_p,
        "f0": [float(v) for v in f0],
        "aperiodicity": [float(v) for v in aperiodicity],
        "voiced": [bool(v) for v in voiced],
        "semitones": [float(v) for v in semitones],
    }


def write_yin(signal_names: list[tuple[str, int]], ravdess_root: Path | None) -> None:
    """tests/fixtures/librosa/yin.json from the synthetic WAVs already written, YIN_SIGNALS
    (written here) and, when given, the RAVDESS files."""
    rng = np.random.default_rng(YIN_SEED)
    synthetic = []
    for name, sr in signal_names:
        wav = SIGNAL_DIR / f"{name}.wav"
        y32, sr_read = sf.read(wav, dtype="float32")
        assert sr_read == sr and y32.ndim == 1
        entry = {"name": name, "file": f"signals/{name}.wav", "sha256": sha256(wav)}
        entry.update(yin_entry(y32.astype(np.float64), sr))
        synthetic.append(entry)
    for name, sr, y, facts in yin_signals(rng):
        wav = SIGNAL_DIR / f"{name}.wav"
        sf.write(wav, to_pcm16(y), sr, subtype="PCM_16")
        y32, sr_read = sf.read(wav, dtype="float32")
        assert sr_read == sr and y32.ndim == 1
        entry = {"name": name, "file": f"signals/{name}.wav", "sha256": sha256(wav)}
        entry.update(yin_entry(y32.astype(np.float64), sr))
        # The synthesised F0 at each frame centre inside the tone (away from its fades).
        start, n = facts["tone_start"], facts["tone_samples"]
        centres = np.arange(entry["n_frames"]) * YIN_HOP - start
        inside = (centres >= YIN_FRAME // 2) & (centres < n - YIN_FRAME // 2)
        truth = glide_hz(centres / sr) if name.startswith("voiced_glide") else np.full(
            len(centres), 180.0)
        entry["true_f0"] = [float(v) if ok else None for v, ok in zip(truth, inside)]
        synthetic.append(entry)
    ravdess = []
    if ravdess_root is not None:
        for rel in RAVDESS_FILES:
            path = ravdess_root / rel
            y32, sr = sf.read(path, dtype="float32")
            entry = {"path": rel, "sha256": sha256(path), "file_size": path.stat().st_size}
            entry.update(yin_entry(y32.astype(np.float64), sr))
            ravdess.append(entry)
    for e in synthetic + ravdess:
        print(f"yin {e.get('name', e.get('path'))}: frames={e['n_frames']} "
              f"voiced={sum(e['voiced'])}")
    doc = {
        "description": "librosa.yin reference and the f0 family's frames for "
        "tests/librosa_parity.rs; made by tools/reference/librosa_fixtures.py",
        "versions": versions(),
        "params": {"fmin": YIN_FMIN, "fmax": YIN_FMAX, "frame_length": YIN_FRAME,
                   "hop_length": YIN_HOP, "trough_threshold": YIN_TROUGH,
                   "voiced_aperiodicity": VOICED_APERIODICITY, "voiced_rms_db": VOICED_RMS_DB,
                   "reference_hz": REFERENCE_HZ,
                   "input": "float32 samples as read, cast to float64"},
        "synthetic": synthetic,
        "ravdess": ravdess,
    }
    out = OUT_DIR / "yin.json"
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size} bytes)")


def to_pcm16(y: np.ndarray) -> np.ndarray:
    return np.clip(np.round(y * 32767.0), -32768, 32767).astype(np.int16)


def frames_to_lists(x: np.ndarray, index: list[int]) -> list[list[float]]:
    """Frame rows (`x` is librosa's (dims, n_frames)) as plain float lists."""
    return [[float(v) for v in x[:, i]] for i in index]


def features(y: np.ndarray, sr: int) -> dict[str, np.ndarray | float]:
    """Frame-level features exactly as the Rust extractor mirrors them, for `y` of any dtype."""
    S = np.abs(librosa.stft(y))
    return {
        "mfcc": librosa.feature.mfcc(y=y, sr=sr, n_mfcc=N_MFCC),
        "chroma": librosa.feature.chroma_stft(S=S, sr=sr),
        "mel": librosa.feature.melspectrogram(y=y, sr=sr),
        "tuning": float(librosa.estimate_tuning(S=S, sr=sr, bins_per_octave=12)),
    }


STATS = {
    "mean": lambda x: np.mean(x, axis=1),
    "std": lambda x: np.std(x, axis=1),
    "min": lambda x: np.min(x, axis=1),
    "max": lambda x: np.max(x, axis=1),
    "median": lambda x: np.median(x, axis=1),
    "p10": lambda x: np.percentile(x, 10, axis=1),
    "p90": lambda x: np.percentile(x, 90, axis=1),
}

# The optional families, and the statistics recorded for each (every family gets the mean;
# the pooling code is shared by all families, so the other statistics are recorded for the
# first MFCC delta and the small families only, which keeps reference.json under 600 KB).
EXTRA = {
    "log_mel": ["mean"],
    "mfcc_delta": list(STATS),
    "mfcc_delta2": ["mean"],
    "rms": list(STATS),
    "zcr": list(STATS),
    "spectral_centroid": list(STATS),
    "spectral_bandwidth": list(STATS),
    "spectral_rolloff": list(STATS),
    "spectral_flatness": list(STATS),
    "spectral_contrast": list(STATS),
}
# Frame rows recorded per optional family (synthetic signals): rows of frame_index, except
# log_mel (128 values a row), which keeps the first frame's row only (it is power_to_db of the
# mel rows already compared; frame 0 shows the padding and the top_db floor).
FRAME_ROWS = {"log_mel": 1}

DELTA_WIDTH = 9
TRIM_TOP_DB = [30, 60]
# Signals whose trimmed features are recorded too.
TRIM_SYNTHETIC = ["silence_then_tone_22050", "pause_tone_pause_16000"]
TRIM_RAVDESS = ["Actor_01/03-01-01-01-01-01-01.wav"]


def extra_features(y: np.ndarray, sr: int, f: dict) -> dict[str, np.ndarray | None]:
    """The optional families' frames, (dims, n_frames) float64; None where librosa refuses
    (delta needs at least `width` frames)."""
    S = np.abs(librosa.stft(y))
    mel = f["mel"]
    n_frames = mel.shape[1]
    out = {
        "log_mel": librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0),
        "mfcc_delta": None,
        "mfcc_delta2": None,
        "rms": librosa.feature.rms(y=y),
        "zcr": librosa.feature.zero_crossing_rate(y),
        "spectral_centroid": librosa.feature.spectral_centroid(S=S, sr=sr),
        "spectral_bandwidth": librosa.feature.spectral_bandwidth(S=S, sr=sr),
        "spectral_rolloff": librosa.feature.spectral_rolloff(S=S, sr=sr),
        "spectral_flatness": librosa.feature.spectral_flatness(S=S),
        "spectral_contrast": librosa.feature.spectral_contrast(S=S, sr=sr),
    }
    if n_frames >= DELTA_WIDTH:
        out["mfcc_delta"] = librosa.feature.delta(f["mfcc"], order=1)
        out["mfcc_delta2"] = librosa.feature.delta(f["mfcc"], order=2)
    for name, x in out.items():
        if x is not None:
            assert x.shape[1] == n_frames, (name, x.shape, n_frames)
            out[name] = x.astype(np.float64)  # rms is float32: pool in float64
    return out


def pooled_stats(extra: dict) -> dict:
    """{family: {stat: values}} for the optional families and statistics (None: refused)."""
    pooled = {}
    for fam, stats in EXTRA.items():
        x = extra[fam]
        pooled[fam] = None if x is None else {s: [float(v) for v in STATS[s](x)] for s in stats}
    return pooled


def trim_entries(y: np.ndarray, sr: int) -> list[dict]:
    """librosa.effects.trim at each TRIM_TOP_DB: the kept span and the default families'
    means (and rms's) of the trimmed signal."""
    entries = []
    for top_db in TRIM_TOP_DB:
        yt, (start, end) = librosa.effects.trim(y, top_db=top_db)
        assert np.array_equal(yt, y[start:end])
        f = features(yt, sr)
        entry = {"top_db": top_db, "start": int(start), "end": int(end)}
        entry.update(pooled_entry(f, sr, len(yt)))
        entry["rms_mean"] = [float(np.mean(librosa.feature.rms(y=yt).astype(np.float64)))]
        entries.append(entry)
    return entries


def pooled_entry(f: dict, sr: int, n_samples: int) -> dict:
    n_frames = f["mfcc"].shape[1]
    assert f["chroma"].shape[1] == n_frames and f["mel"].shape[1] == n_frames
    return {
        "sample_rate": sr,
        "n_samples": n_samples,
        "n_frames": n_frames,
        "tuning": f["tuning"],
        "mfcc_mean": [float(v) for v in np.mean(f["mfcc"], axis=1)],
        "chroma_mean": [float(v) for v in np.mean(f["chroma"], axis=1)],
        "mel_mean": [float(v) for v in np.mean(f["mel"], axis=1)],
    }


def family_deviation(a: list[float], b: list[float], family: str) -> float:
    """Same error measure as tests/librosa_parity.rs (`a` candidate, `b` reference)."""
    a, b = np.asarray(a), np.asarray(b)
    scale = np.max(np.abs(b))
    if scale == 0.0:
        return float(np.max(np.abs(a - b)))
    if family == "mel":
        denom = np.maximum(np.abs(b), 1e-10 * scale)
        return float(np.max(np.abs(a - b) / denom))
    return float(np.max(np.abs(a - b)) / scale)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_ravdess = ROOT / "data" / "ravdess"
    parser.add_argument(
        "--ravdess",
        type=Path,
        default=default_ravdess if default_ravdess.is_dir() else None,
        help="RAVDESS root holding Actor_NN/ (default: data/ravdess when it exists)",
    )
    parser.add_argument(
        "--only",
        choices=["all", "yin"],
        default="all",
        help="'yin': write yin.json and its signals only (reference.json untouched)",
    )
    args = parser.parse_args()
    ravdess_root = None if args.ravdess is None else args.ravdess.resolve()
    if ravdess_root is None:
        print("warning: no RAVDESS directory; writing synthetic references only", file=sys.stderr)
    names = [(name, sr) for name, sr, _ in synthetic_signals(np.random.default_rng(SEED))]
    if args.only == "yin":
        write_yin(names, ravdess_root)
        return 0

    rng = np.random.default_rng(SEED)
    SIGNAL_DIR.mkdir(parents=True, exist_ok=True)

    synthetic = []
    trim_synthetic = []
    trim_ravdess = []
    for name, sr, y in synthetic_signals(rng):
        wav = SIGNAL_DIR / f"{name}.wav"
        sf.write(wav, to_pcm16(y), sr, subtype="PCM_16")
        y32, sr_read = sf.read(wav, dtype="float32")
        assert sr_read == sr and y32.ndim == 1
        f = features(y32.astype(np.float64), sr)
        entry = {"name": name, "file": f"signals/{name}.wav", "sha256": sha256(wav)}
        entry.update(pooled_entry(f, sr, len(y32)))
        n = entry["n_frames"]
        index = sorted({0, n // 2, n - 1})
        entry["frame_index"] = index
        entry["mfcc_frames"] = frames_to_lists(f["mfcc"], index)
        entry["chroma_frames"] = frames_to_lists(f["chroma"], index)
        entry["mel_frames"] = frames_to_lists(f["mel"], index)
        extra = extra_features(y32.astype(np.float64), sr, f)
        entry["pooled"] = pooled_stats(extra)
        entry["extra_frames"] = {
            fam: None if x is None else frames_to_lists(x, index[:FRAME_ROWS.get(fam)])
            for fam, x in extra.items()
        }
        synthetic.append(entry)
        if name in TRIM_SYNTHETIC:
            for t in trim_entries(y32.astype(np.float64), sr):
                trim_synthetic.append({"name": name, **t})
                print(f"  trim top_db={t['top_db']}: [{t['start']}, {t['end']}) of {len(y32)}")
        print(f"{name}: sr={sr} n={len(y32)} frames={n} tuning={entry['tuning']}")

    ravdess = []
    recipe = []
    if args.ravdess is not None:
        root = args.ravdess.resolve()
        for rel in RAVDESS_FILES:
            path = root / rel
            if not path.is_file():
                print(f"error: {path} not found", file=sys.stderr)
                return 1
            y32, sr = sf.read(path, dtype="float32")
            assert y32.ndim == 1, f"{rel}: expected mono"
            entry = {"path": rel, "sha256": sha256(path), "file_size": path.stat().st_size}
            y64 = y32.astype(np.float64)
            f = features(y64, sr)
            entry.update(pooled_entry(f, sr, len(y32)))
            entry["pooled"] = pooled_stats(extra_features(y64, sr, f))
            ravdess.append(entry)
            if rel in TRIM_RAVDESS:
                for t in trim_entries(y64, sr):
                    trim_ravdess.append({"path": rel, **t})
                    print(f"  trim top_db={t['top_db']}: [{t['start']}, {t['end']}) of {len(y64)}")

            # The original recipe: librosa.load(sr=None) gives float32, computed in float32.
            y_load, sr_load = librosa.load(path, sr=None)
            assert sr_load == sr and y_load.dtype == np.float32
            assert np.array_equal(y_load, y32), "librosa.load differs from soundfile.read"
            r = pooled_entry(features(y_load, sr), sr, len(y_load))
            r["path"] = rel
            r["deviation_from_float64"] = {
                fam: family_deviation(r[f"{fam}_mean"], entry[f"{fam}_mean"], fam)
                for fam in ("mfcc", "chroma", "mel")
            }
            r["deviation_from_float64"]["tuning"] = abs(r["tuning"] - entry["tuning"])
            recipe.append(r)
            print(f"{rel}: frames={entry['n_frames']} tuning={entry['tuning']} "
                  f"float32 recipe deviation {r['deviation_from_float64']}")

    doc = {
        "description": "librosa reference features for tests/librosa_parity.rs; "
        "made by tools/reference/librosa_fixtures.py",
        "versions": versions(),
        "params": {"n_fft": 2048, "hop_length": 512, "n_mfcc": N_MFCC, "n_mels": 128,
                   "n_chroma": 12, "input": "float32 samples as read, cast to float64"},
        "synthetic": synthetic,
        "ravdess": ravdess,
        "trim": {
            "note": "librosa.effects.trim(y, top_db) (frame_length 2048, hop 512): the kept "
            "span [start, end) and the default families' means of y[start:end]",
            "synthetic": trim_synthetic,
            "ravdess": trim_ravdess,
        },
        "float32_recipe": {
            "note": "librosa.load(path, sr=None) -> float32, features computed in float32 "
            "(the original recipe); deviation_from_float64 uses the test's error measure "
            "against the float64 entry of the same file",
            "files": recipe,
        },
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / "reference.json"
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size} bytes)")
    write_yin(names, ravdess_root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
