/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jsonparse.h - a small JSON reader for the launcher's --diff: it walks a
 * document held in memory value by value and builds no tree, so memory does
 * not grow with the document; the caller steps into the objects and arrays
 * it expects and reads the scalars it wants.  Any valid JSON is read:
 * white space anywhere between tokens, members in any order.  A number is
 * read as an integer (exact, 64 bits, not negative) when its value is one,
 * however it is spelt (1000, 1e3, 1000.0 and -0 are integers); other
 * numbers can only be skipped.
 *
 * Errors: a read that finds bad JSON sets err (and the byte offset err_at)
 * and fails, and every later call fails too.  A read that finds good JSON of
 * another type than asked fails without err and consumes nothing, so that
 * the caller can name the field it expected.  Strings are returned decoded,
 * NUL-terminated, valid UTF-8: a byte that starts no valid UTF-8 sequence,
 * a lone surrogate and \u0000 each become U+FFFD (the report writer does the
 * same to names that are not UTF-8).
 */
#ifndef HEAPTRACE_JSONPARSE_H
#define HEAPTRACE_JSONPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JR_MAX_DEPTH 64

enum jtype { J_NONE, J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

struct jbuf {
	char *s;
	size_t len, cap;
};

struct jreader {
	const char *start, *p, *end;
	const char *err; /* the first error, NULL while the JSON is good */
	size_t err_at;   /* its byte offset from start */
	int depth;       /* containers entered and not left */
	uint64_t object; /* bit d: the container at depth d + 1 is an object */
	uint64_t begun;  /* bit d: it has had a member or item */
	struct jbuf key, str; /* the last member name, the last string */
};

void jr_init(struct jreader *r, const char *text, size_t len);
void jr_release(struct jreader *r);

/* The type of the next value, J_NONE on bad JSON (err set). */
enum jtype jr_peek(struct jreader *r);

/* Step into the object or array next. */
bool jr_enter(struct jreader *r);

/*
 * Move to the next member (with *key set to its name) or item of the
 * container entered last; false at its end, having left it, or on an
 * error.  Each value must be read or skipped before the next call.  *key
 * stays valid until the next jr_next() or jr_skip(), at any depth.
 */
bool jr_next(struct jreader *r, const char **key);

/* Typed reads; a string stays valid until the next string is read. */
bool jr_null(struct jreader *r);
bool jr_bool(struct jreader *r, bool *b);
bool jr_uint(struct jreader *r, uint64_t max, uint64_t *v);
const char *jr_string(struct jreader *r, size_t *len);

/* Pass over the next value, whatever it is. */
bool jr_skip(struct jreader *r);

/* After the document: only white space may be left. */
bool jr_finish(struct jreader *r);

#endif
