# SPDX-License-Identifier: GPL-2.0-or-later
"""Programs that allocate on small stacks: a signal handler on an 8 KB
sigaltstack, makecontext() coroutines of 4 KB.  heaptrace's own use of
their stack is bounded (s-stackuse measures it against the limits in
guard.h), a backtrace that needs more is cut and says why, and every
block is still counted, under every unwinder."""


import pytest

from htlib import BIN, HEAPTRACE, limit, one_report, run, stack_use

UNWINDERS = ["dwarf", "libunwind", "fp"]


def traced(unwind, prog, *args):
    return run([HEAPTRACE, "--unwind=" + unwind, "--top=0", BIN / prog, *map(str, args)],
               timeout=60)


def own_frames(rep):
    """Frames past the hook that are heaptrace's own (none may be shown)."""
    return [f for b in rep.backtraces for f in b.frames[1:] if "libheaptrace" in f.obj]


@pytest.mark.parametrize("unwind", UNWINDERS)
@pytest.mark.parametrize("size", [8192, 10240])
def test_handler_on_small_signal_stack(unwind, size):
    """s-altstack: a handler that allocates on a guarded 8 KB or 10 KB
    sigaltstack (SIGSEGV in 5 runs of 5 before); its backtraces go on past
    the signal frame into the interrupted code, without heaptrace's frames."""
    for _ in range(5):
        r = traced(unwind, "s-altstack", size)
        assert (r.returncode, r.stdout) == (0, "done\n"), r.stderr[-2000:]
        rep = one_report(r.stderr)
        mains = [b for b in rep.backtraces if b.frames[1].func == "leak_main"]
        assert [(b.count, b.size) for b in mains] == [(10, "1 KB")]
        handler = [b for b in rep.backtraces if b.frames[1].func == "on_alarm"]
        assert [(b.count, b.size) for b in handler] == [(1, "200 bytes")]
        assert len(rep.backtraces) == 2
        assert own_frames(rep) == []
        if unwind != "fp":  # the frame-pointer chain skips the interrupted frame
            assert len(handler[0].frames) > 3, handler[0].frames


@pytest.mark.parametrize("unwind", UNWINDERS)
@pytest.mark.parametrize("size", [4096, 7680])
def test_coroutine_on_small_stack(unwind, size):
    """s-coroutine: 1,000 allocations on a 4 KB or 7.5 KB makecontext()
    stack (SIGSEGV before): walked by learned rules, and where libunwind
    would be needed (the frame of __start_context) cut for want of stack."""
    r = traced(unwind, "s-coroutine", size)
    assert (r.returncode, r.stdout) == (0, "done\n"), r.stderr[-2000:]
    rep = one_report(r.stderr)
    co = [b for b in rep.backtraces if b.frames[1].func == "co_alloc"]
    assert [(b.count, b.size) for b in co] == [(1, "32 bytes")]
    assert co[0].funcs[1:4] == ["co_alloc", "descend", "coroutine"]
    assert (co[0].truncated, co[0].cut) == (True, "stack")
    assert rep.summary["allocations since start"] == "1011 calls, 33.032 KB"


@pytest.mark.parametrize("unwind", UNWINDERS)
def test_coroutine_with_little_stack_left(unwind):
    """s-coroutine 4096 40: the coroutine calls down 40 frames before it
    allocates, so less than HT_STACK_WALK is left: the hook records its
    caller only, marked, and counts every block."""
    r = traced(unwind, "s-coroutine", 4096, 40)
    assert (r.returncode, r.stdout) == (0, "done\n"), r.stderr[-2000:]
    rep = one_report(r.stderr)
    co = [b for b in rep.backtraces if b.frames[1].func == "co_alloc"]
    assert [(b.count, b.size, len(b.frames), b.cut) for b in co] == [(1, "32 bytes", 2, "stack")]


@pytest.mark.parametrize("unwind", UNWINDERS)
def test_stack_budget(unwind):
    """s-stackuse: what each hook uses below its caller stays under the
    budgets the hooks check (guard.h), and the hot path adds under 1 KB
    to what glibc's malloc uses."""
    plain = stack_use([BIN / "s-stackuse"])
    ours = stack_use([HEAPTRACE, "--unwind=" + unwind, "--top=0", BIN / "s-stackuse"])
    walk = "libunwind" if unwind == "libunwind" else "walk"
    budget = limit("HT_STACK_LIBUNWIND" if walk == "libunwind" else "HT_STACK_WALK")
    for call in ["malloc", "calloc", "realloc", "free"]:
        assert ours[call + "-new"] < budget, (call, ours)
        assert ours[call + "-known"] < budget, (call, ours)
    if walk == "walk":
        assert ours["malloc-known"] - plain["malloc-known"] < 1024, (plain, ours)
    # libunwind, on the coroutine's stack, with the lazy binding of its first calls
    assert ours["coroutine-new"] < limit("HT_STACK_LIBUNWIND"), ours
