// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * output.c - the destination of one report.  Opened when a report starts and
 * closed when it ends (daemons close descriptors they did not open, and
 * exec'd children must not inherit ours), written with write(2) through a
 * buffer, never with stdio: the program's streams and their locks stay its
 * own.  SIGPIPE raised by our writes is swallowed, so a closed pipe never
 * kills the program.  A report the file does not take whole is cut from it
 * and written again, whole, to stderr.  Report path only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
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

/* From now on the report goes to stderr, after one line saying why. */
static void to_stderr(struct out *o, const char *verb, int err)
{
	struct sbuf sb = { o->buf, 0, sizeof(o->buf) };

	/* the warning goes out with the report, in one write when they fit
	 * in a pipe's atomic size: processes sharing stderr do not mix */
	errno = err;
	sb_printf(&sb, "heaptrace: cannot %s '%s': %m; writing the report to stderr\n", verb, path);
	o->len = sb.len;
	o->fd = STDERR_FILENO;
	o->own = false;
}

void out_open(struct out *o, int fallback_fd)
{
	struct stat st;

	o->fd = fallback_fd;
	o->own = false;
	o->err = 0;
	o->len = 0;
	block_sigpipe();
	if (!ht_cfg.outfile)
		return;
	o->fd = open(outfile_path(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY |
				     (opened_before ? O_APPEND : O_TRUNC), 0644);
	if (o->fd < 0) {
		to_stderr(o, "open", errno);
		return;
	}
	o->own = true;
	/* where this report starts in a regular file; -1: not one */
	o->start = fstat(o->fd, &st) || !S_ISREG(st.st_mode) ? -1 : opened_before ? st.st_size : 0;
	opened_before = true;
}

/* All of buf to our file: 0, or why not (an errno). */
static int write_file(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? errno : EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void flush(struct out *o)
{
	if (!o->own)
		ht_write_all(o->fd, o->buf, o->len);
	else if (!o->err) /* after a failure, drop the rest: out_close() redoes it all */
		o->err = write_file(o->fd, o->buf, o->len);
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

bool out_close(struct out *o)
{
	flush(o);
	if (o->own) {
		/* the file keeps whole reports only (if ftruncate fails too,
		 * there is nothing better to do) */
		if (o->err && o->start >= 0)
			(void)!ftruncate(o->fd, o->start);
		close(o->fd);
		if (o->err) {
			to_stderr(o, "write", o->err);
			return false;
		}
	}
	unblock_sigpipe();
	return true;
}

void out_fork_child(void)
{
	opened_before = false;
}
