# SPDX-License-Identifier: GPL-2.0-or-later
"""The interposers under real programs: every C allocator, its failures
and errno.  Each tests/s-*.c program allocates known sizes from known
functions; the tests assert the exact report."""

from conftest import BIN, find_bt, fmt_bytes, one_report, run, trace

ALL_TOP = ("--top=0",)  # every backtrace, whatever the default --top


def traced(prog, *args, opts=ALL_TOP):
    """Trace prog (status 0 expected) and return (report, completed run)."""
    r = trace(prog, *args, opts=opts)
    assert r.returncode == 0, "%s failed under heaptrace:\n%s" % (prog, r.stderr)
    return one_report(r.stderr), r


def untraced(prog, *args):
    r = run([BIN / prog, *args])
    assert r.returncode == 0, "%s failed without heaptrace:\n%s" % (prog, r.stderr)
    return r


def stats(bt):
    return (bt.count, bt.peak_count, bt.size, bt.peak_size)


def one(count, size):
    """count blocks of size bytes, all allocated at once and still live."""
    return (count, count, fmt_bytes(count * size), fmt_bytes(count * size))


def funcs1(rep):
    """Frame-1 function of every backtrace in the report."""
    return [b.frames[1].func for b in rep.backtraces if len(b.frames) > 1]


def assert_summary(rep, nbt, live_bytes, live_blocks, calls, total_bytes):
    assert rep.summary["heap traced num of backtrace"] == str(nbt)
    assert rep.summary["heap traced allocation size"] == \
        "%s in %d blocks" % (fmt_bytes(live_bytes), live_blocks)
    assert rep.summary["allocations since start"] == \
        "%d calls, %s" % (calls, fmt_bytes(total_bytes))


# ------------------------------------------------------------ C allocators

C_LEAKS = [  # frame 1, frame 0, requested size
    ("leak_pvalloc", "pvalloc", 1800),
    ("leak_valloc", "valloc", 1700),
    ("leak_aligned_alloc", "aligned_alloc", 1664),
    ("leak_posix_memalign", "posix_memalign", 1500),
    ("leak_memalign", "memalign", 1400),
    ("leak_calloc", "calloc", 1100),
    ("leak_malloc", "malloc", 1001),
    ("leak_malloc0", "malloc", 0),
]


def test_every_c_allocator_recorded_with_requested_size():
    rep, _ = traced("s-c-alloc")
    untraced("s-c-alloc")
    # sorted by size, largest first; every block once, requested size
    assert funcs1(rep) == [f for f, _, _ in C_LEAKS]
    for func, hook, size in C_LEAKS:
        bt = find_bt(rep, func)
        assert bt.frames[0].func == hook, func
        assert bt.frames[0].obj.endswith("/libheaptrace.so")
        assert bt.frames[1].obj == str(BIN / "s-c-alloc")
        assert bt.frames[2].func == "main"
        assert stats(bt) == one(1, size), func
        assert not bt.truncated
    # churn_all_kinds freed all it allocated: 9 calls, 4500 bytes
    live = sum(s for _, _, s in C_LEAKS)
    assert_summary(rep, 8, live, 8, 8 + 9, live + 4500)


def test_failed_allocations_record_nothing():
    rep, _ = traced("s-alloc-fail")
    untraced("s-alloc-fail")
    assert funcs1(rep) == ["leak_marker"]
    assert stats(rep.backtraces[0]) == one(1, 42)
    assert_summary(rep, 1, 42, 1, 1, 42)


def test_realloc():
    rep, _ = traced("s-realloc")
    untraced("s-realloc")
    assert funcs1(rep) == ["grow_block", "realloc_as_malloc", "make_keeper", "shrink_block"]
    grown = find_bt(rep, "grow_block")
    assert grown.frames[0].func == "realloc"
    assert stats(grown) == one(1, 2000)
    shrunk = find_bt(rep, "shrink_block")  # same address, new record
    assert shrunk.frames[0].func == "realloc"
    assert stats(shrunk) == one(1, 30)
    as_malloc = find_bt(rep, "realloc_as_malloc")
    assert as_malloc.frames[0].func == "realloc"
    assert stats(as_malloc) == one(1, 1200)
    # the failed realloc left the block with its own backtrace and size
    keeper = find_bt(rep, "make_keeper")
    assert keeper.frames[0].func == "malloc"
    assert stats(keeper) == one(1, 700)
    # make_base, make_shrink_base, make_zero_victim, realloc_to_zero and
    # realloc_huge: nothing live.  Calls: 100, 2000, 3000, 30, 1200, 500,
    # 700 (realloc(p, 0) and the failure allocate nothing).
    assert_summary(rep, 4, 2000 + 30 + 1200 + 700, 4, 7, 7530)


def test_reallocarray():
    rep, _ = traced("s-reallocarray")
    untraced("s-reallocarray")
    assert funcs1(rep) == ["ra_grow", "ra_as_malloc", "make_ra_keeper2", "make_ra_keeper"]
    for func, size in (("ra_grow", 2000), ("ra_as_malloc", 1200)):
        bt = find_bt(rep, func)
        assert bt.frames[0].func == "reallocarray"
        assert stats(bt) == one(1, size)
    # the overflowing and the huge reallocarray left their blocks alone
    for func, size in (("make_ra_keeper", 800), ("make_ra_keeper2", 900)):
        bt = find_bt(rep, func)
        assert bt.frames[0].func == "malloc"
        assert stats(bt) == one(1, size)
    # calls: 1200, 100, 2000, 600, 800, 900
    assert_summary(rep, 4, 4900, 4, 6, 5600)


def test_posix_memalign():
    rep, _ = traced("s-posix-memalign")
    untraced("s-posix-memalign")
    assert funcs1(rep) == ["pm_ok"]
    bt = rep.backtraces[0]
    assert bt.frames[0].func == "posix_memalign"
    assert stats(bt) == one(1, 640)
    # pm_ok_freed's block is gone, the failures recorded nothing
    assert_summary(rep, 1, 640, 1, 2, 740)


def test_errno_kept_on_success_and_set_on_failure():
    r = trace("s-errno", opts=ALL_TOP)
    plain = untraced("s-errno")
    assert r.returncode == 0, r.stderr
    assert r.stdout == plain.stdout
    assert "errno=12345" in r.stdout and "errno=12\n" in r.stdout
    assert "WRONG" not in r.stdout
    rep = one_report(r.stderr)
    assert funcs1(rep) == ["errno_leak"]
    assert stats(rep.backtraces[0]) == one(1, 77)
