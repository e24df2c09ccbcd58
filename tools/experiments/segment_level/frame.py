"""Lever 3: frame-level model. Settings fixed up front (no tuning on test):
  frames: 'rich' family (22.05 kHz, hop 512 = 23.2 ms), trimmed (top_db=40) region only
  per-frame feats: MFCC40 + delta + delta2 + rms + zcr + contrast7 + centroid + bandwidth + rolloff + flatness (133)
  norm: per-speaker z-score over all frames of that actor (labels unused) [arg: spk | none]
  context: stack frames t-4, t-2, t, t+2, t+4 (edge-padded) -> 665 dims
  model: StandardScaler (train frames) + MLPClassifier((256,), alpha=1e-3, early_stopping, max_iter=60, rs=0)
         trained on every 2nd frame of the training files (each frame inherits its file's label)
  file prediction: argmax of mean over ALL its frames of log P(class | frame)
Usage: python frame.py spk|none
"""
import os
OUT = os.environ.get('SEGEXP_DIR', '/tmp/segexp')  # cache and results folder
import sys, json
import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.neural_network import MLPClassifier
import protocols

norm = sys.argv[1]
CTXNAME = sys.argv[2] if len(sys.argv) > 2 else 'ctx5'      # ctx5: t-4..t+4 step 2 ; wide: t-8..t+8 step 4
FEATS = sys.argv[3] if len(sys.argv) > 3 else 'mfccd'       # mfccd: 133 dims ; mfccd+mel: + log-mel128
SCORES = {}
D = np.load(OUT + '/frames.npz')
EMO, ACTOR = D['emo'], D['actor']; N = len(EMO)
R, off, trim = D['rich'], D['roff'], D['rtrim']
cols = np.r_[0:120, 260:273] if FEATS == 'mfccd' else np.r_[0:120, 132:273]
CTX = [-4, -2, 0, 2, 4] if CTXNAME == 'ctx5' else [-8, -4, 0, 4, 8]

per_file = []
for i in range(N):
    s, e = trim[i]
    per_file.append(R[off[i]:off[i + 1]][s:e][:, cols].astype(np.float32))
if norm == 'spk':
    for a in np.unique(ACTOR):
        idx = np.where(ACTOR == a)[0]
        allf = np.concatenate([per_file[i] for i in idx])
        m, sd = allf.mean(0), allf.std(0) + 1e-8
        for i in idx:
            per_file[i] = (per_file[i] - m) / sd

def stack(F):
    n = len(F); t = np.arange(n)
    return np.concatenate([F[np.clip(t + c, 0, n - 1)] for c in CTX], axis=1)

X = [stack(F) for F in per_file]
fid = np.concatenate([np.full(len(x), i) for i, x in enumerate(X)])
X = np.concatenate(X)
pos = np.concatenate([np.arange(len(F)) for F in per_file])
print('frames', X.shape, flush=True)

def fit_predict(tr, te, key):
    m = np.isin(fid, tr) & (pos % 2 == 0)
    sc = StandardScaler().fit(X[m])
    clf = MLPClassifier(hidden_layer_sizes=(256,), alpha=1e-3, early_stopping=True, max_iter=60,
                        random_state=0).fit(sc.transform(X[m]), EMO[fid[m]])
    mt = np.isin(fid, te)
    L = np.log(np.clip(clf.predict_proba(sc.transform(X[mt])), 1e-12, None))
    tf = fid[mt]
    M = np.array([L[tf == f].mean(0) for f in te]); SCORES[key] = M
    return clf.classes_[np.argmax(M, 1)]

res = {'cfg': f'rich:frame-{CTXNAME}-{FEATS}:{norm}:mlp', 'rows': int(len(X)), 'dims': int(X.shape[1])}
protocols.evaluate(EMO, ACTOR, fit_predict, res)
print(json.dumps(res), flush=True)
with open(OUT + '/results.jsonl', 'a') as fh:
    fh.write(json.dumps(res) + '\n')
np.savez(f'{OUT}/scores_{res["cfg"].replace(":", "_")}.npz', **SCORES)
