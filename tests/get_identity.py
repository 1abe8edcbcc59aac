#!/usr/bin/env python3
"""get_identity.py - C-GET with a User Identity (PS3.7 D.3.3.7), which
DCMTK's getscu cannot send (used by tests/net_chain_spool.sh).

    get_identity.py --port P --user NAME --password PW --study UID

Associates with a username-and-passcode identity, proposing Study Root GET
and CT Image Storage with the SCP role (SCP/SCU Role Selection, PS3.7
D.3.3.4; PS3.4 C.4.3.3), sends one study-level C-GET, answers each C-STORE
sub-operation with Success, releases, and prints one line
"received N completed C" (the instances stored to us, the final
response's Number of Completed Sub-operations); exits 1 on a refusal or a
failure status.  The PDUs and command sets come from tests/rawpeer.py
(PS3.8 9.3, PS3.7 E), not from arca's encoders.
"""
import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rawpeer as rp  # noqa: E402

STUDY_ROOT_GET = "1.2.840.10008.5.1.4.1.2.2.3"
GET_CID, STORE_CID = 1, 3


def role_item(sop_class):
    """PS3.7 D.3.3.4 Table D.3-9: SCU role 0, SCP role 1 (we receive)."""
    u = sop_class.encode()
    return rp.item(0x54, struct.pack(">H", len(u)) + u + b"\x00\x01")


def get_rq(msg_id):
    return rp.command({0x0002: rp.uid(STUDY_ROOT_GET), 0x0100: rp.us(0x0010), 0x0110: rp.us(msg_id),
                       0x0700: rp.us(0), 0x0800: rp.us(0x0000)})


def store_rsp(rq):
    # PS3.7 9.3.1.2: C-STORE-RSP, no data set, Success
    return rp.command({0x0002: rq[0x0002], 0x0100: rp.us(0x8001), 0x0120: rq[0x0110],
                       0x0800: rp.us(0x0101), 0x0900: rp.us(0x0000), 0x1000: rq[0x1000]})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ae", default="ARCA")
    ap.add_argument("--aet", default="IDGET")
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--study", required=True)
    a = ap.parse_args()
    peer = rp.Peer(a.host, a.port, 30)
    peer.send(rp.assoc_rq(a.ae, a.aet, [(GET_CID, STUDY_ROOT_GET, [rp.IMPLICIT_LE]),
                                     (STORE_CID, rp.CT_STORAGE, [rp.EXPLICIT_LE, rp.IMPLICIT_LE])],
                         user_items=role_item(rp.CT_STORAGE) + rp.identity_item(a.user, a.password)))
    ptype, body = peer.recv_pdu()
    if ptype != 0x02:
        print(f"FAIL association refused: PDU type 0x{ptype:02x}")
        return 1
    ctx = rp.parse_ac(body)
    if ctx.get(GET_CID, (1,))[0] != 0 or ctx.get(STORE_CID, (1,))[0] != 0:
        print(f"FAIL presentation contexts not accepted: {ctx}")
        return 1
    peer.send(rp.pdata([(GET_CID, 0x03, get_rq(1))]))
    peer.send(rp.pdata([(GET_CID, 0x02, rp.study_identifier(a.study))]))
    received = 0
    cmd, data = b"", b""
    pending_store = None
    status, completed = 0xFF00, None
    while status == 0xFF00:
        ptype, body = peer.recv_pdu()
        if ptype != 0x04:
            print(f"FAIL expected P-DATA-TF, got PDU type 0x{ptype:02x}")
            return 1
        pos = 0
        while pos + 6 <= len(body):
            (ilen,) = struct.unpack_from(">I", body, pos)
            cid, flags = body[pos + 4], body[pos + 5]
            frag = body[pos + 6:pos + 4 + ilen]
            pos += 4 + ilen
            if not flags & 1:
                # a C-STORE sub-operation's data set (PS3.8 E.2)
                data += frag
                if flags & 2 and pending_store is not None:
                    received += 1
                    peer.send(rp.pdata([(cid, 0x03, store_rsp(pending_store))]))
                    pending_store, data = None, b""
                continue
            cmd += frag
            if not flags & 2:
                continue
            f = rp.parse_command(cmd)
            cmd = b""
            field = struct.unpack("<H", f[0x0100])[0]
            if field == 0x0001:
                pending_store = f
            elif field == 0x8010:
                status = struct.unpack("<H", f[0x0900])[0]
                if 0x1021 in f:
                    completed = struct.unpack("<H", f[0x1021])[0]
            else:
                print(f"FAIL unexpected command field 0x{field:04x}")
                return 1
    if status != 0x0000:
        print(f"FAIL C-GET status 0x{status:04x}")
        return 1
    peer.send(rp.RELEASE_RQ)
    ptype, _ = peer.recv_pdu()
    peer.close()
    print(f"received {received} completed {completed}")
    return 0 if ptype == 0x06 else 1


if __name__ == "__main__":
    sys.exit(main())
