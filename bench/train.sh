#!/usr/bin/env bash
# Training benchmark: ser-pipeline's MLP against scikit-learn's MLPClassifier (the original
# project's config) on the very same splits, training sets and scaling. See bench/TRAIN.md.
#
# Usage: bench/train.sh [options]
#   -s, --seeds LIST      scikit-learn random_state values, comma-separated (default 42,1,...,9);
#                         the first is the headline, the others show its spread over seeds alone
#   -m, --mlp-seeds LIST  extra [models.mlp] seeds for ours, comma-separated, each refitting only
#                         the MLP on the same splits (default 1,...,9; "" for none)
#       --idle-wait S     before each timed phase, wait up to S seconds for the machine to go idle
#                         (default 60)
#       --no-install      do not create/update the Python venv (it must exist)
#       --keep            keep the temporary output folder (its path is printed)
#   -o, --out FILE        Markdown report (default bench/results/train-latest.md)
# Environment: RAVDESS_DIR (default <repo>/data/ravdess), SKL_VENV (default /tmp/sklvenv),
#              PYTHON (interpreter used to create the venv, default python3).
# Exit: 0 ok, 1 failure, 2 bad usage, 3 corpus missing (benchmark skipped).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
SEEDS="42,1,2,3,4,5,6,7,8,9"
MLP_SEEDS="1,2,3,4,5,6,7,8,9"
IDLE_WAIT=60
INSTALL=1
KEEP=0
OUT="$BENCH_DIR/results/train-latest.md"
ARGS_GIVEN="$*"

die() { echo "train.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    -s|--seeds) SEEDS="${2:?}"; shift 2 ;;
    -m|--mlp-seeds) MLP_SEEDS="${2?}"; shift 2 ;;
    --idle-wait) IDLE_WAIT="${2:?}"; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --keep) KEEP=1; shift ;;
    -o|--out) OUT="${2:?}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "train.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$SEEDS" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "train.sh: --seeds must be comma-separated integers" >&2; exit 2; }
[[ -z "$MLP_SEEDS" || "$MLP_SEEDS" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "train.sh: --mlp-seeds must be comma-separated integers (or empty)" >&2; exit 2; }
[[ "$IDLE_WAIT" =~ ^[0-9]+$ ]] || { echo "train.sh: --idle-wait must be a non-negative integer" >&2; exit 2; }
[[ "$OUT" = /* ]] || OUT="$PWD/$OUT"

# ---- corpus ----------------------------------------------------------------------------------
CORPUS="${RAVDESS_DIR:-$ROOT/data/ravdess}"
if [[ ! -d "$CORPUS" ]]; then
  echo "train.sh: SKIPPED: RAVDESS corpus not found at $CORPUS (set RAVDESS_DIR)" >&2
  exit 3
fi
CORPUS="$(cd "$CORPUS" && pwd -P)"  # -P: find does not descend into a symlinked corpus root
NFILES=$(find "$CORPUS" -type f \( -iname '*.wav' -o -iname '*.flac' \) | wc -l)
if [[ $NFILES -eq 0 ]]; then
  echo "train.sh: SKIPPED: no *.wav / *.flac files under $CORPUS (set RAVDESS_DIR)" >&2
  exit 3
fi
echo "corpus: $CORPUS ($NFILES audio files)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ser-train-bench.XXXXXX")"
if [[ $KEEP -eq 1 ]]; then
  echo "work folder (kept): $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi

# ---- build ours ------------------------------------------------------------------------------
build_private_binary "$WORK"

# ---- Python reference environment ------------------------------------------------------------
VENV="${SKL_VENV:-/tmp/sklvenv}"
setup_venv "$VENV" "$ROOT/tools/reference/requirements-sklearn.txt" "sklearn, numpy, pandas, pyarrow, threadpoolctl"

# ---- config for ours: presets/file-level.toml (one row per file, as the reference trains on)
# with [data] paths made absolute ----------------------------------------------------------------
# toml_set SRC DST SECTION KEY VALUE [KEY VALUE ...]: copy SRC to DST with KEY = VALUE (raw TOML)
# in [SECTION]: existing assignments of those keys there are dropped and the new ones written right
# after the section header (the section is appended if missing); then DST is parsed to check.
toml_set() {
  "$PY" - "$@" <<'EOF'
import re, sys, tomllib
src, dst, section, *kv = sys.argv[1:]
pairs = list(zip(kv[0::2], kv[1::2]))
keys = {k for k, _ in pairs}
out, current, seen, depth = [], None, False, 0
header = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
assign = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")
brackets = lambda t: t.split("#")[0].count("[") - t.split("#")[0].count("]")  # noqa: E731
for line in open(src).read().splitlines():
    if depth > 0:  # continuation of a dropped multi-line array
        depth += brackets(line)
        continue
    m = header.match(line)
    if m:
        current = m.group(1)
        out.append(line)
        if current == section:
            seen = True
            out.extend(f"{k} = {v}" for k, v in pairs)
        continue
    a = assign.match(line)
    if current == section and a and a.group(1) in keys:
        depth = max(0, brackets(line.split("=", 1)[1]))
        continue
    out.append(line)
if not seen:
    out += ["", f"[{section}]", *(f"{k} = {v}" for k, v in pairs)]
open(dst, "w").write("\n".join(out) + "\n")
cfg = tomllib.load(open(dst, "rb"))
node = cfg
for part in section.split("."):
    node = node.get(part, {})
for k, v in pairs:
    if node.get(k) != tomllib.loads(f"x = {v}")["x"]:
        sys.exit(f"{dst}: [{section}] {k} is {node.get(k)!r}, expected {v}")
EOF
}
q() { printf '"%s"' "$1"; }  # a TOML basic string (paths here have no quotes or backslashes)
mkdir -p "$WORK/out" "$WORK/reports"
SRC_CONFIG="$ROOT/presets/file-level.toml"
[[ -f "$SRC_CONFIG" ]] || die "no $SRC_CONFIG"
toml_set "$SRC_CONFIG" "$WORK/pipeline.toml" data root "$(q "$CORPUS")" \
  out_dir "$(q "$WORK/out")" reports_dir "$(q "$WORK/reports")" || die "could not write the temporary config"
OURS_SEED=$("$PY" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb")).get("models", {}).get("mlp", {}).get("seed", 42))' "$WORK/pipeline.toml")

# ---- helpers ---------------------------------------------------------------------------------
# other_load WALL CPU B0 B1: cores' worth of CPU used by other processes during a phase.
other_load() {
  awk -v w="$1" -v c="$2" -v b0="$3" -v b1="$4" -v hz="$HZ" \
    'BEGIN { o = (b1 - b0) / hz - c; if (o < 0) o = 0; printf "%.2f", (w > 0 ? o / w : 0) }'
}

# ---- ours: every stage, one worker thread ----------------------------------------------------
OURS_CMD=("$BIN" run --stage all --threads 1 -q --config "$WORK/pipeline.toml")
echo "ours: ser-pipeline run --stage all --threads 1 -q --config <temp>/pipeline.toml"
wait_idle
B0=$(busy_jiffies)
set +e
{ TIMEFORMAT='%3R %3U %3S'; time "${OURS_CMD[@]}" >"$WORK/ours.out" 2>"$WORK/ours.err"; } 2>"$WORK/ours.time"
RC=$?
set -e
B1=$(busy_jiffies)
if [[ $RC -ne 0 && $RC -ne 3 ]]; then
  cat "$WORK/ours.err" >&2
  die "ser-pipeline exited $RC"
fi
[[ $RC -eq 0 ]] || echo "train.sh: warning: ser-pipeline exited 3 (some inputs skipped; see $WORK/out/errors.csv)" >&2
read -r OURS_WALL OURS_USER OURS_SYS <"$WORK/ours.time"
OURS_CPU=$(awk -v u="$OURS_USER" -v s="$OURS_SYS" 'BEGIN { printf "%.3f", u + s }')
OURS_OTHER=$(other_load "$OURS_WALL" "$OURS_CPU" "$B0" "$B1")
for f in features augmented splits predictions; do
  [[ -s "$WORK/out/$f.parquet" ]] || die "ser-pipeline wrote no $f.parquet"
done
[[ -s "$WORK/reports/fits.csv" ]] || die "ser-pipeline wrote no reports/fits.csv"
OURS_MLP_FIT_TOTAL=$(awk -F, 'NR > 1 && $3 == "mlp" { s += $7 } END { printf "%.2f", s }' "$WORK/reports/fits.csv")
echo "  ours: ${OURS_WALL} s wall for all stages (other load ${OURS_OTHER} cores); MLP fits ${OURS_MLP_FIT_TOTAL} s in total"

# ---- ours with other MLP seeds: only the MLP, on the same features, augmented rows and splits ----
OURS_RUN_ARGS=()
SEED_WALL=0
if [[ -n "$MLP_SEEDS" ]]; then
  echo "ours, other MLP seeds ($MLP_SEEDS): ser-pipeline run --stage train --threads 1 -q, models.train = [\"mlp\"]"
  wait_idle
  B0=$(busy_jiffies)
  SEED_CPU=0
  for s in ${MLP_SEEDS//,/ }; do
    D="$WORK/mlp-seed-$s"
    mkdir -p "$D/out" "$D/reports"
    cp "$WORK/out/manifest.parquet" "$WORK/out/features.parquet" "$WORK/out/augmented.parquet" "$D/out/"
    [[ -f "$WORK/out/errors.csv" ]] && cp "$WORK/out/errors.csv" "$D/out/"
    toml_set "$WORK/pipeline.toml" "$D/step.toml" data out_dir "$(q "$D/out")" reports_dir "$(q "$D/reports")" \
      && toml_set "$D/step.toml" "$D/step2.toml" models train '["mlp"]' \
      && toml_set "$D/step2.toml" "$D/pipeline.toml" models.mlp seed "$s" \
      || die "could not write the config for MLP seed $s"
    T0=$(date +%s.%N)
    set +e
    { TIMEFORMAT='%3R %3U %3S'; time "$BIN" run --stage train --threads 1 -q --config "$D/pipeline.toml" \
        >"$D/run.out" 2>"$D/run.err"; } 2>"$D/run.time"
    RC=$?
    set -e
    read -r _ U S <"$D/run.time"
    SEED_CPU=$(awk -v a="$SEED_CPU" -v u="$U" -v s="$S" 'BEGIN { printf "%.3f", a + u + s }')
    if [[ $RC -ne 0 && $RC -ne 3 ]]; then
      cat "$D/run.err" >&2
      die "ser-pipeline (MLP seed $s) exited $RC"
    fi
    SEED_WALL=$(awk -v a="$SEED_WALL" -v t0="$T0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", a + t1 - t0 }')
    OURS_RUN_ARGS+=(--ours-run "$s:$D/out:$D/reports")
  done
  SEED_OTHER=$(other_load "$SEED_WALL" "$SEED_CPU" "$B0" "$(busy_jiffies)")
  echo "  ours, other MLP seeds: ${SEED_WALL} s wall (other load ${SEED_OTHER} cores)"
fi

# ---- scikit-learn on the same splits ---------------------------------------------------------
# Single-threaded BLAS (the script sets *_NUM_THREADS=1 itself). OPENBLAS_CORETYPE /
# OPENBLAS_L2_SIZE, if set on this machine for old OpenBLAS builds, slow the current numpy:
# unset both for this command only (the report records the kernel used).
echo "scikit-learn: tools/reference/sklearn_mlp_compare.py --seeds $SEEDS (and the comparison)"
wait_idle
B0=$(busy_jiffies)
set +e
{ TIMEFORMAT='%3R %3U %3S'; time env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE PYTHONWARNINGS=ignore \
    "$PY" "$ROOT/tools/reference/sklearn_mlp_compare.py" --data-dir "$WORK/out" \
    --reports-dir "$WORK/reports" --out "$WORK/reports/sklearn_mlp_compare.md" --seeds "$SEEDS" \
    --ours-seed "$OURS_SEED" "${OURS_RUN_ARGS[@]}" \
    >"$WORK/skl.out" 2>"$WORK/skl.err"; } 2>"$WORK/skl.time"
RC=$?
set -e
B1=$(busy_jiffies)
if [[ $RC -ne 0 ]]; then
  tail -30 "$WORK/skl.err" >&2
  die "sklearn_mlp_compare.py exited $RC"
fi
read -r SKL_WALL SKL_USER SKL_SYS <"$WORK/skl.time"
SKL_CPU=$(awk -v u="$SKL_USER" -v s="$SKL_SYS" 'BEGIN { printf "%.3f", u + s }')
SKL_OTHER=$(other_load "$SKL_WALL" "$SKL_CPU" "$B0" "$B1")
echo "  scikit-learn: ${SKL_WALL} s wall (other load ${SKL_OTHER} cores)"

# ---- facts and report ------------------------------------------------------------------------
GIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no git')"
DIRTY=$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock pipeline.toml 2>/dev/null | wc -l)
[[ $DIRTY -eq 0 ]] || GIT="$GIT + uncommitted changes in $DIRTY path(s) under src/, Cargo.*, pipeline.toml"
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(free -h | awk '/^Mem:/ { print $2 }')
PYV=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$PY" -c '
import sys, sklearn, numpy, scipy, pandas, pyarrow, threadpoolctl
blas = ", ".join(sorted({" ".join(str(d.get(k)) for k in ("internal_api", "version", "architecture")) for d in threadpoolctl.threadpool_info()}))
print(f"Python {sys.version.split()[0]}, scikit-learn {sklearn.__version__}, numpy {numpy.__version__}, "
      f"scipy {scipy.__version__}, pandas {pandas.__version__}, pyarrow {pyarrow.__version__}; BLAS: {blas}")')
EXCLUDED=$(awk '/^\[train\]/{t=1; next} /^\[/{t=0} t && /^[[:space:]]*exclude_classes[[:space:]]*=/{sub(/^[^=]*=[[:space:]]*/, ""); print; exit}' "$WORK/pipeline.toml")

mkdir -p "$(dirname "$OUT")"
{
  echo "# Training benchmark: ser-pipeline MLP vs scikit-learn MLPClassifier"
  echo
  echo "Written by \`bench/train.sh\` (see \`bench/TRAIN.md\`)."
  echo
  echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- Machine: $(nproc) CPUs ($CPU_MODEL), $MEM RAM"
  echo "- ser-pipeline: $("$BIN" --version 2>/dev/null || echo '?'), git $GIT; $(rustc --version 2>/dev/null || echo 'rustc ?')"
  echo "- Reference: $PYV"
  echo "- Corpus: $NFILES audio files; config: the repository's \`pipeline.toml\` with \`[data]\` paths made absolute (train.exclude_classes = ${EXCLUDED:-[] (default)})"
  echo "- Command: \`bench/train.sh${ARGS_GIVEN:+ $ARGS_GIVEN}\`, i.e."
  echo "  - ours: \`ser-pipeline run --stage all --threads 1 -q --config <temp>/pipeline.toml\`:" \
       "${OURS_WALL} s wall for all stages (other load during the run: ${OURS_OTHER} cores); MLP fits ${OURS_MLP_FIT_TOTAL} s in total"
  if [[ -n "$MLP_SEEDS" ]]; then
    echo "  - ours, other MLP seeds: \`ser-pipeline run --stage train --threads 1 -q\` once per \`[models.mlp] seed\`" \
         "in $MLP_SEEDS with \`[models] train = [\"mlp\"]\`, on copies of the run's features/augmented tables: ${SEED_WALL} s wall (other load: ${SEED_OTHER} cores)"
  fi
  echo "  - scikit-learn: \`tools/reference/sklearn_mlp_compare.py --seeds $SEEDS\` on the same output folder:" \
       "${SKL_WALL} s wall (other load: ${SKL_OTHER} cores)"
  echo
  echo "Each fit is single-threaded on both sides and one fit runs at a time. Fit seconds time the fit only"
  echo "(the early-stopping validation split included, scaling and prediction excluded). Accuracy and macro F1"
  echo "are on each split's test rows; per-protocol values are means over its folds. The random streams differ"
  echo "(ChaCha8 vs numpy's MT19937), so the two MLPs agree in distribution, not draw for draw: read a"
  echo "difference against the seed spread below."
  echo
  cat "$WORK/reports/sklearn_mlp_compare.md"
} >"$WORK/report.md"
# The per-fold CSV lives in the temp folder: say so rather than give a path that will be gone.
sed -i 's|^Per-fold rows: .*|Per-fold rows as CSV: `sklearn_mlp_compare.csv` in the output folder (`--keep` keeps it).|' "$WORK/report.md"
cp "$WORK/report.md" "$OUT"
# The per-fold comparison as CSV beside the report (FILE.md -> FILE.csv), for bench/run.sh.
cp "$WORK/reports/sklearn_mlp_compare.csv" "${OUT%.md}.csv"
# Ours per fold and MLP seed (FILE.md -> FILE_ours_seeds.csv): bench/run.sh judges the seed means.
if [[ -f "$WORK/reports/sklearn_mlp_compare_ours_seeds.csv" ]]; then
  cp "$WORK/reports/sklearn_mlp_compare_ours_seeds.csv" "${OUT%.md}_ours_seeds.csv"
else
  rm -f "${OUT%.md}_ours_seeds.csv"
fi
echo
cat "$OUT"
echo
echo "written: $OUT"
