#!/bin/sh
# quarantine_quality.sh - refusals, warnings and normalisation at ingest,
# the quarantine (arca quarantine list/show/release/drop) and the data
# quality report (arca quality), against a running arcad (issue 4, and the
# provenance events of issue 5).
#
# The test writes its own rules (refuse a missing Modality, warn on a body
# part outside the PS3.16 terms, fix lower-case CS values) and sends, with
# DCMTK storescu from three calling AE titles, five generated instances:
#   1. a conformant CT (GOODCT): 0x0000, no comment;
#   2. a CT with "chest" (CTSCAN): 0xB000, Error Comment naming cs-upper;
#   3. an MR with body part KNEEZ (MRSCAN): 0xB007, naming body-part-terms;
#   4. a CT without Modality (CTSCAN): 0xA900 "modality: Modality
#      (0008,0060) missing", kept in quarantine;
#   5. the same from MRSCAN: 0xA900, kept in quarantine.
# Then:
#   6. arca quarantine list (table and --json): the two, with received,
#      calling AE, status and reason; show: the reason file and the main
#      attributes; bad UIDs exit 2;
#   7. release without --force: refused again by the same rule, exit 1,
#      still listed, the attempt noted in reason.txt, not findable;
#   8. release --force: stored, gone from the quarantine, findable with
#      C-FIND (findscu), its rebuilt instance (tests/store_export) holds an
#      Original Attributes Sequence item (COERCE) recording Modality;
#   9. drop: gone; show then exits 2;
#  10. the chain has a quarantine-release (U) and a quarantine-drop (D)
#      event naming the study;
#  11. arca import of a fixed and a refused instance (AE IMPORT);
#  12. arca quality --json --by source, --by modality, --by rule and the
#      default (source and modality): exact counts and example UIDs; the
#      table's total line; --since / --until ranges; bad arguments exit 2;
#  13. the refused imported instance, corrected and sent again: its
#      quarantine entry shows it stored.
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init quarantine_quality
net_require storescu findscu dump2dcm dcmdump python3
EXPORT=$builddir/tests/store_export

root=$NET_TMP/root
port=$(net_free_port)
if ! "$ARCA" init --root "$root" --port "$port" --aet ARCA --node qq >"$NET_TMP/init.log" 2>&1; then
	echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
	exit 1
fi
if [ -s "$root/normalise.conf" ] && grep -q '^rules = normalise.conf' "$root/arca.conf"; then
	ok "arca init wrote the default rules and names them in arca.conf"
else
	fail "arca init: no default rules ($(grep rules "$root/arca.conf"))"
fi
# this test's rules, in place of the defaults
cat >"$root/normalise.conf" <<'RULES'
[required series]
modality = refuse Modality
[values]
body-part-terms = warn BodyPartExamined in @body-part
[normalise]
cs-upper = fix
RULES

start=$(date +%s)
study=2.25.$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')
head -c $((256 * 256 * 2)) /dev/urandom >"$NET_TMP/px"
# gen NAME MODALITY BODYPART N: an instance of $study, series .N
gen() {
	{
		echo "(0008,0016) UI =CTImageStorage"
		echo "(0008,0018) UI [$study.$4.1]"
		echo "(0008,0020) DA [20260102]"
		[ -n "$2" ] && echo "(0008,0060) CS [$2]"
		echo "(0010,0010) PN [Quality^Test]"
		echo "(0010,0020) LO [QQ1]"
		echo "(0018,0015) CS [$3]"
		echo "(0020,000d) UI [$study]"
		echo "(0020,000e) UI [$study.$4]"
		echo "(0020,0013) IS [$4]"
		echo "(0028,0002) US 1"
		echo "(0028,0004) CS [MONOCHROME2]"
		echo "(0028,0010) US 256"
		echo "(0028,0011) US 256"
		echo "(0028,0100) US 16"
		echo "(0028,0101) US 16"
		echo "(0028,0102) US 15"
		echo "(0028,0103) US 0"
		echo "(7fe0,0010) OW =$NET_TMP/px"
	} >"$NET_TMP/$1.dump"
	dump2dcm -q +te "$NET_TMP/$1.dump" "$NET_TMP/$1.dcm"
}
gen good CT CHEST 1 && gen norm CT chest 2 && gen warn MR KNEEZ 3 && gen ref1 "" CHEST 4 && gen ref2 "" CHEST 5 &&
	gen imp1 MR knee 6 && gen imp2 "" KNEE 7 || {
	echo "FAIL: dump2dcm"
	exit 1
}
good=$study.1.1 norm=$study.2.1 warn=$study.3.1 ref1=$study.4.1 ref2=$study.5.1 imp1=$study.6.1 imp2=$study.7.1

net_start arcad "$ARCAD" --root "$root"
arcad=$NET_PID
if ! net_wait_dicom "$arcad" "$port" ARCA; then
	net_show "$NET_TMP/arcad.log"
	exit 1
fi

# send NAME AE STATUS COMMENT: storescu's response status and Error Comment
send() {
	storescu -d -aet "$2" -aec ARCA 127.0.0.1 "$port" "$NET_TMP/$1.dcm" >"$NET_TMP/send-$1.log" 2>&1
	got=$(sed -n 's/.*DIMSE Status *: 0x\([0-9a-f]*\).*/\1/p' "$NET_TMP/send-$1.log" | tail -1)
	comment=$(sed -n 's/.*(0000,0902) LO \[\(.*\)\] *#.*/\1/p' "$NET_TMP/send-$1.log" | tail -1)
	if [ "$got" = "$3" ] && [ "$comment" = "$4" ]; then
		ok "$1 from $2: status $got${4:+, Error Comment \"$4\"}"
	else
		fail "$1 from $2: status '$got' comment '$comment', expected '$3' '$4'"
		net_show "$NET_TMP/send-$1.log" 5
	fi
}
send good GOODCT 0000 ""
send norm CTSCAN b000 "cs-upper: BodyPartExamined (0018,0015) CS in lower case"
send warn MRSCAN b007 "body-part-terms: BodyPartExamined (0018,0015) not allowed"
send ref1 CTSCAN a900 "modality: Modality (0008,0060) missing"
send ref2 MRSCAN a900 "modality: Modality (0008,0060) missing"

# ---------------------------------------------------------------- list, show
"$ARCA" quarantine --root "$root" list >"$NET_TMP/list.txt" 2>&1
if [ "$(grep -c "A900    no      $root/normalise.conf:2 modality refuse (0008,0060) Modality is missing" "$NET_TMP/list.txt")" = 2 ] &&
	grep -q "^$ref1 .* CTSCAN " "$NET_TMP/list.txt" && grep -q "^$ref2 .* MRSCAN " "$NET_TMP/list.txt" &&
	head -1 "$NET_TMP/list.txt" | grep -q '^UID .*RECEIVED .*CALLING AE .*STATUS  STORED  REASON$'; then
	ok "quarantine list: both refusals with calling AE, status and reason"
else
	fail "quarantine list:"
	net_show "$NET_TMP/list.txt"
fi
"$ARCA" quarantine --root "$root" list --json >"$NET_TMP/list.json"
if python3 - "$NET_TMP/list.json" "$ref1" "$ref2" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
assert [e["uid"] for e in v] == [sys.argv[2], sys.argv[3]], v
assert [e["calling_ae"] for e in v] == ["CTSCAN", "MRSCAN"], v
for e in v:
    assert e["status"] == "A900" and e["comment"] == "modality: Modality (0008,0060) missing", e
    assert e["received"].endswith("Z") and len(e["received"]) == 20, e
    assert e["stored"] is False, e
PY
then ok "quarantine list --json: uids in order received, AEs, status, comment"; else fail "quarantine list --json"; fi
"$ARCA" quarantine --root "$root" show "$ref1" >"$NET_TMP/show.txt" 2>&1
if grep -q '^refused: 0xA900 modality: Modality (0008,0060) missing$' "$NET_TMP/show.txt" &&
	grep -q '^calling AE: CTSCAN$' "$NET_TMP/show.txt" &&
	grep -q "^(0008,0018) UI  SOPInstanceUID  *\[$ref1\]$" "$NET_TMP/show.txt" &&
	grep -q '^(0008,0060) --  Modality  *(absent)$' "$NET_TMP/show.txt" &&
	grep -q '^(0028,0010) US  Rows  *256$' "$NET_TMP/show.txt"; then
	ok "quarantine show: reason file and main attributes"
else
	fail "quarantine show:"
	net_show "$NET_TMP/show.txt" 40
fi
for bad in 9.9.9 ../etc "$ref1/x"; do
	"$ARCA" quarantine --root "$root" show "$bad" >/dev/null 2>"$NET_TMP/bad.err"
	st=$?
	if [ $st -eq 2 ] && [ "$(wc -l <"$NET_TMP/bad.err")" -eq 1 ]; then
		ok "quarantine show $bad: exit 2, $(cat "$NET_TMP/bad.err")"
	else
		fail "quarantine show $bad: exit $st: $(cat "$NET_TMP/bad.err")"
	fi
done

# found NAME UID: how many C-FIND matches at IMAGE level
found() {
	findscu -S -aec ARCA 127.0.0.1 "$port" -k QueryRetrieveLevel=IMAGE -k StudyInstanceUID="$study" \
		-k SeriesInstanceUID="$(echo "$1" | sed 's/\.1$//')" -k SOPInstanceUID 2>&1 |
		grep -a -c "(0008,0018) UI \[$1"
}

# ---------------------------------------------------------------- release
"$ARCA" quarantine --root "$root" release "$ref1" >"$NET_TMP/rel1.out" 2>"$NET_TMP/rel1.err"
st=$?
if [ $st -eq 1 ] && grep -q "is refused again (status A900: modality: Modality (0008,0060) missing)" "$NET_TMP/rel1.err" &&
	"$ARCA" quarantine --root "$root" list | grep -q "^$ref1 " &&
	grep -q "^release attempt .* refused again: A900 modality" "$root/quarantine/$ref1/reason.txt" &&
	grep -q '^calling AE: CTSCAN$' "$root/quarantine/$ref1/reason.txt" && [ "$(found "$ref1")" = 0 ]; then
	ok "release without --force: refused again by modality, exit 1, still quarantined, attempt noted"
else
	fail "release without --force: exit $st: $(cat "$NET_TMP/rel1.err")"
fi
"$ARCA" quarantine --root "$root" release "$ref1" --force >"$NET_TMP/rel2.out" 2>"$NET_TMP/rel2.err"
st=$?
if [ $st -eq 0 ] && grep -q "^released $ref1: stored (status B007 .*); rules waived: modality$" "$NET_TMP/rel2.out" &&
	[ ! -e "$root/quarantine/$ref1" ] && [ "$(found "$ref1")" = 1 ] && [ "$(found "$good")" = 1 ]; then
	ok "release --force: stored with modality waived, gone from the quarantine, found by C-FIND"
else
	fail "release --force: exit $st: $(cat "$NET_TMP/rel2.out" "$NET_TMP/rel2.err")"
fi
if "$EXPORT" "$root" "$NET_TMP/export" >/dev/null 2>"$NET_TMP/export.err"; then
	dcmdump -q "$NET_TMP/export/$ref1.dcm" >"$NET_TMP/ref1.dump" 2>&1
	if grep -q '(0400,0561) SQ' "$NET_TMP/ref1.dump" && grep -q '(0400,0565) CS \[COERCE\]' "$NET_TMP/ref1.dump" &&
		grep -q '(0400,0564) LO \[CTSCAN\]' "$NET_TMP/ref1.dump" &&
		sed -n '/(0400,0550)/,$p' "$NET_TMP/ref1.dump" | grep -q '(0008,0060) CS (no value available)'; then
		ok "the released instance records the waived Modality in its Original Attributes Sequence (COERCE)"
	else
		fail "released instance: no Original Attributes Sequence item for the waiver"
		net_show "$NET_TMP/ref1.dump" 30
	fi
else
	fail "store_export: $(head -2 "$NET_TMP/export.err")"
fi

# ---------------------------------------------------------------- drop
"$ARCA" quarantine --root "$root" drop "$ref2" >"$NET_TMP/drop.out" 2>&1
st=$?
"$ARCA" quarantine --root "$root" show "$ref2" >/dev/null 2>&1
st2=$?
if [ $st -eq 0 ] && grep -q "^dropped $ref2$" "$NET_TMP/drop.out" && [ $st2 -eq 2 ] &&
	[ "$("$ARCA" quarantine --root "$root" list --json | tr -d ' \n')" = "[]" ] &&
	"$ARCA" quarantine --root "$root" list | grep -q "quarantine is empty"; then
	ok "drop: gone, show exits 2, the quarantine is empty"
else
	fail "drop: exit $st, show exit $st2: $(cat "$NET_TMP/drop.out")"
fi

# ---------------------------------------------------------------- chain
"$ARCA" chain log --root "$root" >"$NET_TMP/chain.txt" 2>&1
# the release states the study as it now is (its hash over the 4 instances
# stored: good, norm, warn and the released one), as store events do
if grep -q "arca:quarantine-release .* U success  user=.*study=$study  study_hash=[0-9a-f]*  instances=4  patient=" "$NET_TMP/chain.txt" &&
	grep -q "arca:quarantine-drop .* D success  user=.*study=$study  instances=1  patient=" "$NET_TMP/chain.txt" &&
	! grep -q "QQ1\|Quality" "$NET_TMP/chain.txt"; then
	ok "chain: quarantine-release (U, study hash) and quarantine-drop (D) events, patient as a pseudonym"
else
	fail "chain events:"
	net_show "$NET_TMP/chain.txt"
fi

"$ARCA" chain verify --root "$root" >"$NET_TMP/cverify.txt" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q "study hashes match the store" "$NET_TMP/cverify.txt" &&
	! grep -q "indexed after their last store event" "$NET_TMP/cverify.txt"; then
	ok "chain verify: every study hash matches the store, the release included"
else
	fail "chain verify: exit $st: $(cat "$NET_TMP/cverify.txt")"
fi

# ---------------------------------------------------------------- import
# arca import goes through the same ingest: a fix and a refusal, recorded
# under the import's AE title (IMPORT), while arcad runs
mkdir -p "$NET_TMP/imp" && cp "$NET_TMP/imp1.dcm" "$NET_TMP/imp2.dcm" "$NET_TMP/imp/"
"$ARCA" import --root "$root" --quiet "$NET_TMP/imp" >"$NET_TMP/import.log" 2>&1
if "$ARCA" quarantine --root "$root" list --json | grep -q "\"uid\": \"$imp2\"" &&
	"$ARCA" quarantine --root "$root" list | grep -q "^$imp2 .* IMPORT .* A900 " && [ "$(found "$imp1")" = 1 ]; then
	ok "arca import: the fixed instance stored, the refused one quarantined from AE IMPORT"
else
	fail "arca import: $(cat "$NET_TMP/import.log")"
fi

# ---------------------------------------------------------------- quality
"$ARCA" quality --root "$root" --json --by source --examples 5 >"$NET_TMP/q-source.json" 2>&1 &&
	"$ARCA" quality --root "$root" --json --by modality >"$NET_TMP/q-modality.json" 2>&1 &&
	"$ARCA" quality --root "$root" --json --by rule >"$NET_TMP/q-rule.json" 2>&1 &&
	"$ARCA" quality --root "$root" --json >"$NET_TMP/q-both.json" 2>&1 || fail "arca quality --json failed"
if python3 - "$NET_TMP" "$good" "$norm" "$warn" "$ref1" "$ref2" "$imp1" "$imp2" <<'PY'
import json, sys
d, good, norm, warn, ref1, ref2, imp1, imp2 = sys.argv[1:]
def load(n): return json.load(open(f"{d}/q-{n}.json"))
def counts(g):
    return {k: g[k] for k in ("received", "stored", "duplicates", "versions", "refused", "quarantined",
                              "warned", "normalised", "released", "dropped")}
z = dict(received=0, stored=0, duplicates=0, versions=0, refused=0, quarantined=0, warned=0, normalised=0,
         released=0, dropped=0)
def c(**kw): return {**z, **kw}
s = load("source")
assert s["by"] == "source"
g = {x["source"]: x for x in s["groups"]}
assert sorted(g) == ["CTSCAN", "GOODCT", "IMPORT", "MRSCAN"], g.keys()
assert counts(g["IMPORT"]) == c(received=2, stored=1, refused=1, quarantined=1, normalised=1), g["IMPORT"]
# import commits on several threads: the two in either order
assert sorted(g["IMPORT"]["examples"]) == sorted([imp2, imp1]), g["IMPORT"]["examples"]
assert counts(g["CTSCAN"]) == c(received=2, stored=1, refused=1, quarantined=1, normalised=1, released=1), g["CTSCAN"]
assert counts(g["GOODCT"]) == c(received=1, stored=1), g["GOODCT"]
assert counts(g["MRSCAN"]) == c(received=2, stored=1, refused=1, quarantined=1, warned=1, dropped=1), g["MRSCAN"]
assert g["CTSCAN"]["examples"] == [ref1, norm], g["CTSCAN"]["examples"]
assert g["MRSCAN"]["examples"] == [ref2, warn], g["MRSCAN"]["examples"]
assert g["GOODCT"]["examples"] == [] and g["GOODCT"]["rules"] == []
assert {(r["rule"], r["action"], r["instances"]) for r in g["CTSCAN"]["rules"]} == {("modality", "refuse", 1), ("cs-upper", "fix", 1)}
assert counts(s["total"]) == c(received=7, stored=4, refused=3, quarantined=3, warned=1, normalised=2, released=1, dropped=1), s["total"]
m = load("modality")
g = {x["modality"]: x for x in m["groups"]}
assert "source" not in m["groups"][0]
assert sorted(g) == ["", "CT", "MR"], g.keys()
assert counts(g[""]) == c(received=3, refused=3, quarantined=3, released=1, dropped=1), g[""]
assert counts(g["CT"]) == c(received=2, stored=2, normalised=1), g["CT"]
assert counts(g["MR"]) == c(received=2, stored=2, warned=1, normalised=1), g["MR"]
r = load("rule")
g = {(x["rule"], x["action"]): x for x in r["groups"]}
assert sorted(g) == [("body-part-terms", "warn"), ("cs-upper", "fix"), ("modality", "refuse")], g.keys()
assert g[("modality", "refuse")]["kind"] == "required"
assert counts(g[("modality", "refuse")]) == c(received=3, refused=3, quarantined=3), g[("modality", "refuse")]
assert g[("modality", "refuse")]["examples"] == [imp2, ref2, ref1]
assert counts(g[("cs-upper", "fix")]) == c(received=2, stored=2, normalised=2)
assert g[("cs-upper", "fix")]["examples"] == [imp1, norm]
assert counts(g[("body-part-terms", "warn")]) == c(received=1, stored=1, warned=1)
assert g[("body-part-terms", "warn")]["examples"] == [warn]
b = load("both")
assert b["by"] == "source,modality"
assert [(x["source"], x["modality"]) for x in b["groups"]] == [("CTSCAN", ""), ("CTSCAN", "CT"), ("GOODCT", "CT"), ("IMPORT", ""), ("IMPORT", "MR"), ("MRSCAN", ""), ("MRSCAN", "MR")]
assert counts(b["groups"][1]) == c(received=1, stored=1, normalised=1)
assert b["groups"][1]["examples"] == [norm]
PY
then ok "quality --json by source, modality, rule, source and modality: exact counts, rules and examples"
else fail "quality --json (see above)"; fi

"$ARCA" quality --root "$root" >"$NET_TMP/q.txt" 2>&1
if head -2 "$NET_TMP/q.txt" | tail -1 | grep -q '^SOURCE  MODALITY  RECEIVED  STORED  DUPLICATE  VERSION  REFUSED  QUARANTINED  WARNED  NORMALISED  RELEASED  DROPPED$' &&
	grep -Eq '^total +7 +4 +0 +0 +3 +3 +1 +2 +1 +1$' "$NET_TMP/q.txt" &&
	grep -Eq '^CTSCAN +CT +1 +1 +0 +0 +0 +0 +0 +1 +0 +0$' "$NET_TMP/q.txt" &&
	grep -q "^  rules: modality (refuse) 1$" "$NET_TMP/q.txt" && grep -q "^  rules: cs-upper (fix) 1$" "$NET_TMP/q.txt" &&
	grep -q "^  examples: $ref2$" "$NET_TMP/q.txt"; then
	ok "quality table: aligned columns, rows, total, rules and examples"
else
	fail "quality table:"
	net_show "$NET_TMP/q.txt" 30
fi

# ranges: the last hour holds everything; from an hour ahead, nothing;
# until before the test, nothing
total() {
	"$ARCA" quality --root "$root" --json "$@" | python3 -c 'import json, sys
v = json.load(sys.stdin)
print(v["total"]["received"], len(v["groups"]))'
}
a=$(total --since 1h) b=$(total --since "@$((start + 3600))") c=$(total --until "@$((start - 10))")
d=$(total --since "$(date +%Y-%m-%d)")
if [ "$a" = "7 7" ] && [ "$b" = "0 0" ] && [ "$c" = "0 0" ] && { [ "$d" = "7 7" ] || [ "$(date +%H%M)" = 0000 ]; }; then
	ok "quality --since / --until: 7 in the last hour, none from an hour ahead or before the test"
else
	fail "quality ranges: --since 1h '$a', ahead '$b', --until before '$c', today '$d'"
fi
for args in "--by colour" "--since yesterday" "--examples 1000" "--until 1h --since 1h" "--bogus"; do
	# shellcheck disable=SC2086
	"$ARCA" quality --root "$root" $args >/dev/null 2>"$NET_TMP/bad.err"
	st=$?
	if [ $st -eq 2 ] && [ "$(wc -l <"$NET_TMP/bad.err")" -eq 1 ]; then
		ok "quality $args: exit 2, one line"
	else
		fail "quality $args: exit $st: $(cat "$NET_TMP/bad.err")"
	fi
done

# the sender fixes the refused instance and sends it again (same UID): the
# quarantine entry says it is stored now
gen imp2fixed MR KNEE 7
send imp2fixed FIXED 0000 ""
if "$ARCA" quarantine --root "$root" list | grep -q "^$imp2 .* IMPORT .* A900    yes     " &&
	"$ARCA" quarantine --root "$root" list --json | python3 -c 'import json, sys
v = json.load(sys.stdin)
assert len(v) == 1 and v[0]["uid"] == sys.argv[1] and v[0]["stored"] is True, v' "$imp2"; then
	ok "quarantine list: an entry whose UID was sent again, corrected, shows as stored"
else
	fail "quarantine list after the corrected resend: $("$ARCA" quarantine --root "$root" list)"
fi

net_stop "$arcad"
if [ "$NET_STATUS" -eq 0 ]; then ok "arcad stopped cleanly"; else fail "arcad exit status $NET_STATUS"; fi
net_done
