/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pidcmd.h - heaptrace --pid=PID [--detach]: start or stop tracing a
 * process that is already running (launcher/pidcmd.c).
 */
#ifndef HEAPTRACE_PIDCMD_H
#define HEAPTRACE_PIDCMD_H

#include <stdbool.h>
#include <sys/types.h>

/* Load lib into pid and attach (or detach) with the HEAPTRACE_* variables
 * of our environment; the exit status of heaptrace. */
int attach_main(pid_t pid, bool detach, const char *lib);

#endif
