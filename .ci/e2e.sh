#!/usr/bin/env bash
# Browser end-to-end test of `ser-pipeline serve`: Debian's Chromium (no browser download) driven
# by playwright-core. Installs chromium if missing, installs tests/e2e's npm packages, builds the
# release binary, then trains a tiny model on a generated corpus and tests the page: upload,
# drag-and-drop, error messages, and a recording from a fake microphone.
# Screenshots: target/e2e/*.png. Env: CHROMIUM, MODEL_DIR, UPLOAD_WAV, README_SHOT (see
# tests/e2e/serve.e2e.mjs).
set -euo pipefail
cd "$(dirname "$0")/.."

browser="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$browser" ]; then
  echo "== installing chromium"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends chromium fonts-liberation fonts-dejavu-core >/dev/null
fi
"$browser" --version

echo "== npm ci (tests/e2e)"
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)

# The binary as `cargo test --release` builds it (with the test build's feature set), so that after
# the tests this is a no-op instead of a second build of the dependencies.
echo "== cargo test --release --no-run (builds the binary)"
cargo test --release --locked --no-run

echo "== browser test"
cd tests/e2e
node serve.e2e.mjs
