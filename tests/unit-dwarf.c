// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * unit-dwarf.c - the reader of one compilation unit at a time (lib/dwarf.c)
 * against libbfd, the reader it replaces: at every code address of every
 * test program and library in tests/bin and of this binary (built -O1,
 * so full of inlined calls), the same function, file, line and chain of
 * inlined calls, or "ask libbfd" (-1).  Where libbfd 2.40 is wrong (a
 * function defined in a header but not inlined: it names the unit's main
 * file, with the header's line numbers), the header, as addr2line of LLVM
 * and gdb say.  And the bytes of a file's DWARF damaged at random must
 * never make the reader read out of bounds (AddressSanitizer) or loop.
 * The units read are dropped past 4 KiB here, so that most look-ups
 * read their unit again.
 * Linked with libbfd (the Makefile's UNIT_LIBS_dwarf).
 */
#define _GNU_SOURCE
#define HT_WITH_BFD
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

/* units dropped often: every answer must survive it */
#define CUS_MAX 4096
#include "../lib/dwarf.c"
#include "unit.h"

/* libbfd 2.40 leaks a few blocks of its own per file opened */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libbfd";
}

static int same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bfd *open_bfd(const char *path)
{
	bfd *b = bfd_openr(path, NULL);

	if (b && !bfd_check_format(b, bfd_object)) {
		bfd_close(b);
		return NULL;
	}
	return b;
}

/* libbfd's positions of vma, as debuginfo.c asks for them. */
static int bfd_lines(bfd *b, asection *s, uint64_t vma, struct dbg_line *out, int max)
{
	const char *file, *func;
	unsigned line;
	int n = 0;

	if (!bfd_find_nearest_line(b, s, NULL, vma - ht_section_vma(b, s), &file, &func, &line))
		return 0;
	out[n++] = (struct dbg_line){ func, file, line };
	while (n < max && bfd_find_inliner_info(b, &file, &func, &line))
		out[n++] = (struct dbg_line){ func, file, line };
	return n;
}

/*
 * Every code address of path (one in step): the same as libbfd's, but for
 * libbfd's header quirk in the innermost frame, counted in *quirks.
 * Returns how many addresses had inlined calls.
 */
static unsigned long compare(const char *path, unsigned step, unsigned long *quirks)
{
	bfd *b = open_bfd(path);
	struct dw_file *f = dw_open(path);
	unsigned long inlined = 0;

	CHECK(b != NULL);
	CHECK(f != NULL);
	if (!b || !f)
		return 0;
	for (asection *s = b->sections; s; s = s->next) {
		if (!(ht_section_flags(b, s) & SEC_CODE))
			continue;
		for (uint64_t vma = ht_section_vma(b, s);
		     vma < ht_section_vma(b, s) + ht_section_size(b, s); vma += step) {
			struct dbg_line want[DBG_MAX_INLINE], got[DBG_MAX_INLINE];
			int n = bfd_lines(b, s, vma, want, DBG_MAX_INLINE);
			int m = dw_lines(f, vma, got, DBG_MAX_INLINE);

			CHECK_EQ(m, n);
			if (m != n) {
				fprintf(stderr, "  %s at %#lx\n", path, (unsigned long)vma);
				continue;
			}
			inlined += n > 1;
			for (int i = 0; i < n; i++) {
				/* a file without a line is no file (symbols.c) */
				const char *wf = want[i].line ? want[i].file : NULL;
				const char *gf = got[i].line ? got[i].file : NULL;

				if (i == 0 && !same(wf, gf) && wf && gf) {
					const char *dot = strrchr(gf, '.');

					/* libbfd's header quirk: the header is right */
					bool header = !dot || strchr(dot, '/') ||
						      (strcmp(dot, ".c") && strcmp(dot, ".cc"));

					if (!header)
						fprintf(stderr, "  %s at %#lx: %s against %s\n", path,
							(unsigned long)vma, gf, wf);
					CHECK(header);
					(*quirks)++;
				} else {
					CHECK_STR(gf, wf);
				}
				CHECK_STR(got[i].func, want[i].func);
				CHECK_EQ(got[i].line, want[i].line);
			}
		}
	}
	dw_close(f);
	bfd_close(b);
	return inlined;
}

/* Every test program (and library) that this reader takes. */
static void compare_all(const char *dir, unsigned long *quirks)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	CHECK(d != NULL);
	while (d && (e = readdir(d))) {
		char path[4096];
		struct dw_file *f;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_name[0] == '.' || !(f = dw_open(path)))
			continue; /* no DWARF, or none this reader takes */
		dw_close(f);
		compare(path, 1, quirks);
		n++;
	}
	CHECK(n > 50);
	if (d)
		closedir(d);
}

/* A function defined in a header and not inlined is named in the header. */
static void test_header_function(void)
{
	const char *path = "tests/bin/s-leak-chain";
	bfd *b = open_bfd(path);
	struct dw_file *f = dw_open(path);
	struct dbg_line got[DBG_MAX_INLINE];
	long n;
	asymbol **v;
	int found = 0;

	CHECK(b && f);
	if (!b || !f)
		return;
	v = malloc((size_t)bfd_get_symtab_upper_bound(b));
	n = bfd_canonicalize_symtab(b, v);
	for (long i = 0; i < n; i++) {
		if (strcmp(v[i]->name, "leak_wipe_stack"))
			continue;
		found = 1;
		CHECK_EQ(dw_lines(f, ht_section_vma(b, v[i]->section) + v[i]->value + 4, got, 4), 1);
		CHECK_STR(got[0].func, "leak_wipe_stack");
		CHECK(got[0].file && strstr(got[0].file, "tests/leak.h"));
	}
	CHECK(found);
	free(v);
	dw_close(f);
	bfd_close(b);
}

/* A copy of src at dst with the bytes of [lo, hi) flipped at random. */
static void damaged_copy(const char *src, const char *dst, uint64_t lo, uint64_t hi,
			 uint64_t *seed, int flips)
{
	int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct stat st;
	uint8_t *buf;

	fstat(in, &st);
	buf = malloc((size_t)st.st_size);
	CHECK(read(in, buf, (size_t)st.st_size) == st.st_size);
	for (int i = 0; i < flips && hi > lo; i++)
		buf[lo + unit_rand(seed) % (hi - lo)] = (uint8_t)unit_rand(seed);
	CHECK(write(out, buf, (size_t)st.st_size) == st.st_size);
	free(buf);
	close(in);
	close(out);
}

/* Damaged DWARF: answers or -1, never a read out of bounds. */
static void test_damaged(void)
{
	const char *src = "tests/bin/sym-static";
	char dst[] = "/tmp/unit-dwarf-XXXXXX";
	struct dw_file *clean = dw_open(src);
	uint64_t seed = 42;
	int fd = mkstemp(dst);

	CHECK(clean != NULL && fd >= 0);
	if (!clean || fd < 0)
		return;
	close(fd);
	for (int round = 0; round < 400; round++) {
		int sec = round % S_COUNT;
		const struct sec *s = &clean->s[sec];
		struct dw_file *f;

		if (!s->size)
			continue;
		damaged_copy(src, dst, s->off, s->off + s->size, &seed, 1 + round % 8);
		if (!(f = dw_open(dst)))
			continue;
		for (const struct arange *a = clean->ar; a < clean->ar + clean->nar; a++)
			for (uint64_t vma = a->lo; vma < a->hi; vma++) {
				struct dbg_line got[DBG_MAX_INLINE];
				int n = dw_lines(f, vma, got, DBG_MAX_INLINE);

				CHECK(n >= -1 && n <= DBG_MAX_INLINE);
			}
		dw_close(f);
	}
	unlink(dst);
	dw_close(clean);
}

int main(void)
{
	unsigned long quirks = 0, inlined;

	unit_watchdog(120);
	bfd_init();
	compare("tests/bin/sym-static", 1, &quirks);
	compare("tests/bin/libsym-shared.so", 1, &quirks);
	CHECK_EQ(quirks, 0);
	/* before the others: libbfd, once it has read some C++ programs
	 * (tests/bin/s-shortnames), misses inlined calls in this one that
	 * addr2line and this reader find */
	inlined = compare("/proc/self/exe", 7, &quirks);
	CHECK(inlined > 1000);
	compare_all("tests/bin", &quirks);
	test_header_function();
	test_damaged();
	dw_release_files();
	return unit_done("unit-dwarf");
}
