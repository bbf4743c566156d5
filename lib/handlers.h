/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * handlers.h - the program's signal handlers, run through a trampoline that
 * gives them the state of a thread outside heaptrace (handlers.c).
 */
#ifndef HEAPTRACE_HANDLERS_H
#define HEAPTRACE_HANDLERS_H

#include <signal.h>

#include "reporter.h"

/* The real sigaction(), for the calls below (library start-up). */
void handlers_init(sigaction_fn real_sigaction);

/*
 * sigaction() as the program calls it: a handler it sets is installed
 * behind the trampoline, and what it reads back is its own handler and
 * flags.
 */
int handlers_sigaction(int signo, const struct sigaction *act, struct sigaction *old);

/*
 * After real (signal(), sysv_signal(), bsd_signal() or sigset()) set
 * handler for signo: put the trampoline in front of it.  prev is what real
 * returned; the program's own previous handler is returned.
 */
sighandler_fn handlers_after_signal(int signo, sighandler_fn handler, sighandler_fn prev);

#endif
