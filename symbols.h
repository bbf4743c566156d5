/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * symbols.h - turning a return address into names for the report.
 * Runs only in the report path (reporter thread or exit), never in a hook.
 */
#ifndef HEAPTRACE_SYMBOLS_H
#define HEAPTRACE_SYMBOLS_H

#include <stdbool.h>
#include <stdint.h>

#define SYM_NAME_MAX 512
#define SYM_PATH_MAX 4096

struct sym {
	char func[SYM_NAME_MAX]; /* demangled; "" when unknown */
	uintptr_t func_off;      /* addr - start of func */
	char obj[SYM_PATH_MAX];  /* object path; "" when unknown */
	uintptr_t obj_off;       /* addr - load bias: what addr2line -e obj takes */
};

/* Load libbfd (library start-up: never later, see symbols.c). */
void sym_init(void);

/*
 * Is addr inside code whose allocations the C runtime keeps for the life of
 * the process, like the loader's thread control blocks (_dl_allocate_tls),
 * which glibc caches with the stacks of finished threads?
 */
bool sym_in_runtime(const void *addr);
void sym_resolve(void *addr, struct sym *out);

#endif
