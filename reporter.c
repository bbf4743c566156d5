// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * reporter.c - dumps on signals.  The handler only records which report was
 * asked for and posts a semaphore (both async-signal-safe): no lock, no
 * allocation, no output in signal context, so a signal that interrupts a
 * thread inside malloc cannot deadlock.  A thread of ours, with every signal
 * blocked so the program's signals still reach the program's threads, waits
 * on the semaphore and writes the report.  Many signals in a row may be
 * folded into one report per key; each report written is complete.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>

#include "guard.h"
#include "report.h"
#include "reporter.h"
#include "utils.h"

static struct {
	int signo;
	enum ht_sort key;
	bool ours;  /* our handler is installed and the program has not replaced it */
	int flags;  /* the kernel's sa_flags for it, as we installed it */
} triggers[] = {
	{ SIGUSR1, HT_SORT_SIZE, false, 0 },
	{ SIGUSR2, HT_SORT_COUNT, false, 0 },
};

static sem_t wake;
static sigaction_fn real_sigaction;
static int running; /* the reporter thread exists in this process */
static unsigned pending; /* bit i: triggers[i] was received */

static void on_signal(int signo)
{
	int saved = errno;

	for (unsigned i = 0; i < ARRAY_SIZE(triggers); i++)
		if (triggers[i].signo == signo)
			__atomic_or_fetch(&pending, 1u << i, __ATOMIC_RELAXED);
	sem_post(&wake);
	errno = saved;
}

static void *reporter_main(void *arg)
{
	(void)arg;
	tracer_enter(); /* for good: everything this thread allocates is ours */
	for (;;) {
		unsigned bits;

		if (sem_wait(&wake) && errno == EINTR)
			continue;
		bits = __atomic_exchange_n(&pending, 0, __ATOMIC_RELAXED);
		for (unsigned i = 0; i < ARRAY_SIZE(triggers); i++)
			if (bits & (1u << i))
				report_write(REPORT_ON_SIGNAL, &triggers[i].key, 1);
	}
	return NULL;
}

static void start_thread(void)
{
	sigset_t all, old;
	pthread_t th;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits it */
	err = pthread_create(&th, NULL, reporter_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		ht_warn("cannot start the reporter thread: %s; signals will not dump",
			strerror(err));
		return;
	}
	pthread_setname_np(th, "heaptrace");
	pthread_detach(th);
	running = 1;
}

static int trigger_of(int signo)
{
	for (unsigned i = 0; i < ARRAY_SIZE(triggers); i++)
		if (triggers[i].signo == signo)
			return (int)i;
	return -1;
}

/* Take a signal only if the program left it at its default. */
static void install(unsigned i, sigaction_fn real)
{
	struct sigaction sa, old;

	if (real(triggers[i].signo, NULL, &old) || old.sa_handler != SIG_DFL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (real(triggers[i].signo, &sa, NULL) || real(triggers[i].signo, NULL, &old))
		return;
	triggers[i].flags = old.sa_flags; /* glibc adds SA_RESTORER */
	__atomic_store_n(&triggers[i].ours, true, __ATOMIC_RELEASE);
}

void reporter_start(sigaction_fn real)
{
	real_sigaction = real;
	sem_init(&wake, 0, 0);
	start_thread();
	for (unsigned i = 0; i < ARRAY_SIZE(triggers); i++)
		install(i, real);
}

int reporter_threads(void)
{
	return running;
}

void reporter_fork_child(void)
{
	running = 0;
	pending = 0;
	sem_init(&wake, 0, 0);
	start_thread();
}

static void forget(int signo)
{
	__atomic_store_n(&triggers[trigger_of(signo)].ours, false, __ATOMIC_RELEASE);
}

/*
 * Is heaptrace's handler what the kernel has for signo right now?  The
 * kernel is asked too: sigignore(), siginterrupt() and other glibc calls
 * set dispositions through glibc's internal sigaction, past our hooks.
 */
static bool ours(int signo, struct sigaction *cur)
{
	int i = trigger_of(signo);

	if (i < 0 || !__atomic_load_n(&triggers[i].ours, __ATOMIC_ACQUIRE))
		return false;
	if (real_sigaction(signo, NULL, cur) == 0 && cur->sa_handler == on_signal)
		return true;
	forget(signo);
	return false;
}

/*
 * What the program would see: the default action, with the flags it gave
 * that action (siginterrupt() changes only the flags, and so of our handler).
 */
static void program_view(int signo, const struct sigaction *cur, struct sigaction *old)
{
	int flags = triggers[trigger_of(signo)].flags;

	if (cur->sa_flags != flags) {
		*old = *cur;
	} else {
		memset(old, 0, sizeof(*old));
		sigemptyset(&old->sa_mask);
	}
	old->sa_handler = SIG_DFL;
}

int reporter_sigaction(int signo, const struct sigaction *act, struct sigaction *old,
		       sigaction_fn real)
{
	struct sigaction cur;

	if (!ours(signo, &cur))
		return real(signo, act, old);
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
	struct sigaction cur;
	sighandler_fn prev;

	if (!ours(signo, &cur))
		return real(signo, handler);
	prev = real(signo, handler);
	if (prev == SIG_ERR)
		return prev;
	forget(signo);
	return SIG_DFL;
}
