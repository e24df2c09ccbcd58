# Cross-corpus probe on the pipeline's own file-level features (features.parquet of a run
# with both corpora, e.g. `tools/corpus_variants.sh` -> target/corpus_variants/16k.cross):
# per-(corpus, speaker) standardisation, train on one corpus, test on the other, 6 shared
# classes, scikit-learn SVC and logistic regression.
# Usage: python tools/experiments/cross_corpus_probe.py FEATURES.parquet [PREFIX,PREFIX...]
#   (PREFIXES keep the feature columns starting with them: "log_mel", "mfcc_mean,mfcc_std")
# Needs tools/reference/requirements-sklearn.txt.
import sys, numpy as np, pandas as pd
from sklearn.svm import SVC
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
df = pd.read_parquet(sys.argv[1])
meta = ['path','corpus','speaker','emotion','gender','sample_rate','duration_s','n_stft_frames','tuning']
feat = [c for c in df.columns[17:] if df[c].dtype.kind == 'f']
fam_filter = sys.argv[2] if len(sys.argv) > 2 else ''
if fam_filter:
    feat = [c for c in feat if any(c.startswith(f) for f in fam_filter.split(','))]
X = df[feat].to_numpy(float).copy()
for (c, s), idx in df.groupby(['corpus','speaker']).indices.items():
    m = X[idx].mean(0); sd = X[idx].std(0); sd[sd < 1e-12] = 1
    X[idx] = (X[idx] - m) / sd
shared = ['neutral','happy','sad','angry','fearful','disgust']
keep = df.emotion.isin(shared).to_numpy()
def run(tr, te, name, model):
    a = keep & (df.corpus == tr).to_numpy(); b = keep & (df.corpus == te).to_numpy()
    sc = StandardScaler().fit(X[a])
    model.fit(sc.transform(X[a]), df.emotion[a])
    acc = (model.predict(sc.transform(X[b])) == df.emotion[b]).mean()
    print(f"{tr}->{te} {name}: {acc:.4f} ({len(feat)} features)")
for tr, te in [('ravdess','emodb'), ('emodb','ravdess')]:
    run(tr, te, 'SVC rbf C=10', SVC(C=10))
    run(tr, te, 'SVC rbf C=1', SVC(C=1))
    run(tr, te, 'logreg C=0.01', LogisticRegression(C=0.01, max_iter=2000))
    run(tr, te, 'logreg C=1', LogisticRegression(C=1, max_iter=2000))
