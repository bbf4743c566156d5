// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * oom.c - --oom-report=PCT: before the kernel ends a process for memory
 * (a cgroup's limit, the OOM killer: SIGKILL, no last report), a report
 * once when the process first passes PCT of its limit, and once when an
 * allocation first fails with ENOMEM.
 *
 * The limit: the memory cgroup's (v2 memory.max, v1
 * memory.limit_in_bytes, the lowest on the way up from the process's
 * cgroup), compared with the resident set; and RLIMIT_AS, compared with
 * the address space in use (what the kernel refuses an mmap against).
 * Both from /proc/self/statm.
 *
 * No system call on the hot path: the hooks see the traced heap's new
 * peaks anyway (stacktrace.c); at a peak past ht_oom_step they wake the
 * reporter thread, which reads statm and sets the next step: the peak
 * plus what is left below the threshold (at least STEP_MIN), as if every
 * new byte of heap were resident.  Memory that the heap does not hold
 * (mmap, thread stacks) is seen at the next step or report.  Runs in
 * hooks (oom_peak, oom_failed: an exchange and a sem_post, once per
 * step) and on the reporter thread (the rest).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "stacktrace.h"
#include "config.h"
#include "oom.h"
#include "report.h"
#include "reporter.h"
#include "utils.h"

uint64_t ht_oom_step = UINT64_MAX;

/* The least heap growth between two reads of statm: 1 MiB.  A read
 * costs about 4 us here (open, read, close), so that is at most 0.4% of
 * a loop that grows the heap at 1 GB/s, on the reporter thread. */
#define STEP_MIN (1024 * 1024)

/* Above this, a cgroup v1 limit means "none" (it is 2^63 rounded down to
 * a page). */
#define NO_LIMIT (1ULL << 60)

/* A request this large fails whatever the memory left: it is larger than
 * a process's whole address space (x86-64, 47 bits). */
#define NEVER (1ULL << 47)

static uint64_t cgroup_limit; /* bytes, 0: none */
static const char *cgroup_file;
static bool passed, enomem_written;
static int enomem; /* an allocation failed (set by the hooks) */
static int asked;  /* a step was passed: read statm */

/* The number in a file ("max": none), 0 when unreadable. */
static uint64_t read_limit(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	unsigned long long v;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (!strncmp(buf, "max", 3))
		return 0;
	v = strtoull(buf, NULL, 10);
	return v >= NO_LIMIT ? 0 : v;
}

/* Keep the limit in file path if it is the lowest so far. */
static void consider(const char *path)
{
	static char where[512];
	uint64_t v = read_limit(path);

	if (v && (!cgroup_limit || v < cgroup_limit)) {
		cgroup_limit = v;
		snprintf(where, sizeof(where), "%s", path);
		cgroup_file = where;
	}
}

/* The lowest limit on the way from the cgroup path up to the root (under
 * root, where the controller is mounted): a parent's limit binds too. */
static void walk_up(const char *root, char *path, const char *file)
{
	char buf[1024];
	char *slash;

	for (;;) {
		snprintf(buf, sizeof(buf), "%s%s/%s", root, strcmp(path, "/") ? path : "", file);
		consider(buf);
		slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = '\0';
	}
	if (strcmp(path, "/")) { /* the root itself */
		snprintf(buf, sizeof(buf), "%s/%s", root, file);
		consider(buf);
	}
}

/* The process's memory cgroup, v2 ("0::/path") or v1 ("N:...memory...:/path"). */
static void find_cgroup(void)
{
	char buf[4096], *line, *save;
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *ctl = strchr(line, ':'), *path = ctl ? strchr(ctl + 1, ':') : NULL;
		char copy[512];

		if (!path)
			continue;
		*path++ = '\0';
		ctl++;
		snprintf(copy, sizeof(copy), "%s", path);
		if (!strcmp(line, "0") && !*ctl)
			walk_up("/sys/fs/cgroup", copy, "memory.max");
		else if (strstr(ctl, "memory"))
			walk_up("/sys/fs/cgroup/memory", copy, "memory.limit_in_bytes");
	}
}

static bool armed; /* a limit was found at start-up */

void oom_init(void)
{
	struct rlimit rl;

	if (!ht_cfg.oom_report)
		return;
	find_cgroup();
	armed = cgroup_limit || (!getrlimit(RLIMIT_AS, &rl) && rl.rlim_cur != RLIM_INFINITY);
	if (armed) /* the first new peak makes the reporter look */
		atomic_store_relaxed(&ht_oom_step, 0);
}

void oom_wake(void)
{
	if (atomic_xchg_relaxed(&ht_oom_step, UINT64_MAX) != UINT64_MAX) {
		atomic_store_relaxed(&asked, 1);
		reporter_wake();
	}
}

void oom_failed(size_t size)
{
	if (!size || size >= NEVER) /* 0: a calloc whose n * m overflowed */
		return;
	if (ht_cfg.oom_report && !atomic_xchg_relaxed(&enomem, 1))
		reporter_wake();
}

/* statm: the address space in use and the resident set, in bytes. */
static bool read_statm(uint64_t *vsize, uint64_t *rss)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	unsigned long long v, r;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &v, &r) != 2)
		return false;
	*vsize = v * page;
	*rss = r * page;
	return true;
}

static uint64_t pct(uint64_t limit)
{
	return limit / 100 * ht_cfg.oom_report + limit % 100 * ht_cfg.oom_report / 100;
}

static void report(void)
{
	report_write(REPORT_MEMORY, ht_cfg.sort.keys, ht_cfg.sort.n);
}

/* Has the process passed PCT of a limit?  Else the next step. */
static void look(void)
{
	struct rlimit rl;
	uint64_t vsize, rss, left = UINT64_MAX, as = 0;
	struct bt_peak peak;

	if (!read_statm(&vsize, &rss))
		return;
	if (!getrlimit(RLIMIT_AS, &rl) && rl.rlim_cur != RLIM_INFINITY)
		as = rl.rlim_cur; /* the program may change it: read each time */
	if (cgroup_limit) {
		uint64_t t = pct(cgroup_limit);

		if (rss >= t) {
			ht_warn("resident memory %llu bytes passed %lu%% of the limit of %s "
				"(%llu bytes): report (--oom-report)",
				(unsigned long long)rss, ht_cfg.oom_report, cgroup_file,
				(unsigned long long)cgroup_limit);
			passed = true;
		} else if (t - rss < left) {
			left = t - rss;
		}
	}
	if (as && !passed) {
		uint64_t t = pct(as);

		if (vsize >= t) {
			ht_warn("address space %llu bytes passed %lu%% of RLIMIT_AS (%llu bytes): "
				"report (--oom-report)",
				(unsigned long long)vsize, ht_cfg.oom_report, (unsigned long long)as);
			passed = true;
		} else if (t - vsize < left) {
			left = t - vsize;
		}
	}
	if (passed) {
		report();
		return; /* once: no more steps */
	}
	if (left == UINT64_MAX)
		return; /* no limit left (the program raised RLIMIT_AS): off */
	bt_peak_read(&peak);
	atomic_store_relaxed(&ht_oom_step, peak.bytes + (left > STEP_MIN ? left : STEP_MIN));
}

void oom_run(void)
{
	if (!ht_cfg.oom_report)
		return;
	if (atomic_xchg_relaxed(&asked, 0) && !passed)
		look();
	if (atomic_load_relaxed(&enomem) && !enomem_written) {
		enomem_written = true;
		ht_warn("an allocation failed for lack of memory (ENOMEM): report (--oom-report)");
		report();
	}
}

void oom_fork_child(void)
{
	passed = enomem_written = false;
	enomem = asked = 0;
	if (armed)
		atomic_store_relaxed(&ht_oom_step, 0);
}
