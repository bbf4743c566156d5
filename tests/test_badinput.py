# SPDX-License-Identifier: GPL-2.0-or-later
"""Bad input that test_launcher.py, test_env.py, test_outfile.py and
test_ignore.py leave out: --outfile=/dev/full given to the launcher, a
HEAPTRACE_MAX_MEMORY the library cannot parse when preloaded by hand, and
an --ignore file of 100,000 glob patterns."""

import re
import subprocess
import time

import pytest

from htlib import (BIN, HEAPTRACE, LIB, clean_env, fmt_bytes, one_report, outside_lines,
                   parse_reports, sites)


def test_launcher_outfile_dev_full():
    """The launcher accepts /dev/full (a file in an existing directory);
    writing the report there fails: one warning naming it, the report on
    stderr, the program's output and status."""
    r = subprocess.run([str(HEAPTRACE), "--outfile=/dev/full", "--top=0", str(BIN / "s-many")],
                       env=clean_env(), capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (5, "s-many: done\n")
    warn = outside_lines(r.stderr)
    assert len(warn) == 1, warn
    assert warn[0].startswith("heaptrace: ") and "/dev/full" in warn[0]
    rep = one_report(r.stderr)
    assert sites(rep.sections[0], BIN / "s-many") == ["leak_%02d" % n for n in range(12, 0, -1)]


MAXMEM_CALLS = 10 + 200000 + 50   # s-maxmem's allocations


@pytest.mark.parametrize("value", ["abc", "-1", "99999999999999999999999",
                                   # a parser that stops at the first non-digit
                                   # would take these for small limits
                                   "4096x", "1e3"])
def test_max_memory_garbage_from_the_environment(tmp_path, value):
    """HEAPTRACE_MAX_MEMORY unparsable: one warning naming the variable and
    the value, then the default (no limit): all 200,000 blocks tracked."""
    out = tmp_path / "report"
    r = subprocess.run([str(BIN / "s-maxmem")], capture_output=True, text=True, timeout=60,
                       env=clean_env({"LD_PRELOAD": str(LIB), "HEAPTRACE_OUTFILE": str(out),
                                      "HEAPTRACE_MAX_MEMORY": value}))
    assert (r.returncode, r.stdout) == (4, "phase 1\nphase 2\ndone\n")
    warn = r.stderr.splitlines()
    assert len(warn) == 1, warn
    assert warn[0].startswith("heaptrace: HEAPTRACE_MAX_MEMORY=")
    assert "'%s'" % value in warn[0] and "default '0'" in warn[0]
    reps = parse_reports(out.read_text())
    assert len(reps) == 1
    assert "not tracked" not in reps[0].summary
    assert re.match(r"^%d calls, " % MAXMEM_CALLS, reps[0].summary["allocations since start"])


def test_hundred_thousand_glob_lines(tmp_path):
    """An --ignore file of 100,000 patterns that are all globs (none goes
    through the literal fast path) stays usable: here the report takes
    about 0.3 s; the bound is generous.  Two of them match."""
    globs = []
    for i in range(100000):
        globs.append(("*no_such_function_%06d*", "lib%06d_[a-z]*.so*", "std::*::_M_x%06d*",
                      "?no_such_%06d")[i % 4] % i)
    globs[54321] = "hide_by_*"
    globs[99999] = "spaced_na?e"
    ign = tmp_path / "globs.txt"
    ign.write_text("\n".join(globs) + "\n")
    t0 = time.monotonic()
    r = subprocess.run([str(HEAPTRACE), "--top=0", "--ignore=%s" % ign, str(BIN / "s-ignore")],
                       env=clean_env(), capture_output=True, text=True, timeout=60)
    took = time.monotonic() - t0
    assert r.returncode == 0
    rep = one_report(r.stderr)
    shown = {b.frames[1].func for b in rep.backtraces}
    assert shown == {"keep_me", "hide_glob_one", "hide_glob_two",
                     "commented", "inner_alloc"}
    assert rep.summary["hidden by --ignore"] == "2 backtraces, %s in 2 blocks" % fmt_bytes(700)
    assert took < 30, "100,000 glob patterns took %.1f s" % took
