/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config.h - the library's view of the HEAPTRACE_* variables, read once at
 * start-up by config_load() and read-only afterwards.  Each field is the
 * field column of its row in options.h' HT_OPTIONS.
 */
#ifndef HEAPTRACE_CONFIG_H
#define HEAPTRACE_CONFIG_H

#include <stdbool.h>
#include <sys/types.h>

#include "compat.h"
#include "options.h"

struct ht_config {
	unsigned long top; /* 0: every backtrace */
	struct ht_sort_list sort; /* --sort: a section per key */
	enum ht_format format; /* --format, or folded by --flame-graph */
	const char *outfile; /* NULL: stderr (report) or stdout (folded stacks) */
	const char *ignore;  /* NULL: no ignore file */
	unsigned long max_memory; /* bytes for the tracer's tables; 0: no limit */
	unsigned long sample; /* --sample: mean bytes between recorded allocations; 0: all */
	enum ht_unwinder unwind; /* --unwind */
	const char *debug_dir; /* root of separate debug files (.build-id/, ...) */
	struct ht_signal_list signals; /* which signal dumps by which key */
	unsigned long long interval_ms; /* periodic dumps; 0: none */
	unsigned long oom_report; /* --oom-report: percent of the limit; 0: off */
	enum ht_check check; /* --check: exit 23 when a leak (or anything) is left */
	bool leak_check;     /* --leak-check: classify at exit */
	int depth;           /* --depth: frames kept per backtrace (see config_depth) */
	bool trace_children; /* --trace-children: every process of the tree */
	bool short_names;    /* --short-names: text and folded only (cxxname.h) */
	pid_t root_pid;      /* the process that writes outfile itself */
};

extern struct ht_config ht_cfg;

/*
 * untraced: this process records nothing, a descendant of the traced
 * process (forked by it, or a program such a child executes) without
 * --trace-children.  Its hooks only forward to the real functions; it
 * writes no report.  Set while the process has a single thread of ours
 * (its first backtrace, the constructor, or the child's fork handler);
 * read by every hook, so it has a cache line of its own, which nothing
 * written often shares.
 */
struct ht_process {
	bool untraced;
	/* tracing a process that was running before (--pid, lib/attach.c):
	 * releases of blocks the map does not hold are counted, as blocks
	 * allocated before the attach */
	bool attached;
} __attribute__((aligned(CACHELINE)));
extern struct ht_process ht_process;

/* Is this process traced?  The root (HEAPTRACE_ROOT_PID, which stays across
 * exec), or any process with --trace-children. */
bool config_traced(void);

/* Parse the environment; warn once per bad value and keep its default. */
void config_load(void);

/*
 * --pid: the variables come from the launcher's text, "NAME=VALUE" lines,
 * instead of the environment of a process that was not started with them;
 * the text is read during the call that sets it (lib/attach.c).
 */
void config_from_text(const char *text);

/*
 * --sample, read as early as the depth (process_setup()): every block of
 * the program is recorded the one way or the other, from the first.
 */
unsigned long config_sample(void);

/*
 * ht_cfg.depth, read from the environment first if config_load() has not
 * run yet: the backtrace table is shaped by it when the first allocation
 * is recorded, which may come before this library's constructor (another
 * library's constructor allocates).  Either way it is read once.
 */
int config_depth(void);

#endif
