"""Does adding pooled F0/voicing stats help the segment_level systems? (reads frames.npz + f0.npz)

Usage: python run_f0.py CONFIG [CONFIG ...]     CONFIG = unit:f0:clf[:cw]
  unit  utttrim | segW_H    exactly as ../segment_level/run.py (rich features, spk norm always on)
  f0    none            rich mean+std only (= run.py rich:<unit>:spk:<clf>, the baseline)
        yin | yinc | pyin   + 9 pooled F0/voicing stats (below) appended to each row
        yinw3 | pyinw3  same, F0 columns multiplied by 3 after the StandardScaler (one fixed weight,
                        chosen before running: 9 of 555 dims otherwise carry ~1.6% of the RBF distance)
        yinonly | pyinonly   the 9 F0 stats alone (diagnostic)
  clf   svc | svcp      as run.py
  cw    bal             class_weight='balanced' (optional)
Per-frame: log F0 in semitones (12*log2(f0/55)) on voiced frames.
  voiced (yin)  = aperiodicity (CMNDF at chosen lag) < 0.2 AND frame rms > file max rms - 40 dB;
                  voicing score = clip(1 - aperiodicity, 0, 1)
  voiced (yinc) = same with aperiodicity < 0.55: the threshold (grid 0.1..0.9, step 0.05) that best
                  agrees with pyin's voiced_flag on trimmed frames (82.5%); label-free, chosen before
                  any classification run because 0.2 marks only 30% of trimmed frames voiced (pyin 66%)
  voiced (pyin) = pyin voiced_flag; voicing score = pyin voiced_prob
Per row (file or segment), 9 stats: over voiced frames mean, std, p10, p90, p90-p10 of log F0;
  std and mean |.| of the F0 delta (difference between adjacent frames that are both voiced, clipped
  to +-12 semitones); over all frames of the row: voiced fraction, mean voicing score.
  Rows with < 3 voiced frames (or < 2 voiced pairs for the delta stats) take those stats from their
  file's trimmed-utterance values; files with < 3 voiced frames take the mean over that actor's files.
All thresholds fixed before any run. Results appended to $SEGEXP_DIR/results_f0.jsonl.
"""
import os, sys, json
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'segment_level'))
import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
import run as R            # ../segment_level/run.py: loads frames.npz, row builder, spk norm
import protocols

OUT = R.OUT
F = np.load(OUT + '/f0.npz')
EMO, ACTOR, N, ROFF = R.EMO, R.ACTOR, R.N, R.D['roff']
RMS_COL = 260              # rich layout: mfcc40 d1 40 d2 40 chroma12 logmel128 | rms (260) ...
NF0 = 9

def frame_f0(kind):
    """per-file lists of (semitone log F0, voiced bool, voicing score)"""
    rich = R.file_frames('rich')
    out = []
    for i in range(N):
        sl = slice(ROFF[i], ROFF[i + 1])
        if kind in ('yin', 'yinc'):
            f0, ap = F['yin_f0'][sl], F['yin_ap'][sl]
            rms = rich[i][:, RMS_COL]
            v = (ap < (0.2 if kind == 'yin' else 0.55)) & (rms > rms.max() * 10 ** (-40 / 20))
            score = np.clip(1 - ap, 0, 1)
        else:
            f0, v, score = F['pyin_f0'][sl], F['pyin_vflag'][sl].astype(bool), F['pyin_vprob'][sl]
            v = v & np.isfinite(f0)
        lf = np.where(v, 12 * np.log2(np.where(v, f0, 55.0) / 55.0), np.nan)
        out.append((lf, v, score))
    return out

def stats(lf, v, score):
    """9 stats; NaN where undefined (too few voiced frames)"""
    s = np.full(NF0, np.nan)
    x = lf[v]
    if len(x) >= 3:
        p10, p90 = np.percentile(x, [10, 90])
        s[:5] = [x.mean(), x.std(), p10, p90, p90 - p10]
    pair = v[1:] & v[:-1]
    if pair.sum() >= 2:
        d = np.clip(np.diff(lf)[pair], -12, 12)
        s[5:7] = [d.std(), np.abs(d).mean()]
    s[7] = v.mean(); s[8] = score.mean()
    return s

def segments(n, unit):
    """(start, end) frame ranges of the rows of one trimmed file; same rule as run.build_rows"""
    if unit == 'utttrim':
        return [(0, n)]
    w_s, h_s = map(float, unit[3:].split('_'))
    hop = R.HOP_S['rich']
    w = max(2, int(round(w_s / hop))); h = max(1, int(round(h_s / hop)))
    if n <= w:
        return [(0, n)]
    starts = list(range(0, n - w + 1, h))
    if starts[-1] + w < n:
        starts.append(n - w)
    return [(st, st + w) for st in starts]

FILL = {}
def f0_rows(kind, unit):
    ff = frame_f0(kind)
    trim = R.D['rtrim']
    fstats = []
    for i in range(N):
        s, e = trim[i]
        lf, v, sc = ff[i]
        fstats.append(stats(lf[s:e], v[s:e], sc[s:e]))
    fstats = np.array(fstats)
    nfile_fill = int(np.isnan(fstats).any(1).sum())
    for a in np.unique(ACTOR):                       # files with too few voiced frames
        m = ACTOR == a
        fstats[m] = np.where(np.isnan(fstats[m]), np.nanmean(fstats[m], 0), fstats[m])
    X, fid, nseg_fill = [], [], 0
    for i in range(N):
        s, e = trim[i]
        lf, v, sc = (z[s:e] for z in ff[i])
        for a, b in segments(e - s, unit):
            r = stats(lf[a:b], v[a:b], sc[a:b])
            bad = np.isnan(r)
            nseg_fill += int(bad.any())
            r[bad] = fstats[i][bad]
            X.append(r); fid.append(i)
    FILL.update(files_filled=nfile_fill, rows_filled=nseg_fill,
                voiced_frac_trimmed=round(float(np.mean([ff[i][1][trim[i][0]:trim[i][1]].mean() for i in range(N)])), 3))
    return np.array(X), np.array(fid)

def fit_predict(X, fid, colw, tr_files, te_files, clfname, cw, key):
    trm = np.isin(fid, tr_files); tem = np.isin(fid, te_files)
    sc = StandardScaler().fit(X[trm])
    kw = dict(kernel='rbf', C=10, gamma='scale', class_weight=cw)
    if clfname == 'svcp':
        kw.update(probability=True, random_state=0)
    clf = SVC(**kw).fit(sc.transform(X[trm]) * colw, EMO[fid[trm]])
    Xt = sc.transform(X[tem]) * colw
    S = clf.decision_function(Xt) if clfname == 'svc' else np.log(np.clip(clf.predict_proba(Xt), 1e-12, None))
    tf = fid[tem]
    M = np.array([S[tf == f].mean(0) for f in te_files])
    SCORES[key] = M
    return clf.classes_[np.argmax(M, 1)]

SCORES = {}
def evaluate(cfg):
    SCORES.clear(); FILL.clear()
    parts = cfg.split(':')
    unit, f0, clfname = parts[:3]
    cw = 'balanced' if len(parts) > 3 and parts[3] == 'bal' else None
    Xr, fid = R.build_rows('rich', unit)
    if f0 == 'none':
        X = Xr
    else:
        kind = f0.replace('w3', '').replace('only', '')
        Xf, fid2 = f0_rows(kind, unit)
        assert np.array_equal(fid, fid2)
        X = Xf if f0.endswith('only') else np.hstack([Xr, Xf])
    X = R.speaker_norm(X, fid)
    colw = np.ones(X.shape[1])
    if f0.endswith('w3'):
        colw[-NF0:] = 3.0
    res = {'cfg': cfg, 'rows': len(X), 'dims': X.shape[1], **FILL}
    return protocols.evaluate(EMO, ACTOR, lambda tr, te, key: fit_predict(X, fid, colw, tr, te, clfname, cw, key), res)

if __name__ == '__main__':
    for cfg in sys.argv[1:]:
        r = evaluate(cfg)
        print(json.dumps(r), flush=True)
        np.savez(f'{OUT}/scores_f0_{cfg.replace(":", "_")}.npz', **SCORES)
        with open(OUT + '/results_f0.jsonl', 'a') as fh:
            fh.write(json.dumps(r) + '\n')
