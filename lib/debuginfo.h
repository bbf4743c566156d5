/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * debuginfo.h - what an object file says about its code, through libbfd:
 * function symbols, and source lines with the calls inlined there.  Report
 * path only (symbols.c is the one caller); allocations are the tracer's.
 */
#ifndef HEAPTRACE_DEBUGINFO_H
#define HEAPTRACE_DEBUGINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most calls inlined into one another at one address that are kept. */
#define DBG_MAX_INLINE 16

struct dbg_obj;

/* One source position: innermost (inlined) first, the function last. */
struct dbg_line {
	const char *func; /* raw (maybe mangled) name, NULL if unknown */
	const char *file; /* NULL if unknown */
	unsigned line;    /* 0 if unknown */
};

/*
 * Load libbfd unless it is loaded (report path; symbols.c says until
 * when).  False without it: not installed or unusable, or, for now, no
 * memory or a sandbox; a later call tries again.
 */
bool dbg_load(void);
bool dbg_available(void);

/*
 * Open path (whose loaded copy has the given build-id, if build_id_len),
 * with the separate debug file found under debug_dir through its build-id
 * or .gnu_debuglink.  NULL if the file cannot be read or is not the loaded
 * one.
 */
struct dbg_obj *dbg_open(const char *path, const unsigned char *build_id, size_t build_id_len,
			 const char *debug_dir);
void dbg_close(struct dbg_obj *o);

/* The function symbol containing vma (an address in the file): its raw
 * name and start; false if none. */
bool dbg_symbol(struct dbg_obj *o, uint64_t vma, const char **name, uint64_t *start);

/* The source positions of vma, innermost first; returns how many (0: no
 * line information).  The strings live until the next call. */
int dbg_lines(struct dbg_obj *o, uint64_t vma, struct dbg_line *out, int max);

/* Close the file descriptors libbfd keeps (it reopens them when needed). */
void dbg_release_files(void);

/* Demangle a C++ name: a malloc'ed string, or NULL if name is not one or
 * is longer than libiberty demangles (1,024 characters). */
char *dbg_demangle(const char *name);

#endif
