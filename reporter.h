/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reporter.h - reports on demand: SIGUSR1 (by size) and SIGUSR2 (by count)
 * wake a reporter thread, which writes the report in normal context.
 */
#ifndef HEAPTRACE_REPORTER_H
#define HEAPTRACE_REPORTER_H

/* Install the signal handlers and start the thread (library start-up). */
void reporter_start(void);
/* In a forked child: the thread did not survive fork(); start a new one. */
void reporter_fork_child(void);

#endif
