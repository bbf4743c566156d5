# SPDX-License-Identifier: GPL-2.0-or-later
"""The text report: its lines, its units, the process it names, silence when
nothing is live, the sort keys, --top and the order of ties."""

import json
import re
import subprocess

import pytest

from htlib import (AGE_RE, BIN, HEAPTRACE, clean_env, LIB, REST_KEY, SEPARATOR, SIZE_RE, SUMMARY_KEYS, find_bt,
                   fmt_bytes, one_report, outside_lines, sites, size_lower_bound, trace, trace_pid,
                   PEAK_BATCH_BYTES)

HEADER_FMT = "[heaptrace] dump allocation sorted by '%s' for /proc/%d/maps (%s): live backtraces"


def test_fmt_bytes_helper_matches_the_documented_examples():
    # the tests below lean on conftest.fmt_bytes: pin it to the rules
    assert fmt_bytes(0) == "0 bytes"
    assert fmt_bytes(999) == "999 bytes"
    assert fmt_bytes(1000) == "1 KB"
    assert fmt_bytes(1001) == "1.001 KB"
    assert fmt_bytes(999999) == "999.999 KB"
    assert fmt_bytes(1000000) == "1 MB"
    assert fmt_bytes(4034000) == "4.034 MB"
    assert fmt_bytes(1500000000) == "1.500 GB"


def test_units_and_line_format():
    exe = BIN / "s-units"
    r = trace_pid("s-units", opts=["--top=0"])
    assert r.returncode == 0
    assert r.stdout in ("gb=1\n", "gb=0\n")
    gb = r.stdout == "gb=1\n"

    # raw layout: separator, header, backtraces each ended by a blank line,
    # summary, separator -- and nothing else on stderr
    lines = r.stderr.split("\n")
    assert lines[0] == SEPARATOR
    assert lines[1] == HEADER_FMT % ("size", r.pid, "s-units")
    assert lines[-1] == "" and lines[-2] == SEPARATOR
    assert lines.count(SEPARATOR) == 2
    assert outside_lines(r.stderr) == []

    rep = one_report(r.stderr)
    assert [s.key for s in rep.sections] == ["size"]
    sec = rep.sections[0]
    assert sec.comm == "s-units"

    expect = [("leak_1_5g", 1500000000, "1.500 GB")] if gb else []
    expect += [
        ("leak_4034000", 4034000, "4.034 MB"),
        ("leak_1234567", 1234567, "1.234 MB"),
        ("leak_1m", 1000000, "1 MB"),
        ("leak_1001", 1001, "1.001 KB"),
        ("leak_1000", 1000, "1 KB"),
        ("leak_999", 999, "999 bytes"),
        ("peak_five", 600, "600 bytes"),
    ]
    assert sites(sec, exe) == [e[0] for e in expect]
    for rank, (bt, (func, n, text)) in enumerate(zip(sec.backtraces, expect), 1):
        assert bt.rank == rank
        assert bt.size == text == fmt_bytes(n)
        assert AGE_RE.match(bt.age), bt.age
        assert bt.frames[0].func == "malloc"
        assert bt.frames[0].obj == str(LIB)
        assert bt.frames[1].func == func and bt.frames[1].obj == str(exe)
        assert bt.frames[1].func_off > 0 and bt.frames[1].obj_off > 0
        assert bt.frames[2].func == "main"
        assert not bt.truncated
        if func == "peak_five":
            assert (bt.count, bt.peak_count, bt.size, bt.peak_size) == \
                (3, 5, "600 bytes", "1 KB")
        else:
            assert (bt.count, bt.peak_count, bt.peak_size) == (1, 1, text)

    live = sum(e[1] for e in expect)
    blocks = len(expect) + 2
    calls = blocks + 2  # peak_five freed 2; a failed malloc is not recorded
    assert list(rep.summary) == SUMMARY_KEYS
    assert rep.summary["heap traced num of backtrace"] == str(len(expect))
    assert rep.summary["heap traced allocation size"] == \
        "%s in %d blocks" % (fmt_bytes(live), blocks)
    assert rep.summary["allocations since start"] == \
        "%d calls, %s" % (calls, fmt_bytes(live + 400))
    # the allocator holds at least what is live; the address space more
    assert size_lower_bound(rep.summary["allocator info (in-use)"]) >= live - live // 1000
    assert size_lower_bound(rep.summary["allocator info (virtual)"]) >= live - live // 1000
    vss, rss, shared = rep.summary["statm info (VSS/RSS/shared)"].split(" / ")
    assert size_lower_bound(vss) >= live - live // 1000
    for s in (vss, rss, shared, rep.summary["tracer memory"]):
        assert SIZE_RE.match(s), s
    # labels padded to one column, as in the original heaptrace
    assert "[heaptrace] heap traced num of backtrace : %d\n" % len(expect) in r.stderr
    assert "[heaptrace] heap traced allocation size  : %s in %d blocks\n" % \
        (fmt_bytes(live), blocks) in r.stderr


def test_frame_lines_raw():
    r = trace("s-malloc")
    lines = [l for l in r.stderr.splitlines() if re.match(r"^ *\d+ \[", l)]
    assert lines
    for l in lines:
        assert re.match(r"^[ \d]\d \[ *0x[0-9a-f]+\] ", l), l
        assert l.index("]") == 18, "the address column is 14 wide: %r" % l
    assert re.match(r"^ 0 \[ *0x[0-9a-f]+\] malloc \+0x[0-9a-f]+ \(%s \+0x[0-9a-f]+\)$"
                    % re.escape(str(LIB)), lines[0])


def test_pid_is_the_process_not_the_thread():
    # the exit report is written by a second thread (named "worker") that
    # calls exit() itself: still the process id and the process's name
    r = trace_pid("s-thread-exit")
    assert r.returncode == 4
    rep = one_report(r.stderr)
    sec = rep.section("size")
    assert sec.pid == r.pid
    assert sec.comm == "s-thread-exit"
    bt = find_bt(rep, "thread_leak")
    assert (bt.count, bt.peak_count, bt.size, bt.peak_size) == (1, 1, "777 bytes", "777 bytes")
    assert bt.funcs[:3] == ["malloc", "thread_leak", "thread_main"]


# ------------------------------------------------------------ silence

@pytest.mark.parametrize("prog,stdout", [
    ("s-freeall", ""),
    ("s-printf", "hello from s-printf: 42\nsecond line\n"),
    ("s-cxx-clean", "words 50 map 20 caught 2\ndone\n"),
])
@pytest.mark.parametrize("opts", [(), ("--flame-graph",), ("--sort=size,count,age,growth",)])
def test_nothing_printed_when_everything_was_freed(prog, stdout, opts):
    # keys of the live heap only: history keys speak of the past (test_views.py)
    r = trace(prog, opts=opts)
    assert r.returncode == 0
    assert r.stderr == ""
    assert r.stdout == stdout


def test_nothing_printed_after_a_joined_thread():
    # the program frees all it allocated; what libc keeps of a finished
    # thread (cached stack, TLS vector) is the runtime's, like stdio buffers
    r = trace("s-thread-clean")
    assert r.returncode == 0
    assert r.stderr == ""
    assert r.stdout == ""


# ------------------------------------------------------------ sort keys

SORT_ORDERS = {
    "size": ["big_few", "peak_high", "many_small", "oldest"],
    "count": ["many_small", "oldest", "peak_high", "big_few"],
    "peak": ["peak_high", "big_few", "many_small", "oldest"],
    "age": ["oldest", "many_small", "peak_high", "big_few"],
}
SORT_STATS = {
    "oldest": (3, 3, "12 bytes", "12 bytes"),
    "many_small": (100, 100, "1 KB", "1 KB"),
    "peak_high": (2, 20, "30 KB", "300 KB"),
    "big_few": (1, 1, "50 KB", "50 KB"),
}


def check_sort_summary(rep):
    assert list(rep.summary) == SUMMARY_KEYS
    assert rep.summary["heap traced num of backtrace"] == "4"
    assert rep.summary["heap traced allocation size"] == "81.012 KB in 106 blocks"
    assert rep.summary["allocations since start"] == "124 calls, 351.012 KB"


def bt_stats(bt):
    return (bt.count, bt.peak_count, bt.size, bt.peak_size)


@pytest.mark.parametrize("key", ["size", "count", "peak", "age"])
def test_sort_key(key):
    exe = BIN / "s-sort"
    r = trace_pid("s-sort", opts=["--sort=" + key])
    assert r.returncode == 0 and r.stdout == ""
    rep = one_report(r.stderr)
    assert [(s.key, s.pid, s.comm) for s in rep.sections] == [(key, r.pid, "s-sort")]
    sec = rep.sections[0]
    assert sites(sec, exe) == SORT_ORDERS[key]
    assert [b.rank for b in sec.backtraces] == [1, 2, 3, 4]
    for b in sec.backtraces:
        assert bt_stats(b) == SORT_STATS[b.frames[1].func]
    check_sort_summary(rep)


def test_default_sort_is_size():
    rep = one_report(trace("s-sort").stderr)
    assert [s.key for s in rep.sections] == ["size"]
    assert sites(rep.sections[0], BIN / "s-sort") == SORT_ORDERS["size"]


def test_age_column_follows_first_seen():
    # age is the time since the backtrace was first seen: oldest is oldest
    rep = one_report(trace("s-sort", opts=["--sort=age"]).stderr)
    ages = [b.age for b in rep.sections[0].backtraces]

    def ns(a):
        num, unit = a.split()
        return float(num) * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[unit]
    assert [ns(a) for a in ages] == sorted((ns(a) for a in ages), reverse=True)
    # a millisecond passes between the sites
    assert ns(ages[0]) - ns(ages[-1]) >= 3e6


@pytest.mark.parametrize("keys", [["size", "count"], ["count", "size"],
                                  ["age", "peak", "count", "size"]])
def test_several_keys_give_sections_in_order_and_one_summary(keys):
    exe = BIN / "s-sort"
    r = trace_pid("s-sort", opts=["--sort=" + ",".join(keys)])
    rep = one_report(r.stderr)
    assert [s.key for s in rep.sections] == keys
    for s in rep.sections:
        assert (s.pid, s.comm) == (r.pid, "s-sort")
        assert sites(s, exe) == SORT_ORDERS[s.key]
        assert [b.rank for b in s.backtraces] == [1, 2, 3, 4]
    check_sort_summary(rep)
    assert r.stderr.count("heap traced num of backtrace") == 1
    assert r.stderr.count(SEPARATOR) == 2


@pytest.mark.parametrize("top", [1, 2, 3])
def test_top_limits_each_section(top):
    exe = BIN / "s-sort"
    r = trace("s-sort", opts=["--sort=size,count,peak,age", "--top=%d" % top])
    rep = one_report(r.stderr)
    assert [s.key for s in rep.sections] == ["size", "count", "peak", "age"]
    for s in rep.sections:
        assert sites(s, exe) == SORT_ORDERS[s.key][:top]
        assert [b.rank for b in s.backtraces] == list(range(1, top + 1))
    # the summary still counts every backtrace
    check_sort_summary(rep)


MANY_BY_SIZE = ["leak_%02d" % n for n in range(12, 0, -1)]


def test_top_default_is_ten():
    r = trace("s-many")
    assert r.returncode == 5
    rep = one_report(r.stderr)
    assert sites(rep.sections[0], BIN / "s-many") == MANY_BY_SIZE[:10]
    # the summary counts what was shown, and says what --top left out
    assert rep.summary["heap traced num of backtrace"] == "10"
    assert rep.summary[REST_KEY] == "... and 2 more backtraces, 303 bytes in 2 blocks"
    assert rep.summary["heap traced allocation size"] == \
        "%s in 12 blocks" % fmt_bytes(sum(101 * n for n in range(1, 13)))


@pytest.mark.parametrize("sort, shown, rest", [
    # leak_12 is first by size and, all counts being 1, by count too
    ("size,count", "1", "... and 11 more backtraces, 6.666 KB in 11 blocks"),
    # the oldest is leak_07: two backtraces shown, the rest left out
    ("size,age", "2", "... and 10 more backtraces, 5.959 KB in 10 blocks"),
])
def test_summary_counts_backtraces_shown_once(sort, shown, rest):
    """Sections may show the same backtrace: the summary counts it once."""
    rep = one_report(trace("s-many", opts=["--top=1", "--sort=" + sort]).stderr)
    assert rep.summary["heap traced num of backtrace"] == shown
    assert rep.summary[REST_KEY] == rest


def test_summary_says_nothing_more_when_all_are_shown():
    rep = one_report(trace("s-many", opts=["--top=12"]).stderr)
    assert rep.summary["heap traced num of backtrace"] == "12"
    assert REST_KEY not in rep.summary


@pytest.mark.parametrize("opts", [("--top=0",), ("--top=12",), ("--top=1000",),
                                  ("--top=0", "--sort=count,size")])
def test_top_zero_or_large_shows_all(opts):
    r = trace("s-many", opts=opts)
    rep = one_report(r.stderr)
    for s in rep.sections:
        funcs = sites(s, BIN / "s-many")
        assert sorted(funcs) == sorted(MANY_BY_SIZE)
        assert len(s.backtraces) == 12
    assert sites(rep.section("size"), BIN / "s-many") == MANY_BY_SIZE
    if len(rep.sections) > 1:
        # all counts are 1: ties by bytes, the largest first
        assert sites(rep.section("count"), BIN / "s-many") == MANY_BY_SIZE


# ------------------------------------------------------------ ties

TIE_ORDER = ["tie_c", "tie_a", "tie_e", "tie_b", "tie_d"]


@pytest.mark.parametrize("key", ["size", "count", "peak", "age"])
def test_ties_first_seen_first_and_stable(key):
    orders = []
    for _ in range(2):
        r = trace("s-ties", opts=["--sort=" + key])
        rep = one_report(r.stderr)
        sec = rep.sections[0]
        assert [bt_stats(b) for b in sec.backtraces] == [(1, 1, "64 bytes", "64 bytes")] * 5
        orders.append(sites(sec, BIN / "s-ties"))
    assert orders[0] == orders[1] == TIE_ORDER


def test_peak_with_threads_within_a_batch_per_thread(tmp_path):
    """With threads, each carries its changes of the heap's size over in
    batches of 16 KiB: the peak is the true one (4,096,000 bytes of four threads'
    blocks, and the C runtime's blocks for those threads) less at most a
    batch per thread, never more; a process without threads is exact (the
    other peak tests)."""
    out = tmp_path / "r.json"
    r = subprocess.run([str(HEAPTRACE), "--json", "--outfile=%s" % out,
                        "--sort=peak", str(BIN / "s-peak-threads")],
                       capture_output=True, env=clean_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text().splitlines()[-1])
    peak = doc["summary"]["peak"]["bytes"]
    blocks = 4 * 256 * 4000
    # the runtime's blocks for 4 threads: a few hundred bytes each
    assert blocks - 4 * PEAK_BATCH_BYTES <= peak <= blocks + 5 * PEAK_BATCH_BYTES, peak
