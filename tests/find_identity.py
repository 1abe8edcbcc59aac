#!/usr/bin/env python3
"""find_identity.py - C-FIND with a User Identity (PS3.7 D.3.3.7), which
DCMTK's findscu cannot send (used by tests/net_chain_spool.sh).

    find_identity.py --port P --user NAME --password PW --study UID [--repeat N]

Associates (Study Root FIND, Implicit VR Little Endian) with a
username-and-passcode identity, sends N study-level C-FINDs for the study,
releases, and prints one line "matches M" (the pending responses of all of
them); exits 1 on a refusal or a failure status.  The PDUs and command sets
come from tests/rawpeer.py (PS3.8 9.3, PS3.7 E), not from arca's encoders.
"""
import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawpeer as rp  # noqa: E402

STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"


def identity_item(user, password):
    """PS3.7 D.3.3.7.1 Table D.3-14: type 2 (username and passcode), no
    positive response asked for."""
    u, p = user.encode(), password.encode()
    return rp.item(0x58, struct.pack(">BBH", 2, 0, len(u)) + u + struct.pack(">H", len(p)) + p)


def assoc_rq_with_identity(called, calling, user, password):
    rq = rp.assoc_rq(called, calling, [(1, STUDY_ROOT_FIND, [rp.IMPLICIT_LE])])
    body = rq[6:]
    # the user information item (50H) is last: append the identity to it
    pos = body.rfind(b"\x50\x00")
    (ulen,) = struct.unpack_from(">H", body, pos + 2)
    user_body = body[pos + 4:pos + 4 + ulen] + identity_item(user, password)
    return rp.pdu(0x01, body[:pos] + rp.item(0x50, user_body))


def find_rq(msg_id):
    return rp.command({0x0002: rp.uid(STUDY_ROOT_FIND), 0x0100: rp.us(0x0020), 0x0110: rp.us(msg_id),
                       0x0700: rp.us(0), 0x0800: rp.us(0x0000)})


def identifier(study):
    # (0008,0052) Query/Retrieve Level, (0020,000D) Study Instance UID
    return (rp.elem_implicit(0x0008, 0x0052, b"STUDY ") +
            rp.elem_implicit(0x0020, 0x000D, rp.uid(study)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ae", default="ARCA")
    ap.add_argument("--aet", default="IDFIND")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--study", required=True)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    peer = rp.Peer(a.host, a.port, 30)
    peer.send(assoc_rq_with_identity(a.ae, a.aet, a.user, a.password))
    ptype, body = peer.recv_pdu()
    if ptype != 0x02:
        print(f"FAIL association refused: PDU type 0x{ptype:02x}")
        return 1
    matches = 0
    for n in range(a.repeat):
        peer.send(rp.pdata([(1, 0x03, find_rq(n + 1))]))
        peer.send(rp.pdata([(1, 0x02, identifier(a.study))]))
        cmd = b""
        status = 0xFF00
        while status in (0xFF00, 0xFF01):
            ptype, body = peer.recv_pdu()
            if ptype != 0x04:
                print(f"FAIL expected P-DATA-TF, got PDU type 0x{ptype:02x}")
                return 1
            pos = 0
            while pos + 6 <= len(body):
                (ilen,) = struct.unpack_from(">I", body, pos)
                flags = body[pos + 5]
                data = body[pos + 6:pos + 4 + ilen]
                pos += 4 + ilen
                if not flags & 1:
                    continue  # a match's identifier
                cmd += data
                if flags & 2:
                    f = rp.parse_command(cmd)
                    cmd = b""
                    status = struct.unpack("<H", f[0x0900])[0]
                    if status in (0xFF00, 0xFF01):
                        matches += 1
        if status != 0x0000:
            print(f"FAIL C-FIND status 0x{status:04x}")
            return 1
    peer.send(rp.RELEASE_RQ)
    ptype, _ = peer.recv_pdu()
    peer.close()
    print(f"matches {matches}")
    return 0 if ptype == 0x06 else 1


if __name__ == "__main__":
    sys.exit(main())
