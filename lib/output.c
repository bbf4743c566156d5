// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * output.c - the destination of one report: --outfile, else stderr (stdout
 * for a flame graph), else a file of last resort.  Each that fails hands
 * the whole report to the next, after one line saying why.  Written with
 * write(2) through a buffer, never with stdio: the program's streams and
 * their locks stay its own.
 *
 * Descriptors: reports are written by the reporter thread, which has a
 * descriptor table of its own (out_private_fds()).  In it, stderr (and
 * stdout for --flame-graph) stay what they were when tracing began,
 * whatever the program closes, dup2()s or redirects meanwhile, and the
 * files a report opens are never the program's to see, inherit or close.
 * Where the kernel refuses that table, a report goes to the program's fd 2
 * only while it is still the file it was at start.
 *
 * Nothing here may hold up the program's exit for long: a file is opened
 * without blocking (a FIFO with no reader is refused), and a FIFO or
 * terminal that takes nothing for STALL_MS is given up on.  SIGPIPE and
 * SIGXFSZ raised by our writes are swallowed, so a closed pipe or a file
 * size limit never kills the program.  Report path only, but for
 * out_init() (start-up) and out_fork_child().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
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
	E_CLOSED = -6,   /* a standard stream closed when tracing began */
	E_REPLACED = -7, /* the program's fd 2 is another file now */
};

/* Where a report goes, in the order it falls back (next_dest()). */
enum dest {
	TO_OUTFILE,
	TO_STDOUT,
	TO_STDERR,
	TO_LAST_RESORT, /* LAST_RESORT_NAME in the start directory, else in /tmp */
	TO_NOWHERE,
};

#define LAST_RESORT_NAME "heaptrace.%d.txt"
/* a binary report's (options.h): never stdout or stderr */
#define LAST_RESORT_BINARY "heaptrace.%d.pprof"

static const char *last_resort_name(void)
{
	return ht_format_binary(ht_cfg.format) ? LAST_RESORT_BINARY : LAST_RESORT_NAME;
}

/* What stdout and stderr were when tracing began (indexed by fd). */
static struct {
	bool open;
	dev_t dev;
	ino_t ino;
} std_files[STDERR_FILENO + 1];
static char start_dir[PATH_MAX];
/* this process has written its outfile, its last-resort file already */
static bool outfile_before, last_resort_before;
static char path[PATH_MAX + 64];
static unsigned dumps; /* reports this process has begun */
/* What our writes raise: a pipe with no reader, a file size limit.  Both
 * kill by default; the program must not die of our report. */
static const int write_signals[] = { SIGPIPE, SIGXFSZ };
static sigset_t saved_mask, was_pending;

static void record_std_files(void)
{
	for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++) {
		struct stat st = { 0 };

		std_files[fd].open = fstat(fd, &st) == 0;
		std_files[fd].dev = st.st_dev;
		std_files[fd].ino = st.st_ino;
	}
}

void out_init(void)
{
	record_std_files();
	if (!getcwd(start_dir, sizeof(start_dir)))
		start_dir[0] = '\0'; /* the last-resort file goes to /tmp */
}

void out_fork_child(void)
{
	outfile_before = last_resort_before = false;
	dumps = 0;
	record_std_files(); /* the child's: its fd 1 and 2 as it was forked */
}

/*
 * The kernel copies stdin, stdout and stderr into the new table, which
 * keeps stderr, and stdout where a flame graph goes.  Copies share the
 * program's open files (offset, flags), so the report lands after what the
 * program wrote, and keep them open until the process ends.  No process
 * lock is dropped by closing a copy: POSIX record locks belong to the
 * program's table, not to ours.
 */
void out_private_fds(void)
{
	if (ht_unshare_fds_below(STDERR_FILENO + 1))
		return; /* the program's table: std_error() checks its fd 2 */
	close(STDIN_FILENO);
	if (!ht_format_alone(ht_cfg.format) || ht_cfg.outfile)
		close(STDOUT_FILENO);
}

/* 0 when fd (1 or 2) is the file it was when tracing began. */
static int std_error(int fd)
{
	struct stat st;

	if (!std_files[fd].open)
		return E_CLOSED;
	if (fstat(fd, &st) || st.st_dev != std_files[fd].dev || st.st_ino != std_files[fd].ino)
		return E_REPLACED;
	return 0;
}

/* A flame graph is whole only alone: each dump after the first gets its
 * own file, named apart from the FILE.PID of other processes. */
static const char *outfile_path(unsigned dump)
{
	struct sbuf sb = SBUF_INIT(path);

	sb_puts(&sb, ht_cfg.outfile);
	if (getpid() != ht_cfg.root_pid)
		sb_printf(&sb, ".%d", (int)getpid());
	if (ht_format_alone(ht_cfg.format) && dump > 1)
		sb_printf(&sb, ".dump%u", dump);
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
	case E_CLOSED:
		sb_puts(sb, "it was closed when the program started");
		break;
	case E_REPLACED:
		sb_puts(sb, "the program replaced it");
		break;
	default:
		sb_puts(sb, strerror(err));
	}
}

static enum dest next_dest(enum dest d)
{
	if (d == TO_OUTFILE && ht_format_binary(ht_cfg.format))
		return TO_LAST_RESORT;
	switch (d) {
	case TO_OUTFILE:
	case TO_STDOUT:
		return TO_STDERR;
	case TO_STDERR:
		return TO_LAST_RESORT;
	default:
		return TO_NOWHERE;
	}
}

/*
 * One line on why d failed, which goes out before the report wherever it
 * goes next (and with the notes of earlier failures).  Nothing is said of
 * the last resort: there is no place left to say it.
 */
static void add_note(struct out *o, enum dest d, const char *verb, int err)
{
	struct sbuf sb = { o->notes, o->nnotes, sizeof(o->notes) };

	if (d == TO_OUTFILE)
		sb_printf(&sb, "heaptrace: cannot %s '%s': ", verb, path);
	else if (d == TO_STDOUT || d == TO_STDERR)
		sb_printf(&sb, "heaptrace: cannot write to %s: ", d == TO_STDOUT ? "stdout" : "stderr");
	else
		return;
	put_reason(&sb, err);
	if (next_dest(d) == TO_LAST_RESORT) {
		sb_puts(&sb, "; writing the report to ");
		sb_printf(&sb, last_resort_name(), (int)getpid());
		sb_putc(&sb, '\n');
	} else
		sb_puts(&sb, "; writing the report to stderr\n");
	o->nnotes = sb.len;
}

/* open() fails with ENXIO for a FIFO with no reader and a socket alike. */
static int open_error(const char *name, int err)
{
	struct stat st;

	if (err != ENXIO || stat(name, &st))
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

/*
 * The last resort may be in /tmp, where anyone can create a file first: it
 * must be a regular file of ours, and no link is followed.
 */
static int last_resort_error(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_uid == geteuid() ? 0 : E_KIND;
}

/*
 * Open name for a report: a process's first report empties the file,
 * later ones append (*before says which).  Without O_NONBLOCK, a FIFO's
 * open would wait for a reader and the writes to a FIFO or terminal for
 * room (wait_room() bounds those).  The file is checked before it is cut.
 */
static int open_file(struct out *o, const char *name, bool *before, int flags,
		     int (*check)(const struct stat *))
{
	struct stat st;
	int err;

	o->fd = open(name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags,
		     flags & O_NOFOLLOW ? 0600 : 0644);
	if (o->fd < 0)
		return open_error(name, errno);
	err = fstat(o->fd, &st) ? errno : check(&st);
	if (!err && S_ISREG(st.st_mode) && !*before && ftruncate(o->fd, 0))
		err = errno;
	if (err) {
		close(o->fd);
		return err;
	}
	o->own = true;
	/* where this report starts in a regular file; -1: not one */
	o->start = !S_ISREG(st.st_mode) ? -1 : *before ? st.st_size : 0;
	*before = true;
	return 0;
}

static int open_last_resort(struct out *o)
{
	char name[sizeof(start_dir) + 64];
	const char *dirs[] = { start_dir, "/tmp" };

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		struct sbuf sb = SBUF_INIT(name);

		if (!dirs[i][0])
			continue;
		sb_printf(&sb, "%s/", strcmp(dirs[i], "/") ? dirs[i] : "");
		sb_printf(&sb, last_resort_name(), (int)getpid());
		if (!open_file(o, sb_str(&sb), &last_resort_before, O_NOFOLLOW, last_resort_error))
			return 0;
	}
	return ENOENT;
}

/* Make d the destination: 0, or why it cannot be. */
static int open_dest(struct out *o, enum dest d)
{
	o->own = false;
	o->start = -1;
	o->fd = -1;
	switch (d) {
	case TO_OUTFILE: {
		/* a flame graph's dumps each start a file of their own */
		bool fresh = false;

		bool *before = ht_format_alone(ht_cfg.format) ? &fresh : &outfile_before;

		return open_file(o, outfile_path(o->dump), before, 0, kind_error);
	}
	case TO_STDOUT:
	case TO_STDERR:
		o->fd = d == TO_STDOUT ? STDOUT_FILENO : STDERR_FILENO;
		return std_error(o->fd);
	case TO_LAST_RESORT:
		return open_last_resort(o);
	default:
		return 0; /* nowhere: the report is dropped */
	}
}

/* Write from now on to d, or the first destination after it that opens. */
static void go_to(struct out *o, enum dest d)
{
	int err;

	while ((err = open_dest(o, d))) {
		add_note(o, d, "open", err);
		d = next_dest(d);
	}
	o->dest = d;
	o->err = 0;
	/* the notes go out with the report, in one write when they fit in a
	 * pipe's atomic size: processes sharing stderr do not mix */
	if (ht_format_binary(ht_cfg.format)) { /* said apart from the data */
		ht_write_all(STDERR_FILENO, o->notes, o->nnotes);
		o->nnotes = 0;
	}
	memcpy(o->buf, o->notes, o->nnotes);
	o->len = o->nnotes;
}

void out_open(struct out *o, int std_fd)
{
	o->nnotes = 0;
	o->dump = ++dumps;
	block_write_signals();
	if (ht_cfg.outfile)
		go_to(o, TO_OUTFILE);
	else
		go_to(o, std_fd == STDOUT_FILENO ? TO_STDOUT : TO_STDERR);
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

/* All of buf to fd: 0, or why not. */
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
	/* after a failure, drop the rest: out_close() redoes it all */
	if (o->dest != TO_NOWHERE && !o->err)
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
	}
	if (o->err) {
		add_note(o, o->dest, "write", o->err);
		go_to(o, next_dest(o->dest));
		return false;
	}
	unblock_write_signals();
	return true;
}
