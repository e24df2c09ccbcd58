#!/usr/bin/env bash
# What a model trained with per-speaker normalisation gets on recordings of speakers it never
# heard, judged one clip at a time (the training speakers' average statistics, as `serve` and a
# lone `predict` do) and with the speaker's own statistics (60 recordings each), against the
# same model trained without normalisation.
#
# Trains on actors 01-16 only (`run --stage all` on a corpus of links; the protocols inside that
# run are not the point) and predicts every recording of actors 17-20 with `predict --json`.
# Prints accuracy and macro F1 of the three readings as a Markdown table.
#
# Usage: tools/lone_clip_eval.sh [EXTRA --set ...]   (on top of ./pipeline.toml)
# Env:   RAVDESS_DIR (default data/ravdess), LONE_OUT (default target/lone-clip), MODEL (default
#        svm; `ensemble` trains pipeline.toml's models and predicts with their ensemble), SER_PIPELINE_BIN (a binary to use as is; default: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
root="${RAVDESS_DIR:-data/ravdess}"
out="${LONE_OUT:-target/lone-clip}"
model="${MODEL:-svm}"
[ -d "$root/Actor_17" ] || { echo "lone_clip_eval: no RAVDESS (actors 01-20) at $root" >&2; exit 1; }
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
case "$root" in /*) ;; *) root="$PWD/$root" ;; esac
if [ -n "${SER_PIPELINE_BIN:-}" ]; then
  bin="$SER_PIPELINE_BIN"
else
  cargo build --release -q
  bin="${CARGO_TARGET_DIR:-target}/release/ser-pipeline"
fi
rm -rf "$out"
mkdir -p "$out/train16" "$out/test"
for a in $(seq -w 1 16); do ln -s "$root/Actor_$a" "$out/train16/Actor_$a"; done
for a in 17 18 19 20; do ln -s "$root/Actor_$a" "$out/test/Actor_$a"; done
# One small protocol inside the training run (the run needs one); the final model is the point.
sets=(--set 'split.random.enabled=false' --set 'split.actor_kfold.enabled=false'
      --set 'split.actor_holdout.test_actors=[13,14,15,16]')
# MODEL=ensemble: the models of pipeline.toml's ensemble, saved together as models/ensemble.
[ "$model" = ensemble ] || sets+=(--set "models.train=[\"$model\"]")
for variant in spk plain; do
  norm=$([ "$variant" = spk ] && echo true || echo false)
  "$bin" run --stage all -q --force --data-root "$out/train16" "${sets[@]}" "$@" \
    --set "train.speaker_normalization=$norm" \
    --set "data.out_dir=\"$out/$variant/data\"" --set "data.reports_dir=\"$out/$variant/reports\""
done
"$bin" predict -q --json --model "$out/spk/data/models/$model" --out "$out/own.csv" "$out/test" >"$out/own.json"
"$bin" predict -q --json --population-statistics --model "$out/spk/data/models/$model" \
  --out "$out/population.csv" "$out/test" >"$out/population.json"
"$bin" predict -q --json --model "$out/plain/data/models/$model" --out "$out/plain.csv" "$out/test" >"$out/plain.json"
python3 - "$out" <<'EOF'
import json, sys
from pathlib import Path
EMOTIONS = ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"]
out = Path(sys.argv[1])
print("| model | speaker statistics | files | accuracy | macro F1 |")
print("|---|---|---|---|---|")
for name, label in [("plain", "none (trained without)"), ("own", "own (60 recordings each)"),
                    ("population", "training speakers' average (lone clip)")]:
    rows = json.loads((out / f"{name}.json").read_text())
    truth = [EMOTIONS[int(Path(r["path"]).name.split("-")[2]) - 1] for r in rows]
    pred = [r["emotion"] for r in rows]
    acc = sum(t == p for t, p in zip(truth, pred)) / len(rows)
    f1s = []
    for c in EMOTIONS:
        tp = sum(t == c and p == c for t, p in zip(truth, pred))
        n_t, n_p = truth.count(c), pred.count(c)
        f1s.append(0.0 if tp == 0 else 2 * tp / (n_t + n_p))
    model = "speaker-normalised" if name != "plain" else "plain"
    print(f"| {model} | {label} | {len(rows)} | {acc:.4f} | {sum(f1s) / len(f1s):.4f} |")
EOF
