"""Markdown table from $SEGEXP_DIR/results_f0.jsonl (+ per-class actor-kfold recall of neutral/calm
from the saved scores_f0_*.npz). Last run of each config wins."""
import os, json
import numpy as np
from sklearn.model_selection import train_test_split
OUT = os.environ.get('SEGEXP_DIR', '/tmp/segexp')
D = np.load(OUT + '/frames.npz'); EMO, ACTOR = D['emo'], D['actor']
COST = {'none': '-', 'yin': 'yin 7 s', 'yinc': 'yin 7 s', 'pyin': 'pyin 203 s'}
rows = {}
for l in open(OUT + '/results_f0.jsonl'):
    r = json.loads(l); rows[r['cfg']] = r
print('| config (unit:f0:clf[:cw]) | dims | random acc | random F1 | random min rec | actor acc | actor F1 | actor min rec | actor neutral / calm recall | F0 extraction (1200 files) | fit+predict s (3 seeds / 5 folds) |')
print('|---|---|---|---|---|---|---|---|---|---|---|')
for cfg, r in rows.items():
    S = np.load(f"{OUT}/scores_f0_{cfg.replace(':', '_')}.npz")
    p = np.zeros(len(EMO), int); idx = np.arange(len(EMO))
    for k in range(5):
        te = idx[(ACTOR - 1) % 5 == k]; p[te] = S[f'fold{k}'].argmax(1)
    rec = [np.mean(p[EMO == c] == c) for c in (0, 1)]
    f0 = cfg.split(':')[1].replace('w3', '').replace('only', '')
    print(f"| {cfg} | {r['dims']} | {r['rand_acc']:.3f} | {r['rand_f1']:.3f} | {r['rand_minrec']:.3f} | "
          f"{r['actor_acc']:.3f} | {r['actor_f1']:.3f} | {r['actor_minrec']:.3f} | {rec[0]:.3f} / {rec[1]:.3f} | "
          f"{COST[f0]} | {r['t_random']:.0f} / {r['t_actor']:.0f} |")
