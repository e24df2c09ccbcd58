"""The two evaluation protocols and their metrics, shared by run.py, frame.py and fuse.py.

random: stratified 80/20 splits with seeds 1, 2, 3 (means of accuracy, macro F1 and per-split
minimum class recall); actor-kfold: actor a tests in fold (a - 1) % 5 (mean fold accuracy; macro
F1 and minimum recall over the pooled out-of-fold predictions)."""
import time

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, recall_score
from sklearn.model_selection import train_test_split


def evaluate(emo, actor, predict, res):
    """`predict(train_files, test_files, key)` returns the predicted class of each test file;
    `key` names the split ('seed1'.., 'fold0'..). Adds the metrics and times to `res`."""
    n = len(emo)
    idx = np.arange(n)
    accs, f1s, minr = [], [], []
    t0 = time.time()
    for seed in (1, 2, 3):
        tr, te = train_test_split(idx, stratify=emo, test_size=0.2, random_state=seed)
        p = predict(tr, te, f'seed{seed}')
        accs.append(accuracy_score(emo[te], p))
        f1s.append(f1_score(emo[te], p, average='macro'))
        minr.append(recall_score(emo[te], p, average=None).min())
    res['t_random'] = round(time.time() - t0, 1)
    res.update(rand_acc=float(np.mean(accs)), rand_f1=float(np.mean(f1s)),
               rand_minrec=float(np.mean(minr)), rand_accs=[round(a, 4) for a in accs])
    t0 = time.time()
    fold_of = (actor - 1) % 5
    faccs, allp = [], np.zeros(n, int)
    for k in range(5):
        te, tr = idx[fold_of == k], idx[fold_of != k]
        p = predict(tr, te, f'fold{k}')
        allp[te] = p
        faccs.append(accuracy_score(emo[te], p))
    res['t_actor'] = round(time.time() - t0, 1)
    res.update(actor_acc=float(np.mean(faccs)), actor_f1=float(f1_score(emo, allp, average='macro')),
               actor_minrec=float(recall_score(emo, allp, average=None).min()),
               actor_folds=[round(a, 4) for a in faccs])
    return res
