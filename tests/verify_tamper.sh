#!/bin/bash
# verify_tamper.sh - `arca verify`, `arca chain verify` and `arca gc` on an
# archive that arcad filled over DICOM and that is then damaged on purpose
# (issue 4: "a flipped byte in any chunk must be found"; issue 5: "a chunk
# of a stored study altered (study hash no longer matches)"):
#
#   1. study A (4 instances sharing one pixel chunk: the same pixels in
#      four transfer syntaxes) and study B (1 instance) stored; verify and
#      chain verify exit 0 while arcad runs, also while it ingests 20 more;
#   2. one byte of B's pixel chunk flipped: verify exits 1 naming B's
#      instance, its series, its study and the chunk; chain verify exits 1
#      naming B's study hash; restored: exit 0;
#   3. B's pixel chunk deleted: named as missing;
#   4. B's manifest (its address read from the index) corrupted: named;
#   5. an index row's instance hash changed: the row is named;
#   6. a valid chunk that nothing references (written in the chunk format
#      of docs/storage-format.md 2, by python): garbage, not a fault;
#      gc --dry-run counts it, gc refuses while arcad runs (exit 2), then
#      removes it with arcad stopped, and keeps every referenced chunk;
#   6b. a study whose last store event covers only its first instance
#      (the second stored by an arcad without its key, as if killed before
#      its chain append): a warning naming the entry, exit 0; --study, and
#      the arca:verify event it records;
#   7. dedup: one of A's four instances removed from the index: gc removes
#      its manifest only, the pixel chunk the other three share survives
#      and they still rebuild intact (verify names no damaged instance;
#      A's study hash on the chain no longer matches, and is named).
#
# Skipped (77) when DCMTK or python3 is missing.
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init verify_tamper
net_require storescu echoscu dump2dcm dcmdump python3 sha256sum

root=$NET_TMP/root
port=$(net_free_port)
if ! "$ARCA" init --root "$root" --port "$port" --aet ARCA >"$NET_TMP/init.log" 2>&1; then
	echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
	exit 1
fi
start_arcad() {
	net_start "$1" "$ARCAD" --root "$root"
	arcad=$NET_PID
	if ! net_wait_dicom "$arcad" "$port" ARCA; then
		net_show "$NET_TMP/$1.log"
		fail "arcad did not start ($1)"
		
# ---------------------------------------------------------------- usage
usage_ok=0
for args in "verify --bogus" "verify --threads 0" "verify --root" "gc --bogus" "gc extra" \
	"verify --root $NET_TMP/nowhere" "gc --root $NET_TMP/nowhere" "chain verify --bogus"; do
	# shellcheck disable=SC2086 # words on purpose
	"$ARCA" $args >"$NET_TMP/usage.out" 2>&1
	st=$?
	if [ $st -eq 2 ] && [ "$(wc -l <"$NET_TMP/usage.out")" -eq 1 ]; then
		usage_ok=$((usage_ok + 1))
	else
		fail "arca $args: exit $st, $(wc -l <"$NET_TMP/usage.out") lines: $(head -2 "$NET_TMP/usage.out")"
	fi
done
[ "$usage_ok" -eq 8 ] && ok "bad usage and a missing archive: exit 2 with one line"
net_done
		exit 1
	fi
}
uid_of() { # FILE TAG
	dcmdump -q +P "$2" "$1" 2>/dev/null | sed -n 's/.*\[\(.*\)\].*/\1/p' | head -1 | tr -d ' '
}
chunk_path() { # HEX: the chunk file, whatever the store's layout
	find "$root/chunks" -path "$root/chunks/tmp" -prune -o -type f -name "$1" -print | head -1
}
flip() { # FILE: xor one byte two thirds into it
	python3 - "$1" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) * 2 // 3] ^= 0x40
open(p, 'wb').write(b)
PY
}
verify() { # LABEL: runs arca verify, output in $NET_TMP/LABEL.out, status in $vstatus
	"$ARCA" verify --root "$root" --no-event >"$NET_TMP/$1.out" 2>&1
	vstatus=$?
}
chain_verify() {
	"$ARCA" chain verify --root "$root" >"$NET_TMP/$1.out" 2>&1
	cstatus=$?
}
expect_ok() { # LABEL
	verify "$1"
	if [ "$vstatus" -eq 0 ] && grep -q "^OK: no fault found" "$NET_TMP/$1.out"; then
		ok "$1: arca verify exits 0"
	else
		fail "$1: arca verify exits $vstatus"
		net_show "$NET_TMP/$1.out"
	fi
}
expect_line() { # LABEL PATTERN DESCRIPTION
	if grep -q -- "$2" "$NET_TMP/$1.out"; then
		ok "$1: $3"
	else
		fail "$1: $3: no line matches '$2'"
		net_show "$NET_TMP/$1.out"
	fi
}

# ---------------------------------------------------------------- 1. store
start_arcad arcad
net_gen "$NET_TMP/a" 200 a || exit 1
net_gen "$NET_TMP/b" 256 b || exit 1
if ! storescu -aet TAMPER -aec ARCA 127.0.0.1 "$port" "$NET_TMP"/a/*.dcm "$NET_TMP/b/b-te.dcm" \
	>"$NET_TMP/store.log" 2>&1; then
	fail "storescu: $(tail -3 "$NET_TMP/store.log")"
fi
study_a=$(uid_of "$NET_TMP/a/a-te.dcm" 0020,000d)
study_b=$(uid_of "$NET_TMP/b/b-te.dcm" 0020,000d)
series_b=$(uid_of "$NET_TMP/b/b-te.dcm" 0020,000e)
sop_b=$(uid_of "$NET_TMP/b/b-te.dcm" 0008,0018)
sop_a1=$(uid_of "$NET_TMP/a/a-ti.dcm" 0008,0018)
# native pixel data of one frame of 64 KiB or more is one chunk
# (docs/storage-format.md 8): its address is the SHA-256
# of the pixel bytes (little endian, as the generator wrote them)
px_a=$(sha256sum <"$NET_TMP/a.px" | cut -c1-64)
px_b=$(sha256sum <"$NET_TMP/b.px" | cut -c1-64)
if [ -f "$(chunk_path "$px_a")" ] && [ -f "$(chunk_path "$px_b")" ]; then
	ok "the pixel chunks of A (shared by 4 instances) and B are stored at their SHA-256"
else
	fail "pixel chunks $px_a / $px_b not found under $root/chunks"
fi
expect_ok running
chain_verify chain-running
if [ "$cstatus" -eq 0 ] && grep -q "2 study hashes match the store" "$NET_TMP/chain-running.out"; then
	ok "arca chain verify exits 0 while arcad runs: 2 study hashes match the store"
else
	fail "arca chain verify exits $cstatus: $(cat "$NET_TMP/chain-running.out")"
fi
"$ARCA" verify --root "$root" --no-event --json >"$NET_TMP/json.out" 2>&1
if python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
c = d["counts"]
assert d["ok"] is True and d["faults"] == [], d
assert c["instances"] == 5 and c["studies"] == 2 and c["damaged_instances"] == 0, c
assert c["referenced_chunks"] == 7, c   # 5 manifests + 2 pixel chunks
assert d["chain"]["result"] == "intact", d["chain"]' "$NET_TMP/json.out"; then
	ok "--json: ok, 5 instances, 2 studies, 7 referenced chunks (dedup), chain intact"
else
	fail "--json: $(head -c 600 "$NET_TMP/json.out")"
fi

# verify beside an ingest in progress: rows, chunks and chain events
# appear while it reads; nothing of that is a fault
for i in 1 2 3 4 5; do net_gen "$NET_TMP/c" 256 "c$i" || exit 1; done
storescu -aet TAMPER -aec ARCA 127.0.0.1 "$port" "$NET_TMP"/c/*.dcm >"$NET_TMP/store-c.log" 2>&1 &
sender=$!
runs=0 bad=0
while kill -0 "$sender" 2>/dev/null || [ "$runs" -eq 0 ]; do
	runs=$((runs + 1))
	"$ARCA" verify --root "$root" --no-event --quiet >"$NET_TMP/concurrent.out" 2>&1 || {
		bad=$((bad + 1))
		net_show "$NET_TMP/concurrent.out"
	}
done
wait "$sender"
if [ "$bad" -eq 0 ]; then
	ok "arca verify beside an ingest in progress: $runs runs, all exit 0"
else
	fail "arca verify beside an ingest: $bad of $runs runs exit non-zero"
fi

# ---------------------------------------------------------------- 2. flipped byte
f=$(chunk_path "$px_b")
cp "$f" "$NET_TMP/px_b.bak"
flip "$f"
verify flipped
if [ "$vstatus" -eq 1 ]; then ok "flipped byte: arca verify exits 1"; else fail "flipped byte: arca verify exits $vstatus"; fi
expect_line flipped "^DAMAGED instance $sop_b (series $series_b, study $study_b): chunk damaged: chunk $px_b" \
	"names the instance, its series, its study and the chunk"
expect_line flipped "^DAMAGED study $study_b: 1 of its 1 instances" "names the damaged study"
if grep "^DAMAGED" "$NET_TMP/flipped.out" | grep -q "$study_a"; then
	fail "flipped byte: study A named too"
fi
chain_verify chain-flipped
if [ "$cstatus" -eq 1 ] && grep -q "study $study_b: study hash no longer matches the store" "$NET_TMP/chain-flipped.out"; then
	ok "flipped byte: arca chain verify exits 1 naming study B's hash"
else
	fail "flipped byte: arca chain verify exits $cstatus: $(cat "$NET_TMP/chain-flipped.out")"
fi
cp "$NET_TMP/px_b.bak" "$f"
expect_ok restored

# ---------------------------------------------------------------- 3. missing chunk
rm -f "$f"
verify missing
[ "$vstatus" -eq 1 ] && ok "missing chunk: exit 1" || fail "missing chunk: exit $vstatus"
expect_line missing "^DAMAGED instance $sop_b .*chunk missing: chunk $px_b is missing" "names the missing chunk"
cp "$NET_TMP/px_b.bak" "$f"

# ---------------------------------------------------------------- 4. manifest
manifest_b=$(python3 -c 'import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute("SELECT hex(manifest) FROM instances WHERE sop_uid = ?", (sys.argv[2],)).fetchone()[0].lower())' \
	"$root/index.db" "$sop_b")
m=$(chunk_path "$manifest_b")
if [ -f "$m" ]; then
	cp "$m" "$NET_TMP/manifest.bak"
	flip "$m"
	verify manifest
	[ "$vstatus" -eq 1 ] && ok "corrupt manifest: exit 1" || fail "corrupt manifest: exit $vstatus"
	expect_line manifest "^DAMAGED instance $sop_b (series $series_b, study $study_b): manifest damaged: manifest $manifest_b" \
		"names the instance whose manifest is damaged"
	cp "$NET_TMP/manifest.bak" "$m"
else
	fail "manifest of $sop_b ($manifest_b) not found"
fi
expect_ok manifest-restored

# ---------------------------------------------------------------- 5. index row
net_stop "$arcad" # its last connection checkpoints the WAL into index.db
cp "$root/index.db" "$NET_TMP/index.bak"
python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE instances SET hash = zeroblob(32) WHERE sop_uid = ?", (sys.argv[2],))
db.commit()' "$root/index.db" "$sop_b"
verify index-row
[ "$vstatus" -eq 1 ] && ok "changed index row: exit 1" || fail "changed index row: exit $vstatus"
expect_line index-row "^DAMAGED instance $sop_b .*manifest disagrees with the index" "names the row that disagrees with its manifest"
cp "$NET_TMP/index.bak" "$root/index.db"
rm -f "$root/index.db-wal" "$root/index.db-shm"
expect_ok index-restored

# ---------------------------------------------------------------- 6. garbage and gc
start_arcad arcad2
orphan=$(python3 - "$root" <<'PY'
import hashlib, os, struct, sys, zlib
# docs/storage-format.md 2: a raw chunk (flags 0), P = S, CRC-32 of the
# file without its own 4 bytes
data = os.urandom(3000)
h = hashlib.sha256(data).hexdigest()
head = b"ARCH" + bytes([1, 0, 0, 0]) + struct.pack("<QQ", len(data), len(data))
crc = zlib.crc32(head + b"\0\0\0\0" + data)
# docs/storage-format.md 1: chunks/ab/<address> in a store with cas.layout
d = os.path.join(sys.argv[1], "chunks", h[0:2])
os.makedirs(d, exist_ok=True)
open(os.path.join(d, h), "wb").write(head + struct.pack("<I", crc) + b"\0\0\0\0" + data)
print(h)
PY
)
expect_ok garbage
expect_line garbage "1 unreferenced" "an unreferenced chunk is reported as garbage, not as damage"
"$ARCA" gc --root "$root" --dry-run >"$NET_TMP/gc-dry.out" 2>&1
if [ $? -eq 0 ] && grep -q "would remove 1 unreferenced" "$NET_TMP/gc-dry.out" && [ -f "$(chunk_path "$orphan")" ]; then
	ok "gc --dry-run: would remove 1, removes nothing"
else
	fail "gc --dry-run: $(cat "$NET_TMP/gc-dry.out")"
fi
"$ARCA" gc --root "$root" >"$NET_TMP/gc-busy.out" 2>&1
st=$?
if [ $st -eq 2 ] && grep -q "open in another process" "$NET_TMP/gc-busy.out" && [ -f "$(chunk_path "$orphan")" ]; then
	ok "gc refuses (exit 2) while arcad has the store open"
else
	fail "gc beside arcad: exit $st: $(cat "$NET_TMP/gc-busy.out")"
fi
# --online beside arcad: the orphan was written just now, so it stays;
# set two hours back it goes (a copy is put back for the offline run)
"$ARCA" gc --root "$root" --online >"$NET_TMP/gc-online.out" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q "removed 0 unreferenced" "$NET_TMP/gc-online.out" &&
	grep -q "1 unreferenced chunk files .* stay, stored or reused within the grace period" "$NET_TMP/gc-online.out" &&
	[ -f "$(chunk_path "$orphan")" ]; then
	ok "gc --online beside arcad keeps an unreferenced chunk younger than the grace period"
else
	fail "gc --online (young orphan): exit $st: $(cat "$NET_TMP/gc-online.out")"
fi
orphan_file=$(chunk_path "$orphan")
cp -p "$orphan_file" "$NET_TMP/orphan.copy"
touch -d '2 hours ago' "$orphan_file"
"$ARCA" gc --root "$root" --online --grace 60 >"$NET_TMP/gc-online2.out" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q "removed 1 unreferenced" "$NET_TMP/gc-online2.out" && [ ! -e "$orphan_file" ] &&
	[ -f "$(chunk_path "$px_a")" ] && [ -f "$(chunk_path "$px_b")" ] && [ -f "$m" ]; then
	ok "gc --online beside arcad removes an unreferenced chunk older than the grace period, keeps the referenced"
else
	fail "gc --online (old orphan): exit $st: $(cat "$NET_TMP/gc-online2.out")"
fi
"$ARCA" gc --root "$root" --grace 5 >"$NET_TMP/gc-grace.out" 2>&1
if [ $? -eq 2 ] && grep -q "\-\-grace goes with \-\-online" "$NET_TMP/gc-grace.out"; then
	ok "gc --grace without --online: exit 2"
else
	fail "gc --grace without --online: $(cat "$NET_TMP/gc-grace.out")"
fi
cp -p "$NET_TMP/orphan.copy" "$orphan_file"
net_stop "$arcad"
"$ARCA" gc --root "$root" >"$NET_TMP/gc.out" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q "removed 1 unreferenced" "$NET_TMP/gc.out" && [ ! -e "$(chunk_path "$orphan")" ] &&
	[ -f "$(chunk_path "$px_a")" ] && [ -f "$(chunk_path "$px_b")" ] && [ -f "$m" ]; then
	ok "gc removes the unreferenced chunk and keeps the referenced ones"
else
	fail "gc: exit $st: $(cat "$NET_TMP/gc.out")"
fi
expect_ok after-gc

# ---------------------------------------------------------------- 6b. chain behind
# study D: its first instance stored with a store event; its second by an
# arcad without its node key (no chain events), as when arcad dies between
# its index commit and the chain append: a warning that names the entry,
# not a fault
net_gen "$NET_TMP/d" 256 d || exit 1
study_d=$(uid_of "$NET_TMP/d/d-te.dcm" 0020,000d)
start_arcad arcad3
storescu -aet TAMPER -aec ARCA 127.0.0.1 "$port" "$NET_TMP/d/d-te.dcm" >"$NET_TMP/store-d1.log" 2>&1 ||
	fail "storescu d1: $(tail -2 "$NET_TMP/store-d1.log")"
net_stop "$arcad"
mv "$root/keys/node.key" "$NET_TMP/node.key"
start_arcad arcad4
storescu -aet TAMPER -aec ARCA 127.0.0.1 "$port" "$NET_TMP/d/d-ti.dcm" >"$NET_TMP/store-d2.log" 2>&1 ||
	fail "storescu d2: $(tail -2 "$NET_TMP/store-d2.log")"
net_stop "$arcad"
mv "$NET_TMP/node.key" "$root/keys/node.key"
verify behind
if [ "$vstatus" -eq 0 ] &&
	grep -q "^warning: study $study_d: entry [0-9]* covers its first 1 instances (hash matches); 1 more were indexed after it" \
		"$NET_TMP/behind.out"; then
	ok "a study the chain records with its first instance only: a warning naming the entry, exit 0"
else
	fail "chain behind: arca verify exits $vstatus"
	net_show "$NET_TMP/behind.out"
fi
chain_verify chain-behind
if [ "$cstatus" -eq 0 ] && grep -q "(1 studies hold instances indexed after their last store event)" "$NET_TMP/chain-behind.out"; then
	ok "arca chain verify: exit 0, says one study holds instances indexed after its last store event"
else
	fail "chain behind: arca chain verify exits $cstatus: $(cat "$NET_TMP/chain-behind.out")"
fi

# ---------------------------------------------------------------- --study, and the verify event
"$ARCA" verify --root "$root" --study "$study_b" >"$NET_TMP/study.out" 2>&1
st=$?
"$ARCA" chain log --root "$root" >"$NET_TMP/log.out" 2>&1
if [ $st -eq 0 ] && grep -q "^storage: 1 instances" "$NET_TMP/study.out" &&
	tail -1 "$NET_TMP/log.out" | grep -q "arca:verify.* E success.*study=$study_b .*instances=1"; then
	ok "verify --study: that study only, exit 0, recorded as an arca:verify event naming it"
else
	fail "verify --study: exit $st: $(cat "$NET_TMP/study.out"); last entry: $(tail -1 "$NET_TMP/log.out")"
fi
"$ARCA" verify --root "$root" --study 2.25.999999 >"$NET_TMP/study-unknown.out" 2>&1
st=$?
if [ $st -eq 2 ] && grep -q "not in the index" "$NET_TMP/study-unknown.out"; then
	ok "verify --study of an unknown study: exit 2, named"
else
	fail "verify --study unknown: exit $st: $(cat "$NET_TMP/study-unknown.out")"
fi

t0=$(net_now)
"$ARCA" verify --root "$root" --study "$study_d" --no-event --quiet --max-rate 0.2 >"$NET_TMP/rate.out" 2>&1
st=$?
took=$(awk -v a="$t0" -v b="$(net_now)" 'BEGIN { printf "%.2f", b - a }')
# study D: two instances of 131 KB, 0.26 MB at 0.2 MB/s
if [ $st -eq 0 ] && awk -v t="$took" 'BEGIN { exit !(t >= 1.0) }'; then
	ok "--max-rate 0.2: 0.26 MB verified in $took s"
else
	fail "--max-rate: exit $st in $took s: $(cat "$NET_TMP/rate.out")"
fi

# ---------------------------------------------------------------- 7. dedup
python3 - "$root/index.db" "$sop_a1" <<'PY'
import sqlite3, sys
# an instance removed from the index with its counts, as a deletion would
db = sqlite3.connect(sys.argv[1])
pk, series, cls = db.execute("SELECT pk, series_pk, sop_class FROM instances WHERE sop_uid = ?", (sys.argv[2],)).fetchone()
study, = db.execute("SELECT study_pk FROM series WHERE pk = ?", (series,)).fetchone()
patient, = db.execute("SELECT patient_pk FROM studies WHERE pk = ?", (study,)).fetchone()
db.execute("DELETE FROM instances WHERE pk = ?", (pk,))
db.execute("UPDATE series SET n_instances = n_instances - 1 WHERE pk = ?", (series,))
db.execute("UPDATE studies SET n_instances = n_instances - 1 WHERE pk = ?", (study,))
db.execute("UPDATE patients SET n_instances = n_instances - 1 WHERE pk = ?", (patient,))
db.execute("UPDATE study_sop_classes SET n_instances = n_instances - 1 WHERE study_pk = ? AND sop_class = ?", (study, cls))
db.commit()
PY
"$ARCA" gc --root "$root" >"$NET_TMP/gc2.out" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q "removed 1 unreferenced.*1 of them manifests" "$NET_TMP/gc2.out" && [ -f "$(chunk_path "$px_a")" ]; then
	ok "dedup: gc removes the dropped instance's manifest, the pixel chunk its 3 siblings share survives"
else
	fail "dedup gc: exit $st: $(cat "$NET_TMP/gc2.out")"
fi
verify dedup
if [ "$vstatus" -eq 1 ] && ! grep -q "^DAMAGED instance" "$NET_TMP/dedup.out" &&
	grep -q "^DAMAGED study $study_a: study hash recomputed from the store" "$NET_TMP/dedup.out" &&
	grep -q "3 instances" "$NET_TMP/dedup.out"; then
	ok "dedup: the 3 remaining instances rebuild intact; A's hash no longer matches the chain, and is named"
else
	fail "dedup verify: exit $vstatus"
	net_show "$NET_TMP/dedup.out"
fi

# ---------------------------------------------------------------- usage
usage_ok=0
for args in "verify --bogus" "verify --threads 0" "verify --root" "gc --bogus" "gc extra" \
	"verify --root $NET_TMP/nowhere" "gc --root $NET_TMP/nowhere" "chain verify --bogus"; do
	# shellcheck disable=SC2086 # words on purpose
	"$ARCA" $args >"$NET_TMP/usage.out" 2>&1
	st=$?
	if [ $st -eq 2 ] && [ "$(wc -l <"$NET_TMP/usage.out")" -eq 1 ]; then
		usage_ok=$((usage_ok + 1))
	else
		fail "arca $args: exit $st, $(wc -l <"$NET_TMP/usage.out") lines: $(head -2 "$NET_TMP/usage.out")"
	fi
done
[ "$usage_ok" -eq 8 ] && ok "bad usage and a missing archive: exit 2 with one line"
net_done
