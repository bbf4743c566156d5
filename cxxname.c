// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cxxname.c - shorter C++ names (cxxname.h): groups matched by their
 * brackets, emptied, and the standard library's long spellings replaced.
 * Pure string work on caller buffers; report path.
 */
#include <stdbool.h>
#include <string.h>

#include "cxxname.h"

/* The end of the <...> or (...) group opening at s[i], or 0. */
static size_t group_end(const char *s, size_t i)
{
	char open = s[i], close = open == '<' ? '>' : ')';
	int depth = 0;

	for (size_t j = i; s[j]; j++) {
		if (s[j] == open)
			depth++;
		else if (s[j] == close && --depth == 0)
			return j;
	}
	return 0;
}

/* Is the '<' at s[i] part of an operator's name (operator<, operator<<)? */
static bool operator_lt(const char *s, size_t i)
{
	while (i > 0 && s[i - 1] == '<')
		i--;
	return i >= 8 && !strncmp(s + i - 8, "operator", 8);
}

void cxx_collapse(char *dst, size_t cap, const char *src, char open)
{
	size_t o = 0;

	for (size_t i = 0; src[i] && o + 1 < cap; i++) {
		size_t end;

		dst[o++] = src[i];
		if (src[i] != open || (open == '<' && operator_lt(src, i)) ||
		    !(end = group_end(src, i)) || end == i + 1)
			continue;
		if (o + 4 >= cap)
			break;
		memcpy(dst + o, "...", 3);
		o += 3;
		i = end - 1; /* the closing character is copied next */
	}
	dst[o] = '\0';
}

/* ------------------------------------------------------------ --short-names */

/* What the standard library's types are called, as GCC's demangler spells
 * them: the longest first where one contains another. */
static const struct {
	const char *full, *alias;
} std_aliases[] = {
#define STR_(cxx11, ch, name)                                                               \
	{ "std::" cxx11 "basic_string<" ch ", std::char_traits<" ch ">, std::allocator<" ch "> >", \
	  "std::" name }
	STR_("__cxx11::", "char", "string"), STR_("", "char", "string"),
	STR_("__cxx11::", "wchar_t", "wstring"), STR_("", "wchar_t", "wstring"),
	STR_("__cxx11::", "char16_t", "u16string"), STR_("__cxx11::", "char32_t", "u32string"),
#undef STR_
#define SS_(kind) { "std::__cxx11::basic_" kind "<char, std::char_traits<char>, std::allocator<char> >", \
		    "std::" kind }
	SS_("ostringstream"), SS_("istringstream"), SS_("stringstream"),
#undef SS_
#define IO_(kind) { "std::basic_" kind "<char, std::char_traits<char> >", "std::" kind }
	IO_("ostream"), IO_("istream"), IO_("iostream"), IO_("string_view"),
#undef IO_
	{ "std::__cxx11::", "std::" },
};

/* src into dst[cap] with every alias's full spelling replaced. */
static void put_aliases(char *dst, size_t cap, const char *src)
{
	size_t o = 0;

	while (*src && o + 1 < cap) {
		size_t k;

		for (k = 0; k < sizeof(std_aliases) / sizeof(std_aliases[0]); k++) {
			size_t n = strlen(std_aliases[k].full), a = strlen(std_aliases[k].alias);

			if (strncmp(src, std_aliases[k].full, n) || o + a >= cap)
				continue;
			memcpy(dst + o, std_aliases[k].alias, a);
			o += a;
			src += n;
			break;
		}
		if (k == sizeof(std_aliases) / sizeof(std_aliases[0]))
			dst[o++] = *src++;
	}
	dst[o] = '\0';
}

/*
 * The template argument list src[i..end] (its brackets included) into
 * dst at *o: the lists inside it as "<...>", the whole as "<...>" when
 * still longer than CXX_SHORT_ARGS.
 */
static void put_args(char *dst, size_t cap, size_t *o, const char *src, size_t i, size_t end)
{
	size_t start = *o;

	for (size_t j = i; j <= end && *o + 1 < cap; j++) {
		size_t e;

		dst[(*o)++] = src[j];
		if (j == i || j == end || src[j] != '<' || operator_lt(src, j) ||
		    !(e = group_end(src, j)) || e > end || *o + 4 >= cap)
			continue;
		memcpy(dst + *o, "...", 3);
		*o += 3;
		j = e - 1; /* the closing '>' is copied next */
	}
	if (*o - start - 2 > CXX_SHORT_ARGS && start + 5 < cap) {
		memcpy(dst + start, "<...>", 5);
		*o = start + 5;
	}
}

void cxx_short_name(char *dst, size_t cap, const char *src)
{
	char named[1024];
	size_t o = 0;

	put_aliases(named, sizeof(named), src);
	for (size_t i = 0; named[i] && o + 1 < cap; i++) {
		size_t end;

		if (named[i] != '<' || operator_lt(named, i) || !(end = group_end(named, i))) {
			dst[o++] = named[i];
			continue;
		}
		put_args(dst, cap, &o, named, i, end);
		i = end;
	}
	dst[o] = '\0';
}
