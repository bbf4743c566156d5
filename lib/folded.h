/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * folded.h - a backtrace's frames as flame graphs name them, shared by the
 * folded stacks (folded.c) and the SVG flame graph (svg.c).  Report path.
 */
#ifndef HEAPTRACE_FOLDED_H
#define HEAPTRACE_FOLDED_H

#include <stdbool.h>

#include "symbols.h"
#include "utils.h"

/* The most folded_frame() writes: every inlined call, or an object path. */
#define FOLDED_FRAME_MAX (DBG_MAX_INLINE * (SYM_NAME_MAX + 8) + SYM_PATH_MAX + 64)

/*
 * The frames at addr (ret: a return address) appended to sb, as
 * flamegraph.pl takes them: the function holding the code, then the calls
 * inlined into it (each marked "_[i]"), ';' between them; a frame without
 * a name as object+0xOFFSET or the address.  No ';' or line break inside
 * a name.
 */
void folded_frame(struct sbuf *sb, void *addr, bool ret);

#endif
