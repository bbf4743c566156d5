// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * usage.c - the launcher's diagnostics (usage.h), after git's usage.c: a
 * line formatted into a buffer and written with one write(2), so that it
 * reaches stderr whole, whatever stdio buffers.  Launcher only.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "usage.h"
#include "utils.h"

static void vreport(const char *fmt, va_list ap)
{
	char line[2 * PATH_MAX + 1024]; /* two paths and words: never cut */
	struct sbuf sb = SBUF_INIT(line);
	int n;

	sb_puts(&sb, "heaptrace: ");
	n = vsnprintf(sb.buf + sb.len, sb.cap - sb.len - 1, fmt, ap);
	if (n > 0)
		sb.len += (size_t)n < sb.cap - sb.len - 1 ? (size_t)n : sb.cap - sb.len - 2;
	sb.buf[sb.len++] = '\n';
	ht_write_all(STDERR_FILENO, sb.buf, sb.len);
}

void vdie(const char *fmt, va_list ap)
{
	vreport(fmt, ap);
	exit(EXIT_USAGE);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdie(fmt, ap);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	return -1;
}
