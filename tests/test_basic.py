# SPDX-License-Identifier: GPL-2.0-or-later
"""The report of a small leaking program, line by line."""

from htlib import BIN, find_bt, one_report, trace


def test_malloc_report_exact():
    r = trace("s-malloc")
    assert r.returncode == 0
    assert r.stdout == ""
    rep = one_report(r.stderr)
    sec = rep.section("size")
    assert sec.comm == "s-malloc"
    assert [b.frames[1].func for b in sec.backtraces] == ["leak_big", "leak_three"]
    big, three = sec.backtraces
    assert (big.rank, big.count, big.peak_count, big.size, big.peak_size) == \
        (1, 1, 1, "5 KB", "5 KB")
    assert (three.rank, three.count, three.peak_count, three.size, three.peak_size) == \
        (2, 3, 3, "300 bytes", "300 bytes")
    for b in sec.backtraces:
        assert b.frames[0].func == "malloc"
        assert b.frames[0].obj.endswith("/libheaptrace.so")
        assert b.frames[1].obj == str(BIN / "s-malloc")
        assert b.frames[2].func == "main"
        assert not b.truncated
    assert rep.summary["heap traced num of backtrace"] == "2"
    assert rep.summary["heap traced allocation size"] == "5.300 KB in 4 blocks"
    assert rep.summary["allocations since start"] == "14 calls, 5.940 KB"
