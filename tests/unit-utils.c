// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * unit-utils.c - the helpers both the launcher and the library rely on:
 * the parsers of the HEAPTRACE_* values (one grammar, so both sides must
 * agree on every edge), the number formats of the report, and the bounded
 * string builder everything is printed through.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <unistd.h>

#include "../bfdfind.c"
#include "../cxxname.c"
#include "../utils.c"
#include "unit.h"

/* ------------------------------------------------------------ ht_parse_ulong */

#define ULONG_SENTINEL 0x5a5a5a5aUL

/* Parse s with max; the value on success, or the sentinel left in place. */
static const char *parse_ulong(const char *s, unsigned long max, unsigned long *v)
{
	*v = ULONG_SENTINEL;
	return ht_parse_ulong(s, max, v);
}

static void test_parse_ulong(void)
{
	static const char *const bad[] = {
	    "",	 "a",	  "1a", "a1",	"-1",  "-0",  "+1",  " 1",	 "1 ",
	    " ", "1,000", "1.", "0x10", "1e3", "\t7", "7\n", "\xd9\xa3",
	};
	unsigned long v;

	CHECK_STR(parse_ulong("0", ULONG_MAX, &v), NULL);
	CHECK_EQ(v, 0);
	CHECK_STR(parse_ulong("7", ULONG_MAX, &v), NULL);
	CHECK_EQ(v, 7);
	CHECK_STR(parse_ulong("007", ULONG_MAX, &v), NULL);
	CHECK_EQ(v, 7);
	CHECK_STR(parse_ulong("123456789", ULONG_MAX, &v), NULL);
	CHECK_EQ(v, 123456789);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(parse_ulong(bad[i], ULONG_MAX, &v) != NULL);
		CHECK_EQ(v, ULONG_SENTINEL);
	}
	CHECK(parse_ulong(NULL, ULONG_MAX, &v) != NULL);
	CHECK_EQ(v, ULONG_SENTINEL);
	CHECK_STR(parse_ulong("", ULONG_MAX, &v), "is empty");
	CHECK_STR(parse_ulong("-1", ULONG_MAX, &v), "is not a non-negative integer");

	/* the max boundary, small and large */
	CHECK_STR(parse_ulong("10", 10, &v), NULL);
	CHECK_EQ(v, 10);
	CHECK_STR(parse_ulong("11", 10, &v), "is too large");
	CHECK_EQ(v, ULONG_SENTINEL);
	CHECK_STR(parse_ulong("0", 0, &v), NULL);
	CHECK_EQ(v, 0);
	CHECK_STR(parse_ulong("1", 0, &v), "is too large");
	CHECK_STR(parse_ulong("1000000000", HT_TOP_MAX, &v), NULL);
	CHECK_EQ(v, HT_TOP_MAX);
	CHECK_STR(parse_ulong("1000000001", HT_TOP_MAX, &v), "is too large");
	CHECK_EQ(v, ULONG_SENTINEL);

	/* the largest unsigned long, and one past it: overflow, not wrap-around */
	CHECK_STR(parse_ulong("18446744073709551615", ULONG_MAX, &v), NULL);
	CHECK_EQ(v, ULONG_MAX);
	CHECK_STR(parse_ulong("18446744073709551616", ULONG_MAX, &v), "is too large");
	CHECK_EQ(v, ULONG_SENTINEL);
	CHECK_STR(parse_ulong("18446744073709551620", ULONG_MAX, &v), "is too large");
	CHECK_STR(parse_ulong("36893488147419103232", ULONG_MAX, &v), "is too large"); /* 2^65 */
	CHECK_STR(parse_ulong("99999999999999999999999", ULONG_MAX, &v), "is too large");
	CHECK_EQ(v, ULONG_SENTINEL);
	/* a digit after an overflow is still "too large", garbage after it is not a number */
	CHECK(parse_ulong("99999999999999999999999x", ULONG_MAX, &v) != NULL);
	CHECK_EQ(v, ULONG_SENTINEL);
}

/* ------------------------------------------------------------ bytes: k, M, G */

static void test_parse_bytes(void)
{
	static const char *const bad[] = { "k", "1K", "1m", "1kk", "k1", "1 k", "-1k", "1.5M", "M" };
	unsigned long v;

	CHECK_STR(ht_parse_kind(HT_KIND_BYTES, "0", &v), NULL);
	CHECK_EQ(v, 0);
	CHECK_STR(ht_parse_kind(HT_KIND_BYTES, "4096", &v), NULL);
	CHECK_EQ(v, 4096);
	CHECK_STR(ht_parse_kind(HT_KIND_BYTES, "512k", &v), NULL);
	CHECK_EQ(v, 512UL << 10);
	CHECK_STR(ht_parse_kind(HT_KIND_BYTES, "2M", &v), NULL);
	CHECK_EQ(v, 2UL << 20);
	CHECK_STR(ht_parse_kind(HT_KIND_BYTES, "3G", &v), NULL);
	CHECK_EQ(v, 3UL << 30);
	/* the largest that fits, and one more */
	CHECK_STR(ht_parse_kind(HT_KIND_BYTES, "17179869183G", &v), NULL);
	CHECK_EQ(v, 17179869183UL << 30);
	CHECK_STR(ht_parse_kind(HT_KIND_BYTES, "17179869184G", &v), "is too large");
	CHECK_STR(ht_parse_kind(HT_KIND_BYTES, "99999999999999999999999k", &v), "is too large");
	CHECK_STR(ht_parse_kind(HT_KIND_BYTES, "k", &v), "is empty");
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = ULONG_SENTINEL;
		CHECK(ht_parse_kind(HT_KIND_BYTES, bad[i], &v) != NULL);
		CHECK_EQ(v, ULONG_SENTINEL);
	}
}

/* ------------------------------------------------------------ ht_parse_bool */

static void test_parse_bool(void)
{
	static const char *const yes[] = {"1",	 "yes",	 "true", "on", "YES",
					  "Yes", "TRUE", "True", "ON", "oN"};
	static const char *const no[] = {"0",  "no",	"false", "off", "NO",
					 "No", "FALSE", "fAlSe", "OFF", "Off"};
	static const char *const bad[] = {"",	"2",	"01",	  "00",	   "y",	  "n",	  "t",
					  "f",	"ye",	"yess",	  "truee", "of",  "offf", " 1",
					  "1 ", "yes ", "enable", "-1",	   "none"};
	bool b;

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		b = false;
		CHECK_STR(ht_parse_bool(yes[i], &b), NULL);
		CHECK(b == true);
	}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
		b = true;
		CHECK_STR(ht_parse_bool(no[i], &b), NULL);
		CHECK(b == false);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		b = true;
		CHECK(ht_parse_bool(bad[i], &b) != NULL);
		CHECK(b == true);
		b = false;
		CHECK(ht_parse_bool(bad[i], &b) != NULL);
		CHECK(b == false);
	}
	b = true;
	CHECK(ht_parse_bool(NULL, &b) != NULL);
	CHECK(b == true);
}

/* ------------------------------------------------------------ ht_parse_sort */

/*
 * keys is a heap array of exactly HT_MAX_SORTS entries, so that AddressSanitizer
 * reports any write past it.
 */
static const char *parse_sort(const char *s, enum ht_sort *keys, int *n)
{
	for (int i = 0; i < HT_MAX_SORTS; i++)
		keys[i] = (enum ht_sort)99;
	*n = -1;
	return ht_parse_sort(s, keys, n);
}

static void test_parse_sort(void)
{
	static const char *const bad[] = {
	    "",
	    ",",
	    "size,",
	    ",size",
	    "size,,count",
	    "sizes",
	    "siz",
	    "bytes",
	    "size count",
	    "size;count",
	    "size,bogus",
	    "bogus,size",
	    " size",
	    "size ",
	    "size,size",
	    "count,peak,count",
	    "size,count,peak,age,size",
	    "size,count,peak,age,age",
	    "size,count,peak,age,size,count,peak,age",
	    "age,peak,count,size,bogus",
	};
	enum ht_sort *keys = malloc(HT_MAX_SORTS * sizeof(*keys));
	int n;

	CHECK(keys != NULL);
	CHECK_EQ(HT_MAX_SORTS, 9);

	/* every key alone, and its name */
	for (int k = 0; k < HT_SORT_NKEYS; k++) {
		CHECK_STR(parse_sort(ht_sort_name((enum ht_sort)k), keys, &n), NULL);
		CHECK_EQ(n, 1);
		CHECK_EQ(keys[0], k);
	}
	CHECK_STR(ht_sort_name(HT_SORT_SIZE), "size");
	CHECK_STR(ht_sort_name(HT_SORT_COUNT), "count");
	CHECK_STR(ht_sort_name(HT_SORT_PEAK), "peak");
	CHECK_STR(ht_sort_name(HT_SORT_AGE), "age");
	CHECK_STR(ht_sort_name(HT_SORT_GROWTH), "growth");
	CHECK_STR(ht_sort_name(HT_SORT_PEAK_SHARE), "peak-share");
	CHECK_STR(ht_sort_name(HT_SORT_CALLS), "calls");
	CHECK_STR(ht_sort_name(HT_SORT_TEMPORARY), "temporary");
	CHECK_STR(ht_sort_name(HT_SORT_NKEYS), "?");
	CHECK_STR(ht_sort_name((enum ht_sort)1000), "?");

	/* lists keep their order */
	CHECK_STR(parse_sort("count,size", keys, &n), NULL);
	CHECK_EQ(n, 2);
	CHECK_EQ(keys[0], HT_SORT_COUNT);
	CHECK_EQ(keys[1], HT_SORT_SIZE);
	CHECK_STR(parse_sort("age,peak,count,size", keys, &n), NULL);
	CHECK_EQ(n, 4);
	CHECK_EQ(keys[0], HT_SORT_AGE);
	CHECK_EQ(keys[1], HT_SORT_PEAK);
	CHECK_EQ(keys[2], HT_SORT_COUNT);
	CHECK_EQ(keys[3], HT_SORT_SIZE);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(parse_sort(bad[i], keys, &n) != NULL);
		CHECK_EQ(n, -1); /* the count is only set on success */
	}
	CHECK(parse_sort(NULL, keys, &n) != NULL);
	CHECK_EQ(n, -1);
	CHECK_STR(parse_sort("size,size", keys, &n), "names a sort key twice");
	CHECK_STR(parse_sort("size,count,peak,age,size", keys, &n), "names a sort key twice");
	CHECK_STR(parse_sort("bogus", keys, &n), "has an unknown sort key (use size, count, peak, "
		  "age, growth, peak-share, calls, temporary or leaked)");
	free(keys);
}

/* "a, b or c" of the keys whose row passes want */
static void key_list(struct sbuf *sb, bool (*want)(enum ht_sort))
{
	int n = 0, i = 0;

	for (int k = 0; k < HT_SORT_NKEYS; k++)
		n += want((enum ht_sort)k);
	for (int k = 0; k < HT_SORT_NKEYS; k++)
		if (want((enum ht_sort)k))
			sb_printf(sb, "%s%s", i++ == 0 ? "" : i == n ? " or " : ", ",
				  ht_sort_name((enum ht_sort)k));
}

static bool any_key(enum ht_sort k)
{
	(void)k;
	return true;
}

static bool weighs(enum ht_sort k)
{
	return ht_sort_weight(k) != NULL;
}

/* The columns of HT_SORT_KEYS, and the lists of names the messages give. */
static void test_sort_rows(void)
{
	char buf[256];
	struct sbuf sb = SBUF_INIT(buf);
	static const enum ht_sort history[] = { HT_SORT_PEAK, HT_SORT_PEAK_SHARE, HT_SORT_CALLS,
						HT_SORT_TEMPORARY };
	static const enum ht_sort weighed[] = { HT_SORT_SIZE, HT_SORT_COUNT, HT_SORT_PEAK_SHARE,
						HT_SORT_CALLS, HT_SORT_TEMPORARY, HT_SORT_LEAKED };

	key_list(&sb, any_key);
	CHECK_STR(sb_str(&sb), ht_kind_names(HT_KIND_SORTS));
	CHECK_STR(sb_str(&sb), "size, count, peak, age, growth, peak-share, calls, temporary or "
		  "leaked");
	sb.len = 0;
	key_list(&sb, weighs);
	CHECK_STR(sb_str(&sb), ht_flame_names());
	CHECK_STR(sb_str(&sb), "size, count, peak-share, calls, temporary or leaked");
	CHECK_STR(ht_kind_names(HT_KIND_UNWIND), "dwarf, libunwind, fp or check");
	CHECK_STR(ht_kind_names(HT_KIND_FORMAT), "text, json, folded, pprof or svg");
	for (int k = 0; k < HT_SORT_NKEYS; k++) {
		bool h = false, w = false;

		for (size_t i = 0; i < ARRAY_SIZE(history); i++)
			h |= history[i] == (enum ht_sort)k;
		for (size_t i = 0; i < ARRAY_SIZE(weighed); i++)
			w |= weighed[i] == (enum ht_sort)k;
		CHECK_EQ(ht_sort_lists((enum ht_sort)k), h ? HT_LISTS_HISTORY : HT_LISTS_LIVE);
		CHECK_EQ(ht_sort_weight((enum ht_sort)k) != NULL, w);
		if (k != HT_SORT_LEAKED) /* live, but only the leaked ones */
			CHECK_EQ(!strcmp(ht_sort_header((enum ht_sort)k), "live backtraces"), !h);
	}
	CHECK_STR(ht_sort_weight(HT_SORT_SIZE), "live bytes");
	CHECK_STR(ht_sort_weight(HT_SORT_PEAK_SHARE), "bytes at the heap's peak");
	CHECK_STR(ht_sort_header(HT_SORT_AGE), "live backtraces");
	CHECK_STR(ht_sort_header(HT_SORT_CALLS), "every backtrace since start, live or not");
	CHECK(ht_sort_weight(HT_SORT_NKEYS) == NULL);
}

/* ------------------------------------------------------------ signals, interval */

static void test_parse_signals(void)
{
	struct ht_signal sig[HT_MAX_SIGNALS];
	int n = -1;

	CHECK_STR(ht_parse_signals("size:USR1,count:USR2", sig, &n), NULL);
	CHECK_EQ(n, 2);
	CHECK_EQ(sig[0].signo, SIGUSR1);
	CHECK_EQ(sig[0].key, HT_SORT_SIZE);
	CHECK_EQ(sig[1].signo, SIGUSR2);
	CHECK_EQ(sig[1].key, HT_SORT_COUNT);
	CHECK_STR(ht_parse_signals("growth:RTMIN+3,peak-share:SIGHUP,age:12", sig, &n), NULL);
	CHECK_EQ(n, 3);
	CHECK_EQ(sig[0].signo, SIGRTMIN + 3);
	CHECK_EQ(sig[0].key, HT_SORT_GROWTH);
	CHECK_EQ(sig[1].signo, SIGHUP);
	CHECK_EQ(sig[1].key, HT_SORT_PEAK_SHARE);
	CHECK_EQ(sig[2].signo, 12);
	CHECK_STR(ht_parse_signals("size:RTMIN", sig, &n), NULL);
	CHECK_EQ(sig[0].signo, SIGRTMIN);
	CHECK_STR(ht_parse_signals("size:RTMAX-1", sig, &n), NULL);
	CHECK_EQ(sig[0].signo, SIGRTMAX - 1);
	CHECK_STR(ht_parse_signals("none", sig, &n), NULL);
	CHECK_EQ(n, 0);
	n = -1;
	CHECK(ht_parse_signals("size:RTMIN-1", sig, &n) != NULL);
	CHECK(ht_parse_signals("size:RTMAX+1", sig, &n) != NULL);
	CHECK(ht_parse_signals("size:USR1,", sig, &n) != NULL);
	CHECK(ht_parse_signals(",size:USR1", sig, &n) != NULL);
	CHECK(ht_parse_signals("size:STOP", sig, &n) != NULL);
	CHECK(ht_parse_signals("size:65", sig, &n) != NULL);
	CHECK(ht_parse_signals("none,size:USR1", sig, &n) != NULL);
	CHECK(ht_parse_signals("a:1,b:2", sig, &n) != NULL);
	CHECK_STR(ht_parse_signals("size:1,count:2,peak:3,age:10,growth:12,size:14,size:15,"
				   "size:20,size:21", sig, &n), "has too many signals (at most 8)");
	CHECK_EQ(n, -1);
}

static void test_parse_interval(void)
{
	unsigned long long ms = 1;

	CHECK_STR(ht_parse_interval("0", &ms), NULL);
	CHECK_EQ(ms, 0);
	CHECK_STR(ht_parse_interval("2", &ms), NULL);
	CHECK_EQ(ms, 2000);
	CHECK_STR(ht_parse_interval("0.25", &ms), NULL);
	CHECK_EQ(ms, 250);
	CHECK_STR(ht_parse_interval("1.005", &ms), NULL);
	CHECK_EQ(ms, 1005);
	CHECK_STR(ht_parse_interval("604800", &ms), NULL);
	CHECK_EQ(ms, 604800000ULL);
	CHECK(ht_parse_interval("604800.001", &ms) != NULL);
	CHECK(ht_parse_interval(".5", &ms) != NULL);
	CHECK(ht_parse_interval("5.", &ms) != NULL);
	CHECK(ht_parse_interval("1.2.3", &ms) != NULL);
	CHECK(ht_parse_interval("-1", &ms) != NULL);
	CHECK(ht_parse_interval("1e3", &ms) != NULL);
	CHECK(ht_parse_interval("99999999999999999999999", &ms) != NULL);
}

static void test_parse_depth(void)
{
	static const char *const bad[] = {
		"0", "257", "1000", "", "abc", "-1", "8 ", "99999999999999999999999",
	};
	int d = -1;

	CHECK_STR(ht_parse_depth("1", &d), NULL);
	CHECK_EQ(d, 1);
	CHECK_STR(ht_parse_depth("020", &d), NULL);
	CHECK_EQ(d, 20);
	CHECK_STR(ht_parse_depth("256", &d), NULL);
	CHECK_EQ(d, HT_DEPTH_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK_STR(ht_parse_depth(bad[i], &d), "is not a number of frames from 1 to 256");
		CHECK_EQ(d, HT_DEPTH_MAX);
	}
}

/* ------------------------------------------------------------ formats */

static const char *fmt_bytes(char *buf, size_t cap, uint64_t v)
{
	struct sbuf sb = {buf, 0, cap};

	ht_fmt_bytes(&sb, v);
	CHECK_EQ(sb.len, strlen(sb_str(&sb)));
	return sb_str(&sb);
}

static const char *fmt_duration(char *buf, size_t cap, uint64_t v)
{
	struct sbuf sb = {buf, 0, cap};

	ht_fmt_duration(&sb, v);
	CHECK_EQ(sb.len, strlen(sb_str(&sb)));
	return sb_str(&sb);
}

static void test_fmt_bytes(void)
{
	char b[64];

	CHECK_STR(fmt_bytes(b, sizeof(b), 0), "0 bytes");
	CHECK_STR(fmt_bytes(b, sizeof(b), 1), "1 byte");
	CHECK_STR(fmt_bytes(b, sizeof(b), 999), "999 bytes");
	CHECK_STR(fmt_bytes(b, sizeof(b), 1000), "1 KB");
	CHECK_STR(fmt_bytes(b, sizeof(b), 1001), "1.001 KB");
	CHECK_STR(fmt_bytes(b, sizeof(b), 1999), "1.999 KB"); /* truncated, not rounded */
	CHECK_STR(fmt_bytes(b, sizeof(b), 999999), "999.999 KB");
	CHECK_STR(fmt_bytes(b, sizeof(b), 1000000), "1 MB");
	CHECK_STR(fmt_bytes(b, sizeof(b), 1000999), "1.000 MB");
	CHECK_STR(fmt_bytes(b, sizeof(b), 4034000), "4.034 MB");
	CHECK_STR(fmt_bytes(b, sizeof(b), 4034999), "4.034 MB");
	CHECK_STR(fmt_bytes(b, sizeof(b), 4000), "4 KB");    /* exact: no decimals */
	CHECK_STR(fmt_bytes(b, sizeof(b), 4096), "4.096 KB");
	CHECK_STR(fmt_bytes(b, sizeof(b), 4100), "4.100 KB"); /* not exact: three */
	CHECK_STR(fmt_bytes(b, sizeof(b), 4000001), "4.000 MB");
	CHECK_STR(fmt_bytes(b, sizeof(b), 999999999), "999.999 MB");
	CHECK_STR(fmt_bytes(b, sizeof(b), 1000000000), "1 GB");
	CHECK_STR(fmt_bytes(b, sizeof(b), 5368709120ULL), "5.368 GB");
	CHECK_STR(fmt_bytes(b, sizeof(b), 1000000000000ULL), "1000 GB");
	CHECK_STR(fmt_bytes(b, sizeof(b), UINT64_MAX), "18446744073.709 GB");

	/* a small buffer truncates, never overflows */
	CHECK_STR(fmt_bytes(b, 5, 4034000), "4.03");
	CHECK_STR(fmt_bytes(b, 1, 4034000), "");
}

static void test_fmt_duration(void)
{
	char b[64];

	CHECK_STR(fmt_duration(b, sizeof(b), 0), "0 ns");
	CHECK_STR(fmt_duration(b, sizeof(b), 850), "850 ns");
	CHECK_STR(fmt_duration(b, sizeof(b), 999), "999 ns");
	CHECK_STR(fmt_duration(b, sizeof(b), 1000), "1 us");
	CHECK_STR(fmt_duration(b, sizeof(b), 1001), "1.001 us");
	CHECK_STR(fmt_duration(b, sizeof(b), 999999), "999.999 us");
	CHECK_STR(fmt_duration(b, sizeof(b), 1000000), "1 ms");
	CHECK_STR(fmt_duration(b, sizeof(b), 6236000), "6.236 ms");
	CHECK_STR(fmt_duration(b, sizeof(b), 6236999), "6.236 ms");
	CHECK_STR(fmt_duration(b, sizeof(b), 999999999), "999.999 ms");
	CHECK_STR(fmt_duration(b, sizeof(b), 1000000000), "1 s");
	CHECK_STR(fmt_duration(b, sizeof(b), 12000000000ULL), "12 s");
	CHECK_STR(fmt_duration(b, sizeof(b), 3600000000000ULL), "3600 s");
	CHECK_STR(fmt_duration(b, sizeof(b), UINT64_MAX), "18446744073.709 s");
}

static const char *fmt_growth(char *buf, size_t cap, int64_t bytes, int64_t count)
{
	struct sbuf sb = { buf, 0, cap };

	ht_fmt_growth(&sb, bytes, count, false);
	return sb_str(&sb);
}

static void test_fmt_growth(void)
{
	char b[64];
	struct sbuf sb = SBUF_INIT(b);

	CHECK_STR(fmt_growth(b, sizeof(b), 1204000, 301), "+1.204 MB/+301 blocks");
	CHECK_STR(fmt_growth(b, sizeof(b), -2000, -1), "-2 KB/-1 block");
	CHECK_STR(fmt_growth(b, sizeof(b), 0, 0), "+0 bytes/+0 blocks");
	CHECK_STR(fmt_growth(b, sizeof(b), 1, 1), "+1 byte/+1 block");
	CHECK_STR(fmt_growth(b, sizeof(b), INT64_MIN, INT64_MIN),
		  "-9223372036.854 GB/-9223372036854775808 blocks");
	ht_fmt_count(&sb, 1, "backtrace");
	CHECK_STR(sb_str(&sb), "1 backtrace");
	sb.len = 0;
	ht_fmt_count(&sb, 2, "backtrace");
	CHECK_STR(sb_str(&sb), "2 backtraces");
}

/* ------------------------------------------------------------ sbuf */

#define CANARY 0xa5

/* The builder over cap bytes of a larger, canary-filled array. */
struct guarded {
	unsigned char mem[64];
	struct sbuf sb;
};

static void guarded_init(struct guarded *g, size_t cap)
{
	memset(g->mem, CANARY, sizeof(g->mem));
	g->sb = (struct sbuf){(char *)g->mem, 0, cap};
}

/* Nothing past cap was written, and the text is terminated inside cap. */
static void check_guarded(struct guarded *g, const char *expect)
{
	size_t cap = g->sb.cap;

	for (size_t i = cap; i < sizeof(g->mem); i++)
		CHECK_EQ(g->mem[i], CANARY);
	CHECK(g->sb.len <= (cap ? cap - 1 : 0));
	if (!cap)
		return;
	CHECK_STR(sb_str(&g->sb), expect);
	CHECK_EQ(g->sb.len, strlen(expect));
	CHECK(memchr(g->mem, '\0', cap) != NULL);
}

static void test_sbuf(void)
{
	struct guarded g;

	/* fits */
	guarded_init(&g, 16);
	sb_puts(&g.sb, "hello");
	sb_putc(&g.sb, ' ');
	sb_putn(&g.sb, "world!!", 5);
	check_guarded(&g, "hello world");
	sb_printf(&g.sb, "%d", 1234);
	check_guarded(&g, "hello world1234");
	/* full: cap - 1 characters and the NUL; nothing more goes in */
	sb_putc(&g.sb, 'x');
	check_guarded(&g, "hello world1234");
	sb_puts(&g.sb, "more");
	sb_printf(&g.sb, "%s", "more");
	check_guarded(&g, "hello world1234");

	/* each writer truncates at the boundary */
	guarded_init(&g, 8);
	sb_puts(&g.sb, "hello world");
	check_guarded(&g, "hello w");
	guarded_init(&g, 8);
	sb_putn(&g.sb, "hello world", 11);
	check_guarded(&g, "hello w");
	guarded_init(&g, 8);
	sb_printf(&g.sb, "%s %d", "hello", 123456);
	check_guarded(&g, "hello 1");
	guarded_init(&g, 8);
	for (int i = 0; i < 20; i++)
		sb_putc(&g.sb, (char)('a' + i));
	check_guarded(&g, "abcdefg");

	/* filling exactly, then one more */
	guarded_init(&g, 8);
	sb_puts(&g.sb, "abc");
	sb_printf(&g.sb, "%s", "defg");
	check_guarded(&g, "abcdefg");
	sb_printf(&g.sb, "%s", "h");
	check_guarded(&g, "abcdefg");
	guarded_init(&g, 8);
	sb_printf(&g.sb, "%s", "abc");
	sb_printf(&g.sb, "%s", "defgh");
	check_guarded(&g, "abcdefg");

	/* empty builder reads as "" */
	guarded_init(&g, 8);
	check_guarded(&g, "");
	guarded_init(&g, 8);
	sb_puts(&g.sb, "");
	sb_printf(&g.sb, "%s", "");
	check_guarded(&g, "");

	/* cap 1: only the NUL fits */
	guarded_init(&g, 1);
	sb_puts(&g.sb, "abc");
	sb_putc(&g.sb, 'a');
	sb_printf(&g.sb, "%d", 42);
	check_guarded(&g, "");

	/* cap 0: nothing is ever written */
	guarded_init(&g, 0);
	sb_puts(&g.sb, "abc");
	sb_putc(&g.sb, 'a');
	sb_printf(&g.sb, "%d", 42);
	sb_str(&g.sb);
	check_guarded(&g, "");
	CHECK_EQ(g.mem[0], CANARY);

	/* SBUF_INIT takes the array's size */
	{
		char small[4];
		struct sbuf sb = SBUF_INIT(small);

		CHECK_EQ(sb.cap, 4);
		sb_puts(&sb, "12345");
		CHECK_STR(sb_str(&sb), "123");
	}
}

/* ------------------------------------------------------------ output */

/* Run fn with stderr going into a pipe; return what it wrote. */
static size_t capture_stderr(void (*fn)(void), char *out, size_t cap)
{
	int p[2], saved;
	size_t len = 0;
	ssize_t n;

	if (pipe(p)) {
		CHECK(!"pipe");
		return 0;
	}
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	while (len < cap - 1 && (n = read(p[0], out + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(p[0]);
	return len;
}

static void warn_short(void)
{
	errno = EBADF;
	ht_warn("cannot open %s: %d", "x.txt", 42);
	CHECK_EQ(errno, EBADF); /* errno survives */
}

static void warn_long(void)
{
	char big[3000];

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ht_warn("%s", big);
}

static void test_output(void)
{
	char out[4096];
	size_t n;
	int p[2];

	n = capture_stderr(warn_short, out, sizeof(out));
	CHECK_STR(out, "heaptrace: cannot open x.txt: 42\n");
	CHECK_EQ(n, strlen("heaptrace: cannot open x.txt: 42\n"));

	/* one line of at most 1023 bytes, still ending in a newline */
	n = capture_stderr(warn_long, out, sizeof(out));
	CHECK(n > 900 && n <= 1023);
	CHECK(!strncmp(out, "heaptrace: zzz", 14));
	CHECK(n && out[n - 1] == '\n');
	CHECK(strchr(out, '\n') == out + n - 1);

	/* ht_write_all writes everything, and fails on a closed pipe */
	if (!pipe(p)) {
		char buf[32];
		ssize_t r;

		CHECK_EQ(ht_write_all(p[1], "abcdef", 6), 0);
		CHECK_EQ(ht_write_all(p[1], "", 0), 0);
		r = read(p[0], buf, sizeof(buf));
		CHECK_EQ(r, 6);
		CHECK(!memcmp(buf, "abcdef", 6));
		close(p[1]);
		close(p[0]);
		CHECK(ht_write_all(p[1], "x", 1) == -1);
	}
}

/* ------------------------------------------------------------ cxx_short_name */

static const char *shortened(const char *full)
{
	static char buf[512];

	cxx_short_name(buf, sizeof(buf), full);
	return buf;
}

#define STRING "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >"

static void test_short_names(void)
{
	CHECK_STR(shortened("main"), "main");
	CHECK_STR(shortened(STRING "::_M_mutate(unsigned long, unsigned long, char const*, "
				  "unsigned long)"),
		  "std::string::_M_mutate(unsigned long, unsigned long, char const*, unsigned long)");
	CHECK_STR(shortened("make(" STRING " const&, std::basic_ostream<char, std::char_traits<char> >&)"),
		  "make(std::string const&, std::ostream&)");
	CHECK_STR(shortened("std::__cxx11::list<int, std::allocator<int> >::push_back(int const&)"),
		  "std::list<int, std::allocator<...> >::push_back(int const&)");
	/* an argument list longer than CXX_SHORT_ARGS once its inner lists are
	 * emptied: emptied too */
	CHECK_STR(shortened("std::map<" STRING ", int, std::less<" STRING ">, std::allocator<std::pair<"
			    STRING " const, int> > >::operator[](" STRING " const&)"),
		  "std::map<...>::operator[](std::string const&)");
	CHECK_STR(shortened("std::vector<std::pair<int, int>, std::allocator<std::pair<int, int> > >::"
			    "_M_realloc_insert<int, int>(int&&, int&&)"),
		  "std::vector<std::pair<...>, std::allocator<...> >::_M_realloc_insert<int, int>(int&&, "
		  "int&&)");
	/* operator< and operator<< are names, not lists */
	CHECK_STR(shortened("bool operator< <Key<int> >(Key<int> const&, Key<int> const&)"),
		  "bool operator< <Key<...> >(Key<int> const&, Key<int> const&)");
	CHECK_STR(shortened("std::ostream::operator<<(int)"), "std::ostream::operator<<(int)");
	CHECK_STR(shortened("f<g<h<int> > >()"), "f<g<...> >()");
}

/* ------------------------------------------------------------ ht_find_libbfd_in */

static void touch(const char *dir, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0);
	close(fd);
}

/* The name ht_find_libbfd_in() finds in dirs, or "" */
static const char *found(const char *const *dirs, const char *built)
{
	static char buf[512];
	const char *p = ht_find_libbfd_in(dirs, built, buf, sizeof(buf));

	return p ? strrchr(p, '/') + 1 : "";
}

static void test_find_libbfd(void)
{
	char a[] = "/tmp/unit-bfd-a.XXXXXX", b[] = "/tmp/unit-bfd-b.XXXXXX";
	const char *dirs[] = { a, "", b, NULL };
	const char *built = "libbfd-2.40-system.so";
	char cmd[128];

	CHECK(mkdtemp(a) && mkdtemp(b));
	CHECK_STR(found(dirs, built), "");
	touch(b, "libbfd.so");
	CHECK_STR(found(dirs, built), "libbfd.so"); /* binutils-dev's link */
	touch(b, "libbfd-2.40.so.0");                /* not a libbfd-VERSION.so */
	touch(b, "libbfd-2.9-system.so");
	CHECK_STR(found(dirs, built), "libbfd-2.9-system.so");
	touch(b, "libbfd-2.41-system.so");             /* binutils upgraded */
	touch(b, "libbfd-2.10-system.so");
	CHECK_STR(found(dirs, built), "libbfd-2.41-system.so");
	touch(b, built);                               /* the build's, while it is there */
	CHECK_STR(found(dirs, built), built);
	CHECK_STR(found(dirs, NULL), "libbfd-2.41-system.so");
	touch(a, "libbfd-2.38-system.so");             /* an earlier directory wins */
	CHECK_STR(found(dirs, built), "libbfd-2.38-system.so");
	snprintf(cmd, sizeof(cmd), "rm -r %s %s", a, b);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	unit_watchdog(60);
	test_parse_ulong();
	test_parse_bytes();
	test_parse_bool();
	test_parse_sort();
	test_sort_rows();
	test_parse_signals();
	test_parse_interval();
	test_parse_depth();
	test_fmt_bytes();
	test_fmt_duration();
	test_fmt_growth();
	test_sbuf();
	test_output();
	test_find_libbfd();
	test_short_names();
	return unit_done("unit-utils");
}
