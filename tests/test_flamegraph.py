# SPDX-License-Identifier: GPL-2.0-or-later
"""--flame-graph: every live backtrace as one folded stack on stdout (or in
--outfile), frames outermost first joined by ';', a space and the live
bytes -- checked against the input rules of flamegraph.pl."""

import re
import shutil
import subprocess

import pytest

from htlib import BIN, LIB, flame_line, fmt_bytes, need, one_report, trace, trace_pid

EXE = BIN / "s-flame"
FLAME_LIVE = 83689
FLAME_LINES = 18
RTLD_DL_LINKMAP = 2  # <dlfcn.h>


def parse_flame(text):
    assert text.endswith("\n")
    return [flame_line(line) for line in text.split("\n")[:-1]]


def by_site(lines):
    """{innermost program function: [(frames, count)]}"""
    res = {}
    for frames, count in lines:
        res.setdefault(frames[-2], []).append((frames, int(count)))
    return res


def strip(exe):
    """Remove exe's full symbol table: static functions lose their names."""
    subprocess.run(["strip", "--strip-all", str(exe)], check=True)


def check_flame(text, exe, stripped=False):
    """unnamed_site is static: named from .symtab, or by object and offset
    once the program is stripped."""
    lines = parse_flame(text)
    assert len(lines) == FLAME_LINES
    assert sum(int(c) for _, c in lines) == FLAME_LIVE
    sites = by_site(lines)
    unnamed = [k for k in sites if k.startswith(str(exe).replace(";", ":") + "+0x")]
    if stripped:
        assert len(unnamed) == 1, sorted(sites)
        assert re.fullmatch(re.escape(str(exe).replace(";", ":")) + r"\+0x[0-9a-f]+", unnamed[0])
    else:
        assert unnamed == [], sorted(sites)
        unnamed = ["unnamed_site"]
    assert sorted(sites) == sorted(["flame_%d" % n for n in range(1, 13)] +
                                   ["two_sites", "calloc_site", "deep_10", "peak_site"] + unnamed)
    for n in range(1, 13):
        [(frames, count)] = sites["flame_%d" % n]
        assert count == 1000 * n
        assert frames[-3:] == ["main", "flame_%d" % n, "malloc"]
        assert frames[0] == "_start"
    # two call sites in one function: two lines, one and the same stack
    two = sites["two_sites"]
    assert sorted(c for _, c in two) == [7, 11]
    assert two[0][0] == two[1][0]
    assert two[0][0][-3:] == ["main", "two_sites", "malloc"]
    # live bytes, not the peak
    [(frames, count)] = sites["peak_site"]
    assert (frames[-3:], count) == (["main", "peak_site", "malloc"], 250)
    [(frames, count)] = sites["calloc_site"]
    assert (frames[-3:], count) == (["main", "calloc_site", "calloc"], 100)
    # deeper than DEPTH=8: the cut is marked at the outer end
    [(frames, count)] = sites["deep_10"]
    assert count == 5000
    assert frames == ["[truncated]"] + ["deep_%02d" % n for n in range(4, 11)] + ["malloc"]
    [(frames, count)] = sites[unnamed[0]]
    assert count == 321 and frames[-3] == "main" and frames[-1] == "malloc"
    # function names without offsets
    for frames, _ in lines:
        for f in frames:
            assert " +0x" not in f and "(" not in f and "\t" not in f, f
    return lines


def test_folded_stacks_on_stdout():
    r = trace("s-flame", opts=["--flame-graph"])
    assert r.returncode == 0
    assert r.stderr == ""
    check_flame(r.stdout, EXE)


def test_flame_totals_match_the_text_report():
    # all backtraces (not only --top's ten), and their bytes are the live heap
    flame = parse_flame(trace("s-flame", opts=["--flame-graph"]).stdout)
    rep = one_report(trace("s-flame", opts=["--top=0"]).stderr)
    assert rep.summary["heap traced num of backtrace"] == str(len(flame))
    assert rep.summary["heap traced allocation size"] == "83.689 KB in 18 blocks"
    assert len(rep.backtraces) == len(flame)
    assert sorted(fmt_bytes(int(c)) for _, c in flame) == sorted(b.size for b in rep.backtraces)


@pytest.mark.parametrize("top", ["--top=1", "--top=0", "--sort=size,count,age"])
def test_top_and_sort_do_not_cut_the_flame_graph(top):
    r = trace("s-flame", opts=["--flame-graph", top])
    assert r.stderr == ""
    check_flame(r.stdout, EXE)


def test_cxx_names_keep_flamegraph_rules():
    r = trace("s-flame-cxx", opts=["--flame-graph"])
    assert r.returncode == 0 and r.stderr == ""
    raw = r.stdout.splitlines()
    assert any("void make_leak<int, 3>();operator new[](unsigned long) 120" in l for l in raw)
    lines = parse_flame(r.stdout)
    assert sorted((f[-2:], int(c)) for f, c in lines) == [
        (["space::Holder::grab(int)", "operator new[](unsigned long)"], 456),
        (["void make_leak(int, 3)()", "operator new[](unsigned long)"], 120),
    ]


def test_semicolon_in_a_name_cannot_split_a_frame(tmp_path):
    # the unnamed site is shown by its object path; put a ';' (and a space
    # followed by digits) into that path
    d = tmp_path / "odd;dir 12"
    d.mkdir()
    exe = d / "s-flame"
    shutil.copy(EXE, exe)
    strip(exe)
    r = trace(exe, opts=["--flame-graph"])
    assert r.returncode == 0 and r.stderr == ""
    assert str(d) not in r.stdout
    check_flame(r.stdout, exe, stripped=True)


def test_flame_graph_to_outfile(tmp_path):
    out = tmp_path / "flame.folded"
    r = trace("s-flame", opts=["--flame-graph", "--outfile=%s" % out])
    assert r.returncode == 0
    assert r.stdout == "" and r.stderr == ""
    check_flame(out.read_text(), EXE)


def test_preload_flame_graph_variable():
    r = trace_pid("s-flame", launcher=False, env={"HEAPTRACE_FLAME_GRAPH": "1"})
    assert r.returncode == 0 and r.stderr == ""
    check_flame(r.stdout, EXE)


@pytest.mark.parametrize("opts, env", [
    (["--format=folded"], {}),
    (["--format=json", "--flame-graph"], {}),    # --flame-graph wins, as it did over --json
    ([], {"HEAPTRACE_FORMAT": "folded"}),
    ([], {"HEAPTRACE_FORMAT": "json", "HEAPTRACE_FLAME_GRAPH": "1"}),
])
def test_format_folded_is_the_flame_graph(opts, env):
    """--format=folded (HEAPTRACE_FORMAT=folded) writes what --flame-graph
    writes, byte for byte; HEAPTRACE_FLAME_GRAPH=1 overrides the format."""
    want = trace("s-flame", opts=["--flame-graph"]).stdout
    r = trace_pid("s-flame", opts=opts, env=env, launcher=bool(opts))
    assert (r.returncode, r.stderr, r.stdout) == (0, "", want)
    check_flame(r.stdout, EXE)


def test_format_folded_refuses_a_key_without_weight():
    r = trace("s-flame", opts=["--format=folded", "--sort=age"])
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == ("heaptrace: --flame-graph cannot weigh backtraces by 'age' (--sort); "
                        "use size, count, peak-share, calls, temporary or leaked\n")


PERL = r'''
while (my $line = <STDIN>) {
    chomp $line;
    my ($stack, $samples) = ($line =~ /^(.*)\s+?(\d+(?:\.\d*)?)$/);
    die "ignored: $line\n" unless defined $samples and defined $stack;
    die "differential: $line\n" if $stack =~ /^(.*)\s+?(\d+(?:\.\d*)?)$/;
    $stack =~ tr/<>/()/;
    print join("|", split(";", $stack)), "\t$samples\n";
}
'''


@pytest.mark.parametrize("prog", ["s-flame", "s-flame-cxx"])
def test_perl_reads_what_python_reads(prog):
    need("perl")
    out = trace(prog, opts=["--flame-graph"]).stdout
    p = subprocess.run(["perl", "-e", PERL], input=out, capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    expect = "".join("%s\t%s\n" % ("|".join(f), c) for f, c in parse_flame(out))
    assert p.stdout == expect


# ------------------------------------------------------------ static functions

STATIC = BIN / "s-flame-static"


def check_static(text, exe, stripped=True):
    lines = parse_flame(text)
    assert len(lines) == 2, "expected two folded stacks, got %d lines" % len(lines)
    got = sorted(lines, key=lambda fc: int(fc[1]))
    (named, n32), (chain, n64) = got
    assert (int(n32), int(n64)) == (32, 64)
    assert named[-3:] == ["main", "named_site", "malloc"]
    assert chain[0] == "[truncated]" and chain[-1] == "malloc"
    assert len(chain) == 9
    if not stripped:
        assert chain[1:-1] == ["static_%d" % n for n in range(2, 9)]
        return
    for f in chain[1:-1]:
        assert re.fullmatch(re.escape(str(exe)) + r"\+0x[0-9a-f]+", f), f
    # seven different return addresses in seven static functions
    assert len(set(chain[1:-1])) == 7


def test_static_functions_named_from_the_symbol_table():
    r = trace("s-flame-static", opts=["--flame-graph"])
    assert r.returncode == 0 and r.stderr == ""
    check_static(r.stdout, STATIC, stripped=False)


def test_stripped_static_functions_by_object_and_offset(tmp_path):
    exe = tmp_path / "s-flame-static"
    shutil.copy(STATIC, exe)
    strip(exe)
    r = trace(exe, opts=["--flame-graph"])
    assert r.returncode == 0 and r.stderr == ""
    check_static(r.stdout, exe)


def test_long_object_path_keeps_one_line_per_backtrace(tmp_path):
    # a program in a deep directory (about 1,100 characters of path), all
    # of whose frames are named by that path: every backtrace must still be
    # one whole line ending in its count
    d = tmp_path.joinpath(*["d" * 200] * 5)
    d.mkdir(parents=True)
    exe = d / "s-flame-static"
    shutil.copy(STATIC, exe)
    strip(exe)
    r = trace(exe, opts=["--flame-graph"])
    assert r.returncode == 0 and r.stderr == ""
    check_static(r.stdout, exe)


def symbolizations(tmp_path, env):
    """How many addresses heaptrace resolved to names while s-flame ran and
    wrote its exit report with env: symbols.c's resolve() asks the loader
    for each address's object (dladdr1 with RTLD_DL_LINKMAP, the 4th
    argument, in rcx on x86-64; nothing else does), counted by gdb."""
    cmds = tmp_path / "gdb.cmds"
    cmds.write_text("\n".join(
        ["set pagination off", "set breakpoint pending on",
         "set environment LD_PRELOAD=%s" % LIB] +
        ["set environment %s=%s" % kv for kv in env.items()] +
        ["set environment HEAPTRACE_OUTFILE=%s" % (tmp_path / "out"),
         "break dladdr1 if $rcx == %d" % RTLD_DL_LINKMAP,
         "commands", "silent", "continue", "end",
         "run", "info breakpoints", ""]))
    r = subprocess.run([need("gdb"), "-batch", "-x", str(cmds), str(EXE)],
                       capture_output=True, text=True, timeout=120)
    assert "exited normally" in r.stdout, r.stdout + r.stderr
    m = re.search(r"breakpoint already hit (\d+) times?", r.stdout)
    assert m, "dladdr1 never called:\n" + r.stdout + r.stderr
    return int(m.group(1))


def test_flame_graph_symbolizes_each_address_once(tmp_path):
    """The folded stacks of every live backtrace name each distinct address
    once (frames shared by backtraces are not looked up again), as the text
    report of the same backtraces does: one look-up per distinct frame the
    text report prints (an address as frame 0, or as a return address),
    not one per frame line."""
    rep = one_report(trace("s-flame", opts=("--top=0",)).stderr)
    lines = [(i, f.addr) for b in rep.backtraces for i, f in enumerate(b.frames)]
    distinct = {(i == 0, a) for i, a in lines}
    folded = symbolizations(tmp_path, {"HEAPTRACE_FLAME_GRAPH": "1"})
    text = symbolizations(tmp_path, {"HEAPTRACE_TOP": "0"})
    assert folded == text == len(distinct) < len(lines), (folded, text, len(distinct), len(lines))
