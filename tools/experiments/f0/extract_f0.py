"""Per-frame F0 / voicing for all 1200 RAVDESS files, aligned with the `rich` frames of
../segment_level/extract.py (22.05 kHz via librosa.resample soxr_hq, frame 2048, hop 512, center=True).

Writes $SEGEXP_DIR/f0.npz with, concatenated over files in frames.npz order (offsets = frames.npz roff):
  yin_f0, yin_ap   YIN F0 (Hz) and its aperiodicity (CMNDF value at the chosen lag; 0 = perfectly
                   periodic). Same computation as librosa.yin(fmin=65, fmax=600, trough_threshold=0.1),
                   reimplemented here only to also return the CMNDF value (checked equal to librosa.yin).
  pyin_f0, pyin_vflag, pyin_vprob   librosa.pyin(fmin=65, fmax=600) defaults (f0 NaN when unvoiced).
and the wall seconds (one core) spent in resampling, yin, librosa.yin (reference) and pyin.
Usage: python extract_f0.py [N_FILES]   (N_FILES only for a timing probe; then nothing is saved)
"""
import os, sys, time
OUT = os.environ.get('SEGEXP_DIR', '/tmp/segexp')
ROOT = os.environ.get('RAVDESS_DIR', 'data/ravdess')
import numpy as np, soundfile as sf, librosa
from librosa.core.pitch import _cumulative_mean_normalized_difference, _parabolic_interpolation

SR, FL, HOP, FMIN, FMAX = 22050, 2048, 512, 65.0, 600.0

def yin_ap(y):
    """librosa.yin (0.11) step by step, returning (f0, cmndf value at the chosen lag)."""
    y = np.pad(y, (FL // 2, FL // 2), mode='constant')
    fr = librosa.util.frame(y, frame_length=FL, hop_length=HOP)
    minp = int(np.floor(SR / FMAX)); maxp = min(int(np.ceil(SR / FMIN)), FL - 1)
    c = _cumulative_mean_normalized_difference(fr, minp, maxp)
    shifts = _parabolic_interpolation(c)
    trough = librosa.util.localmin(c, axis=-2)
    trough[0, :] = c[0, :] < c[1, :]
    thr = np.logical_and(trough, c < 0.1)
    per = np.argmax(thr, axis=0)
    none = ~thr.any(axis=0)
    per[none] = np.argmin(c, axis=0)[none]
    cols = np.arange(c.shape[1])
    ap = c[per, cols]
    f0 = SR / (minp + per + shifts[per, cols])
    return f0, ap

if __name__ == '__main__':
    D = np.load(OUT + '/frames.npz')
    files, roff = D['files'], D['roff']
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else len(files)
    T = dict(resample=0.0, yin=0.0, librosa_yin=0.0, pyin=0.0)
    out = {k: [] for k in ('yin_f0', 'yin_ap', 'pyin_f0', 'pyin_vflag', 'pyin_vprob')}
    t00 = time.time()
    for i in range(limit):
        f = str(files[i])
        if not os.path.exists(f):
            f = os.path.join(ROOT, *f.split('/')[-2:])
        y, sr = sf.read(f, dtype='float32')
        if y.ndim > 1: y = y.mean(1)
        t = time.time(); y22 = librosa.resample(y, orig_sr=sr, target_sr=SR); T['resample'] += time.time() - t
        t = time.time(); f0, ap = yin_ap(y22); T['yin'] += time.time() - t
        t = time.time(); ref = librosa.yin(y22, fmin=FMIN, fmax=FMAX, sr=SR, frame_length=FL, hop_length=HOP); T['librosa_yin'] += time.time() - t
        assert np.allclose(f0, ref), i
        t = time.time()
        pf0, vflag, vprob = librosa.pyin(y22, fmin=FMIN, fmax=FMAX, sr=SR, frame_length=FL, hop_length=HOP)
        T['pyin'] += time.time() - t
        n = roff[i + 1] - roff[i]
        assert len(f0) == n and len(pf0) == n, (i, len(f0), len(pf0), n)
        for k, v in zip(out, (f0, ap, pf0, vflag, vprob)):
            out[k].append(v.astype(np.float32))
        if i % 100 == 0:
            print(i, {k: round(v, 1) for k, v in T.items()}, flush=True)
    T = {k: round(v, 1) for k, v in T.items()}
    print('files', limit, 'seconds', T, 'total', round(time.time() - t00, 1), flush=True)
    if limit == len(files):
        np.savez(OUT + '/f0.npz', **{k: np.concatenate(v) for k, v in out.items()},
                 seconds=np.array([T[k] for k in ('resample', 'yin', 'librosa_yin', 'pyin')]))
