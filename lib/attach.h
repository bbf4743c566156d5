/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * attach.h - what the rest of the library asks of attach.c (--pid).
 */
#ifndef HEAPTRACE_ATTACH_H
#define HEAPTRACE_ATTACH_H

/*
 * After the tracer's own dlopen() (libbfd, debuginfo.c), in a process it
 * attached to: redirect the new objects' calls before they are used, or a
 * block that libc allocated for them from tracer memory would reach the
 * real free().  Nothing in a process traced from its start.
 */
void attach_loaded(void);

#endif
