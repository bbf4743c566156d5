# SPDX-License-Identifier: GPL-2.0-or-later
"""Signal handlers of the program that allocate and free while heaptrace
works on the same thread: inside a hook, inside a table update, during the
exit report.  The program must run as without heaptrace and every event
must be counted exactly once.  Each case runs RUNS times (a race that
strikes one run in ten fails here), under every unwinder."""

import concurrent.futures

import pytest

from htlib import BIN, HEAPTRACE, fmt_bytes, one_report, run

RUNS = 50
UNWINDERS = ["dwarf", "libunwind", "fp"]


def many(argv, runs=RUNS):
    """argv, runs times, two at a time; the CompletedProcesses."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda _: run(argv, timeout=60), range(runs)))


def traced(unwind, prog, *args, opts=()):
    return [HEAPTRACE, "--unwind=" + unwind, *opts, BIN / prog, *args]


@pytest.mark.parametrize("unwind", UNWINDERS)
def test_handler_allocates_during_exit_report(unwind):
    """s-sigexit: the handler's malloc and free go on during the report."""
    for r in many(traced(unwind, "s-sigexit", opts=["--top=0"])):
        assert (r.returncode, r.stdout) == (0, "done\n"), r.stderr[-2000:]
        rep = one_report(r.stderr)
        mains = [b for b in rep.backtraces if b.frames[1].func == "leak_main"]
        assert [(b.count, b.size) for b in mains] == [(100, "10 KB")]
        # the handler's block: one at a time, read while handlers run on
        others = [b for b in rep.backtraces if b not in mains]
        assert all(any(f.func == "on_alarm" for f in b.frames) for b in others)
        assert sum(b.count for b in others) <= 2


@pytest.mark.parametrize("unwind", UNWINDERS)
def test_handler_allocates_inside_dlopen(unwind):
    """s-sigdlopen: handlers that allocate while main is in dlopen/dlclose
    never call dl_iterate_phdr (whose lock the interrupted code may be in
    the middle of taking: libunwind there hung the exit report's dlopen of
    libbfd 1 run in 150)."""
    for r in many(traced(unwind, "s-sigdlopen", BIN / "libplugin.so", opts=["--top=0"]),
                  runs=10):
        assert (r.returncode, r.stdout) == (0, "done 0\n"), r.stderr[-2000:]
        rep = one_report(r.stderr)
        handler = [b for b in rep.backtraces if b.frames[1].func == "on_alarm"]
        assert [(b.count, b.size) for b in handler] == [(1, "200 bytes")]


@pytest.mark.parametrize("unwind", UNWINDERS)
def test_handler_frees_inside_hooks(unwind):
    """s-sigfree: 1,000 frees made by a handler, all seen; --check passes
    a program that frees everything and fails one that leaks one block."""
    for r in many(traced(unwind, "s-sigfree", opts=["--check"])):
        assert (r.returncode, r.stdout, r.stderr) == (0, "freed 1000\n", "")
    for r in many(traced(unwind, "s-sigfree", "leak", opts=["--top=0"]), runs=10):
        assert (r.returncode, r.stdout) == (0, "freed 1000\n"), r.stderr[-2000:]
        rep = one_report(r.stderr)
        assert rep.summary["heap traced allocation size"] == "777 bytes in 1 block"
        assert [b.frames[1].func for b in rep.backtraces] == ["leak_one"]


@pytest.mark.parametrize("unwind", UNWINDERS)
def test_handler_allocates_inside_hooks(unwind):
    """s-sigalloc: 1,000 blocks kept by a handler, all recorded, each with
    the handler's backtrace."""
    for r in many(traced(unwind, "s-sigalloc", opts=["--top=0"])):
        assert (r.returncode, r.stdout) == (0, "kept 1000\n"), r.stderr[-2000:]
        rep = one_report(r.stderr)
        assert rep.summary["heap traced allocation size"] == \
            "%s in 1000 blocks" % fmt_bytes(1000 * 300)
        assert "missed in signal handlers" not in rep.summary
        assert all(b.frames[1].func == "handler_site" and
                   any(f.func == "on_alarm" for f in b.frames) for b in rep.backtraces)
        assert sum(b.count for b in rep.backtraces) == 1000


@pytest.mark.parametrize("unwind", UNWINDERS)
def test_handler_pairs_inside_hooks_sampled(unwind):
    """s-sigtemp at --sample=64 (most blocks recorded, most of main's hooks
    holding a lock at some point): a handler's block is allocated and
    freed inside a hook, its record queued; the release is queued behind
    it, not forwarded as a block never recorded, so nothing is left live
    (--check=live)."""
    for r in many(traced(unwind, "s-sigtemp", opts=["--check=live", "--sample=64"])):
        assert (r.returncode, r.stdout, r.stderr) == (0, "pairs 1000\n", "")
