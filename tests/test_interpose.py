# SPDX-License-Identifier: GPL-2.0-or-later
"""The interposers under real programs: every C allocator and every C++
operator new/delete, their failures and errno, allocations made before
heaptrace's constructor and from a dlopen'ed plugin, threads, peaks and the
DEPTH cut.  Each tests/s-*.c(c) program allocates known sizes from known
functions; the tests assert the exact report."""

import re
import subprocess

import pytest

from htlib import (BIN, find_bt, fmt_bytes, one_report, parse_size, plural, preload, run, stats,
                   trace, assert_peaks_within, PEAK_BOUND_KEY)

# Frame 0 of every backtrace: the hook the program called, as the report
# spells it (libbfd's demangling of the mangled names the library defines).
NEW = "operator new(unsigned long)"
NEW_ARR = "operator new[](unsigned long)"
NEW_NT = "operator new(unsigned long, std::nothrow_t const&)"
NEW_ARR_NT = "operator new[](unsigned long, std::nothrow_t const&)"
NEW_AL = "operator new(unsigned long, std::align_val_t)"
NEW_ARR_AL = "operator new[](unsigned long, std::align_val_t)"
NEW_AL_NT = "operator new(unsigned long, std::align_val_t, std::nothrow_t const&)"
NEW_ARR_AL_NT = "operator new[](unsigned long, std::align_val_t, std::nothrow_t const&)"

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


def one(count, size):
    """count blocks of size bytes, all allocated at once and still live."""
    return (count, count, fmt_bytes(count * size), fmt_bytes(count * size))


def funcs1(rep):
    """Frame-1 function of every backtrace in the report."""
    return [b.frames[1].func for b in rep.backtraces if len(b.frames) > 1]


def since_start(rep):
    """The summary's "allocations since start" as (calls, bytes)."""
    m = re.fullmatch(r"(\d+) calls, (.*)", rep.summary["allocations since start"])
    assert m, rep.summary["allocations since start"]
    return int(m.group(1)), parse_size(m.group(2))


def assert_summary(rep, nbt, live_bytes, live_blocks, calls, total_bytes):
    assert rep.summary["heap traced num of backtrace"] == str(nbt)
    assert rep.summary["heap traced allocation size"] == \
        "%s in %s" % (fmt_bytes(live_bytes), plural(live_blocks, "block"))
    assert rep.summary["allocations since start"] == \
        "%s, %s" % (plural(calls, "call"), fmt_bytes(total_bytes))


def assert_consistent(rep):
    """The summary's live totals are the sum of the backtraces listed."""
    bts = rep.backtraces
    assert rep.summary["heap traced num of backtrace"] == str(len(bts))
    assert rep.summary["heap traced allocation size"] == "%s in %s" % (
        fmt_bytes(sum(parse_size(b.size) for b in bts)), plural(sum(b.count for b in bts), "block"))


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


# ------------------------------------------------------------ C++

# the operator each free_* function of s-new-delete.cc must call
CXX_RELEASES = {
    "free_plain_sized": ["_ZdlPvm"],
    "free_plain_unsized": ["_ZdlPv"],
    "free_arr_unsized": ["_ZdaPv"],
    "free_arr_sized": ["_ZdaPvm"],
    "free_nothrow": ["_ZnwmRKSt9nothrow_t", "_ZdlPvRKSt9nothrow_t"],
    "free_arr_nothrow": ["_ZnamRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t"],
    "free_nothrow_new_plain_delete": ["_ZnwmRKSt9nothrow_t", "_ZdlPvm"],
    "free_aligned": ["_ZnwmSt11align_val_t", "_ZdlPvSt11align_val_t"],
    "free_arr_aligned": ["_ZnamSt11align_val_t", "_ZdaPvSt11align_val_t"],
    "free_aligned_sized": ["_ZdlPvmSt11align_val_t"],
    "free_arr_aligned_sized": ["_ZdaPvmSt11align_val_t"],
    "free_aligned_nothrow": ["_ZnwmSt11align_val_tRKSt9nothrow_t",
                             "_ZdlPvSt11align_val_tRKSt9nothrow_t"],
    "free_arr_aligned_nothrow": ["_ZnamSt11align_val_tRKSt9nothrow_t",
                                 "_ZdaPvSt11align_val_tRKSt9nothrow_t"],
    "free_explicit_sized": ["_ZdlPvm", "_ZdaPvm", "_ZdlPvmSt11align_val_t",
                            "_ZdaPvmSt11align_val_t"],
}

CXX_LEAKS = [  # frame 1, frame 0, requested size
    ("leak_new_arr_al_nt()", NEW_ARR_AL_NT, 1728),
    ("leak_new_al_nt()", NEW_AL_NT, 1600),
    ("leak_new_arr_al()", NEW_ARR_AL, 1536),
    ("leak_new_al_explicit()", NEW_AL, 1472),
    ("leak_new_al()", NEW_AL, 1408),
    ("leak_new_arr_nt()", NEW_ARR_NT, 1300),
    ("leak_new_nt()", NEW_NT, 1200),
    ("leak_new_arr()", NEW_ARR, 1100),
    ("leak_new()", NEW, 1000),
    ("leak_new_arr_cookie()", NEW_ARR, 3 * 40 + 8),
]

# what the free_* functions of s-new-delete.cc allocate (and release)
CXX_FREED_BYTES = (40 + 41 + 42 + (2 * 40 + 8) + 43 + 44 + 40 + 45 + 2 * 64 + 64
                   + (2 * 128 + 64) + 46 + 47 + 48 + 49 + 50 + 51)
CXX_FREED_CALLS = 13 + 4


@pytest.fixture(scope="module")
def cxx_runtime():
    """(calls, bytes) the C++ runtime itself allocates in a traced program
    (libstdc++'s emergency exception pool): s-cxx-baseline's total minus its
    one block.  None of it may be live at exit."""
    rep, _ = traced("s-cxx-baseline")
    assert funcs1(rep) == ["leak_one()"]
    bt = rep.backtraces[0]
    assert bt.frames[0].func == NEW
    assert stats(bt) == one(1, 321)
    assert_summary(rep, 1, 321, 1, *since_start(rep))
    calls, total = since_start(rep)
    return calls - 1, total - 321


def test_every_new_and_delete_form_is_used():
    """Each free_* function of s-new-delete.cc calls the operator delete it
    is meant to test (a compiler choosing another form would leave one
    untested); the leak_* ones are checked by the report's frame 0."""
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(BIN / "s-new-delete")],
                         capture_output=True, text=True, check=True).stdout
    calls, func = {}, None
    for line in dis.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            func = m.group(1)
            continue
        m = re.search(r"\bcall\s+[0-9a-f]+ <(\w+)@plt>", line)
        if m and func:
            calls.setdefault(func, set()).add(m.group(1))
    used = set().union(*calls.values())
    for name, syms in CXX_RELEASES.items():
        mangled = "_Z%d%sv" % (len(name), name)
        assert [s for s in syms if s not in calls.get(mangled, ())] == [], name
    # all 8 forms of new and all 12 of delete
    assert len({s for s in used if s.startswith(("_Znw", "_Zna"))}) == 8
    assert len({s for s in used if s.startswith(("_Zdl", "_Zda"))}) == 12


def test_new_delete_every_form(cxx_runtime):
    rep, _ = traced("s-new-delete")
    untraced("s-new-delete")
    assert funcs1(rep) == [f for f, _, _ in CXX_LEAKS]
    for func, hook, size in CXX_LEAKS:
        bt = find_bt(rep, func)
        assert bt.frames[0].func == hook, func
        assert bt.frames[0].obj.endswith("/libheaptrace.so")
        assert bt.frames[2].func == "main"
        assert stats(bt) == one(1, size), func
    # every freed block is gone, and each new is one call (not new + malloc)
    live = sum(s for _, _, s in CXX_LEAKS)
    calls, runtime_bytes = cxx_runtime
    assert_summary(rep, 10, live, 10, 10 + CXX_FREED_CALLS + calls,
                   live + CXX_FREED_BYTES + runtime_bytes)


def test_new_failure_handler_bad_alloc_and_nothrow(cxx_runtime):
    r = trace("s-new-fail", opts=ALL_TOP)
    plain = untraced("s-new-fail")
    assert r.returncode == 0, r.stderr
    assert r.stdout == plain.stdout == "handler=1 caught=4\n"
    rep = one_report(r.stderr)
    # tracing goes on after std::bad_alloc passed through the hooks
    assert funcs1(rep) == ["after_catch_new()", "after_catch_malloc()"]
    new = find_bt(rep, "after_catch_new()")
    assert new.frames[0].func == NEW
    assert stats(new) == one(1, 555)
    mal = find_bt(rep, "after_catch_malloc()")
    assert mal.frames[0].func == "malloc"
    assert stats(mal) == one(1, 444)
    # the reserve the handler released is gone; failures recorded nothing
    calls, runtime_bytes = cxx_runtime
    assert_summary(rep, 2, 999, 2, 3 + calls, 4096 + 999 + runtime_bytes)


def test_new_handler_moving_a_block_with_realloc():
    """A new-handler runs inside the operator new hook.  When it moves a
    traced block with realloc and the program later frees the new address,
    the old record must be gone, as it is when the handler calls free."""
    rep, _ = traced("s-new-handler-realloc")
    untraced("s-new-handler-realloc")
    assert funcs1(rep) == ["leak_after()", "keep_fence()"]
    assert stats(find_bt(rep, "leak_after()")) == one(1, 5000)
    assert stats(find_bt(rep, "keep_fence()")) == one(1, 16)
    assert rep.summary["heap traced allocation size"] == "%s in 2 blocks" % fmt_bytes(5016)


# ------------------------------------------------------------ early, dlopen

EARLY = [  # frame 1 (in libctor.so), frame 0, size
    ("early_aligned_alloc", "aligned_alloc", 128),
    ("early_memalign", "memalign", 107),
    ("early_posix_memalign", "posix_memalign", 106),
    ("early_reallocarray", "reallocarray", 105),
    ("early_calloc", "calloc", 102),
    ("early_malloc", "malloc", 101),
]


def test_early_constructor_runs_before_heaptrace():
    """The premise of the next test: libctor's constructor runs before
    heaptrace's (which sets HEAPTRACE_ROOT_PID when preloaded by hand)."""
    r = preload("s-early")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "before=0 after=1\n"
    assert untraced("s-early").stdout == "before=0 after=0\n"


def test_early_allocations():
    rep, _ = traced("s-early")
    assert funcs1(rep) == [f for f, _, _ in EARLY]
    for func, hook, size in EARLY:
        bt = find_bt(rep, func)
        assert bt.frames[0].func == hook, func
        assert bt.frames[1].obj == str(BIN / "libctor.so")
        assert stats(bt) == one(1, size), func
    # freed: 50 (malloc), 999 (memalign); replaced: 52 (reallocarray)
    assert_summary(rep, 6, 649, 6, 9, 649 + 50 + 999 + 52)


def test_dlopen_plugin():
    rep, _ = traced("s-dlopen")
    untraced("s-dlopen")
    leak = find_bt(rep, "plugin_leak")
    assert leak.frames[0].func == "malloc"
    assert leak.frames[1].obj == str(BIN / "libplugin.so")
    assert leak.frames[2].func == "call_plugin"
    assert stats(leak) == one(3, 777)
    cal = find_bt(rep, "plugin_calloc_leak")
    assert cal.frames[0].func == "calloc"
    assert cal.frames[1].obj == str(BIN / "libplugin.so")
    assert stats(cal) == one(1, 900)
    assert stats(find_bt(rep, "main_leak")) == one(1, 64)
    # everything else live is the dynamic loader's record of the plugin
    ours = {"plugin_leak", "plugin_calloc_leak", "main_leak"}
    for bt in rep.backtraces:
        if bt.frames[1].func not in ours:
            assert "/ld-linux" in bt.frames[1].obj, bt
    assert_consistent(rep)


# ------------------------------------------------------------ threads

def test_threads_cross_thread_frees():
    untraced("s-threads")
    for _ in range(3):  # a race would not show every time
        rep, _ = traced("s-threads")
        work = find_bt(rep, "thread_alloc")
        assert work.frames[0].func == "malloc"
        assert work.frames[2].func == "worker"
        sizes = sum(100 + t for t in range(8))
        assert (work.count, work.size) == (2000, fmt_bytes(250 * sizes))
        assert_peaks_within(work, 4000, 500 * sizes, threads=8)
        gone = find_bt(rep, "short_lived_leak")  # its thread exited long ago
        assert gone.frames[2].func == "short_lived_main"
        assert stats(gone) == one(3, 333)
        # the rest is glibc's thread-local storage of cached thread stacks
        for bt in rep.backtraces:
            if bt is not work and bt is not gone:
                assert "_dl_allocate_tls" in bt.funcs, bt
        assert_consistent(rep)


def test_peaks_exact_without_threads():
    """One thread: no batches, and the summary says nothing of bounds."""
    rep, _ = traced("s-peaks")
    assert PEAK_BOUND_KEY not in rep.summary


# ------------------------------------------------------------ statistics

def test_peaks_survive_live_count_reaching_zero():
    rep, _ = traced("s-peaks")
    untraced("s-peaks")
    assert stats(find_bt(rep, "site_five_two")) == (2, 5, "80 bytes", "200 bytes")
    assert stats(find_bt(rep, "site_ten_three")) == (3, 10, "192 bytes", "640 bytes")
    assert stats(find_bt(rep, "site_mixed")) == (1, 4, "10 bytes", fmt_bytes(1000))
    assert "site_all_freed" not in funcs1(rep)
    assert_summary(rep, 3, 80 + 192 + 10, 6, 28, 2140)


# ------------------------------------------------------------ DEPTH

def test_backtrace_cut_at_depth():
    rep, _ = traced("s-deep")
    untraced("s-deep")
    deep = find_bt(rep, "deep_leak")
    assert deep.funcs == ["malloc"] + ["deep_leak"] * 7
    assert deep.truncated
    assert stats(deep) == one(1, 2000)
    # exactly DEPTH frames: nothing was cut
    shallow = find_bt(rep, "level3")
    assert shallow.funcs[:5] == ["malloc", "level3", "level2", "level1", "main"]
    assert shallow.funcs[-1] == "_start"
    assert len(shallow.frames) == 8
    assert not shallow.truncated
    # one frame more than DEPTH: cut
    deeper = find_bt(rep, "lvl4")
    assert deeper.funcs[:6] == ["malloc", "lvl4", "lvl3", "lvl2", "lvl1", "main"]
    assert len(deeper.frames) == 8
    assert deeper.truncated
    assert_summary(rep, 3, 2700, 3, 3, 2700)


def test_cut_is_learned_once_and_kept():
    """Only a backtrace's first allocation unwinds one frame more to learn
    whether the stack went on; the later ones from the same stack are
    counted against it, cut or not as learned."""
    rep, _ = traced("s-deep", "3")
    untraced("s-deep", "3")
    shallow = find_bt(rep, "level3")
    assert len(shallow.frames) == 8 and shallow.funcs[-1] == "_start"
    assert not shallow.truncated
    assert stats(shallow) == (3, 3, "900 bytes", "900 bytes")
    deeper = find_bt(rep, "lvl4")
    assert len(deeper.frames) == 8 and deeper.truncated
    assert stats(deeper) == (3, 3, fmt_bytes(1200), fmt_bytes(1200))
    # the same 8 frames above recursions 20, 25 and 30 deep: one backtrace
    deep = find_bt(rep, "deep_leak")
    assert deep.funcs == ["malloc"] + ["deep_leak"] * 7 and deep.truncated
    assert stats(deep) == (3, 3, fmt_bytes(6000), fmt_bytes(6000))
    assert_summary(rep, 3, 8100, 9, 9, 8100)

