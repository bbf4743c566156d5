// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * output.c - the destination of one report.  Opened when a report starts and
 * closed when it ends (daemons close descriptors they did not open, and
 * exec'd children must not inherit ours), written with write(2) through a
 * buffer, never with stdio: the program's streams and their locks stay its
 * own.  SIGPIPE raised by our writes is swallowed, so a closed pipe never
 * kills the program.  Report path only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "output.h"

static bool opened_before; /* this process has written its outfile already */
static char path[4200];
static sigset_t saved_mask;
static bool pipe_was_pending;

static const char *outfile_path(void)
{
	struct sbuf sb = SBUF_INIT(path);

	sb_puts(&sb, ht_cfg.outfile);
	if (getpid() != ht_cfg.root_pid)
		sb_printf(&sb, ".%d", (int)getpid());
	return sb_str(&sb);
}

static void block_sigpipe(void)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &saved_mask);
	sigpending(&pending);
	pipe_was_pending = sigismember(&pending, SIGPIPE);
}

/* A SIGPIPE our writes raised stays pending while blocked: take it back. */
static void unblock_sigpipe(void)
{
	sigset_t set, pending;
	struct timespec zero = { 0, 0 };

	sigpending(&pending);
	if (!pipe_was_pending && sigismember(&pending, SIGPIPE)) {
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		sigtimedwait(&set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
}

void out_open(struct out *o, int fallback_fd)
{
	o->fd = fallback_fd;
	o->own = false;
	o->len = 0;
	block_sigpipe();
	if (!ht_cfg.outfile)
		return;
	o->fd = open(outfile_path(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY |
				     (opened_before ? O_APPEND : O_TRUNC), 0644);
	if (o->fd < 0) {
		struct sbuf sb = { o->buf, 0, sizeof(o->buf) };

		/* the warning goes out with the report, in one write when they fit
		 * in a pipe's atomic size: processes sharing stderr do not mix */
		sb_printf(&sb, "heaptrace: cannot open '%s': %m; writing the report to stderr\n",
			  path);
		o->len = sb.len;
		o->fd = STDERR_FILENO;
		return;
	}
	o->own = true;
	opened_before = true;
}

static void flush(struct out *o)
{
	if (o->len && ht_write_all(o->fd, o->buf, o->len) < 0 && o->own) {
		ht_warn("cannot write '%s': %m; writing the report to stderr", path);
		close(o->fd);
		o->fd = STDERR_FILENO;
		o->own = false;
		ht_write_all(o->fd, o->buf, o->len);
	}
	o->len = 0;
}

void out_write(struct out *o, const char *s, size_t n)
{
	while (n) {
		size_t room = sizeof(o->buf) - o->len;
		size_t k = n < room ? n : room;

		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
		if (o->len == sizeof(o->buf))
			flush(o);
	}
}

void out_puts(struct out *o, const char *s)
{
	out_write(o, s, strlen(s));
}

void out_sbuf(struct out *o, struct sbuf *sb)
{
	out_write(o, sb->buf, sb->len);
	sb->len = 0;
}

void out_close(struct out *o)
{
	flush(o);
	if (o->own)
		close(o->fd);
	unblock_sigpipe();
}

void out_fork_child(void)
{
	opened_before = false;
}
