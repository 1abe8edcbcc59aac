#!/bin/sh
# net_relational.sh - relational C-FIND (PS3.4 C.4.1.2.2) negotiated with
# SOP Class Extended Negotiation (PS3.4 C.5.1.1, PS3.7 D.3.3.5) between
# `arca find --relational` and arcad.
#
# Known instances (dump2dcm: three patients, four studies, seven series, two
# of them MR) are indexed with tests/qr_load, then:
#   1. --relational --verbose: arcad accepts (the answer's relational byte
#      is 1); a SERIES query with PatientName=DOE* and Modality=CT and no
#      Study Instance UID returns exactly the CT series of the DOE patients
#      across their studies, each with its Study Instance UID.
#   2. The same query without --relational is refused 0xA900 naming Study
#      Instance UID (the hierarchical rule, C.4.1.2.1), exit 1; a
#      hierarchical query with the unique key still works.
#   3. IMAGE level with PatientID only (Patient Root and Study Root);
#      STUDY level of Patient Root without Patient ID; a list of Study
#      Instance UIDs above a SERIES query.
#   4. [server] relational_queries = no: arcad declines (byte 0, warning
#      printed) and the relational query is refused 0xA900.
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init net_relational
net_require dump2dcm
QR_LOAD=$builddir/tests/qr_load

root=$NET_TMP/root
port=$(net_free_port)
if ! "$ARCA" init --root "$root" --port "$port" --aet ARCA >"$NET_TMP/init.log" 2>&1; then
	echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
	exit 1
fi

# ---- data
data=$NET_TMP/data
mkdir -p "$data"
S1=2.25.8101 S2=2.25.8102 S3=2.25.8103 S4=2.25.8104
# mk FILE PID NAME STUDY DATE SERIES MODALITY SOP
mk() {
	cat >"$NET_TMP/mk.dump" <<DUMP
(0008,0016) UI =CTImageStorage
(0008,0018) UI [$8]
(0008,0020) DA [$5]
(0008,0030) TM [101500]
(0008,0060) CS [$7]
(0010,0010) PN [$3]
(0010,0020) LO [$2]
(0020,000d) UI [$4]
(0020,000e) UI [$6]
(0020,0011) IS [1]
(0020,0013) IS [1]
DUMP
	dump2dcm -q "$NET_TMP/mk.dump" "$1"
}
mk "$data/a1.dcm" REL1 "DOE^JANE" $S1 20240105 $S1.1 CT $S1.1.1
mk "$data/a2.dcm" REL1 "DOE^JANE" $S1 20240105 $S1.1 CT $S1.1.2
mk "$data/a3.dcm" REL1 "DOE^JANE" $S1 20240105 $S1.2 MR $S1.2.1
mk "$data/b1.dcm" REL1 "DOE^JANE" $S2 20240301 $S2.1 CT $S2.1.1
mk "$data/c1.dcm" REL2 "DOE^JOHN" $S3 20231120 $S3.1 CT $S3.1.1
mk "$data/c2.dcm" REL2 "DOE^JOHN" $S3 20231120 $S3.2 CT $S3.2.1
mk "$data/c3.dcm" REL2 "DOE^JOHN" $S3 20231120 $S3.3 MR $S3.3.1
mk "$data/d1.dcm" REL3 "SMITH^ANNA" $S4 20240110 $S4.1 CT $S4.1.1
if ! "$QR_LOAD" "$root/index.db" "$data"/*.dcm >"$NET_TMP/load.log" 2>&1; then
	echo "FAIL: qr_load: $(cat "$NET_TMP/load.log")"
	exit 1
fi
ok "8 instances indexed"

start_arcad() {
	net_start arcad "$ARCAD" --root "$root" --port "$1"
	arcad=$NET_PID
	if ! net_wait_dicom "$arcad" "$1" ARCA; then
		net_show "$NET_TMP/arcad.log"
		fail "arcad did not start on port $1"
		net_done
		exit 1
	fi
}
start_arcad "$port"
ok "arcad answers C-ECHO on port $port"

# ---- helpers
# find NAME ARGS...: arca find against arcad; stdout in NAME.out, stderr in
# NAME.err, exit status in $st
find_() {
	fname=$1
	shift
	"$ARCA" find "ARCA@127.0.0.1:$port" "$@" >"$NET_TMP/$fname.out" 2>"$NET_TMP/$fname.err"
	st=$?
}
# vals NAME KEYWORD: the values of KEYWORD in NAME's matches, sorted
vals() {
	tr '\t' '\n' <"$NET_TMP/$1.out" | sed -n "s/^$2=//p" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}
# pairs NAME K1 K2: "v1/v2" for each match, sorted
pairs() {
	awk -F '\t' -v a="$2" -v b="$3" '{
		x = ""; y = ""
		for (i = 1; i <= NF; i++) {
			if (index($i, a "=") == 1) x = substr($i, length(a) + 2)
			if (index($i, b "=") == 1) y = substr($i, length(b) + 2)
		}
		print x "/" y
	}' "$NET_TMP/$1.out" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}
expect() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1: got '$2', expected '$3'"
	fi
}
expect_status() {
	if [ "$st" -eq "$2" ]; then
		ok "$1: exit $st"
	else
		fail "$1: exit $st, expected $2 ($(cat "$NET_TMP/$fname.err"))"
	fi
}
expect_err() {
	if grep -q -- "$2" "$NET_TMP/$fname.err"; then
		ok "$1"
	else
		fail "$1: stderr does not say '$2': $(cat "$NET_TMP/$fname.err")"
	fi
}

# ---- 1. relational SERIES query across studies
find_ rel --relational --verbose --level SERIES -k PatientName='DOE*' -k Modality=CT -k SeriesInstanceUID \
	-k StudyInstanceUID
expect_status "relational SERIES query" 0
expect_err "--verbose: arcad accepted relational queries" "accepted relational queries"
expect "PatientName=DOE* Modality=CT at SERIES level: the CT series of both DOE patients" \
	"$(vals rel SeriesInstanceUID)" "$S1.1 $S2.1 $S3.1 $S3.2"
expect "each series with its study (a return key of the level above)" \
	"$(pairs rel StudyInstanceUID SeriesInstanceUID)" "$S1/$S1.1 $S2/$S2.1 $S3/$S3.1 $S3/$S3.2"
expect "Modality of every answer" "$(vals rel Modality)" "CT CT CT CT"
# the unique key of the level is returned even when not asked for
find_ rel_unique --relational --level SERIES -k PatientName='DOE^JANE' -k Modality=MR
expect "the query level's unique key is always returned" "$(vals rel_unique SeriesInstanceUID)" "$S1.2"
find_ rel_date --relational --level SERIES -k StudyDate=20240101-20241231 -k Modality=CT -k SeriesInstanceUID
expect "StudyDate range at SERIES level" "$(vals rel_date SeriesInstanceUID)" "$S1.1 $S2.1 $S4.1"

# ---- 2. the same query, hierarchical
find_ hier --level SERIES -k PatientName='DOE*' -k Modality=CT -k SeriesInstanceUID -k StudyInstanceUID
expect_status "the same query without --relational is refused" 1
expect_err "status 0xA900" "0xA900"
expect_err "the Error Comment names Study Instance UID" "Study Instance UID (0020,000D)"
expect "no match sent before the refusal" "$(cat "$NET_TMP/hier.out")" ""
find_ hier_ok --level SERIES -k StudyInstanceUID=$S3 -k Modality=CT -k SeriesInstanceUID
expect_status "hierarchical SERIES query with the Study Instance UID" 0
expect "hierarchical: the CT series of one study" "$(vals hier_ok SeriesInstanceUID)" "$S3.1 $S3.2"
# relational asked, query hierarchical anyway: the same answers
find_ hier_rel --relational --level SERIES -k StudyInstanceUID=$S3 -k Modality=CT -k SeriesInstanceUID
expect "a hierarchical query on a relational association" "$(vals hier_rel SeriesInstanceUID)" "$S3.1 $S3.2"

# ---- 3. other levels and models
find_ img_pat --relational --model patient --level IMAGE -k PatientID=REL2 -k SOPInstanceUID
expect_status "Patient Root IMAGE level with PatientID only" 0
expect "Patient Root IMAGE: every instance of the patient" "$(vals img_pat SOPInstanceUID)" \
	"$S3.1.1 $S3.2.1 $S3.3.1"
find_ img_study --relational --level IMAGE -k PatientID=REL1 -k Modality=CT -k SOPInstanceUID
expect "Study Root IMAGE level with PatientID and Modality" "$(vals img_study SOPInstanceUID)" \
	"$S1.1.1 $S1.1.2 $S2.1.1"
find_ img_hier --model patient --level IMAGE -k PatientID=REL2 -k SOPInstanceUID
expect_status "IMAGE level with PatientID only, hierarchical" 1
expect_err "hierarchical IMAGE refusal names Study Instance UID" "Study Instance UID"
find_ st_pat --relational --model patient --level STUDY -k StudyDate=20240101-20240131 -k StudyInstanceUID
expect "Patient Root STUDY level without Patient ID" "$(vals st_pat StudyInstanceUID)" "$S1 $S4"
find_ st_list --relational --level SERIES -k "StudyInstanceUID=$S1\\$S4" -k SeriesInstanceUID
expect "a list of Study Instance UIDs above a SERIES query" "$(vals st_list SeriesInstanceUID)" \
	"$S1.1 $S1.2 $S4.1"
find_ nomatch --relational --level SERIES -k PatientName='NOBODY*' -k SeriesInstanceUID
expect_status "a relational query that matches nothing" 0
expect "no match" "$(cat "$NET_TMP/nomatch.out")" ""

# ---- 4. relational_queries = no
net_stop "$arcad"
expect "arcad stopped on SIGTERM with status 0" "$NET_STATUS" "0"
sed -i '/^\[server\]/a relational_queries = no' "$root/arca.conf"
port=$(net_free_port)
start_arcad "$port"
find_ off --relational --verbose --level SERIES -k PatientName='DOE*' -k Modality=CT -k SeriesInstanceUID
expect_err "relational_queries = no: declined (byte 0)" "declined relational queries (relational-queries byte 0)"
expect_status "relational_queries = no: the relational query is refused" 1
expect_err "relational_queries = no: 0xA900" "0xA900"
find_ off_hier --level SERIES -k StudyInstanceUID=$S1 -k SeriesInstanceUID
expect "relational_queries = no: hierarchical queries still answered" "$(vals off_hier SeriesInstanceUID)" \
	"$S1.1 $S1.2"

net_stop "$arcad"
expect "arcad stopped on SIGTERM with status 0" "$NET_STATUS" "0"
net_done
