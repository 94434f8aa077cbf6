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

# agi_decode: the first byte is the read size (high bit set: start past the environment
# block). Hand-written transcripts in the shapes res_agi.c writes (there is no AGI capture).
out=$here/corpus/agi_decode
mkdir -p "$out"
env='agi_network: yes\nagi_network_script: callback\nagi_request: agi://127.0.0.1:4573/callback\nagi_channel: PJSIP/carrier-00000001\nagi_uniqueid: 1764680000.1\nagi_callerid: 5551204005\nagi_arg_1: x\n\n'
printf "\x10${env}200 result=0\nHANGUP\n200 result=49 (dtmf) endpos=1234\n" >"$out/env-hangup"
printf '\x83510 Invalid or unknown command\n511 Command Not Permitted on a dead channel or intercept routine\n520 Invalid command syntax.  Proper usage not available.\n' >"$out/errors"
printf '\x85520-Invalid command syntax.  Proper usage follows:\n Usage: GET DATA <file> [timeout] [maxdigits]\n520 End of proper usage.\nHANGUP\n200 result= (timeout)\n200 result=1 (a (b) c)\n' >"$out/usage"
echo "agi_decode: $(ls "$out" | wc -l) seeds in $out"
