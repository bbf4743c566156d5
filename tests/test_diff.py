# SPDX-License-Identifier: GPL-2.0-or-later
"""heaptrace --diff on made-up reports (tests/genreport.py): a pair of
20,000 backtraces compared exactly, the same reports reformatted (jq,
Python, numbers and escapes spelt otherwise) read alike, the options of
--diff wherever they are and the others refused, --sort=count, the --check
gate, each kind of malformed input refused with one line naming the field
and FILE:LINE:COLUMN, names that are not UTF-8, input from a pipe.  --diff
of real runs is tested in test_hunt.py."""

import json
import re
import subprocess

import pytest

from htlib import HEAPTRACE, clean_env, fmt_bytes, one_report, plural, run
import genreport

NOT_A_REPORT = "is not a heaptrace JSON report (schema_version 1 to 3)"
HEAD_RE = re.compile(r"^=== backtrace #(\d+) === \[count/peak: (\d+)/\d+\] "
                     r"\[size/peak: ([^/]+)/[^\]]+\] \[age: [^\]]+\] "
                     r"\[growth: \+([^/]+)/\+(\d+) blocks?\]$", re.M)
INT64 = "an integer from 0 to 9223372036854775807"


def write_pair(tmp_path, n, depth=4):
    old, new, grown, total = genreport.pair(n, depth)
    paths = tmp_path / "old.json", tmp_path / "new.json"
    paths[0].write_text(old)
    paths[1].write_text(new)
    return paths, grown, total


def diff(old, new, top=None):
    opts = [] if top is None else ["--top=%d" % top]
    return run([HEAPTRACE, *opts, "--diff", old, new])


def test_diff_of_20000_backtraces(tmp_path):
    """Every backtrace that grew, in order, with its numbers; the first ones
    frame by frame, with NEW's addresses; the heap's growth over all."""
    (old, new), grown, total = write_pair(tmp_path, 20000)
    r = diff(old, new, top=0)
    assert (r.returncode, r.stderr) == (0, "")
    assert HEAD_RE.findall(r.stdout) == [
        (str(rank + 1), str(count), fmt_bytes(nbytes), fmt_bytes(gbytes), str(gcount))
        for rank, (i, count, nbytes, gbytes, gcount) in enumerate(grown)]

    rep = one_report(diff(old, new, top=20).stdout)
    assert len(grown) == 8000 and len(rep.backtraces) == 20
    for b, (i, *_) in zip(rep.backtraces, grown):
        assert b.funcs == ["malloc", "fn_1_%d" % i, "inl_%d" % (i % 7), "fn_2_%d" % i,
                           "jit_%d" % (i % 3)]
        off = 0x1000 + (i * 4 + 1) * 0x10
        assert (b.frames[1].addr, b.frames[1].obj_off) == (0x100000 + 0x7f1000000000 + off, off)
        assert b.frames[2].inlined and (b.truncated, b.cut) == (True, "depth")
    assert rep.summary["backtraces that grew"] == "8000"
    assert rep.summary["growth of live heap"] == (
        "+%s/+%s (all backtraces compared)" % (fmt_bytes(total[0]), plural(total[1], "block")))


def test_diff_reads_a_pipe(tmp_path):
    """A pipe cannot be mapped: it is read whole, a megabyte in many reads."""
    (old, new), _, _ = write_pair(tmp_path, 1000)
    piped = subprocess.run([str(HEAPTRACE), "--diff", str(old), "/dev/stdin"],
                           input=new.read_text(), capture_output=True, env=clean_env(),
                           timeout=60, text=True)
    assert (piped.returncode, piped.stderr) == (0, "")
    assert piped.stdout == diff(old, new).stdout.replace(str(new), "/dev/stdin")


# ------------------------------------------------------------ bad input

def bt(doc):
    return doc["sections"][0]["backtraces"][1]


def frame(doc):
    return bt(doc)["frames"][2]


def at(obj, key=None):
    """Where the error is in the text of the changed document: the value of
    obj(doc)'s member key, or obj(doc) itself (json.dumps writes each
    object the same alone and within the document)."""
    def where(doc, text, sort_keys):
        inner = json.dumps(obj(doc), sort_keys=sort_keys)
        start = text.index(inner)
        return start + (inner.index('"%s": ' % key) + len(key) + 4 if key else 0)
    return where


BT = "sections[0].backtraces[1]."
FRAME = BT + "frames[2]."
STRUCTURE = [
    pytest.param(lambda d: bt(d).update(frames="notalist"), BT + "frames is not an array",
                 at(bt, "frames"), id="frames-not-a-list"),
    pytest.param(lambda d: bt(d).pop("count"), BT + "count is missing", at(bt),
                 id="count-missing"),
    pytest.param(lambda d: bt(d).update(bytes="12"), BT + "bytes is not " + INT64,
                 at(bt, "bytes"), id="bytes-a-string"),
    pytest.param(lambda d: bt(d).update(bytes=-1), BT + "bytes is not " + INT64,
                 at(bt, "bytes"), id="bytes-negative"),
    pytest.param(lambda d: bt(d).update(bytes=2**63), BT + "bytes is not " + INT64,
                 at(bt, "bytes"), id="bytes-too-large"),
    pytest.param(lambda d: bt(d).update(age_ns=1.5), BT + "age_ns is not " + INT64,
                 at(bt, "age_ns"), id="age-not-integer"),
    pytest.param(lambda d: bt(d).update(cut="deep"),
                 BT + 'cut is not null, "depth", "unreadable", "handler" or "stack"',
                 at(bt, "cut"), id="cut-unknown"),
    pytest.param(lambda d: bt(d)["frames"].__setitem__(2, [1]),
                 BT + "frames[2] is not an object", at(lambda d: bt(d)["frames"][2]),
                 id="frame-not-an-object"),
    pytest.param(lambda d: frame(d).update(object=5), FRAME + "object is not a string or null",
                 at(frame, "object"), id="object-a-number"),
    pytest.param(lambda d: frame(d).update(inlined="no"), FRAME + "inlined is not true or false",
                 at(frame, "inlined"), id="inlined-a-string"),
    pytest.param(lambda d: frame(d).update(offset=-1), FRAME + "offset is not null or " + INT64,
                 at(frame, "offset"), id="offset-negative"),
    pytest.param(lambda d: frame(d).update(line=2**32),
                 FRAME + "line is not null or an integer from 0 to 4294967295",
                 at(frame, "line"), id="line-large"),
    pytest.param(lambda d: frame(d).pop("object_offset"), FRAME + "object_offset is missing",
                 at(frame), id="object-offset-missing"),
    pytest.param(lambda d: d["sections"][1].pop("backtraces"), "sections[1].backtraces is missing",
                 at(lambda d: d["sections"][1]), id="backtraces-missing"),
    pytest.param(lambda d: d["sections"].__setitem__(0, None), "sections[0] is not an object",
                 lambda d, text, _: text.index('"sections": [') + 13, id="section-null"),
    pytest.param(lambda d: d.update(sections={}), "sections is not an array",
                 at(lambda d: d, "sections"), id="sections-object"),
    pytest.param(lambda d: d.update(comm=["x"]), "comm is not a string or null",
                 at(lambda d: d, "comm"), id="comm-list"),
    pytest.param(lambda d: d.pop("depth"), "depth is missing", at(lambda d: d), id="depth-missing"),
    # a whole document that is no report: no place in it
    pytest.param(lambda d: d.pop("schema_version"), NOT_A_REPORT, None, id="no-schema"),
    pytest.param(lambda d: d.update(schema_version=4), NOT_A_REPORT, None, id="schema-4"),
    pytest.param(lambda d: d.update(schema_version=0), NOT_A_REPORT, None, id="schema-0"),
    pytest.param(lambda d: d.update(schema_version=4, sections={}), NOT_A_REPORT, None,
                 id="schema-3-other-fields"),
]


def refused(tmp_path, text, mode="w"):
    """--diff GOOD BAD: (status, stdout, stderr less "heaptrace: BAD"), so
    ":LINE:COLUMN: what" or ": what" for the file as a whole."""
    (good, _), _, _ = write_pair(tmp_path, 5)
    bad = tmp_path / "bad.json"
    bad.write_bytes(text) if mode == "wb" else bad.write_text(text)
    r = diff(good, bad)
    prefix = "heaptrace: %s" % bad
    assert r.stderr.startswith(prefix) and r.stderr.endswith("\n"), r.stderr
    return r.returncode, r.stdout, r.stderr[len(prefix):-1]


@pytest.mark.parametrize("sort_keys", [False, True], ids=["as-written", "sorted-keys"])
@pytest.mark.parametrize("change,why,where", STRUCTURE)
def test_diff_refuses_a_wrong_structure(tmp_path, change, why, where, sort_keys):
    """Also with the members sorted (jq -S): "sections" comes before
    "schema_version", and a document of another schema is still refused
    as one, whatever its sections hold."""
    doc = json.loads(genreport.pair(5, 4)[1])
    change(doc)
    text = json.dumps(doc, sort_keys=sort_keys)
    place = ":1:%d" % (where(doc, text, sort_keys) + 1) if where else ""
    assert refused(tmp_path, text + "\n") == (2, "", "%s: %s" % (place, why))


def test_diff_reads_schema_1_and_2(tmp_path):
    """Version 2 only added fields: a report of either version, against
    one of the other, diffs alike."""
    (old, new), grown, _ = write_pair(tmp_path, 5)
    want = diff(old, new)
    assert want.returncode == 0 and want.stdout
    v2 = tmp_path / "new2.json"
    v2.write_text(new.read_text().replace('"schema_version":1,', '"schema_version":2,', 1))
    assert '"schema_version":2,' in v2.read_text()
    got = diff(old, v2)
    assert (got.returncode, got.stderr) == (0, want.stderr)
    assert got.stdout == want.stdout.replace("-> %s\n" % new, "-> %s\n" % v2)


def test_diff_refuses_a_field_twice(tmp_path):
    new = genreport.pair(5, 4)[1]
    twice = new.replace('"count":', '"count":1,"count":', 1)
    col = twice.index('"count":') + len('"count":1,"count":') + 1
    assert refused(tmp_path, twice) == (
        2, "", ":1:%d: sections[0].backtraces[0].count appears twice" % col)


def syntax_cases():
    """(text, why): bad JSON, at LINE:COLUMN (from 1, the column in bytes)."""
    new = genreport.pair(5, 4)[1]
    cut = new.index('"frames":[') + len('"frames":[')
    comm = new.index('"myd"')
    body = new.rstrip("\n")[:-1]
    deep = body + ',"extra":' + "[" * 100 + "]" * 100 + "}\n"
    older = new.replace('"pid":200', '"pid":0200')
    pretty = json.dumps(json.loads(new), indent=2).replace('"pid": 200', '"pid": tru')
    tru = pretty.index("tru")
    cases = [
        (new[:cut] + "\n", ":2:1: unexpected end", "cut-short"),
        (new[:comm + 3] + "\n", ":1:%d: unterminated string" % (comm + 4), "open-string"),
        (new.replace('"myd"', '"m\tyd"'),
         ":1:%d: control character in a string" % (comm + 3), "tab-in-string"),
        (new.replace('"myd"', '"m\\xyd"'),
         ":1:%d: bad escape in a string" % (comm + 4), "bad-escape"),
        (new.replace('"myd"', '"m\\u12"'), ":1:%d: bad \\u escape" % (comm + 5), "bad-u"),
        # the report is one level, 63 more are read: the 64th bracket is refused
        (deep, ":1:%d: nested too deep" % (len(body) + len(',"extra":') + 64), "deep"),
        (body + "}} \n", ":1:%d: text after the document" % (len(body) + 2), "after"),
        (body + ",}\n", ":1:%d: expected a member name" % (len(body) + 2), "comma"),
        (new.replace(',"depth"', ' "depth"'),
         ":1:%d: expected ',' or '}'" % (new.index(',"depth"') + 2), "no-comma"),
        (new.replace('"pid":200', '"pid":tru'),
         ":1:%d: expected a value" % (new.index('"pid":200') + 7), "tru"),
        # JSON Lines: the last report is read, its lines counted from the file's start
        (new + older + "\n \n", ":2:%d: bad number" % (older.index("0200") + 1),
         "leading-zero-last-line"),
        # reformatted: the line and column of the value
        (new + pretty + "\n", ":%d:%d: expected a value" % (
            1 + pretty[:tru].count("\n") + 1, tru - pretty.rindex("\n", 0, tru)),
         "pretty-after-a-line"),
        # the last report cut short: found where it is, whatever came before
        (new + pretty[:tru], ":%d:%d: unexpected end" % (
            1 + pretty[:tru].count("\n") + 1, tru - pretty.rindex("\n", 0, tru)),
         "pretty-cut-short"),
        (" \n\t\n", ": holds no report", "blank"),
        ("[1]\n", ": " + NOT_A_REPORT, "array"),
        ("{}\n1\n", ": " + NOT_A_REPORT, "number-last"),
    ]
    return [pytest.param(text, why, id=name) for text, why, name in cases]


@pytest.mark.parametrize("text,why", syntax_cases())
def test_diff_refuses_bad_json(tmp_path, text, why):
    assert refused(tmp_path, text) == (2, "", why)


# ------------------------------------------------------------ UTF-8

def test_diff_replaces_invalid_utf8(tmp_path):
    """A byte that starts no UTF-8 character, a lone surrogate and \\u0000
    become U+FFFD, each; the output is valid UTF-8, and the names still
    match (both reports hold the same bytes)."""
    raw = (b'j\xffit\xc3\x28 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \\ud800\\u0000 '
           b'\\u00e9\xc3\xa9\\ud83d\\ude00')
    want = "j\ufffdit\ufffd( " + "\ufffd" * 2 + " " + "\ufffd" * 3 + " " + "\ufffd" * 4 + \
        " \ufffd\ufffd \u00e9\u00e9\U0001f600"
    old, new, grown, _ = genreport.pair(5, 4)
    paths = []
    for name, text in (("old.json", old), ("new.json", new)):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(text.encode().replace(b'"jit_0"', b'"' + raw + b'"'))
    r = subprocess.run([str(HEAPTRACE), "--diff", *map(str, paths)], capture_output=True,
                       env=clean_env(), timeout=60)
    assert (r.returncode, r.stderr) == (0, b"")
    rep = one_report(r.stdout.decode("utf-8"))  # strict: fails on invalid UTF-8
    got = [(b.funcs[-1], b.growth_size) for b in rep.backtraces]
    assert grown == [(3, 1, 64, 64, 1), (0, 3, 80, 16, 2)]  # both end in jit_0
    assert got == [(want, "+64 bytes"), (want, "+16 bytes")]


# ------------------------------------------------------------ reformatted reports

def spell_numbers(text):
    """Each integer member value spelt otherwise, by turns: 1000 as
    1000.0, 1e3-like (1000e0), 10000e-1; 0 as -0.0.  The report's strings
    hold no ':' before a digit, so only values match."""
    turn = iter(range(10**9))

    def respell(m):
        n = m.group(2)
        if n == "0":
            return m.group(1) + "-0.0"
        return m.group(1) + ["%s.0", "%se0", "%s0e-1"][next(turn) % 3] % n
    return re.sub(r'(":)(\d+)(?=[,}\]])', respell, text)


def reversed_members(text):
    """Every object's members in the reverse order, and a member heaptrace
    does not write (any JSON) in each."""
    def hook(pairs):
        return dict([("x_unknown", {"a": [1.5, -2e-3, None, True, "\u00e9\\\"]"]})] +
                    pairs[::-1])
    return json.dumps(json.loads(text, object_pairs_hook=hook), ensure_ascii=True)


def jq(*args):
    return lambda text: subprocess.run(["jq", *args], input=text, capture_output=True,
                                       text=True, check=True).stdout


REFORMATS = [
    pytest.param(jq("."), id="jq"),
    pytest.param(jq("-S", "."), id="jq-sorted"),
    pytest.param(jq("--tab", "."), id="jq-tab"),
    pytest.param(lambda t: "".join(json.dumps(json.loads(line), indent=2, sort_keys=True) + "\n"
                                   for line in t.splitlines()), id="python-sorted"),
    pytest.param(lambda t: json.dumps(json.loads(t), indent=0, separators=(" ,", " : "))
                 .replace("\n", "\r\n"), id="crlf-indent-0"),
    pytest.param(lambda t: t.replace("/", "\\/").replace("m", "\\u006d"), id="escapes"),
    pytest.param(spell_numbers, id="numbers"),
    pytest.param(reversed_members, id="reversed-members"),
]


@pytest.mark.parametrize("reformat", REFORMATS)
def test_diff_reads_a_reformatted_report(tmp_path, reformat):
    """The same reports, reformatted into any valid JSON with the same
    content, give the same diff, byte for byte (the file names aside): on
    both sides, and from a file of several reports reformatted back to
    back (the last counts)."""
    (old, new), grown, _ = write_pair(tmp_path, 300)
    want = diff(old, new, top=0)
    assert (want.returncode, want.stderr) == (0, "")
    assert len(HEAD_RE.findall(want.stdout)) == len(grown) == 120
    first = genreport.pair(7, 4, seed=3)[0]  # another report, before the last
    paths = []
    for path in (old, new):
        paths.append(tmp_path / ("re-" + path.name))
        paths[-1].write_text(reformat(first) + reformat(path.read_text()))
    r = diff(*paths, top=0)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == want.stdout.replace("%s -> %s" % (old, new), "%s -> %s" % tuple(paths))


def test_jq_is_there():
    """The tests above use jq, which the Makefile's set-up installs."""
    assert subprocess.run(["jq", "--version"], capture_output=True).returncode == 0


# ------------------------------------------------------------ options

def test_diff_options_before_between_or_after_the_files(tmp_path):
    (old, new), grown, _ = write_pair(tmp_path, 50)
    want = run([HEAPTRACE, "--top=3", "--diff", old, new])
    assert (want.returncode, want.stderr) == (0, "")
    assert len(one_report(want.stdout).backtraces) == 3
    for argv in (["--diff", old, new, "--top=3"], ["--diff", "--top", "3", old, new],
                 ["--diff", old, "--top=3", new], ["--top=7", "--diff", old, new, "--top=3"],
                 ["--diff", "--top=3", "--", old, new], ["-s", "size", "--top=3", "--diff", old, new]):
        assert run([HEAPTRACE, *argv]).stdout == want.stdout, argv


@pytest.mark.parametrize("opt,why", [
    ("--json", "--json does not apply to --diff"),
    ("--format=json", "--format: 'json' does not apply to --diff (it writes text)"),
    ("--flame-graph", "--flame-graph does not apply to --diff"),
    ("--outfile=out.txt", "--outfile does not apply to --diff"),
    ("--ignore=x", "--ignore does not apply to --diff"),
    ("--max-memory=1", "--max-memory does not apply to --diff"),
    ("--unwind=fp", "--unwind does not apply to --diff"),
    ("--debug-dir=/", "--debug-dir does not apply to --diff"),
    ("--signals=none", "--signals does not apply to --diff"),
    ("--interval=1", "--interval does not apply to --diff"),
    ("--sort=peak", "--sort: 'peak' names a key --diff does not sort by "
                    "(size: growth of live bytes; count: growth of live blocks)"),
    ("-ssize,age", "--sort: 'size,age' names a key --diff does not sort by "
                   "(size: growth of live bytes; count: growth of live blocks)"),
    ("--top=x", "--top: 'x' is not a non-negative integer"),
])
@pytest.mark.parametrize("place", ["before", "after"])
def test_diff_refuses_what_does_not_apply(tmp_path, opt, why, place):
    """Every option of the launcher either works with --diff or is refused,
    before or after the files, with one line: none is ignored."""
    (old, new), _, _ = write_pair(tmp_path, 5)
    argv = [opt, "--diff", old, new] if place == "before" else ["--diff", old, new, opt]
    r = run([HEAPTRACE, *argv], cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", "heaptrace: %s\n" % why)


@pytest.mark.parametrize("files", [[], ["a"], ["a", "b", "c"]])
def test_diff_needs_two_files(files):
    r = run([HEAPTRACE, "--diff", *files, "--top=1"])
    assert (r.returncode, r.stdout, r.stderr) == (
        2, "", "heaptrace: --diff needs two files: OLD.json NEW.json\n")


def test_diff_format_text_and_the_environment(tmp_path):
    """--format=text is what --diff does; HEAPTRACE_* variables are the
    library's, not --diff's."""
    (old, new), _, _ = write_pair(tmp_path, 50)
    want = diff(old, new)
    assert len(one_report(want.stdout).backtraces) == 10
    assert run([HEAPTRACE, "--diff", old, new, "--format=text"]).stdout == want.stdout
    r = run([HEAPTRACE, "--diff", old, new], env={"HEAPTRACE_TOP": "1",
                                                  "HEAPTRACE_FORMAT": "json"})
    assert (r.returncode, r.stdout) == (0, want.stdout)


# ------------------------------------------------------------ --sort, --check

def hand_report(pid, rows):
    """A report of backtraces made by hand: rows of (name, count, bytes),
    each its own frames (object offsets from its name)."""
    def frames(name):
        off = 0x1000 * (1 + "ABCDEFGH".index(name))
        return [{"address": 0x400000 + off, "function": "site_" + name, "offset": 4,
                 "inlined": False, "file": None, "line": None, "object": "/bin/prog",
                 "object_offset": off}]
    bts = [{"rank": i + 1, "count": c, "peak_count": c, "bytes": b, "peak_bytes": b,
            "age_ns": 1000, "truncated": False, "cut": None, "frames": frames(name)}
           for i, (name, c, b) in enumerate(rows)]
    return json.dumps({"schema_version": 1, "pid": pid, "comm": "prog", "depth": 8,
                       "sections": [{"sort": "size", "backtraces": bts}]}) + "\n"


# (name, OLD (count, bytes), NEW (count, bytes)): C has more blocks and fewer
# bytes, D more bytes in as many blocks, E shrank, F is OLD's only.
SITES = [("A", (1, 100), (2, 1000)), ("B", (1, 100), (5, 200)), ("C", (5, 500), (8, 400)),
         ("D", (2, 200), (2, 264)), ("E", (3, 300), (1, 100)), ("F", (1, 50), None)]


def hand_pair(tmp_path, sites=SITES):
    paths = tmp_path / "old.json", tmp_path / "new.json"
    paths[0].write_text(hand_report(1, [(n, *o) for n, o, _ in sites]))
    paths[1].write_text(hand_report(2, [(n, *w) for n, _, w in sites if w]))
    return paths


def grown_sites(section):
    return [(b.frames[0].func, b.count, b.size, b.growth_size, b.growth_count)
            for b in section.backtraces]


BY_BYTES = [("site_A", 2, "1 KB", "+900 bytes", 1), ("site_B", 5, "200 bytes", "+100 bytes", 4),
            ("site_D", 2, "264 bytes", "+64 bytes", 0)]
BY_BLOCKS = [("site_B", 5, "200 bytes", "+100 bytes", 4), ("site_C", 8, "400 bytes", "-100 bytes", 3),
             ("site_A", 2, "1 KB", "+900 bytes", 1)]


@pytest.mark.parametrize("sort,sections", [
    ([], [("growth", BY_BYTES)]),
    (["--sort=size"], [("growth", BY_BYTES)]),
    (["-s", "count"], [("growth-count", BY_BLOCKS)]),
    (["--sort=count,size"], [("growth-count", BY_BLOCKS), ("growth", BY_BYTES)]),
])
def test_diff_sorts_by_growth_of_bytes_or_blocks(tmp_path, sort, sections):
    """Each key a section: what grew by it, most first; ties go to the other
    growth.  The summary counts both kinds of growth, whatever is listed."""
    old, new = hand_pair(tmp_path)
    r = run([HEAPTRACE, "--diff", old, new, *sort])
    assert (r.returncode, r.stderr) == (0, "")
    rep = one_report(r.stdout)
    assert [(s.key, s.pid, s.comm, grown_sites(s)) for s in rep.sections] == [
        (key, 2, "prog", want) for key, want in sections]
    assert rep.summary["backtraces that grew"] == "3"
    assert rep.summary["backtraces with more blocks"] == "3"
    assert rep.summary["growth of live heap"] == \
        "+714 bytes/+5 blocks (all backtraces compared)"


@pytest.mark.parametrize("sites,status,listed", [
    (SITES, 23, 3),
    # more blocks, fewer bytes: nothing listed by bytes, but something grew
    ([("C", (5, 500), (8, 400)), ("E", (3, 300), (1, 100))], 23, 0),
    # more bytes in as many blocks
    ([("D", (2, 200), (2, 264))], 23, 1),
    # a new backtrace grew from nothing
    ([("F", (0, 0), (1, 8))], 23, 1),
    # shrunk, unchanged, gone: nothing grew
    ([("E", (3, 300), (1, 100)), ("A", (1, 100), (1, 100)), ("F", (1, 50), None)], 0, 0),
])
def test_diff_check_exits_23_when_anything_grew(tmp_path, sites, status, listed):
    """--check: 23 if any backtrace's live bytes or blocks grew, 0 if none,
    wherever the option is and whatever --top shows; the output is the
    same as without it."""
    old, new = hand_pair(tmp_path, sites)
    plain = run([HEAPTRACE, "--diff", old, new])
    assert (plain.returncode, plain.stderr) == (0, "")
    assert len(one_report(plain.stdout).backtraces) == listed
    for argv in (["--check", "--diff", old, new], ["--diff", old, new, "--check", "--top=1"]):
        r = run([HEAPTRACE, *argv])
        assert (r.returncode, r.stderr) == (status, ""), argv
    assert run([HEAPTRACE, "--diff", old, new, "--check"]).stdout == plain.stdout


def test_diff_check_of_bad_input_is_2(tmp_path):
    old, _ = hand_pair(tmp_path)
    r = run([HEAPTRACE, "--diff", "--check", old, tmp_path / "missing.json"])
    assert (r.returncode, r.stderr) == (2, "heaptrace: %s: cannot be read\n" % (
        tmp_path / "missing.json"))
