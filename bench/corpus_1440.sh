#!/usr/bin/env bash
# A stand-in for the full RAVDESS speech set's 1440 files (24 actors) from the 1200-file subset
# (actors 01-20): DEST gets hard links to every file, plus actors 01-04's files again under actor
# numbers 21-24 (odd stays odd, so male stays male). For timing and memory only: the copies are
# the same recordings, so accuracy figures on DEST mean nothing.
# Usage: bench/corpus_1440.sh DEST   (RAVDESS_DIR, default data/ravdess, is the source)
set -euo pipefail
src="${RAVDESS_DIR:-data/ravdess}"
dest="${1:?usage: bench/corpus_1440.sh DEST}"
[ -d "$src/Actor_01" ] || { echo "corpus_1440: no RAVDESS at $src (set RAVDESS_DIR)" >&2; exit 1; }
mkdir -p "$dest"
cp -al "$src"/Actor_* "$dest"/
for a in 01 02 03 04; do
  b=$((10#$a + 20))
  mkdir -p "$dest/Actor_$b"
  for f in "$src/Actor_$a"/*.wav; do
    n=$(basename "$f")
    ln -f "$f" "$dest/Actor_$b/${n%-$a.wav}-$b.wav"
  done
done
echo "corpus_1440: $(find "$dest" -name '*.wav' | wc -l) files in $dest"
