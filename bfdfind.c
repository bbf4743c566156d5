// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bfdfind.c - finding the installed libbfd (bfdfind.h).  Directories are
 * read with getdents64, not opendir, which would call the program's malloc
 * from the library's report path.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bfdfind.h"
#include "utils.h"

struct linux_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static bool exists(const char *dir, const char *name, char *buf, size_t cap)
{
	struct sbuf sb = { buf, 0, cap };

	sb_printf(&sb, "%s/%s", dir, name);
	return sb.len < cap - 1 && !access(sb_str(&sb), R_OK);
}

/* libbfd-VERSION.so, not libbfd.so nor libbfd-2.40.so.0 */
static bool versioned(const char *name)
{
	size_t n = strlen(name);

	return n > 10 && !strncmp(name, "libbfd-", 7) && !strcmp(name + n - 3, ".so");
}

/* The newest versioned libbfd in dir, into best (cap bytes); false: none. */
static bool newest_in(const char *dir, char *best, size_t cap)
{
	char ents[4096];
	long n;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	best[0] = '\0';
	if (fd < 0)
		return false;
	while ((n = syscall(SYS_getdents64, fd, ents, sizeof(ents))) > 0) {
		for (long off = 0; off < n;) {
			const struct linux_dirent64 *d = (const void *)(ents + off);

			off += d->d_reclen;
			if (versioned(d->d_name) && strlen(d->d_name) < cap &&
			    (!best[0] || strverscmp(d->d_name, best) > 0))
				strcpy(best, d->d_name);
		}
	}
	close(fd);
	return best[0] != '\0';
}

const char *ht_find_libbfd_in(const char *const *dirs, const char *built, char *buf,
			      size_t cap)
{
	char name[256];

	for (; *dirs; dirs++) {
		if (!**dirs)
			continue;
		if ((built && *built && exists(*dirs, built, buf, cap)) ||
		    (newest_in(*dirs, name, sizeof(name)) && exists(*dirs, name, buf, cap)) ||
		    exists(*dirs, "libbfd.so", buf, cap))
			return buf;
	}
	return NULL;
}

#ifndef HT_LIBBFD
#define HT_LIBBFD ""
#endif

const char *ht_find_libbfd(char *buf, size_t cap)
{
	char ldpath[1024], libc_dir[512], usr_dir[520];
	const char *dirs[32];
	size_t n = 0;
	const char *env = getenv("LD_LIBRARY_PATH");
	Dl_info info;

	/* LD_LIBRARY_PATH's directories, as the loader searches them first */
	if (env && strlen(env) < sizeof(ldpath)) {
		char *save = NULL;

		strcpy(ldpath, env);
		for (char *d = strtok_r(ldpath, ":", &save); d && n < 24; d = strtok_r(NULL, ":", &save))
			dirs[n++] = d;
	}
	libc_dir[0] = usr_dir[0] = '\0';
	if (dladdr((void *)strverscmp, &info) && info.dli_fname &&
	    strlen(info.dli_fname) < sizeof(libc_dir)) {
		char *slash;

		strcpy(libc_dir, info.dli_fname);
		slash = strrchr(libc_dir, '/');
		if (slash)
			*slash = '\0';
		/* /lib/x86_64-linux-gnu and /usr/lib/x86_64-linux-gnu */
		if (strncmp(libc_dir, "/usr/", 5))
			snprintf(usr_dir, sizeof(usr_dir), "/usr%s", libc_dir);
	}
	dirs[n++] = libc_dir;
	dirs[n++] = usr_dir;
	dirs[n++] = "/usr/local/lib";
	dirs[n++] = "/usr/lib";
	dirs[n++] = "/lib";
	dirs[n] = NULL;
	return ht_find_libbfd_in(dirs, HT_LIBBFD, buf, cap);
}
