/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bfdfind.h - which libbfd to load, found at run time.  binutils installs
 * libbfd under a versioned name only (libbfd-2.40-system.so); the plain
 * libbfd.so comes with binutils-dev alone.  A name fixed at build time is
 * gone after an upgrade of binutils, so the library directories are
 * searched for the newest libbfd-*.so.  Shared by the launcher (--version)
 * and the library (debuginfo.c, report path).  No allocation.
 */
#ifndef HEAPTRACE_BFDFIND_H
#define HEAPTRACE_BFDFIND_H

#include <stddef.h>

/*
 * In each of dirs (NULL-terminated), in order: the build's name built, else
 * the newest libbfd-VERSION.so (strverscmp), else libbfd.so.  The path
 * found in buf (cap bytes), or NULL: none in any of them.
 */
const char *ht_find_libbfd_in(const char *const *dirs, const char *built, char *buf,
			      size_t cap);

/*
 * The same in LD_LIBRARY_PATH's directories, then the C library's own,
 * its /usr twin, /usr/local/lib, /usr/lib and /lib.
 */
const char *ht_find_libbfd(char *buf, size_t cap);

#endif
