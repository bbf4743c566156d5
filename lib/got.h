/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * got.h - redirect GOT entries of already loaded objects to this library's
 * interposers, for --pid (attach.c).  Runs in normal context: the attach
 * call and the reporter thread's tick, under got.c's own mutex.
 *
 * A library that is dlopen'ed (or injected) into a running process does not
 * take part in symbol interposition: every object's GOT already points at
 * the definitions chosen at start-up.  To see those calls we rewrite the GOT
 * slots (JUMP_SLOT, GLOB_DAT and R_X86_64_64 relocations) of every loaded
 * object.  x86-64 / glibc only.
 */
#ifndef HEAPTRACE_GOT_H
#define HEAPTRACE_GOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct got_hook {
	const char *name;   /* dynamic symbol name, e.g. "malloc", "_Znwm" */
	void *repl;         /* replacement written into the GOT slots */
	void **orig;        /* out: the definition the process resolved */
};

/*
 * Called for every candidate object (inside dl_iterate_phdr, i.e. with the
 * loader's list lock held: it must not call dlopen/dladdr/dlsym).  path is
 * the object's file name ("" is replaced by /proc/self/exe for the main
 * program), base its load bias.  Return true to leave the object alone.
 */
typedef bool (*got_skip_fn)(const char *path, uintptr_t base);

/*
 * Patch all loaded objects.  Remembers hooks (the array must stay valid for
 * good) and skip (may be NULL) for later got_redirect_new calls.  Returns the
 * number of GOT slots rewritten, or -1 with a reason in err.
 */
int got_redirect_all(const struct got_hook *hooks, int n, got_skip_fn skip,
		     char *err, size_t errlen);

/*
 * Re-synchronise with the loader's list: patch objects not seen before (or
 * reloaded at the same address after dlclose), forget unloaded ones, and
 * rewrite slots a racing lazy binding put back.  attach.c calls it on its
 * tick and after the tracer's own dlopen.  Returns the number of slots
 * rewritten, or -1.
 */
int got_redirect_new(char *err, size_t errlen);

#endif
