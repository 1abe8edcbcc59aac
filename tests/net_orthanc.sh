#!/bin/sh
# net_orthanc.sh - Orthanc as a peer of arcad, both ways (issue 6).
#
# An arcad (arca init into a temp root, a [peer orthanc] section naming
# Orthanc's DICOM port) and an Orthanc of our own (our JSON config: AET
# ORTHANC, DICOM and HTTP on free loopback ports, RemoteAccessAllowed
# false, no authentication, storage and index in the temp dir,
# DicomModalities naming arcad as "arca") run side by side.  Instances
# made with dump2dcm (four studies of three patients, CT, MR and secondary
# capture, 16x16 random pixels) go to arcad with storescu.  Then:
#   a. Orthanc C-ECHO to arcad: POST /modalities/arca/echo -> 200.
#   b. Orthanc C-FIND on arcad (POST /modalities/arca/query, GET
#      /queries/ID/answers?expand&simplify): STUDY level PatientName=DOE*
#      gives exactly the two DOE studies with their PatientName,
#      PatientID, StudyDate, AccessionNumber, ModalitiesInStudy,
#      NumberOfStudyRelatedSeries and NumberOfStudyRelatedInstances
#      (PS3.4 C.6.1.1.3); two StudyDate ranges (PS3.4 C.2.2.2.5); SERIES
#      level (Modality, NumberOfSeriesRelatedInstances) and IMAGE level
#      (SOPInstanceUID, InstanceNumber) within a study.
#   c. Orthanc C-MOVE from arcad to itself (POST
#      /queries/ID/answers/0/retrieve with target ORTHANC): Orthanc then
#      holds that study with its 3 instances; one instance from Orthanc
#      (GET /instances/ID/file) has the same values (dcmdump, meta group
#      aside) and byte-identical pixel data as the same instance fetched
#      from arcad with getscu.
#   d. arcad moves to Orthanc: movescu to arcad with -aem ORTHANC gives
#      0x0000 and Orthanc holds the 2 instances (REST).  C-GET by Orthanc:
#      Orthanc 1.10 has no C-GET SCU in its REST API (/modalities/ID/get
#      came later), so that part is reported and skipped.
#   e. arca as SCU of Orthanc: `arca find` against Orthanc's DICOM port
#      gives the expected studies and values; `arca send` of a study arcad
#      never had stores it in Orthanc with its values and pixels; `arca
#      move` asks Orthanc to send that study to arcad (exit 0, completed=1,
#      then arcad's own C-FIND finds it); `arca get` fetches study B from
#      Orthanc (2 files, values and pixels as sent to arcad at the start).
#
# Skips (77) only when Orthanc or a DCMTK tool is absent; python3 reads
# Orthanc's JSON (curl talks to it).
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init net_orthanc
ORTHANC=${ORTHANC:-$(command -v Orthanc 2>/dev/null || echo /usr/sbin/Orthanc)}
[ -x "$ORTHANC" ] || skip "Orthanc is not installed (tools/install-deps.sh installs it)"
net_require storescu movescu getscu echoscu dcmdump dump2dcm curl python3

root=$NET_TMP/root
port=$(net_free_port)
oport=$(net_free_port)
while [ "$oport" = "$port" ]; do oport=$(net_free_port); done
hport=$(net_free_port)
while [ "$hport" = "$port" ] || [ "$hport" = "$oport" ]; do hport=$(net_free_port); done
if ! "$ARCA" init --root "$root" --port "$port" --aet ARCA >"$NET_TMP/init.log" 2>&1; then
	echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
	exit 1
fi
sed -i '/^\[server\]/a bind = 127.0.0.1' "$root/arca.conf"
cat >>"$root/arca.conf" <<CONF

[peer orthanc]
ae = ORTHANC
host = 127.0.0.1
port = $oport
CONF

mkdir -p "$NET_TMP/orthanc/storage" "$NET_TMP/orthanc/index"
cat >"$NET_TMP/orthanc.json" <<JSON
{
  "Name" : "arca-test",
  "StorageDirectory" : "$NET_TMP/orthanc/storage",
  "IndexDirectory" : "$NET_TMP/orthanc/index",
  "StorageCompression" : false,
  "Plugins" : [ ],
  "HttpServerEnabled" : true,
  "HttpPort" : $hport,
  "RemoteAccessAllowed" : false,
  "AuthenticationEnabled" : false,
  "DicomServerEnabled" : true,
  "DicomAet" : "ORTHANC",
  "DicomPort" : $oport,
  "DicomCheckCalledAet" : true,
  "DicomAlwaysAllowEcho" : true,
  "DicomAlwaysAllowStore" : true,
  "DicomModalities" : { "arca" : [ "ARCA", "127.0.0.1", $port ] },
  "DicomScuTimeout" : 30,
  "SaveJobs" : false
}
JSON

# ---- data: mk FILE SOPCLASS PID NAME STUDY DATE ACC SERIES MOD SNUM SOP INUM
data=$NET_TMP/data
mkdir -p "$data" "$NET_TMP/only"
mk() {
	head -c 512 /dev/urandom >"$NET_TMP/px.raw"
	cat >"$NET_TMP/mk.dump" <<DUMP
(0008,0005) CS [ISO_IR 100]
(0008,0016) UI =$2
(0008,0018) UI [${11}]
(0008,0020) DA [$6]
(0008,0030) TM [101500]
(0008,0050) SH [$7]
(0008,0060) CS [$9]
(0008,0090) PN [House^Gregory]
(0008,1030) LO [Interop $9]
(0010,0010) PN [$4]
(0010,0020) LO [$3]
(0010,0030) DA [19700101]
(0010,0040) CS [O]
(0020,000d) UI [$5]
(0020,000e) UI [$8]
(0020,0010) SH [1]
(0020,0011) IS [${10}]
(0020,0013) IS [${12}]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US 16
(0028,0011) US 16
(0028,0100) US 16
(0028,0101) US 12
(0028,0102) US 11
(0028,0103) US 0
(7fe0,0010) OW =$NET_TMP/px.raw
DUMP
	dump2dcm -q +te "$NET_TMP/mk.dump" "$1"
}
SA=2.25.61001 SB=2.25.61002 SC=2.25.61003 SD=2.25.61004
gen_ok=1
mk "$data/a1.dcm" CTImageStorage ORT1 'DOE^JOHN' $SA 20240105 ACC1 $SA.1 CT 1 $SA.1.1 1 || gen_ok=0
mk "$data/a2.dcm" CTImageStorage ORT1 'DOE^JOHN' $SA 20240105 ACC1 $SA.1 CT 1 $SA.1.2 2 || gen_ok=0
mk "$data/a3.dcm" SecondaryCaptureImageStorage ORT1 'DOE^JOHN' $SA 20240105 ACC1 $SA.2 OT 2 $SA.2.1 1 || gen_ok=0
mk "$data/b1.dcm" MRImageStorage ORT2 'DOE^JANE' $SB 20240220 ACC2 $SB.1 MR 1 $SB.1.1 1 || gen_ok=0
mk "$data/b2.dcm" MRImageStorage ORT2 'DOE^JANE' $SB 20240220 ACC2 $SB.1 MR 1 $SB.1.2 2 || gen_ok=0
mk "$data/c1.dcm" CTImageStorage ORT3 'SMITH^ANNA' $SC 20231201 ACC3 $SC.1 CT 1 $SC.1.1 1 || gen_ok=0
mk "$NET_TMP/only/d1.dcm" CTImageStorage ORT4 'SEND^ONLY' $SD 20240301 ACC4 $SD.1 CT 1 $SD.1.1 1 || gen_ok=0
if [ "$gen_ok" != 1 ]; then
	echo "FAIL: dump2dcm could not make the test instances"
	exit 1
fi

# ---- servers
net_start arcad "$ARCAD" --root "$root"
arcad=$NET_PID
net_start orthanc "$ORTHANC" "$NET_TMP/orthanc.json"
orthanc=$NET_PID
if ! net_wait_dicom "$arcad" "$port" ARCA; then
	net_show "$NET_TMP/arcad.log"
	fail "arcad did not start"
	net_done
	exit 1
fi
if ! net_wait_dicom "$orthanc" "$oport" ORTHANC; then
	net_show "$NET_TMP/orthanc.log"
	fail "Orthanc did not start"
	net_done
	exit 1
fi
# Orthanc's DICOM server may answer before its HTTP server: poll /system too
url=http://127.0.0.1:$hport
t0=$(net_now)
until curl -sf "$url/system" >/dev/null 2>&1; do
	if ! kill -0 "$orthanc" 2>/dev/null || ! net_before "$t0" "$NET_DEADLINE"; then
		net_show "$NET_TMP/orthanc.log"
		fail "Orthanc's REST API did not answer on port $hport"
		net_done
		exit 1
	fi
	sleep 0.05
done
ok "arcad (port $port) and Orthanc $(curl -s "$url/system" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Version"])') (DICOM $oport, HTTP $hport) ready"

if storescu -aec ARCA 127.0.0.1 "$port" "$data"/*.dcm >"$NET_TMP/storescu.log" 2>&1; then
	ok "storescu: 6 instances of 3 studies stored in arcad"
else
	net_show "$NET_TMP/storescu.log"
	fail "storescu to arcad"
fi

# ---- helpers
# rest METHOD PATH [BODY]: the body of the answer on stdout, the HTTP
# status in $NET_TMP/http.code
rest() {
	if [ $# -gt 2 ]; then
		curl -s -o "$NET_TMP/http.body" -w '%{http_code}' -X "$1" --data-binary "$3" "$url$2" >"$NET_TMP/http.code"
	else
		curl -s -o "$NET_TMP/http.body" -w '%{http_code}' -X "$1" "$url$2" >"$NET_TMP/http.code"
	fi
	cat "$NET_TMP/http.body"
}
code() {
	cat "$NET_TMP/http.code"
}
# json EXPR: evaluates a Python expression over the JSON on stdin (as j)
json() {
	python3 -c 'import json, sys
j = json.load(sys.stdin)
r = eval(sys.argv[1])
print(r if not isinstance(r, (list, dict)) else json.dumps(r, sort_keys=True))' "$1"
}
# answers LEVEL QUERY-JSON: runs an Orthanc C-FIND on arcad; the query id
# in $qid and the simplified answers as one sorted line per answer:
# key=value|key=value... (keys sorted; QueryRetrieveLevel, Specific
# Character Set and Retrieve AE Title left out, and the Media Storage SOP
# Instance UID Orthanc adds to IMAGE answers).  Orthanc asks for
# AccessionNumber and PatientID at every level besides the keys given.
answers() {
	q=$(rest POST /modalities/arca/query "{\"Level\":\"$1\",\"Query\":$2}")
	if [ "$(code)" != 200 ]; then
		echo "query failed: HTTP $(code) $q"
		return 1
	fi
	qid=$(echo "$q" | json 'j["ID"]')
	rest GET "/queries/$qid/answers?expand&simplify" | python3 -c 'import json, sys
for a in json.load(sys.stdin):
    a.pop("QueryRetrieveLevel", None)
    a.pop("SpecificCharacterSet", None)
    a.pop("RetrieveAETitle", None)
    a.pop("MediaStorageSOPInstanceUID", None)
    print("|".join("%s=%s" % (k, a[k]) for k in sorted(a)))' | LC_ALL=C sort
}
# expect NAME GOT WANT
expect() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1"
		echo "     | got:"
		echo "$2" | sed 's/^/     |   /'
		echo "     | expected:"
		echo "$3" | sed 's/^/     |   /'
	fi
}
# values FILE: dcmdump of the data set, meta group and comments aside
values() {
	dcmdump -q +L "$1" 2>/dev/null | grep -v '^(0002,' | grep -v '^#' | grep -v '^$' |
		sed -e 's/ *#.*$//' -e 's/ *$//'
}
# pixels FILE OUT: the Pixel Data value bytes of FILE into OUT (dcmdump +W
# writes only pixel data, as FILE.0.raw)
pixels() {
	rm -rf "$NET_TMP/px" && mkdir -p "$NET_TMP/px"
	dcmdump -q +W "$NET_TMP/px" "$1" >/dev/null 2>&1
	cat "$NET_TMP/px"/* >"$2" 2>/dev/null
}
# orthanc_instance SOPUID: Orthanc's id of that instance
orthanc_instance() {
	rest POST /tools/lookup "$1" | json '[x["ID"] for x in j if x["Type"] == "Instance"][0]'
}
stats() {
	rest GET /statistics | json '"%d studies, %d instances" % (j["CountStudies"], j["CountInstances"])'
}

# ---- a. C-ECHO from Orthanc
rest POST /modalities/arca/echo '{}' >/dev/null
if [ "$(code)" = 200 ]; then
	ok "a. Orthanc C-ECHO to arcad: HTTP 200"
else
	fail "a. Orthanc C-ECHO to arcad: HTTP $(code) $(cat "$NET_TMP/http.body")"
fi

# ---- b. C-FIND from Orthanc
got=$(answers Study '{"PatientName":"DOE*","PatientID":"","StudyDate":"","AccessionNumber":"","ModalitiesInStudy":"","NumberOfStudyRelatedSeries":"","NumberOfStudyRelatedInstances":""}')
want="AccessionNumber=ACC1|InstanceAvailability=ONLINE|ModalitiesInStudy=CT\\OT|NumberOfStudyRelatedInstances=3|NumberOfStudyRelatedSeries=2|PatientID=ORT1|PatientName=DOE^JOHN|StudyDate=20240105|StudyInstanceUID=$SA
AccessionNumber=ACC2|InstanceAvailability=ONLINE|ModalitiesInStudy=MR|NumberOfStudyRelatedInstances=2|NumberOfStudyRelatedSeries=1|PatientID=ORT2|PatientName=DOE^JANE|StudyDate=20240220|StudyInstanceUID=$SB"
expect "b. Orthanc C-FIND STUDY PatientName=DOE*: the 2 DOE studies with names, dates, modalities and counts" "$got" "$want"

got=$(answers Study '{"StudyDate":"20231101-20240110","PatientName":""}')
want="AccessionNumber=ACC1|InstanceAvailability=ONLINE|PatientID=ORT1|PatientName=DOE^JOHN|StudyDate=20240105|StudyInstanceUID=$SA
AccessionNumber=ACC3|InstanceAvailability=ONLINE|PatientID=ORT3|PatientName=SMITH^ANNA|StudyDate=20231201|StudyInstanceUID=$SC"
expect "b. Orthanc C-FIND STUDY StudyDate=20231101-20240110: 2 studies across a year end" "$got" "$want"

got=$(answers Study '{"StudyDate":"20240201-","PatientID":""}')
want="AccessionNumber=ACC2|InstanceAvailability=ONLINE|PatientID=ORT2|StudyDate=20240220|StudyInstanceUID=$SB"
expect "b. Orthanc C-FIND STUDY StudyDate=20240201- (open range): 1 study" "$got" "$want"

got=$(answers Series "{\"StudyInstanceUID\":\"$SA\",\"Modality\":\"\",\"SeriesNumber\":\"\",\"NumberOfSeriesRelatedInstances\":\"\"}")
want="AccessionNumber=ACC1|InstanceAvailability=ONLINE|Modality=CT|NumberOfSeriesRelatedInstances=2|PatientID=ORT1|SeriesInstanceUID=$SA.1|SeriesNumber=1|StudyInstanceUID=$SA
AccessionNumber=ACC1|InstanceAvailability=ONLINE|Modality=OT|NumberOfSeriesRelatedInstances=1|PatientID=ORT1|SeriesInstanceUID=$SA.2|SeriesNumber=2|StudyInstanceUID=$SA"
expect "b. Orthanc C-FIND SERIES of study A: 2 series, modalities and instance counts" "$got" "$want"

got=$(answers Instance "{\"StudyInstanceUID\":\"$SA\",\"SeriesInstanceUID\":\"$SA.1\",\"InstanceNumber\":\"\"}")
want="AccessionNumber=ACC1|InstanceAvailability=ONLINE|InstanceNumber=1|PatientID=ORT1|SOPInstanceUID=$SA.1.1|SeriesInstanceUID=$SA.1|StudyInstanceUID=$SA
AccessionNumber=ACC1|InstanceAvailability=ONLINE|InstanceNumber=2|PatientID=ORT1|SOPInstanceUID=$SA.1.2|SeriesInstanceUID=$SA.1|StudyInstanceUID=$SA"
expect "b. Orthanc C-FIND IMAGE of series A.1: 2 instances with their numbers" "$got" "$want"

got=$(answers Study '{"PatientName":"NOBODY*"}')
expect "b. Orthanc C-FIND STUDY PatientName=NOBODY*: no answer" "$got" ""

# ---- c. Orthanc C-MOVE from arcad to itself
answers Study '{"StudyDate":"20240101-20240131"}' >"$NET_TMP/c.answers"
if [ "$(wc -l <"$NET_TMP/c.answers" | tr -d ' ')" = 1 ] && grep -q "StudyInstanceUID=$SA\$" "$NET_TMP/c.answers"; then
	rest POST "/queries/$qid/answers/0/retrieve" ORTHANC >"$NET_TMP/c.move"
	if [ "$(code)" = 200 ]; then
		ok "c. Orthanc C-MOVE of study A from arcad to ORTHANC: HTTP 200"
	else
		fail "c. Orthanc C-MOVE of study A: HTTP $(code) $(cat "$NET_TMP/c.move")"
		net_show "$NET_TMP/arcad.log"
	fi
else
	fail "c. the query for study A did not give exactly study A: $(cat "$NET_TMP/c.answers")"
fi
expect "c. Orthanc holds study A: 1 study, 3 instances (/statistics)" "$(stats)" "1 studies, 3 instances"
ostudy=$(rest POST /tools/lookup "$SA" | json '[x["ID"] for x in j if x["Type"] == "Study"][0]' 2>/dev/null)
got=$(rest GET "/studies/$ostudy/instances" | json 'sorted(x["MainDicomTags"]["SOPInstanceUID"] for x in j)' 2>/dev/null)
expect "c. Orthanc's study A lists the 3 SOP Instance UIDs" "$got" "[\"$SA.1.1\", \"$SA.1.2\", \"$SA.2.1\"]"
# the same instance from arcad (getscu) and from Orthanc (REST)
mkdir -p "$NET_TMP/fromarca"
getscu -S -aec ARCA -od "$NET_TMP/fromarca" -k QueryRetrieveLevel=IMAGE -k StudyInstanceUID=$SA \
	-k SeriesInstanceUID=$SA.1 -k SOPInstanceUID=$SA.1.2 127.0.0.1 "$port" >"$NET_TMP/getscu.log" 2>&1
fromarca=$(ls "$NET_TMP/fromarca"/* 2>/dev/null | head -1)
oid=$(orthanc_instance $SA.1.2 2>/dev/null)
curl -s -o "$NET_TMP/fromorthanc.dcm" "$url/instances/$oid/file"
if [ -n "$fromarca" ] && values "$fromarca" >"$NET_TMP/va.txt" && values "$NET_TMP/fromorthanc.dcm" >"$NET_TMP/vo.txt" &&
	[ -s "$NET_TMP/va.txt" ] && cmp -s "$NET_TMP/va.txt" "$NET_TMP/vo.txt"; then
	ok "c. instance A.1.2: the same values from Orthanc as from arcad ($(wc -l <"$NET_TMP/va.txt" | tr -d ' ') dcmdump lines)"
else
	fail "c. instance A.1.2 differs between arcad and Orthanc"
	diff "$NET_TMP/va.txt" "$NET_TMP/vo.txt" 2>&1 | head -10 | sed 's/^/     | /'
	net_show "$NET_TMP/getscu.log"
fi
pixels "$data/a2.dcm" "$NET_TMP/p.orig"
pixels "$NET_TMP/fromorthanc.dcm" "$NET_TMP/p.orthanc"
if [ -s "$NET_TMP/p.orig" ] && cmp -s "$NET_TMP/p.orig" "$NET_TMP/p.orthanc"; then
	ok "c. instance A.1.2 in Orthanc: pixel data byte-identical to what was sent to arcad ($(wc -c <"$NET_TMP/p.orig" | tr -d ' ') bytes)"
else
	fail "c. instance A.1.2 in Orthanc: pixel data differs from the original"
fi

# ---- d. arcad moves to Orthanc (movescu -aem ORTHANC)
movescu -d -aec ARCA -aem ORTHANC -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=$SB \
	127.0.0.1 "$port" >"$NET_TMP/movescu.log" 2>&1
st=$(sed -n 's/^D: DIMSE Status *: 0x\([0-9A-Fa-f]*\).*/\1/p' "$NET_TMP/movescu.log" | tail -1)
nc=$(sed -n 's/^D: Completed Suboperations *: *\([0-9]*\).*/\1/p' "$NET_TMP/movescu.log" | tail -1)
if [ "$st" = 0000 ] && [ "$nc" = 2 ]; then
	ok "d. movescu to arcad, destination ORTHANC: 0x0000, 2 completed"
else
	fail "d. movescu to arcad, destination ORTHANC: status '$st', completed '$nc'"
	net_show "$NET_TMP/movescu.log" 20
	net_show "$NET_TMP/arcad.log"
fi
expect "d. Orthanc holds studies A and B: 2 studies, 5 instances" "$(stats)" "2 studies, 5 instances"
oid=$(orthanc_instance $SB.1.1 2>/dev/null)
got=$(rest GET "/instances/$oid/simplified-tags" | json '"%s %s %s %s" % (j["PatientName"], j["PatientID"], j["StudyDate"], j["Modality"])' 2>/dev/null)
expect "d. instance B.1.1 in Orthanc: PatientName, PatientID, StudyDate, Modality" "$got" "DOE^JANE ORT2 20240220 MR"
echo "note d. C-GET by Orthanc: Orthanc 1.10 has no C-GET SCU in its REST API (only C-MOVE)"

# ---- e. arca as SCU of Orthanc
got=$("$ARCA" find "ORTHANC@127.0.0.1:$oport" -k 'PatientName=DOE*' -k StudyDate -k AccessionNumber -k StudyInstanceUID 2>&1 | LC_ALL=C sort)
want="StudyDate=20240105	AccessionNumber=ACC1	PatientName=DOE^JOHN	StudyInstanceUID=$SA
StudyDate=20240220	AccessionNumber=ACC2	PatientName=DOE^JANE	StudyInstanceUID=$SB"
got=$(echo "$got" | sed -e 's/QueryRetrieveLevel=STUDY	//' -e 's/SpecificCharacterSet=[^	]*	//' -e 's/	RetrieveAETitle=[^	]*//')
expect "e. arca find on Orthanc: STUDY PatientName=DOE* gives studies A and B" "$got" "$want"
got=$("$ARCA" find "ORTHANC@127.0.0.1:$oport" --level SERIES -k StudyInstanceUID=$SA -k SeriesInstanceUID -k Modality 2>&1 |
	sed -n 's/.*Modality=\([A-Z]*\).*SeriesInstanceUID=\([0-9.]*\).*/\1 \2/p' | LC_ALL=C sort)
expect "e. arca find on Orthanc: SERIES of study A" "$got" "CT $SA.1
OT $SA.2"
if out=$("$ARCA" send "ORTHANC@127.0.0.1:$oport" --aet ARCA "$NET_TMP/only" 2>&1); then
	ok "e. arca send of study D to Orthanc: exit 0"
else
	fail "e. arca send to Orthanc: $out"
fi
expect "e. Orthanc holds A, B and D: 3 studies, 6 instances" "$(stats)" "3 studies, 6 instances"
oid=$(orthanc_instance $SD.1.1 2>/dev/null)
curl -s -o "$NET_TMP/d1.orthanc" "$url/instances/$oid/file"
values "$NET_TMP/only/d1.dcm" >"$NET_TMP/vs.txt"
values "$NET_TMP/d1.orthanc" >"$NET_TMP/vr.txt"
pixels "$NET_TMP/only/d1.dcm" "$NET_TMP/p.sent"
pixels "$NET_TMP/d1.orthanc" "$NET_TMP/p.recv"
if [ -s "$NET_TMP/vs.txt" ] && cmp -s "$NET_TMP/vs.txt" "$NET_TMP/vr.txt" && [ -s "$NET_TMP/p.sent" ] &&
	cmp -s "$NET_TMP/p.sent" "$NET_TMP/p.recv"; then
	ok "e. instance D.1.1 in Orthanc: the values and pixel data arca sent"
else
	fail "e. instance D.1.1 in Orthanc differs from the file arca sent"
	diff "$NET_TMP/vs.txt" "$NET_TMP/vr.txt" 2>&1 | head -10 | sed 's/^/     | /'
fi
# arca move: Orthanc (C-MOVE SCP) sends study D to arcad ("arca" in its
# DicomModalities), PS3.4 C.4.2
out=$("$ARCA" move "ORTHANC@127.0.0.1:$oport" --aet ARCA --dest ARCA -k StudyInstanceUID=$SD 2>&1)
rc=$?
last=$(echo "$out" | tail -1 | tr '\t' ' ')
if [ "$rc" = 0 ] && echo "$last" | grep -q 'status=0x0000.*completed=1'; then
	ok "e. arca move of study D from Orthanc to arcad: exit 0, $last"
else
	fail "e. arca move from Orthanc to arcad: exit $rc: $out"
fi
got=$("$ARCA" find "ARCA@127.0.0.1:$port" -k StudyInstanceUID=$SD -k PatientName -k NumberOfStudyRelatedInstances 2>&1 |
	tr '\t' '\n' | sed -n -e 's/^PatientName=//p' -e 's/^NumberOfStudyRelatedInstances=//p' | tr '\n' ' ')
expect "e. arcad now holds study D (its own C-FIND): SEND^ONLY, 1 instance" "$got" "SEND^ONLY 1 "
# arca get: Orthanc (C-GET SCP) sends study B back on arca's association,
# PS3.4 C.4.3
out=$("$ARCA" get "ORTHANC@127.0.0.1:$oport" --aet ARCA -k StudyInstanceUID=$SB --out "$NET_TMP/got" --quiet 2>&1)
rc=$?
n=$(ls "$NET_TMP/got" 2>/dev/null | wc -l | tr -d ' ')
if [ "$rc" = 0 ] && [ "$n" = 2 ]; then
	ok "e. arca get of study B from Orthanc: exit 0, 2 files"
else
	fail "e. arca get from Orthanc: exit $rc, $n files: $out"
fi
same=1
for f in b1 b2; do
	sop=$(dcmdump -q +P 0008,0018 "$data/$f.dcm" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p')
	values "$data/$f.dcm" >"$NET_TMP/v1.txt"
	values "$NET_TMP/got/$sop.dcm" >"$NET_TMP/v2.txt" 2>/dev/null
	pixels "$data/$f.dcm" "$NET_TMP/q1"
	pixels "$NET_TMP/got/$sop.dcm" "$NET_TMP/q2"
	if ! [ -s "$NET_TMP/v1.txt" ] || ! cmp -s "$NET_TMP/v1.txt" "$NET_TMP/v2.txt" || ! [ -s "$NET_TMP/q1" ] ||
		! cmp -s "$NET_TMP/q1" "$NET_TMP/q2"; then
		same=0
		diff "$NET_TMP/v1.txt" "$NET_TMP/v2.txt" 2>&1 | head -6 | sed 's/^/     | /'
	fi
done
if [ "$same" = 1 ]; then
	ok "e. arca get: study B from Orthanc has the values and pixels sent to arcad at the start"
else
	fail "e. arca get: study B from Orthanc differs from the original"
fi

# both servers stop cleanly
net_stop "$arcad"
[ "$NET_STATUS" = 0 ] && ok "arcad exits 0 on SIGTERM" || fail "arcad exit status $NET_STATUS on SIGTERM"
net_stop "$orthanc"
net_done
