# SPDX-License-Identifier: GPL-2.0-or-later
"""--depth=N (HEAPTRACE_DEPTH): frames kept per backtrace, chosen at run
time from 1 to 256, the build's DEPTH (8) by default.  A backtrace keeps
exactly N frames and its cut line names N and how to see more; the JSON
report, --diff and the flame graph follow; bad values are refused by the
launcher and warned about by the library; the hooks never take the deeper
frames from the program's stack; signal handlers' backtraces keep their
depth."""

import json

import pytest

from htlib import (BIN, HEAPTRACE, flame_line, fmt_bytes, limit, one_report, outside_lines,
                   preload, run, stack_use, trace)

RANGE = "is not a number of frames from 1 to 256"


def cut_line(depth):
    hint = ": --depth=N shows more" if depth < 256 else ""
    return "... more frames (the backtrace was cut at depth %d%s)" % (depth, hint)


def only_bt(r, size):
    assert (r.returncode, r.stdout) == (0, ""), r.stderr[-2000:]
    bts = one_report(r.stderr).backtraces
    assert [b.size for b in bts] == [size]
    return bts[0]


def deep25(*opts, env=None):
    """s-deep25: malloc, deep x 24, main and the C start-up: 29 frames."""
    return only_bt(trace("s-deep25", opts=opts, env=env), "777 bytes")


# ------------------------------------------------------------------ the depth

@pytest.mark.parametrize("depth", [1, 2, 8, 20, 26])
def test_depth_keeps_exactly_n_frames(depth):
    bt = deep25("--depth=%d" % depth)
    assert bt.funcs == (["malloc"] + ["deep"] * 24 + ["main"])[:depth]
    assert (bt.truncated, bt.cut, bt.cut_line) == (True, "depth", cut_line(depth))


@pytest.mark.parametrize("depth", [29, 30, 256])
def test_depth_holds_the_whole_stack(depth):
    bt = deep25("--depth=%d" % depth)
    assert bt.funcs[:26] == ["malloc"] + ["deep"] * 24 + ["main"]
    assert bt.funcs[-1] == "_start" and len(bt.funcs) == 29
    assert (bt.truncated, bt.cut_line) == (False, "")


def test_default_is_the_builds_depth():
    bt = deep25()
    assert bt.funcs == ["malloc"] + ["deep"] * 7
    assert bt.cut_line == cut_line(8)


@pytest.mark.parametrize("calls, frames, cut", [(250, 255, False), (251, 256, False),
                                                (252, 256, True), (1000, 256, True)])
def test_depth_256(calls, frames, cut):
    """s-recurse N: N + 5 frames.  At the deepest depth a stack of exactly
    256 frames is whole, one frame more is cut, and the cut line has no
    depth to suggest."""
    bt = only_bt(trace("s-recurse", str(calls), opts=["--depth=256", "--top=0"]), "555 bytes")
    assert len(bt.frames) == frames
    assert bt.funcs[:frames - 5] == ["malloc"] + ["down"] * (frames - 6)
    assert (bt.truncated, bt.cut_line) == (cut, cut_line(256) if cut else "")
    if not cut:
        assert bt.funcs[-5:] == ["down", "main", "__libc_start_call_main",
                                 "__libc_start_main", "_start"]


# ------------------------------------------------------------------ HEAPTRACE_DEPTH

def test_environment_variable_preloaded_by_hand():
    r = preload("s-deep25", env={"HEAPTRACE_DEPTH": "20"})
    bt = only_bt(r, "777 bytes")
    assert bt.funcs == ["malloc"] + ["deep"] * 19
    assert bt.cut_line == cut_line(20)


def test_environment_variable_through_the_launcher():
    """The launcher leaves HEAPTRACE_DEPTH alone; --depth overrides it."""
    assert len(deep25(env={"HEAPTRACE_DEPTH": "12"}).frames) == 12
    assert len(deep25("--depth=5", env={"HEAPTRACE_DEPTH": "12"}).frames) == 5


@pytest.mark.parametrize("value", ["0", "257", "1000", "abc", "", "-3", "12x"])
def test_bad_environment_value_warns_and_uses_the_default(value):
    r = preload("s-deep25", env={"HEAPTRACE_DEPTH": value})
    warn = outside_lines(r.stderr)
    assert warn == ["heaptrace: HEAPTRACE_DEPTH='%s' %s; using the default '8'" % (value, RANGE)]
    bt = only_bt(r, "777 bytes")
    assert bt.funcs == ["malloc"] + ["deep"] * 7 and bt.cut_line == cut_line(8)


@pytest.mark.parametrize("value", ["0", "257", "abc"])
def test_bad_depth_option_exits_2(tmp_path, value):
    marker = tmp_path / "ran"
    r = run([HEAPTRACE, "--depth=%s" % value, BIN / "s-touch", marker])
    assert (r.returncode, r.stdout, r.stderr) == \
        (2, "", "heaptrace: --depth: '%s' %s\n" % (value, RANGE))
    assert not marker.exists()


def test_depth_is_read_before_the_constructor():
    """s-early: a library's constructor allocates before heaptrace's has
    run; those backtraces have the chosen depth already, and a bad value
    is warned about once, though it is read before the constructor."""
    r = trace("s-early", opts=["--depth=4", "--top=0"])
    assert r.returncode == 0, r.stderr[-2000:]
    early = one_report(r.stderr).backtraces
    assert len(early) == 6
    for bt in early:
        assert len(bt.frames) == 4 and bt.funcs[2] == "lib_ctor_init"
        assert bt.cut_line == cut_line(4)
    r = preload("s-early", env={"HEAPTRACE_DEPTH": "0"})
    assert outside_lines(r.stderr)[1:] == []
    assert outside_lines(r.stderr)[0] == \
        "heaptrace: HEAPTRACE_DEPTH='0' %s; using the default '8'" % RANGE


# ------------------------------------------------------------------ JSON, --diff, flame graph

def test_json_says_the_depth(tmp_path):
    out = tmp_path / "r.json"
    r = trace("s-deep25", opts=["--json", "--depth=20", "--outfile=%s" % out])
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["depth"] == 20
    [bt] = doc["sections"][0]["backtraces"]
    assert (len(bt["frames"]), bt["truncated"], bt["cut"]) == (20, True, "depth")


def test_diff_cut_line_names_the_reports_depth(tmp_path):
    """--diff writes the cut line with the depth of the new report."""
    new = tmp_path / "new.json"
    r = trace("s-deep25", opts=["--json", "--depth=20", "--outfile=%s" % new])
    assert r.returncode == 0, r.stderr
    doc = json.loads(new.read_text())
    for sec in doc["sections"]:
        sec["backtraces"] = []
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps(doc) + "\n")
    r = run([HEAPTRACE, "--diff", empty, new])
    [bt] = one_report(r.stdout).backtraces
    assert bt.funcs == ["malloc"] + ["deep"] * 19
    assert (bt.growth_size, bt.cut_line) == ("+777 bytes", cut_line(20))


def test_flame_graph_truncated_only_when_cut():
    """s-flame's deep_10 chain is 15 frames: cut at the default 8, whole at 20."""
    deep = {}
    for depth in (8, 20):
        r = trace("s-flame", opts=["--flame-graph", "--depth=%d" % depth])
        assert r.returncode == 0, r.stderr
        lines = [flame_line(line) for line in r.stdout.splitlines()]
        deep[depth] = [f for f, _ in lines if "deep_10" in f]
        truncated = [f for f, _ in lines if f[0] == "[truncated]"]
        assert truncated == (deep[8] if depth == 8 else [])
    assert deep[8] == [["[truncated]"] + ["deep_%02d" % n for n in range(4, 11)] + ["malloc"]]
    assert deep[20] == [["_start", "__libc_start_main", "__libc_start_call_main", "main"] +
                        ["deep_%02d" % n for n in range(1, 11)] + ["malloc"]]


# ------------------------------------------------------------------ stacks and handlers

@pytest.mark.parametrize("unwind", ["dwarf", "fp"])
def test_deep_frames_are_not_on_the_programs_stack(unwind):
    """s-stackuse: at --depth=256 a hook takes what it takes at the default
    depth below the program's call (257 frames would be 2 KB more): the hot
    path under 1 KB more than glibc's malloc, a new backtrace within the
    walk's budget."""
    plain = stack_use([BIN / "s-stackuse"])
    deep = stack_use([HEAPTRACE, "--unwind=" + unwind, "--depth=256", BIN / "s-stackuse"])
    for call in ["malloc", "calloc", "realloc"]:
        assert deep[call + "-known"] - plain[call + "-known"] < 1024, (call, plain, deep)
        assert deep[call + "-new"] < limit("HT_STACK_WALK"), (call, deep)


@pytest.mark.parametrize("calls", ["0", "20"])
def test_coroutine_on_a_4k_stack_at_depth_256(calls):
    """s-coroutine 4096 N: allocations on a 4 KB makecontext() stack, N calls
    down (SIGSEGV with 257 frames on it): at --depth=256 the same backtrace
    as at the default depth, the same blocks."""
    reps = []
    for opts in ([], ["--depth=256"]):
        r = trace("s-coroutine", "4096", calls, opts=opts + ["--top=0"], timeout=60)
        assert (r.returncode, r.stdout) == (0, "done\n"), r.stderr[-2000:]
        reps.append(one_report(r.stderr))
    co = [[(b.funcs, b.count, b.size, b.cut) for b in rep.backtraces
           if b.frames[1].func == "co_alloc"] for rep in reps]
    assert co[0] == co[1] and len(co[1]) == 1
    assert co[1][0][1:] == (1, "32 bytes", "stack")
    since = [rep.summary["allocations since start"] for rep in reps]
    assert since == ["1011 calls, %s" % fmt_bytes(33032)] * 2


@pytest.mark.parametrize("depth", [64, 256])
def test_handlers_interrupting_deep_captures(depth):
    """s-sigalloc: handlers allocate inside hooks that are unwinding deep
    stacks; every block is recorded, none with a backtrace cut short for
    want of room to unwind into."""
    for _ in range(5):
        r = trace("s-sigalloc", opts=["--depth=%d" % depth, "--top=0"], timeout=60)
        assert (r.returncode, r.stdout) == (0, "kept 1000\n"), r.stderr[-2000:]
        rep = one_report(r.stderr)
        assert rep.summary["heap traced allocation size"] == \
            "%s in 1000 blocks" % fmt_bytes(1000 * 300)
        assert "missed in signal handlers" not in rep.summary
        assert [b for b in rep.backtraces if b.cut == "stack"] == []
        assert all(b.frames[1].func == "handler_site" for b in rep.backtraces)
