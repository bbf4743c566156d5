// SPDX-License-Identifier: GPL-2.0-or-later
// dumps.js OUTFILE - node's heap after start-up, then two dumps asked with
// SIGUSR2 (node keeps SIGUSR1 for its inspector), timed as dumps.py does:
// the first resolves every printed frame from node's 90 MB of DWARF, the
// second finds them in the cache.
const fs = require("fs");
const out = process.argv[2];
const keep = [];
for (let i = 0; i < 100000; i++) keep.push({ i, s: "x" + i });
const sep = "=".repeat(65) + "\n";
for (const k of [1, 2]) {
  const t0 = process.hrtime.bigint();
  process.kill(process.pid, "SIGUSR2");
  for (;;) {
    let text = "";
    try { text = fs.readFileSync(out, "utf8"); } catch (e) {}
    if (text.split(sep).length - 1 >= 2 * k) break;
  }
  console.log("dump" + k + "=" + (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1) + " ms");
}
