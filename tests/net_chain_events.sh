#!/bin/bash
# net_chain_events.sh - arcad appends provenance chain events (issue 5
# item 6) against DCMTK storescu and getscu:
#
#   1. storescu of 2 studies (4 instances each): every store event is
#      DCM:110104 action C by the calling AE with a study hash, a study's
#      instance counts grow to 4 (one event per study and commit batch),
#      each study has an event; `arca chain verify` exits 0;
#   2. the patients' names and IDs of the files sent appear nowhere in
#      `arca chain log --json` (the patient is a keyed pseudonym);
#   3. getscu of one study: a retrieve event (DCM:110104 action R, the
#      study, 4 instances, the requestor as peer, success).
#
# Skipped (77) when DCMTK or python3 is missing.
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init net_chain_events
net_require storescu getscu echoscu dump2dcm python3

root=$NET_TMP/root
port=$(net_free_port)
if ! "$ARCA" init --root "$root" --port "$port" --aet ARCA >"$NET_TMP/init.log" 2>&1; then
	echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
	exit 1
fi
net_start arcad "$ARCAD" --root "$root"
arcad=$NET_PID
if ! net_wait_dicom "$arcad" "$port" ARCA; then
	net_show "$NET_TMP/arcad.log"
	fail "arcad did not start"
	net_done
	exit 1
fi
if grep -q "chain: appending events to" "$NET_TMP/arcad.log"; then
	ok "arcad opens the chain of the archive"
else
	fail "arcad does not say it appends chain events"
fi

net_gen "$NET_TMP/s1" 64 s1 || fail "could not generate study 1"
study1=$net_gen_study
net_gen "$NET_TMP/s2" 64 s2 || fail "could not generate study 2"
study2=$net_gen_study
if storescu -aet CT1 -aec ARCA 127.0.0.1 "$port" "$NET_TMP"/s1/*.dcm "$NET_TMP"/s2/*.dcm \
	>"$NET_TMP/storescu.log" 2>&1; then
	ok "storescu of 2 studies"
else
	fail "storescu: $(tail -3 "$NET_TMP/storescu.log")"
fi

# chain_log: `arca chain log --json` into $NET_TMP/log.json
chain_log() {
	"$ARCA" chain log --root "$root" --json >"$NET_TMP/log.json" 2>"$NET_TMP/log.err"
}
if chain_log; then ok "arca chain log --json"; else fail "arca chain log: $(cat "$NET_TMP/log.err")"; fi
if python3 -c 'import json, re, sys
es = [json.loads(l) for l in open(sys.argv[1], "rb").read().splitlines()]
for study in sys.argv[2:]:
    st = [e for e in es if e.get("object", {}).get("study") == study]
    assert st, "no event for " + study
    for e in st:
        assert e["event"] == "DCM:110104" and e["action"] == "C" and e["outcome"] == 0, e
        assert e["actor"] == {"ae": "CT1"}, e
        assert re.fullmatch("[0-9a-f]{64}", e["object"]["study_hash"]), e
        assert re.fullmatch("[0-9a-f]{64}", e["patient"]), e
    n = [e["object"]["instances"] for e in st]
    assert n == sorted(set(n)) and n[-1] == 4, n
' "$NET_TMP/log.json" "$study1" "$study2"; then
	ok "store events: per study, by CT1, with study hash and pseudonym, growing to 4 instances"
else
	fail "store events"
	net_show "$NET_TMP/log.json"
fi
leak=0
for f in "$NET_TMP"/s1/*.dcm "$NET_TMP"/s2/*.dcm; do
	for tag in 0010,0010 0010,0020; do
		v=$(dcmdump -q +P "$tag" "$f" 2>/dev/null | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p' | head -1)
		if [ -z "$v" ]; then
			leak=1
			echo "     | no value of ($tag) in $f"
		elif grep -qF "$v" "$NET_TMP/log.json"; then
			leak=1
			echo "     | ($tag) '$v' is in the chain log"
		fi
	done
done
if [ "$leak" -eq 0 ]; then ok "no patient name or ID in the chain log"; else fail "patient identifiers in the chain log"; fi
if "$ARCA" chain verify --root "$root" >"$NET_TMP/verify.log" 2>&1; then
	ok "arca chain verify exits 0 while arcad appends"
else
	fail "arca chain verify: $(cat "$NET_TMP/verify.log")"
fi

mkdir -p "$NET_TMP/get"
if getscu -aet WS1 -aec ARCA -od "$NET_TMP/get" -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study1" \
	127.0.0.1 "$port" >"$NET_TMP/getscu.log" 2>&1 && [ "$(ls "$NET_TMP/get" | wc -l)" -eq 4 ]; then
	ok "getscu of study 1: 4 instances"
else
	fail "getscu: $(tail -3 "$NET_TMP/getscu.log")"
fi
# the retrieve event is not waited for: it is durable within a batch (20 ms)
found=1
for _ in 1 2 3 4 5 6 7 8 9 10; do
	chain_log
	if python3 -c 'import json, sys
es = [json.loads(l) for l in open(sys.argv[1], "rb").read().splitlines()]
r = [e for e in es if e["action"] == "R"]
assert len(r) == 1, r
e = r[0]
assert e["event"] == "DCM:110104" and e["outcome"] == 0 and e["actor"] == {"ae": "WS1"}, e
assert e["object"] == {"study": sys.argv[2], "instances": 4}, e
assert e["peer"] == "WS1", e
' "$NET_TMP/log.json" "$study1" 2>"$NET_TMP/retr.err"; then
		found=0
		break
	fi
	sleep 0.5
done
if [ "$found" -eq 0 ]; then
	ok "retrieve event: DCM:110104 R by WS1, study 1, 4 instances, success"
else
	fail "retrieve event: $(tail -1 "$NET_TMP/retr.err")"
fi

net_stop "$arcad" TERM
if "$ARCA" chain verify --root "$root" >"$NET_TMP/verify.log" 2>&1; then
	ok "arca chain verify exits 0 after arcad stopped"
else
	fail "arca chain verify after stop: $(cat "$NET_TMP/verify.log")"
fi
if grep -q "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$NET_TMP"/arcad*.log; then
	fail "arcad's log has sanitizer reports"
	grep -m3 "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$NET_TMP"/arcad*.log | sed 's/^/     | /'
fi
net_done
