# SPDX-License-Identifier: GPL-2.0-or-later
"""Stress: signal storms while threads allocate, fork while threads
allocate, every way of starting a child, 10,000 short-lived threads, and
exit() from a thread while others allocate.  Each program (tests/s-*.c)
leaves a known set of blocks live, so the final reports are asserted
exactly even though the interleaving of threads is not known; reports
written while threads run are checked for shape and for the bounds the
program guarantees.  Every run is bounded: a hang fails with the threads'
stacks (gdb) in the message."""

import os
import re
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from htlib import (BIN, HEAPTRACE, SEPARATOR, clean_env, files_of, fmt_bytes, one_report,
                   outside_lines, parse_reports, parse_size, plural, roles, stats, wait_until,
                   assert_peaks_within, PEAK_BATCH_BLOCKS, PEAK_BATCH_BYTES, PEAK_BOUND,
                   PEAK_BOUND_KEY, complete_reports, find_bt)

KILL = BIN / "s-kill"
RUN_TIMEOUT = 60  # seconds for any one program; all of them take far less


# ------------------------------------------------------------ helpers

def exact(count, size, peak_count=None, peak_size=None):
    """stats() of count blocks holding size bytes in all (peaks: the same
    unless given)."""
    return (count, count if peak_count is None else peak_count, fmt_bytes(size),
            fmt_bytes(size if peak_size is None else peak_size))


def descendants(pid):
    """The processes below pid (a parent may hang waiting for its child)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    stat = f.read()
            except OSError:
                continue
            kids.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(d))
    res, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            res.append(k)
            todo.append(k)
    return res


def stacks(pid):
    """Every thread's stack of a hung process and of its descendants, for
    the failure message."""
    res = []
    for p in [pid] + descendants(pid)[:3]:
        try:
            r = subprocess.run(["gdb", "-p", str(p), "-batch", "-ex", "thread apply all bt"],
                               capture_output=True, text=True, errors="replace", timeout=60)
            res.append("--- process %d\n%s" % (p, r.stdout[-12000:]))
        except (OSError, subprocess.TimeoutExpired) as e:
            res.append("--- process %d: no stacks: %s" % (p, e))
    return "\n".join(res)


def kill_hung(proc):
    """Kill a hung program and the processes it started (a child stuck
    after fork would outlive the test)."""
    below = descendants(proc.pid)
    proc.kill()
    proc.wait()
    for pid in below:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def wait_or_fail(proc, what, timeout=RUN_TIMEOUT):
    """proc's exit status; a process still running after timeout is a
    hang: fail with its stacks."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        where = stacks(proc.pid)
        kill_hung(proc)
        pytest.fail("%s hung (still running after %ss); its threads:\n%s"
                    % (what, timeout, where))


def start(prog, *args, opts=()):
    """heaptrace [opts] tests/bin/PROG args, stdin and stdout pipes, stderr
    a file that stderr_of() reads (reports go to --outfile)."""
    err = tempfile.TemporaryFile()
    p = subprocess.Popen([str(HEAPTRACE), *opts, str(BIN / prog), *map(str, args)],
                         env=clean_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=err)
    p.err_file = err
    return p


def stderr_of(p):
    p.err_file.seek(0)
    return p.err_file.read().decode(errors="replace")


def read_line(proc, what, timeout=20):
    """The next line the program writes on stdout (a pipe), or fail."""
    box = []
    t = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    if not box:
        where = stacks(proc.pid)
        kill_hung(proc)
        pytest.fail("%s: no line on stdout within %ss; its threads:\n%s" % (what, timeout, where))
    return box[0].decode()


def storm(pid, n, tids=(), may_go=False):
    """s-kill: n signals, SIGUSR1 and SIGUSR2 alternately, to the process
    or to each of tids in turn, as fast as the kernel takes them."""
    argv = [str(KILL)] + (["-g"] if may_go else []) + [str(n), str(pid)] + [str(t) for t in tids]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def storm_done(k, n=None):
    """The sender's count of signals sent; it must not have failed (a
    target that vanished during a storm without -g was a crash)."""
    try:
        out, err = k.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        k.kill()
        k.wait()
        pytest.fail("s-kill hung")
    assert k.returncode == 0 and err == "", "s-kill failed: %s" % err
    m = re.fullmatch(r"sent (\d+)\n", out)
    assert m, out
    if n is not None:
        assert int(m.group(1)) == n
    return int(m.group(1))


def complete_prefix(text):
    """text up to the end of its last complete report (a report may be
    being written)."""
    lines = text.splitlines(keepends=True)
    seps = [i for i, line in enumerate(lines) if line == SEPARATOR + "\n"]
    if len(seps) % 2:
        seps.pop()
    return "".join(lines[:seps[-1] + 1]) if seps else ""


def dump_keys(path):
    """The sort keys of the complete single-section reports in path."""
    if not path.exists():
        return []
    return [r.sections[0].key for r in parse_reports(complete_prefix(path.read_text()))
            if len(r.sections) == 1]


def check_listing(rep, sec):
    """What holds for any report, even one taken while threads allocate:
    ranks 1..n, the summary's totals are those of the n backtraces listed
    (every report here is written with --top=0), the order is the key's,
    and no backtrace holds more than its peaks."""
    bts = sec.backtraces
    assert [b.rank for b in bts] == list(range(1, len(bts) + 1))
    assert rep.summary["heap traced num of backtrace"] == str(len(bts))
    sizes = [parse_size(b.size) for b in bts]
    assert rep.summary["heap traced allocation size"] == \
        "%s in %s" % (fmt_bytes(sum(sizes)), plural(sum(b.count for b in bts), "block"))
    for b, size in zip(bts, sizes):
        assert 1 <= b.count <= b.peak_count, b
        assert size <= parse_size(b.peak_size), b
    if sec.key == "size":
        order = [(s, b.count) for b, s in zip(bts, sizes)]
    elif sec.key == "count":
        order = [(b.count, s) for b, s in zip(bts, sizes)]
    else:
        raise AssertionError("unexpected key %s" % sec.key)
    assert order == sorted(order, reverse=True), "not sorted by %s: %r" % (sec.key, order)


def by_site(sec, exe):
    """{frame-1 function: [backtrace, ...]} of a section; every backtrace
    must come straight from the program (frame 0 a hook, frame 1 in exe)."""
    res = {}
    for b in sec.backtraces:
        assert b.frames[0].obj.endswith("/libheaptrace.so"), b
        assert len(b.frames) > 1 and b.frames[1].obj == str(exe), \
            "backtrace not from the program: %r" % b
        res.setdefault(b.frames[1].func, []).append(b)
    return res


def calls_since_start(rep):
    m = re.fullmatch(r"(\d+) calls, .*", rep.summary["allocations since start"])
    assert m, rep.summary
    return int(m.group(1))


# ------------------------------------------------------------ signal storms

SIGLOAD = BIN / "s-sigload"
RING_SITES = {"ring_malloc", "ring_calloc", "ring_realloc"}
WORKERS = 4
RING_MAX = 64 + WORKERS  # the ring, and one block in hand per worker
SIGLOAD_OPTS = ["--top=0", "--sort=size,count"]  # the exit report: 2 sections
STORMS = 10


def check_sigload_dump(rep, pid):
    """A dump taken while the workers churn: well-formed, the program's
    fixed blocks exact, the ring within its bounds."""
    assert len(rep.sections) == 1
    sec = rep.sections[0]
    assert (sec.pid, sec.comm) == (pid, "s-sigload")
    check_listing(rep, sec)
    sites = by_site(sec, SIGLOAD)
    assert set(sites) <= {"leak_before", "thread_leak", "leak_after"} | RING_SITES, sites.keys()
    assert [stats(b) for b in sites["leak_before"]] == [exact(1, 100000)]
    assert [stats(b) for b in sites["thread_leak"]] == [exact(4, 4006)]
    # a dump asked for during the storm may come after main stopped the
    # workers: then the ring is empty
    assert [stats(b) for b in sites.get("leak_after", [])] in ([], [exact(1, 3)])
    ring = [b for f in RING_SITES for b in sites.get(f, [])]
    assert all(len(sites.get(f, [])) <= 1 for f in RING_SITES)
    if "leak_after" in sites:
        assert ring == []
    assert sum(b.count for b in ring) <= RING_MAX
    for b in ring:  # the workers and main record the ring's events
        assert b.peak_count <= RING_MAX + (WORKERS + 1) * PEAK_BATCH_BLOCKS, b
        assert parse_size(b.peak_size) <= RING_MAX * 1024 + (WORKERS + 1) * PEAK_BATCH_BYTES, b


@pytest.mark.parametrize("aim", ["process", "threads"])
def test_signal_storm_while_threads_allocate(tmp_path, aim):
    """STORMS storms of 1,000 SIGUSR1/SIGUSR2 (to the process, or aimed at
    each of its threads in turn with tgkill), each answered by dumps, while
    4 threads allocate and free across threads: every dump complete and
    right, no hang, no crash, the exit status and the exit report exact."""
    out = tmp_path / "heap.out"
    p = start("s-sigload", opts=SIGLOAD_OPTS + ["--outfile=%s" % out])
    try:
        line = read_line(p, "s-sigload")
        m = re.fullmatch(r"ready (\d+) (\d+) (\d+) (\d+) (\d+)\n", line)
        assert m, line
        pid, tids = int(m.group(1)), [int(g) for g in m.groups()[1:]]
        assert pid == p.pid
        for _ in range(STORMS):
            before = dump_keys(out)
            k = storm(pid, 1000, tids=[pid] + tids if aim == "threads" else ())
            storm_done(k, 1000)
            # the last SIGUSR1 and SIGUSR2 are each answered by a dump
            ok = wait_until(lambda: all(dump_keys(out).count(key) > before.count(key)
                                        for key in ("size", "count")), 20)
            if not ok:
                pytest.fail("no new dump of each kind within 20s of a storm: %r; threads:\n%s"
                            % (dump_keys(out), stacks(p.pid)))
        p.stdin.write(b"x")
        p.stdin.close()
        status = wait_or_fail(p, "s-sigload after the storm")
        stdout, stderr = p.stdout.read().decode(), stderr_of(p)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert status == 5, "s-sigload ended with %s: %s" % (status, stderr)
    assert stdout == "bye\n"
    assert stderr == ""
    assert files_of(out) == ["heap.out"]
    text = out.read_text()
    assert outside_lines(text) == []
    reps = parse_reports(text)
    *dumps, at_exit = reps
    assert 2 * STORMS <= len(dumps) <= 1000 * STORMS
    assert {"size", "count"} <= {d.sections[0].key for d in dumps if d.sections}
    for d in dumps:
        check_sigload_dump(d, pid)
    calls = [calls_since_start(d) for d in dumps]
    assert calls == sorted(calls), "allocations since start went down"

    assert [(s.key, s.pid, s.comm) for s in at_exit.sections] == \
        [("size", pid, "s-sigload"), ("count", pid, "s-sigload")]
    for sec in at_exit.sections:
        check_listing(at_exit, sec)
        sites = by_site(sec, SIGLOAD)
        assert {f: [stats(b) for b in bs] for f, bs in sites.items()} == {
            "leak_before": [exact(1, 100000)],
            "thread_leak": [exact(4, 4006)],
            "leak_after": [exact(1, 3)],
        }
    assert at_exit.summary["heap traced allocation size"] == "104.009 KB in 6 blocks"
    assert calls_since_start(at_exit) >= calls[-1]


# ------------------------------------------------------------ exit() from a thread

EXITLOAD = BIN / "s-exitload"
SITES64 = sorted([exact(1, k + 1) for k in range(64)], key=lambda s: parse_size(s[2]),
                 reverse=True)


def check_exitload_report(rep, pid, keys=("size",)):
    """The exit report of s-exitload: what the program knows is live is
    there exactly; the churning workers hold at most one block each."""
    assert [(s.key, s.pid, s.comm) for s in rep.sections] == \
        [(k, pid, "s-exitload") for k in keys]
    for sec in rep.sections:
        check_listing(rep, sec)
        sites = by_site(sec, EXITLOAD)
        assert set(sites) <= {"leak_known", "leak_site", "worker_leak", "worker_churn"}
        assert [stats(b) for b in sites["leak_known"]] == [exact(1, 4242)]
        assert [stats(b) for b in sites["worker_leak"]] == [exact(4, 2006)]
        assert sorted((stats(b) for b in sites["leak_site"]),
                      key=lambda s: parse_size(s[2]), reverse=True) == SITES64
        assert sum(b.count for b in sites.get("worker_churn", [])) <= 4


def test_exit_from_a_thread_while_others_allocate(tmp_path):
    """exit(3) from a thread while 4 threads allocate and free in a loop:
    the report is written, whole and right, and the status is 3.  A few
    runs, as the moment of exit falls differently each time."""
    for run in range(5):
        out = tmp_path / ("heap%d.out" % run)
        p = start("s-exitload", opts=["--top=0", "--outfile=%s" % out])
        status = wait_or_fail(p, "s-exitload")
        stdout, stderr = p.stdout.read().decode(), stderr_of(p)
        assert status == 3, "run %d ended with %s: %s" % (run, status, stderr)
        assert stdout == "ready %d\n" % p.pid
        assert stderr == ""
        assert out.exists(), "run %d: no exit report" % run
        text = out.read_text()
        assert outside_lines(text) == []
        check_exitload_report(one_report(text), p.pid)


def test_exit_during_a_signal_storm(tmp_path):
    """A program exits while dumps are asked for as fast as possible, and
    its exit takes a while after heaptrace's exit report (libc flushes a
    1 MiB stdout buffer to a reader that is slow).  The file holds only
    complete reports, and the exit report (two sections: --sort=size,count)
    is the last: a dump begun after it would describe a process whose
    destructors have run, and is cut short when the process ends."""
    out = tmp_path / "heap.out"
    p = start("s-exitload", "storm", opts=["--top=0", "--sort=size,count",
                                           "--outfile=%s" % out])
    k = None
    try:
        line = read_line(p, "s-exitload storm")
        assert line == "ready %d\n" % p.pid
        k = storm(p.pid, 10**7, may_go=True)
        assert wait_until(lambda: len(dump_keys(out)) >= 2, 20), "no dumps during the storm"
        p.stdin.write(b"x")
        p.stdin.close()
        got = []

        def slow_reader():  # 64 KiB every 10 ms
            while True:
                chunk = p.stdout.read1(65536)
                if not chunk:
                    break
                got.append(chunk)
                time.sleep(0.01)
        reader = threading.Thread(target=slow_reader, daemon=True)
        reader.start()
        status = wait_or_fail(p, "s-exitload storm")
        reader.join(RUN_TIMEOUT)
        stderr = stderr_of(p)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        if k is not None:
            sent = storm_done(k)
    assert status == 3, "s-exitload ended with %s: %s" % (status, stderr)
    assert b"".join(got) == ("x" * 999 + "\n").encode() * 1000
    assert stderr == ""
    assert sent >= 2
    text = out.read_text()
    assert outside_lines(text) == []
    assert text.endswith(SEPARATOR + "\n"), "the file ends inside a report: %r" % text[-300:]
    reps = parse_reports(text)
    shapes = [[s.key for s in r.sections] for r in reps]
    assert ["size", "count"] in shapes, "no exit report"
    after = len(shapes) - 1 - shapes.index(["size", "count"])
    assert after == 0, "%d dumps written after the exit report" % after
    assert all(len(s) == 1 for s in shapes[:-1])
    check_exitload_report(reps[-1], p.pid, keys=("size", "count"))


# ------------------------------------------------------------ fork

FORKLOAD = BIN / "s-forkload"
NFORKS = 500                # untraced children: the fork handlers under load
NTRACED, DUMP_EVERY = 100, 50   # traced children: each one's report (symbolized)


def check_forkload_report(rep, pid, child=None, key="size"):
    """The exit report of s-forkload's parent (child=None), or a report of
    child i (its dumps are taken when it has done all it does)."""
    assert [(s.key, s.pid, s.comm) for s in rep.sections] == [(key, pid, "s-forkload")]
    sec = rep.sections[0]
    check_listing(rep, sec)
    sites = {f: [stats(b) for b in bs] for f, bs in by_site(sec, FORKLOAD).items()}
    churn = sites.pop("churn_alloc", [])
    want = {
        "leak_parent": [exact(1, 300)],
        "worker_leak": [exact(4, 8006)],
    }
    if child is None:
        want["shared_alloc"] = [exact(7, 350, 10, 500)]
        assert churn == []
    else:
        want["shared_alloc"] = [exact(2, 100, 10, 500)]
        want["child_realloc"] = [exact(2, 160)]
        want["child_leak"] = [exact(1, 1000 + child)]
        want["child_calloc_leak"] = [exact(2, 126)]
        # only what the workers had in hand at the fork
        assert len(churn) <= 1 and sum(c[0] for c in churn) <= 4, churn
    assert sites == want


def test_fork_while_threads_allocate(tmp_path):
    """500 forks while 4 threads allocate: no deadlock; every child, untraced
    (no --trace-children), frees and moves blocks the parent allocated and
    exits 0, and writes no report; the parent's report is exact."""
    out = tmp_path / "heap.out"
    p = start("s-forkload", NFORKS, 0, opts=["--top=0", "--outfile=%s" % out])
    status = wait_or_fail(p, "s-forkload")
    stdout, stderr = p.stdout.read().decode(), stderr_of(p)
    assert status == 0, "s-forkload ended with %s: %s" % (status, stderr)
    assert stdout == "forked %d failed 0\n" % NFORKS
    assert stderr == ""
    assert files_of(out) == ["heap.out"]
    check_forkload_report(one_report(out.read_text()), p.pid)


def test_traced_children_while_threads_allocate(tmp_path):
    """100 forks while 4 threads allocate: no deadlock; every child traces
    its own copy of the heap (it frees and moves blocks the parent
    allocated, and leaks its own) and writes its own exact report to
    FILE.PID (--trace-children); the parent's report is exact too.  Every 50th child dumps
    on SIGUSR1 and SIGUSR2 before it exits: its own reporter thread runs."""
    out = tmp_path / "heap.out"
    p = start("s-forkload", NTRACED, DUMP_EVERY,
              opts=["--top=0", "--outfile=%s" % out, "--trace-children"])
    status = wait_or_fail(p, "s-forkload")
    stdout, stderr = p.stdout.read().decode(), stderr_of(p)
    assert status == 0, "s-forkload ended with %s: %s" % (status, stderr)
    assert stdout == "forked %d failed 0\n" % NTRACED
    assert stderr == ""
    names = files_of(out)
    assert len(names) == NTRACED + 1, "%d report files for %d processes" % (len(names), NTRACED + 1)
    check_forkload_report(one_report(out.read_text()), p.pid)
    seen = set()
    for name in names:
        if name == "heap.out":
            continue
        m = re.fullmatch(r"heap\.out\.(\d+)", name)
        assert m, "unexpected file %s" % name
        text = (tmp_path / name).read_text()
        assert outside_lines(text) == [], name
        reps = parse_reports(text)
        leak = [b for b in reps[-1].sections[0].backtraces if b.frames[1].func == "child_leak"]
        assert len(leak) == 1, name
        i = parse_size(leak[0].size) - 1000
        assert 0 <= i < NTRACED and i not in seen, name
        seen.add(i)
        keys = ["size", "count", "size"] if i % DUMP_EVERY == 0 else ["size"]
        assert [[s.key for s in r.sections] for r in reps] == [[k] for k in keys], name
        for rep, key in zip(reps, keys):
            check_forkload_report(rep, int(m.group(1)), child=i, key=key)
    assert seen == set(range(NTRACED))


SPAWN = BIN / "s-spawn"


def spawn_sites(rep):
    sec = rep.sections[0]
    check_listing(rep, sec)
    return {f: [stats(b) for b in bs] for f, bs in by_site(sec, SPAWN).items()}


def test_children_of_every_kind_report_separately(tmp_path):
    """With --trace-children, fork+exec, system(), popen() and posix_spawn()
    children are traced and each writes its own report to FILE.PID with its own leak; the
    parent's report holds only its own."""
    out = tmp_path / "heap.out"
    p = start("s-spawn", "all", opts=["--top=0", "--outfile=%s" % out, "--trace-children"])
    status = wait_or_fail(p, "s-spawn all")
    stdout, stderr = p.stdout.read().decode(), stderr_of(p)
    assert status == 0, "s-spawn ended with %s: %s" % (status, stderr)
    assert stderr == ""
    pids = roles(stdout)
    assert sorted(pids) == ["leaf-fork", "leaf-popen", "leaf-spawn", "leaf-system", "parent"]
    assert pids["parent"] == p.pid
    parent = one_report(out.read_text())
    assert [(s.key, s.pid, s.comm) for s in parent.sections] == [("size", p.pid, "s-spawn")]
    assert spawn_sites(parent) == {"parent_leak": [exact(1, 300)]}
    sizes = {"fork": 101, "system": 102, "popen": 103, "spawn": 104}
    leaves = {"heap.out.%d" % pids["leaf-" + tag]: (tag, pids["leaf-" + tag]) for tag in sizes}
    assert len(leaves) == 4
    names = files_of(out)
    for name, (tag, pid) in leaves.items():
        assert name in names, "no report from the %s child (%s): %s" % (tag, name, names)
        rep = one_report((tmp_path / name).read_text())
        assert [(s.key, s.pid, s.comm) for s in rep.sections] == [("size", pid, "s-spawn")]
        assert spawn_sites(rep) == {"leaf_leak": [exact(1, sizes[tag])]}, tag
    # the shells of system() and popen() are traced too: whatever they
    # report is theirs
    for name in set(names) - set(leaves) - {"heap.out"}:
        rep = one_report((tmp_path / name).read_text())
        assert rep.sections[0].comm == "sh", name


def test_exec_of_a_static_program_is_harmless(tmp_path):
    """A child that only execs a static program, which LD_PRELOAD cannot
    reach: it runs normally (it sees LD_PRELOAD, ignores it) and writes no
    report; the parent's report is right."""
    exe = BIN / "static-prog"
    out = tmp_path / "heap.out"
    p = start("s-spawn", "static", exe, opts=["--top=0", "--outfile=%s" % out])
    status = wait_or_fail(p, "s-spawn static")
    stdout, stderr = p.stdout.read().decode(), stderr_of(p)
    assert status == 0, "s-spawn static ended with %s: %s" % (status, stderr)
    assert stderr == ""
    lines = stdout.splitlines()
    assert lines[0] == "parent %d" % p.pid
    m = re.fullmatch(r"static (\d+) preload", lines[1])
    assert m and len(lines) == 2 and int(m.group(1)) != p.pid, stdout
    assert files_of(out) == ["heap.out"]
    parent = one_report(out.read_text())
    assert [(s.key, s.pid) for s in parent.sections] == [("size", p.pid)]
    assert spawn_sites(parent) == {"parent_leak": [exact(1, 300)]}


# ------------------------------------------------------------ threads

THREADCHURN = BIN / "s-threadchurn"
TOTAL, BATCH = 10000, 16


def threadchurn_expected():
    """thread_block's (live blocks, live bytes, peak blocks, peak bytes) as
    s-threadchurn describes them."""
    def size(i):
        return 16 * (1 + i % 7)
    peak_count = peak_bytes = 0
    for base in range(0, TOTAL, BATCH):
        # at this batch's barrier: earlier i % 4 == 0 blocks, the previous
        # batch's i % 4 == 2 blocks, the whole batch
        live = [i for i in range(base) if i % 4 == 0]
        live += [i for i in range(base - BATCH, base) if i >= 0 and i % 4 == 2]
        live += list(range(base, base + BATCH))
        peak_count = max(peak_count, len(live))
        peak_bytes = max(peak_bytes, sum(size(i) for i in live))
    kept = [i for i in range(TOTAL) if i % 4 == 0]
    return len(kept), sum(size(i) for i in kept), peak_count, peak_bytes


def test_ten_thousand_short_lived_threads(tmp_path):
    """10,000 threads, 16 at a time, allocating, freeing blocks of other
    threads (running or exited) and exiting: the blocks still live after
    their thread exited are reported exactly, with the peak within its
    bound for threads (16 KiB and 32 blocks per thread); the
    thread control blocks glibc keeps are not listed, only summed up."""
    out = tmp_path / "heap.out"
    p = start("s-threadchurn", opts=["--top=0", "--outfile=%s" % out])
    status = wait_or_fail(p, "s-threadchurn")
    stdout, stderr = p.stdout.read().decode(), stderr_of(p)
    assert status == 0, "s-threadchurn ended with %s: %s" % (status, stderr)
    assert stdout == "" and stderr == ""
    rep = one_report(out.read_text())
    assert [(s.key, s.pid, s.comm) for s in rep.sections] == \
        [("size", p.pid, "s-threadchurn")]
    check_listing(rep, rep.sections[0])
    sites = by_site(rep.sections[0], THREADCHURN)
    count, size, peak_count, peak_size = threadchurn_expected()
    assert list(sites) == ["thread_block"] and len(sites["thread_block"]) == 1
    b = sites["thread_block"][0]
    assert (b.count, b.size) == (count, fmt_bytes(size))
    # the peaks: BATCH threads at a time share thread_block, and main
    assert_peaks_within(b, peak_count, peak_size, threads=BATCH + 1)
    # glibc caches a few stacks of finished threads, with their TLS blocks:
    # a handful, however many threads ran
    m = re.fullmatch(r"(.*) in (\d+) blocks \(thread control blocks\)",
                     rep.summary.get("kept by the C runtime", ""))
    assert m, rep.summary
    assert 1 <= int(m.group(2)) <= 2 * BATCH


# ------------------------------------------------------------ dumps of a growing heap

GROW = BIN / "s-grow"


SAMESITE = BIN / "s-samesite"


@pytest.mark.parametrize("threads", [2, 8])
def test_same_site_from_threads(tmp_path, threads):
    """Threads allocating from one call site at once (s-samesite), with a
    dump while they hold their blocks (their changes in their tables, not
    yet in the backtrace's counters) and the exit report: counts, bytes and
    calls exact, summed over the threads; the shared backtraces' peaks
    within a batch per thread, and the summary says so; a backtrace one
    thread alone allocates from while the others run, exact."""
    out = tmp_path / "heap.out"
    p = start("s-samesite", threads, opts=["--top=0", "--sort=calls", "--signals=calls:USR1",
                                           "--outfile=%s" % out])
    try:
        assert read_line(p, "s-samesite") == "held %d\n" % p.pid
        os.kill(p.pid, signal.SIGUSR1)
        assert wait_until(lambda: out.exists() and complete_reports(out.read_text()) == 1, 20)
        p.stdin.write(b"go\n")
        p.stdin.close()
        status = wait_or_fail(p, "s-samesite")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert status == 0 and stderr_of(p) == ""
    held, at_exit = parse_reports(out.read_text())
    sizes = sum(32 + t for t in range(threads))
    for rep, live in ((held, 500), (at_exit, 100)):
        assert [s.key for s in rep.sections] == ["calls"]
        same = find_bt(rep, "same_site", key="calls")
        assert (same.count, same.size) == (live * threads, fmt_bytes(live * sizes))
        assert (same.calls, same.calls_size) == (500 * threads, fmt_bytes(500 * sizes))
        assert_peaks_within(same, 500 * threads, 500 * sizes, threads)
        temp = find_bt(rep, "temporary_site", key="calls")
        assert (temp.count, temp.calls, temp.calls_size) == \
            (0, 500 * threads, fmt_bytes(4000 * threads))
        assert stats(find_bt(rep, "solo_site", key="calls")) == \
            (40, 100, "960 bytes", fmt_bytes(2400))
        assert rep.summary[PEAK_BOUND_KEY] == PEAK_BOUND


def test_dumps_while_a_backtrace_sets_new_peaks(tmp_path):
    """Dumps asked for as fast as possible while 2 threads allocate from
    one backtrace without freeing, so that each allocation sets a new peak
    (twice, with two backtraces).  Every dump must still be consistent
    (count and size within their peaks, as check_listing requires of any
    report) and see the growth in order."""
    out = tmp_path / "heap.out"
    p = start("s-grow", opts=["--top=0", "--outfile=%s" % out])
    k = None
    try:
        line = read_line(p, "s-grow")
        assert line == "ready %d\n" % p.pid
        k = subprocess.Popen([str(KILL), "-s", str(10**9), str(p.pid)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        p.stdin.write(b"go\n")
        p.stdin.flush()
        assert read_line(p, "s-grow", timeout=RUN_TIMEOUT) == "grown\n"
        sent = storm_done(k)  # closes its stdin: the storm ends
        p.stdin.close()
        status = wait_or_fail(p, "s-grow")
        stderr = stderr_of(p)
    finally:
        for q in (p, k):
            if q is not None and q.poll() is None:
                q.kill()
                q.wait()
    assert status == 0, "s-grow ended with %s: %s" % (status, stderr)
    assert p.stdout.read() == b""
    assert stderr == ""
    text = out.read_text()
    assert outside_lines(text) == []
    *dumps, at_exit = parse_reports(text)
    assert 1 <= len(dumps) <= sent
    seen = {}  # the first and the second growth: [blocks in each dump]
    for i, d in enumerate(dumps):
        assert len(d.sections) == 1 and d.sections[0].pid == p.pid
        sites = by_site(d.sections[0], GROW)
        assert set(sites) <= {"grow_block"}
        counts = {b.frames[2].func_off: b.count for b in sites.get("grow_block", [])}
        assert all(b.frames[2].func == "grower" for b in sites.get("grow_block", []))
        for off, n in counts.items():
            assert n <= 900000
            seen.setdefault(off, [0] * i)
        for off in seen:
            seen[off].append(counts.get(off, 0))
    assert len(seen) == 2, "expected the two growths' backtraces: %r" % seen.keys()
    for counts in seen.values():
        # up while the threads grow, then only down
        top = counts.index(max(counts))
        assert counts[:top] == sorted(counts[:top]), "a later dump saw fewer blocks while growing"
        assert counts[top:] == sorted(counts[top:], reverse=True)
    bad = []
    for d in dumps:
        try:
            check_listing(d, d.sections[0])
        except AssertionError as e:
            bad.append(str(e).splitlines()[0])
    assert bad == [], "%d of %d dumps inconsistent, e.g. %s" % (len(bad), len(dumps), bad[:3])
    assert [(s.key, s.pid) for s in at_exit.sections] == [("size", p.pid)]
    check_listing(at_exit, at_exit.sections[0])
    sites = by_site(at_exit.sections[0], GROW)
    assert set(sites) == {"leak_marker", "grow_block"}
    assert [stats(b) for b in sites["leak_marker"]] == [exact(1, 77)]
    assert [(b.count, b.size) for b in sites["grow_block"]] == [(1, "1 byte")] * 2
    for b in sites["grow_block"]:  # two threads allocate, main frees too
        assert_peaks_within(b, 900000, 900000, threads=3)
