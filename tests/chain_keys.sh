#!/bin/bash
# chain_keys.sh - `arca node rotate-key` (docs/chain-format.md 10):
#
#   1. a rotation records arca:key-change (old and new public keys and
#      fingerprints, those `arca node show` printed), keeps the old public
#      key as keys/node-<fingerprint>.pub, replaces node.key and node.pub;
#   2. `arca chain verify` accepts the log (checkpoints before the change
#      with the old key, after it with the new) and its summary names
#      each key with the last entry it signed for; refuses it with the old
#      key or any other; a proof bundle checks with the new key only;
#   3. refused (exit 2) while arcad runs; arcad started after a rotation
#      signs with the new key; a spooled key change is set aside;
#   4. an interrupted rotation (the log names the new key, node.key is
#      still the old one): appending is refused with a message saying
#      what to do, and rotate-key again finishes it; a node.key.next the
#      log does not name is discarded and a fresh rotation made.
#
# Skipped (77) when DCMTK's echoscu (arcad's readiness) or python3 is missing.
set -u
. "${ARCA_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/net_lib.sh"
net_init chain_keys
net_require echoscu python3

root=$NET_TMP/root
port=$(net_free_port)
if ! "$ARCA" init --root "$root" --port "$port" --node keys-node >"$NET_TMP/init.log" 2>&1; then
	echo "FAIL: arca init: $(cat "$NET_TMP/init.log")"
	exit 1
fi
keys=$root/keys
append() {
	"$ARCA" chain append --root "$root" --event verify --user "$1" >>"$NET_TMP/append.log" 2>&1
}
fp() {
	"$ARCA" node show --root "$root" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["fingerprint"])'
}
chain_log() {
	"$ARCA" chain log --root "$root" --json >"$NET_TMP/log.json" 2>"$NET_TMP/log.err"
}
verify_ok() {
	"$ARCA" chain verify --root "$root" --no-store "$@" >"$NET_TMP/verify.log" 2>&1
}

# ---- 1. a rotation
append a && append b || fail "append before the rotation: $(cat "$NET_TMP/append.log")"
fp0=$(fp)
cp "$keys/node.pub" "$NET_TMP/old.pub"
if "$ARCA" node rotate-key --root "$root" >"$NET_TMP/rotate1.log" 2>&1 &&
	grep -q "replaced by .* (entry 2, arca:key-change)" "$NET_TMP/rotate1.log"; then
	ok "rotate-key: entry 2 records the change"
else
	fail "rotate-key: $(cat "$NET_TMP/rotate1.log")"
fi
fp1=$(fp)
if [ -n "$fp0" ] && [ -n "$fp1" ] && [ "$fp0" != "$fp1" ] && cmp -s "$NET_TMP/old.pub" "$keys/node-$fp0.pub" &&
	! cmp -s "$NET_TMP/old.pub" "$keys/node.pub" && [ ! -e "$keys/node.key.next" ] &&
	[ "$(stat -c %a "$keys/node.key")" = 600 ] && "$ARCA" node show --root "$root" >/dev/null 2>&1; then
	ok "new node.key (0600) and node.pub; old public key kept as keys/node-<fingerprint>.pub"
else
	fail "key files after the rotation: $(ls -l "$keys")"
fi
chain_log
if python3 -c 'import json, sys, hashlib
es = [json.loads(l) for l in open(sys.argv[1], "rb").read().splitlines()]
e = es[2]
assert e["event"] == "arca:key-change" and e["action"] == "U" and e["outcome"] == 0, e
k = e["key"]
assert k["old"] == sys.argv[2] and k["new"] == sys.argv[3], k
assert hashlib.sha256(bytes.fromhex(k["old_public"])).hexdigest() == k["old"], k
assert hashlib.sha256(bytes.fromhex(k["new_public"])).hexdigest() == k["new"], k
' "$NET_TMP/log.json" "$fp0" "$fp1" 2>"$NET_TMP/check.err"; then
	ok "the key-change entry names both keys with the fingerprints node show printed"
else
	fail "key-change entry: $(tail -1 "$NET_TMP/check.err")"
fi

# ---- 2. verification across the change
# the rotation's own checkpoint (ending with the change) is the old key's
if verify_ok && grep -q "^log of keys-node intact: 3 entries, 3 batches, 3 checkpoints signed by 1 key: ${fp0:0:16} up to entry 2 (the current key ${fp1:0:16} signs the next checkpoint), root " "$NET_TMP/verify.log"; then
	ok "chain verify right after the change: the old key signed up to entry 2, the new one signs next"
else
	fail "verify after the change: $(cat "$NET_TMP/verify.log")"
fi
append c || fail "append after the rotation: $(cat "$NET_TMP/append.log")"
if verify_ok; then ok "chain verify: checkpoints before and after the change"; else fail "verify: $(cat "$NET_TMP/verify.log")"; fi
if grep -q "^log of keys-node intact: 4 entries, 4 batches, 4 checkpoints signed by 2 keys: ${fp0:0:16} up to entry 2, ${fp1:0:16} (current) after it, root " "$NET_TMP/verify.log" &&
	! grep -q "signed by key" "$NET_TMP/verify.log"; then
	ok "chain verify names both keys and where the change is, not only the current key"
else
	fail "verify summary across the change: $(cat "$NET_TMP/verify.log")"
fi
verify_ok --key "$NET_TMP/old.pub"
st=$?
if [ "$st" -eq 1 ] && grep -q "the log's key is now" "$NET_TMP/verify.log"; then
	ok "chain verify with the old key: exit 1, the log's key is now another"
else
	fail "verify with the old key: $st $(cat "$NET_TMP/verify.log")"
fi
"$ARCA" init --root "$NET_TMP/other" --node keys-node >/dev/null 2>&1
verify_ok --key "$NET_TMP/other/keys/node.pub"
st=$?
if [ "$st" -eq 1 ]; then ok "chain verify with another node's key: exit 1"; else fail "verify with another key: $st"; fi
if "$ARCA" chain proof --root "$root" --index 3 --out "$NET_TMP/p.json" >/dev/null 2>&1 &&
	"$ARCA" chain check-proof "$NET_TMP/p.json" --key "$keys/node.pub" >/dev/null 2>&1 &&
	! "$ARCA" chain check-proof "$NET_TMP/p.json" --key "$NET_TMP/old.pub" >/dev/null 2>&1; then
	ok "a proof bundle after the change checks with the new key, not the old one"
else
	fail "proof bundle after the rotation"
fi

# ---- 3. arcad
net_start arcad "$ARCAD" --root "$root"
arcad=$NET_PID
if ! net_wait_dicom "$arcad" "$port" ARCA; then
	net_show "$NET_TMP/arcad.log"
	fail "arcad did not start after the rotation"
	net_done
	exit 1
fi
"$ARCA" node rotate-key --root "$root" >"$NET_TMP/rotate2.log" 2>&1
st=$?
if [ "$st" -eq 2 ] && grep -q "arcad is running" "$NET_TMP/rotate2.log" && [ "$(fp)" = "$fp1" ]; then
	ok "rotate-key while arcad runs: exit 2, nothing changed"
else
	fail "rotate-key with arcad: $st $(cat "$NET_TMP/rotate2.log")"
fi
if append d && grep -q "through the running arcad" "$NET_TMP/append.log"; then
	ok "arcad appends with the new key"
else
	fail "append through arcad: $(tail -2 "$NET_TMP/append.log")"
fi
python3 -c 'import json, sys
e = {"action": "U", "actor": {"user": "x"}, "event": "arca:key-change", "node": "keys-node",
     "key": {"new": "9f72ea0cf49536e3c66c787f705186df9a4378083753ae9536d65b3ad7fcddc4",
             "new_public": "22" * 32,
             "old": "02d449a31fbb267c8f352e9968a79e3e5fc95c1bbeaa502fd6454ebde5a4bedc",
             "old_public": "11" * 32},
     "outcome": 0, "time": "2026-01-02T03:04:05.678Z", "v": 1}
open(sys.argv[1], "wb").write(b"arca-spool 1\n" + json.dumps(e, sort_keys=True, separators=(",", ":")).encode() + b"\n")
' "$root/chain/spool/.k"
mv "$root/chain/spool/.k" "$root/chain/spool/1767323045678-1-00000000000000bb.ev"
# the file is moved before arcad's log line is written: wait for both
t0=$(net_now)
while net_before "$t0" "$NET_DEADLINE" &&
	! { [ -f "$root/chain/spool/rejected/1767323045678-1-00000000000000bb.ev" ] &&
		grep -q "a key change, which only arca node rotate-key records" "$NET_TMP/arcad.log"; }; do
	sleep 0.1
done
if [ -f "$root/chain/spool/rejected/1767323045678-1-00000000000000bb.ev" ] &&
	grep -q "a key change, which only arca node rotate-key records" "$NET_TMP/arcad.log"; then
	ok "a key change in the spool is set aside"
else
	fail "spooled key change not set aside"
fi
net_stop "$arcad" TERM
if verify_ok; then ok "chain verify after arcad"; else fail "verify after arcad: $(cat "$NET_TMP/verify.log")"; fi

# ---- 4. an interrupted rotation: the state after the entry, before the switch
cp -p "$keys/node.key" "$NET_TMP/k1.key"
cp "$keys/node.pub" "$NET_TMP/k1.pub"
"$ARCA" node rotate-key --root "$root" >/dev/null 2>&1 || fail "second rotation"
fp2=$(fp)
mv "$keys/node.key" "$keys/node.key.next"
cp -p "$NET_TMP/k1.key" "$keys/node.key"
cp "$NET_TMP/k1.pub" "$keys/node.pub"
rm -f "$keys/node-$fp1.pub"
"$ARCA" chain append --root "$root" --event verify --user e >"$NET_TMP/a5.log" 2>&1
st=$?
if [ "$st" -ne 0 ] && grep -q "finish the interrupted rotation with arca node rotate-key" "$NET_TMP/a5.log"; then
	ok "after an interrupted rotation appending is refused, saying what to do"
else
	fail "append after an interrupted rotation: $st $(cat "$NET_TMP/a5.log")"
fi
if "$ARCA" node rotate-key --root "$root" >"$NET_TMP/rotate3.log" 2>&1 &&
	grep -q "finished the interrupted rotation" "$NET_TMP/rotate3.log" && [ "$(fp)" = "$fp2" ] &&
	[ -f "$keys/node-$fp1.pub" ] && [ ! -e "$keys/node.key.next" ] && append f && verify_ok; then
	ok "rotate-key again finishes it; the log verifies and takes events"
else
	fail "finishing: $(cat "$NET_TMP/rotate3.log") $(cat "$NET_TMP/verify.log")"
fi
# a node.key.next the log does not name (stopped before the entry)
cp -p "$NET_TMP/other/keys/node.key" "$keys/node.key.next"
if "$ARCA" node rotate-key --root "$root" >"$NET_TMP/rotate4.log" 2>&1 &&
	grep -q "(entry [0-9]*, arca:key-change)" "$NET_TMP/rotate4.log" && verify_ok &&
	[ "$(fp)" != "$("$ARCA" node show --root "$NET_TMP/other" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["fingerprint"])')" ]; then
	ok "an unused node.key.next is discarded and a fresh key made"
else
	fail "stale node.key.next: $(cat "$NET_TMP/rotate4.log")"
fi
chain_log
if python3 -c 'import json, sys
es = [json.loads(l) for l in open(sys.argv[1], "rb").read().splitlines()]
k = [e["index"] for e in es if e["event"] == "arca:key-change"]
assert len(k) == 3, k
' "$NET_TMP/log.json"; then
	ok "three key changes on the log"
else
	fail "key changes on the log"
fi
# the summary after three rotations, the last one not yet followed by an
# entry: every old key with the entry its span ends at, from the log alone
verify_ok
if python3 -c 'import json, sys
es = [json.loads(l) for l in open(sys.argv[1], "rb").read().splitlines()]
k = [e for e in es if e["event"] == "arca:key-change"]
assert k[-1]["index"] == len(es) - 1, k
spans = ", ".join("%s up to entry %d" % (e["key"]["old"][:16], e["index"]) for e in k)
want = "checkpoints signed by 3 keys: %s (the current key %s signs the next checkpoint), root " % (spans, sys.argv[3][:16])
got = open(sys.argv[2]).read()
assert want in got, (want, got)
' "$NET_TMP/log.json" "$NET_TMP/verify.log" "$(fp)" 2>"$NET_TMP/check.err"; then
	ok "chain verify after three rotations names the three old keys and their last entries"
else
	fail "summary after three rotations: $(tail -1 "$NET_TMP/check.err")"
fi
if "$ARCA" node rotate-key --root "$root" --bogus >/dev/null 2>&1; then
	fail "rotate-key --bogus accepted"
elif [ $? -eq 2 ]; then
	ok "rotate-key with an unknown option: exit 2"
else
	fail "rotate-key --bogus: wrong status"
fi
if grep -q "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$NET_TMP"/*.log; then
	fail "sanitizer reports"
	grep -m3 "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$NET_TMP"/*.log | sed 's/^/     | /'
fi
net_done
