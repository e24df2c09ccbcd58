#!/usr/bin/env bash
# Whole-pipeline benchmark: `run --stage all` end to end (wall time, peak RSS), and extraction
# scaling over the corpus replicated K times (time should grow linearly, peak memory stay flat).
# See bench/README.md.
#
# Usage: bench/pipeline.sh [options]
#   -n, --runs N          end-to-end runs (default 3; the median is reported)
#   -k, --replicas K      copies of the corpus for the scaling run (default 10; 0 skips it)
#   -t, --threads N       worker threads (default 2)
#       --idle-wait S     before each run, wait up to S seconds for the machine to go idle (default 30)
#   -o, --out FILE        JSON lines, one object per run (default bench/results/pipeline-latest.jsonl)
# Environment: RAVDESS_DIR (default <repo>/data/ravdess), CARGO_TARGET_DIR.
# Exit: 0 ok, 1 failure, 2 bad usage, 3 corpus missing (benchmark skipped).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
RUNS=3
REPLICAS=10
THREADS=2
IDLE_WAIT=30
OUT="$BENCH_DIR/results/pipeline-latest.jsonl"

die() { echo "pipeline.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    -n|--runs) RUNS="${2:?}"; shift 2 ;;
    -k|--replicas) REPLICAS="${2:?}"; shift 2 ;;
    -t|--threads) THREADS="${2:?}"; shift 2 ;;
    --idle-wait) IDLE_WAIT="${2:?}"; shift 2 ;;
    -o|--out) OUT="${2:?}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "pipeline.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done
for v in RUNS REPLICAS THREADS IDLE_WAIT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "pipeline.sh: $v must be a non-negative integer" >&2; exit 2; }
done
[[ $RUNS -ge 1 && $THREADS -ge 1 ]] || { echo "pipeline.sh: --runs and --threads must be >= 1" >&2; exit 2; }

CORPUS="${RAVDESS_DIR:-$ROOT/data/ravdess}"
if [[ ! -d "$CORPUS" ]]; then
  echo "pipeline.sh: SKIPPED: RAVDESS corpus not found at $CORPUS (set RAVDESS_DIR)" >&2
  exit 3
fi
CORPUS="$(cd "$CORPUS" && pwd -P)"  # -P: find does not descend into a symlinked corpus root
NFILES=$(find "$CORPUS" -type f -name '*.wav' | wc -l)
[[ $NFILES -gt 0 ]] || { echo "pipeline.sh: SKIPPED: no *.wav files under $CORPUS" >&2; exit 3; }
[[ -x /usr/bin/time ]] || die "needs GNU time at /usr/bin/time (Debian package 'time') for peak RSS"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/ser-bench-pipeline.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
build_private_binary "$WORK"

# A config: the repository's pipeline.toml (the recommended default) with its [data] folders
# moved into the work folder.
config_for() {
  local dir=$1
  mkdir -p "$dir"
  awk -v out="$dir/out" -v rep="$dir/reports" '
    /^\[/ { section = $0 }
    section == "[data]" && /^out_dir *=/ { print "out_dir = \"" out "\""; next }
    section == "[data]" && /^reports_dir *=/ { print "reports_dir = \"" rep "\""; next }
    { print }' "$ROOT/pipeline.toml" >"$dir/pipeline.toml"
}

mkdir -p "$(dirname "$OUT")"
: >"$OUT.tmp"
GIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no git')"
DIRTY=$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock pipeline.toml 2>/dev/null | wc -l)
[[ $DIRTY -eq 0 ]] || GIT="$GIT + uncommitted changes"
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
printf '{"facts": {"date": "%s", "nproc": %s, "cpu_model": "%s", "git": "%s", "corpus": "%s", "files": %s, "threads": %s, "command": "bench/pipeline.sh %s"}}\n' \
  "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$CPU_MODEL" "$GIT" "$CORPUS" "$NFILES" "$THREADS" "$*" >>"$OUT.tmp"

# Runs one timed command; appends {case, files, wall_s, user_s, sys_s, peak_rss_mb, other_load_cores, exit}.
measure() {
  local case=$1 files=$2; shift 2
  wait_idle
  local b0 b1 rc
  b0=$(busy_jiffies)
  set +e
  /usr/bin/time -f '%e %U %S %M' -o "$WORK/time.txt" "$@" >"$WORK/cmd.out" 2>"$WORK/cmd.err"
  rc=$?
  set -e
  b1=$(busy_jiffies)
  if [[ $rc -ne 0 && $rc -ne 3 ]]; then
    tail -20 "$WORK/cmd.err" >&2
    die "$case: exited $rc"
  fi
  read -r wall user sys rss <"$WORK/time.txt"
  # Other load = busy CPU time of the whole machine minus our own, over the wall time.
  awk -v c="$case" -v f="$files" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v rc="$rc" \
      -v d=$((b1 - b0)) -v hz="$HZ" 'BEGIN {
    other = (d / hz - u - s) / w; if (other < 0) other = 0
    printf "{\"case\": \"%s\", \"files\": %d, \"wall_s\": %.3f, \"user_s\": %.3f, \"sys_s\": %.3f, \"peak_rss_mb\": %.1f, \"other_load_cores\": %.2f, \"exit\": %d}\n", c, f, w, u, s, r / 1024, other, rc
  }' | tee -a "$OUT.tmp"
}

echo "pipeline.sh: end to end, run --stage all --force, $RUNS run(s) on $NFILES files" >&2
config_for "$WORK/e2e"
for ((i = 1; i <= RUNS; i++)); do
  measure e2e_run_all "$NFILES" "$BIN" run --stage all --force -q --threads "$THREADS" \
    --config "$WORK/e2e/pipeline.toml" --data-root "$CORPUS"
done
rm -rf "$WORK/e2e"

if [[ $REPLICAS -ge 1 ]]; then
  echo "pipeline.sh: scaling, run --stage extract --force (scan + extract) on 1x and ${REPLICAS}x the corpus" >&2
  mkdir -p "$WORK/replicas"
  for ((k = 1; k <= REPLICAS; k++)); do
    # Hard links: the same bytes under other paths (no disk cost); symlinks if /tmp is elsewhere.
    cp -al "$CORPUS" "$WORK/replicas/copy_$k" 2>/dev/null || cp -as "$CORPUS" "$WORK/replicas/copy_$k"
  done
  config_for "$WORK/scale"
  measure extract_1x "$NFILES" "$BIN" run --stage extract --force -q --threads "$THREADS" \
    --config "$WORK/scale/pipeline.toml" --data-root "$CORPUS"
  measure "extract_${REPLICAS}x" $((NFILES * REPLICAS)) "$BIN" run --stage extract --force -q \
    --threads "$THREADS" --config "$WORK/scale/pipeline.toml" --data-root "$WORK/replicas"
fi
mv "$OUT.tmp" "$OUT"
echo "written: $OUT" >&2
