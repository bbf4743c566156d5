# SPDX-License-Identifier: GPL-2.0-or-later
"""README.md's option table against the option table itself (options.h'
HT_OPTIONS, which --help prints): every option and its variable listed,
and nothing listed that does not exist."""

import re

from htlib import HEAPTRACE, ROOT, run


def readme_options():
    """{--name: variable or ""} of README's Usage table (| option | variable | meaning |)."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| option | variable | meaning |"):]
    table = table[:table.index("\n\n")]
    got = {}
    for row in table.splitlines()[2:]:
        option, variable = [c.strip() for c in row.strip("|").split("|")[:2]]
        for name in re.findall(r"`(--[a-z-]+)", option):
            got[name] = variable.strip("`")
    return got


def table_options():
    """{--name: variable} of options.h' rows, plus the launcher's commands
    that --help lists (they set no variable)."""
    rows = re.findall(r'X\(\w+, "([a-z-]+)", \S+, "(HEAPTRACE_\w+)"',
                      (ROOT / "options.h").read_text())
    got = {"--" + name: var for name, var in rows}
    r = run([HEAPTRACE, "--help"])
    assert r.returncode == 0
    for name in re.findall(r"^ +(?:-\w, )?(--[a-z-]+)", r.stdout, re.M):
        got.setdefault(name, "")
    return got


def test_readme_lists_every_option():
    assert readme_options() == table_options()
