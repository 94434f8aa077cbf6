#!/usr/bin/env bash
# Builds the seed corpus of every fuzz target from the project's fixtures.
# Usage: bash fuzz/seed.sh   (idempotent; corpus/ is not committed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fixtures=${HOOKFLASH_FIXTURES_DIR:-$here/../testdata/asterisk-22}

# ami_decode: each input is one chunking byte followed by server bytes. Every small transcript
# whole (chunk byte 0x40 = 64-byte reads), plus the load corpus cut into 16 KiB pieces.
out=$here/corpus/ami_decode
mkdir -p "$out"
for f in "$fixtures"/ami/*.recv; do
  name=$(basename "$f" .recv)
  [ "$name" = load ] && continue
  { printf '\x40'; cat "$f"; } >"$out/$name"
done
split -b 16384 -d -a 4 "$fixtures/ami/load.recv" "$out/load-part-"
for p in "$out"/load-part-*; do { printf '\x07'; cat "$p"; } >"$p.seed" && rm "$p"; done
echo "ami_decode: $(ls "$out" | wc -l) seeds in $out"
