#!/usr/bin/env bash
# A/B: two builds of ser-pipeline on the same config and corpus, runs interleaved (A B A B ...)
# so that both meet the same machine load; each run from scratch (`run --stage STAGE` into a
# fresh folder). Prints one line per run and the medians: wall, user and system CPU seconds,
# peak RSS. CPU seconds are the figure to compare on a shared machine (wall time follows the
# load of other processes).
#
# Usage: bench/ab.sh BIN_A BIN_B [CONFIG] [STAGE] [RUNS]
#        CONFIG default: ./pipeline.toml; STAGE default: all; RUNS default: 3 (per binary)
# Env:   RAVDESS_DIR (default data/ravdess); SET_A, SET_B: one more --set KEY=VALUE for that
#        side's runs (e.g. SET_B='corpora=[...]' to time one binary on two corpus lists)
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,12p "$0" >&2; exit 2; }
a=$(readlink -f "$1"); b=$(readlink -f "$2")
config=$(readlink -f "${3:-pipeline.toml}")
stage=${4:-all}
runs=${5:-3}
root=$(readlink -f "${RAVDESS_DIR:-data/ravdess}")
[ -d "$root" ] || { echo "ab: no corpus at $root (set RAVDESS_DIR)" >&2; exit 3; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
results="$work/results.tsv"
for i in $(seq "$runs"); do
  for side in A B; do
    bin=$a; extra=${SET_A:-}
    [ "$side" = B ] && { bin=$b; extra=${SET_B:-}; }
    # A side that names its corpora (SET_x='corpora=[...]') takes their roots, not RAVDESS_DIR.
    more=(); [ -n "$extra" ] && more=(--set "$extra")
    [[ $extra == corpora=* ]] || more+=(--data-root "$root")
    dir="$work/$side-$i"; mkdir -p "$dir"; cp "$config" "$dir/pipeline.toml"
    (cd "$dir" && /usr/bin/time -o time.txt -f "%e %U %S %M" "$bin" run -q \
       --stage "$stage" --config pipeline.toml \
       --set 'data.out_dir="data"' --set 'data.reports_dir="reports"' "${more[@]}" \
       > log.txt 2>&1) \
      || { echo "ab: $side run $i failed:" >&2; tail -5 "$dir/log.txt" >&2; exit 1; }
    read -r wall user sys rss < "$dir/time.txt"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$side" "$i" "$wall" "$user" "$sys" "$rss" | tee -a "$results"
    rm -rf "$dir/data"
  done
done
python3 - "$results" "$a" "$b" <<'PY'
import statistics as st, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
for side, path in (("A", sys.argv[2]), ("B", sys.argv[3])):
    r = [x for x in rows if x[0] == side]
    med = lambda k: st.median(float(x[k]) for x in r)
    print(f"{side} {path}: median wall {med(2):.2f} s, user {med(3):.2f} s, sys {med(4):.2f} s, "
          f"CPU {st.median(float(x[3]) + float(x[4]) for x in r):.2f} s, "
          f"peak RSS {med(5) / 1024:.0f} MB over {len(r)} runs")
PY
