// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * jsonparse.c - recursive descent over a JSON document held in memory.
 * Launcher only (heaptrace --diff): it may allocate freely.  Depth is
 * bounded so that a hostile file cannot exhaust the stack.
 */
#include <stdlib.h>
#include <string.h>

#include "jsonparse.h"

#define MAX_DEPTH 64

struct parser {
	const char *p, *end;
	const char *err;
	int depth;
};

static void skip_space(struct parser *ps)
{
	while (ps->p < ps->end && strchr(" \t\r\n", *ps->p))
		ps->p++;
}

static bool fail(struct parser *ps, const char *why)
{
	if (!ps->err)
		ps->err = why;
	return false;
}

static bool literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return fail(ps, "unexpected word");
	ps->p += n;
	return true;
}

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
	     : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Append code point cp as UTF-8 (surrogate pairs are joined by the caller). */
static char *put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xc0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xe0 | cp >> 12);
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (char)(0xf0 | cp >> 18);
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

static bool hex4(struct parser *ps, unsigned *cp)
{
	*cp = 0;
	if (ps->end - ps->p < 4)
		return fail(ps, "bad \\u escape");
	for (int i = 0; i < 4; i++) {
		int h = hex(*ps->p++);

		if (h < 0)
			return fail(ps, "bad \\u escape");
		*cp = *cp << 4 | (unsigned)h;
	}
	return true;
}

static bool string(struct parser *ps, char **out)
{
	/* the decoded string is never longer than its source */
	char *buf = malloc((size_t)(ps->end - ps->p) + 1), *o = buf;

	if (!buf)
		return fail(ps, "out of memory");
	ps->p++; /* the opening quote */
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char c = (unsigned char)*ps->p++;
		unsigned cp, lo;

		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		if (ps->p >= ps->end)
			goto bad;
		c = (unsigned char)*ps->p++;
		switch (c) {
		case '"': case '\\': case '/': *o++ = (char)c; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (!hex4(ps, &cp))
				goto bad;
			if (cp >= 0xd800 && cp < 0xdc00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
			    ps->p[1] == 'u') {
				ps->p += 2;
				if (!hex4(ps, &lo) || lo < 0xdc00 || lo >= 0xe000)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			o = put_utf8(o, cp);
			break;
		default:
			goto bad;
		}
	}
	if (ps->p >= ps->end)
		goto bad;
	ps->p++;
	*o = '\0';
	*out = buf;
	return true;
bad:
	free(buf);
	return fail(ps, "bad string");
}

static bool number(struct parser *ps, struct jval *v)
{
	v->type = J_INT;
	if (*ps->p == '-') {
		v->negative = true;
		ps->p++;
	}
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return fail(ps, "bad number");
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		unsigned d = (unsigned)(*ps->p++ - '0');

		if (v->u > (UINT64_MAX - d) / 10)
			return fail(ps, "number too large");
		v->u = v->u * 10 + d;
	}
	if (ps->p < ps->end && strchr(".eE", *ps->p))
		return fail(ps, "not an integer");
	return true;
}

static bool value(struct parser *ps, struct jval *v);

static bool add_member(struct parser *ps, struct jval *v, char *key)
{
	struct jval *nv = realloc(v->v, (v->n + 1) * sizeof(*nv));
	char **nk = key ? realloc(v->keys, (v->n + 1) * sizeof(*nk)) : v->keys;

	if (nv)
		v->v = nv;
	if (nk)
		v->keys = nk;
	if (!nv || (key && !nk)) {
		free(key);
		return fail(ps, "out of memory");
	}
	memset(&v->v[v->n], 0, sizeof(v->v[0]));
	if (key)
		v->keys[v->n] = key;
	v->n++;
	return value(ps, &v->v[v->n - 1]);
}

static bool container(struct parser *ps, struct jval *v, bool object)
{
	char close = object ? '}' : ']';

	v->type = object ? J_OBJECT : J_ARRAY;
	if (++ps->depth > MAX_DEPTH)
		return fail(ps, "nested too deep");
	ps->p++;
	skip_space(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return true;
	}
	for (;;) {
		char *key = NULL;

		skip_space(ps);
		if (object) {
			if (ps->p >= ps->end || *ps->p != '"' || !string(ps, &key))
				return fail(ps, "expected a member name");
			skip_space(ps);
			if (ps->p >= ps->end || *ps->p++ != ':') {
				free(key);
				return fail(ps, "expected ':'");
			}
		}
		if (!add_member(ps, v, key))
			return false;
		skip_space(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			ps->depth--;
			return true;
		}
		return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static bool value(struct parser *ps, struct jval *v)
{
	skip_space(ps);
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end");
	switch (*ps->p) {
	case '{': return container(ps, v, true);
	case '[': return container(ps, v, false);
	case '"': v->type = J_STRING; return string(ps, &v->s);
	case 't': v->type = J_BOOL; v->b = true; return literal(ps, "true");
	case 'f': v->type = J_BOOL; return literal(ps, "false");
	case 'n': v->type = J_NULL; return literal(ps, "null");
	default: return number(ps, v);
	}
}

static void free_members(struct jval *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free_members(&v->v[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->v);
	free(v->keys);
	free(v->s);
}

void json_free(struct jval *v)
{
	if (v)
		free_members(v);
	free(v);
}

struct jval *json_parse(const char *text, size_t len, const char **err)
{
	struct parser ps = { text, text + len, NULL, 0 };
	struct jval *v = calloc(1, sizeof(*v));

	if (!v) {
		*err = "out of memory";
		return NULL;
	}
	if (value(&ps, v)) {
		skip_space(&ps);
		if (ps.p == ps.end)
			return v;
		fail(&ps, "text after the document");
	}
	*err = ps.err;
	json_free(v);
	return NULL;
}

const struct jval *json_get(const struct jval *obj, const char *key)
{
	if (!obj || obj->type != J_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return &obj->v[i];
	return NULL;
}

int64_t json_int(const struct jval *obj, const char *key, int64_t def)
{
	const struct jval *v = json_get(obj, key);

	if (!v || v->type != J_INT || v->u > INT64_MAX)
		return def;
	return v->negative ? -(int64_t)v->u : (int64_t)v->u;
}

const char *json_str(const struct jval *obj, const char *key)
{
	const struct jval *v = json_get(obj, key);

	return v && v->type == J_STRING ? v->s : NULL;
}
