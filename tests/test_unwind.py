# SPDX-License-Identifier: GPL-2.0-or-later
"""The unwinders.  The default walk of .eh_frame gives, frame for frame, what
libunwind gives (--unwind=check counts every difference) in optimized code,
threads, signal handlers, C++ and Debian's own programs, and leaves to
libunwind exactly the frames it does not walk.  --unwind=fp: the
frame-pointer walk gives the frames libunwind gives for code built with
frame pointers, the same exact counts, and gives the backtrace to the
default unwinder where the frame-pointer register holds anything else."""

import re

import pytest

from htlib import BIN, HEAPTRACE, find_bt, fmt_bytes, need, one_report, run, trace

CHECK_RE = re.compile(r"^heaptrace: unwind check: (\d+) backtraces, (\d+) walked from "
                      r"\.eh_frame, (\d+) differ(; first: .*)?$", re.M)


def unwind_check(r):
    """(backtraces, walked by heaptrace, differing from libunwind) of a run
    under --unwind=check."""
    assert r.returncode == 0, r.stderr
    found = CHECK_RE.findall(r.stderr)
    assert len(found) == 1, r.stderr
    n, walked, differ, first = found[0]
    assert not first and int(differ) == 0, found[0]
    return int(n), int(walked)


def test_walk_matches_libunwind_in_optimized_code():
    """-O2 without frame pointers: rsp-based frames, an rbp frame, libc's
    qsort calling back, threads to their first frame, the three handlers'
    backtraces through their signal frames, all walked; only the three
    realigned stacks (CFA by expression) are libunwind's."""
    r = trace("opt-frames", opts=("--unwind=check", "--top=0"))
    assert r.stdout == "kept 18\n"
    n, walked = unwind_check(r)
    assert n - walked == 3
    assert walked > 400  # qsort's comparisons


@pytest.mark.parametrize("prog", ["s-threads", "s-new-delete", "s-deep", "s-realloc",
                                  "s-threadchurn", "s-new-fail"])
def test_walk_matches_libunwind(prog):
    n, walked = unwind_check(trace(prog, opts=("--unwind=check", "--top=0")))
    assert n > 0 and walked == n


@pytest.mark.parametrize("argv", [
    ["python3", "-c", "d = {i: str(i) for i in range(20000)}; print(len(repr(d)))"],
    ["perl", "-e", "my %h; $h{$_} = $_ x 3 for 1..20000; print scalar(keys %h), qq(\\n)"],
    ["sqlite3", ":memory:", "create table t(a, b); insert into t values (1, 'x'); "
     "select count(*) from t;"],
], ids=["python3", "perl", "sqlite3"])
def test_walk_matches_libunwind_in_debian_programs(argv):
    """Programs built by Debian (optimized, no frame pointers) are walked
    whole: every frame has .eh_frame and a rule of the kinds walked."""
    exe = need(argv[0])
    r = run([HEAPTRACE, "--unwind=check", "--top=0", exe, *argv[1:]])
    n, walked = unwind_check(r)
    assert n > 500 and walked == n


def test_default_report_is_libunwinds():
    """The walk and libunwind name the same backtraces with the same counts."""
    ours, _ = traced("opt-frames", ("--top=0",))
    theirs, _ = traced("opt-frames", ("--top=0", "--unwind=libunwind"))

    def key(rep):
        return sorted((b.funcs, b.count, b.size, b.truncated) for b in rep.backtraces)
    assert key(ours) == key(theirs)
    assert ours.summary["heap traced num of backtrace"] == "6"


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
    """Hooks of every kind and other threads' stacks walk the same way, to
    the threads' first frame (clone3), which Debian's libc reaches without
    a frame pointer: the default unwinder's frames there."""
    for prog in ("s-threads", "s-new-delete"):
        fp, _ = traced(prog, FP)
        unw, _ = traced(prog, ("--top=0",))
        for key in ("heap traced num of backtrace", "heap traced allocation size",
                    "allocations since start"):
            assert fp.summary[key] == unw.summary[key], (prog, key)
        assert sorted((b.funcs, b.count, b.size) for b in fp.backtraces) == \
            sorted((b.funcs, b.count, b.size) for b in unw.backtraces)


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


def test_data_in_rbp_is_not_a_frame():
    """A program's own -O1 code keeps data in rbp while it allocates, laid
    out as chains of frames longer than DEPTH, each refused by one check
    alone: a list of items on the stack ({next, 8 bytes of a name}: string
    bytes where return addresses would be), records returning to a string
    literal (in the program's file, not in its code), to a function but 8
    bytes off the frames' alignment, then above a thread's stack, then into
    a library that dlclose() unloaded; and 0, the end of a chain only in
    the outermost frame.  --unwind=fp gives those backtraces to the default
    unwinder: the same backtraces, name for name and block for block, the
    334 items one backtrace, no "??" frame."""
    fp, r = traced("opt-rbpdata", FP)
    assert r.stdout == "rbp held: 394 of 394\n"  # else this test proves nothing
    dflt, _ = traced("opt-rbpdata", ("--top=0",))

    def key(rep):
        return sorted((b.funcs, b.count, b.size) for b in rep.backtraces)
    assert key(fp) == key(dflt)
    ours = [b for b in fp.backtraces if b.funcs[1] == "alloc_item(unsigned long, void const*)"]
    assert sorted((b.funcs[2], b.count, b.size) for b in ours) == [
        ("list_walk(item*)", 334, "13.360 KB"), ("misaligned()", 11, "616 bytes"),
        ("off_stack(unsigned long*)", 12, "768 bytes"), ("rodata()", 10, "480 bytes"),
        ("unloaded()", 13, "936 bytes"), ("zero()", 14, "1.120 KB")]
    for b in ours:
        assert all(b.funcs), b.frames
        assert b.funcs[3] == ("thread_main(void*)" if b.count == 12 else "main")
    # and the block the loader keeps from dlopen()
    assert fp.summary["heap traced num of backtrace"] == "7"


def test_chain_ends_in_the_outermost_frame():
    """A NULL frame pointer ends the chain in the frame that the call-frame
    rules make the stack's outermost (_start's, a clone()d thread's; here
    run_outermost's): --unwind=fp takes that backtrace itself, as it takes
    a chain of DEPTH frames.  That the walk took them shows past lie(),
    whose call-frame rules say it is outermost: the default unwinder stops
    there, the chain goes on."""
    fp, _ = traced("s-fp-outermost", FP)
    dflt, _ = traced("s-fp-outermost", ("--top=0",))
    leaf, deep = find_bt(fp, "alloc32"), find_bt(fp, "alloc24")
    assert (leaf.funcs, leaf.truncated, leaf.size) == \
        (["malloc", "alloc32", "lie", "leaf", "run_outermost"], False, "32 bytes")
    assert (deep.funcs, deep.truncated, deep.size) == \
        (["malloc", "alloc24", "lie"] + ["deep"] * 5, True, "24 bytes")
    for name in ("alloc32", "alloc24"):
        b = find_bt(dflt, name)
        assert (b.funcs, b.truncated) == (["malloc", name, "lie"], False)


def test_rules_are_forgotten_at_dlclose():
    """Two builds of one plugin, the same code with different frames, loaded
    one after the other at the same address: the second's backtrace goes on
    to its callers, not cut where the first one's rule pointed."""
    rep, r = traced("s-dlreuse", ("--top=0",))
    assert r.stdout == "same address\n"  # else this test proves nothing
    bt = [b for b in rep.backtraces if b.size == "200 bytes"]
    assert len(bt) == 1 and bt[0].count == 1
    assert bt[0].funcs[:4] == ["malloc", "plugin_alloc", "call_plugin", "main"]


def test_check_counts_each_process_its_own():
    """After fork() the child's line (--trace-children) counts the child's backtraces only:
    parent_leak before the fork, child_leak in the child."""
    r = trace("s-fork", "fork", opts=("--unwind=check", "--top=0", "--trace-children"))
    assert r.returncode == 0, r.stderr
    assert [m[:3] for m in CHECK_RE.findall(r.stderr)] == [("1", "1", "0")] * 2


def test_rules_forgotten_while_threads_walk():
    """dlclose() 300 times while four threads allocate through changing
    stacks: every walk agrees with libunwind, every block is counted."""
    n, walked = unwind_check(trace("s-dlstress", opts=("--unwind=check", "--top=0")))
    assert n > 80000 and walked == n
    rep, _ = traced("s-dlstress", ("--top=0",))
    kept = find_bt(rep, "keep_one")
    assert (kept.count, kept.size) == (4, "400 bytes")
    assert not [b for b in rep.backtraces if "recurse" in b.funcs]
