// SPDX-License-Identifier: GPL-2.0-or-later
/* s-fatal: dies by a fatal signal after leaking 4242 bytes from
 * leak_here() (what the last report must show), the way its arguments say:
 *   cause SIG      the signal's own cause where it has one (a null write,
 *                  a bus error on a mapping past its file's end, a
 *                  division by zero, an invalid instruction, abort(), a
 *                  write to a closed pipe, RLIMIT_FSIZE, RLIMIT_CPU),
 *                  else kill() of the whole process
 *   handler SIG    its own handler (writes "handled SIG", then exit(3))
 *   ignore SIG     SIG_IGN, then kill(): writes "alive", exits 0
 *   dfl SIG        signal(SIG, SIG_DFL) and sigaction(SIG, SIG_DFL) first,
 *                  after a handler of its own, then dies as "cause"
 *   view           writes what sigaction() reads for each fatal signal
 *   double-free    free() twice: glibc aborts inside free()
 *   wait N         leaks from N different depths, writes "ready"
 *                  and waits for a signal
 *   threads        8 threads allocate and free for ever; "ready", wait
 *   fork SIG       a child raises SIG; the parent writes its wait status
 *                  ("child signal N core C") and exits 0
 *   crash-threads  4 threads write through a null pointer at once
 * SIG is a number. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const int fatal[] = { SIGTERM, SIGINT,  SIGHUP,  SIGQUIT, SIGSEGV, SIGBUS,
			     SIGABRT, SIGFPE,  SIGILL,  SIGXCPU, SIGXFSZ, SIGPIPE };

void *keep;
int *volatile nowhere;
volatile int zero;

__attribute__((noinline)) void leak_here(void)
{
	keep = malloc(4242);
}

static void say(const char *s)
{
	if (write(STDOUT_FILENO, s, strlen(s)) != (ssize_t)strlen(s))
		_exit(90);
}

static void cause(int sig)
{
	int fds[2];

	switch (sig) {
	case SIGSEGV:
		*nowhere = 1;
		break;
	case SIGBUS: {
		FILE *f = tmpfile();
		volatile char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fileno(f), 0);

		(void)p[0];
		break;
	}
	case SIGFPE: {
		int a = 1, dx = 0, d = zero;

		/* in assembly: the compiler may drop a C division it can prove undefined */
		__asm__ volatile("idivl %2" : "+a"(a), "+d"(dx) : "r"(d));
		break;
	}
	case SIGILL:
		__builtin_trap();
	case SIGABRT:
		abort();
	case SIGPIPE:
		if (pipe(fds) == 0) {
			close(fds[0]);
			(void)!write(fds[1], "x", 1);
		}
		break;
	case SIGXFSZ: {
		struct rlimit rl = { 0, 0 };
		FILE *f = tmpfile();

		setrlimit(RLIMIT_FSIZE, &rl);
		(void)!write(fileno(f), "x", 1);
		break;
	}
	case SIGXCPU: {
		struct rlimit rl = { 1, 2 };

		setrlimit(RLIMIT_CPU, &rl);
		for (volatile unsigned long i = 0;; i++)
			;
	}
	default:
		kill(getpid(), sig);
	}
	for (;;)
		pause();
}

static void handled(int sig)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "handled %d\n", sig);
	say(buf);
	exit(3);
}

__attribute__((noinline)) static void leak_deep(int n)
{
	if (n > 0)
		leak_deep(n - 1);
	else
		free(malloc(1)), keep = malloc(1000 + (size_t)rand() % 7);
	__asm__ volatile("" ::: "memory"); /* not a tail call: one frame per level */
}

static pthread_barrier_t together;

static void *crash(void *arg)
{
	pthread_barrier_wait(&together);
	*nowhere = 1;
	return arg;
}

static void *churn(void *arg)
{
	void *p[64] = { 0 };

	for (unsigned i = 0;; i++) {
		free(p[i % 64]);
		p[i % 64] = malloc(16 + i % 512);
	}
	return arg;
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "";
	int sig = argc > 2 ? atoi(argv[2]) : 0;

	leak_here();
	if (!strcmp(how, "cause"))
		cause(sig);
	if (!strcmp(how, "handler")) {
		signal(sig, handled);
		cause(sig);
	}
	if (!strcmp(how, "ignore")) {
		signal(sig, SIG_IGN);
		kill(getpid(), sig);
		say("alive\n");
		return 0;
	}
	if (!strcmp(how, "dfl")) {
		struct sigaction sa = { .sa_handler = SIG_DFL }, old;

		signal(sig, handled);
		signal(sig, SIG_DFL);
		signal(sig, handled);
		sigaction(sig, &sa, NULL);
		sigaction(sig, NULL, &old);
		say(old.sa_handler == SIG_DFL ? "dfl\n" : "not dfl\n");
		cause(sig);
	}
	if (!strcmp(how, "view")) {
		for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
			struct sigaction old;

			sigaction(fatal[i], NULL, &old);
			printf("%d %s flags %#x\n", fatal[i],
			       old.sa_handler == SIG_DFL ? "SIG_DFL" : "other", (unsigned)old.sa_flags);
		}
		return 0;
	}
	if (!strcmp(how, "double-free")) {
		void *p = malloc(24);

		free(p);
		free(*(void *volatile *)&p);
		say("not caught\n");
		return 0;
	}
	if (!strcmp(how, "wait")) {
		for (int i = 0; i < sig; i++)
			leak_deep(i);
		say("ready\n");
		for (;;)
			pause();
	}
	if (!strcmp(how, "threads")) {
		pthread_t th;

		for (int i = 0; i < 8; i++)
			pthread_create(&th, NULL, churn, NULL);
		say("ready\n");
		for (;;)
			pause();
	}
	if (!strcmp(how, "crash-threads")) {
		pthread_t th[4];

		pthread_barrier_init(&together, NULL, 4);
		for (int i = 0; i < 4; i++)
			pthread_create(&th[i], NULL, crash, NULL);
		for (int i = 0; i < 4; i++)
			pthread_join(th[i], NULL);
		return 0;
	}
	if (!strcmp(how, "fork")) {
		int status;
		pid_t pid = fork();

		if (pid == 0) {
			kill(getpid(), sig);
			_exit(99);
		}
		waitpid(pid, &status, 0);
		printf("child signal %d core %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0,
		       WIFSIGNALED(status) ? WCOREDUMP(status) != 0 : 0);
		return 0;
	}
	return 2;
}
