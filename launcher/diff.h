/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * diff.h - heaptrace --diff OLD.json NEW.json: the backtraces whose live
 * bytes (or blocks) grew from one JSON report to another, most first, in
 * the text report's format.  Launcher side.
 */
#ifndef HEAPTRACE_DIFF_H
#define HEAPTRACE_DIFF_H

#include <stdbool.h>

#include "options.h"

/* The launcher's options that apply to --diff, from its command line only. */
struct diff_opts {
	unsigned long top;               /* backtraces per section; 0: all */
	enum ht_sort keys[HT_MAX_SORTS]; /* a section each: diff_check_sort()'s keys */
	int nkeys;
	bool check;                      /* exit HT_CHECK_STATUS if a backtrace grew */
};

/* NULL if --diff can sort by every key of keys, else what is wrong. */
const char *diff_check_sort(const enum ht_sort *keys, int n);

/* The exit status: 0, HT_CHECK_STATUS (o->check), 2 on bad input. */
int diff_main(const char *old_path, const char *new_path, const struct diff_opts *o);

#endif
