/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * symbols.h - turning an address of a backtrace into names for the report:
 * object and offset, function, source file and line, and the calls inlined
 * at that address.  Runs only in the report path (reporter thread or exit),
 * never in a hook.
 */
#ifndef HEAPTRACE_SYMBOLS_H
#define HEAPTRACE_SYMBOLS_H

#include <stdbool.h>
#include <stdint.h>

#include "debuginfo.h"

#define SYM_NAME_MAX 512
#define SYM_PATH_MAX 4096

/* One frame of source: a function, or a call inlined into the next one. */
struct sym_frame {
	const char *func;   /* demangled; "" when unknown */
	uintptr_t func_off; /* address - start of func, when has_off */
	bool has_off;       /* func is a symbol that starts at a known address */
	bool inlined;       /* inlined into f[i + 1]: no code of its own */
	const char *file;   /* source file; "" when unknown */
	unsigned line;      /* 0 when unknown */
};

struct sym {
	const char *obj;    /* object path; "" when unknown */
	uintptr_t obj_off;  /* address - load bias: what addr2line -e obj takes */
	int n;              /* frames at this address, at least 1 */
	struct sym_frame f[DBG_MAX_INLINE]; /* innermost first: f[n - 1] holds the code */
};

/* Find the runtime's code (library start-up). */
void sym_init(void);

/*
 * From heaptrace's destructor, in the loader's destructor pass before the
 * exit report: load libbfd now if no report has, for no dlopen may follow
 * (it would run constructors a second time).
 */
void sym_fini(void);

/*
 * Is addr inside code whose allocations the C runtime keeps for the life of
 * the process, like the loader's thread control blocks (_dl_allocate_tls),
 * which glibc caches with the stacks of finished threads?
 */
bool sym_in_runtime(const void *addr);

/* Around each report: sym_begin() loads libbfd if it may and must, and
 * drops what the program's unloading of objects made stale; sym_end()
 * closes the files read. */
void sym_begin(void);
void sym_end(void);

/*
 * Names for addr.  ret: addr is a return address (every frame but the
 * first), whose call is looked up one byte back, with its source lines;
 * the first frame, heaptrace's own hook, gets its name only.  The result
 * stays valid until sym_begin().
 */
const struct sym *sym_resolve(void *addr, bool ret);

#endif
