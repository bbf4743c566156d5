// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * world.c - stop-the-world for the leak scan (world.h).
 *
 * A thread cannot ptrace threads of its own thread group, so the stopping
 * is done by a helper task: clone() without CLONE_THREAD, sharing our
 * memory, files and file-system context, on a stack of tracer memory,
 * with no exit signal (the program's SIGCHLD handler and its wait(-1)
 * never see it: only __WALL waits for it).  It inherits the caller's
 * signal mask, which blocks everything (the reporter thread's, or
 * reporter_run()'s).  The two talk through one futex word: the caller
 * allows the helper to trace it (PR_SET_PTRACER, for Yama) and says GO;
 * the helper seizes and interrupts every thread it finds in
 * /proc/PID/task, again until a pass finds no new one, reads their
 * registers and says STOPPED; the caller scans and says RESUME; the
 * helper detaches (giving back any signal a stop took) and exits, which
 * would detach everything anyway if it died.
 *
 * The helper runs on the caller's TLS (no CLONE_SETTLS): it calls only
 * syscall(), whose errno is the caller's, saved around world_stop(); no
 * function that may take a lock, since a stopped thread may hold it.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "tmem.h"
#include "world.h"

#define HELPER_STACK (64 * 1024)

enum { W_INIT, W_GO, W_STOPPED, W_RESUME };

/* The one stop in progress (reports are serialized by the report lock). */
static struct {
	struct world *w;
	pid_t target, self, helper;
	int state; /* futex word */
	char *stack;
} h;

static void futex_wait(int *word, int val, long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	syscall(SYS_futex, word, FUTEX_WAIT, val, ms ? &ts : NULL, NULL, 0);
}

static void futex_set(int *word, int val)
{
	atomic_store_release(word, val);
	syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static uint64_t now_ms(void)
{
	struct timespec t;

	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ the helper */

static struct world_thread *find(struct world *w, pid_t tid)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->t[i].tid == tid)
			return &w->t[i];
	return NULL;
}

static struct world_thread *add(struct world *w, pid_t tid)
{
	if (!tmem_grow((void **)&w->t, &w->cap, w->n, sizeof(*w->t), 256))
		return NULL;
	w->t[w->n] = (struct world_thread){ .tid = tid };
	return &w->t[w->n++];
}

/* Wait until t stops (or is gone), up to the deadline. */
static void wait_stop(struct world *w, struct world_thread *t, uint64_t deadline)
{
	for (;;) {
		int st = 0;
		long r = syscall(SYS_wait4, t->tid, &st, __WALL | WNOHANG, NULL);

		if (r == t->tid && WIFSTOPPED(st)) {
			/* an interrupt's stop, or a signal's: that one is given back */
			if (st >> 16 != PTRACE_EVENT_STOP)
				t->resend = WSTOPSIG(st);
			t->stopped = true;
			return;
		}
		if (r < 0 || (r == t->tid && (WIFEXITED(st) || WIFSIGNALED(st)))) {
			t->gone = true; /* exited meanwhile: nothing of it to scan */
			return;
		}
		if (now_ms() >= deadline) {
			if (!w->why)
				w->why = ETIMEDOUT;
			return;
		}
		struct timespec ms = { 0, 1000000 };
		syscall(SYS_nanosleep, &ms, NULL);
	}
}

static void stop_one(struct world *w, pid_t tid, uint64_t deadline)
{
	struct world_thread *t = add(w, tid);
	struct iovec iov;

	if (!t) {
		w->why = w->why ? w->why : ENOMEM;
		return;
	}
	if (syscall(SYS_ptrace, PTRACE_SEIZE, tid, 0, 0) != 0) {
		if (errno == ESRCH)
			t->gone = true;
		else if (!w->why)
			w->why = errno;
		return;
	}
	syscall(SYS_ptrace, PTRACE_INTERRUPT, tid, 0, 0);
	wait_stop(w, t, deadline);
	if (!t->stopped)
		return;
	iov = (struct iovec){ &t->regs, sizeof(t->regs) };
	if (syscall(SYS_ptrace, PTRACE_GETREGSET, tid, NT_PRSTATUS, &iov) != 0)
		memset(&t->regs, 0, sizeof(t->regs));
}

/* One pass over /proc/PID/task; true if it found a thread not seen yet.
 * attach false: only list them (no helper: they run on). */
static bool stop_pass(struct world *w, int dir, uint64_t deadline, bool attach)
{
	char buf[4096];
	bool found = false;
	long n;

	syscall(SYS_lseek, dir, 0, SEEK_SET);
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);
			pid_t tid = 0;

			off += d->reclen;
			for (const char *c = d->name; *c >= '0' && *c <= '9'; c++)
				tid = tid * 10 + (*c - '0');
			if (tid <= 0 || tid == h.self || find(w, tid))
				continue;
			found = true;
			if (attach)
				stop_one(w, tid, deadline);
			else if (!add(w, tid))
				return false;
		}
	}
	return found;
}

/* /proc/<pid>/task of the process (the helper's /proc/self is its own). */
static int open_tasks(void)
{
	char path[64] = "/proc/", digits[16];
	int i = 6, nd = 0;

	for (pid_t p = h.target; p; p /= 10) /* without snprintf */
		digits[nd++] = (char)('0' + p % 10);
	while (nd)
		path[i++] = digits[--nd];
	memcpy(path + i, "/task", 6);
	return (int)syscall(SYS_open, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
}

static int helper(void *arg)
{
	struct world *w = arg;
	uint64_t deadline;
	int dir;

	/* if the thread that scans dies, so does the helper (it would wait
	 * forever, holding the process's descriptors open) */
	syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	while (atomic_load_acquire(&h.state) == W_INIT)
		futex_wait(&h.state, W_INIT, 0);
	deadline = now_ms() + WORLD_DEADLINE_MS;
	dir = open_tasks();
	if (dir < 0) {
		w->why = errno;
	} else {
		while (stop_pass(w, dir, deadline, true) && now_ms() < deadline)
			;
		syscall(SYS_close, dir);
	}
	futex_set(&h.state, W_STOPPED);
	while (atomic_load_acquire(&h.state) == W_STOPPED)
		futex_wait(&h.state, W_STOPPED, 0);
	for (size_t k = 0; k < w->n; k++)
		if (w->t[k].stopped)
			syscall(SYS_ptrace, PTRACE_DETACH, w->t[k].tid, 0, w->t[k].resend);
	return 0; /* exiting detaches whatever did not stop in time */
}

/* ------------------------------------------------------------ the caller */

/*
 * A seccomp filter may kill the process, or send its SIGSYS to a helper
 * that runs the program's handlers, for a clone() or ptrace() it does not
 * allow: under one, nothing is stopped ("Seccomp:" of /proc/self/status,
 * 0 without a filter).
 */
static bool seccomp_filtered(void)
{
	char buf[4096];
	int fd = (int)syscall(SYS_open, "/proc/self/status", O_RDONLY | O_CLOEXEC, 0);
	long n = fd >= 0 ? syscall(SYS_read, fd, buf, sizeof(buf) - 1) : -1;
	const char *p;

	if (fd >= 0)
		syscall(SYS_close, fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	p = strstr(buf, "\nSeccomp:");
	if (!p)
		return false; /* a kernel without seccomp */
	p += 9;
	while (*p == ' ' || *p == '\t')
		p++;
	return *p != '0';
}

bool world_stop(struct world *w)
{
	int saved = errno;

	memset(w, 0, sizeof(*w));
	tmem_grow((void **)&w->t, &w->cap, 0, sizeof(*w->t), 256);
	h = (typeof(h)){ .w = w, .target = getpid(), .self = (pid_t)syscall(SYS_gettid),
			 .stack = tmem_alloc_scratch(HELPER_STACK) };
	if (!w->t || !h.stack) {
		w->why = ENOMEM;
		goto out;
	}
	if (seccomp_filtered()) {
		w->why = EPERM;
		goto out;
	}
	h.helper = (pid_t)clone(helper, h.stack + HELPER_STACK,
				CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED, w);
	if (h.helper < 0) {
		w->why = errno;
		h.helper = 0;
		goto out;
	}
	prctl(PR_SET_PTRACER, h.helper, 0, 0, 0); /* fails harmlessly without Yama */
	futex_set(&h.state, W_GO);
	/* a helper that died (killed from outside) says nothing: look */
	while (atomic_load_acquire(&h.state) == W_GO) {
		int st;

		futex_wait(&h.state, W_GO, 100);
		if (syscall(SYS_wait4, h.helper, &st, __WALL | WNOHANG, NULL) == h.helper) {
			h.helper = 0;
			w->why = ECHILD;
			break;
		}
	}
out:
	if (!h.helper && w->t) { /* nothing stopped: list them, as running */
		int dir = open_tasks();

		if (dir >= 0) {
			stop_pass(w, dir, 0, false);
			syscall(SYS_close, dir);
		}
	}
	errno = saved;
	return !w->why;
}

void world_resume(struct world *w)
{
	int saved = errno, st;

	if (h.helper > 0) {
		futex_set(&h.state, W_RESUME);
		while (syscall(SYS_wait4, h.helper, &st, __WALL, NULL) < 0 && errno == EINTR)
			;
		prctl(PR_SET_PTRACER, 0, 0, 0, 0);
	}
	tmem_free(h.stack, HELPER_STACK);
	tmem_free(w->t, w->cap * sizeof(*w->t));
	h = (typeof(h)){ 0 };
	w->t = NULL;
	w->n = 0;
	errno = saved;
}
