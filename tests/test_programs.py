# SPDX-License-Identifier: GPL-2.0-or-later
"""Real programs from Debian, which nobody here wrote, run untraced and then
traced: a traced program must behave exactly as without heaptrace.

Each case runs its steps twice in the same working directory (emptied and
set up again in between, so outputs that name paths agree): once plainly,
once under `heaptrace --outfile=FILE --trace-children --top=0`.  Both runs must give the same
exit status, byte-identical stdout and stderr (the report goes to the file,
so stderr holds only the program's), and leave the same files behind.
Every report file the traced tree wrote (FILE for the traced process,
FILE.PID for the others) must be one well-formed report of that process:
the summary's number of backtraces is the number listed, its blocks the sum
of theirs, sizes parse and add up, the order is by size, and frame 0 of every
backtrace is an allocation function heaptrace interposes.

The environment is built from nothing (no HEAPTRACE_*, LD_PRELOAD or
MAKEFLAGS of the caller), with what makes the programs deterministic: C
locale, UTC, fixed hash seeds, fixed git identities and dates, HOME in the
working directory.
"""

import difflib
import functools
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

import pytest

from htlib import (AGE_RE, HEAPTRACE, REST_KEY, SEPARATOR, SIZE_RE, SUMMARY_KEYS, need,
                   one_report, outside_lines, parse_reports, size_lower_bound, PEAK_BOUND,
                   PEAK_BOUND_KEY)

# frame 0 of a backtrace: the hook the program called (demangled as printed)
ALLOC_FUNCS = {
    "malloc", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign",
    "aligned_alloc", "valloc", "pvalloc",
    "operator new(unsigned long)",
    "operator new[](unsigned long)",
    "operator new(unsigned long, std::nothrow_t const&)",
    "operator new[](unsigned long, std::nothrow_t const&)",
    "operator new(unsigned long, std::align_val_t)",
    "operator new[](unsigned long, std::align_val_t)",
    "operator new(unsigned long, std::align_val_t, std::nothrow_t const&)",
    "operator new[](unsigned long, std::align_val_t, std::nothrow_t const&)",
}
RUNTIME_KEY = "kept by the C runtime"
TOTAL_RE = re.compile(r"^(.+) in (\d+) blocks?$")
REPORT_NAME_RE = re.compile(r"^heap\.out(?:\.(\d+))?$")


@functools.lru_cache(maxsize=None)
def depth():
    """The build's DEPTH, from heaptrace -V (not at import: the build may be
    missing, which conftest reports)."""
    out = subprocess.run([str(HEAPTRACE), "-V"], capture_output=True, text=True).stdout
    return int(re.search(r"backtrace depth (\d+)", out).group(1))


def base_env(work):
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(work),
        "LC_ALL": "C",
        "LANG": "C",
        "TZ": "UTC",
        "TERM": "dumb",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PERL_HASH_SEED": "0",
        "PERL_PERTURB_KEYS": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "A U Thor",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "C O Mitter",
        "GIT_COMMITTER_EMAIL": "committer@example.com",
        "GIT_AUTHOR_DATE": "2020-01-02T03:04:05Z",
        "GIT_COMMITTER_DATE": "2020-01-02T03:04:05Z",
        "GIT_PAGER": "cat",
        "PAGER": "cat",
    }


# ------------------------------------------------------------------ the run

@dataclass
class Step:
    argv: list
    rc: int = 0                 # the status the untraced run must have
    stdin: bytes = None
    env: dict = field(default_factory=dict)
    timeout: int = 60
    # a sandbox (seccomp) that forbids opening FILE.PID: heaptrace's
    # documented fallback writes those reports to stderr, after one warning
    sandboxed: bool = False


@dataclass
class Result:
    pid: int
    rc: int
    stdout: bytes
    stderr: bytes


@dataclass
class Proc:
    """One process of the traced tree that wrote a report."""
    pid: int
    comm: str
    report: object


def run_step(step, work, outfile=None, opts=None):
    argv = [str(a) for a in step.argv]
    if outfile is not None:
        # a sandboxed process's fallback report shares stderr with the rest
        # of its pipeline: one backtrace keeps it within one atomic write
        opts = ["--outfile=%s" % outfile, "--trace-children",
                "--top=1" if step.sandboxed else "--top=0"]
    if opts is not None:
        argv = [str(HEAPTRACE)] + opts + argv
    env = base_env(work)
    env.update(step.env)
    p = subprocess.Popen(argv, env=env, cwd=work,
                         stdin=subprocess.PIPE if step.stdin is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(step.stdin, timeout=step.timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return Result(p.pid, p.returncode, out, err)


def first_diff(untraced, traced, lines=12):
    diff = difflib.unified_diff(untraced.decode(errors="replace").splitlines(),
                                traced.decode(errors="replace").splitlines(),
                                "untraced", "traced", lineterm="", n=1)
    return "\n".join(l[:200] for l in list(diff)[:lines])


def snapshot(work, products):
    return {name: (work / name).read_bytes() if (work / name).exists() else None
            for name in products}


def compare(tmp_path, steps, setup=None, products=()):
    """Run steps untraced, then traced, in the same fresh working directory;
    assert they behave the same.  Return, per step, the traced run's Result
    and {pid: Proc} of the reports its tree wrote."""
    work = tmp_path / "work"
    runs = {}
    for mode in ("plain", "traced"):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        if setup:
            setup(work)
        results = []
        for i, step in enumerate(steps):
            outfile = None
            if mode == "traced":
                outfile = tmp_path / "reports" / str(i) / "heap.out"
                outfile.parent.mkdir(parents=True)
            results.append(run_step(step, work, outfile))
        runs[mode] = (results, snapshot(work, products))

    plain, traced = runs["plain"], runs["traced"]
    for step, u, t in zip(steps, plain[0], traced[0]):
        what = " ".join(map(str, step.argv))[:200]
        assert u.rc == step.rc, "untraced %s: status %d, stderr %r" % (what, u.rc, u.stderr[-2000:])
        assert t.rc == u.rc, "traced %s: status %d, untraced %d; stderr %r" % (
            what, t.rc, u.rc, t.stderr[-2000:])
        assert t.stdout == u.stdout, "traced %s: stdout differs:\n%s" % (
            what, first_diff(u.stdout, t.stdout))
        t_err = without_fallback_reports(t.stderr, t.pid) if step.sandboxed else t.stderr
        assert t_err == u.stderr, "traced %s: stderr differs:\n%s" % (
            what, first_diff(u.stderr, t_err))
    for name in products:
        assert plain[1][name] is not None, "the untraced run made no %s" % name
        assert traced[1][name] == plain[1][name], "traced run: %s differs" % name
    trees = [check_report_files(tmp_path / "reports" / str(i), r.pid,
                                top=1 if step.sandboxed else 0)
             for i, (step, r) in enumerate(zip(steps, traced[0]))]
    return list(zip(traced[0], trees))


# ---------------------------------------------------------------- the reports

def size_range(text):
    """[low, high) of the byte counts a size of the report can stand for."""
    low = size_lower_bound(text)
    unit = text.split()[-1]
    # without decimals a size is exact; with three, its last digit is cut
    step = 1 if "." not in text else {"KB": 1, "MB": 10**3, "GB": 10**6}[unit]
    return low, low + step


def check_report(rep, pid, top=0):
    """A well-formed report of pid; top: the --top it was written with."""
    assert [(s.key, s.pid) for s in rep.sections] == [("size", pid)]
    sec = rep.sections[0]
    bts = sec.backtraces

    keys = list(rep.summary)
    if RUNTIME_KEY in keys:
        keys.remove(RUNTIME_KEY)
        assert list(rep.summary).index(RUNTIME_KEY) == 2
        assert re.fullmatch(r"(.+) in \d+ blocks? \(thread control blocks\)",
                            rep.summary[RUNTIME_KEY])
    rest = rep.summary.pop(REST_KEY, None)
    keys = [k for k in keys if k != REST_KEY]
    if PEAK_BOUND_KEY in keys:  # the program ran threads
        assert keys[keys.index(PEAK_BOUND_KEY) - 1] == "peak of live heap"
        assert rep.summary[PEAK_BOUND_KEY] == PEAK_BOUND
        keys.remove(PEAK_BOUND_KEY)
    assert keys == SUMMARY_KEYS, "summary of %d: %r" % (pid, list(rep.summary))
    m = TOTAL_RE.match(rep.summary["heap traced allocation size"])
    assert m and SIZE_RE.match(m.group(1)), rep.summary["heap traced allocation size"]
    # the summary counts the backtraces shown (in the leaked section too),
    # and says how many more
    shown = {tuple(f.addr for f in b.frames) for s in rep.all_sections for b in s.backtraces}
    assert int(rep.summary["heap traced num of backtrace"]) == len(shown)
    if top:
        assert len(bts) <= top
        assert rest is None or len(bts) == top
    else:
        assert rest is None
        assert int(m.group(2)) == sum(b.count for b in bts)
        low, high = size_range(m.group(1))
        ranges = [size_range(b.size) for b in bts]
        # the listed sizes, each cut to its unit, add up to the total
        assert sum(r[0] for r in ranges) < high, (pid, m.group(1))
        assert low <= sum(r[1] - 1 for r in ranges), (pid, m.group(1))

    for rank, bt in enumerate(bts, 1):
        where = "pid %d backtrace #%d" % (pid, rank)
        assert bt.rank == rank, where
        assert 1 <= bt.count <= bt.peak_count, where
        assert SIZE_RE.match(bt.size) and SIZE_RE.match(bt.peak_size), where
        assert size_lower_bound(bt.size) <= size_lower_bound(bt.peak_size), where
        assert AGE_RE.match(bt.age), where
        # one address per frame not inlined: those are what DEPTH counts
        addrs = [f for f in bt.frames if not f.inlined]
        assert 1 <= len(addrs) <= depth(), where
        # cut at DEPTH, or by an unwinder that could not read the stack
        # (a sandbox), which still gives the hook and its caller
        assert not bt.truncated or len(addrs) == depth() or \
            (bt.cut == "unreadable" and len(addrs) == 2), where
        f0 = bt.frames[0]
        assert f0.func in ALLOC_FUNCS, "%s: frame 0 is %r" % (where, f0)
        assert f0.obj.endswith("/libheaptrace.so"), "%s: frame 0 is %r" % (where, f0)
        for f in bt.frames[1:]:
            assert not f.obj.endswith("/libheaptrace.so"), "%s: heaptrace's frame %r" % (where, f)
    sizes = [size_lower_bound(b.size) for b in bts]
    assert sizes == sorted(sizes, reverse=True), "pid %d: not sorted by size" % pid


FALLBACK_RE = re.compile(r"^heaptrace: cannot open '.*': .*; writing the report to stderr$")


def without_fallback_reports(stderr, root_pid):
    """stderr without the reports heaptrace had to write there (each after
    its one warning line), which must be well-formed; the rest is the
    program's."""
    out, report, warned = [], [], False
    for line in stderr.decode(errors="replace").splitlines(keepends=True):
        if report or (warned and line == SEPARATOR + "\n"):
            report.append(line)
            if len(report) > 1 and line == SEPARATOR + "\n":
                rep = one_report("".join(report))
                check_report(rep, rep.sections[0].pid, top=1)
                assert rep.sections[0].pid != root_pid, "the root could not write its file"
                report, warned = [], False
            continue
        if FALLBACK_RE.match(line.rstrip("\n")):
            warned = True
            continue
        out.append(line)
    assert not report and not warned, "an unfinished report on stderr"
    return "".join(out).encode()


def check_report_files(rdir, root_pid, top=0):
    """Every file in rdir is FILE or FILE.PID, holds nothing but one
    well-formed report of its process; return {pid: Proc}."""
    procs = {}
    for path in sorted(rdir.iterdir()):
        m = REPORT_NAME_RE.match(path.name)
        assert m, "unexpected file %s" % path.name
        pid = int(m.group(1)) if m.group(1) else root_pid
        assert not (m.group(1) and pid == root_pid), "the traced process wrote %s" % path.name
        text = path.read_text(errors="replace")
        assert text.startswith(SEPARATOR + "\n") and text.endswith(SEPARATOR + "\n"), path.name
        assert outside_lines(text) == [], path.name
        reps = parse_reports(text)
        assert len(reps) == 1, "%s holds %d reports" % (path.name, len(reps))
        check_report(reps[0], pid, top)
        procs[pid] = Proc(pid, reps[0].sections[0].comm, reps[0])
    return procs


def comms(tree, root_pid, children=True):
    return sorted(p.comm for p in tree.values() if (p.pid != root_pid) == children)


def root_comm(tree, root_pid):
    return tree[root_pid].comm if root_pid in tree else None


def write(work, name, text):
    path = work / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


# ------------------------------------------------------------- interpreters

PY_SCRIPT = r'''
import collections, concurrent.futures, hashlib, json, subprocess, sys, zlib

def work(n):
    words = ["w%d" % (i * i % 1009) for i in range(n)]
    c = collections.Counter(words)
    return hashlib.sha256(json.dumps(c.most_common(5)).encode()).hexdigest()[:16]

with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
    print(list(ex.map(work, [2000, 4000, 6000, 8000])))
blob = zlib.compress(b"".join(b"%d\n" % i for i in range(20000)), 9)
print(len(blob), zlib.crc32(blob))
print(subprocess.run(["sort", "-r"], input="b\na\nc\n", capture_output=True,
                     text=True).stdout.split())
print({str(k): [k] * k for k in range(5)}, sorted({"x", "y", "z"}))
print("to stderr", file=sys.stderr)
sys.exit(5)
'''


def test_python(tmp_path):
    """CPython: threads, zlib, hashlib, a child process (sort), sys.exit(5);
    once more with PYTHONMALLOC=malloc, so that every object goes through
    the hooks; an uncaught exception (status 1, a traceback); a script that
    does not exist (status 2: the message quotes errno, read after Python
    allocated the file name, so a hook that changed errno shows)."""
    steps = [
        Step(["/usr/bin/python3", "s.py"], rc=5),
        Step(["/usr/bin/python3", "s.py"], rc=5, env={"PYTHONMALLOC": "malloc"}),
        Step(["/usr/bin/python3", "-c", "d = {i: str(i) for i in range(9999)}\nprint(len(d))\n"
              "print(d[5] + 1)"], rc=1),
        Step(["/usr/bin/python3", "no-such-script.py"], rc=2),
    ]
    res = compare(tmp_path, steps, setup=lambda w: write(w, "s.py", PY_SCRIPT))
    for r, tree in res[:2]:
        assert root_comm(tree, r.pid) == "python3"
        assert "sort" in comms(tree, r.pid)
    assert res[2][0].stderr.endswith(b"TypeError: can only concatenate str (not \"int\") to str\n")
    assert b"[Errno 2] No such file or directory" in res[3][0].stderr


PERL_SCRIPT = r'''
use strict; use warnings;
$| = 1;
my %h;
for my $i (1 .. 20000) { $h{"k" . ($i % 503)} .= chr(65 + $i % 26); }
my @k = sort keys %h;
printf "%d %s %d\n", scalar(@k), $k[0], length(join "", map { $h{$_} } @k);
my $s = join ",", map { sprintf "%x", $_ * $_ } 1 .. 60;
(my $t = $s) =~ s/([0-9])([a-f])/$2$1/g;
print substr($t, 0, 70), "\n";
print join("|", unpack("A3 n N", pack("A3 n N", "abcdef", 513, 70000))), "\n";
open(my $fh, "-|", "printf", 'c\na\nb\n') or die "printf: $!";
my @lines = sort <$fh>;
close $fh or die;
print @lines;
my $pid = fork // die "fork: $!";
if (!$pid) { my @x = map { [$_] } 1 .. 1000; print "child ", scalar(@x), "\n"; exit 2; }
waitpid($pid, 0);
print "child status ", $? >> 8, "\n";
warn "warned\n";
exit 6;
'''


def test_perl(tmp_path):
    """perl: hashes, sort, regexes, pack, pipes from children (sort,
    printf), fork with a child that exits 2, warn, exit 6; die (its exit
    status is errno when that is set: 255 here, where a hook that left
    errno set would show); die after a failed open (status 2, ENOENT)."""
    steps = [
        Step(["perl", "s.pl"], rc=6),
        Step(["perl", "-e", 'my @a = (1) x 1000; die "bad: " . scalar(@a) . "\n"'], rc=255),
        Step(["perl", "-e", 'open(my $f, "<", "/nonexistent/x") or die "cannot open: $!\n"'],
             rc=2),
    ]
    res = compare(tmp_path, steps, setup=lambda w: write(w, "s.pl", PERL_SCRIPT))
    r, tree = res[0]
    assert b"child status 2\n" in r.stdout
    assert root_comm(tree, r.pid) == "perl"
    # the forked perl exits normally: its report is FILE.PID
    assert "perl" in comms(tree, r.pid)
    assert res[1][0].stderr == b"bad: 1000\n"
    assert root_comm(res[1][1], res[1][0].pid) == "perl"


# ------------------------------------------------------------- JIT runtimes

JAVA_MAIN = r'''
import java.util.*;
import java.util.stream.*;

public class Hello {
    static String describe(Map<String, Integer> m) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, Integer> e : m.entrySet())
            if (e.getValue() % 5 == 0) sb.append(e.getKey()).append('=').append(e.getValue()).append(' ');
        return sb.toString().trim();
    }

    public static void main(String[] args) throws Exception {
        Map<String, Integer> m = new TreeMap<>();
        for (int i = 0; i < 30000; i++) m.merge("k" + (i % 97), i % 13, Integer::sum);
        System.out.println(m.size() + " " + describe(m).length());
        long par = IntStream.range(0, 300000).parallel().mapToLong(i -> (long) i * (i % 7)).sum();
        System.out.println("parallel " + par);
        List<Thread> ts = new ArrayList<>();
        int[] out = new int[4];
        for (int t = 0; t < 4; t++) {
            final int id = t;
            Thread th = new Thread(() -> {
                List<int[]> junk = new ArrayList<>();
                for (int i = 0; i < 5000; i++) junk.add(new int[i % 64 + 1]);
                out[id] = junk.size() * (id + 1);
            });
            th.start();
            ts.add(th);
        }
        for (Thread th : ts) th.join();
        System.out.println(Arrays.toString(out));
        System.err.println("done");
        if (args.length > 0) throw new IllegalStateException(args[0]);
        System.exit(3);
    }
}
'''


def test_java(tmp_path):
    """OpenJDK 17 running a one-file source program (compiled in memory by
    javac, run with the JIT): maps, a parallel stream, threads; exit 3,
    then an uncaught exception (status 1, stack trace on stderr)."""
    need("java")
    steps = [
        Step(["java", "Hello.java"], rc=3),
        Step(["java", "Hello.java", "boom"], rc=1),
    ]
    res = compare(tmp_path, steps, setup=lambda w: write(w, "Hello.java", JAVA_MAIN))
    for r, tree in res:
        assert root_comm(tree, r.pid) == "java"
    assert b"IllegalStateException: boom" in res[1][0].stderr


NODE_SCRIPT = r'''
const m = new Map();
for (let i = 0; i < 50000; i++) m.set("k" + (i % 997), (m.get("k" + (i % 997)) || 0) + i);
let s = 0;
for (const v of m.values()) s += v;
console.log(m.size, s, JSON.stringify([...m.keys()].slice(0, 3)));
const buf = Buffer.alloc(1 << 20, 7);
console.log(require("crypto").createHash("sha256").update(buf).digest("hex"));
console.log(require("child_process").execFileSync("sort", ["-r"], {input: "b\na\nc\n"}).toString().split("\n").join(","));
console.error("to stderr");
process.exitCode = 4;
'''


def test_node(tmp_path):
    """node (V8's JIT; /usr/bin/node here is not from Debian's archive, an
    extra case): maps, a 1 MB Buffer, crypto, a child process (sort),
    exit 4."""
    need("node")
    steps = [Step(["node", "s.js"], rc=4)]
    res = compare(tmp_path, steps, setup=lambda w: write(w, "s.js", NODE_SCRIPT))
    r, tree = res[0]
    assert root_comm(tree, r.pid) == "node"


# ------------------------------------------------------------------ database

SQL_LOAD = b'''
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, val REAL, blob BLOB);
BEGIN;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000)
INSERT INTO t(name, grp, val, blob) SELECT 'n' || i, i % 7, i * 0.5, zeroblob(i % 300) FROM c;
COMMIT;
CREATE INDEX t_grp ON t(grp, name);
SELECT grp, count(*), sum(val), min(name), max(name), sum(length(blob)) FROM t
  GROUP BY grp ORDER BY grp;
SELECT count(DISTINCT name), printf('%.6f', avg(val)) FROM t WHERE grp IN (1, 3, 5);
UPDATE t SET val = -val WHERE id % 10 = 0;
DELETE FROM t WHERE id % 3 = 0;
SELECT group_concat(id, ',') FROM (SELECT id FROM t WHERE val < 0 ORDER BY id LIMIT 20);
'''


def test_sqlite3(tmp_path):
    """sqlite3 on a database file: create, insert 5000 rows, index,
    aggregate, update, delete; query the file again; a bad query (status 1,
    the error on stderr); a script that stops at its first error (-bail)."""
    need("sqlite3")
    steps = [
        Step(["sqlite3", "db.sqlite"], stdin=SQL_LOAD),
        Step(["sqlite3", "-header", "-column", "db.sqlite",
              "SELECT grp, count(*) AS n, total(val) AS s FROM t GROUP BY grp "
              "HAVING n > 400 ORDER BY s DESC;"]),
        Step(["sqlite3", "db.sqlite", "SELECT nosuch FROM t;"], rc=1),
        Step(["sqlite3", "-bail", ":memory:"], rc=1,
             stdin=b"CREATE TABLE a(x);\nINSERT INTO a VALUES (1), (2);\nSELECT sum(x) FROM a;\n"
                   b"INSERT INTO b VALUES (3);\nSELECT 'not reached';\n"),
    ]
    res = compare(tmp_path, steps, products=["db.sqlite"])
    for r, tree in res:
        assert root_comm(tree, r.pid) == "sqlite3"
    assert b"no such column: nosuch" in res[2][0].stderr
    assert res[3][0].stdout == b"3\n"


# ------------------------------------------------------------ version control

GIT_PATCH = '''\
--- a/f2.txt
+++ b/f2.txt
@@ -5,5 +5,5 @@
 5
 6
-7
+seven
 8
 9
--- /dev/null
+++ b/f4.txt
@@ -0,0 +1,2 @@
+new file
+second line
'''


def git_setup(work):
    for i in (1, 2, 3):
        write(work, "repo/f%d.txt" % i, "".join("%d\n" % n for n in range(1, 50 * i + 1)))
    write(work, "change.patch", GIT_PATCH)


def test_git(tmp_path):
    """git: log outside a repository (128), init, add, commit, mv, rm,
    apply a patch, commit, tag, log, diff, show, status, repack (forks
    pack-objects), count-objects, a bad revision (128)."""
    need("git")
    g = ["git", "-C", "repo"]
    steps = [
        Step(["git", "log"], rc=128),
        Step(g + ["init", "-b", "main"]),
        Step(g + ["log"], rc=128),
        Step(g + ["add", "."]),
        Step(g + ["commit", "-m", "first"]),
        Step(g + ["mv", "f1.txt", "g1.txt"]),
        Step(g + ["rm", "-q", "f3.txt"]),
        Step(g + ["apply", "--index", "../change.patch"]),
        Step(g + ["commit", "-m", "second\n\nwith a body"]),
        Step(g + ["tag", "-a", "v1", "-m", "tag one"]),
        Step(g + ["log", "--stat", "--format=fuller", "-M"]),
        Step(g + ["diff", "HEAD~1", "HEAD"]),
        Step(g + ["show", "--format=raw", "v1"]),
        Step(g + ["status", "--porcelain=v2", "--branch"]),
        Step(g + ["repack", "-a", "-d", "-q"]),
        Step(g + ["count-objects", "-v"]),
        Step(g + ["rev-parse", "HEAD~5"], rc=128),
    ]
    res = compare(tmp_path, steps, setup=git_setup,
                  products=["repo/.git/refs/tags/v1", "repo/.git/HEAD", "repo/f2.txt"])
    for r, tree in res:
        assert root_comm(tree, r.pid) == "git"
    log = res[10][0].stdout.decode()
    assert log.count("\ncommit ") == 1 and "with a body" in log
    # git repack runs git pack-objects, which writes FILE.PID
    assert "git" in comms(res[14][1], res[14][0].pid)


# -------------------------------------------------------------------- shells

BASH_SCRIPT = r'''
set -o pipefail
n=0; for i in $(seq 1 300); do n=$((n + i)); done; echo "sum=$n"
(cd / && pwd; exit 3); echo "subshell=$?"
printf '%s\n' c a b a | sort | uniq -c | tr -s ' '
x=$(echo hi | tr a-z A-Z); echo "$x"
declare -A m; for k in one two three four; do m[$k]=${#k}; done
for k in $(printf '%s\n' "${!m[@]}" | sort); do echo "$k=${m[$k]}"; done
( for i in 1 2 3; do echo "bg $i"; done > bg.txt ) & wait $!; cat bg.txt
while read -r a b; do echo "$b $a"; done < <(printf '1 x\n2 y\n')
cat <<EOF | wc -c
here document $n
EOF
f() { local IFS=,; echo "args=$*"; return 7; }; f a b c; echo "f=$?"
false | true; echo "pipe=$?"
echo to-stderr >&2
exit 4
'''

DASH_SCRIPT = r'''
i=0; s=0
while [ $i -lt 500 ]; do s=$((s + i * i)); i=$((i + 1)); done; echo "$s"
(echo in sub; exit 2); echo "sub=$?"
echo a b c | { read x y z; echo "$z$y$x"; }
f() { echo "f:$#:$*"; return 3; }; f 1 "2 3"; echo "f=$?"
printf '%s\n' 3 1 2 | sort -n | tr '\n' ' '; echo
case $s in *5*) echo five;; esac
v=$(printf 'abc' | wc -c); echo "v=$v"
echo oops >&2
exit 9
'''


def test_bash(tmp_path):
    """bash: arithmetic loop, subshells, pipelines, command and process
    substitution, associative arrays, a background job, a here document,
    pipefail, exit 4; and `false` as the last command (status 1).  bash
    forks: subshells and pipeline members write FILE.PID."""
    steps = [
        Step(["bash", "s.sh"], rc=4),
        Step(["bash", "-c", "echo before; false"], rc=1),
    ]
    res = compare(tmp_path, steps, setup=lambda w: write(w, "s.sh", BASH_SCRIPT))
    r, tree = res[0]
    assert root_comm(tree, r.pid) == "bash"
    kids = comms(tree, r.pid)
    for comm in ("bash", "sort", "uniq", "tr", "seq"):
        assert comm in kids, kids


def test_dash(tmp_path):
    """dash (Debian's /bin/sh): a loop, a subshell, pipelines, functions,
    command substitution, exit 9.  dash frees what it allocates, so it
    usually writes no report; its children (sort, tr) do."""
    steps = [Step(["dash", "s.sh"], rc=9)]
    res = compare(tmp_path, steps, setup=lambda w: write(w, "s.sh", DASH_SCRIPT))
    r, tree = res[0]
    assert "sort" in comms(tree, r.pid)
    assert res[0][0].stdout.startswith(b"41541750\nin sub\nsub=2\ncba\n")


# --------------------------------------------------------------- compressors

def make_data():
    """About 400 KB of compressible, deterministic text."""
    lines, x = [], 12345
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]
    for i in range(12000):
        x = (x * 1103515245 + 12345) % 2**31
        lines.append("line %d %s %x\n" % (i, " ".join(words[(x >> k) % 6] for k in range(x % 7)), x))
    return "".join(lines).encode()


DATA = make_data()


def data_setup(work):
    write(work, "data", DATA)
    os.utime(work / "data", (1577836800, 1577836800))      # gzip stores it
    write(work, "bad.gz", b"\x1f\x8b\x08\x00" + DATA[:200])
    write(work, "notxz", DATA[:100])


@pytest.mark.parametrize("tool", ["gzip", "xz", "zstd"])
def test_compressor(tmp_path, tool):
    """A round trip of 400 KB (xz and zstd with two threads): the
    compressed bytes are the same traced and untraced, decompressing gives
    the data back; a corrupt or foreign input fails the same way.  gzip
    and zstd free everything: they must write no report."""
    need(tool)
    if tool == "gzip":
        steps = [Step(["gzip", "-9", "-k", "data"]),
                 Step(["gzip", "-dc", "data.gz"]),
                 Step(["gzip", "-9", "-c"], stdin=DATA),
                 Step(["gzip", "-t", "bad.gz"], rc=1)]
        products = ["data.gz"]
    elif tool == "xz":
        steps = [Step(["xz", "-T2", "--block-size=65536", "-6", "-k", "data"]),
                 Step(["xz", "-T2", "-dc", "data.xz"]),
                 Step(["xz", "-c", "--check=sha256"], stdin=DATA),
                 Step(["xz", "-dc", "notxz"], rc=1)]
        products = ["data.xz"]
    else:
        steps = [Step(["zstd", "-q", "-T2", "-10", "-k", "data", "-o", "data.zst"]),
                 Step(["zstd", "-q", "-dc", "data.zst"]),
                 Step(["zstd", "-q", "-c", "--ultra", "-20"], stdin=DATA[:100000]),
                 Step(["zstd", "-q", "-dc", "notxz"], rc=1)]
        products = ["data.zst"]
    res = compare(tmp_path, steps, setup=data_setup, products=products)
    # gzip and zstd free what they allocate (their stdio buffers are not
    # counted): no report; xz keeps some blocks to the end
    written = [sorted(p.comm for p in tree.values()) for r, tree in res]
    assert written == ([["xz"]] * 4 if tool == "xz" else [[]] * 4)
    assert res[1][0].stdout == DATA
    assert len(res[2][0].stdout) < len(DATA) // 3
    assert res[3][0].stderr


# ---------------------------------------------------------------------- C++

CXX_GOOD = r'''
template <int N> struct F { static const long v = N * F<N - 1>::v; };
template <> struct F<0> { static const long v = 1; };
struct Base { virtual ~Base() {} virtual long f() const = 0; };
template <int N> struct D : Base { long f() const override { return F<N>::v; } };
long total() { D<5> a; D<10> b; const Base *p[] = {&a, &b}; long s = 0;
               for (auto *q : p) s += q->f(); return s; }
int main() { return total() % 7; }
'''
CXX_BAD = "int main() { return undeclared; }\n"


def test_gxx(tmp_path):
    """g++ (the driver, cc1plus and as are C++ and C programs that fork and
    exec each other): compile a small file to an object (same bytes), and
    a file with an error (status 1, the diagnostic on stderr)."""
    def setup(w):
        write(w, "x.cc", CXX_GOOD)
        write(w, "bad.cc", CXX_BAD)

    flags = ["-fdiagnostics-color=never", "-fno-diagnostics-show-caret"]
    steps = [Step(["g++", *flags, "-O1", "-c", "x.cc", "-o", "x.o"]),
             Step(["g++", *flags, "-fsyntax-only", "bad.cc"], rc=1)]
    res = compare(tmp_path, steps, setup=setup, products=["x.o"])
    r, tree = res[0]
    assert root_comm(tree, r.pid) == "g++"
    assert {"cc1plus", "as"} <= set(comms(tree, r.pid))
    assert b"'undeclared' was not declared in this scope" in res[1][0].stderr


CMAKE_SCRIPT = r'''
set(acc "")
foreach(i RANGE 1 400)
  math(EXPR sq "${i} * ${i} % 97")
  list(APPEND acc "${sq}")
endforeach()
list(REMOVE_DUPLICATES acc)
list(SORT acc COMPARE NATURAL)
list(LENGTH acc n)
string(JOIN "," joined ${acc})
string(SHA256 h "${joined}")
string(REGEX REPLACE "([0-9]+)" "<\\1>" tagged "${joined}")
file(WRITE "${CMAKE_CURRENT_LIST_DIR}/out.txt" "${tagged}\n")
file(READ "${CMAKE_CURRENT_LIST_DIR}/out.txt" back)
string(LENGTH "${back}" len)
execute_process(COMMAND sort -r INPUT_FILE out.txt OUTPUT_VARIABLE sorted)
message("n=${n} len=${len} sha=${h} sorted=${sorted}")
message(STATUS "status line")
message(FATAL_ERROR "stop here")
'''


def test_cmake(tmp_path):
    """cmake -P (C++): lists, math, regexes, files, a child process; a
    fatal error (status 1)."""
    need("cmake")
    steps = [Step(["cmake", "-P", "s.cmake"], rc=1),
             Step(["cmake", "-E", "sha256sum", "out.txt", "missing.txt"], rc=1)]
    res = compare(tmp_path, steps, setup=lambda w: write(w, "s.cmake", CMAKE_SCRIPT),
                  products=["out.txt"])
    assert b"stop here" in res[0][0].stderr


# --------------------------------------------------------------------- make

MAKEFILE = '''\
all: a.txt b.txt c.txt d.txt
\tcat $^ | sort > all.txt
\twc -l < all.txt
\tsort -u all.txt | head -n 3
%.txt:
\tseq 1 $(if $(filter a,$*),10,20) | sed "s/^/$*/" > $@
fail: all
\t@echo about to fail
\t@exit 5
'''


def test_make(tmp_path):
    """make -j2 running recipes through /bin/sh (seq, sed, sort, cat,
    head: children writing FILE.PID); a failing recipe (status 2)."""
    need("make")
    steps = [Step(["make", "-s", "-j2"]),
             Step(["make", "-s", "fail"], rc=2)]
    res = compare(tmp_path, steps, setup=lambda w: write(w, "Makefile", MAKEFILE),
                  products=["all.txt"])
    r, tree = res[0]
    assert r.stdout == b"70\na1\na10\na2\n"
    assert root_comm(tree, r.pid) == "make"
    kids = comms(tree, r.pid)
    for comm in ("seq", "sed", "sort"):
        assert comm in kids, kids


# ------------------------------------------------------ a sandboxed pipeline

MAN_ENV = {"MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"}


def need_man():
    need("man")
    if subprocess.run(["man", "-w", "true"], capture_output=True,
                      env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"}).returncode:
        pytest.skip("no manual page for true(1) (manpages excluded from this system)")


def test_man(tmp_path):
    """man-db's man formats a page through a pipeline of children (iconv,
    col, ...) that it confines with a seccomp filter (every system call not
    on its list fails with ENOSYS).  The children are traced too; those
    that cannot open FILE.PID write their well-formed report to stderr after
    one warning (the documented fallback); the page, the status and the
    rest of man's stderr are the same as untraced."""
    need_man()
    steps = [Step(["man", "-P", "cat", "true"], env=MAN_ENV, sandboxed=True),
             Step(["man", "-P", "cat", "no-such-page-here"], env=MAN_ENV, rc=16, sandboxed=True)]
    res = compare(tmp_path, steps)
    r, tree = res[0]
    assert r.stdout.startswith(b"TRUE(1)")
    assert root_comm(tree, r.pid) == "man"


def test_man_reports_on_stderr(tmp_path):
    """The same pipeline without --outfile: every process of the tree,
    the sandboxed ones included, writes a well-formed report to stderr (with
    frames: frame 0 the allocation function), and nothing else."""
    need_man()
    step = Step(["man", "-P", "cat", "true"], env=MAN_ENV)
    work = tmp_path / "work"
    work.mkdir()
    u = run_step(step, work)
    t = run_step(step, work, opts=["--top=0", "--trace-children"])
    assert (t.rc, t.stdout) == (u.rc, u.stdout) and u.stderr == b""
    text = t.stderr.decode(errors="replace")
    assert outside_lines(text) == [], "stderr outside the reports: %r" % outside_lines(text)[:5]
    reports = parse_reports(text)
    by_comm = {}
    for rep in reports:
        sec = rep.sections[0]
        check_report(rep, sec.pid)
        by_comm.setdefault(sec.comm, []).append(sec.pid)
    assert by_comm.get("man") == [t.pid]
    assert len(by_comm) > 1, "only man reported: %s" % by_comm


# ------------------------------------------------------------------- extras

def jq_doc(n):
    return json.dumps({"users": [{"id": i, "name": "u%d" % i, "tags": ["t%d" % (i % 5),
                                                                     "t%d" % (i % 3)]}
                                 for i in range(n)]}).encode()


def test_jq(tmp_path):
    """jq: a filter
    grouping 2000 objects; a file that cannot be opened (status 2: the
    message quotes errno after jq allocated, so a hook that changed errno
    shows)."""
    need("jq")
    steps = [Step(["jq", "-c", "[.users[] | select(.id % 7 == 0) | .tags[0]] | group_by(.)"
                   " | map({(.[0]): length}) | add"], stdin=jq_doc(2000)),
             Step(["jq", "-S", ".", "data.json"]),
             Step(["jq", ".", "/nonexistent/file.json"], rc=2)]
    res = compare(tmp_path, steps, setup=lambda w: write(w, "data.json", jq_doc(20)))
    assert res[0][0].stdout == b'{"t0":58,"t1":57,"t2":57,"t3":57,"t4":57}\n'
    assert b"No such file or directory" in res[2][0].stderr
