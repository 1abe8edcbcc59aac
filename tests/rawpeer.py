#!/usr/bin/env python3
"""rawpeer.py - a scripted DICOM peer that sends exact bytes and checks the
bytes and statuses that come back (used by tests/net_badpeer.sh).

    rawpeer.py [--host H] --port P [--ae AE] [--timeout S] [--artim S] SCENARIO
    rawpeer.py --list
    rawpeer.py --write-corpus DIR      seed inputs for tests/fuzz/fuzz_assoc.c

Each scenario opens its own TCP connection, plays its part, and prints one
line, "ok   NAME: what happened" or "FAIL NAME: what was expected, what
came", and exits 0 or 1.  A line "local-port N" comes first (so that the
caller can find the server's log line for this connection), and a line
"uid U" for scenarios whose instance must NOT be stored.

Only the standard library (socket, struct).  The PDUs are built here from
PS3.8 9.3 and the command sets from PS3.7 E, independently of arca's
encoders, so that a codec bug cannot hide itself.
"""
import argparse
import os
import socket
import struct
import sys
import time

APP_CONTEXT = b"1.2.840.10008.3.1.1.1"
VERIFICATION = "1.2.840.10008.1.1"
CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPL_UID = b"2.25.2718281828459045235360287471352662497"
UID_ROOT = "2.25.31415926535897932384626433"

# --------------------------------------------------------------- encoding


def pad_even(b, pad=b"\x00"):
    return b + pad if len(b) % 2 else b


def pdu(ptype, body):
    """PS3.8 9.3.1: type, reserved, 32-bit big-endian length, body."""
    return struct.pack(">BBI", ptype, 0, len(body)) + body


def item(itype, body):
    return struct.pack(">BBH", itype, 0, len(body)) + body


def assoc_rq(called, calling, contexts, max_pdu=16384, version=1, user_items=b""):
    """PS3.8 9.3.2 Table 9-11.  contexts: [(id, abstract, [ts, ...])];
    user_items: further sub-items of the user information item (PS3.7
    D.3.3, in increasing item type: role selection 54H, identity 58H)."""
    body = struct.pack(">HH", version, 0)
    body += called.encode().ljust(16)[:16] + calling.encode().ljust(16)[:16] + b"\x00" * 32
    body += item(0x10, APP_CONTEXT)
    for cid, abstract, tss in contexts:
        sub = item(0x30, abstract.encode())
        for ts in tss:
            sub += item(0x40, ts.encode())
        body += item(0x20, struct.pack(">BBBB", cid, 0, 0, 0) + sub)
    user = item(0x51, struct.pack(">I", max_pdu)) + item(0x52, IMPL_UID) + user_items
    body += item(0x50, user)
    return pdu(0x01, body)


def identity_item(user, password):
    """PS3.7 D.3.3.7.1 Table D.3-14: type 2 (username and passcode), no
    positive response asked for; names as bytes of the file system's
    encoding, so that a test can send one that is not UTF-8."""
    u, p = os.fsencode(user), os.fsencode(password)
    return item(0x58, struct.pack(">BBH", 2, 0, len(u)) + u + struct.pack(">H", len(p)) + p)


def study_identifier(study):
    """A study-level Q/R identifier in Implicit VR LE: (0008,0052) Query/
    Retrieve Level and (0020,000D) Study Instance UID."""
    return elem_implicit(0x0008, 0x0052, b"STUDY ") + elem_implicit(0x0020, 0x000D, uid(study))


def pdata(pdvs):
    """PS3.8 9.3.5: pdvs [(context id, control header, bytes)]."""
    body = b""
    for cid, flags, data in pdvs:
        body += struct.pack(">IBB", len(data) + 2, cid, flags) + data
    return pdu(0x04, body)


RELEASE_RQ = pdu(0x05, b"\x00" * 4)


def elem_implicit(group, elem, value):
    return struct.pack("<HHI", group, elem, len(value)) + value


def us(v):
    return struct.pack("<H", v)


def command(fields):
    """PS3.7 6.3.1: group 0000, Implicit VR LE, group length first.
    fields: {element: bytes}, values already even (UI NUL-padded)."""
    body = b"".join(elem_implicit(0, e, fields[e]) for e in sorted(fields))
    return elem_implicit(0, 0, struct.pack("<I", len(body))) + body


def uid(s):
    return pad_even(s.encode())


def echo_rq(msg_id):
    return command({0x0002: uid(VERIFICATION), 0x0100: us(0x0030), 0x0110: us(msg_id), 0x0800: us(0x0101)})


def store_rq(msg_id, sop_class, sop_inst, drop=()):
    f = {0x0002: uid(sop_class), 0x0100: us(0x0001), 0x0110: us(msg_id), 0x0700: us(0),
         0x0800: us(0x0001), 0x1000: uid(sop_inst)}
    for e in drop:
        f.pop(e, None)
    return command(f)


def dataset(sop_inst, rows=16, extra=()):
    """A small CT instance in Implicit VR Little Endian (PS3.5 A.1); extra
    (group, element, raw bytes of the whole element) go in tag order."""
    study = UID_ROOT + ".1"
    els = [
        (0x0008, 0x0016, uid(CT_STORAGE)),
        (0x0008, 0x0018, uid(sop_inst)),
        (0x0008, 0x0020, b"20260102"),
        (0x0008, 0x0060, b"CT"),
        (0x0010, 0x0010, pad_even(b"Raw^Peer", b" ")),
        (0x0010, 0x0020, b"RAWPEER1"),
        (0x0020, 0x000D, uid(study)),
        (0x0020, 0x000E, uid(study + ".1")),
        (0x0020, 0x0013, b"1 "),
        (0x0028, 0x0002, us(1)),
        (0x0028, 0x0004, b"MONOCHROME2 "),
        (0x0028, 0x0010, us(rows)),
        (0x0028, 0x0011, us(rows)),
        (0x0028, 0x0100, us(16)),
        (0x0028, 0x0101, us(16)),
        (0x0028, 0x0102, us(15)),
        (0x0028, 0x0103, us(0)),
        (0x7FE0, 0x0010, bytes(range(256)) * (rows * rows * 2 // 256)),
    ]
    out = [((g, e), elem_implicit(g, e, v)) for g, e, v in els]
    out += [((g, e), raw) for g, e, raw in extra]
    return b"".join(raw for _, raw in sorted(out, key=lambda x: x[0]))


def new_uid(tag):
    return f"{UID_ROOT}.{os.getpid()}.{int(time.time() * 1000) % 10**12}.{tag}"

# --------------------------------------------------------------- decoding


class Closed(Exception):
    pass


class Peer:
    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        print(f"local-port {self.sock.getsockname()[1]}", flush=True)

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise Closed()
            buf += chunk
        return buf

    def recv_pdu(self):
        """(type, body); Closed when the peer closes; socket.timeout."""
        head = self.recv_exact(6)
        ptype, _, length = struct.unpack(">BBI", head)
        if length > 1 << 24:
            raise ValueError(f"PDU length {length} from the server")
        return ptype, self.recv_exact(length)

    def wait_close(self, seconds):
        """True if the server closes within seconds (PDUs are drained)."""
        deadline = time.monotonic() + seconds
        self.sock.settimeout(0.2)
        try:
            while time.monotonic() < deadline:
                try:
                    if not self.sock.recv(65536):
                        return True
                except socket.timeout:
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    return True
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def parse_ac(body):
    """{context id: (result, ts)} of an A-ASSOCIATE-AC (PS3.8 9.3.3)."""
    out, pos = {}, 68
    while pos + 4 <= len(body):
        itype, _, ilen = struct.unpack_from(">BBH", body, pos)
        if itype == 0x21:
            cid, result = body[pos + 4], body[pos + 6]
            ts = None
            sub = pos + 8
            if sub + 4 <= pos + 4 + ilen and body[sub] == 0x40:
                (slen,) = struct.unpack_from(">H", body, sub + 2)
                ts = body[sub + 4:sub + 4 + slen].rstrip(b"\x00 ").decode()
            out[cid] = (result, ts)
        pos += 4 + ilen
    return out


def parse_command(data):
    """{element: bytes} of a group-0000 command set."""
    out, pos = {}, 0
    while pos + 8 <= len(data):
        g, e, n = struct.unpack_from("<HHI", data, pos)
        out[e] = data[pos + 8:pos + 8 + n]
        pos += 8 + n
    return out


def read_response(peer):
    """Reads P-DATA until a whole command set: (status, comment) or raises
    AbortSeen / Closed."""
    cmd = b""
    while True:
        ptype, body = peer.recv_pdu()
        if ptype == 0x07:
            raise AbortSeen(body)
        if ptype != 0x04:
            raise ValueError(f"expected P-DATA-TF, got PDU type 0x{ptype:02x}")
        pos = 0
        while pos + 6 <= len(body):
            (ilen,) = struct.unpack_from(">I", body, pos)
            flags = body[pos + 5]
            data = body[pos + 6:pos + 4 + ilen]
            pos += 4 + ilen
            if flags & 1:
                cmd += data
                if flags & 2:
                    f = parse_command(cmd)
                    status = struct.unpack("<H", f[0x0900])[0] if 0x0900 in f else None
                    comment = f.get(0x0902, b"").rstrip(b"\x00 ").decode("latin-1")
                    return status, comment


class AbortSeen(Exception):
    pass


def associate(peer, ae, contexts):
    peer.send(assoc_rq(ae, "RAWPEER", contexts))
    ptype, body = peer.recv_pdu()
    if ptype != 0x02:
        raise ValueError(f"association not accepted: PDU type 0x{ptype:02x} body {body.hex()}")
    return parse_ac(body)


def abort_bytes(source, reason):
    return pdu(0x07, bytes([0, 0, source, reason]))

# --------------------------------------------------------------- scenarios


def expect_abort_or_close(peer, name, what, exact=None, seconds=10):
    """Reads what the server answers: an A-ABORT (whose body must be exact,
    if given) and/or the connection closed."""
    try:
        ptype, body = peer.recv_pdu()
    except Closed:
        if exact is None:
            return ok(name, f"{what}: connection closed")
        return fail(name, f"{what}: expected A-ABORT {exact.hex()}, the connection was just closed")
    except socket.timeout:
        return fail(name, f"{what}: no A-ABORT and no close within {peer.timeout} s")
    got = pdu(ptype, body)
    if ptype != 0x07:
        return fail(name, f"{what}: expected A-ABORT or close, got PDU {got[:16].hex()}")
    if exact is not None and got != exact:
        return fail(name, f"{what}: expected A-ABORT bytes {exact.hex()}, got {got.hex()}")
    closed = peer.wait_close(seconds)
    return ok(name, f"{what}: A-ABORT {got.hex()} (source {body[2]}, reason {body[3]})"
              + (", then closed" if closed else ", connection left open"))


def ok(name, msg):
    print(f"ok   {name}: {msg}", flush=True)
    return 0


def fail(name, msg):
    print(f"FAIL {name}: {msg}", flush=True)
    return 1


def sc_echo(peer, a):
    ac = associate(peer, a.ae, [(1, VERIFICATION, [IMPLICIT_LE])])
    if ac.get(1, (9,))[0] != 0:
        return fail("echo", f"Verification not accepted: {ac}")
    peer.send(pdata([(1, 3, echo_rq(7))]))
    status, _ = read_response(peer)
    peer.send(RELEASE_RQ)
    ptype, body = peer.recv_pdu()
    if status != 0 or ptype != 0x06:
        return fail("echo", f"status {status}, release answer 0x{ptype:02x}")
    return ok("echo", "C-ECHO status 0x0000, released")


def sc_store_good(peer, a):
    inst = new_uid(1)
    ac = associate(peer, a.ae, [(1, CT_STORAGE, [IMPLICIT_LE])])
    if ac.get(1, (9,))[0] != 0:
        return fail("store-good", f"CT Image Storage not accepted: {ac}")
    peer.send(pdata([(1, 3, store_rq(1, CT_STORAGE, inst))]))
    ds = dataset(inst)
    half = len(ds) // 2
    peer.send(pdata([(1, 0, ds[:half])]))
    peer.send(pdata([(1, 2, ds[half:])]))
    status, comment = read_response(peer)
    peer.send(RELEASE_RQ)
    peer.recv_pdu()
    print(f"stored-uid {inst}")
    if status is None or not (status == 0 or (status & 0xF000) == 0xB000):
        return fail("store-good", f"status {status:#06x}: {comment}")
    return ok("store-good", f"C-STORE of a valid instance: status 0x{status:04x}")


def sc_garbage(peer, a):
    peer.send(b"GET / HTTP/1.0\r\nHost: arca\r\n\r\n")
    return expect_abort_or_close(peer, "garbage", "HTTP request instead of a PDU")


def sc_unknown_type(peer, a):
    peer.send(pdu(0x0A, b"\x00" * 4))
    return expect_abort_or_close(peer, "unknown-type", "PDU type 0x0A before association")


def sc_unknown_type_assoc(peer, a):
    associate(peer, a.ae, [(1, VERIFICATION, [IMPLICIT_LE])])
    peer.send(pdu(0x0A, b"\x00" * 4))
    # PS3.8 Table 9-26: service-provider, unrecognized PDU (AA-8)
    return expect_abort_or_close(peer, "unknown-type-assoc", "PDU type 0x0A in Sta6",
                                 exact=abort_bytes(2, 1))


def sc_too_long(peer, a):
    associate(peer, a.ae, [(1, VERIFICATION, [IMPLICIT_LE])])
    peer.send(struct.pack(">BBI", 0x04, 0, 0xFFFFFFF0) + b"\x00" * 64)
    # PS3.8 Table 9-26: invalid PDU parameter value (a length above the limit)
    return expect_abort_or_close(peer, "too-long", "P-DATA-TF with PDU length 0xFFFFFFF0",
                                 exact=abort_bytes(2, 6))


def sc_bad_version(peer, a):
    peer.send(assoc_rq(a.ae, "RAWPEER", [(1, VERIFICATION, [IMPLICIT_LE])], version=2))
    want = pdu(0x03, bytes([0, 1, 2, 2]))  # PS3.8 Table 9-21: permanent, ACSE, protocol version
    try:
        ptype, body = peer.recv_pdu()
    except (Closed, socket.timeout):
        return fail("bad-version", "no A-ASSOCIATE-RJ")
    got = pdu(ptype, body)
    if got != want:
        return fail("bad-version", f"expected A-ASSOCIATE-RJ {want.hex()}, got {got.hex()}")
    closed = peer.wait_close(10)
    return ok("bad-version", f"protocol version 0x0002: RJ {got.hex()} (1 permanent, 2 ACSE, 2 version)"
              + (", then closed" if closed else ", left open"))


def sc_silent(peer, a):
    t0 = time.monotonic()
    closed = peer.wait_close(a.artim + 5)
    took = time.monotonic() - t0
    if not closed:
        return fail("silent", f"a connection that sends nothing was still open after {took:.1f} s (ARTIM {a.artim} s)")
    return ok("silent", f"a connection that sends nothing was closed after {took:.1f} s (ARTIM {a.artim} s)")


def sc_pdata_first(peer, a):
    peer.send(pdata([(1, 3, echo_rq(1))]))
    return expect_abort_or_close(peer, "pdata-first", "P-DATA-TF before any A-ASSOCIATE-RQ")


def sc_pdv_overrun(peer, a):
    associate(peer, a.ae, [(1, VERIFICATION, [IMPLICIT_LE])])
    cmd = echo_rq(1)
    body = struct.pack(">IBB", len(cmd) + 2 + 100, 1, 3) + cmd  # item length 100 bytes too long
    peer.send(pdu(0x04, body))
    return expect_abort_or_close(peer, "pdv-overrun", "a PDV item longer than its PDU",
                                 exact=abort_bytes(2, 6))


def sc_missing_field(peer, a):
    inst = new_uid(2)
    associate(peer, a.ae, [(1, CT_STORAGE, [IMPLICIT_LE])])
    print(f"uid {inst}")
    # C-STORE-RQ without Affected SOP Instance UID (0000,1000), required by PS3.7 9.3.1.1
    peer.send(pdata([(1, 3, store_rq(1, CT_STORAGE, inst, drop=(0x1000,)))]))
    peer.send(pdata([(1, 2, dataset(inst))]))
    try:
        status, comment = read_response(peer)
    except AbortSeen as e:
        return ok("missing-field", f"C-STORE-RQ without Affected SOP Instance UID: A-ABORT {e.args[0].hex()}")
    except Closed:
        return fail("missing-field", "connection closed without a response or an A-ABORT")
    if status is None or status == 0 or (status & 0xF000) == 0xB000:
        return fail("missing-field", f"expected a failure status or A-ABORT, got status {status}")
    peer.send(RELEASE_RQ)
    return ok("missing-field", f"C-STORE-RQ without Affected SOP Instance UID: status 0x{status:04x} ({comment})")


def store_bad_dataset(peer, a, name, ds_bytes, inst):
    associate(peer, a.ae, [(1, CT_STORAGE, [IMPLICIT_LE])])
    print(f"uid {inst}")
    peer.send(pdata([(1, 3, store_rq(1, CT_STORAGE, inst))]))
    peer.send(pdata([(1, 2, ds_bytes)]))
    try:
        status, comment = read_response(peer)
    except AbortSeen as e:
        return fail(name, f"expected status 0xC000, got A-ABORT {e.args[0].hex()}")
    except Closed:
        return fail(name, "expected status 0xC000, the connection was closed")
    if status != 0xC000:
        return fail(name, f"expected status 0xC000 (cannot understand, PS3.4 B.2.3), got {status:#06x}: {comment}")
    peer.send(RELEASE_RQ)
    try:
        peer.recv_pdu()
    except (Closed, socket.timeout):
        pass
    return ok(name, f"status 0xC000 ({comment})")


def sc_truncated(peer, a):
    inst = new_uid(3)
    ds = dataset(inst)
    # the last element (Pixel Data) announces more bytes than follow
    return store_bad_dataset(peer, a, "truncated", ds[:-100], inst)


def sc_malformed(peer, a):
    inst = new_uid(4)
    # PS3.5 7.5: a sequence holds items, each starting with (FFFE,E000);
    # this one holds a plain element instead
    seq = (struct.pack("<HHI", 0x0008, 0x1110, 0xFFFFFFFF) + elem_implicit(0x0008, 0x1150, uid(CT_STORAGE))
           + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))
    return store_bad_dataset(peer, a, "malformed", dataset(inst, extra=[(0x0008, 0x1110, seq)]), inst)


def sc_vanish(peer, a):
    inst = new_uid(5)
    associate(peer, a.ae, [(1, CT_STORAGE, [IMPLICIT_LE])])
    print(f"uid {inst}")
    peer.send(pdata([(1, 3, store_rq(1, CT_STORAGE, inst))]))
    ds = dataset(inst, rows=64)
    peer.send(pdata([(1, 0, ds[:len(ds) // 2])]))
    peer.close()
    return ok("vanish", "sent half a C-STORE data set, then closed the connection")


SCENARIOS = {
    "echo": sc_echo,
    "store-good": sc_store_good,
    "garbage": sc_garbage,
    "unknown-type": sc_unknown_type,
    "unknown-type-assoc": sc_unknown_type_assoc,
    "too-long": sc_too_long,
    "bad-version": sc_bad_version,
    "silent": sc_silent,
    "pdata-first": sc_pdata_first,
    "pdv-overrun": sc_pdv_overrun,
    "missing-field": sc_missing_field,
    "truncated": sc_truncated,
    "malformed": sc_malformed,
    "vanish": sc_vanish,
}

# --------------------------------------------------------------- corpus


def write_corpus(d):
    """Seeds for fuzz_assoc: first byte = read size (0: whole), then what a
    requestor sends."""
    os.makedirs(d, exist_ok=True)
    inst = UID_ROOT + ".77"
    rq_echo = assoc_rq("ARCA", "RAWPEER", [(1, VERIFICATION, [IMPLICIT_LE, EXPLICIT_LE])])
    rq_store = assoc_rq("ARCA", "RAWPEER", [(1, CT_STORAGE, [IMPLICIT_LE]), (3, CT_STORAGE, [EXPLICIT_LE])],
                        max_pdu=256)
    ds = dataset(inst, rows=4)
    seeds = {
        "echo-release": rq_echo + pdata([(1, 3, echo_rq(1))]) + RELEASE_RQ,
        "echo-split-command": rq_echo + pdata([(1, 1, echo_rq(2)[:20])]) + pdata([(1, 3, echo_rq(2)[20:])]) + RELEASE_RQ,
        "store": rq_store + pdata([(1, 3, store_rq(1, CT_STORAGE, inst))]) + pdata([(1, 0, ds[:60])])
        + pdata([(1, 2, ds[60:])]) + RELEASE_RQ,
        "store-two-pdvs-one-pdu": rq_store + pdata([(1, 3, store_rq(3, CT_STORAGE, inst)), (1, 2, ds)]) + RELEASE_RQ,
        "store-truncated": rq_store + pdata([(1, 3, store_rq(1, CT_STORAGE, inst))]) + pdata([(1, 2, ds[:-9])]),
        "store-missing-field": rq_store + pdata([(1, 3, store_rq(1, CT_STORAGE, inst, drop=(0x1000,)))])
        + pdata([(1, 2, ds)]),
        "bad-version": assoc_rq("ARCA", "RAWPEER", [(1, VERIFICATION, [IMPLICIT_LE])], version=2),
        "garbage": b"GET / HTTP/1.0\r\n\r\n",
        "unknown-type": rq_echo + pdu(0x0A, b"\x00" * 4),
        "too-long": rq_echo + struct.pack(">BBI", 4, 0, 0xFFFFFFF0),
        "pdata-first": pdata([(1, 3, echo_rq(1))]),
        "pdv-overrun": rq_echo + pdu(0x04, struct.pack(">IBB", 200, 1, 3) + echo_rq(1)),
        "abort": rq_echo + abort_bytes(0, 0),
        "release-twice": rq_echo + RELEASE_RQ + RELEASE_RQ,
        "wrong-context": rq_echo + pdata([(5, 3, echo_rq(1))]),
        "rq-twice": rq_echo + rq_echo,
    }
    for name, data in seeds.items():
        for chunk in (0, 7):
            with open(os.path.join(d, f"{name}-{chunk}"), "wb") as f:
                f.write(bytes([chunk]) + data)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int)
    ap.add_argument("--ae", default="ARCA")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--artim", type=float, default=2.0, help="the server's ARTIM timeout, seconds")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--write-corpus")
    ap.add_argument("scenario", nargs="?")
    a = ap.parse_args()
    if a.list:
        print("\n".join(SCENARIOS))
        return 0
    if a.write_corpus:
        return write_corpus(a.write_corpus)
    if a.port is None or a.scenario not in SCENARIOS:
        ap.print_usage(sys.stderr)
        return 2
    try:
        peer = Peer(a.host, a.port, a.timeout)
    except OSError as e:
        return fail(a.scenario, f"cannot connect: {e}")
    try:
        return SCENARIOS[a.scenario](peer, a)
    except (Closed, ConnectionResetError, BrokenPipeError):
        return fail(a.scenario, "the server closed the connection unexpectedly")
    except socket.timeout:
        return fail(a.scenario, f"no answer within {a.timeout} s")
    except (ValueError, AbortSeen) as e:
        return fail(a.scenario, str(e))
    finally:
        peer.close()


if __name__ == "__main__":
    sys.exit(main())
