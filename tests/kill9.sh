#!/bin/bash
# kill9.sh - the kill -9 test of issue 4 ("after kill -9 at any moment,
# every acknowledged instance is present and intact and no index row
# points at missing data; a restart cleans temp files").  $KILL9_LOOPS
# times (default 5):
#
#   1. arcad starts on a free port; two storescu -v send $KILL9_FILES
#      (default 40) generated instances (each its own random pixels, so
#      each is a chunk of its own, plus its manifest) on two associations
#      at once, their logs kept so that every instance they saw
#      acknowledged can be named;
#   2. arcad is killed with SIGKILL once a random number of instances
#      (0 .. files - 1) were acknowledged, i.e. at a random point of the
#      store pipeline;
#   3. arcad restarts on the same archive: it must come up, and no temp
#      file of the killed process may be left in chunks/tmp;
#   4. `arca verify` (beside the running arcad) exits 0: every index row's
#      manifest and chunks are there and re-hash, nothing is damaged (an
#      unindexed manifest or chunk of the interrupted instance is garbage,
#      not a fault), and --json says 0 damaged instances, 0 index faults;
#   5. no study is left behind by the chain: an instance indexed by the
#      killed arcad whose store event was not yet durable is in the chain
#      outbox (store_index.h), and the restarted arcad appends its event
#      before it accepts associations; so `arca chain verify` (exit 0) says
#      exactly "S study hashes match the store" with S the studies arca
#      verify counted, and nothing "indexed after their last store event";
#      arca verify --json names no study (neither behind the chain nor
#      missing from it) and counts 0 studies pending a chain event;
#   6. every acknowledged instance is in the index, and rebuilt by
#      tests/store_export has the element values of the file sent
#      (tests/netcmp.py values).
#
# The archive grows across the loops (each loop its own study), so later
# loops also check that earlier acknowledged instances survive.  Bounded
# to about a minute under the sanitizers.  Skipped (77) when DCMTK or
# python3 is missing.
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init kill9
net_require storescu echoscu dump2dcm dcmdump python3
loops=${KILL9_LOOPS:-5}
files=${KILL9_FILES:-40}
cmp="python3 $srcdir/tests/netcmp.py"
EXPORT=$builddir/tests/store_export

root=$NET_TMP/root
port=$(net_free_port)
if ! "$ARCA" init --root "$root" --port "$port" --aet ARCA >"$NET_TMP/init.log" 2>&1; then
	echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
	exit 1
fi
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

# gen DIR N: N instances of one new study, from one dump2dcm file whose
# SOP Instance UID and pixel bytes are rewritten in place (same lengths):
# each file is a valid, distinct instance, made in milliseconds.
gen() {
	mkdir -p "$1"
	study="2.25.$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')"
	head -c 80000 /dev/zero >"$NET_TMP/zero.px"
	cat >"$NET_TMP/base.dump" <<DUMP
(0008,0016) UI =CTImageStorage
(0008,0018) UI [$study.100000]
(0008,0020) DA [20260102]
(0008,0060) CS [CT]
(0010,0010) PN [Kill^Nine]
(0010,0020) LO [KILL9]
(0020,000d) UI [$study]
(0020,000e) UI [$study.1]
(0020,0013) IS [1]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US 200
(0028,0011) US 200
(0028,0100) US 16
(0028,0101) US 16
(0028,0102) US 15
(0028,0103) US 0
(7fe0,0010) OW =$NET_TMP/zero.px
DUMP
	dump2dcm -q +te "$NET_TMP/base.dump" "$NET_TMP/base.dcm" || return 1
	python3 - "$NET_TMP/base.dcm" "$1" "$2" "$study" <<'PY'
import os, sys
base, out, n, study = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
data = open(base, "rb").read()
old = (study + ".100000").encode()
assert data.count(old) == 2, "SOP Instance UID expected in the meta group and the data set"
assert data.endswith(bytes(80000))
for i in range(n):
    d = data.replace(old, (study + ".%06d" % (100001 + i)).encode())
    d = d[:-80000] + os.urandom(80000)
    open(os.path.join(out, "i%04d.dcm" % i), "wb").write(d)
PY
}

start_arcad arcad0
all_acked=$NET_TMP/all.acked
: >"$all_acked"
loop=1
while [ "$loop" -le "$loops" ]; do
	dir=$NET_TMP/loop$loop
	if ! gen "$dir" "$files"; then
		fail "loop $loop: could not generate the instances"
		break
	fi
	target=$(python3 -c "import random; print(random.randrange($files))")
	# two associations at once, so that group commits hold several
	# instances of both when the kill strikes
	log=$NET_TMP/storescu$loop
	: >"$log-a.log"
	: >"$log-b.log"
	storescu -v -aet KILL9A -aec ARCA 127.0.0.1 "$port" "$dir"/i*[02468].dcm >"$log-a.log" 2>&1 &
	sender_a=$!
	storescu -v -aet KILL9B -aec ARCA 127.0.0.1 "$port" "$dir"/i*[13579].dcm >"$log-b.log" 2>&1 &
	sender_b=$!
	start=$(net_now)
	while [ "$(cat "$log-a.log" "$log-b.log" | grep -c 'Received Store Response (Success)')" -lt "$target" ] &&
		{ kill -0 "$sender_a" 2>/dev/null || kill -0 "$sender_b" 2>/dev/null; } &&
		net_before "$start" "$NET_DEADLINE"; do
		sleep 0.005
	done
	kill -KILL "$arcad"
	wait "$arcad" 2>/dev/null
	NET_PIDS=$(echo "$NET_PIDS" | tr ' ' '\n' | grep -vx "$arcad" | tr '\n' ' ')
	wait "$sender_a" 2>/dev/null
	wait "$sender_b" 2>/dev/null
	for l in "$log-a.log" "$log-b.log"; do
		awk '/Sending file: / { f = $0; sub(/.*Sending file: /, "", f) }
		     /Received Store Response \(Success/ { print f }' "$l"
	done >"$NET_TMP/loop$loop.acked"
	acked=$(wc -l <"$NET_TMP/loop$loop.acked")
	cat "$NET_TMP/loop$loop.acked" >>"$all_acked"

	start_arcad "arcad$loop"
	if [ -n "$(find "$root/chunks/tmp" -type f 2>/dev/null)" ]; then
		fail "loop $loop: temp files of the killed arcad left in chunks/tmp after the restart"
	fi
	"$ARCA" verify --root "$root" --no-event --json >"$NET_TMP/verify$loop.json" 2>"$NET_TMP/verify$loop.err"
	vs=$?
	if [ "$vs" -ne 0 ] || ! python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
c = d["counts"]
assert d["ok"] is True, d["faults"][:3]
assert c["damaged_instances"] == 0 and c["index_faults"] == 0, c
assert not [s for s in d["studies"] if s["fault"]], d["studies"]
assert not d["studies"], "studies behind or off the chain: %s" % d["studies"]
assert c["chain_pending"] == 0, c' "$NET_TMP/verify$loop.json"; then
		fail "loop $loop (killed after $acked of $files acknowledged): arca verify exits $vs"
		head -c 1500 "$NET_TMP/verify$loop.json" | sed 's/^/     | /'
		net_show "$NET_TMP/verify$loop.err"
	else
		ok "loop $loop: killed after $acked of $files acknowledged (target $target); restarted, no temp file left, arca verify exits 0"
	fi
	# the chain is not behind the index: every study's last store event
	# carries its current hash (the outbox resolved at the restart)
	studies=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["counts"]["studies"])' \
		"$NET_TMP/verify$loop.json" 2>/dev/null)
	owed=$(grep -o 'chain: [0-9]* studies changed in the index without a durable store event' \
		"$NET_TMP/arcad$loop.log" | grep -o '[0-9]*' | head -1)
	"$ARCA" chain verify --root "$root" >"$NET_TMP/chainv$loop.out" 2>&1
	cs=$?
	if [ "$cs" -eq 0 ] && [ -n "$studies" ] &&
		grep -q "^log of [^ ]* intact: .*; $studies study hashes match the store, verified in " "$NET_TMP/chainv$loop.out" &&
		! grep -q "indexed after their last store event" "$NET_TMP/chainv$loop.out"; then
		ok "loop $loop: arca chain verify: all $studies study hashes match, none behind (${owed:-0} store events owed by the killed arcad appended at the restart)"
	else
		fail "loop $loop: arca chain verify exits $cs, expected all ${studies:-?} study hashes matching and none behind"
		net_show "$NET_TMP/chainv$loop.out"
		grep "chain:" "$NET_TMP/arcad$loop.log" | sed 's/^/     | /' | head -10
	fi
	loop=$((loop + 1))
done

# every instance acknowledged in any loop: indexed, and rebuilt with the
# values that were sent
total=$(wc -l <"$all_acked")
rm -rf "$NET_TMP/export"
if ! "$EXPORT" "$root" "$NET_TMP/export" >"$NET_TMP/export.list" 2>"$NET_TMP/export.err"; then
	fail "store_export: $(head -3 "$NET_TMP/export.err")"
fi
missing=0 differ=0
while read -r f; do
	uid=$(dcmdump -q +P 0008,0018 "$f" 2>/dev/null | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -1 | tr -d ' ')
	if [ ! -f "$NET_TMP/export/$uid.dcm" ]; then
		missing=$((missing + 1))
		echo "     | acknowledged but not in the archive: $uid ($f)"
	elif ! $cmp values "$f" "$NET_TMP/export/$uid.dcm" >"$NET_TMP/cmp.out" 2>&1; then
		differ=$((differ + 1))
		echo "     | $uid rebuilt with other values:"
		net_show "$NET_TMP/cmp.out" 5
	fi
done <"$all_acked"
if [ "$missing" -eq 0 ] && [ "$differ" -eq 0 ]; then
	ok "all $total acknowledged instances of $loops kill -9 loops are indexed and rebuild with the values sent"
else
	fail "$missing of $total acknowledged instances missing, $differ rebuilt with other values"
fi
net_stop "$arcad" TERM
if grep -q "ERROR: AddressSanitizer\|runtime error:" "$NET_TMP"/arcad*.log; then
	fail "arcad's log has sanitizer reports"
fi
net_done
