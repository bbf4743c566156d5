// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * heaptrace.c - the launcher: turns options into HEAPTRACE_* variables (names
 * and defaults from options.h), preloads libheaptrace.so and execs the
 * program, whose exit status thus stays its own.  It shares nothing else with
 * the library.  Bad input is one line on stderr and exit status 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "utils.h"
#include "launcher/diff.h"

#ifndef HT_VERSION
#define HT_VERSION "0"
#endif
#ifndef HT_LIBDIR
#define HT_LIBDIR "/usr/local/lib/heaptrace"
#endif

#define EXIT_USAGE 2
#define EXIT_NOEXEC 126
#define EXIT_NOTFOUND 127

static char value_buf[PATH_MAX + 1];

/* Each checker validates an option's value and returns what the library
 * gets (possibly rewritten, e.g. made absolute), or NULL after *err is set. */
typedef const char *(*check_fn)(const char *arg, const char **err);

static const char *check_top(const char *arg, const char **err)
{
	unsigned long v;

	*err = ht_parse_ulong(arg, HT_TOP_MAX, &v);
	return *err ? NULL : arg;
}

static const char *check_bytes(const char *arg, const char **err)
{
	unsigned long v;

	*err = ht_parse_ulong(arg, (unsigned long)-1, &v);
	return *err ? NULL : arg;
}

static const char *check_sort(const char *arg, const char **err)
{
	enum ht_sort keys[HT_MAX_SORTS];
	int n;

	*err = ht_parse_sort(arg, keys, &n);
	return *err ? NULL : arg;
}

static const char *check_unwind(const char *arg, const char **err)
{
	enum ht_unwinder how;

	*err = ht_parse_unwind(arg, &how);
	return *err ? NULL : arg;
}

static const char *check_signals(const char *arg, const char **err)
{
	struct ht_signal sigs[HT_MAX_SIGNALS];
	int n;

	*err = ht_parse_signals(arg, sigs, &n);
	return *err ? NULL : arg;
}

static const char *check_interval(const char *arg, const char **err)
{
	unsigned long long ms;

	*err = ht_parse_interval(arg, &ms);
	return *err ? NULL : arg;
}

static const char *check_depth(const char *arg, const char **err)
{
	int depth;

	*err = ht_parse_depth(arg, &depth);
	return *err ? NULL : arg;
}

static const char *check_format(const char *arg, const char **err)
{
	bool json;

	*err = ht_parse_format(arg, &json);
	return *err ? NULL : arg;
}

/* --diff writes text: --format=text is what it does, json is refused. */
static const char *check_diff_format(const char *arg, const char **err)
{
	bool json = false;

	*err = ht_parse_format(arg, &json);
	if (!*err && json)
		*err = "does not apply to --diff (it writes text)";
	return *err ? NULL : arg;
}

static const char *check_diff_sort(const char *arg, const char **err)
{
	enum ht_sort keys[HT_MAX_SORTS];
	int n;

	*err = ht_parse_sort(arg, keys, &n);
	if (!*err)
		*err = diff_check_sort(keys, n);
	return *err ? NULL : arg;
}

static const char *check_json(const char *arg, const char **err)
{
	(void)arg;
	*err = NULL;
	return "json";
}

static const char *check_flag(const char *arg, const char **err)
{
	(void)arg;
	*err = NULL;
	return "1";
}

/* The program may chdir: the library gets absolute paths. */
static const char *absolute(const char *path, const char **err)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return path;
	if (!getcwd(cwd, sizeof(cwd)) ||
	    snprintf(value_buf, sizeof(value_buf), "%s/%s", cwd, path) >= (int)sizeof(value_buf)) {
		*err = "is too long a path";
		return NULL;
	}
	return value_buf;
}

static const char *check_outfile(const char *arg, const char **err)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(arg, '/');
	struct stat st;

	*err = NULL;
	if (!*arg) {
		*err = "is empty";
		return NULL;
	}
	/* what the library would refuse at report time, refused before the
	 * run (a FIFO is accepted: its reader may come before the report) */
	if (!stat(arg, &st)) {
		*err = S_ISDIR(st.st_mode)  ? "is a directory" :
		       S_ISSOCK(st.st_mode) ? "is a socket" :
		       S_ISBLK(st.st_mode)  ? "is a block device" : NULL;
		if (*err)
			return NULL;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - arg) + 1 : 1, slash ? arg : ".");
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		*err = "is in a directory that does not exist";
		return NULL;
	}
	return absolute(arg, err);
}

/* The library reads the file again at start-up; refuse what it would. */
static const char *check_debug_dir(const char *arg, const char **err)
{
	struct stat st;

	*err = NULL;
	if (!*arg)
		*err = "is empty";
	else if (stat(arg, &st))
		*err = "does not exist";
	else if (!S_ISDIR(st.st_mode))
		*err = "is not a directory";
	return *err ? NULL : absolute(arg, err);
}

static const char *check_ignore(const char *arg, const char **err)
{
	char buf[65536];
	struct stat st;
	ssize_t n;
	int fd;

	*err = NULL;
	if (!*arg) {
		*err = "is empty";
		return NULL;
	}
	fd = open(arg, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block us */
	if (fd < 0) {
		*err = errno == ENOENT ? "does not exist" : "cannot be read";
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		*err = "is not a regular file";
	else if (st.st_size > (64 << 20))
		*err = "is larger than 64 MB";
	while (!*err && (n = read(fd, buf, sizeof(buf))) > 0)
		if (memchr(buf, '\0', (size_t)n))
			*err = "is not a text file";
	close(fd);
	return *err ? NULL : absolute(arg, err);
}

/*
 * The options: check validates a value for a traced run, diff for --diff
 * (NULL: the option does not apply to --diff, which refuses it).
 */
static const struct lopt {
	const char *name;
	int has_arg;
	int short_name;
	enum ht_option var;
	check_fn check, diff;
	const char *arg, *help;
} lopts[] = {
	{ "top", required_argument, 0, HT_OPT_TOP, check_top, check_top, "NUM",
	  "show the NUM biggest backtraces per section (default 10, 0: all)" },
	{ "sort", required_argument, 's', HT_OPT_SORT, check_sort, check_diff_sort, "KEY[,KEY...]",
	  "sort by " HT_SORT_NAMES "; a section each (default size)" },
	{ "flame-graph", no_argument, 0, HT_OPT_FLAME_GRAPH, check_flag, NULL, NULL,
	  "print folded stacks for flamegraph.pl (to stdout), weighed by the first --sort key" },
	{ "outfile", required_argument, 0, HT_OPT_OUTFILE, check_outfile, NULL, "FILE",
	  "write reports to FILE (FILE.PID for children traced too)" },
	{ "ignore", required_argument, 0, HT_OPT_IGNORE, check_ignore, NULL, "FILE",
	  "hide backtraces matching a glob pattern of FILE (one per line)" },
	{ "depth", required_argument, 0, HT_OPT_DEPTH, check_depth, NULL, "N",
	  "keep N frames per backtrace, 1 to " HT_STR(HT_DEPTH_MAX) " (default " HT_STR(HT_DEPTH) ")" },
	{ "max-memory", required_argument, 0, HT_OPT_MAX_MEMORY, check_bytes, NULL, "BYTES",
	  "stop recording new blocks when the tables reach BYTES (default 0: no limit)" },
	{ "unwind", required_argument, 0, HT_OPT_UNWIND, check_unwind, NULL, "METHOD",
	  "take backtraces with dwarf (default), libunwind, fp (frame pointers) or check" },
	{ "debug-dir", required_argument, 0, HT_OPT_DEBUG_DIR, check_debug_dir, NULL, "DIR",
	  "look for separate debug files under DIR (default /usr/lib/debug)" },
	{ "signals", required_argument, 0, HT_OPT_SIGNALS, check_signals, NULL, "KEY:SIG,...",
	  "which signal dumps by which key (default size:USR1,count:USR2; none)" },
	{ "interval", required_argument, 0, HT_OPT_INTERVAL, check_interval, NULL, "SECONDS",
	  "also dump every SECONDS (sorted by --sort; default 0: never)" },
	{ "format", required_argument, 0, HT_OPT_FORMAT, check_format, check_diff_format, "FORMAT",
	  "write reports as text (default) or json (one line per report)" },
	{ "json", no_argument, 0, HT_OPT_FORMAT, check_json, NULL, NULL, "same as --format=json" },
	{ "check", no_argument, 0, HT_OPT_CHECK, check_flag, check_flag, NULL,
	  "exit with status 23 if memory is still allocated at exit (a leak gate)" },
	{ "trace-children", no_argument, 0, HT_OPT_TRACE_CHILDREN, check_flag, NULL, NULL,
	  "trace forked and executed children too, each with its own report" },
	{ "diff", no_argument, 0, HT_OPT_COUNT, NULL, NULL, NULL,
	  "OLD.json NEW.json: instead of tracing, list what grew between two reports" },
	{ "help", no_argument, 'h', HT_OPT_COUNT, NULL, NULL, NULL, "print this help and exit" },
	{ "version", no_argument, 'V', HT_OPT_COUNT, NULL, NULL, NULL,
	  "print the version and exit" },
};

#define HT_OPTION_VAR(id, var, def) [HT_OPT_##id] = var,
static const char *const env_names[HT_OPT_COUNT] = { HT_OPTIONS(HT_OPTION_VAR) };
#define HT_OPTION_DEFAULT(id, var, def) [HT_OPT_##id] = def,
static const char *const defaults[HT_OPT_COUNT] = { HT_OPTIONS(HT_OPTION_DEFAULT) };

/* What the library will read: the variable, or its default. */
static const char *env_value(enum ht_option id)
{
	const char *v = getenv(env_names[id]);

	return v ? v : defaults[id];
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: heaptrace [OPTION...] PROGRAM [ARG...]\n"
		   "   or: heaptrace --diff [--top=NUM] [--sort=size|count] [--check] OLD.json NEW.json\n"
		   "Trace the heap allocations of PROGRAM and report, per backtrace, the memory\n"
		   "still allocated when it exits (and on SIGUSR1: by size, SIGUSR2: by count).\n\n");
	for (size_t i = 0; i < ARRAY_SIZE(lopts); i++) {
		const struct lopt *o = &lopts[i];
		char left[64], shortname[8] = "";

		if (o->short_name)
			snprintf(shortname, sizeof(shortname), "-%c,", o->short_name);
		snprintf(left, sizeof(left), "%-4s--%s%s%s", shortname, o->name, o->arg ? "=" : "",
			 o->arg ? o->arg : "");
		fprintf(f, "  %-28s %s\n", left, o->help);
	}
	fprintf(f, "\nEach option sets a HEAPTRACE_* environment variable (see README.md).\n");
}

static void die_usage(const char *fmt, const char *a, const char *b)
{
	fputs("heaptrace: ", stderr);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

/* What option o's check makes of arg; bad input does not return. */
static const char *checked(const struct lopt *o, check_fn check, const char *arg)
{
	const char *err = NULL;
	const char *value = check(arg ? arg : "", &err);

	if (!value) {
		char buf[512];
		struct sbuf sb = SBUF_INIT(buf);

		sb_put_escaped(&sb, arg ? arg : "");
		fprintf(stderr, "heaptrace: --%s: '%s' %s\n", o->name, sb_str(&sb), err);
		exit(EXIT_USAGE);
	}
	return value;
}

static void set_option(const struct lopt *o, const char *arg)
{
	const char *value = checked(o, o->check, arg);

	if (setenv(env_names[o->var], value, 1))
		die_usage("cannot set %s%s", env_names[o->var], "");
}

/* getopt's complaint, in one line naming the option as the user wrote it. */
static void bad_option(int c, const char *arg)
{
	char name[64];

	if (optopt >= 256) /* a long option: getopt gives its val */
		snprintf(name, sizeof(name), "--%s", lopts[optopt - 256].name);
	else if (optopt)
		snprintf(name, sizeof(name), "-%c", optopt);
	else
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	if (c == ':')
		die_usage("option '%s' needs a value%s", name, "");
	if (optopt >= 256)
		die_usage("option '%s' takes no value%s", name, "");
	die_usage("unknown option '%s' (see heaptrace --help)", name, "");
}

/* getopt_long()'s tables of lopts; each option's val is 256 + its row. */
struct getopt_tables {
	struct option longs[ARRAY_SIZE(lopts) + 1];
	char shorts[2 * ARRAY_SIZE(lopts) + 1];
};

static void make_tables(struct getopt_tables *g)
{
	size_t ns = 0;

	*g = (struct getopt_tables){ 0 };
	for (size_t i = 0; i < ARRAY_SIZE(lopts); i++) {
		g->longs[i] = (struct option){ lopts[i].name, lopts[i].has_arg, NULL, (int)(256 + i) };
		if (lopts[i].short_name) {
			g->shorts[ns++] = (char)lopts[i].short_name;
			if (lopts[i].has_arg)
				g->shorts[ns++] = ':';
		}
	}
}

/* getopt_long() in mode "+:" (stop at the first argument that is not an
 * option) or "-:" (hand each over as option 1), errors to the caller. */
static int getopt_in(int argc, char **argv, const struct getopt_tables *g, const char *mode)
{
	char optstring[sizeof(g->shorts) + 4];

	snprintf(optstring, sizeof(optstring), "%s%s", mode, g->shorts);
	return getopt_long(argc, argv, optstring, g->longs, NULL);
}

/*
 * The next option of argv in getopt mode: its row, NULL at the end, or in
 * mode "-:" a file (*file set).  Bad options, --help and --version do not
 * return.
 */
static const struct lopt *next_option(int argc, char **argv, const struct getopt_tables *g,
				      const char *mode, const char **file)
{
	const struct lopt *o = NULL;
	int c = getopt_in(argc, argv, g, mode);

	if (c == -1)
		return NULL;
	if (c == 1) {
		*file = optarg;
		return NULL;
	}
	if (c == '?' || c == ':')
		bad_option(c, argv[optind - 1]);
	for (size_t i = 0; i < ARRAY_SIZE(lopts); i++)
		if (c == (int)(256 + i) || c == lopts[i].short_name)
			o = &lopts[i];
	if (o->short_name == 'h') {
		usage(stdout);
		exit(0);
	}
	if (o->short_name == 'V') {
		printf("heaptrace %s (backtrace depth %d by default, at most %d)\n", HT_VERSION,
		       HT_DEPTH, HT_DEPTH_MAX);
		exit(0);
	}
	return o;
}

/*
 * Whether --diff is among the options before PROGRAM (they end at the
 * first argument that is not one): a first pass that acts on nothing, so
 * that the options of --diff are checked as such wherever they are.
 */
static bool wants_diff(int argc, char **argv, const struct getopt_tables *g)
{
	bool diff = false;
	int c;

	optind = 0; /* glibc: start afresh */
	while ((c = getopt_in(argc, argv, g, "+:")) != -1)
		if (c >= 256 && !strcmp(lopts[c - 256].name, "diff"))
			diff = true;
	optind = 0;
	return diff;
}

/*
 * heaptrace --diff OLD NEW: options before, between or after the files
 * (getopt's mode "-" hands the files over in order, "--" ends the options).
 * Only the command line counts: HEAPTRACE_* variables are the library's.
 */
static int diff_command(int argc, char **argv, const struct getopt_tables *g)
{
	const char *vals[HT_OPT_COUNT], *files[2], *file = NULL;
	const struct lopt *o;
	struct diff_opts opts = { 0 };
	bool check = false;
	int n = 0;

	memcpy(vals, defaults, sizeof(vals));
	while ((o = next_option(argc, argv, g, "-:", &file)) || file) {
		if (file) {
			if (n < 2)
				files[n] = file;
			n++;
			file = NULL;
		} else if (o->var != HT_OPT_COUNT) { /* not --diff itself */
			if (!o->diff)
				die_usage("--%s does not apply to --diff%s", o->name, "");
			vals[o->var] = checked(o, o->diff, optarg);
		}
	}
	for (; optind < argc; optind++, n++) /* after "--" */
		if (n < 2)
			files[n] = argv[optind];
	if (n != 2)
		die_usage("--diff needs two files: OLD.json NEW.json%s%s", "", "");
	/* the values are checked, the defaults are options.h's */
	if (ht_parse_ulong(vals[HT_OPT_TOP], HT_TOP_MAX, &opts.top) ||
	    ht_parse_sort(vals[HT_OPT_SORT], opts.keys, &opts.nkeys) ||
	    ht_parse_bool(vals[HT_OPT_CHECK], &check))
		die_usage("--diff: bad option defaults%s%s", "", "");
	opts.check = check;
	return diff_main(files[0], files[1], &opts);
}

/* The options before PROGRAM into HEAPTRACE_* variables; PROGRAM's index. */
static int parse_options(int argc, char **argv, const struct getopt_tables *g)
{
	const struct lopt *o;
	const char *file;

	while ((o = next_option(argc, argv, g, "+:", &file)))
		set_option(o, optarg);
	return optind;
}

static void refuse_weight(const char *option, enum ht_sort key)
{
	fprintf(stderr, "heaptrace: --flame-graph cannot weigh backtraces by '%s' (%s); use %s\n",
		ht_sort_name(key), option, HT_FLAME_NAMES);
	exit(EXIT_USAGE);
}

/*
 * --flame-graph weighs each backtrace by the first sort key, and a
 * signal's dump by the signal's key: each needs a weight (options.h).
 * Checked once every option is in, since they come in any order; values
 * that do not parse are the library's to warn about.
 */
static void check_flame_weights(void)
{
	enum ht_sort keys[HT_MAX_SORTS];
	struct ht_signal sigs[HT_MAX_SIGNALS];
	bool flame;
	int n;

	if (ht_parse_bool(env_value(HT_OPT_FLAME_GRAPH), &flame) || !flame)
		return;
	if (!ht_parse_sort(env_value(HT_OPT_SORT), keys, &n) && !ht_sort_weight(keys[0]))
		refuse_weight("--sort", keys[0]);
	if (ht_parse_signals(env_value(HT_OPT_SIGNALS), sigs, &n))
		return;
	for (int i = 0; i < n; i++)
		if (!ht_sort_weight(sigs[i].key))
			refuse_weight("--signals", sigs[i].key);
}

/* libheaptrace.so beside our real path (build tree), else in the install
 * tree relative to it, else where make install put it; never from ".". */
static const char *find_library(void)
{
	static char path[PATH_MAX + 64];
	char self[PATH_MAX];
	char *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		*slash = '\0';
		snprintf(path, sizeof(path), "%s/libheaptrace.so", self);
		if (!access(path, R_OK))
			return path;
		snprintf(path, sizeof(path), "%s/../lib/heaptrace/libheaptrace.so", self);
		if (!access(path, R_OK) && realpath(path, self))
			return strcpy(path, self);
	}
	snprintf(path, sizeof(path), "%s/libheaptrace.so", HT_LIBDIR);
	if (!access(path, R_OK))
		return path;
	die_usage("cannot find libheaptrace.so next to the launcher or in %s%s", HT_LIBDIR, "");
	return NULL;
}

static void set_preload(void)
{
	const char *lib = find_library();
	const char *old = getenv("LD_PRELOAD");
	char *value;

	if (strpbrk(lib, " :"))
		die_usage("cannot preload '%s': its path contains a space or a colon%s", lib, "");
	if (old && *old) {
		if (asprintf(&value, "%s:%s", lib, old) < 0)
			die_usage("out of memory%s%s", "", "");
	} else {
		value = strdup(lib);
	}
	if (!value || setenv("LD_PRELOAD", value, 1))
		die_usage("cannot set LD_PRELOAD%s%s", "", "");
	free(value);
}

/* execvp(3)'s look-up, with the shell's messages and exit statuses. */
static const char *find_program(const char *name, const char **why, int *status)
{
	static char path[PATH_MAX];
	const char *dirs = getenv("PATH");
	bool denied = false;
	struct stat st;

	*status = EXIT_NOEXEC;
	if (strchr(name, '/')) {
		if (stat(name, &st)) {
			*why = strerror(errno);
			*status = errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
		} else if (S_ISDIR(st.st_mode)) {
			*why = "Is a directory";
		} else if (access(name, X_OK)) {
			*why = "Permission denied";
		} else {
			return name;
		}
		return NULL;
	}
	if (!dirs)
		dirs = "/usr/local/bin:/usr/bin:/bin";
	for (const char *d = dirs;; d++) {
		size_t len = strcspn(d, ":");

		snprintf(path, sizeof(path), "%.*s/%s", (int)(len ? len : 1), len ? d : ".", name);
		if (!stat(path, &st) && S_ISREG(st.st_mode)) {
			if (!access(path, X_OK))
				return path;
			denied = true;
		}
		d += len;
		if (!*d)
			break;
	}
	*why = denied ? "Permission denied" : "command not found";
	*status = denied ? EXIT_NOEXEC : EXIT_NOTFOUND;
	return NULL;
}

static void set_root_pid(void)
{
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv(HT_ENV_ROOT_PID, pid, 1);
}

int main(int argc, char **argv)
{
	const char *prog, *why = NULL;
	struct getopt_tables g;
	int first, status;

	opterr = 0;
	make_tables(&g);
	if (wants_diff(argc, argv, &g))
		return diff_command(argc, argv, &g);
	first = parse_options(argc, argv, &g);
	check_flame_weights();
	if (first >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	prog = find_program(argv[first], &why, &status);
	if (!prog) {
		fprintf(stderr, "heaptrace: %s: %s\n", argv[first], why);
		return status;
	}
	set_preload();
	set_root_pid();
	execv(prog, argv + first);
	if (errno == ENOEXEC) { /* a script without #!: what execvp does */
		argv[first - 1] = (char *)"/bin/sh";
		argv[first] = (char *)prog;
		execv("/bin/sh", argv + first - 1);
	}
	fprintf(stderr, "heaptrace: %s: %s\n", argv[first], strerror(errno));
	return errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
}
