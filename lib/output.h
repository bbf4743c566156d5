/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * output.h - where a report goes and how it gets there: a buffered writer
 * over a file descriptor opened for one report and closed after it, in the
 * reporter thread's own descriptor table, so the program never sees one of
 * the tracer's descriptors.
 */
#ifndef HEAPTRACE_OUTPUT_H
#define HEAPTRACE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "utils.h"

struct out {
	int fd;      /* -1: nowhere */
	int dest;    /* output.c's enum dest */
	bool own;    /* opened by us: close it */
	int err;     /* why the destination failed (an errno, or output.c's own); 0: it did not */
	off_t start; /* a regular file's size before this report; else -1 */
	unsigned dump; /* this process's report number, from 1 */
	size_t len;
	size_t nnotes;
	char notes[1024]; /* why earlier destinations failed: lines written first */
	char buf[32768];
};

/*
 * Start-up, before the reporter thread: what stdout and stderr are (a
 * report goes to them while they still are) and the start directory.
 */
void out_init(void);

/*
 * On the reporter thread, as it starts: a descriptor table of its own
 * (close_range(CLOSE_RANGE_UNSHARE)), with copies of stderr, and of stdout
 * for --flame-graph.  The program never sees them; they stay open until
 * the process ends.  Where the kernel refuses, nothing changes.
 */
void out_private_fds(void);

/*
 * Open the destination of one report: --outfile (FILE for the traced
 * process, FILE.PID for the others of its tree; emptied by a process's
 * first report, appended to by later ones; a flame graph has a file per
 * dump instead, FILE then FILE.dump2, FILE.dump3...), else std_fd (stderr, or stdout
 * for a flame graph).  Never waits.  A destination that cannot be opened,
 * is no place for a report (a FIFO with no reader, a socket, a block
 * device) or is a standard stream no longer the one tracing began with
 * costs one line, and the report goes to the next: stderr, then the last
 * resort, heaptrace.PID.txt in the start directory or else in /tmp.
 */
void out_open(struct out *o, int std_fd);
void out_write(struct out *o, const char *s, size_t n);
void out_puts(struct out *o, const char *s);
void out_sbuf(struct out *o, struct sbuf *sb); /* write and empty sb */

/*
 * End the report: true when it is written (or when no destination is
 * left).  False when the destination failed to take all of it: what a
 * file took is cut back off, o now writes to the next destination after
 * one line, and the caller writes the same report again and calls
 * out_close() again.  So a report is never split between two files:
 *
 *	out_open(o, fd);
 *	do
 *		write the report to o;
 *	while (!out_close(o));
 */
bool out_close(struct out *o);

/* After fork, in a traced child: its first report starts its own file,
 * and its stdout and stderr are those it was forked with. */
void out_fork_child(void);

#endif
