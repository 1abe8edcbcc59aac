#!/bin/bash
# net_ingest.sh - arcad's default storage (the cas backend: chunks,
# manifests, index, group commit) against DCMTK storescu:
#
#   1. storescu in each uncompressed proposal (implicit, explicit LE and BE,
#      deflated): every instance Success, then rebuilt from the archive
#      (tests/store_export: index -> manifest -> chunks, every hash checked)
#      with the same element values as the file sent, and the instance hash
#      is sha256sum of the rebuilt file;
#   2. 8 storescu clients at once: all Success, all stored;
#   3. the same files again (in their own syntaxes): Success, no new
#      instance, no new chunk;
#   4. kill -9 of arcad in the middle of a transfer: a restarted arcad
#      answers, and every instance storescu saw acknowledged rebuilds intact
#      with the values sent (design.md 3.1 step 5).
#
# Skipped (77) when DCMTK or python3 is missing.
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init net_ingest
net_require storescu echoscu dcmdump dump2dcm python3 sha256sum
cmp="python3 $srcdir/tests/netcmp.py"
EXPORT=$builddir/tests/store_export

root=$NET_TMP/root
port=$(net_free_port)
if ! "$ARCA" init --root "$root" --port "$port" --aet ARCA >"$NET_TMP/init.log" 2>&1; then
	echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
	exit 1
fi
# [server] workers: commits that can wait in one group commit at once
sed -i '/^\[server\]/a workers = 8' "$root/arca.conf"

start_arcad() { # LOGNAME
	net_start "$1" "$ARCAD" --root "$root"
	arcad=$NET_PID
	if ! net_wait_dicom "$arcad" "$port" ARCA; then
		net_show "$NET_TMP/$1.log"
		fail "arcad did not start ($1)"
		net_done
		exit 1
	fi
}
start_arcad arcad
ok "arcad (cas backend) answers C-ECHO on port $port"
if ! grep -q "storage: chunks under" "$NET_TMP/arcad.log"; then
	fail "arcad does not say it stores chunks: $(grep storage "$NET_TMP/arcad.log")"
fi

# export: rebuilds every indexed instance into $NET_TMP/export
export_all() {
	rm -rf "$NET_TMP/export"
	if ! "$EXPORT" "$root" "$NET_TMP/export" >"$NET_TMP/export.list" 2>"$NET_TMP/export.err"; then
		fail "store_export: $(head -3 "$NET_TMP/export.err")"
	fi
	$cmp uids "$NET_TMP/export" >"$NET_TMP/export-uids" 2>/dev/null
}

uid_of() {
	dcmdump -q +P 0008,0018 "$1" 2>/dev/null | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -1 | tr -d ' '
}

# check_stored [--no-private] LABEL FILE...: each file's instance rebuilds
# with the same element values, and its instance hash is the rebuilt
# file's SHA-256.  --no-private: the files went over the wire in Implicit VR,
# where a private element's VR is lost (the archive, which keeps native
# data in Explicit VR, records it as UN, PS3.5 6.2.2).
check_stored() {
	np=""
	if [ "$1" = --no-private ]; then
		np=--no-private
		shift
	fi
	label=$1
	shift
	export_all
	n=0 bad=0
	for f in "$@"; do
		n=$((n + 1))
		uid=$(uid_of "$f")
		s=$(awk -F'\t' -v u="$uid" '$1 == u { print $2; exit }' "$NET_TMP/export-uids")
		h=$(awk -v u="$uid" '$1 == u { print $2; exit }' "$NET_TMP/export.list")
		if [ -z "$s" ]; then
			bad=$((bad + 1))
			echo "     | $f ($uid): not in the archive"
		elif ! $cmp values $np "$f" "$s" >"$NET_TMP/cmp.out" 2>&1; then
			bad=$((bad + 1))
			sed 's/^/     | /' "$NET_TMP/cmp.out"
		elif [ "$(sha256sum <"$s" | cut -c1-64)" != "$h" ]; then
			bad=$((bad + 1))
			echo "     | $uid: SHA-256 of the rebuilt file is not the instance hash $h"
		fi
	done
	if [ "$bad" -eq 0 ] && [ "$n" -gt 0 ]; then
		ok "$label: $n instances rebuilt from the archive with identical values and hashes"
	else
		fail "$label: $bad of $n instances missing or different"
	fi
}

n_instances() {
	"$EXPORT" "$root" "$NET_TMP/count" 2>/dev/null | wc -l
}
n_chunks() {
	find "$root/chunks" -type f -not -path "$root/chunks/tmp/*" | wc -l
}

# ---------------------------------------------------------------- 1. each proposal
all=""
for opt in default -xi -xe -xb -xd; do
	dir=$NET_TMP/su$opt
	net_gen "$dir" 256 "su$opt" || fail "could not generate instances"
	set -- "$dir"/*.dcm
	# (the Implicit VR run changed its private elements' VR: not the same)
	[ "$opt" = -xi ] || all="$all $*"
	xopt=$opt
	[ "$opt" = default ] && xopt=""
	# shellcheck disable=SC2086 # xopt is empty or one option
	storescu -v $xopt -aet STORESCU -aec ARCA 127.0.0.1 "$port" "$@" >"$NET_TMP/su$opt.log" 2>&1
	rc=$?
	success=$(grep -c "Received Store Response (Success)" "$NET_TMP/su$opt.log")
	if [ $rc -eq 0 ] && [ "$success" -eq $# ]; then
		ok "storescu $opt: $# instances, all Success"
	else
		fail "storescu $opt: exit $rc, $success of $# Success"
		grep -E "^(E|W):" "$NET_TMP/su$opt.log" | head -5 | sed 's/^/     | /'
	fi
	if [ "$opt" = -xi ]; then
		check_stored --no-private "storescu $opt" "$@"
	else
		check_stored "storescu $opt" "$@"
	fi
done

# ---------------------------------------------------------------- 2. 8 clients at once
pids=""
par=""
for i in 1 2 3 4 5 6 7 8; do
	dir=$NET_TMP/par$i
	net_gen "$dir" 256 "par$i" || fail "could not generate instances"
	par="$par $dir/*.dcm"
done
for i in 1 2 3 4 5 6 7 8; do
	storescu -aet "PAR$i" -aec ARCA 127.0.0.1 "$port" "$NET_TMP/par$i"/*.dcm >"$NET_TMP/par$i.log" 2>&1 &
	pids="$pids $!"
done
bad=0
for p in $pids; do
	wait "$p" || bad=$((bad + 1))
done
if [ "$bad" -eq 0 ]; then
	ok "8 storescu at once: all exit 0"
else
	fail "8 storescu at once: $bad failed"
fi
# shellcheck disable=SC2086 # globs
check_stored "8 clients at once" $par

# ---------------------------------------------------------------- 3. again
before_i=$(n_instances)
before_c=$(n_chunks)
# shellcheck disable=SC2086 # paths without spaces
storescu -aet STORESCU -aec ARCA 127.0.0.1 "$port" $all >"$NET_TMP/again.log" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(n_instances)" -eq "$before_i" ] && [ "$(n_chunks)" -eq "$before_c" ]; then
	ok "the same $(echo $all | wc -w) instances again: Success, still $before_i instances and $before_c chunk files"
else
	fail "sent again: exit $rc, instances $before_i -> $(n_instances), chunk files $before_c -> $(n_chunks)"
fi

# a clean stop: arcad reports how the group commit batched the runs above
net_stop "$arcad" TERM
if [ "$NET_STATUS" -eq 0 ] && grep -q "group commit: batches" "$NET_TMP/arcad.log"; then
	ok "SIGTERM: exit 0; $(grep -o 'group commit: batches [^;]*' "$NET_TMP/arcad.log" | head -1)"
else
	fail "SIGTERM: arcad exit $NET_STATUS, or no group commit line in its log"
fi
start_arcad arcad1

# ---------------------------------------------------------------- 4. kill -9
dir=$NET_TMP/kill
i=0
while [ $i -lt 25 ]; do
	net_gen "$dir" 256 "kill$i" || break
	i=$((i + 1))
done
total=$(ls "$dir" | wc -l)
storescu -v -aet STORESCU -aec ARCA 127.0.0.1 "$port" "$dir"/*.dcm >"$NET_TMP/kill.log" 2>&1 &
sender=$!
start=$(net_now)
while [ "$(grep -c 'Received Store Response (Success)' "$NET_TMP/kill.log")" -lt 5 ] &&
      kill -0 $sender 2>/dev/null && net_before "$start" "$NET_DEADLINE"; do
	sleep 0.01
done
kill -KILL "$arcad"
wait "$arcad" 2>/dev/null
wait $sender
awk '/Sending file: / { f = $0; sub(/.*Sending file: /, "", f) }
     /Received Store Response \(Success/ { print f }' "$NET_TMP/kill.log" >"$NET_TMP/kill.acked"
acked=$(wc -l <"$NET_TMP/kill.acked")
ok "kill -9 with storescu in flight: $acked of $total acknowledged"
start_arcad arcad2
ok "arcad restarts on the archive it was killed on"
if [ "$acked" -gt 0 ]; then
	# shellcheck disable=SC2046 # paths without spaces
	check_stored "acknowledged before kill -9" $(cat "$NET_TMP/kill.acked")
fi
if [ -n "$(find "$root/chunks/tmp" -type f 2>/dev/null)" ]; then
	fail "temp files of the killed arcad left in chunks/tmp after the restart"
else
	ok "no temp file left in chunks/tmp after the restart"
fi
net_stop "$arcad" TERM
if grep -q "ERROR: AddressSanitizer\|runtime error:" "$NET_TMP"/arcad*.log; then
	fail "arcad's log has sanitizer reports"
	grep -m3 "ERROR: AddressSanitizer\|runtime error:" "$NET_TMP"/arcad*.log | sed 's/^/     | /'
fi
net_done
