"""Paired comparison of each config against a baseline config on the same test files (from the
saved scores_f0_*.npz): files fixed / broken, net accuracy change, and a two-sided exact sign
(McNemar) test p-value. Usage: python paired.py BASELINE_CFG CFG [CFG ...]"""
import os, sys
import numpy as np
from scipy.stats import binomtest
from sklearn.model_selection import train_test_split
OUT = os.environ.get('SEGEXP_DIR', '/tmp/segexp')
D = np.load(OUT + '/frames.npz'); EMO, ACTOR = D['emo'], D['actor']; idx = np.arange(len(EMO))

def correct(cfg):
    S = np.load(f"{OUT}/scores_f0_{cfg.replace(':', '_')}.npz")
    rnd = np.concatenate([S[f'seed{s}'].argmax(1) == EMO[train_test_split(idx, stratify=EMO, test_size=0.2, random_state=s)[1]]
                          for s in (1, 2, 3)])
    act = np.concatenate([S[f'fold{k}'].argmax(1) == EMO[idx[(ACTOR - 1) % 5 == k]] for k in range(5)])
    return rnd, act

base = correct(sys.argv[1])
print('| config vs ' + sys.argv[1] + ' | random fixed/broken (720) | net | p | actor fixed/broken (1200) | net | p |')
print('|---|---|---|---|---|---|---|')
for cfg in sys.argv[2:]:
    out = []
    for b, c in zip(base, correct(cfg)):
        fx, br = int((c & ~b).sum()), int((b & ~c).sum())
        p = binomtest(fx, fx + br).pvalue if fx + br else 1.0
        out += [f'{fx}/{br}', f'{100 * (fx - br) / len(b):+.1f} pt', f'{p:.2f}']
    print(f'| {cfg} | ' + ' | '.join(out) + ' |')
