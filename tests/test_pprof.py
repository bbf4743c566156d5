# SPDX-License-Identifier: GPL-2.0-or-later
"""--format=pprof: a gzipped profile.proto per report, read back by real
consumers -- google/pprof built from Debian's sources (tests/bin/pprof:
-raw, -top, -traces) and protoc with pprof's own schema -- and compared with
the text report of the same program (tests/s-pprof.c)."""

import gzip
import re
import subprocess

from htlib import BIN, HEAPTRACE, find_bt, fmt_bytes, need, one_report, run, trace

EXE = BIN / "s-pprof"
SRC = BIN.parent / "s-pprof.c"
PPROF = BIN / "pprof"
PROTO_DIR = "/usr/share/gocode/src/github.com/google/pprof/proto"
TYPES = ["alloc_objects/count", "alloc_space/bytes", "inuse_objects/count",
         "inuse_space/bytes", "leaked_objects/count", "leaked_space/bytes"]
# s-pprof.c's sites: (calls, bytes, live blocks, live bytes, leaked blocks, leaked bytes)
SITES = {
    "site_live": (3, 300, 3, 300, 0, 0),
    "site_churn": (4, 4000, 1, 1000, 0, 0),
    "site_freed": (5, 35, 0, 0, 0, 0),
    "site_leak": (2, 128, 2, 128, 2, 128),
}
INLINED = (1, 50, 1, 50, 0, 0)  # each of outer_inl's two calls of inner_inl


def mark(name):
    """The line of s-pprof.c marked "@name"."""
    lines = SRC.read_text().split("\n")
    [n] = [i + 1 for i, line in enumerate(lines) if re.search(r"@%s\b" % name, line)]
    return n


def pprof(*args):
    r = run([PPROF, *args])
    assert r.returncode == 0, r.stderr
    return r.stdout


def parse_raw(text):
    """pprof -raw: ([sample types], [(values, [location ids])],
    {location id: [(function, file, line)]}, [mapping lines])"""
    types = samples = None
    locs, maps, part, loc = {}, [], None, None
    for line in text.split("\n"):
        if line in ("Samples:", "Locations", "Mappings"):
            part = line
        elif part == "Samples:" and types is None:
            types = [t.replace("[dflt]", "") for t in line.split()]
            samples = []
        elif part == "Samples:" and line.strip():
            vals, ids = line.split(":")
            samples.append(([int(v) for v in vals.split()], [int(i) for i in ids.split()]))
        elif part == "Locations" and line.strip():
            m = re.match(r"^ +(\d+): 0x[0-9a-f]+ M=\d+ ?(?:(\S+) (\S*):(\d+) s=0)?$", line)
            if m:
                loc = int(m.group(1))
                locs[loc] = [(m.group(2), m.group(3), int(m.group(4)))] if m.group(2) else []
            else:
                m = re.match(r"^ +(\S+) (\S*):(\d+) s=0$", line)
                assert m, line
                locs[loc].append((m.group(1), m.group(2), int(m.group(3))))
        elif part == "Mappings" and line.strip():
            maps.append(line)
    return types, samples, locs, maps


def profile(tmp_path, *opts, args=()):
    out = tmp_path / "heap.pb.gz"
    r = trace(EXE, *args, opts=["--format=pprof", "--outfile=%s" % out, *opts])
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    return out


def by_site(samples, locs):
    """{the program's innermost frame (function, line): values}; frame 0
    is heaptrace's malloc."""
    res = {}
    for vals, ids in samples:
        assert locs[ids[0]] == [("malloc", "", 0)]
        fn, _, line = locs[ids[1]][-1]
        res[(fn, line)] = tuple(vals)
    return res


def test_raw_matches_the_program(tmp_path):
    """Every backtrace since start is one sample with the six values; the
    lines are the program's, inlined calls innermost first."""
    types, samples, locs, maps = parse_raw(pprof("-raw", profile(tmp_path)))
    assert types == TYPES
    sites = by_site(samples, locs)
    want = {(fn, mark(fn)): v for fn, v in SITES.items()}
    want[("outer_inl", mark("outer_inl"))] = INLINED
    want[("outer_inl", mark("outer_inl2"))] = INLINED
    assert sites == want
    inl = [locs[ids[1]] for _, ids in samples if locs[ids[1]][0][0] == "inner_inl"]
    assert sorted(inl) == [[("inner_inl", str(SRC), mark("inner_inl")),
                            ("outer_inl", str(SRC), mark(n))] for n in ("outer_inl", "outer_inl2")]
    for _, ids in samples:
        assert [f for f, _, _ in locs[ids[2]]] == ["main"]
        assert locs[ids[-1]] == [("_start", "", 0)]
    [exe_map] = [m for m in maps if str(EXE) in m]
    assert exe_map.endswith("[FN][FL][LN][IN]")
    assert build_id(EXE) in exe_map


def test_same_numbers_as_the_text_report(tmp_path):
    """The live counts and bytes of each backtrace are the text report's."""
    _, samples, locs, _ = parse_raw(pprof("-raw", profile(tmp_path)))
    sites = by_site(samples, locs)
    text = one_report(trace(EXE).stderr)
    for fn in ("site_live", "site_churn", "site_leak"):
        bt = find_bt(text, fn)
        vals = sites[(fn, mark(fn))]
        assert (vals[2], fmt_bytes(vals[3])) == (bt.count, bt.size)


def test_top_and_traces(tmp_path):
    """pprof's own views: -top by inuse_space (the default) and by
    alloc_space, -traces with the functions of each backtrace."""
    prof = profile(tmp_path)
    top = pprof("-top", "-unit=B", "-nodecount=100", prof)
    assert "Type: inuse_space" in top
    assert re.search(r"^ +1528B +100% +100% +1528B +100%  malloc$", top, re.M), top
    for fn, live in (("site_churn", 1000), ("site_live", 300), ("site_leak", 128),
                     ("outer_inl", 100), ("inner_inl", 100)):
        assert re.search(r"^ +0 +0%% +100%% +%dB +[\d.]+%%  %s(?: \(inline\))?$" % (live, fn),
                         top, re.M), (fn, top)
    alloc = pprof("-top", "-unit=B", "-sample_index=alloc_space", prof)
    assert re.search(r"^ +4563B +100% +100% +4563B +100%  malloc$", alloc, re.M), alloc
    start = ["__libc_start_call_main", "__libc_start_main", "_start"]
    assert sorted(parse_traces(pprof("-traces", prof))) == sorted([
        ("300B", ["malloc", "site_live", "main"] + start),
        ("1000B", ["malloc", "site_churn", "main"] + start),
        ("50B", ["malloc", "inner_inl (inline)", "outer_inl", "main"] + start),
        ("50B", ["malloc", "inner_inl (inline)", "outer_inl", "main"] + start),
        ("0", ["malloc", "site_freed", "main"] + start),
        ("128B", ["malloc", "site_leak", "main"] + start)])


def parse_traces(text):
    """pprof -traces: [(value, [functions, innermost first])]"""
    res = []
    for block in text.split("-----------+" + "-" * 55 + "\n")[1:]:
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if lines:
            value, first = lines[0].split(None, 1)
            res.append((value, [first] + lines[1:]))
    return res


def build_id(exe):
    r = run(["readelf", "-n", exe])
    return re.search(r"Build ID: ([0-9a-f]+)", r.stdout).group(1)


def test_protoc_decodes_it(tmp_path):
    """protoc with pprof's schema: the string table starts with "", the
    default sample type is inuse_space, the period type space/bytes."""
    protoc = need("protoc")
    raw = gzip.decompress(profile(tmp_path).read_bytes())
    r = subprocess.run([protoc, "--decode=perftools.profiles.Profile",
                        "--proto_path=" + PROTO_DIR, "profile.proto"],
                       input=raw, capture_output=True, check=True)
    text = r.stdout.decode()
    strings = re.findall(r'^string_table: "(.*)"$', text, re.M)
    assert strings[0] == ""
    idx = lambda n: int(re.search(r"^%s: (\d+)$" % n, text, re.M).group(1))
    assert strings[idx("default_sample_type")] == "inuse_space"
    period = re.search(r"^period_type \{\n  type: (\d+)\n  unit: (\d+)\n\}$", text, re.M)
    assert [strings[int(period.group(i))] for i in (1, 2)] == ["space", "bytes"]
    assert re.search(r"^time_nanos: \d{19}$", text, re.M)
    assert strings[idx("comment")].startswith("heaptrace ")
    assert len(re.findall(r"^sample \{$", text, re.M)) == 6


def test_needs_an_outfile(tmp_path):
    """Binary data never goes to a terminal or stderr: the launcher refuses,
    the library warns and writes text."""
    r = run([HEAPTRACE, "--format=pprof", EXE])
    assert r.returncode == 2
    assert r.stderr == "heaptrace: --format=pprof writes a binary profile: it needs --outfile=FILE\n"
    r = run([EXE], env={"LD_PRELOAD": str(BIN.parent.parent / "libheaptrace.so"),
                        "HEAPTRACE_FORMAT": "pprof"})
    first, rest = r.stderr.split("\n", 1)
    assert first == ("heaptrace: HEAPTRACE_FORMAT='pprof' writes a binary profile, to a "
                     "file only, and HEAPTRACE_OUTFILE is not set; using the default 'text'")
    assert find_bt(one_report(rest), "site_churn").size == "1 KB"


def test_a_file_per_dump(tmp_path):
    """Like a flame graph, each dump after the first has a file of its own."""
    out = tmp_path / "heap.pb.gz"
    r = trace(EXE, "1", opts=["--format=pprof", "--outfile=%s" % out, "--interval=0.3"])
    assert r.returncode == 0
    files = sorted(tmp_path.iterdir())
    assert len(files) >= 3, files  # 0.3 s and 0.6 s (or more), then the exit
    for f in files:
        comment = pprof("-raw", f).split("\n")[0]
        assert re.fullmatch(r"Comment: heaptrace \S+: pid \d+ \(s-pprof\), "
                            r"(interval|exit) report, 8 frames a backtrace", comment), comment
    last = out.with_name(out.name + ".dump%d" % len(files))
    _, samples, locs, _ = parse_raw(pprof("-raw", last))
    assert by_site(samples, locs)[("site_churn", mark("site_churn"))] == SITES["site_churn"]


def test_without_zlib_stored_blocks(tmp_path):
    """A process that cannot load zlib still writes a gzip file every
    reader takes: stored deflate blocks (BTYPE 00)."""
    fake = tmp_path / "lib" / "libz.so.1"
    fake.parent.mkdir()
    subprocess.run(["gcc", "-shared", "-o", fake, "-Wl,-soname,libz.so.1", "-x", "c", "/dev/null"],
                   check=True)
    out = tmp_path / "heap.pb.gz"
    r = trace(EXE, opts=["--format=pprof", "--outfile=%s" % out],
              env={"LD_LIBRARY_PATH": str(fake.parent)})
    assert r.returncode == 0
    data = out.read_bytes()
    assert data[:3] == b"\x1f\x8b\x08" and (data[10] >> 1) & 3 == 0
    raw = gzip.decompress(data)
    assert len(data) > len(raw)
    types, samples, locs, _ = parse_raw(pprof("-raw", out))
    assert types == TYPES and len(samples) == 6


def test_sampled_values_are_the_estimates(tmp_path):
    """With --sample the values are the report's estimates, the period the
    rate, and a comment says so."""
    opts = ["--sample=256"]
    env = {"HEAPTRACE_SAMPLE_SEED": "7"}
    out = tmp_path / "heap.pb.gz"
    r = trace(EXE, opts=["--format=pprof", "--outfile=%s" % out, *opts], env=env)
    assert r.returncode == 0
    raw = pprof("-raw", out)
    assert re.search(r"^Period: 256$", raw, re.M)
    assert re.search(r"^Comment: sampled: one allocation per 256 bytes recorded \(\d+\), "
                     r"the values estimates$", raw, re.M)
    _, samples, locs, _ = parse_raw(raw)
    sites = by_site(samples, locs)
    text = one_report(trace(EXE, opts=opts, env=env).stderr)
    for (fn, _), vals in sites.items():
        if vals[2] and fn in SITES:
            bt = find_bt(text, fn)
            assert (vals[2], fmt_bytes(vals[3])) == (bt.count, bt.size)
