# SPDX-License-Identifier: GPL-2.0-or-later
"""Exit paths: abort(), a SIGSEGV and a SIGKILL from outside end a traced
program as they end it untraced (the same signal, a core dump attempted in
the same cases, the same output; the first two after the last report); _exit() and quick_exit() end it with its
status and no report, as documented; exit() writes the report."""

import os
import resource
import signal
import subprocess

import pytest

from htlib import BIN, HEAPTRACE, LIB, clean_env, find_bt, one_report, wait_until

TRACED = ["launcher", "preload"]


def argv_env(mode, args, outfile):
    path = str(BIN / "s-ending")
    if mode == "launcher":
        return [str(HEAPTRACE), "--outfile=%s" % outfile, path, *args], clean_env()
    if mode == "preload":
        return [path, *args], clean_env({"LD_PRELOAD": str(LIB),
                                         "HEAPTRACE_OUTFILE": str(outfile)})
    return [path, *args], clean_env()


class Ended:
    def __init__(self, status, stdout, stderr):
        self.status, self.stdout, self.stderr = status, stdout, stderr

    @property
    def signal(self):
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else None

    @property
    def core_dumped(self):
        return os.WIFSIGNALED(self.status) and os.WCOREDUMP(self.status)


def spawn(mode, args, d, kill=None):
    """Run s-ending in directory d (where a core file would land) with core
    dumps allowed, and return its raw wait status from wait4(), which
    tells whether a core dump was written.  kill: send this signal once
    the program wrote "ready"."""
    d.mkdir()
    out, err = d / "stdout", d / "stderr"
    out.touch()
    err.touch()
    argv, env = argv_env(mode, args, d / "report")
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.chdir(d)
            hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
            resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
            fd_in = os.open(os.devnull, os.O_RDONLY)
            fd_out = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            fd_err = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(fd_in, 0)
            os.dup2(fd_out, 1)
            os.dup2(fd_err, 2)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    try:
        if kill is not None:
            assert wait_until(lambda: b"ready\n" in out.read_bytes(), 10)
            os.kill(pid, kill)
        _, status, _ = os.wait4(pid, 0)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    return Ended(status, out.read_bytes(), err.read_bytes())


@pytest.mark.parametrize("how,sig", [("abort", signal.SIGABRT), ("segv", signal.SIGSEGV),
                                     ("wait", signal.SIGKILL)],
                         ids=["abort", "segv", "sigkill"])
@pytest.mark.parametrize("mode", TRACED)
def test_death_by_signal_as_untraced(tmp_path, mode, how, sig):
    kill = sig if how == "wait" else None
    plain = spawn("untraced", [how], tmp_path / "untraced", kill=kill)
    assert plain.signal == sig
    r = spawn(mode, [how], tmp_path / "traced", kill=kill)
    assert r.signal == sig
    assert (r.stdout, r.stderr) == (plain.stdout, plain.stderr)
    assert r.stdout.startswith(b"via write\n")
    assert b"via stdio" not in r.stdout   # nobody flushed stdio
    if sig == signal.SIGKILL:  # cannot be caught: no last report
        assert not (tmp_path / "traced" / "report").exists()
    else:  # the last report (test_fatal.py)
        bt = find_bt(one_report((tmp_path / "traced" / "report").read_text()),
                     "leak_before_end")
        assert (bt.count, bt.size) == (1, "42 bytes")


@pytest.mark.parametrize("how", ["abort", "segv"])
@pytest.mark.parametrize("mode", TRACED)
def test_core_dump_as_untraced(tmp_path, mode, how):
    """Whether the kernel wrote a core dump (WCOREDUMP of the wait status)
    is the same traced and untraced.  Skipped where the untraced program
    cannot dump core (a hard RLIMIT_CORE of 0, core_pattern, a sandbox):
    the comparison would then prove nothing."""
    plain = spawn("untraced", [how], tmp_path / "untraced")
    if not plain.core_dumped:
        pytest.skip("core dumps cannot be observed here (untraced %s dumped no core)" % how)
    r = spawn(mode, [how], tmp_path / "traced")
    assert r.core_dumped


def test_sigkill_dumps_no_core(tmp_path):
    r = spawn("launcher", ["wait"], tmp_path / "traced", kill=signal.SIGKILL)
    assert r.signal == signal.SIGKILL and not r.core_dumped


@pytest.mark.parametrize("how,status,stdout", [
    ("_exit", 7, b"via write\n"),
    ("quick_exit", 9, b"via write\nquick handler\n"),
])
@pytest.mark.parametrize("mode", TRACED)
def test_exit_without_exit_handlers_writes_no_report(tmp_path, mode, how, status, stdout):
    out = tmp_path / "report"
    plain = subprocess.run(argv_env("untraced", [how, str(status)], out)[0],
                           env=clean_env(), capture_output=True, timeout=60)
    assert (plain.returncode, plain.stdout, plain.stderr) == (status, stdout, b"")
    argv, env = argv_env(mode, [how, str(status)], out)
    r = subprocess.run(argv, env=env, capture_output=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (status, stdout, b"")
    assert not out.exists()


@pytest.mark.parametrize("mode", TRACED)
def test_exit_from_main_writes_the_report(tmp_path, mode):
    out = tmp_path / "report"
    plain = subprocess.run(argv_env("untraced", ["exit", "5"], out)[0], env=clean_env(),
                           capture_output=True, timeout=60)
    assert (plain.returncode, plain.stdout) == (5, b"via write\nvia stdio\n")
    argv, env = argv_env(mode, ["exit", "5"], out)
    r = subprocess.run(argv, env=env, capture_output=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (5, plain.stdout, b"")
    rep = one_report(out.read_text())
    assert [(b.frames[1].func, b.count, b.size) for b in rep.backtraces] == \
        [("leak_before_end", 1, "42 bytes")]
