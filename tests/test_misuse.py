# SPDX-License-Identifier: GPL-2.0-or-later
"""Misuse of the allocator is passed through: a traced program meets the
fate it meets untraced, with glibc's own diagnostic (double frees, frees
and reallocs of addresses malloc never returned).  The report goes to
--outfile, so stderr holds only the program's and glibc's output; a
program that glibc aborts still gets its report (the last report).  Blocks
allocated before heaptrace's constructor ran are freed as any other and
leave the tables exact; malloc_usable_size() answers as untraced."""

import signal
import subprocess

import pytest

from htlib import BIN, HEAPTRACE, LIB, clean_env, fmt_bytes, one_report

TRACED = ["launcher", "preload"]


def run_prog(mode, prog, *args, outfile=None, preload_after=None):
    """tests/bin/prog untraced, with the launcher or preloaded by hand; the
    report (if any) goes to outfile.  preload_after: a library preloaded
    after libheaptrace.so (alone when untraced)."""
    path = str(BIN / prog)
    env = {}
    argv = [path, *args]
    if mode == "launcher":
        argv = [str(HEAPTRACE), "--outfile=%s" % outfile, path, *args]
        if preload_after:
            env["LD_PRELOAD"] = str(preload_after)
    elif mode == "preload":
        env["LD_PRELOAD"] = ":".join([str(LIB)] + ([str(preload_after)] if preload_after
                                                   else []))
        env["HEAPTRACE_OUTFILE"] = str(outfile)
    elif preload_after:
        env["LD_PRELOAD"] = str(preload_after)
    return subprocess.run(argv, env=clean_env(env), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=60)


# mode of s-misuse: returncode, glibc's diagnostic on stderr
FATES = {
    "double-free": (-signal.SIGABRT, b"free(): double free detected in tcache 2\n"),
    "double-free-big": (-signal.SIGSEGV, b""),
    "free-stack": (-signal.SIGABRT, b"free(): invalid pointer\n"),
    "free-middle": (-signal.SIGABRT, b"free(): invalid pointer\n"),
    "free-misaligned": (-signal.SIGABRT, b"free(): invalid pointer\n"),
    "realloc-stack": (-signal.SIGABRT, b"realloc(): invalid pointer\n"),
    "realloc-middle": (-signal.SIGABRT, b"realloc(): invalid pointer\n"),
    "fastbin-dup": (0, b""),
    "free-null": (0, b""),
}


@pytest.mark.parametrize("what", list(FATES))
@pytest.mark.parametrize("mode", TRACED)
def test_misuse_meets_the_same_fate(tmp_path, mode, what):
    status, diagnostic = FATES[what]
    plain = run_prog("untraced", "s-misuse", what)
    assert (plain.returncode, plain.stderr) == (status, diagnostic)
    out = tmp_path / "report"
    r = run_prog(mode, "s-misuse", what, outfile=out)
    assert r.returncode == plain.returncode
    assert r.stderr == plain.stderr
    assert r.stdout == plain.stdout
    assert r.stdout.startswith(b"before\n")
    if status == 0:
        assert r.stdout.endswith(b"survived\n")
    # the exit report, or the last report before the signal ends it (a
    # crash inside free()), holds the leak every mode starts with
    rep = one_report(out.read_text())
    assert any(b.size == "123 bytes" and b.frames[1].func == "main"
               for b in rep.backtraces)


# ------------------------------------------------------------ early blocks

@pytest.fixture(scope="module")
def early_lib():
    return BIN / "libearly-blocks.so"


@pytest.mark.parametrize("mode", TRACED)
def test_free_of_blocks_allocated_before_heaptrace_started(tmp_path, early_lib, mode):
    """A constructor that runs before heaptrace's allocates seven blocks;
    main frees six and grows the seventh: it all just works, and what is
    allocated and freed afterwards is reported exactly."""
    plain = run_prog("untraced", "s-free-early", preload_after=early_lib)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith(b"block 0 usable ")
    assert plain.stdout.endswith(b"done\n")
    out = tmp_path / "report"
    r = run_prog(mode, "s-free-early", outfile=out, preload_after=early_lib)
    assert (r.returncode, r.stderr) == (0, b"")
    assert r.stdout == plain.stdout
    rep = one_report(out.read_text())
    got = [(b.frames[0].func, b.frames[1].func, b.count, b.peak_count, b.size, b.peak_size)
           for b in rep.backtraces]
    assert got == [("realloc", "realloc_early", 1, 1, "500 bytes", "500 bytes"),
                   ("malloc", "keep_after", 3, 3, "333 bytes", "333 bytes")]
    assert rep.summary["heap traced num of backtrace"] == "2"
    assert rep.summary["heap traced allocation size"] == "833 bytes in 4 blocks"
    # 7 early calls (200,679 bytes), realloc 500, 3 x 111, 10 x 64
    assert rep.summary["allocations since start"] == "21 calls, %s" % fmt_bytes(202152)
    assert "not tracked" not in rep.summary


def test_early_constructor_runs_before_heaptrace(early_lib):
    """The premise of the test above: preloaded after libheaptrace.so, the
    library's constructor runs before heaptrace's (which sets
    HEAPTRACE_ROOT_PID when preloaded by hand)."""
    r = subprocess.run([str(BIN / "s-free-early"), "premise"], capture_output=True, timeout=60,
                       env=clean_env({"LD_PRELOAD": "%s:%s" % (LIB, early_lib)}))
    assert r.returncode == 0
    assert r.stdout == b"heaptrace started before: 0\n"


# ------------------------------------------------------------ malloc_usable_size

@pytest.mark.parametrize("where", ["thread", "main"])
@pytest.mark.parametrize("mode", TRACED)
def test_malloc_usable_size(tmp_path, mode, where):
    """malloc_usable_size() of blocks from every allocator, as untraced.  In
    a fresh arena ("thread") the answer depends on the request alone; in
    the main arena ("main") also on what the heap held before main, which
    heaptrace must not have changed."""
    plain = run_prog("untraced", "s-usable", where)
    assert plain.returncode == 0
    lines = plain.stdout.decode().splitlines()
    assert len(lines) > 200 and lines[-1] == "NULL -> 0"
    r = run_prog(mode, "s-usable", where, outfile=tmp_path / "report")
    assert (r.returncode, r.stderr) == (0, b"")
    assert r.stdout.decode().splitlines() == lines
