#!/usr/bin/env bash
# API fuzzing: schemathesis (from PyPI) against /api/v1/openapi.json of a freshly started
# api-server (SQLite in a temporary directory, its one PBX down on purpose), authenticated as
# the admin, with bounded examples (the whole run takes well under three minutes). Exits
# non-zero on any failure. Settings and the reasons for them: scripts/schemathesis.toml.
#
#   bash scripts/schemathesis.sh                  # as scripts/test.sh runs it
#   HOOKFLASH_FUZZ_EXAMPLES=50 HOOKFLASH_FUZZ_SEED=7 bash scripts/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "== $*" >&2; }

version=4.32.5
venv=${HOOKFLASH_SCHEMATHESIS_VENV:-/var/tmp/hookflash-schemathesis}
examples=${HOOKFLASH_FUZZ_EXAMPLES:-20}
seed=${HOOKFLASH_FUZZ_SEED:-1}

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  log "installing schemathesis $version into $venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian ships venv separately.
    DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Use-Pty=0 -q install -y python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install -q "schemathesis==$version"
fi

cargo build -q -p api-server --locked
bin="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/api-server"

work=$(mktemp -d /tmp/hookflash-fuzz.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
password="Fuzz-$(head -c 18 /dev/urandom | base64 | tr -d '/+=')-9"
cat >"$work/hookflash.toml" <<TOML
listen = "127.0.0.1:$port"
database_url = "sqlite://$work/api.db?mode=rwc"
jwt_secret = "$(head -c 32 /dev/urandom | base64 | tr -d '/+=')"
phone_validation = "possible"

# Down on purpose (a port nothing listens on): fuzzed calls never reach a PBX.
[[asterisk]]
name = "pbx1"
protocol = "ami"
host = "127.0.0.1"
port = $closed
username = "ami"
secret = "unused"
TOML

server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
(cd "$work" && HOOKFLASH_ADMIN_PASSWORD="$password" RUST_LOG=error exec "$bin" \
  --config "$work/hookflash.toml" >"$work/server.log" 2>&1) &
server_pid=$!
base="http://127.0.0.1:$port"
python3 - "$base" "$password" >"$work/token" <<'PY' || { cat "$work/server.log" >&2; exit 1; }
import json, sys, time, urllib.request
base, password = sys.argv[1], sys.argv[2]
for _ in range(150):  # up to 30 s for the server to answer
    try:
        urllib.request.urlopen(base + "/healthz", timeout=2)
        break
    except OSError:
        time.sleep(0.2)
body = json.dumps({"username": "admin", "password": password}).encode()
req = urllib.request.Request(base + "/api/v1/auth/login", body, {"content-type": "application/json"})
print(json.load(urllib.request.urlopen(req, timeout=10))["access_token"])
PY
token=$(cat "$work/token")

log "schemathesis: $examples examples per operation, seed $seed"
status=0
# From the temporary directory: schemathesis keeps its cache (.schemathesis/) in the working
# directory, and nothing of it belongs in the repository.
config="$PWD/scripts/schemathesis.toml"
(cd "$work" && "$venv/bin/schemathesis" --config-file "$config" run "$base/api/v1/openapi.json" \
  --url "$base" -H "Authorization: Bearer $token" \
  --max-examples "$examples" --seed "$seed" --workers 2 --no-color \
  --warnings off) || status=$?
if [ "$status" -ne 0 ]; then
  log "schemathesis failed; the server's log:"
  tail -50 "$work/server.log" >&2
fi
exit "$status"
