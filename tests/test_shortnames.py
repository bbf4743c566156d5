# SPDX-License-Identifier: GPL-2.0-or-later
"""--short-names (HEAPTRACE_SHORT_NAMES): the standard library's aliases
and collapsed template arguments in the text report and flame graphs;
the same numbers; JSON keeps the full names (tests/s-shortnames.cc; the
rules themselves: tests/unit-utils.c, cxxname.c)."""

import json

from htlib import one_report, trace

EXE = "s-shortnames"
STRING = "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >"
# backtrace by its size: (frame 1, frame 2) in full, and shortened
FULL = {101: (STRING + "::_M_construct(unsigned long, char)",
              "keep_name(%s const&)" % STRING),
        48: ("__static_initialization_and_destruction_0(int, int)", None)}
SHORT = {101: ("std::string::_M_construct(unsigned long, char)", "keep_name(std::string const&)"),
         48: ("__static_initialization_and_destruction_0(int, int)", None)}


def frames_by_size(text):
    """{live bytes: [function of each frame]}"""
    return {int(bt.size.split()[0]): bt.funcs for bt in one_report(text).backtraces}


def check(funcs, want):
    for size, (one, three) in want.items():
        assert funcs[size][1] == one
        if three:
            assert funcs[size][3] == three


def test_text_full_by_default():
    check(frames_by_size(trace(EXE).stderr), FULL)


def test_text_short():
    full = frames_by_size(trace(EXE).stderr)
    short = frames_by_size(trace(EXE, opts=["--short-names"]).stderr)
    check(short, SHORT)
    assert sorted(full) == sorted(short) == [48, 96, 101]   # the same backtraces
    node = short[96]
    assert node[1] == ("std::__new_allocator<std::_Rb_tree_node<...> >::allocate("
                       "unsigned long, void const*)")
    assert all("basic_string<char" not in f for fs in short.values() for f in fs)


def test_environment_variable():
    r = trace(EXE, env={"HEAPTRACE_SHORT_NAMES": "1"})
    check(frames_by_size(r.stderr), SHORT)


def test_json_keeps_full_names():
    r = trace(EXE, opts=["--short-names", "--json"])
    doc = json.loads(r.stderr)
    funcs = [f["function"] for s in doc["sections"] for bt in s["backtraces"] for f in bt["frames"]]
    assert "keep_name(%s const&)" % STRING in funcs
    assert "keep_name(std::string const&)" not in funcs


def test_flame_graph_short():
    r = trace(EXE, opts=["--short-names", "--flame-graph"])
    stacks = [line.rsplit(" ", 1)[0].split(";") for line in r.stdout.splitlines()]
    [string] = [s for s in stacks if s[-2] == "std::string::_M_construct(unsigned long, char)"]
    assert string[-4] == "keep_name(std::string const&)"
    assert all("basic_string<char" not in f for s in stacks for f in s)
