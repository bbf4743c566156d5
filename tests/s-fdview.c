// SPDX-License-Identifier: GPL-2.0-or-later
/* s-fdview: lists its open file descriptors, each with what it points to
 * (readlink of /proc/self/fd/N, the listing's own descriptor left out), so
 * that a traced run can be compared with an untraced one.
 *   s-fdview main
 *       lists at the start of main; after four threads allocated and freed
 *       (keeping a few blocks); then writes "ready" and waits for a byte on
 *       stdin (the test has heaptrace dump on SIGUSR1 meanwhile) and lists
 *       again; then forks and execs itself as "s-fdview child", which lists
 *       what it inherited at the start of its main and exits 0; lists at
 *       the end of main; and once more after every exit handler (heaptrace's
 *       exit report included): exit() flushes a stdio stream of our own
 *       whose write function lists.  Exits 3.
 *   s-fdview child
 *       lists at the start of main and exits 0. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NTHREADS 4

void *keep[NTHREADS][8];

static void say(const char *fmt, ...)
{
	char buf[8192];
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

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* No malloc here: the listing must not depend on the allocator. */
static void list_fds(const char *label)
{
	int fds[1024], n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	say("== %s\n", label);
	if (!d) {
		say("  cannot open /proc/self/fd: %m\n");
		return;
	}
	while ((e = readdir(d)) && n < 1024) {
		if (e->d_name[0] == '.')
			continue;
		if (atoi(e->d_name) != dirfd(d))
			fds[n++] = atoi(e->d_name);
	}
	closedir(d);
	qsort(fds, (size_t)n, sizeof(int), cmp_int);
	for (int i = 0; i < n; i++) {
		char path[64], target[PATH_MAX];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
		len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		say("  %d -> %s%s\n", fds[i], target,
		    fcntl(fds[i], F_GETFD) & FD_CLOEXEC ? " (close-on-exec)" : "");
	}
}

void thread_work(int t)
{
	for (int round = 0; round < 200; round++) {
		void *p = malloc(32 + t * 100 + round);

		free(p);
	}
	for (int i = 0; i < 8; i++)
		keep[t][i] = malloc(64 * (t + 1) + i);
}

static void *thread_main(void *arg)
{
	thread_work((int)(long)arg);
	return NULL;
}

/* exit() flushes this stream after every exit handler, heaptrace's too. */
static ssize_t late_write(void *cookie, const char *buf, size_t size)
{
	(void)cookie;
	(void)buf;
	list_fds("after exit handlers");
	return (ssize_t)size;
}

static void arm_late_list(void)
{
	cookie_io_functions_t io = { .write = late_write };
	FILE *f = fopencookie(NULL, "w", io);

	if (!f)
		exit(93);
	setvbuf(f, NULL, _IOFBF, 64);
	fputs("late", f);
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	pid_t pid;
	int status;
	char c;

	if (argc > 1 && !strcmp(argv[1], "child")) {
		list_fds("exec'd child");
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "main")) {
		say("usage: s-fdview main|child\n");
		return 2;
	}
	list_fds("start of main");
	for (long t = 0; t < NTHREADS; t++)
		if (pthread_create(&th[t], NULL, thread_main, (void *)t))
			return 91;
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	list_fds("after allocations in threads");
	say("ready\n");
	if (read(STDIN_FILENO, &c, 1) != 1)
		return 92;
	list_fds("after the dump");
	pid = fork();
	if (pid == 0) {
		execl("/proc/self/exe", argv[0], "child", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
		return 94;
	list_fds("end of main");
	arm_late_list();
	return 3;
}
