# SPDX-License-Identifier: GPL-2.0-or-later
"""The last report when a fatal signal ends the process: for each signal
whose default action ends it, the exit report is written (the leaked block's
backtrace, exact bytes) and the process then dies as it dies untraced (the
same signal, a core dump in the same cases).  A handler of the program's own
is kept (and one that exits gets the normal exit report), SIG_IGN stays
ignored, SIG_DFL set by the program keeps the report, sigaction() reads
SIG_DFL, an untraced child dies as untraced (a traced one after its own
report), threads that crash together get one report, a second signal during the
report ends the process at once, a report that cannot be written does not
hold the death for more than the documented bound, and a kill while 8
threads allocate ends the process promptly."""

import fcntl
import os
import resource
import signal
import time

import pytest

from htlib import BIN, HEAPTRACE, LIB, clean_env, find_bt, one_report, parse_reports

EXE = BIN / "s-fatal"
PREFIX = []
FATAL = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGSEGV,
         signal.SIGBUS, signal.SIGABRT, signal.SIGFPE, signal.SIGILL, signal.SIGXCPU,
         signal.SIGXFSZ, signal.SIGPIPE]
CORE = {signal.SIGQUIT, signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGFPE,
        signal.SIGILL, signal.SIGXCPU, signal.SIGXFSZ}


class Ended:
    def __init__(self, status, stdout, stderr, seconds):
        self.status, self.stdout, self.stderr, self.seconds = status, stdout, stderr, seconds

    @property
    def signal(self):
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else None

    @property
    def exit(self):
        return os.WEXITSTATUS(self.status) if os.WIFEXITED(self.status) else None

    @property
    def core(self):
        return os.WIFSIGNALED(self.status) and os.WCOREDUMP(self.status)


def spawn(d, args, mode="launcher", opts=(), during=None, pipe_size=None, timeout=30,
          drain=True):
    """Run s-fatal ARGS in directory d (core files land there: core_pattern
    is a file name here, and the test skips where the untraced program
    dumps no core) with RLIMIT_CORE at its hard limit; stdout and stderr are
    pipes (RLIMIT_FSIZE, set by "cause 25", does not apply to them).
    during(pid, stdout_fd, stderr_fd) runs while the program runs; stderr is
    read only once it ended unless drain.  Returns
    its raw wait status from wait4() and what it wrote."""
    d.mkdir(exist_ok=True)
    argv = [str(EXE), *[str(a) for a in args]]
    env = clean_env()
    if mode == "launcher":
        argv = [*PREFIX, str(HEAPTRACE), *opts, *argv]
    elif mode == "preload":
        env = clean_env({"LD_PRELOAD": str(LIB)})
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    if pipe_size:
        fcntl.fcntl(err_w, fcntl.F_SETPIPE_SZ, pipe_size)
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            os.chdir(d)
            # Python ignores these, and SIG_IGN survives exec
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
            hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
            resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    os.close(out_w)
    os.close(err_w)
    try:
        if during:
            during(pid, out_r, err_r)
        out, err = b"", b""
        deadline = time.monotonic() + timeout
        for fd in (out_r, err_r):
            os.set_blocking(fd, False)
        while True:
            done, status, _ = os.wait4(pid, os.WNOHANG)
            for fd in (out_r, err_r) if drain else (out_r,):
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    chunk = b""
                if fd == out_r:
                    out += chunk
                else:
                    err += chunk
            if done:
                break
            assert time.monotonic() < deadline, "no end within %ss" % timeout
            time.sleep(0.005)
        seconds = time.monotonic() - t0
        for fd in (out_r, err_r):
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    chunk = b""
                if not chunk:
                    break
                out, err = (out + chunk, err) if fd == out_r else (out, err + chunk)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(out_r)
        os.close(err_r)
    return Ended(status, out.decode(errors="replace"), err.decode(errors="replace"), seconds)


def the_leak(text):
    """The report's backtrace of leak_here(): exactly one block of 4242 bytes."""
    bt = find_bt(one_report(text), "leak_here")
    assert (bt.count, bt.size) == (1, "4.242 KB")


def ready(pid, out_fd, err_fd):
    """Wait until the program wrote "ready"."""
    buf = b""
    while b"ready\n" not in buf:
        buf += os.read(out_fd, 100)


@pytest.mark.parametrize("sig", FATAL, ids=[s.name for s in FATAL])
def test_fatal_signal_dies_as_untraced_after_the_report(tmp_path, sig):
    plain = spawn(tmp_path / "untraced", ["cause", int(sig)], mode="untraced")
    assert plain.signal == sig, plain.status
    assert plain.stderr == ""
    r = spawn(tmp_path / "traced", ["cause", int(sig)])
    assert r.signal == sig, (r.status, r.stderr)
    assert r.core == plain.core
    assert r.stdout == plain.stdout
    the_leak(r.stderr)


@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGABRT, signal.SIGQUIT],
                         ids=["SIGSEGV", "SIGABRT", "SIGQUIT"])
def test_core_dump_as_untraced(tmp_path, sig):
    """WCOREDUMP traced as untraced, preloaded without the launcher too."""
    plain = spawn(tmp_path / "untraced", ["cause", int(sig)], mode="untraced")
    if not plain.core:
        pytest.skip("core dumps cannot be observed here (untraced: no core)")
    r = spawn(tmp_path / "traced", ["cause", int(sig)], mode="preload")
    assert (r.signal, r.core) == (sig, True)
    the_leak(r.stderr)


def test_program_handler_is_kept_and_its_exit_gets_the_exit_report(tmp_path):
    r = spawn(tmp_path, ["handler", int(signal.SIGTERM)])
    assert (r.exit, r.stdout) == (3, "handled 15\n")
    the_leak(r.stderr)


def test_program_handler_of_a_fault_is_kept(tmp_path):
    r = spawn(tmp_path, ["handler", int(signal.SIGSEGV)])
    assert (r.exit, r.stdout) == (3, "handled 11\n")
    the_leak(r.stderr)


def test_sig_ign_stays_ignored(tmp_path):
    r = spawn(tmp_path, ["ignore", int(signal.SIGTERM)])
    assert (r.exit, r.stdout) == (0, "alive\n")
    the_leak(r.stderr)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGSEGV], ids=["SIGTERM", "SIGSEGV"])
def test_program_sets_sig_dfl_keeps_the_last_report(tmp_path, sig):
    r = spawn(tmp_path, ["dfl", int(sig)])
    assert (r.signal, r.stdout) == (sig, "dfl\n")
    the_leak(r.stderr)


def test_program_reads_sig_dfl_with_its_flags(tmp_path):
    plain = spawn(tmp_path / "untraced", ["view"], mode="untraced")
    assert plain.stdout.count("SIG_DFL flags 0\n") == len(FATAL)
    r = spawn(tmp_path / "traced", ["view"])
    assert (r.exit, r.stdout) == (0, plain.stdout)


def test_untraced_child_dies_as_untraced_and_writes_nothing(tmp_path):
    r = spawn(tmp_path, ["fork", int(signal.SIGTERM)])
    assert (r.exit, r.stdout) == (0, "child signal 15 core 0\n")
    the_leak(r.stderr)  # the parent's exit report only


def test_traced_child_gets_its_own_last_report(tmp_path):
    r = spawn(tmp_path, ["fork", int(signal.SIGTERM)], opts=["--trace-children"])
    assert (r.exit, r.stdout) == (0, "child signal 15 core 0\n")
    reports = parse_reports(r.stderr)
    assert len(reports) == 2  # the child's last report, the parent's exit report
    for rep in reports:
        bt = find_bt(rep, "leak_here")
        assert (bt.count, bt.size) == (1, "4.242 KB")


@pytest.mark.parametrize("round", range(5))
def test_threads_that_crash_together_get_one_report(tmp_path, round):
    plain = spawn(tmp_path / "untraced", ["crash-threads"], mode="untraced")
    assert plain.signal == signal.SIGSEGV
    r = spawn(tmp_path / "traced", ["crash-threads"], timeout=10)
    assert (r.signal, r.core) == (signal.SIGSEGV, plain.core)
    assert r.seconds < 2.0
    the_leak(r.stderr)


def test_double_free_caught_by_glibc_gets_the_report(tmp_path):
    plain = spawn(tmp_path / "untraced", ["double-free"], mode="untraced")
    assert plain.signal == signal.SIGABRT
    r = spawn(tmp_path / "traced", ["double-free"])
    assert (r.signal, r.core) == (signal.SIGABRT, plain.core)
    assert r.stderr.startswith(plain.stderr)  # glibc's message, then the report
    the_leak(r.stderr[len(plain.stderr):])


def test_second_signal_during_the_report_ends_the_process_at_once(tmp_path):
    """The report goes to a pipe of one page that nobody reads until the
    program is sent SIGTERM: its writer blocks after the first page, and a
    SIGINT then ends the process with SIGINT, the report unfinished."""
    def during(pid, out_fd, err_fd):
        ready(pid, out_fd, err_fd)
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.3)  # the report fills the pipe meanwhile
        os.kill(pid, signal.SIGINT)

    r = spawn(tmp_path, ["wait", 40], opts=["--top=0", "--depth=64"], during=during,
              pipe_size=4096, drain=False)
    assert r.signal == signal.SIGINT, r.status
    assert r.seconds < 1.5
    assert 4096 <= len(r.stderr) and "heap traced allocation size" not in r.stderr


def test_a_report_that_cannot_be_written_holds_death_2_to_4_seconds(tmp_path):
    """Its writer blocked (a full pipe), the thread that writes the report
    uses no CPU: the dying thread gives up after 2 s of that (checked every
    2 s, so 2 to 4 s after the signal) and dies."""
    def during(pid, out_fd, err_fd):
        ready(pid, out_fd, err_fd)
        os.kill(pid, signal.SIGTERM)

    r = spawn(tmp_path, ["wait", 40], opts=["--top=0", "--depth=64"], during=during,
              pipe_size=4096, drain=False)
    assert r.signal == signal.SIGTERM, r.status
    assert 2.0 <= r.seconds < 5.0
    assert "heap traced allocation size" not in r.stderr


@pytest.mark.parametrize("round", range(10))
def test_kill_while_8_threads_allocate(tmp_path, round):
    def during(pid, out_fd, err_fd):
        ready(pid, out_fd, err_fd)
        time.sleep(0.05 * (round % 4))
        os.kill(pid, signal.SIGTERM)

    r = spawn(tmp_path, ["threads"], during=during, timeout=10)
    assert r.signal == signal.SIGTERM, r.status
    assert r.seconds < 2.0
    reports = parse_reports(r.stderr)
    assert len(reports) == 1
    bt = find_bt(reports[0], "leak_here")
    assert (bt.count, bt.size) == (1, "4.242 KB")
