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

missing=""
for p in $BUILD $TEST; do
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
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
