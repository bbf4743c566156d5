# SPDX-License-Identifier: GPL-2.0-or-later
"""Leak hunting: growth between dumps and the growth sort key, --interval,
--signals, the heap's peak and the peak-share key, --json, --check and
heaptrace --diff.  tests/s-hunt is a daemon the test drives through stdin,
so every number is known."""

import json
import signal
import subprocess
import time

import pytest

from htlib import (BIN, HEAPTRACE, Running, clean_env, complete_reports, fmt_bytes, one_report,
                   parse_reports, plural, run, trace, wait_until)

SEP = "=" * 65 + "\n"


class Daemon(Running):
    """s-hunt under heaptrace; cmd() waits for each command's "ok"."""

    def __init__(self, tmp_path, opts=(), name="hunt"):
        self.out = tmp_path / (name + ".out")
        super().__init__(tmp_path, "s-hunt", opts=["--outfile=%s" % self.out, "--top=0"] +
                         list(opts), name=name)
        self.oks = 0

    def cmd(self, *lines):
        for line in lines:
            self.proc.stdin.write((line + "\n").encode())
            self.proc.stdin.flush()
            self.oks += 1
            self.wait_stdout("ok\n" * self.oks)

    def dump(self, signo=signal.SIGUSR1, reports=None):
        n = self.reports() + 1 if reports is None else reports
        self.kill(signo)
        assert wait_until(lambda: self.reports() >= n, 10), "no report %d" % n

    def reports(self):
        text = self.out.read_text() if self.out.exists() else ""
        return complete_reports(text) if not text.startswith("{") else text.count("\n")

    def quit(self):
        self.cmd_nowait("q")
        return self.proc.wait(timeout=20)

    def cmd_nowait(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.close()

    def text_reports(self):
        return parse_reports(self.out.read_text())

    def json_reports(self):
        return [json.loads(l) for l in self.out.read_text().splitlines()]


@pytest.fixture
def daemon(tmp_path):
    made = []

    def start(*opts, name="hunt"):
        d = Daemon(tmp_path, opts, name)
        made.append(d)
        return d
    yield start
    for d in made:
        d.close()


def by_site(section):
    return {b.frames[1].func: b for b in section.backtraces if len(b.frames) > 1}


# ------------------------------------------------------------ growth

def test_growth_between_dumps(daemon):
    d = daemon("--sort=size")
    d.cmd("a a 10 100", "a b 5 1000")
    d.dump()
    d.cmd("a a 5 100", "f b 2", "a c 3 50")
    d.dump()
    d.cmd("a c 1 50")
    assert d.quit() == 0
    first, second, last = d.text_reports()
    # the first dump has nothing to compare with
    assert all(b.growth_size is None for b in first.backtraces)
    sites = by_site(second.sections[0])
    assert (sites["site_a"].growth_size, sites["site_a"].growth_count) == ("+500 bytes", 5)
    assert (sites["site_b"].growth_size, sites["site_b"].growth_count) == (
        "-" + fmt_bytes(2000), -2)
    assert (sites["site_c"].growth_size, sites["site_c"].growth_count) == ("+150 bytes", 3)
    # the exit report compares with the second dump
    sites = by_site(last.sections[0])
    assert (sites["site_a"].growth_size, sites["site_a"].growth_count) == ("+0 bytes", 0)
    assert (sites["site_c"].growth_size, sites["site_c"].growth_count) == ("+50 bytes", 1)


def test_growth_sort_key_ranks_by_growth(daemon):
    d = daemon("--signals=growth:USR1", "--sort=size")
    d.cmd("a a 10 100", "a b 5 1000")
    d.dump()
    d.cmd("a a 5 100", "f b 2", "a c 3 50")
    d.dump()
    d.proc.stdin.close()
    d.proc.wait(timeout=20)
    reps = d.text_reports()
    sec = reps[1].sections[0]
    assert sec.key == "growth"
    assert [b.frames[1].func for b in sec.backtraces] == ["site_a", "site_c", "site_b"]
    # first dump sorted by growth from nothing: by live bytes
    assert [b.frames[1].func for b in reps[0].sections[0].backtraces] == ["site_b", "site_a"]


# ------------------------------------------------------------ --interval

def test_interval_dumps_without_signals(daemon):
    d = daemon("--interval=0.2", "--json")
    d.cmd("a a 4 100")
    assert wait_until(lambda: d.reports() >= 3, 10)
    assert d.quit() == 0
    docs = d.json_reports()
    assert [x["event"] for x in docs[:3]] == ["interval"] * 3
    assert docs[-1]["event"] == "exit"
    for x in docs[:3]:
        [bt] = x["sections"][0]["backtraces"]
        assert (bt["count"], bt["bytes"]) == (4, 400)
    # a fifth of a second apart, never faster
    times = [x["time_ns"] for x in docs[:3]]
    assert all(b - a >= 150_000_000 for a, b in zip(times, times[1:])), times


def test_interval_and_signal_together(daemon):
    d = daemon("--interval=3600")
    d.cmd("a a 1 10")
    d.dump()
    assert d.quit() == 0
    assert len(d.text_reports()) == 2


# ------------------------------------------------------------ --signals

def test_signals_choose_keys_and_free_usr1(daemon):
    d = daemon("--signals=count:USR2,peak-share:RTMIN+3,size:HUP")
    d.cmd("a a 3 100", "a b 1 1000")
    d.dump(signal.SIGRTMIN + 3)
    d.dump(signal.SIGHUP)
    d.dump(signal.SIGUSR2)
    # USR1 is not heaptrace's now: its default action ends the program
    d.kill(signal.SIGUSR1)
    assert d.proc.wait(timeout=20) == -signal.SIGUSR1
    keys = [r.sections[0].key for r in d.text_reports()]
    assert keys == ["peak-share", "size", "count"]


@pytest.mark.parametrize("spec,sig", [("size:10", signal.SIGUSR1), ("size:SIGUSR2", signal.SIGUSR2),
                                      ("growth:RTMAX-2", signal.SIGRTMAX - 2)])
def test_signal_names_and_numbers(daemon, spec, sig):
    d = daemon("--signals=" + spec)
    d.cmd("a a 1 10")
    d.dump(sig)
    assert d.quit() == 0


def test_signals_none(daemon):
    d = daemon("--signals=none")
    d.cmd("a a 1 10")
    d.kill(signal.SIGUSR1)
    assert d.proc.wait(timeout=20) == -signal.SIGUSR1
    assert not d.out.exists()


BAD_SIGNALS = [
    ("size:KILL", "names a signal heaptrace cannot take (uncatchable, or raised by faults)"),
    ("size:SEGV", "names a signal heaptrace cannot take (uncatchable, or raised by faults)"),
    ("size:USR1,count:SIGUSR1", "names a signal twice"),
    ("size:FOO", "has an unknown signal (use a name such as USR1, RTMIN+3, or a number)"),
    ("size:RTMIN+99", "has an unknown signal (use a name such as USR1, RTMIN+3, or a number)"),
    ("size:0", "has an unknown signal (use a name such as USR1, RTMIN+3, or a number)"),
    ("bogus:USR1", "has an unknown sort key (use size, count, peak, age, growth, peak-share, "
                   "calls, temporary or leaked)"),
    ("USR1", "needs KEY:SIGNAL pairs (for example size:USR1)"),
    ("", "is empty"),
]


@pytest.mark.parametrize("spec,why", BAD_SIGNALS)
def test_bad_signals_launcher(tmp_path, spec, why):
    r = run([HEAPTRACE, "--signals=" + spec, BIN / "s-touch", tmp_path / "x"])
    assert (r.returncode, r.stdout, r.stderr) == (2, "", "heaptrace: --signals: '%s' %s\n" % (spec, why))
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("var,value", [("HEAPTRACE_SIGNALS", "size:KILL"),
                                       ("HEAPTRACE_INTERVAL", "-1"),
                                       ("HEAPTRACE_INTERVAL", "1.2345"),
                                       ("HEAPTRACE_FORMAT", "xml"),
                                       ("HEAPTRACE_CHECK", "maybe")])
def test_bad_values_in_the_environment_warn_once(var, value):
    r = trace("s-malloc", env={var: value})
    assert r.returncode == 0
    warn = [l for l in r.stderr.splitlines() if l.startswith("heaptrace: ")]
    assert len(warn) == 1 and var in warn[0] and "using the default" in warn[0]


@pytest.mark.parametrize("value,why", [("abc", "is not a number of seconds (up to three decimals)"),
                                       ("1.2345", "is not a number of seconds (up to three decimals)"),
                                       ("99999999", "is too long (at most a week)"),
                                       ("", "is empty")])
def test_bad_interval_launcher(value, why):
    r = run([HEAPTRACE, "--interval=" + value, BIN / "s-malloc"])
    assert (r.returncode, r.stderr) == (2, "heaptrace: --interval: '%s' %s\n" % (value, why))


# ------------------------------------------------------------ peak

def test_peak_and_peak_share(daemon):
    """A rises and is freed, B stays, C comes after the peak: the peak is
    A + B (2000 bytes in 15 blocks), A's share listed though A is gone."""
    d = daemon("--sort=size,peak-share")
    d.cmd("a a 10 100", "a b 5 200", "f a 10", "a c 3 300")
    assert d.quit() == 0
    [rep] = d.text_reports()
    m = rep.summary["peak of live heap"]
    assert m.startswith("2 KB in 15 blocks, ") and m.endswith(" after start")
    size, share = rep.sections
    assert [b.frames[1].func for b in size.backtraces] == ["site_b", "site_c"]
    assert share.key == "peak-share"
    got = [(b.frames[1].func, b.at_peak_size, b.at_peak_count, b.count) for b in share.backtraces]
    # equal bytes at the peak: more blocks first
    assert got == [("site_a", "1 KB", 10, 0), ("site_b", "1 KB", 5, 5)]


def test_peak_moves_with_a_new_peak(daemon):
    d = daemon("--sort=peak-share", "--json")
    d.cmd("a a 10 100", "f a 10", "a b 3 500")
    d.dump()
    d.cmd("f b 3", "a c 1 100")
    assert d.quit() == 0
    first, last = d.json_reports()
    assert first["summary"]["peak"]["bytes"] == 1500
    assert first["summary"]["peak"]["blocks"] == 3
    [bt] = first["sections"][0]["backtraces"]
    assert (bt["frames"][1]["function"], bt["at_peak_bytes"], bt["at_peak_count"]) == \
        ("site_b", 1500, 3)
    # nothing passed 1500 since: the same peak, B still its only holder
    assert last["summary"]["peak"] == first["summary"]["peak"]
    assert [(b["frames"][1]["function"], b["at_peak_bytes"]) for b in
            last["sections"][0]["backtraces"]] == [("site_b", 1500)]


def test_peak_time(daemon):
    d = daemon("--json")
    time.sleep(0.3)
    d.cmd("a a 1 1000")
    assert d.quit() == 0
    [doc] = d.json_reports()
    assert 250_000_000 <= doc["summary"]["peak"]["time_ns"] <= doc["time_ns"]


# ------------------------------------------------------------ JSON

def test_json_equals_the_text_report(tmp_path):
    """The same deterministic program, as text and as JSON."""
    txt = one_report(trace("s-sort", opts=["--top=0", "--sort=size,count,peak,age"]).stderr)
    r = trace("s-sort", opts=["--top=0", "--sort=size,count,peak,age", "--json"])
    assert r.returncode == 0
    [line] = r.stderr.splitlines()
    doc = json.loads(line)
    assert doc["schema_version"] == 2 and doc["event"] == "exit" and doc["pid"] == r.pid \
        if hasattr(r, "pid") else True
    assert [s["sort"] for s in doc["sections"]] == ["size", "count", "peak", "age"]
    for sec_t, sec_j in zip(txt.sections, doc["sections"]):
        assert len(sec_t.backtraces) == len(sec_j["backtraces"])
        for bt, bj in zip(sec_t.backtraces, sec_j["backtraces"]):
            assert (bt.rank, bt.count, bt.peak_count, bt.size, bt.peak_size) == (
                bj["rank"], bj["count"], bj["peak_count"], fmt_bytes(bj["bytes"]),
                fmt_bytes(bj["peak_bytes"]))
            assert bt.truncated == bj["truncated"]
            assert [(f.func, f.file, f.line or None, f.obj_off) for f in bt.frames[1:]] == \
                [(f["function"] or "", f["file"] or "", f["line"], f["object_offset"])
                 for f in bj["frames"][1:]]
    s = doc["summary"]
    assert txt.summary["heap traced num of backtrace"] == str(s["backtraces"])
    assert txt.summary["heap traced allocation size"] == "%s in %s" % (
        fmt_bytes(s["bytes"]), plural(s["blocks"], "block"))
    assert txt.summary["allocations since start"] == "%d calls, %s" % (
        s["since_start"]["calls"], fmt_bytes(s["since_start"]["bytes"]))


def test_json_lines_one_document_per_dump(daemon):
    d = daemon("--json", "--signals=size:USR1,growth:USR2")
    d.cmd("a a 2 10")
    d.dump()
    d.cmd("a a 1 10")
    d.dump(signal.SIGUSR2)
    assert d.quit() == 0
    docs = d.json_reports()
    assert [x["event"] for x in docs] == ["signal", "signal", "exit"]
    assert [x["sections"][0]["sort"] for x in docs] == ["size", "growth", "size"]
    a = docs[1]["sections"][0]["backtraces"][0]
    assert (a["count"], a["bytes"], a["growth_count"], a["growth_bytes"]) == (3, 30, 1, 10)
    assert docs[0]["sections"][0]["backtraces"][0]["growth_bytes"] is None
    f = a["frames"][1]
    assert f["function"] == "site_a" and f["file"].endswith("tests/s-hunt.c")
    assert isinstance(f["line"], int) and f["inlined"] is False


def test_json_strings_are_escaped(tmp_path):
    """An object path with a quote, a backslash and a newline stays valid JSON."""
    d = tmp_path / 'a"b\\c\nd'
    d.mkdir()
    exe = d / "s-malloc"
    exe.write_bytes((BIN / "s-malloc").read_bytes())
    exe.chmod(0o755)
    r = trace(exe, opts=["--json"])
    docs = [json.loads(l) for l in r.stderr.splitlines()]
    objs = {f["object"] for x in docs for s in x["sections"] for b in s["backtraces"]
            for f in b["frames"]}
    assert str(exe) in objs


# ------------------------------------------------------------ --check

def check_run(*cmds, opts=(), status_cmd=None):
    """s-hunt keeps its blocks in a table (reachable): --check=live, the
    gate on anything live, is what these tests are about."""
    inp = "".join(c + "\n" for c in cmds)
    return subprocess.run([str(HEAPTRACE), "--check=live"] + list(opts) + [str(BIN / "s-hunt")],
                          input=inp.encode(), capture_output=True, env=clean_env(), timeout=60)


def test_check_fails_a_leak_with_23():
    r = check_run("a a 2 10")
    assert r.returncode == 23
    assert r.stdout == b"ok\n"
    rep = one_report(r.stderr.decode())
    assert rep.summary["heap traced allocation size"] == "20 bytes in 2 blocks"


def test_check_passes_a_clean_run():
    r = check_run("a a 2 10", "f a 2")
    assert (r.returncode, r.stdout, r.stderr) == (0, b"ok\nok\n", b"")


def test_check_keeps_the_programs_failure():
    r = subprocess.run([str(HEAPTRACE), "--check", str(BIN / "s-exit"), "exit", "7"],
                       capture_output=True, env=clean_env(), timeout=60)
    assert r.returncode == 7


def test_check_ignores_what_the_ignore_file_hides(tmp_path):
    ign = tmp_path / "known-leaks.txt"
    ign.write_text("site_a\n")
    r = check_run("a a 2 10", opts=["--ignore=%s" % ign])
    assert r.returncode == 0
    r = check_run("a a 2 10", "a b 1 5", opts=["--ignore=%s" % ign])
    assert r.returncode == 23


def test_check_fails_when_blocks_went_untracked():
    r = check_run("a a 2 10", "f a 2", opts=["--max-memory=1"])
    assert r.returncode == 23


def test_check_flushes_the_programs_output(tmp_path):
    """stdio is flushed before the 23: buffered output is not lost."""
    r = subprocess.run([str(HEAPTRACE), "--check", str(BIN / "sample-leak")],
                       capture_output=True, env=clean_env(), timeout=60)
    assert r.returncode == 23
    assert r.stdout == b"sample-leak: done\n"


# ------------------------------------------------------------ --diff

def json_dump(tmp_path, name, *cmds):
    out = tmp_path / name
    inp = "".join(c + "\n" for c in cmds)
    r = subprocess.run([str(HEAPTRACE), "--json", "--top=0", "--outfile=%s" % out,
                        str(BIN / "s-hunt")], input=inp.encode(), env=clean_env(), timeout=60,
                       capture_output=True)
    assert r.returncode == 0
    return out


def test_diff_two_runs(tmp_path):
    old = json_dump(tmp_path, "old.json", "a a 2 100", "a b 5 10")
    new = json_dump(tmp_path, "new.json", "a a 7 100", "a b 3 10", "a c 1 40")
    r = run([HEAPTRACE, "--diff", old, new])
    assert r.returncode == 0, r.stderr
    rep = one_report(r.stdout)
    sec = rep.sections[0]
    assert sec.key == "growth"
    got = [(b.frames[1].func, b.count, b.size, b.growth_size, b.growth_count)
           for b in sec.backtraces]
    assert got == [("site_a", 7, "700 bytes", "+500 bytes", 5),
                   ("site_c", 1, "40 bytes", "+40 bytes", 1)]
    assert sec.backtraces[0].frames[1].file.endswith("tests/s-hunt.c")
    assert rep.summary["backtraces that grew"] == "2"
    assert rep.summary["growth of live heap"].startswith("+520 bytes/+4 ")


def test_diff_uses_the_last_report_of_each_file(tmp_path):
    old = json_dump(tmp_path, "old.json", "a a 2 100")
    new = json_dump(tmp_path, "new.json", "a a 2 100")
    r = run([HEAPTRACE, "--diff", old, new])
    rep = one_report(r.stdout)
    assert rep.backtraces == [] and rep.summary["backtraces that grew"] == "0"


@pytest.mark.parametrize("content,why", [("", ": holds no report"),
                                         ("{not json\n", ":1:2: expected a member name"),
                                         ('{"a": 1}\n', ": is not a heaptrace JSON report (schema_version 1 to 3)")])
def test_diff_bad_input(tmp_path, content, why):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    good = json_dump(tmp_path, "good.json", "a a 1 1")
    r = run([HEAPTRACE, "--diff", bad, good])
    assert (r.returncode, r.stdout, r.stderr) == (2, "", "heaptrace: %s%s\n" % (bad, why))


def test_diff_needs_two_files(tmp_path):
    r = run([HEAPTRACE, "--diff", tmp_path / "one"])
    assert (r.returncode, r.stderr) == (2, "heaptrace: --diff needs two files: OLD.json NEW.json\n")
    r = run([HEAPTRACE, "--diff", tmp_path / "one", tmp_path / "two"])
    assert (r.returncode, r.stderr) == (2, "heaptrace: %s: cannot be read\n" % (tmp_path / "one"))


def test_diff_of_cut_backtraces_reads_like_a_report(tmp_path):
    """deep_leak's backtrace is cut at DEPTH: the diff says so as the
    report does, and the output parses as a report."""
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    for out in (old, new):
        r = run([HEAPTRACE, "--json", "--top=0", "--outfile=%s" % out, BIN / "s-deep"])
        assert r.returncode == 0
    # the same run twice: nothing grew
    assert one_report(run([HEAPTRACE, "--diff", old, new]).stdout).backtraces == []
    # against an empty heap, everything grew
    empty = tmp_path / "empty.json"
    doc = json.loads(old.read_text())
    for sec in doc["sections"]:
        sec["backtraces"] = []
    empty.write_text(json.dumps(doc) + "\n")
    rep = one_report(run([HEAPTRACE, "--top=0", "--diff", empty, new]).stdout)
    deep = [b for b in rep.backtraces if b.frames[1].func == "deep_leak"]
    assert len(deep) == 1 and deep[0].truncated and deep[0].cut == "depth"
    assert deep[0].growth_size == "+2 KB" and deep[0].growth_count == 1
