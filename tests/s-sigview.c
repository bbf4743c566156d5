// SPDX-License-Identifier: GPL-2.0-or-later
/* s-sigview: prints the program's own view of its signals, so that a
 * traced run can be compared line by line with an untraced one.  A "view"
 * is, for every signal 1..NSIG-1, what sigaction(sig, NULL, &old) returns
 * (handler DFL / IGN / one of ours by name, flags, mask, whether a
 * restorer is set, or the error), then the calling thread's signal mask
 * and the pending set.
 *   s-sigview view [pending-pipe]
 *       views at the start of main, after allocations, in and after a
 *       thread, after setting SIGUSR1/SIGUSR2 with signal() (printing what
 *       signal() returned each time), in a forked child, at the end of
 *       main, and after the exit report: a stdio stream of our own is
 *       flushed by exit() after every exit handler, and its write function
 *       prints the mask and pending set then.  Leaks one block, so a
 *       traced run writes a report.  With "pending-pipe", SIGPIPE is
 *       blocked first and raised by writing to a closed pipe: it must
 *       still be pending at the very end.  Exits 0.
 *   s-sigview own-signal | own-sigaction
 *       installs its own SIGUSR1 handler (with signal() or with sigaction,
 *       SA_SIGINFO and a mask), prints what it replaced and the view of
 *       SIGUSR1/SIGUSR2, writes "ready" and reads stdin to its end; each
 *       SIGUSR1 writes "handled".  Exits 0.
 *   s-sigview wait
 *       writes "ready" and reads stdin to its end (signals may arrive
 *       meanwhile; an ignored one changes nothing).  Exits 0.
 *   s-sigview sigwait
 *       blocks SIGTERM, SIGINT, SIGUSR1, SIGUSR2 and SIGHUP in main, starts
 *       a thread (which inherits the mask), sends each signal to the
 *       process with kill() and takes it with sigwaitinfo(): a thread that
 *       does not block them would be killed or handle them instead.
 *   s-sigview api NAME
 *       sets SIGUSR1 through another of glibc's interfaces: NAME is
 *       __sysv_signal (what signal() is in a program built with -std=c99),
 *       sysv_signal, bsd_signal, sigset, sigignore or siginterrupt; then
 *       replaces it with sigaction, as a library chaining handlers would.
 *       Prints what each call returned and the view of SIGUSR1/SIGUSR2. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* sigset, siginterrupt and sigignore are deprecated, and used on purpose */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

void *keep[64];

static void say(const char *fmt, ...)
{
	char buf[4096];
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

void handler_a(int sig) { (void)sig; }
void handler_b(int sig) { (void)sig; }

static void on_usr1(int sig)
{
	(void)sig;
	if (write(STDOUT_FILENO, "handled\n", 8) != 8)
		_exit(91);
}

static void on_usr1_info(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	on_usr1(sig);
}

static const char *handler_name(void (*h)(int))
{
	if (h == SIG_DFL)
		return "DFL";
	if (h == SIG_IGN)
		return "IGN";
	if (h == SIG_ERR)
		return "ERR";
	if (h == SIG_HOLD)
		return "HOLD";
	if (h == handler_a)
		return "handler_a";
	if (h == handler_b)
		return "handler_b";
	if (h == on_usr1)
		return "on_usr1";
	if (h == (void (*)(int))on_usr1_info)
		return "on_usr1_info";
	return "SOMEONE-ELSES";
}

static void set_text(char *buf, size_t cap, const sigset_t *set)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int s = 1; s < NSIG; s++)
		if (sigismember(set, s) == 1 && len + 8 < cap)
			len += (size_t)snprintf(buf + len, cap - len, "%s%d", len ? "," : "", s);
	if (!len)
		snprintf(buf, cap, "-");
}

static void show_one(int sig)
{
	struct sigaction old;
	char mask[512];

	memset(&old, 0xa5, sizeof(old));
	if (sigaction(sig, NULL, &old)) {
		say("  sig %d: error %m\n", sig);
		return;
	}
	set_text(mask, sizeof(mask), &old.sa_mask);
	say("  sig %d %s: %s flags=%#x mask=%s restorer=%s\n", sig,
	    sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
	    old.sa_flags & SA_SIGINFO ? handler_name((void (*)(int))old.sa_sigaction)
				      : handler_name(old.sa_handler),
	    (unsigned)old.sa_flags, mask, old.sa_restorer ? "set" : "null");
}

static void show_mask(const char *who)
{
	sigset_t cur, pend;
	char a[512], b[512];

	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	sigpending(&pend);
	set_text(a, sizeof(a), &cur);
	set_text(b, sizeof(b), &pend);
	say("  %s mask=%s pending=%s\n", who, a, b);
}

static void view(const char *label)
{
	say("== %s\n", label);
	for (int sig = 1; sig < NSIG; sig++)
		show_one(sig);
	show_mask("thread");
}

void allocate_some(void)
{
	void *p = malloc(100), *q = calloc(10, 10);

	p = realloc(p, 5000);
	free(q);
	for (int i = 0; i < 32; i++)
		keep[i] = malloc(16 * i + 1);
	for (int i = 0; i < 32; i += 2)
		free(keep[i]);
	free(p);
}

static sigset_t thread_mask;

static void *thread_main(void *arg)
{
	(void)arg;
	allocate_some();
	pthread_sigmask(SIG_BLOCK, NULL, &thread_mask);
	return NULL;
}

static void start_and_join(void)
{
	pthread_t th;
	char m[512];

	if (pthread_create(&th, NULL, thread_main, NULL) || pthread_join(th, NULL))
		exit(92);
	set_text(m, sizeof(m), &thread_mask);
	say("  the thread's mask=%s\n", m);
}

static void set_with_signal(int sig, void (*h)(int))
{
	void (*prev)(int) = signal(sig, h);

	say("signal(%d, %s) returned %s\n", sig, handler_name(h), handler_name(prev));
}

/* exit() flushes our stream after every exit handler, heaptrace's too. */
static ssize_t late_write(void *cookie, const char *buf, size_t size)
{
	(void)cookie;
	say("== after exit handlers (%zu bytes flushed)\n", size);
	show_mask("thread");
	show_one(SIGUSR1);
	show_one(SIGUSR2);
	show_one(SIGPIPE);
	(void)buf;
	return (ssize_t)size;
}

static void arm_late_view(void)
{
	cookie_io_functions_t io = { .write = late_write };
	FILE *f = fopencookie(NULL, "w", io);

	if (!f)
		exit(93);
	setvbuf(f, NULL, _IOFBF, 64);
	fputs("late", f);
}

static void pending_pipe(void)
{
	sigset_t set;
	int fds[2];

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pipe(fds))
		exit(94);
	close(fds[0]);
	if (write(fds[1], "x", 1) != -1)
		exit(95);
	close(fds[1]);
}

static int do_view(int argc, char **argv)
{
	pid_t pid;
	int status;

	if (argc > 2 && !strcmp(argv[2], "pending-pipe"))
		pending_pipe();
	view("start of main");
	allocate_some();
	view("after allocations");
	start_and_join();
	view("after a thread");
	set_with_signal(SIGUSR1, handler_a);
	set_with_signal(SIGUSR2, SIG_IGN);
	view("after signal()");
	set_with_signal(SIGUSR1, SIG_DFL);
	set_with_signal(SIGUSR2, handler_b);
	set_with_signal(SIGUSR2, SIG_DFL);
	view("after resetting");
	pid = fork();
	if (pid == 0) {
		view("forked child");
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0)
		return 96;
	keep[63] = malloc(4321); /* a leak: the traced run reports at exit */
	view("end of main");
	arm_late_view();
	return 0;
}

static void wait_stdin(void)
{
	char c;
	ssize_t n;

	say("ready\n");
	while ((n = read(STDIN_FILENO, &c, 1)) != 0)
		if (n < 0 && errno != EINTR)
			exit(97);
}

static int do_own(int use_sigaction)
{
	if (use_sigaction) {
		struct sigaction sa, old;
		char m[512];

		memset(&sa, 0, sizeof(sa));
		memset(&old, 0xa5, sizeof(old));
		sa.sa_sigaction = on_usr1_info;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaddset(&sa.sa_mask, SIGINT);
		sigaddset(&sa.sa_mask, SIGUSR2);
		if (sigaction(SIGUSR1, &sa, &old))
			return 98;
		set_text(m, sizeof(m), &old.sa_mask);
		say("sigaction replaced %s flags=%#x mask=%s\n", handler_name(old.sa_handler),
		    (unsigned)old.sa_flags, m);
	} else {
		set_with_signal(SIGUSR1, on_usr1);
	}
	keep[0] = malloc(4242);
	say("== own handler\n");
	show_one(SIGUSR1);
	show_one(SIGUSR2);
	wait_stdin();
	return 0;
}

static int do_sigwait(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP };
	sigset_t set;
	pthread_t th;

	sigemptyset(&set);
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&set, sigs[i]);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&th, NULL, thread_main, NULL) || pthread_join(th, NULL))
		return 92;
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		siginfo_t si;
		int got;

		kill(getpid(), sigs[i]);
		got = sigwaitinfo(&set, &si);
		say("sent %d got %d from self %d code %d\n", sigs[i], got, si.si_pid == getpid(),
		    si.si_code);
	}
	view("after sigwait");
	return 0;
}

extern __sighandler_t bsd_signal(int, __sighandler_t);
/* what signal() is in a program built with -std=c99 (no _DEFAULT_SOURCE) */
extern __sighandler_t __sysv_signal(int, __sighandler_t);

/* Set SIGUSR1 through one of glibc's other interfaces, then replace it
 * with sigaction as a library chaining handlers would, printing what
 * each step returned and the view of SIGUSR1/SIGUSR2. */
static int do_api(const char *api)
{
	struct sigaction sa, old;

	if (!strcmp(api, "__sysv_signal"))
		say("__sysv_signal(SIGUSR1, handler_a) returned %s\n",
		    handler_name(__sysv_signal(SIGUSR1, handler_a)));
	else if (!strcmp(api, "sysv_signal"))
		say("sysv_signal(SIGUSR1, handler_a) returned %s\n",
		    handler_name(sysv_signal(SIGUSR1, handler_a)));
	else if (!strcmp(api, "bsd_signal"))
		say("bsd_signal(SIGUSR1, handler_a) returned %s\n",
		    handler_name(bsd_signal(SIGUSR1, handler_a)));
	else if (!strcmp(api, "sigset"))
		say("sigset(SIGUSR1, handler_a) returned %s\n",
		    handler_name(sigset(SIGUSR1, handler_a)));
	else if (!strcmp(api, "sigignore"))
		say("sigignore(SIGUSR1) returned %d\n", sigignore(SIGUSR1));
	else if (!strcmp(api, "siginterrupt"))
		say("siginterrupt(SIGUSR1, 1) returned %d\n", siginterrupt(SIGUSR1, 1));
	else
		return 2;
	say("== after %s\n", api);
	show_one(SIGUSR1);
	show_one(SIGUSR2);
	memset(&sa, 0, sizeof(sa));
	memset(&old, 0xa5, sizeof(old));
	sa.sa_handler = handler_b;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, &old))
		return 3;
	say("sigaction(SIGUSR1, handler_b) replaced %s flags=%#x\n", handler_name(old.sa_handler),
	    (unsigned)old.sa_flags);
	say("== after sigaction\n");
	show_one(SIGUSR1);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "view"))
		return do_view(argc, argv);
	if (!strcmp(mode, "own-signal"))
		return do_own(0);
	if (!strcmp(mode, "own-sigaction"))
		return do_own(1);
	if (!strcmp(mode, "wait")) {
		keep[0] = malloc(10);
		wait_stdin();
		return 0;
	}
	if (!strcmp(mode, "sigwait"))
		return do_sigwait();
	if (!strcmp(mode, "api") && argc > 2)
		return do_api(argv[2]);
	say("usage: s-sigview view|own-signal|own-sigaction|wait|sigwait|api NAME\n");
	return 2;
}
