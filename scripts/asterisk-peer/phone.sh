#!/usr/bin/env bash
# Starts one sipp phone in the background on 127.0.0.1 and prints its PID.
# Usage: phone.sh ROLE SCENARIO.xml [more sipp args...]
#   ROLE: agent1001 (SIP 5071) | agent1002 (5072) | loadagents (5073, agents 2001-2020)
#         | customer (5080, every number dialled through the trunk) | carrier (5090, calls in)
#   SCENARIO: a file of testdata/asterisk-22/sipp (or a path). A carrier UAC also needs the target,
#   e.g. phone.sh carrier carrier-uac-bye6s.xml 127.0.0.1:5060 -s 18005550100 -m 1
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
role=$1; scen=$2; shift 2
case $role in
  agent1001) sip=5071 media=16000 ;; agent1002) sip=5072 media=16010 ;;
  loadagents) sip=5073 media=16020 ;; customer) sip=5080 media=16030 ;; carrier) sip=5090 media=16040 ;;
  *) echo "unknown role $role" >&2; exit 2 ;;
esac
[ -f "$scen" ] || scen="$here/../../testdata/asterisk-22/sipp/$scen"
logdir=${PHONE_LOG_DIR:-${TMPDIR:-/tmp}/hookflash-phones}; mkdir -p "$logdir"
target=(); if [ "$role" = carrier ] && [ $# -gt 0 ] && [[ $1 != -* ]]; then target=("$1"); shift; fi
(cd "$logdir" && exec sipp "${target[@]}" -sf "$scen" -i 127.0.0.1 -p "$sip" -mi 127.0.0.1 -mp "$media" \
   -aa -nostdin -max_socket 2048 "$@" >"$logdir/$role.out" 2>&1) &
echo $!
