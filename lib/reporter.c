// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * reporter.c - dumps on signals (--signals) and every --interval.  The
 * handler only records which report was asked for and posts a semaphore
 * (both async-signal-safe): no lock, no allocation, no output in signal
 * context, so a signal that interrupts a thread inside malloc cannot
 * deadlock.  A thread of ours, with every signal blocked so the program's
 * signals still reach the program's threads, waits on the semaphore (with
 * the next --interval deadline) and writes the report.  Many signals in a
 * row may be folded into one report per key; each report written is
 * complete.  The exit report is written by that thread too (reporter_run),
 * through the descriptors it keeps apart from the program's (output.c).
 *
 * The signals that end the process by default (fatal[]) are rows of the
 * same table: while the program leaves one at SIG_DFL, its handler asks
 * the thread for the exit report, waits for it (bounded), puts SIG_DFL
 * back and lets the signal end the process as it would have (same status,
 * same core dump).  See DESIGN.md, "The last report".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "config.h"
#include "guard.h"
#include "oom.h"
#include "output.h"
#include "report.h"
#include "reporter.h"
#include "utils.h"

/*
 * The signals whose default action ends the process: each gets a last
 * report while the program leaves it at SIG_DFL.  SIGKILL and SIGSTOP
 * cannot be caught.
 */
static const int fatal[] = { SIGTERM, SIGINT,  SIGHUP,  SIGQUIT, SIGSEGV, SIGBUS,
			     SIGABRT, SIGFPE,  SIGILL,  SIGXCPU, SIGXFSZ, SIGPIPE };
#define NFATAL ARRAY_SIZE(fatal)

/* --signals from ht_cfg, then a row per fatal signal that --signals does
 * not take, at start-up; only ours changes afterwards. */
static struct {
	int signo;
	enum ht_sort key;
	bool fatal; /* a last report, then death (not a --signals dump) */
	/* the program set SIG_DFL with these flags and mask (sigaction()):
	 * what it reads back while ours is installed */
	bool has_view;
	struct sigaction view;
	bool ours;  /* our handler is installed and the program has not replaced it */
	int flags;  /* the kernel's sa_flags for it, as we installed it */
	bool saved; /* was holds the kernel's disposition from before ours */
	/* that disposition, in the kernel's layout (opaque to us: glibc's
	 * sigaction() would add its restorer and SA_RESTORER putting it back) */
	uint64_t was[8];
} triggers[HT_MAX_SIGNALS + NFATAL];
static unsigned ntriggers;

static sem_t wake, started;
static sigaction_fn real_sigaction;
static int running; /* the reporter thread exists in this process */
static unsigned pending; /* bit i: triggers[i] was received */

/*
 * The last report (fatal signals): fatal_phase goes 0 -> ASKED (by the
 * first fatal signal's handler, the one that set fatal_claimed) -> WRITTEN (the
 * thread, then a futex wake for every handler waiting).  last_report is
 * process.c's exit report; reporter_clock the thread's CPU clock, by which
 * a waiting handler tells a thread that works from a thread stuck on a
 * lock that the dying thread holds.
 */
enum { FATAL_NONE, FATAL_ASKED, FATAL_WRITTEN };
static int fatal_phase, fatal_claimed;
static bool (*last_report)(void);
static clockid_t reporter_clock;
static bool have_clock;

/* A report that a program thread waits for (reporter_run()). */
static struct {
	bool (*fn)(void); /* set by the waiter, taken by the thread */
	bool result;
	sem_t done;
} job;

static void on_signal(int signo)
{
	int saved = errno;

	for (unsigned i = 0; i < ntriggers; i++)
		if (triggers[i].signo == signo)
			atomic_or_relaxed(&pending, 1u << i);
	sem_post(&wake);
	errno = saved;
}

static void add_ms(struct timespec *t, unsigned long long ms)
{
	t->tv_sec += (time_t)(ms / 1000);
	t->tv_nsec += (long)(ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Move *t on by whole --interval periods until it is in the future: a slow
 * report does not make periodic reports pile up. */
static void next_deadline(struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	do
		add_ms(t, ht_cfg.interval_ms);
	while (!before(&now, t));
}

/*
 * sem_wait until a CLOCK_MONOTONIC deadline.  Without sem_clockwait, the
 * deadline moves to the realtime clock (a clock change then shifts one
 * periodic report).
 */
static int sem_wait_until(sem_t *sem, const struct timespec *deadline)
{
#ifdef HAVE_SEM_CLOCKWAIT
	return sem_clockwait(sem, CLOCK_MONOTONIC, deadline);
#else
	struct timespec mono, rt;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &rt);
	ns = (deadline->tv_sec - mono.tv_sec) * 1000000000LL + (deadline->tv_nsec - mono.tv_nsec);
	ns = (ns > 0 ? ns : 0) + rt.tv_nsec;
	rt.tv_sec += (time_t)(ns / 1000000000LL);
	rt.tv_nsec = (long)(ns % 1000000000LL);
	return sem_timedwait(sem, &rt);
#endif
}

/* --pid: what the thread also runs every tick_ms (reporter_tick()). */
static void (*tick_fn)(void);
static unsigned tick_ms;

void reporter_tick(void (*fn)(void), unsigned ms)
{
	tick_ms = ms;
	atomic_store_release(&tick_fn, fn);
	sem_post(&wake); /* a thread asleep without a deadline takes it up */
}

/*
 * Wait for a signal's wake-up; true when the --interval deadline came
 * first.  The ticks come between, each tick_ms after the last wake-up.
 */
static bool wait_for_work(struct timespec *deadline)
{
	void (*tick)(void);
	struct timespec at;
	const struct timespec *until;

	for (;;) {
		until = ht_cfg.interval_ms ? deadline : NULL;
		tick = atomic_load_acquire(&tick_fn);
		if (tick) {
			clock_gettime(CLOCK_MONOTONIC, &at);
			add_ms(&at, tick_ms);
			if (!until || before(&at, until))
				until = &at;
		}
		if (!until) {
			while (sem_wait(&wake) && errno == EINTR)
				;
			return false;
		}
		if (!sem_wait_until(&wake, until))
			return false;
		if (errno == EINTR)
			continue;
		if (errno != ETIMEDOUT)
			return false;
		if (until == &at) {
			tick();
			continue;
		}
		next_deadline(deadline);
		return true;
	}
}

static HT_TLS bool on_reporter; /* this thread is the reporter */

bool reporter_is_self(void)
{
	return on_reporter;
}

static void *reporter_main(void *arg)
{
	struct timespec next;

	(void)arg;
	on_reporter = true;
	tracer_enter(); /* for good: everything this thread allocates is ours */
	out_private_fds();
	sem_post(&started);
	clock_gettime(CLOCK_MONOTONIC, &next);
	if (ht_cfg.interval_ms)
		next_deadline(&next);
	for (;;) {
		unsigned bits;
		bool (*fn)(void);

		if (wait_for_work(&next)) {
			if (!ht_process.untraced) /* --pid --detach'ed */
				report_write(REPORT_PERIODIC, ht_cfg.sort.keys, ht_cfg.sort.n);
			oom_run();
			continue;
		}
		if (atomic_load_acquire(&fatal_phase) == FATAL_ASKED) {
			/* before anything else: the process is about to end */
			last_report();
			atomic_store_release(&fatal_phase, FATAL_WRITTEN);
			syscall(SYS_futex, &fatal_phase, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
		}
		bits = atomic_xchg_relaxed(&pending, 0);
		for (unsigned i = 0; i < ntriggers; i++)
			if (bits & (1u << i))
				report_write(REPORT_ON_SIGNAL, &triggers[i].key, 1);
		oom_run();
		fn = atomic_xchg_acquire(&job.fn, NULL);
		if (fn) {
			job.result = fn();
			sem_post(&job.done);
		}
	}
	return NULL;
}

/*
 * The reporter's stack, not the 8 MiB default (RLIMIT_STACK): under
 * `ulimit -v` that is address space the program could not have.  The
 * deepest report is libbfd's demangler on a name as long as it takes
 * (debuginfo.c) that nests a thousand levels deep (int**...*,
 * tests/s-deepname.cc); a report of C++ frames with inlined calls takes
 * far less (both measured in bench/README.md).  1 MiB holds the deepest
 * with room for a demangler built with bigger frames; glibc adds a guard
 * page below it.
 */
#define REPORTER_STACK (1024 * 1024)

/* glibc carves the static TLS blocks out of a thread's stack: add them. */
static int add_tls(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_TLS)
			*(size_t *)arg += info->dlpi_phdr[i].p_memsz + info->dlpi_phdr[i].p_align;
	return 0;
}

static void start_thread(void)
{
	size_t stack = REPORTER_STACK;
	pthread_attr_t attr;
	sigset_t all, old;
	pthread_t th;
	int err;

	dl_iterate_phdr(add_tls, &stack);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, stack);
	pthread_attr_setguardsize(&attr, (size_t)sysconf(_SC_PAGESIZE));
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits it */
	err = pthread_create(&th, &attr, reporter_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err) {
		ht_warn("cannot start the reporter thread: %s; signals will not dump",
			strerror(err));
		return;
	}
	pthread_setname_np(th, "heaptrace");
	have_clock = pthread_getcpuclockid(th, &reporter_clock) == 0;
	pthread_detach(th);
	running = 1;
	/* the program's descriptors may change once we return (output.c) */
	while (sem_wait(&started))
		;
}

static int trigger_of(int signo)
{
	for (unsigned i = 0; i < ntriggers; i++)
		if (triggers[i].signo == signo)
			return (int)i;
	return -1;
}

/* The kernel's sigaction: new and old in its own layout, at most 64 bytes. */
static long raw_sigaction(int signo, const void *new, void *old)
{
	return syscall(SYS_rt_sigaction, signo, new, old, (size_t)(NSIG - 1) / 8);
}

static void on_fatal(int signo, siginfo_t *si, void *uc);

/* The handler of row i, as the kernel holds it. */
static void *handler_of(unsigned i)
{
	return triggers[i].fatal ? (void *)on_fatal : (void *)on_signal;
}

/* Take a signal only if the program left it at its default. */
static void install(unsigned i, sigaction_fn real)
{
	struct sigaction sa, old;

	if (real(triggers[i].signo, NULL, &old) || old.sa_handler != SIG_DFL)
		return;
	triggers[i].saved = raw_sigaction(triggers[i].signo, NULL, triggers[i].was) == 0;
	memset(&sa, 0, sizeof(sa));
	if (triggers[i].fatal) {
		sa.sa_sigaction = on_fatal;
		/* on the thread's signal stack if it has one: a stack overflow
		 * gets its report too (without one, the kernel kills as before) */
		sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	} else {
		sa.sa_handler = on_signal;
		sa.sa_flags = SA_RESTART;
	}
	sigemptyset(&sa.sa_mask);
	if (real(triggers[i].signo, &sa, NULL) || real(triggers[i].signo, NULL, &old))
		return;
	triggers[i].flags = old.sa_flags; /* glibc adds SA_RESTORER */
	atomic_store_release(&triggers[i].ours, true);
}

static int trigger_of(int signo);
static void give_back(void);

/* The signals that dump, then a row per fatal signal: each where the
 * program left its default (install()). */
static void take_signals(void)
{
	for (int i = 0; i < ht_cfg.signals.n; i++)
		triggers[ntriggers++] = (typeof(triggers[0])){ .signo = ht_cfg.signals.sigs[i].signo,
							      .key = ht_cfg.signals.sigs[i].key };
	/* a signal that --signals takes dumps and lets the program run on */
	for (unsigned i = 0; i < NFATAL; i++)
		if (trigger_of(fatal[i]) < 0)
			triggers[ntriggers++] =
				(typeof(triggers[0])){ .signo = fatal[i], .fatal = true };
	for (unsigned i = 0; i < ntriggers; i++)
		if (running || !triggers[i].fatal) /* no thread: no last report */
			install(i, real_sigaction);
}

void reporter_start(sigaction_fn real, bool (*last)(void))
{
	real_sigaction = real;
	last_report = last;
	sem_init(&wake, 0, 0);
	sem_init(&started, 0, 0);
	sem_init(&job.done, 0, 0);
	start_thread();
	take_signals();
}

/* --pid --detach, and an attach after it: the thread stays, waiting. */
void reporter_pause(void)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	give_back();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void reporter_resume(void)
{
	take_signals();
}

void reporter_wake(void)
{
	sem_post(&wake);
}

int reporter_threads(void)
{
	return running;
}

/*
 * The program's signal handlers may interrupt its threads anywhere and call
 * malloc, and a report calls into the loader, libbfd and libc, whose locks
 * a handler's hook on the same thread could then wait for forever.  So
 * reports run on the reporter thread, where no handler of the program
 * runs; the caller waits (its handlers run meanwhile, as in any wait).
 * Without the thread, the report runs here with the signals held back.
 */
bool reporter_run(bool (*fn)(void))
{
	sigset_t all, old;
	bool r;

	if (running) {
		atomic_store_release(&job.fn, fn);
		sem_post(&wake);
		while (sem_wait(&job.done))
			;
		return job.result;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	tracer_enter();
	r = fn();
	tracer_exit();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

void reporter_fork_child(void)
{
	running = 0;
	pending = 0;
	job.fn = NULL;
	fatal_phase = FATAL_NONE; /* a fork in a dying process: the child is alive */
	fatal_claimed = 0;
	sem_init(&wake, 0, 0);
	sem_init(&started, 0, 0);
	sem_init(&job.done, 0, 0);
	start_thread();
}

static void forget(int signo)
{
	triggers[trigger_of(signo)].has_view = false;
	atomic_store_release(&triggers[trigger_of(signo)].ours, false);
}

/*
 * Is heaptrace's handler what the kernel has for signo right now?  The
 * kernel is asked too: sigignore(), siginterrupt() and other glibc calls
 * set dispositions through glibc's internal sigaction, past our hooks.
 */
static bool ours(int signo, struct sigaction *cur)
{
	int i = trigger_of(signo);

	if (i < 0 || !atomic_load_acquire(&triggers[i].ours))
		return false;
	if (real_sigaction(signo, NULL, cur) == 0 && (void *)cur->sa_handler == handler_of((unsigned)i))
		return true;
	forget(signo);
	return false;
}

/* ---------------------------------------------------------------- the last report */

/*
 * How long a dying thread waits for its report: while the thread works
 * (its CPU clock moves by FATAL_BUSY_NS each FATAL_IDLE_NS at least), up
 * to FATAL_MAX_NS.  A thread that does not move for FATAL_IDLE_NS waits
 * for a lock that will never be given back (the dying thread holds it:
 * a crash inside a hook or the loader) or for output that nobody reads.
 */
#define FATAL_MAX_NS (60 * 1000000000ULL)
#define FATAL_IDLE_NS (2 * 1000000000ULL)
#define FATAL_BUSY_NS 1000000ULL
#define FATAL_SLICE_NS 50000000L

static uint64_t ns_of(clockid_t clock)
{
	struct timespec t;

	if (clock_gettime(clock, &t))
		return 0;
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* In a handler: wait until the last report is written, or until it cannot be. */
static void wait_last_report(void)
{
	uint64_t start = ns_of(CLOCK_MONOTONIC), mark = start;
	uint64_t cpu = have_clock ? ns_of(reporter_clock) : 0;
	struct timespec slice = { 0, FATAL_SLICE_NS };

	while (atomic_load_acquire(&fatal_phase) == FATAL_ASKED) {
		uint64_t now = ns_of(CLOCK_MONOTONIC);

		if (now - start >= FATAL_MAX_NS)
			return;
		if (now - mark >= FATAL_IDLE_NS) {
			uint64_t c = have_clock ? ns_of(reporter_clock) : cpu + FATAL_BUSY_NS;

			if (c - cpu < FATAL_BUSY_NS)
				return;
			cpu = c;
			mark = now;
		}
		syscall(SYS_futex, &fatal_phase, FUTEX_WAIT_PRIVATE, FATAL_ASKED, &slice, NULL, 0);
	}
}

/*
 * Let signo do what it would have done without us: its default action
 * back (the kernel's own disposition from before ours), then the signal
 * sent again to this thread, with its siginfo (the core's note keeps the
 * fault's code and address), and unblocked here.  A fault is not left to
 * come back by running its instruction again: the report may have mapped
 * tracer memory where the fault found none (a double free of a block that
 * malloc had unmapped, tests/test_misuse.py), and the program would run on.
 */
static void die(int signo, siginfo_t *si)
{
	int i = trigger_of(signo);
	pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);
	struct sigaction dfl;
	sigset_t one;

	if (!triggers[i].saved || raw_sigaction(signo, triggers[i].was, NULL)) {
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		real_sigaction(signo, &dfl, NULL);
	}
	if (!si || syscall(SYS_rt_tgsigqueueinfo, pid, tid, signo, si))
		syscall(SYS_tgkill, pid, tid, signo);
	sigemptyset(&one);
	sigaddset(&one, signo);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
}

/* A fault of the instruction the thread was running (not a kill()). */
static bool is_fault(int signo, const siginfo_t *si)
{
	return (signo == SIGSEGV || signo == SIGBUS || signo == SIGFPE || signo == SIGILL) &&
	       si && si->si_code > 0;
}

/*
 * The first fatal signal asks the thread for the last report and waits;
 * a fault in another thread meanwhile waits too (threads that crash
 * together), any other fatal signal ends the process at once, as it would
 * have without us.  Async-signal-safe: atomics, sem_post, futex, clocks.
 */
static void on_fatal(int signo, siginfo_t *si, void *uc)
{
	int saved = errno;
	bool fault = is_fault(signo, si);

	(void)uc;
	if (!atomic_xchg_acq_rel(&fatal_claimed, 1)) {
		atomic_store_release(&fatal_phase, FATAL_ASKED);
		sem_post(&wake);
		wait_last_report();
	} else if (fault) {
		wait_last_report();
	}
	die(signo, si);
	errno = saved; /* not reached */
}

/*
 * An untraced child (process.c) dumps nothing: a signal that would
 * have dumped gets its default action back, as it has untraced.  Called
 * with every signal blocked.
 */
static void give_back(void)
{
	struct sigaction cur, dfl;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (unsigned i = 0; i < ntriggers; i++) {
		if (!ours(triggers[i].signo, &cur))
			continue;
		if (!triggers[i].saved || raw_sigaction(triggers[i].signo, triggers[i].was, NULL))
			real_sigaction(triggers[i].signo, &dfl, NULL);
	}
	ntriggers = 0;
}

void reporter_give_back_signals(void)
{
	give_back();
	running = 0;
}

/*
 * What the program would see: the default action, with the flags it gave
 * that action (siginterrupt() changes only the flags, and so of our handler).
 */
static void program_view(int signo, const struct sigaction *cur, struct sigaction *old)
{
	int i = trigger_of(signo), flags = triggers[i].flags;

	if (triggers[i].has_view) {
		*old = triggers[i].view;
	} else if (cur->sa_flags != flags) {
		*old = *cur;
	} else {
		memset(old, 0, sizeof(*old));
		sigemptyset(&old->sa_mask);
	}
	old->sa_handler = SIG_DFL;
}

/* Is act the default action of a signal that gets a last report? */
static bool fatal_default(int signo, const struct sigaction *act)
{
	int i = trigger_of(signo);

	return act && i >= 0 && triggers[i].fatal && running && act->sa_handler == SIG_DFL;
}

/*
 * The program sets SIG_DFL on a fatal signal: it keeps its last report (or
 * gets it back, after a handler of its own).  It reads back what it set.
 */
static void keep_view(int signo, const struct sigaction *act)
{
	int i = trigger_of(signo);

	triggers[i].view = *act;
	triggers[i].view.sa_handler = SIG_DFL;
	triggers[i].view.sa_flags &= ~SA_SIGINFO;
	triggers[i].has_view = true;
}

int reporter_sigaction(int signo, const struct sigaction *act, struct sigaction *old,
		       sigaction_fn real)
{
	struct sigaction cur;

	if (!ours(signo, &cur)) {
		int r = real(signo, act, old);

		if (r == 0 && fatal_default(signo, act)) {
			install((unsigned)trigger_of(signo), real_sigaction);
			keep_view(signo, act);
		}
		return r;
	}
	if (fatal_default(signo, act)) {
		if (old)
			program_view(signo, &cur, old);
		keep_view(signo, act);
		return 0;
	}
	if (act) {
		int r = real(signo, act, NULL);

		if (r)
			return r;
		forget(signo);
	}
	if (old)
		program_view(signo, &cur, old);
	return 0;
}

sighandler_fn reporter_signal(int signo, sighandler_fn handler,
			      sighandler_fn (*real)(int, sighandler_fn))
{
	struct sigaction cur, dfl;
	sighandler_fn prev;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = handler;
	sigemptyset(&dfl.sa_mask);
	if (!ours(signo, &cur)) {
		prev = real(signo, handler);
		if (prev != SIG_ERR && fatal_default(signo, &dfl)) {
			install((unsigned)trigger_of(signo), real_sigaction);
			triggers[trigger_of(signo)].has_view = false;
		}
		return prev;
	}
	if (fatal_default(signo, &dfl))
		return SIG_DFL;
	prev = real(signo, handler);
	if (prev == SIG_ERR)
		return prev;
	forget(signo);
	return SIG_DFL;
}
