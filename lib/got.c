// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * got.c - GOT redirection for a tracer loaded late into a running process
 * (--pid, attach.c).  Runs in normal context, on the thread that attaches
 * and on the reporter thread's tick, under its own mutex; never in a hook.
 *
 * Idea (the same as heaptrack_inject, done differently): walk the loaded
 * objects with dl_iterate_phdr, read each one's dynamic section, and for the
 * relocations that bind one of our symbol names to a GOT slot, overwrite the
 * slot with our replacement.  Differences from heaptrack's approach:
 *  - only slots that hold the definition the process resolved (or an
 *    unresolved lazy PLT stub) are rewritten; a slot bound to another
 *    definition (RTLD_DEEPBIND, dlmopen, a bundled allocator) is kept, since
 *    forwarding it to our single "orig" would mix two allocators;
 *  - RELRO pages are made writable only for the write and re-protected;
 *  - the write is one aligned 8-byte atomic store;
 *  - every rewrite is recorded, so that a slot a racing lazy binding put
 *    back is rewritten at the next sync (--detach leaves them: attach.c);
 *  - objects are remembered so a dlopen only costs the new objects.
 *
 * x86-64 / glibc only (RELA, R_X86_64_* types, d_ptr relocated by ld.so).
 */
#define _GNU_SOURCE
#include "got.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#define GOT_MAX_HOOKS 64
#define GOT_MAX_CANDIDATES 8

/* ---------- small growable arrays (mmap: never re-enter malloc) ---------- */

struct vec {
	void *p;
	size_t n, cap, elsz;
};

static void *vec_at(const struct vec *v, size_t i)
{
	return (char *)v->p + i * v->elsz;
}

static int vec_push(struct vec *v, const void *el)
{
	if (v->n == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 256;
		void *np = v->p ? mremap(v->p, v->cap * v->elsz, ncap * v->elsz, MREMAP_MAYMOVE)
				: mmap(NULL, ncap * v->elsz, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (np == MAP_FAILED)
			return -1;
		v->p = np;
		v->cap = ncap;
	}
	memcpy(vec_at(v, v->n++), el, v->elsz);
	return 0;
}

/* Remove element i by moving the last one into its place (order unimportant). */
static void vec_del(struct vec *v, size_t i)
{
	if (i != v->n - 1)
		memcpy(vec_at(v, i), vec_at(v, v->n - 1), v->elsz);
	v->n--;
}

/* ---------- state ---------- */

/* Counters of the last sync, for a debugger's eyes (S.st). */
struct got_stats {
	int objects_seen;     /* objects examined (not skipped) */
	int objects_skipped;  /* vdso, ld.so, skip() == true, no PT_DYNAMIC */
	int slots_patched;
	int slots_lazy;       /* of which were unresolved lazy PLT stubs */
	int slots_repaired;   /* lost to a concurrent lazy fixup, rewritten */
	int slots_foreign;    /* slot resolved to another definition: kept */
	int slots_unsupported;/* addend != 0, misaligned, in a non-writable non-RELRO page */
};


/* One loaded object we have looked at (patched or decided to skip). */
struct obj_rec {
	uintptr_t base;
	const void *dyn;      /* identity together with base and name hash */
	uint64_t name_hash;
	uintptr_t *sentinel;  /* first slot we patched, to detect a reload */
	uintptr_t sentinel_val;
	bool skipped;
	bool present;         /* mark for the current sync pass */
};

/* One GOT slot we rewrote. */
struct slot_rec {
	uintptr_t *slot;
	uintptr_t old;        /* value before our write */
	int hook;
	uintptr_t base;       /* owning object, to forget it on unload */
	const void *dyn;
};

static struct {
	pthread_mutex_t lock;
	const struct got_hook *hooks;
	int n;
	got_skip_fn skip;
	uintptr_t orig[GOT_MAX_HOOKS];
	uintptr_t alias[GOT_MAX_HOOKS]; /* canonical PLT address of orig (non-PIE &fn) */
	bool attached;
	struct vec objs;  /* struct obj_rec */
	struct vec slots; /* struct slot_rec */
	struct got_stats st;
	char exe[4096];
	uintptr_t pagesz, ldso_base, vdso;
} S = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.objs = { .elsz = sizeof(struct obj_rec) },
	.slots = { .elsz = sizeof(struct slot_rec) },
};

static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

/* ---------- reading one object's dynamic section ---------- */

struct elf_view {
	uintptr_t base, lo, hi;
	const ElfW(Phdr) *phdr;
	int phnum;
	const ElfW(Dyn) *dyn;
	const ElfW(Sym) *symtab;
	const char *strtab;
	size_t strsz;
	const ElfW(Rela) *rela, *jmprel;
	size_t relasz, pltrelsz;
	uintptr_t relro_lo, relro_hi; /* page range ld.so made read-only */
};

/*
 * glibc adds the load bias to the d_ptr entries it uses (in place), so they
 * are normally absolute; the vdso's (read-only) dynamic section is not, and
 * other loaders may differ.  Accept whichever reading lands in the object.
 */
static uintptr_t dyn_ptr(const struct elf_view *v, ElfW(Addr) p)
{
	if (p >= v->lo && p < v->hi)
		return p;
	if (v->base + p >= v->lo && v->base + p < v->hi)
		return v->base + p;
	return 0;
}

static void view_phdrs(struct elf_view *v, const struct dl_phdr_info *info)
{
	v->base = info->dlpi_addr;
	v->lo = UINTPTR_MAX;
	v->phdr = info->dlpi_phdr;
	v->phnum = info->dlpi_phnum;
	for (int i = 0; i < v->phnum; i++) {
		const ElfW(Phdr) *ph = &v->phdr[i];
		uintptr_t a = v->base + ph->p_vaddr;

		if (ph->p_type == PT_LOAD) {
			if (a < v->lo)
				v->lo = a;
			if (a + ph->p_memsz > v->hi)
				v->hi = a + ph->p_memsz;
		} else if (ph->p_type == PT_DYNAMIC) {
			v->dyn = (const ElfW(Dyn) *)a;
		} else if (ph->p_type == PT_GNU_RELRO) {
			/* Same rounding as glibc's _dl_protect_relro: the partial
			 * last page stays writable, so it must not be re-protected. */
			v->relro_lo = a & ~(S.pagesz - 1);
			v->relro_hi = (a + ph->p_memsz) & ~(S.pagesz - 1);
		}
	}
}

static bool view_init(struct elf_view *v, const struct dl_phdr_info *info)
{
	memset(v, 0, sizeof(*v));
	view_phdrs(v, info);
	if (!v->dyn || v->lo >= v->hi)
		return false;
	for (const ElfW(Dyn) *d = v->dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: v->symtab = (const void *)dyn_ptr(v, d->d_un.d_ptr); break;
		case DT_STRTAB: v->strtab = (const void *)dyn_ptr(v, d->d_un.d_ptr); break;
		case DT_STRSZ: v->strsz = d->d_un.d_val; break;
		case DT_RELA: v->rela = (const void *)dyn_ptr(v, d->d_un.d_ptr); break;
		case DT_RELASZ: v->relasz = d->d_un.d_val; break;
		case DT_JMPREL: v->jmprel = (const void *)dyn_ptr(v, d->d_un.d_ptr); break;
		case DT_PLTRELSZ: v->pltrelsz = d->d_un.d_val; break;
		case DT_PLTREL:
			if (d->d_un.d_val != DT_RELA) /* never on x86-64 */
				return false;
			break;
		default: break;
		}
	}
	/* Some linkers make DT_RELASZ cover .rela.plt too: don't walk it twice. */
	if (v->rela && v->jmprel && (const char *)v->jmprel >= (const char *)v->rela &&
	    (const char *)v->jmprel < (const char *)v->rela + v->relasz)
		v->relasz = (size_t)((const char *)v->jmprel - (const char *)v->rela);
	return v->symtab && v->strtab && (v->rela || v->jmprel);
}

static bool in_exec_segment(const struct elf_view *v, uintptr_t a)
{
	for (int i = 0; i < v->phnum; i++) {
		const ElfW(Phdr) *ph = &v->phdr[i];
		uintptr_t s = v->base + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && a >= s && a < s + ph->p_memsz)
			return true;
	}
	return false;
}

/*
 * A JUMP_SLOT not resolved yet (lazy binding) points back into its own PLT,
 * at "push $index; jmp .plt0" (or "endbr64; push $index" with IBT PLTs),
 * where index is the slot's position in DT_JMPREL.  Checking the operand
 * tells a pending stub from a slot that resolved to a definition inside the
 * same object.
 */
static bool is_lazy_stub(const struct elf_view *v, const ElfW(Rela) *r, uintptr_t val)
{
	static const unsigned char endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	const unsigned char *c = (const unsigned char *)val;
	int32_t idx;

	if (ELF64_R_TYPE(r->r_info) != R_X86_64_JUMP_SLOT || !v->jmprel || r < v->jmprel ||
	    !in_exec_segment(v, val) || !in_exec_segment(v, val + 8))
		return false;
	if (!memcmp(c, endbr64, sizeof(endbr64)))
		c += sizeof(endbr64);
	if (c[0] != 0x68) /* push imm32 */
		return false;
	memcpy(&idx, c + 1, sizeof(idx));
	return idx >= 0 && (size_t)idx == (size_t)(r - v->jmprel);
}

static bool in_writable_segment(const struct elf_view *v, uintptr_t a)
{
	for (int i = 0; i < v->phnum; i++) {
		const ElfW(Phdr) *ph = &v->phdr[i];
		uintptr_t s = v->base + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W) && a >= s && a + 8 <= s + ph->p_memsz)
			return true;
	}
	return false;
}

/* Objects we never touch, whatever skip() says. */
static bool builtin_skip(const struct elf_view *v, const char *name)
{
	/* The vdso has no GOT worth patching and an unrelocated dynamic section. */
	if (S.vdso && S.vdso >= v->lo && S.vdso < v->hi)
		return true;
	/* ld.so: its few PLT calls are its own internals; its malloc goes
	 * through __rtld_malloc, a plain pointer we cannot see as a relocation. */
	if ((S.ldso_base && v->base == S.ldso_base) || strstr(name, "/ld-linux"))
		return true;
	return strstr(name, "linux-vdso") != NULL;
}

/* ---------- writing one slot ---------- */

/*
 * Store val into slot.  A RELRO slot is made writable for the store only;
 * read access is never removed, so threads calling through the slot at the
 * same moment see either the old or the new pointer (aligned 8-byte store).
 */
static int write_slot(const struct elf_view *v, uintptr_t *slot, uintptr_t val)
{
	uintptr_t a = (uintptr_t)slot;

	if (a & 7)
		return -1;
	if (a >= v->relro_lo && a < v->relro_hi) {
		void *page = (void *)(a & ~(S.pagesz - 1));

		if (mprotect(page, S.pagesz, PROT_READ | PROT_WRITE))
			return -1;
		__atomic_store_n(slot, val, __ATOMIC_RELEASE);
		/* ld.so protects RELRO with PROT_READ exactly. */
		return mprotect(page, S.pagesz, PROT_READ) ? -2 : 0;
	}
	if (!in_writable_segment(v, a))
		return -1; /* text relocation or something odd: leave it */
	__atomic_store_n(slot, val, __ATOMIC_RELEASE);
	return 0;
}

/* ---------- scanning relocations ---------- */

static int match_hook(const char *name)
{
	for (int i = 0; i < S.n; i++)
		if (name[0] == S.hooks[i].name[0] && !strcmp(name, S.hooks[i].name))
			return i;
	return -1;
}

typedef void (*reloc_fn)(void *ctx, const struct elf_view *v, const ElfW(Rela) *r,
			 int hook, uintptr_t *slot);

/* Call fn for every function-pointer relocation naming one of our hooks. */
static void for_each_hook_reloc(const struct elf_view *v, const ElfW(Rela) *tab, size_t sz,
				reloc_fn fn, void *ctx)
{
	size_t cnt = tab ? sz / sizeof(*tab) : 0;

	for (size_t i = 0; i < cnt; i++) {
		const ElfW(Rela) *r = &tab[i];
		unsigned type = ELF64_R_TYPE(r->r_info);
		size_t sym = ELF64_R_SYM(r->r_info);
		const char *name;
		int h;

		if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT && type != R_X86_64_64)
			continue;
		if (sym == 0 || v->symtab[sym].st_name >= v->strsz)
			continue;
		name = v->strtab + v->symtab[sym].st_name;
		h = match_hook(name);
		if (h < 0)
			continue;
		uintptr_t a = v->base + r->r_offset;
		if (a < v->lo || a + 8 > v->hi)
			continue;
		fn(ctx, v, r, h, (uintptr_t *)a);
	}
}

static void for_each_hook_slot(const struct elf_view *v, reloc_fn fn, void *ctx)
{
	for_each_hook_reloc(v, v->rela, v->relasz, fn, ctx);
	for_each_hook_reloc(v, v->jmprel, v->pltrelsz, fn, ctx);
}

/* ---------- object records ---------- */

static const char *obj_name(const struct dl_phdr_info *info)
{
	/* The main program has an empty name (and so may a vdso). */
	return info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : S.exe;
}

static struct obj_rec *obj_find(const struct elf_view *v, uint64_t nh, size_t *idx)
{
	for (size_t i = 0; i < S.objs.n; i++) {
		struct obj_rec *o = vec_at(&S.objs, i);

		if (o->base == v->base && o->dyn == v->dyn && o->name_hash == nh) {
			*idx = i;
			return o;
		}
	}
	return NULL;
}

static void forget_slots_of(uintptr_t base, const void *dyn)
{
	for (size_t i = S.slots.n; i-- > 0;) {
		struct slot_rec *s = vec_at(&S.slots, i);

		if (s->base == base && s->dyn == dyn)
			vec_del(&S.slots, i);
	}
}

/*
 * A remembered object whose first patched slot no longer holds our pointer
 * was dlclose'd and loaded again at the same address (fresh relocations):
 * treat it as new.  Same file, same relocations, so an object without
 * patched slots needs nothing either way.
 */
static bool obj_reloaded(const struct obj_rec *o)
{
	return o->sentinel && __atomic_load_n(o->sentinel, __ATOMIC_RELAXED) != o->sentinel_val;
}

/* ---------- resolving the originals ---------- */

/*
 * p is the start of a symbol that is really defined.  dladdr alone is not
 * enough: glibc also matches an undefined symbol that has a value, which is
 * exactly what a canonical PLT stub in a non-PIE program looks like.
 */
static bool is_definition(uintptr_t p)
{
	const ElfW(Sym) *sym = NULL;
	Dl_info di;

	if (!p || !dladdr1((void *)p, &di, (void **)&sym, RTLD_DL_SYMENT))
		return false;
	return (uintptr_t)di.dli_saddr == p && sym && sym->st_shndx != SHN_UNDEF;
}

struct cand_ctx {
	uintptr_t c[GOT_MAX_HOOKS][GOT_MAX_CANDIDATES];
	int nc[GOT_MAX_HOOKS];
};

static void collect_cand(void *ctx, const struct elf_view *v, const ElfW(Rela) *r, int h,
			 uintptr_t *slot)
{
	struct cand_ctx *cc = ctx;
	uintptr_t val = __atomic_load_n(slot, __ATOMIC_RELAXED);

	if (S.orig[h] || cc->nc[h] >= GOT_MAX_CANDIDATES || val == (uintptr_t)S.hooks[h].repl)
		return;
	if (is_lazy_stub(v, r, val)) /* unresolved: tells nothing */
		return;
	cc->c[h][cc->nc[h]++] = val;
}

static int collect_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
	struct elf_view v;

	(void)size;
	if (view_init(&v, info) && !builtin_skip(&v, obj_name(info)))
		for_each_hook_slot(&v, collect_cand, ctx);
	return 0;
}

/*
 * orig = what the process resolved.  dlsym(RTLD_DEFAULT) gives it, except
 * for a non-PIE program that takes &fn: then the program's PLT stub is the
 * canonical address and dlsym returns it (calling it after we patch the
 * program's JUMP_SLOT would loop into our hook).  In that case take the
 * value of a resolved GOT slot that is a real symbol start, and remember the
 * stub as an alias so GLOB_DATs holding it are recognised.  dladdr/dlsym
 * take loader locks, so this runs outside dl_iterate_phdr.
 */
static void resolve_origs(void)
{
	static struct cand_ctx cc;
	bool need_scan = false;

	for (int h = 0; h < S.n; h++) {
		uintptr_t d;

		if (S.orig[h])
			continue;
		if (*S.hooks[h].orig && (uintptr_t)*S.hooks[h].orig != (uintptr_t)S.hooks[h].repl) {
			S.orig[h] = (uintptr_t)*S.hooks[h].orig; /* caller knows better */
			continue;
		}
		d = (uintptr_t)dlsym(RTLD_DEFAULT, S.hooks[h].name);
		if (d && d != (uintptr_t)S.hooks[h].repl && is_definition(d))
			S.orig[h] = d;
		else if (d) { /* a stub stands for it: look at resolved slots */
			S.alias[h] = d;
			need_scan = true;
		}
		/* d == 0: not defined anywhere yet (e.g. no libstdc++): retried
		 * at the next sync, nothing can be bound to it meanwhile. */
	}
	if (!need_scan)
		goto publish;
	memset(&cc, 0, sizeof(cc));
	dl_iterate_phdr(collect_cb, &cc);
	for (int h = 0; h < S.n; h++)
		for (int i = 0; !S.orig[h] && i < cc.nc[h]; i++)
			if (cc.c[h][i] != S.alias[h] && is_definition(cc.c[h][i]))
				S.orig[h] = cc.c[h][i];
publish:
	/* Published before any slot points to repl, so repl can use it. */
	for (int h = 0; h < S.n; h++)
		if (S.orig[h])
			__atomic_store_n((uintptr_t *)S.hooks[h].orig, S.orig[h], __ATOMIC_RELEASE);
}

/* ---------- patching ---------- */

struct patch_ctx {
	struct obj_rec *obj;
	int err;
};

static bool slot_is_ours_to_patch(const struct elf_view *v, const ElfW(Rela) *r, int h,
				  uintptr_t val)
{
	if (val == S.orig[h] || (S.alias[h] && val == S.alias[h]))
		return true;
	/* Lazy binding: a JUMP_SLOT not called yet would resolve to orig on
	 * its first call, so writing repl directly is fine. */
	return is_lazy_stub(v, r, val);
}

static void patch_one(void *ctx, const struct elf_view *v, const ElfW(Rela) *r, int h,
		      uintptr_t *slot)
{
	struct patch_ctx *pc = ctx;
	uintptr_t val = __atomic_load_n(slot, __ATOMIC_RELAXED);
	uintptr_t repl = (uintptr_t)S.hooks[h].repl;
	struct slot_rec rec = { slot, val, h, v->base, v->dyn };

	if (!S.orig[h] || val == repl)
		return;
	if (ELF64_R_TYPE(r->r_info) == R_X86_64_64 && r->r_addend != 0) {
		S.st.slots_unsupported++; /* &fn + k is not a callable pointer */
		return;
	}
	if (!slot_is_ours_to_patch(v, r, h, val)) {
		S.st.slots_foreign++;
		return;
	}
	if (vec_push(&S.slots, &rec)) { /* record first: a sync must know it */
		pc->err = 1;
		return;
	}
	int rc = write_slot(v, slot, repl);
	if (rc == -1) {
		S.slots.n--;
		S.st.slots_unsupported++;
		return;
	}
	if (rc == -2)
		pc->err = 2; /* written, but could not re-protect RELRO */
	S.st.slots_patched++;
	if (val != S.orig[h] && val != S.alias[h])
		S.st.slots_lazy++;
	if (!pc->obj->sentinel) {
		pc->obj->sentinel = slot;
		pc->obj->sentinel_val = repl;
	}
}

/*
 * A lazy JUMP_SLOT being resolved by another thread while we patch it can
 * have our write overwritten by ld.so's fixup (it stores the definition it
 * looked up).  Each sync puts such slots back.
 */
static void repair_slots(const struct elf_view *v)
{
	for (size_t i = 0; i < S.slots.n; i++) {
		struct slot_rec *s = vec_at(&S.slots, i);

		if (s->base != v->base || s->dyn != v->dyn)
			continue;
		if (__atomic_load_n(s->slot, __ATOMIC_RELAXED) == S.orig[s->hook] &&
		    write_slot(v, s->slot, (uintptr_t)S.hooks[s->hook].repl) == 0)
			S.st.slots_repaired++;
	}
}

static int sync_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
	struct patch_ctx *pc = ctx;
	const char *name = obj_name(info);
	uint64_t nh = hash_str(name);
	struct elf_view v;
	struct obj_rec *o;
	size_t idx;

	(void)size;
	if (!view_init(&v, info) || builtin_skip(&v, name)) {
		S.st.objects_skipped++;
		return 0;
	}
	o = obj_find(&v, nh, &idx);
	if (o && !obj_reloaded(o)) {
		o->present = true;
		if (!o->skipped)
			repair_slots(&v);
		return 0;
	}
	if (o) { /* reloaded at the same place: start over for it */
		forget_slots_of(o->base, o->dyn);
		vec_del(&S.objs, idx);
	}
	struct obj_rec rec = { .base = v.base, .dyn = v.dyn, .name_hash = nh, .present = true };
	rec.skipped = S.skip && S.skip(name, v.base);
	if (vec_push(&S.objs, &rec)) {
		pc->err = 1;
		return 1;
	}
	if (rec.skipped) {
		S.st.objects_skipped++;
		return 0;
	}
	S.st.objects_seen++;
	pc->obj = vec_at(&S.objs, S.objs.n - 1);
	for_each_hook_slot(&v, patch_one, pc);
	return pc->err == 1;
}

/* Objects not listed by the last pass were unloaded: forget them. */
static void prune_unloaded(void)
{
	for (size_t i = S.objs.n; i-- > 0;) {
		struct obj_rec *o = vec_at(&S.objs, i);

		if (!o->present) {
			forget_slots_of(o->base, o->dyn);
			vec_del(&S.objs, i);
		} else {
			o->present = false;
		}
	}
}

/* Caller holds S.lock. */
static int sync_locked(char *err, size_t errlen)
{
	struct patch_ctx pc = { 0 };

	memset(&S.st, 0, sizeof(S.st));
	resolve_origs(); /* hooks whose definition was not loaded before */
	for (size_t i = 0; i < S.objs.n; i++)
		((struct obj_rec *)vec_at(&S.objs, i))->present = false;
	dl_iterate_phdr(sync_cb, &pc);
	prune_unloaded();
	if (pc.err == 1) {
		seterr(err, errlen, "out of memory for bookkeeping");
		return -1;
	}
	if (pc.err == 2)
		seterr(err, errlen, "warning: could not re-protect a RELRO page");
	return S.st.slots_patched + S.st.slots_repaired;
}

static void init_process_info(void)
{
	ssize_t n = readlink("/proc/self/exe", S.exe, sizeof(S.exe) - 1);

	S.exe[n > 0 ? n : 0] = '\0';
	S.pagesz = (uintptr_t)sysconf(_SC_PAGESIZE);
	S.ldso_base = getauxval(AT_BASE);
	S.vdso = getauxval(AT_SYSINFO_EHDR);
}

int got_redirect_all(const struct got_hook *hooks, int n, got_skip_fn skip,
		     char *err, size_t errlen)
{
	int rc;

	if (!hooks || n <= 0 || n > GOT_MAX_HOOKS) {
		seterr(err, errlen, "bad hook count %d (max %d)", n, GOT_MAX_HOOKS);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (!hooks[i].name || !hooks[i].repl || !hooks[i].orig) {
			seterr(err, errlen, "hook %d incomplete", i);
			return -1;
		}
	}
	pthread_mutex_lock(&S.lock);
	if (S.attached) {
		pthread_mutex_unlock(&S.lock);
		seterr(err, errlen, "already attached");
		return -1;
	}
	init_process_info();
	S.hooks = hooks;
	S.n = n;
	S.skip = skip;
	memset(S.orig, 0, sizeof(S.orig));
	memset(S.alias, 0, sizeof(S.alias));
	S.objs.n = S.slots.n = 0;
	S.attached = true;
	rc = sync_locked(err, errlen);
	pthread_mutex_unlock(&S.lock);
	return rc;
}

int got_redirect_new(char *err, size_t errlen)
{
	int rc = 0;

	pthread_mutex_lock(&S.lock);
	if (S.attached)
		rc = sync_locked(err, errlen);
	pthread_mutex_unlock(&S.lock);
	return rc;
}
