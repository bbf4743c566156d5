/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jsonparse.h - a small JSON reader for the launcher's --diff: heaptrace's
 * own reports, whole documents into a tree.  Integers are kept exact (64
 * bits); other numbers are refused, as heaptrace writes none.
 */
#ifndef HEAPTRACE_JSONPARSE_H
#define HEAPTRACE_JSONPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jtype { J_NULL, J_BOOL, J_INT, J_STRING, J_ARRAY, J_OBJECT };

struct jval {
	enum jtype type;
	bool b;
	bool negative;  /* J_INT: the value is -u */
	uint64_t u;     /* J_INT: magnitude */
	char *s;        /* J_STRING */
	size_t n;       /* J_ARRAY, J_OBJECT: members */
	struct jval *v; /* members */
	char **keys;    /* J_OBJECT: their names */
};

/* Parse one document of len bytes; NULL and *err set on bad input. */
struct jval *json_parse(const char *text, size_t len, const char **err);
void json_free(struct jval *v);

/* Object member by name, NULL if absent; typed look-ups with defaults. */
const struct jval *json_get(const struct jval *obj, const char *key);
int64_t json_int(const struct jval *obj, const char *key, int64_t def);
const char *json_str(const struct jval *obj, const char *key);

#endif
