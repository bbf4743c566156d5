/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unit.h - the few assertions the unit tests share.  A failed check prints
 * its file:line, the expression and (for the typed forms) both values, and
 * the test goes on so that one run shows every broken check; the binary
 * exits non-zero at the end (or after UNIT_MAX_FAILS failures, so that a
 * check inside a loop of a million iterations cannot flood the terminal).
 * Safe to use from several threads.
 */
#ifndef HEAPTRACE_UNIT_H
#define HEAPTRACE_UNIT_H

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNIT_MAX_FAILS 25

/*
 * UndefinedBehaviorSanitizer only prints by default and the binary still
 * exits 0: make its reports fail the test, as AddressSanitizer's do.
 */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

static unsigned long unit_checks, unit_fails;

static inline void unit_failed(void)
{
	if (__atomic_add_fetch(&unit_fails, 1, __ATOMIC_RELAXED) >= UNIT_MAX_FAILS) {
		fprintf(stderr, "too many failures, giving up\n");
		exit(1);
	}
}

#define CHECK(cond)                                                                      \
	do {                                                                             \
		__atomic_add_fetch(&unit_checks, 1, __ATOMIC_RELAXED);                   \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #cond); \
			unit_failed();                                                   \
		}                                                                        \
	} while (0)

/* Unsigned integers of any width, compared as uint64_t. */
#define CHECK_EQ(a, b)                                                                          \
	do {                                                                                    \
		uint64_t unit_a_ = (uint64_t)(a), unit_b_ = (uint64_t)(b);                      \
		__atomic_add_fetch(&unit_checks, 1, __ATOMIC_RELAXED);                          \
		if (unit_a_ != unit_b_) {                                                       \
			fprintf(stderr, "%s:%d: FAIL: %s == %s (%" PRIu64 " != %" PRIu64 ")\n", \
				__FILE__, __LINE__, #a, #b, unit_a_, unit_b_);                  \
			unit_failed();                                                          \
		}                                                                               \
	} while (0)

/* Strings; NULL is a value of its own. */
#define CHECK_STR(a, b)                                                                         \
	do {                                                                                    \
		const char *unit_a_ = (a), *unit_b_ = (b);                                      \
		__atomic_add_fetch(&unit_checks, 1, __ATOMIC_RELAXED);                          \
		if (unit_a_ != unit_b_ && (!unit_a_ || !unit_b_ || strcmp(unit_a_, unit_b_))) { \
			fprintf(stderr, "%s:%d: FAIL: %s == %s (\"%s\" != \"%s\")\n", __FILE__, \
				__LINE__, #a, #b, unit_a_ ? unit_a_ : "(null)",                 \
				unit_b_ ? unit_b_ : "(null)");                                  \
			unit_failed();                                                          \
		}                                                                               \
	} while (0)

/* Print the one-line summary; the exit status of main. */
static inline int unit_done(const char *name)
{
	unsigned long checks = __atomic_load_n(&unit_checks, __ATOMIC_RELAXED);
	unsigned long fails = __atomic_load_n(&unit_fails, __ATOMIC_RELAXED);

	if (fails) {
		printf("%s: %lu of %lu checks FAILED\n", name, fails, checks);
		return 1;
	}
	printf("%s: all %lu checks passed\n", name, checks);
	return 0;
}

static void unit_timeout(int sig)
{
	static const char msg[] = "FAIL: timed out (a loop that never ends?)\n";

	ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);

	(void)sig;
	(void)n;
	_exit(1);
}

/* A broken table tends to loop forever: fail instead after `seconds`. */
static inline void unit_watchdog(unsigned seconds)
{
	signal(SIGALRM, unit_timeout);
	alarm(seconds);
}

/* splitmix64: a deterministic pseudo-random sequence from a seed. */
static inline uint64_t unit_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#endif
