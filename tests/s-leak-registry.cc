// SPDX-License-Identifier: GPL-2.0-or-later
/* s-leak-registry: a C++ program with a static registry, as real ones
 * have: plugins register a factory from static constructors into a
 * registry held by a function-local static (reachable for the life of the
 * process, never freed on purpose); main creates every plugin, keeps the
 * instances in the registry and prints their names with iostream (its
 * buffers, libstdc++'s emergency exception pool: the C++ runtime's).
 * What it leaks:
 *   Plugin::configure  each plugin's Config (64 bytes), its pointer
 *                      dropped: leaked; with its name, a std::string too
 *                      long for the small-string buffer: indirectly leaked
 *   make_scratch       one 4000-byte scratch buffer per plugin: leaked */
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct Config {
	std::string name;
	long values[4];
};

struct Plugin {
	explicit Plugin(const std::string &n) : name(n) {}
	virtual ~Plugin() = default;
	std::string name;
	__attribute__((noinline)) void configure()
	{
		Config *volatile c = new Config{ "configuration of the plugin " + name, {} };
		c = nullptr;
		(void)c;
	}
};

using Factory = Plugin *(*)();

struct Registry {
	std::map<std::string, Factory> factories;
	std::vector<std::unique_ptr<Plugin>> instances;
};

static Registry &registry()
{
	static Registry *r = new Registry; // never destroyed: outlives every user
	return *r;
}

struct Registrar {
	Registrar(const char *name, Factory f) { registry().factories[name] = f; }
};

#define PLUGIN(id)                                                          \
	static Plugin *make_##id() { return new Plugin("plugin-" #id "-with-a-long-name"); } \
	static Registrar reg_##id(#id, make_##id)

PLUGIN(alpha);
PLUGIN(beta);
PLUGIN(gamma);
PLUGIN(delta);

__attribute__((noinline)) static void make_scratch()
{
	char *volatile s = new char[4000];
	memset(s, 0, 4000);
	s = nullptr;
	(void)s;
}

__attribute__((noinline)) static void wipe_stack()
{
	char junk[64 * 1024];

	memset(junk, 0, sizeof(junk));
	__asm__ volatile("" : : "r"(junk) : "memory");
}

__attribute__((noinline)) static void start_all()
{
	for (auto &f : registry().factories) {
		Plugin *p = f.second();
		p->configure();
		make_scratch();
		registry().instances.emplace_back(p);
	}
}

int main()
{
	start_all();
	for (auto &p : registry().instances)
		std::cout << p->name << '\n';
	wipe_stack();
	return 0;
}
