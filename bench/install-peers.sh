#!/bin/sh
# install-peers.sh - installs (as root, on Debian 12) the servers that the
# ingest benchmark measures beside arcad: DCMTK (storescp, storescu) and
# Orthanc.  Only what is missing; safe to re-run.  tools/install-deps.sh
# installs the same peers for the test suite (tests/net_orthanc.sh).
#
#   bench/install-peers.sh
#
# Debian's orthanc package starts its system service (on port 4242/8042,
# storing under /var/lib/orthanc) from its postinst.  The benchmark runs
# its own instance with its own config on loopback, so the service must not
# run: a policy-rc.d that exits 101 ("action forbidden") stops invoke-rc.d
# from starting it during the install, and the unit is disabled and stopped
# afterwards in case systemd is present anyway.
set -eu

PKGS="dcmtk orthanc curl procps"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-peers.sh: missing packages:$missing; run as root (or: sudo apt-get install$missing)" >&2
	exit 2
fi
echo "install-peers.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive

policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
	saved=$(mktemp)
	cp -p "$policy" "$saved"
fi
restore() {
	if [ -n "$saved" ]; then
		mv -f "$saved" "$policy"
	else
		rm -f "$policy"
	fi
}
trap restore EXIT INT TERM
printf '#!/bin/sh\n# install-peers.sh: no service starts during this install\nexit 101\n' > "$policy"
chmod 755 "$policy"

apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

# Belt and braces: if a service manager started it anyway, stop it.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl disable --now orthanc >/dev/null 2>&1 || true
fi
if [ -x /etc/init.d/orthanc ]; then
	/etc/init.d/orthanc stop >/dev/null 2>&1 || true
fi
if command -v update-rc.d >/dev/null 2>&1; then
	update-rc.d orthanc disable >/dev/null 2>&1 || true
fi
