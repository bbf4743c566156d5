// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * config.c - reads the HEAPTRACE_* variables named in options.h into
 * ht_cfg, one table entry per variable.  Runs in the library constructor:
 * getenv, getcwd and tmem, and the strings it keeps are copied, because the
 * program may change its environment later; setenv only to make a relative
 * path absolute for the programs it executes (HEAPTRACE_DEPTH alone may be
 * read earlier, by the first allocation: config_depth()).  A bad value
 * costs one warning line and the default; it never stops the program.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tmem.h"
#include "utils.h"

struct ht_config ht_cfg;
struct ht_process ht_process;

#define HT_OPTION_NAME(id, var, def) [HT_OPT_##id] = { var, def },
static const struct {
	const char *var, *def;
} vars[HT_OPT_COUNT] = { HT_OPTIONS(HT_OPTION_NAME) };
#undef HT_OPTION_NAME

static const char *copy_string(const char *s)
{
	size_t len = strlen(s) + 1;
	char *p = tmem_alloc_scratch(len);

	if (p)
		memcpy(p, s, len);
	return p;
}

/* Each parser sets its field from s and returns NULL, or an error text. */
static const char *set_top(const char *s)
{
	return ht_parse_ulong(s, HT_TOP_MAX, &ht_cfg.top);
}

static const char *set_sort(const char *s)
{
	return ht_parse_sort(s, ht_cfg.sorts, &ht_cfg.nsorts);
}

static const char *set_flame_graph(const char *s)
{
	return ht_parse_bool(s, &ht_cfg.flame_graph);
}

/*
 * A relative path is taken from the directory the program starts in, as the
 * launcher does: the program may chdir before its report (a daemon's
 * chdir("/") would turn "heap.out" into /heap.out).  The variable is
 * rewritten so that the programs this one executes, which may start
 * elsewhere, read the same path.
 */
static const char *set_path(const char *s, const char **field, enum ht_option id)
{
	char buf[PATH_MAX + 1];
	struct sbuf sb = SBUF_INIT(buf);
	const char *path = s;

	*field = NULL;
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
		setenv(vars[id].var, path, 1); /* if this fails, children resolve it anew */
	return NULL;
}

static const char *set_outfile(const char *s)
{
	return set_path(s, &ht_cfg.outfile, HT_OPT_OUTFILE);
}

static const char *set_ignore(const char *s)
{
	return set_path(s, &ht_cfg.ignore, HT_OPT_IGNORE);
}

static const char *set_max_memory(const char *s)
{
	return ht_parse_ulong(s, (unsigned long)-1, &ht_cfg.max_memory);
}

static const char *set_unwind(const char *s)
{
	return ht_parse_unwind(s, &ht_cfg.unwind);
}

static const char *set_debug_dir(const char *s)
{
	struct stat st;

	if (!*s)
		return "is empty";
	if (stat(s, &st) || !S_ISDIR(st.st_mode))
		return "is not a directory";
	return set_path(s, &ht_cfg.debug_dir, HT_OPT_DEBUG_DIR);
}

static const char *set_signals(const char *s)
{
	return ht_parse_signals(s, ht_cfg.signals, &ht_cfg.nsignals);
}

static const char *set_interval(const char *s)
{
	return ht_parse_interval(s, &ht_cfg.interval_ms);
}

static const char *set_format(const char *s)
{
	return ht_parse_format(s, &ht_cfg.json);
}

static const char *set_check(const char *s)
{
	return ht_parse_bool(s, &ht_cfg.check);
}

static const char *set_depth(const char *s)
{
	return ht_parse_depth(s, &ht_cfg.depth);
}

static const char *set_trace_children(const char *s)
{
	return ht_parse_bool(s, &ht_cfg.trace_children);
}

static const char *(*const setters[HT_OPT_COUNT])(const char *) = {
	[HT_OPT_TOP] = set_top,
	[HT_OPT_SORT] = set_sort,
	[HT_OPT_FLAME_GRAPH] = set_flame_graph,
	[HT_OPT_OUTFILE] = set_outfile,
	[HT_OPT_IGNORE] = set_ignore,
	[HT_OPT_MAX_MEMORY] = set_max_memory,
	[HT_OPT_UNWIND] = set_unwind,
	[HT_OPT_DEBUG_DIR] = set_debug_dir,
	[HT_OPT_SIGNALS] = set_signals,
	[HT_OPT_INTERVAL] = set_interval,
	[HT_OPT_FORMAT] = set_format,
	[HT_OPT_CHECK] = set_check,
	[HT_OPT_DEPTH] = set_depth,
	[HT_OPT_TRACE_CHILDREN] = set_trace_children,
};

static void load_root_pid(void)
{
	const char *s = getenv(HT_ENV_ROOT_PID);
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
	const char *value = getenv(vars[id].var);
	char err[160];
	struct sbuf sb = SBUF_INIT(err);

	sb_printf(&sb, "names '%s', by which a flame graph cannot weigh backtraces (use %s)",
		  ht_sort_name(key), HT_FLAME_NAMES);
	warn_value(vars[id].var, value ? value : vars[id].def, sb_str(&sb), vars[id].def);
	setters[id](vars[id].def);
}

/*
 * --flame-graph weighs each backtrace by the first sort key, and a
 * signal's dump by the signal's key: each needs a weight (options.h).
 */
static void check_flame_weights(void)
{
	if (!ht_cfg.flame_graph)
		return;
	if (!ht_sort_weight(ht_cfg.sorts[0]))
		refuse_weight(HT_OPT_SORT, ht_cfg.sorts[0]);
	for (int i = 0; i < ht_cfg.nsignals; i++)
		if (!ht_sort_weight(ht_cfg.signals[i].key)) {
			refuse_weight(HT_OPT_SIGNALS, ht_cfg.signals[i].key);
			break;
		}
}

/*
 * Read variable i, once: config_depth() or config_traced() may have read
 * it already.  All run before the program has threads (the constructor, or
 * the first allocation: see bt_unwinder_init()).
 */
static void load(enum ht_option i)
{
	static bool loaded[HT_OPT_COUNT];
	const char *s = getenv(vars[i].var);
	const char *err;

	if (loaded[i])
		return;
	loaded[i] = true;
	if (!s)
		s = vars[i].def;
	err = setters[i](s);
	if (!err)
		return;
	warn_value(vars[i].var, s, err, vars[i].def);
	setters[i](vars[i].def);
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
	for (int i = 0; i < HT_OPT_COUNT; i++)
		load((enum ht_option)i);
	check_flame_weights();
	load_root_pid();
}

int config_depth(void)
{
	load(HT_OPT_DEPTH);
	return ht_cfg.depth;
}
