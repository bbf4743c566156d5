/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * world.h - stopping every other thread of the process for the leak scan,
 * and letting them go: a helper task (a clone sharing our memory, outside
 * our thread group) attaches to each thread with ptrace, as LSan's
 * stop-the-world does, reads its registers, and detaches afterwards.
 * ptrace stops a thread wherever it is: blocked in a system call (which
 * then restarts), blocking every signal, in a handler; it needs no
 * cooperation from the thread and runs no code on its stack.  A thread
 * that cannot be attached (the process is traced already, e.g. by gdb or
 * strace; ptrace is forbidden; it does not stop in WORLD_DEADLINE_MS) is
 * listed as running.  Report path only, on the thread that scans.
 */
#ifndef HEAPTRACE_WORLD_H
#define HEAPTRACE_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/user.h>

#define WORLD_DEADLINE_MS 2000

struct world_thread {
	pid_t tid;
	bool stopped;             /* regs are its registers */
	bool gone;                /* it exited while we stopped the others */
	int resend;               /* a signal its stop took, given back at detach */
	struct user_regs_struct regs;
};

struct world {
	struct world_thread *t;
	size_t n, cap;
	int why; /* errno of the first thread that could not be stopped, or 0 */
};

/*
 * Stop every thread of the process but the calling one (best effort: see
 * above); true when every one of them stopped.  The caller then reads
 * memory at leisure and must call world_resume(), also after false.
 * Allocates only whole pages of tracer memory, calls nothing that takes a
 * lock: a stopped thread may hold any.
 */
bool world_stop(struct world *w);
void world_resume(struct world *w);

#endif
