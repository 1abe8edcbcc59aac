#!/bin/bash
# net_chain_spool.sh - provenance events of `arca` commands and of C-FIND
# (issue 5 item 6), with and without a running arcad:
#
#   1. no arcad: `arca chain append` (arca_event_record) appends directly:
#      entry 0, DCM:110107, the user as actor, the patient only as a
#      pseudonym;
#   2. a spool file left while no arcad ran (written here in Python from
#      docs/chain-format.md 9 alone) is appended when arcad starts, and
#      partial files (.tmp-*) over an hour old are removed;
#   3. arcad running: an event goes through ROOT/chain/spool: the command
#      says so, the entry is on the log with its code, actor and outcome,
#      the spool is empty again, no patient ID on the log; two commands
#      at once both land;
#   4. a malformed spool file and a file with a foreign name are set aside
#      in rejected/ with a log line each; arcad keeps serving (C-ECHO) and
#      takes the next event; a batch of 40 events (arca_event_batch)
#      through arcad and, later, directly;
#   5. [chain] query_events: every = one DCM:110112 Query event per
#      findscu query with its match count, by the calling AE, no query key
#      on the log, the user of an accepted User Identity as actor too
#      (tests/find_identity.py); a C-GET with that identity
#      (tests/get_identity.py): the retrieve event's actor is the AE and the
#      user, and a user name that is not UTF-8 is left out with one
#      warning; summary = one per association (2 queries, their
#      matches summed); off = none;
#      a bad value stops arcad (exit 2, FILE:LINE);
#   6. `arca chain verify` exits 0 at the end; no sanitizer report.
#
# Skipped (77) when DCMTK or python3 is missing.
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init net_chain_spool
net_require storescu findscu echoscu dump2dcm dcmdump python3

root=$NET_TMP/root
port=$(net_free_port)
if ! "$ARCA" init --root "$root" --port "$port" --aet ARCA --node spool-node >"$NET_TMP/init.log" 2>&1; then
	echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
	exit 1
fi

# chain_log: `arca chain log --json` into $NET_TMP/log.json
chain_log() {
	"$ARCA" chain log --root "$root" --json >"$NET_TMP/log.json" 2>"$NET_TMP/log.err"
}
# check PYTHON-ASSERTIONS [ARGS]: runs them on the log's entries (es)
check() {
	code=$1
	shift
	python3 -c 'import json, sys
es = [json.loads(l) for l in open(sys.argv[1], "rb").read().splitlines()]
'"$code" "$NET_TMP/log.json" "$@" 2>"$NET_TMP/check.err"
}
# until_log PYTHON-ASSERTIONS [ARGS]: polls the log until they hold
until_log() {
	t0=$(net_now)
	while net_before "$t0" "$NET_DEADLINE"; do
		if chain_log && check "$@"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
start_arcad() {
	net_start "arcad$1" "$ARCAD" --root "$root"
	arcad=$NET_PID
	if ! net_wait_dicom "$arcad" "$port" ARCA; then
		net_show "$NET_TMP/arcad$1.log"
		fail "arcad did not start"
		net_done
		exit 1
	fi
}
stop_arcad() {
	net_stop "$arcad" TERM
	if [ "$NET_STATUS" -ne 0 ]; then
		fail "arcad exited $NET_STATUS on SIGTERM"
	fi
}
spool_count() {
	find "$root/chain/spool" -maxdepth 1 -type f -name '*.ev' | wc -l
}

# ---- 1. no arcad: directly
if "$ARCA" chain append --root "$root" --event import --user importer --patient-id SECRET-PID-1 \
	--study 1.2.3.4 --instances 3 --peer /media/cd >"$NET_TMP/a1.out" 2>&1 &&
	grep -q "^appended entry 0 (DCM:110107)" "$NET_TMP/a1.out"; then
	ok "without arcad the event is appended directly (entry 0)"
else
	fail "direct append: $(cat "$NET_TMP/a1.out")"
fi
chain_log
if check 'e = es[0]
assert len(es) == 1, es
assert e["event"] == "DCM:110107" and e["action"] == "C" and e["outcome"] == 0, e
assert e["actor"] == {"user": "importer"}, e
assert e["object"] == {"instances": 3, "study": "1.2.3.4"}, e
assert len(e["patient"]) == 64 and e["peer"] == "/media/cd" and e["node"] == "spool-node", e'; then
	ok "the direct entry: DCM:110107 C by user importer, study, pseudonym"
else
	fail "direct entry: $(tail -1 "$NET_TMP/check.err")"
fi

# ---- 2. a spool file left while no arcad ran, made from the documented form
mkdir -p "$root/chain/spool"
if python3 -c 'import json, sys
e = {"action": "E", "actor": {"user": "left-behind"}, "event": "arca:verify", "node": "spool-node",
     "outcome": 4, "time": "2026-01-02T03:04:05.678Z", "v": 1}
with open(sys.argv[1] + "/.tmp", "wb") as f:
    f.write(b"arca-spool 1\n" + json.dumps(e, sort_keys=True, separators=(",", ":")).encode() + b"\n")
' "$root/chain/spool" && mv "$root/chain/spool/.tmp" "$root/chain/spool/1767323045678-1-0123456789abcdef.ev"; then
	:
else
	fail "could not write a spool file"
fi
# partial files of commands that died: removed at start once over an hour old
printf 'arca-spool 1\n{"act' >"$root/chain/spool/.tmp-1-old.ev"
touch -d '2 hours ago' "$root/chain/spool/.tmp-1-old.ev"
printf 'arca-spool 1\n{"act' >"$root/chain/spool/.tmp-2-new.ev"
start_arcad 1
if [ ! -e "$root/chain/spool/.tmp-1-old.ev" ] && [ -e "$root/chain/spool/.tmp-2-new.ev" ] &&
	grep -q "removed 1 partial spool files" "$NET_TMP/arcad1.log"; then
	ok "arcad removes partial spool files over an hour old, keeps a recent one"
else
	fail "partial spool files: $(ls -a "$root/chain/spool")"
fi
rm -f "$root/chain/spool/.tmp-2-new.ev"
if until_log 'assert len(es) == 2, len(es)
e = es[1]
assert e["event"] == "arca:verify" and e["actor"] == {"user": "left-behind"} and e["outcome"] == 4, e
assert e["time"] == "2026-01-02T03:04:05.678Z" and e["index"] == 1, e'; then
	ok "arcad appends at start what the spool holds (entry 1, its own time)"
else
	fail "spool at start: $(tail -1 "$NET_TMP/check.err")"
fi
if [ "$(spool_count)" -eq 0 ]; then ok "the spool is empty once the entry is durable"; else fail "spool not emptied"; fi

# ---- 3. arcad running: through the spool
if "$ARCA" chain append --root "$root" --event export --user alice --patient-id SECRET-PID-2 \
	--study 1.2.3.5 --instances 2 --peer /tmp/out.tar >"$NET_TMP/a3.out" 2>&1 &&
	grep -q "through the running arcad" "$NET_TMP/a3.out"; then
	ok "with arcad running the command hands its event over and returns once it is durable"
else
	fail "spooled append: $(cat "$NET_TMP/a3.out")"
fi
chain_log
if check 'e = es[-1]
assert len(es) == 3, len(es)
assert e["event"] == "DCM:110106" and e["action"] == "R" and e["outcome"] == 0, e
assert e["actor"] == {"user": "alice"} and e["index"] == 2, e
assert e["object"] == {"instances": 2, "study": "1.2.3.5"} and len(e["patient"]) == 64, e'; then
	ok "the spooled entry: DCM:110106 R by user alice, index 2"
else
	fail "spooled entry: $(tail -1 "$NET_TMP/check.err")"
fi
if grep -q "chain: entry 2 (DCM:110106 by alice) from the spool" "$NET_TMP/arcad1.log"; then
	ok "arcad logs the spooled entry"
else
	fail "no log line for the spooled entry"
fi
if grep -q "SECRET-PID" "$NET_TMP/log.json"; then fail "a patient ID is on the log"; else ok "no patient ID on the log"; fi
"$ARCA" chain append --root "$root" --event quarantine-release --user u1 >"$NET_TMP/c1.out" 2>&1 &
c1=$!
"$ARCA" chain append --root "$root" --event quarantine-drop --user u2 >"$NET_TMP/c2.out" 2>&1
c2s=$?
wait "$c1"
c1s=$?
chain_log
if [ "$c1s" -eq 0 ] && [ "$c2s" -eq 0 ] &&
	check 'got = sorted((e["event"], e["actor"]["user"]) for e in es[3:])
assert got == [("arca:quarantine-drop", "u2"), ("arca:quarantine-release", "u1")], got'; then
	ok "two commands at once: both events land"
else
	fail "concurrent commands: $c1s $c2s $(cat "$NET_TMP/c1.out" "$NET_TMP/c2.out") $(tail -1 "$NET_TMP/check.err")"
fi

# ---- 4. malformed spool files
printf 'arca-spool 1\n{"not":"an entry"}\n' >"$root/chain/spool/.x" &&
	mv "$root/chain/spool/.x" "$root/chain/spool/1767323045679-1-00000000000000aa.ev"
printf 'hello\n' >"$root/chain/spool/.y" && mv "$root/chain/spool/.y" "$root/chain/spool/junk.txt"
t0=$(net_now)
while net_before "$t0" "$NET_DEADLINE" && [ ! -f "$root/chain/spool/rejected/junk.txt" ]; do sleep 0.1; done
while net_before "$t0" "$NET_DEADLINE" && [ ! -f "$root/chain/spool/rejected/1767323045679-1-00000000000000aa.ev" ]; do
	sleep 0.1
done
if [ -f "$root/chain/spool/rejected/junk.txt" ] &&
	[ -f "$root/chain/spool/rejected/1767323045679-1-00000000000000aa.ev" ] &&
	[ ! -e "$root/chain/spool/junk.txt" ]; then
	ok "malformed spool files are set aside in rejected/"
else
	fail "malformed spool files not set aside: $(ls -R "$root/chain/spool")"
fi
# the files are moved before arcad's log lines are written: wait for them
logged() {
	grep -q "spool file 1767323045679-1-00000000000000aa.ev set aside.*entry" "$NET_TMP/arcad1.log" &&
		grep -q "spool file junk.txt set aside.*not a spool file name" "$NET_TMP/arcad1.log"
}
t0=$(net_now)
while net_before "$t0" "$NET_DEADLINE" && ! logged; do sleep 0.1; done
if logged; then
	ok "arcad logs each file it sets aside, with the reason"
else
	fail "no log line for the set-aside files"
	grep "spool" "$NET_TMP/arcad1.log" | sed 's/^/     | /'
fi
if echoscu -aet PING -aec ARCA 127.0.0.1 "$port" >/dev/null 2>&1 &&
	"$ARCA" chain append --root "$root" --event verify --user after >"$NET_TMP/a4.out" 2>&1; then
	ok "arcad keeps serving and takes the next event"
else
	fail "after malformed files: $(cat "$NET_TMP/a4.out")"
fi

# a batch through arcad: 40 events of one command, waited for once
chain_log
before=$(wc -l <"$NET_TMP/log.json")
if "$ARCA" chain append --root "$root" --event import --user batcher --count 40 >"$NET_TMP/b1.out" 2>&1 &&
	grep -q "appended 40 DCM:110107 .* through the running arcad" "$NET_TMP/b1.out" && chain_log &&
	[ "$(wc -l <"$NET_TMP/log.json")" -eq $((before + 40)) ] && [ "$(spool_count)" -eq 0 ]; then
	ok "a batch of 40 events through arcad: all on the log when the command returns"
else
	fail "batch through arcad: $(cat "$NET_TMP/b1.out")"
fi

# ---- 5. query events
net_gen "$NET_TMP/s1" 32 s1 || fail "could not generate a study"
study1=$net_gen_study
if storescu -aet CT1 -aec ARCA 127.0.0.1 "$port" "$NET_TMP"/s1/*.dcm >"$NET_TMP/storescu.log" 2>&1; then
	ok "storescu of a study of 4 instances"
else
	fail "storescu: $(tail -3 "$NET_TMP/storescu.log")"
fi
stop_arcad
# queries: a study-level query matching 1 study, an image-level one matching 4
find_study() {
	findscu -aet "$1" -aec ARCA -S "${@:2}" -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study1" \
		-k PatientName="Test*" 127.0.0.1 "$port" >>"$NET_TMP/findscu.log" 2>&1
}
find_images() {
	findscu -aet "$1" -aec ARCA -S -k QueryRetrieveLevel=IMAGE -k StudyInstanceUID="$study1" \
		-k SeriesInstanceUID="$study1.0" -k SOPInstanceUID 127.0.0.1 "$port" >>"$NET_TMP/findscu.log" 2>&1
}
set_mode() {
	if grep -q "^query_events" "$root/arca.conf"; then
		sed -i "s/^query_events = .*/query_events = $1/" "$root/arca.conf"
	else
		sed -i "s/^\[chain\]/[chain]\nquery_events = $1/" "$root/arca.conf"
	fi
}
queries() {
	python3 -c 'import json, sys
es = [json.loads(l) for l in open(sys.argv[1], "rb").read().splitlines()]
print(json.dumps([e for e in es if e["event"] == "DCM:110112"]))' "$NET_TMP/log.json"
}

set_mode every
# a User Identity accepted by [access] users is the actor's user name
sed -i 's/^;users = .*/users = alice:secret/' "$root/arca.conf"
start_arcad 2
if find_study QA && find_images QB; then ok "findscu: two queries (every)"; else fail "findscu: $(tail -3 "$NET_TMP/findscu.log")"; fi
if until_log 'q = [e for e in es if e["event"] == "DCM:110112"]
assert len(q) == 2, q
a, b = q
for e, ae, m in ((a, "QA", 1), (b, "QB", 4)):
    assert e["action"] == "E" and e["outcome"] == 0, e
    assert e["actor"] == {"ae": ae} and e["peer"] == ae, e
    assert e["query"] == {"matches": m, "requests": 1}, e
    assert "object" not in e and "patient" not in e, e'; then
	ok "query_events = every: one Query event per C-FIND with its match count (1, 4)"
else
	fail "every: $(tail -1 "$NET_TMP/check.err")"
fi
if grep -q "Test" "$NET_TMP/log.json" || grep -q "$study1" <(queries); then
	fail "a query key is on the log"
else
	ok "no query key on the log"
fi
if python3 "$srcdir/tests/find_identity.py" --port "$port" --user alice --password secret --study "$study1" \
	>"$NET_TMP/idfind.log" 2>&1 && grep -q "^matches 1$" "$NET_TMP/idfind.log" &&
	until_log 'q = [e for e in es if e["event"] == "DCM:110112"]
assert len(q) == 3, q
e = q[-1]
assert e["actor"] == {"ae": "IDFIND", "user": "alice"} and e["peer"] == "IDFIND", e
assert e["query"] == {"matches": 1, "requests": 1}, e'; then
	ok "a C-FIND with an accepted User Identity: the actor is the AE and the user"
else
	fail "query with identity: $(cat "$NET_TMP/idfind.log") $(tail -1 "$NET_TMP/check.err")"
fi
# a C-GET with an accepted User Identity: the retrieve event's actor has the
# user too (PS3.15 A.5.3.7, the requesting user as active participant)
if python3 "$srcdir/tests/get_identity.py" --port "$port" --user alice --password secret --study "$study1" \
	>"$NET_TMP/idget.log" 2>&1 && grep -q "^received 4 completed 4$" "$NET_TMP/idget.log" &&
	until_log 'r = [e for e in es if e["event"] == "DCM:110104" and e["action"] == "R"]
assert len(r) == 1, r
e = r[0]
assert e["action"] == "R" and e["outcome"] == 0, e
assert e["actor"] == {"ae": "IDGET", "user": "alice"} and e["peer"] == "IDGET", e
assert e["object"]["study"] == sys.argv[2] and e["object"]["instances"] == 4, e' "$study1"; then
	ok "a C-GET with an accepted User Identity: the retrieve event's actor is the AE and the user"
else
	fail "retrieve with identity: $(cat "$NET_TMP/idget.log") $(tail -1 "$NET_TMP/check.err")"
fi
stop_arcad

# a user name the entry rules refuse (not UTF-8) is left out of the retrieve
# event, with one warning, and the event is still on the log
sed -i 's/^users = .*/users = alice:secret, b'$'\xff''d:pw/' "$root/arca.conf"
start_arcad 2b
if python3 "$srcdir/tests/get_identity.py" --port "$port" --user "b"$'\xff'"d" --password pw --study "$study1" \
	>"$NET_TMP/idget2.log" 2>&1 && grep -q "^received 4 completed 4$" "$NET_TMP/idget2.log" &&
	until_log 'r = [e for e in es if e["event"] == "DCM:110104" and e["action"] == "R"]
assert len(r) == 2, r
e = r[1]
assert e["actor"] == {"ae": "IDGET"} and e["outcome"] == 0 and e["object"]["instances"] == 4, e' &&
	[ "$(grep -c "user name of \"IDGET\"'s C-GET is left out of the retrieve event: actor user" "$NET_TMP/arcad2b.log")" -eq 1 ]; then
	ok "a user name that is not UTF-8: left out of the retrieve event, one warning"
else
	fail "bad user name: $(cat "$NET_TMP/idget2.log") $(tail -1 "$NET_TMP/check.err") $(grep -i "left out" "$NET_TMP/arcad2b.log")"
fi
stop_arcad
sed -i 's/^users = .*/users = alice:secret/' "$root/arca.conf"

set_mode summary
start_arcad 3
if find_study QC --repeat 2; then ok "findscu: one association, two queries (summary)"; else fail "findscu --repeat 2"; fi
if until_log 'q = [e for e in es if e["event"] == "DCM:110112"]
assert len(q) == 4, q
e = q[-1]
assert e["actor"] == {"ae": "QC"} and e["outcome"] == 0, e
assert e["query"] == {"matches": 2, "requests": 2}, e'; then
	ok "query_events = summary: one Query event for the association (2 queries, 2 matches)"
else
	fail "summary: $(tail -1 "$NET_TMP/check.err")"
fi
if echoscu -aet NOQ -aec ARCA 127.0.0.1 "$port" >/dev/null 2>&1; then :; fi
stop_arcad
chain_log
if check 'assert len([e for e in es if e["event"] == "DCM:110112"]) == 4'; then
	ok "an association without C-FIND has no Query event"
else
	fail "query event for an association without queries"
fi

set_mode off
start_arcad 4
find_study QD || fail "findscu (off)"
stop_arcad
chain_log
if check 'q = [e for e in es if e["event"] == "DCM:110112"]
assert len(q) == 4, q'; then
	ok "query_events = off: no Query event"
else
	fail "off: $(tail -1 "$NET_TMP/check.err")"
fi

# a batch without arcad: the log opened once, one flush
chain_log
before=$(wc -l <"$NET_TMP/log.json")
if "$ARCA" chain append --root "$root" --event export --user batcher --count 40 >"$NET_TMP/b2.out" 2>&1 &&
	grep -q "^appended entries $before-$((before + 39)) (DCM:110106)" "$NET_TMP/b2.out" && chain_log &&
	check 'b = [e for e in es if e["event"] == "DCM:110106" and e["actor"] == {"user": "batcher"}]
assert len(b) == 40 and [e["index"] for e in b] == list(range(b[0]["index"], b[0]["index"] + 40)), b'; then
	ok "a batch of 40 events without arcad: consecutive entries"
else
	fail "direct batch: $(cat "$NET_TMP/b2.out") $(tail -1 "$NET_TMP/check.err")"
fi

set_mode sometimes
if "$ARCAD" --root "$root" >"$NET_TMP/badconf.log" 2>&1; then
	fail "arcad started with query_events = sometimes"
elif [ $? -eq 2 ] && grep -q 'arca.conf:[0-9]*: \[chain\] query_events = "sometimes": expected off, summary or every' \
	"$NET_TMP/badconf.log"; then
	ok "query_events = sometimes: arcad exits 2 naming FILE:LINE and the values"
else
	fail "bad query_events: $(cat "$NET_TMP/badconf.log")"
fi
set_mode summary

# ---- 6. the whole log
if "$ARCA" chain verify --root "$root" >"$NET_TMP/verify.log" 2>&1; then
	ok "arca chain verify exits 0"
else
	fail "arca chain verify: $(cat "$NET_TMP/verify.log")"
fi
if grep -q "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$NET_TMP"/arcad*.log "$NET_TMP"/*.out; then
	fail "sanitizer reports"
	grep -m3 "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$NET_TMP"/arcad*.log "$NET_TMP"/*.out | sed 's/^/     | /'
fi
net_done
