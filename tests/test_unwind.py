# SPDX-License-Identifier: GPL-2.0-or-later
"""--unwind=fp: the frame-pointer walk gives the frames libunwind gives for
code built with frame pointers, the same exact counts, and ends safely where
the frame-pointer register holds anything else."""

import pytest

from conftest import BIN, find_bt, fmt_bytes, one_report, run, trace

FP = ("--unwind=fp", "--top=0")


def traced(prog, opts):
    r = trace(prog, opts=opts)
    assert r.returncode == 0, r.stderr
    return one_report(r.stderr), r


def program_frames(bt, exe):
    """Function names of the frames in the test program itself."""
    return [f.func for f in bt.frames if f.obj == str(BIN / exe)]


@pytest.mark.parametrize("site", ["deep_leak", "level3", "lvl4"])
def test_same_program_frames_as_libunwind(site):
    fp, _ = traced("s-deep", FP)
    unw, _ = traced("s-deep", ("--top=0",))
    a, b = find_bt(fp, site), find_bt(unw, site)
    assert a.frames[0].func == "malloc"
    assert program_frames(a, "s-deep") == program_frames(b, "s-deep")
    assert (a.count, a.size) == (b.count, b.size)
    assert fp.summary["heap traced allocation size"] == unw.summary["heap traced allocation size"]


def test_cut_at_depth_like_libunwind():
    fp, _ = traced("s-deep", FP)
    deep = find_bt(fp, "deep_leak")
    assert deep.funcs == ["malloc"] + ["deep_leak"] * 7
    assert deep.truncated and deep.cut == "depth"


def test_cxx_operators_and_threads():
    """Hooks of every kind and other threads' stacks walk the same way."""
    for prog in ("s-threads", "s-new-delete"):
        fp, _ = traced(prog, FP)
        unw, _ = traced(prog, ("--top=0",))
        for key in ("heap traced num of backtrace", "heap traced allocation size",
                    "allocations since start"):
            assert fp.summary[key] == unw.summary[key], (prog, key)
        assert sorted(program_frames(b, prog) for b in fp.backtraces) == \
            sorted(program_frames(b, prog) for b in unw.backtraces)


def test_garbage_frame_pointer_ends_the_walk():
    """%rbp = NULL, unmapped, misaligned, kernel, looping, a chain into an
    unmapped page: no crash, every block counted, and the hook's caller is
    right whatever the register held (the hook's own frame is heaptrace's)."""
    rep, r = traced("s-fp-garbage", FP)
    ncases = int(r.stdout.split()[1])
    assert r.stdout == "done %d\n" % ncases
    assert sum(b.count for b in rep.backtraces) == ncases
    assert sum(b.peak_count for b in rep.backtraces) >= ncases + 1
    for b in rep.backtraces:
        assert b.funcs[:2] == ["malloc", "call_with_rbp"]
    assert rep.summary["heap traced allocation size"] == \
        "%s in %d blocks" % (fmt_bytes(sum(100 + i for i in range(ncases))), ncases)
