#!/bin/sh
# import_export.sh - `arca import`, `arca export` and `arca ls` end to end.
#
# Instances are generated with DCMTK's dump2dcm (net_gen: one study of
# four instances, one per uncompressed transfer syntax, with identical
# 256x256 16-bit pixel data), so that arca's own writer cannot hide a bug;
# dcmodify adds the keys a DICOMDIR record needs and one patient per study.
#   1. dedup: the four instances store their pixel data once (the chunk
#      store holds 4 manifests + 1 pixel chunk).
#   2. a folder with the four, two text files (one named in Latin-1), a
#      truncated DICOM file, a data set without SOP Class UID and one
#      without Patient ID: the JSON summary (valid UTF-8) counts 4
#      imported, 2 not DICOM, 1 unreadable, 1 refused, 1 quarantined (each
#      named), exit 1; the text summary names them.
#   3. the same folder again: 4 duplicates, exit 1 (the bad files still).
#   4. a .zip, a .tar.gz and a .tar of another study: 4 imported from the
#      zip, then 4 duplicates from each of the others; nested archive named.
#   5. a DICOMDIR made by DCMTK dcmmkdir over a third study: its file
#      imported (peer media); DICOMDIR files inside a folder walk skipped;
#      a record naming another SOP Instance UID than its file is noted.
#   6. $ARCA_SAMPLES/dicomdir/DICOMDIR (when present): its 31 referenced
#      files imported, and the big-endian and implicit variants give 31
#      duplicates each; the samples folder imports with MR_truncated named;
#      samples/pydicom as a folder, a .zip and a .tar.gz give the same counts.
#   7. arca ls: patients, studies, series, counts (text and JSON);
#      --study unknown exits 1.
#   8. export of study 1 to a folder, a .tar, a .tar.gz and a .zip: the
#      same bytes in all four; each file's data set equals what arcad
#      sends on C-GET (dcmdump, meta group aside) and the original's pixel
#      data; sha256 of an exported file is stable across exports; --ts
#      1.2.840.10008.1.2 writes Implicit VR files of the same instances.
#   9. export --dicomdir: dcmdump reads the DICOMDIR, every record offset
#      points at a record, DCMTK dcmmkdir +U accepts it unchanged, and it
#      re-imports into an empty archive as the same instances (exported
#      again: byte for byte the first export); to a .zip: the same File-set.
#  10. a file sent by storescu to a running arcad and the same file
#      imported (--ae STORESCU) into the same archive while arcad runs:
#      one instance (a duplicate); imported as IMPORT: a new version, still
#      one instance in arca ls.
#  11. bad usage: unknown study (exit 1, named, nothing written), bad UID,
#      missing --out, an existing archive as --out, a folder that already
#      holds the files (left as they were), a missing PATH, an unknown
#      option (exit 2); a named file that is not DICOM (exit 1).
#  12. when this build records provenance events: one DCM 110107 Import per
#      study imported (peer: the path's name, or media for a DICOMDIR) and
#      one DCM 110106 Export per study exported (peer: the output's name).
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init import_export
net_require dump2dcm dcmdump dcmodify storescu getscu python3

T=$NET_TMP
uid_of() {
	dcmdump -q +P "$1" "$2" | sed -n 's/^[^[]*\[\(.*\)\].*$/\1/p' | head -1
}
# jget FILE KEY: an integer member of a JSON summary
jget() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}
# jproblem FILE KIND SUBSTRING: a problem of that kind whose path has SUBSTRING
jproblem() {
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if any(p["kind"] == sys.argv[2] and sys.argv[3] in p["path"] for p in d["problems"]) else 1)' "$1" "$2" "$3"
}
chunks() {
	find "$1/chunks" -path "$1/chunks/tmp" -prune -o -type f -print | wc -l
}
values() {
	dcmdump -q +L +U8 "$1" 2>/dev/null | grep -v '^(0002,' | grep -v '^#' | grep -v '^$' | grep -v 'Delimitation' |
		sed -e 's/ *#.*$//' -e 's/ with \(undefined\|explicit\) length//'
}
new_root() {
	if ! "$ARCA" init --root "$1" --port "${2:-11112}" >"$T/init.log" 2>&1; then
		echo "FAIL: arca init: $(cat "$T/init.log")"
		exit 1
	fi
}

# ---------------------------------------------------------------- data
net_gen "$T/s1" 256 ct || exit 1
net_gen "$T/s2" 64 zz || exit 1
net_gen "$T/s3" 64 dd || exit 1
# the keys a DICOMDIR record needs (PS3.3 F.5), which net_gen leaves out,
# and one patient per study (net_gen gives each instance its own)
for s in 1 2; do
	for f in "$T/s$s"/*.dcm; do
		dcmodify -q -nb -i "(0008,0030)=101500" -i "(0020,0010)=77" -i "(0020,0011)=3" \
			-m "(0010,0020)=PID$s" "$f" >/dev/null 2>&1
	done
done
study1=$(uid_of 0020,000d "$T/s1/ct-te.dcm")
study2=$(uid_of 0020,000d "$T/s2/zz-te.dcm")

# ---------------------------------------------------------------- 1. dedup
root=$T/dedup
new_root "$root"
"$ARCA" import --root "$root" --quiet "$T/s1" >"$T/dedup.log" 2>&1
n=$(chunks "$root")
if [ "$n" = 5 ]; then
	ok "dedup: 4 instances with the same pixel data: 4 manifests + 1 pixel chunk"
else
	fail "dedup: $n chunk files, expected 5"
fi

# ---------------------------------------------------------------- 2. a folder with problems
root=$T/root
new_root "$root"
mkdir -p "$T/f1/sub"
cp "$T/s1"/*.dcm "$T/f1/"
echo "not an image" >"$T/f1/README.txt"
echo "not an image either" >"$T/f1/notes-$(printf '\351').txt"
head -c 20000 "$T/s1/ct-te.dcm" >"$T/f1/sub/truncated.dcm"
cat >"$T/noclass.dump" <<DUMP
(0008,0018) UI [$study1.77]
(0010,0020) LO [X1]
(0020,000d) UI [$study1]
(0020,000e) UI [$study1.0]
DUMP
dump2dcm -q +te "$T/noclass.dump" "$T/f1/sub/noclass.dcm" 2>/dev/null
cat >"$T/nopid.dump" <<DUMP
(0008,0016) UI =SecondaryCaptureImageStorage
(0008,0018) UI [$study1.78]
(0008,0060) CS [OT]
(0020,000d) UI [$study1.7]
(0020,000e) UI [$study1.7.0]
DUMP
dump2dcm -q +te "$T/nopid.dump" "$T/f1/sub/nopid.dcm" 2>/dev/null
ln -s .. "$T/f1/sub/loop"
"$ARCA" import --root "$root" --json "$T/f1" >"$T/i1.json" 2>"$T/i1.err"
st=$?
if [ $st = 1 ] && [ "$(jget "$T/i1.json" imported)" = 4 ] && [ "$(jget "$T/i1.json" not_dicom)" = 2 ] &&
	jproblem "$T/i1.json" not_dicom "notes-?.txt" &&
	[ "$(jget "$T/i1.json" unreadable)" = 1 ] && [ "$(jget "$T/i1.json" refused)" = 1 ] &&
	[ "$(jget "$T/i1.json" quarantined)" = 1 ] && [ "$(jget "$T/i1.json" studies)" = 1 ] &&
	jproblem "$T/i1.json" unreadable truncated.dcm && jproblem "$T/i1.json" refused noclass.dcm &&
	jproblem "$T/i1.json" quarantined nopid.dcm && jproblem "$T/i1.json" not_dicom README.txt; then
	ok "folder (with a link loop): 4 imported, not DICOM / unreadable / refused / quarantined counted and named, exit 1"
else
	fail "folder import: exit $st, $(tr -d '\n ' <"$T/i1.json" | cut -c1-300)"
	cat "$T/i1.err"
fi
if [ -n "$(find "$root/quarantine" -path "*$study1.78*" 2>/dev/null | head -1)" ]; then
	ok "the refused instance is kept under ROOT/quarantine"
else
	fail "$study1.78 is not under ROOT/quarantine"
fi

# ---------------------------------------------------------------- 3. again
"$ARCA" import --root "$root" "$T/f1" >"$T/i2.txt" 2>&1
st=$?
if [ $st = 1 ] && grep -q '^already present (duplicates): 4$' "$T/i2.txt" && grep -q '^imported: 0 ' "$T/i2.txt" &&
	grep -q 'truncated.dcm: ' "$T/i2.txt" && grep -q 'noclass.dcm: SOP Class UID (0008,0016) missing' "$T/i2.txt"; then
	ok "re-import: 4 duplicates, the problems named in the text summary"
else
	fail "re-import: exit $st"
	sed 's/^/     | /' "$T/i2.txt"
fi
"$ARCA" import --root "$root" --quiet "$T/s1" >"$T/i3.txt" 2>&1
st=$?
if [ $st = 0 ] && [ ! -s "$T/i3.txt" ]; then
	ok "--quiet import of duplicates only: exit 0, nothing printed"
else
	fail "--quiet: exit $st, $(cat "$T/i3.txt")"
fi

# ---------------------------------------------------------------- 4. archives
(cd "$T/s2" && zip -q "$T/s2.zip" ./*.dcm && tar czf "$T/s2.tar.gz" ./*.dcm && tar cf "$T/s2.tar" ./*.dcm) ||
	skip "zip or tar missing"
"$ARCA" import --root "$root" --json "$T/s2.zip" >"$T/z.json" 2>&1
st=$?
"$ARCA" import --root "$root" --json "$T/s2.tar.gz" "$T/s2.tar" >"$T/t.json" 2>&1
st2=$?
if [ $st = 0 ] && [ "$(jget "$T/z.json" imported)" = 4 ] && [ $st2 = 0 ] && [ "$(jget "$T/t.json" duplicates)" = 8 ]; then
	ok ".zip: 4 imported; .tar.gz and .tar: 8 duplicates"
else
	fail "archives: exit $st/$st2, $(tr -d '\n ' <"$T/z.json" | cut -c1-200) $(tr -d '\n ' <"$T/t.json" | cut -c1-200)"
fi
# a file name that is not UTF-8 (Latin-1): the event's peer is made valid
latin="$T/caf$(printf '\351').zip"
cp "$T/s2.zip" "$latin"
new_root "$T/latin"
"$ARCA" import --root "$T/latin" --json "$latin" >"$T/l.json" 2>&1
st=$?
if [ $st = 0 ] && [ "$(jget "$T/l.json" imported)" = 4 ] && [ "$(jget "$T/l.json" events)" = 1 ]; then
	ok "an archive whose name is not UTF-8: imported, its study's event recorded"
else
	fail "Latin-1 archive name: exit $st $(tr -d '\n ' <"$T/l.json" | cut -c1-300)"
fi
(cd "$T" && zip -q nested.zip s2.zip)
"$ARCA" import --root "$root" --json "$T/nested.zip" >"$T/n.json" 2>&1
st=$?
if [ $st = 1 ] && jproblem "$T/n.json" unreadable "nested.zip:s2.zip"; then
	ok "an archive inside an archive is named, not silently skipped"
else
	fail "nested archive: exit $st, $(tr -d '\n ' <"$T/n.json" | cut -c1-300)"
fi

# ---------------------------------------------------------------- 5. DICOMDIR by dcmmkdir
if command -v dcmmkdir >/dev/null 2>&1; then
	mkdir -p "$T/media/DICOM"
	cp "$T/s3/dd-te.dcm" "$T/media/DICOM/IM000001"
	if (cd "$T/media" && dcmmkdir -q +I +r DICOM) >"$T/mk.log" 2>&1; then
		"$ARCA" import --root "$root" --json "$T/media/DICOMDIR" >"$T/m.json" 2>&1
		st=$?
		"$ARCA" import --root "$root" --json "$T/media" >"$T/m2.json" 2>&1
		st2=$?
		if [ $st = 0 ] && [ "$(jget "$T/m.json" imported)" = 1 ] && [ $st2 = 0 ] &&
			[ "$(jget "$T/m2.json" duplicates)" = 1 ] && [ "$(jget "$T/m2.json" dicomdir_skipped)" = 1 ]; then
			ok "DICOMDIR by dcmmkdir: its file imported; in a folder walk the DICOMDIR is skipped"
			# a record naming another SOP Instance UID than its file: noted
			# (the UID patched in place, same length: dcmodify rewrites a DICOMDIR's meta)
			cp -r "$T/media" "$T/media2"
			python3 - "$T/media2/DICOMDIR" "$(uid_of 0008,0018 "$T/media/DICOM/IM000001")" <<'PY'
import sys
path, uid = sys.argv[1], sys.argv[2].encode()
data = open(path, "rb").read()
other = uid[:-1] + (b"1" if uid[-1:] != b"1" else b"2")
assert data.count(uid) == 1
open(path, "wb").write(data.replace(uid, other))
PY
			"$ARCA" import --root "$root" --json "$T/media2/DICOMDIR" >"$T/m3.json" 2>&1
			st=$?
			if [ $st = 0 ] && [ "$(jget "$T/m3.json" notes)" = 1 ] && [ "$(jget "$T/m3.json" duplicates)" = 1 ] &&
				jproblem "$T/m3.json" notes IM000001; then
				ok "a DICOMDIR record whose SOP Instance UID is not its file's is noted (the file's is stored)"
			else
				fail "DICOMDIR record mismatch: exit $st $(tr -d '\n ' <"$T/m3.json" | cut -c1-300)"
			fi
		else
			fail "dcmmkdir DICOMDIR: exit $st/$st2 $(tr -d '\n ' <"$T/m.json" | cut -c1-200)"
		fi
	else
		fail "dcmmkdir: $(cat "$T/mk.log")"
	fi
fi

# ---------------------------------------------------------------- 6. samples
S=${ARCA_SAMPLES:-}
if [ -n "$S" ] && [ -f "$S/dicomdir/DICOMDIR" ]; then
	sroot=$T/samples
	new_root "$sroot"
	"$ARCA" import --root "$sroot" --json "$S/dicomdir/DICOMDIR" >"$T/sd.json" 2>&1
	st=$?
	"$ARCA" import --root "$sroot" --json "$S/dicomdir/DICOMDIR-bigEnd" "$S/dicomdir/DICOMDIR-implicit" \
		>"$T/sd2.json" 2>&1
	st2=$?
	if [ $st = 0 ] && [ "$(jget "$T/sd.json" imported)" = 31 ] && [ $st2 = 0 ] &&
		[ "$(jget "$T/sd2.json" duplicates)" = 62 ]; then
		ok "samples: DICOMDIR imports its 31 files; the big-endian and implicit DICOMDIRs give 62 duplicates"
	else
		fail "samples DICOMDIR: exit $st/$st2 $(tr -d '\n ' <"$T/sd.json" | cut -c1-300)"
	fi
	"$ARCA" import --root "$sroot" --json "$S" >"$T/sa.json" 2>&1
	st=$?
	if [ $st = 1 ] && [ "$(jget "$T/sa.json" imported)" -ge 40 ] && jproblem "$T/sa.json" unreadable MR_truncated.dcm &&
		jproblem "$T/sa.json" not_dicom README.md; then
		ok "samples folder: $(jget "$T/sa.json" imported) imported, MR_truncated.dcm named unreadable"
	else
		fail "samples folder: exit $st $(tr -d '\n ' <"$T/sa.json" | cut -c1-300)"
	fi
	# the same files through a .zip and a .tar.gz: the same outcome as the folder
	if [ -d "$S/pydicom" ]; then
		(cd "$S" && zip -qr "$T/samples.zip" pydicom && tar czf "$T/samples.tgz" pydicom)
		for a in folder zip tgz; do
			new_root "$T/s-$a"
		done
		"$ARCA" import --root "$T/s-folder" --json "$S/pydicom" >"$T/sf.json" 2>&1
		"$ARCA" import --root "$T/s-zip" --json "$T/samples.zip" >"$T/sz.json" 2>&1
		"$ARCA" import --root "$T/s-tgz" --json "$T/samples.tgz" >"$T/st.json" 2>&1
		if python3 - "$T/sf.json" "$T/sz.json" "$T/st.json" <<'PY'
import json, sys
keys = ("imported", "duplicates", "new_versions", "quarantined", "refused", "unreadable", "not_dicom", "studies")
f, z, t = (json.load(open(p)) for p in sys.argv[1:])
assert f["imported"] > 10, f
for k in keys:
    assert f[k] == z[k] == t[k], (k, f[k], z[k], t[k])
PY
		then
			ok "samples/pydicom as a folder, a .zip and a .tar.gz: the same counts ($(jget "$T/sf.json" imported) imported)"
		else
			fail "samples/pydicom folder vs archives differ"
		fi
	fi
else
	echo "skip: no \$ARCA_SAMPLES/dicomdir (samples part only)"
fi

# ---------------------------------------------------------------- 7. ls
"$ARCA" ls --root "$root" --json >"$T/ls.json" 2>&1
st=$?
if [ $st = 0 ] && python3 - "$T/ls.json" "$study1" "$study2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
studies = {s["StudyInstanceUID"]: s for p in d for s in p["studies"]}
s1, s2 = studies[sys.argv[2]], studies[sys.argv[3]]
assert s1["instances"] == 4 and len(s1["series"]) == 1 and s1["ModalitiesInStudy"] == "CT", s1
assert s2["instances"] == 4 and s1["bytes"] > 4 * 131072, s1
assert sum(p["instances"] for p in d) == sum(s["instances"] for s in studies.values())
PY
then
	ok "arca ls --json: studies with their series, counts, modalities and sizes"
else
	fail "arca ls --json: exit $st"
fi
"$ARCA" ls --root "$root" --study "$study1" >"$T/ls.txt" 2>&1
if grep -q "^  study $study1  20260102 101500 .*1 series, 4 instances" "$T/ls.txt" &&
	[ "$(grep -c '^patient PID1 ' "$T/ls.txt")" = 1 ] && [ "$(grep -c '^patient ' "$T/ls.txt")" = 1 ]; then
	ok "arca ls --study: the study under its patient, with its counts"
else
	fail "arca ls --study: $(cat "$T/ls.txt")"
fi
"$ARCA" ls --root "$root" --study 1.2.3.4.5 >"$T/ls2.txt" 2>&1
st=$?
if [ $st = 1 ] && grep -q '1.2.3.4.5 is not in the archive' "$T/ls2.txt"; then
	ok "arca ls --study of an unknown study: exit 1, named"
else
	fail "arca ls unknown study: exit $st $(cat "$T/ls2.txt")"
fi

# ---------------------------------------------------------------- 8. export
out=$T/out
mkdir -p "$out"
if "$ARCA" export --root "$root" --study "$study1" --out "$out/dir" >"$T/e1.log" 2>&1 &&
	"$ARCA" export --root "$root" --study "$study1" --out "$out/s1.tar" >>"$T/e1.log" 2>&1 &&
	"$ARCA" export --root "$root" --study "$study1" --out "$out/s1.tar.gz" >>"$T/e1.log" 2>&1 &&
	"$ARCA" export --root "$root" --study "$study1" --out "$out/s1.zip" >>"$T/e1.log" 2>&1; then
	mkdir -p "$out/x-tar" "$out/x-tgz" "$out/x-zip"
	tar xf "$out/s1.tar" -C "$out/x-tar" && tar xzf "$out/s1.tar.gz" -C "$out/x-tgz" &&
		(cd "$out/x-zip" && unzip -q ../s1.zip)
	files=$(cd "$out/dir" && find . -type f | LC_ALL=C sort)
	bad=0
	for f in $files; do
		for x in x-tar x-tgz x-zip; do
			cmp -s "$out/dir/$f" "$out/$x/$f" || bad=1
		done
	done
	if [ "$(echo "$files" | grep -c .)" = 4 ] && [ $bad = 0 ] && [ -z "$(find "$out" -name '*.part-*')" ]; then
		ok "export to a folder, .tar, .tar.gz and .zip: 4 instances, the same bytes in each"
	else
		fail "export: $(echo "$files" | grep -c .) files, differences $bad"
	fi
	echo "$files" | grep -q '^./PID1_20260102/3/4.dcm$' && ok "export names: PATIENTID_STUDYDATE/SERIESNUMBER/INSTANCE.dcm" ||
		fail "export names: $files"
	"$ARCA" export --root "$root" --study "$study1" --out "$out/again" >/dev/null 2>&1
	a=$(cd "$out/dir" && find . -type f -exec sha256sum {} + | LC_ALL=C sort)
	b=$(cd "$out/again" && find . -type f -exec sha256sum {} + | LC_ALL=C sort)
	[ "$a" = "$b" ] && ok "a second export has the same SHA-256 per file" || fail "second export differs"
	# pixel data as sent
	bad=0
	for f in "$T/s1"/*.dcm; do
		n=$(uid_of 0020,0013 "$f")
		mkdir -p "$T/px-a" "$T/px-b"
		dcmdump -q +W "$T/px-a" "$f" >/dev/null 2>&1
		mkdir -p "$T/px-a" "$T/px-b"
		dcmdump -q +W "$T/px-b" "$(find "$out/dir" -name "$n.dcm")" >/dev/null 2>&1
		cmp -s "$T/px-a"/*.raw "$T/px-b"/*.raw 2>/dev/null || bad=1
		rm -rf "$T/px-a" "$T/px-b"
	done
	[ $bad = 0 ] && ok "exported pixel data equals the original's" || fail "exported pixel data differs"
	# --ts: converted on the way out
	if "$ARCA" export --root "$root" --study "$study1" --ts 1.2.840.10008.1.2 --out "$out/implicit" >/dev/null 2>&1; then
		f=$(find "$out/implicit" -name 2.dcm)
		mkdir -p "$T/px-a" "$T/px-b"
		dcmdump -q +W "$T/px-a" "$out/dir/PID1_20260102/3/2.dcm" >/dev/null 2>&1
		dcmdump -q +W "$T/px-b" "$f" >/dev/null 2>&1
		if dcmdump -q "$f" | grep -q '(0002,0010) UI =LittleEndianImplicit' && cmp -s "$T/px-a"/*.raw "$T/px-b"/*.raw &&
			[ "$(uid_of 0008,0018 "$f")" = "$(uid_of 0008,0018 "$out/dir/PID1_20260102/3/2.dcm")" ]; then
			ok "export --ts 1.2.840.10008.1.2: Implicit VR Little Endian files, same instance, same pixels"
		else
			fail "export --ts: $(dcmdump -q "$f" 2>&1 | grep 0002,0010)"
		fi
		rm -rf "$T/px-a" "$T/px-b"
	else
		fail "export --ts 1.2.840.10008.1.2"
	fi
else
	fail "export: $(cat "$T/e1.log")"
fi

# ---------------------------------------------------------------- 9. export --dicomdir
if "$ARCA" export --root "$root" --study "$study1" --study "$study2" --dicomdir --out "$out/media" >"$T/e2.log" 2>&1 &&
	dcmdump -q "$out/media/DICOMDIR" >"$T/dd.txt" 2>&1; then
	if python3 - "$out/media/DICOMDIR" <<'PY'
import struct, sys
# every non-zero record offset must point at an item tag (FFFE,E000)
data = open(sys.argv[1], "rb").read()
def ul_values(tag):
    out, i = [], 0
    while True:
        i = data.find(tag, i)
        if i < 0:
            return out
        if data[i + 4:i + 6] == b"UL":
            out.append(struct.unpack("<I", data[i + 8:i + 12])[0])
        i += 1
offs = [o for t in (b"\x04\x00\x00\x14", b"\x04\x00\x20\x14", b"\x04\x00\x00\x12", b"\x04\x00\x02\x12") for o in ul_values(t) if o]
assert offs, "no offsets"
for o in offs:
    assert data[o:o + 4] == b"\xfe\xff\x00\xe0", o
PY
	then
		ok "export --dicomdir: dcmdump reads the DICOMDIR, every record offset points at a record"
	else
		fail "DICOMDIR offsets"
	fi
	if command -v dcmmkdir >/dev/null 2>&1; then
		cp -r "$out/media" "$out/media-check"
		before=$(grep -c 'Directory Record' "$T/dd.txt")
		(cd "$out/media-check" && dcmmkdir +U +r DICOM) >"$T/mkc.log" 2>&1
		after=$(dcmdump -q "$out/media-check/DICOMDIR" | grep -c 'Directory Record')
		if [ "$before" = "$after" ] && [ "$before" -ge 12 ] && ! grep -q '^[WE]:' "$T/mkc.log"; then
			ok "DCMTK dcmmkdir +U reads the DICOMDIR and finds nothing to add ($before records)"
		else
			fail "dcmmkdir +U: $before records, then $after; $(head -3 "$T/mkc.log")"
		fi
	fi
	"$ARCA" export --root "$root" --study "$study1" --study "$study2" --dicomdir --out "$out/media.zip" >/dev/null 2>&1
	mkdir -p "$out/mz" && (cd "$out/mz" && unzip -q ../media.zip)
	a=$(cd "$out/media" && find . -type f ! -name DICOMDIR -exec sha256sum {} + | LC_ALL=C sort)
	b=$(cd "$out/mz" && find . -type f ! -name DICOMDIR -exec sha256sum {} + | LC_ALL=C sort)
	if [ -f "$out/mz/DICOMDIR" ] && [ "$a" = "$b" ] && [ "$(echo "$b" | grep -c .)" = 8 ]; then
		ok "export --dicomdir to a .zip: the same File-set, DICOMDIR included"
	else
		fail "export --dicomdir to a .zip"
	fi
	root2=$T/root2
	new_root "$root2"
	"$ARCA" import --root "$root2" --json "$out/media/DICOMDIR" >"$T/r2.json" 2>&1
	st=$?
	"$ARCA" export --root "$root2" --study "$study1" --out "$out/dir2" >/dev/null 2>&1
	a=$(cd "$out/dir" && find . -type f -exec sha256sum {} + | cut -d' ' -f1 | LC_ALL=C sort)
	b=$(cd "$out/dir2" && find . -type f -exec sha256sum {} + | cut -d' ' -f1 | LC_ALL=C sort)
	if [ $st = 0 ] && [ "$(jget "$T/r2.json" imported)" = 8 ] && [ "$a" = "$b" ]; then
		ok "the DICOMDIR File-set re-imports as the same instances (exported again: the same bytes)"
	else
		fail "DICOMDIR re-import: exit $st $(tr -d '\n ' <"$T/r2.json" | cut -c1-200)"
	fi
else
	fail "export --dicomdir: $(cat "$T/e2.log" "$T/dd.txt" 2>/dev/null | head -5)"
fi

# ---------------------------------------------------------------- 10. C-STORE and import are one instance
port=$(net_free_port)
root3=$T/root3
new_root "$root3" "$port"
net_gen "$T/s4" 256 sc || exit 1
net_start arcad "$ARCAD" --root "$root3"
arcad=$NET_PID
if net_wait_dicom "$arcad" "$port" ARCA; then
	if storescu -aet STORESCU -aec ARCA 127.0.0.1 "$port" "$T/s4/sc-te.dcm" >"$T/ss.log" 2>&1; then
		"$ARCA" import --root "$root3" --ae STORESCU --json "$T/s4/sc-te.dcm" >"$T/c1.json" 2>&1
		st=$?
		if [ $st = 0 ] && [ "$(jget "$T/c1.json" duplicates)" = 1 ]; then
			ok "storescu then import (--ae STORESCU) into the running arcad's archive: one instance (a duplicate)"
		else
			fail "storescu + import: exit $st $(tr -d '\n ' <"$T/c1.json" | cut -c1-200)"
		fi
		"$ARCA" import --root "$root3" --json "$T/s4/sc-te.dcm" >"$T/c2.json" 2>&1
		s4=$(uid_of 0020,000d "$T/s4/sc-te.dcm")
		"$ARCA" ls --root "$root3" --study "$s4" --json >"$T/c3.json" 2>&1
		if [ "$(jget "$T/c2.json" new_versions)" = 1 ] &&
			python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[0]["studies"][0]["instances"] == 1' "$T/c3.json"; then
			ok "imported as IMPORT (another Source AE Title): a new version, still one instance"
		else
			fail "import as IMPORT: $(tr -d '\n ' <"$T/c2.json" | cut -c1-200)"
		fi
		# export bytes against what arcad sends on C-GET
		"$ARCA" import --root "$root3" --quiet "$T/s1" >/dev/null 2>&1
		"$ARCA" export --root "$root3" --study "$study1" --out "$T/gx" >/dev/null 2>&1
		mkdir -p "$T/get"
		getscu -S -aec ARCA -od "$T/get" -k 0008,0052=STUDY -k 0020,000d="$study1" 127.0.0.1 "$port" >"$T/get.log" 2>&1
		bad=0
		nget=0
		for f in "$T/get"/*; do
			[ -f "$f" ] || continue
			nget=$((nget + 1))
			n=$(uid_of 0020,0013 "$f")
			values "$f" >"$T/va.txt"
			values "$(find "$T/gx" -name "$n.dcm")" >"$T/vb.txt"
			cmp -s "$T/va.txt" "$T/vb.txt" || { bad=1; diff "$T/va.txt" "$T/vb.txt" | head -4; }
		done
		if [ $nget = 4 ] && [ $bad = 0 ]; then
			ok "each exported instance's data set equals what arcad sends on C-GET"
		else
			fail "C-GET vs export: $nget received, differences $bad"
			net_show "$T/get.log"
		fi
	else
		fail "storescu: $(tail -3 "$T/ss.log")"
	fi
else
	fail "arcad did not start"
	net_show "$T/arcad.log"
fi
net_stop "$arcad"

# ---------------------------------------------------------------- 12. provenance events
"$ARCA" chain log --root "$root" >"$T/log.txt" 2>&1
if [ -s "$T/log.txt" ] && grep -q 'DCM:' "$T/log.txt"; then
	imports=$(grep -c 'DCM:110107 (Import)  C success  ae=IMPORT  user=' "$T/log.txt")
	if [ "$imports" -ge 3 ] && grep -q "DCM:110107.* study=$study1 .*instances=4 .*peer=f1\$" "$T/log.txt" &&
		grep -q "DCM:110107.* study=$study2 .*instances=4 .*peer=s2.zip\$" "$T/log.txt" &&
		grep -q 'DCM:110107.*peer=media$' "$T/log.txt" &&
		grep -q "DCM:110106 (Export)  R success .* study=$study1 .*instances=4 .*peer=s1.tar\$" "$T/log.txt" &&
		[ "$(grep -c "DCM:110106 (Export) .* study=$study2 " "$T/log.txt")" = 2 ]; then
		ok "provenance: an Import event per study imported (peer = the path's name or media), an Export event per study exported"
	else
		fail "provenance events: $imports imports; $(grep 'DCM:1101' "$T/log.txt" | head -4)"
	fi
else
	echo "skip: this build records no provenance events (arca_event.c)"
fi

# ---------------------------------------------------------------- 11. bad usage
"$ARCA" export --root "$root" --study 1.2.3.4.5 --out "$T/none" >"$T/u1.log" 2>&1
st=$?
if [ $st = 1 ] && grep -q 'study 1.2.3.4.5 is not in the archive' "$T/u1.log" && [ ! -e "$T/none" ]; then
	ok "export of an unknown study: exit 1, named, nothing written"
else
	fail "export unknown study: exit $st $(cat "$T/u1.log")"
fi
bad=0
"$ARCA" export --root "$root" --study 1.2.x --out "$T/none" >/dev/null 2>&1; [ $? = 2 ] || bad=1
"$ARCA" export --root "$root" --study "$study1" >/dev/null 2>&1; [ $? = 2 ] || bad=2
"$ARCA" export --root "$root" --study "$study1" --out "$out/s1.tar" >/dev/null 2>&1; [ $? = 2 ] || bad=3
"$ARCA" import --root "$root" "$T/does-not-exist" >/dev/null 2>&1; [ $? = 2 ] || bad=4
"$ARCA" import --root "$root" --bogus "$T/s1" >/dev/null 2>&1; [ $? = 2 ] || bad=5
"$ARCA" import --root "$root" >/dev/null 2>&1; [ $? = 2 ] || bad=6
"$ARCA" import --root "$root" "$T/f1/README.txt" >"$T/u2.log" 2>&1; [ $? = 1 ] || bad=7
before=$(cd "$out/dir" && find . -type f -exec sha256sum {} + | LC_ALL=C sort)
"$ARCA" export --root "$root" --study "$study1" --out "$out/dir" >"$T/u3.log" 2>&1; [ $? = 2 ] || bad=8
after=$(cd "$out/dir" && find . -type f -exec sha256sum {} + | LC_ALL=C sort)
[ "$before" = "$after" ] && grep -q 'exists: not overwritten' "$T/u3.log" || bad=9
[ $bad = 0 ] && ok "bad usage exits 2 (bad UID, no --out, existing archive, a folder holding the files already: untouched, missing PATH, unknown option); a named non-DICOM file 1" ||
	fail "bad usage case $bad"

net_done
