# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers of the integration tests (a plain module; conftest.py
holds only pytest's fixtures and hooks): paths, running programs under
heaptrace (run, trace, preload, Running, trace_pid, run_mode), parsing its
text report into plain Python objects so tests can assert exact counts,
sizes, function names and order, the lines a run printed outside its
reports, the folded-stack rules of flamegraph.pl, the size format read back
into numbers, and small helpers several test files share."""

import os
import pathlib
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEAPTRACE = ROOT / "heaptrace"
LIB = ROOT / "libheaptrace.so"
BIN = ROOT / "tests" / "bin"
SEPARATOR = "=" * 65


def clean_env(extra=None):
    """The environment of a traced run: no HEAPTRACE_* or LD_PRELOAD leaking
    in from the caller."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("HEAPTRACE_") and k != "LD_PRELOAD"}
    env.update(extra or {})
    return env


def run(argv, env=None, timeout=120, **kw):
    """Run argv; return the CompletedProcess with text stdout/stderr."""
    return subprocess.run([str(a) for a in argv], env=clean_env(env), timeout=timeout,
                          capture_output=True, text=True, errors="replace", **kw)


def trace(prog, *args, opts=(), env=None, timeout=120, **kw):
    """heaptrace [opts] tests/bin/PROG [args]"""
    path = prog if "/" in str(prog) else BIN / prog
    return run([HEAPTRACE, *opts, path, *args], env=env, timeout=timeout, **kw)


def preload(prog, *args, env=None, timeout=120, **kw):
    """LD_PRELOAD=libheaptrace.so tests/bin/PROG [args], without the launcher."""
    path = prog if "/" in str(prog) else BIN / prog
    e = {"LD_PRELOAD": str(LIB)}
    e.update(env or {})
    return run([path, *args], env=e, timeout=timeout, **kw)


def need(prog):
    """The path of the Debian program prog (/usr/bin or /bin).  The test
    fails without it, it does not skip: `make deps` installs the packages
    the tests run (Makefile DEB_PKGS)."""
    path = shutil.which(prog, path="/usr/bin:/bin")
    if path is None:
        pytest.fail("%s is not installed: run 'make deps' (its Debian package is in the "
                    "Makefile's DEB_PKGS)" % prog, pytrace=False)
    return path


def plural(n, noun):
    """The report's count of things (utils.c ht_fmt_count): "1 block", "2 blocks"."""
    return "%d %s%s" % (n, noun, "" if n == 1 else "s")


def fmt_bytes(n):
    """The report's size format (utils.c ht_fmt_bytes)."""
    for unit, name in ((10**9, "GB"), (10**6, "MB"), (10**3, "KB")):
        if n >= unit and n % unit == 0:
            return "%d %s" % (n // unit, name)
        if n >= unit:
            return "%d.%03d %s" % (n // unit, n % unit // (unit // 1000), name)
    return "1 byte" if n == 1 else "%d bytes" % n


@dataclass
class Frame:
    index: int
    addr: int
    func: str = ""      # demangled function, "" when unknown
    func_off: int = 0   # None when the function has no symbol (only a DWARF name)
    obj: str = ""       # object path, "" when unknown
    obj_off: int = 0
    file: str = ""      # source file, "" without debug information
    line: int = 0
    inlined: bool = False


@dataclass
class Backtrace:
    rank: int
    count: int
    peak_count: int
    size: str
    peak_size: str
    age: str
    frames: list = field(default_factory=list)
    truncated: bool = False
    cut: str = ""       # why truncated: "depth", "unreadable", "handler", "stack"
    cut_line: str = ""  # "... more frames (...)" as written, when truncated
    growth_size: str = None   # "+1.204 MB": since the previous dump, None in the first
    growth_count: int = None
    at_peak_size: str = None  # held when the whole heap peaked (peak-share section)
    at_peak_count: int = None
    calls: int = None         # allocation calls since start (calls, temporary sections)
    calls_size: str = None    # and their bytes
    temporary: int = None     # of those, temporary allocations (temporary section)
    leaked_size: str = None   # of the live blocks, leaked (when the leak scan ran)
    leaked_count: int = None
    indirect_size: str = None  # and indirectly leaked
    indirect_count: int = None
    samples: int = None       # --sample: its recorded blocks (the rest is estimated)

    @property
    def funcs(self):
        return [f.func for f in self.frames]


@dataclass
class Section:
    key: str
    pid: int
    comm: str
    lists: str = None   # what the header says the section lists (None: it does not say)
    backtraces: list = field(default_factory=list)


@dataclass
class Report:
    all_sections: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    leaks: dict = field(default_factory=dict)  # the leak scan's lines (LEAK_KEYS), if it ran

    @property
    def sections(self):
        """The sections of --sort: without the leaked backtraces' section that
        the exit report puts before them (all_sections has it)."""
        if (len(self.all_sections) > 1 and self.all_sections[0].key == "leaked"
                and self.all_sections[1].key != "leaked"):
            return self.all_sections[1:]
        return self.all_sections

    def section(self, key="size"):
        return next(s for s in self.all_sections if s.key == key)

    @property
    def leaked(self):
        """The leaked section, or None."""
        return next((s for s in self.all_sections if s.key == "leaked"), None)

    @property
    def backtraces(self):
        return self.sections[0].backtraces


# what a section lists, at the end of its header line (options.h HT_SORT_KEYS)
LISTS = {
    "live": "live backtraces",
    "since start": "every backtrace since start, live or not",
    "at peak": "backtraces that held memory at the heap's peak, live now or not",
    "temporary": "backtraces with temporary allocations, live or not",
    "leaked": "backtraces of leaked blocks (reachable from no root), "
              "then of blocks only leaked ones reach",
}
KEY_LISTS = {"size": "live", "count": "live", "age": "live", "growth": "live",
             "peak": "since start", "calls": "since start", "peak-share": "at peak",
             "temporary": "temporary", "leaked": "leaked"}
HEADER_RE = re.compile(r"^\[heaptrace\] dump allocation sorted by '(\w[\w-]*)' "
                       r"for /proc/(\d+)/maps \((.*)\)(?:: (%s))?$" %
                       "|".join(re.escape(v) for v in LISTS.values()))
# with --sample every count and size is an estimate, marked '~' (kept out
# of the groups), and the line ends with its recorded blocks
BT_RE = re.compile(r"^=== backtrace #(\d+) === \[count/peak: ~?(\d+)/~?(\d+)\] "
                   r"\[size/peak: ~?([^/]+)/~?([^\]]+)\] \[age: ([^\]]+)\]"
                   r"(?: \[growth: ~?([+-][^/]+)/~?([+-]\d+) blocks?\])?"
                   r"(?: \[at peak: ~?([^/]+)/~?(\d+)\])?"
                   r"(?: \[calls: ~?(\d+)/~?([^\]]+)\])?"
                   r"(?: \[temporary: ~?(\d+)\])?"
                   r"(?: \[leaked: ~?([^/]+)/~?(\d+), indirect: ~?([^/]+)/~?(\d+)\])?"
                   r"(?: \[samples: (\d+)\])?$")
FRAME_RE = re.compile(r"^ *(\d+) \[ *0x([0-9a-f]+)\] (.*)$")
NAMED_RE = re.compile(r"^(?P<func>.+?)(?: \+0x(?P<off>[0-9a-f]+)| (?P<inl>\[inlined\]))?"
                      r"(?: \((?P<file>[^()]*):(?P<line>\d+)\))?"
                      r" \((?P<obj>[^()]+) \+0x(?P<objoff>[0-9a-f]+)\)$")
UNNAMED_RE = re.compile(r"^(.*) \(\+0x([0-9a-f]+)\)$")
SUMMARY_RE = re.compile(r"^\[heaptrace\] (.*?) *: (.*)$")
TRUNC_RE = re.compile(r"^ +\.\.\. more frames \((?:the backtrace was cut at depth \d+"
                      r"(?:: --depth=N shows more)?|"
                      r"the unwinder could not read them|"
                      r"not unwound in a signal handler: libunwind could deadlock|"
                      r"not unwound: too little stack left)\)$")


def parse_frame(line):
    m = FRAME_RE.match(line)
    if not m:
        return None
    f = Frame(int(m.group(1)), int(m.group(2), 16))
    rest = m.group(3)
    named = NAMED_RE.match(rest)
    unnamed = UNNAMED_RE.match(rest)
    if unnamed and not named:
        f.obj, f.obj_off = unnamed.group(1), int(unnamed.group(2), 16)
    elif named:
        f.func = named.group("func")
        f.func_off = int(named.group("off"), 16) if named.group("off") else None
        f.inlined = bool(named.group("inl"))
        f.file = named.group("file") or ""
        f.line = int(named.group("line")) if named.group("line") else 0
        f.obj, f.obj_off = named.group("obj"), int(named.group("objoff"), 16)
        assert f.func_off is not None or f.inlined or f.file, "bad frame line: %r" % line
    elif unnamed:
        f.obj, f.obj_off = unnamed.group(1), int(unnamed.group(2), 16)
    else:
        assert rest == "??", "bad frame line: %r" % line
    return f


def parse_reports(text):
    """Every report in text (a stream may hold several), strictly: a line
    inside a report that fits no known shape fails the test."""
    reports, cur, bt = [], None, None
    for line in text.splitlines():
        if line == SEPARATOR:
            if cur is None:
                cur = Report()
            else:
                reports.append(cur)
                cur, bt = None, None
            continue
        if cur is None:
            continue
        m = HEADER_RE.match(line)
        if m:
            lists = next((k for k, v in LISTS.items() if v == m.group(4)), None)
            if lists is not None:
                assert lists == KEY_LISTS[m.group(1)], "wrong header: %r" % line
            cur.all_sections.append(Section(m.group(1), int(m.group(2)), m.group(3), lists))
            bt = None
            continue
        m = BT_RE.match(line)
        if m:
            bt = Backtrace(int(m.group(1)), int(m.group(2)), int(m.group(3)),
                           m.group(4), m.group(5), m.group(6))
            if m.group(7):
                bt.growth_size, bt.growth_count = m.group(7), int(m.group(8))
            if m.group(9):
                bt.at_peak_size, bt.at_peak_count = m.group(9), int(m.group(10))
            if m.group(11):
                bt.calls, bt.calls_size = int(m.group(11)), m.group(12)
            if m.group(13):
                bt.temporary = int(m.group(13))
            if m.group(14):
                bt.leaked_size, bt.leaked_count = m.group(14), int(m.group(15))
                bt.indirect_size, bt.indirect_count = m.group(16), int(m.group(17))
            if m.group(18):
                bt.samples = int(m.group(18))
            cur.all_sections[-1].backtraces.append(bt)
            continue
        if line == "":
            bt = None
            continue
        if bt is not None and TRUNC_RE.match(line):
            bt.truncated = True
            bt.cut_line = line.strip()
            bt.cut = ("depth" if "cut at depth" in line else
                      "handler" if "signal handler" in line else
                      "stack" if "stack left" in line else "unreadable")
            continue
        if bt is not None:
            f = parse_frame(line)
            assert f is not None, "bad line in backtrace: %r" % line
            assert f.index == len(bt.frames), "frame numbers out of order: %r" % line
            bt.frames.append(f)
            continue
        m = SUMMARY_RE.match(line)
        assert m, "bad line in report: %r" % line
        if m.group(1) in LEAK_KEYS:
            assert list(cur.leaks) == LEAK_KEYS[:len(cur.leaks)], "leak line out of order: %r" % line
            cur.leaks[m.group(1)] = m.group(2)
        else:
            cur.summary[m.group(1)] = m.group(2)
    assert cur is None, "report not terminated by a separator"
    return reports


def one_report(text):
    reports = parse_reports(text)
    assert len(reports) == 1, "expected one report, got %d:\n%s" % (len(reports), text)
    return reports[0]


def find_bt(report_or_section, func, key="size"):
    """The backtrace whose frame 1 (the caller of the hook) is func."""
    sec = report_or_section.section(key) if isinstance(report_or_section, Report) \
        else report_or_section
    hits = [b for b in sec.backtraces if len(b.frames) > 1 and b.frames[1].func == func]
    assert len(hits) == 1, "expected one backtrace from %s, got %d" % (func, len(hits))
    return hits[0]


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
# the leak scan's lines, between the heap's and the allocator's (in Report.leaks)
LEAK_KEYS = [
    "leaked (no pointer reaches)",
    "indirectly leaked",
    "reachable",
    "leak scan",
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
    """Like trace (or preload, launcher=False), but also tells the
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


# ------------------------------------------------------------ small helpers
# (each was copied in two or more test files)

def stats(bt):
    """(count, peak count, size, peak size) of a backtrace."""
    return (bt.count, bt.peak_count, bt.size, bt.peak_size)


# While threads record events, each counts in batches (README: Peak): the
# heap's peak, and the peaks of a backtrace two threads' events touched, are
# within this much per thread of the true ones; everything else is exact.
PEAK_BATCH_BYTES = 16 * 1024
PEAK_BATCH_BLOCKS = 32
# ... and the summary says so, on a line of its own below the peak's
PEAK_BOUND_KEY = "peaks, with threads"
PEAK_BOUND = "within 16 KiB and 32 blocks per thread"


def assert_peaks_within(bt, count, size, threads):
    """bt's peaks are count blocks and size bytes (below 1 MB), up to a
    batch for each of the threads that recorded its events."""
    assert abs(bt.peak_count - count) <= threads * PEAK_BATCH_BLOCKS, (bt.peak_count, count)
    assert abs(parse_size(bt.peak_size) - size) <= threads * PEAK_BATCH_BYTES, \
        (bt.peak_size, size)
    assert bt.count <= bt.peak_count and parse_size(bt.size) <= parse_size(bt.peak_size)


def parse_size(text):
    """A report size back in bytes; exact below 1 MB."""
    m = re.fullmatch(r"(\d+) bytes?|(\d+)(?:\.(\d{3}))? KB", text)
    assert m, "not an exact size: %r" % text
    if m.group(1):
        return int(m.group(1))
    return int(m.group(2)) * 1000 + int(m.group(3) or 0)


def roles(stdout):
    """{role: pid} from the "ROLE PID" lines s-fork and s-spawn write."""
    res = {}
    for line in stdout.splitlines():
        role, pid = line.split()
        assert role not in res, stdout
        res[role] = int(pid)
    return res


def files_of(out):
    """The names of the files beside out whose names start with out's."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(out.name))


def limit(name):
    """A stack budget of guard.h, in bytes."""
    text = (ROOT / "lib" / "guard.h").read_text()
    return int(re.search(r"#define %s (\d+)" % name, text).group(1))


def stack_use(argv):
    """{hook: bytes} that s-stackuse (run by argv) prints."""
    r = run(argv, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    return {k: int(v) for k, v in (line.split() for line in r.stdout.splitlines())}
