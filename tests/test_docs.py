# SPDX-License-Identifier: GPL-2.0-or-later
"""The man page (doc/heaptrace.1) and bash completion
(doc/heaptrace.bash-completion) that make install installs: the page
renders without a warning, lexgrog finds its NAME, every option of --help
is in it; completion offers the options and their values."""

import os
import re
import subprocess

from htlib import HEAPTRACE, ROOT, need, run

MAN = ROOT / "doc" / "heaptrace.1"
COMPLETION = ROOT / "doc" / "heaptrace.bash-completion"


def help_options():
    """The left column of --help: "--top=NUM", "-s, --sort=KEY[,KEY...]"..."""
    out = run([HEAPTRACE, "--help"]).stdout
    return re.findall(r"^ +((?:-[a-zA-Z], )?--\S+)", out, re.M)


def render(*flags):
    r = run([need("man"), "-E", "ascii", *flags, "-l", MAN], env={"MANWIDTH": "200"})
    assert r.returncode == 0, r.stderr
    return r


def test_man_renders_without_warnings():
    assert render("--warnings").stderr == ""


def test_lexgrog_finds_the_name():
    r = run([need("lexgrog"), MAN])
    assert (r.returncode, r.stdout) == (0, '%s: "heaptrace - trace the heap allocations of a '
                                           'program and report what holds memory"\n' % MAN)


def test_man_has_every_option_and_section():
    text = render().stdout
    opts = help_options()
    assert len(opts) == 24
    for opt in opts:
        assert re.search(r"^ {7}%s(?=\s|$)" % re.escape(opt), text, re.M), opt
    heads = re.findall(r"^([A-Z][A-Z ]+)$", text, re.M)
    assert heads == ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT",
                     "EXIT STATUS", "SIGNALS", "FILES", "EXAMPLES", "SEE ALSO"]
    for var in re.findall(r'"(HEAPTRACE_[A-Z_]+)"', (ROOT / "options.h").read_text()):
        assert var in text, var


def complete(*words):
    """COMPREPLY of _heaptrace for the command line split into words as
    bash splits it (COMP_WORDBREAKS: '=' and ':' are words of their own),
    the cursor at the end of the last, with bash-completion loaded."""
    script = ('source /usr/share/bash-completion/bash_completion; source "$1"; shift; '
              'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE=$LINE; '
              'COMP_POINT=${#COMP_LINE}; '
              '_heaptrace heaptrace "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    need("bash")
    assert os.path.exists("/usr/share/bash-completion/bash_completion"), \
        "bash-completion is not installed: run 'make deps'"
    line = "heaptrace"
    for prev, w in zip(("heaptrace",) + words, words):
        line += w if "=" in (w, prev) or ":" in (w, prev) else " " + w
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "complete", COMPLETION,
                        "heaptrace", *words], capture_output=True, text=True,
                       env={"LINE": line, "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    return sorted(set(r.stdout.split()))


def test_completion_offers_every_option():
    longs = set()
    for opt in help_options():
        for o in opt.split(", "):
            name = re.match(r"(-[a-zA-Z]|--[a-z-]+)(\[?=)?", o)
            longs.add(name.group(1) + ("=" if name.group(2) == "=" else ""))
    got = set(complete("-"))
    assert longs <= got, sorted(longs - got)
    assert complete("--so") == ["--sort="]


def test_completion_of_values():
    assert complete("--sort", "=", "") == ["age", "calls", "count", "growth", "leaked", "peak",
                                           "peak-share", "size", "temporary"]
    assert complete("--sort", "=", "size,pe") == ["size,peak", "size,peak-share"]
    assert complete("--format", "=", "p") == ["pprof"]
    assert complete("--flame-graph", "=", "") == ["svg"]
    assert complete("--unwind", "=", "") == ["check", "dwarf", "fp", "libunwind"]
    assert complete("--leak-check", "=", "") == ["no", "yes"]
    assert complete("--signals", "=", "size", ":", "US") == ["USR1", "USR2"]
    assert complete("--diff", "--sort", "=", "") == ["count", "size"]
