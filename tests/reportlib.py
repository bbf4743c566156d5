# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of the report tests (test_report.py, test_signals.py,
test_outfile.py, test_flamegraph.py, test_ignore.py, test_env.py,
test_lost.py, test_children.py): long-running traced programs with their
output in files that can be polled, programs traced by the launcher or
preloaded by hand, the lines a run printed outside its reports, the
folded-stack rules of flamegraph.pl and the size format read back into
numbers."""

import os
import re
import subprocess
import time

from conftest import BIN, HEAPTRACE, LIB, SEPARATOR, clean_env

# the two ways to trace: heaptrace PROG, or LD_PRELOAD by hand
TRACED = ["launcher", "preload"]

SEP_LINE = SEPARATOR + "\n"

# flamegraph.pl (brendangregg/FlameGraph) reads each input line with
#     my ($stack, $samples) = (/^(.*)\s+?(\d+(?:\.\d*)?)$/);
# and, if $stack matches the same regex again, takes it for a differential
# graph's second sample column.  Perl's \s and \d on a byte string are ASCII.
FOLDED_RE = re.compile(r"^(.*)\s+?(\d+(?:\.\d*)?)$", re.ASCII)

AGE_RE = re.compile(r"^(\d+ ns|\d+(\.\d{3})? (us|ms|s))$")
SIZE_RE = re.compile(r"^(1 byte|\d+ bytes|[1-9]\d{0,2}(\.\d{3})? (KB|MB|GB)|\d+(\.\d{3})? GB)$")

SUMMARY_KEYS = [
    "heap traced num of backtrace",
    "heap traced allocation size",
    "allocator info (virtual)",
    "allocator info (in-use)",
    "statm info (VSS/RSS/shared)",
    "allocations since start",
    "peak of live heap",
    "tracer memory",
]
HIDDEN_KEY = "hidden by --ignore"
REST_KEY = "live, not shown (--top)"


def size_lower_bound(text):
    """The smallest byte count a size string of the report can stand for."""
    m = re.match(r"^(\d+) bytes?$", text)
    if m:
        return int(m.group(1))
    m = re.match(r"^(\d+)(?:\.(\d{3}))? (KB|MB|GB)$", text)
    assert m, "not a size: %r" % text
    unit = {"KB": 10**3, "MB": 10**6, "GB": 10**9}[m.group(3)]
    return int(m.group(1)) * unit + int(m.group(2) or 0) * (unit // 1000)


def complete_reports(text):
    """How many reports text holds in full (opening and closing separator)."""
    return text.count(SEP_LINE) // 2


def outside_lines(text):
    """The lines of text that are not part of a report."""
    out, inside = [], False
    for line in text.splitlines():
        if line == SEPARATOR:
            inside = not inside
            continue
        if not inside:
            out.append(line)
    return out


def site(bt, exe):
    """The innermost frame of bt in the executable exe: the program's own
    function that led to the allocation."""
    for f in bt.frames:
        if f.obj == str(exe):
            return f.func
    return None


def sites(section, exe):
    return [site(b, exe) for b in section.backtraces]


def flame_line(line):
    """Check one folded-stack line against flamegraph.pl's input rules and
    return (frames, count) as flamegraph.pl would see them."""
    m = FOLDED_RE.match(line)
    assert m, "flamegraph.pl would ignore this line: %r" % line
    stack, count = m.group(1), m.group(2)
    assert not FOLDED_RE.match(stack), \
        "flamegraph.pl would read a second count column (differential): %r" % line
    stack = stack.translate(str.maketrans("<>", "()"))
    frames = stack.split(";")
    assert all(frames), "empty frame in %r" % line
    return frames, count


def wait_until(pred, timeout, interval=0.01):
    """Poll pred() until it returns a true value or timeout seconds pass;
    return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


class Running:
    """A traced program running in the background, stdin a pipe, stdout and
    stderr going to files that the test can poll while it runs."""

    def __init__(self, tmp_path, prog, *args, opts=(), env=None, launcher=True, name="run"):
        self.out_path = tmp_path / (name + ".stdout")
        self.err_path = tmp_path / (name + ".stderr")
        path = BIN / prog
        e = dict(env or {})
        if launcher:
            argv = [HEAPTRACE, *opts, path, *args]
        else:
            assert not opts
            e.setdefault("LD_PRELOAD", str(LIB))
            argv = [path, *args]
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen([str(a) for a in argv], env=clean_env(e),
                                         stdin=subprocess.PIPE, stdout=out, stderr=err)
        self.pid = self.proc.pid

    def stdout(self):
        return self.out_path.read_text(errors="replace")

    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def wait_stdout(self, text, timeout=10):
        ok = wait_until(lambda: text in self.stdout(), timeout)
        assert ok, "no %r on stdout within %ss: %r" % (text, timeout, self.stdout())

    def kill(self, signo):
        os.kill(self.pid, signo)

    def finish(self, data=b"", timeout=20):
        """Write data to stdin, close it and wait for the exit status."""
        try:
            if data:
                self.proc.stdin.write(data)
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        return self.proc.wait(timeout=timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def thread_states(pid):
    """{tid: (comm, state)} of every thread of pid."""
    res = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                comm = f.read().strip()
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except FileNotFoundError:
            continue
        res[int(tid)] = (comm, stat[stat.rindex(")") + 2])
    return res



class Done:
    """What a finished run left: pid, returncode, stdout, stderr."""

    def __init__(self, pid, returncode, stdout, stderr):
        self.pid, self.returncode, self.stdout, self.stderr = pid, returncode, stdout, stderr


def trace_pid(prog, *args, opts=(), env=None, launcher=True, timeout=60):
    """Like conftest.trace (or preload, launcher=False), but also tells the
    pid of the traced process (the launcher execs it: same pid)."""
    path = prog if "/" in str(prog) else BIN / prog
    e = dict(env or {})
    if launcher:
        argv = [HEAPTRACE, *opts, path, *args]
    else:
        e.setdefault("LD_PRELOAD", str(LIB))
        argv = [path, *args]
    p = subprocess.Popen([str(a) for a in argv], env=clean_env(e), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         errors="replace")
    try:
        out, err = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return Done(p.pid, p.returncode, out, err)


def argv_env(mode, prog, args, opts=(), env=None):
    """argv and environment that trace prog by mode (TRACED); opts are the
    launcher's."""
    e = dict(env or {})
    if mode == "launcher":
        return [str(HEAPTRACE), *opts, str(prog), *map(str, args)], e
    assert not opts
    e["LD_PRELOAD"] = str(LIB)
    return [str(prog), *map(str, args)], e


def run_mode(mode, prog, *args, opts=(), env=None, **kw):
    argv, e = argv_env(mode, prog, args, opts, env)
    p = subprocess.Popen(argv, env=clean_env(e), stdin=subprocess.DEVNULL,
                         stdout=kw.pop("stdout", subprocess.PIPE),
                         stderr=kw.pop("stderr", subprocess.PIPE), text=True,
                         errors="replace", **kw)
    try:
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    p.stdout_text, p.stderr_text = out, err
    return p
