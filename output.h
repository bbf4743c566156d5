/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * output.h - where a report goes and how it gets there: a buffered writer
 * over a file descriptor opened for one report and closed after it, so the
 * tracer keeps no descriptor open in the program between reports.
 */
#ifndef HEAPTRACE_OUTPUT_H
#define HEAPTRACE_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "utils.h"

struct out {
	int fd;
	bool own;    /* opened by us: close it */
	int err;     /* why our file failed (an errno, or output.c's own); 0: it did not */
	off_t start; /* a regular file's size before this report; else -1 */
	size_t len;
	char buf[32768];
};

/*
 * Open the destination of one report: --outfile (FILE for the traced
 * process, FILE.PID for the others of its tree; truncated by a process's
 * first report, appended to by later ones), else fallback_fd.  Never
 * waits: if the file cannot be opened, or is no place for a report (a FIFO
 * with no reader, a socket, a block device), one warning and the report
 * goes to stderr.
 */
void out_open(struct out *o, int fallback_fd);
void out_write(struct out *o, const char *s, size_t n);
void out_puts(struct out *o, const char *s);
void out_sbuf(struct out *o, struct sbuf *sb); /* write and empty sb */

/*
 * End the report: true when it is written.  False when the file failed to
 * take all of it: what it took is cut back off (a regular file), o now
 * writes to stderr after one warning, and the caller writes the same report
 * again and calls out_close() again.  So a report is never split between
 * the file and stderr:
 *
 *	out_open(o, fd);
 *	do
 *		write the report to o;
 *	while (!out_close(o));
 */
bool out_close(struct out *o);

/* After fork: the child's first report starts its own file. */
void out_fork_child(void);

#endif
