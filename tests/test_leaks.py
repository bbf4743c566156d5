# SPDX-License-Identifier: GPL-2.0-or-later
"""Leak classification at exit (issue 15), judged against valgrind's
memcheck.  Each case runs twice: under memcheck alone (no heaptrace) and
under `heaptrace --json`; memcheck's definitely lost / indirectly lost /
still reachable must be heaptrace's leaked / indirect / reachable, and both
must be the case's fixed numbers.  The memcheck half of each case is also a
test of its own (test_memcheck_*), which holds whatever state heaptrace is
in: it pins down what memcheck says, so that a failure of the cross-check
is heaptrace's.

The JSON shape the cross-check reads (schema_version 3): each backtrace has
leaked_count, leaked_bytes, indirect_count, indirect_bytes beside count and
bytes; the summary has "leaks": {"leaked", "indirect", "reachable"}, each
{"bytes", "blocks"}.  The three classes split the blocks the summary's
bytes and blocks count: the C runtime's blocks ("runtime") and those hidden
by --ignore are in none of them.

Where memcheck and heaptrace differ by rule, not by mistake, the case says
so and the comparison accounts for it:
- interior pointers: a block pointed to only inside (not at its start) is
  "possibly lost" for memcheck, reachable for heaptrace as for LSan;
- a thread's DTV (glibc's _dl_allocate_tls, one per thread alive at exit)
  is pointed to from the thread's TCB at its second entry (glibc keeps
  &dtv[1]): "possibly lost" for memcheck, the runtime's block for heaptrace;
  its size is 16 bytes per TLS module, and heaptrace's own libraries add
  modules, so only the numbers of blocks are compared;
- memcheck runs glibc's __libc_freeres at exit (--run-libc-freeres=yes),
  which frees what the loader keeps for dlopen(): the _dl_find_object table
  and the objects' l_initfini arrays; heaptrace leaves libc alone, so they
  stay reachable.
- cycles: memcheck calls the block of a lost cycle it meets first (the
  lowest address) "definitely lost" and every other block of the cycle
  "indirectly lost"; LSan would call them all indirect.  heaptrace follows
  memcheck.  The cases keep the blocks of one cycle at one backtrace and one
  size, so which one leads changes no number.

Memcheck's stacks and heaptrace's are compared in the real programs' cases
(python3, perl, sqlite3, git, a C++ program with a static registry): the
leaked bytes (definitely + indirectly lost) within 1%, and the innermost
frames below the allocator of the top leaking backtrace.
"""

import functools
import json
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import pytest

from htlib import BIN, HEAPTRACE, clean_env, need, run

MEMCHECK_OPTS = ["--tool=memcheck", "--leak-check=full", "--show-leak-kinds=all",
                 "--errors-for-leak-kinds=none", "--num-callers=12"]
# heaptrace's frame 0 is its hook, memcheck's its replacement: 12 frames each
HT_OPTS = ["--json", "--depth=12", "--top=0", "--sort=leaked,size"]
KINDS = {"Leak_DefinitelyLost": "leaked", "Leak_IndirectlyLost": "indirect",
         "Leak_PossiblyLost": "possibly", "Leak_StillReachable": "reachable"}
DIRECT_RE = re.compile(r"^([\d,]+) \(([\d,]+) direct, ([\d,]+) indirect\) bytes")
ALLOCATORS = {"malloc", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign",
              "aligned_alloc", "valloc", "pvalloc", "operator new(unsigned long)",
              "operator new[](unsigned long)"}
# deterministic runs of the real programs (hash seeds change what is allocated)
ENV = {"LC_ALL": "C", "TZ": "UTC", "PYTHONHASHSEED": "0", "PERL_HASH_SEED": "0",
       "PERL_PERTURB_KEYS": "0", "PYTHONMALLOC": "malloc", "PYTHONDONTWRITEBYTECODE": "1"}


# ------------------------------------------------------------------ memcheck

@dataclass
class Record:
    """A loss record of memcheck: its kind, direct bytes and blocks (a
    definitely lost record's own bytes, without what it holds indirectly),
    the bytes it holds indirectly, its functions innermost first."""
    kind: str
    bytes: int
    blocks: int
    indirect: int
    funcs: list


@dataclass
class Memcheck:
    totals: dict = field(default_factory=dict)  # kind: (bytes, blocks)
    records: list = field(default_factory=list)
    seconds: float = 0.0
    returncode: int = 0


def parse_memcheck_xml(text):
    res = Memcheck(totals={k: (0, 0) for k in KINDS.values()})
    for err in ET.fromstring(text).iter("error"):
        kind = KINDS.get(err.findtext("kind"))
        if kind is None:
            continue
        what = err.find("xwhat")
        nbytes, blocks = int(what.findtext("leakedbytes")), int(what.findtext("leakedblocks"))
        indirect = 0
        m = DIRECT_RE.match(what.findtext("text"))
        if m:  # "X (D direct, I indirect) bytes": leakedbytes is X
            nbytes, indirect = int(m.group(2).replace(",", "")), int(m.group(3).replace(",", ""))
        funcs = [f.findtext("fn") or "" for f in err.find("stack").iter("frame")]
        res.records.append(Record(kind, nbytes, blocks, indirect, funcs))
        b, n = res.totals[kind]
        res.totals[kind] = (b + nbytes, n + blocks)
    return res


@functools.lru_cache(maxsize=None)
def _memcheck(argv, cwd, tmp):
    xml = os.path.join(tmp, "memcheck-%d.xml" % abs(hash(argv)))
    start = time.monotonic()
    r = run([need("valgrind"), *MEMCHECK_OPTS, "--xml=yes", "--xml-file=" + xml, *argv],
            env=ENV, cwd=cwd, timeout=600)
    seconds = time.monotonic() - start
    with open(xml) as f:
        res = parse_memcheck_xml(f.read())
    res.seconds, res.returncode = seconds, r.returncode
    return res


def memcheck(argv, tmp_path_factory, cwd=None):
    """memcheck's loss records of argv (run once per session)."""
    tmp = str(tmp_path_factory.getbasetemp())
    return _memcheck(tuple(str(a) for a in argv), cwd, tmp)


# ------------------------------------------------------------------ heaptrace

def heaptrace(argv, tmp_path, cwd=None, opts=()):
    """The exit report of argv traced, as parsed JSON, and the run."""
    out = tmp_path / "heap.json"
    r = run([HEAPTRACE, *HT_OPTS, *opts, "--outfile=%s" % out, *argv], env=ENV, cwd=cwd,
            timeout=300)
    assert r.returncode != 2, "heaptrace refused the run: %s" % r.stderr[-2000:]
    reports = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    assert reports, "no report: %s" % r.stderr[-2000:]
    rep = reports[-1]
    assert rep["schema_version"] == 3, "schema_version %r" % rep["schema_version"]
    assert rep["event"] == "exit"
    return rep, r


def ht_classes(rep):
    """{class: (bytes, blocks)} of the summary, and checks that the three
    classes split the summary's live blocks (runtime and hidden apart)."""
    s = rep["summary"]
    leaks = s["leaks"]
    res = {k: (leaks[k]["bytes"], leaks[k]["blocks"]) for k in ("leaked", "indirect",
                                                                 "reachable")}
    assert sum(b for b, _ in res.values()) == s["bytes"], (res, s["bytes"])
    assert sum(n for _, n in res.values()) == s["blocks"], (res, s["blocks"])
    return res


def section(rep, key):
    return next(sec for sec in rep["sections"] if sec["sort"] == key)


def check_sections(rep):
    """Every backtrace's classes add up to its live blocks, their sums to
    the summary's; the leaked section lists exactly the backtraces with a
    leaked or indirectly leaked block, by leaked bytes then indirect."""
    bts = section(rep, "size")["backtraces"]
    for bt in bts:
        assert 0 <= bt["leaked_count"] + bt["indirect_count"] <= bt["count"], bt
        assert 0 <= bt["leaked_bytes"] + bt["indirect_bytes"] <= bt["bytes"], bt
    leaks = rep["summary"]["leaks"]
    for cls in ("leaked", "indirect"):
        assert sum(bt[cls + "_bytes"] for bt in bts) == leaks[cls]["bytes"], cls
        assert sum(bt[cls + "_count"] for bt in bts) == leaks[cls]["blocks"], cls
    leaked = section(rep, "leaked")["backtraces"]
    keys = [(bt["leaked_bytes"], bt["indirect_bytes"]) for bt in leaked]
    assert keys == sorted(keys, reverse=True), keys
    assert all(b or i for b, i in keys), keys
    assert len(leaked) == sum(1 for bt in bts if bt["leaked_count"] or bt["indirect_count"])


def short_name(func):
    """A function's name without template arguments, return type and
    parameters: "std::operator+", "Plugin::configure", "main"."""
    out, depth = "", 0
    for ch in func:
        depth += ch == "<"
        if not depth:
            out += ch
        depth -= ch == ">" and depth > 0
    return out.split("(")[0].split(" ")[-1]


def program_funcs(frames, exe):
    """A backtrace's key: the functions of frames (JSON) in the executable
    exe, innermost first, by their short names, without _start (below
    main); led by the caller of the allocator when that one is elsewhere
    (a library's function)."""
    funcs = tuple(short_name(f["function"]) for f in frames[1:]
                  if f["object"] == str(exe) and f["function"] != "_start")
    if len(frames) > 1 and frames[1]["object"] != str(exe):
        funcs = (short_name(frames[1]["function"] or "??"),) + funcs
    return funcs


def inner_funcs(funcs, n=3):
    """The n innermost functions below the allocator of a backtrace."""
    i = 0
    while i < len(funcs) and (funcs[i] in ALLOCATORS or not funcs[i]):
        i += 1
    return tuple(funcs[i:i + n])


# ------------------------------------------------------------------ the cases

@dataclass
class Case:
    args: tuple
    # memcheck's numbers, (bytes, blocks) of each kind
    leaked: tuple
    indirect: tuple
    possibly: tuple
    reachable: tuple
    # {the program's functions of a backtrace, innermost first:
    #  (leaked_count, leaked_bytes, indirect_count, indirect_bytes)}
    backtraces: dict
    # of memcheck's possibly lost: interior pointers (heaptrace: reachable)
    # and threads' DTVs (heaptrace: the runtime's; blocks only)
    possibly_interior: tuple = (0, 0)
    dtv_blocks: int = 0
    # freed by __libc_freeres under memcheck, reachable for heaptrace
    freeres: tuple = (0, 0)


CASES = {
    # 3 x 100 bytes dropped; 2 x 200 in a global
    "direct": Case((), (300, 3), (0, 0), (0, 0), (400, 2), {
        ("leak_direct", "main"): (3, 300, 0, 0),
        ("keep_global", "main"): (0, 0, 0, 0)}),
    # a lost 48-byte head holding 5 nodes of 32; a kept 24-byte head with 2 of 40
    "chain": Case((), (48, 1), (160, 5), (0, 0), (104, 3), {
        ("head_new", "lost_list", "main"): (1, 48, 0, 0),
        ("node_new", "head_new", "lost_list", "main"): (0, 0, 5, 160),
        ("head_new", "kept_list", "main"): (0, 0, 0, 0),
        ("node_new", "head_new", "kept_list", "main"): (0, 0, 0, 0)}),
    # a lost ring of 3 x 64 (one leads: definitely lost), a lost block
    # pointing to itself (40), a kept ring of 3 x 56
    "cycle": Case((), (104, 2), (128, 2), (0, 0), (168, 3), {
        ("ring_new", "lost_ring", "main"): (1, 64, 2, 128),
        ("ring_new", "lost_self", "main"): (1, 40, 0, 0),
        ("ring_new", "kept_ring", "main"): (0, 0, 0, 0)}),
    # 128 and 96 bytes pointed to inside (possibly lost for memcheck), 72
    # bytes pointed to one past the end (lost)
    "interior": Case((), (72, 1), (0, 0), (224, 2), (0, 0), {
        ("keep_inside", "main"): (0, 0, 0, 0),
        ("keep_end", "main"): (0, 0, 0, 0),
        ("keep_past", "main"): (1, 72, 0, 0)}, possibly_interior=(224, 2)),
    # 120 bytes whose only pointer is in a freed block
    "freed": Case((), (120, 1), (0, 0), (0, 0), (0, 0), {
        ("child_new", "lost_behind_free", "main"): (1, 120, 0, 0)}),
    # issue 15's daemon: pool 10 x 64 KB, cache 64 x 4 KB, 200 bytes a tick
    "daemon": Case((), (11800, 59), (0, 0), (0, 0), (917504, 74), {
        ("pool_init", "main"): (0, 0, 0, 0),
        ("cache_init", "main"): (0, 0, 0, 0),
        ("handle_tick", "main"): (59, 11800, 0, 0)}),
    # 136 bytes held by a local of a thread blocked in read(2)
    "stack": Case((), (0, 0), (0, 0), (0, 1), (136, 1), {
        ("stack_block", "holder"): (0, 0, 0, 0)}, dtv_blocks=1),
    # 152 bytes held only in r12 of a thread blocked in read(2)
    "register": Case((), (0, 0), (0, 0), (0, 1), (152, 1), {
        ("register_block", "holder"): (0, 0, 0, 0)}, dtv_blocks=1),
    # 168 bytes in main's __thread variable, 184 in another thread's
    "tls": Case((), (0, 0), (0, 0), (0, 1), (352, 2), {
        ("static_tls_block", "main"): (0, 0, 0, 0),
        ("thread_tls_block", "holder"): (0, 0, 0, 0)}, dtv_blocks=1),
    # and 200 bytes in the dynamic TLS of a dlopen()ed library: reachable
    # with the loader's own blocks for the library (1,457 bytes in 5
    # blocks, its 8-byte TLS block among them)
    # (the loader keeps the library's path three times: the sum follows
    # where the checkout is)
    "tls-dlopen": Case((BIN / "libleaktls.so",), (0, 0), (0, 0), (0, 1),
                       (1883 + 3 * len(str(BIN / "libleaktls.so")), 8), {
        ("static_tls_block", "main"): (0, 0, 0, 0),
        ("thread_tls_block", "holder"): (0, 0, 0, 0),
        ("lib_tls_keep", "lib_tls", "main"): (0, 0, 0, 0),
        ("tls_get_addr_tail", "lib_tls", "main"): (0, 0, 0, 0)}, dtv_blocks=1,
        freeres=(2360, 2)),
    # the C++ registry: 4 Configs of 64 bytes lost, each with a 57- or
    # 58-byte string; 4 x 4000 bytes lost; the registry reachable
    "registry": Case((), (16256, 8), (231, 4), (0, 0), (671, 14), {
        ("Plugin::configure", "start_all", "main"): (4, 256, 0, 0),
        ("std::__cxx11::basic_string::reserve", "std::operator+", "Plugin::configure",
         "start_all", "main"): (0, 0, 4, 231),
        ("make_scratch", "start_all", "main"): (4, 16000, 0, 0)}),
}

PROGRAM = {"tls-dlopen": "s-leak-tls", "registry": "s-leak-registry"}


def case_argv(name):
    prog = BIN / PROGRAM.get(name, "s-leak-" + name)
    return prog, [prog, *CASES[name].args]


def mc_numbers(mc):
    t = mc.totals
    return t["leaked"], t["indirect"], t["possibly"], t["reachable"]


@pytest.mark.parametrize("name", CASES)
def test_memcheck_case(name, tmp_path_factory):
    """What memcheck says of each case: its fixed numbers (the half of the
    cross-check that holds today)."""
    c = CASES[name]
    prog, argv = case_argv(name)
    mc = memcheck(argv, tmp_path_factory)
    assert mc.returncode == 0
    got = mc_numbers(mc)
    if c.dtv_blocks:  # the DTV's bytes depend on the modules loaded
        assert got[2][1] == c.possibly_interior[1] + c.dtv_blocks, got
        got = got[:2] + ((0, got[2][1]),) + got[3:]
    assert got == (c.leaked, c.indirect, c.possibly, c.reachable)


@pytest.mark.parametrize("name", CASES)
def test_leaks_case(name, tmp_path, tmp_path_factory):
    """heaptrace's classes, exactly memcheck's (with the differences of rule
    the case names), and each backtrace's."""
    c = CASES[name]
    prog, argv = case_argv(name)
    mc = memcheck(argv, tmp_path_factory)
    rep, r = heaptrace(argv, tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    got = ht_classes(rep)
    assert got["leaked"] == mc.totals["leaked"] == c.leaked
    assert got["indirect"] == mc.totals["indirect"] == c.indirect
    want = [a + b + f for a, b, f in zip(mc.totals["reachable"], c.possibly_interior,
                                         c.freeres)]
    assert list(got["reachable"]) == want
    assert rep["summary"]["runtime"]["blocks"] == c.dtv_blocks
    assert mc.totals["possibly"][1] - c.possibly_interior[1] == c.dtv_blocks
    check_sections(rep)
    seen = {}
    for bt in section(rep, "size")["backtraces"]:
        key = program_funcs(bt["frames"], prog)
        if key in c.backtraces:
            assert key not in seen, "two backtraces from %s" % (key,)
            seen[key] = (bt["leaked_count"], bt["leaked_bytes"], bt["indirect_count"],
                         bt["indirect_bytes"])
    assert seen == c.backtraces


@pytest.mark.parametrize("flag,status", [("--check", 23), ("--check=live", 23)])
def test_check_leaked(flag, status, tmp_path):
    """--check fails on leaked memory."""
    r = run([HEAPTRACE, flag, "--outfile=%s" % (tmp_path / "out"), BIN / "s-leak-direct"])
    assert r.returncode == status, r.stderr


@pytest.mark.parametrize("flag,status", [("--check", 0), ("--check=live", 23)])
def test_check_reachable_only(flag, status, tmp_path):
    """--check passes a program whose live blocks are all reachable (the
    static TLS case holds 352 bytes, none lost); --check=live does not."""
    r = run([HEAPTRACE, flag, "--outfile=%s" % (tmp_path / "out"), BIN / "s-leak-tls"])
    assert r.returncode == status, r.stderr


# ------------------------------------------------------------------ real programs

@pytest.fixture(scope="module")
def git_repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("repo")
    git = need("git")
    for argv in (["init", "-q"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                                  "--allow-empty", "-m", "first"]):
        assert run([git, "-C", repo, *argv]).returncode == 0
    return repo


# name: (program, arguments); each takes 0.4 to 2 s under memcheck
REAL = {
    "python3": ("python3", ["-c", "import json"]),
    "perl": ("perl", ["-e", "1"]),
    "sqlite3": ("sqlite3", [":memory:", "select 1"]),
    "git": ("git", ["status"]),
    "registry": (None, []),
}


# memcheck's numbers on Debian 12 (valgrind 3.19, glibc 2.36), bytes/blocks:
#   python3 -c 'import json'   lost 0, possibly 2,864/55, reachable 49,975/420
#   perl -e 1                  definitely 7,667/27, indirectly 44,060/15,
#                              possibly about 137,400/736, reachable 0
#   sqlite3 :memory: select 1  nothing in use at exit
#   git status                 lost 0, possibly 120/3, reachable 667,757/123
# Only perl and the registry leak: the others check that heaptrace finds
# no leak where memcheck finds none.
NO_LEAK = {"python3", "sqlite3", "git"}


@pytest.mark.parametrize("name", REAL)
def test_memcheck_real(name, tmp_path_factory, git_repo):
    """memcheck's half of test_real_program: the program runs to its end
    under memcheck, and those said not to leak do not."""
    prog, args = REAL[name]
    path = BIN / "s-leak-registry" if prog is None else need(prog)
    mc = memcheck([path, *args], tmp_path_factory, cwd=str(git_repo) if name == "git" else None)
    assert mc.returncode == 0
    lost = mc.totals["leaked"][0] + mc.totals["indirect"][0]
    assert (lost == 0) == (name in NO_LEAK), mc.totals


@pytest.mark.parametrize("name", REAL)
def test_real_program(name, tmp_path, tmp_path_factory, git_repo):
    """Leaked bytes (memcheck: definitely + indirectly lost) within 1% of
    memcheck's, and the innermost frames of the top leaking backtrace (by
    leaked bytes, then indirect) the same."""
    prog, args = REAL[name]
    path = BIN / "s-leak-registry" if prog is None else need(prog)
    cwd = str(git_repo) if name == "git" else None
    argv = [path, *args]
    mc = memcheck(argv, tmp_path_factory, cwd=cwd)
    rep, r = heaptrace(argv, tmp_path, cwd=cwd)
    assert r.returncode == mc.returncode
    got = ht_classes(rep)
    mc_lost = mc.totals["leaked"][0] + mc.totals["indirect"][0]
    ht_lost = got["leaked"][0] + got["indirect"][0]
    assert abs(ht_lost - mc_lost) <= mc_lost / 100, (ht_lost, mc_lost)
    check_sections(rep)
    lost = [rec for rec in mc.records if rec.kind == "leaked"]
    leaked = section(rep, "leaked")["backtraces"]
    assert bool(lost) == bool(leaked)
    if lost:
        top = max(lost, key=lambda rec: (rec.bytes, rec.indirect))
        ht_top = [f["function"] or "" for f in leaked[0]["frames"]]
        assert inner_funcs(ht_top) == inner_funcs(top.funcs), (ht_top, top.funcs)


# ------------------------------------------------------------ on demand

def test_scan_while_threads_allocate(tmp_path):
    """--signals=leaked:USR1 runs the scan in a running program: 100 dumps
    while 8 threads that block every signal replace blocks as fast as they
    can and short-lived threads come and go, each dump complete, each
    finding exactly the 24 blocks of 40 bytes the workers leaked at start
    (none of the blocks in flight between malloc() and the ring), every
    thread stopped; no hang, no crash, and the exit report too."""
    out = tmp_path / "heap.json"
    p = subprocess.Popen([str(HEAPTRACE), "--json", "--signals=leaked:USR1",
                          "--outfile=%s" % out, str(BIN / "s-leak-live")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=clean_env(ENV))
    try:
        assert p.stdout.readline() == b"ready\n"
        for i in range(1, 101):
            os.kill(p.pid, signal.SIGUSR1)
            deadline = time.monotonic() + 30
            while not out.exists() or len(out.read_text().splitlines()) < i:
                assert time.monotonic() < deadline, "dump %d did not come" % i
                time.sleep(0.005)
        p.stdin.close()
        assert p.wait(timeout=60) == 0
    finally:
        p.kill()
    reports = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["event"] for r in reports] == ["signal"] * 100 + ["exit"]
    for rep in reports:
        leaks = rep["summary"]["leaks"]
        assert (leaks["leaked"], leaks["indirect"]) == (
            {"bytes": 960, "blocks": 24}, {"bytes": 0, "blocks": 0}), rep["event"]
    for rep in reports[:-1]:
        # main, 8 workers, the spawner, and the brief thread if one lives
        assert rep["summary"]["leaks"]["threads_stopped"] in (10, 11)
        assert rep["summary"]["leaks"]["threads_not_stopped"] == 0
        [sec] = rep["sections"]
        assert [(bt["leaked_count"], bt["frames"][1]["function"]) for bt in sec["backtraces"]] \
            == [(24, "leak_some")]


# ------------------------------------------------------------ --ignore

def test_ignore_takes_hidden_blocks_for_roots(tmp_path):
    """A block that only memory the scan cannot see points to looks leaked;
    --ignore hides its backtrace, and then it is a root of its own: what it
    points to is reachable, not indirectly leaked, and --check passes."""
    prog = BIN / "s-leak-ignore"
    rep, r = heaptrace([prog], tmp_path, opts=["--check"])
    assert r.returncode == 23
    assert ht_classes(rep) == {"leaked": (64, 1), "indirect": (100, 1), "reachable": (0, 0)}
    ign = tmp_path / "ignore.txt"
    ign.write_text("registry_add\n")
    rep, r = heaptrace([prog], tmp_path, opts=["--check", "--ignore=%s" % ign])
    assert r.returncode == 0, r.stderr
    assert ht_classes(rep) == {"leaked": (0, 0), "indirect": (0, 0), "reachable": (100, 1)}
    assert rep["summary"]["hidden"] == {"backtraces": 1, "bytes": 64, "blocks": 1}


def test_scan_under_seccomp_stops_nothing(tmp_path):
    """Under a seccomp filter the scan neither clones nor ptraces (a filter
    may kill for either): the thread runs on, its whole stack is read, the
    summary says so, and the classes are still right."""
    rep, r = heaptrace([BIN / "s-leak-seccomp"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert ht_classes(rep) == {"leaked": (77, 1), "indirect": (0, 0), "reachable": (33, 1)}
    leaks = rep["summary"]["leaks"]
    assert (leaks["threads_stopped"], leaks["threads_not_stopped"]) == (0, 1)


def test_scan_skips_unreadable_blocks(tmp_path):
    """A block with a page the program made unreadable: the scan does not
    read it (it would fault and kill the program), classifies it (reachable
    from its global) and what only the unreadable page points to stays
    leaked, as heaptrace cannot see the pointer."""
    rep, r = heaptrace([BIN / "s-leak-guard"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert ht_classes(rep) == {"leaked": (48, 1), "indirect": (0, 0),
                               "reachable": (4 * 4096, 1)}


def test_interval_sorted_by_leaked_classifies(tmp_path):
    """--interval with --sort=leaked: every periodic report classifies, and
    finds the 24 blocks the workers leaked."""
    out = tmp_path / "heap.json"
    p = subprocess.Popen([str(HEAPTRACE), "--json", "--interval=0.05", "--sort=leaked",
                          "--outfile=%s" % out, str(BIN / "s-leak-live")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=clean_env(ENV))
    try:
        assert p.stdout.readline() == b"ready\n"
        deadline = time.monotonic() + 30
        while not out.exists() or len(out.read_text().splitlines()) < 3:
            assert time.monotonic() < deadline, "no periodic reports"
            time.sleep(0.01)
        p.stdin.close()
        assert p.wait(timeout=60) == 0
    finally:
        p.kill()
    reports = [json.loads(line) for line in out.read_text().splitlines()]
    assert reports[-1]["event"] == "exit"
    periodic = [r for r in reports if r["event"] == "interval"]
    assert len(periodic) >= 3
    for rep in periodic:
        assert rep["summary"]["leaks"]["leaked"] == {"bytes": 960, "blocks": 24}
        assert [s["sort"] for s in rep["sections"]] == ["leaked"]
