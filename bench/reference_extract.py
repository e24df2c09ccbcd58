#!/usr/bin/env python3
"""The original Python project's feature recipe, timed, for bench/extract.sh.

For every *.wav under --data-root (sorted relative paths, the same files our binary scans):

    with soundfile.SoundFile(f) as s:
        X = s.read(dtype="float32"); sr = s.samplerate        # native rate, no resampling
    (stereo files only: X = librosa.to_mono(X.T), see extract_feature)
    stft   = np.abs(librosa.stft(X))
    mfcc   = np.mean(librosa.feature.mfcc(y=X, sr=sr, n_mfcc=40).T, axis=0)
    chroma = np.mean(librosa.feature.chroma_stft(S=stft, sr=sr).T, axis=0)
    mel    = np.mean(librosa.feature.melspectrogram(y=X, sr=sr).T, axis=0)
    row    = np.hstack((mfcc, chroma, mel))                     # 40 + 12 + 128 = 180

over all files with joblib.Parallel(n_jobs=N) (loky: worker processes), then the N_FILES x 180
float64 matrix is written with np.save (and the row order to a .paths.txt beside it) so the work
cannot be skipped.

Timed: from just before the file walk and the Parallel call (the pool's processes start inside
it) to the .npy being on disk. Interpreter start and the main process's own `import librosa` are
outside that window; the workers' imports and numba JIT/cache loads are inside it. Each task also
records its own start/end and worker pid, so the first task of each worker (import librosa in the
worker + first-call numba compilation or cache load) can be reported apart from the steady state.

Prints one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path


def extract_feature(path: str):
    """One file, exactly the recipe; returns (row, pid, t_start, t_end, t_after_import, cpu_s).

    cpu_s is the worker process's CPU time so far (time.process_time), so the last task of each
    worker gives that worker's CPU time for the run."""
    t0 = time.time()
    import librosa  # no-op after the first task in a worker; timed as part of the first task
    import numpy as np
    import soundfile

    t_imp = time.time()
    with soundfile.SoundFile(path) as sound_file:
        X = sound_file.read(dtype="float32")
        sample_rate = sound_file.samplerate
        if X.ndim > 1:
            # 5 of the 1200 RAVDESS files are stereo. soundfile returns (frames, channels); the
            # recipe as written then hands librosa a (frames, 2) array, which librosa takes as
            # `frames` signals of 2 samples each and the np.hstack below fails. Downmix by the
            # channel mean (librosa.to_mono, what librosa.load does and what ser-pipeline does).
            X = librosa.to_mono(X.T)
        stft = np.abs(librosa.stft(X))
        result = np.array([])
        mfccs = np.mean(librosa.feature.mfcc(y=X, sr=sample_rate, n_mfcc=40).T, axis=0)
        result = np.hstack((result, mfccs))
        chroma = np.mean(librosa.feature.chroma_stft(S=stft, sr=sample_rate).T, axis=0)
        result = np.hstack((result, chroma))
        mel = np.mean(librosa.feature.melspectrogram(y=X, sr=sample_rate).T, axis=0)
        result = np.hstack((result, mel))
    return result, os.getpid(), t0, time.time(), t_imp, time.process_time()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path, help="output .npy")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()

    t_proc = time.time()
    import joblib
    import librosa
    import numpy as np

    t_imported = time.time()

    # ---- timed window ------------------------------------------------------------------
    t_start = time.time()
    root = args.data_root.resolve()
    rel = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.wav"))
    out = joblib.Parallel(n_jobs=args.jobs, backend="loky")(
        joblib.delayed(extract_feature)(str(root / r)) for r in rel
    )
    feats = np.vstack([o[0] for o in out])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, feats)
    args.out.with_suffix(".paths.txt").write_text("\n".join(rel) + "\n")
    t_end = time.time()
    # ------------------------------------------------------------------------------------

    # Per-worker first task vs the rest.
    by_pid: dict[int, list[tuple[float, float, float]]] = {}
    worker_cpu: dict[int, float] = {}
    for _, pid, a, b, imp, cpu in out:
        by_pid.setdefault(pid, []).append((a, b, imp))
        worker_cpu[pid] = max(worker_cpu.get(pid, 0.0), cpu)
    steady = []
    firsts = []
    for tasks in by_pid.values():
        tasks.sort()
        firsts.append(tasks[0])
        steady.extend(b - a for a, b, _ in tasks[1:])
    steady_med = statistics.median(steady) if steady else float("nan")
    first_task_s = [b - a for a, b, _ in firsts]
    first_import_s = [imp - a for a, _, imp in firsts]
    pool_start_s = min(a for a, _, _ in firsts) - t_start  # walk + spawning the first worker
    warmup_excess = [ft - steady_med for ft in first_task_s]

    res = {
        "files": int(feats.shape[0]),
        "columns": int(feats.shape[1]),
        "nan_rows": int(np.isnan(feats).any(axis=1).sum()),
        "wall_s": t_end - t_start,
        "main_import_s": t_imported - t_proc,
        "workers": len(by_pid),
        # Main process (imports, walk, pool management, stacking, save) + each worker up to its
        # last task. Interpreter start-up before main() is not included. With n_jobs=1 joblib
        # runs the tasks in the main process itself: its time is then counted once, not twice.
        "cpu_s": time.process_time()
        + sum(v for pid, v in worker_cpu.items() if pid != os.getpid()),
        "pool_start_s": pool_start_s,
        "worker_first_task_s": first_task_s,
        "worker_import_librosa_s": first_import_s,
        "worker_warmup_excess_s": warmup_excess,
        "steady_task_median_s": steady_med,
        "steady_task_mean_s": statistics.fmean(steady) if steady else float("nan"),
        "librosa": librosa.__version__,
        "numpy": np.__version__,
        "joblib": joblib.__version__,
        "python": sys.version.split()[0],
    }
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
