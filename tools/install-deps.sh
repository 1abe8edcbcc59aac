#!/bin/sh
# install-deps.sh - installs (as root, on Debian 12) the packages arca needs to
# build, run and test, and only those that are missing.  Safe to re-run.
#
#   tools/install-deps.sh          build + run + test dependencies
#
# The list is the one place that names them; configure.ac names the same
# -dev packages in its error messages.
set -eu

BUILD="build-essential autoconf automake libtool pkg-config clang \
	libssl-dev zlib1g-dev libzstd-dev libsqlite3-dev libgit2-dev \
	libopenjp2-7-dev libarchive-dev libev-dev libjansson-dev libinih-dev \
	libcmocka-dev libdcmtk-dev dcmtk"
# Interop peers and tools the tests drive.
TEST="dcmtk libgdcm-tools python3 procps"
# Orthanc, the peer of tests/net_orthanc.sh (and curl for its REST API).
PEERS="orthanc curl"

missing=""
for p in $BUILD $TEST $PEERS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: missing packages:$missing; run as root (or: sudo apt-get install$missing)" >&2
	exit 2
fi
echo "install-deps.sh: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Debian's orthanc starts its system service (ports 4242/8042) from its
# postinst; the tests run their own Orthanc.  A policy-rc.d that exits 101
# forbids service starts during this install (bench/install-peers.sh does
# the same); any policy-rc.d already there is put back afterwards.
policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
	saved=$(mktemp)
	cp -p "$policy" "$saved"
fi
restore_policy() {
	if [ -n "$saved" ]; then
		mv -f "$saved" "$policy"
	else
		rm -f "$policy"
	fi
}
trap restore_policy EXIT
trap 'exit 1' INT TERM
printf '#!/bin/sh\n# install-deps.sh: no service starts during this install\nexit 101\n' >"$policy"
chmod 755 "$policy"
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
