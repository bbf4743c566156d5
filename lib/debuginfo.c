// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * debuginfo.c - an object file's function symbols (.symtab) and its
 * source lines and inlined calls (DWARF: a unit at a time by dwarf.c, by
 * libbfd where dwarf.c cannot tell), read
 * from the file itself or from its separate debug file: by build-id
 * (DIR/.build-id/xx/yyyy.debug) or by .gnu_debuglink (beside the file, in
 * its .debug/, or under DIR).  A file whose build-id differs from the
 * loaded copy's is refused, so a replaced library never lends its names;
 * one is read only while there is address space to read it, for libbfd
 * does not survive every allocation that fails.
 *
 * libbfd is dlopen'ed (RTLD_LOCAL) by dbg_load() when a report first needs
 * it, and its functions are called through a table: its symbols never mix
 * with the program's.  All of it runs in the report path only (symbols.c
 * says when loading is still safe); libbfd's allocations are the
 * tracer's.  Nothing here is thread-safe: the caller serializes
 * (report_lock).
 */
#define _GNU_SOURCE
#define HT_WITH_BFD
#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat.h"
#include "attach.h"
#include "bfdfind.h"
#include "debuginfo.h"
#include "dwarf.h"
#include "utils.h"

static struct {
	unsigned int (*init)(void);
	bfd *(*openr)(const char *path, const char *target);
	bool (*check_format)(bfd *abfd, bfd_format format);
	bool (*close)(bfd *abfd);
	char *(*follow_build_id)(bfd *abfd, const char *dir);
	char *(*follow_debuglink)(bfd *abfd, const char *dir);
	bool (*get_section_contents)(bfd *abfd, asection *s, void *buf, file_ptr off,
				     bfd_size_type n);
	bool (*cache_close_all)(void);
	bfd_error_handler_type (*set_error_handler)(bfd_error_handler_type h);
	char *(*demangle)(bfd *abfd, const char *name, int options);
} B;
static bool ready;

struct fsym {
	uint64_t start, end; /* end: the end of its section, at most */
	const char *name;
	int rank;            /* among symbols at one address, lower wins */
	uint32_t stroff;     /* read from the ELF file: the name's offset in .strtab */
};

struct dbg_obj {
	bfd *file, *debug;
	bfd *dwarf;           /* file or debug: the one with DWARF, or NULL */
	uint64_t dwarf_size;  /* its size until libbfd has read its lines, then 0 */
	struct dw_file *dw;   /* the DWARF read a unit at a time (dwarf.c), or NULL */
	bool dw_tried;
	asymbol **vec[2];     /* symbol vectors owned: the file's, the debug file's */
	struct fsym *funcs;
	size_t nfuncs;
	char *elf_path;       /* funcs read from this file's .symtab, names when asked */
	uint64_t strtab_off, strtab_size;
};

/* libbfd would print its complaints about odd files on our stderr. */
static void quiet(const char *fmt, va_list ap)
{
	(void)fmt;
	(void)ap;
}

#define BFD_FN(field, name) { (void **)&B.field, name }

bool dbg_load(void)
{
	static bool unusable; /* loaded, but a function is missing: for good */
	static const struct {
		void **slot;
		const char *name;
	} fns[] = {
		BFD_FN(init, "bfd_init"),
		BFD_FN(openr, "bfd_openr"),
		BFD_FN(check_format, "bfd_check_format"),
		BFD_FN(close, "bfd_close"),
		BFD_FN(follow_build_id, "bfd_follow_build_id_debuglink"),
		BFD_FN(follow_debuglink, "bfd_follow_gnu_debuglink"),
		BFD_FN(get_section_contents, "bfd_get_section_contents"),
		BFD_FN(cache_close_all, "bfd_cache_close_all"),
		BFD_FN(set_error_handler, "bfd_set_error_handler"),
		BFD_FN(demangle, "bfd_demangle"),
	};
	char buf[PATH_MAX];
	const char *path;
	void *h;

	if (ready || unusable)
		return ready;
	path = ht_find_libbfd(buf, sizeof(buf));
	if (!path) {
		unusable = true;
		ht_warn("no libbfd found (binutils' libbfd-*.so): reports name functions from "
			"the dynamic symbols only, without file:line, C++ names mangled");
		return false;
	}
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return false; /* maybe not for good: no memory, a sandbox */
	attach_loaded();
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		if (!(*fns[i].slot = dlsym(h, fns[i].name))) {
			unusable = true;
			return false;
		}
	}
	B.init();
	B.set_error_handler(quiet);
	ready = true;
	return true;
}

bool dbg_available(void)
{
	return ready;
}

/*
 * libiberty demangles names of up to 1,024 characters and leaves longer
 * ones alone, which bounds the stack its arrays and recursion take; the
 * reporter thread's stack is sized to that bound (reporter.c), so it is
 * kept here too, whatever libbfd is loaded.
 */
#define DEMANGLE_MAX 1024

char *dbg_demangle(const char *name)
{
	if (!ready || name[0] != '_' || name[1] != 'Z' ||
	    strnlen(name, DEMANGLE_MAX + 1) > DEMANGLE_MAX)
		return NULL;
	return B.demangle(NULL, name, DMGL_PARAMS | DMGL_ANSI);
}

void dbg_release_files(void)
{
	dw_release_files();
	if (ready)
		B.cache_close_all();
}

/* ------------------------------------------------------------ room */

/*
 * libbfd 2.40 does not survive every allocation that fails: with the
 * address space nearly used up (`ulimit -v`), bfd_check_format() crashes
 * freeing a table it could not allocate, and the program with it.  So
 * libbfd reads a file only while the address space to do so is there:
 * twice the file's size (its tables, and DWARF sections read whole) and
 * 1 MiB more, probed with a mapping that takes no memory, when it opens
 * the file and before its first look-up of a line.  A file that cannot
 * have it is named as the loader names it.  What the program maps between
 * the probe and the read, and later look-ups, are not covered.
 */
#define ROOM_SLACK ((uint64_t)1 << 20)

static bool room(uint64_t bytes)
{
	size_t len;
	void *p;

	if (bytes > SIZE_MAX - ROOM_SLACK)
		return false;
	len = (size_t)(bytes + ROOM_SLACK);
	p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return false;
	munmap(p, len);
	return true;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

/* ------------------------------------------------------------ files */

static asection *section_named(bfd *abfd, const char *name)
{
	for (asection *s = abfd->sections; s; s = s->next)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

static asection *section_at(bfd *abfd, uint64_t vma)
{
	for (asection *s = abfd->sections; s; s = s->next) {
		uint64_t lo = ht_section_vma(abfd, s);

		if ((ht_section_flags(abfd, s) & SEC_ALLOC) && vma >= lo &&
		    vma - lo < ht_section_size(abfd, s))
			return s;
	}
	return NULL;
}

static bfd *open_object(const char *path, uint64_t *size)
{
	bfd *abfd;

	*size = file_size(path);
	if (!room(2 * *size) || !(abfd = B.openr(path, NULL)))
		return NULL;
	if (!B.check_format(abfd, bfd_object)) {
		B.close(abfd);
		return NULL;
	}
	return abfd;
}

/* Does the file's NT_GNU_BUILD_ID note hold id? */
static bool same_build_id(bfd *abfd, const unsigned char *id, size_t len)
{
	asection *s = section_named(abfd, ".note.gnu.build-id");
	unsigned char buf[256];
	bfd_size_type size;
	uint32_t namesz, descsz;

	if (!s)
		return false;
	size = ht_section_size(abfd, s);
	if (size < 16 || size > sizeof(buf) || !B.get_section_contents(abfd, s, buf, 0, size))
		return false;
	memcpy(&namesz, buf, 4);
	memcpy(&descsz, buf + 4, 4);
	namesz = (namesz + 3) & ~3u;
	return 12 + (uint64_t)namesz + descsz <= size && descsz == len &&
	       !memcmp(buf + 12 + namesz, id, len);
}

static bool has_dwarf(bfd *abfd)
{
	asection *s = section_named(abfd, ".debug_info");

	return s && ht_section_size(abfd, s) > 0;
}

/* The separate debug file of abfd, through its build-id or debuglink. */
static bfd *open_debug_file(bfd *abfd, const char *dir, uint64_t *size)
{
	char *path;
	bfd *dbg = NULL;

	if (!room(0)) /* both check the format of the files they find */
		return NULL;
	path = B.follow_build_id(abfd, dir);
	if (!path)
		path = B.follow_debuglink(abfd, dir);
	if (path) {
		dbg = open_object(path, size);
		free(path);
	}
	if (dbg && !has_dwarf(dbg)) {
		B.close(dbg);
		dbg = NULL;
	}
	return dbg;
}

/* ------------------------------------------------------------ symbols */

/* The full symbol table (.symtab) of abfd, NULL if it has none. */
static asymbol **read_symbols(bfd *abfd, long *n)
{
	long cap = bfd_get_symtab_upper_bound(abfd);
	asymbol **v;

	*n = 0;
	if (!(bfd_get_file_flags(abfd) & HAS_SYMS) || cap <= 0)
		return NULL;
	v = malloc((size_t)cap);
	if (!v)
		return NULL;
	*n = bfd_canonicalize_symtab(abfd, v);
	if (*n < 0)
		*n = 0;
	return v;
}

/* Among aliases, the name a reader expects: exported, then plain, then short. */
static int alias_rank(const asymbol *s)
{
	return (s->flags & BSF_GLOBAL ? 0 : 4) + (s->name[0] == '_' ? 2 : 0);
}

static int fsym_cmp(const void *pa, const void *pb)
{
	const struct fsym *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank - b->rank;
	return strlen(a->name) < strlen(b->name) ? -1 : strlen(a->name) > strlen(b->name);
}

/* Keep the function symbols of v, sorted; true if there was one. */
static bool take_functions(struct dbg_obj *o, bfd *abfd, asymbol **v, long n)
{
	size_t k = 0;

	free(o->funcs);
	o->funcs = malloc(sizeof(*o->funcs) * (size_t)(n ? n : 1));
	o->nfuncs = 0;
	if (!o->funcs)
		return false;
	for (long i = 0; i < n; i++) {
		const asymbol *s = v[i];

		if (!(s->flags & BSF_FUNCTION) || !s->section || !s->name || !s->name[0] ||
		    !(ht_section_flags(abfd, s->section) & SEC_ALLOC))
			continue;
		o->funcs[k++] = (struct fsym){
			.start = ht_section_vma(abfd, s->section) + s->value,
			.end = ht_section_vma(abfd, s->section) +
			       ht_section_size(abfd, s->section),
			.name = s->name,
			.rank = alias_rank(s),
		};
	}
	qsort(o->funcs, k, sizeof(*o->funcs), fsym_cmp);
	o->nfuncs = k;
	return k > 0;
}

/*
 * The function symbols of an ELF file's .symtab, read without libbfd:
 * libbfd reads the whole of .symtab and .strtab and makes a symbol of
 * each entry (node, 110,000 symbols and 7.5 MB of names: 100 ms), where a
 * report needs the addresses of the functions, and the names of the few
 * it prints.  Here .symtab is read in pieces and only functions are kept,
 * sorted by address; a name is read from .strtab when a frame needs it.
 * What libbfd's take_functions() keeps: STT_FUNC and STT_GNU_IFUNC
 * symbols with a name, in a section that is allocated; ending, at most,
 * where their section ends.  False (libbfd then) if path is not a
 * 64-bit little-endian ELF file with a .symtab.
 */
static bool pread_all(int fd, void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t k = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));

		if (k <= 0)
			return false;
		done += (size_t)k;
	}
	return true;
}

static int fsym_addr_cmp(const void *pa, const void *pb)
{
	const struct fsym *a = pa, *b = pb;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->stroff < b->stroff ? -1 : a->stroff > b->stroff;
}

static bool elf_functions(struct dbg_obj *o, const char *path)
{
	enum { CHUNK = 4096 };
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL, *symtab = NULL;
	Elf64_Sym *chunk = NULL;
	size_t cap = 0, k = 0;
	uint64_t n;
	bool ok = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (!pread_all(fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_shentsize != sizeof(Elf64_Shdr) || !eh.e_shnum ||
	    !(sh = malloc(eh.e_shnum * sizeof(*sh))) ||
	    !pread_all(fd, sh, eh.e_shnum * sizeof(*sh), eh.e_shoff))
		goto out;
	for (unsigned i = 0; i < eh.e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB)
			symtab = &sh[i];
	if (!symtab || symtab->sh_entsize != sizeof(Elf64_Sym) || symtab->sh_link >= eh.e_shnum ||
	    sh[symtab->sh_link].sh_type != SHT_STRTAB || !(chunk = malloc(CHUNK * sizeof(*chunk))))
		goto out;
	n = symtab->sh_size / sizeof(Elf64_Sym);
	for (uint64_t first = 0; first < n; first += CHUNK) {
		size_t m = n - first < CHUNK ? (size_t)(n - first) : CHUNK;

		if (!pread_all(fd, chunk, m * sizeof(*chunk),
			       symtab->sh_offset + first * sizeof(*chunk)))
			goto out;
		for (size_t i = 0; i < m; i++) {
			const Elf64_Sym *y = &chunk[i];
			unsigned type = ELF64_ST_TYPE(y->st_info);
			const Elf64_Shdr *in;

			if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !y->st_name ||
			    y->st_shndx == SHN_UNDEF || y->st_shndx >= eh.e_shnum ||
			    y->st_shndx >= SHN_LORESERVE || !(sh[y->st_shndx].sh_flags & SHF_ALLOC))
				continue;
			in = &sh[y->st_shndx];
			if (k == cap) {
				struct fsym *v;

				cap = cap ? 2 * cap : 1024;
				if (!(v = realloc(o->funcs, cap * sizeof(*v))))
					goto out;
				o->funcs = v;
			}
			o->funcs[k++] = (struct fsym){
				.start = y->st_value,
				.end = in->sh_addr + in->sh_size,
				.rank = ELF64_ST_BIND(y->st_info) == STB_GLOBAL ? 0 : 4,
				.stroff = y->st_name,
			};
		}
	}
	if (!k)
		goto out;
	qsort(o->funcs, k, sizeof(*o->funcs), fsym_addr_cmp);
	o->nfuncs = k;
	o->strtab_off = sh[symtab->sh_link].sh_offset;
	o->strtab_size = sh[symtab->sh_link].sh_size;
	ok = (o->elf_path = strdup(path)) != NULL;
out:
	if (!ok) {
		free(o->funcs);
		o->funcs = NULL;
		o->nfuncs = 0;
	}
	free(chunk);
	free(sh);
	close(fd);
	return ok;
}

/* The name of f, read from .strtab the first time; NULL if unreadable. */
static const char *elf_name(struct dbg_obj *o, struct fsym *f)
{
	char buf[4096];
	size_t len = 0;
	char *name = NULL;
	int fd;

	if (f->name || f->stroff >= o->strtab_size)
		return f->name;
	if ((fd = open(o->elf_path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	for (uint64_t off = f->stroff; off < o->strtab_size && len < (1u << 20);) {
		size_t n = o->strtab_size - off < sizeof(buf) ? (size_t)(o->strtab_size - off)
							   : sizeof(buf);
		const char *nul;
		char *v;

		if (!pread_all(fd, buf, n, o->strtab_off + off))
			break;
		nul = memchr(buf, 0, n);
		if (!(v = realloc(name, len + (nul ? (size_t)(nul - buf) : n) + 1)))
			break;
		name = v;
		memcpy(name + len, buf, nul ? (size_t)(nul - buf) : n);
		len += nul ? (size_t)(nul - buf) : n;
		if (nul) {
			name[len] = '\0';
			f->name = name;
			/* an alias's rank: exported, then plain, then short */
			f->rank += name[0] == '_' ? 2 : 0;
			close(fd);
			return name;
		}
		off += n;
	}
	free(name);
	close(fd);
	return NULL;
}

/*
 * .symtab of the file, else of its debug file.  Not the dynamic symbols:
 * libbfd gives no sizes, and in a stripped file the nearest exported
 * symbol before a static function is another function; the loader's
 * look-up (dladdr), which checks sizes, names exported ones instead.
 */
static void load_symbols(struct dbg_obj *o)
{
	long n;

	if (elf_functions(o, bfd_get_filename(o->file)) ||
	    (o->debug && elf_functions(o, bfd_get_filename(o->debug))))
		return;
	o->vec[0] = read_symbols(o->file, &n);
	if (take_functions(o, o->file, o->vec[0], n))
		return;
	if (o->debug) {
		o->vec[1] = read_symbols(o->debug, &n);
		take_functions(o, o->debug, o->vec[1], n);
	}
}

bool dbg_symbol(struct dbg_obj *o, uint64_t vma, const char **name, uint64_t *start)
{
	size_t lo = 0, hi = o->nfuncs;

	/* the last symbol starting at or before vma; the first of its aliases */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->funcs[mid].start <= vma)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	if (o->elf_path) {
		/* names read now: the alias a reader expects among those at start */
		size_t best = lo - 1;

		for (size_t i = lo; i-- > 0 && o->funcs[i].start == o->funcs[lo - 1].start;) {
			if (!elf_name(o, &o->funcs[i]))
				continue;
			if (!o->funcs[best].name || o->funcs[i].rank < o->funcs[best].rank ||
			    (o->funcs[i].rank == o->funcs[best].rank &&
			     strlen(o->funcs[i].name) <= strlen(o->funcs[best].name)))
				best = i;
		}
		lo = best + 1;
		if (!o->funcs[best].name)
			return false;
	}
	while (!o->elf_path && lo > 1 && o->funcs[lo - 2].start == o->funcs[lo - 1].start)
		lo--;
	if (vma >= o->funcs[lo - 1].end)
		return false;
	*name = o->funcs[lo - 1].name;
	*start = o->funcs[lo - 1].start;
	return true;
}

/* ------------------------------------------------------------ lines */

int dbg_lines(struct dbg_obj *o, uint64_t vma, struct dbg_line *out, int max)
{
	const char *file = NULL, *func = NULL;
	unsigned int line = 0;
	asection *s;
	int n = 0;

	if (!o->dwarf || max < 1 || !(s = section_at(o->dwarf, vma)))
		return 0;
	/* the unit of vma alone; libbfd (which reads every unit) when that cannot tell */
	if (!o->dw_tried) {
		o->dw_tried = true;
		o->dw = dw_open(bfd_get_filename(o->dwarf));
	}
	if (o->dw && (n = dw_lines(o->dw, vma, out, max)) >= 0)
		return n;
	if (o->dwarf_size && !room(2 * o->dwarf_size))
		return 0;
	/*
	 * No symbols: given them, libbfd names a function without a linkage
	 * name after the symbol the address is in, which for a call inlined
	 * there is its caller.  The caller of dbg_lines() has dbg_symbol().
	 */
	if (!bfd_find_nearest_line(o->dwarf, s, NULL, vma - ht_section_vma(o->dwarf, s), &file,
				   &func, &line))
		return 0;
	o->dwarf_size = 0;
	out[n++] = (struct dbg_line){ func, file, line };
	while (n < max && bfd_find_inliner_info(o->dwarf, &file, &func, &line))
		out[n++] = (struct dbg_line){ func, file, line };
	return n;
}

/* ------------------------------------------------------------ objects */

struct dbg_obj *dbg_open(const char *path, const unsigned char *build_id, size_t build_id_len,
			 const char *debug_dir)
{
	struct dbg_obj *o;
	uint64_t size;

	if (!ready)
		return NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->file = open_object(path, &size);
	if (!o->file || (build_id_len && !same_build_id(o->file, build_id, build_id_len))) {
		dbg_close(o);
		return NULL;
	}
	if (has_dwarf(o->file))
		o->dwarf = o->file;
	else if ((o->debug = open_debug_file(o->file, debug_dir, &size)))
		o->dwarf = o->debug;
	o->dwarf_size = o->dwarf ? size : 0;
	load_symbols(o);
	return o;
}

void dbg_close(struct dbg_obj *o)
{
	if (!o)
		return;
	dw_close(o->dw);
	for (int i = 0; i < 2; i++)
		free(o->vec[i]);
	for (size_t i = 0; o->elf_path && i < o->nfuncs; i++)
		free((char *)o->funcs[i].name);
	free(o->elf_path);
	free(o->funcs);
	if (o->debug)
		B.close(o->debug);
	if (o->file)
		B.close(o->file);
	free(o);
}
