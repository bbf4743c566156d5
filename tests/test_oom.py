# SPDX-License-Identifier: GPL-2.0-or-later
"""--oom-report: a program that grows until memory runs out gets a report
when it first passes 90% of its limit (RLIMIT_AS: the address space; a
memory cgroup's limit: the resident set) and one when an allocation first
fails with ENOMEM, each once, before its exit report (or before the
cgroup's OOM killer ends it, which no report can follow)."""

import json
import os
import re
import resource
import signal
import subprocess
import time

import pytest

from htlib import (BIN, HEAPTRACE, clean_env, complete_reports, find_bt, fmt_bytes,
                   parse_reports, wait_until)

LIMIT = 512 << 20
MB8 = 8 << 20


def grow(tmp_path, opts=(), preexec=None, timeout=60, args=("8",), env=None):
    """heaptrace OPTS s-oom ARGS under preexec; returns (returncode, N, stderr):
    N the blocks it allocated before malloc failed (None if it never
    failed).  stdin is closed once it failed and its reports are out."""
    err_path = tmp_path / "stderr"
    with open(err_path, "w") as err:
        p = subprocess.Popen([str(HEAPTRACE), *opts, str(BIN / "s-oom"), *args],
                             env=clean_env(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=err, preexec_fn=preexec)
    try:
        line = p.stdout.readline().decode()
        m = re.match(r"failed after (\d+)\n", line)
        if m:
            want = 0 if "--oom-report=0" in opts else 2
            count = (lambda t: len(re.findall(r"^\{.*\}$", t, re.M))) if "--json" in opts \
                else complete_reports
            assert wait_until(lambda: count(err_path.read_text()) >= want, 10)
            time.sleep(0.2)  # nothing more may come
            p.stdin.close()
        rc = p.wait(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return rc, int(m.group(1)) if m else None, err_path.read_text()


def rlimit_as():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def test_rlimit_as_passed_and_enomem_each_report_once(tmp_path):
    rc, n, err = grow(tmp_path, preexec=rlimit_as)
    assert rc == 0 and n is not None
    passed = re.findall(r"^heaptrace: address space (\d+) bytes passed 90%% of RLIMIT_AS "
                        r"\(%d bytes\): report \(--oom-report\)$" % LIMIT, err, re.M)
    assert len(passed) == 1
    assert LIMIT * 0.9 <= int(passed[0]) < LIMIT
    assert err.count("heaptrace: an allocation failed for lack of memory (ENOMEM): "
                     "report (--oom-report)\n") == 1
    reports = parse_reports(err)
    assert len(reports) == 3  # 90%, ENOMEM, exit
    first = find_bt(reports[0], "grow")
    assert 1 <= first.count <= n
    for r in reports[1:]:  # nothing allocated after the failure
        bt = find_bt(r, "grow")
        assert (bt.count, bt.size) == (n, fmt_bytes(n * MB8))
        leak = find_bt(r, "leak_here")
        assert (leak.count, leak.size) == (1, "4.242 KB")
    # the order: the 90% line, its report, the ENOMEM line, its report
    assert err.index("passed 90%") < err.index("ENOMEM") < err.rindex("dump allocation")


def test_json_says_memory(tmp_path):
    rc, n, err = grow(tmp_path, opts=["--json", "--oom-report=50"], preexec=rlimit_as)
    assert rc == 0
    docs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [d["event"] for d in docs] == ["memory", "memory", "exit"]
    assert re.search(r"passed 50% of RLIMIT_AS", err)


def test_off_with_zero(tmp_path):
    rc, n, err = grow(tmp_path, opts=["--oom-report=0"], preexec=rlimit_as)
    assert rc == 0 and n is not None
    assert "--oom-report" not in err
    assert len(parse_reports(err)) == 1


def test_enomem_of_an_allocation_not_sampled(tmp_path):
    """With --sample, the hook's entry forwards an allocation that is not
    recorded, and still sees it fail: blocks of 4 KiB at --sample=1M are
    recorded one in 257, so the one that fails almost never is, and the
    ENOMEM report comes, once."""
    rc, n, err = grow(tmp_path, opts=["--sample=1M"], preexec=rlimit_as, args=("4", "k"),
                      env={"HEAPTRACE_SAMPLE_SEED": "1"})
    assert rc == 0 and n is not None
    assert err.count("heaptrace: an allocation failed for lack of memory (ENOMEM): "
                     "report (--oom-report)\n") == 1
    assert len(parse_reports(err)) == 3  # 90%, ENOMEM, exit


CGROOT = "/sys/fs/cgroup/memory"


@pytest.fixture
def cgroup():
    """A memory cgroup (v1) with a limit of 256 MiB, removed afterwards;
    skipped where this machine cannot make one (not root, no v1 memory
    controller): the RLIMIT_AS tests above stand for it then."""
    path = os.path.join(CGROOT, "heaptrace-test-%d" % os.getpid())
    try:
        os.mkdir(path)
    except OSError as e:
        pytest.skip("cannot create a memory cgroup here: %s" % e)
    try:
        with open(os.path.join(path, "memory.limit_in_bytes"), "w") as f:
            f.write(str(256 << 20))
        memsw = os.path.join(path, "memory.memsw.limit_in_bytes")
        if os.path.exists(memsw):
            with open(memsw, "w") as f:
                f.write(str(256 << 20))
        yield path
    finally:
        for _ in range(50):
            try:
                os.rmdir(path)
                break
            except OSError:
                time.sleep(0.1)


def test_cgroup_limit_passed_then_killed(tmp_path, cgroup):
    def join():
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    rc, n, err = grow(tmp_path, preexec=join)
    assert rc == -signal.SIGKILL and n is None  # the OOM killer: no last report
    passed = re.findall(r"^heaptrace: resident memory (\d+) bytes passed 90%% of the limit of "
                        r"%s/memory.limit_in_bytes \(%d bytes\): report \(--oom-report\)$"
                        % (re.escape(cgroup), 256 << 20), err, re.M)
    assert len(passed) == 1 and (256 << 20) * 0.9 <= int(passed[0]) < 256 << 20
    reports = parse_reports(err)
    assert len(reports) == 1
    assert find_bt(reports[0], "grow").count >= 1
