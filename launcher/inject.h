/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inject.h - load a shared library into a running process (Linux x86-64).
 *
 * The injector attaches to ONE thread of the target with PTRACE_SEIZE,
 * makes that thread call dlopen() (and optionally a function of the
 * loaded library), restores the thread exactly and detaches.  The other
 * threads keep running the whole time.
 */
#ifndef INJECT_H
#define INJECT_H

#include <stddef.h>
#include <sys/types.h>

/* Optional knobs; a zeroed struct (or NULL) means "defaults". */
struct inject_opts {
	int call_timeout_ms;  /* bound for each injected call; default 10000 */
	int safe_attempts;    /* max tries to find a thread in a safe state; default 200 */
	int safe_budget_ms;   /* time budget for those tries; default 2000 */
	int verbose;          /* 1: progress lines on stderr */
};

/* What happened, for callers that want more than success/failure. */
struct inject_result {
	pid_t tid;             /* thread that ran the calls */
	int attempts;          /* thread stops needed to find a safe state */
	unsigned long handle;  /* dlopen() handle in the target */
	int fn_called;         /* 1 if fn was called */
	int fn_ret;            /* its return value */
	int redelivered;       /* signals held back during the calls, re-sent */
};

/*
 * Load lib_path into process pid and, if fn is non-NULL, call
 * int fn(const char *arg) from it inside the target (arg may be NULL).
 * lib_path is made absolute in the caller's cwd.  The target is left
 * running exactly as before.  A non-zero return of fn is not an error.
 * Returns 0, or -1 with a one-line message in err (if err is non-NULL).
 */
int inject_dlopen(pid_t pid, const char *lib_path, const char *fn,
		  const char *arg, char *err, size_t errlen);

/* Same, with options and a result report (both may be NULL). */
int inject_dlopen_ex(pid_t pid, const char *lib_path, const char *fn,
		     const char *arg, const struct inject_opts *opts,
		     struct inject_result *res, char *err, size_t errlen);

#endif /* INJECT_H */
