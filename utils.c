// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * utils.c - helpers shared by the launcher and the library: the parsers of
 * the HEAPTRACE_* values (one grammar for both sides), number formatting and
 * diagnostics.  No malloc, no stdio streams: the library calls these from
 * its report path and from start-up, where the program's allocator and
 * stdio are not ours to use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "options.h"
#include "utils.h"

/* ------------------------------------------------------------ parsers */

const char *ht_parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!s || !*s)
		return "is empty";
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return "is not a non-negative integer";
		if (__builtin_mul_overflow(v, 10UL, &v) ||
		    __builtin_add_overflow(v, (unsigned long)(*p - '0'), &v))
			return "is too large";
	}
	if (v > max)
		return "is too large";
	*out = v;
	return NULL;
}

const char *ht_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (s && !strcasecmp(s, yes[i])) {
			*out = true;
			return NULL;
		}
		if (s && !strcasecmp(s, no[i])) {
			*out = false;
			return NULL;
		}
	}
	return "is not a boolean (use 1 or 0)";
}

/* "a, b or c" of names[0..n-1], into buf (which stays as it is once full). */
static const char *join_names(char *buf, size_t cap, const char *const *names, size_t n)
{
	struct sbuf sb = { buf, 0, cap };

	size_t total = 0, k = 0;

	if (buf[0]) /* built already: each list is built once, at start-up */
		return buf;
	for (size_t i = 0; i < n; i++)
		total += names[i] != NULL;
	for (size_t i = 0; i < n; i++) {
		if (!names[i])
			continue;
		sb_printf(&sb, "%s%s", k == 0 ? "" : k + 1 == total ? " or " : ", ", names[i]);
		k++;
	}
	return buf;
}

/* "<what> (use <names>)": an error text built once, into buf. */
static const char *use_names(char *buf, size_t cap, const char *what, const char *names)
{
	if (!buf[0])
		snprintf(buf, cap, "%s (use %s)", what, names);
	return buf;
}

static const char *const unwinder_names[] = {
	[HT_UNWIND_DWARF] = "dwarf",
	[HT_UNWIND_LIBUNWIND] = "libunwind",
	[HT_UNWIND_FP] = "fp",
	[HT_UNWIND_CHECK] = "check",
};

static const char *unwinder_list(void)
{
	static char buf[128];

	return join_names(buf, sizeof(buf), unwinder_names, ARRAY_SIZE(unwinder_names));
}

const char *ht_parse_unwind(const char *s, enum ht_unwinder *out)
{
	static char err[160];

	for (size_t i = 0; s && i < ARRAY_SIZE(unwinder_names); i++) {
		if (!strcmp(s, unwinder_names[i])) {
			*out = (enum ht_unwinder)i;
			return NULL;
		}
	}
	return use_names(err, sizeof(err), "is not an unwinder", unwinder_list());
}

#define HT_FORMAT_NAME(id, name, writer, alone, binary, flame) [HT_FORMAT_##id] = name,
static const char *const format_names[HT_FORMAT_COUNT] = { HT_FORMATS(HT_FORMAT_NAME) };
#undef HT_FORMAT_NAME
#define HT_FORMAT_ALONE(id, name, writer, alone, binary, flame) [HT_FORMAT_##id] = alone,
static const bool format_alone[HT_FORMAT_COUNT] = { HT_FORMATS(HT_FORMAT_ALONE) };
#undef HT_FORMAT_ALONE
#define HT_FORMAT_BINARY(id, name, writer, alone, binary, flame) [HT_FORMAT_##id] = binary,
static const bool format_binary[HT_FORMAT_COUNT] = { HT_FORMATS(HT_FORMAT_BINARY) };
#undef HT_FORMAT_BINARY

bool ht_format_alone(enum ht_format f)
{
	return format_alone[f];
}

bool ht_format_binary(enum ht_format f)
{
	return format_binary[f];
}

#define HT_FORMAT_FLAME(id, name, writer, alone, binary, flame) [HT_FORMAT_##id] = flame,
static const bool format_flame[HT_FORMAT_COUNT] = { HT_FORMATS(HT_FORMAT_FLAME) };
#undef HT_FORMAT_FLAME

bool ht_format_flame(enum ht_format f)
{
	return format_flame[f];
}

static const char *format_list(void)
{
	static char buf[128];

	return join_names(buf, sizeof(buf), format_names, ARRAY_SIZE(format_names));
}

const char *ht_parse_format(const char *s, enum ht_format *out)
{
	static char err[160];

	for (size_t i = 0; s && i < ARRAY_SIZE(format_names); i++) {
		if (!strcmp(s, format_names[i])) {
			*out = (enum ht_format)i;
			return NULL;
		}
	}
	return use_names(err, sizeof(err), "is not a format", format_list());
}

const char *ht_parse_depth(const char *s, int *depth)
{
	unsigned long v;

	if (ht_parse_ulong(s, HT_DEPTH_MAX, &v) || v < 1)
		return "is not a number of frames from 1 to " HT_STR(HT_DEPTH_MAX);
	*depth = (int)v;
	return NULL;
}

const char *ht_parse_interval(const char *s, unsigned long long *ms)
{
	unsigned long long v = 0;
	int decimals = -1;

	if (!s || !*s)
		return "is empty";
	for (const char *p = s; *p; p++) {
		if (*p == '.' && decimals < 0 && p != s && p[1]) {
			decimals = 0;
			continue;
		}
		if (*p < '0' || *p > '9' || decimals >= 3)
			return "is not a number of seconds (up to three decimals)";
		v = v * 10 + (unsigned)(*p - '0');
		if (decimals >= 0)
			decimals++;
		if (v > HT_INTERVAL_MAX_MS)
			return "is too long (at most a week)";
	}
	for (int d = decimals < 0 ? 0 : decimals; d < 3; d++)
		v *= 10;
	if (v > HT_INTERVAL_MAX_MS)
		return "is too long (at most a week)";
	*ms = v;
	return NULL;
}

/* Signal names as kill -l spells them, without "SIG". */
static const struct {
	const char *name;
	int signo;
} signal_names[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },	  { "QUIT", SIGQUIT },	   { "ABRT", SIGABRT },
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "PIPE", SIGPIPE },	   { "ALRM", SIGALRM },
	{ "TERM", SIGTERM }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT },	   { "TSTP", SIGTSTP },
	{ "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG },	   { "XCPU", SIGXCPU },
	{ "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
	{ "IO", SIGIO },     { "PWR", SIGPWR },	  { "KILL", SIGKILL },	   { "STOP", SIGSTOP },
	{ "SEGV", SIGSEGV }, { "BUS", SIGBUS },	  { "FPE", SIGFPE },	   { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "SYS", SIGSYS },
};

/* Number, NAME, SIGNAME, RTMIN+N or RTMAX-N; 0 if none. */
static int signal_lookup(const char *s, size_t len)
{
	char name[32];
	unsigned long n;

	if (len == 0 || len >= sizeof(name))
		return 0;
	memcpy(name, s, len);
	name[len] = '\0';
	if (!ht_parse_ulong(name, 1000, &n))
		return n >= 1 && (int)n <= SIGRTMAX ? (int)n : 0;
	s = strncmp(name, "SIG", 3) ? name : name + 3;
	for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
		if (!strcmp(s, signal_names[i].name))
			return signal_names[i].signo;
	if (!strncmp(s, "RTMIN", 5) || !strncmp(s, "RTMAX", 5)) {
		bool min = s[4] == 'N';
		int sig = min ? SIGRTMIN : SIGRTMAX;

		if (!s[5])
			return sig;
		if (s[5] != (min ? '+' : '-') || ht_parse_ulong(s + 6, 64, &n))
			return 0;
		sig = min ? sig + (int)n : sig - (int)n;
		return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : 0;
	}
	return 0;
}

/* Signals heaptrace may not take: uncatchable, or raised by faults. */
static bool signal_refused(int signo)
{
	return signo == SIGKILL || signo == SIGSTOP || signo == SIGSEGV || signo == SIGBUS ||
	       signo == SIGFPE || signo == SIGILL || signo == SIGTRAP || signo == SIGSYS ||
	       signo == SIGABRT || signo == SIGPIPE || signo == SIGCHLD;
}

static int sort_lookup(const char *s, size_t len);
static const char *unknown_key(void);

const char *ht_parse_signals(const char *s, struct ht_signal out[HT_MAX_SIGNALS], int *n)
{
	int count = 0;

	if (!s || !*s)
		return "is empty";
	if (!strcmp(s, "none")) {
		*n = 0;
		return NULL;
	}
	for (;;) {
		size_t len = strcspn(s, ","), klen = strcspn(s, ":");
		int key, signo;

		if (klen >= len)
			return "needs KEY:SIGNAL pairs (for example size:USR1)";
		key = sort_lookup(s, klen);
		if (key < 0)
			return unknown_key();
		signo = signal_lookup(s + klen + 1, len - klen - 1);
		if (!signo)
			return "has an unknown signal (use a name such as USR1, RTMIN+3, or a number)";
		if (signal_refused(signo))
			return "names a signal heaptrace cannot take (uncatchable, or raised by faults)";
		for (int i = 0; i < count; i++)
			if (out[i].signo == signo)
				return "names a signal twice";
		if (count == HT_MAX_SIGNALS)
			return "has too many signals (at most 8)";
		out[count++] = (struct ht_signal){ signo, (enum ht_sort)key };
		if (!s[len])
			break;
		s += len + 1;
	}
	*n = count;
	return NULL;
}

#define HT_SORT_ROW(id, name, lists, weight, header) { name, HT_LISTS_##lists, weight, header },
static const struct {
	const char *name;
	enum ht_sort_lists lists;
	const char *weight, *header;
} sort_keys[HT_SORT_NKEYS] = { HT_SORT_KEYS(HT_SORT_ROW) };
#undef HT_SORT_ROW

const char *ht_sort_name(enum ht_sort key)
{
	return key < HT_SORT_NKEYS ? sort_keys[key].name : "?";
}

enum ht_sort_lists ht_sort_lists(enum ht_sort key)
{
	return key < HT_SORT_NKEYS ? sort_keys[key].lists : HT_LISTS_LIVE;
}

const char *ht_sort_weight(enum ht_sort key)
{
	return key < HT_SORT_NKEYS ? sort_keys[key].weight : NULL;
}

const char *ht_sort_header(enum ht_sort key)
{
	return key < HT_SORT_NKEYS ? sort_keys[key].header : "?";
}

static int sort_lookup(const char *s, size_t len)
{
	for (int k = 0; k < HT_SORT_NKEYS; k++)
		if (strlen(sort_keys[k].name) == len && !strncmp(s, sort_keys[k].name, len))
			return k;
	return -1;
}

/* The sort keys' names; only_weighed: those a flame graph can weigh by. */
static const char *sort_list(char *buf, size_t cap, bool only_weighed)
{
	const char *names[HT_SORT_NKEYS];

	for (int k = 0; k < HT_SORT_NKEYS; k++)
		names[k] = !only_weighed || sort_keys[k].weight ? sort_keys[k].name : NULL;
	return join_names(buf, cap, names, HT_SORT_NKEYS);
}

const char *ht_flame_names(void)
{
	static char buf[256];

	return sort_list(buf, sizeof(buf), true);
}

static const char *sort_names(void)
{
	static char buf[256];

	return sort_list(buf, sizeof(buf), false);
}

static const char *unknown_key(void)
{
	static char err[300];

	return use_names(err, sizeof(err), "has an unknown sort key", sort_names());
}

/* "size,count": each key once, at most one of each, none empty. */
const char *ht_parse_sort(const char *s, enum ht_sort keys[HT_MAX_SORTS], int *n)
{
	int count = 0;

	if (!s || !*s)
		return "is empty";
	for (;;) {
		size_t len = strcspn(s, ",");
		int k = sort_lookup(s, len);

		if (len == 0)
			return "has an empty sort key";
		if (k < 0)
			return unknown_key();
		for (int i = 0; i < count; i++)
			if (keys[i] == (enum ht_sort)k)
				return "names a sort key twice";
		keys[count++] = k;
		if (!s[len])
			break;
		s += len + 1;
	}
	*n = count;
	return NULL;
}

/* ------------------------------------------------------------ kinds */

/*
 * One parser per kind of option (options.h), over the typed parsers above;
 * out is the kind's field (see union ht_value).
 */
static const char *parse_number(const char *s, void *out)
{
	return ht_parse_ulong(s, HT_TOP_MAX, out);
}

/* A count of bytes, with an optional binary suffix: 512k, 4M, 1G. */
static const char *parse_bytes(const char *s, void *out)
{
	static const char suffixes[] = "kMG";
	size_t len = s ? strlen(s) : 0;
	const char *at = len ? strchr(suffixes, s[len - 1]) : NULL;
	char digits[32];
	unsigned long v, *res = out;
	const char *err;
	int shift;

	if (!at)
		return ht_parse_ulong(s, (unsigned long)-1, out);
	if (len - 1 >= sizeof(digits))
		return "is too large";
	memcpy(digits, s, len - 1);
	digits[len - 1] = '\0';
	err = ht_parse_ulong(digits, (unsigned long)-1, &v);
	if (err)
		return err;
	shift = 10 * (int)(at - suffixes + 1);
	if (v > (unsigned long)-1 >> shift)
		return "is too large";
	*res = v << shift;
	return NULL;
}

static const char *parse_bool(const char *s, void *out)
{
	return ht_parse_bool(s, out);
}

static const char *parse_sorts(const char *s, void *out)
{
	struct ht_sort_list *l = out;

	return ht_parse_sort(s, l->keys, &l->n);
}

static const char *parse_signals(const char *s, void *out)
{
	struct ht_signal_list *l = out;

	return ht_parse_signals(s, l->sigs, &l->n);
}

static const char *parse_seconds(const char *s, void *out)
{
	return ht_parse_interval(s, out);
}

static const char *parse_depth(const char *s, void *out)
{
	return ht_parse_depth(s, out);
}

static const char *parse_percent(const char *s, void *out)
{
	return ht_parse_ulong(s, 100, out);
}

static const char *parse_unwind(const char *s, void *out)
{
	return ht_parse_unwind(s, out);
}

static const char *parse_format(const char *s, void *out)
{
	return ht_parse_format(s, out);
}

/* --flame-graph: true selects folded stacks, false leaves --format be. */
static const char *parse_folded(const char *s, void *out)
{
	bool folded;
	const char *err;

	if (!strcmp(s, "svg")) {
		*(enum ht_format *)out = HT_FORMAT_SVG;
		return NULL;
	}
	err = ht_parse_bool(s, &folded);
	if (!err && folded)
		*(enum ht_format *)out = HT_FORMAT_FOLDED;
	return err ? "is not 1, 0 or svg" : NULL;
}

/* --check: a bool (leaks), or "live"; the launcher's bare flag says "1". */
static const char *parse_check(const char *s, void *out)
{
	bool on;

	if (!strcmp(s, "live")) {
		*(enum ht_check *)out = HT_CHECK_LIVE;
		return NULL;
	}
	if (ht_parse_bool(s, &on))
		return "is not yes, no or live";
	*(enum ht_check *)out = on ? HT_CHECK_LEAKS : HT_CHECK_OFF;
	return NULL;
}

static const char *parse_path(const char *s, void *out)
{
	*(const char **)out = s;
	return NULL;
}

static const char *parse_nothing(const char *s, void *out)
{
	(void)s;
	(void)out;
	return NULL;
}

static const struct {
	const char *(*parse)(const char *s, void *out);
	const char *(*names)(void); /* what --help's "%s" says */
} kinds[] = {
	[HT_KIND_NUMBER] = { parse_number, NULL },
	[HT_KIND_BYTES] = { parse_bytes, NULL },
	[HT_KIND_BOOL] = { parse_bool, NULL },
	[HT_KIND_SORTS] = { parse_sorts, sort_names },
	[HT_KIND_SIGNALS] = { parse_signals, NULL },
	[HT_KIND_SECONDS] = { parse_seconds, NULL },
	[HT_KIND_DEPTH] = { parse_depth, NULL },
	[HT_KIND_PERCENT] = { parse_percent, NULL },
	[HT_KIND_UNWIND] = { parse_unwind, unwinder_list },
	[HT_KIND_FORMAT] = { parse_format, format_list },
	[HT_KIND_FOLDED] = { parse_folded, NULL },
	[HT_KIND_OUTFILE] = { parse_path, NULL },
	[HT_KIND_INFILE] = { parse_path, NULL },
	[HT_KIND_DIR] = { parse_path, NULL },
	[HT_KIND_ALIAS] = { parse_nothing, NULL },
	[HT_KIND_CHECK] = { parse_check, NULL },
};

const char *ht_parse_kind(enum ht_kind kind, const char *s, void *out)
{
	return kinds[kind].parse(s, out);
}

const char *ht_kind_names(enum ht_kind kind)
{
	return kinds[kind].names ? kinds[kind].names() : "";
}

/* ------------------------------------------------------------ sbuf */

void sb_putn(struct sbuf *sb, const char *s, size_t n)
{
	size_t room = sb->cap - sb->len;

	if (sb->cap == 0)
		return;
	if (room <= 1)
		return;
	if (n > room - 1)
		n = room - 1;
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void sb_puts(struct sbuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

void sb_putc(struct sbuf *sb, char c)
{
	sb_putn(sb, &c, 1);
}

void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	size_t room = sb->cap - sb->len;
	int n;

	if (room <= 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sb->len += (size_t)n < room ? (size_t)n : room - 1;
}

void sb_put_escaped(struct sbuf *sb, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			sb_puts(sb, "\\n");
		else if (c == '\t')
			sb_puts(sb, "\\t");
		else if (c < 0x20 || c == 0x7f)
			sb_printf(sb, "\\x%02x", c);
		else
			sb_putc(sb, (char)c);
	}
}

const char *sb_str(struct sbuf *sb)
{
	if (sb->cap && sb->len == 0)
		sb->buf[0] = '\0';
	return sb->buf;
}

/* ------------------------------------------------------------ formats */

/*
 * v in the largest of names[1..3] (units of 1e3, 1e6, 1e9) that is not more
 * than v: a whole number when v is one ("4 KB" for 4000 bytes), else with
 * three truncated decimals ("4.034 MB" for 4034999): a number without
 * decimals is exact.  Below 1000, a whole number of names[0], or of one
 * when v is 1 ("1 byte").
 */
static void fmt_decimal(struct sbuf *sb, uint64_t v, const char *const names[4],
			const char *one)
{
	static const uint64_t units[4] = { 1, 1000, 1000000, 1000000000 };
	int i = 3;

	while (i > 0 && v < units[i])
		i--;
	if (i == 0)
		sb_printf(sb, "%llu %s", (unsigned long long)v, v == 1 ? one : names[0]);
	else if (v % units[i] == 0)
		sb_printf(sb, "%llu %s", (unsigned long long)(v / units[i]), names[i]);
	else
		sb_printf(sb, "%llu.%03llu %s", (unsigned long long)(v / units[i]),
			  (unsigned long long)(v % units[i] / units[i - 1]), names[i]);
}

void ht_fmt_count(struct sbuf *sb, uint64_t n, const char *noun)
{
	sb_printf(sb, "%llu %s%s", (unsigned long long)n, noun, n == 1 ? "" : "s");
}

void ht_fmt_bytes(struct sbuf *sb, uint64_t bytes)
{
	static const char *const names[4] = { "bytes", "KB", "MB", "GB" };

	fmt_decimal(sb, bytes, names, "byte");
}

void ht_fmt_duration(struct sbuf *sb, uint64_t ns)
{
	static const char *const names[4] = { "ns", "us", "ms", "s" };

	fmt_decimal(sb, ns, names, "ns");
}

/* ------------------------------------------------------------ output */

int ht_write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

void ht_warn(const char *fmt, ...)
{
	char line[1024];
	struct sbuf sb = SBUF_INIT(line);
	int saved = errno;
	va_list ap;
	int n;

	sb_puts(&sb, "heaptrace: ");
	va_start(ap, fmt);
	n = vsnprintf(sb.buf + sb.len, sb.cap - sb.len - 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb.len += (size_t)n < sb.cap - sb.len - 1 ? (size_t)n : sb.cap - sb.len - 2;
	sb.buf[sb.len++] = '\n';
	ht_write_all(STDERR_FILENO, sb.buf, sb.len);
	errno = saved;
}

void ht_fmt_growth(struct sbuf *sb, int64_t bytes, int64_t count, bool estimated)
{
	const char *est = estimated ? "~" : "";

	sb_printf(sb, "%s%c", est, bytes < 0 ? '-' : '+');
	ht_fmt_bytes(sb, bytes < 0 ? -(uint64_t)bytes : (uint64_t)bytes);
	sb_printf(sb, "/%s%c", est, count < 0 ? '-' : '+');
	ht_fmt_count(sb, count < 0 ? -(uint64_t)count : (uint64_t)count, "block");
}

void ht_read_line(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, cap - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* Copy the UTF-8 character at s, or write U+FFFD for a byte that starts
 * none (a path need not be UTF-8); returns the bytes consumed. */
static size_t utf8_char(struct sbuf *sb, const char *s)
{
	unsigned char c = (unsigned char)s[0];
	size_t len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;

	for (size_t i = 1; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			len = 0;
	if (!len) {
		sb_puts(sb, "\\ufffd");
		return 1;
	}
	sb_putn(sb, s, len);
	return len;
}

void sb_put_json(struct sbuf *sb, const char *s)
{
	sb_putc(sb, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sb_printf(sb, "\\%c", c);
		else if (c == '\n')
			sb_puts(sb, "\\n");
		else if (c == '\t')
			sb_puts(sb, "\\t");
		else if (c < 0x20 || c == 0x7f)
			sb_printf(sb, "\\u%04x", c);
		else if (c < 0x80)
			sb_putc(sb, (char)c);
		else
			s += utf8_char(sb, s) - 1;
	}
	sb_putc(sb, '"');
}
