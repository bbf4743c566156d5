// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * process.c - the traced process's life: start-up (the library's
 * constructor, before main, on the thread that loaded it), the handlers
 * fork() runs in the forking thread and in the child, and the exit report
 * (on_exit(), after every destructor; written on the reporter thread).
 * All of it runs in tracer mode (guard.h), in normal context, never inside
 * a hook: it may take locks, allocate (tracer memory) and write.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stacktrace.h"
#include "utils.h"
#include "addrmap.h"
#include "cfi.h"
#include "config.h"
#include "guard.h"
#include "handlers.h"
#include "hooks.h"
#include "ignore.h"
#include "oom.h"
#include "output.h"
#include "process.h"
#include "report.h"
#include "reporter.h"
#include "sample.h"
#include "symbols.h"
#include "tmem.h"
#include "unwind.h"

/* ---------------------------------------------------------------- fork */

/*
 * Every tracer lock is held across fork(), so the child never inherits a
 * table in mid-update; the forking thread is busy meanwhile, so the other
 * atfork handlers that run after ours may allocate without taking our locks.
 */
static HT_TLS int fork_errno;
/*
 * The program's signals wait while every lock is held (a handler's hooks
 * could only queue, and the child would inherit the queue): a few
 * microseconds, then delivered as usual.
 */
static HT_TLS sigset_t fork_mask;

static void fork_prepare(void)
{
	sigset_t all;

	if (ht_process.untraced)
		return;
	fork_errno = errno;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &fork_mask);
	tracer_enter();
	report_fork_prepare();
	bt_fork_prepare();
	cfi_fork_prepare();
	am_fork_prepare();
	tmem_fork_prepare();
}

static void fork_parent(void)
{
	if (ht_process.untraced)
		return;
	tmem_fork_parent();
	am_fork_parent();
	cfi_fork_parent();
	bt_fork_parent();
	report_fork_parent();
	tracer_exit();
	pthread_sigmask(SIG_SETMASK, &fork_mask, NULL);
	errno = fork_errno;
}

/*
 * The child is traced with --trace-children only.  Else it gives back the
 * signals that dump and becomes untraced before its signals come back: it
 * has one thread, so no hook is inside the tables that it stops writing.
 */
static void fork_child(void)
{
	if (ht_process.untraced)
		return;
	tmem_fork_child();
	am_fork_child();
	cfi_fork_child();
	unwind_fork_child();
	bt_fork_child();
	report_fork_child();
	if (config_traced()) {
		out_fork_child();
		oom_fork_child();
		reporter_fork_child();
	} else {
		reporter_give_back_signals();
		ht_process.untraced = true;
	}
	tracer_exit();
	pthread_sigmask(SIG_SETMASK, &fork_mask, NULL);
	errno = fork_errno;
}

/* ---------------------------------------------------------------- start and exit */

static void set_root_pid(void)
{
	char pid[16];

	if (getenv(HT_ENV_ROOT_PID))
		return;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv(HT_ENV_ROOT_PID, pid, 0); /* so that children know who the root is */
}

/* Threads of the process, from /proc/self/status (0 when unknown). */
static int thread_count(void)
{
	char buf[4096], *p;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	p = strstr(buf, "\nThreads:");
	return p ? atoi(p + 9) : 0;
}

/*
 * What the C and C++ runtimes keep until the process ends is not the
 * program's leak: libstdc++'s emergency exception pool is released as
 * valgrind does, with __gnu_cxx::__freeres(), but only when no other thread
 * of the program is left to throw; the buffers of the standard streams are
 * only forgotten, as libc still flushes them after us.
 */
static void release_runtime_memory(bool dying)
{
	void (*freeres)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, CXX_FRERES);
	FILE *streams[] = { stdin, stdout, stderr };

	if (!freeres)
		freeres = hooks_cxx_freeres();
	/* a thread that a fatal signal stopped may be inside libstdc++ */
	if (freeres && !dying && thread_count() == 1 + reporter_threads())
		freeres();
	for (size_t i = 0; i < ARRAY_SIZE(streams); i++)
		if (streams[i] && ht_stdio_buffer(streams[i]))
			acct_free(ht_stdio_buffer(streams[i]), NULL, false);
}

/* On the reporter thread: true when something is left (--check). */
static bool exit_report(void)
{
	bool leaked;

	release_runtime_memory(false);
	leaked = report_write(REPORT_AT_EXIT, ht_cfg.sort.keys, ht_cfg.sort.n);
	unwind_check_report();
	return leaked;
}

/*
 * On the reporter thread, when a fatal signal ends the process: the exit
 * report (a second one is not written: report_write() closes), while the
 * dying thread waits in its handler (reporter.c).  --check does not apply:
 * the status is the signal's.
 */
static bool last_report(void)
{
	release_runtime_memory(true);
	report_write(REPORT_AT_EXIT, ht_cfg.sort.keys, ht_cfg.sort.n);
	unwind_check_report();
	return false;
}

/*
 * The exit report must come after every destructor that frees memory.  Our
 * own ELF destructor would run before those of libraries initialized
 * earlier, and atexit() from a library is tied to its destructor; on_exit()
 * has no owner, and registered here (before __libc_start_main registers the
 * loader's destructor pass) it runs after all of them.
 */
static void heaptrace_exit(int status, void *arg)
{
	static bool done;
	int saved = errno;
	bool leaked;

	(void)arg;
	if (done || ht_process.untraced)
		return;
	done = true;
	leaked = reporter_run(exit_report);
	errno = saved; /* the program's exit handlers and stdio flush run after us */
	/* --check: a leak fails a program that would succeed; stdio would be
	 * flushed after us, so flush it before leaving with 23 */
	if (ht_cfg.check && leaked && status == 0) {
		fflush(NULL);
		_exit(HT_CHECK_STATUS);
	}
}

bool process_ready;

/*
 * Set the unwinder (the default method until start-up hands it --unwind)
 * and the depth up, once, at the first allocation (before any thread of
 * the program exists) or at start-up, whichever comes first.  The depth
 * is fixed before the first backtrace is kept.
 */
void process_setup(void)
{
	static int started;

	if (atomic_xchg_acq_rel(&started, 1)) {
		while (!atomic_load_acquire(&process_ready))
			cpu_relax();
		return;
	}
	unwind_init(HT_UNWIND_DWARF);
	config_depth(); /* before the first backtrace, which may be taken before start-up */
	/* before the first record: a block recorded whole and released as a
	 * sample would take back what it never added (sample.h) */
	sample_init(config_sample());
	/* A program an untraced child executes: forward from here on, not
	 * only from our constructor (config.h: ht_process). */
	ht_process.untraced = !config_traced();
	atomic_store_release(&process_ready, true);
}

static void start_tracing(void)
{
	tmem_set_limit(ht_cfg.max_memory);
	sym_init();
	set_root_pid();
	ignore_load(ht_cfg.ignore);
	process_setup();
	bt_threads_init();
	unwind_init(ht_cfg.unwind);
	out_init();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	oom_init();
	reporter_start(hooks_real_sigaction(), last_report);
	on_exit(heaptrace_exit, NULL);
}

/* --pid (attach.c): the start-up that the constructor left, from now on;
 * the program's handlers are taken over before ours go in. */
void process_attach(void (*take_handlers)(void))
{
	ht_start_ns = ht_now_ns();
	config_load();
	handlers_init(hooks_real_sigaction());
	take_handlers();
	start_tracing();
}

/*
 * A program that an untraced child executes is untraced too: it keeps the
 * hooks (LD_PRELOAD is inherited) and they only forward.  What it
 * allocated before this constructor ran is left in the tables, unread.
 */
__attribute__((constructor)) static void heaptrace_init(void)
{
	int saved = errno;

	tracer_enter();
	ht_start_ns = ht_now_ns();
	hooks_resolve_all();
	hooks_find_loader();
	if (!hooks_interposed()) {
		/* dlopen'ed by --pid: nothing comes here before the launcher's
		 * heaptrace_attach() redirects the calls (attach.c) */
		ht_process.untraced = true;
		tracer_exit();
		errno = saved;
		return;
	}
	process_setup(); /* if no allocation did: before config_load()'s own */
	config_load();
	handlers_init(hooks_real_sigaction());
	if (config_traced())
		start_tracing();
	else
		ht_process.untraced = true;
	tracer_exit();
	errno = saved;
}
