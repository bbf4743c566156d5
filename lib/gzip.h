/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gzip.h - a binary report (pprof) gzipped onto its output.  With the
 * system's zlib (libz.so.1, opened by dlopen in the report path, its
 * memory the tracer's), else as stored deflate blocks: a gzip member every
 * reader takes, only not smaller.  Report path only, under the report lock.
 */
#ifndef HEAPTRACE_GZIP_H
#define HEAPTRACE_GZIP_H

#include <stdbool.h>
#include <stddef.h>

#include "output.h"

/*
 * Before a report: open zlib if it may (not after gz_fini()).  gz_fini()
 * runs in the loader's destructor pass, the last moment a dlopen() may
 * (symbols.c's sym_fini() says why), and opens it then.
 */
void gz_begin(void);
void gz_fini(void);

/* data[0..n) as one gzip member to o; with_zlib false: stored blocks. */
void gz_write(struct out *o, const void *data, size_t n, bool with_zlib);

/* Is zlib open (gz_write() compresses)? */
bool gz_compresses(void);

#endif
