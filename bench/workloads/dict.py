# SPDX-License-Identifier: GPL-2.0-or-later
# Adapted from the team's peer benchmark lab (shared/bench).
# dict.py N - a dict/list-heavy Python loop (default N = 300000).
# Builds and rebuilds dicts of str keys to lists and tuples, grows and slices
# lists, and drops most of it again, so CPython's allocator and the system
# malloc both see steady traffic (large dicts and lists go to malloc).
import sys

n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 300000
table = {}
total = 0
for i in range(n):
    key = "k%d" % (i % 50021)
    row = table.get(key)
    if row is None:
        row = table[key] = []
    row.append((i, str(i)))
    if len(row) > 8:
        total += len(row[-1][1])
        del row[:4]
    if i % 20000 == 19999:
        # rebuild: a big dict comprehension and a sorted list, then drop them
        snap = {k: list(v) for k, v in table.items() if v}
        total += len(sorted(snap, key=lambda k: len(snap[k])))
        del snap
    if i % 100000 == 99999:
        table = {k: v[-2:] for k, v in table.items()}
print("dict.py n=%d keys=%d total=%d" % (n, len(table), total))
