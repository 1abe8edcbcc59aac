#!/bin/sh
# dump_vs_dcmdump.sh - `arca dump --full` against DCMTK's dcmdump on every
# file under $ARCA_SAMPLES: both listings are reduced to (nesting path, tag,
# VR, value) tuples by tests/dumpcmp.py and must agree on every element,
# apart from the known differences listed below, each with its reason.
# Files arca must reject are checked for exit status 2 and a one-line
# error naming the byte offset.
#
# Skipped (exit 77) when the samples, dcmdump or python3 are missing.
set -u

srcdir=${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${ARCA_BUILDDIR:-.}
samples=${ARCA_SAMPLES:-}
arca=$builddir/tools/arca

if [ -z "$samples" ] || [ ! -d "$samples" ]; then
	echo "SKIP: no sample folder (ARCA_SAMPLES='$samples')"
	exit 77
fi
if ! command -v dcmdump >/dev/null 2>&1; then
	echo "SKIP: dcmdump (Debian package dcmtk) not installed"
	exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 not installed"
	exit 77
fi
if [ ! -x "$arca" ]; then
	echo "FAIL: $arca not built"
	exit 1
fi

# Known differences, one per line: FILE|RULE|REASON
#   FILE  path relative to $ARCA_SAMPLES
#   RULE  words, any of:
#         fails             arca must reject the file (exit 2, one line naming the offset)
#         no-dcmdump        dcmdump cannot read the file: only arca's success is checked
#         raw-text          dcmdump cannot convert the character set: it runs without
#                           +U8 and only its ASCII text values are compared
#         ignore-errors     dcmdump needs +E and exits non-zero, but lists everything
#         --allow KIND:TAG  a difference dumpcmp.py accepts (KIND vr, value, only-arca,
#                           only-dcmdump, any)
KNOWN=$(cat <<'EOF'
charset/chrH31.dcm|raw-text|dcmdump +U8 cannot open ISO 2022 IR 87 with glibc iconv ("not supported by the utilized character set conversion library")
charset/chrH32.dcm|raw-text|dcmdump +U8 cannot open ISO 2022 IR 13 and IR 87 with glibc iconv
charset/chrSQEncoding.dcm|raw-text|dcmdump +U8 fails on the item that has its own Specific Character Set ("Invalid or incomplete multibyte")
gdcm/00191113.dcm|--allow value:fffe,e000|a pixel fragment has the odd length 81511: dcmdump pads it with a zero byte, arca shows the bytes stored
fo-dicom/GH1339.dcm|ignore-errors|encapsulated Pixel Data ends without its Sequence Delimitation Item: dcmdump lists it all but exits 1, arca accepts the end of file there
fo-dicom/GH179A.dcm|--allow vr:0028,0120 --allow value:0028,0120|(0028,0120) has the non-standard VR "  ": dcmdump keeps it as unknown bytes, arca takes the dictionary VR (xs, SS as Pixel Representation is 1)
pydicom/MR_small_jp2klossless.dcm|--allow vr:7fe0,0010|encapsulated Pixel Data sent with VR OW: arca shows the VR in the file, dcmdump always shows a pixel sequence as OB
pydicom/MR_small_jpeg_ls_lossless.dcm|--allow vr:7fe0,0010|encapsulated Pixel Data sent with VR OW (as above)
pydicom/SC_rgb_rle_16bit.dcm|--allow vr:7fe0,0010|encapsulated Pixel Data sent with VR OW (as above)
pydicom/MR_truncated.dcm|fails|the file ends inside Pixel Data (8192 bytes declared, fewer present)
pydicom/no_meta.dcm|no-dcmdump|a stray byte precedes the data set: dcmdump reads (0820,0500) with a huge length, arca probes past the byte
EOF
)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dumpcmp.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

known_rule() {
	printf '%s\n' "$KNOWN" | awk -F'|' -v f="$1" '$1 == f { print $2; exit }'
}
known_reason() {
	printf '%s\n' "$KNOWN" | awk -F'|' -v f="$1" '$1 == f { print $3; exit }'
}

# Every rule must name a sample that exists, so the list cannot rot.
stale=0
for f in $(printf '%s\n' "$KNOWN" | awk -F'|' 'NF { print $1 }'); do
	if [ ! -f "$samples/$f" ]; then
		echo "FAIL: known difference for missing sample $f"
		stale=1
	fi
done

set -f
files=$(cd "$samples" && find . -type f ! -name README.md | sed 's|^\./||' | LC_ALL=C sort)
total=0 passed=0 failed=0 allowed=0
for rel in $files; do
	total=$((total + 1))
	file=$samples/$rel
	rule=$(known_rule "$rel")
	case $rule in
	fails)
		"$arca" dump --full "$file" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		lines=$(wc -l <"$tmp/err")
		if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] &&
		   grep -q "^arca dump: .*$rel: .*offset [0-9][0-9]*" "$tmp/err"; then
			passed=$((passed + 1))
			echo "ok   $rel: rejected as expected ($(known_reason "$rel")): $(cat "$tmp/err")"
		else
			failed=$((failed + 1))
			echo "FAIL $rel: expected exit 2 and one line naming the offset; got exit $rc:"
			sed 's/^/     /' "$tmp/err" | head -5
		fi
		continue
		;;
	no-dcmdump)
		if "$arca" dump --full "$file" >"$tmp/out" 2>"$tmp/err"; then
			passed=$((passed + 1))
			allowed=$((allowed + 1))
			echo "ok   $rel: read by arca; not compared ($(known_reason "$rel"))"
		else
			failed=$((failed + 1))
			echo "FAIL $rel: arca dump failed: $(cat "$tmp/err")"
		fi
		continue
		;;
	esac
	u8=+U8 cmpopts="" ignore_errors=no
	for word in $rule; do
		case $word in
		raw-text) u8="" cmpopts="$cmpopts --raw-text" ;;
		ignore-errors) ignore_errors=yes ;;
		*) cmpopts="$cmpopts $word" ;;
		esac
	done
	if ! "$arca" dump --full "$file" >"$tmp/arca" 2>"$tmp/err"; then
		failed=$((failed + 1))
		echo "FAIL $rel: arca dump failed: $(head -1 "$tmp/err")"
		continue
	fi
	# shellcheck disable=SC2086 # $u8 is empty or one option
	if [ "$ignore_errors" = yes ]; then
		dcmdump +E +L $u8 -Un +Qn -q "$file" >"$tmp/dcmdump" 2>"$tmp/derr"
	elif ! dcmdump +L $u8 -Un +Qn -q "$file" >"$tmp/dcmdump" 2>"$tmp/derr"; then
		failed=$((failed + 1))
		echo "FAIL $rel: dcmdump failed on a file not listed as known: $(head -1 "$tmp/derr")"
		continue
	fi
	# shellcheck disable=SC2086 # cmpopts is a list of options
	if python3 "$srcdir/tests/dumpcmp.py" $cmpopts "$tmp/arca" "$tmp/dcmdump" >"$tmp/diff" 2>&1; then
		passed=$((passed + 1))
		if [ -n "$rule" ]; then
			allowed=$((allowed + 1))
			echo "ok   $rel (known: $(known_reason "$rel")) $(cat "$tmp/diff")"
		fi
	else
		failed=$((failed + 1))
		echo "FAIL $rel:"
		sed 's/^/     /' "$tmp/diff"
	fi
done

echo "dump_vs_dcmdump: $total files, $passed agree ($allowed with a known difference), $failed differ"
[ "$failed" -eq 0 ] && [ "$stale" -eq 0 ]
