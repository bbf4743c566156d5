# SPDX-License-Identifier: GPL-2.0-or-later
"""heaptrace --diff on made-up reports (tests/genreport.py): a pair of
20,000 backtraces compared exactly, each kind of malformed input refused
with one line naming the field or the byte, names that are not UTF-8, input
from a pipe.  --diff of real runs is tested in test_hunt.py."""

import json
import re
import subprocess

import pytest

from conftest import HEAPTRACE, clean_env, fmt_bytes, one_report, run
import genreport

NOT_A_REPORT = "is not a heaptrace JSON report (schema_version 1)"
HEAD_RE = re.compile(r"^=== backtrace #(\d+) === \[count/peak: (\d+)/\d+\] "
                     r"\[size/peak: ([^/]+)/[^\]]+\] \[age: [^\]]+\] "
                     r"\[growth: \+([^/]+)/\+(\d+)\]$", re.M)
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
        "+%s/%+d (bytes/blocks, all backtraces compared)" % (fmt_bytes(total[0]), total[1]))


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


BT = "sections[0].backtraces[1]."
FRAME = BT + "frames[2]."
STRUCTURE = [
    pytest.param(lambda d: bt(d).update(frames="notalist"), BT + "frames is not an array",
                 id="frames-not-a-list"),
    pytest.param(lambda d: bt(d).pop("count"), BT + "count is missing", id="count-missing"),
    pytest.param(lambda d: bt(d).update(bytes="12"), BT + "bytes is not " + INT64,
                 id="bytes-a-string"),
    pytest.param(lambda d: bt(d).update(bytes=-1), BT + "bytes is not " + INT64,
                 id="bytes-negative"),
    pytest.param(lambda d: bt(d).update(bytes=2**63), BT + "bytes is not " + INT64,
                 id="bytes-too-large"),
    pytest.param(lambda d: bt(d).update(age_ns=1.5), BT + "age_ns is not " + INT64,
                 id="age-not-integer"),
    pytest.param(lambda d: bt(d).update(cut="deep"),
                 BT + 'cut is not null, "depth", "unreadable", "handler" or "stack"', id="cut-unknown"),
    pytest.param(lambda d: bt(d)["frames"].__setitem__(2, [1]),
                 BT + "frames[2] is not an object", id="frame-not-an-object"),
    pytest.param(lambda d: frame(d).update(object=5), FRAME + "object is not a string or null",
                 id="object-a-number"),
    pytest.param(lambda d: frame(d).update(inlined="no"), FRAME + "inlined is not true or false",
                 id="inlined-a-string"),
    pytest.param(lambda d: frame(d).update(offset=-1), FRAME + "offset is not null or " + INT64,
                 id="offset-negative"),
    pytest.param(lambda d: frame(d).update(line=2**32),
                 FRAME + "line is not null or an integer from 0 to 4294967295", id="line-large"),
    pytest.param(lambda d: frame(d).pop("object_offset"), FRAME + "object_offset is missing",
                 id="object-offset-missing"),
    pytest.param(lambda d: d["sections"][1].pop("backtraces"), "sections[1].backtraces is missing",
                 id="backtraces-missing"),
    pytest.param(lambda d: d["sections"].__setitem__(0, None), "sections[0] is not an object",
                 id="section-null"),
    pytest.param(lambda d: d.update(sections={}), "sections is not an array", id="sections-object"),
    pytest.param(lambda d: d.update(comm=["x"]), "comm is not a string or null", id="comm-list"),
    pytest.param(lambda d: d.pop("depth"), "depth is missing", id="depth-missing"),
    pytest.param(lambda d: d.pop("schema_version"), NOT_A_REPORT, id="no-schema"),
    pytest.param(lambda d: d.update(schema_version=2), NOT_A_REPORT, id="schema-2"),
]


def refused(tmp_path, text, mode="w"):
    """--diff GOOD BAD: (status, stdout, stderr less the prefix)."""
    (good, _), _, _ = write_pair(tmp_path, 5)
    bad = tmp_path / "bad.json"
    bad.write_bytes(text) if mode == "wb" else bad.write_text(text)
    r = diff(good, bad)
    prefix = "heaptrace: --diff: %s: " % bad
    assert r.stderr.startswith(prefix) and r.stderr.endswith("\n"), r.stderr
    return r.returncode, r.stdout, r.stderr[len(prefix):-1]


@pytest.mark.parametrize("change,why", STRUCTURE)
def test_diff_refuses_a_wrong_structure(tmp_path, change, why):
    doc = json.loads(genreport.pair(5, 4)[1])
    change(doc)
    assert refused(tmp_path, json.dumps(doc) + "\n") == (2, "", why)


def test_diff_refuses_a_field_twice(tmp_path):
    new = genreport.pair(5, 4)[1]
    assert refused(tmp_path, new.replace('"count":', '"count":1,"count":', 1)) == (
        2, "", "sections[0].backtraces[0].count appears twice")


def syntax_cases():
    """(text, why): bad JSON, the byte (from 1) where it is found."""
    new = genreport.pair(5, 4)[1]
    cut = new.index('"frames":[') + len('"frames":[')
    comm = new.index('"myd"')
    body = new.rstrip("\n")[:-1]
    deep = body + ',"extra":' + "[" * 100 + "]" * 100 + "}\n"
    older = new.replace('"pid":200', '"pid":0200')
    cases = [
        (new[:cut] + "\n", "byte %d: unexpected end" % (cut + 1), "cut-short"),
        (new[:comm + 3] + "\n", "byte %d: unterminated string" % (comm + 4), "open-string"),
        (new.replace('"myd"', '"m\tyd"'),
         "byte %d: control character in a string" % (comm + 3), "tab-in-string"),
        (new.replace('"myd"', '"m\\xyd"'),
         "byte %d: bad escape in a string" % (comm + 4), "bad-escape"),
        (new.replace('"myd"', '"m\\u12"'), "byte %d: bad \\u escape" % (comm + 5), "bad-u"),
        # the report is one level, 63 more are read: the 64th bracket is refused
        (deep, "byte %d: nested too deep" % (len(body) + len(',"extra":') + 64), "deep"),
        (body + "}} \n", "byte %d: text after the document" % (len(body) + 2), "after"),
        (body + ",}\n", "byte %d: expected a member name" % (len(body) + 2), "comma"),
        (new.replace(',"depth"', ' "depth"'),
         "byte %d: expected ',' or '}'" % (new.index(',"depth"') + 2), "no-comma"),
        (new.replace('"pid":200', '"pid":tru'),
         "byte %d: expected a value" % (new.index('"pid":200') + 7), "tru"),
        # JSON Lines: the last report is read, its bytes counted from the file's start
        (new + older + "\n \n", "byte %d: bad number" % (len(new) + older.index("0200") + 1),
         "leading-zero-last-line"),
        (" \n\t\n", "holds no report", "blank"),
        ("[1]\n", NOT_A_REPORT, "array"),
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
