# SPDX-License-Identifier: GPL-2.0-or-later
"""The launcher, heaptrace(1): how its command line ends, which HEAPTRACE_*
variables and LD_PRELOAD each option becomes, where it finds libheaptrace.so
(copied, symlinked, installed), how DEPTH and CC reach the build, and the
exact one-line errors and exit statuses of bad input, after which the program
never runs.  A run's exit status is the program's own."""

import os
import pathlib
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile

import pytest

from htlib import BIN, HEAPTRACE, LIB, ROOT, clean_env, need, one_report, run, trace

VERSION = re.search(r"^VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
# what --version says: the build's default depth and the most --depth takes
VERSION_LINE = "heaptrace %s (backtrace depth %%d by default, at most 256)\n" % VERSION
DEFAULT_LIBDIR = "/usr/local/lib/heaptrace"   # the Makefile's default PREFIX
PATH_WITH_BIN = "%s:/usr/bin:/bin" % BIN

HELP_OPTIONS = ["--top=NUM", "-s, --sort=KEY[,KEY...]", "--flame-graph[=svg]", "--outfile=FILE",
                "--ignore=FILE", "--depth=N", "--max-memory=BYTES", "--sample=BYTES",
                "--unwind=METHOD",
                "--debug-dir=DIR", "--signals=KEY:SIG,...", "--interval=SECONDS",
                "--format=FORMAT", "--json", "--short-names", "--oom-report=PCT", "--check[=live]",
                "--leak-check=yes|no", "--trace-children", "--diff", "-p, --pid=PID", "--detach",
                "-h, --help", "-V, --version"]


# ------------------------------------------------------------------ helpers

def env_of(stdout):
    """s-env's output: (pid, {NAME: value}) of HEAPTRACE_* and LD_PRELOAD."""
    lines = stdout.splitlines()
    assert lines and lines[0].startswith("pid="), stdout
    pid = int(lines[0][4:])
    env = {}
    for line in lines[1:]:
        name, sep, value = line.partition("=")
        assert sep and name not in env, "bad or repeated line %r in:\n%s" % (line, stdout)
        env[name] = value
    return pid, env


def expect_env(r, **heaptrace_vars):
    """r ran s-env under the build tree's launcher: exactly heaptrace_vars
    (TOP="3" for HEAPTRACE_TOP) plus HEAPTRACE_ROOT_PID, our LD_PRELOAD."""
    assert r.returncode == 0, r.stderr
    pid, env = env_of(r.stdout)
    want = {"HEAPTRACE_" + k: v for k, v in heaptrace_vars.items()}
    want["HEAPTRACE_ROOT_PID"] = str(pid)
    want["LD_PRELOAD"] = str(LIB)
    assert env == want


def assert_error(r, line, status):
    """Exactly one line on stderr, nothing on stdout, the exit status."""
    assert (r.returncode, r.stderr, r.stdout) == (status, line + "\n", "")


def help_text():
    """heaptrace --help's output, checked to be a success."""
    r = run([HEAPTRACE, "--help"])
    assert r.returncode == 0 and r.stderr == ""
    return r.stdout


def s_malloc_ok(r, lib, stdout=""):
    """r traced s-malloc with the library at lib: its exact report."""
    assert (r.returncode, r.stdout) == (0, stdout), r.stderr
    s_malloc_report_ok(r.stderr, lib)


def s_malloc_report_ok(text, lib):
    rep = one_report(text)
    sec = rep.section("size")
    assert sec.comm == "s-malloc"
    assert [(b.frames[1].func, b.count, b.size) for b in sec.backtraces] == \
        [("leak_big", 1, "5 KB"), ("leak_three", 3, "300 bytes")]
    for b in sec.backtraces:
        assert (b.frames[0].func, b.frames[0].obj) == ("malloc", str(lib))
        assert b.frames[2].func == "main"
    assert rep.summary["heap traced allocation size"] == "5.300 KB in 4 blocks"


def copy_launcher(dst, with_lib=True):
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HEAPTRACE, dst / "heaptrace")
    if with_lib:
        shutil.copy2(LIB, dst / "libheaptrace.so")
    return dst / "heaptrace"


# Variables that would change what a plain `make` in a copy of the tree does.
MAKE_ENV_DROP = ("DEPTH", "CC", "CFLAGS", "LDFLAGS", "OPT", "PREFIX", "DESTDIR", "WERROR",
                 "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS")


def source_copy(dst):
    """The sources of both binaries (the top level, lib/, launcher/), the
    Makefile, README and doc/ (what make install installs) of this tree,
    copied to dst."""
    for d in (ROOT, ROOT / "lib", ROOT / "launcher", ROOT / "doc"):
        out = dst / d.relative_to(ROOT)
        out.mkdir()
        for p in d.iterdir():
            if p.is_file() and (p.suffix in (".c", ".h", ".map") or
                                p.name in ("Makefile", "README.md") or d.name == "doc"):
                shutil.copy2(p, out / p.name)
    return dst


def make(tree, *args, env=None):
    e = {k: v for k, v in os.environ.items() if k not in MAKE_ENV_DROP}
    e.update(env or {})
    r = subprocess.run(["make", "-C", str(tree), "-j%d" % (os.cpu_count() or 2), *args],
                       env=e, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def version_of(launcher):
    """--version's first line: the version and the depths."""
    r = run([launcher, "--version"])
    assert (r.returncode, r.stderr) == (0, "")
    return r.stdout.split("\n", 1)[0] + "\n"


def newest_libbfd():
    """The libbfd a report loads (bfdfind.c): beside libc, the build's own
    name (the Makefile's LIBBFD_SONAME), else the newest libbfd-*.so."""
    libdir = pathlib.Path("/lib/x86_64-linux-gnu")
    link = run(["gcc", "-print-file-name=libbfd.so"]).stdout.strip()
    built = libdir / pathlib.Path(os.path.realpath(link)).name
    if built.name.startswith("libbfd-") and built.exists():
        return str(built)
    names = [p.name for p in libdir.glob("libbfd-*.so")]
    return str(libdir / max(names, key=lambda n: [int(x) for x in re.findall(r"\d+", n)]))


# ------------------------------------------------------------------ help, version

@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_lists_every_option(flag):
    r = run([HEAPTRACE, flag])
    assert (r.returncode, r.stderr) == (0, "")
    lines = r.stdout.splitlines()
    assert lines[0] == "Usage: heaptrace [OPTION...] PROGRAM [ARG...]"
    listed = [re.match(r"^ +(-.*?)(?:  +\S.*)?$", l).group(1)
              for l in lines if l.lstrip().startswith("-")]
    assert listed == HELP_OPTIONS
    assert r.stdout == help_text()


def test_help_columns_aligned():
    """GNU layout: long options in one column whether or not they have a
    short form ("  -s, --sort" / "      --top"), descriptions in another."""
    opts = [l for l in help_text().splitlines() if l.lstrip().startswith("-")]
    assert len(opts) == len(HELP_OPTIONS)
    assert {l.index("--") for l in opts} == {6}, "\n".join(opts)
    assert len({re.search(r"\S  +(?=\S)", l).end() for l in opts}) == 1, "\n".join(opts)


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(flag):
    """As GNU tools give it: version, depth, the libbfd reports will load,
    the licence."""
    r = run([HEAPTRACE, flag])
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == (VERSION_LINE % 8 + "libbfd: %s\n" % newest_libbfd() +
                        "License GPL-2.0-or-later <https://gnu.org/licenses/gpl.html>;\n"
                        "GPL-3.0-or-later as it loads libbfd.\n"
                        "This is free software: you are free to change and redistribute it.\n"
                        "There is NO WARRANTY, to the extent permitted by law.\n")


@pytest.mark.parametrize("flag", ["-h", "--help", "-V", "--version"])
def test_help_and_version_do_not_run_the_program(tmp_path, flag):
    marker = tmp_path / "ran"
    r = run([HEAPTRACE, flag, BIN / "s-touch", marker])
    assert (r.returncode, r.stderr) == (0, "")
    if "h" in flag:
        assert r.stdout == help_text()
    else:
        assert r.stdout.startswith(VERSION_LINE % 8)
    assert not marker.exists()


@pytest.mark.parametrize("argv", [[], ["--top=3"], ["--"], ["-s", "count", "--"]])
def test_no_program_prints_usage_to_stderr(argv):
    r = run([HEAPTRACE, *argv])
    assert (r.returncode, r.stdout, r.stderr) == (2, "", help_text())


# ------------------------------------------------------------------ command line

def test_options_end_at_the_program():
    r = run([HEAPTRACE, "--top=3", BIN / "s-argv", "--top=5", "-s", "bogus", "--help", "--", "x"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "argc=7\nargv[0]=%s\nargv[1]=--top=5\nargv[2]=-s\nargv[3]=bogus\n" \
        "argv[4]=--help\nargv[5]=--\nargv[6]=x\n" % (BIN / "s-argv")


def test_options_after_the_program_are_not_ours():
    expect_env(run([HEAPTRACE, "--top=3", BIN / "s-env", "--top=5", "--flame-graph"]), TOP="3")


def test_double_dash_ends_options():
    r = run([HEAPTRACE, "--", BIN / "s-argv", "--version"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "argc=2\nargv[0]=%s\nargv[1]=--version\n" % (BIN / "s-argv")


def test_program_found_in_path_keeps_its_bare_name():
    r = run([HEAPTRACE, "s-argv", "a b", ""], env={"PATH": PATH_WITH_BIN})
    assert r.returncode == 0, r.stderr
    assert r.stdout == "argc=3\nargv[0]=s-argv\nargv[1]=a b\nargv[2]=\n"


def test_program_found_in_path_is_traced():
    s_malloc_ok(run([HEAPTRACE, "s-malloc"], env={"PATH": PATH_WITH_BIN}), LIB)


def test_path_skips_non_executables_and_directories(tmp_path):
    """As execvp: a non-executable file and a directory of that name earlier
    in PATH are passed over."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "s-argv").mkdir(parents=True)
    fake = tmp_path / "a" / "s-argv"
    fake.write_text("#!/bin/sh\necho wrong s-argv\n")
    fake.chmod(0o644)
    r = run([HEAPTRACE, "s-argv", "1"],
            env={"PATH": "%s/a:%s/b:%s" % (tmp_path, tmp_path, PATH_WITH_BIN)})
    assert r.returncode == 0, r.stderr
    assert r.stdout == "argc=2\nargv[0]=s-argv\nargv[1]=1\n"


def test_empty_path_entry_is_the_current_directory():
    r = run([HEAPTRACE, "s-argv"], env={"PATH": "/usr/bin::/bin"}, cwd=BIN)
    assert (r.returncode, r.stdout) == (0, "argc=1\nargv[0]=s-argv\n"), r.stderr


# ------------------------------------------------------------------ exit statuses

@pytest.mark.parametrize("status", [0, 3, 255])
def test_exit_status_is_the_programs(status):
    plain = run([BIN / "s-exit", "exit", status])
    r = trace("s-exit", "exit", status)
    assert plain.returncode == r.returncode == status
    rep = one_report(r.stderr)
    assert [(b.frames[1].func, b.size) for b in rep.backtraces] == [("main", "42 bytes")]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_by_a_signal_like_untraced(sig):
    plain = run([BIN / "s-exit", "raise", int(sig)])
    r = trace("s-exit", "raise", int(sig))
    assert plain.returncode == r.returncode == -sig
    assert r.stdout == ""


def test_signal_from_outside_reaches_the_program():
    """The launcher execs: the pid the caller holds is the program's."""
    p = subprocess.Popen([str(HEAPTRACE), str(BIN / "s-exit"), "wait"], env=clean_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pid = None
    try:
        line = p.stdout.readline()
        m = re.fullmatch(r"pid=(\d+)\n", line)
        assert m, line
        pid = int(m.group(1))
        assert pid == p.pid
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=60) == -signal.SIGTERM
    finally:
        if p.poll() is None:
            p.kill()
        if pid is not None and pid != p.pid:   # a forking launcher left it behind
            os.kill(pid, signal.SIGKILL)
        p.communicate(timeout=60)


# ------------------------------------------------------------------ environment

# {tmp} stands for the test's directory, which holds an ignore file "ign".
OPTION_VARIABLES = [
    ([], {}),
    (["--top=3"], {"TOP": "3"}),
    (["--top", "0"], {"TOP": "0"}),
    (["--top=1000000000"], {"TOP": "1000000000"}),
    (["--top=3", "--top=5"], {"TOP": "5"}),
    (["-s", "count,age"], {"SORT": "count,age"}),
    (["-speak"], {"SORT": "peak"}),
    (["--sort=size,count,peak,age"], {"SORT": "size,count,peak,age"}),
    (["--sort", "age"], {"SORT": "age"}),
    (["--flame-graph"], {"FLAME_GRAPH": "1"}),
    (["--outfile={tmp}/report"], {"OUTFILE": "{tmp}/report"}),
    (["--outfile", "{tmp}/report"], {"OUTFILE": "{tmp}/report"}),
    (["--ignore={tmp}/ign"], {"IGNORE": "{tmp}/ign"}),
    (["--ignore", "{tmp}/ign"], {"IGNORE": "{tmp}/ign"}),
    (["--max-memory=1000000"], {"MAX_MEMORY": "1000000"}),
    (["--depth=20"], {"DEPTH": "20"}),
    (["--depth", "1"], {"DEPTH": "1"}),
    (["--depth=0256"], {"DEPTH": "0256"}),
    (["--unwind=fp"], {"UNWIND": "fp"}),
    (["--unwind", "libunwind"], {"UNWIND": "libunwind"}),
    (["--unwind=dwarf"], {"UNWIND": "dwarf"}),
    (["--unwind=check"], {"UNWIND": "check"}),
    (["--debug-dir=/tmp"], {"DEBUG_DIR": "/tmp"}),
    (["--signals=growth:RTMIN+3"], {"SIGNALS": "growth:RTMIN+3"}),
    (["--interval", "1.5"], {"INTERVAL": "1.5"}),
    (["--json"], {"FORMAT": "json"}),
    (["--format=text"], {"FORMAT": "text"}),
    (["--format=folded"], {"FORMAT": "folded"}),
    (["--check"], {"CHECK": "1"}),
    (["--trace-children"], {"TRACE_CHILDREN": "1"}),
    (["--top=7", "-s", "count", "--flame-graph", "--outfile={tmp}/o", "--ignore={tmp}/ign"],
     {"TOP": "7", "SORT": "count", "FLAME_GRAPH": "1", "OUTFILE": "{tmp}/o",
      "IGNORE": "{tmp}/ign"}),
]


@pytest.mark.parametrize("opts, want", OPTION_VARIABLES,
                         ids=[" ".join(o) or "none" for o, _ in OPTION_VARIABLES])
def test_each_option_sets_its_variable(tmp_path, opts, want):
    tmp = str(tmp_path.resolve())
    (tmp_path / "ign").write_text("no_such_function\n")
    opts = [o.replace("{tmp}", tmp) for o in opts]
    want = {k: v.replace("{tmp}", tmp) for k, v in want.items()}
    expect_env(run([HEAPTRACE, *opts, BIN / "s-env"]), **want)


def test_root_pid_is_the_programs_own_even_if_set():
    """A HEAPTRACE_ROOT_PID inherited from an outer run is replaced."""
    expect_env(run([HEAPTRACE, BIN / "s-env"], env={"HEAPTRACE_ROOT_PID": "1"}))


def test_option_overrides_inherited_variable():
    expect_env(run([HEAPTRACE, "--top=3", BIN / "s-env"],
                   env={"HEAPTRACE_TOP": "7", "HEAPTRACE_SORT": "age"}), TOP="3", SORT="age")


def test_relative_paths_become_absolute(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "ign.txt").write_text("nothing\n")
    (tmp_path / "sub" / "ign.txt").write_text("nothing\n")
    cwd = tmp_path.resolve()
    expect_env(run([HEAPTRACE, "--outfile=rep.txt", "--ignore=ign.txt", BIN / "s-env"], cwd=cwd),
               OUTFILE="%s/rep.txt" % cwd, IGNORE="%s/ign.txt" % cwd)
    expect_env(run([HEAPTRACE, "--outfile", "sub/rep.txt", "--ignore", "sub/ign.txt",
                    BIN / "s-env"], cwd=cwd),
               OUTFILE="%s/sub/rep.txt" % cwd, IGNORE="%s/sub/ign.txt" % cwd)
    r = run([HEAPTRACE, "--outfile=./sub/../rep.txt", "--ignore=./sub/ign.txt", BIN / "s-env"],
            cwd=cwd)
    assert r.returncode == 0, r.stderr
    env = env_of(r.stdout)[1]
    for var, rel in (("HEAPTRACE_OUTFILE", "rep.txt"), ("HEAPTRACE_IGNORE", "sub/ign.txt")):
        assert os.path.isabs(env[var]) and os.path.normpath(env[var]) == "%s/%s" % (cwd, rel)


def test_relative_outfile_survives_chdir(tmp_path):
    """The program moves elsewhere before the report is written."""
    (tmp_path / "elsewhere").mkdir()
    r = run([HEAPTRACE, "--outfile=rep.txt", BIN / "s-chdir", tmp_path / "elsewhere"],
            cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert not (tmp_path / "elsewhere" / "rep.txt").exists()
    rep = one_report((tmp_path / "rep.txt").read_text())
    assert [(b.frames[1].func, b.size) for b in rep.backtraces] == \
        [("leak_after_chdir", "1.234 KB")]


def test_relative_ignore_is_used(tmp_path):
    (tmp_path / "ign.txt").write_text("leak_big\n")
    r = run([HEAPTRACE, "--ignore=ign.txt", BIN / "s-malloc"], cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    rep = one_report(r.stderr)
    assert [b.frames[1].func for b in rep.backtraces] == ["leak_three"]
    assert rep.summary["hidden by --ignore"] == "1 backtrace, 5 KB in 1 block"


def test_existing_ld_preload_is_kept_after_ours(tmp_path):
    """The caller's LD_PRELOAD is loaded into the launcher too, then into
    the program after libheaptrace.so."""
    old = BIN / "libold-preload.so"
    r = run([HEAPTRACE, BIN / "s-env"], env={"LD_PRELOAD": str(old)})
    assert r.returncode == 0, r.stderr
    loaded = "old preload in heaptrace\nold preload in s-env\n"
    assert r.stdout.startswith(loaded + "pid=")
    pid, env = env_of(r.stdout[len(loaded):])
    assert env == {"LD_PRELOAD": "%s:%s" % (LIB, old), "HEAPTRACE_ROOT_PID": str(pid)}
    s_malloc_ok(run([HEAPTRACE, BIN / "s-malloc"], env={"LD_PRELOAD": str(old)}), LIB,
                stdout="old preload in heaptrace\nold preload in s-malloc\n")


def test_empty_ld_preload_is_replaced():
    expect_env(run([HEAPTRACE, BIN / "s-env"], env={"LD_PRELOAD": ""}))


# ------------------------------------------------------------------ valid values

def sizes(section):
    return [b.size for b in section.backtraces]


MANY = ["1.200 KB", "1.100 KB", "1 KB", "900 bytes", "800 bytes", "700 bytes",
        "600 bytes", "500 bytes", "400 bytes", "300 bytes", "200 bytes", "100 bytes"]


@pytest.mark.parametrize("opts, shown", [
    ([], MANY[:10]),
    (["--top=0"], MANY),
    (["--top", "3"], MANY[:3]),
    (["--top=12"], MANY),
    (["--top=1000000000"], MANY),
], ids=["default", "--top=0", "--top 3", "--top=12", "--top=1000000000"])
def test_top(opts, shown):
    r = trace("s-sites12", opts=opts)
    assert r.returncode == 0, r.stderr
    rep = one_report(r.stderr)
    assert [s.key for s in rep.sections] == ["size"]
    assert sizes(rep.section()) == shown
    assert [b.rank for b in rep.backtraces] == list(range(1, len(shown) + 1))
    assert rep.summary["heap traced num of backtrace"] == str(len(shown))


def test_sort_all_four_keys_in_order():
    r = trace("s-malloc", opts=["--sort=size,count,peak,age"])
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    rep = one_report(r.stderr)
    assert [s.key for s in rep.sections] == ["size", "count", "peak", "age"]
    assert len({(s.pid, s.comm) for s in rep.sections}) == 1
    # peak lists churn too, which freed its blocks
    order = {"size": ["leak_big", "leak_three"], "count": ["leak_three", "leak_big"],
             "peak": ["leak_big", "leak_three", "churn"], "age": ["leak_three", "leak_big"]}
    for key, funcs in order.items():
        assert [b.frames[1].func for b in rep.section(key).backtraces] == funcs
    assert r.stderr.count("[heaptrace] heap traced num of backtrace") == 1
    assert rep.summary["heap traced num of backtrace"] == "3"  # churn shown by peak


def test_short_sort_option():
    r = trace("s-malloc", opts=["-s", "count"])
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    rep = one_report(r.stderr)
    assert [s.key for s in rep.sections] == ["count"]
    assert [b.frames[1].func for b in rep.backtraces] == ["leak_three", "leak_big"]


def test_flame_graph_goes_to_stdout():
    r = trace("s-malloc", opts=["--flame-graph"])
    assert (r.returncode, r.stderr) == (0, "")
    assert sorted(l.rsplit(";", 3)[-3:] for l in r.stdout.splitlines()) == \
        [["main", "leak_big", "malloc 5000"], ["main", "leak_three", "malloc 300"]]


def test_outfile_gets_the_report(tmp_path):
    r = trace("s-malloc", opts=["--outfile=%s/rep" % tmp_path])
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    s_malloc_report_ok((tmp_path / "rep").read_text(), LIB)


# ------------------------------------------------------------------ bad input

def no_value(opt):
    return ([opt], "heaptrace: option '%s' needs a value" % opt)


def unknown(opt, named=None):
    return ([opt], "heaptrace: unknown option '%s' (see heaptrace --help)" % (named or opt))


def bad(opt, value, why, shown=None):
    return (["%s=%s" % (opt, value)], "heaptrace: %s: '%s' %s" % (opt, shown or value, why))


DEPTH_RANGE = "is not a number of frames from 1 to 256"
UNKNOWN_KEY = "has an unknown sort key (use size, count, peak, age, growth, peak-share, calls, temporary or leaked)"


BAD_OPTIONS = [
    unknown("--bogus"),
    unknown("--bogus=1", "--bogus"),
    unknown("-x"),
    unknown("-xV", "-x"),
    unknown("-xh", "-x"),
    no_value("--top"),
    no_value("--sort"),
    no_value("-s"),
    no_value("--outfile"),
    no_value("--ignore"),
    no_value("--max-memory"),
    bad("--max-memory", "", "is empty"),
    bad("--max-memory", "1Q", "is not a non-negative integer"),
    bad("--sample", "12q", "is not a non-negative integer"),
    bad("--sample", "99999999999999999G", "is too large"),
    bad("--max-memory", "-5", "is not a non-negative integer"),
    bad("--max-memory", "18446744073709551616", "is too large"),
    no_value("--depth"),
    bad("--depth", "0", DEPTH_RANGE),
    bad("--depth", "257", DEPTH_RANGE),
    bad("--depth", "99999999999999999999", DEPTH_RANGE),
    bad("--depth", "abc", DEPTH_RANGE),
    bad("--depth", "-8", DEPTH_RANGE),
    bad("--depth", "", DEPTH_RANGE),
    bad("--top", "abc", "is not a non-negative integer"),
    bad("--top", "-1", "is not a non-negative integer"),
    bad("--top", "+3", "is not a non-negative integer"),
    bad("--top", " 3", "is not a non-negative integer"),
    bad("--top", "3k", "is not a non-negative integer"),
    bad("--top", "", "is empty"),
    bad("--top", "99999999999999999999", "is too large"),
    bad("--top", "1000000001", "is too large"),
    bad("--sort", "bogus", UNKNOWN_KEY),
    bad("--sort", "Size", UNKNOWN_KEY),
    bad("--sort", "size,size", "names a sort key twice"),
    bad("--sort", "size,count,size", "names a sort key twice"),
    bad("--sort", "", "is empty"),
    bad("--sort", "size,", "has an empty sort key"),
    bad("--sort", ",size", "has an empty sort key"),
    bad("--sort", "size,,count", "has an empty sort key"),
    (["-s", "peek"], "heaptrace: --sort: 'peek' " + UNKNOWN_KEY),
    bad("--outfile", "", "is empty"),
    bad("--unwind", "frame", "is not an unwinder (use dwarf, libunwind, fp or check)"),
    bad("--unwind", "FP", "is not an unwinder (use dwarf, libunwind, fp or check)"),
    bad("--unwind", "", "is not an unwinder (use dwarf, libunwind, fp or check)"),
    bad("--ignore", "", "is empty"),
    bad("--format", "xml", "is not a format (use text, json, folded, pprof or svg)"),
]


@pytest.mark.parametrize("opts, line", BAD_OPTIONS, ids=[" ".join(o) for o, _ in BAD_OPTIONS])
def test_bad_option(tmp_path, opts, line):
    """Each bad option: one line, exit 2, and the program does not run.  A
    missing value can only be missing last on the line."""
    marker = tmp_path / "ran"
    if line.endswith("needs a value"):
        assert_error(run([HEAPTRACE, *opts]), line, 2)
        return
    assert_error(run([HEAPTRACE, *opts, BIN / "s-touch", marker]), line, 2)
    assert not marker.exists()


def test_flag_given_a_value(tmp_path):
    """--trace-children takes no value: refused in one line naming it."""
    marker = tmp_path / "ran"
    r = run([HEAPTRACE, "--trace-children=1", BIN / "s-touch", marker])
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == "heaptrace: option '--trace-children' takes no value\n"
    assert not marker.exists()


def files_for_bad_paths(tmp_path):
    d = tmp_path / "files"
    d.mkdir()
    (d / "subdir").mkdir()
    (d / "regular").write_text("leak_big\n")
    (d / "nul-early").write_bytes(b"leak_big\n\0\n")
    # the NUL is beyond the launcher's first 64 KiB read
    (d / "nul-late").write_bytes(b"# padding\n" * 10000 + b"x\0\n")
    os.mkfifo(d / "fifo")
    cwd = os.getcwd()
    os.chdir(d)  # a socket's name is short (108 bytes): bind it relative
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.bind("sock")
    finally:
        os.chdir(cwd)
    if os.geteuid() == 0:  # a node of /dev/loop0, never opened
        os.mknod(d / "blk", stat.S_IFBLK | 0o600, os.makedev(7, 0))
    return d


@pytest.mark.parametrize("opt, name, why", [
    ("--ignore", "missing", "does not exist"),
    ("--ignore", "subdir", "is not a regular file"),
    ("--ignore", "subdir/", "is not a regular file"),
    ("--ignore", "nul-early", "is not a text file"),
    ("--ignore", "nul-late", "is not a text file"),
    ("--ignore", "fifo", "is not a regular file"),
    ("--ignore", "missing/x", "does not exist"),
    ("--outfile", "missing/rep", "is in a directory that does not exist"),
    ("--outfile", "regular/rep", "is in a directory that does not exist"),
    ("--outfile", "subdir", "is a directory"),
    ("--outfile", "subdir/", "is a directory"),
    ("--outfile", "sock", "is a socket"),
    ("--outfile", "blk", "is a block device"),
])
@pytest.mark.parametrize("relative", [False, True])
def test_bad_path(tmp_path, opt, name, why, relative):
    d = files_for_bad_paths(tmp_path)
    if name == "blk" and not (d / "blk").exists():
        pytest.skip("a block device node needs root to make")
    marker = tmp_path / "ran"
    value = name if relative else "%s/%s" % (d, name)
    # timeout: a launcher that opens a FIFO for reading waits for a writer
    r = run([HEAPTRACE, "%s=%s" % (opt, value), BIN / "s-touch", marker], cwd=d, timeout=3)
    assert_error(r, "heaptrace: %s: '%s' %s" % (opt, value, why), 2)
    assert not marker.exists()


def test_unreadable_ignore_file():
    """chmod 000 stops anyone but root, who reads it anyway: as root, the
    launcher is run as nobody (uid/gid 65534), after checking that nobody can
    run it and the program at all with the same file still readable."""
    with tempfile.TemporaryDirectory(prefix="ht-unreadable-", dir="/tmp") as tmp:
        d = pathlib.Path(tmp)
        d.chmod(0o777)
        ign = d / "ign.txt"
        ign.write_text("leak_big\n")
        kw = {}
        if os.geteuid() == 0:
            def nobody():
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            kw["preexec_fn"] = nobody
        ign.chmod(0o644)
        r = run([HEAPTRACE, "--ignore=%s" % ign, BIN / "s-touch", d / "ran"], **kw)
        assert r.returncode == 0 and (d / "ran").exists(), r.stderr
        (d / "ran").unlink()
        ign.chmod(0)
        r = run([HEAPTRACE, "--ignore=%s" % ign, BIN / "s-touch", d / "ran"], **kw)
        assert_error(r, "heaptrace: --ignore: '%s' cannot be read" % ign, 2)
        assert not (d / "ran").exists()


def test_program_not_found_in_path():
    r = run([HEAPTRACE, "s-no-such-program"], env={"PATH": PATH_WITH_BIN})
    assert_error(r, "heaptrace: s-no-such-program: command not found", 127)


def test_program_only_non_executable_in_path(tmp_path):
    prog = tmp_path / "s-noexec"
    prog.write_text("#!/bin/sh\ntouch %s/ran\n" % tmp_path)
    prog.chmod(0o644)
    r = run([HEAPTRACE, "s-noexec"], env={"PATH": "%s:%s" % (tmp_path, PATH_WITH_BIN)})
    assert_error(r, "heaptrace: s-noexec: Permission denied", 126)
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize("name, why, status", [
    ("./missing", "No such file or directory", 127),
    ("missing/prog", "No such file or directory", 127),
    ("./script-0644", "Permission denied", 126),
    ("./subdir", "Is a directory", 126),
    ("./bad-interpreter", "No such file or directory", 127),
])
def test_program_path_errors(tmp_path, name, why, status):
    (tmp_path / "subdir").mkdir()
    script = tmp_path / "script-0644"
    script.write_text("#!/bin/sh\ntouch ran\n")
    script.chmod(0o644)
    (tmp_path / "bad-interpreter").write_text("#!/nonexistent/sh\ntouch ran\n")
    (tmp_path / "bad-interpreter").chmod(0o755)
    r = run([HEAPTRACE, name], cwd=tmp_path)
    assert_error(r, "heaptrace: %s: %s" % (name, why), status)
    assert not (tmp_path / "ran").exists()


SCRIPT = 'echo "$0|$*|$$|$HEAPTRACE_ROOT_PID|$LD_PRELOAD"; exit 7\n'


def test_script_without_shebang_runs_in_sh(tmp_path):
    """execv fails with ENOEXEC; as execvp, /bin/sh runs the file, traced,
    in the same process."""
    script = tmp_path / "noshebang"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    for argv, env in (([script, "a", "b c"], None),
                      (["noshebang", "a", "b c"], {"PATH": "%s:/usr/bin:/bin" % tmp_path})):
        r = run([HEAPTRACE, *argv], env=env)
        assert r.returncode == 7, r.stderr
        zero, args, pid, root_pid, preload = r.stdout.rstrip("\n").split("|")
        assert (zero, args, root_pid, preload) == (str(script), "a b c", pid, str(LIB))


# ------------------------------------------------------------------ finding the library

def test_symlinked_launcher_elsewhere_with_decoys(tmp_path):
    """A symlink in another directory, next to a broken libheaptrace.so and
    run from a directory holding another: the real path's library wins."""
    (tmp_path / "bin").mkdir()
    link = tmp_path / "bin" / "heaptrace"
    link.symlink_to(HEAPTRACE)
    (tmp_path / "heaptrace").symlink_to(HEAPTRACE)
    (tmp_path / "bin" / "libheaptrace.so").write_bytes(b"")
    (tmp_path / "libheaptrace.so").write_bytes(b"")
    (tmp_path / "lib" / "heaptrace").mkdir(parents=True)
    (tmp_path / "lib" / "heaptrace" / "libheaptrace.so").write_bytes(b"")
    for argv, env in (([link], None),
                      (["heaptrace"], {"PATH": "%s/bin:/usr/bin:/bin" % tmp_path}),
                      (["./heaptrace"], None)):
        expect_env(run([*argv, BIN / "s-env"], env=env, cwd=tmp_path))
        s_malloc_ok(run([*argv, BIN / "s-malloc"], env=env, cwd=tmp_path), LIB)


def test_launcher_from_another_cwd(tmp_path):
    (tmp_path / "libheaptrace.so").write_bytes(b"")
    expect_env(run([HEAPTRACE, BIN / "s-env"], cwd=tmp_path))
    s_malloc_ok(run([HEAPTRACE, os.path.relpath(BIN / "s-malloc", tmp_path)], cwd=tmp_path), LIB)


def test_copied_launcher_uses_the_library_beside_it(tmp_path):
    launcher = copy_launcher(tmp_path / "copy")
    lib = tmp_path.resolve() / "copy" / "libheaptrace.so"
    r = run([launcher, BIN / "s-env"])
    pid, env = env_of(r.stdout)
    assert env == {"LD_PRELOAD": str(lib), "HEAPTRACE_ROOT_PID": str(pid)}
    s_malloc_ok(run([launcher, BIN / "s-malloc"]), lib)


def test_lone_launcher_ignores_the_library_in_cwd(tmp_path):
    if os.path.exists(DEFAULT_LIBDIR + "/libheaptrace.so"):
        pytest.skip("a heaptrace is installed in " + DEFAULT_LIBDIR)
    launcher = copy_launcher(tmp_path / "solo", with_lib=False)
    (tmp_path / "work").mkdir()
    shutil.copy2(LIB, tmp_path / "work" / "libheaptrace.so")   # a working one, even
    r = run([launcher, BIN / "s-touch", "ran"], cwd=tmp_path / "work")
    assert_error(r, "heaptrace: cannot find libheaptrace.so next to the launcher or in "
                 + DEFAULT_LIBDIR, 2)
    assert not (tmp_path / "work" / "ran").exists()


def test_library_path_with_a_space_or_colon_is_refused(tmp_path):
    for dirname in ("with space", "with:colon"):
        launcher = copy_launcher(tmp_path / dirname)
        r = run([launcher, BIN / "s-touch", tmp_path / "ran"])
        assert_error(r, "heaptrace: cannot preload '%s/libheaptrace.so': its path contains "
                     "a space or a colon" % launcher.parent.resolve(), 2)
        assert not (tmp_path / "ran").exists()


def test_make_install_relative_library(tmp_path):
    """make install DESTDIR=... PREFIX=/usr: the compiled-in /usr/lib/heaptrace
    is not where the library is, ../lib/heaptrace from the launcher is."""
    tree = source_copy(tmp_path / "src")
    dest = tmp_path.resolve() / "dest"
    make(tree, "install", "DESTDIR=%s" % dest, "PREFIX=/usr")
    launcher = dest / "usr" / "bin" / "heaptrace"
    lib = dest / "usr" / "lib" / "heaptrace" / "libheaptrace.so"
    assert stat.S_IMODE(launcher.stat().st_mode) == 0o755
    assert stat.S_IMODE(lib.stat().st_mode) == 0o644
    assert not (launcher.parent / "libheaptrace.so").exists()
    shutil.rmtree(tree)     # nothing of the build tree is needed any more
    (tmp_path / "libheaptrace.so").write_bytes(b"")
    r = run([launcher, BIN / "s-env"], cwd=tmp_path)
    pid, env = env_of(r.stdout)
    assert env == {"LD_PRELOAD": str(lib), "HEAPTRACE_ROOT_PID": str(pid)}
    s_malloc_ok(run([launcher, BIN / "s-malloc"], cwd=tmp_path), lib)
    assert version_of(launcher) == VERSION_LINE % 8


INSTALLED = {"usr/bin/heaptrace": 0o755, "usr/lib/heaptrace/libheaptrace.so": 0o644,
             "usr/lib/heaptrace/libheaptrace-pid.so": 0o644,
             "usr/lib/heaptrace/libheaptrace-pid-dyn.so": 0o644,
             "usr/share/man/man1/heaptrace.1": 0o644,
             "usr/share/bash-completion/completions/heaptrace": 0o644,
             "usr/share/doc/heaptrace/README.md": 0o644}


def test_make_install_and_uninstall(tmp_path):
    """make install puts the binaries, the man page, bash completion and
    README where Debian looks for them; make uninstall removes all of it."""
    tree = source_copy(tmp_path / "src")
    dest = tmp_path.resolve() / "dest"
    make(tree, "install", "DESTDIR=%s" % dest, "PREFIX=/usr")
    files = {str(p.relative_to(dest)): stat.S_IMODE(p.stat().st_mode)
             for p in dest.rglob("*") if p.is_file()}
    assert files == INSTALLED
    assert (dest / "usr/share/man/man1/heaptrace.1").read_bytes() == \
        (ROOT / "doc" / "heaptrace.1").read_bytes()
    assert (dest / "usr/share/doc/heaptrace/README.md").read_bytes() == \
        (ROOT / "README.md").read_bytes()
    make(tree, "uninstall", "DESTDIR=%s" % dest, "PREFIX=/usr")
    assert [p for p in dest.rglob("*") if not p.is_dir()] == []
    assert not (dest / "usr/lib/heaptrace").exists()
    assert not (dest / "usr/share/doc/heaptrace").exists()


def test_make_dist(tmp_path):
    """make dist: a tarball of HEAD, every tracked file under
    heaptrace-VERSION/, that builds (make test runs from it as from a clone)."""
    tarball = tmp_path / "ht.tar.gz"
    r = subprocess.run(["make", "-s", "-C", str(ROOT), "dist", "DIST=%s" % tarball],
                       capture_output=True, text=True)
    if not (ROOT / ".git").exists():
        assert r.returncode != 0
        assert r.stderr.splitlines()[0] == \
            "heaptrace: make dist needs a git checkout (it archives HEAD)"
        return
    assert r.returncode == 0, r.stderr
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.split()
    listed = subprocess.run(["tar", "-tzf", tarball], capture_output=True, text=True,
                            check=True).stdout.split()
    top = "heaptrace-%s/" % VERSION
    assert sorted(n[len(top):] for n in listed if not n.endswith("/")) == sorted(tracked)
    subprocess.run(["tar", "-xzf", tarball, "-C", tmp_path], check=True)
    make(tmp_path / top, "all")
    assert version_of(tmp_path / top / "heaptrace") == VERSION_LINE % 8
    s_malloc_ok(run([tmp_path / top / "heaptrace", BIN / "s-malloc"]),
                (tmp_path / top / "libheaptrace.so").resolve())


# ------------------------------------------------------------------ build variables

def deep_report(launcher):
    r = run([launcher, BIN / "s-deep25"])
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    bts = one_report(r.stderr).backtraces
    assert len(bts) == 1 and bts[0].size == "777 bytes"
    return bts[0]


def test_default_depth_cuts_at_8():
    bt = deep_report(HEAPTRACE)
    assert bt.funcs == ["malloc"] + ["deep"] * 7
    assert bt.truncated


# make check-build: make O=build/depth30 DEPTH=30
DEPTH30 = ROOT / "build" / "depth30"


def check_depth_30(tree):
    assert version_of(tree / "heaptrace") == VERSION_LINE % 30
    bt = deep_report(tree / "heaptrace")
    assert bt.funcs[:26] == ["malloc"] + ["deep"] * 24 + ["main"]
    assert bt.funcs[-1] == "_start"     # the C start-up frames in between vary
    assert not bt.truncated


def test_make_depth_on_the_command_line(tmp_path):
    """DEPTH=30 as a make argument (make check-build builds build/depth30
    with O=build/depth30 DEPTH=30); changing it rebuilds both sides: a copy
    of that build (same times), made again without DEPTH, is back to 8."""
    check_depth_30(DEPTH30)
    tree = tmp_path / "o"
    shutil.copytree(DEPTH30, tree)
    make(ROOT, "O=%s" % tree)
    assert version_of(tree / "heaptrace") == VERSION_LINE % 8
    assert deep_report(tree / "heaptrace").truncated


def test_make_depth_from_the_environment(tmp_path):
    tree = source_copy(tmp_path / "src")
    make(tree, env={"DEPTH": "30"})
    check_depth_30(tree)


def test_make_cc_clang(tmp_path):
    need("clang")
    tree = source_copy(tmp_path / "src")
    make(tree, "CC=clang")
    for f in ("heaptrace", "libheaptrace.so"):
        comment = subprocess.run(["readelf", "-p", ".comment", tree / f], check=True,
                                 capture_output=True, text=True).stdout
        assert "clang version" in comment, f
    s_malloc_ok(run([tree / "heaptrace", BIN / "s-malloc"]), tree.resolve() / "libheaptrace.so")
