import os
OUT = os.environ.get('SEGEXP_DIR', '/tmp/segexp')  # cache and results folder
import json
rows = {}
for l in open(OUT + '/results.jsonl'):
    r = json.loads(l); rows[r['cfg']] = r
print('| config (feat:unit:norm:clf) | rows | dims | random acc | random macro-F1 | random min recall | actor-kfold acc | actor-kfold macro-F1 | actor min recall | fit+predict s (3 seeds / 5 folds) |')
print('|---|---|---|---|---|---|---|---|---|---|')
for c, r in rows.items():
    print(f"| {c} | {r['rows']} | {r['dims']} | {r['rand_acc']:.3f} | {r['rand_f1']:.3f} | {r['rand_minrec']:.3f} | {r['actor_acc']:.3f} | {r['actor_f1']:.3f} | {r['actor_minrec']:.3f} | {r['t_random']:.0f} / {r['t_actor']:.0f} |")
