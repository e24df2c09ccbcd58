#!/usr/bin/env bash
# Feature-extraction benchmark: ser-pipeline vs the original Python recipe (librosa + joblib),
# both at the same number of workers, measured in the same run. See bench/README.md.
#
# Usage: bench/extract.sh [options]
#   -n, --runs N          runs of ser-pipeline (default 3; the median wall time is reported)
#   -r, --ref-runs N      runs of the Python reference (default 3; 1 is fine, it is slow; 0 skips it)
#   -w, --workers N       workers for both tools (default 2)
#       --cold-jit        give every reference run an empty numba cache (first-ever-run cost)
#       --idle-wait S     before each run, wait up to S seconds for the machine to go idle (default 60)
#       --max-other-load C  a run during which other processes used more than C cores (default 0.25)
#                         is discarded and redone, up to --attempts times in all
#       --attempts K      tries per run (default 3); the last try is kept, flagged, whatever its load
#       --no-install      do not create/update the Python venv (it must exist)
#       --no-taskset      do not pin to CPUs 0..N-1 with taskset
#   -o, --out FILE        Markdown report (default bench/results/extract-wN.md, N = --workers)
# Environment: RAVDESS_DIR (default <repo>/data/ravdess), BENCH_VENV (default /tmp/benchvenv),
#              PYTHON (interpreter used to create the venv, default python3).
# Exit: 0 ok, 1 failure, 2 bad usage, 3 corpus missing (benchmark skipped).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
RUNS=3
REF_RUNS=3
WORKERS=2
COLD_JIT=0
IDLE_WAIT=60
MAX_OTHER_LOAD=0.25
ATTEMPTS=3
INSTALL=1
PIN=1
OUT=""
ARGS_GIVEN="$*"

die() { echo "extract.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    -n|--runs) RUNS="$2"; shift 2 ;;
    -r|--ref-runs) REF_RUNS="$2"; shift 2 ;;
    -w|--workers) WORKERS="$2"; shift 2 ;;
    --cold-jit) COLD_JIT=1; shift ;;
    --idle-wait) IDLE_WAIT="$2"; shift 2 ;;
    --max-other-load) MAX_OTHER_LOAD="$2"; shift 2 ;;
    --attempts) ATTEMPTS="$2"; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --no-taskset) PIN=0; shift ;;
    -o|--out) OUT="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "extract.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$MAX_OTHER_LOAD" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "extract.sh: --max-other-load must be a number" >&2; exit 2; }
for v in RUNS REF_RUNS WORKERS IDLE_WAIT ATTEMPTS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "extract.sh: $v must be a non-negative integer" >&2; exit 2; }
done
[[ $RUNS -ge 1 && $WORKERS -ge 1 && $ATTEMPTS -ge 1 ]] || { echo "extract.sh: --runs, --workers and --attempts must be >= 1" >&2; exit 2; }
OUT="${OUT:-$BENCH_DIR/results/extract-w$WORKERS.md}"

# ---- corpus ----------------------------------------------------------------------------------
CORPUS="${RAVDESS_DIR:-$ROOT/data/ravdess}"
if [[ ! -d "$CORPUS" ]]; then
  echo "extract.sh: SKIPPED: RAVDESS corpus not found at $CORPUS (set RAVDESS_DIR)" >&2
  exit 3
fi
CORPUS="$(cd "$CORPUS" && pwd -P)"  # -P: find does not descend into a symlinked corpus root
NFILES=$(find "$CORPUS" -type f -name '*.wav' | wc -l)
if [[ $NFILES -eq 0 ]]; then
  echo "extract.sh: SKIPPED: no *.wav files under $CORPUS (set RAVDESS_DIR)" >&2
  exit 3
fi
NFLAC=$(find "$CORPUS" -type f -iname '*.flac' | wc -l)
[[ $NFLAC -eq 0 ]] || echo "extract.sh: warning: $NFLAC .flac files: ser-pipeline reads them, the reference recipe (*.wav) does not" >&2
echo "corpus: $CORPUS ($NFILES wav files)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ser-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# ---- build ours ------------------------------------------------------------------------------
build_private_binary "$WORK"

# ---- Python reference environment ------------------------------------------------------------
VENV="${BENCH_VENV:-/tmp/benchvenv}"
setup_venv "$VENV" "$BENCH_DIR/requirements.txt" "librosa, joblib, soundfile, pyarrow"

# ---- config for ours -------------------------------------------------------------------------
mkdir -p "$WORK/ours"
cat >"$WORK/ours/pipeline.toml" <<EOF
# Written by bench/extract.sh. Relative paths are relative to this file's folder.
[data]
root = "$CORPUS"
out_dir = "out"
reports_dir = "reports"
EOF

# ---- pinning and single-threaded Python workers ----------------------------------------------
PIN_CMD=()
PINNING="none"
if [[ $PIN -eq 1 ]] && command -v taskset >/dev/null 2>&1; then
  NPROC=$(nproc)
  if [[ $NPROC -ge $WORKERS ]]; then
    PIN_CMD=(taskset -c "0-$((WORKERS - 1))")
    PINNING="taskset -c 0-$((WORKERS - 1))"
  fi
fi
# One core per Python worker. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if set on this machine for old
# OpenBLAS builds, slow the current numpy: unset both for the reference runs only.
REF_ENV=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
         MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1 PYTHONWARNINGS=ignore)
NUMBA_CACHE_BASE="$VENV/numba-cache"
mkdir -p "$NUMBA_CACHE_BASE"

# ---- helpers ---------------------------------------------------------------------------------
RUNS_JSONL="$WORK/runs.jsonl"
: >"$RUNS_JSONL"

run_ours() {
  local i=$1 b0 b1 rc
  rm -rf "$WORK/ours/out" "$WORK/ours/reports"
  b0=$(busy_jiffies)
  set +e
  { TIMEFORMAT='%3R %3U %3S'; time "${PIN_CMD[@]}" "$BIN" run --stage extract --force \
      --threads "$WORKERS" --data-root "$CORPUS" --config "$WORK/ours/pipeline.toml" -q \
      >"$WORK/ours.out" 2>"$WORK/ours.err"; } 2>"$WORK/ours.time"
  rc=$?
  set -e
  b1=$(busy_jiffies)
  if [[ $rc -ne 0 ]]; then
    cat "$WORK/ours.err" >&2
    die "ser-pipeline exited $rc"
  fi
  [[ -s "$WORK/ours/out/features.parquet" ]] || die "ser-pipeline wrote no features.parquet"
  read -r wall user sys <"$WORK/ours.time"
  local rows
  rows=$("$PY" -c 'import sys, pyarrow.parquet as pq; print(pq.read_metadata(sys.argv[1]).num_rows)' \
    "$WORK/ours/out/features.parquet")
  "$PY" - "$i" "$wall" "$user" "$sys" "$rows" "$b0" "$b1" "$HZ" >>"$RUNS_JSONL" <<'EOF'
import json, sys
i, wall, user, sys_, rows, b0, b1, hz = sys.argv[1:]
wall, user, sys_ = float(wall), float(user), float(sys_)
machine = (int(b1) - int(b0)) / int(hz)
print(json.dumps({"tool": "ours", "run": int(i), "files": int(rows), "wall_s": wall,
                  "user_s": user, "sys_s": sys_, "cpu_s": user + sys_,
                  "other_load_cores": max(0.0, machine - user - sys_) / wall}))
EOF
  printf '  ours      run %d: %7.2f s wall, %s files\n' "$i" "$wall" "$rows"
}

run_ref() {
  local i=$1 b0 b1 rc cache
  if [[ $COLD_JIT -eq 1 ]]; then
    cache="$WORK/numba-cache-$i"; mkdir -p "$cache"
  else
    cache="$NUMBA_CACHE_BASE"
  fi
  b0=$(busy_jiffies)
  set +e
  { TIMEFORMAT='%3R %3U %3S'; time "${REF_ENV[@]}" NUMBA_CACHE_DIR="$cache" "${PIN_CMD[@]}" \
      "$PY" "$BENCH_DIR/reference_extract.py" --data-root "$CORPUS" --out "$WORK/ref/features.npy" \
      --jobs "$WORKERS" >"$WORK/ref.out" 2>"$WORK/ref.err"; } 2>"$WORK/ref.time"
  rc=$?
  set -e
  b1=$(busy_jiffies)
  if [[ $rc -ne 0 ]]; then
    tail -30 "$WORK/ref.err" >&2
    die "reference recipe exited $rc"
  fi
  read -r pwall user sys <"$WORK/ref.time"
  tail -1 "$WORK/ref.out" >"$WORK/ref.json"
  "$PY" - "$i" "$pwall" "$user" "$sys" "$b0" "$b1" "$HZ" "$WORK/ref.json" >>"$RUNS_JSONL" <<'EOF'
import json, sys
i, pwall, user, sys_, b0, b1, hz, path = sys.argv[1:]
r = json.load(open(path))
# CPU: the larger of the in-script account (main + workers) and the shell's (children reaped).
cpu = max(r["cpu_s"], float(user) + float(sys_))
machine = (int(b1) - int(b0)) / int(hz)
r.update({"tool": "reference", "run": int(i), "process_wall_s": float(pwall),
          "cpu_s": cpu, "other_load_cores": max(0.0, machine - cpu) / float(pwall)})
print(json.dumps(r))
EOF
  printf '  reference run %d: %7.2f s wall (process %.2f s), %s files\n' "$i" \
    "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["wall_s"])' "$WORK/ref.json")" \
    "$pwall" "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"])' "$WORK/ref.json")"
}

# ---- runs ------------------------------------------------------------------------------------
# Page cache: read the corpus once so that neither tool's first run pays for the disk.
find "$CORPUS" -type f -name "*.wav" -exec cat {} + >/dev/null
echo "runs: ours x$RUNS, reference x$REF_RUNS, $WORKERS workers, pinning: $PINNING (interleaved)"
# One measured run; redone (up to ATTEMPTS tries) while other processes loaded the machine.
# Discarded tries stay in runs.jsonl with "discarded": true and are listed in the report.
measure() {
  local fn=$1 i=$2 a verdict
  for ((a = 1; a <= ATTEMPTS; a++)); do
    wait_idle
    "$fn" "$i"
    verdict=$("$PY" - "$RUNS_JSONL" "$MAX_OTHER_LOAD" "$a" "$ATTEMPTS" <<'EOF'
import json, sys
path, limit, a, attempts = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lines = open(path).read().splitlines()
r = json.loads(lines[-1])
r["attempt"] = a
busy = r["other_load_cores"] > limit
if busy and a < attempts:
    r["discarded"] = True
    verdict = "redo"
else:
    r["contaminated"] = busy
    verdict = "keep"
lines[-1] = json.dumps(r)
open(path, "w").write("\n".join(lines) + "\n")
print(verdict)
EOF
)
    [[ $verdict == keep ]] && return 0
    echo "    other processes used > $MAX_OTHER_LOAD cores during that run: discarded, redoing" >&2
  done
}

MAXR=$(( RUNS > REF_RUNS ? RUNS : REF_RUNS ))
for ((i = 1; i <= MAXR; i++)); do
  if [[ $i -le $RUNS ]]; then measure run_ours "$i"; fi
  if [[ $i -le $REF_RUNS ]]; then measure run_ref "$i"; fi
done

COMPARE="-"
if [[ $REF_RUNS -ge 1 ]]; then
  "$PY" "$BENCH_DIR/compare_outputs.py" "$WORK/ours/out/features.parquet" "$WORK/ref/features.npy" \
    >"$WORK/compare.json" && COMPARE="$WORK/compare.json"
fi

# ---- facts and report ------------------------------------------------------------------------
GIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no git')"
DIRTY=$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null | wc -l)
[[ $DIRTY -eq 0 ]] || GIT="$GIT + uncommitted changes in $DIRTY path(s) under src/, Cargo.*"
"$PY" - "$WORK/facts.json" <<EOF
import json, os, subprocess, sys, datetime
def sh(c):
    try: return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
    except Exception: return "?"
model = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        model = line.split(":", 1)[1].strip(); break
mem = sh("free -h | awk '/^Mem:/{print \$2}'")
v = json.loads(sh("""${REF_ENV[*]} "$PY" -c '
import json, sys, librosa, numpy, numba, joblib, threadpoolctl
print(json.dumps({"python": sys.version.split()[0], "librosa": librosa.__version__,
  "numpy": numpy.__version__, "numba": numba.__version__, "joblib": joblib.__version__,
  "blas": ", ".join(sorted({str(d.get("internal_api")) + " " + str(d.get("architecture")) for d in threadpoolctl.threadpool_info()}))}))'
""") or "{}")
facts = {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "nproc": sh("nproc"), "cpu_model": model, "mem": f"{mem} RAM",
    "corpus": "$CORPUS", "files": $NFILES, "corpus_size": sh("du -sh '$CORPUS' | cut -f1"),
    "workers": $WORKERS, "pinning": "$PINNING",
    "git": "$GIT", "rustc": sh("rustc --version"),
    "numba_cache": "empty per run (--cold-jit)" if $COLD_JIT else "persistent ($NUMBA_CACHE_BASE; the first-ever run compiles)",
    "command": ("bench/extract.sh $ARGS_GIVEN").strip(),
    "max_other_load": $MAX_OTHER_LOAD, "attempts": $ATTEMPTS,
}
facts.update(v)
json.dump(facts, open(sys.argv[1], "w"))
EOF

mkdir -p "$(dirname "$OUT")"
# Raw per-try data beside the report (FILE.md -> FILE.jsonl; facts on the first line, the output
# check on the last).
RAW="${OUT%.md}.jsonl"
{
  cat "$WORK/facts.json"; echo; cat "$RUNS_JSONL"
  # The output check, as one more line: {"compare": {...}} (absent when the reference did not run).
  if [[ $COMPARE != "-" ]]; then printf '{"compare": %s}\n' "$(cat "$COMPARE")"; fi
} >"$RAW"
"$PY" "$BENCH_DIR/summarize.py" "$RUNS_JSONL" "$WORK/facts.json" "$COMPARE" >"$WORK/report.md" \
  || die "summarize.py failed; raw data kept in $RAW"
cp "$WORK/report.md" "$OUT"
echo
cat "$OUT"
echo
echo "written: $OUT (raw tries: $RAW)"
