"""Late fusion (equal weights, fixed up front): file score = sum of the per-file mean log-posteriors
of two systems (both saved by run.py / frame.py). Same splits as run.py.
Usage: python fuse.py scoresA.npz scoresB.npz"""
import os
OUT = os.environ.get('SEGEXP_DIR', '/tmp/segexp')  # cache and results folder
import sys, json, numpy as np
from sklearn.model_selection import train_test_split
from sklearn.metrics import accuracy_score, f1_score, recall_score
D = np.load(OUT + '/frames.npz'); EMO, ACTOR = D['emo'], D['actor']; N = len(EMO); idx = np.arange(N)
A, B = np.load(sys.argv[1]), np.load(sys.argv[2])
acc, f1, mr = [], [], []
for seed in (1, 2, 3):
    tr, te = train_test_split(idx, stratify=EMO, test_size=0.2, random_state=seed)
    p = np.argmax(A[f'seed{seed}'] + B[f'seed{seed}'], 1)
    acc.append(accuracy_score(EMO[te], p)); f1.append(f1_score(EMO[te], p, average='macro'))
    mr.append(recall_score(EMO[te], p, average=None).min())
fold = (ACTOR - 1) % 5; fa = []; allp = np.zeros(N, int)
for k in range(5):
    te = idx[fold == k]; p = np.argmax(A[f'fold{k}'] + B[f'fold{k}'], 1); allp[te] = p
    fa.append(accuracy_score(EMO[te], p))
r = {'cfg': 'fuse(' + sys.argv[1] + ' + ' + sys.argv[2] + ')', 'rows': 0, 'dims': 0, 't_random': 0, 't_actor': 0,
     'rand_acc': float(np.mean(acc)), 'rand_f1': float(np.mean(f1)), 'rand_minrec': float(np.mean(mr)),
     'rand_accs': [round(a, 4) for a in acc], 'actor_acc': float(np.mean(fa)),
     'actor_f1': float(f1_score(EMO, allp, average='macro')),
     'actor_minrec': float(recall_score(EMO, allp, average=None).min()), 'actor_folds': [round(a, 4) for a in fa]}
print(json.dumps(r))
with open(OUT + '/results.jsonl', 'a') as fh: fh.write(json.dumps(r) + '\n')
