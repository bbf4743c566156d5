// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * jsonparse.c - a JSON reader that walks a document in place (see
 * jsonparse.h).  Launcher only (heaptrace --diff): it may allocate freely.
 * Every read is bounded by the end of the text; depth is bounded so that a
 * hostile file cannot exhaust the stack of jr_skip().
 */
#include <stdlib.h>
#include <string.h>

#include "jsonparse.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

static bool fail(struct jreader *r, const char *why)
{
	if (!r->err) {
		r->err = why;
		r->err_at = (size_t)(r->p - r->start);
	}
	return false;
}

void jr_init(struct jreader *r, const char *text, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->start = r->p = text;
	r->end = text + len;
}

void jr_release(struct jreader *r)
{
	free(r->key.s);
	free(r->str.s);
	r->key = r->str = (struct jbuf){ 0 };
}

static void skip_space(struct jreader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
		r->p++;
}

/* The literal at r->p, whole: a typed read must not take "tru" for a type. */
static bool literal(struct jreader *r, const char *word)
{
	size_t n = strlen(word);

	return ((size_t)(r->end - r->p) >= n && !memcmp(r->p, word, n)) ||
	       fail(r, "expected a value");
}

enum jtype jr_peek(struct jreader *r)
{
	if (r->err)
		return J_NONE;
	skip_space(r);
	if (r->p >= r->end) {
		fail(r, "unexpected end");
		return J_NONE;
	}
	switch (*r->p) {
	case '{': return J_OBJECT;
	case '[': return J_ARRAY;
	case '"': return J_STRING;
	case 't': return literal(r, "true") ? J_BOOL : J_NONE;
	case 'f': return literal(r, "false") ? J_BOOL : J_NONE;
	case 'n': return literal(r, "null") ? J_NULL : J_NONE;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9': return J_NUMBER;
	default: fail(r, "expected a value"); return J_NONE;
	}
}

/* ------------------------------------------------------------ strings */

static bool put(struct jreader *r, struct jbuf *b, const char *s, size_t n)
{
	if (b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap : 64;
		char *ns;

		while (cap - b->len <= n)
			cap *= 2;
		ns = realloc(b->s, cap);
		if (!ns)
			return fail(r, "out of memory");
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return true;
}

/* Code point cp as UTF-8; the caller has turned surrogates and 0 into U+FFFD. */
static bool put_utf8(struct jreader *r, struct jbuf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return put(r, b, u, n);
}

/*
 * The length of the UTF-8 sequence at p, 0 if none starts there: no
 * overlong forms, no surrogates, nothing above U+10FFFF (RFC 3629, 4).
 */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	     : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The four hex digits of a \u escape at p (already checked to be there). */
static int hex4(const char *p)
{
	int cp = 0;

	for (int i = 0; i < 4; i++) {
		int h = hex(p[i]);

		if (h < 0)
			return -1;
		cp = cp << 4 | h;
	}
	return cp;
}

/* \uXXXX at r->p (past the backslash and the u), a pair joined. */
static bool unicode_escape(struct jreader *r, struct jbuf *b)
{
	int cp = r->end - r->p >= 4 ? hex4(r->p) : -1, lo;

	if (cp < 0)
		return fail(r, "bad \\u escape");
	r->p += 4;
	if (cp >= 0xd800 && cp < 0xdc00 && r->end - r->p >= 6 && r->p[0] == '\\' &&
	    r->p[1] == 'u' && (lo = hex4(r->p + 2)) >= 0xdc00 && lo < 0xe000) {
		r->p += 6;
		return put_utf8(r, b, 0x10000 + (((unsigned)cp - 0xd800) << 10) +
				      ((unsigned)lo - 0xdc00));
	}
	/* a lone surrogate is no character; NUL would end the C string */
	if (cp == 0 || (cp >= 0xd800 && cp < 0xe000))
		return put(r, b, REPLACEMENT, 3);
	return put_utf8(r, b, (unsigned)cp);
}

static bool escape(struct jreader *r, struct jbuf *b)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *c;

	if (++r->p >= r->end)
		return fail(r, "unterminated string");
	if (*r->p == 'u') {
		r->p++;
		return unicode_escape(r, b);
	}
	c = memchr(from, *r->p, sizeof(from) - 1);
	if (!c)
		return fail(r, "bad escape in a string");
	r->p++;
	return put(r, b, &to[c - from], 1);
}

/* The string at r->p into b: runs of plain ASCII are copied whole. */
static bool decode(struct jreader *r, struct jbuf *b)
{
	b->len = 0;
	if (!put(r, b, "", 0))
		return false;
	for (r->p++; ; ) {
		const char *run = r->p;
		unsigned char c;
		size_t n;

		while (r->p < r->end && (c = (unsigned char)*r->p) >= 0x20 && c < 0x80 &&
		       c != '"' && c != '\\')
			r->p++;
		if (r->p > run && !put(r, b, run, (size_t)(r->p - run)))
			return false;
		if (r->p >= r->end)
			return fail(r, "unterminated string");
		c = (unsigned char)*r->p;
		if (c == '"') {
			r->p++;
			return true;
		}
		if (c == '\n') /* no string spans lines: this one was not closed */
			return fail(r, "unterminated string");
		if (c < 0x20)
			return fail(r, "control character in a string");
		if (c == '\\') {
			if (!escape(r, b))
				return false;
			continue;
		}
		n = utf8_len((const unsigned char *)r->p, (const unsigned char *)r->end);
		if (!put(r, b, n ? r->p : REPLACEMENT, n ? n : 3))
			return false;
		r->p += n ? n : 1;
	}
}

const char *jr_string(struct jreader *r, size_t *len)
{
	if (jr_peek(r) != J_STRING || !decode(r, &r->str))
		return NULL;
	if (len)
		*len = r->str.len;
	return r->str.s;
}

/* ------------------------------------------------------------ scalars */

/*
 * A number as written: its integer and fraction digits (in place) and its
 * exponent, saturated far past any that can matter (a document of 2^62
 * digits is not a thing).
 */
struct number {
	bool negative;
	const char *ints, *frac; /* the digits before and after the point */
	size_t nints, nfrac;
	int64_t exp;
};

#define EXP_LIMIT (INT64_C(1) << 40)

static bool digits(struct jreader *r, const char **first, size_t *n)
{
	*first = r->p;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
		r->p++;
	*n = (size_t)(r->p - *first);
	return *n || fail(r, "bad number");
}

static bool exponent(struct jreader *r, int64_t *exp)
{
	bool negative = false;
	const char *d;
	size_t n;

	if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
		negative = *r->p++ == '-';
	if (!digits(r, &d, &n))
		return false;
	for (*exp = 0; n--; d++)
		if (*exp < EXP_LIMIT)
			*exp = *exp * 10 + (*d - '0');
	if (negative)
		*exp = -*exp;
	return true;
}

/* A number as RFC 8259, 6 writes it. */
static bool number(struct jreader *r, struct number *n)
{
	*n = (struct number){ 0 };
	if (*r->p == '-') {
		n->negative = true;
		r->p++;
	}
	if (r->p < r->end && *r->p == '0' && r->end - r->p > 1 && r->p[1] >= '0' && r->p[1] <= '9')
		return fail(r, "bad number");
	if (!digits(r, &n->ints, &n->nints))
		return false;
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (!digits(r, &n->frac, &n->nfrac))
			return false;
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (!exponent(r, &n->exp))
			return false;
	}
	return true;
}

/* Digit i of the integer digits followed by the fraction's. */
static unsigned digit(const struct number *n, size_t i)
{
	return (unsigned)((i < n->nints ? n->ints[i] : n->frac[i - n->nints]) - '0');
}

/*
 * The value of n if it is an integer from 0 to UINT64_MAX, however it is
 * spelt: 1000, 1e3, 1000.0, 10000e-1 and -0 are the same number (a
 * reformatting tool may write any of them).  Digit i stands for
 * 10^(nints - 1 - i + exp); the value is an integer when the last non-zero
 * digit's power is not negative, and fits when the first's is at most 19.
 */
static bool exact_uint(const struct number *n, uint64_t *v)
{
	size_t len = n->nints + n->nfrac, first = 0, last = len;
	int64_t low, high;
	uint64_t u = 0;

	while (first < len && !digit(n, first))
		first++;
	if (first == len) {
		*v = 0; /* -0 too */
		return true;
	}
	while (!digit(n, last - 1))
		last--;
	high = (int64_t)n->nints - 1 - (int64_t)first + n->exp;
	low = (int64_t)n->nints - (int64_t)last + n->exp;
	if (n->negative || low < 0 || high > 19)
		return false;
	for (size_t i = first; i < last; i++)
		if (__builtin_mul_overflow(u, 10, &u) || __builtin_add_overflow(u, digit(n, i), &u))
			return false;
	for (; low > 0; low--)
		if (__builtin_mul_overflow(u, 10, &u))
			return false;
	*v = u;
	return true;
}

bool jr_uint(struct jreader *r, uint64_t max, uint64_t *v)
{
	const char *at;
	struct number n;
	uint64_t u;

	if (jr_peek(r) != J_NUMBER)
		return false;
	at = r->p;
	if (!number(r, &n))
		return false;
	if (!exact_uint(&n, &u) || u > max) {
		r->p = at; /* good JSON, but not what the caller asked for */
		return false;
	}
	*v = u;
	return true;
}

bool jr_null(struct jreader *r)
{
	if (jr_peek(r) != J_NULL)
		return false;
	r->p += 4;
	return true;
}

bool jr_bool(struct jreader *r, bool *b)
{
	if (jr_peek(r) != J_BOOL)
		return false;
	*b = *r->p == 't';
	r->p += *b ? 4 : 5; /* jr_peek() has seen the whole word */
	return true;
}

/* ------------------------------------------------------------ containers */

bool jr_enter(struct jreader *r)
{
	enum jtype t = jr_peek(r);
	uint64_t bit;

	if (t != J_OBJECT && t != J_ARRAY)
		return false;
	if (r->depth == JR_MAX_DEPTH)
		return fail(r, "nested too deep");
	bit = 1ULL << r->depth;
	r->object = t == J_OBJECT ? r->object | bit : r->object & ~bit;
	r->begun &= ~bit;
	r->depth++;
	r->p++;
	return true;
}

bool jr_next(struct jreader *r, const char **key)
{
	uint64_t bit;
	bool object;

	if (r->err || !r->depth)
		return false;
	bit = 1ULL << (r->depth - 1);
	object = r->object & bit;
	skip_space(r);
	if (r->p < r->end && *r->p == (object ? '}' : ']')) {
		r->p++;
		r->depth--;
		return false;
	}
	if (r->begun & bit) {
		if (r->p >= r->end || *r->p != ',')
			return fail(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
		r->p++;
	}
	r->begun |= bit;
	if (!object)
		return true;
	skip_space(r);
	if (r->p >= r->end || *r->p != '"')
		return fail(r, "expected a member name");
	if (!decode(r, &r->key))
		return false;
	skip_space(r);
	if (r->p >= r->end || *r->p != ':')
		return fail(r, "expected ':'");
	r->p++;
	if (key)
		*key = r->key.s;
	return true;
}

bool jr_skip(struct jreader *r)
{
	struct number n;
	bool b;

	switch (jr_peek(r)) {
	case J_NULL: return jr_null(r);
	case J_BOOL: return jr_bool(r, &b);
	case J_NUMBER: return number(r, &n);
	case J_STRING: return decode(r, &r->str);
	case J_OBJECT:
	case J_ARRAY:
		if (!jr_enter(r))
			return false;
		while (jr_next(r, NULL))
			jr_skip(r);
		return !r->err;
	default: return false;
	}
}

bool jr_finish(struct jreader *r)
{
	if (r->err)
		return false;
	skip_space(r);
	return r->p == r->end || fail(r, "text after the document");
}
