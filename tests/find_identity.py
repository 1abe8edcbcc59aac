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


def find_rq(msg_id):
    return rp.command({0x0002: rp.uid(STUDY_ROOT_FIND), 0x0100: rp.us(0x0020), 0x0110: rp.us(msg_id),
                       0x0700: rp.us(0), 0x0800: rp.us(0x0000)})


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
    peer.send(rp.assoc_rq(a.ae, a.aet, [(1, STUDY_ROOT_FIND, [rp.IMPLICIT_LE])],
                         user_items=rp.identity_item(a.user, a.password)))
    ptype, body = peer.recv_pdu()
    if ptype != 0x02:
        print(f"FAIL association refused: PDU type 0x{ptype:02x}")
        return 1
    matches = 0
    for n in range(a.repeat):
        peer.send(rp.pdata([(1, 0x03, find_rq(n + 1))]))
        peer.send(rp.pdata([(1, 0x02, rp.study_identifier(a.study))]))
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
