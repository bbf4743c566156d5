// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * config.c - reads the HEAPTRACE_* variables named in options.h into
 * ht_cfg: one loop over HT_OPTIONS, each row parsed by its kind's parser
 * (utils.c) into its field.  Runs in the library constructor:
 * getenv, getcwd and tmem, and the strings it keeps are copied, because the
 * program may change its environment later; setenv only to make a relative
 * path absolute for the programs it executes (HEAPTRACE_DEPTH alone may be
 * read earlier, by the first allocation: config_depth()).  A bad value
 * costs one warning line and the default; it never stops the program.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tmem.h"
#include "utils.h"

struct ht_config ht_cfg;
struct ht_process ht_process;

/* Each row of HT_OPTIONS: its variable, its kind, and where ht_cfg keeps it. */
#define HT_OPTION_ROW(id, name, sh, var, field, kind, def, metavar, help) \
	[HT_OPT_##id] = { var, def, HT_KIND_##kind, offsetof(struct ht_config, field) },
static const struct {
	const char *var, *def;
	enum ht_kind kind;
	size_t offset;
} vars[HT_OPT_COUNT] = { HT_OPTIONS(HT_OPTION_ROW) };
#undef HT_OPTION_ROW

/* --pid's variables (config_from_text()), or NULL: the environment. */
static const char *attach_text;

/*
 * Variable name's value, from the text the launcher passed or the
 * environment.  A value from the text is copied out to the newline that
 * ends it, into a buffer that the next call reuses: each caller parses
 * (and set_path() copies) a value before it reads another.
 */
static const char *config_getenv(const char *name)
{
	static char value[PATH_MAX + 64];
	size_t len = strlen(name), n;

	if (!attach_text)
		return getenv(name);
	for (const char *p = attach_text; *p; p += strcspn(p, "\n"), p += *p == '\n') {
		if (strncmp(p, name, len) || p[len] != '=')
			continue;
		p += len + 1;
		n = strcspn(p, "\n");
		if (n >= sizeof(value))
			n = sizeof(value) - 1; /* the parser then names what it got */
		memcpy(value, p, n);
		value[n] = '\0';
		return value;
	}
	return NULL;
}

void config_from_text(const char *text)
{
	attach_text = text;
}

static const char *copy_string(const char *s)
{
	size_t len = strlen(s) + 1;
	char *p = tmem_alloc_scratch(len);

	if (p)
		memcpy(p, s, len);
	return p;
}

/*
 * A path option, which the kind's parser stored as it is: the directory of
 * DIR must exist.  A relative path is taken from the directory the program
 * starts in, as the launcher does: the program may chdir before its report
 * (a daemon's chdir("/") would turn "heap.out" into /heap.out).  The
 * variable is rewritten so that the programs this one executes, which may
 * start elsewhere, read the same path.  Empty: no file (NULL).
 */
static const char *set_path(enum ht_option id, const char **field)
{
	char buf[PATH_MAX + 1];
	struct sbuf sb = SBUF_INIT(buf);
	const char *s = *field, *path = s;
	struct stat st;

	*field = NULL;
	if (vars[id].kind == HT_KIND_DIR && !*s)
		return "is empty";
	if (vars[id].kind == HT_KIND_DIR && (stat(s, &st) || !S_ISDIR(st.st_mode)))
		return "is not a directory";
	if (!*s)
		return NULL;
	if (*s != '/') {
		if (!getcwd(buf, PATH_MAX))
			return "is relative, and the working directory has no name";
		sb.len = strlen(buf);
		sb_printf(&sb, "%s%s", sb.len > 1 ? "/" : "", s);
		if (sb.len >= PATH_MAX)
			return "is too long a path";
		path = buf;
	}
	*field = copy_string(path);
	if (!*field)
		return "cannot be stored (out of memory)";
	if (path == buf)
		if (!attach_text) /* the launcher made --pid's paths absolute */
			setenv(vars[id].var, path, 1); /* if this fails, children resolve it anew */
	return NULL;
}

/* Option id's field from s: NULL, or an error text. */
static const char *set(enum ht_option id, const char *s)
{
	void *field = (char *)&ht_cfg + vars[id].offset;
	const char *err = ht_parse_kind(vars[id].kind, s, field);

	if (err)
		return err;
	switch (vars[id].kind) {
	case HT_KIND_OUTFILE:
	case HT_KIND_INFILE:
	case HT_KIND_DIR:
		return set_path(id, field);
	default:
		return NULL;
	}
}

static void load_root_pid(void)
{
	const char *s = config_getenv(HT_ENV_ROOT_PID);
	unsigned long pid;

	if (s && !ht_parse_ulong(s, 0x7fffffff, &pid) && pid > 0) {
		ht_cfg.root_pid = (pid_t)pid;
		return;
	}
	/* Preloaded by hand: this process is the root of the traced tree. */
	ht_cfg.root_pid = getpid();
}

static void warn_value(const char *var, const char *value, const char *err, const char *def)
{
	char buf[256];
	struct sbuf sb = SBUF_INIT(buf);

	sb_put_escaped(&sb, value);
	ht_warn("%s='%s' %s; using the default '%s'", var, sb_str(&sb), err, def);
}

/* Variable id names key, by which a flame graph cannot weigh: its default. */
static void refuse_weight(enum ht_option id, enum ht_sort key)
{
	const char *value = config_getenv(vars[id].var);
	char err[160];
	struct sbuf sb = SBUF_INIT(err);

	sb_printf(&sb, "names '%s', by which a flame graph cannot weigh backtraces (use %s)",
		  ht_sort_name(key), ht_flame_names());
	warn_value(vars[id].var, value ? value : vars[id].def, sb_str(&sb), vars[id].def);
	set(id, vars[id].def);
}

/*
 * --flame-graph weighs each backtrace by the first sort key, and a
 * signal's dump by the signal's key: each needs a weight (options.h).
 */
static void check_flame_weights(void)
{
	if (!ht_format_flame(ht_cfg.format))
		return;
	if (!ht_sort_weight(ht_cfg.sort.keys[0]))
		refuse_weight(HT_OPT_SORT, ht_cfg.sort.keys[0]);
	for (int i = 0; i < ht_cfg.signals.n; i++)
		if (!ht_sort_weight(ht_cfg.signals.sigs[i].key)) {
			refuse_weight(HT_OPT_SIGNALS, ht_cfg.signals.sigs[i].key);
			break;
		}
}

/* A binary format (options.h) goes to a file only: without one, text. */
static void check_binary_outfile(void)
{
	if (!ht_format_binary(ht_cfg.format) || ht_cfg.outfile)
		return;
	warn_value(vars[HT_OPT_FORMAT].var, config_getenv(vars[HT_OPT_FORMAT].var),
		   "writes a binary profile, to a file only, and HEAPTRACE_OUTFILE is not set",
		   vars[HT_OPT_FORMAT].def);
	set(HT_OPT_FORMAT, vars[HT_OPT_FORMAT].def);
}

/*
 * Read variable i, once: config_depth() or config_traced() may have read
 * it already.  All run before the program has threads (the constructor, or
 * the first allocation: see process_setup()).
 */
static void load(enum ht_option i)
{
	static bool loaded[HT_OPT_COUNT];
	const char *s = config_getenv(vars[i].var);
	const char *err;

	if (loaded[i] || vars[i].kind == HT_KIND_ALIAS) /* an alias is the launcher's */
		return;
	loaded[i] = true;
	if (!s)
		s = vars[i].def;
	err = set(i, s);
	if (!err)
		return;
	warn_value(vars[i].var, s, err, vars[i].def);
	set(i, vars[i].def);
}

/* Also called before config_load(), by the first backtrace (stacktrace.c). */
bool config_traced(void)
{
	load(HT_OPT_TRACE_CHILDREN);
	if (!ht_cfg.root_pid)
		load_root_pid();
	return ht_cfg.trace_children || getpid() == ht_cfg.root_pid;
}

void config_load(void)
{
	load(HT_OPT_FORMAT); /* first: HEAPTRACE_FLAME_GRAPH=1 overrides it */
	for (int i = 0; i < HT_OPT_COUNT; i++)
		load((enum ht_option)i);
	check_flame_weights();
	check_binary_outfile();
	load_root_pid();
}

int config_depth(void)
{
	load(HT_OPT_DEPTH);
	return ht_cfg.depth;
}

unsigned long config_sample(void)
{
	load(HT_OPT_SAMPLE);
	return ht_cfg.sample;
}
