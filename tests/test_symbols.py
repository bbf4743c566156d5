# SPDX-License-Identifier: GPL-2.0-or-later
"""Frame names from libbfd: functions from the full symbol table (static
ones, programs without -rdynamic), file and line of each call from DWARF
(looked up one byte before the return address), calls inlined there as
frames of their own, C++ names demangled and shortened with markers,
separate debug files found by .gnu_debuglink and by build-id, and objects
that are gone never lending a wrong name.  The test programs mark the line
each frame must show with a "@name" comment."""

import re
import shutil
import signal
import subprocess

import pytest

from htlib import (BIN, HEAPTRACE, LIB, ROOT, Running, complete_reports, fmt_bytes, need,
                   one_report, parse_reports, run, trace, wait_until)

SRC = ROOT / "tests"
STATIC = BIN / "sym-static"
PLUGIN = BIN / "libsym-plugin.so"


def line_of(src, name):
    """The line of src marked "@name"."""
    lines = [i for i, text in enumerate((SRC / src).read_text().splitlines(), 1)
             if re.search(r"@%s\b" % re.escape(name), text)]
    assert len(lines) == 1, (src, name)
    return lines[0]


def report(prog, *args, opts=(), env=None):
    r = trace(prog, *args, opts=("--top=0",) + tuple(opts), env=env)
    assert r.returncode == 0, r.stderr
    return one_report(r.stderr)


def by_size(rep, size):
    hits = [b for b in rep.backtraces if b.size == fmt_bytes(size)]
    assert len(hits) == 1, "one backtrace of %d bytes expected" % size
    return hits[0]


def source(bt, upto):
    """[(function, file basename, line, inlined)] of frames 1..upto."""
    return [(f.func, f.file.rsplit("/", 1)[-1], f.line, f.inlined) for f in bt.frames[1:upto + 1]]


def expect(src, *frames):
    """frames: (function, marker) or (function, marker, "inlined")."""
    return [(func, src if not isinstance(src, dict) else src[func], line_of(
        src if not isinstance(src, dict) else src[func], marker), len(rest) > 0)
        for func, marker, *rest in frames]


STATIC_CHAIN = [("static_leaf", "static_leaf"), ("static_mid", "static_mid"),
                ("static_outer", "static_outer"), ("main", "main_static")]
SHARED_SRC = {"shared_static": "sym-shared.c", "shared_alloc": "sym-shared.c",
              "shared_path": "sym-static.c", "main": "sym-static.c"}
SHARED_CHAIN = [("shared_static", "shared_static"), ("shared_alloc", "shared_alloc"),
                ("shared_path", "shared_path"), ("main", "main_shared")]


def check_static_program(rep, exe):
    bt = by_size(rep, 111)
    assert bt.frames[0].func == "malloc" and bt.frames[0].file == ""
    assert source(bt, 4) == expect("sym-static.c", *STATIC_CHAIN)
    assert all(f.obj == str(exe) for f in bt.frames[1:5])
    assert all(f.file == str(SRC / "sym-static.c") for f in bt.frames[1:5])
    bt = by_size(rep, 222)
    assert source(bt, 4) == expect(SHARED_SRC, *SHARED_CHAIN)
    assert bt.frames[1].obj == str(BIN / "libsym-shared.so")


@pytest.mark.parametrize("exe", ["sym-static", "sym-static-nopie"])
def test_static_functions_with_file_and_line(exe):
    """PIE and non-PIE executables, and a shared library they link."""
    check_static_program(report(exe), BIN / exe)


def test_line_is_the_call_not_the_next_instruction():
    """static_outer's call is followed by code of the next line: the return
    address is there, the call one byte before it."""
    bt = by_size(report("sym-static"), 111)
    f = bt.frames[3]
    assert f.func == "static_outer"
    assert f.line == line_of("sym-static.c", "static_outer")
    # addr2line at the return address itself names the next line
    out = subprocess.run(["addr2line", "-e", str(STATIC), hex(f.obj_off)],
                         capture_output=True, text=True).stdout
    assert out.strip().endswith(":%d" % (f.line + 1))


def test_offsets_are_from_the_symbol_and_the_object():
    bt = by_size(report("sym-static"), 111)
    nm = subprocess.run(["nm", str(STATIC)], capture_output=True, text=True).stdout
    syms = {l.split()[2]: int(l.split()[0], 16) for l in nm.splitlines() if len(l.split()) == 3}
    for f in bt.frames[1:5]:
        assert f.obj_off - syms[f.func] == f.func_off, f


def test_dlopened_library():
    rep = report("sym-static", PLUGIN)
    bt = by_size(rep, 333)
    src = {"plugin_static": "sym-plugin.c", "plugin_alloc": "sym-plugin.c",
           "plugin": "sym-static.c"}
    assert source(bt, 3) == expect(src, ("plugin_static", "plugin_static"),
                                   ("plugin_alloc", "plugin_alloc"), ("plugin", "plugin_call"))
    assert bt.frames[1].obj == str(PLUGIN)


def test_without_debug_information_names_from_the_symbol_table():
    rep = report("sym-static-nog")
    bt = by_size(rep, 111)
    assert bt.funcs[1:5] == ["static_leaf", "static_mid", "static_outer", "main"]
    assert all(f.file == "" and f.line == 0 and f.func_off is not None for f in bt.frames[1:5])


def test_cxx_templates_namespaces_lambdas():
    rep = report("sym-cxx")
    bt = by_size(rep, 80)
    assert bt.frames[0].func == "operator new[](unsigned long)"
    assert source(bt, 2) == expect("sym-cxx.cc",
                                   ("outer::inner::Pool<double>::grow(unsigned long)", "pool_grow"),
                                   ("main", "main_pool"))
    bt = by_size(rep, 33)
    assert source(bt, 2) == expect(
        "sym-cxx.cc", ("main::{lambda(unsigned long)#1}::operator()(unsigned long) const",
                       "lambda"), ("main", "main_lambda"))


def test_inlined_helper_is_a_frame_of_its_own():
    bt = by_size(report("sym-cxx"), 48)
    assert source(bt, 3) == expect("sym-cxx.cc", ("make_node", "make_node", "inlined"),
                                   ("build_tree(unsigned long)", "build_tree"),
                                   ("main", "main_tree"))
    # one address: the inlined call and the function that holds it
    assert bt.frames[1].addr == bt.frames[2].addr
    assert bt.frames[1].func_off is None and bt.frames[2].func_off is not None


def test_long_name_shortened_with_markers():
    bt = by_size(report("sym-cxx"), 77)
    f = bt.frames[1]
    assert f.func == "void* alloc_with<...>(Pair<...>)"
    assert f.line == line_of("sym-cxx.cc", "alloc_with")


def test_inlined_frames_in_the_flame_graph():
    r = trace("sym-cxx", opts=["--flame-graph"])
    assert r.returncode == 0 and r.stderr == ""
    stacks = [l.rsplit(" ", 1) for l in r.stdout.splitlines()]
    [tree] = [s for s, n in stacks if n == "48"]
    assert tree.endswith(";main;build_tree(unsigned long);make_node_[i];malloc")
    [pool] = [s for s, n in stacks if n == "80"]
    assert pool.endswith(";main;outer::inner::Pool<double>::grow(unsigned long);"
                         "operator new[](unsigned long)")


# ------------------------------------------------------------ separate debug files

def stripped_copy(tmp_path, name="sym-static"):
    """A copy of sym-static with neither .symtab nor DWARF, and its debug
    file (sym-static.debug) beside it."""
    exe = tmp_path / name
    shutil.copy(STATIC, exe)
    subprocess.run(["objcopy", "--only-keep-debug", str(exe), str(exe) + ".debug"], check=True)
    subprocess.run(["strip", "--strip-all", str(exe)], check=True)
    return exe


def build_id(path):
    out = subprocess.run(["readelf", "-n", str(path)], capture_output=True, text=True).stdout
    return re.search(r"Build ID: ([0-9a-f]+)", out).group(1)


def test_stripped_without_debug_file_has_no_static_names(tmp_path):
    exe = stripped_copy(tmp_path)
    (tmp_path / "sym-static.debug").unlink()
    bt = by_size(report(exe), 111)
    # the static functions are unknown: object and offset, never a neighbour's name
    assert [f.func for f in bt.frames[1:4]] == ["", "", ""]
    assert all(f.obj == str(exe) and f.file == "" for f in bt.frames[1:5])


def test_debuglink(tmp_path):
    exe = stripped_copy(tmp_path)
    subprocess.run(["objcopy", "--add-gnu-debuglink=sym-static.debug", "sym-static"],
                   cwd=tmp_path, check=True)
    check_static_program(report(exe), exe)


def test_debuglink_in_dot_debug(tmp_path):
    exe = stripped_copy(tmp_path)
    subprocess.run(["objcopy", "--add-gnu-debuglink=sym-static.debug", "sym-static"],
                   cwd=tmp_path, check=True)
    (tmp_path / ".debug").mkdir()
    (tmp_path / "sym-static.debug").rename(tmp_path / ".debug" / "sym-static.debug")
    check_static_program(report(exe), exe)


@pytest.mark.parametrize("how", ["option", "variable"])
def test_build_id_under_the_debug_dir(tmp_path, how):
    exe = stripped_copy(tmp_path)
    bid = build_id(exe)
    root = tmp_path / "debugroot"
    d = root / ".build-id" / bid[:2]
    d.mkdir(parents=True)
    (tmp_path / "sym-static.debug").rename(d / (bid[2:] + ".debug"))
    if how == "option":
        rep = report(exe, opts=["--debug-dir=%s" % root])
    else:
        rep = report(exe, env={"HEAPTRACE_DEBUG_DIR": str(root)})
    check_static_program(rep, exe)
    # without the root, the default /usr/lib/debug knows nothing of it
    bt = by_size(report(exe), 111)
    assert bt.frames[1].func == "" and bt.frames[1].file == ""


def test_debug_file_of_another_build_is_refused(tmp_path):
    """A build-id path holding another program's debug file: its lines
    would be wrong, so it is not used."""
    exe = stripped_copy(tmp_path)
    other = tmp_path / "other.debug"
    subprocess.run(["objcopy", "--only-keep-debug", str(BIN / "sym-cxx"), str(other)], check=True)
    bid = build_id(exe)
    d = tmp_path / "root" / ".build-id" / bid[:2]
    d.mkdir(parents=True)
    other.rename(d / (bid[2:] + ".debug"))
    bt = by_size(report(exe, opts=["--debug-dir=%s" % (tmp_path / "root")]), 111)
    assert all(f.file == "" for f in bt.frames)
    assert bt.frames[1].func == ""


# ------------------------------------------------------------ objects that are gone

def test_unloaded_library_is_never_misnamed():
    """The plugin is dlclose'd before the exit report: its addresses are
    nobody's now, and are shown as unknown."""
    bt = by_size(report("sym-static", PLUGIN, "close"), 333)
    assert [(f.func, f.obj) for f in bt.frames[1:3]] == [("", ""), ("", "")]
    assert bt.frames[3].func == "plugin" and bt.frames[3].line == line_of("sym-static.c",
                                                                           "plugin_call")


def test_replaced_library_file_falls_back_to_the_loader(tmp_path):
    """The plugin's file is replaced by another library while loaded: the
    new file's symbols and lines would be wrong (another build-id), so the
    loader's exported names are used; the static function stays unnamed."""
    plugin = tmp_path / "libsym-plugin.so"
    other = tmp_path / "other.so"
    shutil.copy(PLUGIN, plugin)
    shutil.copy(BIN / "libplugin.so", other)  # code and lines at the same offsets
    bt = by_size(report("sym-static", plugin, "replace", other), 333)
    assert [(f.func, f.file) for f in bt.frames[1:3]] == [("", ""), ("plugin_alloc", "")]
    assert bt.frames[1].obj == str(plugin)


def test_deleted_library_file_falls_back_to_the_loader(tmp_path):
    plugin = tmp_path / "libsym-plugin.so"
    shutil.copy(PLUGIN, plugin)
    empty = tmp_path / "empty"
    empty.write_text("")
    bt = by_size(report("sym-static", plugin, "replace", empty), 333)
    assert [(f.func, f.file) for f in bt.frames[1:3]] == [("", ""), ("plugin_alloc", "")]


# ------------------------------------------------------------ dumps

def test_dumps_while_running_give_the_same_names(tmp_path):
    """Two signal dumps and the exit report: the second and third come from
    the cache and must read exactly as the first."""
    out = tmp_path / "out"
    p = Running(tmp_path, "sym-static", "wait", opts=["--outfile=%s" % out, "--top=0"])
    try:
        p.wait_stdout("ready\n")
        for n in (1, 2):
            p.kill(signal.SIGUSR1)
            assert wait_until(lambda: out.exists() and complete_reports(out.read_text()) == n, 10)
        assert p.finish() == 0
    finally:
        p.close()
    reps = parse_reports(out.read_text())
    assert len(reps) == 3
    frames = [[(f.func, f.file, f.line, f.obj, f.obj_off) for f in by_size(r, 111).frames]
              for r in reps]
    assert frames[0] == frames[1] == frames[2]
    assert [f[0] for f in frames[0][1:5]] == [f for f, _ in STATIC_CHAIN]
    # what libbfd allocated for the first dump (and keeps) is heaptrace's:
    # the idle program's heap reads the same in the second (the exit
    # report no longer counts stdio's buffers)
    sizes = [(r.summary["heap traced num of backtrace"],
              r.summary["heap traced allocation size"]) for r in reps]
    assert sizes[0] == sizes[1], sizes
    assert sizes[2] == ("2", "333 bytes in 2 blocks")


def test_ignore_matches_an_inlined_call(tmp_path):
    ign = tmp_path / "ignore"
    ign.write_text("make_node\n")
    rep = report("sym-cxx", opts=["--ignore=%s" % ign])
    assert sorted(b.size for b in rep.backtraces) == ["33 bytes", "77 bytes", "80 bytes"]
    assert rep.summary["hidden by --ignore"] == "1 backtrace, 48 bytes in 1 block"


@pytest.mark.parametrize("top", [1, 0])
def test_only_printed_frames_are_read(top, tmp_path):
    """A report reads the debug information of the frames it prints only:
    with --top=1 (by age: sym-static's own backtrace first), the library
    that only the second backtrace passes through is opened by the loader
    and never by heaptrace; with --top=0, by heaptrace too (libbfd, its
    symbols, its units)."""
    log = tmp_path / "strace.log"
    r = subprocess.run([need("strace"), "-f", "-qq", "-e", "trace=openat", "-o", str(log),
                        str(HEAPTRACE), "--top=%d" % top, "--sort=age", "--leak-check=no",
                        str(STATIC)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lib = str(BIN / "libsym-shared.so")
    shown = [b for b in one_report(r.stderr).backtraces if any(f.obj == lib for f in b.frames)]
    assert len(shown) == (1 if top == 0 else 0)
    found = [line for line in log.read_text().splitlines()
             if '"%s"' % lib in line and "ENOENT" not in line]
    assert (len(found) > 1) == (top == 0), found


# ------------------------------------------------------------------ no libbfd

def private_libs(tmp_path):
    """The loader and the libraries of heaptrace and s-malloc, copied into a
    directory without libbfd: a program run by that loader with that
    library path finds its C library there, and no libbfd beside it."""
    d = tmp_path / "libs"
    d.mkdir()
    out = subprocess.run(["ldd", ROOT / "libheaptrace.so", ROOT / "heaptrace", BIN / "s-malloc"],
                         capture_output=True, text=True, check=True).stdout
    for path in set(re.findall(r"(?:=> )?(/\S+\.so[.\d]*) \(0x", out)):
        shutil.copy(path, d)
    [loader] = d.glob("ld-linux*")
    return loader, d


def test_without_libbfd_says_what_is_missing(tmp_path):
    """Where no libbfd is installed, the report says so once, and names
    functions from the dynamic symbols; --version says it too."""
    loader, libs = private_libs(tmp_path)
    r = run([loader, "--library-path", libs, BIN / "s-malloc"], env={"LD_PRELOAD": str(LIB)})
    assert r.returncode == 0
    first, rest = r.stderr.split("\n", 1)
    assert first == ("heaptrace: no libbfd found (binutils' libbfd-*.so): reports name functions "
                     "from the dynamic symbols only, without file:line, C++ names mangled")
    assert "no libbfd" not in rest
    bt = one_report(rest).backtraces[0]
    assert bt.frames[1].func == "leak_big" and bt.frames[1].file == ""
    v = run([loader, "--library-path", libs, HEAPTRACE, "--version"])
    assert v.stdout.split("\n")[1:3] == [
        "libbfd: none found (binutils' libbfd-*.so): reports name functions from",
        "  the dynamic symbols only, without file:line, C++ names mangled"]
