# SPDX-License-Identifier: GPL-2.0-or-later
"""heaptrace's own resources.  The tracer's memory runs out: with
--max-memory too small for the tables to hold every live block of a
program that keeps 200,000 blocks, the program runs on with its own output
and status, stderr gets exactly one warning line, and the report counts
what could not be tracked: tracked plus untracked allocations are the
program's allocations, and frees of untracked blocks leave the counts of
tracked ones alone.  Without the limit the same program is tracked
completely.  The reporter thread's stack holds the deepest report; libbfd
is mapped by the first report; under a tight `ulimit -v` a program runs
as untraced and its reports are written, even with the address space all
but used up."""

import re
import resource
import signal
import subprocess

import pytest

from htlib import (BIN, HEAPTRACE, Running, clean_env, complete_reports, fmt_bytes, outside_lines,
                   parse_reports, wait_until)

COUNT = 200000
CALLS = 10 + COUNT + 50  # keep_early, keep_many, after_limit
WARNING = ("heaptrace: out of memory for the tracer's tables: allocations are no longer "
           "all tracked (the report counts them)\n")
NOT_TRACKED_RE = re.compile(r"^(\d+) allocations were not tracked \(no memory for the tables\)$")


def calls(rep):
    m = re.fullmatch(r"(\d+) calls, .*", rep.summary["allocations since start"])
    assert m, rep.summary["allocations since start"]
    return int(m.group(1))


def untracked(rep):
    if "not tracked" not in rep.summary:
        return 0
    m = NOT_TRACKED_RE.match(rep.summary["not tracked"])
    assert m, rep.summary["not tracked"]
    return int(m.group(1))


def sites(rep):
    """{frame-1 function: (count, peak count, size, peak size)}"""
    return {b.frames[1].func: (b.count, b.peak_count, b.size, b.peak_size)
            for b in rep.backtraces if len(b.frames) > 1}


EARLY = (10, 10, "480 bytes", "480 bytes")
LATE = (30, 50, fmt_bytes(3000), fmt_bytes(5000))


@pytest.fixture(scope="module")
def untraced_run():
    r = subprocess.run([str(BIN / "s-maxmem")], env=clean_env(), capture_output=True,
                       timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (4, b"phase 1\nphase 2\ndone\n", b"")
    return r


@pytest.mark.parametrize("limit", [1, 200000, 1000000])
def test_limit_reached_program_runs_on_and_report_counts(tmp_path, untraced_run, limit):
    """Whatever the limit: the program's output and status, one warning,
    and tracked + untracked = every allocation the program made."""
    out = tmp_path / "report"
    r = subprocess.run([str(HEAPTRACE), "--max-memory=%d" % limit, "--outfile=%s" % out,
                        str(BIN / "s-maxmem")], env=clean_env(), capture_output=True,
                       timeout=60)
    assert (r.returncode, r.stdout) == (untraced_run.returncode, untraced_run.stdout)
    assert r.stderr.decode() == WARNING
    reps = parse_reports(out.read_text())
    assert len(reps) == 1
    rep = reps[0]
    assert untracked(rep) > 0
    assert calls(rep) + untracked(rep) == CALLS
    # what was tracked is consistent: the listed blocks are the summary's
    assert rep.summary["heap traced num of backtrace"] == str(len(rep.backtraces))
    assert "keep_many" not in sites(rep)   # all freed, tracked or not
    if limit == 1:
        assert calls(rep) == 0 and rep.backtraces == []


def test_limit_dumps_before_and_after_freeing_untracked_blocks(tmp_path):
    """Under the limit: with all 200,000 blocks live, keep_many holds
    exactly the blocks that were tracked; after all are freed (most of
    them untracked) it holds none, keep_early is untouched, and the blocks
    allocated afterwards are tracked exactly: the tables that held
    keep_many's gave their memory back, for the tables of the shards the
    later blocks go to, which are another region's when the heap grew
    past a 64 MiB boundary (unit-addrmap: test_shrink_gives_back)."""
    out = tmp_path / "report"
    p = Running(tmp_path, "s-maxmem", "wait",
                opts=["--max-memory=1000000", "--outfile=%s" % out])
    try:
        p.wait_stdout("phase 1\n", timeout=30)
        p.kill(signal.SIGUSR1)
        assert wait_until(lambda: out.exists() and complete_reports(out.read_text()) == 1, 10)
        p.proc.stdin.write(b"x")
        p.proc.stdin.flush()
        p.wait_stdout("phase 2\n", timeout=30)
        p.kill(signal.SIGUSR2)
        assert wait_until(lambda: complete_reports(out.read_text()) == 2, 10)
        assert p.finish(b"x") == 4
    finally:
        p.close()
    assert p.stdout() == "phase 1\nphase 2\ndone\n"
    assert p.stderr() == WARNING
    full, freed, at_exit = parse_reports(out.read_text())

    tracked = calls(full) - 10
    lost = untracked(full)
    assert lost > 0 and tracked > 0
    assert tracked + lost == COUNT
    assert sites(full) == {"keep_early": EARLY,
                           "keep_many": (tracked, tracked, fmt_bytes(32 * tracked),
                                         fmt_bytes(32 * tracked))}

    assert sites(freed) == {"keep_early": EARLY}
    assert (calls(freed), untracked(freed)) == (10 + tracked, lost)

    assert sites(at_exit) == {"keep_early": EARLY, "after_limit": LATE}
    assert (calls(at_exit), untracked(at_exit)) == (10 + tracked + 50, lost)
    assert at_exit.summary["heap traced allocation size"] == "%s in 40 blocks" % \
        fmt_bytes(480 + 3000)


def test_without_limit_everything_is_tracked(tmp_path):
    out = tmp_path / "report"
    p = Running(tmp_path, "s-maxmem", "wait", opts=["--outfile=%s" % out])
    try:
        p.wait_stdout("phase 1\n", timeout=30)
        p.kill(signal.SIGUSR1)
        assert wait_until(lambda: out.exists() and complete_reports(out.read_text()) == 1, 10)
        assert p.finish(b"xx") == 4
    finally:
        p.close()
    assert p.stderr() == ""
    full, at_exit = parse_reports(out.read_text())
    assert sites(full) == {"keep_early": EARLY,
                           "keep_many": (COUNT, COUNT, fmt_bytes(32 * COUNT),
                                         fmt_bytes(32 * COUNT))}
    assert sites(at_exit) == {"keep_early": EARLY, "after_limit": LATE}
    for rep in (full, at_exit):
        assert "not tracked" not in rep.summary
    assert calls(at_exit) == CALLS


# ------------------------------------------------------------ the reporter's stack

DEEPNAME = BIN / "s-deepname"
# deep_ptr<int**...*>: 1,000 levels, demangled, then shortened (symbols.c);
# over_ptr<...>: 1,028 characters, more than libiberty demangles: mangled, cut
DEEP = "void* deep_ptr<...>(...)"
OVER = "_Z8over_ptrI" + "P" * 496 + "..."


@pytest.mark.parametrize("opts", [["--interval=0.1"], []], ids=["interval", "signal"])
def test_the_deepest_report_fits_the_reporter_stack(tmp_path, opts):
    """The reporter thread's first report demangles the deepest name libbfd
    takes (352 KiB of stack measured, reporter.c): periodic or on SIGUSR1,
    it is written and the program runs on to its own exit."""
    p = Running(tmp_path, "s-deepname", opts=opts)
    try:
        p.wait_stdout("ready\n")
        if not opts:
            p.kill(signal.SIGUSR1)
        assert wait_until(lambda: complete_reports(p.stderr()) >= 1, 10), p.stderr()
        assert p.finish() == 0
    finally:
        p.close()
    reps = parse_reports(p.stderr())
    assert len(reps) >= 2
    for rep in reps:
        assert {b.frames[1].func: (b.count, b.size) for b in rep.backtraces
                if b.frames[1].obj == str(DEEPNAME)} == {DEEP: (1, "123 bytes"),
                                                          OVER: (1, "456 bytes")}


def libbfd_mapped(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "/libbfd" in f.read()


def test_libbfd_is_mapped_by_the_first_report(tmp_path):
    """libbfd and its libraries (2.5 MB of address space) are loaded when a
    report first needs names, not at start-up; the exit report, the first
    in most processes, loads it from heaptrace's destructor (test_symbols
    checks its C++ names)."""
    p = Running(tmp_path, "s-deepname")
    try:
        p.wait_stdout("ready\n")
        assert not libbfd_mapped(p.pid)
        p.kill(signal.SIGUSR1)
        assert wait_until(lambda: complete_reports(p.stderr()) == 1, 10), p.stderr()
        assert libbfd_mapped(p.pid)
        assert p.finish() == 0
    finally:
        p.close()
    reps = parse_reports(p.stderr())
    assert len(reps) == 2
    for rep in reps:
        assert DEEP in [b.frames[1].func for b in rep.backtraces]


# ------------------------------------------------------------ ulimit -v

VMLIMIT = BIN / "s-vmlimit"
# What heaptrace may add to the program's address space in this test: its
# start (2.7 MB measured, README) and a first report that loads libbfd
# (2.5 MB) and reads symbols.  Before the reporter's stack and libbfd were
# cut down, the start alone took 12.3 MB, and the 8 MiB malloc failed.
HEADROOM = 8 << 20


def run_limited(tmp_path, argv, limit, signal_first=False):
    """Run argv (s-vmlimit) with RLIMIT_AS at limit; with signal_first, ask
    for a SIGUSR1 report while it waits.  Returns (status, stdout,
    stderr, VmPeak in bytes when it was ready)."""
    def preexec():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    err_path = tmp_path / "stderr"
    with open(err_path, "w") as err:
        p = subprocess.Popen([str(a) for a in argv], env=clean_env(), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=err,
                             preexec_fn=preexec if limit else None)
    try:
        first = p.stdout.readline()
        peak = None
        if first == b"ready\n":
            with open("/proc/%d/status" % p.pid) as f:
                peak = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmPeak:"))
            if signal_first:
                p.send_signal(signal.SIGUSR1)
                assert wait_until(lambda: complete_reports(err_path.read_text()) == 1, 10)
        out, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, (first + out).decode(), err_path.read_text(), peak


def test_tight_address_space_as_untraced(tmp_path):
    """Under a `ulimit -v` the untraced program needs all but HEADROOM of,
    its 8 MiB malloc succeeds traced as untraced, and the SIGUSR1 and exit
    reports are written, the block in both."""
    status, out, err, need = run_limited(tmp_path, [VMLIMIT], 0)
    assert (status, out, err) == (0, "ready\n", "")
    limit = need + HEADROOM
    assert run_limited(tmp_path, [VMLIMIT], limit)[:3] == (0, "ready\n", "")
    status, out, err, _ = run_limited(tmp_path, [HEAPTRACE, VMLIMIT], limit, signal_first=True)
    assert (status, out) == (0, "ready\n"), err
    assert outside_lines(err) == []
    reps = parse_reports(err)
    assert len(reps) == 2
    for rep in reps:
        bt = rep.backtraces[0]
        assert (bt.count, bt.size, bt.frames[1].func) == (1, "8.388 MB", "keep_big")


LIBBFD_RE = re.compile(r"/lib(bfd|z|zstd|sframe)[-.][^/]*$")


def libbfd_size(tmp_path):
    """Address space libbfd and its libraries take in s-vmlimit, from its
    maps after a report: their mappings and libbfd's .bss after them."""
    p = Running(tmp_path, "s-vmlimit", name="bfdsize")
    try:
        p.wait_stdout("ready\n")
        p.kill(signal.SIGUSR1)
        assert wait_until(lambda: complete_reports(p.stderr()) == 1, 10)
        size, after_bfd = 0, False
        with open("/proc/%d/maps" % p.pid) as f:
            for line in f:
                fields = line.split()
                lo, hi = (int(x, 16) for x in fields[0].split("-"))
                path = fields[5] if len(fields) > 5 else ""
                if LIBBFD_RE.search(path) or (after_bfd and not path):
                    size += hi - lo
                after_bfd = "/libbfd" in path
        assert p.finish() == 0
    finally:
        p.close()
    return size


def test_reports_with_the_address_space_used_up(tmp_path):
    """Reports while the program holds all the address space but a little,
    swept across the amount where libbfd loads but can hardly read (libbfd
    2.40 crashes in bfd_check_format() when an allocation fails there):
    each run ends with its own status and two reports of keep_big, named
    (by the loader at worst: debuginfo.c reads a file only with room)."""
    _, _, _, need = run_limited(tmp_path, [VMLIMIT], 0)
    limit = need + (32 << 20)
    bfd = libbfd_size(tmp_path)
    assert bfd > 0
    for leave in range(bfd - (64 << 10), bfd + (448 << 10), 32 << 10):
        status, out, err, _ = run_limited(tmp_path, [HEAPTRACE, VMLIMIT, leave >> 10], limit,
                                          signal_first=True)
        assert (status, out) == (0, "ready\n"), (leave, err)
        reps = parse_reports(err)
        assert len(reps) == 2, (leave, err)
        for rep in reps:
            bt = rep.backtraces[0]
            assert (bt.count, bt.size, bt.frames[1].func) == (1, "8.388 MB", "keep_big"), leave
