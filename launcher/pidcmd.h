/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pidcmd.h - heaptrace --pid=PID [--detach]: start or stop tracing a
 * process that is already running (launcher/pidcmd.c).
 */
#ifndef HEAPTRACE_PIDCMD_H
#define HEAPTRACE_PIDCMD_H

#include <stdbool.h>
#include <sys/types.h>

/* Load a --pid library into pid, its path by find_lib(name), and attach
 * (or detach) with the HEAPTRACE_* variables of our environment; the exit
 * status of heaptrace. */
int attach_main(pid_t pid, bool detach, const char *(*find_lib)(const char *name));

#endif
