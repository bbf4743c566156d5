/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * options.h - the contract between the launcher and the library: the
 * options and their HEAPTRACE_* variables (names, defaults, kinds of
 * value), the sort keys and the output formats.  Both include it; they
 * share no other header but utils.h and textfmt.h (utils.c parses the
 * values, one grammar for both sides).
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
 * The options, X(ID, name, short, variable, field, kind, default, metavar,
 * help): one row each, read by both sides.  The launcher turns --name (or
 * -short) into the variable, checked by the kind's parser; its --help is
 * these rows (help's "%s" is the kind's list of names).  The library reads
 * every variable once at start-up into ht_cfg's field (lib/config.c), with
 * the same parser, and warns about any value it cannot parse.  A row
 * without metavar is a flag: the launcher sets its variable to "1", or for
 * an ALIAS (a flag the library does not read) to the row's default.
 */
#define HT_OPTIONS(X)                                                                       \
	X(TOP, "top", 0, "HEAPTRACE_TOP", top, NUMBER, "10", "NUM",                         \
	  "show the NUM biggest backtraces per section (default 10, 0: all)")              \
	X(SORT, "sort", 's', "HEAPTRACE_SORT", sort, SORTS, "size", "KEY[,KEY...]",         \
	  "sort by %s; a section each (default size)")                                      \
	X(FLAME_GRAPH, "flame-graph", 0, "HEAPTRACE_FLAME_GRAPH", format, FOLDED, "0",     \
	  "[=svg]", "print folded stacks for flamegraph.pl (to stdout), weighed by the "    \
	  "first --sort key; =svg: an interactive SVG flame graph instead")                \
	X(OUTFILE, "outfile", 0, "HEAPTRACE_OUTFILE", outfile, OUTFILE, "", "FILE",         \
	  "write reports to FILE (FILE.PID for children traced too)")                       \
	X(IGNORE, "ignore", 0, "HEAPTRACE_IGNORE", ignore, INFILE, "", "FILE",              \
	  "hide backtraces matching a glob pattern of FILE (one per line)")                 \
	X(DEPTH, "depth", 0, "HEAPTRACE_DEPTH", depth, DEPTH, HT_STR(HT_DEPTH), "N",        \
	  "keep N frames per backtrace, 1 to " HT_STR(HT_DEPTH_MAX) " (default "            \
	  HT_STR(HT_DEPTH) ")")                                                             \
	X(MAX_MEMORY, "max-memory", 0, "HEAPTRACE_MAX_MEMORY", max_memory, BYTES, "0",      \
	  "BYTES", "stop recording new blocks when the tables reach BYTES (default 0: no limit)") \
	X(SAMPLE, "sample", 0, "HEAPTRACE_SAMPLE", sample, BYTES, "0", "BYTES",             \
	  "record one allocation per BYTES allocated, on average, and estimate the rest "   \
	  "(default 0: record every allocation)")                                           \
	X(UNWIND, "unwind", 0, "HEAPTRACE_UNWIND", unwind, UNWIND, "dwarf", "METHOD",       \
	  "take backtraces with dwarf (default), libunwind, fp (frame pointers) or check")  \
	X(DEBUG_DIR, "debug-dir", 0, "HEAPTRACE_DEBUG_DIR", debug_dir, DIR,                 \
	  "/usr/lib/debug", "DIR",                                                          \
	  "look for separate debug files under DIR (default /usr/lib/debug)")               \
	X(SIGNALS, "signals", 0, "HEAPTRACE_SIGNALS", signals, SIGNALS,                     \
	  "size:USR1,count:USR2", "KEY:SIG,...",                                            \
	  "which signal dumps by which key (default size:USR1,count:USR2; none)")           \
	X(INTERVAL, "interval", 0, "HEAPTRACE_INTERVAL", interval_ms, SECONDS, "0", "SECONDS", \
	  "also dump every SECONDS (sorted by --sort; default 0: never)")                   \
	X(FORMAT, "format", 0, "HEAPTRACE_FORMAT", format, FORMAT, "text", "FORMAT",        \
	  "write reports as %s (default text; json: one line per report)")                  \
	X(JSON, "json", 0, "HEAPTRACE_FORMAT", format, ALIAS, "json", NULL,                 \
	  "same as --format=json")                                                          \
	X(SHORT_NAMES, "short-names", 0, "HEAPTRACE_SHORT_NAMES", short_names, BOOL, "0",   \
	  NULL, "shorten C++ names in text reports and flame graphs (std::string, "         \
	  "std::map<...>)")                                                                 \
	X(OOM_REPORT, "oom-report", 0, "HEAPTRACE_OOM_REPORT", oom_report, PERCENT, "90",   \
	  "PCT", "report when memory first passes PCT% of its limit (cgroup or RLIMIT_AS), " \
	  "and at the first ENOMEM (default 90, 0: off)")                                   \
	X(CHECK, "check", 0, "HEAPTRACE_CHECK", check, CHECK, "0", "[=live]",               \
	  "exit with status 23 if memory leaked (a leak gate); =live: if any is still "    \
	  "allocated at exit")                                                              \
	X(LEAK_CHECK, "leak-check", 0, "HEAPTRACE_LEAK_CHECK", leak_check, BOOL, "1", "yes|no", \
	  "classify live blocks at exit as leaked or reachable, leaked first (default yes)") \
	X(TRACE_CHILDREN, "trace-children", 0, "HEAPTRACE_TRACE_CHILDREN", trace_children,  \
	  BOOL, "0", NULL, "trace forked and executed children too, each with its own report")

#define HT_OPTION_ID(id, name, sh, var, field, kind, def, metavar, help) HT_OPT_##id,
enum ht_option { HT_OPTIONS(HT_OPTION_ID) HT_OPT_COUNT };
#undef HT_OPTION_ID

/*
 * What an option's value is: one parser per kind (utils.c), which checks s
 * and stores it at out, a field of the kind's type (struct ht_value's
 * member of the kind's name).  The path kinds store s itself: each side
 * checks the file system its own way (the launcher before the run, the
 * library when it makes the path absolute).
 */
enum ht_kind {
	HT_KIND_NUMBER,  /* unsigned long, up to HT_TOP_MAX */
	HT_KIND_BYTES,   /* unsigned long; suffix k, M or G: KiB, MiB, GiB */
	HT_KIND_BOOL,    /* bool: 1, yes, true, on / 0, no, false, off */
	HT_KIND_SORTS,   /* struct ht_sort_list: KEY[,KEY...] */
	HT_KIND_SIGNALS, /* struct ht_signal_list: KEY:SIGNAL[,...] or none */
	HT_KIND_SECONDS, /* unsigned long long milliseconds */
	HT_KIND_DEPTH,   /* int, 1 to HT_DEPTH_MAX */
	HT_KIND_PERCENT, /* unsigned long, 0 to 100 */
	HT_KIND_UNWIND,  /* enum ht_unwinder */
	HT_KIND_FORMAT,  /* enum ht_format: a name of HT_FORMATS */
	HT_KIND_FOLDED,  /* enum ht_format: a bool, true selects HT_FORMAT_FOLDED; svg HT_FORMAT_SVG */
	HT_KIND_OUTFILE, /* const char *: a file to write */
	HT_KIND_INFILE,  /* const char *: a text file to read */
	HT_KIND_DIR,     /* const char *: a directory */
	HT_KIND_ALIAS,   /* nothing: a flag that sets another option's variable */
	HT_KIND_CHECK,   /* enum ht_check: a bool, or "live" */
};

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
/* --check: what fails it; --check=live is the gate before leak classification. */
enum ht_check {
	HT_CHECK_OFF,
	HT_CHECK_LEAKS, /* leaked or indirectly leaked blocks (as LSan) */
	HT_CHECK_LIVE,  /* any block still allocated */
};

/*
 * Sort keys, X(ID, name, lists, weight, header): each key selected prints
 * its own section.
 *  lists: which backtraces the section shows.  LIVE: those that hold memory
 *    now.  HISTORY: every backtrace the key ranks (its measure is not
 *    zero), whether it holds memory now or freed it all: a key that
 *    measures the past must not lose what is gone.
 *  weight: what a flame graph (--format=folded, --flame-graph) sorted
 *    first by this key counts per backtrace, or NULL where no sum over
 *    backtraces means anything (an age, a signed growth, each backtrace's
 *    own peak at its own time): those keys are refused for folded stacks.
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
	  "backtraces with temporary allocations, live or not")                          \
	X(LEAKED, "leaked", LIVE, "leaked bytes",                                         \
	  "backtraces of leaked blocks (reachable from no root), then of blocks only leaked ones reach")

enum ht_sort_lists { HT_LISTS_LIVE, HT_LISTS_HISTORY };

#define HT_SORT_ID(id, name, lists, weight, header) HT_SORT_##id,
enum ht_sort { HT_SORT_KEYS(HT_SORT_ID) HT_SORT_NKEYS };
#undef HT_SORT_ID

/* Most sections one report can hold: every key once. */
#define HT_MAX_SORTS HT_SORT_NKEYS

/* Largest --top accepted; 0 means "every backtrace". */
#define HT_TOP_MAX 1000000000UL

/* A list of sort keys (--sort), in their order. */
struct ht_sort_list {
	enum ht_sort keys[HT_MAX_SORTS];
	int n;
};

/* --unwind: how backtraces are taken (cfi.h). */
enum ht_unwinder {
	HT_UNWIND_DWARF,     /* heaptrace's walk of .eh_frame, libunwind where it cannot */
	HT_UNWIND_LIBUNWIND, /* libunwind's unw_backtrace() alone */
	HT_UNWIND_FP,        /* frame pointers, the default's way where the chain breaks */
	HT_UNWIND_CHECK,     /* both of the first two, differences counted */
};

/* --signals: which signal dumps with which sort key ("none": no signal). */
#define HT_MAX_SIGNALS 8
struct ht_signal {
	int signo;
	enum ht_sort key;
};
struct ht_signal_list {
	struct ht_signal sigs[HT_MAX_SIGNALS];
	int n;
};

/* --interval: seconds with up to three decimals, into milliseconds; 0: off. */
#define HT_INTERVAL_MAX_MS (7ULL * 24 * 3600 * 1000)

/*
 * --format: how a report is written, X(ID, name, writer, alone, binary,
 * flame): the launcher knows the names, the library writes with the writer
 * (lib/writer.h, a file of its own under lib/ each).  alone: a report is
 * whole only in a file of its own (each dump after the first gets its own
 * FILE.dumpN) and is data, not a diagnostic (stdout without --outfile).
 * binary: never to a terminal or a stream: --outfile is required.  flame:
 * a flame graph, one stack per backtrace weighed by the first sort key
 * (options' weight column: keys without one are refused).
 * --flame-graph and HEAPTRACE_FLAME_GRAPH=1 mean folded whatever --format
 * says, --flame-graph=svg means svg.
 */
#define HT_FORMATS(X)                                            \
	X(TEXT, "text", text_write, false, false, false)         \
	X(JSON, "json", json_write, false, false, false)         \
	X(FOLDED, "folded", folded_write, true, false, true)     \
	X(PPROF, "pprof", pprof_write, true, true, false)        \
	X(SVG, "svg", svg_write, true, false, true)

#define HT_FORMAT_ID(id, name, writer, alone, binary, flame) HT_FORMAT_##id,
enum ht_format { HT_FORMATS(HT_FORMAT_ID) HT_FORMAT_COUNT };
#undef HT_FORMAT_ID

/*
 * --pid: what heaptrace_attach() and heaptrace_detach() (lib/attach.c)
 * return to the launcher, which prints the text, X(ID, text): 0 is success.
 */
#define HT_ATTACH_RESULTS(X)                                                        \
	X(OK, "")                                                                   \
	X(PRELOADED, "is traced by heaptrace from its start already")               \
	X(ALREADY, "is traced by an earlier --pid already")                         \
	X(NOT_ATTACHED, "is not traced: nothing to detach")                         \
	X(NO_REDIRECT, "has no call of the allocation functions that heaptrace could redirect") \
	X(OPTIONS_KEPT, "was traced before: its first attach's options are kept")

#define HT_ATTACH_ID(id, text) HT_ATTACH_##id,
enum ht_attach_result { HT_ATTACH_RESULTS(HT_ATTACH_ID) HT_ATTACH_COUNT };
#undef HT_ATTACH_ID

/* A value of any kind: what the launcher parses into to check a value. */
union ht_value {
	unsigned long number, bytes;
	bool flag;
	struct ht_sort_list sorts;
	struct ht_signal_list signals;
	unsigned long long seconds;
	int depth;
	enum ht_unwinder unwind;
	enum ht_format format;
	enum ht_check check;
	const char *path;
};

/* Parsers shared by both sides (utils.c); each returns NULL or an error text. */
const char *ht_parse_kind(enum ht_kind kind, const char *s, void *out);
/* "a, b or c": the names kind takes (sort keys, unwinders...), "" if none. */
const char *ht_kind_names(enum ht_kind kind);
/* The names of the sort keys a flame graph can weigh by (weight not NULL). */
const char *ht_flame_names(void);

const char *ht_parse_ulong(const char *s, unsigned long max, unsigned long *out);
const char *ht_parse_bool(const char *s, bool *out);
const char *ht_parse_sort(const char *s, enum ht_sort keys[HT_MAX_SORTS], int *n);
const char *ht_sort_name(enum ht_sort key);
/* The columns of key's row (see HT_SORT_KEYS). */
enum ht_sort_lists ht_sort_lists(enum ht_sort key);
const char *ht_sort_weight(enum ht_sort key);
const char *ht_sort_header(enum ht_sort key);
const char *ht_parse_unwind(const char *s, enum ht_unwinder *out);
const char *ht_parse_signals(const char *s, struct ht_signal out[HT_MAX_SIGNALS], int *n);
const char *ht_parse_interval(const char *s, unsigned long long *ms);
/* --depth: frames kept per backtrace, 1 to HT_DEPTH_MAX. */
const char *ht_parse_depth(const char *s, int *depth);
/* --format: a name of HT_FORMATS. */
const char *ht_parse_format(const char *s, enum ht_format *out);
/* Its row's alone, binary and flame columns. */
bool ht_format_alone(enum ht_format f);
bool ht_format_binary(enum ht_format f);
bool ht_format_flame(enum ht_format f);

#endif
