/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reporter.h - the reporter thread: the signals of --signals (by default
 * SIGUSR1 by size, SIGUSR2 by count) and every --interval wake it, and it
 * writes the report in normal context; the exit report is written there
 * too (reporter_run()).  Also what the program sees of those signals.
 */
#ifndef HEAPTRACE_REPORTER_H
#define HEAPTRACE_REPORTER_H

#include <signal.h>
#include <stdbool.h>

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
typedef void (*sighandler_fn)(int);

/* Start the thread, then take the --signals and the fatal signals (a
 * last report, last_report(), on the thread, then death by the signal)
 * that the program left at their default (library start-up). */
void reporter_start(sigaction_fn real_sigaction, bool (*last_report)(void));

/*
 * The program's sigaction() and signal(): while heaptrace's handler holds a
 * signal, the program sees the disposition it would have without us
 * (SIG_DFL); a disposition the program sets replaces ours for good, but
 * SIG_DFL set on a fatal signal keeps (or takes back) its last report.
 */
int reporter_sigaction(int signo, const struct sigaction *act, struct sigaction *old,
		       sigaction_fn real);
sighandler_fn reporter_signal(int signo, sighandler_fn handler,
			      sighandler_fn (*real)(int, sighandler_fn));
/* Wake the thread (async-signal-safe): oom.c has work for it. */
void reporter_wake(void);
/* Threads of heaptrace's own in this process (0 or 1). */
int reporter_threads(void);
/* Is the calling thread the reporter?  (Its stack holds nothing of the
 * program's: the leak scan leaves it out.) */
bool reporter_is_self(void);

/*
 * Run fn (a report) on the reporter thread and wait for its result, so that
 * no signal handler of the program interrupts it; without the thread, here
 * with every signal blocked.  fn runs in tracer mode.
 */
bool reporter_run(bool (*fn)(void));

/* In a forked child: the thread did not survive fork(); start a new one. */
void reporter_fork_child(void);
/* In a forked child that is not traced: each signal that dumps gets back
 * the disposition it had before ours (its default). */
void reporter_give_back_signals(void);

/*
 * --pid (attach.c): --detach gives the signals back and stops the periodic
 * reports, the thread staying; an attach after it takes them again.  The
 * thread calls fn every ms milliseconds from then on (objects the process
 * loads later are redirected).
 */
void reporter_pause(void);
void reporter_resume(void);
void reporter_tick(void (*fn)(void), unsigned ms);

#endif
