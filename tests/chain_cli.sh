#!/bin/sh
# chain_cli.sh - the node identity and `arca chain` commands end to end, on
# temporary archives:
#
#   1. arca init: keys (modes 0700/0600/0644), the empty log; a second init
#      and an init over left-over keys refused; arcad's default archive
#      gets the same keys and log.
#   2. arca node show: name, AE, public key = node.pub, fingerprint =
#      SHA-256 of the key (computed here with openssl/sha256sum), --json;
#      exit 1 for a node.key readable by others.
#   3. arca chain append (maintenance), arca chain log: readable lines,
#      --study, --since, --json values (the patient only as the HMAC
#      pseudonym, recomputed here from consortium.key); arca chain verify.
#   4. arca chain proof / check-proof: the bundle verifies (also with
#      tests/proof_ref.py, no arca code); one byte changed in the entry, a
#      proof hash, the checkpoint's signature, the index: exit 1; another
#      node's key: exit 1.
#   5. tampering found by arca chain verify (exit 1, naming the entry and
#      commit): an entry changed and the ref moved to the rewritten commit;
#      pack bytes corrupted; the ref deleted; the history replaced by one
#      signed with another key; node.pub replaced.
#   6. usage errors: exit 2 with one line on stderr.
#
# Needs git and python3 (skipped, 77, without them).
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init chain_cli
net_require git python3
T=$NET_TMP
A=$T/a
H1=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
H2=60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
have_crypto=no
python3 -c 'import cryptography' 2>/dev/null && have_crypto=yes

# check DESC WANT_STATUS CMD...: runs CMD, output in $T/out and $T/err.
check() {
	desc=$1 want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$desc (exit $got)"
		return 0
	fi
	fail "$desc: exit $got, expected $want"
	net_show "$T/out" 5
	net_show "$T/err" 5
	return 1
}

# has FILE TEXT DESC: FILE contains TEXT (fixed string).
has() {
	if grep -qF -- "$2" "$1"; then
		ok "$3"
	else
		fail "$3: no \"$2\" in"
		net_show "$1" 8
	fi
}

one_line() { # DESC: $T/err is exactly one line
	if [ "$(wc -l <"$T/err")" -eq 1 ]; then
		ok "$1: one line on stderr"
	else
		fail "$1: $(wc -l <"$T/err") lines on stderr"
		net_show "$T/err" 5
	fi
}

mode_of() {
	stat -c %a "$1"
}

# flip FILE OFFSET OUT [CHAR]: OUT is FILE with the byte at OFFSET changed
# (to CHAR, or to A, or B if it was A).
flip() {
	python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
i, c = int(sys.argv[2]), ord(sys.argv[4]) if len(sys.argv) > 4 else ord("A")
b[i] = c if b[i] != c else ord("B")
open(sys.argv[3], "wb").write(b)' "$@"
}

# ------------------------------------------------------------ 1. arca init
check "init creates the archive" 0 "$ARCA" init --root "$A" --node node-a --aet ARCA_A
has "$T/out" "fingerprint" "init prints the key's fingerprint"
for f in keys:700 keys/node.key:600 keys/consortium.key:600 keys/node.pub:644; do
	path=$A/${f%:*} want=${f#*:}
	got=$(mode_of "$path" 2>/dev/null || echo none)
	if [ "$got" = "$want" ]; then ok "mode of ${f%:*} is $want"; else fail "mode of ${f%:*} is $got, expected $want"; fi
done
if [ "$(wc -c <"$A/keys/consortium.key")" -eq 32 ]; then ok "consortium.key holds 32 bytes"; else fail "consortium.key is not 32 bytes"; fi
if [ -d "$A/chain/log.git/objects" ] && [ -f "$A/chain/log.git/HEAD" ]; then
	ok "chain/log.git is a bare repository"
else
	fail "no bare repository at chain/log.git"
fi
pub_before=$(cat "$A/keys/node.pub")
check "a second init is refused" 2 "$ARCA" init --root "$A" --node node-a
one_line "second init"
if [ "$(cat "$A/keys/node.pub")" = "$pub_before" ]; then ok "the node key is unchanged"; else fail "the node key changed"; fi
cp -a "$A" "$T/left"
rm "$T/left/arca.conf"
check "init over left-over keys is refused" 2 "$ARCA" init --root "$T/left" --node node-a
has "$T/err" "node.key" "the refusal names the key file"

# arcad creating a default archive (no arca.conf): the same keys and log.
port=$(net_free_port)
net_start arcad "$ARCAD" --root "$T/d" --port "$port"
apid=$NET_PID
if net_wait_tcp "$apid" "$port"; then
	ok "arcad started on a new root"
	for f in keys/node.key keys/node.pub keys/consortium.key chain/log.git/HEAD; do
		if [ -f "$T/d/$f" ]; then ok "arcad's default archive has $f"; else fail "arcad's default archive lacks $f"; fi
	done
	check "verify on arcad's default archive" 0 "$ARCA" chain verify --root "$T/d"
else
	fail "arcad did not start on a new root"
	net_show "$NET_TMP/arcad.log"
fi
net_stop "$apid"

# ------------------------------------------------------------ 2. node show
check "node show" 0 "$ARCA" node show --root "$A"
cp "$T/out" "$T/show"
has "$T/show" "node              node-a" "node show: node name"
has "$T/show" "ae                ARCA_A" "node show: AE title"
has "$T/show" "public key        $pub_before" "node show: public key = node.pub"
fp=$(python3 -c 'import base64, hashlib, sys; print(hashlib.sha256(base64.b64decode(sys.argv[1])).hexdigest())' "$pub_before")
has "$T/show" "fingerprint       $fp" "node show: fingerprint = SHA-256 of the key"
short=$(echo "$fp" | cut -c1-16)
has "$T/show" "short fingerprint $short" "node show: short fingerprint"
has "$T/show" "key file          $A/keys/node.key (mode 0600)" "node show: key file and mode"
check "node show --json" 0 "$ARCA" node show --root "$A" --json
if python3 -c 'import base64, json, sys
o = json.load(open(sys.argv[1]))
assert o["node"] == "node-a" and o["ae"] == "ARCA_A", o
assert o["public_key"] == sys.argv[2] and o["fingerprint"] == sys.argv[3], o
assert o["fingerprint_short"] == sys.argv[3][:16] and o["key_mode"] == "0600", o
name, key_id, vkey = o["verifier_key"].split("+", 2)
assert name == "node-a" and len(key_id) == 8 and base64.b64decode(vkey) == b"\x01" + base64.b64decode(sys.argv[2]), o
' "$T/out" "$pub_before" "$fp"; then ok "node show --json values"; else fail "node show --json values"; fi
chmod 644 "$A/keys/node.key"
check "node show with node.key readable by others" 1 "$ARCA" node show --root "$A"
has "$T/err" "chmod 600" "node show says chmod 600"
chmod 600 "$A/keys/node.key"

# ------------------------------------------------------------ 3. append, log, verify
check "log of an empty log" 0 "$ARCA" chain log --root "$A"
if [ ! -s "$T/out" ]; then ok "empty log: no lines"; else fail "empty log printed lines"; fi
check "verify of an empty log" 0 "$ARCA" chain verify --root "$A"
has "$T/out" "0 entries" "verify: an empty log has 0 entries"

check "append store 1.2.3" 0 "$ARCA" chain append --root "$A" --event store --study 1.2.3 --study-hash "$H1" \
	--instances 3 --ae CT1 --peer ARCA_A --purpose TREAT --time 2025-01-02T03:04:05Z
has "$T/out" "appended entry 0" "append says entry 0"
check "append retrieve 1.2.4" 0 "$ARCA" chain append --root "$A" --event retrieve --study 1.2.4 --instances 1 \
	--peer WS1 --patient-id PID-77 --issuer HOSP --time 2025-02-01T00:00:00.250Z
check "append store 1.2.3 grown" 0 "$ARCA" chain append --root "$A" --event store --study 1.2.3 --study-hash "$H2" \
	--instances 5 --time 2025-03-01
check "append query, minor failure" 0 "$ARCA" chain append --root "$A" --event DCM:110112 --outcome 4 \
	--ae WS1 --time 2025-04-01T10:00:00Z

check "chain log" 0 "$ARCA" chain log --root "$A"
cp "$T/out" "$T/log"
if [ "$(wc -l <"$T/log")" -eq 4 ]; then ok "log: 4 lines"; else fail "log: $(wc -l <"$T/log") lines, expected 4"; fi
has "$T/log" "0  2025-01-02T03:04:05.000Z  DCM:110104 (DICOM Instances Transferred)  C success  ae=CT1  study=1.2.3  study_hash=9f86d081884c  instances=3  peer=ARCA_A  purpose=TREAT" "log: line 0 in full"
has "$T/log" "1  2025-02-01T00:00:00.250Z  DCM:110104 (DICOM Instances Transferred)  R success  ae=ARCA_A  study=1.2.4  instances=1  patient=" "log: line 1 (actor defaults to the archive's AE)"
has "$T/log" "3  2025-04-01T10:00:00.000Z  DCM:110112 (Query)  E minor-failure  ae=WS1" "log: line 3"
check "log --study 1.2.3" 0 "$ARCA" chain log --root "$A" --study 1.2.3
if [ "$(cut -d' ' -f1 "$T/out" | tr '\n' ' ')" = "0 2 " ]; then ok "log --study: entries 0 and 2"; else fail "log --study: $(cut -d' ' -f1 "$T/out" | tr '\n' ' ')"; fi
check "log --since 2025-02-15" 0 "$ARCA" chain log --root "$A" --since 2025-02-15
if [ "$(cut -d' ' -f1 "$T/out" | tr '\n' ' ')" = "2 3 " ]; then ok "log --since: entries 2 and 3"; else fail "log --since: $(cut -d' ' -f1 "$T/out" | tr '\n' ' ')"; fi
check "log --json" 0 "$ARCA" chain log --root "$A" --json
if python3 -c 'import hashlib, hmac, json, sys
lines = open(sys.argv[1], "rb").read().splitlines()
assert len(lines) == 4, len(lines)
es = [json.loads(l) for l in lines]
for i, (l, e) in enumerate(zip(lines, es)):
    assert e["index"] == i and e["node"] == "node-a" and e["v"] == 1, e
    # canonical: Python re-encodes the same bytes
    assert json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() == l, l
assert es[0]["event"] == "DCM:110104" and es[0]["action"] == "C" and es[0]["actor"] == {"ae": "CT1"}
assert es[0]["object"] == {"instances": 3, "study": "1.2.3", "study_hash": sys.argv[3]}, es[0]
assert es[0]["purpose"] == "TREAT" and es[0]["peer"] == "ARCA_A" and es[0]["time"] == "2025-01-02T03:04:05.000Z"
assert es[2]["object"]["study_hash"] == sys.argv[4] and es[2]["object"]["instances"] == 5
assert es[3]["event"] == "DCM:110112" and es[3]["outcome"] == 4 and "object" not in es[3]
key = open(sys.argv[2], "rb").read()
want = hmac.new(key, b"HOSP\x00PID-77", hashlib.sha256).hexdigest()
assert es[1]["patient"] == want, (es[1]["patient"], want)
assert b"PID-77" not in open(sys.argv[1], "rb").read()
' "$T/out" "$A/keys/consortium.key" "$H1" "$H2"; then
	ok "log --json: canonical entries, values, patient = HMAC(consortium key, issuer 0x00 ID), no ID"
else
	fail "log --json values"
fi
check "chain verify" 0 "$ARCA" chain verify --root "$A"
has "$T/out" "log of node-a intact: 4 entries, 4 batches, 4 checkpoints signed by key $short, root " "verify: summary line"
root=$(sed -n 's/.* root \([0-9a-f]*\),.*/\1/p' "$T/out")

# ------------------------------------------------------------ 4. proof bundles
check "proof --study 1.2.3" 0 "$ARCA" chain proof --root "$A" --study 1.2.3 --out "$T/p.json"
has "$T/out" "entry 2 of the log of node-a (4 entries), 2 proof hashes" "proof: the latest entry of the study"
check "proof to standard output" 0 "$ARCA" chain proof --root "$A" --study 1.2.3
if cmp -s "$T/out" "$T/p.json"; then ok "proof: stdout and --out are the same bundle"; else fail "proof: stdout differs from --out"; fi
check "check-proof with node.pub" 0 "$ARCA" chain check-proof "$T/p.json" --key "$A/keys/node.pub"
has "$T/out" "proof OK: entry 2 (DCM:110104, study 1.2.3) is in the log of node-a of 4 entries, root $root" "check-proof: the line names entry, log and root"
check "check-proof with the base64 key" 0 "$ARCA" chain check-proof "$T/p.json" --key "$pub_before"
if [ "$have_crypto" = yes ]; then
	check "tests/proof_ref.py (no arca code) accepts the bundle" 0 python3 "$srcdir/tests/proof_ref.py" "$T/p.json" "$pub_before"
fi
check "proof --index 0" 0 "$ARCA" chain proof --root "$A" --index 0 --out "$T/p0.json"
check "check-proof of entry 0" 0 "$ARCA" chain check-proof "$T/p0.json" --key "$A/keys/node.pub"

# One byte changed: inside the entry, a proof hash, the signature, the index.
offsets=$(python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
e = d.index(b"\"entry\":\"") + 9 + 40
p = d.index(b"\"proof\":[\"") + 10 + 5
s = d.index(b"\\n\\n\xe2\x80\x94 node-a ") + 15 + 30
i = d.index(b"\"index\":") + 8
print(e, p, s, i)' "$T/p.json")
set -- $offsets
for what in "entry:$1" "proof hash:$2" "checkpoint signature:$3" "index:$4"; do
	# the index becomes another digit: a well-formed bundle whose proof fails
	flip "$T/p.json" "${what#*:}" "$T/bad.json" 1
	check "check-proof of a bundle with one byte of the ${what%:*} changed" 1 \
		"$ARCA" chain check-proof "$T/bad.json" --key "$A/keys/node.pub"
	one_line "check-proof (${what%:*})"
	if [ "$have_crypto" = yes ] && python3 "$srcdir/tests/proof_ref.py" "$T/bad.json" "$pub_before" >/dev/null 2>&1; then
		fail "proof_ref.py accepted the bundle with the ${what%:*} changed"
	fi
done
printf ' ' >>"$T/p.json.ws"
cat "$T/p.json" "$T/p.json.ws" >"$T/bad.json"
check "check-proof of a bundle with a trailing space" 1 "$ARCA" chain check-proof "$T/bad.json" --key "$A/keys/node.pub"
has "$T/err" "canonical" "check-proof names the non-canonical byte"

check "init of a second node" 0 "$ARCA" init --root "$T/b" --node node-a
check "check-proof with another node's key" 1 "$ARCA" chain check-proof "$T/p.json" --key "$T/b/keys/node.pub"
one_line "check-proof with another node's key"

# ------------------------------------------------------------ 5. tampering
gitc() { d=$1; shift; git --git-dir="$d/chain/log.git" "$@"; }
ref=refs/arca/log/node-a

# forge DIR COMMIT PARENT: a commit with COMMIT's tree, but entry 2's
# instances changed from 5 to 6, on PARENT, by someone without the key;
# prints its id.
batch=entries/000000/00/00/000000000002-000000000002
forge() {
	rm -rf "$T/wt" "$T/forge.index"
	mkdir "$T/wt"
	GIT_INDEX_FILE="$T/forge.index" gitc "$1" --work-tree="$T/wt" read-tree "$2" &&
		GIT_INDEX_FILE="$T/forge.index" gitc "$1" --work-tree="$T/wt" checkout-index -a &&
		sed 's/"instances":5/"instances":6/' "$T/wt/$batch" >"$T/wt/$batch.new" &&
		mv "$T/wt/$batch.new" "$T/wt/$batch" &&
		GIT_INDEX_FILE="$T/forge.index" gitc "$1" --work-tree="$T/wt" add -A &&
		forged_tree=$(GIT_INDEX_FILE="$T/forge.index" gitc "$1" write-tree) &&
		gitc "$1" -c user.name=mallory -c user.email=m@example.org commit-tree "$forged_tree" -p "$3" \
			-m "$4"
}

# Entry 2 changed in place: its batch's commit re-made, the ref moved to it.
cp -a "$A" "$T/t1"
c2=$(gitc "$T/t1" rev-parse "$ref^")
new=$(forge "$T/t1" "$c2" "$c2^" "entries 2-2")
gitc "$T/t1" update-ref $ref "$new"
check "verify finds an entry changed in a rewritten commit" 1 "$ARCA" chain verify --root "$T/t1"
has "$T/err" "fault at entry 2, commit $new" "verify names entry 2 and the forged commit"
has "$T/err" "do not match the signed checkpoint" "verify says the entries do not match the checkpoint"
one_line "verify (entry changed)"
check "log refuses the tampered log" 1 "$ARCA" chain log --root "$T/t1"
check "proof refuses the tampered log" 1 "$ARCA" chain proof --root "$T/t1" --study 1.2.3

# An earlier batch changed by a later commit: the tip re-made with entry 2's
# file altered beside its own batch.
cp -a "$A" "$T/t1b"
new=$(forge "$T/t1b" "$(gitc "$T/t1b" rev-parse $ref)" "$(gitc "$T/t1b" rev-parse "$ref^")" "entries 3-3")
gitc "$T/t1b" update-ref $ref "$new"
check "verify finds an earlier batch changed by a later commit" 1 "$ARCA" chain verify --root "$T/t1b"
has "$T/err" "fault at entry 3, commit $new" "verify names the forged commit"
has "$T/err" "changes the earlier batch file 000000000002-000000000002" "verify names the changed batch"

# Pack bytes corrupted: one byte inside the batch holding entry 2.
cp -a "$A" "$T/t2"
blob=$(gitc "$T/t2" rev-parse "$ref:$batch")
pack=""
for idx in "$T"/t2/chain/log.git/objects/pack/*.idx; do
	off=$(gitc "$T/t2" show-index <"$idx" | awk -v b="$blob" '$2 == b { print $1 }')
	if [ -n "$off" ]; then pack=${idx%.idx}.pack; break; fi
done
if [ -n "$pack" ]; then
	chmod u+w "$pack"
	flip "$pack" $((off + 6)) "$T/pack.tmp" && cat "$T/pack.tmp" >"$pack"
	check "verify finds corrupted pack bytes" 1 "$ARCA" chain verify --root "$T/t2"
	has "$T/err" "fault at entry 2, commit" "verify names entry 2 for the corrupted batch"
else
	fail "no pack holds the batch of entry 2"
fi

# The ref deleted: the objects are there, the log is not empty.
cp -a "$A" "$T/t3"
gitc "$T/t3" update-ref -d $ref
check "verify finds the ref deleted" 1 "$ARCA" chain verify --root "$T/t3"
has "$T/err" "ref was removed" "verify says the ref was removed"

# The whole history replaced by one signed with another key (node b, also
# named node-a), the ref forced to it.
check "append on the other node" 0 "$ARCA" chain append --root "$T/b" --event store --study 1.2.3 --instances 9
cp -a "$A" "$T/t4"
gitc "$T/t4" fetch -q "$T/b/chain/log.git" "+$ref:$ref"
check "verify finds a history signed with another key" 1 "$ARCA" chain verify --root "$T/t4"
has "$T/err" "fault at commit $(gitc "$T/b" rev-parse $ref)" "verify names the foreign history's first commit"
has "$T/err" "not signed by the node key" "verify says the checkpoint is not signed by the node key"

# node.pub replaced by another key.
cp -a "$A" "$T/t5"
cp "$T/b/keys/node.pub" "$T/t5/keys/node.pub"
check "verify finds node.pub not matching node.key" 1 "$ARCA" chain verify --root "$T/t5"
has "$T/err" "is not the public key of" "verify names the key mismatch"
check "verify --key of another node" 1 "$ARCA" chain verify --root "$A" --key "$T/b/keys/node.pub"
has "$T/err" "not signed by the node key" "verify with another key: the first checkpoint is not signed by it"

# ------------------------------------------------------------ 6. usage errors
usage_case() { # DESC CMD...
	desc=$1
	shift
	check "$desc" 2 "$@" && one_line "$desc"
}
usage_case "arca chain without subcommand" "$ARCA" chain
usage_case "arca chain bogus" "$ARCA" chain bogus
usage_case "arca chain log --bogus" "$ARCA" chain log --root "$A" --bogus
usage_case "arca chain log --since nonsense" "$ARCA" chain log --root "$A" --since yesterday
usage_case "arca chain log on a folder that is no archive" "$ARCA" chain log --root "$T/none"
usage_case "arca chain verify with a value missing" "$ARCA" chain verify --root
usage_case "arca chain proof without --study" "$ARCA" chain proof --root "$A"
usage_case "arca chain proof of an unknown study" "$ARCA" chain proof --root "$A" --study 9.9.9
usage_case "arca chain check-proof without --key" "$ARCA" chain check-proof "$T/p.json"
usage_case "arca chain check-proof with a bad key" "$ARCA" chain check-proof "$T/p.json" --key notakey
usage_case "arca chain check-proof of a missing file" "$ARCA" chain check-proof "$T/missing.json" --key "$pub_before"
usage_case "arca chain append without --event" "$ARCA" chain append --root "$A" --study 1.2.3
usage_case "arca chain append --event bogus" "$ARCA" chain append --root "$A" --event bogus
usage_case "arca chain append --study-hash short" "$ARCA" chain append --root "$A" --event store --study 1.2.3 --study-hash abc
usage_case "arca node without show" "$ARCA" node
usage_case "arca node show --bogus" "$ARCA" node show --bogus
check "arca chain --help" 0 "$ARCA" chain --help
has "$T/out" "check-proof" "arca chain --help lists the subcommands"
check "the log is unchanged by the refused commands" 0 "$ARCA" chain verify --root "$A"
has "$T/out" "4 entries" "still 4 entries"

net_done
