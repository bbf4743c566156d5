/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report.h - the report: a snapshot of the backtrace table, filtered by the
 * ignore patterns, sorted, symbolized and written in the format of
 * --format (text, JSON or folded stacks: writer.h).  Normal context only
 * (exit, or the reporter thread), never a hook.
 */
#ifndef HEAPTRACE_REPORT_H
#define HEAPTRACE_REPORT_H

#include <stdbool.h>

#include "options.h"

enum report_when {
	REPORT_AT_EXIT, /* silent when nothing is live */
	REPORT_ON_SIGNAL,
	REPORT_PERIODIC, /* --interval */
	REPORT_MEMORY,   /* --oom-report (oom.c) */
};

/*
 * One report with a section per key (folded stacks: the first key only;
 * the caller is busy: see guard.h).  True if blocks the report lists (or
 * could not track) are live: a leak, for --check at exit, even when the
 * exit report is silent.
 */
bool report_write(enum report_when when, const enum ht_sort *keys, int nkeys);
/* "exit", "signal", "interval": what a report says of its cause. */
const char *report_when_name(enum report_when when);

/* Reports are serialized; fork() waits for one in progress. */
void report_fork_prepare(void);
void report_fork_parent(void);
void report_fork_child(void);

#endif
