# SPDX-License-Identifier: GPL-2.0-or-later
"""The report's views of the past: sections by peak, peak-share, calls and
temporary list every backtrace they rank, freed or not, and say so in
their header line; a flame graph weighs each backtrace by the measure of
the first sort key (or is refused); each dump of a flame graph is usable
alone.  tests/s-views has one call site per case, with known numbers."""

import json
import signal
import subprocess

import pytest

from htlib import (BIN, HEAPTRACE, LIB, LISTS, Running, flame_line, one_report, run, sites, trace,
                   wait_until)

EXE = BIN / "s-views"

# site: (live blocks, live bytes, peak blocks, peak bytes, calls, bytes, temporary)
VIEWS = {
    "small_many": (60, "480 bytes", 60, "480 bytes", 60, "480 bytes", 0),
    "big_gone": (0, "0 bytes", 20, "200 KB", 20, "200 KB", 0),
    "temp_churn": (0, "0 bytes", 1, "32 bytes", 40, "1.280 KB", 40),
    "pairs": (0, "0 bytes", 2, "48 bytes", 20, "480 bytes", 10),
    "fifo": (0, "0 bytes", 2, "48 bytes", 24, "576 bytes", 0),
    "grow_start": (0, "0 bytes", 1, "16 bytes", 1, "16 bytes", 1),
    "grow_step": (1, "128 bytes", 1, "128 bytes", 3, "224 bytes", 2),
    "calloc_temp": (0, "0 bytes", 1, "100 bytes", 5, "500 bytes", 5),
    "failed_grow": (0, "0 bytes", 1, "40 bytes", 2, "80 bytes", 1),
    "after_fail": (1, "8 bytes", 1, "8 bytes", 1, "8 bytes", 0),
}
ORDERS = {
    "size": ["small_many", "grow_step", "after_fail"],
    # count ties (grow_step, after_fail: 1) go to more live bytes
    "count": ["small_many", "grow_step", "after_fail"],
    # peak ties (pairs, fifo: 48 bytes) go to the first seen
    "peak": ["big_gone", "small_many", "grow_step", "calloc_temp", "pairs", "fifo",
             "failed_grow", "temp_churn", "grow_start", "after_fail"],
    "peak-share": ["big_gone", "small_many"],
    # calls ties (big_gone, pairs: 20) go to more bytes
    "calls": ["small_many", "temp_churn", "fifo", "big_gone", "pairs", "calloc_temp",
              "grow_step", "failed_grow", "grow_start", "after_fail"],
    # temporary ties (failed_grow, grow_start: 1) go to more calls
    "temporary": ["temp_churn", "pairs", "calloc_temp", "grow_step", "failed_grow",
                  "grow_start"],
}
KEYS = ["size", "peak", "peak-share", "calls", "temporary"]


def stats(bt):
    return (bt.count, bt.size, bt.peak_count, bt.peak_size)


@pytest.fixture(scope="module")
def views():
    r = trace("s-views", opts=["--sort=" + ",".join(KEYS), "--top=0"])
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    return one_report(r.stderr)


def test_headers_say_what_each_section_lists(views):
    assert [(s.key, s.lists) for s in views.sections] == [
        ("size", "live"), ("peak", "since start"), ("peak-share", "at peak"),
        ("calls", "since start"), ("temporary", "temporary")]
    assert LISTS["live"] == "live backtraces"


@pytest.mark.parametrize("key", KEYS)
def test_each_section_ranks_what_its_key_counts(views, key):
    # (--top=0: the history sections have more than ten)
    sec = views.section(key)
    assert sites(sec, EXE) == ORDERS[key]
    assert [b.rank for b in sec.backtraces] == list(range(1, len(ORDERS[key]) + 1))
    for b in sec.backtraces:
        want = VIEWS[sites_of(b)]
        assert stats(b) == want[:4]
        # the measures of the past, in the sections that rank by them
        assert (b.calls, b.calls_size) == \
            ((want[4], want[5]) if key in ("calls", "temporary") else (None, None))
        assert b.temporary == (want[6] if key == "temporary" else None)
        assert (b.at_peak_size is not None) == (key == "peak-share")


def sites_of(bt):
    return next(f.func for f in bt.frames if f.obj == str(EXE))


def test_peak_lists_the_biggest_peak_user_though_it_freed_everything(views):
    """big_gone held 200 KB at its peak and freed it all before exit: the
    peak section must rank it first, where the live heap has nothing."""
    first = views.section("peak").backtraces[0]
    assert (sites_of(first), first.count, first.peak_size) == ("big_gone", 0, "200 KB")
    assert "big_gone" not in sites(views.section("size"), EXE)
    share = views.section("peak-share").backtraces
    assert [(sites_of(b), b.at_peak_size, b.at_peak_count) for b in share] == [
        ("big_gone", "200 KB", 20), ("small_many", "480 bytes", 60)]
    # the summary counts the backtraces shown, freed ones too; bytes are live
    assert views.summary["heap traced num of backtrace"] == "10"
    assert views.summary["heap traced allocation size"] == "616 bytes in 62 blocks"
    assert views.summary["allocations since start"] == "176 calls, 203.644 KB"
    assert views.summary["peak of live heap"].startswith("200.480 KB in 80 blocks, ")


def test_top_cuts_history_sections_too():
    rep = one_report(trace("s-views", opts=["--sort=calls,temporary", "--top=2"]).stderr)
    assert sites(rep.section("calls"), EXE) == ORDERS["calls"][:2]
    assert sites(rep.section("temporary"), EXE) == ORDERS["temporary"][:2]


def test_every_form_of_new_and_delete_counts_temporary():
    """Each free_* function of s-new-delete news one block and deletes it
    at once, with every form of delete; no leak_* block is freed."""
    rep = one_report(trace("s-new-delete", opts=["--sort=calls,temporary", "--top=0"]).stderr)
    exe = BIN / "s-new-delete"
    # and libstdc++'s emergency pool, freed at exit (__gnu_cxx::__freeres)
    calls = sites(rep.section("calls"), exe)
    assert calls.count(None) == 1
    frees = sorted(f for f in calls if f and f.startswith("free_"))
    assert len(frees) == 17 and len(calls) == 28
    temp = rep.section("temporary").backtraces
    assert sorted(sites(rep.section("temporary"), exe)) == frees
    assert {(b.calls, b.temporary) for b in temp} == {(1, 1)}


def test_history_keys_report_a_program_that_freed_everything():
    """Nothing is live, so a report by live keys says nothing; one by calls
    still has something to say, and --check still passes."""
    assert trace("s-freeall", opts=["--sort=size,count,age,growth"]).stderr == ""
    r = trace("s-freeall", opts=["--sort=calls", "--check", "--top=0"])
    assert r.returncode == 0
    rep = one_report(r.stderr)
    assert sum(b.calls for b in rep.section("calls").backtraces) == 17
    assert rep.summary["heap traced num of backtrace"] == "17"  # shown, none live


def test_json_has_the_measures_and_what_each_section_lists():
    r = trace("s-views", opts=["--sort=size,peak,calls,temporary,peak-share", "--json",
                               "--top=0"])
    assert r.returncode == 0
    [doc] = [json.loads(l) for l in r.stderr.splitlines()]
    assert doc["schema_version"] == 3
    assert [(s["sort"], s["lists"]) for s in doc["sections"]] == [
        ("size", "live"), ("peak", "history"), ("calls", "history"), ("temporary", "history"),
        ("peak-share", "history")]
    assert doc["summary"]["since_start"] == {"calls": 176, "bytes": 203644, "temporary": 59}
    byte_totals = {"small_many": 480, "big_gone": 200000, "temp_churn": 1280, "pairs": 480,
                   "fifo": 576, "grow_start": 16, "grow_step": 224, "calloc_temp": 500,
                   "failed_grow": 80, "after_fail": 8}
    for sec in doc["sections"]:
        key = sec["sort"]
        got = [bt["frames"][1]["function"] for bt in sec["backtraces"]]
        assert got == ORDERS[key], key
        for bt in sec["backtraces"]:
            want = VIEWS[bt["frames"][1]["function"]]
            assert (bt["count"], bt["peak_count"], bt["calls"], bt["calls_bytes"],
                    bt["temporary"]) == (want[0], want[2], want[4],
                                         byte_totals[bt["frames"][1]["function"]], want[6])


# ------------------------------------------------------------ flame graph weights

WEIGHTS = {
    "size": {"small_many": 480, "grow_step": 128, "after_fail": 8},
    "count": {"small_many": 60, "grow_step": 1, "after_fail": 1},
    "peak-share": {"big_gone": 200000, "small_many": 480},
    "calls": {"small_many": 60, "big_gone": 20, "temp_churn": 40, "pairs": 20, "fifo": 24,
              "grow_start": 1, "grow_step": 3, "calloc_temp": 5, "failed_grow": 2,
              "after_fail": 1},
    "temporary": {"temp_churn": 40, "pairs": 10, "grow_start": 1, "grow_step": 2,
                  "calloc_temp": 5, "failed_grow": 1},
}


def weighed(text):
    """{the program's innermost function: weight} of folded stacks."""
    res = {}
    for line in text.splitlines():
        frames, count = flame_line(line)
        site = frames[-2]
        assert site not in res, "two lines for %s" % site
        res[site] = int(count)
    return res


@pytest.mark.parametrize("key", list(WEIGHTS))
def test_flame_graph_weighs_by_the_first_sort_key(key):
    r = trace("s-views", opts=["--flame-graph", "--sort=%s,age" % key])
    assert (r.returncode, r.stderr) == (0, "")
    assert weighed(r.stdout) == WEIGHTS[key]


REFUSED = "heaptrace: --flame-graph cannot weigh backtraces by '%s' (%s); " \
          "use size, count, peak-share, calls, temporary or leaked\n"


@pytest.mark.parametrize("opts,key,option", [
    (["--sort=peak"], "peak", "--sort"),
    (["--sort=age,size"], "age", "--sort"),
    (["--sort=growth"], "growth", "--sort"),
    (["--signals=size:USR1,peak:USR2"], "peak", "--signals"),
    (["--signals=growth:HUP"], "growth", "--signals"),
])
@pytest.mark.parametrize("order", ["before", "after"])
def test_flame_graph_refuses_keys_without_a_weight(tmp_path, opts, key, option, order):
    marker = tmp_path / "ran"
    both = ["--flame-graph"] + opts if order == "after" else opts + ["--flame-graph"]
    r = run([HEAPTRACE, *both, BIN / "s-touch", marker])
    assert (r.returncode, r.stdout, r.stderr) == (2, "", REFUSED % (key, option))
    assert not marker.exists()


def test_flame_graph_refuses_a_key_from_the_environment(tmp_path):
    r = run([HEAPTRACE, "--flame-graph", BIN / "s-touch", tmp_path / "x"],
            env={"HEAPTRACE_SORT": "age"})
    assert (r.returncode, r.stderr) == (2, REFUSED % ("age", "--sort"))
    # without --flame-graph, every key is fine
    r = run([HEAPTRACE, "--sort=peak", BIN / "s-touch", tmp_path / "x"])
    assert r.returncode == 0


@pytest.mark.parametrize("var,value,default", [("HEAPTRACE_SORT", "peak,calls", "size"),
                                               ("HEAPTRACE_SIGNALS", "age:USR1",
                                                "size:USR1,count:USR2")])
def test_library_warns_and_weighs_by_the_default(var, value, default):
    r = run([EXE], env={"LD_PRELOAD": str(LIB), "HEAPTRACE_FLAME_GRAPH": "1", var: value})
    assert r.returncode == 0
    key = value.split(",")[0].split(":")[0]
    assert r.stderr == ("heaptrace: %s='%s' names '%s', by which a flame graph cannot weigh "
                        "backtraces (use size, count, peak-share, calls, temporary or leaked); using "
                        "the default '%s'\n" % (var, value, key, default))
    assert weighed(r.stdout) == WEIGHTS["size"]


# ------------------------------------------------------------ one flame graph per dump

def hunt(tmp_path, *opts):
    """s-hunt under --flame-graph: site_a 2 x 100 bytes, dump; site_b 1 x
    50, dump; free site_a, exit (the third dump)."""
    p = Running(tmp_path, "s-hunt", opts=["--flame-graph", "--signals=size:USR1,calls:USR2",
                                          *opts])
    return p


def drive(p, dumped):
    oks = 0

    def cmd(line):
        nonlocal oks
        p.proc.stdin.write((line + "\n").encode())
        p.proc.stdin.flush()
        oks += 1
        assert wait_until(lambda: p.stdout().splitlines().count("ok") == oks, 10), line
    try:
        cmd("a a 2 100")
        p.kill(signal.SIGUSR1)
        assert wait_until(lambda: dumped(1), 10), "no first dump"
        cmd("a b 1 50")
        p.kill(signal.SIGUSR2)
        assert wait_until(lambda: dumped(2), 10), "no second dump"
        cmd("f a 2")
        assert p.finish(b"q\n") == 0
    finally:
        p.close()


DUMPS = [{"site_a": 200}, {"site_a": 2, "site_b": 1}, {"site_b": 50}]


def test_each_dump_gets_its_own_file(tmp_path):
    out = tmp_path / "heap.folded"
    names = [out, tmp_path / "heap.folded.dump2", tmp_path / "heap.folded.dump3"]
    p = hunt(tmp_path, "--outfile=%s" % out)

    def dumped(n):
        return names[n - 1].exists() and names[n - 1].read_text().endswith("\n")
    drive(p, dumped)
    assert p.stderr() == ""
    assert sorted(tmp_path.glob("heap.folded*")) == sorted(names)
    assert [weighed(f.read_text()) for f in names] == DUMPS


SPLIT = "awk 'BEGIN { n = 1 } /^# heaptrace dump / { n++; next } { print > (\"dump\" n \".folded\") }'"


def test_dumps_on_stdout_are_split_by_a_line_flamegraph_skips(tmp_path):
    p = hunt(tmp_path)
    drive(p, lambda n: p.stdout().count("site_") >= [1, 3][n - 1])
    text = "".join(l for l in p.stdout().splitlines(True) if l != "ok\n")
    pid = p.pid
    marks = [l for l in text.splitlines() if l.startswith("#")]
    assert marks == ["# heaptrace dump 2 of pid %d (signal): allocation calls" % pid,
                     "# heaptrace dump 3 of pid %d (exit): live bytes" % pid]
    for m in marks:  # no count at the end: flamegraph.pl skips the line
        with pytest.raises(AssertionError, match="would ignore"):
            flame_line(m)
    # the README's way to split them
    subprocess.run(SPLIT, shell=True, input=text, text=True, cwd=tmp_path, check=True)
    got = [weighed((tmp_path / ("dump%d.folded" % n)).read_text()) for n in (1, 2, 3)]
    assert got == DUMPS
    assert not (tmp_path / "dump4.folded").exists()


def test_a_child_process_marks_its_first_dump_too():
    r = run([HEAPTRACE, "--flame-graph", "--trace-children", BIN / "s-fork", "fork"])
    assert r.returncode == 0
    roles = dict(l.split() for l in r.stdout.splitlines() if l.split()[0] in ("parent", "child"))
    child = int(roles["child"])
    marks = [l for l in r.stdout.splitlines() if l.startswith("#")]
    assert marks == ["# heaptrace dump 1 of pid %d (exit): live bytes" % child]
