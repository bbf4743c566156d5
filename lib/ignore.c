// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ignore.c - the --ignore file: one glob pattern a line, '#' comments and
 * blank lines skipped.  Read once at start-up into tracer memory; matched in
 * the report path only.  Literal patterns (no * ? [) go into a sorted array
 * searched by bisection, so a file of 100,000 names stays cheap; only real
 * globs go through fnmatch.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ignore.h"
#include "tmem.h"
#include "utils.h"

#define IGNORE_MAX_BYTES (64u << 20)

static struct {
	char *text;
	const char **literal, **glob;
	size_t nliteral, nglob;
} ig;

static char *read_file(const char *path, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
	struct stat st;
	char *buf = NULL;
	size_t got = 0;

	if (fd < 0) {
		ht_warn("HEAPTRACE_IGNORE: cannot read '%s': %m; ignoring nothing", path);
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > IGNORE_MAX_BYTES) {
		ht_warn("HEAPTRACE_IGNORE: '%s' is not a regular file of at most 64 MB; ignoring nothing",
			path);
		goto out;
	}
	buf = tmem_alloc_scratch((size_t)st.st_size + 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	*size = (size_t)st.st_size + 1;
out:
	close(fd);
	if (buf && memchr(buf, '\0', got)) {
		ht_warn("HEAPTRACE_IGNORE: '%s' is not a text file; ignoring nothing", path);
		tmem_free(buf, *size);
		return NULL;
	}
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *trim(char *s)
{
	char *e = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Split text into lines in place and file each pattern as literal or glob. */
static void collect(char *text)
{
	for (char *line = text; *line;) {
		char *end = strchrnul(line, '\n');
		char *next = *end ? end + 1 : end;
		char *p;

		*end = '\0';
		p = trim(line);
		if (*p && *p != '#') {
			if (strpbrk(p, "*?["))
				ig.glob[ig.nglob++] = p;
			else
				ig.literal[ig.nliteral++] = p;
		}
		line = next;
	}
}

void ignore_load(const char *path)
{
	size_t size = 0, lines = 1;

	if (!path)
		return;
	ig.text = read_file(path, &size);
	if (!ig.text)
		return;
	for (const char *p = ig.text; (p = strchr(p, '\n')); p++)
		lines++;
	ig.literal = tmem_alloc_scratch(lines * sizeof(char *));
	ig.glob = tmem_alloc_scratch(lines * sizeof(char *));
	if (!ig.literal || !ig.glob) {
		ht_warn("HEAPTRACE_IGNORE: no memory for '%s'; ignoring nothing", path);
		return;
	}
	collect(ig.text);
	qsort(ig.literal, ig.nliteral, sizeof(char *), cmp_str);
}

bool ignore_active(void)
{
	return ig.nliteral || ig.nglob;
}

static bool match_one(const char *s)
{
	if (!s || !*s)
		return false;
	if (ig.nliteral && bsearch(&s, ig.literal, ig.nliteral, sizeof(char *), cmp_str))
		return true;
	for (size_t i = 0; i < ig.nglob; i++)
		if (!fnmatch(ig.glob[i], s, 0))
			return true;
	return false;
}

bool ignore_match(const char *func, const char *obj)
{
	const char *base = obj ? strrchr(obj, '/') : NULL;

	return match_one(func) || match_one(obj) || (base && match_one(base + 1));
}
