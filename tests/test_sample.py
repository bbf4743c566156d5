# SPDX-License-Identifier: GPL-2.0-or-later
"""--sample=BYTES: one allocation per BYTES recorded on average, the rest
estimated (tcmalloc's and jemalloc's estimator).  The estimates of a heap
of known shape (s-sample: six sites holding 50% to 1% of 200 MiB) are
within the statistics' bounds, the text report marks every estimate with
'~', the JSON gives the samples beside the estimates, and the sequence is
fixed by HEAPTRACE_SAMPLE_SEED."""

import json
import math

import pytest

from htlib import BIN, HEAPTRACE, LIB, one_report, run, trace

SITES = ["site_50", "site_20", "site_14", "site_10", "site_5", "site_1"]


def truth(rate):
    """{site: (bytes, blocks, standard deviation of the bytes' estimate)}
    as s-sample counts them itself."""
    r = run([BIN / "s-sample", str(rate)])
    assert r.returncode == 0, r.stderr
    res = {}
    for line in r.stdout.splitlines():
        name, size, blocks, sd = line.split()
        res[name] = (int(size), int(blocks), float(sd))
    assert list(res) == SITES
    return res


def sampled_json(tmp_path, rate, seed=1, opts=()):
    out = tmp_path / "r.json"
    r = trace("s-sample", str(rate), opts=("--json", "--top=0", "--leak-check=no",
                                           "--sample=%d" % rate, "--outfile=%s" % out, *opts),
              env={"HEAPTRACE_SAMPLE_SEED": str(seed)})
    assert r.returncode == 0 and r.stderr == "", r.stderr
    return json.loads(out.read_text().splitlines()[-1]), r.stdout


def by_site(doc):
    res = {}
    for b in doc["sections"][0]["backtraces"]:
        f = b["frames"][1]["function"] if len(b["frames"]) > 1 else None
        if f in SITES:
            assert f not in res
            res[f] = b
    return res


@pytest.mark.parametrize("rate", [64 * 1024, 512 * 1024])
def test_estimates_within_their_bounds(tmp_path, rate):
    """Each site's estimated bytes within 4 standard deviations of the true
    bytes (or 10%, whichever is wider), the ranking of the six right where
    the gap between two sites is wider than their deviations, and the
    output of the program unchanged."""
    want = truth(rate)
    doc, stdout = sampled_json(tmp_path, rate)
    assert stdout == run([BIN / "s-sample", str(rate)]).stdout
    got = by_site(doc)
    assert set(got) == set(SITES), got.keys()
    for site, (size, blocks, sd) in want.items():
        est = got[site]["bytes"]
        assert abs(est - size) <= max(0.10 * size, 4 * sd), (site, est, size, sd)
        assert 0 < got[site]["samples"]["live"] <= blocks
    ranked = sorted(SITES, key=lambda s: -got[s]["bytes"])
    for a, b in zip(SITES, SITES[1:]):
        if want[a][0] - want[b][0] > 4 * (want[a][2] + want[b][2]):
            assert ranked.index(a) < ranked.index(b), (a, b, ranked)
    assert doc["sampled"]["bytes"] == rate
    assert doc["sampled"]["samples"]["live"] == sum(b["samples"]["live"] for b in
                                                    doc["sections"][0]["backtraces"])


def test_same_seed_same_report(tmp_path):
    """HEAPTRACE_SAMPLE_SEED fixes which allocations are recorded."""
    a, _ = sampled_json(tmp_path, 512 * 1024, seed=7)
    b, _ = sampled_json(tmp_path, 512 * 1024, seed=7)
    c, _ = sampled_json(tmp_path, 512 * 1024, seed=8)
    est = lambda d: {s: (b["bytes"], b["samples"]["total"]) for s, b in by_site(d).items()}
    assert est(a) == est(b)
    assert est(a) != est(c)


def test_text_marks_estimates(tmp_path):
    """Every estimated count and size of the text report starts with '~',
    each backtrace says how many of its blocks were recorded, and the
    summary says how the sampling went; the frees of recorded blocks are
    seen (temp_site holds nothing)."""
    r = trace("s-sample", opts=("--top=0", "--sort=size,calls", "--sample=512k",
                                "--leak-check=no"), env={"HEAPTRACE_SAMPLE_SEED": "3"})
    assert r.returncode == 0
    rep = one_report(r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.startswith("=== backtrace")]
    assert lines and all("[count/peak: ~" in l and "[size/peak: ~" in l and "[samples: " in l
                         for l in lines), lines[:3]
    assert all("[calls: ~" in l for l in lines if "[calls:" in l)
    s = rep.summary["sampled (--sample)"]
    assert s.startswith("one allocation per 524.288 KB on average, "), s
    assert rep.summary["heap traced allocation size"].startswith("~")
    temp = [l for l in r.stderr.split("=== backtrace") if "temp_site" in l.split("\n")[2]]
    assert all("[count/peak: ~0/" in t for t in temp)


def test_sample_value_refused():
    """A bad --sample is one line and exit 2; a bad HEAPTRACE_SAMPLE is a
    warning, and every allocation is recorded."""
    r = trace("s-many", opts=("--sample=12q",))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--sample" in r.stderr, r.stderr
    r = run([BIN / "s-many"], env={"LD_PRELOAD": str(LIB), "HEAPTRACE_SAMPLE": "x"})
    assert r.returncode == 5
    assert "HEAPTRACE_SAMPLE" in r.stderr.splitlines()[0]
    assert "sampled (--sample)" not in one_report(r.stderr).summary


def test_diff_and_flame_graph_of_sampled_reports(tmp_path):
    """--diff of two sampled reports marks its numbers as estimates, as the
    reports did; the flame graph weighs each stack by its estimated bytes,
    those of the JSON report of the same run (same seed)."""
    for d in "ab":
        (tmp_path / d).mkdir()
    a, _ = sampled_json(tmp_path / "a", 64 * 1024, seed=1)
    sampled_json(tmp_path / "b", 64 * 1024, seed=2)
    r = run([HEAPTRACE, "--diff", tmp_path / "a" / "r.json", tmp_path / "b" / "r.json"])
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if l.startswith("=== backtrace")]
    assert lines and all("[count/peak: ~" in l and "[growth: ~" in l and "/~" in l.split("growth")[1]
                         for l in lines), lines[:2]
    total = [l for l in r.stdout.splitlines() if l.startswith("[heaptrace] growth of live heap")]
    assert len(total) == 1 and total[0].split(": ", 1)[1].startswith("~"), total
    r = trace("s-sample", "65536", opts=("--flame-graph", "--sample=64k"),
              env={"HEAPTRACE_SAMPLE_SEED": "1"})
    folded = {line.rsplit(" ", 1)[0].split(";")[-2]: int(line.rsplit(" ", 1)[1])
              for line in r.stdout.splitlines() if ";" in line}  # not the program's lines
    assert {s: folded[s] for s in SITES} == {s: b["bytes"] for s, b in by_site(a).items()}


def test_one_byte_rate_from_the_first_allocation(tmp_path):
    """At --sample=1 every block of 16 bytes or more is recorded and stands
    for itself: s-early's report (blocks allocated and freed by a library's
    constructor before heaptrace's own, then realloc'ed) is the exact one,
    so sampling is set up by the first allocation, not by the constructor."""
    def sites(opts):
        out = tmp_path / "r.json"
        r = trace("s-early", opts=("--json", "--top=0", "--outfile=%s" % out, *opts))
        assert r.returncode == 0, r.stderr
        doc = json.loads(out.read_text().splitlines()[-1])
        return ({b["frames"][1]["function"]: (b["count"], b["bytes"], b["peak_count"],
                                              b["calls"], b["calls_bytes"])
                 for b in doc["sections"][-1]["backtraces"]},
                doc["summary"]["since_start"]["calls"])
    exact = sites(())
    assert sites(("--sample=1",)) == exact
    # at a rate the early blocks are not worth one block each: recorded (or
    # not) as samples too, never listed without the samples they stand for
    out = tmp_path / "r.json"
    r = trace("s-early", opts=("--json", "--top=0", "--sample=1M", "--outfile=%s" % out),
              env={"HEAPTRACE_SAMPLE_SEED": "1"})
    assert r.returncode == 0, r.stderr
    bts = json.loads(out.read_text().splitlines()[-1])["sections"][-1]["backtraces"]
    assert all(b["samples"]["live"] >= 1 and b["count"] >= 1 for b in bts), bts


def test_nested_calls_counted_once(tmp_path):
    """operator new[] calls malloc(), glibc's reallocarray() realloc(): with
    --sample each allocation is counted down once, by its outermost hook,
    as an allocation not recorded is forwarded with the guard held.  So
    every sample is named after the outermost hook, and each site's
    estimate is within 4 standard deviations of its 200,000 blocks
    (counted twice, a site would be sampled about twice as often)."""
    out = tmp_path / "r.json"
    r = trace("s-sample-nest", opts=("--json", "--top=0", "--leak-check=no", "--sample=64k",
                                     "--outfile=%s" % out),
              env={"HEAPTRACE_SAMPLE_SEED": "1"})
    assert r.returncode == 0 and r.stderr == "", r.stderr
    doc = json.loads(out.read_text().splitlines()[-1])
    got = {(b["frames"][0]["function"], b["frames"][1]["function"]): b
           for b in doc["sections"][0]["backtraces"] if b["frames"][1]["function"] != "main"}
    assert sorted(got) == [("operator new[](unsigned long)", "by_new(long)"),
                           ("reallocarray", "by_reallocarray(long)")]
    p = 1 - math.exp(-64 / 65536)  # a block's chance to be recorded
    sd = math.sqrt(200000 * (1 - p) / p)  # of the estimated count
    for b in got.values():
        assert abs(b["count"] - 200000) <= 4 * sd, (b["count"], sd)
