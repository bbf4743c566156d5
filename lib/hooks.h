/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hooks.h - what the interposers (libheaptrace.c) give the code that
 * starts and ends the process's tracing (process.c, attach.c): their real
 * functions, and their names.
 * Nothing here runs inside a hook.
 */
#ifndef HEAPTRACE_HOOKS_H
#define HEAPTRACE_HOOKS_H

#include <stdbool.h>

#include "reporter.h"

/* __gnu_cxx::__freeres(): libstdc++ releases what it keeps for the process */
#define CXX_FRERES "_ZN9__gnu_cxx9__freeresEv"

/* Resolve every real function now (start-up, before any thread of ours). */
void hooks_resolve_all(void);

/* libheaptrace-pid.so: where ld.so's code is, whose calls the hooks
 * forward first (libheaptrace.c); nothing in libheaptrace.so. */
void hooks_find_loader(void);

/* The real sigaction(), NULL if there is none. */
sigaction_fn hooks_real_sigaction(void);

/* libstdc++'s __freeres() if its operators were found in a private copy. */
void (*hooks_cxx_freeres(void))(void);

/* The interposed functions' names, 0 <= i < hooks_count(): what --pid
 * redirects to this library's definitions (attach.c). */
int hooks_count(void);
const char *hooks_name(int i);

/* Do the program's malloc() calls come here: is this library in the
 * global scope (preloaded)?  Not in a process that it was loaded into late,
 * by --pid: then the GOTs must be redirected.  And is another heaptrace
 * there (libheaptrace.so preloaded, when this is libheaptrace-pid.so)? */
bool hooks_interposed(void);
bool hooks_other_heaptrace(void);

#endif
