/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ignore.h - the --ignore patterns: glob patterns, one a line, matched
 * against the function names and object paths of a backtrace's frames.
 */
#ifndef HEAPTRACE_IGNORE_H
#define HEAPTRACE_IGNORE_H

#include <stdbool.h>

/* Read the file named by HEAPTRACE_IGNORE (start-up; warns on bad input). */
void ignore_load(const char *path);
bool ignore_active(void);
/* Does one pattern match this function name or object path? */
bool ignore_match(const char *func, const char *obj);

#endif
