// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * handlers.c - the program's signal handlers run through a trampoline of
 * ours.  A handler may interrupt its thread anywhere: inside a hook, a
 * report, a fork handler.  The trampoline gives it the state of a thread
 * that runs no tracer code (not busy, not in tracer mode, freeing nothing),
 * so that what it allocates and frees is the program's and is recorded, and
 * puts the interrupted state back when it returns.  Locks the thread holds
 * stay held, and the hooks then queue their bookkeeping (guard.h).  It also
 * tells the hooks that they run in a handler (the unwinder then leaves
 * libunwind alone, cfi.h) and on which signal stack, if any.  A handler
 * that leaves by siglongjmp() leaves that mark on its thread: later
 * backtraces there that the walk alone cannot take are then cut, not
 * wrong.
 *
 * The kernel holds the trampoline with SA_SIGINFO added; the program reads
 * back its own handler and flags.  Dispositions set past our hooks (a raw
 * rt_sigaction system call, glibc-internal calls such as sigignore) reach
 * the kernel unchanged and run without the trampoline.  Runs in the
 * program's sigaction()/signal() calls and in signal context: no lock, no
 * allocation, no output; one sigaltstack() call for a handler that runs on
 * a signal stack.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "atomic.h"
#include "guard.h"
#include "handlers.h"

typedef void (*handler3_fn)(int, siginfo_t *, void *);

/* The program's handler and flags per signal, as it set them. */
static struct {
	handler3_fn fn;
	int flags;
} prog[NSIG];

static sigaction_fn real_sigaction;

void handlers_init(sigaction_fn real)
{
	real_sigaction = real;
}

/*
 * A handler of either kind is called with three arguments: one that takes
 * only the signal number ignores the others, which are passed in registers
 * (as the kernel itself calls handlers).
 */
/*
 * The lowest byte of the signal stack the handler runs on, if it does
 * (flags: the program's SA_ONSTACK).  One system call per signal for the
 * handlers that asked for a signal stack: their hooks then know how much
 * of its few kilobytes is left (guard.h).
 */
static uintptr_t signal_stack_lo(int flags, uintptr_t lo)
{
	stack_t ss;

	if (!(flags & SA_ONSTACK) || sigaltstack(NULL, &ss) || !(ss.ss_flags & SS_ONSTACK))
		return lo;
	return (uintptr_t)ss.ss_sp;
}

static void trampoline(int signo, siginfo_t *si, void *uc)
{
	unsigned busy = ht_self.busy, tracer = ht_self.tracer;
	void *freeing = ht_self.freeing;
	uintptr_t lo = ht_self.stack_lo;
	handler3_fn fn = atomic_load_acquire(&prog[signo].fn);

	ht_self.busy = 0;
	ht_self.tracer = 0;
	ht_self.freeing = NULL;
	ht_self.stack_lo = signal_stack_lo(prog[signo].flags, lo);
	ht_self.signal++;
	/* the program may have set SIG_DFL or SIG_IGN since the kernel chose us */
	if ((void *)fn != (void *)SIG_DFL && (void *)fn != (void *)SIG_IGN)
		fn(signo, si, uc);
	ht_self.signal--;
	ht_self.stack_lo = lo;
	ht_self.freeing = freeing;
	ht_self.tracer = tracer;
	ht_self.busy = busy;
}

static bool is_function(void *h)
{
	return h != (void *)SIG_DFL && h != (void *)SIG_IGN && h != (void *)SIG_ERR &&
	       h != (void *)SIG_HOLD;
}

static bool wrappable(int signo)
{
	return signo > 0 && signo < NSIG && signo != SIGKILL && signo != SIGSTOP;
}

/* What the program set (was), in place of the trampoline the kernel held. */
static void program_view(struct sigaction *sa, handler3_fn was, int flags)
{
	if (sa->sa_sigaction != trampoline)
		return;
	sa->sa_sigaction = was;
	sa->sa_flags = (sa->sa_flags & ~SA_SIGINFO) | (flags & SA_SIGINFO);
}

/* Remember the program's handler first: a signal may come at once. */
static void remember(int signo, void *fn, int flags)
{
	prog[signo].flags = flags;
	atomic_store_release(&prog[signo].fn, (handler3_fn)fn);
}

int handlers_sigaction(int signo, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction mine;
	handler3_fn was = NULL;
	int flags = 0, r;

	if (wrappable(signo)) { /* read before a new handler replaces it */
		was = atomic_load_acquire(&prog[signo].fn);
		flags = prog[signo].flags;
	}
	if (!act || !wrappable(signo) || !is_function((void *)act->sa_sigaction)) {
		r = real_sigaction(signo, act, old);
	} else {
		remember(signo, (void *)act->sa_sigaction, act->sa_flags);
		mine = *act;
		mine.sa_sigaction = trampoline;
		mine.sa_flags |= SA_SIGINFO;
		r = real_sigaction(signo, &mine, old);
	}
	if (r == 0 && old)
		program_view(old, was, flags);
	return r;
}

sighandler_fn handlers_after_signal(int signo, sighandler_fn handler, sighandler_fn prev)
{
	struct sigaction cur;

	if (prev == SIG_ERR || !wrappable(signo))
		return prev;
	if ((void *)prev == (void *)trampoline)
		prev = (sighandler_fn)(void *)atomic_load_acquire(&prog[signo].fn);
	/* signal() and its variants set the kernel's disposition past our
	 * sigaction(): read it back and put the trampoline in front */
	if (is_function((void *)handler) && real_sigaction(signo, NULL, &cur) == 0 &&
	    cur.sa_handler == handler) {
		remember(signo, (void *)handler, cur.sa_flags);
		cur.sa_sigaction = trampoline;
		cur.sa_flags |= SA_SIGINFO;
		real_sigaction(signo, &cur, NULL);
	}
	return prev;
}
