#!/usr/bin/env bash
# All benchmarks against the Python reference in one run, over the unpacked corpus: prints one
# Markdown table and writes it with a CSV of every figure. See bench/README.md.
#
#   1. extraction: ser-pipeline at 1 and 2 threads vs the Python recipe at 1 and 2 processes,
#      and the agreement of the two feature tables       (bench/extract.sh -w 1, -w 2)
#   2. training: our MLP vs scikit-learn's MLPClassifier on the same splits (bench/train.sh)
#   3. `run --stage all` end to end: wall time, peak RSS; extraction over the corpus replicated
#      10x: time and peak RSS                              (bench/pipeline.sh)
#   4. criterion micro-benchmarks of the kernels, in seconds of audio per second
#                                                         (cargo bench --bench kernels)
#
# Usage: bench/run.sh [options]
#       --quick           fewer repetitions (1 run per extraction case, 1 scikit-learn seed, no
#                         extra MLP seeds, 1 end-to-end run, short criterion runs): ~6 minutes
#       --no-install      do not create/update the Python venvs (they must exist)
#       --skip NAME       skip a part: extract, train, pipeline or kernels (repeatable)
#   -o, --out-dir DIR     where the results go (default bench/results)
# Environment: RAVDESS_DIR (default <repo>/data/ravdess), BENCH_VENV, SKL_VENV (see the scripts).
# Exit: 0 ok, 1 failure, 2 bad usage, 3 corpus missing (benchmarks skipped).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
QUICK=0
INSTALL=()
SKIP=" "
OUT_DIR="$BENCH_DIR/results"
ARGS_GIVEN="$*"

usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1; shift ;;
    --no-install) INSTALL=(--no-install); shift ;;
    --skip)
      case "${2:-}" in extract|train|pipeline|kernels) SKIP="$SKIP$2 "; shift 2 ;;
        *) echo "run.sh: --skip takes extract, train, pipeline or kernels" >&2; exit 2 ;; esac ;;
    -o|--out-dir) OUT_DIR="${2:?}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done
skipped() { [[ "$SKIP" == *" $1 "* ]]; }

CORPUS="${RAVDESS_DIR:-$ROOT/data/ravdess}"
if [[ ! -d "$CORPUS" ]] || [[ -z "$(find "$CORPUS/" -name '*.wav' -print -quit)" ]]; then
  echo "run.sh: SKIPPED: no RAVDESS corpus at $CORPUS (unpack it there or set RAVDESS_DIR)" >&2
  exit 3
fi
mkdir -p "$OUT_DIR"
START=$(date +%s)

if ! skipped extract; then
  for w in 1 2; do
    echo "== extraction, $w worker(s)" >&2
    if [[ $QUICK -eq 1 ]]; then reps=(-n 1 -r 1 --idle-wait 20); else reps=(-n 3 -r 2); fi
    "$BENCH_DIR/extract.sh" -w "$w" "${reps[@]}" "${INSTALL[@]}" -o "$OUT_DIR/extract-w$w.md" >/dev/null
  done
fi
if ! skipped train; then
  echo "== training" >&2
  if [[ $QUICK -eq 1 ]]; then seeds=(-s 42 -m "" --idle-wait 20); else seeds=(); fi
  "$BENCH_DIR/train.sh" "${seeds[@]}" "${INSTALL[@]}" -o "$OUT_DIR/train-latest.md" >/dev/null
fi
if ! skipped pipeline; then
  echo "== end to end and scaling" >&2
  if [[ $QUICK -eq 1 ]]; then runs=(-n 1 --idle-wait 10); else runs=(-n 3); fi
  "$BENCH_DIR/pipeline.sh" "${runs[@]}" -o "$OUT_DIR/pipeline-latest.jsonl"
fi
if ! skipped kernels; then
  echo "== kernels (criterion)" >&2
  if [[ $QUICK -eq 1 ]]; then crit=(--warm-up-time 1 --measurement-time 2); else crit=(); fi
  (cd "$ROOT" && cargo bench --quiet --bench kernels -- --noplot "${crit[@]}") >"$OUT_DIR/kernels-latest.txt"
  # Criterion keeps its estimates under target/criterion; copy the ones we report.
  CRIT="${CARGO_TARGET_DIR:-$ROOT/target}/criterion/kernels_10s_48k"
  python3 - "$CRIT" "$OUT_DIR/kernels-latest.json" <<'EOF'
import json, pathlib, sys
root, out = pathlib.Path(sys.argv[1]), sys.argv[2]
res = {}
for d in sorted(root.iterdir()):
    est = d / "new" / "estimates.json"
    if est.is_file():
        e = json.loads(est.read_text())
        res[d.name] = {"median_ns": e["median"]["point_estimate"],
                       "median_ci_ns": [e["median"]["confidence_interval"]["lower_bound"],
                                        e["median"]["confidence_interval"]["upper_bound"]]}
json.dump(res, open(out, "w"), indent=1)
EOF
fi

python3 "$BENCH_DIR/combine.py" --dir "$OUT_DIR" --command "bench/run.sh${ARGS_GIVEN:+ $ARGS_GIVEN}" \
  --seconds $(( $(date +%s) - START ))
