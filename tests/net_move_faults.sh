#!/bin/sh
# net_move_faults.sh - C-MOVE to destinations that fail: one that rejects
# the association and one that disappears in the middle of the move
# (issue 6: "a destination that refuses or disappears mid-move (failure
# counts and statuses right)").
#
# arcad (cas storage, the default) holds 16 instances of one study
# (net_gen x4, 192x192).  Then, with PS3.4 C.4.2.1.5 (counts) and
# C.4.2.3.1 (statuses) as the reference:
#   1. movescu to a [peer] whose storescp rejects every association
#      (storescp --refuse): the move ends with a failure status (0xA702,
#      no sub-operation performed), 0 completed, 16 failed; arcad's log
#      names the rejection.
#   2. arca move to a [peer] whose storescp (--sleep-during 1: one second
#      per instance) is killed with SIGKILL once its first instance is on
#      disk: the move ends with 0xB000 (sub-operations complete, one or
#      more failures) when at least one instance went through, completed +
#      failed = 16, the Failed SOP Instance UID List names exactly the
#      failed ones (16 distinct UIDs in all with the received ones), and the
#      final response comes only after the destination is gone.
#   3. arcad keeps serving: C-ECHO answers, and a move to a working
#      storescp afterwards delivers all 16 with 0x0000.
# Every server is stopped by the trap in net_lib.sh.
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init net_move_faults
net_require movescu storescp storescu dcmdump dump2dcm dcmodify echoscu

NET_PASSED=0
NET_FAILED=0
NET_DEADLINE=${NET_DEADLINE:-30}
export TCP_NODELAY=1
ok() {
	NET_PASSED=$((NET_PASSED + 1))
	echo "ok   $*"
}
fail() {
	NET_FAILED=$((NET_FAILED + 1))
	echo "FAIL $*"
}

root=$NET_TMP/root
port=$(net_free_port)
rport=$(net_free_port)
kport=$(net_free_port)
gport=$(net_free_port)
if ! "$ARCA" init --root "$root" --port "$port" --aet ARCA >"$NET_TMP/init.log" 2>&1; then
	echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
	exit 1
fi
printf '\n[peer refuser]\nae = REFUSER\nhost = 127.0.0.1\nport = %s\n' "$rport" >>"$root/arca.conf"
printf '\n[peer dying]\nae = DYING\nhost = 127.0.0.1\nport = %s\n' "$kport" >>"$root/arca.conf"
printf '\n[peer good]\nae = GOOD\nhost = 127.0.0.1\nport = %s\n' "$gport" >>"$root/arca.conf"

data=$NET_TMP/data
for p in a b c d; do
	net_gen "$data" 192 "$p" || exit 1
done
study=$(dcmdump -q +P 0020,000d "$data/a-te.dcm" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p')
for f in "$data"/b-*.dcm "$data"/c-*.dcm "$data"/d-*.dcm; do
	if ! dcmodify -q -nb -m "(0020,000d)=$study" -m "(0020,000e)=$study.0" "$f" >/dev/null 2>&1; then
		echo "FAIL: dcmodify $f"
		exit 1
	fi
done
for f in "$data"/*.dcm; do
	dcmdump -q +P 0008,0018 "$f" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p'
done | sort >"$NET_TMP/sops.txt"

net_start arcad "$ARCAD" --root "$root"
arcad=$NET_PID
if ! net_wait_dicom "$arcad" "$port" ARCA; then
	net_show "$NET_TMP/arcad.log"
	fail "arcad did not start"
	net_done
	exit 1
fi
if ! storescu -aec ARCA 127.0.0.1 "$port" "$data"/*.dcm >"$NET_TMP/storescu.log" 2>&1; then
	net_show "$NET_TMP/storescu.log"
	fail "storescu to arcad"
	net_done
	exit 1
fi
ok "16 instances of one study stored in arcad"

last_count() {
	sed -n "s/^D: $1 Suboperations *: *\([0-9]*\).*/\1/p" "$NET_TMP/$2.log" | tail -1
}
final_status() {
	sed -n 's/^D: DIMSE Status *: 0x\([0-9A-Fa-f]*\).*/\1/p' "$NET_TMP/$1.log" | tail -1 | tr 'abcdef' 'ABCDEF'
}

# ---- 1. a destination that rejects the association
mkdir -p "$NET_TMP/refuse"
net_start refuser storescp --refuse -od "$NET_TMP/refuse" "$rport"
refuser=$NET_PID
if ! net_wait_tcp "$refuser" "$rport"; then
	fail "storescp --refuse did not start"
fi
movescu -d -aec ARCA -aem REFUSER -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study" \
	127.0.0.1 "$port" >"$NET_TMP/m1.log" 2>&1
st=$(final_status m1)
comp=$(last_count Completed m1)
failed=$(last_count Failed m1)
if [ "$st" = A702 ] && [ "${comp:-0}" = 0 ] && [ "$failed" = 16 ]; then
	ok "destination rejects the association: 0xA702, 0 completed, 16 failed"
else
	fail "destination rejects the association: status '$st', completed '$comp', failed '$failed'"
	net_show "$NET_TMP/m1.log" 20
fi
if grep -qi "REFUSER" "$NET_TMP/arcad.log" && grep -qi "reject" "$NET_TMP/arcad.log"; then
	ok "arcad's log names the destination and the rejection"
else
	fail "arcad's log does not name the rejection by REFUSER"
	net_show "$NET_TMP/arcad.log" 10
fi
net_stop "$refuser"

# ---- 2. a destination that disappears in the middle of the move
mkdir -p "$NET_TMP/dying"
net_start dying storescp --sleep-during 1 -od "$NET_TMP/dying" "$kport"
dying=$NET_PID
if ! net_wait_tcp "$dying" "$kport"; then
	fail "storescp (dying) did not start"
fi
"$ARCA" move "ARCA@127.0.0.1:$port" --dest DYING -k StudyInstanceUID="$study" \
	>"$NET_TMP/m2.out" 2>"$NET_TMP/m2.err" &
mover=$!
NET_PIDS="$NET_PIDS $mover"
t0=$(net_now)
while [ "$(ls "$NET_TMP/dying" 2>/dev/null | wc -l)" -lt 1 ] && net_before "$t0" "$NET_DEADLINE"; do
	sleep 0.05
done
got=$(ls "$NET_TMP/dying" | wc -l | tr -d ' ')
kill -KILL "$dying" 2>/dev/null
wait "$dying" 2>/dev/null
NET_PIDS=$(echo "$NET_PIDS" | tr ' ' '\n' | grep -vx "$dying" | tr '\n' ' ')
if net_reap "$mover" "$NET_DEADLINE"; then
	rc=$NET_STATUS
else
	rc=timeout
fi
final=$(grep '^status=' "$NET_TMP/m2.out" | tail -1)
st=$(echo "$final" | sed -n 's/^status=0x\([0-9A-F]*\).*/\1/p')
comp=$(echo "$final" | sed -n 's/.*completed=\([0-9]*\).*/\1/p')
failed=$(echo "$final" | sed -n 's/.*failed=\([0-9]*\).*/\1/p')
nfail=$(grep -c '^failed=' "$NET_TMP/m2.out")
if [ "$got" -ge 1 ] && [ "$rc" = 1 ] && [ "${comp:-x}" != x ] && [ "${failed:-x}" != x ] &&
	[ $((comp + failed)) = 16 ] && [ "$failed" -ge 1 ] && [ "$nfail" = "$failed" ] &&
	{ { [ "$comp" -ge 1 ] && [ "$st" = B000 ]; } || { [ "$comp" = 0 ] && [ "$st" = A702 ]; }; }; then
	ok "destination killed mid-move: 0x$st, $comp completed + $failed failed = 16, the $nfail failed UIDs listed"
else
	fail "destination killed mid-move: exit $rc, '$final', $nfail failed UIDs listed, $got file(s) before the kill"
	net_show "$NET_TMP/m2.out" 20
	net_show "$NET_TMP/m2.err" 5
fi
# every failed UID is one of the study's instances, none named twice
grep '^failed=' "$NET_TMP/m2.out" | sed 's/^failed=//' | sort -u >"$NET_TMP/failed.txt"
if [ "$(wc -l <"$NET_TMP/failed.txt" | tr -d ' ')" = "$nfail" ] &&
	[ "$(comm -12 "$NET_TMP/failed.txt" "$NET_TMP/sops.txt" | wc -l | tr -d ' ')" = "$nfail" ]; then
	ok "every failed UID is an instance of the study, none twice"
else
	fail "failed UID list: $(grep '^failed=' "$NET_TMP/m2.out" | head -3 | tr '\n' ' ')"
fi

# ---- 3. arcad keeps serving
if net_echo_once "$port" ARCA && kill -0 "$arcad" 2>/dev/null; then
	ok "arcad still answers C-ECHO"
else
	fail "arcad no longer answers"
	net_show "$NET_TMP/arcad.log" 10
fi
mkdir -p "$NET_TMP/good"
net_start good storescp -od "$NET_TMP/good" "$gport"
good=$NET_PID
if net_wait_tcp "$good" "$gport" &&
	"$ARCA" move "ARCA@127.0.0.1:$port" --dest GOOD -k StudyInstanceUID="$study" >"$NET_TMP/m3.out" 2>&1 &&
	grep -q '^status=0x0000' "$NET_TMP/m3.out" && [ "$(ls "$NET_TMP/good" | wc -l | tr -d ' ')" = 16 ]; then
	ok "a move to a working destination afterwards: 0x0000, 16 delivered"
else
	fail "move afterwards: $(tail -1 "$NET_TMP/m3.out"), $(ls "$NET_TMP/good" | wc -l) files"
fi
net_stop "$good"

net_stop "$arcad"
if [ "$NET_STATUS" = 0 ] && ! grep -q "ERROR: AddressSanitizer\|runtime error" "$NET_TMP/arcad.log"; then
	ok "arcad exits 0 on SIGTERM, no sanitizer report"
else
	fail "arcad exit $NET_STATUS"
	net_show "$NET_TMP/arcad.log" 10
fi
net_done
