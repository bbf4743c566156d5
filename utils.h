/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * utils.h - small pure helpers: number and time formatting, a bounded string
 * builder, diagnostics through one write(2).  Nothing here allocates, so any
 * of it may run in the library's report path; none of it belongs on the
 * allocation hot path except ht_warn() on a failure.
 */
#ifndef HEAPTRACE_UTILS_H
#define HEAPTRACE_UTILS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The one multiplier of every hash here: 2^64 / phi (Knuth's Fibonacci
 * hashing, TAOCP 6.4; Linux's GOLDEN_RATIO_64).  The product spreads
 * aligned, clustered keys (addresses) into its high bits, which a table
 * takes its slot from (hash_slot()) or a fold brings down.
 */
#define GOLDEN_RATIO_64 0x9e3779b97f4a7c15ULL

static inline uint64_t hash_word(uint64_t x)
{
	return x * GOLDEN_RATIO_64;
}

/* x's slot in a table of mask + 1 slots (a power of two, at most 2^24). */
static inline size_t hash_slot(uint64_t x, size_t mask)
{
	return (size_t)(hash_word(x) >> 40) & mask;
}

/* A string builder over a caller-owned buffer; output past cap is dropped. */
struct sbuf {
	char *buf;
	size_t len, cap;
};

#define SBUF_INIT(b) { .buf = (b), .len = 0, .cap = sizeof(b) }

void sb_puts(struct sbuf *sb, const char *s);
void sb_putn(struct sbuf *sb, const char *s, size_t n);
void sb_putc(struct sbuf *sb, char c);
void sb_printf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *sb_str(struct sbuf *sb);

/* s as a JSON string, quoted; bytes >= 0x80 pass as they are (UTF-8). */
void sb_put_json(struct sbuf *sb, const char *s);

/* The first line of a small file (/proc/self/comm...), "" if unreadable. */
void ht_read_line(const char *path, char *buf, size_t cap);

/* s with control characters written as \n, \t or \xNN: one line, always. */
void sb_put_escaped(struct sbuf *sb, const char *s);

/* "1 block", "2 blocks": n and the noun, plural unless n is one. */
void ht_fmt_count(struct sbuf *sb, uint64_t n, const char *noun);
/* "999 bytes", "4 KB", "4.034 MB": decimal units up to GB; three truncated
 * decimals unless the value is a whole number of the unit. */
void ht_fmt_bytes(struct sbuf *sb, uint64_t bytes);
/* "+1.204 MB/+301 blocks", "-2 KB/-1 block": a change of bytes and blocks;
 * estimated (--sample): "~+1.204 MB/~+301 blocks". */
void ht_fmt_growth(struct sbuf *sb, int64_t bytes, int64_t count, bool estimated);
/* "850 ns", "6.236 ms", "12 s" */
void ht_fmt_duration(struct sbuf *sb, uint64_t ns);

/* One line "heaptrace: ...\n" on stderr with a single write(2). */
void ht_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* write(2) all of buf, retrying on EINTR and short writes; -1 on error. */
int ht_write_all(int fd, const char *buf, size_t len);

#endif
