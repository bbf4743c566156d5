# SPDX-License-Identifier: GPL-2.0-or-later
"""--flame-graph=svg: an interactive SVG flame graph without Perl
(lib/svg.c).  Its frames are checked against flamegraph.pl's layout
(re-implemented here from its rules: its sort of the folded lines, its
merge of neighbouring stacks, 1200 pixels, 16-pixel frames, frames under
0.1 pixel left out) on the folded stacks of the same program; it parses as
XML; it renders in a real headless browser (Debian's chromium), and its
script zooms and searches there."""

import re
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib

import pytest

from htlib import BIN, HEAPTRACE, need, run, trace

EXE = BIN / "s-flame"
FLAME_LIVE = 83689
NS = {"s": "http://www.w3.org/2000/svg"}
WIDTH, XPAD, FRAME, YPAD_TOP, YPAD_BOTTOM = 1200, 10, 16, 36, 34


def svg_of(*opts, prog=EXE):
    r = trace(prog, opts=["--flame-graph=svg", *opts])
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    return r.stdout


def frames(svg):
    """[(name, x, y, width, title)] of the frames, as the file has them."""
    root = ET.fromstring(svg)
    out = []
    for g in root.find("s:g[@id='frames']", NS):
        rect = g.find("s:rect", NS)
        out.append((g.get("data-n"), rect.get("x"), rect.get("y"), rect.get("width"),
                    g.find("s:title", NS).text))
    return root, out


def flamegraph_pl(folded):
    """flamegraph.pl's frames for folded stacks: (name, x, y, width) as it
    prints them, and the image height."""
    lines = sorted(folded.splitlines())
    nodes, opened, last, time = [], {}, [], 0

    def flow(prev, this, now):
        same = 0
        while same < len(prev) and same < len(this) and prev[same] == this[same]:
            same += 1
        for i in range(len(prev) - 1, same - 1, -1):
            nodes.append((prev[i], i, opened.pop(i), now))
        for i in range(same, len(this)):
            opened[i] = now
        return this

    for line in lines:
        stack, count = re.match(r"^(.*)\s+?(\d+(?:\.\d*)?)$", line).groups()
        last = flow(last, [""] + stack.split(";"), time)
        time += int(count)
    flow(last, [], time)
    per = (WIDTH - 2 * XPAD) / time
    kept = [n for n in nodes if n[3] - n[2] >= 0.1 / per]
    height = (max(d for _, d, _, _ in kept) + 1) * FRAME + YPAD_TOP + YPAD_BOTTOM
    out = []
    for name, depth, start, end in kept:
        x1, x2 = "%0.1f" % (XPAD + start * per), "%0.1f" % (XPAD + end * per)
        name = re.sub(r"_\[[kwij]\]$", "", name) if depth else "all"
        out.append((name, x1, str(height - YPAD_BOTTOM - (depth + 1) * FRAME + 1),
                    "%0.1f" % (float(x2) - float(x1))))
    return sorted(out), height


@pytest.mark.parametrize("prog,opts", [(EXE, []), (EXE, ["--sort=calls"]),
                                       (BIN / "s-flame-cxx", []), (BIN / "sym-cxx", ["--depth=20"]),
                                       ("/usr/bin/python3", ["--sort=calls"])])
def test_same_frames_and_pixels_as_flamegraph_pl(prog, opts):
    args = ["-c", "pass"] if "python3" in str(prog) else []
    r = run([HEAPTRACE, *opts, "--flame-graph=svg", prog, *args])
    folded = run([HEAPTRACE, *opts, "--flame-graph", prog, *args]).stdout
    root, got = frames(r.stdout)
    want, height = flamegraph_pl(folded)
    assert sorted(f[:4] for f in got) == want
    assert root.get("height") == str(height)


def test_titles_widths_and_text():
    """Each frame's tooltip gives its bytes and share; widths follow the
    bytes; a label fits its frame or ends in '..'."""
    root, got = frames(svg_of())
    by_name = {}
    for name, x, y, w, title in got:
        by_name.setdefault(name, []).append((float(x), float(w), title))
    [(x, w, title)] = by_name["all"]
    assert (x, w, title) == (10.0, 1180.0, "all (83,689 bytes, 100%)")
    for n in range(1, 13):
        [(x, w, title)] = by_name["flame_%d" % n]
        assert title == "flame_%d (%s bytes, %.2f%%)" % (
            n, format(1000 * n, ","), 100 * 1000 * n / FLAME_LIVE)
        assert abs(w - 1180 * 1000 * n / FLAME_LIVE) <= 0.1
    labels = {g.get("data-n"): g.find("s:text", NS).text or ""
              for g in root.find("s:g[@id='frames']", NS)}
    assert labels["flame_12"] == "flame_12"
    assert labels["flame_1"] in ("", "f..", "fl..", "fla..")
    assert root.find("s:text[@id='title']", NS).text.startswith("live bytes of s-flame (pid ")


def test_stdout_outfile_and_environment(tmp_path):
    """Like the folded stacks: stdout, or --outfile; HEAPTRACE_FLAME_GRAPH=svg
    does the same; a value that is neither a boolean nor svg is refused."""
    out = tmp_path / "f.svg"
    r = trace(EXE, opts=["--flame-graph=svg", "--outfile=%s" % out])
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert sorted(f[:4] for f in frames(out.read_text())[1]) == \
        sorted(f[:4] for f in frames(svg_of())[1])
    env = run([EXE], env={"LD_PRELOAD": str(BIN.parent.parent / "libheaptrace.so"),
                          "HEAPTRACE_FLAME_GRAPH": "svg"})
    assert env.stdout.startswith("<?xml")
    assert sorted(f[:4] for f in frames(env.stdout)[1]) == \
        sorted(f[:4] for f in frames(out.read_text())[1])
    bad = run([HEAPTRACE, "--flame-graph=png", EXE])
    assert bad.returncode == 2
    assert bad.stderr == "heaptrace: --flame-graph: 'png' is not 1, 0 or svg\n"


def png_pixels(data):
    """(width, height, rows of pixel tuples) of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, rows, prev = zlib.decompress(idat), [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (w * bpp + 1)], bytearray(raw[y * (w * bpp + 1) + 1:(y + 1) * (w * bpp + 1)])
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[i:i + 3]) for i in range(0, len(line), bpp)])
        prev = line
    return w, h, rows


def chromium(*args):
    r = subprocess.run([need("chromium"), "--headless", "--no-sandbox", "--disable-gpu", *args],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout.decode()


def test_renders_in_a_browser(tmp_path):
    """A screenshot by headless chromium is not blank: the frames' colours
    cover the area the frames take."""
    svg = tmp_path / "f.svg"
    svg.write_text(svg_of())
    height = int(frames(svg.read_text())[0].get("height"))
    shot = tmp_path / "shot.png"
    chromium("--screenshot=%s" % shot, "--window-size=1200,%d" % height, svg.as_uri())
    w, h, rows = png_pixels(shot.read_bytes())
    assert (w, h) == (1200, height)
    background = (248, 248, 248)
    # the root frame "all": one row across the whole width, 10 to 1190
    y = height - YPAD_BOTTOM - 8
    coloured = [p for p in rows[y][12:1188] if p != background and p != (255, 255, 255)]
    assert len(coloured) > 1100
    assert len({p for row in rows for p in row}) > 20


def test_script_zooms_and_searches(tmp_path):
    """The script runs in the browser: a click's zoom gives flame_12 the
    whole width and hides its neighbours; a search reports the share it
    matched."""
    text = svg_of()
    probe = """<script type="text/ecmascript"><![CDATA[
window.addEventListener('load', function () {
  setTimeout(function () {
    var out = document.documentElement, fr = document.getElementById('frames').children, t;
    for (var i = 0; i < fr.length; i++) if (fr[i].getAttribute('data-n') == 'flame_12') t = fr[i];
    t.dispatchEvent(new MouseEvent('click'));
    var r = t.querySelector('rect');
    out.setAttribute('data-zoomed', r.getAttribute('x') + ' ' + r.getAttribute('width'));
    var hidden = 0;
    for (var i = 0; i < fr.length; i++) if (fr[i].classList.contains('hide')) hidden++;
    out.setAttribute('data-hidden', hidden);
    search('^flame_1[0-2]$');
    out.setAttribute('data-matched', document.getElementById('matched').textContent);
    out.setAttribute('data-ready', svgready);
  }, 10);
});
]]></script>
</svg>
"""
    svg = tmp_path / "probe.svg"
    svg.write_text(text.replace("</svg>\n", probe))
    dom = chromium("--virtual-time-budget=2000", "--dump-dom", svg.as_uri())
    assert 'data-ready="true"' in dom
    assert 'data-zoomed="10.0 1180.0"' in dom
    hidden = int(re.search(r'data-hidden="(\d+)"', dom).group(1))
    assert hidden >= 20   # the other flame_N, malloc above them, the deep_ chain
    share = 100 * (10000 + 11000 + 12000) / FLAME_LIVE
    assert 'data-matched="Matched: %.1f%%"' % share in dom
