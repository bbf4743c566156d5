# SPDX-License-Identifier: GPL-2.0-or-later
"""heaptrace --pid: attaching to a running process (lib/attach.c,
launcher/inject.c).  Each program is started untraced, waits on stdin
while heaptrace attaches, then allocates; its output and exit status stay
its own, and the exit report lists what was allocated after the attach."""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from htlib import (BIN, HEAPTRACE, SEPARATOR, Running, find_bt, fmt_bytes, need, one_report,
                   parse_reports, plural, run, wait_until)


def attach(pid, *opts):
    return run([HEAPTRACE, "--pid=%d" % pid, *opts], timeout=60)


def start(tmp_path, prog, *args, name="run"):
    """prog untraced (no LD_PRELOAD), waiting for its first line on stdin."""
    r = Running(tmp_path, prog, *args, launcher=False, env={"LD_PRELOAD": ""}, name=name)
    r.wait_stdout("ready")
    return r


def go(r):
    r.proc.stdin.write(b"go\n")
    r.proc.stdin.flush()


def traced_after(tmp_path, prog, *args, steps=(), done="done"):
    """Start prog untraced; run each step(r) (heaptrace --pid and the
    like) while it waits; let it go on and end (status 3): the Running."""
    r = start(tmp_path, prog, *args)
    try:
        for step in steps:
            step(r)
        go(r)
        r.wait_stdout(done)
        assert r.finish() == 3
    finally:
        r.close()
    return r


def attached(*opts, message="tracing"):
    """A step: heaptrace --pid=PID [opts], which must succeed."""
    def step(r):
        a = attach(r.pid, *opts)
        assert a.returncode == 0, a.stderr
        assert a.stderr.startswith("heaptrace: %s process %d (" % (message, r.pid)), a.stderr
    return step


def pause(seconds):
    return lambda r: time.sleep(seconds)


def test_attach_reports_what_came_after(tmp_path):
    r = traced_after(tmp_path, "s-attach", steps=[attached()])
    assert r.stdout() == "ready\ndone 1\n"
    rep = one_report(r.stderr())
    site = find_bt(rep, "attach_site")
    assert (site.count, site.size) == (5, fmt_bytes(1500))
    grown = find_bt(rep, "main")  # realloc's new block, of main's call
    assert (grown.count, grown.size) == (1, fmt_bytes(2000))
    assert rep.summary["freed before tracing"] == \
        plural(2, "block") + " allocated before heaptrace attached"
    assert rep.summary["heap traced allocation size"].startswith("3.500 KB in 6 blocks")


def test_attach_with_sample_counts_no_releases_before(tmp_path):
    """--sample's filter lets most releases by without a look-up: those of
    blocks older than the attach cannot be counted, and are not shown."""
    r = traced_after(tmp_path, "s-attach", steps=[attached("--sample=1", "--json")])
    doc = json.loads(r.stderr())
    assert "freed_before_attach" not in doc["summary"]
    assert doc["sampled"]["bytes"] == 1


def test_attach_says_what_it_did(tmp_path):
    r = start(tmp_path, "s-attach")
    try:
        a = attach(r.pid)
        assert (a.returncode, a.stderr) == (
            0, "heaptrace: tracing process %d (s-attach) from now on\n" % r.pid)
        d = attach(r.pid, "--detach")
        assert (d.returncode, d.stderr) == (
            0, "heaptrace: detached from process %d (s-attach)\n" % r.pid)
    finally:
        r.close()


def test_attach_while_eight_threads_allocate(tmp_path):
    # the threads churn before, during and after the attach
    r = traced_after(tmp_path, "s-attach", "threads", steps=[pause(0.2), attached(), pause(0.3)])
    rep = one_report(r.stderr())
    site = find_bt(rep, "thread_site")
    assert (site.count, site.size) == (80, fmt_bytes(80 * 64))
    site = find_bt(rep, "attach_site")
    assert (site.count, site.size) == (5, fmt_bytes(1500))


def test_detach_stops_recording_and_reporting(tmp_path):
    r = traced_after(tmp_path, "s-attach",
                     steps=[attached(), attached("--detach", message="detached from")])
    assert r.stderr() == ""  # no exit report, no output of ours


def test_attach_again_after_detach_starts_over(tmp_path):
    cycle = [attached(), attached("--detach", message="detached from")]
    r = traced_after(tmp_path, "s-attach", steps=3 * cycle + [attached()])
    rep = one_report(r.stderr())
    site = find_bt(rep, "attach_site")
    assert (site.count, site.size) == (5, fmt_bytes(1500))


def test_library_loaded_after_the_attach(tmp_path):
    """A library the process loads after the attach is redirected too (the
    reporter's tick, within 0.1 s): its allocations are reported."""
    plugin = BIN / "libsym-plugin.so"
    r = traced_after(tmp_path, "s-attach", "plugin", str(plugin), steps=[attached()])
    rep = one_report(r.stderr())
    bt = [b for b in rep.section("size").backtraces if "plugin_alloc" in b.funcs]
    assert len(bt) == 1 and (bt[0].count, bt[0].size) == (1, fmt_bytes(333))


def maps_of(pid):
    with open("/proc/%d/maps" % pid) as f:
        return f.read()


def mapped_libs(r):
    """Basenames of heaptrace's libraries that r's process has mapped."""
    return sorted({m for m in re.findall(r"/(libheaptrace[\w-]*\.so)$", maps_of(r.pid), re.M)})


def handler_blocks(rep):
    """Blocks of s-attach signals' handler, whose backtraces go on into
    the code each signal interrupted: one or more of them."""
    bts = [b for b in rep.section("size").backtraces if b.frames[1].func == "handler_site"]
    assert all(b.frames[2].func == "on_alarm" for b in bts)
    return sum(b.count for b in bts)


def test_attach_queues_handlers_events_and_deep_backtraces(tmp_path):
    """libheaptrace-pid.so keeps its queue of a handler's events inside
    hooks and the capture area of a deep --depth out of TLS (compat.h),
    mapped on a thread's first need: the handler's 1,000 blocks are all
    recorded, none missed, and the block from under 20 frames of deep()
    has them all.  The initial-exec library is the one loaded."""
    libs = []
    r = traced_after(tmp_path, "s-attach", "signals",
                     steps=[attached("--depth=30", "--top=0"),
                            lambda r: libs.extend(mapped_libs(r))])
    assert libs == ["libheaptrace-pid.so"]
    rep = one_report(r.stderr())
    assert "missed in signal handlers" not in rep.summary
    assert handler_blocks(rep) == 1000
    deep = find_bt(rep, "deep")
    assert (deep.count, deep.size) == (1, fmt_bytes(777))
    assert [f.func for f in deep.frames[1:22]] == ["deep"] * 21 and not deep.truncated


def test_spill_areas_go_with_their_threads(tmp_path):
    """Each thread's areas out of TLS (a --depth beyond DEPTH maps them)
    go back at its exit: 300 threads one after another leave the tracer's
    memory where 10 do (300 areas kept would be 4.8 MB more)."""
    mem = {}
    for n in (10, 300):
        r = traced_after(tmp_path, "s-attach", "spawn", str(n),
                         steps=[attached("--depth=30")])
        rep = one_report(r.stderr())
        num, unit = rep.summary["tracer memory"].split()
        mem[n] = float(num) * {"KB": 1e3, "MB": 1e6}[unit]
    assert mem[300] - mem[10] < 400e3, mem


def test_attach_where_static_tls_is_taken(tmp_path):
    """A process whose static TLS has no room left for a late library (here
    by glibc's tunables) gets libheaptrace-pid-dyn.so, the same code with
    dynamic TLS; a detach and a new attach keep to it (never two copies)."""
    tunables = "glibc.rtld.nns=1:glibc.rtld.optional_static_tls=0"
    r = Running(tmp_path, "s-attach", "signals", launcher=False,
                env={"LD_PRELOAD": "", "GLIBC_TUNABLES": tunables})
    try:
        r.wait_stdout("ready")
        for opts, message in [(("--depth=30", "--top=0"), "tracing"), (("--detach",), "detached from"),
                              (("--depth=30", "--top=0"), "tracing")]:
            attached(*opts, message=message)(r)
            assert mapped_libs(r) == ["libheaptrace-pid-dyn.so"]
        go(r)
        r.wait_stdout("done")
        assert r.finish() == 3
    finally:
        r.close()
    rep = one_report(r.stderr())
    assert "missed in signal handlers" not in rep.summary
    assert handler_blocks(rep) == 1000
    assert [f.func for f in find_bt(rep, "deep").frames[1:22]] == ["deep"] * 21


@pytest.mark.parametrize("children", [False, True])
def test_attach_to_a_process_that_forks(tmp_path, children):
    """A child forked after the attach inherits the library and its
    redirections: untraced by default, as a started program's children
    are (its 3 blocks in no report), traced with --trace-children, with a
    report of its own that lists them.  Output and statuses unchanged."""
    opts = ["--trace-children"] if children else []
    r = traced_after(tmp_path, "s-attach", "fork", steps=[attached(*opts)])
    assert r.stdout() == "ready\nchild 5\ndone 1\n"
    reps = {rep.sections[0].pid: rep for rep in parse_reports(r.stderr())}
    parent = reps.pop(r.pid)
    assert find_bt(parent, "attach_site").count == 5
    assert all(b.frames[1].func != "child_site" for b in parent.section("size").backtraces)
    if not children:
        assert reps == {}
        return
    (child,) = reps.values()
    site = find_bt(child, "child_site")
    assert (site.count, site.size) == (3, fmt_bytes(2100))
    assert child.summary["heap traced allocation size"] == "%s in 3 blocks" % fmt_bytes(2100)


def mapped_files(r):
    """Full paths of heaptrace's --pid libraries that r's process has mapped
    (deleted since or not)."""
    return sorted(set(re.findall(r"\s(/\S*/libheaptrace-pid[\w-]*\.so)(?: \(deleted\))?$",
                                 maps_of(r.pid), re.M)))


def other_install(tmp_path):
    """Another install: a copy of the build's launcher, its --pid libraries
    beside it (where it looks first)."""
    other = tmp_path / "other"
    other.mkdir()
    for name in ("heaptrace", "libheaptrace-pid.so", "libheaptrace-pid-dyn.so"):
        shutil.copy2(HEAPTRACE.parent / name, other / name)
    return other


def test_later_pid_uses_the_copy_loaded(tmp_path):
    """A launcher of another install (a copy of the build's, with its own
    libraries beside it) detaching from and attaching again to a process
    that the build's launcher attached to loads no second copy: the file
    the process has mapped is the one it uses."""
    other = other_install(tmp_path)
    mine = [str(HEAPTRACE.parent / "libheaptrace-pid.so")]

    def by(launcher, *opts, message="tracing"):
        def step(r):
            a = run([launcher, "--pid=%d" % r.pid, *opts], timeout=60)
            assert a.returncode == 0 and message in a.stderr, a.stderr
            assert mapped_files(r) == mine
        return step

    r = traced_after(tmp_path, "s-attach", steps=[
        by(HEAPTRACE), by(other / "heaptrace", "--detach", message="detached from"),
        by(other / "heaptrace")])
    site = find_bt(one_report(r.stderr()), "attach_site")
    assert (site.count, site.size) == (5, fmt_bytes(1500))


def test_library_deleted_since_is_refused(tmp_path):
    """The copy a process runs, deleted since (a reinstall), is a file no
    launcher can load again: a later --pid or --detach says so and loads
    nothing, and the copy goes on tracing to the process's exit."""
    other = other_install(tmp_path)
    lib = other / "libheaptrace-pid.so"

    def refused(r):
        for opts in ((), ("--detach",)):
            a = attach(r.pid, *opts)
            assert (a.returncode, a.stderr) == (1, (
                "heaptrace: process %d (s-attach) runs heaptrace's library from %s, deleted "
                "since: no heaptrace can reach it (restart the process to trace it anew)\n")
                % (r.pid, lib)), a.stderr
        assert mapped_files(r) == [str(lib)]

    def by_other(r):
        a = run([other / "heaptrace", "--pid=%d" % r.pid], timeout=60)
        assert a.returncode == 0, a.stderr
        lib.unlink()

    r = traced_after(tmp_path, "s-attach", steps=[by_other, refused])
    site = find_bt(one_report(r.stderr()), "attach_site")
    assert (site.count, site.size) == (5, fmt_bytes(1500))


def test_attach_to_cxx(tmp_path):
    r = traced_after(tmp_path, "s-attach-cxx", steps=[attached()])
    assert r.stdout() == "ready\ndone\n"
    rep = one_report(r.stderr())
    node = find_bt(rep, "make_node()")
    assert (node.count, node.size) == (4, fmt_bytes(4 * 48))
    assert node.frames[0].func.startswith("operator new")


def test_attach_to_python(tmp_path):
    """python3 (libpython's calls redirected; a non-PIE program, whose PLT
    stub of malloc ld.so calls for a new thread's TLS): its output and status
    its own, and 10 bytearrays of 100,000 bytes made after the attach are
    there, beside those of two threads started after it."""
    script = ("import sys, threading\nprint('ready', flush=True)\nsys.stdin.readline()\n"
              "keep = [bytearray(100000) for _ in range(10)]\n"
              "more = []\nts = [threading.Thread(target=lambda: more.extend(\n"
              "    bytearray(5000) for _ in range(100))) for _ in range(2)]\n"
              "[t.start() for t in ts]\n[t.join() for t in ts]\n"
              "print('done', len(more), flush=True)\nsys.stdin.read()\nsys.exit(3)\n")
    (tmp_path / "s.py").write_text(script)
    out, err = tmp_path / "py.out", tmp_path / "py.err"
    with open(out, "w") as o, open(err, "w") as e:
        p = subprocess.Popen([need("python3"), str(tmp_path / "s.py")], stdin=subprocess.PIPE,
                             stdout=o, stderr=e, env={"PATH": os.environ["PATH"]})
    try:
        assert wait_until(lambda: "ready" in out.read_text(), 10)
        a = attach(p.pid)
        assert a.returncode == 0, a.stderr
        p.stdin.write(b"go\n")
        p.stdin.flush()
        assert wait_until(lambda: "done" in out.read_text(), 10)
        os.kill(p.pid, signal.SIGUSR1)  # Python frees all at its exit: a dump now
        assert wait_until(lambda: err.read_text().count(SEPARATOR) == 2, 20)
        p.stdin.close()
        assert p.wait(30) == 3
    finally:
        p.kill()
        p.wait()
    assert out.read_text() == "ready\ndone 200\n"
    rep = parse_reports(err.read_text())[0]  # the dump; the exit report may follow
    big = [bt for bt in rep.section("size").backtraces
           if (bt.count, bt.size) == (10, fmt_bytes(10 * 100033))]
    assert big, err.read_text()[:3000]


def test_hundred_attach_detach_cycles_on_a_busy_program(tmp_path):
    rss = {}

    def cycles(r):
        for i in range(100):
            attached()(r)
            attached("--detach", message="detached from")(r)
            if i in (9, 99):
                rss[i] = vm_rss(r.pid)

    r = traced_after(tmp_path, "s-attach", "threads", steps=[cycles, attached()])
    # the tracer's tables are reused: no growth from cycle 10 to 100
    assert rss[99] - rss[9] < 256, rss
    rep = one_report(r.stderr())
    site = find_bt(rep, "thread_site")
    assert (site.count, site.size) == (80, fmt_bytes(80 * 64))


def vm_rss(pid):
    """VmRSS of pid in KiB."""
    with open("/proc/%d/status" % pid) as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_refusals_change_nothing(tmp_path):
    # no such process: bad input
    a = run([HEAPTRACE, "--pid=4000000"])
    assert (a.returncode, a.stderr) == (2, "heaptrace: --pid=4000000: no such process\n")
    a = run([HEAPTRACE, "--pid=abc"])
    assert a.returncode == 2 and a.stderr.startswith("heaptrace: --pid: 'abc' ")
    a = run([HEAPTRACE, "--detach"])
    assert (a.returncode, a.stderr) == (2, "heaptrace: --detach needs --pid=PID\n")
    a = run([HEAPTRACE, "--pid=1", "true"])
    assert a.returncode == 2 and "no PROGRAM ('true')" in a.stderr
    # a process traced already: by strace, and by heaptrace from its start
    strace = need("strace")
    out = tmp_path / "strace.out"
    p = subprocess.Popen([strace, "-o", str(out), str(BIN / "s-attach")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        p.stdout.readline()
        kid = wait_until(lambda: child_of(p.pid), 5)
        a = attach(kid)
        assert a.returncode == 1
        assert re.fullmatch(r"heaptrace: --pid=%d: pid %d \(s-attach\) is already traced by "
                            r"pid %d \(strace\).*\n" % (kid, kid, p.pid), a.stderr), a.stderr
        p.stdin.write(b"go\n")
        p.stdin.close()
        assert p.wait(20) == 3
    finally:
        p.kill()
        p.wait()
    r = Running(tmp_path, "s-attach", name="traced")
    try:
        r.wait_stdout("ready")
        a = attach(r.pid)
        assert (a.returncode, a.stderr) == (
            1, "heaptrace: process %d (s-attach) is traced by heaptrace from its start "
            "already\n" % r.pid)
    finally:
        r.close()
    # a statically linked program: nothing to load a library with
    p = subprocess.Popen([str(BIN / "static-wait")], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"ready\n"
        a = attach(p.pid)
        assert a.returncode == 1
        assert a.stderr == ("heaptrace: --pid=%d: pid %d has no libc.so.6 "
                            "mapped (statically linked or not a glibc program)\n" % (p.pid, p.pid))
        p.stdin.write(b"go\n")
        p.stdin.close()
        assert p.stdout.read() == b"done\n" and p.wait(10) == 3
    finally:
        p.kill()
        p.wait()
    # detach from a process that is not traced
    r = start(tmp_path, "s-attach", name="untraced")
    with ends_untouched(r):
        d = attach(r.pid, "--detach")
        assert d.returncode == 1
        assert d.stderr.endswith("is not traced: nothing to detach\n")


@contextlib.contextmanager
def ends_untouched(r):
    """Around a refusal: r's process has nothing of heaptrace loaded, runs
    on and ends as its own (its output, status 3, nothing on stderr)."""
    try:
        yield
        assert mapped_libs(r) == []
        go(r)
        r.wait_stdout("done 1")
        assert r.finish() == 3
    finally:
        r.close()
    assert r.stderr() == ""


NOBODY = 65534


def test_refuses_a_process_of_another_user(tmp_path):
    """heaptrace run by another user (nobody) may not ptrace root's
    process: one line that says why (and the Yama setting, where Yama is
    active), status 1, nothing loaded, the process's run its own."""
    if os.geteuid() != 0:
        pytest.skip("running heaptrace as another user needs root")
    yama = "/proc/sys/kernel/yama/ptrace_scope"
    if os.path.exists(yama):
        with open(yama) as f:
            why = "kernel.yama.ptrace_scope=%s" % f.read().strip()
    else:
        why = ("Yama is not active, so the target must run as your user and be dumpable, "
               "or run as root")
    refused_as_nobody(tmp_path, [], why)


def refused_as_nobody(tmp_path, prefix, why):
    """heaptrace --pid run as nobody (behind the command prefix) on root's
    s-attach: refused with one line that ends in why."""
    r = start(tmp_path, "s-attach", name="other")
    with ends_untouched(r):
        a = run([*prefix, need("setpriv"), "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                 "--clear-groups", HEAPTRACE, "--pid=%d" % r.pid])
        assert a.returncode == 1
        assert a.stderr == (
            "heaptrace: --pid=%d: permission denied to trace pid %d (s-attach runs as uid 0, "
            "you are uid %d); %s\n" % (r.pid, r.pid, NOBODY, why)), a.stderr


YAMA_WHY = {
    "0": "kernel.yama.ptrace_scope=0 (classic): the target must run as your user and be "
         "dumpable, or run as root",
    "1": "kernel.yama.ptrace_scope=1: only descendants may be traced; run `sudo sysctl "
         "kernel.yama.ptrace_scope=0` or run as root",
    "2": "kernel.yama.ptrace_scope=2: only processes with CAP_SYS_PTRACE may trace; run as root",
    "3": "kernel.yama.ptrace_scope=3: ptrace attach is disabled until reboot",
}


@pytest.mark.parametrize("scope", sorted(YAMA_WHY))
def test_refusal_names_the_yama_setting(tmp_path, scope):
    """Each Yama setting has its own advice.  This machine's kernel may
    have no Yama: the setting is read from a file of the same name, in a
    mount namespace of the launcher's own (a tmpfs over
    /proc/sys/kernel), so only the message is tested, not the kernel's
    rule."""
    if os.geteuid() != 0:
        pytest.skip("a mount namespace and another user need root")
    fake = ("mount -t tmpfs heaptrace-test /proc/sys/kernel && mkdir /proc/sys/kernel/yama && "
            "echo %s > /proc/sys/kernel/yama/ptrace_scope && exec \"$@\"" % scope)
    refused_as_nobody(tmp_path, [need("unshare"), "-m", "sh", "-c", fake, "sh"], YAMA_WHY[scope])


def child_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except OSError:
        return None
