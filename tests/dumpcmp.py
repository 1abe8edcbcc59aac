#!/usr/bin/env python3
"""dumpcmp.py - compare an `arca dump --full` listing with a DCMTK dcmdump
listing of the same file (used by tests/dump_vs_dcmdump.sh).

Both listings are reduced to tuples (nesting path, tag, VR, value) and the
tuples are compared in order.  The normalisations are the ones needed to
compare meaning rather than spelling, and nothing more:

  * dcmdump runs with +L +U8 -Un +Qn: values in full, text in UTF-8, UIDs
    not replaced by names, non-ASCII and control characters quoted as
    "&#NNN;" (one per byte) and XML's &amp; &lt; &gt; &quot; &apos;.  arca
    writes UTF-8 and "\\xNN" for control bytes and undecodable bytes.  Both
    are turned back into bytes before comparing.
  * FL/OF values are compared as binary32 numbers and FD/OD values as
    binary64 numbers (dcmdump prints some with more digits than needed).
  * Trailing spaces and NULs of text values are padding (PS3.5 6.2) and
    dropped on both sides (dcmdump shows an all-space value as "[  ]").
  * dcmdump's "??" VR (an element it has no VR for) is the VR UN, and its
    internal "up" VR (UL offsets in a DICOMDIR) is UL.
  * The value of (0008,0005) is not compared: dcmdump +U8 rewrites it to
    ISO_IR 192 when it converts the text, and inserts it where it was
    absent (such an inserted element is dropped).
  * Lines starting with "#" inside the listing (dcmdump's DICOMDIR record
    notes) are comments.
  * With --raw-text (dcmdump could not convert the file's character set and
    ran without +U8), text values are compared only where dcmdump's bytes
    are ASCII; the others are counted as not compared.
  * Delimitation lines are not compared (whether dcmdump shows "for
    re-encoding" depends on how lengths were encoded, not on content), nor
    value lengths, VMs and keywords.

Allowed differences (known ones, each with its reason in the calling
script) are given as --allow KIND:TAG where KIND is vr, value, only-arca,
only-dcmdump or any, and TAG is gggg,eeee (lower case) at any nesting.

Exit status: 0 the listings agree (apart from allowed differences), 1 they
differ (the differences are printed, at most --max of them), 2 bad usage or
a listing that could not be parsed.
"""
import argparse
import difflib
import re
import struct
import sys

LINE = re.compile(
    r'^(?P<ind> *)\((?P<g>[0-9a-fA-F]{4}),(?P<e>[0-9a-fA-F]{4})\) (?P<vr>\S\S) '
    r'(?P<val>.*?) *# *(?P<len>u/l|\d+), *(?P<vm>\d+) (?P<kw>[^#]*)$')
SEQ = re.compile(r'^\(Sequence with (?:undefined|explicit) length #=(\d+)\)$')
# dcmdump names DICOMDIR items: '"Directory Record" PATIENT #=7'
ITEM = re.compile(r'^(?:\(Item with (?:undefined|explicit) length|"directory record" \S+) #=(\d+)\)?$', re.IGNORECASE)
PIXSEQ = re.compile(r'^\(PixelSequence #=(\d+)\)$')
XML_ENT = re.compile(r'&(#\d+|amp|lt|gt|quot|apos);')
HEX_ESC = re.compile(rb'\\x([0-9a-fA-F]{2})')
NAMED = {'amp': b'&', 'lt': b'<', 'gt': b'>', 'quot': b'"', 'apos': b"'"}

TEXT_VRS = {'AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH',
            'ST', 'TM', 'UC', 'UI', 'UR', 'UT'}
SINGLE_VRS = {'FL', 'OF'}
DOUBLE_VRS = {'FD', 'OD'}


def dcmdump_text(s):
    """dcmdump +Qn text -> bytes."""
    out = bytearray()
    pos = 0
    for m in XML_ENT.finditer(s):
        out += s[pos:m.start()].encode('utf-8', 'surrogateescape')
        ent = m.group(1)
        if ent.startswith('#'):
            out.append(int(ent[1:]) & 0xFF)
        else:
            out += NAMED[ent]
        pos = m.end()
    out += s[pos:].encode('utf-8', 'surrogateescape')
    return bytes(out)


def arca_text(s):
    """arca text (UTF-8, \\xNN escapes) -> bytes."""
    raw = s.encode('utf-8', 'surrogateescape')
    return HEX_ESC.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def norm_float(v, single):
    try:
        f = float(v)
    except ValueError:
        return v
    if f != f:
        return 'nan'
    if single:
        try:
            f = struct.unpack('<f', struct.pack('<f', f))[0]
        except OverflowError:
            pass
    # dcmdump prints -0 as 0: compare numerically (-0.0 + 0.0 is 0.0)
    return repr(f + 0.0)


def norm_value(vr, val, from_dcmdump):
    if val == '(no value available)':
        return ''
    if vr in TEXT_VRS and val.startswith('['):
        body = val[1:-1] if val.endswith(']') else val[1:]
        raw = dcmdump_text(body) if from_dcmdump else arca_text(body)
        return raw.rstrip(b' \0')
    if vr in SINGLE_VRS or vr in DOUBLE_VRS:
        return '\\'.join(norm_float(v, vr in SINGLE_VRS) for v in val.split('\\'))
    return val.lower()


def parse(path, from_dcmdump):
    """Listing -> list of (path, tag, vr, value)."""
    tuples = []
    stack = []          # path components by indentation level
    item_counts = {}    # sequence path -> items seen
    with open(path, encoding='utf-8', errors='surrogateescape') as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip('\n')
            if not line.lstrip(' ').startswith('('):
                continue  # headings, comments, blank lines
            m = LINE.match(line)
            if m is None:
                if line.strip() == '':
                    continue
                raise ValueError('%s:%d: not a listing line: %r' % (path, lineno, line[:120]))
            level = len(m.group('ind')) // 2
            tag = (m.group('g') + ',' + m.group('e')).lower()
            vr = m.group('vr')
            val = m.group('val')
            if vr == '??':
                vr = 'UN'
            elif vr == 'up':
                vr = 'UL'
            del stack[level:]
            while len(stack) < level:
                stack.append('?')
            where = '/'.join(stack)
            if tag in ('fffe,e00d', 'fffe,e0dd'):
                continue
            if tag == 'fffe,e000':
                k = item_counts.get(where, 0)
                item_counts[where] = k + 1
                im = ITEM.match(val)
                value = 'elements=%s' % im.group(1) if im else norm_value('OB', val, from_dcmdump)
                tuples.append((where, tag, vr, value))
                stack.append('[%d]' % k)
                continue
            sm = SEQ.match(val)
            pm = PIXSEQ.match(val)
            if sm:
                value = 'items=%s' % sm.group(1)
            elif pm:
                value = 'fragments=%s' % pm.group(1)
            elif tag == '0008,0005':
                value = '(not compared)'
            else:
                value = norm_value(vr, val, from_dcmdump)
            tuples.append((where, tag, vr, value))
            if sm or pm:
                stack.append(tag)
                item_counts[where + '/' + tag if where else tag] = 0
    return tuples


def show(t):
    v = t[3]
    if isinstance(v, bytes):
        v = v.decode('utf-8', 'backslashreplace')
    if len(v) > 100:
        v = v[:100] + '...'
    return '%s (%s) %s %s' % (t[0] + '/' if t[0] else '', t[1], t[2], v)


def main():
    ap = argparse.ArgumentParser(description='compare arca dump with dcmdump')
    ap.add_argument('arca')
    ap.add_argument('dcmdump')
    ap.add_argument('--allow', action='append', default=[], metavar='KIND:TAG')
    ap.add_argument('--max', type=int, default=20)
    ap.add_argument('--raw-text', action='store_true',
                    help='dcmdump ran without +U8: compare only ASCII text values')
    args = ap.parse_args()
    allowed = set()
    for a in args.allow:
        kind, _, tag = a.partition(':')
        if kind not in ('vr', 'value', 'only-arca', 'only-dcmdump', 'any') or not tag:
            print('dumpcmp: bad --allow %r' % a, file=sys.stderr)
            return 2
        allowed.add((kind, tag.lower()))

    def ok(kind, tag):
        return (kind, tag) in allowed or ('any', tag) in allowed

    try:
        ours = parse(args.arca, False)
        theirs = parse(args.dcmdump, True)
    except (OSError, ValueError) as e:
        print('dumpcmp: %s' % e, file=sys.stderr)
        return 2
    if not theirs:
        print('dumpcmp: the dcmdump listing has no elements', file=sys.stderr)
        return 2
    # (0008,0005) that dcmdump +U8 inserted where the file had none
    have_cs = {t[0] for t in ours if t[1] == '0008,0005'}
    theirs = [t for t in theirs if t[1] != '0008,0005' or t[0] in have_cs]
    not_compared = 0
    diffs = []
    keys_a = [(t[0], t[1]) for t in ours]
    keys_b = [(t[0], t[1]) for t in theirs]
    sm = difflib.SequenceMatcher(None, keys_a, keys_b, autojunk=False)
    for op, a0, a1, b0, b1 in sm.get_opcodes():
        if op == 'equal':
            for a, b in zip(ours[a0:a1], theirs[b0:b1]):
                if a[2] != b[2] and not ok('vr', a[1]):
                    diffs.append('VR differs:\n  arca:    %s\n  dcmdump: %s' % (show(a), show(b)))
                elif a[3] != b[3] and args.raw_text and isinstance(b[3], bytes) and \
                        any(c >= 0x80 or c == 0x1B for c in b[3]):
                    not_compared += 1
                elif a[3] != b[3] and not ok('value', a[1]):
                    diffs.append('value differs:\n  arca:    %s\n  dcmdump: %s' % (show(a), show(b)))
            continue
        for a in ours[a0:a1]:
            if not ok('only-arca', a[1]):
                diffs.append('only in arca:    %s' % show(a))
        for b in theirs[b0:b1]:
            if not ok('only-dcmdump', b[1]):
                diffs.append('only in dcmdump: %s' % show(b))
    if not_compared:
        print('note: %d non-ASCII text values not compared (--raw-text)' % not_compared)
    for d in diffs[:args.max]:
        print(d)
    if len(diffs) > args.max:
        print('... and %d more differences' % (len(diffs) - args.max))
    return 1 if diffs else 0


if __name__ == '__main__':
    sys.exit(main())
