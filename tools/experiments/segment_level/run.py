"""Utterance- vs segment-level SER experiment on RAVDESS (reads frames.npz from extract.py).

Usage: python run.py CONFIG [CONFIG ...]      CONFIG = feat:unit:norm:clf
  feat  base | rich
  unit  utt      whole file, untrimmed, one row per file (baseline)
        utttrim  whole file after trim(top_db=40), one row per file
        usegW_H  like segW_H but on the untrimmed file
        csegW_H  like segW_H, each segment row concatenated with its file's untrimmed utt stats
        segW_H   trimmed file cut into W s windows with H s hop (e.g. seg1.0_0.5); last window
                 is end-aligned so the tail is covered; file shorter than W -> one segment
  norm  none | spk   (spk = z-score each actor's rows with that actor's own mean/std; no labels)
  clf   svc   SVC(rbf, C=10, gamma='scale'); file score = mean over its rows of decision_function (ovr)
        svcp  SVC(..., probability=True); file score = mean over rows of log-probabilities
        mlp   MLPClassifier((256,), alpha=1e-2, early_stopping, random_state=0); mean log-prob
All rows are pooled as mean+std over frames. StandardScaler is always fit on training rows only.
Results appended to results.jsonl.
"""
import os
OUT = os.environ.get('SEGEXP_DIR', '/tmp/segexp')  # cache and results folder
import sys, json, time
import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.neural_network import MLPClassifier
import protocols

D = np.load(OUT + '/frames.npz')
EMO, ACTOR = D['emo'], D['actor']
N = len(EMO)
HOP_S = {'base': 512 / 48000, 'rich': 512 / 22050}
_frames_cache = {}

def file_frames(feat):
    if feat not in _frames_cache:
        X = D[feat]; off = D['boff' if feat == 'base' else 'roff']
        _frames_cache[feat] = [X[off[i]:off[i + 1]] for i in range(N)]
    return _frames_cache[feat]

def pool(F):
    return np.concatenate([F.mean(0), F.std(0)])

def build_rows(feat, unit):
    """returns X (rows x dims), fid (file index of each row)"""
    fr = file_frames(feat)
    trim = D['btrim' if feat == 'base' else 'rtrim']
    X, fid = [], []
    for i in range(N):
        F = fr[i]
        if unit == 'utt':
            X.append(pool(F)); fid.append(i); continue
        s, e = trim[i]
        Fu = F
        if not unit.startswith('useg'):
            F = F[s:e]
        if unit == 'utttrim':
            X.append(pool(F)); fid.append(i); continue
        ctx = unit.startswith('cseg')
        w_s, h_s = map(float, unit[4 if unit[0] in 'uc' else 3:].split('_'))
        w = max(2, int(round(w_s / HOP_S[feat]))); h = max(1, int(round(h_s / HOP_S[feat])))
        n = len(F)
        if n <= w:
            starts = [0]
        else:
            starts = list(range(0, n - w + 1, h))
            if starts[-1] + w < n:
                starts.append(n - w)
        for st in starts:
            v = pool(F[st:st + w])
            if ctx:
                v = np.concatenate([v, pool(Fu)])
            X.append(v); fid.append(i)
    return np.array(X, dtype=np.float64), np.array(fid)

def speaker_norm(X, fid):
    X = X.copy(); a = ACTOR[fid]
    for act in np.unique(a):
        m = a == act
        X[m] = (X[m] - X[m].mean(0)) / (X[m].std(0) + 1e-8)
    return X

def make_clf(name):
    if name == 'svc':
        return SVC(kernel='rbf', C=10, gamma='scale')
    if name == 'svcp':
        return SVC(kernel='rbf', C=10, gamma='scale', probability=True, random_state=0)
    if name == 'mlp':
        return MLPClassifier(hidden_layer_sizes=(256,), alpha=1e-2, early_stopping=True,
                             max_iter=300, random_state=0)
    raise ValueError(name)

def fit_predict(X, fid, train_files, test_files, clfname, key):
    trm = np.isin(fid, train_files); tem = np.isin(fid, test_files)
    sc = StandardScaler().fit(X[trm])
    clf = make_clf(clfname).fit(sc.transform(X[trm]), EMO[fid[trm]])
    Xt = sc.transform(X[tem])
    if clfname == 'svc':
        S = clf.decision_function(Xt)
    else:
        S = np.log(np.clip(clf.predict_proba(Xt), 1e-12, None))
    tf = fid[tem]
    M = np.array([S[tf == f].mean(0) for f in test_files])
    SCORES[key] = M
    return clf.classes_[np.argmax(M, 1)]

SCORES = {}
def evaluate(cfg):
    SCORES.clear()
    feat, unit, norm, clfname = cfg.split(':')
    X, fid = build_rows(feat, unit)
    if norm == 'spk':
        X = speaker_norm(X, fid)
    res = {'cfg': cfg, 'rows': len(X), 'dims': X.shape[1]}
    return protocols.evaluate(
        EMO, ACTOR, lambda tr, te, key: fit_predict(X, fid, tr, te, clfname, key), res)

if __name__ == '__main__':
    for cfg in sys.argv[1:]:
        r = evaluate(cfg)
        print(json.dumps(r), flush=True)
        np.savez(f'{OUT}/scores_{cfg.replace(":", "_")}.npz', **SCORES)
        with open(OUT + '/results.jsonl', 'a') as fh:
            fh.write(json.dumps(r) + '\n')
