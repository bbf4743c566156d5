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

/* Frames kept per backtrace by default (--depth): make DEPTH=N. */
#ifndef HT_DEPTH
#define HT_DEPTH 8
#endif
/* The deepest --depth: a hook's frames beyond HT_DEPTH go to a per-thread
 * area of this many frames and one (libheaptrace.c). */
#define HT_DEPTH_MAX 256
#if HT_DEPTH < 1 || HT_DEPTH > HT_DEPTH_MAX
#error "DEPTH must be between 1 and 256"
#endif
#define HT_STR_(x) #x
#define HT_STR(x) HT_STR_(x)

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
	X(CHECK, "HEAPTRACE_CHECK", "0")                                \
	X(DEPTH, "HEAPTRACE_DEPTH", HT_STR(HT_DEPTH))                  \
	X(TRACE_CHILDREN, "HEAPTRACE_TRACE_CHILDREN", "0")

#define HT_OPTION_ID(id, var, def) HT_OPT_##id,
enum ht_option { HT_OPTIONS(HT_OPTION_ID) HT_OPT_COUNT };
#undef HT_OPTION_ID

/*
 * Set by the launcher (or by the first traced process when the library is
 * preloaded by hand) to the pid of the process it traces.  That process is
 * traced across exec() (its pid stays) and writes --outfile FILE; the other
 * processes of its tree are traced only with --trace-children, and then
 * write FILE.PID.
 */
#define HT_ENV_ROOT_PID "HEAPTRACE_ROOT_PID"

/* --check: the exit status of a program that succeeded but leaked. */
#define HT_CHECK_STATUS 23

/*
 * Sort keys, X(ID, name, lists, weight, header): each key selected prints
 * its own section.
 *  lists: which backtraces the section shows.  LIVE: those that hold memory
 *    now.  HISTORY: every backtrace the key ranks (its measure is not
 *    zero), whether it holds memory now or freed it all: a key that
 *    measures the past must not lose what is gone.
 *  weight: what a flame graph (--flame-graph) sorted first by this key
 *    counts per backtrace, or NULL where no sum over backtraces means
 *    anything (an age, a signed growth, each backtrace's own peak at its
 *    own time): those keys are refused with --flame-graph.
 *  header: what the section lists, at the end of its header line.
 */
#define HT_SORT_KEYS(X)                                                                  \
	X(SIZE, "size", LIVE, "live bytes", "live backtraces")                            \
	X(COUNT, "count", LIVE, "live blocks", "live backtraces")                         \
	X(PEAK, "peak", HISTORY, NULL, "every backtrace since start, live or not")        \
	X(AGE, "age", LIVE, NULL, "live backtraces")                                      \
	X(GROWTH, "growth", LIVE, NULL, "live backtraces")                                \
	X(PEAK_SHARE, "peak-share", HISTORY, "bytes at the heap's peak",                  \
	  "backtraces that held memory at the heap's peak, live now or not")             \
	X(CALLS, "calls", HISTORY, "allocation calls", "every backtrace since start, live or not") \
	X(TEMPORARY, "temporary", HISTORY, "temporary allocations",                       \
	  "backtraces with temporary allocations, live or not")

/* The keys, for messages. */
#define HT_SORT_NAMES "size, count, peak, age, growth, peak-share, calls or temporary"
/* The keys a flame graph can weigh by (weight not NULL), for messages. */
#define HT_FLAME_NAMES "size, count, peak-share, calls or temporary"

enum ht_sort_lists { HT_LISTS_LIVE, HT_LISTS_HISTORY };

#define HT_SORT_ID(id, name, lists, weight, header) HT_SORT_##id,
enum ht_sort { HT_SORT_KEYS(HT_SORT_ID) HT_SORT_NKEYS };
#undef HT_SORT_ID

/* Most sections one report can hold: every key once. */
#define HT_MAX_SORTS HT_SORT_NKEYS

/* Largest --top accepted; 0 means "every backtrace". */
#define HT_TOP_MAX 1000000000UL

/* Parsers shared by both sides (utils.c); each returns 0 or an error text. */
const char *ht_parse_ulong(const char *s, unsigned long max, unsigned long *out);
const char *ht_parse_bool(const char *s, bool *out);
const char *ht_parse_sort(const char *s, enum ht_sort keys[HT_MAX_SORTS], int *n);
const char *ht_sort_name(enum ht_sort key);
/* The columns of key's row (see HT_SORT_KEYS). */
enum ht_sort_lists ht_sort_lists(enum ht_sort key);
const char *ht_sort_weight(enum ht_sort key);
const char *ht_sort_header(enum ht_sort key);
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

/* --depth: frames kept per backtrace, 1 to HT_DEPTH_MAX. */
const char *ht_parse_depth(const char *s, int *depth);

/* --format: the report as text (false) or JSON (true). */
const char *ht_parse_format(const char *s, bool *json);

#endif
