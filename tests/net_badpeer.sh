#!/bin/sh
# net_badpeer.sh - arcad against a scripted raw-socket peer
# (tests/rawpeer.py) that sends exact bytes: garbage instead of a PDU, an
# unknown PDU type (before and after association), a PDU length beyond the
# limit, a wrong protocol version, a connection that sends nothing (ARTIM,
# 2 s here), P-DATA before association, a PDV longer than its PDU, a
# command without a required field, a truncated and a malformed C-STORE
# data set, and a peer that vanishes mid-instance.  rawpeer.py checks the
# answer (the exact A-ABORT or A-ASSOCIATE-RJ bytes where PS3.8 fixes them,
# status 0xC000 for a data set that cannot be parsed).  After each one:
# arcad is still running, a C-ECHO on a new association succeeds, arcad's
# log has a line for that connection, and an instance whose C-STORE failed
# is not in the archive.  A valid C-STORE through the same peer is the
# control: it must be stored.
#
# The state x event cells of PS3.8 Table 9-10 are each driven by
# tests/pacs_ul_fsm_test; this test is the same protocol over a socket.
# Skipped (77) when python3 or dcmdump is missing, or while arcad is the
# placeholder that exits 2.
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init net_badpeer
net_require python3 dcmdump
rawpeer="python3 $srcdir/tests/rawpeer.py"
artim=2

root=$NET_TMP/root
port=$(net_free_port)
if ! "$ARCA" init --root "$root" --port "$port" --aet ARCA >"$NET_TMP/init.log" 2>&1; then
	echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
	exit 1
fi
sed -i "/^\\[server\\]/a artim_timeout = $artim" "$root/arca.conf"
# These checks read the stored instances as Part 10 files under
# ROOT/instances: the files backend (the default, cas, is checked by
# tests/net_ingest.sh).
sed -i '/^\[storage\]/a backend = files' "$root/arca.conf"
net_start arcad "$ARCAD" --root "$root"
arcad=$NET_PID
if ! net_wait_dicom "$arcad" "$port" ARCA; then
	if ! kill -0 "$arcad" 2>/dev/null && grep -q "not built yet" "$NET_TMP/arcad.log"; then
		skip "arcad is the placeholder (the network server is not built yet): $(head -1 "$NET_TMP/arcad.log")"
	fi
	net_show "$NET_TMP/arcad.log"
	fail "arcad did not start"
	net_done
	exit 1
fi

stored_uids() {
	python3 "$srcdir/tests/netcmp.py" uids "$root" | cut -f1
}

# Waits (polling) for a log line naming the peer's port.
log_line_for() {
	start=$(net_now)
	while ! grep -q "127\.0\.0\.1:$1\b\|\[::ffff:127\.0\.0\.1\]:$1\b" "$NET_TMP/arcad.log"; do
		net_before "$start" "$NET_DEADLINE" || return 1
		sleep 0.05
	done
	return 0
}

for sc in $($rawpeer --list); do
	$rawpeer --port "$port" --ae ARCA --artim "$artim" --timeout 15 "$sc" >"$NET_TMP/$sc.out" 2>&1
	rc=$?
	grep -E "^(ok|FAIL) " "$NET_TMP/$sc.out"
	if [ $rc -eq 0 ]; then
		NET_PASSED=$((NET_PASSED + 1))
	else
		NET_FAILED=$((NET_FAILED + 1))
		grep -vE "^(ok|FAIL|local-port|uid|stored-uid) " "$NET_TMP/$sc.out" | sed 's/^/     | /'
	fi
	lport=$(sed -n 's/^local-port //p' "$NET_TMP/$sc.out")
	if [ -n "$lport" ]; then
		if log_line_for "$lport"; then
			ok "$sc: arcad logged it: $(grep "127\.0\.0\.1:$lport\b" "$NET_TMP/arcad.log" | tail -1 | cut -c1-200)"
		else
			fail "$sc: no line in arcad's log for 127.0.0.1:$lport"
		fi
	fi
	if ! kill -0 "$arcad" 2>/dev/null; then
		fail "$sc: arcad is no longer running"
		net_show "$NET_TMP/arcad.log"
		break
	fi
	if out=$("$ARCA" echo --timeout 10 "ARCA@127.0.0.1:$port" 2>&1); then
		ok "$sc: then C-ECHO on a new association: success"
	else
		fail "$sc: then C-ECHO failed: $out"
	fi
	for u in $(sed -n 's/^uid //p' "$NET_TMP/$sc.out"); do
		if stored_uids | grep -qxF "$u"; then
			fail "$sc: instance $u is in the archive although its C-STORE failed"
		else
			ok "$sc: nothing stored for $u"
		fi
	done
	for u in $(sed -n 's/^stored-uid //p' "$NET_TMP/$sc.out"); do
		if stored_uids | grep -qxF "$u"; then
			ok "$sc: instance $u is in the archive"
		else
			fail "$sc: instance $u was acknowledged but is not in the archive"
		fi
	done
done

# nothing half-written anywhere under the root
find "$root" -type f -name '*.dcm*' | LC_ALL=C sort >"$NET_TMP/files"
python3 "$srcdir/tests/netcmp.py" uids "$root" | cut -f2 | LC_ALL=C sort >"$NET_TMP/readable"
if LC_ALL=C comm -23 "$NET_TMP/files" "$NET_TMP/readable" | grep -q .; then
	fail "archive: files that are not complete instances: $(LC_ALL=C comm -23 "$NET_TMP/files" "$NET_TMP/readable" | head -3 | tr '\n' ' ')"
else
	ok "archive: every stored file is a complete instance"
fi
net_stop "$arcad" TERM
[ "$NET_STATUS" -eq 0 ] && ok "arcad exits 0 on SIGTERM" || fail "arcad exit status $NET_STATUS on SIGTERM"
if grep -q "ERROR: AddressSanitizer\|runtime error:" "$NET_TMP/arcad.log"; then
	fail "arcad's log has sanitizer reports"
	grep -m3 "ERROR: AddressSanitizer\|runtime error:" "$NET_TMP/arcad.log" | sed 's/^/     | /'
fi
net_done
