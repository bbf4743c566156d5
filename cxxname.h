/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cxxname.h - C++ names made shorter for the reader: template argument and
 * parameter groups emptied to "<...>" / "(...)" (symbols.c, for names too
 * long to print) and --short-names' standard aliases and collapsed
 * templates (text.c, folded.c).  Report path only; no allocation.
 */
#ifndef HEAPTRACE_CXXNAME_H
#define HEAPTRACE_CXXNAME_H

#include <stddef.h>

/* src into dst[cap], every outermost group opened by open ('<' or '(')
 * emptied to "..." (operator< and operator<< are not groups). */
void cxx_collapse(char *dst, size_t cap, const char *src, char open);

/*
 * --short-names: src into dst[cap] with the standard library's aliases
 * (std::string for std::__cxx11::basic_string<char, ...>, std::ostream...,
 * std:: for std::__cxx11::), template arguments nested in others as
 * "<...>", and an outermost argument list still longer than
 * CXX_SHORT_ARGS characters as "<...>" too: std::map<...>.
 */
#define CXX_SHORT_ARGS 40
void cxx_short_name(char *dst, size_t cap, const char *src);

#endif
