/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * usage.h - the launcher's diagnostics, after git's usage.c: every
 * complaint is one line "heaptrace: ..." on stderr.  Launcher only.
 */
#ifndef HEAPTRACE_USAGE_H
#define HEAPTRACE_USAGE_H

#include <stdarg.h>

/* Exit statuses: bad input (die()), and the shell's for a program that
 * cannot run (126) or is not found (127). */
#define EXIT_USAGE 2
#define EXIT_NOEXEC 126
#define EXIT_NOTFOUND 127

/* The line, then exit with status EXIT_USAGE. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void vdie(const char *fmt, va_list ap) __attribute__((noreturn, format(printf, 1, 0)));
/* The line; returns -1, for callers that exit with a status of their own. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
