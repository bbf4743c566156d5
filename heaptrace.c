// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * heaptrace.c - the launcher: turns options into HEAPTRACE_* variables (names
 * and defaults from options.h), preloads libheaptrace.so and execs the
 * program, whose exit status thus stays its own; or, with --pid, hands
 * them to a running process (launcher/pidcmd.c).  It shares nothing else with
 * the library.  Bad input is one line on stderr and exit status 2: die()
 * (launcher/usage.c).
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

#include "bfdfind.h"
#include "options.h"
#include "utils.h"
#include "launcher/pidcmd.h"
#include "launcher/diff.h"
#include "launcher/usage.h"

#ifndef HT_VERSION
#define HT_VERSION "0"
#endif
#ifndef HT_LIBDIR
#define HT_LIBDIR "/usr/local/lib/heaptrace"
#endif

static char value_buf[PATH_MAX + 1];

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

/*
 * The path kinds' checks: what the library would refuse at report time (or
 * at start-up), refused before the run.  Each returns NULL or an error text.
 */
static const char *check_outfile(const char *arg)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(arg, '/');
	const char *err;
	struct stat st;

	if (!*arg)
		return "is empty";
	/* a FIFO is accepted: its reader may come before the report */
	if (!stat(arg, &st)) {
		err = S_ISDIR(st.st_mode)  ? "is a directory" :
		      S_ISSOCK(st.st_mode) ? "is a socket" :
		      S_ISBLK(st.st_mode)  ? "is a block device" : NULL;
		if (err)
			return err;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - arg) + 1 : 1, slash ? arg : ".");
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return "is in a directory that does not exist";
	return NULL;
}

/* The library reads the file again at start-up; refuse what it would. */
static const char *check_infile(const char *arg)
{
	char buf[65536];
	const char *err = NULL;
	struct stat st;
	ssize_t n;
	int fd;

	if (!*arg)
		return "is empty";
	fd = open(arg, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block us */
	if (fd < 0)
		return errno == ENOENT ? "does not exist" : "cannot be read";
	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		err = "is not a regular file";
	else if (st.st_size > (64 << 20))
		err = "is larger than 64 MB";
	while (!err && (n = read(fd, buf, sizeof(buf))) > 0)
		if (memchr(buf, '\0', (size_t)n))
			err = "is not a text file";
	close(fd);
	return err;
}

static const char *check_dir(const char *arg)
{
	struct stat st;

	if (!*arg)
		return "is empty";
	if (stat(arg, &st))
		return "does not exist";
	if (!S_ISDIR(st.st_mode))
		return "is not a directory";
	return NULL;
}

static const char *(*const path_checks[])(const char *arg) = {
	[HT_KIND_OUTFILE] = check_outfile,
	[HT_KIND_INFILE] = check_infile,
	[HT_KIND_DIR] = check_dir,
};

/*
 * The command line: options.h's rows, then the launcher's commands (id
 * HT_OPT_COUNT).  A row without arg is a flag.  The row of option id is
 * lopts[id].
 */
static const struct lopt {
	const char *name;
	int short_name;
	enum ht_option id;
	enum ht_kind kind;
	const char *var, *def, *arg, *help;
} lopts[] = {
#define HT_OPTION_LOPT(id, name, sh, var, field, kind, def, metavar, help) \
	{ name, sh, HT_OPT_##id, HT_KIND_##kind, var, def, metavar, help },
	HT_OPTIONS(HT_OPTION_LOPT)
#undef HT_OPTION_LOPT
	{ "diff", 0, HT_OPT_COUNT, HT_KIND_ALIAS, NULL, NULL, NULL,
	  "OLD.json NEW.json: instead of tracing, list what grew between two reports" },
	{ "pid", 'p', HT_OPT_COUNT, HT_KIND_ALIAS, NULL, NULL, "PID",
	  "instead of starting PROGRAM, trace the running process PID from now on" },
	{ "detach", 0, HT_OPT_COUNT, HT_KIND_ALIAS, NULL, NULL, NULL,
	  "with --pid: stop tracing PID (it runs on, as without heaptrace)" },
	{ "help", 'h', HT_OPT_COUNT, HT_KIND_ALIAS, NULL, NULL, NULL, "print this help and exit" },
	{ "version", 'V', HT_OPT_COUNT, HT_KIND_ALIAS, NULL, NULL, NULL,
	  "print the version and exit" },
};

/* What the library will read: the variable, or its default. */
static const char *env_value(enum ht_option id)
{
	const char *v = getenv(lopts[id].var);

	return v ? v : lopts[id].def;
}

/* A flag that may take a value: its metavar is "[=VALUE]" (--check[=live]). */
static bool optional(const struct lopt *o)
{
	return o->arg && o->arg[0] == '[';
}

/* o's help, its "%s" (if any) replaced by the names its kind takes. */
static void put_help(FILE *f, const struct lopt *o)
{
	const char *mark = strstr(o->help, "%s");

	if (!mark) {
		fprintf(f, "%s\n", o->help);
		return;
	}
	fprintf(f, "%.*s%s%s\n", (int)(mark - o->help), o->help, ht_kind_names(o->kind), mark + 2);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: heaptrace [OPTION...] PROGRAM [ARG...]\n"
		   "   or: heaptrace --pid=PID [--detach] [OPTION...]\n"
		   "   or: heaptrace --diff [--top=NUM] [--sort=size|count] [--check] OLD.json NEW.json\n"
		   "Trace the heap allocations of PROGRAM and report, per backtrace, the memory\n"
		   "still allocated when it exits (and on SIGUSR1: by size, SIGUSR2: by count).\n\n");
	for (size_t i = 0; i < ARRAY_SIZE(lopts); i++) {
		const struct lopt *o = &lopts[i];
		char left[64], shortname[8] = "";

		if (o->short_name)
			snprintf(shortname, sizeof(shortname), "-%c,", o->short_name);
		snprintf(left, sizeof(left), "%-4s--%s%s%s", shortname, o->name,
			 o->arg && !optional(o) ? "=" : "", o->arg ? o->arg : "");
		fprintf(f, "  %-28s ", left);
		put_help(f, o);
	}
	fprintf(f, "\nEach option sets a HEAPTRACE_* environment variable (see README.md).\n");
}

/* The options --diff takes; it refuses the others, a traced run's. */
static bool diff_takes(enum ht_option id)
{
	return id == HT_OPT_TOP || id == HT_OPT_SORT || id == HT_OPT_FORMAT || id == HT_OPT_CHECK;
}

/* What --diff refuses beyond the kind's parser: option id's value v. */
static const char *diff_refuses(enum ht_option id, const union ht_value *v)
{
	if (id == HT_OPT_SORT)
		return diff_check_sort(v->sorts.keys, v->sorts.n);
	if (id == HT_OPT_FORMAT && v->format != HT_FORMAT_TEXT) /* what --diff does */
		return "does not apply to --diff (it writes text)";
	return NULL;
}

/*
 * What option o sets its variable to for arg: a flag "1" (an alias its
 * default), a value checked by its kind's parser (and for --diff by
 * diff_refuses()), a path made absolute.  Bad input does not return.
 */
static const char *checked(const struct lopt *o, const char *arg, bool diff)
{
	union ht_value v;
	const char *err, *value = arg ? arg : "";

	if (diff && !diff_takes(o->id))
		die("--%s does not apply to --diff", o->name);
	if (!o->arg || (optional(o) && !arg))
		return o->kind == HT_KIND_ALIAS ? o->def : "1";
	err = ht_parse_kind(o->kind, value, &v);
	if (!err && o->kind < ARRAY_SIZE(path_checks) && path_checks[o->kind]) {
		err = path_checks[o->kind](value);
		value = err ? NULL : absolute(value, &err);
	}
	if (!err && diff)
		err = diff_refuses(o->id, &v);
	if (err) {
		char buf[512];
		struct sbuf sb = SBUF_INIT(buf);

		sb_put_escaped(&sb, arg ? arg : "");
		die("--%s: '%s' %s", o->name, sb_str(&sb), err);
	}
	return value;
}

static void set_option(const struct lopt *o, const char *arg)
{
	const char *value = checked(o, arg, false);

	if (setenv(o->var, value, 1))
		die("cannot set %s", o->var);
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
		die("option '%s' needs a value", name);
	if (optopt >= 256)
		die("option '%s' takes no value", name);
	die("unknown option '%s' (see heaptrace --help)", name);
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
		int has_arg = !lopts[i].arg	   ? no_argument
			      : optional(&lopts[i]) ? optional_argument
						    : required_argument;

		g->longs[i] = (struct option){ lopts[i].name, has_arg, NULL, (int)(256 + i) };
		if (lopts[i].short_name) {
			g->shorts[ns++] = (char)lopts[i].short_name;
			if (has_arg)
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
/* --version, as GNU tools give it: what this build is and will load. */
static void print_version(void)
{
	char bfd[PATH_MAX];
	const char *path = ht_find_libbfd(bfd, sizeof(bfd));

	printf("heaptrace %s (backtrace depth %d by default, at most %d)\n", HT_VERSION, HT_DEPTH,
	       HT_DEPTH_MAX);
	if (path)
		printf("libbfd: %s\n", path);
	else
		printf("libbfd: none found (binutils' libbfd-*.so): reports name functions from\n"
		       "  the dynamic symbols only, without file:line, C++ names mangled\n");
	printf("License GPL-2.0-or-later <https://gnu.org/licenses/gpl.html>;\n"
	       "GPL-3.0-or-later as it loads libbfd.\n"
	       "This is free software: you are free to change and redistribute it.\n"
	       "There is NO WARRANTY, to the extent permitted by law.\n");
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
		print_version();
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
	enum ht_check check = HT_CHECK_OFF;
	int n = 0;

	for (int i = 0; i < HT_OPT_COUNT; i++)
		vals[i] = lopts[i].def;
	while ((o = next_option(argc, argv, g, "-:", &file)) || file) {
		if (file) {
			if (n < 2)
				files[n] = file;
			n++;
			file = NULL;
		} else if (o->id != HT_OPT_COUNT) { /* not --diff itself */
			vals[o->id] = checked(o, optarg, true);
		}
	}
	for (; optind < argc; optind++, n++) /* after "--" */
		if (n < 2)
			files[n] = argv[optind];
	if (n != 2)
		die("--diff needs two files: OLD.json NEW.json");
	/* the values are checked, the defaults are options.h's */
	if (ht_parse_ulong(vals[HT_OPT_TOP], HT_TOP_MAX, &opts.top) ||
	    ht_parse_sort(vals[HT_OPT_SORT], opts.keys, &opts.nkeys) ||
	    ht_parse_kind(HT_KIND_CHECK, vals[HT_OPT_CHECK], &check))
		die("--diff: bad option defaults");
	opts.check = check != HT_CHECK_OFF; /* on growth, whichever */
	return diff_main(files[0], files[1], &opts);
}

/* --pid and --detach: the launcher's, not the library's. */
static struct {
	pid_t pid; /* 0: start PROGRAM */
	bool detach;
} attach;

static void set_launcher_option(const struct lopt *o, const char *arg)
{
	unsigned long pid;
	const char *err;

	if (!strcmp(o->name, "detach")) {
		attach.detach = true;
		return;
	}
	err = ht_parse_ulong(arg, 0x7fffffff, &pid);
	if (err || pid == 0)
		die("--pid: '%s' %s", arg, err ? err : "is not a process");
	attach.pid = (pid_t)pid;
}

/* The options before PROGRAM into HEAPTRACE_* variables; PROGRAM's index. */
static int parse_options(int argc, char **argv, const struct getopt_tables *g)
{
	const struct lopt *o;
	const char *file;

	while ((o = next_option(argc, argv, g, "+:", &file))) {
		if (o->id == HT_OPT_COUNT)
			set_launcher_option(o, optarg);
		else
			set_option(o, optarg);
	}
	return optind;
}

static void refuse_weight(const char *option, enum ht_sort key)
{
	die("--flame-graph cannot weigh backtraces by '%s' (%s); use %s", ht_sort_name(key),
	    option, ht_flame_names());
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
	enum ht_format format = HT_FORMAT_TEXT;
	int n;

	/* --flame-graph after --format, as the library reads them */
	ht_parse_kind(HT_KIND_FORMAT, env_value(HT_OPT_FORMAT), &format);
	ht_parse_kind(HT_KIND_FOLDED, env_value(HT_OPT_FLAME_GRAPH), &format);
	if (!ht_format_flame(format))
		return;
	if (!ht_parse_sort(env_value(HT_OPT_SORT), keys, &n) && !ht_sort_weight(keys[0]))
		refuse_weight("--sort", keys[0]);
	if (ht_parse_signals(env_value(HT_OPT_SIGNALS), sigs, &n))
		return;
	for (int i = 0; i < n; i++)
		if (!ht_sort_weight(sigs[i].key))
			refuse_weight("--signals", sigs[i].key);
}

/* A binary --format (options.h) is written to --outfile only. */
static void check_binary_outfile(void)
{
	enum ht_format format = HT_FORMAT_TEXT;

	ht_parse_kind(HT_KIND_FORMAT, env_value(HT_OPT_FORMAT), &format);
	ht_parse_kind(HT_KIND_FOLDED, env_value(HT_OPT_FLAME_GRAPH), &format);
	if (ht_format_binary(format) && !*env_value(HT_OPT_OUTFILE))
		die("--format=%s writes a binary profile: it needs --outfile=FILE",
		    env_value(HT_OPT_FORMAT));
}

/* The library name (libheaptrace.so, or a --pid library: pidcmd.c)
 * beside our real path (build tree), else in the install tree relative to
 * it, else where make install put it; never from ".". */
static const char *find_library(const char *name)
{
	static char path[PATH_MAX + 64];
	char self[PATH_MAX];
	char *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		*slash = '\0';
		snprintf(path, sizeof(path), "%s/%s", self, name);
		if (!access(path, R_OK))
			return path;
		snprintf(path, sizeof(path), "%s/../lib/heaptrace/%s", self, name);
		if (!access(path, R_OK) && realpath(path, self))
			return strcpy(path, self);
	}
	snprintf(path, sizeof(path), "%s/%s", HT_LIBDIR, name);
	if (!access(path, R_OK))
		return path;
	die("cannot find %s next to the launcher or in %s", name, HT_LIBDIR);
	return NULL;
}

static void set_preload(void)
{
	const char *lib = find_library("libheaptrace.so");
	const char *old = getenv("LD_PRELOAD");
	char *value;

	if (strpbrk(lib, " :"))
		die("cannot preload '%s': its path contains a space or a colon", lib);
	if (old && *old) {
		if (asprintf(&value, "%s:%s", lib, old) < 0)
			die("out of memory");
	} else {
		value = strdup(lib);
	}
	if (!value || setenv("LD_PRELOAD", value, 1))
		die("cannot set LD_PRELOAD");
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
	check_binary_outfile();
	if (attach.detach && !attach.pid)
		die("--detach needs --pid=PID");
	if (attach.pid && first < argc)
		die("--pid traces a running process: no PROGRAM ('%s') with it", argv[first]);
	if (attach.pid)
		return attach_main(attach.pid, attach.detach, find_library);
	if (first >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	prog = find_program(argv[first], &why, &status);
	if (!prog) {
		error("%s: %s", argv[first], why);
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
	status = errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
	error("%s: %s", argv[first], strerror(errno));
	return status;
}
