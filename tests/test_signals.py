# SPDX-License-Identifier: GPL-2.0-or-later
"""Dumps on SIGUSR1 (sorted by size) and SIGUSR2 (by count) while the
program runs on, promptly even when every program thread is blocked in a
system call; a program's own SIGUSR1 handler is left alone."""

import signal
import time

import pytest

from htlib import (BIN, Running, complete_reports, outside_lines, parse_reports, stats,
                   thread_states, wait_until)

EXE = BIN / "s-signal"
BIG = (1, 1, "100 KB", "100 KB")
MANY = (500, 500, "4 KB", "4 KB")


@pytest.fixture
def running(tmp_path):
    procs = []

    def start(*a, **kw):
        p = Running(tmp_path, *a, name="run%d" % len(procs), **kw)
        procs.append(p)
        return p
    yield start
    for p in procs:
        p.close()


def wait_reports(p, n, timeout):
    """Wait until p's stderr holds n complete reports; return the seconds
    it took, or None."""
    t0 = time.monotonic()
    ok = wait_until(lambda: complete_reports(p.stderr()) >= n, timeout, interval=0.005)
    return time.monotonic() - t0 if ok else None


def ours(section):
    """The program's own sites (frame 1 in s-signal), in report order."""
    return [b for b in section.backtraces if b.frames[1].obj == str(EXE)]


def program_threads_blocked(pid):
    """Every thread but the tracer's reporter is asleep (state S)."""
    st = thread_states(pid)
    prog = {t: s for t, s in st.items() if s[0] != "heaptrace"}
    return len(prog) == 3 and all(s[1] == "S" for s in prog.values())


@pytest.mark.parametrize("launcher", [True, False], ids=["launcher", "preload"])
def test_usr1_size_usr2_count_then_normal_exit(running, launcher):
    p = running("s-signal", launcher=launcher)
    p.wait_stdout("ready\n")
    # main in read(), two threads in pthread_cond_wait, the reporter waiting
    assert wait_until(lambda: program_threads_blocked(p.pid), 5), thread_states(p.pid)

    p.kill(signal.SIGUSR1)
    took = wait_reports(p, 1, 1.0)
    assert took is not None, "no dump within a second of SIGUSR1: %r" % p.stderr()
    assert p.proc.poll() is None, "the program must run on"
    assert program_threads_blocked(p.pid)

    p.kill(signal.SIGUSR2)
    took = wait_reports(p, 2, 1.0)
    assert took is not None, "no dump within a second of SIGUSR2: %r" % p.stderr()
    assert p.proc.poll() is None

    status = p.finish(b"x")
    assert status == 7
    assert p.stdout() == "ready\nbye\n"
    err = p.stderr()
    assert outside_lines(err) == []
    reps = parse_reports(err)
    assert len(reps) == 3
    usr1, usr2, at_exit = reps
    assert [(s.key, s.pid, s.comm) for s in usr1.sections] == [("size", p.pid, "s-signal")]
    assert [(s.key, s.pid, s.comm) for s in usr2.sections] == [("count", p.pid, "s-signal")]
    assert [(s.key, s.pid, s.comm) for s in at_exit.sections] == [("size", p.pid, "s-signal")]

    assert [(b.frames[1].func, stats(b)) for b in ours(usr1.sections[0])] == \
        [("big_one", BIG), ("many_small", MANY)]
    assert [(b.frames[1].func, stats(b)) for b in ours(usr2.sections[0])] == \
        [("many_small", MANY), ("big_one", BIG)]
    assert [(b.frames[1].func, stats(b)) for b in ours(at_exit.sections[0])] == \
        [("big_one", BIG), ("many_small", MANY), ("after_read", (1, 1, "3 bytes", "3 bytes"))]
    for rep in reps:
        # ranks count every backtrace (the program's and libc's for its threads)
        sec = rep.sections[0]
        assert [b.rank for b in sec.backtraces] == list(range(1, len(sec.backtraces) + 1))
        assert rep.summary["heap traced num of backtrace"] == str(len(sec.backtraces))
    assert "after_read" not in str(usr1) + str(usr2)


def test_repeated_signals_each_report_complete(running):
    p = running("s-signal")
    p.wait_stdout("ready\n")
    for _ in range(5):
        p.kill(signal.SIGUSR1)
        p.kill(signal.SIGUSR2)
        time.sleep(0.02)
    # signals in a row may fold into one report per key; at least one each
    assert wait_reports(p, 2, 5) is not None
    time.sleep(0.2)
    assert p.finish() == 7
    reps = parse_reports(p.stderr())
    keys = [r.sections[0].key for r in reps]
    assert keys[-1] == "size" and len(reps[-1].sections) == 1  # the exit report
    assert "size" in keys[:-1] and "count" in keys[:-1]
    assert len(keys) <= 11
    for r in reps:
        assert len(r.sections) == 1
        assert {"big_one", "many_small"} <= {b.frames[1].func for b in ours(r.sections[0])}


def test_own_usr1_handler_is_kept(running):
    p = running("s-sighandler")
    p.wait_stdout("ready\n")
    p.kill(signal.SIGUSR1)
    p.wait_stdout("handled\n", timeout=5)
    # SIGUSR2 was left to heaptrace: it still dumps (sorted by count)
    p.kill(signal.SIGUSR2)
    assert wait_reports(p, 1, 5) is not None
    p.kill(signal.SIGUSR1)
    wait_until(lambda: p.stdout().count("handled") == 2, 5)
    assert p.finish() == 0
    assert p.stdout() == "ready\nhandled\nhandled\n"
    reps = parse_reports(p.stderr())
    assert [[s.key for s in r.sections] for r in reps] == [["count"], ["size"]]
    for r in reps:
        bts = [b for b in r.sections[0].backtraces if b.frames[1].func == "leak_kept"]
        assert [stats(b) for b in bts] == [(1, 1, "4.242 KB", "4.242 KB")]
    assert outside_lines(p.stderr()) == []
