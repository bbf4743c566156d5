// SPDX-License-Identifier: GPL-2.0-or-later
// Adapted from the team's peer benchmark lab (shared/bench), to measure
// heaptrace beside the same floors and peers.
// cxx-new ROUNDS - C++ allocation traffic: operator new/delete of small
// polymorphic objects, std::vector push_back growth, std::string appends past
// the small-string buffer, and std::map node churn.  Default 400k rounds.
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>
extern "C" {
#include "wl.h"
}

namespace {

struct Shape {
	virtual ~Shape() = default;
	virtual uint64_t area() const = 0;
};
struct Small : Shape {
	uint32_t a;
	explicit Small(uint32_t v) : a(v) {}
	uint64_t area() const override { return a; }
};
struct Medium : Shape {
	uint64_t v[6];
	explicit Medium(uint64_t x) { for (auto &e : v) e = x++; }
	uint64_t area() const override { return v[0] + v[5]; }
};
struct Large : Shape {
	char buf[200];
	explicit Large(uint64_t x) { buf[0] = (char)x; buf[199] = (char)(x >> 8); }
	uint64_t area() const override { return (unsigned char)buf[0] + (unsigned char)buf[199]; }
};

struct State {
	uint64_t rng = 0x853C49E6748FEA9BULL;
	uint64_t sum = 0;
	std::vector<std::unique_ptr<Shape>> keep = std::vector<std::unique_ptr<Shape>>(1024);
	std::map<uint32_t, std::string> dict;
};

NOINLINE Shape *make_shape(State &s)
{
	uint64_t r = wl_rand(&s.rng);
	switch (r % 3) {
	case 0: return new Small((uint32_t)r);
	case 1: return new Medium(r);
	default: return new Large(r);
	}
}

NOINLINE void objects(State &s)
{
	for (int i = 0; i < 16; i++) {
		std::unique_ptr<Shape> p(make_shape(s));
		s.sum += p->area();
		if ((i & 3) == 0) // a quarter survive a while
			s.keep[wl_rand(&s.rng) & 1023] = std::move(p);
	}
}

NOINLINE void vectors(State &s)
{
	std::vector<uint32_t> v;
	unsigned n = 8 + (unsigned)(wl_rand(&s.rng) & 255);
	for (unsigned i = 0; i < n; i++)
		v.push_back(i);
	std::vector<std::vector<uint16_t>> vv(4);
	for (auto &w : vv)
		w.resize(1 + (wl_rand(&s.rng) & 63));
	s.sum += v.back() + vv[3].size();
}

NOINLINE void strings(State &s)
{
	std::string a = "prefix-";
	unsigned n = 16 + (unsigned)(wl_rand(&s.rng) & 63);
	for (unsigned i = 0; i < n; i++)
		a += (char)('a' + i % 26);
	std::string b = a + "/" + std::to_string(s.sum);
	s.sum += b.size();
}

NOINLINE void maps(State &s)
{
	for (int i = 0; i < 4; i++) {
		uint32_t k = (uint32_t)(wl_rand(&s.rng) & 8191);
		auto it = s.dict.find(k);
		if (it == s.dict.end())
			s.dict.emplace(k, std::string(24 + (k & 31), 'x'));
		else
			s.dict.erase(it);
	}
}

} // namespace

int main(int argc, char **argv)
{
	wl_leave_live();
	unsigned long rounds = wl_count(argc > 1 ? argv[1] : nullptr, 400000);
	State s;
	for (unsigned long i = 0; i < rounds; i++) {
		objects(s);
		vectors(s);
		strings(s);
		maps(s);
	}
	std::printf("cxx-new rounds=%lu live_map=%zu check=%llx\n", rounds, s.dict.size(),
	            (unsigned long long)s.sum);
	return 0;
}
