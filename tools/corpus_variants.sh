#!/usr/bin/env bash
# Across corpora vs within one (issue 18): runs `ser-pipeline run --stage all` per variant and
# protocol over RAVDESS and EmoDB, then prints docs/accuracy.md's table ("Across corpora").
# A variant is a config (pipeline.toml or presets/cross-corpus.toml) and --set overrides; each
# runs up to three protocols:
#   cross: RAVDESS -> EmoDB and EmoDB -> RAVDESS (split.cross_corpus.pairs), 6 shared classes
#   loso:  EmoDB alone, leave one speaker out, 7 classes
#   rav:   RAVDESS alone, pipeline.toml's protocols (random, actor hold-out, actor k-fold)
# and, with `several`, leave one speaker out on the 6 shared classes over each corpus alone and
# both together (does a second corpus help?).
#
# Usage: tools/corpus_variants.sh [table|several]   (default: table)
# Env:   RAVDESS_DIR (default data/ravdess), EMODB_DIR (default data/emodb),
#        OUT (default target/corpus_variants; a run whose reports exist is not rerun),
#        SER_PIPELINE_BIN (a built binary to use as is; default: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
rav=$(readlink -f "${RAVDESS_DIR:-data/ravdess}")
emo=$(readlink -f "${EMODB_DIR:-data/emodb}")
out="${OUT:-target/corpus_variants}"
[ -d "$rav" ] || { echo "corpus_variants: no RAVDESS at $rav (set RAVDESS_DIR)" >&2; exit 1; }
[ -d "$emo" ] || { echo "corpus_variants: no EmoDB at $emo (set EMODB_DIR)" >&2; exit 1; }
if [ -n "${SER_PIPELINE_BIN:-}" ]; then
  bin=$(readlink -f "$SER_PIPELINE_BIN")
else
  cargo build --release -q
  bin=$(readlink -f "${CARGO_TARGET_DIR:-target}/release/ser-pipeline")
fi
mkdir -p "$out"; out=$(readlink -f "$out")

R="{kind=\"ravdess\",root=\"$rav\"}"
E="{kind=\"emodb\",root=\"$emo\"}"
none=(--set split.actor_holdout.enabled=false --set split.random.enabled=false
      --set split.actor_kfold.enabled=false)
cross=(--set "corpora=[$R,$E]" "${none[@]}"
       --set 'split.cross_corpus.pairs=[{train_on=["ravdess"],test_on=["emodb"]},{train_on=["emodb"],test_on=["ravdess"]}]')
loso=(--set "corpora=[$E]" "${none[@]}" --set split.leave_one_speaker_out.enabled=true)
ravdess=(--set "corpora=[$R]")

fams() { # the feature families of pipeline.toml, with changes: -log_mel, +f0
  local list=(mfcc mfcc_delta mfcc_delta2 chroma log_mel rms zcr spectral_contrast
              spectral_centroid spectral_bandwidth spectral_rolloff spectral_flatness)
  local drop="" add="" f q=""
  for f in "$@"; do case $f in -*) drop+=" ${f#-} ";; +*) add+=" ${f#+}";; esac; done
  for f in "${list[@]}" $add; do [[ $drop == *" $f "* ]] || q+="\"$f\","; done
  echo "features.families=[${q%,}]"
}

# run NAME CONFIG ARGS...: one run, outputs in $out/NAME (kept; rerun only when absent). The
# config is copied into the run's folder: its relative paths (data/, reports/) resolve there.
run() {
  local name=$1 config=$2; shift 2
  local dir="$out/$name"
  [ -f "$dir/reports/metrics.csv" ] && return 0
  rm -rf "$dir"; mkdir -p "$dir"
  cp "$repo/$config" "$dir/config.toml"
  echo "== $name" >&2
  (cd "$dir" && "$bin" run -q --no-download --config config.toml \
     --set 'data.out_dir="data"' --set 'data.reports_dir="reports"' "$@") > "$dir.log" 2>&1 \
    || { echo "corpus_variants: $name failed, see $dir.log" >&2; exit 1; }
  [ -f "$dir/reports/metrics.csv" ] \
    || { echo "corpus_variants: $name wrote no $dir/reports/metrics.csv" >&2; exit 1; }
}

# name | config | overrides (one --set value per ';') | protocols
variants=(
  "default|pipeline.toml||cross loso rav"
  "16k|pipeline.toml|audio.sample_rate=16000|cross loso"
  "16k+f0|pipeline.toml|audio.sample_rate=16000;$(fams +f0)|cross loso rav"
  "+f0|pipeline.toml|$(fams +f0)|loso rav"
  "-log_mel|pipeline.toml|$(fams -log_mel)|cross loso rav"
  "16k-log_mel|pipeline.toml|audio.sample_rate=16000;$(fams -log_mel)|cross loso rav"
  "16k-log_mel+f0|pipeline.toml|audio.sample_rate=16000;$(fams -log_mel +f0)|cross loso rav"
  "16k-log_mel-chroma+f0|pipeline.toml|audio.sample_rate=16000;$(fams -log_mel -chroma +f0)|cross"
  "16k-log_mel,mlp_1s|pipeline.toml|audio.sample_rate=16000;$(fams -log_mel);models.segments={knn={seconds=30.0}}|cross"
  "cross-corpus|presets/cross-corpus.toml||cross loso rav"
  "cross-corpus-no_f0|presets/cross-corpus.toml|$(fams -log_mel)|cross loso rav"
)

table() {
  for v in "${variants[@]}"; do
    IFS='|' read -r name config sets protocols <<< "$v"
    local args=()
    IFS=';' read -ra kv <<< "$sets"
    for s in "${kv[@]}"; do [ -n "$s" ] && args+=(--set "$s"); done
    for p in $protocols; do
      case $p in
        cross) run "$name.cross" "$config" "${args[@]}" "${cross[@]}" ;;
        loso) run "$name.loso" "$config" "${args[@]}" "${loso[@]}" ;;
        rav) run "$name.rav" "$config" "${args[@]}" "${ravdess[@]}" ;;
      esac
    done
  done
  python3 - "$out" "${variants[@]}" <<'PY'
import csv, os, sys
out, variants = sys.argv[1], sys.argv[2:]
def acc(run, protocol, model, fold="mean"):
    p = os.path.join(out, run, "reports", "metrics.csv")
    if not os.path.exists(p):
        return "—"
    for r in csv.DictReader(open(p)):
        if (r["protocol"], r["model"], r["fold"]) == (protocol, model, fold) \
                and r.get("normalisation") != "lone":
            return r["accuracy"]
    return "—"
print("| variant | R->E ensemble | R->E SVM | E->R ensemble | E->R SVM | EmoDB LOSO ensemble | RAVDESS actor k-fold ensemble |")
print("|---|---|---|---|---|---|---|")
for v in variants:
    name = v.split("|")[0]
    cells = [acc(f"{name}.cross", "cross_corpus", m, d)
             for d in ("ravdess->emodb", "emodb->ravdess") for m in ("ensemble", "svm")]
    cells += [acc(f"{name}.loso", "leave_one_speaker_out", "ensemble"),
              acc(f"{name}.rav", "actor_kfold", "ensemble")]
    print(f"| {name} | " + " | ".join(cells) + " |")
PY
}

several() {
  local keep='labels.keep=["neutral","happy","sad","angry","fearful","disgust"]'
  local l=("${none[@]}" --set split.leave_one_speaker_out.enabled=true --set "$keep")
  for config in presets/cross-corpus.toml pipeline.toml; do
    local n; n=$(basename "$config" .toml)
    run "$n.six.both" "$config" --set "corpora=[$R,$E]" "${l[@]}"
    run "$n.six.emodb" "$config" --set "corpora=[$E]" "${l[@]}"
    run "$n.six.ravdess" "$config" --set "corpora=[$R]" "${l[@]}"
  done
  python3 - "$out" <<'PY'
import csv, os, sys
out = sys.argv[1]
def folds(run, model):
    rows = csv.DictReader(open(os.path.join(out, run, "reports", "metrics.csv")))
    return {r["fold"]: float(r["accuracy"]) for r in rows
            if r["protocol"] == "leave_one_speaker_out" and r["model"] == model
            and r["fold"] != "mean" and r.get("normalisation") != "lone"}
print("| config | model | tested on | one corpus | both corpora | folds better / worse |")
print("|---|---|---|---|---|---|")
for config in ("cross-corpus", "pipeline"):
    for model in ("ensemble", "svm", "mlp"):
        both = folds(f"{config}.six.both", model)
        for corpus in ("emodb", "ravdess"):
            one = folds(f"{config}.six.{corpus}", model)
            two = {k: both[k] for k in one}
            better = sum(two[k] > one[k] for k in one)
            worse = sum(two[k] < one[k] for k in one)
            print(f"| {config} | {model} | {corpus} ({len(one)} speakers) | "
                  f"{sum(one.values()) / len(one):.4f} | {sum(two.values()) / len(two):.4f} | "
                  f"{better} / {worse} |")
PY
}

case "${1:-table}" in
  table) table ;;
  several) several ;;
  *) echo "usage: tools/corpus_variants.sh [table|several]" >&2; exit 2 ;;
esac
