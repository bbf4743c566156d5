#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/run.py - what heaptrace costs, measured beside what it cannot avoid.

Every workload runs untraced and under each tool in turn, round after round
(A B C A B C ...), so that the ratios compare runs made moments apart on a
shared, noisy machine; a ratio is taken per round and the median reported.
The tools: heaptrace (its own walk of .eh_frame), also with --unwind=libunwind
and --unwind=fp; its floors, a preload that only forwards malloc/free
(nullshim: the cost of interposition) and one that also unwinds as heaptrace
does (unwshim: the cost of unwinding); and heaptrack when it is installed.
Then the targets of the speed work are checked against the same run.

    bench/run.py                 # everything (a few minutes)
    bench/run.py --rounds 3 --only churn,mt-churn-2
    bench/run.py --base /tmp/old --only churn   # also a build of another commit

--base DIR adds a column "base": DIR/heaptrace, a tree of another commit
built with make (git worktree add /tmp/old REV && make -C /tmp/old), so
that what a change bought is a ratio of the same rounds.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
B = ROOT / "bench" / "build"
HEAPTRACE = ROOT / "heaptrace"
PY = "/usr/bin/python3"

# name: (command, environment, events printed by the workload?)
WORKLOADS = {
    "churn": ([B / "churn", "4M"], {}),
    "mt-churn-2": ([B / "mt-churn", "6M", "2"], {}),
    "mt-churn-8": ([B / "mt-churn", "6M", "8"], {}),
    "mt-own-2": ([B / "mt-churn", "6M", "2", "own"], {}),
    "mt-own-8": ([B / "mt-churn", "6M", "8", "own"], {}),
    "cxx-new": ([B / "cxx-new", "150k"], {}),
    "realloc-grow": ([B / "realloc-grow", "200k"], {}),
    "many-stacks": ([B / "many-stacks", "3M", "8"], {}),
    "steady": ([B / "steady", "100k", "3M"], {}),
    "py-dict": ([PY, ROOT / "bench" / "workloads" / "dict.py", "100000"],
                {"PYTHONMALLOC": "malloc"}),
}


def base_at_64(base):
    """The base tree's heaptrace at 64 frames: --depth=64, or, from before
    --depth, the DEPTH=64 build its bench/ made (make -C DIR/bench)."""
    d64 = Path(base) / "bench" / "build" / "d64" / "heaptrace"
    return [d64] if d64.exists() else [Path(base) / "heaptrace", "--depth=64"]


def tools(depth64=False, base=None):
    """name -> function(cmd, env, tmp) giving (argv, env) of the traced run."""
    ht = [HEAPTRACE, "--depth=64"] if depth64 else [HEAPTRACE]
    unw = B / ("unwshim64.so" if depth64 else "unwshim8.so")
    t = {
        "untraced": lambda c, e, tmp: (c, e),
        "heaptrace": lambda c, e, tmp: (ht + ["--outfile=%s/ht.out" % tmp] + c, e),
        "unwshim": lambda c, e, tmp: (c, dict(e, LD_PRELOAD=str(unw))),
    }
    # every backtrace by libunwind's unw_backtrace, as the unwshim floor
    t["heaptrace-lu"] = lambda c, e, tmp: (ht + ["--unwind=libunwind",
                                                 "--outfile=%s/ht.out" % tmp] + c, e)
    if not depth64:
        # the opt-in frame-pointer walk (the workloads keep frame pointers)
        t["heaptrace-fp"] = lambda c, e, tmp: (ht + ["--unwind=fp",
                                                     "--outfile=%s/ht.out" % tmp] + c, e)
    if not depth64:
        t["nullshim"] = lambda c, e, tmp: (c, dict(e, LD_PRELOAD=str(B / "nullshim.so")))
        # production's setting (README: Production use), beside forwarding alone
        t["sample-512k"] = lambda c, e, tmp: (ht + ["--sample=512k",
                                                    "--outfile=%s/ht.out" % tmp] + c, e)
    if base:
        bht = base_at_64(base) if depth64 else [Path(base) / "heaptrace"]
        t["base"] = lambda c, e, tmp: (bht + ["--outfile=%s/base.out" % tmp] + c, e)
    if shutil.which("heaptrack"):
        t["heaptrack"] = lambda c, e, tmp: (["heaptrack", "-o", "%s/heaptrack" % tmp] + c, e)
    return t


def valgrind_tools():
    """valgrind's heap profiler (massif) and its default tool (memcheck):
    20-50 times slower, so measured on churn only."""
    if not shutil.which("valgrind"):
        return {}
    vg = ["valgrind", "-q", "--log-file=/dev/null"]
    return {
        "untraced": lambda c, e, tmp: (c, e),
        "massif": lambda c, e, tmp: (vg + ["--tool=massif", "--massif-out-file=%s/ms" % tmp]
                                     + c, e),
        "memcheck": lambda c, e, tmp: (vg + ["--leak-check=full"] + c, e),
    }


def run_once(argv, env, tmp):
    """Wall time (s), peak RSS (KiB) of the program (through peakrss), stdout."""
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith("HEAPTRACE_") and k != "LD_PRELOAD"}
    rss = Path(tmp) / "peakrss"
    out = open(Path(tmp) / "stdout", "w+")
    # LD_PRELOAD must reach the program, not peakrss: env(1) sets it after
    argv = [B / "peakrss", rss, "env"] + ["%s=%s" % kv for kv in env.items()] + list(argv)
    t0 = time.monotonic()
    p = subprocess.run([str(a) for a in argv], env=full_env, cwd=tmp, stdout=out,
                       stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit("bench: %s failed with status %d" % (" ".join(map(str, argv)), p.returncode))
    out.seek(0)
    return wall, int(rss.read_text()), out.read()


def tracer_memory(tmp):
    """heaptrace's own memory from its report, in bytes."""
    text = (Path(tmp) / "ht.out").read_text() if (Path(tmp) / "ht.out").exists() else ""
    m = re.search(r"tracer memory +: ([\d.]+) (bytes|KB|MB|GB)", text)
    if not m:
        return None
    return float(m.group(1)) * {"bytes": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9}[m.group(2)]


def events(stdout):
    """Allocation calls plus frees, as the workload counted them."""
    n = 0
    for key in ("mallocs", "reallocs", "frees"):
        m = re.search(r"\b%s=(\d+)" % key, stdout)
        n += int(m.group(1)) if m else 0
    return n or None


def measure(name, cmd, env, toolset, rounds):
    """Run every tool on one workload, rounds times in turn."""
    res = {t: {"wall": [], "rss": [], "mem": []} for t in toolset}
    ev = None
    names = list(toolset)
    for r in range(rounds):
        for t in names[r % len(names):] + names[:r % len(names)]:
            with tempfile.TemporaryDirectory(prefix="htbench.") as tmp:
                argv, e = toolset[t](list(cmd), dict(env), tmp)
                wall, rss, out = run_once(argv, e, tmp)
                res[t]["wall"].append(wall)
                res[t]["rss"].append(rss)
                if t == "heaptrace":
                    res[t]["mem"].append(tracer_memory(tmp))
                if t == "untraced":
                    ev = events(out)
        print("  %s: round %d/%d" % (name, r + 1, rounds), file=sys.stderr)
    return res, ev


def ratio(res, tool):
    """Median over rounds of tool's time / untraced time of the same round."""
    return statistics.median(a / b for a, b in zip(res[tool]["wall"], res["untraced"]["wall"]))


def ns_per_event(res, tool, base, ev):
    """Median over rounds of (tool - base) per event, in ns."""
    return statistics.median((a - b) for a, b in zip(res[tool]["wall"], res[base]["wall"])) \
        / ev * 1e9


def fmt_mem(v):
    return "-" if v is None else "%.1f MB" % (v / 1e6)


def table(results, toolset):
    cols = [t for t in ("heaptrace", "base", "heaptrace-lu", "heaptrace-fp", "unwshim",
                        "nullshim", "sample-512k", "heaptrack")
            if t in toolset]
    print("| workload | events | untraced s | heaptrace s | " +
          " | ".join("%s ratio" % c for c in cols) + " | peak RSS untraced / heaptrace | tracer memory |")
    print("|---|---:|---:|---:|" + "---:|" * len(cols) + "---:|---:|")
    for name, (res, ev) in results.items():
        mem = [m for m in res["heaptrace"]["mem"] if m is not None]
        print("| %s | %s | %.3f | %.3f | %s | %.1f / %.1f MB | %s |" % (
            name, "%.1fM" % (ev / 1e6) if ev else "-",
            statistics.median(res["untraced"]["wall"]),
            statistics.median(res["heaptrace"]["wall"]),
            " | ".join("%.2f" % ratio(res, c) for c in cols),
            statistics.median(res["untraced"]["rss"]) / 1024,
            statistics.median(res["heaptrace"]["rss"]) / 1024,
            fmt_mem(statistics.median(mem) if mem else None)))


def startup(rounds):
    """Milliseconds heaptrace (and heaptrack) add to /bin/true."""
    variants = {"true": ["/bin/true"], "heaptrace": [HEAPTRACE, "/bin/true"]}
    if shutil.which("heaptrack"):
        variants["heaptrack"] = ["heaptrack", "-o", "ht", "/bin/true"]
    times = {v: [] for v in variants}
    for _ in range(rounds):
        for v, argv in variants.items():
            with tempfile.TemporaryDirectory(prefix="htbench.") as tmp:
                times[v].append(run_once(argv, {}, tmp)[0])
    base = statistics.median(times["true"])
    return {v: (statistics.median(t) - base) * 1e3 for v, t in times.items() if v != "true"}


def dump_time(rounds):
    """Seconds for the exit report of dump-many's 262,144 live backtraces,
    sorted by every key (four sections of ten, one summary)."""
    secs = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="htbench.") as tmp:
            argv = [HEAPTRACE, "--sort=size,count,peak,age", "--top=10",
                    "--outfile=%s/ht.out" % tmp, B / "dump-many"]
            out = open(Path(tmp) / "stdout", "w+")
            p = subprocess.Popen([str(a) for a in argv], cwd=tmp, stdout=out)
            p.wait()
            end = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            out.seek(0)
            t0 = int(re.search(r"t0=(\d+)", out.read()).group(1))
            secs.append((end - t0) / 1e9)
            report = (Path(tmp) / "ht.out").read_text()
            shown = re.search(r"num of backtrace : (\d+)", report)
            more = re.search(r"and (\d+) more backtraces", report)
            n = int(shown.group(1)) + (int(more.group(1)) if more else 0) if shown else None
    return statistics.median(secs), n


DUMP_PROGRAMS = {
    # name: (argv after heaptrace, with {out} for the report file; environment)
    "python3": ([PY, ROOT / "bench" / "workloads" / "dumps.py", "{out}", "200000"],
                {"PYTHONMALLOC": "malloc"}),
    "node": (["node", ROOT / "bench" / "workloads" / "dumps.js", "{out}"], {}),
    # a library with about 200 MB of DWARF, of which the dump reads a few units
    "bigdwarf": ([B / "bigdwarf", "{out}"], {}),
}


def dump_cost(rounds):
    """{program: (first, second)}: milliseconds for a top-10 report, the
    first dump (objects opened, frames resolved) and the second (cached)."""
    costs = {}
    for name, (argv, env) in DUMP_PROGRAMS.items():
        if not shutil.which(str(argv[0])):
            continue
        res = {1: [], 2: []}
        for _ in range(rounds):
            with tempfile.TemporaryDirectory(prefix="htbench.") as tmp:
                out = Path(tmp) / "ht.out"
                cmd = [str(a).replace("{out}", str(out)) for a in argv]
                _, _, stdout = run_once([HEAPTRACE, "--outfile=%s" % out] + cmd, env, tmp)
                for k in (1, 2):
                    res[k].append(float(re.search(r"dump%d=([\d.]+)" % k, stdout).group(1)))
        costs[name] = (statistics.median(res[1]), statistics.median(res[2]))
    return costs


def churn_wait_ns(mode, tmp, opts=()):
    """ns of churn-wait's loop: untraced, preloaded (heaptrace churn-wait),
    or attached (started untraced, heaptrace --pid while it waits), with
    heaptrace's options opts."""
    argv = [B / "churn-wait", "4M"]
    out = ["--outfile=%s/ht.out" % tmp] + list(opts)
    if mode == "preloaded":
        argv = [HEAPTRACE] + out + argv
    p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, cwd=tmp)
    assert p.stdout.readline() == b"ready\n"
    if mode == "attached":
        subprocess.run([str(HEAPTRACE), "--pid=%d" % p.pid] + out, check=True,
                       capture_output=True)
    out, _ = p.communicate(b"go\n", timeout=120)
    return int(re.search(rb"ns=(\d+)", out).group(1))


ATTACH_RATES = {"every allocation": (), "--sample=512k": ("--sample=512k",)}


def attach_cost(rounds):
    """{(mode, rate): ratio of churn-wait's loop to the untraced one},
    medians of per-round ratios: what the --pid library (its per-thread
    areas out of TLS, the calls through redirected GOT entries) costs
    beside the preloaded one."""
    ratios = {(m, r): [] for r in ATTACH_RATES for m in ("preloaded", "attached")}
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="htbench.") as tmp:
            base = churn_wait_ns("untraced", tmp)
            for mode, rate in ratios:
                ratios[mode, rate].append(churn_wait_ns(mode, tmp, ATTACH_RATES[rate]) / base)
    return {k: statistics.median(r) for k, r in ratios.items()}


def steady_memory(rounds):
    """Tracer memory of steady at OPS and 10 x OPS; bytes per live block
    from LIVE 100k to 1M."""
    runs = {"1x": ["100k", "1M"], "10x": ["100k", "10M"], "1M": ["1M", "1M"]}
    mem = {}
    for k, args in runs.items():
        vals = []
        for _ in range(rounds):
            with tempfile.TemporaryDirectory(prefix="htbench.") as tmp:
                run_once([HEAPTRACE, "--outfile=%s/ht.out" % tmp, B / "steady"] + args, {}, tmp)
                vals.append(tracer_memory(tmp))
        mem[k] = statistics.median(vals)
    return mem["1x"], mem["10x"], (mem["1M"] - mem["1x"]) / 900e3


def leak_scan(rounds, blocks="10M"):
    """The exit report's leak scan of scan-heap (about 1 GB in 10M blocks):
    medians of the pause (the program's threads stopped), the bytes it
    read, and the tracer memory it took."""
    pause, scanned, memory = [], [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="htbench.") as tmp:
            out = Path(tmp) / "ht.json"
            run_once([HEAPTRACE, "--json", "--top=1", "--outfile=%s" % out,
                      B / "scan-heap", blocks], {}, tmp)
            leaks = json.loads(out.read_text().splitlines()[-1])["summary"]["leaks"]
            pause.append(leaks["pause_ns"] / 1e9)
            scanned.append(leaks["scanned_bytes"])
            memory.append(leaks["scan_memory_bytes"])
    return statistics.median(pause), statistics.median(scanned), statistics.median(memory)


def check(label, ok, value):
    print("- %s: %s [%s]" % (label, value, "met" if ok else "NOT MET"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", help="comma-separated workloads")
    ap.add_argument("--base", help="a tree of another commit, built: its heaptrace as a column")
    args = ap.parse_args()
    toolset = tools(base=args.base)
    names = args.only.split(",") if args.only else list(WORKLOADS)

    print("## Workloads (%d rounds, medians of per-round ratios)\n" % args.rounds)
    results = {}
    for name in names:
        cmd, env = WORKLOADS[name]
        results[name] = measure(name, cmd, env, toolset, args.rounds)
    table(results, toolset)

    d64 = None
    if "churn" in names:
        print("\n## churn at --depth=64 (heaptrack's depth)\n")
        d64 = {"churn@64": measure("churn@64", WORKLOADS["churn"][0], {},
                                   tools(True, args.base), args.rounds)}
        table(d64, tools(True, args.base))

    if "churn" in names and valgrind_tools() and not args.only:
        print("\n## churn under valgrind (a quarter of the pairs)\n")
        vg = valgrind_tools()
        small = [WORKLOADS["churn"][0][0], "1M"]
        resvg, _ = measure("churn/valgrind", small, {}, vg, min(args.rounds, 3))
        print("| workload | untraced s | " + " | ".join("%s ratio" % t for t in vg if t != "untraced")
              + " |")
        print("|---|---:|" + "---:|" * (len(vg) - 1))
        print("| churn 1M | %.3f | %s |" % (statistics.median(resvg["untraced"]["wall"]),
              " | ".join("%.1f" % ratio(resvg, t) for t in vg if t != "untraced")))

    print("\n## Targets\n")
    if "churn" in results:
        res, ev = results["churn"]
        # heaptrace-lu unwinds exactly as unwshim does: the rest is bookkeeping
        bk = ns_per_event(res, "heaptrace-lu", "unwshim", ev)
        check("bookkeeping over the unwind-only floor, churn, depth 8 (<= 25 ns/event)",
              bk <= 25, "%.1f ns/event (--unwind=libunwind over unwshim)" % bk)
        own = ns_per_event(res, "heaptrace", "unwshim", ev)
        walk = ns_per_event(res, "heaptrace-lu", "heaptrace", ev)
        print("- the default walk of .eh_frame saves %.1f ns/event over libunwind: heaptrace "
              "is %.1f ns/event over the unwind-only floor, bookkeeping included" % (walk, own))
        if "heaptrack" in res:
            r, h = ratio(res, "heaptrace"), ratio(res, "heaptrack")
            check("churn ratio, under a third of heaptrack's", r < h / 3,
                  "%.2f vs heaptrack %.2f (%.2f of it)" % (r, h, r / h))
        if "heaptrace-fp" in res:
            fp = ns_per_event(res, "heaptrace-fp", "untraced", ev)
            print("- with --unwind=fp: churn ratio %.2f, %.1f ns/event over untraced%s" % (
                ratio(res, "heaptrace-fp"), fp,
                " (%.2f of heaptrack's)" % (ratio(res, "heaptrace-fp") / ratio(res, "heaptrack"))
                if "heaptrack" in res else ""))
        if d64 and "heaptrack" in d64["churn@64"][0]:
            res64 = d64["churn@64"][0]
            r, h = ratio(res64, "heaptrace"), ratio(res64, "heaptrack")
            check("churn at --depth=64, at most 0.6 of heaptrack's ratio", r <= 0.6 * h,
                  "%.2f vs heaptrack %.2f (%.2f of it)" % (r, h, r / h))
    if "churn" in results and "mt-churn-2" in results:
        c, m2 = ratio(results["churn"][0], "heaptrace"), ratio(results["mt-churn-2"][0], "heaptrace")
        check("mt-churn-2 ratio at most 1.25 x churn's", m2 <= 1.25 * c,
              "%.2f vs %.2f (x%.2f)" % (m2, c, m2 / c))
        if "mt-churn-8" in results:
            m8 = ratio(results["mt-churn-8"][0], "heaptrace")
            check("mt-churn-8 ratio within 1.5 x mt-churn-2's", m8 <= 1.5 * m2,
                  "%.2f vs %.2f (x%.2f)" % (m8, m2, m8 / m2))
    # --sample=512k beside the preload that only forwards (issue 17's goals)
    for name, goal in (("churn", 1.10), ("mt-churn-2", 1.15), ("mt-churn-8", 1.15)):
        if name in results and "sample-512k" in results[name][0]:
            res = results[name][0]
            s, f = ratio(res, "sample-512k"), ratio(res, "nullshim")
            check("%s at --sample=512k, at most %.2fx" % (name, goal), s <= goal,
                  "%.2f (forwarding alone %.2f, every allocation %.2f)"
                  % (s, f, ratio(res, "heaptrace")))
    if "churn" in results and "many-stacks" in results:
        c = ns_per_event(results["churn"][0], "heaptrace", "untraced", results["churn"][1])
        m = ns_per_event(results["many-stacks"][0], "heaptrace", "untraced",
                         results["many-stacks"][1])
        check("many-stacks cost per event within 2 x churn's", m <= 2 * c,
              "%.1f vs %.1f ns/event" % (m, c))
    if not args.only:
        secs, n = dump_time(args.rounds)
        check("dump of %s backtraces sorted by each key, under a second" % n, secs < 1,
              "%.3f s" % secs)
        for name, (first, second) in dump_cost(max(args.rounds, 3)).items():
            print("- top-10 dump of %s while it runs: first %.1f ms, second %.1f ms"
                  % (name, first, second))
        one, ten, per_block = steady_memory(3)
        check("steady at 10x the operations, same tracer memory within 5%",
              abs(ten - one) <= 0.05 * one, "%s vs %s" % (fmt_mem(one), fmt_mem(ten)))
        check("tracer memory per live block, at most 48 bytes", per_block <= 48,
              "%.1f bytes" % per_block)
        pause, scanned, memory = leak_scan(3)
        check("leak scan of about 1 GB in 10M blocks, at least 1 GB/s of pause",
              scanned / pause >= 1e9, "%.2f GB in %.3f s: %.2f GB/s, %s of tracer memory"
              % (scanned / 1e9, pause, scanned / pause / 1e9, fmt_mem(memory)))
        ac = attach_cost(max(args.rounds, 5))
        for rate in ATTACH_RATES:
            print("- churn's loop traced after --pid, %s: %.2fx untraced, preloaded %.2fx"
                  % (rate, ac["attached", rate], ac["preloaded", rate]))
        st = startup(max(args.rounds, 10) * 2)
        print("- start-up added to /bin/true: %s" %
              ", ".join("%s %.1f ms" % (k, v) for k, v in st.items()))


if __name__ == "__main__":
    main()
