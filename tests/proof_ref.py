#!/usr/bin/env python3
"""proof_ref.py BUNDLE PUBKEY_BASE64 - checks an arca inclusion proof bundle
(docs/chain-format.md section 8) without any of arca's code: from the
document's rules, Python's json, hashlib and the cryptography package.

  1. the bytes are the canonical JSON of their value and a newline;
  2. the checkpoint note's text (C2SP tlog-checkpoint) names origin, size
     and root, and a signature line of the key (key id = SHA-256(name ||
     0x0A || 0x01 || public key)[:4]) verifies with Ed25519 over the text;
  3. the leaf SHA-256(0x00 || entry) with the inclusion proof leads to the
     root (RFC 9162 2.1.3.2).

Prints "OK <origin> <index> <size>" and exits 0, or names the failed step
and exits 1.  Used by tests/chain_cli.sh to cross-check arca chain proof.
"""
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def fail(why):
    print("FAIL " + why)
    sys.exit(1)


def b64(s):
    return base64.b64decode(s.encode("ascii"), validate=True)


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf, index, size, proof, root):
    # RFC 9162 2.1.3.2, step by step.
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def main():
    data = open(sys.argv[1], "rb").read()
    pub = b64(sys.argv[2])
    bundle = json.loads(data.decode("utf-8"))
    canon = json.dumps(bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if canon.encode("utf-8") + b"\n" != data:
        fail("not canonical JSON")
    if sorted(bundle) != ["checkpoint", "entry", "format", "index", "proof", "size"]:
        fail("members")
    if bundle["format"] != "arca-proof-1":
        fail("format")

    note = bundle["checkpoint"].encode("utf-8")
    cut = note.rindex(b"\n\n")
    text, sigs = note[: cut + 1], note[cut + 2 :].decode("utf-8").splitlines()
    lines = text.decode("utf-8").split("\n")
    origin, size, root = lines[0], int(lines[1]), b64(lines[2])
    if size != bundle["size"]:
        fail("size differs from the checkpoint's")
    key_id = hashlib.sha256(origin.encode("utf-8") + b"\n\x01" + pub).digest()[:4]
    key = Ed25519PublicKey.from_public_bytes(pub)
    good = 0
    for line in sigs:
        dash, name, sig = line.split(" ")
        if dash != "\u2014" or name != origin:
            continue
        raw = b64(sig)
        if raw[:4] != key_id:
            continue
        try:
            key.verify(raw[4:], text)
        except InvalidSignature:
            fail("signature")
        good += 1
    if good == 0:
        fail("no signature of this key")

    entry = b64(bundle["entry"])
    leaf = hashlib.sha256(b"\x00" + entry).digest()
    proof = [b64(p) for p in bundle["proof"]]
    if any(len(p) != 32 for p in proof):
        fail("proof hash length")
    if not verify_inclusion(leaf, bundle["index"], size, proof, root):
        fail("inclusion")
    e = json.loads(entry)
    if e["index"] != bundle["index"] or e["node"] != origin:
        fail("entry index or node")
    print("OK %s %d %d" % (origin, bundle["index"], size))


if __name__ == "__main__":
    main()
