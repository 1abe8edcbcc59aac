#!/usr/bin/env python3
"""checkpoint_ref.py - the expected signed checkpoint of
tests/chain_checkpoint_test.c, made without chain/.

Builds the C2SP signed note (c2sp.org/signed-note, c2sp.org/tlog-checkpoint)
for a fixed key, from the specs: the root from tests/merkle_ref.py, the key
id as SHA-256(key name || 0x0A || 0x01 || public key)[:4], and the Ed25519
signature from the `cryptography` package (python3-cryptography), which is
deterministic (RFC 8032).  Only needed to regenerate the expected string in
the C test, never at test time:
    python3 tests/checkpoint_ref.py
"""

import base64
import calendar
import hashlib
import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import merkle_ref  # noqa: E402

NAME = "arca.example/node1"
SEED = bytes(range(32))
SIZE = 5
TIME = "2025-01-02T03:04:05Z"


def main():
    entries = [("entry-%d" % i).encode() for i in range(SIZE)]
    root = merkle_ref.MTH(merkle_ref.Slice(entries, 0, SIZE))
    body = "%s\n%d\n%s\ntime %s\n" % (NAME, SIZE, base64.b64encode(root).decode(), TIME)

    key = Ed25519PrivateKey.from_private_bytes(SEED)
    pub = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(NAME.encode() + b"\n\x01" + pub).digest()[:4]
    sig = key.sign(body.encode())
    note = body + "\n" + "\u2014 %s %s\n" % (NAME, base64.b64encode(key_id + sig).decode())

    epoch = calendar.timegm((2025, 1, 2, 3, 4, 5, 0, 0, 0))
    sys.stdout.write("time %d\npublic key %s\nkey id %s\n" % (epoch, pub.hex(), key_id.hex()))
    sys.stdout.write(note)


if __name__ == "__main__":
    main()
