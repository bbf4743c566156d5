# SPDX-License-Identifier: GPL-2.0-or-later
"""The program's view of its own process is the same traced and untraced,
as the program itself prints it: the disposition of every signal and the
values signal() returns, the thread's signal mask and pending set (at the
start of main, after allocations, in a thread, in a forked child, at the
end and after the exit report), its open file descriptors (heaptrace keeps
none open, and none reach exec'd children), its environment apart from
LD_PRELOAD and HEAPTRACE_*, and its stdout, byte for byte.  Each test runs
the same program untraced and traced (with the launcher and preloaded by
hand) and compares what it printed."""

import os
import re
import signal
import subprocess

import pytest

from htlib import (BIN, HEAPTRACE, LIB, Running, clean_env, complete_reports, outside_lines,
                   parse_reports, thread_states, wait_until)

TRACED = ["launcher", "preload"]


def argv_env(mode, prog, args, outfile=None, extra_opts=()):
    """argv and environment of one run of tests/bin/prog in mode."""
    path = BIN / prog
    env = {}
    if mode == "launcher":
        opts = list(extra_opts) + (["--outfile=%s" % outfile] if outfile else [])
        return [str(HEAPTRACE), *opts, str(path), *args], env
    if mode == "preload":
        env["LD_PRELOAD"] = str(LIB)
        if outfile:
            env["HEAPTRACE_OUTFILE"] = str(outfile)
    return [str(path), *args], env


def run_mode(mode, prog, *args, outfile=None, preexec_fn=None, stderr=subprocess.PIPE,
             stdin=subprocess.DEVNULL, env=None, cwd=None):
    argv, e = argv_env(mode, prog, args, outfile)
    e.update(env or {})
    return subprocess.run(argv, env=clean_env(e), stdin=stdin, stdout=subprocess.PIPE,
                          stderr=stderr, preexec_fn=preexec_fn, timeout=60, cwd=cwd)


def last_resort_report(d, pid=None):
    """The one report file of last resort in d (heaptrace.PID.txt, written
    when stderr took nothing): its note line, and the report."""
    names = [n for n in os.listdir(d) if re.fullmatch(r"heaptrace\.\d+\.txt", n)]
    assert len(names) == 1, names
    if pid is not None:
        assert names[0] == "heaptrace.%d.txt" % pid
    text = (d / names[0]).read_text()
    assert outside_lines(text) == [
        "heaptrace: cannot write to stderr: Broken pipe; writing the report to %s" % names[0]]
    reps = parse_reports(text)
    assert len(reps) == 1
    return reps[0]


# ------------------------------------------------------------ signals

def ignore_usr1():
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)


def block_some():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGUSR2,
                                              signal.SIGTERM, signal.SIGPIPE})


def ignore_usr2_block_usr1():
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})


INHERITED = {"defaults": None, "usr1-ignored": ignore_usr1, "blocked": block_some,
             "usr2-ignored-usr1-blocked": ignore_usr2_block_usr1}

VIEW_LABELS = ["start of main", "after allocations", "after a thread", "after signal()",
               "after resetting", "forked child", "end of main"]


def check_view_output(out):
    """The shape of s-sigview view's output: every view complete."""
    text = out.decode()
    assert [l[3:] for l in text.splitlines() if l.startswith("== ")] == \
        VIEW_LABELS + ["after exit handlers (4 bytes flushed)"]
    for label in VIEW_LABELS:
        block = text.split("== %s\n" % label)[1]
        lines = block.splitlines()
        assert [int(l.split()[1].rstrip(":")) for l in lines[:signal.NSIG - 1]] == \
            list(range(1, signal.NSIG)), label
    return text


@pytest.mark.parametrize("inherited", list(INHERITED))
@pytest.mark.parametrize("mode", TRACED)
def test_signal_dispositions_and_masks(tmp_path, mode, inherited):
    """Dispositions of signals 1..NSIG-1, the values signal() returns for
    SIGUSR1/SIGUSR2, the masks and pending sets: as untraced, whatever the
    program inherited (SIGUSR1 ignored, signals blocked)."""
    pre = INHERITED[inherited]
    plain = run_mode("untraced", "s-sigview", "view", preexec_fn=pre)
    assert plain.returncode == 0, plain.stderr
    text = check_view_output(plain.stdout)
    out = tmp_path / "report"
    r = run_mode(mode, "s-sigview", "view", outfile=out, preexec_fn=pre)
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    assert r.stdout.decode() == text
    # the traced run did trace: its exit report names the leak
    reps = parse_reports(out.read_text())
    assert len(reps) == 1
    assert any(b.size == "4.321 KB" for b in reps[0].backtraces)


@pytest.mark.parametrize("pending", [False, True], ids=["clean", "program-sigpipe-pending"])
@pytest.mark.parametrize("mode", TRACED)
def test_report_into_a_closed_pipe(tmp_path, mode, pending):
    """The exit report goes to stderr, a pipe nobody reads: heaptrace's
    write raises SIGPIPE, which must neither kill the program nor stay
    pending or blocked; a SIGPIPE the program itself had pending (blocked)
    stays pending.  The program's last view comes after the report, which
    goes to the file of last resort."""
    args = ["view"] + (["pending-pipe"] if pending else [])
    outs = {}
    for m in ("untraced", mode):
        (tmp_path / m).mkdir()
        rd, wr = os.pipe()
        os.close(rd)
        try:
            r = run_mode(m, "s-sigview", *args, stderr=wr, cwd=tmp_path / m)
        finally:
            os.close(wr)
        assert r.returncode == 0, (m, r.returncode)
        outs[m] = r.stdout.decode()
    assert os.listdir(tmp_path / "untraced") == []
    assert any(b.size == "4.321 KB" for b in last_resort_report(tmp_path / mode).backtraces)
    check_view_output(outs["untraced"].encode())
    tail = outs["untraced"].split("== after exit handlers")[1]
    assert ("pending=13" in tail) == pending
    assert outs[mode] == outs["untraced"]


@pytest.mark.parametrize("api", ["__sysv_signal", "sysv_signal", "bsd_signal", "sigset",
                                 "sigignore", "siginterrupt"])
def test_other_glibc_interfaces_see_the_programs_dispositions(api):
    """signal() of a program built with -std=c99 is glibc's __sysv_signal;
    it, sysv_signal, bsd_signal, sigset, sigignore and siginterrupt change
    dispositions inside glibc, not through the sigaction symbol.  What they
    return, and what sigaction() reports afterwards (to the program, or to
    a library chaining handlers), is what the program set: never
    heaptrace's handler, nor a SIG_DFL standing in for the program's."""
    plain = run_mode("untraced", "s-sigview", "api", api)
    assert plain.returncode == 0
    r = run_mode("preload", "s-sigview", "api", api)
    assert r.returncode == 0, r.stderr
    assert "SOMEONE-ELSES" not in r.stdout.decode()
    assert r.stdout.decode() == plain.stdout.decode()


@pytest.mark.parametrize("mode", TRACED)
def test_sigwaitinfo_gets_blocked_signals(mode):
    """Signals the program blocks and takes with sigwaitinfo reach it:
    heaptrace's thread (which exists before main) blocks every signal, so
    the kernel never hands it a process-directed signal."""
    plain = run_mode("untraced", "s-sigview", "sigwait")
    assert plain.returncode == 0
    lines = plain.stdout.decode().splitlines()
    assert lines[:5] == ["sent %d got %d from self 1 code 0" % (s, s) for s in
                         (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2,
                          signal.SIGHUP)]
    r = run_mode(mode, "s-sigview", "sigwait")
    assert r.returncode == 0, r.stderr
    assert r.stdout == plain.stdout


@pytest.fixture
def procs():
    started = []
    yield started
    for p in started:
        p.close()


class RunningIn(Running):
    """reportlib.Running, untraced or traced (mode), with a preexec_fn;
    stdout and stderr go to the files "out" and "err" of directory d."""

    def __init__(self, d, prog, *args, env=None, preexec_fn=None, mode="untraced", opts=()):
        self.dir = d
        self.out_path = d / "out"
        self.err_path = d / "err"
        argv, e = argv_env(mode, prog, args, extra_opts=opts)
        e.update(env or {})
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(argv, env=clean_env(e), stdin=subprocess.PIPE,
                                         stdout=out, stderr=err, preexec_fn=preexec_fn)
        self.pid = self.proc.pid


def start(procs, tmp_path, mode, prog, *args, opts=(), env=None, preexec_fn=None):
    """Start prog in mode, in its own directory tmp_path/mode."""
    d = tmp_path / mode
    d.mkdir()
    p = RunningIn(d, prog, *args, env=env, preexec_fn=preexec_fn, mode=mode, opts=opts)
    procs.append(p)
    return p


@pytest.mark.parametrize("how", ["own-signal", "own-sigaction"])
@pytest.mark.parametrize("mode", TRACED)
def test_own_usr1_handler_is_called_usr2_still_dumps(procs, tmp_path, mode, how):
    """The program installs its own SIGUSR1 handler: it sees what it
    replaced as SIG_DFL, SIGUSR1 calls its handler, SIGUSR2 still dumps."""
    plain = start(procs, tmp_path, "untraced", "s-sigview", how)
    plain.wait_stdout("ready\n")
    plain.kill(signal.SIGUSR1)
    plain.wait_stdout("handled\n")
    plain.kill(signal.SIGUSR1)
    assert wait_until(lambda: plain.stdout().count("handled") == 2, 5)
    assert plain.finish() == 0

    out = tmp_path / "report"
    env = {"HEAPTRACE_OUTFILE": str(out)}
    p = start(procs, tmp_path, mode, "s-sigview", how, env=env)
    p.wait_stdout("ready\n")
    p.kill(signal.SIGUSR1)
    p.wait_stdout("handled\n")
    p.kill(signal.SIGUSR2)
    assert wait_until(lambda: out.exists() and complete_reports(out.read_text()) == 1, 5)
    p.kill(signal.SIGUSR1)
    assert wait_until(lambda: p.stdout().count("handled") == 2, 5)
    assert p.finish() == 0
    assert p.stdout() == plain.stdout()
    assert "DFL" in plain.stdout().splitlines()[0]
    assert p.stderr() == ""
    reps = parse_reports(out.read_text())
    assert [[s.key for s in r.sections] for r in reps] == [["count"], ["size"]]


@pytest.mark.parametrize("mode", TRACED)
def test_inherited_ignored_usr1_stays_ignored(procs, tmp_path, mode):
    """SIGUSR1 ignored by the parent: heaptrace does not take it, so it
    neither dumps nor kills; SIGUSR2 (default) still dumps."""
    plain = start(procs, tmp_path, "untraced", "s-sigview", "wait", preexec_fn=ignore_usr1)
    plain.wait_stdout("ready\n")
    plain.kill(signal.SIGUSR1)
    assert plain.finish() == 0

    out = tmp_path / "report"
    p = start(procs, tmp_path, mode, "s-sigview", "wait", env={"HEAPTRACE_OUTFILE": str(out)},
              preexec_fn=ignore_usr1)
    p.wait_stdout("ready\n")
    p.kill(signal.SIGUSR1)
    # standard signals are delivered lowest number first: had SIGUSR1
    # dumped, its report would be written before SIGUSR2's
    p.kill(signal.SIGUSR2)
    assert wait_until(lambda: out.exists() and complete_reports(out.read_text()) == 1, 5)
    assert p.finish() == 0
    assert p.stdout() == plain.stdout() == "ready\n"
    assert p.stderr() == ""
    reps = parse_reports(out.read_text())
    assert [[s.key for s in r.sections] for r in reps] == [["count"], ["size"]]


# ------------------------------------------------------------ file descriptors

def normalize_fds(text, d):
    text = text.replace(str(d), "<dir>")
    return re.sub(r"(pipe|socket|anon_inode):\[\d+\]", r"\1:[]", text)


def fd_targets(pid):
    res = []
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                res.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
            except OSError:
                pass
    except OSError:
        pass
    return res


def reporter_idle(pid):
    """heaptrace's reporter thread sleeps (waiting for the next signal)."""
    return any(s == ("heaptrace", "S") for s in thread_states(pid).values())


FD_LABELS = ["start of main", "after allocations in threads", "after the dump",
             "exec'd child", "end of main", "after exit handlers"]


@pytest.mark.parametrize("mode", TRACED)
def test_open_descriptors(procs, tmp_path, mode):
    """/proc/self/fd at the start of main, after allocations in several
    threads, after a SIGUSR1 dump was written to --outfile, in an exec'd
    child, at the end of main and after the exit report: as untraced.
    heaptrace reads an --ignore file and writes --outfile, and keeps
    neither open, nor anything of libunwind's."""
    ign = tmp_path / "ignore.txt"
    ign.write_text("no_such_function\n*no_such_glob*\n")
    plain = start(procs, tmp_path, "untraced", "s-fdview", "main")
    plain.wait_stdout("ready\n")
    assert plain.finish(b"x") == 3
    want = normalize_fds(plain.stdout(), plain.dir)
    assert [l[3:] for l in want.splitlines() if l.startswith("== ")] == FD_LABELS
    assert "  0 -> pipe:[]\n  1 -> <dir>/out\n  2 -> <dir>/err\n==" in want

    out = tmp_path / "report"
    env = {}
    opts = []
    if mode == "launcher":
        opts = ["--outfile=%s" % out, "--ignore=%s" % ign]
    else:
        env = {"HEAPTRACE_OUTFILE": str(out), "HEAPTRACE_IGNORE": str(ign)}
    p = start(procs, tmp_path, mode, "s-fdview", "main", opts=opts, env=env)
    p.wait_stdout("ready\n")
    p.kill(signal.SIGUSR1)
    assert wait_until(lambda: out.exists() and complete_reports(out.read_text()) == 1, 5)
    # the report is complete in the file; wait (a little) for the reporter
    # to have closed it, so that a descriptor still open is a real leak
    wait_until(lambda: str(out) not in fd_targets(p.pid) and reporter_idle(p.pid), 5)
    assert p.finish(b"x") == 3
    assert p.stderr() == ""
    assert normalize_fds(p.stdout(), p.dir) == want
    reps = parse_reports(out.read_text())
    assert [[s.key for s in r.sections] for r in reps] == [["size"], ["size"]]


# ------------------------------------------------------------ environment

def env_lines(text):
    """s-envview's output without LD_PRELOAD and HEAPTRACE_* entries; the
    per-view entry counts are dropped with them."""
    out = []
    for line in text.splitlines():
        if line.startswith(("  [LD_PRELOAD=", "  [HEAPTRACE_")):
            continue
        out.append(re.sub(r": \d+ entries$", "", line))
    return out


ODD_ENV = {"EMPTY": "", "WITH_EQUALS": "a=b=c", "NEWLINE": "one\ntwo", "TAB": "x\ty",
           "LONG": "v" * 100000, "UTF8": "\u00e9t\u00e9", "LD_LIBRARY_PATH_NOT": "kept",
           "HEAPTRACEX": "not ours", "XHEAPTRACE_TOP": "not ours either"}


@pytest.mark.parametrize("mode", TRACED)
def test_environment(tmp_path, mode):
    """environ, sorted, at the start of main, after allocations and a
    thread, and in an exec'd child: as untraced, apart from LD_PRELOAD and
    HEAPTRACE_*."""
    plain = run_mode("untraced", "s-envview", env=ODD_ENV)
    assert plain.returncode == 0
    text = plain.stdout.decode()
    assert "  [NEWLINE=one\\x0atwo]" in text and "  [HEAPTRACEX=not ours]" in text
    r = run_mode(mode, "s-envview", env=dict(ODD_ENV, HEAPTRACE_TOP="3"),
                 outfile=tmp_path / "report")
    assert r.returncode == 0, r.stderr
    assert r.stderr == b""
    assert env_lines(r.stdout.decode()) == env_lines(text)
    assert "  [HEAPTRACE_TOP=3]" in r.stdout.decode()


RAW_ENV = ["A=1", "JUNK", "A=2", "=starts-with-equals", "B=", "C=x\ny"]


@pytest.mark.parametrize("mode", TRACED)
def test_raw_environment_entries(mode):
    """Entries a shell or Python cannot pass (a name twice, no '=' at all,
    an empty name) reach the program as they were, in the same order."""
    def via(argv, extra=()):
        entries = RAW_ENV + list(extra)
        r = subprocess.run([str(BIN / "s-envview"), "exec-with", str(len(entries)),
                            *entries, *argv], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r
    plain = via([str(BIN / "s-envview")])
    if mode == "launcher":
        r = via([str(HEAPTRACE), str(BIN / "s-envview")])
    else:
        r = via([str(BIN / "s-envview")], ["LD_PRELOAD=%s" % LIB])
    text = plain.stdout.decode()
    assert "  [JUNK]\n" in text and "  [A=1]\n  [A=2]\n" in text
    assert env_lines(r.stdout.decode()) == env_lines(text)


# ------------------------------------------------------------ stdout

@pytest.fixture(scope="module")
def stdout_bytes():
    r = subprocess.run([str(BIN / "s-stdout")], env=clean_env(), capture_output=True,
                       timeout=60)
    assert r.returncode == 0 and r.stderr == b""
    assert len(r.stdout) > 10 * 1000 * 1000
    assert r.stdout[:256] == bytes(range(256)) and r.stdout[-100:] == bytes(range(100))
    return r.stdout


@pytest.mark.parametrize("sink", ["pipe", "file"])
@pytest.mark.parametrize("mode,outfile", [("launcher", False), ("launcher", True),
                                          ("preload", False)],
                         ids=["launcher", "launcher-outfile", "preload"])
def test_stdout_binary_and_large_is_untouched(tmp_path, stdout_bytes, mode, outfile, sink):
    """Megabytes of binary data, through stdio and write(2), interleaved
    with allocations, the tail flushed by exit() after the exit report:
    byte for byte what the untraced program writes."""
    out = tmp_path / "report"
    argv, env = argv_env(mode, "s-stdout", [], outfile=out if outfile else None)
    if sink == "pipe":
        r = subprocess.run(argv, env=clean_env(env), capture_output=True, timeout=60)
        got = r.stdout
    else:
        with open(tmp_path / "stdout", "wb") as f:
            r = subprocess.run(argv, env=clean_env(env), stdout=f, stderr=subprocess.PIPE,
                               timeout=60)
        got = (tmp_path / "stdout").read_bytes()
    assert r.returncode == 0
    assert got == stdout_bytes
    report = out.read_text() if outfile else r.stderr.decode()
    if outfile:
        assert r.stderr == b""
    else:
        assert outside_lines(report) == []
    reps = parse_reports(report)
    assert len(reps) == 1 and reps[0].backtraces


# ------------------------------------------------------------ errno

@pytest.mark.parametrize("report", ["file", "dev-full", "closed-pipe"])
@pytest.mark.parametrize("mode", TRACED)
def test_errno_where_the_program_did_not_set_it(tmp_path, mode, report):
    """errno in the program's constructor and at the start of main (after
    heaptrace's constructor ran), and after every exit handler (after the
    exit report, whether writing it worked, failed on a full device or on
    a pipe nobody reads): what it is untraced.  (errno around the
    interposed calls themselves: test_interpose.py.)"""
    plain = run_mode("untraced", "s-mainerrno")
    assert plain.returncode == 0
    assert plain.stdout == (b"errno in the program's constructor: 0\n"
                            b"errno at the start of main: 0\n"
                            b"errno after exit handlers: 4242\n")
    if report == "closed-pipe":
        rd, wr = os.pipe()
        os.close(rd)
        try:
            r = run_mode(mode, "s-mainerrno", stderr=wr, cwd=tmp_path)
        finally:
            os.close(wr)
        last_resort_report(tmp_path)
    else:
        out = tmp_path / "report" if report == "file" else "/dev/full"
        r = run_mode(mode, "s-mainerrno", outfile=out)
        if report == "file":
            assert len(parse_reports(out.read_text())) == 1
        else:
            assert len(parse_reports(r.stderr.decode())) == 1
    assert r.returncode == 0
    assert r.stdout == plain.stdout


@pytest.mark.parametrize("mode", TRACED)
def test_configured_signals_look_unchanged(tmp_path, mode):
    """--signals takes other signals (RTMIN+3, HUP) instead of USR1/USR2:
    the program's view of every signal is still the untraced one."""
    plain = run_mode("untraced", "s-sigview", "view")
    text = check_view_output(plain.stdout)
    out = tmp_path / "report"
    r = run_mode(mode, "s-sigview", "view", outfile=out,
                 env={"HEAPTRACE_SIGNALS": "growth:RTMIN+3,size:HUP"})
    assert (r.returncode, r.stderr) == (0, b"")
    assert r.stdout.decode() == text
    assert len(parse_reports(out.read_text())) == 1
