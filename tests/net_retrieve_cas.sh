#!/bin/sh
# net_retrieve_cas.sh - C-GET and C-MOVE from arcad's default storage (the
# cas backend: the data set streamed from checked chunks, the next instance
# read ahead while the current one is sent and acknowledged), with DCMTK
# getscu, movescu and storescp, and arca get for the C-GET cancel.
#
# Twelve instances of one study (net_gen, 384x384 16-bit pixels, so the
# pixel data is a chunk of its own: 288 KiB; one per uncompressed syntax,
# three times) and a second study of four are stored with storescu.  Then:
#   1. getscu of the study: 12 instances, each one's values equal to the
#      original's, 0x0000, 11 pending responses.
#   2. arca get accepting only Implicit VR LE, then only Explicit VR BE:
#      12 instances in that syntax (converted on the way out), values
#      equal.
#   3. movescu of the study to a storescp [peer]: 12 arrive, values equal,
#      0x0000 only after them (11 pending).
#   4. movescu --cancel 1 over both studies (16): 0xFE00, and the counts
#      exact: completed + failed + warning + remaining = 16, the
#      destination holds exactly `completed` files (the instance read ahead
#      is dropped, never sent).
#   5. arca get --cancel-after 1 over both studies: 0xFE00, completed +
#      remaining + failed = 16, exactly `completed` files received.
#   6. one chunk damaged on disk (a byte flipped in the pixel chunk that
#      the four b-* instances share): C-GET and C-MOVE of the study both
#      end 0xB000 with 4 failed and 8 completed; the Failed SOP Instance
#      UID List (PS3.4 C.4.2.1.5, C.4.3.1.4; read with arca get) names
#      exactly the four; they never arrive, the 8 others are intact; arcad
#      names the chunk in its log.
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init net_retrieve_cas
net_require getscu movescu storescp storescu dcmdump dump2dcm dcmodify

root=$NET_TMP/root
port=$(net_free_port)
dport=$(net_free_port)
if ! "$ARCA" init --root "$root" --port "$port" --aet ARCA >"$NET_TMP/init.log" 2>&1; then
	echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
	exit 1
fi
printf '\n[peer dest]\nae = DEST\nhost = 127.0.0.1\nport = %s\n' "$dport" >>"$root/arca.conf"

data=$NET_TMP/data
net_gen "$data" 384 a || exit 1
net_gen "$data" 384 b || exit 1
net_gen "$data" 384 c || exit 1
# net_gen makes one study per call: put b and c into a's study and series
study=$(dcmdump -q +P 0020,000d "$data/a-te.dcm" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p')
for f in "$data"/b-*.dcm "$data"/c-*.dcm; do
	if ! dcmodify -q -nb -m "(0020,000d)=$study" -m "(0020,000e)=$study.0" "$f" >/dev/null 2>&1; then
		echo "FAIL: dcmodify $f"
		exit 1
	fi
done
other=$NET_TMP/other
net_gen "$other" 384 d || exit 1
ostudy=$(dcmdump -q +P 0020,000d "$other/d-te.dcm" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p')

net_start arcad "$ARCAD" --root "$root" --verbose
arcad=$NET_PID
if ! net_wait_dicom "$arcad" "$port" ARCA; then
	net_show "$NET_TMP/arcad.log"
	fail "arcad did not start"
	net_done
	exit 1
fi
if ! storescu -aec ARCA 127.0.0.1 "$port" "$data"/*.dcm "$other"/*.dcm >"$NET_TMP/storescu.log" 2>&1; then
	net_show "$NET_TMP/storescu.log"
	fail "storescu to arcad"
	net_done
	exit 1
fi
ok "16 instances of two studies stored in arcad's cas storage"

# values: dcmdump of the data set without group 0002 and what a conversion
# between uncompressed syntaxes may change (lengths, a private VR that
# Implicit VR leaves unknown), as in net_retrieve.sh
# ($values_drop: a tag whose VR Implicit VR cannot carry, dropped)
values_drop='^$'
values() {
	dcmdump -q +L +U8 "$1" 2>/dev/null | grep -v '^(0002,' | grep -v '^#' | grep -v '^$' | grep -v "$values_drop" |
		sed -e 's/ *#.*$//' -e 's/ with \(undefined\|explicit\) length//' \
			-e 's/ for re-encod[a-z.]*//' -e 's/^\( *([0-9a-f,]*)\) ?? /\1 UN /' -e 's/ *$//'
}
# same_values DIR ORIGDIR [SKIP_UID]: each received file equals its
# original; prints how many were compared
same_values() {
	same_bad=0
	same_n=0
	for f in "$2"/*.dcm; do
		sop=$(dcmdump -q +P 0008,0018 "$f" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p')
		got=$(ls "$1" | grep -F "$sop" | head -1)
		[ -n "$got" ] || continue
		same_n=$((same_n + 1))
		if ! values "$f" >"$NET_TMP/a.txt" || ! values "$1/$got" >"$NET_TMP/b.txt" ||
			! cmp -s "$NET_TMP/a.txt" "$NET_TMP/b.txt"; then
			diff "$NET_TMP/a.txt" "$NET_TMP/b.txt" | head -5 | sed 's/^/     | /'
			same_bad=1
		fi
	done
	return $same_bad
}
final_status() {
	sed -n 's/^D: DIMSE Status *: 0x\([0-9A-Fa-f]*\).*/\1/p' "$NET_TMP/$1.log" | tail -1 |
		tr 'abcdef' 'ABCDEF'
}
last_count() {
	sed -n "s/^D: $1 Suboperations *: *\([0-9]*\).*/\1/p" "$NET_TMP/$2.log" | tail -1
}
g() {
	gname=$1
	shift
	rm -rf "$NET_TMP/$gname"
	mkdir -p "$NET_TMP/$gname"
	getscu -d -aec ARCA -od "$NET_TMP/$gname" "$@" 127.0.0.1 "$port" >"$NET_TMP/$gname.log" 2>&1
}
m() {
	mname=$1
	shift
	movescu -d -aec ARCA "$@" 127.0.0.1 "$port" >"$NET_TMP/$mname.log" 2>&1
}
nfiles() {
	ls "$1" 2>/dev/null | wc -l | tr -d ' '
}

# ---- 1. C-GET of the study
g get -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study"
n=$(nfiles "$NET_TMP/get")
st=$(final_status get)
pend=$(grep -c 'DIMSE Status *: 0xff00' "$NET_TMP/get.log")
if [ "$n" = 12 ] && [ "$st" = 0000 ] && [ "$pend" = 11 ]; then
	ok "C-GET study: 12 instances, 0x0000, 11 pending responses"
else
	fail "C-GET study: $n instances, status '$st', $pend pending"
	net_show "$NET_TMP/get.log" 30
fi
if same_values "$NET_TMP/get" "$data" && [ "$same_n" = 12 ]; then
	ok "C-GET study: every instance's values equal the original's"
else
	fail "C-GET study: values differ ($same_n compared)"
fi

# ---- 2. a requestor that takes only Implicit VR LE, or only Explicit VR
# BE (arca get --ts: getscu always offers Explicit VR LE): converted by
# the writer on the way out, values equal
for conv in "1.2.840.10008.1.2:LittleEndianImplicit" "1.2.840.10008.1.2.2:BigEndianExplicit"; do
	tsuid=${conv%%:*}
	tsname=${conv#*:}
	# the private LO of an unknown creator reads back as UN from Implicit
	# VR (PS3.5 6.2.2): its VR is not there to carry
	if [ "$tsname" = LittleEndianImplicit ]; then values_drop='^(0029,1001) '; else values_drop='^$'; fi
	rm -rf "$NET_TMP/conv"
	"$ARCA" get "ARCA@127.0.0.1:$port" -k "StudyInstanceUID=$study" --ts "$tsuid" --out "$NET_TMP/conv" \
		>"$NET_TMP/conv.out" 2>"$NET_TMP/conv.err"
	rc=$?
	n=$(nfiles "$NET_TMP/conv")
	nts=$(for f in "$NET_TMP/conv"/*; do dcmdump -q +P 0002,0010 "$f"; done 2>/dev/null | grep -c "=$tsname")
	if [ "$rc" = 0 ] && [ "$n" = 12 ] && [ "$nts" = 12 ]; then
		ok "C-GET taking only $tsname: 12 instances converted, 0x0000"
	else
		fail "C-GET in $tsname: exit $rc, $n instances, $nts in $tsname"
		net_show "$NET_TMP/conv.out"
		net_show "$NET_TMP/conv.err"
	fi
	if same_values "$NET_TMP/conv" "$data" && [ "$same_n" = 12 ]; then
		ok "C-GET in $tsname: values equal"
	else
		fail "C-GET in $tsname: values differ ($same_n compared)"
	fi
done
values_drop='^$'

# ---- 3. C-MOVE of the study
mkdir -p "$NET_TMP/scp"
net_start storescp storescp -od "$NET_TMP/scp" -aet DEST "$dport"
scp=$NET_PID
if ! net_wait_tcp "$scp" "$dport"; then
	fail "storescp did not start"
fi
m move -S -aem DEST -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study"
n=$(nfiles "$NET_TMP/scp")
st=$(final_status move)
pend=$(grep -c 'DIMSE Status *: 0xff00' "$NET_TMP/move.log")
if [ "$n" = 12 ] && [ "$st" = 0000 ] && [ "$pend" = 11 ]; then
	ok "C-MOVE study: 12 instances at the destination, 0x0000 after 11 pending"
else
	fail "C-MOVE study: $n instances, status '$st', $pend pending"
	net_show "$NET_TMP/move.log" 30
	net_show "$NET_TMP/arcad.log" 20
fi
if same_values "$NET_TMP/scp" "$data" && [ "$same_n" = 12 ]; then
	ok "C-MOVE study: values equal the originals"
else
	fail "C-MOVE study: values differ ($same_n compared)"
fi

# ---- 4. C-CANCEL during a C-MOVE: the counts are exact
rm -f "$NET_TMP/scp"/*
m mcancel -S --cancel 1 -aem DEST -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$study\\$ostudy"
n=$(nfiles "$NET_TMP/scp")
st=$(final_status mcancel)
c=$(last_count Completed mcancel)
r=$(last_count Remaining mcancel)
f=$(last_count Failed mcancel)
w=$(last_count Warning mcancel)
if [ "$st" = FE00 ] && [ "${c:-0}" -ge 1 ] && [ "${c:-16}" -lt 16 ] &&
	[ $((${c:-0} + ${r:-0} + ${f:-0} + ${w:-0})) = 16 ] && [ "$n" = "$c" ]; then
	ok "C-MOVE cancelled: 0xFE00, $c completed + $r remaining = 16, $n files at the destination"
else
	fail "C-MOVE cancel: status '$st', completed '$c', remaining '$r', failed '$f', warning '$w', $n files"
	net_show "$NET_TMP/mcancel.log" 30
fi

# ---- 5. C-CANCEL during a C-GET (our SCU sends it)
"$ARCA" get "ARCA@127.0.0.1:$port" -k "StudyInstanceUID=$study\\$ostudy" --cancel-after 1 --out "$NET_TMP/gcancel" \
	>"$NET_TMP/gcancel.out" 2>"$NET_TMP/gcancel.err"
rc=$?
field() {
	grep '^status=' "$2" | tail -1 | tr '\t' '\n' | sed -n "s/^$1=//p"
}
st=$(grep '^status=' "$NET_TMP/gcancel.out" | tail -1 | sed -n 's/^status=0x\([0-9A-F]*\).*/\1/p')
c=$(field completed "$NET_TMP/gcancel.out")
r=$(field remaining "$NET_TMP/gcancel.out")
f=$(field failed "$NET_TMP/gcancel.out")
n=$(nfiles "$NET_TMP/gcancel")
if [ "$rc" = 1 ] && [ "$st" = FE00 ] && [ "${c:-0}" -ge 1 ] && [ "${c:-16}" -lt 16 ] &&
	[ $((${c:-0} + ${r:-0} + ${f:-0})) = 16 ] && [ "$n" = "$c" ]; then
	ok "C-GET cancelled: 0xFE00, $c completed + $r remaining = 16, $n files received"
else
	fail "C-GET cancel: exit $rc, status '$st', completed '$c', remaining '$r', failed '$f', $n files"
	net_show "$NET_TMP/gcancel.out"
	net_show "$NET_TMP/gcancel.err"
fi

# ---- 6. a damaged chunk: its instances fail, the others go.  A chunk's
# address is the SHA-256 of its plain bytes (docs/storage-format.md): the
# pixel chunk of the b-* instances is named after the SHA-256 of the pixel
# bytes net_gen drew for them (one chunk for the four: deduplicated).
bpx=$(sha256sum "$NET_TMP/b.px" | cut -c1-64)
target=$(find "$root" -path "*chunks/*" -name "$bpx" -type f | head -1)
if [ -z "$target" ]; then
	fail "damage: no chunk file named after the SHA-256 of b's pixels ($bpx)"
else
	sz=$(wc -c <"$target")
	# flip one byte of the stored body (a chunk file is 0600, we own it)
	b=$(od -An -tu1 -j $((sz / 2)) -N 1 "$target" | tr -d ' ')
	printf "\\$(printf '%03o' $(((b + 1) % 256)))" | dd of="$target" bs=1 seek=$((sz / 2)) conv=notrunc 2>/dev/null
	g damaged -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study"
	n=$(nfiles "$NET_TMP/damaged")
	st=$(final_status damaged)
	c=$(last_count Completed damaged)
	f=$(last_count Failed damaged)
	if [ "$st" = B000 ] && [ "$n" = 8 ] && [ "${c:-}" = 8 ] && [ "${f:-}" = 4 ] &&
		grep 'Data Set' "$NET_TMP/damaged.log" | tail -1 | grep -q present; then
		ok "C-GET with a damaged chunk: 0xB000, 8 completed, 4 failed, 8 files, an identifier"
	else
		fail "C-GET damaged: status '$st', $n files, completed '$c', failed '$f'"
		net_show "$NET_TMP/damaged.log" 30
	fi
	if same_values "$NET_TMP/damaged" "$data" && [ "$same_n" = 8 ]; then
		ok "C-GET with a damaged chunk: the 8 others intact"
	else
		fail "C-GET damaged: values differ or b-* arrived ($same_n compared)"
	fi
	# the Failed SOP Instance UID List names exactly the four b-*
	"$ARCA" get "ARCA@127.0.0.1:$port" -k "StudyInstanceUID=$study" --out "$NET_TMP/agdamaged" \
		>"$NET_TMP/agdamaged.out" 2>"$NET_TMP/agdamaged.err"
	rc=$?
	for f in "$data"/b-*.dcm; do
		dcmdump -q +P 0008,0018 "$f" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p'
	done | LC_ALL=C sort >"$NET_TMP/want-failed.txt"
	sed -n 's/^failed=//p' "$NET_TMP/agdamaged.out" | LC_ALL=C sort >"$NET_TMP/got-failed.txt"
	if [ "$rc" = 1 ] && cmp -s "$NET_TMP/want-failed.txt" "$NET_TMP/got-failed.txt"; then
		ok "C-GET with a damaged chunk: the Failed SOP Instance UID List names exactly its 4 instances"
	else
		fail "C-GET damaged: exit $rc, failed list differs"
		diff "$NET_TMP/want-failed.txt" "$NET_TMP/got-failed.txt" | sed 's/^/     | /'
		net_show "$NET_TMP/agdamaged.err"
	fi
	rm -f "$NET_TMP/scp"/*
	m mdamaged -S -aem DEST -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study"
	n=$(nfiles "$NET_TMP/scp")
	st=$(final_status mdamaged)
	c=$(last_count Completed mdamaged)
	f=$(last_count Failed mdamaged)
	if [ "$st" = B000 ] && [ "$n" = 8 ] && [ "${c:-}" = 8 ] && [ "${f:-}" = 4 ]; then
		ok "C-MOVE with a damaged chunk: 0xB000, 8 completed, 4 failed, 8 files at the destination"
	else
		fail "C-MOVE damaged: status '$st', $n files, completed '$c', failed '$f'"
		net_show "$NET_TMP/mdamaged.log" 30
	fi
	if same_values "$NET_TMP/scp" "$data" && [ "$same_n" = 8 ]; then
		ok "C-MOVE with a damaged chunk: the 8 others intact"
	else
		fail "C-MOVE damaged: values differ or b-* arrived ($same_n compared)"
	fi
	if grep -q "$bpx" "$NET_TMP/arcad.log"; then
		ok "arcad's log names the damaged chunk"
	else
		fail "arcad's log does not name the damaged chunk"
		grep -i 'not sent\|failed' "$NET_TMP/arcad.log" | tail -5 | sed 's/^/     | /'
	fi
fi

net_stop "$arcad"
if [ "$NET_STATUS" = 0 ]; then ok "arcad stopped cleanly (exit 0)"; else fail "arcad exit status $NET_STATUS"; net_show "$NET_TMP/arcad.log" 20; fi
net_done
