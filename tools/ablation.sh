#!/usr/bin/env bash
# Ablation over the levers of issue 4: runs `ser-pipeline run --stage all` once per variant (each
# a list of --set overrides on top of ./pipeline.toml, or on top of another config when the list
# starts with @FILE) over the RAVDESS copy, and prints a Markdown table of the mean accuracy /
# macro F1 / min class recall per protocol.
#
# Usage: tools/ablation.sh [VARIANT ...]     (default: every variant below, in order;
#        'NAME|key=value;key=value' or 'NAME|@config.toml;key=value' runs an ad-hoc variant)
# Env:   RAVDESS_DIR (default data/ravdess), ABLATION_OUT (default target/ablation),
#        MODEL (the model whose numbers are tabled; default mlp), CARGO_TARGET_DIR,
#        SER_PIPELINE_BIN (see below)
set -euo pipefail
cd "$(dirname "$0")/.."
root="${RAVDESS_DIR:-data/ravdess}"
out="${ABLATION_OUT:-target/ablation}"
model="${MODEL:-mlp}"
[ -d "$root/Actor_01" ] || { echo "ablation: no RAVDESS at $root (set RAVDESS_DIR)" >&2; exit 1; }
# SER_PIPELINE_BIN: a binary to use as is (no build), e.g. a copy that a concurrent build into a
# shared CARGO_TARGET_DIR cannot replace mid-run.
if [ -n "${SER_PIPELINE_BIN:-}" ]; then
  bin="$SER_PIPELINE_BIN"
else
  cargo build --release -q
  bin="${CARGO_TARGET_DIR:-target}/release/ser-pipeline"
fi

# name | overrides (separated by ';') on top of ./pipeline.toml (the recommended config, 'default').
rich='features.families=["mfcc","mfcc_delta","mfcc_delta2","chroma","log_mel","rms","zcr","spectral_contrast","spectral_centroid","spectral_bandwidth","spectral_rolloff","spectral_flatness"]'
variants=(
  'original|@presets/original.toml;models.train=["mlp","svm"]'
  'file_level|@presets/file-level.toml'
  "file_level+rich22k+trim40|@presets/file-level.toml;audio.sample_rate=22050;$rich;features.trim_top_db=40.0"
  'file_level+speaker_norm|@presets/file-level.toml;train.speaker_normalization=true'
  'default-speaker_norm|train.speaker_normalization=false'
  'default-speaker_norm-calibration|train.speaker_normalization=false;models.svm.probability=false'
  'default-calibration|models.svm.probability=false'
  'default|'
  'default-augment|augment.enabled=false;train.augmented="none"'
  'default+segments_0.5s|features.segment_seconds=0.5;features.segment_hop_seconds=0.25'
)
declare -A by_name
order=()
for v in "${variants[@]}"; do by_name["${v%%|*}"]="${v#*|}"; order+=("${v%%|*}"); done
# An argument NAME=OVERRIDES defines an ad-hoc variant; a bare NAME picks one above.
if [ $# -gt 0 ]; then
  order=()
  for a in "$@"; do
    if [[ "$a" == *"|"* ]]; then by_name["${a%%|*}"]="${a#*|}"; order+=("${a%%|*}"); else order+=("$a"); fi
  done
fi

printf '| variant | random acc | random macro F1 | random min recall | actor-kfold acc | actor-kfold macro F1 | wall s |\n'
printf '|---|---|---|---|---|---|---|\n'
for name in "${order[@]}"; do
  sets=()
  IFS=';' read -ra parts <<< "${by_name[$name]}"
  for p in "${parts[@]+"${parts[@]}"}"; do
    case "$p" in
      @*) sets+=(--config "${p#@}") ;;
      ?*) sets+=(--set "$p") ;;
    esac
  done
  case "$out" in /*) dir="$out/$name" ;; *) dir="$PWD/$out/$name" ;; esac
  rm -rf "$dir"
  start=$(date +%s.%N)
  "$bin" run --stage all -q --force --data-root "$root" \
    --set "data.out_dir=\"$dir/data\"" --set "data.reports_dir=\"$dir/reports\"" "${sets[@]+"${sets[@]}"}"
  wall=$(echo "$(date +%s.%N) - $start" | bc)
  awk -F, -v m="$model" -v name="$name" -v wall="$wall" '
    $3 == "mean" && $2 == m && $16 != "lone" { acc[$1] = $5; f1[$1] = $7; rec[$1] = $9 }
    END { printf "| %s | %s | %s | %s | %s | %s | %.0f |\n", name, acc["random"], f1["random"], rec["random"], acc["actor_kfold"], f1["actor_kfold"], wall }
  ' "$dir/reports/metrics.csv"
done
