# SPDX-License-Identifier: GPL-2.0-or-later
"""Pairs of made-up JSON reports (heaptrace --json, schema 1) for
heaptrace --diff, with the growth the diff must find: used by
tests/test_diff.py, and run by hand to measure --diff on big files:

    python3 tests/genreport.py BACKTRACES OLD.json NEW.json [DEPTH]

Backtrace i has its own frames (object offsets no other backtrace shares,
an inlined call in NEW only, a last frame known by its function only) and
one fate by i % 5: grown, shrunk, unchanged, only in NEW, only in OLD.  Its
growth is 16 * (i + 1) bytes, so no two backtraces tie.  NEW's objects are
loaded elsewhere than OLD's (matching goes by object offsets).  Each file
lists the backtraces in its own order, in two sections (the second lists
only some of them), as a report sorted by two keys does."""

import random
import sys

LIB = "/usr/local/lib/heaptrace/libheaptrace.so"
OBJECTS = ["/usr/bin/myd", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30",
           "/lib/x86_64-linux-gnu/libc.so.6"]
GROWN, SHRUNK, SAME, NEW_ONLY, OLD_ONLY = range(5)


# Frames as heaptrace writes them, in templates: json.dumps would take
# seconds at 100 MB, and the names made up here need no escaping.
MALLOC = ('{"address":%d,"function":"malloc","offset":221,"inlined":false,"file":null,'
          '"line":null,"object":"%s","object_offset":%d}')
CALL = ('{"address":%d,"function":"%s","offset":%d,"inlined":false,"file":"%s","line":%d,'
        '"object":"%s","object_offset":%d}')
INLINED = ('{"address":%d,"function":"%s","offset":null,"inlined":true,"file":"%s","line":%d,'
           '"object":"%s","object_offset":%d}')
JIT = ('{"address":%d,"function":"jit_%d","offset":5,"inlined":false,"file":null,"line":null,'
       '"object":null,"object_offset":0}')


def frames(i, depth, load):
    """Backtrace i's frames: malloc, callers, then one known by its function
    only; objects loaded at load + their base."""
    out = [MALLOC % (load + 0x7f0000012345, LIB, 0x12345)]
    for k in range(1, depth - 1):
        obj = OBJECTS[k % len(OBJECTS)]
        off = 0x1000 + (i * depth + k) * 0x10
        addr = load + (0x7f1000000000 if k % len(OBJECTS) else 0x555500000000) + off
        if k == 2 and load:
            # an inlined call at its caller's address, in NEW only (as if
            # debug information had come between the runs): not matched
            out.append(INLINED % (addr, "inl_%d" % (i % 7), "/src/myd/inl.h", 10 + i % 7, obj,
                                  off))
        out.append(CALL % (addr, "fn_%d_%d" % (k, i), 0x20 + k, "/src/myd/mod%d.c" % (i % 13),
                           100 + k, obj, off))
    out.append(JIT % (0x600000 + i % 3, i % 3))
    return ",".join(out)


def backtrace(i, count, nbytes, depth, load):
    """Backtrace i, its rank left as %d."""
    return ('{"rank":%%d,"count":%d,"peak_count":%d,"bytes":%d,"peak_bytes":%d,"age_ns":%d,'
            '"growth_count":null,"growth_bytes":null,"at_peak_count":%d,"at_peak_bytes":%d,'
            '"truncated":true,"cut":"depth","frames":[%s]}'
            % (count, count + 1, nbytes, nbytes + 8, 1000 * i, count, nbytes,
               frames(i, depth, load)))


def report(pid, rows, second, depth, load):
    """One line: rows, second are the (i, count, bytes) of each section, in
    the order listed (second's a subset of rows')."""
    text = {row[0]: backtrace(*row, depth, load) for row in rows}

    def section(key, rows):
        return '{"sort":"%s","backtraces":[%s]}' % (
            key, ",".join(text[row[0]] % (r + 1) for r, row in enumerate(rows)))

    return ('{"schema_version":1,"pid":%d,"comm":"myd","event":"exit","time_ns":5,"depth":%d,'
            '"sections":[%s,%s],"summary":{"backtraces":%d}}\n'
            % (pid, depth, section("size", rows), section("count", second), len(rows)))


def pair(n, depth=8, seed=1):
    """(old, new, grown, total): the two reports' text; (i, count, bytes,
    growth_bytes, growth_count) of each backtrace that grew, most first;
    the whole heap's growth as (bytes, blocks)."""
    rng = random.Random(seed)
    old, new, grown = [], [], []
    total = [0, 0]
    for i in range(n):
        fate = i % 5
        count, nbytes = 1 + i % 3, 64 * (1 + i % 11)
        later = {GROWN: (count + 2, nbytes + 16 * (i + 1)), SHRUNK: (count, nbytes - 16),
                 SAME: (count, nbytes), NEW_ONLY: (count, 16 * (i + 1)),
                 OLD_ONLY: (0, 0)}[fate]
        if fate == NEW_ONLY:
            count, nbytes = 0, 0
        else:
            old.append((i, count, nbytes))
        if fate != OLD_ONLY:
            new.append((i, *later))
        total[0] += later[1] - nbytes
        total[1] += later[0] - count
        if later[1] > nbytes:
            grown.append((i, later[0], later[1], later[1] - nbytes, later[0] - count))
    grown.sort(key=lambda g: -g[3])
    rng.shuffle(old)
    rng.shuffle(new)
    half = len(new) // 2
    return (report(100, old, old[::-1][:half], depth, 0),
            report(200, new, new[:half], depth, 0x100000), grown, tuple(total))


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: genreport.py BACKTRACES OLD.json NEW.json [DEPTH]")
    old, new, grown, total = pair(int(sys.argv[1]), *map(int, sys.argv[4:]))
    for path, doc in ((sys.argv[2], old), (sys.argv[3], new)):
        with open(path, "w") as f:
            f.write(doc)
    print("%d grew, heap %+d bytes / %+d blocks" % (len(grown), *total))
