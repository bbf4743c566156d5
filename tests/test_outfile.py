# SPDX-License-Identifier: GPL-2.0-or-later
"""--outfile FILE: the traced process writes FILE, every other process of
its tree FILE.PID; a process's first report truncates its file, later ones
append; a file that cannot be written costs one warning and the report goes
to stderr, whole, the program's status untouched.  A relative name, even
preloaded by hand, is the start directory's."""

import errno
import fcntl
import json
import os
import re
import resource
import signal
import socket
import subprocess
import time

import pytest

from htlib import (BIN, LIB, SEPARATOR, Running, clean_env, complete_reports, files_of, one_report,
                   outside_lines, parse_reports, preload, roles, trace, trace_pid, wait_until)

FORK = BIN / "s-fork"
PAGE = 4096
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Python 3.10 names it


def leak_sites(rep):
    """{function: size} of the program's own sites (frame 1 in s-fork)."""
    return {b.frames[1].func: b.size for b in rep.sections[0].backtraces
            if b.frames[1].obj == str(FORK)}


def test_report_goes_to_the_file(tmp_path):
    out = tmp_path / "report.txt"
    r = trace_pid("s-malloc", opts=["--outfile=%s" % out])
    assert r.returncode == 0
    assert r.stderr == "" and r.stdout == ""
    assert files_of(out) == ["report.txt"]
    text = out.read_text()
    assert text.startswith(SEPARATOR + "\n") and text.endswith(SEPARATOR + "\n")
    rep = one_report(text)
    assert [(s.key, s.pid, s.comm) for s in rep.sections] == [("size", r.pid, "s-malloc")]
    assert [b.frames[1].func for b in rep.backtraces] == ["leak_big", "leak_three"]


def test_relative_outfile_is_made_absolute(tmp_path):
    # the launcher resolves FILE against its own working directory
    r = trace("s-malloc", opts=["--outfile=rel.txt"], cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    one_report((tmp_path / "rel.txt").read_text())


def test_first_report_truncates_an_existing_file(tmp_path):
    out = tmp_path / "report.txt"
    out.write_text("stale line that is not a report\n" * 500)
    r = trace("s-malloc", opts=["--outfile=%s" % out])
    assert r.returncode == 0 and r.stderr == ""
    text = out.read_text()
    assert "stale" not in text
    assert text.startswith(SEPARATOR + "\n")
    one_report(text)


def test_no_file_when_nothing_is_live(tmp_path):
    out = tmp_path / "report.txt"
    r = trace("s-freeall", opts=["--outfile=%s" % out])
    assert r.returncode == 0 and r.stderr == ""
    assert files_of(out) == []


@pytest.mark.parametrize("mode,child_role,child_sites", [
    ("fork", "child", {"parent_leak": "300 bytes", "child_leak": "200 bytes"}),
    ("exec", "leaf", {"leaf_leak": "123 bytes"}),
    ("system", "leaf", {"leaf_leak": "123 bytes"}),
])
def test_children_write_file_dot_pid(tmp_path, mode, child_role, child_sites):
    out = tmp_path / "heap.out"
    r = trace_pid("s-fork", mode, opts=["--outfile=%s" % out, "--trace-children"])
    assert r.returncode == 0
    assert r.stderr == ""
    pids = roles(r.stdout)
    assert pids["parent"] == r.pid
    child = pids[child_role]
    assert child != r.pid

    names = files_of(out)
    assert "heap.out" in names and "heap.out.%d" % child in names
    for name in names:
        m = re.fullmatch(r"heap\.out(?:\.(\d+))?", name)
        assert m, "unexpected file %s" % name
        pid = int(m.group(1)) if m.group(1) else r.pid
        text = (tmp_path / name).read_text()
        assert text.startswith(SEPARATOR + "\n") and text.endswith(SEPARATOR + "\n")
        reps = parse_reports(text)
        assert len(reps) == 1, "%s holds %d reports" % (name, len(reps))
        assert [s.pid for s in reps[0].sections] == [pid], name

    parent = one_report((tmp_path / "heap.out").read_text())
    assert parent.sections[0].comm == "s-fork"
    assert leak_sites(parent) == {"parent_leak": "300 bytes"}
    kid = one_report((tmp_path / ("heap.out.%d" % child)).read_text())
    assert leak_sites(kid) == child_sites


def test_signal_then_exit_appends(tmp_path):
    out = tmp_path / "heap.out"
    out.write_text("stale\n" * 10000)
    p = Running(tmp_path, "s-signal", opts=["--outfile=%s" % out])
    try:
        p.wait_stdout("ready\n")
        p.kill(signal.SIGUSR1)
        assert wait_until(lambda: complete_reports(out.read_text()) == 1, 5)
        text = out.read_text()
        assert "stale" not in text, "the first report must truncate the file"
        p.kill(signal.SIGUSR2)
        assert wait_until(lambda: complete_reports(out.read_text()) == 2, 5)
        assert p.finish(b"x") == 7
    finally:
        p.close()
    assert p.stderr() == ""
    assert p.stdout() == "ready\nbye\n"
    text = out.read_text()
    assert outside_lines(text) == []
    reps = parse_reports(text)
    assert [[(s.key, s.pid) for s in r.sections] for r in reps] == \
        [[("size", p.pid)], [("count", p.pid)], [("size", p.pid)]]
    assert files_of(out) == ["heap.out"]


def test_forked_child_starts_its_own_file_after_parent_dumped(tmp_path):
    # the parent has written FILE (so it appends from now on) when it forks;
    # the child's first report must still truncate FILE.CHILD, into which
    # the child wrote "stale" itself
    out = tmp_path / "heap.out"
    p = Running(tmp_path, "s-fork", "dump-fork", str(out),
                opts=["--outfile=%s" % out, "--trace-children"])
    try:
        p.wait_stdout("ready\n")
        p.kill(signal.SIGUSR1)
        assert wait_until(lambda: complete_reports(out.read_text()) == 1
                          if out.exists() else False, 5)
        assert p.finish(b"go") == 0
    finally:
        p.close()
    assert p.stderr() == ""
    pids = roles(p.stdout().replace("ready\n", ""))
    child = pids["child"]
    assert files_of(out) == ["heap.out", "heap.out.%d" % child]
    reps = parse_reports(out.read_text())
    assert [[(s.key, s.pid) for s in r.sections] for r in reps] == \
        [[("size", p.pid)], [("size", p.pid)]]
    assert all(leak_sites(r) == {"parent_leak": "300 bytes"} for r in reps)
    text = (tmp_path / ("heap.out.%d" % child)).read_text()
    assert "stale" not in text
    kid = one_report(text)
    assert kid.sections[0].pid == child
    assert leak_sites(kid) == {"parent_leak": "300 bytes", "child_leak": "200 bytes"}
    # growth is per process: the parent's second report has it, the
    # child's first has none (the parent's dump is not the child's)
    assert all(b.growth_size is not None for b in reps[1].backtraces)
    assert all(b.growth_size is None for b in kid.backtraces)


# ------------------------------------------------------------ unwritable files

def check_fallback(stderr, path):
    """One warning line naming path, then the whole report, on stderr."""
    warn = outside_lines(stderr)
    assert len(warn) == 1, "expected one warning line, got %r" % warn
    assert warn[0].startswith("heaptrace: ")
    assert str(path) in warn[0]
    rep = one_report(stderr)
    assert rep.summary["heap traced num of backtrace"] == "12"
    return rep


def unwritable(tmp_path, kind):
    if kind == "missing-dir":
        return tmp_path / "no" / "such" / "dir" / "heap.out"
    if kind == "dev-full":
        return "/dev/full"
    if kind == "directory":
        d = tmp_path / "a-directory"
        d.mkdir()
        return d
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["missing-dir", "dev-full", "directory"])
def test_unwritable_outfile_falls_back_to_stderr(tmp_path, kind):
    path = unwritable(tmp_path, kind)
    r = trace_pid("s-many", launcher=False, env={"HEAPTRACE_OUTFILE": str(path),
                                                 "HEAPTRACE_TOP": "0"})
    assert r.returncode == 5
    assert r.stdout == "s-many: done\n"
    rep = check_fallback(r.stderr, path)
    assert rep.sections[0].pid == r.pid
    assert len(rep.sections[0].backtraces) == 12
    if kind == "directory":
        assert os.listdir(path) == []


# A destination that is not a file, or would block: the open never waits
# (a FIFO's would until a reader came, at exit for ever), and a reader that
# stops reading is given up on.  Each costs one line; the report and the
# program's output and status are whole.

def free_loop_device():
    r = subprocess.run(["losetup", "-f"], capture_output=True, text=True, timeout=30)
    dev = r.stdout.strip()
    if r.returncode or not dev.startswith("/dev/loop"):
        pytest.skip("no unused loop device: %s" % r.stderr.strip())
    return dev


def refused(tmp_path, kind):
    """(path, reason) of a destination the library will not write."""
    if kind == "fifo":
        path = tmp_path / "fifo"
        os.mkfifo(path)
        return path, "it is a FIFO that no process reads"
    if kind == "socket":
        path = tmp_path / "sock"
        with socket.socket(socket.AF_UNIX) as s:
            s.bind(str(path))
        return path, "it is a socket"
    if kind == "block-device":
        # an unbound loop device: a write, were it tried, would fail
        return free_loop_device(), "it is a block device"
    raise ValueError(kind)


@pytest.mark.parametrize("kind,launcher", [
    ("fifo", False), ("fifo", True), ("socket", False), ("block-device", False),
])
def test_outfile_that_is_no_file_is_refused_at_once(tmp_path, kind, launcher):
    path, reason = refused(tmp_path, kind)
    opts, env = ["--outfile=%s" % path], {"HEAPTRACE_OUTFILE": str(path)}
    start = time.monotonic()
    r = trace_pid("s-many", launcher=launcher, opts=opts if launcher else (),
                  env={"HEAPTRACE_TOP": "0", **({} if launcher else env)}, timeout=30)
    assert time.monotonic() - start < 4
    assert (r.returncode, r.stdout) == (5, "s-many: done\n")
    assert outside_lines(r.stderr) == [
        "heaptrace: cannot open '%s': %s; writing the report to stderr" % (path, reason)]
    rep = check_fallback(r.stderr, path)
    assert [s.pid for s in rep.sections] == [r.pid]


def test_dev_null_takes_the_report(tmp_path):
    # a character device is a destination like a file: a terminal, or
    # /dev/null to throw reports away
    r = trace_pid("s-many", launcher=False, env={"HEAPTRACE_OUTFILE": "/dev/null"}, timeout=30)
    assert (r.returncode, r.stdout, r.stderr) == (5, "s-many: done\n", "")


def open_reader(fifo, pipe_size=None):
    """The read end of fifo, opened without waiting for a writer."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    if pipe_size:
        fcntl.fcntl(fd, F_SETPIPE_SZ, pipe_size)
    return fd


def read_all(fd):
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_fifo_with_a_reader_gets_the_report(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fd = open_reader(fifo)
    try:
        r = trace_pid("s-many", opts=["--outfile=%s" % fifo, "--top=0"], timeout=30)
        text = read_all(fd)
    finally:
        os.close(fd)
    assert (r.returncode, r.stdout, r.stderr) == (5, "s-many: done\n", "")
    rep = one_report(text)
    assert [s.pid for s in rep.sections] == [r.pid]
    assert len(rep.backtraces) == 12


def test_fifo_reader_that_stops_reading_is_given_up_on(tmp_path):
    # the reader holds the FIFO open but reads nothing; its pipe takes one
    # page of the 8 KB report.  After 5 seconds without progress, the
    # report goes whole to stderr (the reader keeps the page it has)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fd = open_reader(fifo, pipe_size=PAGE)
    try:
        start = time.monotonic()
        r = trace_pid("s-many", launcher=False, env={"HEAPTRACE_OUTFILE": str(fifo),
                                                     "HEAPTRACE_TOP": "0"}, timeout=60)
        took = time.monotonic() - start
        assert len(read_all(fd)) == PAGE
    finally:
        os.close(fd)
    assert 5 <= took < 30
    assert (r.returncode, r.stdout) == (5, "s-many: done\n")
    assert outside_lines(r.stderr) == [
        "heaptrace: cannot write '%s': its reader took nothing for 5 seconds; writing the "
        "report to stderr" % fifo]
    check_fallback(r.stderr, fifo)


def test_fifo_reader_that_leaves_does_not_kill_the_program(tmp_path):
    # the reader takes nothing, then closes while the report waits for
    # room: the write fails with EPIPE, the SIGPIPE it raised is taken back
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fd = open_reader(fifo, pipe_size=PAGE)
    p = subprocess.Popen([str(BIN / "s-many")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=clean_env({"LD_PRELOAD": str(LIB), "HEAPTRACE_TOP": "0",
                                                   "HEAPTRACE_OUTFILE": str(fifo)}))
    try:
        time.sleep(1.5)  # well inside the 5 seconds the report waits
        os.close(fd)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert (p.returncode, out) == (5, "s-many: done\n")
    assert outside_lines(err) == [
        "heaptrace: cannot write '%s': Broken pipe; writing the report to stderr" % fifo]
    check_fallback(err, fifo)


def test_file_size_limit_does_not_kill_the_program(tmp_path):
    # RLIMIT_FSIZE of one page for the 8 KB report, SIGXFSZ at its default
    # (subprocess restores it), which kills: the write fails with EFBIG,
    # the signal our write raised is taken back
    out = tmp_path / "heap.out"
    env = clean_env({"LD_PRELOAD": str(LIB), "HEAPTRACE_OUTFILE": str(out),
                     "HEAPTRACE_TOP": "0"})
    r = subprocess.run([str(BIN / "s-many")], env=env, capture_output=True, text=True,
                       timeout=30, preexec_fn=lambda: resource.setrlimit(
                           resource.RLIMIT_FSIZE, (PAGE, PAGE)))
    assert (r.returncode, r.stdout) == (5, "s-many: done\n")
    assert outside_lines(r.stderr) == [
        "heaptrace: cannot write '%s': File too large; writing the report to stderr" % out]
    check_fallback(r.stderr, out)
    assert out.read_text() == ""


def test_outfile_directory_removed_while_running(tmp_path):
    # the launcher accepted the file; its directory is gone at report time
    d = tmp_path / "gone"
    d.mkdir()
    out = d / "heap.out"
    p = Running(tmp_path, "s-signal", opts=["--outfile=%s" % out])
    try:
        p.wait_stdout("ready\n")
        d.rmdir()
        assert p.finish(b"x") == 7
    finally:
        p.close()
    err = p.stderr()
    warn = outside_lines(err)
    assert len(warn) == 1 and warn[0].startswith("heaptrace: ") and str(out) in warn[0]
    rep = one_report(err)
    assert rep.sections[0].pid == p.pid
    assert p.stdout() == "ready\nbye\n"


# ------------------------------------------------- relative names, no launcher

CHDIR = BIN / "s-chdir"


def test_preloaded_relative_outfile_survives_chdir(tmp_path):
    # resolved against the directory the program started in, as the
    # launcher does, not the one it is in at exit (a daemon's "/")
    (tmp_path / "elsewhere").mkdir()
    r = preload(CHDIR, tmp_path / "elsewhere", env={"HEAPTRACE_OUTFILE": "rep.txt"},
                cwd=tmp_path, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert os.listdir(tmp_path / "elsewhere") == []
    assert files_of(tmp_path / "rep.txt") == ["rep.txt"]
    rep = one_report((tmp_path / "rep.txt").read_text())
    assert [(b.frames[1].func, b.size) for b in rep.backtraces] == \
        [("leak_after_chdir", "1.234 KB")]


def test_preloaded_relative_outfile_reaches_children_after_chdir(tmp_path):
    # a program executed from elsewhere writes FILE.PID beside FILE
    (tmp_path / "elsewhere").mkdir()
    r = preload(CHDIR, tmp_path / "elsewhere", FORK, "leaf",
                env={"HEAPTRACE_OUTFILE": "rep.txt", "HEAPTRACE_TRACE_CHILDREN": "1"},
                cwd=tmp_path, timeout=60)
    assert (r.returncode, r.stderr) == (0, "")
    leaf = roles(r.stdout)["leaf"]
    assert os.listdir(tmp_path / "elsewhere") == []
    assert files_of(tmp_path / "rep.txt") == sorted(["rep.txt", "rep.txt.%d" % leaf])
    rep = one_report((tmp_path / "rep.txt").read_text())
    assert [b.frames[1].func for b in rep.backtraces] == ["leak_after_chdir"]
    kid = one_report((tmp_path / ("rep.txt.%d" % leaf)).read_text())
    assert leak_sites(kid) == {"leaf_leak": "123 bytes"}


def test_preloaded_relative_outfile_without_a_working_directory(tmp_path):
    # the start directory is removed: no name to resolve against, so one
    # warning and the default (the report on stderr)
    gone = tmp_path / "gone"
    gone.mkdir()
    env = clean_env()
    script = 'cd "$1" && rmdir "$1" && LD_PRELOAD="$2" HEAPTRACE_OUTFILE=rep.txt exec "$3" .'
    r = subprocess.run(["/bin/sh", "-c", script, "sh", str(gone), str(LIB), str(CHDIR)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, "")
    assert outside_lines(r.stderr) == [
        "heaptrace: HEAPTRACE_OUTFILE='rep.txt' is relative, and the working directory "
        "has no name; using the default ''"]
    rep = one_report(r.stderr)
    assert [b.frames[1].func for b in rep.backtraces] == ["leak_after_chdir"]
    assert sorted(os.listdir(tmp_path)) == []


# ------------------------------------------------------------ a disk that fills


@pytest.fixture
def small_fs(tmp_path):
    """A tmpfs of 64 KB mounted under tmp_path (root only): a disk to fill."""
    d = tmp_path / "fs"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(d)],
                       capture_output=True, text=True, timeout=30)
    if r.returncode:
        pytest.skip("cannot mount a small tmpfs: %s" % r.stderr.strip())
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], timeout=30)


def fill(d, pages_left):
    """Fill the file system of d, then free pages_left pages of it."""
    filler = d / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"x" * PAGE)
        except OSError as e:
            assert e.errno == errno.ENOSPC
    os.truncate(filler, os.path.getsize(filler) - pages_left * PAGE)
    st = os.statvfs(d)
    assert st.f_bavail * st.f_frsize == pages_left * PAGE


def no_space_line(path):
    return ("heaptrace: cannot write '%s': No space left on device; writing the report "
            "to stderr" % path)


@pytest.mark.parametrize("pages_left", [0, 1])
def test_full_disk_sends_the_whole_report_to_stderr(small_fs, pages_left):
    # one page left takes half of the 8 KB report: what the file took is
    # cut back off, and stderr has it all
    out = small_fs / "heap.out"
    fill(small_fs, pages_left)
    r = trace_pid("s-many", launcher=False, env={"HEAPTRACE_OUTFILE": str(out),
                                                 "HEAPTRACE_TOP": "0"}, timeout=60)
    assert (r.returncode, r.stdout) == (5, "s-many: done\n")
    assert outside_lines(r.stderr) == [no_space_line(out)]
    rep = check_fallback(r.stderr, out)
    assert len(r.stderr) > (pages_left + 1) * PAGE
    assert [s.pid for s in rep.sections] == [r.pid]
    assert out.read_text() == ""


def test_full_disk_keeps_the_earlier_reports(small_fs):
    # a dump fits; the disk fills; the exit report, longer than the room
    # left in the file's last page, is cut back off the file, which keeps
    # the dump alone, and goes whole to stderr
    out = small_fs / "heap.out"
    p = Running(small_fs.parent, "s-signal", launcher=False,
                env={"HEAPTRACE_OUTFILE": str(out), "HEAPTRACE_TOP": "0",
                     "HEAPTRACE_SORT": "size,count,peak,age"})
    try:
        p.wait_stdout("ready\n")
        p.kill(signal.SIGUSR1)
        assert wait_until(lambda: complete_reports(out.read_text()) == 1
                          if out.exists() else False, 10)
        dump = out.read_text()
        fill(small_fs, 0)
        assert p.finish(b"x", timeout=30) == 7
    finally:
        p.close()
    assert p.stdout() == "ready\nbye\n"
    err = p.stderr()
    assert outside_lines(err) == [no_space_line(out)]
    rep = one_report(err)
    assert [s.key for s in rep.sections] == ["size", "count", "peak", "age"]
    assert len(err) > PAGE - len(dump) % PAGE
    assert out.read_text() == dump


def test_full_disk_json_report_goes_whole_to_stderr(small_fs):
    out = small_fs / "heap.json"
    fill(small_fs, 1)
    r = trace_pid("s-many", launcher=False, env={"HEAPTRACE_OUTFILE": str(out),
                                                 "HEAPTRACE_FORMAT": "json"}, timeout=60)
    assert (r.returncode, r.stdout) == (5, "s-many: done\n")
    warn, doc, tail = r.stderr.split("\n")
    assert (warn, tail) == (no_space_line(out), "")
    assert len(doc) > PAGE
    assert json.loads(doc)["pid"] == r.pid
    assert out.read_text() == ""
