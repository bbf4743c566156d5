# SPDX-License-Identifier: GPL-2.0-or-later
"""Which processes are traced.  Only the process heaptrace started, across
exec (so that shell wrappers work), as valgrind does: its forked children
and what they execute run untraced, free and reallocate what they inherited
(heaptrace's own blocks too), die of the dump signal as they would untraced
and write no report.  --trace-children (HEAPTRACE_TRACE_CHILDREN) traces
every descendant, each with its own report and FILE.PID."""

import os
import re

import pytest

from htlib import BIN, TRACED, one_report, outside_lines, parse_reports, run, run_mode, trace_pid

CHILDREN = BIN / "s-children"
FORK = BIN / "s-fork"


def role_pids(stdout):
    """{role: pid} from "ROLE PID ..." lines."""
    return {line.split()[0]: int(line.split()[1]) for line in stdout.splitlines()}


def program_sites(rep, exe):
    return {b.frames[1].func: (b.count, b.size) for b in rep.backtraces
            if b.frames[1].obj == str(exe)}


@pytest.mark.parametrize("mode", TRACED)
def test_forked_child_is_not_traced(tmp_path, mode):
    # the child frees the parent's blocks, reallocates one, grows the
    # environment (preloaded by hand, heaptrace's setenv() made it a block
    # of the tracer's) and leaks: it runs, writes no report, and nothing
    # of it is counted anywhere
    out = tmp_path / "heap.out"
    opts, env = (["--outfile=%s" % out], {}) if mode == "launcher" else \
        ((), {"HEAPTRACE_OUTFILE": str(out)})
    p = run_mode(mode, CHILDREN, "fork", opts=opts, env=env)
    assert (p.returncode, p.stderr_text) == (0, "")
    pids = role_pids(p.stdout_text)
    assert pids["parent"] == p.pid and pids["child"] != p.pid
    assert p.stdout_text.endswith("status 0\n")
    assert sorted(os.listdir(tmp_path)) == ["heap.out"]
    rep = one_report(out.read_text())
    assert [s.pid for s in rep.sections] == [p.pid]
    assert program_sites(rep, CHILDREN) == {"parent_leak": (1, "300 bytes")}
    assert rep.summary["allocations since start"] == "65 calls, 3.500 KB"


@pytest.mark.parametrize("mode", TRACED)
def test_forked_child_reports_to_stderr_nothing(mode):
    p = run_mode(mode, CHILDREN, "fork")
    assert p.returncode == 0
    rep = one_report(p.stderr_text)
    assert [s.pid for s in rep.sections] == [p.pid]
    assert outside_lines(p.stderr_text) == []


@pytest.mark.parametrize("fork_mode", ["fork", "exec", "system"])
def test_no_descendant_writes_a_file(tmp_path, fork_mode):
    # a forked child, a program it executes, system()'s shell and its child
    out = tmp_path / "heap.out"
    r = trace_pid(FORK, fork_mode, opts=["--outfile=%s" % out])
    assert (r.returncode, r.stderr) == (0, "")
    assert sorted(os.listdir(tmp_path)) == ["heap.out"]
    rep = one_report(out.read_text())
    assert [s.pid for s in rep.sections] == [r.pid]
    assert program_sites(rep, FORK) == {"parent_leak": (1, "300 bytes")}


def test_untraced_child_dies_of_the_dump_signal_as_untraced():
    # SIGUSR1 is the child's to die of, as it is without heaptrace
    plain = run([CHILDREN, "signal"])
    assert plain.stdout == "child killed by 10\n"
    for mode in TRACED:
        p = run_mode(mode, CHILDREN, "signal")
        assert (p.returncode, p.stdout_text) == (0, plain.stdout), mode
        assert [s.pid for s in one_report(p.stderr_text).sections] == [p.pid]


@pytest.mark.parametrize("how", ["option", "variable"])
def test_trace_children_traces_every_descendant(tmp_path, how):
    out = tmp_path / "heap.out"
    if how == "option":
        p = run_mode("launcher", CHILDREN, "fork", opts=["--outfile=%s" % out, "--trace-children"])
    else:
        p = run_mode("preload", CHILDREN, "fork", env={"HEAPTRACE_OUTFILE": str(out),
                                                       "HEAPTRACE_TRACE_CHILDREN": "1"})
    assert (p.returncode, p.stderr_text) == (0, "")
    child = role_pids(p.stdout_text)["child"]
    assert sorted(os.listdir(tmp_path)) == ["heap.out", "heap.out.%d" % child]
    rep = one_report(out.read_text())
    assert program_sites(rep, CHILDREN) == {"parent_leak": (1, "300 bytes")}
    kid = one_report((tmp_path / ("heap.out.%d" % child)).read_text())
    assert [s.pid for s in kid.sections] == [child]
    assert program_sites(kid, CHILDREN) == {"parent_leak": (1, "300 bytes"),
                                            "child_leak": (1, "200 bytes")}


def test_trace_children_child_dumps_on_the_signal():
    p = run_mode("launcher", CHILDREN, "signal", opts=["--trace-children"])
    assert p.returncode == 0
    assert re.fullmatch(r"child \d+ alive\nchild status 0\n", p.stdout_text)


def test_shell_wrapper_that_execs_is_traced():
    # sh -c 'exec PROG': the process heaptrace started becomes PROG
    r = trace_pid("/bin/sh", "-c", 'exec "$0" leaf', FORK)
    assert r.returncode == 0
    assert role_pids(r.stdout) == {"leaf": r.pid}
    rep = one_report(r.stderr)
    assert [(s.pid, s.comm) for s in rep.sections] == [(r.pid, "s-fork")]
    assert program_sites(rep, FORK) == {"leaf_leak": (1, "123 bytes")}


def test_shell_that_forks_its_command_leaves_it_untraced():
    r = trace_pid("/bin/sh", "-c", '"$0" leaf; exit 0', FORK)
    assert r.returncode == 0
    assert role_pids(r.stdout)["leaf"] != r.pid
    for rep in parse_reports(r.stderr):
        assert [s.pid for s in rep.sections] == [r.pid]
        assert program_sites(rep, FORK) == {}
