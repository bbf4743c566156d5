// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * symbols.c - names for the addresses of a backtrace: the object and its
 * offset from the dynamic loader; the function from the object's full
 * symbol table, and source file, line and inlined calls from its debug
 * information (debuginfo.c, libbfd), else the function from the loader's
 * exported symbols (dladdr); C++ names demangled and, when too long,
 * shortened with visible "..." markers.
 *
 * Results are cached per address and objects stay open between reports, so
 * a second dump costs little; both caches are bounded and are dropped when
 * the program unloads an object (its addresses may be reused).  An object
 * whose file is gone, or is no longer the loaded one (a different
 * build-id), falls back to the loader's names: never a wrong name.
 *
 * libbfd (debuginfo.c) is loaded by the first report, so that it takes
 * none of the program's address space before; sym_fini(), at exit, is the
 * last moment.
 *
 * Apart from sym_init() (library start-up), report path only, under the
 * report lock: this file may allocate (the caller is busy, so that memory
 * is the tracer's and goes untraced).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "cxxname.h"
#include "debuginfo.h"
#include "symbols.h"
#include "utils.h"

/* Bounds of the caches: addresses resolved, object files open. */
#define SYM_CACHE_MAX (1u << 16)
#define SYM_OBJ_MAX 64

/* ------------------------------------------------------------ runtime */

/* Code ranges whose allocations belong to the runtime (see symbols.h). */
static const char *const runtime_funcs[] = { "_dl_allocate_tls" };
static struct {
	uintptr_t lo, hi;
} runtime[sizeof(runtime_funcs) / sizeof(runtime_funcs[0])];

static void find_runtime_ranges(void)
{
	for (size_t i = 0; i < sizeof(runtime_funcs) / sizeof(runtime_funcs[0]); i++) {
		void *p = dlsym(RTLD_DEFAULT, runtime_funcs[i]);
		const ElfW(Sym) *sym = NULL;
		Dl_info info;

		if (p && dladdr1(p, &info, (void **)&sym, RTLD_DL_SYMENT) && sym) {
			runtime[i].lo = (uintptr_t)p;
			runtime[i].hi = (uintptr_t)p + sym->st_size;
		}
	}
}

bool sym_in_runtime(const void *addr)
{
	for (size_t i = 0; i < sizeof(runtime) / sizeof(runtime[0]); i++)
		if ((uintptr_t)addr > runtime[i].lo && (uintptr_t)addr <= runtime[i].hi)
			return true;
	return false;
}

void sym_init(void)
{
	find_runtime_ranges();
}

/* ------------------------------------------------------------ names */

/*
 * A name that does not fit in cap loses its template arguments, then its
 * parameters (each group becomes "<...>" or "(...)"), and only then its
 * end, marked "...": readable, and never cut silently.
 */
static void put_name(char *dst, size_t cap, const char *src)
{
	static char a[4 * SYM_NAME_MAX], b[4 * SYM_NAME_MAX];
	size_t len = strlen(src);

	if (len < cap) {
		memcpy(dst, src, len + 1);
		return;
	}
	cxx_collapse(a, sizeof(a), src, '<');
	if (strlen(a) >= cap) {
		cxx_collapse(b, sizeof(b), a, '(');
		memcpy(a, b, sizeof(a));
	}
	len = strlen(a);
	if (len < cap) {
		memcpy(dst, a, len + 1);
		return;
	}
	memcpy(dst, a, cap - 4);
	memcpy(dst + cap - 4, "...", 4);
}

/* A symbol's name for the reader: demangled, without a version suffix
 * (libbfd names dynamic symbols "name@@VERSION"). */
static void put_function(char *dst, size_t cap, const char *raw)
{
	static char bare[4 * SYM_NAME_MAX];
	const char *at = strchr(raw, '@');
	char *d;

	if (at && at != raw) {
		snprintf(bare, sizeof(bare), "%.*s", (int)(at - raw), raw);
		raw = bare;
	}
	d = dbg_demangle(raw);
	put_name(dst, cap, d ? d : raw);
	free(d);
}

/* ------------------------------------------------------------ objects */

struct object {
	const struct link_map *map;
	uintptr_t base;
	char *path;
	struct dbg_obj *dbg; /* NULL: no file to read, use the loader's names */
};

static struct object objects[SYM_OBJ_MAX];
static int nobjects;

static void drop_objects(void)
{
	for (int i = 0; i < nobjects; i++) {
		dbg_close(objects[i].dbg);
		free(objects[i].path);
	}
	nobjects = 0;
}

struct build_id_query {
	uintptr_t base;
	const char *name;
	unsigned char id[64];
	size_t len;
};

/* The NT_GNU_BUILD_ID note of the loaded object, from its PT_NOTE segments. */
static int find_build_id(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct build_id_query *q = arg;

	(void)size;
	if (info->dlpi_addr != q->base || strcmp(info->dlpi_name ? info->dlpi_name : "", q->name))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;

		if (ph->p_type != PT_NOTE)
			continue;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
			const char *name = p + sizeof(*n);
			const char *desc = name + ((n->n_namesz + 3) & ~3u);

			if (desc + n->n_descsz > end)
				break;
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(name, "GNU", 4) &&
			    n->n_descsz <= sizeof(q->id)) {
				memcpy(q->id, desc, n->n_descsz);
				q->len = n->n_descsz;
				return 1;
			}
			p = desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return 1;
}

static void exe_path(char *dst, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", dst, cap - 1);

	dst[n > 0 ? n : 0] = '\0';
}

static struct object *object_of(const struct link_map *map)
{
	static char path[SYM_PATH_MAX];
	struct build_id_query q = { .base = map->l_addr, .name = map->l_name ? map->l_name : "" };
	struct object *o;

	for (int i = 0; i < nobjects; i++)
		if (objects[i].map == map && objects[i].base == map->l_addr)
			return &objects[i];
	if (nobjects == SYM_OBJ_MAX)
		drop_objects(); /* addresses already resolved keep their names */
	if (map->l_name && map->l_name[0])
		snprintf(path, sizeof(path), "%s", map->l_name);
	else
		exe_path(path, sizeof(path));
	dl_iterate_phdr(find_build_id, &q);
	o = &objects[nobjects];
	*o = (struct object){ .map = map, .base = map->l_addr, .path = strdup(path) };
	if (!o->path)
		return NULL;
	nobjects++;
	if (path[0] && strncmp(path, "linux-vdso", 10))
		o->dbg = dbg_open(path, q.id, q.len, ht_cfg.debug_dir);
	return o;
}

/* ------------------------------------------------------------ resolving */

/* What one address resolves to, before it is stored. */
static struct {
	char obj[SYM_PATH_MAX];
	char func[DBG_MAX_INLINE][SYM_NAME_MAX];
	char file[DBG_MAX_INLINE][SYM_PATH_MAX];
} scratch;

/* Function names and lines of o at vma, innermost first, into s->f. */
static void fill_from_file(struct sym *s, struct object *o, uint64_t vma, uint64_t off,
			   bool lines_too)
{
	struct dbg_line lines[DBG_MAX_INLINE];
	const char *name;
	uint64_t start;
	int n = lines_too ? dbg_lines(o->dbg, vma, lines, DBG_MAX_INLINE) : 0;
	int last;

	s->n = n > 0 ? n : 1;
	last = s->n - 1;
	for (int i = 0; i < n; i++) {
		if (lines[i].func)
			put_function(scratch.func[i], SYM_NAME_MAX, lines[i].func);
		/* a file without a line (from a FILE symbol) says nothing useful */
		if (lines[i].file && lines[i].line) {
			put_name(scratch.file[i], SYM_PATH_MAX, lines[i].file);
			s->f[i].line = lines[i].line;
		}
		s->f[i].inlined = i < last;
	}
	/* the outermost frame is the function the address is in: its symbol */
	if (dbg_symbol(o->dbg, vma, &name, &start)) {
		put_function(scratch.func[last], SYM_NAME_MAX, name);
		s->f[last].func_off = off - start;
		s->f[last].has_off = true;
	}
}

static void resolve(void *addr, bool ret, struct sym *s)
{
	/* a return address follows its call: the call's line is one byte back */
	void *at = ret ? (char *)addr - 1 : addr;
	struct link_map *map = NULL;
	struct object *o = NULL;
	Dl_info info;

	/* empty strings, not a clear of the whole 78 KB for every address */
	scratch.obj[0] = '\0';
	for (int i = 0; i < DBG_MAX_INLINE; i++)
		scratch.func[i][0] = scratch.file[i][0] = '\0';
	memset(s, 0, sizeof(*s));
	s->n = 1;
	if (!dladdr1(at, &info, (void **)&map, RTLD_DL_LINKMAP) || !map)
		return;
	s->obj_off = (uintptr_t)addr - map->l_addr;
	o = object_of(map);
	if (o)
		snprintf(scratch.obj, sizeof(scratch.obj), "%s", o->path);
	if (o && o->dbg)
		fill_from_file(s, o, (uintptr_t)at - map->l_addr, s->obj_off, ret);
	/* no symbol from the file: the loader knows the exported ones */
	if (!s->f[s->n - 1].has_off && info.dli_sname && info.dli_saddr) {
		put_function(scratch.func[s->n - 1], SYM_NAME_MAX, info.dli_sname);
		s->f[s->n - 1].func_off = (uintptr_t)addr - (uintptr_t)info.dli_saddr;
		s->f[s->n - 1].has_off = true;
	}
}

/* ------------------------------------------------------------ the cache */

struct entry {
	uintptr_t addr;
	bool ret; /* a return address: resolved one byte back */
	struct sym sym;
	char strings[];
};

static struct {
	struct entry **slot;
	uint32_t mask, used;
	unsigned long long adds, subs; /* the loader's counts when filled */
} cache;

static void drop_cache(void)
{
	for (uint32_t i = 0; cache.slot && i <= cache.mask; i++)
		free(cache.slot[i]);
	free(cache.slot);
	cache.slot = NULL;
	cache.mask = cache.used = 0;
}

static uint32_t slot_of(uintptr_t addr, bool ret, uint32_t mask)
{
	return (uint32_t)hash_slot(addr ^ ret, mask);
}

static bool cache_grow(void)
{
	uint32_t cap = cache.slot ? (cache.mask + 1) * 2 : 1024;
	struct entry **t = calloc(cap, sizeof(*t));

	if (!t)
		return false;
	for (uint32_t i = 0; cache.slot && i <= cache.mask; i++) {
		uint32_t j;

		if (!cache.slot[i])
			continue;
		for (j = slot_of(cache.slot[i]->addr, cache.slot[i]->ret, cap - 1); t[j];
		     j = (j + 1) & (cap - 1))
			;
		t[j] = cache.slot[i];
	}
	free(cache.slot);
	cache.slot = t;
	cache.mask = cap - 1;
	return true;
}

/* Copy s and the scratch strings into one block. */
static struct entry *store(uintptr_t addr, bool ret, const struct sym *s)
{
	size_t len = strlen(scratch.obj) + 1;
	struct entry *e;
	char *p;

	for (int i = 0; i < s->n; i++)
		len += strlen(scratch.func[i]) + strlen(scratch.file[i]) + 2;
	e = malloc(sizeof(*e) + len);
	if (!e)
		return NULL;
	e->addr = addr;
	e->ret = ret;
	e->sym = *s;
	p = e->strings;
	e->sym.obj = p;
	p = stpcpy(p, scratch.obj) + 1;
	for (int i = 0; i < s->n; i++) {
		e->sym.f[i].func = p;
		p = stpcpy(p, scratch.func[i]) + 1;
		e->sym.f[i].file = p;
		p = stpcpy(p, scratch.file[i]) + 1;
	}
	return e;
}

const struct sym *sym_resolve(void *addr, bool ret)
{
	static struct sym unknown = { .obj = "", .n = 1, .f = { { .func = "", .file = "" } } };
	struct sym s;
	struct entry *e;
	uint32_t i;

	if ((cache.used + 1) * 2 > (cache.slot ? cache.mask + 1 : 0) && !cache_grow())
		return &unknown;
	for (i = slot_of((uintptr_t)addr, ret, cache.mask); cache.slot[i]; i = (i + 1) & cache.mask)
		if (cache.slot[i]->addr == (uintptr_t)addr && cache.slot[i]->ret == ret)
			return &cache.slot[i]->sym;
	resolve(addr, ret, &s);
	e = store((uintptr_t)addr, ret, &s);
	if (!e)
		return &unknown;
	cache.slot[i] = e;
	cache.used++;
	return &e->sym;
}

/* The loader's counts of objects loaded and unloaded so far. */
static int loader_counts(struct dl_phdr_info *info, size_t size, void *arg)
{
	unsigned long long *c = arg;

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		c[0] = info->dlpi_adds;
		c[1] = info->dlpi_subs;
	}
	return 1;
}

/*
 * The exit report runs after the loader's destructor pass (process.c),
 * and a dlopen() then would run a second time the constructors of the
 * libraries that pass finalized.  sym_fini() runs early in that pass: an
 * object is finalized before those it depends on, and only the executable
 * (and libraries preloaded before heaptrace) come before heaptrace, which
 * libbfd does not depend on.  A process that exits without that pass (no
 * sym_fini()) may load libbfd in the exit report itself.
 */
static bool past_fini;

void sym_fini(void)
{
	dbg_load();
	past_fini = true;
}

void sym_begin(void)
{
	unsigned long long c[2] = { 0, 0 };
	/* loaded now: what was resolved without it can be named better */
	bool loaded = !dbg_available() && !past_fini && dbg_load();

	dl_iterate_phdr(loader_counts, c);
	/* an object unloaded: its addresses may now belong to another one */
	if (loaded || c[1] != cache.subs || cache.used > SYM_CACHE_MAX) {
		drop_cache();
		drop_objects();
	}
	cache.adds = c[0];
	cache.subs = c[1];
}

void sym_end(void)
{
	dbg_release_files();
}
