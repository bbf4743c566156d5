# SPDX-License-Identifier: GPL-2.0-or-later
"""The library preloaded by hand reads the same HEAPTRACE_* variables as
the launcher sets; a value it cannot parse costs exactly one warning line
naming the variable and the value, the default is used, and the program
runs on with its own output and exit status."""

import pytest

from htlib import BIN, flame_line, one_report, outside_lines, sites, trace_pid

EXE = BIN / "s-many"
BY_SIZE = ["leak_%02d" % n for n in range(12, 0, -1)]
BY_AGE = ["leak_07", "leak_02", "leak_11", "leak_05", "leak_01", "leak_12",
          "leak_09", "leak_03", "leak_06", "leak_10", "leak_04", "leak_08"]


def run(env):
    r = trace_pid("s-many", launcher=False, env=env)
    assert r.returncode == 5
    assert r.stdout == "s-many: done\n"
    return r


def test_defaults():
    r = run({})
    assert outside_lines(r.stderr) == []
    rep = one_report(r.stderr)
    assert [(s.key, s.pid, s.comm) for s in rep.sections] == [("size", r.pid, "s-many")]
    assert sites(rep.sections[0], EXE) == BY_SIZE[:10]


@pytest.mark.parametrize("var,value", [
    ("HEAPTRACE_TOP", "abc"),
    ("HEAPTRACE_TOP", "-1"),
    ("HEAPTRACE_TOP", "3x"),
    ("HEAPTRACE_TOP", "99999999999999999999999"),
    ("HEAPTRACE_SORT", "bogus"),
    ("HEAPTRACE_SORT", "size,bogus"),
    ("HEAPTRACE_SORT", "size,size"),
    ("HEAPTRACE_SORT", "SIZE"),
    ("HEAPTRACE_FLAME_GRAPH", "maybe"),
    ("HEAPTRACE_FLAME_GRAPH", "2"),
    ("HEAPTRACE_UNWIND", "dwarf2"),
])
def test_invalid_value_one_warning_and_default(var, value):
    r = run({var: value})
    warn = outside_lines(r.stderr)
    assert len(warn) == 1, "expected one warning line, got %r" % warn
    assert warn[0].startswith("heaptrace: ")
    assert var in warn[0] and value in warn[0]
    # the defaults: a text report (not a flame graph), by size, ten backtraces
    rep = one_report(r.stderr)
    assert [(s.key, s.pid) for s in rep.sections] == [("size", r.pid)]
    assert sites(rep.sections[0], EXE) == BY_SIZE[:10]
    assert rep.summary["heap traced num of backtrace"] == "10"


def test_warning_for_a_value_with_a_newline_is_one_line():
    r = run({"HEAPTRACE_SORT": "bo\ngus"})
    warn = outside_lines(r.stderr)
    assert len(warn) == 1, "expected one warning line, got %r" % warn
    assert warn[0].startswith("heaptrace: ") and "HEAPTRACE_SORT" in warn[0]
    assert "bo" in warn[0] and "gus" in warn[0]
    rep = one_report(r.stderr)
    assert [s.key for s in rep.sections] == ["size"]


@pytest.mark.parametrize("kind", ["missing", "directory", "binary"])
def test_unusable_ignore_file_one_warning_nothing_hidden(tmp_path, kind):
    path = {"missing": tmp_path / "no-such-file", "directory": tmp_path,
            "binary": tmp_path / "binary"}[kind]
    if kind == "binary":
        path.write_bytes(b"leak_12\n\0leak_11\n")
    r = run({"HEAPTRACE_IGNORE": str(path), "HEAPTRACE_TOP": "0"})
    warn = outside_lines(r.stderr)
    assert len(warn) == 1, "expected one warning line, got %r" % warn
    assert warn[0].startswith("heaptrace: ") and str(path) in warn[0]
    rep = one_report(r.stderr)
    assert sites(rep.sections[0], EXE) == BY_SIZE
    assert "hidden by --ignore" not in rep.summary


def test_invalid_value_keeps_the_valid_ones():
    r = run({"HEAPTRACE_TOP": "abc", "HEAPTRACE_SORT": "age,count",
             "HEAPTRACE_FLAME_GRAPH": "maybe"})
    warn = outside_lines(r.stderr)
    assert len(warn) == 2
    assert "HEAPTRACE_TOP" in warn[0] + warn[1] and "HEAPTRACE_FLAME_GRAPH" in warn[0] + warn[1]
    rep = one_report(r.stderr)
    assert [s.key for s in rep.sections] == ["age", "count"]
    assert sites(rep.section("age"), EXE) == BY_AGE[:10]


def test_valid_sort_and_top():
    r = run({"HEAPTRACE_SORT": "age,size", "HEAPTRACE_TOP": "3"})
    assert outside_lines(r.stderr) == []
    rep = one_report(r.stderr)
    assert [s.key for s in rep.sections] == ["age", "size"]
    assert sites(rep.section("age"), EXE) == BY_AGE[:3]
    assert sites(rep.section("size"), EXE) == BY_SIZE[:3]


def test_top_zero_shows_all():
    rep = one_report(run({"HEAPTRACE_TOP": "0"}).stderr)
    assert sites(rep.sections[0], EXE) == BY_SIZE


@pytest.mark.parametrize("value,flame", [("1", True), ("yes", True), ("TRUE", True),
                                         ("on", True), ("0", False), ("off", False),
                                         ("no", False)])
def test_flame_graph_values(value, flame):
    r = trace_pid("s-many", launcher=False, env={"HEAPTRACE_FLAME_GRAPH": value})
    assert r.returncode == 5
    out = r.stdout.splitlines()
    assert out.count("s-many: done") == 1
    if flame:
        assert r.stderr == ""
        # the program's own line and the folded stacks share stdout
        out.remove("s-many: done")
        lines = [flame_line(l) for l in out]
        assert sorted(f[-2] for f, _ in lines) == sorted(BY_SIZE)
        assert sum(int(c) for _, c in lines) == sum(101 * n for n in range(1, 13))
    else:
        assert out == ["s-many: done"]
        assert outside_lines(r.stderr) == []
        assert len(one_report(r.stderr).sections[0].backtraces) == 10
