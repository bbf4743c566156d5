// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * unit-difftab.c - --diff's table: names interned once, backtraces matched
 * by object and offset (by function without an object, inlined frames
 * passed over) whatever their addresses, a report's sections counted once
 * and a section's twins added up, and the order of ties.  Tens of
 * thousands of entries, so that the indexes grow many times.
 */
#define _GNU_SOURCE
#include "../launcher/difftab.c"
#include "../launcher/usage.c"
#include "../utils.c"
#include "../textfmt.h"
#include "../utils.h"
#include "unit.h"

/* ------------------------------------------------------------ helpers */

static uint32_t name_of(struct difftab *t, const char *s)
{
	return dt_intern(t, s, strlen(s));
}

/* A frame at the end of the table; obj NULL for none. */
static void push(struct difftab *t, const char *obj, uint64_t off, const char *func,
		 bool inlined)
{
	struct dt_frame *f;
	uint32_t o = obj ? name_of(t, obj) : 0, fn = func ? name_of(t, func) : 0;

	f = dt_frame(t);
	f->object = o;
	f->object_offset = off;
	f->function = fn;
	f->inlined = inlined;
	f->address = 0x1000 + off + t->nframes; /* never the same twice */
}

static struct dt_counts counts(uint64_t count, uint64_t bytes)
{
	return (struct dt_counts){ count, count + 1, bytes, bytes + 1, 100 * count };
}

/* Backtrace "libc+0x10 <- prog+off", n of them, bytes each, in a section. */
static const char *add_two(struct difftab *t, enum dt_side side, int section, uint64_t off,
			   uint64_t n, uint64_t bytes)
{
	size_t first = t->nframes;
	struct dt_counts c = counts(n, bytes);

	push(t, "libc.so.6", 0x10, "malloc", false);
	push(t, "prog", off, "main", false);
	return dt_add(t, side, section, first, &c, HT_CUT_NONE);
}

/* ------------------------------------------------------------ names */

static void test_names(void)
{
	struct difftab t;
	char buf[32];
	uint32_t ab, abc, first;

	dt_init(&t);
	CHECK_EQ(name_of(&t, ""), 0);
	CHECK_STR(dt_name(&t, 0), "");
	ab = name_of(&t, "ab");
	abc = name_of(&t, "abc");
	CHECK(ab && abc && ab != abc);
	CHECK_EQ(name_of(&t, "ab"), ab);
	CHECK_EQ(dt_intern(&t, "abcd", 3), abc); /* by length, not by NUL */
	CHECK_STR(dt_name(&t, ab), "ab");
	CHECK_STR(dt_name(&t, abc), "abc");
	first = name_of(&t, "name-0");
	for (int i = 0; i < 50000; i++) {
		snprintf(buf, sizeof(buf), "name-%d", i);
		name_of(&t, buf);
	}
	for (int i = 0; i < 50000; i += 997) {
		snprintf(buf, sizeof(buf), "name-%d", i);
		CHECK_STR(dt_name(&t, name_of(&t, buf)), buf);
	}
	CHECK_EQ(name_of(&t, "name-0"), first);
	CHECK_EQ(t.names_ix.used, 50002);
	CHECK_EQ(t.longest, strlen("name-49999"));
	dt_free(&t);
}

/* ------------------------------------------------------------ matching */

static void test_match_by_object_offset(void)
{
	struct difftab t;
	size_t first;
	struct dt_counts c = counts(3, 30);

	dt_init(&t);
	CHECK_STR(add_two(&t, DT_OLD, 0, 0x20, 1, 10), NULL);
	/* NEW: other addresses, an inlined call, other function names */
	first = t.nframes;
	push(&t, "libc.so.6", 0x10, "malloc", false);
	push(&t, "prog", 0x20, "helper", true);
	push(&t, "prog", 0x20, "main.cold", false);
	CHECK_STR(dt_add(&t, DT_NEW, 0, first, &c, HT_CUT_DEPTH), NULL);
	CHECK_EQ(t.n, 1);
	CHECK_EQ(t.e[0].first, first); /* NEW's frames, to print */
	CHECK_EQ(t.e[0].n, 3);
	CHECK_EQ(t.e[0].cut, HT_CUT_DEPTH);
	CHECK_EQ(dt_growth_bytes(&t.e[0]), 20);
	CHECK_EQ(dt_growth_count(&t.e[0]), 2);

	/* another offset, a frame more or less, another object: new backtraces */
	CHECK_STR(add_two(&t, DT_NEW, 0, 0x21, 1, 1), NULL);
	first = t.nframes;
	push(&t, "libc.so.6", 0x10, "malloc", false);
	CHECK_STR(dt_add(&t, DT_NEW, 0, first, &c, HT_CUT_NONE), NULL);
	first = t.nframes;
	push(&t, "libc.so.6", 0x10, "malloc", false);
	push(&t, "prog", 0x20, "main", false);
	push(&t, "prog", 0x30, "start", false);
	CHECK_STR(dt_add(&t, DT_NEW, 0, first, &c, HT_CUT_NONE), NULL);
	first = t.nframes;
	push(&t, "libc.so.6", 0x10, "malloc", false);
	push(&t, "prog2", 0x20, "main", false);
	CHECK_STR(dt_add(&t, DT_NEW, 0, first, &c, HT_CUT_NONE), NULL);
	CHECK_EQ(t.n, 5);
	dt_free(&t);
}

/* Without an object, the function names the frame (JIT code, say). */
static void test_match_by_function(void)
{
	static const char *const funcs[] = { "jit_a", "jit_b", "jit_a", NULL, NULL };
	struct difftab t;
	struct dt_counts c = counts(1, 8);

	dt_init(&t);
	for (size_t i = 0; i < ARRAY_SIZE(funcs); i++) {
		size_t first = t.nframes;
		enum dt_side side = i % 2 ? DT_NEW : DT_OLD;

		push(&t, NULL, 0x100 * i, funcs[i], false);
		CHECK_STR(dt_add(&t, side, (int)i, first, &c, HT_CUT_NONE), NULL);
	}
	CHECK_EQ(t.n, 3); /* jit_a, jit_b, unknown */
	CHECK(t.e[0].sect[DT_OLD] == 0 && t.e[0].sect[DT_NEW] == -1); /* jit_a twice in OLD */
	CHECK(t.e[2].sect[DT_NEW] == 3 && t.e[2].sect[DT_OLD] == 4);
	dt_free(&t);
}

/* ------------------------------------------------------------ sections */

static void test_sections(void)
{
	struct difftab t;
	size_t kept;

	dt_init(&t);
	CHECK_STR(add_two(&t, DT_NEW, 0, 0x20, 2, 16), NULL);
	kept = t.nframes;
	/* the same backtrace listed by the next section: counted once */
	CHECK_STR(add_two(&t, DT_NEW, 1, 0x20, 2, 16), NULL);
	CHECK_EQ(t.nframes, kept); /* its frames dropped */
	CHECK_EQ(t.e[0].c[DT_NEW].bytes, 16);
	/* a twin in the first section: added up, the age the oldest */
	t.e[0].c[DT_NEW].age_ns = 50;
	CHECK_STR(add_two(&t, DT_NEW, 0, 0x20, 3, 100), NULL);
	CHECK_EQ(t.nframes, kept);
	CHECK_EQ(t.e[0].c[DT_NEW].count, 5);
	CHECK_EQ(t.e[0].c[DT_NEW].peak_count, 7);
	CHECK_EQ(t.e[0].c[DT_NEW].bytes, 116);
	CHECK_EQ(t.e[0].c[DT_NEW].peak_bytes, 118);
	CHECK_EQ(t.e[0].c[DT_NEW].age_ns, 300);
	CHECK_EQ(t.e[0].sect[DT_OLD], -1);
	CHECK_EQ(dt_growth_bytes(&t.e[0]), 116);

	/* sums past INT64_MAX are refused */
	CHECK_STR(add_two(&t, DT_OLD, 0, 0x40, 1, INT64_MAX), NULL);
	CHECK_STR(add_two(&t, DT_OLD, 0, 0x40, 1, 1),
		  "adds up past 2^63-1 with a backtrace of the same frames");
	CHECK_EQ(t.e[1].c[DT_OLD].bytes, INT64_MAX);
	CHECK_EQ(dt_growth_bytes(&t.e[1]), -INT64_MAX);
	dt_free(&t);
}

/* ------------------------------------------------------------ many */

static void test_many(void)
{
	enum { N = 60000 };
	struct difftab t;

	dt_init(&t);
	for (uint64_t i = 0; i < N; i++)
		CHECK_STR(add_two(&t, DT_OLD, 0, 16 * i, 1, i), NULL);
	CHECK_EQ(t.n, N);
	/* NEW lists them in another order, and a new one for every tenth */
	for (uint64_t k = 0; k < N; k++) {
		uint64_t i = (k * 40507) % N; /* 40507 is prime to N: each i once */

		CHECK_STR(add_two(&t, DT_NEW, 0, 16 * i + (i % 10 == 0), 2, i + 5), NULL);
	}
	CHECK_EQ(t.n, N + N / 10);
	for (size_t i = 0; i < N; i++) {
		const struct dt_entry *e = &t.e[i];

		if (i % 10 == 0) {
			CHECK(e->sect[DT_NEW] < 0 && e->c[DT_OLD].bytes == i);
			continue;
		}
		CHECK(e->sect[DT_OLD] == 0 && e->sect[DT_NEW] == 0);
		CHECK(dt_growth_bytes(e) == 5 && dt_growth_count(e) == 1);
		CHECK_EQ(t.frames[e->first + 1].object_offset, 16 * i);
	}
	dt_free(&t);
}

/* ------------------------------------------------------------ order */

static void test_order(void)
{
	struct difftab t;
	struct dt_counts c = counts(1, 1);
	size_t first;

	dt_init(&t);
	CHECK_STR(add_two(&t, DT_NEW, 0, 0x20, 1, 1), NULL); /* 0: libc prog+0x20 */
	CHECK_STR(add_two(&t, DT_NEW, 0, 0x100, 1, 1), NULL); /* 1: prog+0x100, after */
	first = t.nframes;
	push(&t, "libc.so.6", 0x10, "malloc", false);
	CHECK_STR(dt_add(&t, DT_NEW, 0, first, &c, HT_CUT_NONE), NULL); /* 2: shorter */
	first = t.nframes;
	push(&t, "libc.so.6", 0x10, "malloc", false);
	push(&t, NULL, 0, "b", false);
	CHECK_STR(dt_add(&t, DT_NEW, 0, first, &c, HT_CUT_NONE), NULL); /* 3: "" < "prog" */
	first = t.nframes;
	push(&t, "libc.so.6", 0x10, "malloc", false);
	push(&t, NULL, 0, "a", false);
	CHECK_STR(dt_add(&t, DT_NEW, 0, first, &c, HT_CUT_NONE), NULL); /* 4: "a" < "b" */
	CHECK_EQ(t.n, 5);
	CHECK(dt_cmp_frames(&t, &t.e[0], &t.e[1]) < 0);
	CHECK(dt_cmp_frames(&t, &t.e[1], &t.e[0]) > 0);
	CHECK(dt_cmp_frames(&t, &t.e[2], &t.e[0]) < 0);
	CHECK(dt_cmp_frames(&t, &t.e[3], &t.e[0]) < 0);
	CHECK(dt_cmp_frames(&t, &t.e[4], &t.e[3]) < 0);
	CHECK(dt_cmp_frames(&t, &t.e[2], &t.e[4]) < 0);
	CHECK_EQ(dt_cmp_frames(&t, &t.e[1], &t.e[1]), 0);
	dt_free(&t);
}

int main(void)
{
	unit_watchdog(60);
	test_names();
	test_match_by_object_offset();
	test_match_by_function();
	test_sections();
	test_many();
	test_order();
	return unit_done("unit-difftab");
}
