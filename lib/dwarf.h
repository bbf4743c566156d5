/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dwarf.h - source lines and inlined calls of one address, read from an
 * ELF file's DWARF a compilation unit at a time: .debug_aranges names the
 * unit, and only that unit's entries, abbreviations and line program are
 * read (pread, every read bounded by its section).  Report path only
 * (debuginfo.c is the one caller, under the report lock); allocations are
 * the tracer's.
 */
#ifndef HEAPTRACE_DWARF_H
#define HEAPTRACE_DWARF_H

#include <stdint.h>

#include "debuginfo.h"

struct dw_file;

/* Open the DWARF of the ELF file at path: NULL if it has none that this
 * reader takes (no .debug_aranges, compressed sections, 64-bit DWARF). */
struct dw_file *dw_open(const char *path);
void dw_close(struct dw_file *f);

/*
 * The source positions of vma, innermost first, as libbfd's
 * bfd_find_nearest_line and bfd_find_inliner_info give them: how many,
 * or -1 when this reader cannot tell (no unit covers vma, or the unit has
 * what it does not read), and the caller asks libbfd instead.  Strings
 * live until the next call (the units read are kept up to 64 MB, then
 * dropped).
 */
int dw_lines(struct dw_file *f, uint64_t vma, struct dbg_line *out, int max);

/* Close the file descriptors kept open (reopened when needed). */
void dw_release_files(void);

#endif
