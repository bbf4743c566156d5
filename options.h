/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * options.h - the HEAPTRACE_* environment variables: their names, defaults
 * and value grammar.  This is the only contract between the launcher and the
 * library; both include it, and nothing else is shared but utils.c's parsers.
 */
#ifndef HEAPTRACE_OPTIONS_H
#define HEAPTRACE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * X(ID, variable, default): one line per option.  The launcher turns each
 * command-line option into its variable; the library reads them all once at
 * start-up (libheaptrace.c) and warns about any value it cannot parse.
 */
#define HT_OPTIONS(X)                                                   \
	X(TOP, "HEAPTRACE_TOP", "10")                                   \
	X(SORT, "HEAPTRACE_SORT", "size")                               \
	X(FLAME_GRAPH, "HEAPTRACE_FLAME_GRAPH", "0")                    \
	X(OUTFILE, "HEAPTRACE_OUTFILE", "")                             \
	X(IGNORE, "HEAPTRACE_IGNORE", "")                               \
	X(MAX_MEMORY, "HEAPTRACE_MAX_MEMORY", "0")                      \
	X(UNWIND, "HEAPTRACE_UNWIND", "dwarf")                          \
	X(DEBUG_DIR, "HEAPTRACE_DEBUG_DIR", "/usr/lib/debug")          \
	X(SIGNALS, "HEAPTRACE_SIGNALS", "size:USR1,count:USR2")         \
	X(INTERVAL, "HEAPTRACE_INTERVAL", "0")                          \
	X(FORMAT, "HEAPTRACE_FORMAT", "text")                           \
	X(CHECK, "HEAPTRACE_CHECK", "0")

#define HT_OPTION_ID(id, var, def) HT_OPT_##id,
enum ht_option { HT_OPTIONS(HT_OPTION_ID) HT_OPT_COUNT };
#undef HT_OPTION_ID

/*
 * Set by the launcher (or by the first traced process when the library is
 * preloaded by hand) to the pid of the process it traces: that process
 * writes --outfile FILE, every other process of its tree writes FILE.PID.
 */
#define HT_ENV_ROOT_PID "HEAPTRACE_ROOT_PID"

/* --check: the exit status of a program that succeeded but leaked. */
#define HT_CHECK_STATUS 23

/* Sort keys: each one selected prints its own section of the report. */
#define HT_SORT_KEYS(X)                                                 \
	X(SIZE, "size", "live bytes, largest first")                    \
	X(COUNT, "count", "live blocks, most first")                    \
	X(PEAK, "peak", "peak live bytes, largest first")               \
	X(AGE, "age", "time since first seen, oldest first")            \
	X(GROWTH, "growth", "growth of live bytes since the previous dump") \
	X(PEAK_SHARE, "peak-share", "live bytes when the whole heap peaked")

#define HT_SORT_ID(id, name, help) HT_SORT_##id,
enum ht_sort { HT_SORT_KEYS(HT_SORT_ID) HT_SORT_NKEYS };
#undef HT_SORT_ID

/* Most sections one report can hold: every key once. */
#define HT_MAX_SORTS HT_SORT_NKEYS

/* Frames kept per backtrace: make DEPTH=N. */
#ifndef HT_DEPTH
#define HT_DEPTH 8
#endif

/* Largest --top accepted; 0 means "every backtrace". */
#define HT_TOP_MAX 1000000000UL

/* Parsers shared by both sides (utils.c); each returns 0 or an error text. */
const char *ht_parse_ulong(const char *s, unsigned long max, unsigned long *out);
const char *ht_parse_bool(const char *s, bool *out);
const char *ht_parse_sort(const char *s, enum ht_sort keys[HT_MAX_SORTS], int *n);
const char *ht_sort_name(enum ht_sort key);
/* --unwind: how backtraces are taken (cfi.h). */
enum ht_unwinder {
	HT_UNWIND_DWARF,     /* heaptrace's walk of .eh_frame, libunwind where it cannot */
	HT_UNWIND_LIBUNWIND, /* libunwind's unw_backtrace() alone */
	HT_UNWIND_FP,        /* frame pointers, the default's way where the chain breaks */
	HT_UNWIND_CHECK,     /* both of the first two, differences counted */
};
const char *ht_parse_unwind(const char *s, enum ht_unwinder *out);

/* --signals: which signal dumps with which sort key ("none": no signal). */
#define HT_MAX_SIGNALS 8
struct ht_signal {
	int signo;
	enum ht_sort key;
};
const char *ht_parse_signals(const char *s, struct ht_signal out[HT_MAX_SIGNALS], int *n);

/* --interval: seconds with up to three decimals, into milliseconds; 0: off. */
#define HT_INTERVAL_MAX_MS (7ULL * 24 * 3600 * 1000)
const char *ht_parse_interval(const char *s, unsigned long long *ms);

/* --format: the report as text (false) or JSON (true). */
const char *ht_parse_format(const char *s, bool *json);

#endif
