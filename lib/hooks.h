/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * hooks.h - what the interposers (libheaptrace.c) give the code that
 * starts and ends the process's tracing (process.c): their real functions.
 * Nothing here runs inside a hook.
 */
#ifndef HEAPTRACE_HOOKS_H
#define HEAPTRACE_HOOKS_H

#include "reporter.h"

/* __gnu_cxx::__freeres(): libstdc++ releases what it keeps for the process */
#define CXX_FRERES "_ZN9__gnu_cxx9__freeresEv"

/* Resolve every real function now (start-up, before any thread of ours). */
void hooks_resolve_all(void);

/* The real sigaction(), NULL if there is none. */
sigaction_fn hooks_real_sigaction(void);

/* libstdc++'s __freeres() if its operators were found in a private copy. */
void (*hooks_cxx_freeres(void))(void);

#endif
