#!/bin/sh
# transcode_vs_dcmtk.sh - `arca transcode` checked against other decoders on
# every sample file of $ARCA_SAMPLES (skipped when the folder is absent).
#
# For each file with Pixel Data:
#  1. arca transcode IN -> Explicit VR LE; DCMTK's dcmdump reads the result,
#     and its pixels equal those of the reference decoder run on IN:
#     dcmdrle (RLE), dcmdjpeg (JPEG), dcmdjpls (JPEG-LS), gdcmconv --raw
#     (JPEG 2000), IN itself when native.  Photometric Interpretation must
#     agree too.  JPEG and JPEG-LS go through DCMTK's own codecs in arca, so
#     equality there is exact by construction; RLE is arca's own code and
#     JPEG 2000 goes through OpenJPEG as GDCM's does, and they must be exact
#     as well (lossless decoding is deterministic; for lossy JPEG 2000 both
#     run the same OpenJPEG inverse transform).
#  2. That result -> RLE -> Explicit VR LE and -> JPEG 2000 lossless ->
#     Explicit VR LE give the same pixels again, and DCMTK decodes arca's
#     RLE (dcmdrle) and GDCM arca's JPEG 2000 (gdcmconv --raw) to the same
#     pixels.  A conversion arca refuses must say "not supported" (bit depths
#     the codec does not take: 1-bit, 32-bit for JPEG 2000, ...).
# Files arca refuses on purpose are listed in `expected_refusal` with why.
set -u

S=${ARCA_SAMPLES:-}
ARCA=${ARCA_BUILDDIR:-.}/tools/arca
PIXCMP=${ARCA_SRCDIR:-.}/tests/pixcmp.py
if [ -z "$S" ] || [ ! -d "$S" ]; then
	echo "SKIP: ARCA_SAMPLES not set or absent"
	exit 77
fi
for tool in dcmdump dcmdrle dcmdjpeg dcmdjpls gdcmconv python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool not installed"
		exit 77
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
failures=0
checked=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# expected_refusal FILE: prints the reason arca refuses FILE, or nothing.
expected_refusal() {
	case "$1" in
	*/pydicom/MR_truncated.dcm) echo "file truncated inside Pixel Data" ;;
	*/pydicom/empty_charset_LEI.dcm) echo "no SOP Class UID: no Part 10 file can be written" ;;
	*/fo-dicom/genFile.dcm) echo "its JPEG fragment holds zeros, not a JPEG stream (DCMTK refuses it too)" ;;
	*/fo-dicom/multiframe.dcm) echo "edge tiles are JPEG frames smaller than Rows x Columns; dcmdjpeg" \
		"copies them with the wrong row stride, arca refuses the frame" ;;
	esac
}

# expected_encode_refusal FILE: why arca cannot encode FILE's pixels, or nothing.
expected_encode_refusal() {
	case "$1" in
	*/fo-dicom/GH1146.dcm) echo "its Pixel Data is empty: nothing to encode" ;;
	esac
}

# attr FILE TAG: the first value of TAG (strings without brackets).
attr() {
	dcmdump -q -Un +P "$2" "$1" 2>/dev/null | head -n 1 | awk '{ v = $3; gsub(/[][]/, "", v); print v }'
}

# raw FILE: writes the top-level pixel data of FILE (the largest of the
# values dcmdump +W writes, icons being smaller) to a fresh directory and
# prints its path.
raw() {
	d=$(mktemp -d "$tmp/raw.XXXXXX")
	dcmdump -q +W "$d" "$1" >/dev/null 2>&1 || return 1
	ls -S "$d"/*.raw 2>/dev/null | head -n 1
}

# pixattrs FILE: "samples photometric planar bits frames rows columns" of
# the top-level Image Pixel Module, in one dcmdump run.
pixattrs() {
	dcmdump -q -Un +P 0028,0002 +P 0028,0004 +P 0028,0006 +P 0028,0100 +P 0028,0008 \
		+P 0028,0010 +P 0028,0011 "$1" 2>/dev/null | awk '
		{ v = $3; gsub(/[][]/, "", v); if (!($1 in a)) a[$1] = v }
		END { printf "%s %s %s %s %s %s %s\n", d(a["(0028,0002)"], 1), d(a["(0028,0004)"], "-"),
			d(a["(0028,0006)"], 0), d(a["(0028,0100)"], 0), d(a["(0028,0008)"], 1),
			d(a["(0028,0010)"], 0), d(a["(0028,0011)"], 0) }
		function d(v, dflt) { return v == "" ? dflt : v }'
}

# same_pixels A B WHAT: the pixel data of the native files A and B agree.
same_pixels() {
	a=$1 b=$2 what=$3
	set -- $(pixattrs "$a")
	spp=$1 pia=$2 pca=$3 ba=$4 frames=$5 rows=$6 cols=$7
	set -- $(pixattrs "$b")
	pib=$2 pcb=$3
	if [ "$pia" != "$pib" ]; then
		fail "$what: Photometric Interpretation $pia != $pib"
		return 1
	fi
	ra=$(raw "$a") && rb=$(raw "$b") || { fail "$what: dcmdump +W failed"; return 1; }
	cmp -s "$ra" "$rb" && return 0
	if [ "$ba" -lt 8 ]; then
		fail "$what: pixel bytes differ"
		return 1
	fi
	python3 "$PIXCMP" "$ra" "$pca" "$rb" "$pcb" "$spp" $((ba / 8)) "$frames" "$rows" "$cols" ||
		{ fail "$what: pixels differ"; return 1; }
	return 0
}

# reference IN OUT: decodes IN with another toolkit into OUT (native).
reference() {
	case "$(attr "$1" 0002,0010)" in
	1.2.840.10008.1.2.5) dcmdrle "$1" "$2" >/dev/null 2>&1 ;;
	1.2.840.10008.1.2.4.5[0-7] | 1.2.840.10008.1.2.4.70) dcmdjpeg +px "$1" "$2" >/dev/null 2>&1 ;;
	1.2.840.10008.1.2.4.8[01]) dcmdjpls +px "$1" "$2" >/dev/null 2>&1 ;;
	1.2.840.10008.1.2.4.9[01]) gdcmconv --raw "$1" "$2" >/dev/null 2>&1 ;;
	*) cp "$1" "$2" ;;
	esac
}

# roundtrip NATIVE NAME: NATIVE -> NAME -> explicit equals NATIVE; the peer
# decoder agrees on arca's encoding.
roundtrip() {
	src=$1 name=$2 label=$3
	enc="$tmp/enc.dcm" back="$tmp/back.dcm" peer="$tmp/peer.dcm"
	rm -f "$enc" "$back" "$peer"
	if ! "$ARCA" transcode "$src" "$enc" --ts "$name" 2>"$tmp/err"; then
		grep -q "not supported" "$tmp/err" || fail "$label -> $name: $(cat "$tmp/err")"
		return
	fi
	dcmdump -q "$enc" >/dev/null 2>&1 || fail "$label -> $name: dcmdump cannot read the result"
	if ! "$ARCA" transcode "$enc" "$back" --ts explicit 2>"$tmp/err"; then
		fail "$label -> $name -> explicit: $(cat "$tmp/err")"
		return
	fi
	same_pixels "$src" "$back" "$label -> $name -> explicit"
	case "$name" in
	rle) dcmdrle "$enc" "$peer" >/dev/null 2>&1 || fail "$label -> rle: dcmdrle refuses arca's RLE" ;;
	j2k-lossless) gdcmconv --raw "$enc" "$peer" >/dev/null 2>&1 ||
		fail "$label -> j2k-lossless: gdcmconv refuses arca's JPEG 2000" ;;
	esac
	[ -f "$peer" ] && same_pixels "$src" "$peer" "$label -> $name, decoded by the peer"
}

for f in $(find "$S" -type f ! -name '*.md' | LC_ALL=C sort); do
	dcmdump -q +P 7fe0,0010 "$f" 2>/dev/null | grep -q 7fe0 || continue
	label=${f#"$S"/}
	out="$tmp/explicit.dcm" ref="$tmp/ref.dcm"
	rm -f "$out" "$ref"
	why=$(expected_refusal "$f")
	if ! "$ARCA" transcode "$f" "$out" --ts explicit 2>"$tmp/err"; then
		if [ -z "$why" ]; then
			fail "$label -> explicit: $(cat "$tmp/err")"
		else
			echo "ok: $label refused as expected ($why)"
		fi
		continue
	fi
	[ -z "$why" ] || fail "$label was expected to be refused ($why) but converted"
	checked=$((checked + 1))
	dcmdump -q "$out" >/dev/null 2>&1 || fail "$label -> explicit: dcmdump cannot read the result"
	if reference "$f" "$ref"; then
		same_pixels "$ref" "$out" "$label -> explicit vs reference decoder"
	else
		echo "note: $label: the reference decoder refuses this file; arca converted it"
	fi
	why=$(expected_encode_refusal "$f")
	if [ -n "$why" ]; then
		echo "ok: $label not encoded ($why)"
		continue
	fi
	roundtrip "$out" rle "$label"
	roundtrip "$out" j2k-lossless "$label"
done

echo "$checked files converted and compared, $failures failures"
[ "$failures" -eq 0 ]
