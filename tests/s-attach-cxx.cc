// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * s-attach-cxx: a C++ program that heaptrace --pid attaches to while it
 * waits for a line on stdin (test_attach.py); then 4 nodes of 48 bytes
 * from make_node() with operator new, one std::string of 100 characters,
 * "done"; at the end of stdin it exits with status 3.
 */
#include <cstdio>
#include <iostream>
#include <string>

struct Node {
	long v[6];
};

static Node *nodes[4];
static std::string *text;

Node *make_node()
{
	return new Node();
}

int main()
{
	std::string line;

	std::cout << "ready" << std::endl;
	std::getline(std::cin, line);
	for (auto &n : nodes)
		n = make_node();
	text = new std::string(100, 'x');
	std::cout << "done" << std::endl;
	while (std::getline(std::cin, line))
		;
	return 3;
}
