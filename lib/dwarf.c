// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dwarf.c - the lines and inlined calls of an address (see dwarf.h), read
 * one compilation unit at a time.  libbfd reads the whole of .debug_info
 * and parses every unit to find the one an address is in (tens of MB, and
 * a tenth of a second, for a libpython); here .debug_aranges names the
 * unit, and only that unit's bytes, its abbreviations, its line program
 * and the strings it names are read.  A unit read stays cached (its
 * functions' ranges and its line rows), so a later report pays nothing.
 *
 * What this reader does not know (DWARF 64, split or supplementary DWARF,
 * an unknown form, compressed sections, an address no unit claims) makes
 * it answer -1, and the caller asks libbfd: the answer is then libbfd's,
 * as before.  Every read is bounded by its section and the bytes of the
 * unit read; malformed input is "cannot tell", never a read out of bounds.
 * Report path only, under the report lock; allocations are the tracer's.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "dwarf.h"
#include "reader.h"

/* ------------------------------------------------------------ reading bytes */

/* ------------------------------------------------------------ the file */

enum { S_INFO, S_ABBREV, S_LINE, S_STR, S_LINE_STR, S_ARANGES, S_RANGES, S_RNGLISTS, S_ADDR,
       S_STR_OFFSETS, S_COUNT };
static const char *const sec_names[S_COUNT] = {
	".debug_info", ".debug_abbrev", ".debug_line", ".debug_str", ".debug_line_str",
	".debug_aranges", ".debug_ranges", ".debug_rnglists", ".debug_addr", ".debug_str_offsets",
};

struct sec {
	uint64_t off, size; /* in the file; size 0: absent */
};

struct arange {
	uint64_t lo, hi, cu;
};

struct func {
	uint64_t die;   /* offset in .debug_info */
	int parent;     /* the enclosing function, -1 */
	bool inlined;   /* DW_TAG_inlined_subroutine */
	unsigned call_file, call_line;
	const char *name; /* resolved when first needed */
	bool named;
};

struct frange {
	uint64_t lo, hi;
	int func;
};

struct row {
	uint64_t addr;
	unsigned file, line;
	bool end; /* end of a sequence: no code from here */
};

struct cu {
	uint64_t off;
	struct cu *next;
	bool ok;
	struct func *funcs;
	size_t nfuncs;
	struct frange *ranges;
	size_t nranges;
	struct row *rows;
	size_t nrows;
	char **files; /* full paths, by the line table's index */
	size_t nfiles;
};

/* A window of a section read at once, for the many small reads of one
 * unit's range lists, addresses, string offsets and strings. */
#define WINDOW (64 * 1024)

struct window {
	uint64_t off, len;
	uint8_t *buf;
};

struct dw_file {
	char *path;
	int fd;
	struct window win[S_COUNT]; /* until the report ends */
	struct dw_file *next_open; /* in the list of files with fd open */
	struct sec s[S_COUNT];
	struct arange *ar;
	size_t nar;
	uint64_t *sets; /* the unit of each set of .debug_aranges, sorted */
	size_t nsets;
	int complete;   /* does every unit have its set? -1: not known yet */
	struct cu *cus;
	size_t cus_bytes; /* what the units read keep */
	uint64_t *units; /* offsets of every unit, for DW_FORM_ref_addr */
	size_t nunits;
	bool units_read;
	struct unit *cur; /* the unit last read for names, until the report ends */
	char **strings; /* strings copied out of the file, freed with it */
	size_t nstrings, capstrings;
};

static struct dw_file *open_files;
static void drop_unit(struct dw_file *f);

static void drop_windows(struct dw_file *f)
{
	for (int s = 0; s < S_COUNT; s++) {
		free(f->win[s].buf);
		f->win[s] = (struct window){ 0 };
	}
}

static bool ensure_fd(struct dw_file *f)
{
	if (f->fd >= 0)
		return true;
	f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return false;
	f->next_open = open_files;
	open_files = f;
	return true;
}

void dw_release_files(void)
{
	for (struct dw_file *f = open_files; f; f = f->next_open) {
		drop_unit(f);
		drop_windows(f);
		close(f->fd);
		f->fd = -1;
	}
	open_files = NULL;
}

static bool sec_pread(struct dw_file *f, int s, uint64_t off, void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = pread(f->fd, (char *)buf + done, n - done,
				  (off_t)(f->s[s].off + off + done));

		if (k <= 0)
			return false;
		done += (size_t)k;
	}
	return true;
}

/* n bytes at off of section s into buf, all of them inside s. */
static bool sec_read(struct dw_file *f, int s, uint64_t off, void *buf, size_t n)
{
	struct window *w = &f->win[s];

	if (!f->s[s].size || off > f->s[s].size || n > f->s[s].size - off || !ensure_fd(f))
		return false;
	if (s == S_INFO || s == S_LINE || s == S_ARANGES || n > WINDOW / 4)
		return sec_pread(f, s, off, buf, n); /* read whole, once */
	if (off < w->off || off + n > w->off + w->len) {
		uint64_t len = f->s[s].size - off < WINDOW ? f->s[s].size - off : WINDOW;

		if (!w->buf && !(w->buf = malloc(WINDOW)))
			return sec_pread(f, s, off, buf, n);
		if (!sec_pread(f, s, off, w->buf, len)) {
			w->len = 0;
			return false;
		}
		w->off = off;
		w->len = len;
	}
	memcpy(buf, w->buf + (off - w->off), n);
	return true;
}

/* A malloc'ed copy of n bytes at off of section s, NULL if not there. */
static uint8_t *sec_load(struct dw_file *f, int s, uint64_t off, uint64_t n)
{
	uint8_t *p;

	if (n > f->s[s].size || !(p = malloc(n ? n : 1)))
		return NULL;
	if (!sec_read(f, s, off, p, n)) {
		free(p);
		return NULL;
	}
	return p;
}

static const char *keep_string(struct dw_file *f, char *s)
{
	if (f->nstrings == f->capstrings) {
		size_t cap = f->capstrings ? 2 * f->capstrings : 64;
		char **v = realloc(f->strings, cap * sizeof(*v));

		if (!v) {
			free(s);
			return NULL;
		}
		f->strings = v;
		f->capstrings = cap;
	}
	f->strings[f->nstrings++] = s;
	return s;
}

/* The NUL-terminated string at off of section s, copied; NULL if none. */
static char *sec_string(struct dw_file *f, int s, uint64_t off)
{
	size_t cap = 256, len = 0;
	char *buf = NULL;

	while (off < f->s[s].size) {
		size_t n = cap - len;
		char *nb = realloc(buf, cap), *nul;

		if (!nb)
			break;
		buf = nb;
		if (n > f->s[s].size - off)
			n = (size_t)(f->s[s].size - off);
		if (!sec_read(f, s, off, buf + len, n))
			break;
		if ((nul = memchr(buf + len, 0, n)))
			return buf;
		len += n;
		off += n;
		if (cap > (1u << 20)) /* no name is that long */
			break;
		cap *= 2;
	}
	free(buf);
	return NULL;
}

static int cmp_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return a < b ? -1 : a > b;
}

static int cmp_arange(const void *pa, const void *pb)
{
	const struct arange *a = pa, *b = pb;

	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* .debug_aranges: every set's address ranges and the unit they name. */
static bool read_aranges(struct dw_file *f)
{
	uint8_t *buf = sec_load(f, S_ARANGES, 0, f->s[S_ARANGES].size);
	struct reader r = { .p = buf, .start = buf, .end = buf + f->s[S_ARANGES].size };
	size_t cap = 0;

	if (!buf)
		return false;
	while (!r.bad && r.p < r.end) {
		const uint8_t *set = r.p, *set_end;
		uint64_t len = rd_fixed(&r, 4), cu;
		unsigned asz;

		if (len >= 0xfffffff0u || !rd_has(&r, len))
			break;
		set_end = r.p + len;
		rd_fixed(&r, 2); /* version */
		cu = rd_fixed(&r, 4);
		asz = (unsigned)rd_fixed(&r, 1);
		if (rd_fixed(&r, 1) != 0 || (asz != 4 && asz != 8)) /* segments: none on Linux */
			break;
		if (f->nsets % 256 == 0) {
			uint64_t *v = realloc(f->sets, (f->nsets + 256) * sizeof(*v));

			if (!v)
				goto fail;
			f->sets = v;
		}
		f->sets[f->nsets++] = cu;
		while ((r.p - set) % (2 * asz))
			rd_skip(&r, 1);
		while (!r.bad && r.p + 2 * asz <= set_end) {
			uint64_t lo = rd_fixed(&r, (int)asz), n = rd_fixed(&r, (int)asz);

			if (!lo && !n)
				break;
			if (f->nar == cap) {
				struct arange *v;

				cap = cap ? 2 * cap : 256;
				if (!(v = realloc(f->ar, cap * sizeof(*v))))
					goto fail;
				f->ar = v;
			}
			f->ar[f->nar++] = (struct arange){ lo, lo + n, cu };
		}
		r.p = set_end;
	}
	free(buf);
	if (r.bad || !f->nar)
		return false;
	qsort(f->ar, f->nar, sizeof(*f->ar), cmp_arange);
	qsort(f->sets, f->nsets, sizeof(*f->sets), cmp_u64);
	return true;
fail:
	free(buf);
	return false;
}

static bool read_sections(struct dw_file *f)
{
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL;
	char *names = NULL;
	bool ok = false;

	if (pread(f->fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    !eh.e_shnum || eh.e_shstrndx >= eh.e_shnum)
		return false;
	sh = malloc(eh.e_shnum * sizeof(*sh));
	if (!sh || pread(f->fd, sh, eh.e_shnum * sizeof(*sh), (off_t)eh.e_shoff) !=
			   (ssize_t)(eh.e_shnum * sizeof(*sh)))
		goto out;
	if (sh[eh.e_shstrndx].sh_size > (1u << 20) ||
	    !(names = malloc(sh[eh.e_shstrndx].sh_size + 1)) ||
	    pread(f->fd, names, sh[eh.e_shstrndx].sh_size, (off_t)sh[eh.e_shstrndx].sh_offset) !=
		    (ssize_t)sh[eh.e_shstrndx].sh_size)
		goto out;
	names[sh[eh.e_shstrndx].sh_size] = '\0';
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		if (sh[i].sh_name >= sh[eh.e_shstrndx].sh_size)
			continue;
		for (int s = 0; s < S_COUNT; s++) {
			if (strcmp(names + sh[i].sh_name, sec_names[s]))
				continue;
			/* compressed, or no bytes in the file: libbfd's business */
			if ((sh[i].sh_flags & SHF_COMPRESSED) || sh[i].sh_type == SHT_NOBITS)
				goto out;
			f->s[s] = (struct sec){ sh[i].sh_offset, sh[i].sh_size };
		}
	}
	ok = f->s[S_INFO].size && f->s[S_ABBREV].size && f->s[S_LINE].size &&
	     f->s[S_ARANGES].size;
out:
	free(sh);
	free(names);
	return ok;
}

struct dw_file *dw_open(const char *path)
{
	struct dw_file *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fd = -1;
	f->complete = -1;
	if (!(f->path = strdup(path)) || !ensure_fd(f) || !read_sections(f) || !read_aranges(f)) {
		dw_close(f);
		return NULL;
	}
	return f;
}

static void free_cu(struct cu *c)
{
	free(c->funcs);
	free(c->ranges);
	free(c->rows);
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c);
}

void dw_close(struct dw_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0) {
		struct dw_file **pp = &open_files;

		while (*pp && *pp != f)
			pp = &(*pp)->next_open;
		if (*pp)
			*pp = f->next_open;
		close(f->fd);
	}
	drop_unit(f);
	drop_windows(f);
	while (f->cus) {
		struct cu *c = f->cus;

		f->cus = c->next;
		free_cu(c);
	}
	for (size_t i = 0; i < f->nstrings; i++)
		free(f->strings[i]);
	free(f->strings);
	free(f->units);
	free(f->sets);
	free(f->ar);
	free(f->path);
	free(f);
}

/* ------------------------------------------------------------ units */

#define DW_TAG_entry_point 0x03
#define DW_TAG_compile_unit 0x11
#define DW_TAG_inlined_subroutine 0x1d
#define DW_TAG_subprogram 0x2e
#define DW_TAG_partial_unit 0x3c

#define DW_AT_stmt_list 0x10
#define DW_AT_low_pc 0x11
#define DW_AT_high_pc 0x12
#define DW_AT_name 0x03
#define DW_AT_comp_dir 0x1b
#define DW_AT_abstract_origin 0x31
#define DW_AT_specification 0x47
#define DW_AT_ranges 0x55
#define DW_AT_call_file 0x58
#define DW_AT_call_line 0x59
#define DW_AT_linkage_name 0x6e
#define DW_AT_str_offsets_base 0x72
#define DW_AT_addr_base 0x73
#define DW_AT_rnglists_base 0x74
#define DW_AT_MIPS_linkage_name 0x2007

struct abbrev_attr {
	uint64_t name, form;
	int64_t implicit;
};

struct abbrev {
	uint64_t code, tag;
	bool children;
	size_t first, n; /* in attrs */
};

/* One unit being read: its header, bytes and abbreviations. */
struct unit {
	struct dw_file *f;
	uint64_t off;     /* of the unit in .debug_info */
	uint8_t *buf;     /* the whole unit, header included */
	uint64_t len;
	unsigned version, asz;
	const uint8_t *dies;
	struct abbrev *abbrevs;
	size_t nabbrevs;
	struct abbrev_attr *attrs;
	size_t nattrs;
	uint64_t low_pc, str_offsets_base, addr_base, rnglists_base;
	bool unsupported; /* a form or an attribute this reader does not take */
};

static void unit_free(struct unit *u)
{
	free(u->buf);
	free(u->abbrevs);
	free(u->attrs);
	memset(u, 0, sizeof(*u));
}

static bool read_abbrevs(struct unit *u, uint64_t off)
{
	struct dw_file *f = u->f;
	uint64_t size = f->s[S_ABBREV].size;
	uint64_t n = size - off < 65536 ? size - off : 65536;
	uint8_t *buf;
	struct reader r;
	size_t capa = 0, capt = 0;

	if (off >= size)
		return false;
	for (;;) {
		if (!(buf = sec_load(f, S_ABBREV, off, n)))
			return false;
		r = (struct reader){ .p = buf, .start = buf, .end = buf + n };
		u->nabbrevs = u->nattrs = 0;
		for (;;) {
			struct abbrev a = { 0 };

			a.code = rd_uleb(&r);
			if (r.bad || !a.code)
				break;
			a.tag = rd_uleb(&r);
			a.children = rd_fixed(&r, 1) != 0;
			a.first = u->nattrs;
			for (;;) {
				struct abbrev_attr at = { 0 };

				at.name = rd_uleb(&r);
				at.form = rd_uleb(&r);
				if (at.form == 0x21) /* DW_FORM_implicit_const */
					at.implicit = rd_sleb(&r);
				if (r.bad || (!at.name && !at.form))
					break;
				if (u->nattrs == capt) {
					struct abbrev_attr *v;

					capt = capt ? 2 * capt : 256;
					if (!(v = realloc(u->attrs, capt * sizeof(*v))))
						goto fail;
					u->attrs = v;
				}
				u->attrs[u->nattrs++] = at;
			}
			a.n = u->nattrs - a.first;
			if (u->nabbrevs == capa) {
				struct abbrev *v;

				capa = capa ? 2 * capa : 64;
				if (!(v = realloc(u->abbrevs, capa * sizeof(*v))))
					goto fail;
				u->abbrevs = v;
			}
			u->abbrevs[u->nabbrevs++] = a;
		}
		free(buf);
		if (!r.bad)
			return true;
		if (n == size - off)
			return false;
		/* the table runs past what was read: read more */
		n = size - off < 4 * n ? size - off : 4 * n;
	}
fail:
	free(buf);
	return false;
}

static const struct abbrev *abbrev_of(const struct unit *u, uint64_t code)
{
	/* codes are usually 1, 2, 3...: try the index first */
	if (code >= 1 && code <= u->nabbrevs && u->abbrevs[code - 1].code == code)
		return &u->abbrevs[code - 1];
	for (size_t i = 0; i < u->nabbrevs; i++)
		if (u->abbrevs[i].code == code)
			return &u->abbrevs[i];
	return NULL;
}

/* Read the unit at off of .debug_info: header, bytes, abbreviations. */
static bool unit_read(struct dw_file *f, uint64_t off, struct unit *u)
{
	uint8_t hdr[12];
	uint64_t len, abbrev;
	struct reader r;

	memset(u, 0, sizeof(*u));
	u->f = f;
	u->off = off;
	if (!sec_read(f, S_INFO, off, hdr, 4))
		return false;
	len = hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint64_t)hdr[3] << 24;
	if (len >= 0xfffffff0u || len < 7)
		return false; /* DWARF 64, or nonsense */
	u->len = len + 4;
	if (!(u->buf = sec_load(f, S_INFO, off, u->len)))
		return false;
	r = (struct reader){ .p = u->buf + 4, .start = u->buf, .end = u->buf + u->len };
	u->version = (unsigned)rd_fixed(&r, 2);
	if (u->version >= 5) {
		unsigned type = (unsigned)rd_fixed(&r, 1);

		if (type != 1 && type != 3) /* DW_UT_compile, DW_UT_partial */
			goto fail;
		u->asz = (unsigned)rd_fixed(&r, 1);
		abbrev = rd_fixed(&r, 4);
	} else {
		abbrev = rd_fixed(&r, 4);
		u->asz = (unsigned)rd_fixed(&r, 1);
	}
	if (r.bad || u->version < 2 || u->version > 5 || (u->asz != 4 && u->asz != 8))
		goto fail;
	u->dies = r.p;
	if (!read_abbrevs(u, abbrev))
		goto fail;
	return true;
fail:
	unit_free(u);
	return false;
}

/* One attribute's value: a number (constants, offsets, addresses,
 * references made absolute in .debug_info) or a string. */
struct val {
	uint64_t u;
	const char *str;   /* strings in the unit's bytes */
	uint64_t strp;     /* or in a string section: */
	int strsec;        /* -1, S_STR or S_LINE_STR */
	uint64_t strx;     /* or by index (DW_FORM_strx*): */
	bool is_strx, is_addrx, is_rnglistx, is_const, is_ref;
};

static bool read_form(struct unit *u, struct reader *r, uint64_t form, int64_t implicit, struct val *v)
{
	memset(v, 0, sizeof(*v));
	v->strsec = -1;
	switch (form) {
	case 0x01: v->u = rd_fixed(r, (int)u->asz); break;                     /* addr */
	case 0x03: rd_skip(r, rd_fixed(r, 2)); break;                          /* block2 */
	case 0x04: rd_skip(r, rd_fixed(r, 4)); break;                          /* block4 */
	case 0x05: v->u = rd_fixed(r, 2); v->is_const = true; break;           /* data2 */
	case 0x06: v->u = rd_fixed(r, 4); v->is_const = true; break;           /* data4 */
	case 0x07: v->u = rd_fixed(r, 8); v->is_const = true; break;           /* data8 */
	case 0x08: v->str = rd_string(r); break;                                  /* string */
	case 0x09: case 0x18: rd_skip(r, rd_uleb(r)); break;                   /* block, exprloc */
	case 0x0a: rd_skip(r, rd_fixed(r, 1)); break;                          /* block1 */
	case 0x0b: v->u = rd_fixed(r, 1); v->is_const = true; break;           /* data1 */
	case 0x0c: v->u = rd_fixed(r, 1); break;                               /* flag */
	case 0x0d: v->u = (uint64_t)rd_sleb(r); v->is_const = true; break;     /* sdata */
	case 0x0e: v->strp = rd_fixed(r, 4); v->strsec = S_STR; break;         /* strp */
	case 0x0f: v->u = rd_uleb(r); v->is_const = true; break;               /* udata */
	case 0x10: /* ref_addr: an offset in .debug_info */
		v->u = rd_fixed(r, u->version == 2 ? (int)u->asz : 4);
		v->is_ref = true;
		break;
	case 0x11: v->u = u->off + rd_fixed(r, 1); v->is_ref = true; break;   /* ref1 */
	case 0x12: v->u = u->off + rd_fixed(r, 2); v->is_ref = true; break;   /* ref2 */
	case 0x13: v->u = u->off + rd_fixed(r, 4); v->is_ref = true; break;   /* ref4 */
	case 0x14: v->u = u->off + rd_fixed(r, 8); v->is_ref = true; break;   /* ref8 */
	case 0x15: v->u = u->off + rd_uleb(r); v->is_ref = true; break;       /* ref_udata */
	case 0x16: return read_form(u, r, rd_uleb(r), 0, v);                   /* indirect */
	case 0x17: v->u = rd_fixed(r, 4); break;                               /* sec_offset */
	case 0x19: v->u = 1; break;                                            /* flag_present */
	case 0x1a: v->strx = rd_uleb(r); v->is_strx = true; break;             /* strx */
	case 0x1b: v->u = rd_uleb(r); v->is_addrx = true; break;               /* addrx */
	case 0x1e: rd_skip(r, 16); break;                                      /* data16 */
	case 0x1f: v->strp = rd_fixed(r, 4); v->strsec = S_LINE_STR; break;    /* line_strp */
	case 0x20: rd_skip(r, 8); break;                                       /* ref_sig8 */
	case 0x21: v->u = (uint64_t)implicit; v->is_const = true; break;       /* implicit_const */
	case 0x22: v->u = rd_uleb(r); break;                                   /* loclistx */
	case 0x23: v->u = rd_uleb(r); v->is_rnglistx = true; break;            /* rnglistx */
	case 0x25: case 0x26: case 0x27: case 0x28:                            /* strx1-4 */
		v->strx = rd_fixed(r, (int)(form - 0x24));
		v->is_strx = true;
		break;
	case 0x29: case 0x2a: case 0x2b: case 0x2c:                            /* addrx1-4 */
		v->u = rd_fixed(r, (int)(form - 0x28));
		v->is_addrx = true;
		break;
	default: /* supplementary files (dwz), split DWARF, vendor forms */
		u->unsupported = true;
		r->bad = true;
		return false;
	}
	return !r->bad;
}

static uint64_t addrx(struct unit *u, uint64_t i, bool *ok)
{
	uint64_t a = 0;

	if (!sec_read(u->f, S_ADDR, u->addr_base + i * u->asz, &a, u->asz))
		*ok = false;
	return a;
}

/* A string value, copied out of the file if it lives there (kept with f). */
static const char *val_string(struct unit *u, const struct val *v)
{
	uint64_t off = v->strp;
	int sec = v->strsec;

	if (v->str)
		return v->str;
	if (v->is_strx) {
		uint32_t o;

		if (!sec_read(u->f, S_STR_OFFSETS, u->str_offsets_base + v->strx * 4, &o, 4))
			return NULL;
		off = o;
		sec = S_STR;
	}
	if (sec < 0)
		return NULL;
	return keep_string(u->f, sec_string(u->f, sec, off));
}

/* ------------------------------------------------------------ ranges */

struct cu_build {
	struct cu *c;
	size_t capf, capr;
};

static bool add_range(struct cu_build *b, uint64_t lo, uint64_t hi, int func)
{
	struct cu *c = b->c;

	if (lo >= hi)
		return true;
	if (c->nranges == b->capr) {
		struct frange *v;

		b->capr = b->capr ? 2 * b->capr : 256;
		if (!(v = realloc(c->ranges, b->capr * sizeof(*v))))
			return false;
		c->ranges = v;
	}
	c->ranges[c->nranges++] = (struct frange){ lo, hi, func };
	return true;
}

/* The ranges of a DIE's DW_AT_ranges (value v) into b, for func. */
static bool read_ranges(struct unit *u, const struct val *v, struct cu_build *b, int func)
{
	struct dw_file *f = u->f;
	uint64_t base = u->low_pc, off = v->u;
	bool ok = true;

	if (u->version < 5) {
		for (int i = 0; i < 1 << 20; i++) {
			uint64_t pair[2] = { 0, 0 };

			if (!sec_read(f, S_RANGES, off, pair, 2 * u->asz))
				return false;
			off += 2 * u->asz;
			if (u->asz == 4) {
				uint32_t w[2];

				memcpy(w, pair, 8);
				pair[0] = w[0] == 0xffffffffu ? ~(uint64_t)0 : w[0];
				pair[1] = w[1];
			}
			if (!pair[0] && !pair[1])
				return true;
			if (pair[0] == ~(uint64_t)0)
				base = pair[1];
			else if (!add_range(b, base + pair[0], base + pair[1], func))
				return false;
		}
		return false;
	}
	if (v->is_rnglistx) {
		uint32_t o;

		if (!sec_read(f, S_RNGLISTS, u->rnglists_base + v->u * 4, &o, 4))
			return false;
		off = u->rnglists_base + o;
	}
	for (int i = 0; i < 1 << 20; i++) {
		uint8_t buf[32];
		uint64_t n = f->s[S_RNGLISTS].size - off < sizeof(buf) ? f->s[S_RNGLISTS].size - off
								      : sizeof(buf);
		struct reader r = { .p = buf, .start = buf, .end = buf + n };
		uint64_t a, z;

		if (off >= f->s[S_RNGLISTS].size || !sec_read(f, S_RNGLISTS, off, buf, n))
			return false;
		switch (rd_fixed(&r, 1)) {
		case 0: /* DW_RLE_end_of_list */
			return !r.bad && ok;
		case 1: base = addrx(u, rd_uleb(&r), &ok); break;
		case 2:
			a = addrx(u, rd_uleb(&r), &ok);
			z = addrx(u, rd_uleb(&r), &ok);
			ok = ok && add_range(b, a, z, func);
			break;
		case 3:
			a = addrx(u, rd_uleb(&r), &ok);
			z = a + rd_uleb(&r);
			ok = ok && add_range(b, a, z, func);
			break;
		case 4:
			a = base + rd_uleb(&r);
			z = base + rd_uleb(&r);
			ok = ok && add_range(b, a, z, func);
			break;
		case 5: base = rd_fixed(&r, (int)u->asz); break;
		case 6:
			a = rd_fixed(&r, (int)u->asz);
			z = rd_fixed(&r, (int)u->asz);
			ok = ok && add_range(b, a, z, func);
			break;
		case 7:
			a = rd_fixed(&r, (int)u->asz);
			z = a + rd_uleb(&r);
			ok = ok && add_range(b, a, z, func);
			break;
		default:
			return false;
		}
		if (r.bad || !ok)
			return false;
		off += (uint64_t)(r.p - buf);
	}
	return false;
}

/* ------------------------------------------------------------ lines */

static char *join(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0, lc = strlen(c);
	char *s = malloc(la + lb + lc + 3), *p = s;

	if (!s)
		return NULL;
	memcpy(p, a, la);
	p += la;
	*p++ = '/';
	if (b) {
		memcpy(p, b, lb);
		p += lb;
		*p++ = '/';
	}
	memcpy(p, c, lc + 1);
	return s;
}

/*
 * A file's full name as libbfd builds it (concat_filename): an absolute
 * name as it is; else the unit's DW_AT_comp_dir, then the file's
 * directory unless it is the first one (DWARF 5's 0, the unit's own) or
 * absolute (which then replaces comp_dir), then the name.
 */
static char *file_name(const char *comp_dir, const char *dir, bool first_dir, const char *name)
{
	const char *sub = NULL, *d = NULL;

	if (name[0] == '/')
		return strdup(name);
	if (!first_dir && dir)
		sub = dir;
	if (!sub || sub[0] != '/')
		d = comp_dir;
	if (!d) {
		d = sub;
		sub = NULL;
	}
	if (!d)
		return strdup(name);
	return join(d, sub, name);
}

struct entry_format {
	uint64_t type, form;
};

/* A DWARF 5 directory or file entry: its path and directory index. */
static bool read_entry(struct unit *u, struct reader *r, const struct entry_format *fmt, unsigned n,
		       const char **path, uint64_t *dir)
{
	*path = NULL;
	*dir = 0;
	for (unsigned i = 0; i < n; i++) {
		struct val v;

		if (!read_form(u, r, fmt[i].form, 0, &v))
			return false;
		if (fmt[i].type == 1) /* DW_LNCT_path */
			*path = val_string(u, &v);
		else if (fmt[i].type == 2) /* DW_LNCT_directory_index */
			*dir = v.u;
	}
	return true;
}

static bool read_formats(struct reader *r, struct entry_format *fmt, unsigned *n)
{
	*n = (unsigned)rd_fixed(r, 1);
	if (*n > 16)
		return false;
	for (unsigned i = 0; i < *n; i++) {
		fmt[i].type = rd_uleb(r);
		fmt[i].form = rd_uleb(r);
	}
	return !r->bad;
}

static bool add_file(struct cu *c, size_t *cap, char *name)
{
	if (!name)
		return false;
	if (c->nfiles == *cap) {
		char **v;

		*cap = *cap ? 2 * *cap : 64;
		if (!(v = realloc(c->files, *cap * sizeof(*v)))) {
			free(name);
			return false;
		}
		c->files = v;
	}
	c->files[c->nfiles++] = name;
	return true;
}

static bool add_row(struct cu *c, size_t *cap, uint64_t addr, unsigned file, unsigned line, bool end)
{
	/* libbfd keeps the last of the rows at one address (binutils PR 4986) */
	if (c->nrows && c->rows[c->nrows - 1].addr == addr && !c->rows[c->nrows - 1].end && !end) {
		c->rows[c->nrows - 1].file = file;
		c->rows[c->nrows - 1].line = line;
		return true;
	}
	if (c->nrows == *cap) {
		struct row *v;

		*cap = *cap ? 2 * *cap : 1024;
		if (!(v = realloc(c->rows, *cap * sizeof(*v))))
			return false;
		c->rows = v;
	}
	c->rows[c->nrows++] = (struct row){ addr, file, line, end };
	return true;
}

/* The unit's line program at off of .debug_line: its files and rows. */
static bool read_lines(struct unit *u, struct cu *c, uint64_t off, const char *comp_dir)
{
	struct dw_file *f = u->f;
	uint8_t len4[4];
	uint64_t len;
	uint8_t *buf;
	struct reader r;
	unsigned version, min_inst, opcode_base, max_ops = 1;
	int line_base;
	unsigned line_range;
	uint8_t std_len[256];
	const char **dirs = NULL;
	size_t ndirs = 0, capd = 0, capf = 0, capr = 0;
	bool ok = false, v5;
	const uint8_t *prog;

	if (!sec_read(f, S_LINE, off, len4, 4))
		return false;
	len = len4[0] | len4[1] << 8 | len4[2] << 16 | (uint64_t)len4[3] << 24;
	if (len >= 0xfffffff0u || !(buf = sec_load(f, S_LINE, off + 4, len)))
		return false;
	r = (struct reader){ .p = buf, .start = buf, .end = buf + len };
	version = (unsigned)rd_fixed(&r, 2);
	v5 = version >= 5;
	if (version < 2 || version > 5)
		goto out;
	if (v5 && (rd_fixed(&r, 1) != u->asz || rd_fixed(&r, 1) != 0))
		goto out;
	{
		uint64_t hlen = rd_fixed(&r, 4);

		if (!rd_has(&r, hlen))
			goto out;
		prog = r.p + hlen;
	}
	min_inst = (unsigned)rd_fixed(&r, 1);
	if (version >= 4)
		max_ops = (unsigned)rd_fixed(&r, 1);
	rd_fixed(&r, 1); /* default_is_stmt: libbfd keeps every row */
	line_base = (int8_t)rd_fixed(&r, 1);
	line_range = (unsigned)rd_fixed(&r, 1);
	opcode_base = (unsigned)rd_fixed(&r, 1);
	if (r.bad || !line_range || !opcode_base || max_ops != 1)
		goto out; /* VLIW op indexes: libbfd's business */
	for (unsigned i = 1; i < opcode_base; i++)
		std_len[i] = (uint8_t)rd_fixed(&r, 1);
	if (v5) {
		struct entry_format fmt[16];
		unsigned nfmt;
		uint64_t n;

		if (!read_formats(&r, fmt, &nfmt))
			goto out;
		n = rd_uleb(&r);
		if (n > (1u << 20))
			goto out;
		dirs = calloc(n ? n : 1, sizeof(*dirs));
		if (!dirs)
			goto out;
		for (ndirs = 0; ndirs < n; ndirs++) {
			uint64_t d;

			if (!read_entry(u, &r, fmt, nfmt, &dirs[ndirs], &d))
				goto out;
		}
		if (!read_formats(&r, fmt, &nfmt))
			goto out;
		n = rd_uleb(&r);
		if (n > (1u << 20))
			goto out;
		for (uint64_t i = 0; i < n; i++) {
			const char *name;
			uint64_t d;

			if (!read_entry(u, &r, fmt, nfmt, &name, &d) || !name)
				goto out;
			if (!add_file(c, &capf, file_name(comp_dir, d < ndirs ? dirs[d] : NULL,
							  d == 0, name)))
				goto out;
		}
	} else {
		const char *s;

		while ((s = rd_string(&r)) && s[0]) {
			if (ndirs == capd) {
				const char **v;

				capd = capd ? 2 * capd : 32;
				if (!(v = realloc(dirs, capd * sizeof(*v))))
					goto out;
				dirs = v;
			}
			dirs[ndirs++] = s;
		}
		/* files are numbered from 1: index 0 is "unknown" */
		if (!add_file(c, &capf, strdup("")))
			goto out;
		while ((s = rd_string(&r)) && s[0]) {
			uint64_t d = rd_uleb(&r);

			rd_uleb(&r);
			rd_uleb(&r);
			if (!add_file(c, &capf, file_name(comp_dir, d && d <= ndirs ? dirs[d - 1] : NULL,
							  d == 0, s)))
				goto out;
		}
	}
	if (r.bad || prog > r.end)
		goto out;
	r.p = prog;
	{
		uint64_t addr = 0;
		unsigned file = 1, line = 1;

		while (!r.bad && r.p < r.end) {
			unsigned op = (unsigned)rd_fixed(&r, 1);

			if (op >= opcode_base) {
				unsigned adj = op - opcode_base;

				addr += (uint64_t)(adj / line_range) * min_inst;
				line += (unsigned)(line_base + (int)(adj % line_range));
				if (!add_row(c, &capr, addr, file, line, false))
					goto out;
				continue;
			}
			switch (op) {
			case 0: {
				uint64_t n = rd_uleb(&r);
				const uint8_t *next;
				unsigned sub;

				if (!rd_has(&r, n) || !n)
					goto out;
				next = r.p + n;
				sub = (unsigned)rd_fixed(&r, 1);
				if (sub == 1) { /* end_sequence */
					if (!add_row(c, &capr, addr, file, line, true))
						goto out;
					addr = 0;
					file = 1;
					line = 1;
				} else if (sub == 2) { /* set_address */
					addr = rd_fixed(&r, n - 1 == 4 ? 4 : 8);
				} else if (sub == 3) { /* define_file: what libbfd also reads */
					goto out;
				}
				r.p = next;
				break;
			}
			case 1: /* copy */
				if (!add_row(c, &capr, addr, file, line, false))
					goto out;
				break;
			case 2: addr += rd_uleb(&r) * min_inst; break;
			case 3: line += (unsigned)rd_sleb(&r); break;
			case 4: file = (unsigned)rd_uleb(&r); break;
			case 5: rd_uleb(&r); break;
			case 6: case 7: case 10: case 11: break;
			case 8: addr += (uint64_t)((255 - opcode_base) / line_range) * min_inst; break;
			case 9: addr += rd_fixed(&r, 2); break;
			case 12: rd_uleb(&r); break;
			default:
				for (unsigned i = 0; i < std_len[op]; i++)
					rd_uleb(&r);
			}
		}
	}
	ok = !r.bad;
out:
	free(dirs);
	free(buf);
	return ok;
}

/* ------------------------------------------------------------ the unit's functions */

#define MAX_DEPTH 256

static bool add_func(struct cu_build *b, struct func fn, int *index)
{
	struct cu *c = b->c;

	if (c->nfuncs == b->capf) {
		struct func *v;

		b->capf = b->capf ? 2 * b->capf : 256;
		if (!(v = realloc(c->funcs, b->capf * sizeof(*v))))
			return false;
		c->funcs = v;
	}
	*index = (int)c->nfuncs;
	c->funcs[c->nfuncs++] = fn;
	return true;
}

/* Read the unit at off: its functions with their ranges, and its lines. */
static struct cu *read_cu(struct dw_file *f, uint64_t off)
{
	struct unit u;
	struct cu_build b = { 0 };
	struct reader r;
	int stack[MAX_DEPTH]; /* the enclosing function at each depth, -1 */
	int depth = 0;
	bool ok = false, have_lines = false;
	uint64_t stmt_list = 0;
	const char *comp_dir = NULL;
	struct unit *kept;

	if (!(b.c = calloc(1, sizeof(*b.c))))
		return NULL;
	b.c->off = off;
	if (!unit_read(f, off, &u))
		return b.c;
	r = (struct reader){ .p = u.dies, .start = u.buf, .end = u.buf + u.len };
	while (!r.bad && r.p < r.end) {
		uint64_t die = u.off + (uint64_t)(r.p - u.buf);
		uint64_t code = rd_uleb(&r), lo = 0, hi = 0;
		const struct abbrev *a;
		struct val ranges = { 0 };
		bool has_lo = false, has_hi = false, hi_rel = false, has_ranges = false;
		bool lo_addrx = false;
		struct val dir = { 0 };
		bool is_func, is_cu;
		struct func fn = { .die = die, .parent = -1 };
		int idx = -1;

		if (!code) { /* the end of a list of children */
			if (depth > 0)
				depth--;
			continue;
		}
		if (!(a = abbrev_of(&u, code)))
			goto out;
		is_func = a->tag == DW_TAG_subprogram || a->tag == DW_TAG_inlined_subroutine ||
			  a->tag == DW_TAG_entry_point;
		is_cu = depth == 0 && (a->tag == DW_TAG_compile_unit || a->tag == DW_TAG_partial_unit);
		for (size_t i = 0; i < a->n; i++) {
			const struct abbrev_attr *at = &u.attrs[a->first + i];
			struct val v;

			if (!read_form(&u, &r, at->form, at->implicit, &v))
				goto out;
			if (!is_func && !is_cu)
				continue;
			switch (at->name) {
			case DW_AT_low_pc:
				lo = v.u;
				has_lo = true;
				lo_addrx = v.is_addrx; /* addr_base may come later */
				break;
			case DW_AT_high_pc:
				hi = v.u;
				has_hi = true;
				hi_rel = v.is_const;
				if (v.is_addrx)
					goto out; /* rare: not read here */
				break;
			case DW_AT_ranges: ranges = v; has_ranges = true; break;
			case DW_AT_call_file: fn.call_file = (unsigned)v.u; break;
			case DW_AT_call_line: fn.call_line = (unsigned)v.u; break;
			case DW_AT_stmt_list: stmt_list = v.u; have_lines = is_cu; break;
			case DW_AT_comp_dir: dir = v; break;
			case DW_AT_str_offsets_base: if (is_cu) u.str_offsets_base = v.u; break;
			case DW_AT_addr_base: if (is_cu) u.addr_base = v.u; break;
			case DW_AT_rnglists_base: if (is_cu) u.rnglists_base = v.u; break;
			}
		}
		if (r.bad)
			goto out;
		if (lo_addrx) {
			bool aok = true;

			lo = addrx(&u, lo, &aok);
			if (!aok)
				goto out;
		}
		if (has_hi && hi_rel)
			hi += lo;
		if (is_cu) {
			u.low_pc = has_lo ? lo : 0;
			/* after the unit's bases, which a string by index needs */
			comp_dir = dir.str || dir.strsec >= 0 || dir.is_strx ? val_string(&u, &dir) : NULL;
		} else if (is_func) {
			fn.inlined = a->tag == DW_TAG_inlined_subroutine;
			for (int d = depth - 1; d >= 0 && fn.inlined; d--)
				if (stack[d] >= 0) {
					fn.parent = stack[d];
					break;
				}
			if (!add_func(&b, fn, &idx))
				goto out;
			if (has_lo && has_hi && !add_range(&b, lo, hi, idx))
				goto out;
			if (has_ranges && !read_ranges(&u, &ranges, &b, idx))
				goto out;
		}
		if (a->children) {
			if (depth >= MAX_DEPTH)
				goto out;
			stack[depth++] = idx;
		}
	}
	ok = !r.bad && (!have_lines || read_lines(&u, b.c, stmt_list, comp_dir));
out:
	b.c->ok = ok && !u.unsupported;
	/* kept for the names of the frames about to be asked for */
	if (b.c->ok && (kept = malloc(sizeof(*kept)))) {
		drop_unit(f);
		*kept = u;
		f->cur = kept;
	} else {
		unit_free(&u);
	}
	return b.c;
}

/* ------------------------------------------------------------ names */

/* The offsets of every unit, from their headers alone. */
static void read_units(struct dw_file *f)
{
	if (!f->units_read) {
		size_t cap = 0;
		uint64_t off = 0;

		f->units_read = true;
		while (off + 4 < f->s[S_INFO].size) {
			uint32_t len;

			if (!sec_read(f, S_INFO, off, &len, 4) || len >= 0xfffffff0u)
				break;
			if (f->nunits == cap) {
				uint64_t *v;

				cap = cap ? 2 * cap : 256;
				if (!(v = realloc(f->units, cap * sizeof(*v))))
					break;
				f->units = v;
			}
			f->units[f->nunits++] = off;
			off += (uint64_t)len + 4;
		}
		qsort(f->units, f->nunits, sizeof(*f->units), cmp_u64);
	}
}

/* The unit that holds the DIE at off (DW_FORM_ref_addr). */
static bool unit_of_die(struct dw_file *f, uint64_t die, uint64_t *unit)
{
	size_t lo = 0, hi;

	read_units(f);
	hi = f->nunits;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->units[mid] <= die)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	*unit = f->units[lo - 1];
	return true;
}

/*
 * The name libbfd gives the function of the DIE at die: a linkage name
 * before a plain one, the DIE's own before those of its abstract origin
 * or specification, followed for at most a few steps.
 */
static bool die_name(struct dw_file *f, struct unit *u, uint64_t die, int steps,
		     const char **linkage, const char **plain)
{
	struct unit other;
	struct unit *in = u;
	struct reader r;
	const struct abbrev *a;
	uint64_t next = 0;
	bool ok = false;

	if (steps > 8)
		return true;
	if (die < u->off || die >= u->off + u->len) {
		uint64_t uo;

		if (!unit_of_die(f, die, &uo) || !unit_read(f, uo, &other))
			return false;
		in = &other;
	}
	r = (struct reader){ .p = in->buf + (die - in->off), .start = in->buf, .end = in->buf + in->len };
	if (!(a = abbrev_of(in, rd_uleb(&r))))
		goto out;
	for (size_t i = 0; i < a->n; i++) {
		const struct abbrev_attr *at = &in->attrs[a->first + i];
		struct val v;

		if (!read_form(in, &r, at->form, at->implicit, &v))
			goto out;
		if (at->name == DW_AT_linkage_name || at->name == DW_AT_MIPS_linkage_name) {
			if (!*linkage)
				*linkage = val_string(in, &v);
		} else if (at->name == DW_AT_name) {
			if (!*plain)
				*plain = val_string(in, &v);
		} else if ((at->name == DW_AT_abstract_origin || at->name == DW_AT_specification) &&
			   v.is_ref) {
			next = v.u;
		}
	}
	ok = true;
	if (next && !*linkage)
		ok = die_name(f, in, next, steps + 1, linkage, plain);
out:
	if (in != u)
		unit_free(in);
	return ok;
}

static void drop_unit(struct dw_file *f)
{
	if (f->cur) {
		unit_free(f->cur);
		free(f->cur);
		f->cur = NULL;
	}
}

static bool func_name(struct dw_file *f, struct cu *c, struct func *fn)
{
	const char *linkage = NULL, *plain = NULL;

	if (fn->named)
		return true;
	/* the unit's bytes are kept for the names of its other frames */
	if (!f->cur || f->cur->off != c->off) {
		drop_unit(f);
		if (!(f->cur = malloc(sizeof(*f->cur))))
			return false;
		if (!unit_read(f, c->off, f->cur)) {
			free(f->cur);
			f->cur = NULL;
			return false;
		}
	}
	if (!die_name(f, f->cur, fn->die, 0, &linkage, &plain) || f->cur->unsupported)
		return false;
	fn->name = linkage ? linkage : plain;
	fn->named = true;
	return true;
}

/* ------------------------------------------------------------ look-ups */

/*
 * Does every unit have its set in .debug_aranges?  Then an address that no
 * set claims has no lines (start-up code, PLT), and libbfd, which would
 * parse every unit to find that out, is not asked.
 */
static bool aranges_complete(struct dw_file *f)
{
	if (f->complete < 0) {
		size_t j = 0;

		read_units(f);
		f->complete = f->nunits > 0;
		for (size_t i = 0; i < f->nunits && f->complete; i++) {
			while (j < f->nsets && f->sets[j] < f->units[i])
				j++;
			f->complete = j < f->nsets && f->sets[j] == f->units[i];
		}
	}
	return f->complete;
}

/* The units read are kept up to this many bytes, then dropped all. */
#ifndef CUS_MAX
#define CUS_MAX ((size_t)64 << 20)
#endif

static struct cu *cu_at(struct dw_file *f, uint64_t vma)
{
	size_t lo = 0, hi = f->nar;
	uint64_t off;
	struct cu *c;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->ar[mid].lo <= vma)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || vma >= f->ar[lo - 1].hi)
		return NULL;
	off = f->ar[lo - 1].cu;
	for (c = f->cus; c; c = c->next)
		if (c->off == off)
			return c;
	/* a long-running program's reports may pass through ever more units */
	if (f->cus_bytes > CUS_MAX) {
		while (f->cus) {
			c = f->cus;
			f->cus = c->next;
			free_cu(c);
		}
		f->cus_bytes = 0;
	}
	c = read_cu(f, off);
	if (c) {
		f->cus_bytes += sizeof(*c) + c->nfuncs * sizeof(*c->funcs) +
				c->nranges * sizeof(*c->ranges) + c->nrows * sizeof(*c->rows) +
				c->nfiles * 64;
		c->next = f->cus;
		f->cus = c;
	}
	return c;
}

static const char *file_of(struct cu *c, unsigned i)
{
	return i < c->nfiles && c->files[i][0] ? c->files[i] : NULL;
}

int dw_lines(struct dw_file *f, uint64_t vma, struct dbg_line *out, int max)
{
	struct cu *c = cu_at(f, vma);
	const struct row *best = NULL;
	int fn = -1, n = 0;
	uint64_t fit = ~(uint64_t)0;

	if (max < 1)
		return 0;
	if (!c)
		return aranges_complete(f) ? 0 : -1;
	if (!c->ok)
		return -1;
	/* the row of vma: the last at or before it, in a sequence that goes past it */
	for (size_t i = 0; i + 1 < c->nrows && !best; i++)
		if (!c->rows[i].end && c->rows[i].addr <= vma && vma < c->rows[i + 1].addr)
			best = &c->rows[i];
	/* the innermost function: libbfd's best fit, the smallest range, the later DIE */
	for (size_t i = 0; i < c->nranges; i++) {
		const struct frange *g = &c->ranges[i];

		if (vma >= g->lo && vma < g->hi &&
		    (g->hi - g->lo < fit || (g->hi - g->lo == fit && g->func > fn))) {
			fit = g->hi - g->lo;
			fn = g->func;
		}
	}
	if (!best && fn < 0)
		return 0;
	if (fn >= 0 && !func_name(f, c, &c->funcs[fn]))
		return -1;
	out[n++] = (struct dbg_line){ fn >= 0 ? c->funcs[fn].name : NULL,
				      best ? file_of(c, best->file) : NULL, best ? best->line : 0 };
	/* each inlined call, then the function it was inlined into */
	while (fn >= 0 && n < max && c->funcs[fn].inlined && c->funcs[fn].parent >= 0) {
		struct func *g = &c->funcs[fn];

		if (!func_name(f, c, &c->funcs[g->parent]))
			return -1;
		out[n++] = (struct dbg_line){ c->funcs[g->parent].name, file_of(c, g->call_file),
					      g->call_line };
		fn = g->parent;
	}
	return n;
}
