#!/usr/bin/env python3
"""pixcmp.py - compare two raw native pixel data dumps (as `dcmdump +W`
writes them) sample by sample, whatever their planar configurations.

usage: pixcmp.py A PC_A B PC_B SAMPLES BYTES FRAMES ROWS COLUMNS [TOLERANCE]

A and B hold FRAMES frames of ROWS x COLUMNS pixels of SAMPLES samples of
BYTES (1, 2 or 4) bytes each, little endian, color-by-pixel (PC 0) or
color-by-plane (PC 1).  Exit 0 when every sample differs by at most
TOLERANCE (default 0, compared as unsigned cell values), else 1 with the
first difference and the largest one on stderr.  Standard library only."""
import sys
from array import array

TYPECODES = {1: "B", 2: "H", 4: "I"}


def by_pixel(raw, pc, spp, nbytes, frames, pixels):
    """The samples as an array in color-by-pixel order."""
    a = array(TYPECODES[nbytes])
    a.frombytes(raw[:frames * pixels * spp * nbytes])
    if sys.byteorder == "big":
        a.byteswap()
    if pc == 0 or spp == 1:
        return a
    out = array(a.typecode, bytes(len(a) * nbytes))
    n = pixels * spp
    for f in range(frames):
        base = f * n
        for s in range(spp):
            out[base + s:base + n:spp] = a[base + s * pixels:base + (s + 1) * pixels]
    return out


def main(argv):
    if len(argv) not in (10, 11):
        print(__doc__, file=sys.stderr)
        return 2
    spp, nbytes, frames, rows, cols = (int(x) for x in argv[5:10])
    tol = int(argv[10]) if len(argv) == 11 else 0
    if nbytes not in TYPECODES:
        print(f"pixcmp: {nbytes} bytes per sample not handled", file=sys.stderr)
        return 2
    pixels = rows * cols
    need = frames * pixels * spp * nbytes
    raws = [open(argv[1], "rb").read(), open(argv[3], "rb").read()]
    if any(len(r) < need for r in raws):
        print(f"pixcmp: {len(raws[0])} and {len(raws[1])} bytes where {need} are needed", file=sys.stderr)
        return 1
    a = by_pixel(raws[0], int(argv[2]), spp, nbytes, frames, pixels)
    b = by_pixel(raws[1], int(argv[4]), spp, nbytes, frames, pixels)
    if a == b:
        return 0
    first, worst = None, 0
    for i, (va, vb) in enumerate(zip(a, b)):
        d = abs(va - vb)
        if d > tol and first is None:
            first = (i, va, vb)
        worst = max(worst, d)
    if first is None:
        return 0
    i, va, vb = first
    print(f"pixcmp: frame {i // (pixels * spp)} pixel {i % (pixels * spp) // spp} sample {i % spp}: "
          f"{va} != {vb} (largest difference {worst})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
