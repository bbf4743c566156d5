# SPDX-License-Identifier: GPL-2.0-or-later
"""How libheaptrace.so sits in the process: what it exports and whose
_Unwind_* symbols the program's C++ runtime binds to."""

import re
import subprocess

from htlib import BIN, HEAPTRACE, LIB, run

INTERPOSED = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign",
    "aligned_alloc", "valloc", "pvalloc", "malloc_usable_size", "sigaction", "signal",
    "sysv_signal", "__sysv_signal", "bsd_signal", "sigset", "dlclose",
    "swapcontext", "setcontext",
    "_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
    "_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
    "_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
    "_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm", "_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t",
    "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t", "_ZdlPvmSt11align_val_t",
    "_ZdaPvmSt11align_val_t", "_ZdlPvSt11align_val_tRKSt9nothrow_t",
    "_ZdaPvSt11align_val_tRKSt9nothrow_t",
}


# what the launcher's --pid calls in the process (lib/attach.c)
ATTACH = {"heaptrace_attach", "heaptrace_detach"}


PID_LIBS = [LIB.with_name("libheaptrace-pid.so"), LIB.with_name("libheaptrace-pid-dyn.so")]


def test_exports_only_the_interposers():
    for lib in [LIB] + PID_LIBS:
        out = subprocess.run(["nm", "-D", "--defined-only", str(lib)], capture_output=True,
                             text=True, check=True).stdout
        exported = {line.split()[-1] for line in out.splitlines() if line.strip()}
        assert exported == INTERPOSED | ATTACH, lib


def test_unwind_symbols_stay_libgcc(tmp_path):
    """A C program that dlopens a C++ library: its exceptions must bind to
    libgcc_s's _Unwind_*, never to libunwind's copies, which libheaptrace.so
    brings into the process."""
    r = run([HEAPTRACE, BIN / "link-main", BIN / "liblink-thrower.so"],
            env={"LD_DEBUG": "bindings", "LD_DEBUG_OUTPUT": str(tmp_path / "ld")})
    assert r.returncode == 0 and r.stdout == "7\n"
    log = "".join(p.read_text() for p in tmp_path.glob("ld.*"))
    bindings = [l for l in log.splitlines() if "`_Unwind_RaiseException'" in l]
    assert bindings, "no binding of _Unwind_RaiseException logged"
    for line in bindings:
        assert "libgcc_s.so" in line.split(" to ")[1], line


def tls_segment(lib):
    """(memory size, DF_STATIC_TLS) of lib's PT_TLS segment."""
    out = subprocess.run(["readelf", "-lWd", str(lib)], capture_output=True, text=True,
                         check=True).stdout
    seg = next(l.split() for l in out.splitlines() if l.split()[:1] == ["TLS"])
    return int(seg[5], 16), "STATIC_TLS" in out


def test_pid_library_fits_the_static_tls_kept_for_late_libraries():
    """--pid dlopens libheaptrace-pid.so, initial-exec: its thread-locals
    must fit in what glibc keeps for libraries loaded late
    (glibc.rtld.optional_static_tls, 512 bytes by default; compat.h).  The
    fallback, libheaptrace-pid-dyn.so, needs no static TLS at all."""
    size, static = tls_segment(PID_LIBS[0])
    assert static and size <= 512, size
    size, static = tls_segment(PID_LIBS[1])
    assert not static and size <= 512, size


# each hook's entry and the name of its recording path (libheaptrace.c)
ENTRIES = {"malloc": "malloc_rec", "free": "free_rec", "calloc": "calloc_rec",
           "realloc": "realloc_rec", "memalign": "memalign_rec",
           "aligned_alloc": "aligned_alloc_rec", "valloc": "valloc_rec",
           "pvalloc": "pvalloc_rec", "posix_memalign": "posix_memalign_rec",
           "_Znwm": "op_new_rec", "_ZdlPv": "op_del_rec", "_ZdaPvm": "op_del_arr_sz_rec"}


def test_entries_jump_to_their_recording_paths():
    """A hook's entry hands what it records to its recording path by a
    tail call, a jump: a call would leave the entry's return address as
    frame 1 of every backtrace.  (The Makefile asks for sibling calls; a
    build without optimization inlines the recording paths instead.)"""
    for lib in [LIB] + PID_LIBS:
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(lib)],
                             capture_output=True, text=True, check=True).stdout
        for entry, rec in ENTRIES.items():
            body = out.split("<%s>:\n" % entry, 1)[1].split("\n\n", 1)[0]
            assert re.search(r"\sjmp\s+[0-9a-f]+ <%s>" % rec, body), (lib, entry)
            assert not re.search(r"\scall\s+[0-9a-f]+ <%s>" % rec, body), (lib, entry)
