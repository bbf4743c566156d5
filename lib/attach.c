// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * attach.c - tracing a process that is already running (heaptrace --pid).
 * The launcher loads this library into the process with ptrace
 * (launcher/inject.c) and calls heaptrace_attach() or heaptrace_detach() on
 * one of its threads, stopped where no lock of libc or the loader is held.
 * Those calls run in normal context, in tracer mode; the tick that
 * redirects objects loaded later runs on the reporter thread.
 *
 * A library loaded late does not win symbol resolution: every object's
 * GOT already holds libc's malloc.  So the entries of every loaded object
 * for the interposed functions (hooks_name()) are rewritten to this
 * library's definitions (got.c), ours included: heaptrace's own calls
 * must reach its hooks as they do when it is preloaded, so that what libc
 * allocates for it comes from, and goes back to, tracer memory.  --detach
 * leaves them there: the hooks forward, as in an untraced process
 * (config.h), at the cost of a call; an attach after it starts a new
 * recording.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "atomic.h"
#include "attach.h"
#include "config.h"
#include "got.h"
#include "guard.h"
#include "handlers.h"
#include "hooks.h"
#include "process.h"
#include "reporter.h"
#include "stacktrace.h"
#include "utils.h"

/* Objects loaded after the attach are redirected within this time. */
#define TICK_MS 100

static struct got_hook hooks[64];
static void *origs[64]; /* got.c's finding; the hooks forward to their own */
static int nhooks;
static bool started;        /* the first attach's start-up is done */
static char first_text[4096]; /* its options, to tell a second attach's apart */
static unsigned long long loads_seen; /* dlpi_adds + dlpi_subs at the last sync */

EXPORT int heaptrace_attach(const char *text);
EXPORT int heaptrace_detach(const char *unused);

/* Our definition of every interposed function, by name: dlsym() on our own
 * handle finds ours first, whatever the process resolved. */
static int find_hooks(void)
{
	Dl_info self;
	void *h;

	if (!dladdr((void *)heaptrace_attach, &self))
		return -1;
	h = dlopen(self.dli_fname, RTLD_LAZY | RTLD_NOLOAD); /* kept: we stay */
	if (!h)
		return -1;
	for (int i = 0; i < hooks_count() && nhooks < (int)ARRAY_SIZE(hooks); i++) {
		void *p = dlsym(h, hooks_name(i));

		if (!p)
			continue;
		hooks[nhooks] = (struct got_hook){ hooks_name(i), p, &origs[nhooks] };
		nhooks++;
	}
	return nhooks;
}

/* The loader's count of objects loaded and unloaded: the first call of
 * dl_iterate_phdr's callback has it, and stops there. */
static int read_loads(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	*(unsigned long long *)arg = info->dlpi_adds + info->dlpi_subs;
	return 1;
}

static unsigned long long loads(void)
{
	unsigned long long n = 0;

	dl_iterate_phdr(read_loads, &n);
	return n;
}

/* Redirect what the process loaded since the last look. */
static void sync_loaded(void)
{
	unsigned long long n = loads();
	char err[160];

	if (n == loads_seen)
		return;
	loads_seen = n;
	if (got_redirect_new(err, sizeof(err)) < 0)
		ht_warn("cannot redirect the calls of a library loaded later: %s", err);
}

void attach_loaded(void)
{
	if (started)
		sync_loaded();
}

/* On the reporter thread, every TICK_MS. */
static void tick(void)
{
	if (!ht_process.untraced)
		sync_loaded();
}

/*
 * The program's signal handlers installed before the attach run without
 * handlers.c's trampoline: each is set again as the program's sigaction()
 * would now set it, which puts the trampoline in (the program reads back
 * its own, as ever).  Before the reporter's handlers go in.
 */
static void take_handlers(void)
{
	sigaction_fn real = hooks_real_sigaction();
	struct sigaction sa;

	for (int signo = 1; signo < NSIG; signo++)
		if (!real(signo, NULL, &sa) && sa.sa_handler != SIG_DFL &&
		    sa.sa_handler != SIG_IGN)
			reporter_sigaction(signo, &sa, NULL, handlers_sigaction);
}

static int first_attach(const char *text)
{
	char err[160];

	if (find_hooks() <= 0)
		return HT_ATTACH_NO_REDIRECT;
	snprintf(first_text, sizeof(first_text), "%s", text);
	config_from_text(first_text);
	process_attach(take_handlers);
	started = true;
	atomic_store_relaxed(&ht_process.attached, true);
	loads_seen = loads();
	if (got_redirect_all(hooks, nhooks, NULL, err, sizeof(err)) <= 0) {
		atomic_store_relaxed(&ht_process.untraced, true);
		atomic_store_relaxed(&ht_process.attached, false);
		reporter_pause();
		return HT_ATTACH_NO_REDIRECT;
	}
	reporter_tick(tick, TICK_MS);
	return HT_ATTACH_OK;
}

/* After a --detach: a new recording, with the first attach's options. */
static int attach_again(const char *text)
{
	acct_reset();
	ht_start_ns = ht_now_ns();
	reporter_resume();
	atomic_store_relaxed(&ht_process.attached, true);
	atomic_store_relaxed(&ht_process.untraced, false);
	sync_loaded(); /* what was loaded while detached */
	return strcmp(text, first_text) ? HT_ATTACH_OPTIONS_KEPT : HT_ATTACH_OK;
}

static int attach(const char *text)
{
	if (!started && (hooks_interposed() || hooks_other_heaptrace()))
		return HT_ATTACH_PRELOADED;
	if (!started)
		return first_attach(text ? text : "");
	if (!ht_process.untraced)
		return HT_ATTACH_ALREADY;
	return attach_again(text ? text : "");
}

/* Called by the launcher on a stopped thread of the process (launcher/inject.c). */
int heaptrace_attach(const char *text)
{
	int saved = errno, r;

	tracer_enter();
	r = attach(text);
	tracer_exit();
	errno = saved;
	return r;
}

int heaptrace_detach(const char *unused)
{
	int saved = errno;

	(void)unused;
	if (!started || ht_process.untraced)
		return HT_ATTACH_NOT_ATTACHED;
	tracer_enter();
	atomic_store_relaxed(&ht_process.untraced, true);
	atomic_store_relaxed(&ht_process.attached, false);
	reporter_pause();
	tracer_exit();
	errno = saved;
	return HT_ATTACH_OK;
}
