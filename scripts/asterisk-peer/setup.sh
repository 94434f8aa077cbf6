#!/usr/bin/env bash
# Installs a real Asterisk 22 (Debian's own package, from the unstable suite) into a chroot made by
# debootstrap, configured like the fixtures (testdata/asterisk-22/asterisk-conf), and sipp on the host.
# Needs root and Debian's package registry. Idempotent: a second run only refreshes the config.
# Usage: setup.sh            (root dir: $ASTERISK_PEER_ROOT, default /var/tmp/hookflash-asterisk-peer)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
conf_src=${ASTERISK_PEER_CONF:-$here/../../testdata/asterisk-22/asterisk-conf}
root=${ASTERISK_PEER_ROOT:-/var/tmp/hookflash-asterisk-peer}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
apt_opts=(-o Acquire::Check-Valid-Until=false -o Dpkg::Use-Pty=0 -q)

need() { command -v "$1" >/dev/null 2>&1; }
if ! need debootstrap || ! need sipp; then
  apt-get "${apt_opts[@]}" update >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y debootstrap sip-tester >/dev/null
fi

if [ ! -x "$root/usr/sbin/asterisk" ]; then
  echo "asterisk-peer: debootstrap sid into $root" >&2
  mkdir -p "$root"
  debootstrap --variant=minbase sid "$root" "$mirror" >"$root.debootstrap.log" 2>&1 \
    || { tail -20 "$root.debootstrap.log" >&2; exit 1; }
  chroot "$root" apt-get "${apt_opts[@]}" update >/dev/null
  DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get "${apt_opts[@]}" install -y \
    --no-install-recommends asterisk asterisk-modules asterisk-moh-opsound-gsm >/dev/null
fi

# Configuration: everything from the fixtures except asterisk.conf (Debian's directory layout stays).
for f in "$conf_src"/*.conf; do
  [ "$(basename "$f")" = asterisk.conf ] && continue
  install -m 0644 "$f" "$root/etc/asterisk/"
done
# hookflash's own dialplan (what the providers need beyond the fixtures' contexts: the AMI hold
# emulation), shipped in examples/asterisk/ and included from the fixtures' extensions.conf, so a
# freshly set-up peer has it and no test installs dialplan itself.
install -m 0644 "$here/../../examples/asterisk/extensions_hookflash.conf" "$root/etc/asterisk/"
grep -qx '#include extensions_hookflash.conf' "$root/etc/asterisk/extensions.conf" \
  || printf '\n#include extensions_hookflash.conf\n' >>"$root/etc/asterisk/extensions.conf"
mkdir -p "$root/run/asterisk"
# ARI bridge recordings go to <spool>/recording, which the package does not create.
mkdir -p "$root/var/spool/asterisk/recording"
chroot "$root" chown asterisk:asterisk /var/spool/asterisk/recording 2>/dev/null || true
chroot "$root" asterisk -V
