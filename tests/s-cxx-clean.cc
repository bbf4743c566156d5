// SPDX-License-Identifier: GPL-2.0-or-later
/* s-cxx-clean: a C++ program using iostream, std::string, std::vector,
 * std::map and exceptions (thrown and caught, so libstdc++ allocates the
 * exception and, on first throw, sets up its emergency pool), which frees
 * everything it allocates -- the global `registry' only in its destructor,
 * after main returns.  The runtime's own buffers are not leaks: the exit
 * report must stay silent. */
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

static std::vector<std::string> registry;

static int thrower(int n)
{
	if (n > 2)
		throw std::runtime_error("a message long enough to need the heap: " +
					 std::to_string(n));
	return n;
}

int main()
{
	std::vector<std::string> words;
	std::map<int, std::string> m;
	int caught = 0;

	for (int i = 0; i < 50; i++)
		words.push_back("word number " + std::to_string(i) + " with some padding");
	for (int i = 0; i < 20; i++)
		m[i] = words[i];
	for (int i = 0; i < 5; i++) {
		try {
			thrower(i);
		} catch (const std::exception &e) {
			caught++;
		}
	}
	for (int i = 0; i < 30; i++)
		registry.push_back(std::string(100 + i, 'r'));
	auto p = std::make_unique<int[]>(1000);
	std::cout << "words " << words.size() << " map " << m.size() << " caught " << caught
		  << std::endl;
	std::cout << "done" << '\n';
	return 0;
}
