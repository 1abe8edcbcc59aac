#!/usr/bin/env python3
"""netcmp.py - comparisons for the network integration tests: did the
receiving side store what was sent?

  netcmp.py bytes ORIG STORED
      The data set bytes (everything after the File Meta Information,
      PS3.10 7.1) must be identical: for a peer that keeps what it receives
      bit for bit (storescp +B) and a sender that streams the file as is.
      Two allowances, both made by the sender on purpose and said here:
      a bare data set file (no meta) may start with one stray byte that
      arca's reader skips, and a deflated data set of odd length gets the
      trailing NUL of PS3.5 A.5.
  netcmp.py values [--no-private] ORIG STORED
      The element values must be the same (group 0002 left out), compared
      on DCMTK's dcmdump listings (+L -Un +Qn): tag, nesting and value;
      not VR, not lengths, and not what is encoding rather than content:
      group lengths (gggg,0000), Data Set Trailing Padding (FFFC,FFFC),
      defined vs undefined sequence and item lengths, delimiters.  Private elements are left out when exactly one
      of the two files is Implicit VR Little Endian (the Implicit VR copy
      shows a private value dcmdump has no VR for as UN bytes), or always
      with --no-private.
  netcmp.py uids DIR...
      Prints "SOP-Instance-UID<TAB>path" for every DICOM file under DIR
      (read with dcmdump), so a test can find what a server stored.

Exit status: 0 same, 1 different (the first differences are printed),
2 bad usage or unreadable input.
"""
import os
import re
import struct
import subprocess
import sys

LONG_VRS = {b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"SQ", b"UT", b"UN", b"UC", b"UR", b"SV", b"UV"}
DEFLATED = "1.2.840.10008.1.2.1.99"
IMPLICIT = "1.2.840.10008.1.2"


def split_meta(data):
    """(meta transfer syntax or None, data set bytes) of a file's bytes."""
    if len(data) >= 132 and data[128:132] == b"DICM":
        pos = 132
    elif len(data) >= 6 and data[0:2] == b"\x02\x00" and data[4:6].isalpha():
        pos = 0
    else:
        return None, data
    ts = None
    while pos + 8 <= len(data):
        group, elem = struct.unpack_from("<HH", data, pos)
        if group != 0x0002:
            break
        vr = data[pos + 4:pos + 6]
        if vr in LONG_VRS:
            (length,) = struct.unpack_from("<I", data, pos + 8)
            head = 12
        else:
            (length,) = struct.unpack_from("<H", data, pos + 6)
            head = 8
        if elem == 0x0010:
            ts = data[pos + head:pos + head + length].rstrip(b"\x00 ").decode("ascii", "replace")
        pos += head + length
    return ts, data[pos:]


def cmp_bytes(orig_path, stored_path):
    with open(orig_path, "rb") as f:
        orig = f.read()
    with open(stored_path, "rb") as f:
        stored = f.read()
    ots, ods = split_meta(orig)
    sts, sds = split_meta(stored)
    if ods == sds:
        return 0
    if ots is None and len(ods) == len(sds) + 1 and ods[1:] == sds:
        return 0  # the stray byte before a bare data set
    if ots == DEFLATED and len(ods) % 2 == 1 and sds == ods + b"\x00":
        return 0  # PS3.5 A.5 pad
    n = min(len(ods), len(sds))
    first = next((i for i in range(n) if ods[i] != sds[i]), n)
    print(f"{stored_path}: data set differs from {orig_path}: {len(sds)} bytes vs {len(ods)}, "
          f"first difference at data set byte {first} (transfer syntax {sts} vs {ots})")
    return 1


LINE = re.compile(r"^(\s*)\(([0-9a-f]{4}),([0-9a-f]{4})\) (\S\S) (.*?)\s+#\s*(\S+),")


def listing(path, no_private=False):
    """(depth, tag, value) of every element outside group 0002."""
    p = subprocess.run(["dcmdump", "+L", "-Un", "+Qn", "-q", path], capture_output=True)
    if p.returncode != 0:
        raise OSError(f"dcmdump failed on {path}: {p.stderr.decode(errors='replace').strip()}")
    out = []
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        m = LINE.match(line)
        if not m:
            continue
        indent, group, elem, _vr, value, _len = m.groups()
        if group == "0002":
            continue
        if no_private and int(group, 16) % 2 == 1:
            continue
        if group == "fffe" and elem in ("e00d", "e0dd"):
            continue  # delimitation: depends on length encoding, not content
        if elem == "0000":
            continue  # group lengths: recomputed by any writer (PS3.5 7.2)
        if group == "fffc" and elem == "fffc":
            continue  # Data Set Trailing Padding: no meaning (PS3.10 7.2)
        if value.startswith("(Sequence with ") or value.startswith("(Item with "):
            # defined or undefined length is encoding; the item count is content
            value = value[value.find("#="):] if "#=" in value else ""
        out.append((len(indent) // 2, group + "," + elem, value.strip()))
    return out


def file_ts(path):
    with open(path, "rb") as f:
        head = f.read(4096)
    return split_meta(head)[0]


def cmp_values(orig_path, stored_path, no_private=False):
    implicit = [file_ts(p) == IMPLICIT for p in (orig_path, stored_path)]
    if implicit[0] != implicit[1]:
        no_private = True
    try:
        a = listing(orig_path, no_private)
        b = listing(stored_path, no_private)
    except OSError as e:
        print(e)
        return 2
    if a == b:
        return 0
    shown = 0
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else None
        y = b[i] if i < len(b) else None
        if x != y:
            print(f"{stored_path}: element {i}: original {x}, stored {y}")
            shown += 1
            if shown >= 5:
                break
    return 1


UID_LINE = re.compile(r"\(0008,0018\) UI \[([^\]]*)\]")


def uids(dirs):
    for d in dirs:
        for root, _, files in os.walk(d):
            for name in sorted(files):
                path = os.path.join(root, name)
                p = subprocess.run(["dcmdump", "-q", "+P", "0008,0018", path], capture_output=True)
                m = UID_LINE.search(p.stdout.decode("ascii", "replace"))
                if p.returncode == 0 and m:
                    print(f"{m.group(1).strip()}\t{path}")
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "bytes":
        return cmp_bytes(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "values":
        return cmp_values(argv[2], argv[3])
    if len(argv) == 5 and argv[1] == "values" and argv[2] == "--no-private":
        return cmp_values(argv[3], argv[4], True)
    if len(argv) >= 3 and argv[1] == "uids":
        return uids(argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
