# SPDX-License-Identifier: GPL-2.0-or-later
"""--ignore FILE: glob patterns, one a line, against function names and
object paths (full or base name); comments and blank lines skipped,
surrounding blanks trimmed; hidden backtraces leave the listing and the
flame graph and are counted in the summary."""

import time

import pytest

from htlib import (BIN, HIDDEN_KEY, SUMMARY_KEYS, flame_line, fmt_bytes, one_report, outside_lines,
                   parse_reports, plural, preload, sites, trace, trace_pid)

EXE = BIN / "s-ignore"
# frame 1 of each site: live bytes, backtraces, blocks
ALL = {"keep_me": 100, "hide_by_name": 200, "hide_glob_one": 300, "hide_glob_two": 800,
       "spaced_name": 500, "commented": 600, "inner_alloc": 900}
ALL_BTS = {"keep_me": 1, "hide_by_name": 1, "hide_glob_one": 1, "hide_glob_two": 2,
           "spaced_name": 1, "commented": 1, "inner_alloc": 1}
ALL_BLOCKS = dict(ALL_BTS, hide_glob_one=3)

IGNORE_TEXT = (
    "# heaptrace ignore file\n"
    "# commented\n"
    "#commented\n"
    "\n"
    "hide_by_name\n"
    "\n"
    "hide_glob_*\n"
    "  \tspaced_name \t\n"
    "   \n"
    "outer_caller\n"
    "\t\n"
)
# outer_caller is frame 2 of inner_alloc's backtrace: any frame counts
HIDDEN = ["hide_by_name", "hide_glob_one", "hide_glob_two", "spaced_name", "inner_alloc"]


def write_ignore(tmp_path, text, name="ignore.txt"):
    f = tmp_path / name
    f.write_text(text)
    return f


def visible(rep):
    """{function of frame 1: live bytes} summed over the listed backtraces
    (every size here is below 1000: "N bytes")."""
    res = {}
    for b in rep.sections[0].backtraces:
        n, unit = b.size.split()
        assert unit == "bytes"
        res[b.frames[1].func] = res.get(b.frames[1].func, 0) + int(n)
    return res


def hidden_line(names, extra_bts=0, extra_bytes=0, extra_blocks=0):
    bts = sum(ALL_BTS[n] for n in names) + extra_bts
    size = sum(ALL[n] for n in names) + extra_bytes
    blocks = sum(ALL_BLOCKS[n] for n in names) + extra_blocks
    return "%s, %s in %s" % (plural(bts, "backtrace"), fmt_bytes(size), plural(blocks, "block"))


def test_no_ignore_file_shows_everything():
    rep = one_report(trace("s-ignore", opts=["--top=0"]).stderr)
    assert visible(rep) == ALL
    assert list(rep.summary) == SUMMARY_KEYS


def test_patterns_comments_blanks_and_trimming(tmp_path):
    f = write_ignore(tmp_path, IGNORE_TEXT)
    r = trace("s-ignore", opts=["--top=0", "--ignore=%s" % f])
    assert r.returncode == 0
    rep = one_report(r.stderr)
    # "commented" appears only in a comment: it stays
    assert visible(rep) == {"keep_me": 100, "commented": 600}
    assert sites(rep.sections[0], EXE) == ["commented", "keep_me"]
    summary = list(rep.summary)
    assert summary == SUMMARY_KEYS[:2] + [HIDDEN_KEY] + SUMMARY_KEYS[2:]
    assert rep.summary[HIDDEN_KEY] == hidden_line(HIDDEN) == "6 backtraces, 2.700 KB in 8 blocks"
    assert rep.summary["heap traced num of backtrace"] == "2"
    assert rep.summary["heap traced allocation size"] == "700 bytes in 2 blocks"
    # everything allocated is still counted since start
    assert rep.summary["allocations since start"] == "10 calls, 3.400 KB"


@pytest.mark.parametrize("text", ["\n", "\n\n\n", "   \n\t\n", "# only a comment\n\n",
                                  "", "\r\n", "#\n#\n"])
def test_blank_and_comment_lines_hide_nothing(tmp_path, text):
    f = write_ignore(tmp_path, text)
    r = trace("s-ignore", opts=["--top=0", "--ignore=%s" % f])
    rep = one_report(r.stderr)
    assert visible(rep) == ALL
    assert HIDDEN_KEY not in rep.summary
    assert r.stderr.count("\n") == trace("s-ignore", opts=["--top=0"]).stderr.count("\n")


def test_crlf_lines_are_trimmed(tmp_path):
    f = write_ignore(tmp_path, IGNORE_TEXT.replace("\n", "\r\n"))
    rep = one_report(trace("s-ignore", opts=["--top=0", "--ignore=%s" % f]).stderr)
    assert visible(rep) == {"keep_me": 100, "commented": 600}


def test_last_line_without_newline(tmp_path):
    f = write_ignore(tmp_path, "keep_me\nhide_by_name")
    rep = one_report(trace("s-ignore", opts=["--top=0", "--ignore=%s" % f]).stderr)
    assert set(visible(rep)) == set(ALL) - {"keep_me", "hide_by_name"}
    assert rep.summary[HIDDEN_KEY] == hidden_line(["keep_me", "hide_by_name"])


@pytest.mark.parametrize("pattern,hidden", [
    ("hide_glob_?ne", ["hide_glob_one"]),
    ("hide_glob_[t]*", ["hide_glob_two"]),
    ("*_name", ["hide_by_name", "spaced_name"]),
    ("hide_*", ["hide_by_name", "hide_glob_one", "hide_glob_two"]),
    ("keep", []),            # literal: whole names only
    ("keep_me*", ["keep_me"]),
    ("outer_*", ["inner_alloc"]),   # a caller's frame
])
def test_globs_match_whole_function_names(tmp_path, pattern, hidden):
    f = write_ignore(tmp_path, pattern + "\n")
    rep = one_report(trace("s-ignore", opts=["--top=0", "--ignore=%s" % f]).stderr)
    assert set(visible(rep)) == set(ALL) - set(hidden)
    if hidden:
        assert rep.summary[HIDDEN_KEY] == hidden_line(hidden)
    else:
        assert HIDDEN_KEY not in rep.summary


def test_everything_hidden_still_reports_what_was_hidden(tmp_path):
    # every backtrace passes through main: all are hidden.  The blocks are
    # live (not freed), so the exit report is due, and it must say what
    # --ignore hid rather than look like a program without leaks
    f = write_ignore(tmp_path, "main\n")
    r = trace("s-ignore", opts=["--top=0", "--ignore=%s" % f])
    assert r.returncode == 0
    rep = one_report(r.stderr)
    assert rep.sections[0].backtraces == []
    assert rep.summary["heap traced num of backtrace"] == "0"
    assert rep.summary["heap traced allocation size"] == "0 bytes in 0 blocks"
    assert rep.summary[HIDDEN_KEY] == hidden_line(list(ALL))


# ------------------------------------------------------------ object paths

@pytest.fixture(scope="module")
def plugin():
    return BIN / "libhtplug.so"


def run_plugin(plugin, ignore=None, opts=()):
    o = ["--top=0", *opts] + (["--ignore=%s" % ignore] if ignore else [])
    return trace("s-ignore", opts=o, env={"LD_PRELOAD": str(plugin)})


def test_plugin_is_listed_without_ignore(plugin):
    rep = one_report(run_plugin(plugin).stderr)
    want = dict(ALL, plugin_leak=700)
    assert visible(rep) == want
    b = [b for b in rep.backtraces if b.frames[1].func == "plugin_leak"]
    assert len(b) == 1 and b[0].frames[1].obj == str(plugin)


@pytest.mark.parametrize("how", ["basename", "full", "glob-full", "glob-base"])
def test_object_path_patterns(tmp_path, plugin, how):
    pattern = {"basename": "libhtplug.so", "full": str(plugin),
               "glob-full": "*/libhtplug.s?", "glob-base": "libht*"}[how]
    f = write_ignore(tmp_path, "# by object\n%s\n" % pattern)
    rep = one_report(run_plugin(plugin, f).stderr)
    assert visible(rep) == ALL
    assert rep.summary[HIDDEN_KEY] == "1 backtrace, 700 bytes in 1 block"


def test_directory_part_alone_does_not_match(tmp_path, plugin):
    f = write_ignore(tmp_path, "%s\nplugin\nlibhtplug\n" % plugin.parent)
    rep = one_report(run_plugin(plugin, f).stderr)
    assert visible(rep) == dict(ALL, plugin_leak=700)
    assert HIDDEN_KEY not in rep.summary


# ------------------------------------------------------------ C++ names

@pytest.mark.parametrize("pattern,hidden,shown", [
    ("void make_leak<int, 3>()", "void make_leak<int, 3>()", "space::Holder::grab(int)"),
    ("space::*", "space::Holder::grab(int)", "void make_leak<int, 3>()"),
    ("  void make_leak<int, 3>() \t", "void make_leak<int, 3>()", "space::Holder::grab(int)"),
])
def test_demangled_cxx_names(tmp_path, pattern, hidden, shown):
    f = write_ignore(tmp_path, pattern + "\n")
    rep = one_report(trace("s-flame-cxx", opts=["--ignore=%s" % f]).stderr)
    assert [b.frames[1].func for b in rep.backtraces] == [shown]
    assert rep.summary[HIDDEN_KEY] == "1 backtrace, %s in 1 block" % \
        {"void make_leak<int, 3>()": "120 bytes", "space::Holder::grab(int)": "456 bytes"}[hidden]


# ------------------------------------------------------------ flame graph

def test_hidden_backtraces_leave_the_flame_graph(tmp_path):
    f = write_ignore(tmp_path, IGNORE_TEXT)
    r = trace("s-ignore", opts=["--flame-graph", "--ignore=%s" % f])
    assert r.returncode == 0 and r.stderr == ""
    lines = [flame_line(l) for l in r.stdout.splitlines()]
    assert sorted((fr[-2], int(c)) for fr, c in lines) == [("commented", 600), ("keep_me", 100)]


# ------------------------------------------------------------ big files

def test_hundred_thousand_literal_lines(tmp_path):
    names = ["no_such_function_%06d" % i for i in range(100000)]
    names[54321] = "hide_by_name"
    names[99999] = "spaced_name"
    f = write_ignore(tmp_path, "\n".join(names) + "\n")
    t0 = time.monotonic()
    r = trace_pid("s-ignore", opts=["--top=0", "--ignore=%s" % f], timeout=20)
    took = time.monotonic() - t0
    assert r.returncode == 0
    rep = one_report(r.stderr)
    assert set(visible(rep)) == set(ALL) - {"hide_by_name", "spaced_name"}
    assert rep.summary[HIDDEN_KEY] == hidden_line(["hide_by_name", "spaced_name"])
    assert took < 10, "100,000 patterns took %.1f s" % took


def test_preload_reads_the_ignore_variable(tmp_path):
    f = write_ignore(tmp_path, IGNORE_TEXT)
    r = trace_pid("s-ignore", launcher=False,
                  env={"HEAPTRACE_IGNORE": str(f), "HEAPTRACE_TOP": "0"})
    assert r.returncode == 0
    rep = one_report(r.stderr)
    assert visible(rep) == {"keep_me": 100, "commented": 600}
    assert rep.summary[HIDDEN_KEY] == hidden_line(HIDDEN)


def test_preloaded_relative_ignore_reaches_children_after_chdir(tmp_path):
    # resolved against the start directory, for the program and for what
    # it executes after a chdir (s-fork leaf, whose only leak is hidden)
    write_ignore(tmp_path, "leaf_leak\n")
    (tmp_path / "elsewhere").mkdir()
    r = preload(BIN / "s-chdir", tmp_path / "elsewhere", BIN / "s-fork", "leaf",
                env={"HEAPTRACE_IGNORE": "ignore.txt", "HEAPTRACE_TRACE_CHILDREN": "1"},
                cwd=tmp_path, timeout=60)
    assert r.returncode == 0
    leaf_pid = int(r.stdout.split()[1])
    # the leaf exits first
    leaf, root = parse_reports(r.stderr)
    assert leaf.sections[0].pid == leaf_pid != root.sections[0].pid
    assert [b.frames[1].func for b in root.backtraces] == ["leak_after_chdir"]
    assert leaf.backtraces == []
    assert leaf.summary[HIDDEN_KEY] == "1 backtrace, 123 bytes in 1 block"
    assert outside_lines(r.stderr) == []
