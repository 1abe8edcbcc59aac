#!/bin/sh
# net_retrieve.sh - C-GET (and C-MOVE) against arcad with DCMTK getscu and
# movescu.
#
# Instances generated with dump2dcm (net_gen: one per uncompressed transfer
# syntax, pixel data, a sequence, a private element) are sent to arcad
# (storescu; [storage] backend = files) and the files arcad stored are
# indexed with tests/qr_load (the interim files backend fills no index).
# Then:
#   1. getscu of the study: every instance received, each one's values
#      equal to the original's (dcmdump, meta group aside: the transfer
#      syntax may have been converted), final status 0x0000.
#   2. getscu of one instance (IMAGE level).
#   3. getscu of an unknown study: success with no sub-operation.
#   4. getscu at SERIES level without its Study Instance UID: 0xA900.
#   5. arcad's log has one retrieve record per C-GET (who, what, outcome).
#   6. movescu of the study to a storescp configured as [peer]: every
#      instance arrives with its values, final 0x0000 only after them.
#   7. movescu to an AE title that is not a [peer]: 0xA801.
#   8. movescu to a [peer] that is down: 0xA702, 4 failed.
#   9. an instance stored in RLE Lossless, retrieved by a getscu that
#      accepts only uncompressed syntaxes: decoded on the way out
#      (pacs_transcode), values and pixels equal to the native original.
#  10. movescu --cancel 1 over 16 instances of 4 studies (a list of Study
#      Instance UIDs): 0xFE00 with instances remaining, fewer than 16 sent.
#  11. two movescu at once (4 and 16 instances) to the same [peer]: both
#      0x0000, all 20 delivered.
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init net_retrieve
net_require getscu movescu storescp storescu dcmdump dump2dcm
QR_LOAD=$builddir/tests/qr_load

root=$NET_TMP/root
port=$(net_free_port)
if ! "$ARCA" init --root "$root" --port "$port" --aet ARCA >"$NET_TMP/init.log" 2>&1; then
	echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
	exit 1
fi
# C-MOVE destinations: a storescp, and a port where nothing listens
dport=$(net_free_port)
downport=$(net_free_port)
cat >>"$root/arca.conf" <<CONF

[peer dest]
ae = DEST
host = 127.0.0.1
port = $dport

[peer down]
ae = DOWN
host = 127.0.0.1
port = $downport
CONF
# the interim files backend: Part 10 files that C-GET reads back (the
# only backend of an arca whose arca.conf does not offer `backend`)
if grep -q '^;backend = cas' "$root/arca.conf"; then
	sed -i '/^\[storage\]/a backend = files' "$root/arca.conf"
fi

data=$NET_TMP/data
net_gen "$data" 64 ct || exit 1
# a second study whose one instance is stored compressed (RLE Lossless)
net_gen "$NET_TMP/rlgen" 64 rl || exit 1
if ! "$ARCA" transcode "$NET_TMP/rlgen/rl-te.dcm" "$NET_TMP/rl-rle.dcm" --ts 1.2.840.10008.1.2.5 >"$NET_TMP/tc.log" 2>&1; then
	echo "FAIL: arca transcode to RLE: $(cat "$NET_TMP/tc.log")"
	exit 1
fi
# four more studies for the C-CANCEL test
many=""
for p in c1 c2 c3 c4; do
	net_gen "$NET_TMP/many" 16 "$p" || exit 1
	many="$many${many:+\\}$(dcmdump -q +P 0020,000d "$NET_TMP/many/$p-te.dcm" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p')"
done
rstudy=$(dcmdump -q +P 0020,000d "$NET_TMP/rlgen/rl-te.dcm" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p')
study=$(dcmdump -q +P 0020,000d "$data/ct-te.dcm" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p')
one=$(dcmdump -q +P 0008,0018 "$data/ct-tb.dcm" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p')

net_start arcad "$ARCAD" --root "$root" --verbose
arcad=$NET_PID
if ! net_wait_dicom "$arcad" "$port" ARCA; then
	net_show "$NET_TMP/arcad.log"
	fail "arcad did not start"
	net_done
	exit 1
fi
if ! storescu -aec ARCA 127.0.0.1 "$port" "$data"/*.dcm >"$NET_TMP/storescu.log" 2>&1 ||
	! storescu -aec ARCA -xr 127.0.0.1 "$port" "$NET_TMP/rl-rle.dcm" >>"$NET_TMP/storescu.log" 2>&1 ||
	! storescu -aec ARCA 127.0.0.1 "$port" "$NET_TMP/many"/*.dcm >>"$NET_TMP/storescu.log" 2>&1; then
	net_show "$NET_TMP/storescu.log"
	fail "storescu to arcad"
fi
stored=$(find "$root/instances" -name '*.dcm' | LC_ALL=C sort)
if [ "$(echo "$stored" | grep -c .)" != 21 ]; then
	fail "arcad stored $(echo "$stored" | grep -c .) files, expected 21"
	net_show "$NET_TMP/arcad.log"
	net_done
	exit 1
fi
# shellcheck disable=SC2086
if ! "$QR_LOAD" "$root/index.db" $stored >"$NET_TMP/load.log" 2>&1; then
	echo "FAIL: qr_load: $(cat "$NET_TMP/load.log")"
	exit 1
fi
ok "21 instances stored by storescu (one in RLE Lossless) and indexed"

# values: dcmdump of the data set, group 0002 and the header lines aside,
# and what a conversion between uncompressed syntaxes may change: lengths
# (sequences are re-encoded with undefined length), and the VR of a
# private element read in Implicit VR, which an explicit syntax writes UN
# (PS3.5 6.2.2) where dcmdump shows ?? for the original
values() {
	dcmdump -q +L +U8 "$1" 2>/dev/null | grep -v '^(0002,' | grep -v '^#' | grep -v '^$' |
		sed -e 's/ *#.*$//' -e 's/ with \(undefined\|explicit\) length//' \
			-e 's/ for re-encod[a-z.]*//' -e 's/^\( *([0-9a-f,]*)\) ?? /\1 UN /' -e 's/ *$//'
}
# g NAME GETSCU-ARGS...: runs getscu, files in $NET_TMP/NAME/
g() {
	gname=$1
	shift
	rm -rf "$NET_TMP/$gname"
	mkdir -p "$NET_TMP/$gname"
	getscu -d -aec ARCA -od "$NET_TMP/$gname" "$@" 127.0.0.1 "$port" >"$NET_TMP/$gname.log" 2>&1
}
# final status of a getscu/movescu log (hex, as DCMTK prints it)
final_status() {
	sed -n 's/^D: DIMSE Status *: 0x\([0-9A-Fa-f]*\).*/\1/p' "$NET_TMP/$1.log" | tail -1 |
		tr 'abcdef' 'ABCDEF'
}
# same_values DIR [ORIGDIR]: every received file equals its original
same_values() {
	same_bad=0
	for f in "${2:-$data}"/*.dcm; do
		sop=$(dcmdump -q +P 0008,0018 "$f" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p')
		got=$(ls "$1" | grep -F "$sop" | head -1)
		[ -n "$got" ] || continue
		if ! values "$f" >"$NET_TMP/a.txt" || ! values "$1/$got" >"$NET_TMP/b.txt" ||
			! cmp -s "$NET_TMP/a.txt" "$NET_TMP/b.txt"; then
			diff "$NET_TMP/a.txt" "$NET_TMP/b.txt" | head -5 | sed 's/^/     | /'
			same_bad=1
		fi
	done
	return $same_bad
}

# ---- 1. the study
g study -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study"
n=$(ls "$NET_TMP/study" | wc -l | tr -d ' ')
if [ "$n" = 4 ]; then ok "C-GET study: 4 instances received"; else fail "C-GET study: $n instances received"; net_show "$NET_TMP/study.log" 30; fi
st=$(final_status study)
if [ "$st" = "0000" ]; then ok "C-GET study: final status 0x0000"; else fail "C-GET study: final status '$st'"; net_show "$NET_TMP/study.log" 30; fi
if same_values "$NET_TMP/study"; then ok "C-GET study: every instance's values equal the original's"; else fail "C-GET study: values differ"; fi

# ---- 2. one instance
g image -S -k QueryRetrieveLevel=IMAGE -k StudyInstanceUID="$study" -k SeriesInstanceUID="$study.0" -k SOPInstanceUID="$one"
n=$(ls "$NET_TMP/image" | wc -l | tr -d ' ')
st=$(final_status image)
if [ "$n" = 1 ] && [ "$st" = "0000" ] && ls "$NET_TMP/image" | grep -qF "$one"; then
	ok "C-GET one instance: received, 0x0000"
else
	fail "C-GET one instance: $n files, status '$st'"
	net_show "$NET_TMP/image.log" 30
fi
if same_values "$NET_TMP/image"; then ok "C-GET one instance: values equal"; else fail "C-GET one instance: values differ"; fi

# ---- 3. unknown study: PS3.4 C.4.3.3.1 has no "no match" status; nothing
# to do is success with zero sub-operations
g none -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=2.25.1
n=$(ls "$NET_TMP/none" | wc -l | tr -d ' ')
st=$(final_status none)
if [ "$n" = 0 ] && [ "$st" = "0000" ]; then ok "C-GET unknown study: 0x0000, nothing sent"; else fail "C-GET unknown study: $n files, status '$st'"; net_show "$NET_TMP/none.log" 20; fi

# ---- 4. SERIES level without the study's unique key
g bad -S -k QueryRetrieveLevel=SERIES -k SeriesInstanceUID="$study.0"
st=$(final_status bad)
if [ "$st" = "A900" ]; then ok "C-GET without the unique key above the level: 0xA900"; else fail "C-GET bad identifier: status '$st'"; net_show "$NET_TMP/bad.log" 20; fi

# ---- 5. the retrieve records
recs=$(grep -c 'retrieve: C-GET by "GETSCU"' "$NET_TMP/arcad.log")
if [ "$recs" = 4 ] && grep -q "retrieve: C-GET by \"GETSCU\" to \"GETSCU\": study $study, 4 instances; 0x0000" "$NET_TMP/arcad.log"; then
	ok "one retrieve record per C-GET"
else
	fail "retrieve records: $recs"
	grep 'retrieve:' "$NET_TMP/arcad.log" | sed 's/^/     | /'
fi

# ---- 9. stored in RLE Lossless, asked for uncompressed
g rle -S -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$rstudy"
n=$(ls "$NET_TMP/rle" 2>/dev/null | wc -l | tr -d ' ')
st=$(final_status rle)
ts=$(dcmdump -q +P 0002,0010 "$NET_TMP/rle"/* 2>/dev/null | sed -n 's/^[^=]*=\([A-Za-z]*\).*$/\1/p')
if [ "$n" = 1 ] && [ "$st" = "0000" ] && [ "$ts" != "RLELossless" ]; then
	ok "C-GET of an RLE instance by an uncompressed-only SCU: decoded ($ts), 0x0000"
else
	fail "C-GET RLE instance: $n files, status '$st', syntax '$ts'"
	net_show "$NET_TMP/rle.log" 20
fi
mkdir -p "$NET_TMP/rle-orig" && cp "$NET_TMP/rlgen/rl-te.dcm" "$NET_TMP/rle-orig/"
if same_values "$NET_TMP/rle" "$NET_TMP/rle-orig"; then ok "C-GET RLE instance: values and pixels equal the native original"; else fail "C-GET RLE instance: values differ"; fi

# ---- 6. C-MOVE to a storescp [peer]
mkdir -p "$NET_TMP/scp"
net_start storescp storescp -od "$NET_TMP/scp" -aet DEST "$dport"
scp=$NET_PID
if ! net_wait_tcp "$scp" "$dport"; then
	fail "storescp did not start"
fi
m() {
	mname=$1
	shift
	movescu -d -aec ARCA "$@" 127.0.0.1 "$port" >"$NET_TMP/$mname.log" 2>&1
}
m move -S -aem DEST -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study"
n=$(ls "$NET_TMP/scp" | wc -l | tr -d ' ')
st=$(final_status move)
if [ "$n" = 4 ] && [ "$st" = "0000" ]; then
	ok "C-MOVE study to a [peer] storescp: 4 instances, 0x0000"
else
	fail "C-MOVE study: $n instances at the destination, status '$st'"
	net_show "$NET_TMP/move.log" 20
	net_show "$NET_TMP/arcad.log" 20
fi
if same_values "$NET_TMP/scp"; then ok "C-MOVE: values equal the originals"; else fail "C-MOVE: values differ"; fi
pend=$(grep -c 'DIMSE Status *: 0xff00' "$NET_TMP/move.log")
if [ "$pend" = 3 ]; then ok "C-MOVE: a pending response after each sub-operation but the last"; else fail "C-MOVE: $pend pending responses"; fi

# ---- 7. unknown destination
m unknown -S -aem NOWHERE -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study"
st=$(final_status unknown)
if [ "$st" = "A801" ]; then ok "C-MOVE to an AE that is no [peer]: 0xA801"; else fail "C-MOVE unknown destination: '$st'"; net_show "$NET_TMP/unknown.log" 20; fi

# ---- 8. destination down
m down -S -aem DOWN -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study"
st=$(final_status down)
nf=$(sed -n 's/^D: Failed Suboperations *: *\([0-9]*\).*/\1/p' "$NET_TMP/down.log" | tail -1)
if [ "$st" = "A702" ] && [ "$nf" = 4 ]; then ok "C-MOVE to a [peer] that is down: 0xA702, 4 failed"; else fail "C-MOVE destination down: status '$st', failed '$nf'"; net_show "$NET_TMP/down.log" 20; fi
# ---- 10. C-CANCEL during a C-MOVE
rm -f "$NET_TMP/scp"/*
m cancel -S --cancel 1 -aem DEST -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$many"
n=$(ls "$NET_TMP/scp" | wc -l | tr -d ' ')
st=$(final_status cancel)
rem=$(sed -n 's/^D: Remaining Suboperations *: *\([0-9]*\).*/\1/p' "$NET_TMP/cancel.log" | tail -1)
if [ "$st" = "FE00" ] && [ "$n" -lt 16 ] && [ "${rem:-0}" -gt 0 ]; then
	ok "C-MOVE cancelled after the first pending response: 0xFE00, $n of 16 sent, $rem remaining"
else
	fail "C-MOVE cancel: status '$st', $n of 16 sent, remaining '$rem'"
	net_show "$NET_TMP/cancel.log" 20
fi
# ---- 11. two C-MOVEs at once
rm -f "$NET_TMP/scp"/*
m par1 -S -aem DEST -k QueryRetrieveLevel=STUDY -k "StudyInstanceUID=$many" &
p1=$!
m par2 -S -aem DEST -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$study" &
p2=$!
wait $p1
wait $p2
n=$(ls "$NET_TMP/scp" | wc -l | tr -d ' ')
st1=$(final_status par1)
st2=$(final_status par2)
if [ "$st1" = "0000" ] && [ "$st2" = "0000" ] && [ "$n" = 20 ]; then
	ok "two C-MOVEs at once: both 0x0000, 20 instances delivered"
else
	fail "two C-MOVEs at once: statuses '$st1' '$st2', $n of 20 delivered"
	net_show "$NET_TMP/par1.log" 10
fi
recs=$(grep -c 'retrieve: C-MOVE by "MOVESCU"' "$NET_TMP/arcad.log")
if [ "$recs" = 6 ] && grep -q 'retrieve: C-MOVE by "MOVESCU" to "DEST": study '"$study"', 4 instances; 0x0000' "$NET_TMP/arcad.log"; then
	ok "one retrieve record per C-MOVE"
else
	fail "C-MOVE retrieve records: $recs"
	grep 'retrieve:' "$NET_TMP/arcad.log" | sed 's/^/     | /'
fi
net_stop "$scp"

net_stop "$arcad"
if [ "$NET_STATUS" = 0 ] && ! grep -q 'ERROR: AddressSanitizer\|runtime error:' "$NET_TMP/arcad.log"; then
	ok "arcad exited 0, no sanitizer report"
else
	fail "arcad exit status $NET_STATUS"
	net_show "$NET_TMP/arcad.log" 20
fi
net_done
