# SPDX-License-Identifier: GPL-2.0-or-later
"""dumps.py OUTFILE N - build a heap of N objects, then ask heaptrace for
two dumps (SIGUSR1) one after the other, and print how long each took to
appear complete in OUTFILE: the first resolves every printed frame (and
opens the objects), the second finds them in the cache."""
import os
import signal
import sys
import time

out, n = sys.argv[1], int(sys.argv[2])
keep = {i: [str(i)] * 3 for i in range(n)}
sep = "=" * 65 + "\n"
for k in (1, 2):
    t0 = time.monotonic()
    os.kill(os.getpid(), signal.SIGUSR1)
    while True:
        try:
            text = open(out).read()
        except FileNotFoundError:
            text = ""
        if text.count(sep) >= 2 * k:
            break
        time.sleep(0.0005)
    print("dump%d=%.1f ms" % (k, (time.monotonic() - t0) * 1e3))
