#!/bin/sh
# net_scu_qr.sh - arca's own Query/Retrieve SCU (`arca move`, `arca get`)
# against arcad, a second arcad, DCMTK storescp and dcmqrscp; C-GET cancel;
# and the C-FIND matching of arcad asked by DCMTK findscu: person names
# component by component, case-insensitive, and sequence matching.
#
# Instances: net_gen's four (one study, one per uncompressed transfer
# syntax), four more studies of four for the cancel test, and three made
# with dump2dcm for the matching tests (names with every component and all
# three component groups, Procedure Code Sequence items).  arcad stores
# them without normalisation ([storage] rules = none), so what comes back
# must equal what went in:
#   1. arca get of the study: exit 0, status 0x0000, 4 completed, 4 files,
#      each one's values equal the original's (dcmdump, meta group aside),
#      the Explicit VR LE one byte for byte after its meta group, whose
#      elements are right (SOP class and instance, transfer syntax, source
#      AE title); a study of 512 KiB instances (more than arcad's write
#      queue mark: arcad resumes sending as its queue drains).
#   2. arca get of one instance (IMAGE level); --ts Implicit VR LE only:
#      every file in that syntax, values equal.
#   3. arca move of the study to a storescp [peer]: 0x0000, 4 completed,
#      values equal; one pending line per sub-operation but the last.
#   4. arca move to a second arcad [peer]: 0x0000; the second arcad
#      answers C-FIND with 4 instances and arca get from it gives the
#      same values; it has [index] pn_case_sensitive = yes: a lower-case
#      name finds nothing there, and does on the first.
#   5. arca move to an AE title that is no [peer]: exit 1, 0xA801 named.
#   6. arca move to a [peer] that is down: exit 1, 0xA702, the 4 failed
#      SOP Instance UIDs named.
#   7. arca get against DCMTK dcmqrscp (our SCU, another SCP): 0x0000, the
#      4 instances, values equal.
#   8. arca get --cancel-after 1 over 16 instances: exit 1, 0xFE00,
#      completed < 16, completed + remaining = 16, files = completed.
#   9. findscu: PatientName matched component-wise and case-insensitively
#      (family only, given only, middle, a wildcard inside one component,
#      the ideographic group), Procedure Code Sequence matched item by item
#      and returned (matching items, requested keys), an empty sequence
#      key universal, returning the stored items.
#  10. usage errors exit 2; arcad exits 0 with no sanitizer report.
set -u
NOPRIV=""
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init net_scu_qr
net_require storescp storescu dcmdump dump2dcm findscu python3

# ---- two archives: A (ARCA) and B (ARCB); A knows DEST, ARCB and DOWN
port=$(net_free_port)
bport=$(net_free_port)
dport=$(net_free_port)
downport=$(net_free_port)
root=$NET_TMP/a
broot=$NET_TMP/b
for r in "$root:$port:ARCA" "$broot:$bport:ARCB"; do
	if ! "$ARCA" init --root "${r%%:*}" --port "$(echo "$r" | cut -d: -f2)" --aet "${r##*:}" >"$NET_TMP/init.log" 2>&1; then
		echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
		exit 1
	fi
	# keep instances as they come: the test compares them with the originals
	sed -i 's/^rules = .*/rules = none/' "${r%%:*}/arca.conf"
done
# B matches person names case-sensitively ([index] pn_case_sensitive)
sed -i 's/^;pn_case_sensitive = no/pn_case_sensitive = yes/' "$broot/arca.conf"
grep -q '^pn_case_sensitive = yes' "$broot/arca.conf" || fail "arca.conf of B has no pn_case_sensitive line"

cat >>"$root/arca.conf" <<CONF

[peer dest]
ae = DEST
host = 127.0.0.1
port = $dport

[peer arcab]
ae = ARCB
host = 127.0.0.1
port = $bport

[peer down]
ae = DOWN
host = 127.0.0.1
port = $downport
CONF

uid_of() {
	dcmdump -q +P "$2" "$1" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p'
}

data=$NET_TMP/data
net_gen "$data" 32 ct || exit 1
study=$(uid_of "$data/ct-te.dcm" 0020,000d)
one=$(uid_of "$data/ct-tb.dcm" 0008,0018)
# a study of instances above arcad's write queue mark (256 KiB): 512x512
big=$NET_TMP/big
net_gen "$big" 512 bg || exit 1
bigstudy=$(uid_of "$big/bg-te.dcm" 0020,000d)
many=""
for p in c1 c2 c3 c4; do
	net_gen "$NET_TMP/many" 8 "$p" || exit 1
	many="$many${many:+\\}$(uid_of "$NET_TMP/many/$p-te.dcm" 0020,000d)"
done

# matching test instances: PN components and groups, code sequences
pn=$NET_TMP/pn
mkdir -p "$pn"
mk() { # NAME STUDY PATIENTNAME CODES(dump lines)
	cat >"$NET_TMP/$1.dump" <<DUMP
(0008,0005) CS [ISO_IR 192]
(0008,0016) UI =SecondaryCaptureImageStorage
(0008,0018) UI [$2.1.1]
(0008,0020) DA [20260301]
(0008,0060) CS [OT]
(0008,0064) CS [WSD]
$4
(0010,0010) PN [$3]
(0010,0020) LO [$1]
(0020,000d) UI [$2]
(0020,000e) UI [$2.1]
(0020,0013) IS [1]
DUMP
	dump2dcm -q +te "$NET_TMP/$1.dump" "$pn/$1.dcm"
}
code_item() { # VALUE SCHEME MEANING
	printf '  (fffe,e000) na (Item with undefined length)\n    (0008,0100) SH [%s]\n    (0008,0102) SH [%s]\n    (0008,0104) LO [%s]\n  (fffe,e00d) na (ItemDelimitationItem)\n' "$1" "$2" "$3"
}
seq_of() {
	printf '(0008,1032) SQ (Sequence with undefined length)\n%s\n(fffe,e0dd) na (SequenceDelimitationItem)' "$1"
}
mk pn1 2.25.901 'Smith^John^Paul^Dr^Jr' "$(seq_of "$(code_item RPID16 RADLEX 'CT CHEST')")" &&
	mk pn2 2.25.902 'Smithson^Johanna' "$(seq_of "$(code_item 24627-2 LN 'Chest CT'; code_item RPID22 RADLEX 'CT HEAD')")" &&
	mk pn3 2.25.903 'Yamada^Tarou=山田^太郎=やまだ^たろう' "" &&
	mk pn4 2.25.904 'Jones^John' "$(seq_of "$(code_item RPID22 RADLEX 'CT HEAD')")" || {
	echo "FAIL: dump2dcm of the matching instances"
	exit 1
}

net_start arcad "$ARCAD" --root "$root"
arcad=$NET_PID
net_start arcadb "$ARCAD" --root "$broot"
arcadb=$NET_PID
if ! net_wait_dicom "$arcad" "$port" ARCA || ! net_wait_dicom "$arcadb" "$bport" ARCB; then
	net_show "$NET_TMP/arcad.log"
	net_show "$NET_TMP/arcadb.log"
	fail "arcad did not start"
	net_done
	exit 1
fi
if ! storescu -aec ARCA 127.0.0.1 "$port" "$data"/*.dcm "$NET_TMP/many"/*.dcm "$pn"/*.dcm "$big"/*.dcm >"$NET_TMP/storescu.log" 2>&1; then
	net_show "$NET_TMP/storescu.log"
	fail "storescu to arcad"
fi
n=$("$ARCA" find "ARCA@127.0.0.1:$port" -k StudyInstanceUID | wc -l)
if [ "$n" = 10 ]; then ok "28 instances in 10 studies stored in arcad"; else fail "arcad has $n studies, expected 10"; fi

# values: dcmdump of the data set, group 0002 and the header lines aside,
# and what a conversion between uncompressed syntaxes may change (lengths;
# the VR of a private element read in Implicit VR, written UN)
# (and, with NOPRIV set, the private element: in Implicit VR LE its VR is
# unknown to dcmdump, which shows it UN in hex)
values() {
	dcmdump -q +L +U8 "$1" 2>/dev/null | grep -v '^(0002,' | grep -v '^#' | grep -v '^$' |
		grep -v "^${NOPRIV:-@none@}" |
		sed -e 's/ *#.*$//' -e 's/ with \(undefined\|explicit\) length//' \
			-e 's/ for re-encod[a-z.]*//' -e 's/^\( *([0-9a-f,]*)\) ?? /\1 UN /' -e 's/ *$//'
}
# same_values DIR ORIGDIR: every file of DIR equals its original (by SOP
# Instance UID); prints the number compared
same_values() {
	same_bad=0
	same_n=0
	for f in "$2"/*.dcm; do
		sop=$(uid_of "$f" 0008,0018)
		got=$(ls "$1" | grep -F "$sop" | head -1)
		[ -n "$got" ] || continue
		same_n=$((same_n + 1))
		if ! values "$f" >"$NET_TMP/a.txt" || ! values "$1/$got" >"$NET_TMP/b.txt" ||
			! cmp -s "$NET_TMP/a.txt" "$NET_TMP/b.txt"; then
			diff "$NET_TMP/a.txt" "$NET_TMP/b.txt" | head -5 | sed 's/^/     | /'
			same_bad=1
		fi
	done
	[ "$same_bad" = 0 ] && [ "$same_n" -gt 0 ]
}
# the data set bytes after the File Meta Information of a Part 10 file
dataset() {
	python3 - "$1" <<'PY'
import struct, sys
b = open(sys.argv[1], 'rb').read()
assert b[128:132] == b'DICM'
glen = struct.unpack('<I', b[132 + 8:132 + 12])[0]
sys.stdout.buffer.write(b[132 + 12 + glen:])
PY
}
# field NAME FILE: the value of NAME=... on the last status= line
field() {
	grep '^status=' "$2" | tail -1 | tr '\t' '\n' | sed -n "s/^$1=//p"
}
status_of() {
	grep '^status=' "$1" | tail -1 | sed -n 's/^status=0x\([0-9A-F]*\).*/\1/p'
}

# ---- 1. arca get of the study
"$ARCA" get "ARCA@127.0.0.1:$port" -k StudyInstanceUID="$study" --out "$NET_TMP/get" >"$NET_TMP/get.out" 2>"$NET_TMP/get.err"
rc=$?
n=$(ls "$NET_TMP/get" 2>/dev/null | grep -c '\.dcm$')
if [ "$rc" = 0 ] && [ "$(status_of "$NET_TMP/get.out")" = 0000 ] && [ "$(field completed "$NET_TMP/get.out")" = 4 ] &&
	[ "$(field failed "$NET_TMP/get.out")" = 0 ] && [ "$n" = 4 ]; then
	ok "arca get study: exit 0, 0x0000, 4 completed, 4 files"
else
	fail "arca get study: exit $rc, $n files"
	net_show "$NET_TMP/get.out"
	net_show "$NET_TMP/get.err"
fi
if same_values "$NET_TMP/get" "$data"; then ok "arca get: every instance's values equal the original's"; else fail "arca get: values differ"; fi
te=$(uid_of "$data/ct-te.dcm" 0008,0018)
if dataset "$data/ct-te.dcm" >"$NET_TMP/orig.ds" && dataset "$NET_TMP/get/$te.dcm" >"$NET_TMP/got.ds" &&
	cmp -s "$NET_TMP/orig.ds" "$NET_TMP/got.ds"; then
	ok "arca get: the Explicit VR LE instance is byte-identical after its meta group ($(wc -c <"$NET_TMP/got.ds") bytes)"
else
	fail "arca get: the Explicit VR LE instance's data set differs from the original's"
fi
meta=$(dcmdump -q +P 0002,0002 +P 0002,0003 +P 0002,0010 +P 0002,0016 "$NET_TMP/get/$te.dcm" | sed 's/ *#.*//' | tr -s ' ' | tr '\n' '|')
if [ "$meta" = "(0002,0002) UI =CTImageStorage|(0002,0003) UI [$te]|(0002,0010) UI =LittleEndianExplicit|(0002,0016) AE [ARCA]|" ]; then
	ok "arca get: meta group names the class, instance, transfer syntax and source AE"
else
	fail "arca get: meta group '$meta'"
fi
if [ "$(grep -c '^pending=' "$NET_TMP/get.out")" = 3 ] && [ "$(grep -c '^file=' "$NET_TMP/get.out")" = 4 ]; then
	ok "arca get: 3 pending lines and 4 file lines"
else
	fail "arca get: progress lines"
	net_show "$NET_TMP/get.out"
fi

# instances of 512 KiB: more than arcad's write queue takes at once
"$ARCA" get "ARCA@127.0.0.1:$port" -k StudyInstanceUID="$bigstudy" --out "$NET_TMP/bigget" --timeout 20 >"$NET_TMP/bigget.out" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ "$(ls "$NET_TMP/bigget" | wc -l)" = 4 ] && same_values "$NET_TMP/bigget" "$big"; then
	ok "arca get of 4 instances of 512 KiB: received, values equal"
else
	fail "arca get of 512 KiB instances: exit $rc, $(ls "$NET_TMP/bigget" | wc -l) files"
	net_show "$NET_TMP/bigget.out"
fi

# ---- 2. one instance; implicit VR only
"$ARCA" get "ARCA@127.0.0.1:$port" --level IMAGE -k StudyInstanceUID="$study" -k SeriesInstanceUID="$study.0" \
	-k SOPInstanceUID="$one" --out "$NET_TMP/one" >"$NET_TMP/one.out" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ "$(ls "$NET_TMP/one")" = "$one.dcm" ] && same_values "$NET_TMP/one" "$data"; then
	ok "arca get one instance (IMAGE level): that file only, values equal"
else
	fail "arca get one instance: exit $rc, files: $(ls "$NET_TMP/one" | tr '\n' ' ')"
	net_show "$NET_TMP/one.out"
fi
"$ARCA" get "ARCA@127.0.0.1:$port" -k StudyInstanceUID="$study" --ts 1.2.840.10008.1.2 --out "$NET_TMP/impl" >"$NET_TMP/impl.out" 2>&1
rc=$?
tss=$(dcmdump -q +P 0002,0010 "$NET_TMP/impl"/*.dcm 2>/dev/null | sed -n 's/^[^=]*=\([A-Za-z]*\).*$/\1/p' | sort -u)
if [ "$rc" = 0 ] && [ "$tss" = LittleEndianImplicit ] && [ "$(ls "$NET_TMP/impl" | wc -l)" = 4 ] && NOPRIV='(0029,1001)' && same_values "$NET_TMP/impl" "$data"; then
	NOPRIV=
	ok "arca get --ts Implicit VR LE: 4 files in that syntax, values equal"
else
	NOPRIV=""
	fail "arca get --ts implicit: exit $rc, syntaxes '$tss'"
	net_show "$NET_TMP/impl.out"
fi

# ---- 3. arca move to a storescp [peer]
mkdir -p "$NET_TMP/scp"
net_start storescp storescp -od "$NET_TMP/scp" -aet DEST "$dport"
scp=$NET_PID
if ! net_wait_tcp "$scp" "$dport"; then
	fail "storescp did not start"
fi
"$ARCA" move "ARCA@127.0.0.1:$port" --dest DEST -k StudyInstanceUID="$study" >"$NET_TMP/move.out" 2>"$NET_TMP/move.err"
rc=$?
n=$(ls "$NET_TMP/scp" | wc -l | tr -d ' ')
if [ "$rc" = 0 ] && [ "$(status_of "$NET_TMP/move.out")" = 0000 ] && [ "$(field completed "$NET_TMP/move.out")" = 4 ] && [ "$n" = 4 ]; then
	ok "arca move to a storescp [peer]: exit 0, 0x0000, 4 completed, 4 received"
else
	fail "arca move to storescp: exit $rc, $n received"
	net_show "$NET_TMP/move.out"
	net_show "$NET_TMP/move.err"
fi
if same_values "$NET_TMP/scp" "$data"; then ok "arca move: values at the destination equal the originals"; else fail "arca move: values differ"; fi
if [ "$(grep -c '^pending=' "$NET_TMP/move.out")" = 3 ] && grep -q '^pending=3	completed=3	failed=0	warning=0	remaining=1$' "$NET_TMP/move.out"; then
	ok "arca move: a pending line with the counts after each sub-operation but the last"
else
	fail "arca move: pending lines"
	net_show "$NET_TMP/move.out"
fi

# ---- 4. arca move to the second arcad, then get from it
"$ARCA" move "ARCA@127.0.0.1:$port" --dest ARCB -k StudyInstanceUID="$study" >"$NET_TMP/moveb.out" 2>&1
rc=$?
nb=$("$ARCA" find "ARCB@127.0.0.1:$bport" -k StudyInstanceUID="$study" -k NumberOfStudyRelatedInstances | sed -n 's/.*NumberOfStudyRelatedInstances=\([0-9]*\).*/\1/p')
"$ARCA" get "ARCB@127.0.0.1:$bport" -k StudyInstanceUID="$study" --out "$NET_TMP/getb" >"$NET_TMP/getb.out" 2>&1
rcb=$?
if [ "$rc" = 0 ] && [ "$(field completed "$NET_TMP/moveb.out")" = 4 ] && [ "$nb" = 4 ] && [ "$rcb" = 0 ] &&
	same_values "$NET_TMP/getb" "$data"; then
	ok "arca move to a second arcad: 4 completed, it holds the 4 instances, arca get from it gives the same values"
else
	fail "arca move to the second arcad: exit $rc, it holds '$nb', get exit $rcb"
	net_show "$NET_TMP/moveb.out"
	net_show "$NET_TMP/arcadb.log"
fi

# the second arcad matches person names case-sensitively, the first not
lower=$("$ARCA" find "ARCB@127.0.0.1:$bport" -k PatientName=test^net* | wc -l)
upper=$("$ARCA" find "ARCB@127.0.0.1:$bport" -k PatientName=Test^Net* | wc -l)
lowera=$("$ARCA" find "ARCA@127.0.0.1:$port" -k PatientName=test^net* -k StudyInstanceUID="$study" | wc -l)
if [ "$lower" = 0 ] && [ "$upper" = 1 ] && [ "$lowera" = 1 ]; then
	ok "[index] pn_case_sensitive = yes: test^net* finds nothing, Test^Net* the study (case-insensitive by default)"
else
	fail "pn_case_sensitive: lower $lower, upper $upper, default $lowera"
fi

# ---- 5. unknown destination
"$ARCA" move "ARCA@127.0.0.1:$port" --dest NOWHERE -k StudyInstanceUID="$study" >"$NET_TMP/unk.out" 2>"$NET_TMP/unk.err"
rc=$?
if [ "$rc" = 1 ] && [ "$(status_of "$NET_TMP/unk.out")" = A801 ] && grep -q '0xA801 (refused: move destination unknown)' "$NET_TMP/unk.err"; then
	ok "arca move to an unknown AE: exit 1, 0xA801 named"
else
	fail "arca move to an unknown AE: exit $rc"
	net_show "$NET_TMP/unk.out"
	net_show "$NET_TMP/unk.err"
fi

# ---- 6. destination down: every sub-operation fails, UIDs named
"$ARCA" move "ARCA@127.0.0.1:$port" --dest DOWN -k StudyInstanceUID="$study" >"$NET_TMP/down.out" 2>"$NET_TMP/down.err"
rc=$?
nf=$(grep -c '^failed=' "$NET_TMP/down.out")
if [ "$rc" = 1 ] && [ "$(status_of "$NET_TMP/down.out")" = A702 ] && [ "$(field failed "$NET_TMP/down.out")" = 4 ] &&
	[ "$nf" = 4 ] && grep -q "^failed=$te\$" "$NET_TMP/down.out" && grep -q "4 failed: .*$te" "$NET_TMP/down.err"; then
	ok "arca move to a [peer] that is down: exit 1, 0xA702, the 4 failed UIDs named"
else
	fail "arca move to a down peer: exit $rc, $nf failed lines"
	net_show "$NET_TMP/down.out"
	net_show "$NET_TMP/down.err"
fi
net_stop "$scp"

# ---- 7. arca get against DCMTK dcmqrscp
if command -v dcmqrscp >/dev/null 2>&1; then
	qport=$(net_free_port)
	mkdir -p "$NET_TMP/qrdb"
	cat >"$NET_TMP/dcmqrscp.cfg" <<CFG
NetworkTCPPort = $qport
MaxPDUSize = 16384
MaxAssociations = 16
HostTable BEGIN
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
QRSCP $NET_TMP/qrdb RW (100, 1024mb) ANY
AETable END
CFG
	net_start dcmqrscp dcmqrscp -c "$NET_TMP/dcmqrscp.cfg" "$qport"
	qr=$NET_PID
	if net_wait_dicom "$qr" "$qport" QRSCP &&
		storescu -aec QRSCP 127.0.0.1 "$qport" "$data"/*.dcm >"$NET_TMP/qrstore.log" 2>&1; then
		"$ARCA" get "QRSCP@127.0.0.1:$qport" -k StudyInstanceUID="$study" --out "$NET_TMP/qrget" >"$NET_TMP/qrget.out" 2>&1
		rc=$?
		n=$(ls "$NET_TMP/qrget" 2>/dev/null | wc -l | tr -d ' ')
		if [ "$rc" = 0 ] && [ "$(status_of "$NET_TMP/qrget.out")" = 0000 ] && [ "$n" = 4 ] && same_values "$NET_TMP/qrget" "$data"; then
			ok "arca get from DCMTK dcmqrscp: 0x0000, 4 instances, values equal"
		else
			fail "arca get from dcmqrscp: exit $rc, $n files"
			net_show "$NET_TMP/qrget.out"
			net_show "$NET_TMP/dcmqrscp.log"
		fi
	else
		fail "dcmqrscp did not start or store"
		net_show "$NET_TMP/dcmqrscp.log"
	fi
	net_stop "$qr"
else
	echo "skip dcmqrscp (not installed)"
fi

# ---- 8. C-GET cancel (getscu has no cancel option: our SCU drives it)
"$ARCA" get "ARCA@127.0.0.1:$port" -k "StudyInstanceUID=$many" --cancel-after 1 --out "$NET_TMP/cancel" >"$NET_TMP/cancel.out" 2>"$NET_TMP/cancel.err"
rc=$?
st=$(status_of "$NET_TMP/cancel.out")
c=$(field completed "$NET_TMP/cancel.out")
r=$(field remaining "$NET_TMP/cancel.out")
f=$(field failed "$NET_TMP/cancel.out")
n=$(ls "$NET_TMP/cancel" | wc -l | tr -d ' ')
if [ "$rc" = 1 ] && [ "$st" = FE00 ] && [ "${c:-0}" -ge 1 ] && [ "${c:-16}" -lt 16 ] &&
	[ $((${c:-0} + ${r:-0} + ${f:-0})) = 16 ] && [ "$n" = "$c" ]; then
	ok "arca get --cancel-after 1 over 16 instances: exit 1, 0xFE00, $c completed, $r remaining, $n files"
else
	fail "arca get cancel: exit $rc, status '$st', completed '$c', remaining '$r', failed '$f', $n files"
	net_show "$NET_TMP/cancel.out"
	net_show "$NET_TMP/cancel.err"
fi

# ---- 9. matching, asked by findscu
# fq NAME KEYS...: findscu at STUDY level, the Patient IDs of the matches
fq() {
	fqname=$1
	shift
	findscu -S -aec ARCA -k QueryRetrieveLevel=STUDY -k PatientID "$@" 127.0.0.1 "$port" >"$NET_TMP/$fqname.log" 2>&1
	sed -n 's/^[IW]: (0010,0020) LO \[\([^] ]*\) *\].*/\1/p' "$NET_TMP/$fqname.log" | sort | tr '\n' ' ' | sed 's/ $//'
}
pq() { # EXPECTED PATTERN (sent in UTF-8, ISO_IR 192, when it is not ASCII)
	if printf '%s' "$2" | LC_ALL=C grep -q '[^ -~]'; then
		got=$(fq pn -k "SpecificCharacterSet=ISO_IR 192" -k "PatientName=$2")
	else
		got=$(fq pn -k "PatientName=$2")
	fi
	if [ "$got" = "$1" ]; then ok "findscu PatientName=$2: $1"; else fail "findscu PatientName=$2: '$got', expected '$1'"; net_show "$NET_TMP/pn.log" 10; fi
}
pq "pn1" "SMITH"
pq "pn1 pn2" "smith*"
pq "pn2" "S*N"
pq "pn1 pn4" "^JOHN"
pq "pn1 pn2 pn4" "^joh*"
pq "pn1" "^^PAUL"
pq "pn1" "^^^dr^jr"
pq "" "JONES^JOHN^X"
pq "pn3" "=山田^太郎"
pq "pn3" "yamada=山*"
pq "pn3" "==やまだ*"
sq() { # EXPECTED KEYS...
	sqexp=$1
	shift
	got=$(fq seq "$@")
	if [ "$got" = "$sqexp" ]; then ok "findscu $*: $sqexp"; else fail "findscu $*: '$got', expected '$sqexp'"; net_show "$NET_TMP/seq.log" 20; fi
}
sq "pn1" -k "ProcedureCodeSequence[0].CodeValue=RPID16"
sq "pn2 pn4" -k "ProcedureCodeSequence[0].CodeValue=RPID22" -k "ProcedureCodeSequence[0].CodingSchemeDesignator=RADLEX"
sq "" -k "ProcedureCodeSequence[0].CodeValue=RPID22" -k "ProcedureCodeSequence[0].CodingSchemeDesignator=LN"
sq "pn1" -k "ProcedureCodeSequence[0].CodeMeaning=C* CH*" -k "PatientName=SMITH*"
sq "pn2" -k "ProcedureCodeSequence[0].CodeMeaning=Ch*"
sq "pn2" -k "ProcedureCodeSequence[0].CodeValue=24627-2" -k "PatientName=smith*"
# returned: the matching item only, with the keys asked for
fq seqr -k "PatientName=Smithson" -k "ProcedureCodeSequence[0].CodeValue=RPID22" -k "ProcedureCodeSequence[0].CodeMeaning" >/dev/null
if grep -q 'RPID22' "$NET_TMP/seqr.log" && grep -q 'CT HEAD' "$NET_TMP/seqr.log" && ! grep -q '24627-2' "$NET_TMP/seqr.log" &&
	! grep -q '(0008,0102)' "$NET_TMP/seqr.log"; then
	ok "findscu sequence match: the matching item returned, with the requested keys only"
else
	fail "findscu sequence match: returned items"
	net_show "$NET_TMP/seqr.log" 30
fi
# an empty sequence key: universal, the stored items returned
fq seqall -k "PatientName=Smithson" -k "ProcedureCodeSequence" >/dev/null
if grep -q '24627-2' "$NET_TMP/seqall.log" && grep -q 'RPID22' "$NET_TMP/seqall.log" && grep -q 'Chest CT' "$NET_TMP/seqall.log"; then
	ok "findscu empty sequence key: both stored items returned"
else
	fail "findscu empty sequence key"
	net_show "$NET_TMP/seqall.log" 30
fi

# ---- 10. usage errors
"$ARCA" get "ARCA@127.0.0.1:$port" -k StudyInstanceUID="$study" >/dev/null 2>"$NET_TMP/u1.err"
r1=$?
"$ARCA" move "ARCA@127.0.0.1:$port" -k StudyInstanceUID="$study" >/dev/null 2>"$NET_TMP/u2.err"
r2=$?
"$ARCA" move "ARCA@127.0.0.1:$port" --dest DEST >/dev/null 2>"$NET_TMP/u3.err"
r3=$?
"$ARCA" get "nothing" -k StudyInstanceUID=1 --out "$NET_TMP/x" >/dev/null 2>"$NET_TMP/u4.err"
r4=$?
"$ARCA" get "ARCA@127.0.0.1:$downport" -k StudyInstanceUID=1 --out "$NET_TMP/x" >/dev/null 2>"$NET_TMP/u5.err"
r5=$?
"$ARCA" get "ARCA@127.0.0.1:$port" -k StudyInstanceUID="$study" --out "$NET_TMP/get.out" >/dev/null 2>"$NET_TMP/u6.err"
r6=$?
"$ARCA" move "ARCA@127.0.0.1:$port" --dest 'A\B' -k StudyInstanceUID="$study" >/dev/null 2>"$NET_TMP/u7.err"
r7=$?
if [ "$r1$r2$r3$r4$r5$r6$r7" = 2222222 ] && grep -q -- '--out' "$NET_TMP/u1.err" && grep -q -- '--dest' "$NET_TMP/u2.err" &&
	[ "$(wc -l <"$NET_TMP/u5.err")" = 1 ] && grep -q 'is not a folder' "$NET_TMP/u6.err" && grep -q 'is not an AE title' "$NET_TMP/u7.err"; then
	ok "usage and connection errors: exit 2, one line naming what is wrong"
else
	fail "usage errors: exits $r1 $r2 $r3 $r4 $r5 $r6 $r7"
	cat "$NET_TMP"/u*.err | sed 's/^/     | /'
fi

for pid in "$arcad" "$arcadb"; do
	net_stop "$pid"
	if [ "$NET_STATUS" != 0 ]; then fail "arcad $pid exit status $NET_STATUS"; fi
done
if ! grep -q 'ERROR: AddressSanitizer\|runtime error:' "$NET_TMP/arcad.log" "$NET_TMP/arcadb.log"; then
	ok "both arcad exited, no sanitizer report"
else
	fail "sanitizer report in an arcad log"
fi
net_done
