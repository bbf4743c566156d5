// SPDX-License-Identifier: GPL-2.0-or-later
/* s-envview: prints its environment, sorted, one "[entry]" a line with
 * control bytes escaped: at the start of main, after allocations in main
 * and in a thread, and in a child it execs with the environment it has
 * ("s-envview child" prints at the start of its main and exits 0).  The
 * test drops LD_PRELOAD and HEAPTRACE_* from both runs and compares the
 * rest.  Exits 0.
 *   s-envview exec-with N ENTRY1 .. ENTRYN PROG [ARG...]
 *       execs PROG with exactly those N environment entries (duplicates,
 *       entries without '=' and all), which a test harness cannot pass. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
void *keep[16];

static void say(const char *fmt, ...)
{
	char buf[65536];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (write(STDOUT_FILENO, buf, (size_t)n) != n)
		_exit(90);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void show_env(const char *label)
{
	static char *entries[4096];
	size_t n = 0;

	for (char **e = environ; *e && n < 4096; e++)
		entries[n++] = *e;
	qsort(entries, n, sizeof(entries[0]), cmp_str);
	say("== %s: %zu entries\n", label, n);
	for (size_t i = 0; i < n; i++) {
		char line[65536];
		size_t len = 0;

		for (const unsigned char *p = (const unsigned char *)entries[i];
		     *p && len < sizeof(line) - 8; p++)
			len += (size_t)(*p < 0x20 || *p >= 0x7f
				? snprintf(line + len, 8, "\\x%02x", *p)
				: snprintf(line + len, 8, "%c", *p));
		line[len] = '\0';
		say("  [%s]\n", line);
	}
}

void allocate_some(void)
{
	for (int i = 0; i < 16; i++)
		keep[i] = malloc(10 * i + 1);
	for (int i = 0; i < 16; i += 3)
		free(keep[i]);
}

static void *thread_main(void *arg)
{
	(void)arg;
	allocate_some();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	pid_t pid;
	int status;

	if (argc > 3 && !strcmp(argv[1], "exec-with")) {
		int n = atoi(argv[2]);
		char **env = calloc((size_t)n + 1, sizeof(char *));

		if (n < 0 || argc < 4 + n || !env)
			return 2;
		memcpy(env, argv + 3, (size_t)n * sizeof(char *));
		execve(argv[3 + n], argv + 3 + n, env);
		perror("execve");
		return 127;
	}
	if (argc > 1 && !strcmp(argv[1], "child")) {
		show_env("exec'd child");
		return 0;
	}
	show_env("start of main");
	allocate_some();
	if (pthread_create(&th, NULL, thread_main, NULL) || pthread_join(th, NULL))
		return 91;
	show_env("after allocations and a thread");
	pid = fork();
	if (pid == 0) {
		execle("/proc/self/exe", argv[0], "child", (char *)NULL, environ);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
		return 92;
	return 0;
}
