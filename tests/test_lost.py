# SPDX-License-Identifier: GPL-2.0-or-later
"""Reports are never lost.  The exit report reaches the stderr the program
was started with, whatever the program did to fd 2 meanwhile (closed it, as
every coreutils tool does at exit; dup2()ed a file over it; closed every
descriptor); a flame graph reaches the stdout it was started with; when
stderr takes nothing (closed from the start, a pipe nobody reads), the
report goes whole to heaptrace.PID.txt in the start directory, else in
/tmp."""

import os
import pathlib
import re
import signal
import subprocess

import pytest

from htlib import (BIN, TRACED, Running, complete_reports, flame_line, need, one_report,
                   outside_lines, parse_reports, run, run_mode, trace_pid, wait_until)

LOST = BIN / "s-lost"


def lost_report(text, pid):
    """The exact exit report of s-lost: 3 x 1000 bytes from lost_leak."""
    assert outside_lines(text) == []
    rep = one_report(text)
    assert [(s.key, s.pid, s.comm) for s in rep.sections] == [("size", pid, "s-lost")]
    assert [(b.frames[1].func, b.count, b.size) for b in rep.backtraces] == \
        [("lost_leak", 3, "3 KB")]
    assert rep.summary["heap traced num of backtrace"] == "1"
    assert rep.summary["heap traced allocation size"] == "3 KB in 3 blocks"
    return rep


# ------------------------------------------------------------ stderr the program closed

@pytest.mark.parametrize("mode", TRACED)
def test_closed_stderr_still_gets_the_report(mode):
    # gnulib's close_stdout(): fd 2 closed in an exit handler or before
    p = run_mode(mode, LOST, "close")
    assert (p.returncode, p.stdout_text) == (0, "before\nafter\n")
    lost_report(p.stderr_text, p.pid)


@pytest.mark.parametrize("target", ["file", "/dev/null"])
@pytest.mark.parametrize("mode", TRACED)
def test_stderr_dup2ed_over_gets_nothing_of_ours(tmp_path, mode, target):
    # the report goes to the stderr the program started with, never into
    # the file the program put in its place
    path = tmp_path / "program-stderr" if target == "file" else target
    p = run_mode(mode, LOST, "dup2", path)
    assert (p.returncode, p.stdout_text) == (0, "before\nafter\n")
    lost_report(p.stderr_text, p.pid)
    if target == "file":
        assert path.read_text() == "program's line\n"


@pytest.mark.parametrize("how", ["closefrom", "close-loop"])
@pytest.mark.parametrize("mode", TRACED)
def test_program_that_closes_every_descriptor(mode, how):
    # close_range(0, ~0U), or close() of every number: the report still
    # reaches stderr, and the program saw no descriptor of ours (s-lost
    # closefrom exits with the number it finds open afterwards)
    p = run_mode(mode, LOST, how)
    assert (p.returncode, p.stdout_text) == (0, "before\n")
    lost_report(p.stderr_text, p.pid)


def test_check_with_closed_stderr_reports_and_fails():
    p = run_mode("launcher", LOST, "close", opts=["--check=live"])
    assert (p.returncode, p.stdout_text) == (23, "before\nafter\n")
    lost_report(p.stderr_text, p.pid)


def test_flame_graph_reaches_the_stdout_the_program_closed():
    p = run_mode("launcher", LOST, "close-stdout", opts=["--flame-graph"])
    assert (p.returncode, p.stderr_text) == (0, "")
    first, graph, tail = p.stdout_text.split("\n", 2)
    assert (first, tail) == ("before", "")
    frames, count = flame_line(graph)
    assert (frames[-2:], count) == (["lost_leak", "malloc"], "3000")


@pytest.mark.parametrize("mode", TRACED)
def test_signal_dump_after_the_program_closed_stderr(tmp_path, mode):
    # a dump on SIGUSR1 while the program runs goes where the exit report goes
    p = Running(tmp_path, "s-lost", "close-wait", launcher=mode == "launcher")
    try:
        p.wait_stdout("ready\n")
        p.kill(signal.SIGUSR1)
        assert wait_until(lambda: complete_reports(p.stderr()) == 1, 10)
        assert p.finish() == 0
    finally:
        p.close()
    assert p.stdout() == "before\nready\nafter\n"
    assert outside_lines(p.stderr()) == []
    reps = parse_reports(p.stderr())
    assert [[(s.key, s.pid) for s in r.sections] for r in reps] == [[("size", p.pid)]] * 2
    for rep in reps:
        assert [(b.frames[1].func, b.size) for b in rep.backtraces] == [("lost_leak", "3 KB")]


# ------------------------------------------------------------ the file of last resort

def close_stderr():
    os.close(2)


def last_resort(d, pid, reason):
    """d/heaptrace.PID.txt: one line saying why, then the whole report."""
    path = d / ("heaptrace.%d.txt" % pid)
    text = path.read_text()
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert outside_lines(text) == [
        "heaptrace: cannot write to stderr: %s; writing the report to heaptrace.%d.txt"
        % (reason, pid)]
    return text


@pytest.mark.parametrize("mode", TRACED)
def test_stderr_closed_at_start_report_goes_to_the_start_directory(tmp_path, mode):
    # the program starts without fd 2: the file it opens gets number 2,
    # and must get none of the report; the report goes to the file of last
    # resort in the directory the program started in
    data = tmp_path / "data"
    p = run_mode(mode, LOST, "open", data, cwd=tmp_path, stderr=subprocess.DEVNULL,
                 preexec_fn=close_stderr)
    assert (p.returncode, p.stdout_text) == (0, "before\nfd 2\nafter\n")
    assert data.read_text() == "data\n"
    text = last_resort(tmp_path, p.pid, "it was closed when the program started")
    lost_report(text.split("\n", 1)[1], p.pid)
    assert sorted(os.listdir(tmp_path)) == ["data", "heaptrace.%d.txt" % p.pid]


@pytest.mark.parametrize("mode", TRACED)
def test_stderr_a_pipe_nobody_reads(tmp_path, mode):
    rd, wr = os.pipe()
    os.close(rd)
    try:
        p = run_mode(mode, LOST, "none", cwd=tmp_path, stderr=wr)
    finally:
        os.close(wr)
    assert (p.returncode, p.stdout_text) == (0, "before\nafter\n")
    text = last_resort(tmp_path, p.pid, "Broken pipe")
    lost_report(text.split("\n", 1)[1], p.pid)


def test_outfile_and_stderr_both_fail(tmp_path):
    # each destination that fails adds its line: the file has both
    missing = tmp_path / "no" / "such" / "heap.out"
    p = run_mode("preload", LOST, "none", cwd=tmp_path, stderr=subprocess.DEVNULL,
                 preexec_fn=close_stderr, env={"HEAPTRACE_OUTFILE": str(missing)})
    assert (p.returncode, p.stdout_text) == (0, "before\nafter\n")
    text = (tmp_path / ("heaptrace.%d.txt" % p.pid)).read_text()
    assert outside_lines(text) == [
        "heaptrace: cannot open '%s': No such file or directory; writing the report to stderr"
        % missing,
        "heaptrace: cannot write to stderr: it was closed when the program started; "
        "writing the report to heaptrace.%d.txt" % p.pid]
    lost_report(text.split("\n", 2)[2], p.pid)


def test_start_directory_gone_report_goes_to_tmp(tmp_path):
    # the program starts, stderr closed, in a directory that was removed:
    # the file of last resort goes to /tmp
    gone = tmp_path / "gone"
    gone.mkdir()

    def start_in_gone():
        os.chdir(gone)
        os.rmdir(gone)
        os.close(2)
    p = run_mode("launcher", LOST, "none", stderr=subprocess.DEVNULL, preexec_fn=start_in_gone)
    path = pathlib.Path("/tmp/heaptrace.%d.txt" % p.pid)
    try:
        assert (p.returncode, p.stdout_text) == (0, "before\nafter\n")
        text = last_resort(path.parent, p.pid, "it was closed when the program started")
        lost_report(text.split("\n", 1)[1], p.pid)
    finally:
        if path.exists():
            path.unlink()


# ------------------------------------------------------------ real programs

def test_sort_reports():
    # coreutils' sort closes stderr at exit (gnulib close_stdout)
    sort = need("sort")
    plain = run([sort, "/etc/passwd"])
    r = trace_pid(sort, "/etc/passwd")
    assert (r.returncode, r.stdout) == (0, plain.stdout)
    rep = one_report(r.stderr)
    assert [(s.pid, s.comm) for s in rep.sections] == [(r.pid, "sort")]
    assert re.fullmatch(r".* in \d+ blocks", rep.summary["heap traced allocation size"])


def test_ls_check_reports_and_fails():
    ls = need("ls")
    r = trace_pid(ls, "/", opts=["--check=live"])  # ls leaks nothing: what it holds is reachable
    assert r.returncode == 23
    assert [(s.pid, s.comm) for s in one_report(r.stderr).sections] == [(r.pid, "ls")]
