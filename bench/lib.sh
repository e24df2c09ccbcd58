# Shared by bench/extract.sh, bench/train.sh and bench/pipeline.sh (sourced, not run). Expects
# ROOT (the repository), and uses die() from the caller.

HZ=$(getconf CLK_TCK)
busy_jiffies() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }
total_jiffies() { awk '/^cpu /{s=0; for(i=2;i<=9;i++) s+=$i; print s; exit}' /proc/stat; }
# Percent of all CPUs busy over one second.
busy_pct() {
  local b0 t0 b1 t1
  b0=$(busy_jiffies); t0=$(total_jiffies); sleep 1; b1=$(busy_jiffies); t1=$(total_jiffies)
  echo $(( (b1 - b0) * 100 / ((t1 - t0) > 0 ? (t1 - t0) : 1) ))
}
# Waits up to IDLE_WAIT seconds for the machine to go idle (at most 15 % of all CPUs busy).
wait_idle() {
  local waited=0 p
  p=$(busy_pct)
  while [[ $p -gt 15 && $waited -lt $IDLE_WAIT ]]; do
    [[ $waited -eq 0 ]] && echo "  machine busy (${p}% of all CPUs); waiting up to ${IDLE_WAIT}s" >&2
    sleep 4; waited=$((waited + 5)); p=$(busy_pct)
  done
  [[ $p -le 15 ]] || echo "  warning: machine still busy (${p}% of all CPUs): timings will be inflated" >&2
}

# build_private_binary WORK: cargo build --release, then BIN = a private copy in WORK (other
# builds into target/ during the benchmark must not swap the binary).
build_private_binary() {
  echo "building: cargo build --release" >&2
  (cd "$ROOT" && cargo build --release --quiet) || die "cargo build --release failed"
  local target_dir="${CARGO_TARGET_DIR:-$ROOT/target}"
  [[ -x "$target_dir/release/ser-pipeline" ]] || die "no binary at $target_dir/release/ser-pipeline"
  cp "$target_dir/release/ser-pipeline" "$1/ser-pipeline"
  BIN="$1/ser-pipeline"
}

# setup_venv VENV REQUIREMENTS IMPORTS: PY = VENV's python; with INSTALL=1 the venv is created
# (with PYTHON, default python3) and the pinned requirements installed; then IMPORTS (a Python
# import list) must succeed.
setup_venv() {
  local venv=$1 req=$2 imports=$3
  PY="$venv/bin/python"
  if [[ $INSTALL -eq 1 ]]; then
    if [[ ! -x "$PY" ]]; then
      echo "creating venv: $venv"
      "${PYTHON:-python3}" -m venv "$venv" || die "cannot create venv $venv"
    fi
    "$PY" -m pip install --quiet --disable-pip-version-check -r "$req" \
      || die "pip install -r $req failed"
  fi
  [[ -x "$PY" ]] || die "no Python venv at $venv (run without --no-install)"
  "$PY" -c "import $imports" 2>/dev/null \
    || die "venv $venv lacks the pinned packages (run without --no-install)"
}
