"""Late fusion (equal weights, fixed up front): file score = sum of the per-file mean log-posteriors
of two systems (both saved by run.py / frame.py). Same splits as run.py.
Usage: python fuse.py scoresA.npz scoresB.npz"""
import os
OUT = os.environ.get('SEGEXP_DIR', '/tmp/segexp')  # cache and results folder
import sys, json, numpy as np
import protocols
D = np.load(OUT + '/frames.npz'); EMO, ACTOR = D['emo'], D['actor']
A, B = np.load(sys.argv[1]), np.load(sys.argv[2])
r = protocols.evaluate(EMO, ACTOR, lambda tr, te, key: np.argmax(A[key] + B[key], 1),
                       {'cfg': 'fuse(' + sys.argv[1] + ' + ' + sys.argv[2] + ')', 'rows': 0, 'dims': 0})
print(json.dumps(r))
with open(OUT + '/results.jsonl', 'a') as fh: fh.write(json.dumps(r) + '\n')
