/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * diff.h - heaptrace --diff OLD.json NEW.json: the backtraces whose live
 * bytes grew from one JSON report to another, most first, in the text
 * report's format.  Launcher side; returns the exit status.
 */
#ifndef HEAPTRACE_DIFF_H
#define HEAPTRACE_DIFF_H

int diff_main(const char *old_path, const char *new_path);

#endif
