// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pidcmd.c - the launcher's --pid: the options become "NAME=VALUE" lines
 * (the HEAPTRACE_* variables they set, as for a program it starts), which
 * libheaptrace.so's heaptrace_attach() reads in the process instead of an
 * environment it was not started with; launcher/inject.c loads the library
 * there and makes the call.  --detach calls heaptrace_detach().  The
 * library's answer is a row of options.h' HT_ATTACH_RESULTS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "utils.h"
#include "launcher/pidcmd.h"
#include "launcher/inject.h"
#include "launcher/usage.h"

extern char **environ;

static const char *const results[] = {
#define HT_ATTACH_TEXT(id, text) text,
	HT_ATTACH_RESULTS(HT_ATTACH_TEXT)
#undef HT_ATTACH_TEXT
};

/* Every HEAPTRACE_* variable of ours, a line each. */
static const char *options_text(void)
{
	static char text[8192];
	struct sbuf sb = SBUF_INIT(text);

	for (char **e = environ; *e; e++)
		if (!strncmp(*e, "HEAPTRACE_", 10) && !strchr(*e, '\n'))
			sb_printf(&sb, "%s\n", *e);
	if (sb.len >= sizeof(text) - 1)
		die("--pid: the options are too long");
	return text;
}

static void comm_of(pid_t pid, char *comm, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "r");
	if (!f || !fgets(comm, (int)size, f))
		snprintf(comm, size, "?");
	comm[strcspn(comm, "\n")] = '\0';
	if (f)
		fclose(f);
}

/* Is libheaptrace.so (preloaded: traced from its start) mapped in pid? */
static bool preloaded(pid_t pid)
{
	char path[64], line[4096];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "/libheaptrace.so\n") != NULL;
	if (f)
		fclose(f);
	return found;
}

int attach_main(pid_t pid, bool detach, const char *lib)
{
	const char *fn = detach ? "heaptrace_detach" : "heaptrace_attach";
	struct inject_result res = { 0 };
	char err[512], comm[64];

	if (kill(pid, 0) && errno == ESRCH)
		die("--pid=%d: no such process", (int)pid);
	comm_of(pid, comm, sizeof(comm));
	if (preloaded(pid)) /* nothing to load there, nothing changed */
		return error("process %d (%s) %s", (int)pid, comm, results[HT_ATTACH_PRELOADED]), 1;
	if (inject_dlopen_ex(pid, lib, fn, detach ? "" : options_text(), NULL, &res, err,
			     sizeof(err))) {
		error("--pid=%d: %s", (int)pid, err);
		return 1;
	}
	if (res.fn_ret < 0 || res.fn_ret >= HT_ATTACH_COUNT) {
		error("--pid=%d: %s answered %d", (int)pid, fn, res.fn_ret);
		return 1;
	}
	if (res.fn_ret != HT_ATTACH_OK)
		error("process %d (%s) %s", (int)pid, comm, results[res.fn_ret]);
	if (res.fn_ret != HT_ATTACH_OK && res.fn_ret != HT_ATTACH_OPTIONS_KEPT)
		return 1;
	fprintf(stderr, "heaptrace: %s process %d (%s)%s\n", detach ? "detached from" : "tracing",
		(int)pid, comm, detach ? "" : " from now on");
	return 0;
}
