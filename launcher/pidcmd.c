// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pidcmd.c - the launcher's --pid: the options become "NAME=VALUE" lines
 * (the HEAPTRACE_* variables they set, as for a program it starts), which
 * libheaptrace.so's heaptrace_attach() reads in the process instead of an
 * environment it was not started with; launcher/inject.c loads the library
 * there and makes the call.  --detach calls heaptrace_detach().  The
 * library's answer is a row of options.h' HT_ATTACH_RESULTS.  Which
 * library: pid_libs below.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
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

/*
 * The --pid libraries, in the order they are tried: initial-exec TLS, then
 * dynamic TLS for a process whose other late libraries took the static
 * TLS that glibc keeps for them (compat.h).  Loading fails then, leaving
 * nothing behind, with ld.so's "cannot allocate memory in static TLS
 * block".
 */
static const char *const pid_libs[] = { "libheaptrace-pid.so", "libheaptrace-pid-dyn.so" };
#define NO_TLS_ROOM "static TLS"

/*
 * What of ours pid has mapped: libheaptrace.so (preloaded: traced from its
 * start), or a library an earlier --pid loaded, whose file (into mapped,
 * PATH_MAX) any later --pid must load too: the same file is the same
 * copy, wherever this launcher's libraries are.  Its index in pid_libs,
 * or -1 for none; *gone when that file was deleted since (a reinstall):
 * no file is that copy any more.
 */
static int mapped_lib(pid_t pid, bool *preloaded, char *mapped, bool *gone)
{
	static const char deleted[] = " (deleted)\n";
	char path[64], line[PATH_MAX + 128];
	int found = -1;
	FILE *f;

	*preloaded = *gone = false;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/'), *name = strrchr(line, '/');
		size_t len = name ? strlen(name) : 0, d = sizeof(deleted) - 1;
		bool del = len > d && !strcmp(name + len - d, deleted);

		if (!name)
			continue;
		if (del)
			strcpy(name + len - d, "\n");
		if (!strcmp(name, "/libheaptrace.so\n"))
			*preloaded = true;
		for (int i = 0; i < (int)ARRAY_SIZE(pid_libs); i++) {
			size_t n = strlen(pid_libs[i]);

			if (strncmp(name + 1, pid_libs[i], n) || strcmp(name + 1 + n, "\n"))
				continue;
			found = i;
			*gone = del;
			file[strcspn(file, "\n")] = '\0';
			snprintf(mapped, PATH_MAX, "%s", file);
		}
	}
	if (f)
		fclose(f);
	return found;
}

int attach_main(pid_t pid, bool detach, const char *(*find_lib)(const char *name))
{
	const char *fn = detach ? "heaptrace_detach" : "heaptrace_attach";
	struct inject_result res = { 0 };
	char err[512], comm[64], mapped[PATH_MAX];
	bool preloaded, gone;
	int lib, rc;

	if (kill(pid, 0) && errno == ESRCH)
		die("--pid=%d: no such process", (int)pid);
	comm_of(pid, comm, sizeof(comm));
	lib = mapped_lib(pid, &preloaded, mapped, &gone);
	if (preloaded) /* nothing to load there, nothing changed */
		return error("process %d (%s) %s", (int)pid, comm, results[HT_ATTACH_PRELOADED]), 1;
	if (lib >= 0 && gone)
		return error("process %d (%s) runs heaptrace's library from %s, deleted since: "
			     "no heaptrace can reach it (restart the process to trace it anew)",
			     (int)pid, comm, mapped), 1;
	if (detach && lib < 0) /* nothing loaded: nothing to load either */
		return error("process %d (%s) %s", (int)pid, comm, results[HT_ATTACH_NOT_ATTACHED]), 1;
	rc = inject_dlopen_ex(pid, lib < 0 ? find_lib(pid_libs[0]) : mapped, fn,
			      detach ? "" : options_text(), NULL, &res, err, sizeof(err));
	if (rc && lib < 0 && strstr(err, NO_TLS_ROOM))
		rc = inject_dlopen_ex(pid, find_lib(pid_libs[1]), fn, options_text(), NULL, &res,
				      err, sizeof(err));
	if (rc) {
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
