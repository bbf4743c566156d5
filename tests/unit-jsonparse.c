// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * unit-jsonparse.c - the launcher's JSON reader: the walk through objects
 * and arrays, each kind of value, strings decoded to valid UTF-8 whatever
 * the bytes, integers at their limits, a value of another type than asked
 * left in place, and every error with the byte where it is found.
 */
#define _GNU_SOURCE
#include "../launcher/jsonparse.c"
#include "../utils.h"
#include "unit.h"

/* ------------------------------------------------------------ the walk */

static void test_walk(void)
{
	static const char doc[] = " {\"a\": [1, true, null, \"x\", {\"b\": -2.5e3}, false],\n"
				  "  \"c\": {}, \"d\": []} ";
	struct jreader r;
	const char *key;
	uint64_t v = 0;
	bool b = false;

	jr_init(&r, doc, sizeof(doc) - 1);
	CHECK_EQ(jr_peek(&r), J_OBJECT);
	CHECK(jr_enter(&r));
	CHECK(jr_next(&r, &key));
	CHECK_STR(key, "a");
	CHECK(jr_enter(&r));
	CHECK(jr_next(&r, NULL) && jr_uint(&r, UINT64_MAX, &v));
	CHECK_EQ(v, 1);
	CHECK(jr_next(&r, NULL) && jr_bool(&r, &b) && b);
	CHECK(jr_next(&r, NULL) && jr_null(&r));
	CHECK(jr_next(&r, NULL));
	CHECK_STR(jr_string(&r, NULL), "x");
	CHECK(jr_next(&r, NULL) && jr_skip(&r));
	CHECK(jr_next(&r, NULL) && jr_bool(&r, &b) && !b);
	CHECK(!jr_next(&r, NULL)); /* the array's end */
	CHECK_EQ(r.depth, 1);
	CHECK(jr_next(&r, &key));
	CHECK_STR(key, "c");
	CHECK(jr_enter(&r));
	CHECK(!jr_next(&r, &key));
	CHECK(jr_next(&r, &key));
	CHECK_STR(key, "d");
	CHECK(jr_skip(&r));
	CHECK(!jr_next(&r, &key));
	CHECK_EQ(r.depth, 0);
	CHECK(jr_finish(&r));
	CHECK_STR(r.err, NULL);
	jr_release(&r);
}

/* A member's name stays while its value, a string too, is read. */
static void test_key_and_value(void)
{
	static const char doc[] = "{\"name\":\"value\"}";
	struct jreader r;
	const char *key = NULL;
	size_t len = 0;

	jr_init(&r, doc, sizeof(doc) - 1);
	CHECK(jr_enter(&r) && jr_next(&r, &key));
	CHECK_STR(jr_string(&r, &len), "value");
	CHECK_EQ(len, 5);
	CHECK_STR(key, "name");
	CHECK(!jr_next(&r, &key) && jr_finish(&r));
	jr_release(&r);
}

/* A read of another type fails without an error and consumes nothing. */
static void test_other_types(void)
{
	static const char doc[] = "[\"7\", 7, -7, 7.5, 7e-1, 18446744073709551616, {}]";
	struct jreader r;
	uint64_t v = 42;
	bool b;

	jr_init(&r, doc, sizeof(doc) - 1);
	CHECK(jr_enter(&r) && jr_next(&r, NULL));
	CHECK(!jr_uint(&r, UINT64_MAX, &v) && !jr_null(&r) && !jr_bool(&r, &b) && !jr_enter(&r));
	CHECK_STR(jr_string(&r, NULL), "7");
	CHECK(jr_next(&r, NULL));
	CHECK(!jr_string(&r, NULL) && !jr_uint(&r, 6, &v));
	CHECK(jr_uint(&r, 7, &v));
	CHECK_EQ(v, 7);
	for (int i = 0; i < 4; i++) { /* negative, fraction, fraction by exponent, past 64 bits */
		CHECK(jr_next(&r, NULL));
		CHECK(!jr_uint(&r, UINT64_MAX, &v));
		CHECK_EQ(v, 7);
		CHECK(jr_skip(&r));
	}
	CHECK(jr_next(&r, NULL) && !jr_string(&r, NULL) && jr_skip(&r));
	CHECK(!jr_next(&r, NULL) && jr_finish(&r));
	CHECK_STR(r.err, NULL);
	jr_release(&r);
}

static void test_integers(void)
{
	static const struct {
		const char *doc;
		uint64_t v;
	} good[] = {
		{ "0", 0 },
		{ "9223372036854775807", INT64_MAX },
		{ "18446744073709551615", UINT64_MAX },
	};
	struct jreader r;
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		jr_init(&r, good[i].doc, strlen(good[i].doc));
		CHECK(jr_uint(&r, UINT64_MAX, &v) && jr_finish(&r));
		CHECK_EQ(v, good[i].v);
		jr_release(&r);
	}
	jr_init(&r, "9223372036854775808", 19);
	CHECK(!jr_uint(&r, INT64_MAX, &v));
	CHECK_STR(r.err, NULL);
	jr_release(&r);
}

/* An integer however it is spelt (jq, Python and JavaScript write some of
 * these), and numbers that are no integer from 0 to 2^64-1 left in place. */
static void test_integer_spellings(void)
{
	static const struct {
		const char *doc;
		uint64_t v;
	} good[] = {
		{ "-0", 0 },
		{ "0.000", 0 },
		{ "-0.0e-7", 0 },
		{ "0e99999999999999999999999", 0 },
		{ "1000.0", 1000 },
		{ "1e3", 1000 },
		{ "1E+3", 1000 },
		{ "10000e-1", 1000 },
		{ "0.001e6", 1000 },
		{ "1.8446744073709551615e19", UINT64_MAX },
		{ "18446744073709551615.000", UINT64_MAX },
		{ "184467440737095516150e-1", UINT64_MAX },
		{ "1.797693134862315e+15", 1797693134862315 },
		{ "9.223372036854775807E18", INT64_MAX },
	};
	static const char *const other[] = {
		"-1", "-1e0", "0.5", "1.5e0", "1e-1", "1000e-4", "1.8446744073709551616e19",
		"2e19", "1e20", "1.7976931348623157e+15", "1e99999999999999999999999", "1e-99999999999999999999999",
	};
	struct jreader r;
	uint64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		v = 42;
		jr_init(&r, good[i].doc, strlen(good[i].doc));
		CHECK(jr_uint(&r, UINT64_MAX, &v) && jr_finish(&r));
		CHECK_EQ(v, good[i].v);
		jr_release(&r);
	}
	for (size_t i = 0; i < ARRAY_SIZE(other); i++) {
		v = 42;
		jr_init(&r, other[i], strlen(other[i]));
		CHECK(!jr_uint(&r, UINT64_MAX, &v));
		CHECK_EQ(v, 42);
		CHECK_EQ(r.p, r.start); /* left in place */
		CHECK(jr_skip(&r) && jr_finish(&r));
		jr_release(&r);
	}
}

/* White space wherever RFC 8259 allows it: the same values as compact. */
static void test_white_space(void)
{
	static const char doc[] = "\r\n\t {\n  \"a\" \t:\r\n [\n 1 ,\n\t\"x\"\n ,\n"
				  "  { } , [ ] ,true , null\n ] ,\n \"b\"\n:\n2e0\n}\n\n";
	struct jreader r;
	const char *key;
	uint64_t v = 0;
	bool b = false;

	jr_init(&r, doc, sizeof(doc) - 1);
	CHECK(jr_enter(&r) && jr_next(&r, &key));
	CHECK_STR(key, "a");
	CHECK(jr_enter(&r) && jr_next(&r, NULL) && jr_uint(&r, 9, &v));
	CHECK_EQ(v, 1);
	CHECK(jr_next(&r, NULL));
	CHECK_STR(jr_string(&r, NULL), "x");
	CHECK(jr_next(&r, NULL) && jr_enter(&r) && !jr_next(&r, NULL));
	CHECK(jr_next(&r, NULL) && jr_enter(&r) && !jr_next(&r, NULL));
	CHECK(jr_next(&r, NULL) && jr_bool(&r, &b) && b);
	CHECK(jr_next(&r, NULL) && jr_null(&r));
	CHECK(!jr_next(&r, NULL) && jr_next(&r, &key));
	CHECK_STR(key, "b");
	CHECK(jr_uint(&r, 9, &v));
	CHECK_EQ(v, 2);
	CHECK(!jr_next(&r, NULL) && jr_finish(&r));
	CHECK_STR(r.err, NULL);
	jr_release(&r);
}

/* ------------------------------------------------------------ strings */

static void test_strings(void)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "\"\"", "" },
		{ "\"plain /x\"", "plain /x" },
		{ "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t" },
		{ "\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac" },
		{ "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80" },
		{ "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"",
		  "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf" },
		/* U+FFFD for each: lone surrogates, NUL */
		{ "\"\\ud800x\"", "\xef\xbf\xbdx" },
		{ "\"\\ud800\\u0041\"", "\xef\xbf\xbd" "A" },
		{ "\"\\udc00\"", "\xef\xbf\xbd" },
		{ "\"a\\u0000b\"", "a\xef\xbf\xbd" "b" },
		/* and for each byte that starts no UTF-8 sequence */
		{ "\"\xff\"", "\xef\xbf\xbd" },
		{ "\"\x80\"", "\xef\xbf\xbd" },
		{ "\"\xc3\x28\"", "\xef\xbf\xbd(" },
		{ "\"\xc0\xaf\"", "\xef\xbf\xbd\xef\xbf\xbd" },                 /* overlong */
		{ "\"\xe0\x80\xaf\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* overlong */
		{ "\"\xed\xa0\x80\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
		{ "\"\xf4\x90\x80\x80\"",                                       /* > U+10FFFF */
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\"\xf5\"", "\xef\xbf\xbd" },
		{ "\"\xe2\x82\"", "\xef\xbf\xbd\xef\xbf\xbd" }, /* cut by the quote */
	};
	struct jreader r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		jr_init(&r, cases[i].json, strlen(cases[i].json));
		CHECK_STR(jr_string(&r, NULL), cases[i].want);
		CHECK(jr_finish(&r));
		jr_release(&r);
	}
}

/* A string longer than the buffers' first size, with runs and escapes. */
static void test_long_string(void)
{
	char doc[20000], want[20000];
	size_t n = 0, w = 0, len = 0;
	struct jreader r;

	doc[n++] = '"';
	for (int i = 0; i < 3000; i++) {
		memcpy(doc + n, "ab\\n\xff", 5);
		n += 5;
		memcpy(want + w, "ab\n\xef\xbf\xbd", 6);
		w += 6;
	}
	doc[n++] = '"';
	want[w] = '\0';
	jr_init(&r, doc, n);
	CHECK_STR(jr_string(&r, &len), want);
	CHECK_EQ(len, w);
	jr_release(&r);
}

/* ------------------------------------------------------------ errors */

/* Skip the whole document, then ask for its end. */
static void read_all(struct jreader *r)
{
	if (jr_skip(r))
		jr_finish(r);
}

static void test_errors(void)
{
	static const struct {
		const char *doc, *err;
		size_t at;
	} cases[] = {
		{ "", "unexpected end", 0 },
		{ "  ", "unexpected end", 2 },
		{ "x", "expected a value", 0 },
		{ "[tru]", "expected a value", 1 },
		{ "[nul", "expected a value", 1 },
		{ "[1,]", "expected a value", 3 },
		{ "[1 2]", "expected ',' or ']'", 3 },
		{ "[1", "expected ',' or ']'", 2 },
		{ "{\"a\" 1}", "expected ':'", 5 },
		{ "{\"a\":1,}", "expected a member name", 7 },
		{ "{1:2}", "expected a member name", 1 },
		{ "{\"a\":1 \"b\":2}", "expected ',' or '}'", 7 },
		{ "\"ab", "unterminated string", 3 },
		{ "\"ab\\", "unterminated string", 4 },
		{ "\"a\tb\"", "control character in a string", 2 },
		{ "\"a\nb\"", "unterminated string", 2 },
		{ "\"a\\qb\"", "bad escape in a string", 3 },
		{ "\"\\u12\"", "bad \\u escape", 3 },
		{ "\"\\u12g4\"", "bad \\u escape", 3 },
		{ "01", "bad number", 0 },
		{ "-01", "bad number", 1 },
		{ "-", "bad number", 1 },
		{ "1.", "bad number", 2 },
		{ "1.e3", "bad number", 2 },
		{ "1e", "bad number", 2 },
		{ "1e+", "bad number", 3 },
		{ "[] x", "text after the document", 3 },
		{ "{} {}", "text after the document", 3 },
	};
	struct jreader r;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		jr_init(&r, cases[i].doc, strlen(cases[i].doc));
		read_all(&r);
		CHECK_STR(r.err, cases[i].err);
		CHECK_EQ(r.err_at, cases[i].at);
		jr_release(&r);
	}
}

/* JR_MAX_DEPTH containers are read, one more is refused: no deep recursion. */
static void test_depth(void)
{
	char doc[2 * 1000];
	struct jreader r;

	for (int depth = JR_MAX_DEPTH; depth <= JR_MAX_DEPTH + 1; depth++) {
		memset(doc, '[', (size_t)depth);
		memset(doc + depth, ']', (size_t)depth);
		jr_init(&r, doc, 2 * (size_t)depth);
		read_all(&r);
		CHECK_STR(r.err, depth > JR_MAX_DEPTH ? "nested too deep" : NULL);
		CHECK_EQ(r.err_at, depth > JR_MAX_DEPTH ? JR_MAX_DEPTH : 0);
		jr_release(&r);
	}
	memset(doc, '[', 1000);
	jr_init(&r, doc, 1000);
	read_all(&r);
	CHECK_STR(r.err, "nested too deep");
	jr_release(&r);
}

/* After an error every call fails, and the first error stays. */
static void test_after_an_error(void)
{
	static const char doc[] = "[1 2, \"x\"]";
	struct jreader r;
	uint64_t v;

	jr_init(&r, doc, sizeof(doc) - 1);
	CHECK(jr_enter(&r) && jr_next(&r, NULL) && jr_uint(&r, 9, &v));
	CHECK(!jr_next(&r, NULL));
	CHECK_STR(r.err, "expected ',' or ']'");
	CHECK(!jr_next(&r, NULL) && !jr_uint(&r, 9, &v) && !jr_string(&r, NULL) && !jr_skip(&r));
	CHECK_EQ(jr_peek(&r), J_NONE);
	CHECK(!jr_finish(&r));
	CHECK_STR(r.err, "expected ',' or ']'");
	CHECK_EQ(r.err_at, 3);
	jr_release(&r);
}

int main(void)
{
	unit_watchdog(60);
	test_walk();
	test_key_and_value();
	test_other_types();
	test_integers();
	test_integer_spellings();
	test_white_space();
	test_strings();
	test_long_string();
	test_errors();
	test_depth();
	test_after_an_error();
	return unit_done("unit-jsonparse");
}
