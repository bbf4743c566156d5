// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * output.c - the destination of one report.  Opened when a report starts and
 * closed when it ends (daemons close descriptors they did not open, and
 * exec'd children must not inherit ours), written with write(2) through a
 * buffer, never with stdio: the program's streams and their locks stay its
 * own.  Nothing here may hold up the program's exit for long: the file is
 * opened without blocking (a FIFO with no reader is refused), and a FIFO or
 * terminal that takes nothing for STALL_MS is given up on.  SIGPIPE and
 * SIGXFSZ raised by our writes are swallowed, so a closed pipe or a file
 * size limit never kills the program.  A report the file does not take
 * whole is cut from it and written again, whole, to stderr.  Report path
 * only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "output.h"

/* A FIFO or terminal that takes no byte for this long is given up on. */
#define STALL_MS 5000

/* Reasons that are no errno, in struct out's err. */
enum {
	E_STALLED = -1,
	E_NO_READER = -2,
	E_SOCKET = -3,
	E_BLOCK_DEVICE = -4,
	E_KIND = -5,
};

static bool opened_before; /* this process has written its outfile already */
static char path[4200];
/* What our writes raise: a pipe with no reader, a file size limit.  Both
 * kill by default; the program must not die of our report. */
static const int write_signals[] = { SIGPIPE, SIGXFSZ };
static sigset_t saved_mask, was_pending;

static const char *outfile_path(void)
{
	struct sbuf sb = SBUF_INIT(path);

	sb_puts(&sb, ht_cfg.outfile);
	if (getpid() != ht_cfg.root_pid)
		sb_printf(&sb, ".%d", (int)getpid());
	return sb_str(&sb);
}

static void block_write_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(write_signals); i++)
		sigaddset(&set, write_signals[i]);
	pthread_sigmask(SIG_BLOCK, &set, &saved_mask);
	sigpending(&was_pending);
}

/* A signal our writes raised stays pending while blocked: take it back. */
static void unblock_write_signals(void)
{
	sigset_t ours, pending;
	struct timespec zero = { 0, 0 };

	sigpending(&pending);
	sigemptyset(&ours);
	for (size_t i = 0; i < ARRAY_SIZE(write_signals); i++)
		if (sigismember(&pending, write_signals[i]) &&
		    !sigismember(&was_pending, write_signals[i]))
			sigaddset(&ours, write_signals[i]);
	while (sigtimedwait(&ours, NULL, &zero) > 0)
		;
	pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
}

static void put_reason(struct sbuf *sb, int err)
{
	switch (err) {
	case E_STALLED:
		sb_printf(sb, "its reader took nothing for %d seconds", STALL_MS / 1000);
		break;
	case E_NO_READER:
		sb_puts(sb, "it is a FIFO that no process reads");
		break;
	case E_SOCKET:
		sb_puts(sb, "it is a socket");
		break;
	case E_BLOCK_DEVICE:
		sb_puts(sb, "it is a block device");
		break;
	case E_KIND:
		sb_puts(sb, "it is not a regular file, a FIFO or a character device");
		break;
	default:
		sb_puts(sb, strerror(err));
	}
}

/* From now on the report goes to stderr, after one line saying why. */
static void to_stderr(struct out *o, const char *verb, int err)
{
	struct sbuf sb = { o->buf, 0, sizeof(o->buf) };

	/* the warning goes out with the report, in one write when they fit
	 * in a pipe's atomic size: processes sharing stderr do not mix */
	sb_printf(&sb, "heaptrace: cannot %s '%s': ", verb, path);
	put_reason(&sb, err);
	sb_puts(&sb, "; writing the report to stderr\n");
	o->len = sb.len;
	o->fd = STDERR_FILENO;
	o->own = false;
}

/* open() fails with ENXIO for a FIFO with no reader and a socket alike. */
static int open_error(int err)
{
	struct stat st;

	if (err != ENXIO || stat(path, &st))
		return err;
	if (S_ISFIFO(st.st_mode))
		return E_NO_READER;
	return S_ISSOCK(st.st_mode) ? E_SOCKET : err;
}

/* A report goes into a regular file, a FIFO (that has a reader: the open
 * succeeded) or a character device: a terminal, /dev/null... */
static int kind_error(const struct stat *st)
{
	if (S_ISREG(st->st_mode) || S_ISFIFO(st->st_mode) || S_ISCHR(st->st_mode))
		return 0;
	return S_ISBLK(st->st_mode) ? E_BLOCK_DEVICE : E_KIND;
}

void out_open(struct out *o, int fallback_fd)
{
	struct stat st;
	int err;

	o->fd = fallback_fd;
	o->own = false;
	o->err = 0;
	o->len = 0;
	block_write_signals();
	if (!ht_cfg.outfile)
		return;
	/* without O_NONBLOCK, a FIFO's open would wait for a reader and the
	 * writes to a FIFO or terminal for room (wait_room() bounds those) */
	o->fd = open(outfile_path(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
				     (opened_before ? O_APPEND : O_TRUNC), 0644);
	if (o->fd < 0) {
		to_stderr(o, "open", open_error(errno));
		return;
	}
	err = fstat(o->fd, &st) ? errno : kind_error(&st);
	if (err) {
		close(o->fd);
		to_stderr(o, "open", err);
		return;
	}
	o->own = true;
	/* where this report starts in a regular file; -1: not one */
	o->start = !S_ISREG(st.st_mode) ? -1 : opened_before ? st.st_size : 0;
	opened_before = true;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait for our full FIFO or terminal to take bytes: 0, E_STALLED after
 * STALL_MS, or an errno. */
static int wait_room(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	long long end = now_ms() + STALL_MS;

	for (;;) {
		long long left = end - now_ms();
		int n = left > 0 ? poll(&pfd, 1, (int)left) : 0;

		if (n > 0)
			return 0; /* room, or an error the next write reports */
		if (n == 0)
			return E_STALLED;
		if (errno != EINTR)
			return errno;
	}
}

/* All of buf to our file: 0, or why not. */
static int write_file(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		int err;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		err = n ? errno : EIO;
		if (err == EAGAIN)
			err = wait_room(fd);
		if (err && err != EINTR)
			return err;
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
	unblock_write_signals();
	return true;
}

void out_fork_child(void)
{
	opened_before = false;
}
