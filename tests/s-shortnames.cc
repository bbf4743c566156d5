// SPDX-License-Identifier: GPL-2.0-or-later
/* s-shortnames: frames with the standard library's long names, for
 * --short-names (test_shortnames.py): a std::map<std::string, std::string>
 * node and a std::string of 100 characters, allocated through libstdc++'s
 * templates (built -O0: every template frame is a frame of its own).
 * Live at exit: the map (48 bytes), its node, and the string's 101 bytes. */
#include <map>
#include <string>

/* never destroyed: its blocks are live in the exit report */
static auto *names = new std::map<std::string, std::string>;

__attribute__((noinline)) void keep_name(const std::string &key)
{
	(*names)[key] = std::string(100, 'x');
}

int main()
{
	keep_name("k");
	return 0;
}
