// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cfi.c - the stack walk by .eh_frame rules (see cfi.h): the reader of
 * .eh_frame_hdr, CIEs and FDEs, the interpreter of their call-frame
 * instructions, the table of learned rules, and the walk.
 *
 * Everything here runs inside the program's malloc: nothing allocates
 * from it, and the walk itself takes no lock and makes no system call.
 * Rules are learned only for what the x86-64 SysV walk needs; anything
 * unusual is "other", and libunwind takes those backtraces whole where
 * that is safe (see cfi.h).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "atomic.h"
#include "cfi.h"
#include "compat.h"
#include "guard.h"
#include "lftable.h"
#include "reader.h"
#include "tmem.h"
#include "utils.h"

/*
 * A return address's rule, one word.  R_STEP: the caller's frame starts
 * (CFA) at rsp or rbp (R_FROM_RBP) + cfa offset, the return address is at
 * CFA - 8, the caller's rbp at CFA + rbp offset (R_RBP_SAVED) or still in
 * rbp.  R_LAST: the outermost frame, the walk ends.  R_OTHER: libunwind.
 * R_SIGRETURN: the return of a signal handler into the kernel's signal
 * frame, whose ucontext at the CFA holds the interrupted registers (R_OTHER
 * with a flag that no other R_OTHER carries).
 * The low 12 bits of the return address are kept in it as a tag (see
 * cfi_forget()).
 */
#define R_STEP 1u
#define R_LAST 2u
#define R_OTHER 3u
#define R_KIND 3u
#define R_FROM_RBP 4u
#define R_RBP_SAVED 8u
#define R_SIGRETURN (R_OTHER | R_FROM_RBP)
#define RULE(flags, cfa_off, rbp_off) \
	((uint64_t)(flags) | (uint64_t)(uint16_t)(int16_t)(rbp_off) << 16 | (uint64_t)(uint32_t)(int32_t)(cfa_off) << 32)
#define R_TAG_SHIFT 4
#define R_TAG(ra) (((uint64_t)(ra) & 0xfff) << R_TAG_SHIFT)
#define RULE_CFA_OFF(r) ((int64_t)(int32_t)((r) >> 32))
#define RULE_RBP_OFF(r) ((int64_t)(int16_t)((r) >> 16))

/* ------------------------------------------------------------ reading .eh_frame */

/* DWARF register numbers of x86-64, and the columns libunwind keeps. */
#define DW_RBP 6
#define DW_RSP 7
#define DW_RA 16
#define NUM_REGS 17

/*
 * .eh_frame is the program's bytes, not ours: every read is bounded
 * (reader.h), and whoever reads checks bad once at the end: malformed
 * call-frame information is "cannot walk" (R_OTHER, or no FDE), and
 * libunwind takes the backtrace, as for any other frame the walk does
 * not know.
 */

/*
 * A factored offset: n * data_align, where the product must fit (a huge
 * factor from malformed input would overflow: bad).
 */
static int64_t rd_factored(struct reader *r, int64_t n, int64_t data_align)
{
	int64_t v;

	if (__builtin_mul_overflow(n, data_align, &v)) {
		r->bad = true;
		return 0;
	}
	return v;
}

static int64_t rd_uleb_factored(struct reader *r, int64_t data_align)
{
	uint64_t n = rd_uleb(r);

	if (n > INT64_MAX) {
		r->bad = true;
		return 0;
	}
	return rd_factored(r, (int64_t)n, data_align);
}

/* A pointer in DW_EH_PE encoding enc; datarel is .eh_frame_hdr's address. */
static uintptr_t rd_pointer(struct reader *r, uint8_t enc, uintptr_t datarel)
{
	uintptr_t at = (uintptr_t)r->p;
	uint64_t v;

	switch (enc & 0x0f) {
	case 0x00: v = rd_fixed(r, 8); break;
	case 0x01: v = rd_uleb(r); break;
	case 0x02: v = rd_fixed(r, 2); break;
	case 0x03: v = rd_fixed(r, 4); break;
	case 0x04: v = rd_fixed(r, 8); break;
	case 0x09: v = (uint64_t)rd_sleb(r); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_fixed(r, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_fixed(r, 4); break;
	case 0x0c: v = rd_fixed(r, 8); break;
	default: r->bad = true; return 0;
	}
	switch (enc & 0xf0) {
	case 0x00: break;
	case 0x10: v += at; break;
	case 0x30: v += datarel; break;
	default: r->bad = true; /* indirect, text- or function-relative */
	}
	return (uintptr_t)v;
}

/*
 * The FDE whose range may hold pc, by the binary-search table of
 * .eh_frame_hdr, which ends by end at the latest.  The FDE it names is
 * not checked here (find_fde() does).
 */
static const uint8_t *hdr_search(const uint8_t *hdr, const uint8_t *end, uintptr_t pc)
{
	struct reader r = { .p = hdr + 4, .end = end };
	size_t lo = 0, hi;
	int32_t loc, fde;

	/* version 1, table of (initial location, FDE) as datarel sdata4 */
	if (end - hdr < 4 || hdr[0] != 1 || hdr[3] != 0x3b)
		return NULL;
	rd_pointer(&r, hdr[1], (uintptr_t)hdr);
	hi = rd_pointer(&r, hdr[2], (uintptr_t)hdr);
	if (r.bad || hi == 0 || hi > (size_t)(end - r.p) / 8)
		return NULL;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		memcpy(&loc, r.p + mid * 8, 4);
		if ((uintptr_t)hdr + (intptr_t)loc <= pc)
			lo = mid;
		else
			hi = mid;
	}
	memcpy(&loc, r.p + lo * 8, 4);
	memcpy(&fde, r.p + lo * 8 + 4, 4);
	return (uintptr_t)hdr + (intptr_t)loc <= pc ? hdr + fde : NULL;
}

/* What a CIE and its FDE say before the instructions are run. */
struct fde_info {
	uint64_t code_align;
	int64_t data_align;
	const uint8_t *cie_insns, *cie_end;
	const uint8_t *insns, *end;
	uintptr_t start;
	bool has_z;  /* FDEs carry augmentation data, with its length */
	bool signal; /* 'S': the frame of a signal handler's return (sigreturn) */
};

/*
 * The length word of a CIE or FDE at p, which must end by end: r reads its
 * contents.  False for a terminator, a 64-bit length, or one past end.
 */
static bool rd_entry(struct reader *r, const uint8_t *p, const uint8_t *end)
{
	uint32_t len;

	*r = (struct reader){ .p = p, .end = end };
	len = (uint32_t)rd_fixed(r, 4);
	if (r->bad || len == 0 || len == 0xffffffffu || len > (size_t)(end - r->p))
		return false;
	r->end = r->p + len;
	return true;
}

/* The CIE at cie (which ends by end); false for anything but x86-64's usual kind. */
static bool read_cie(const uint8_t *cie, const uint8_t *end, struct fde_info *fi,
		     uint8_t *fde_enc)
{
	struct reader r;
	const char *aug;
	const uint8_t *aug_end = NULL;
	uint8_t version;

	if (!rd_entry(&r, cie, end) || rd_fixed(&r, 4) != 0)
		return false;
	fi->cie_end = r.end;
	version = (uint8_t)rd_fixed(&r, 1);
	if (version != 1 && version != 3)
		return false;
	aug = rd_string(&r);
	fi->code_align = rd_uleb(&r);
	fi->data_align = rd_sleb(&r);
	if (r.bad || (version == 1 ? rd_fixed(&r, 1) : rd_uleb(&r)) != DW_RA)
		return false;
	*fde_enc = 0; /* absptr */
	fi->signal = false;
	fi->has_z = aug[0] == 'z';
	if (fi->has_z) {
		uint64_t n = rd_uleb(&r);

		if (r.bad || n > (uint64_t)(r.end - r.p))
			return false;
		aug_end = r.p + n;
		aug++;
	} else if (aug[0]) {
		return false;
	}
	for (; *aug; aug++) {
		switch (*aug) {
		case 'R': *fde_enc = (uint8_t)rd_fixed(&r, 1); break;
		case 'L': rd_fixed(&r, 1); break;
		case 'P': {
			uint8_t enc = (uint8_t)rd_fixed(&r, 1);

			rd_pointer(&r, enc & 0x0f, 0); /* skipped: only its size matters */
			break;
		}
		case 'S': fi->signal = true; break;
		default: return false; /* anything newer */
		}
	}
	if (aug_end && !r.bad && r.p > aug_end)
		return false; /* the augmentation data ran past its own length */
	if (aug_end)
		r.p = aug_end;
	fi->cie_insns = r.p;
	return !r.bad;
}

/*
 * The FDE for pc, found through the object's .eh_frame_hdr: FDE_FOUND, or
 * FDE_NONE when pc's object has none of the kind walked here (its rule is
 * "other"), or FDE_NO_OBJECT when pc is in no object (generated code).
 */
enum { FDE_NO_OBJECT, FDE_NONE, FDE_FOUND };

static int find_fde(uintptr_t pc, struct fde_info *fi)
{
#ifdef HAVE_CFI_WALK
	struct dl_find_object obj;
	const uint8_t *fde, *lo, *end, *cie;
	struct reader r;
	int32_t cie_off;
	uint8_t enc;
	uintptr_t range;

	if (_dl_find_object((void *)pc, &obj) != 0)
		return FDE_NO_OBJECT;
	/* .eh_frame_hdr and .eh_frame lie in the object's mapping: nothing
	 * they point to is read outside it */
	lo = obj.dlfo_map_start;
	end = obj.dlfo_map_end;
	fde = obj.dlfo_eh_frame ? hdr_search(obj.dlfo_eh_frame, end, pc) : NULL;
	if (!fde || fde < lo || !rd_entry(&r, fde, end))
		return FDE_NONE;
	cie_off = (int32_t)rd_fixed(&r, 4);
	cie = r.p - 4 - cie_off;
	if (r.bad || cie_off == 0 || cie_off > r.p - 4 - lo || cie_off < r.p - 4 - end ||
	    !read_cie(cie, end, fi, &enc))
		return FDE_NONE;
	fi->start = rd_pointer(&r, enc, 0);
	range = rd_pointer(&r, enc & 0x0f, 0);
	if (r.bad || pc < fi->start || pc - fi->start >= range)
		return FDE_NONE;
	if (fi->has_z)
		rd_skip(&r, rd_uleb(&r));
	if (r.bad)
		return FDE_NONE;
	fi->end = r.end;
	fi->insns = r.p;
	return FDE_FOUND;
#else
	(void)pc;
	(void)fi;
	return FDE_NO_OBJECT;
#endif
}

/* ------------------------------------------------------------ call-frame instructions */

/* How a register is recovered; libunwind's "where" for the three we track. */
enum how { SAME, UNDEF, AT_CFA, ELSEWHERE };

struct col {
	uint8_t how;
	int64_t off;
};

struct row {
	uint64_t cfa_reg;
	int64_t cfa_off;
	bool cfa_expr;
	struct col rbp, rsp, ra;
};

#define STATE_STACK 8

struct cfa_state {
	struct row row, initial;
	struct row saved[STATE_STACK];
	int depth;
	bool bad; /* something the walk must leave to libunwind */
};

static struct col *column(struct cfa_state *s, struct row *row, uint64_t reg)
{
	if (reg >= NUM_REGS) {
		s->bad = true; /* libunwind refuses these: its step fails */
		return NULL;
	}
	switch (reg) {
	case DW_RBP: return &row->rbp;
	case DW_RSP: return &row->rsp;
	case DW_RA: return &row->ra;
	default: return NULL; /* not needed by the walk */
	}
}

static void set_col(struct cfa_state *s, uint64_t reg, enum how how, int64_t off)
{
	struct col *c = column(s, &s->row, reg);

	if (c)
		*c = (struct col){ (uint8_t)how, off };
}

static void restore_col(struct cfa_state *s, uint64_t reg)
{
	struct col *c = column(s, &s->row, reg);

	if (c)
		*c = *column(s, &s->initial, reg);
}

/*
 * A register's rule is an expression: the walk cannot take it, and for a
 * register the walk does not need, libunwind still evaluates it (and may
 * fail, and take its slow path): either way, libunwind's frame.
 */
static void set_expression(struct cfa_state *s, uint64_t reg)
{
	if (column(s, &s->row, reg))
		set_col(s, reg, ELSEWHERE, 0);
	else
		s->bad = true;
}

/* One instruction that is not an advance of the location. */
static void run_op(struct cfa_state *s, struct reader *r, uint8_t op, const struct fde_info *fi)
{
	uint64_t reg;

	switch (op & 0xc0) {
	case 0x80: /* DW_CFA_offset */
		set_col(s, op & 0x3f, AT_CFA, rd_uleb_factored(r, fi->data_align));
		return;
	case 0xc0: /* DW_CFA_restore */
		restore_col(s, op & 0x3f);
		return;
	}
	switch (op) {
	case 0x00: break; /* nop */
	case 0x05: reg = rd_uleb(r); set_col(s, reg, AT_CFA, rd_uleb_factored(r, fi->data_align)); break;
	case 0x06: restore_col(s, rd_uleb(r)); break;
	case 0x07: set_col(s, rd_uleb(r), UNDEF, 0); break;
	case 0x08: set_col(s, rd_uleb(r), SAME, 0); break;
	case 0x09: reg = rd_uleb(r); rd_uleb(r); set_col(s, reg, ELSEWHERE, 0); break;
	case 0x0a: /* remember_state */
		if (s->depth == STATE_STACK)
			s->bad = true;
		else
			s->saved[s->depth++] = s->row;
		break;
	case 0x0b: /* restore_state */
		if (s->depth == 0)
			s->bad = true;
		else
			s->row = s->saved[--s->depth];
		break;
	case 0x0c: /* def_cfa */
		s->row.cfa_reg = rd_uleb(r);
		s->row.cfa_off = (int64_t)rd_uleb(r);
		s->row.cfa_expr = false;
		break;
	case 0x0d: s->row.cfa_reg = rd_uleb(r); s->row.cfa_expr = false; break;
	case 0x0e: s->row.cfa_off = (int64_t)rd_uleb(r); break;
	case 0x0f: s->row.cfa_expr = true; rd_skip(r, rd_uleb(r)); break;
	case 0x10: reg = rd_uleb(r); rd_skip(r, rd_uleb(r)); set_expression(s, reg); break;
	case 0x11: reg = rd_uleb(r); set_col(s, reg, AT_CFA, rd_factored(r, rd_sleb(r), fi->data_align)); break;
	case 0x12: /* def_cfa_sf */
		s->row.cfa_reg = rd_uleb(r);
		s->row.cfa_off = rd_factored(r, rd_sleb(r), fi->data_align);
		s->row.cfa_expr = false;
		break;
	case 0x13: s->row.cfa_off = rd_factored(r, rd_sleb(r), fi->data_align); break;
	case 0x2e: rd_uleb(r); break; /* GNU_args_size: only for resuming */
	default: s->bad = true; /* set_loc, val_*, vendor extensions */
	}
	if (s->row.cfa_reg >= NUM_REGS)
		s->bad = true;
}

/*
 * Run instructions from p to end, starting at location loc, until the
 * location passes pc: the rules of the row that holds pc.  libunwind runs
 * them the same way (every instruction at a location up to pc included).
 */
static void run_insns(struct cfa_state *s, const uint8_t *p, const uint8_t *end, uintptr_t loc,
		      uintptr_t pc, const struct fde_info *fi)
{
	struct reader r = { .p = p, .end = end };

	while (r.p < end && loc <= pc && !s->bad && !r.bad) {
		uint8_t op = *r.p++;

		if ((op & 0xc0) == 0x40)
			loc += (op & 0x3f) * fi->code_align;
		else if (op == 0x02)
			loc += rd_fixed(&r, 1) * fi->code_align;
		else if (op == 0x03)
			loc += rd_fixed(&r, 2) * fi->code_align;
		else if (op == 0x04)
			loc += rd_fixed(&r, 4) * fi->code_align;
		else
			run_op(s, &r, op, fi);
	}
	if (r.bad)
		s->bad = true; /* an operand ran past the end, or overflowed */
}

/*
 * The rule of the row, by libunwind's test of a "standard" frame
 * (x86_64/Gstash_frame.c) and its end of the stack (an undefined return
 * address or rbp, x86_64/Gstep.c).
 */
static uint64_t classify(const struct row *row)
{
	unsigned flags = R_STEP;
	int64_t rbp_off = 0;

	/* the stack's words are 8-byte aligned: an offset that is not points
	 * between them, which no compiler emits (malformed: libunwind's) */
	if (row->cfa_expr || (row->cfa_reg != DW_RBP && row->cfa_reg != DW_RSP) ||
	    row->cfa_off <= -(1 << 28) || row->cfa_off >= (1 << 28) || (row->cfa_off & 7))
		return R_OTHER;
	if (row->ra.how == UNDEF || row->rbp.how == UNDEF)
		return R_LAST;
	if (row->ra.how != AT_CFA || row->ra.off != -8 || row->rsp.how != SAME)
		return R_OTHER;
	if (row->rbp.how == AT_CFA) {
		if (row->rbp.off <= -(1 << 14) || row->rbp.off >= (1 << 14) || (row->rbp.off & 7))
			return R_OTHER;
		flags |= R_RBP_SAVED;
		rbp_off = row->rbp.off;
	} else if (row->rbp.how != SAME) {
		return R_OTHER;
	}
	if (row->cfa_reg == DW_RBP)
		flags |= R_FROM_RBP;
	return RULE(flags, row->cfa_off, rbp_off);
}

/* The rule for pc (a return address minus one), from its object's .eh_frame. */
static uint64_t read_rule(const struct fde_info *fi, uintptr_t pc)
{
	struct cfa_state s;

	memset(&s, 0, sizeof(s));
	run_insns(&s, fi->cie_insns, fi->cie_end, 0, UINTPTR_MAX, fi);
	s.initial = s.row;
	s.depth = 0;
	run_insns(&s, fi->insns, fi->end, fi->start, pc, fi);
	return s.bad ? R_OTHER : classify(&s.row);
}

/* ------------------------------------------------------------ the table of rules */

/*
 * Open addressing by return address (lftable.h, whose comment holds the
 * memory-ordering argument), written under learn_lock, read without it:
 * a slot is the address (its key) and the rule, which a reader that finds
 * the address reads whole.  cfi_forget() empties the slots under the
 * readers: the rule's tag tells a slot taken again by another address.
 */
#define SLOT_PC 0
#define SLOT_RULE 1
#define SLOT_WIDTH 2
#define TABLE_MIN 4096

static struct lft *rules;
static spinlock_t learn_lock;
/* no walk: tracer memory refused (libunwind from now on), or not x86-64 */
#ifdef HAVE_CFI_WALK
static bool no_table;
#else
static bool no_table = true;
#endif

/* What lft_first() masks: hash_slot()'s bits. */
static inline uint64_t rule_hash(uintptr_t pc)
{
	return hash_word(pc) >> 40;
}

/*
 * pc's rule, 0 when it is not in t.  A slot emptied by cfi_forget() and
 * taken by another address while this reads it gives a rule whose tag is
 * not pc's: 0, and learn() looks again under the lock.
 */
static inline uint64_t table_get(const struct lft *t, uintptr_t pc)
{
	for (size_t i = lft_first(t, rule_hash(pc));; i = lft_next(t, i)) {
		const uintptr_t *slot = lft_cslot(t, i, SLOT_WIDTH);
		uintptr_t k = lft_key(slot);

		if (k == pc) {
			uint64_t rule = lft_word(slot, SLOT_RULE);

			return (rule & R_TAG(~0ull)) == R_TAG(pc) ? rule : 0;
		}
		if (!k)
			return 0;
	}
}

static void table_put(struct lft *t, uintptr_t pc, uint64_t rule)
{
	lft_put(t, rule_hash(pc), (const uintptr_t[SLOT_WIDTH]){ [SLOT_PC] = pc, [SLOT_RULE] = rule },
		SLOT_WIDTH);
}

static uint64_t rule_slot_hash(const uintptr_t *slot)
{
	return rule_hash(slot[SLOT_PC]);
}

/* Room for one more (under learn_lock); false when there is none. */
static bool table_room(void)
{
	if (lft_has_room(rules))
		return true;
	if (no_table || !lft_reserve(&rules, SLOT_WIDTH, TABLE_MIN, rule_slot_hash)) {
		no_table = true;
		return false;
	}
	return true;
}

/*
 * First sight of return address ra: read its rule (the row of the call,
 * ra - 1) and keep it.  An address in no object (generated code) is not
 * kept, so that a program that generates code all the time does not grow
 * the table with run time.
 */
/*
 * x86-64 Linux's signal return: "mov $15, %rax; syscall" (rt_sigreturn),
 * where a handler returns to.  Its FDE is marked 'S'; the code is checked
 * as libunwind checks it, since the layout of the frame is the kernel's.
 */
static bool is_sigreturn(uintptr_t pc)
{
	static const uint8_t code[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };

	return !memcmp((const void *)pc, code, sizeof(code));
}

/*
 * libheaptrace.so's own code, which a backtrace shows only as its frame 0
 * (the hook): found when the first signal frame is, as only a signal
 * handler's backtrace goes through it (the trampoline of handlers.c, and a
 * hook the signal interrupted).
 */
static struct {
	uintptr_t lo, size;
} own;
/* own is written once, before this is set (release): a reader that sees
 * it set (acquire) reads both bounds whole */
static bool own_found;

static void find_own(void)
{
	struct dl_find_object obj;

	if (atomic_load_acquire(&own_found) ||
	    _dl_find_object((void *)find_own, &obj) != 0)
		return;
	own.lo = (uintptr_t)obj.dlfo_map_start;
	own.size = (uintptr_t)obj.dlfo_map_end - own.lo;
	atomic_store_release(&own_found, true);
}

static inline bool is_own(uintptr_t pc)
{
	return atomic_load_acquire(&own_found) && pc - own.lo < own.size;
}

/* frames[1..n) without heaptrace's own frames; the new n. */
static int drop_own(void **frames, int n)
{
	int kept = 1;

	for (int i = 1; i < n; i++)
		if (!is_own((uintptr_t)frames[i]))
			frames[kept++] = frames[i];
	return kept;
}

/* The rule of return address ra, from the FDE found for it (fi). */
static uint64_t rule_of(int found, const struct fde_info *fi, uintptr_t ra)
{
	if (found != FDE_FOUND)
		return R_OTHER;
	if (fi->signal) {
		find_own();
		return is_sigreturn(ra) ? R_SIGRETURN : R_OTHER;
	}
	return read_rule(fi, ra - 1);
}

static NOINLINE uint64_t learn(uintptr_t ra)
{
	struct fde_info fi;
	uint64_t rule;
	int found = find_fde(ra - 1, &fi);

	if (found == FDE_NO_OBJECT)
		return R_OTHER;
	/* a signal handler inside a table update of this thread (guard.h):
	 * the rule is read again next time, not kept */
	if (must_defer())
		return rule_of(found, &fi, ra) | R_TAG(ra);
	spin_lock(&learn_lock);
	if (rules && (rule = table_get(rules, ra))) {
		spin_unlock(&learn_lock);
		return rule;
	}
	rule = rule_of(found, &fi, ra) | R_TAG(ra);
	if (table_room())
		table_put(rules, ra, rule);
	spin_unlock(&learn_lock);
	return rule;
}

void cfi_forget(void)
{
	spin_lock(&learn_lock);
	lft_clear(rules, SLOT_WIDTH);
	spin_unlock(&learn_lock);
}

void cfi_fork_prepare(void)
{
	spin_lock(&learn_lock);
}

void cfi_fork_parent(void)
{
	spin_unlock(&learn_lock);
}

static void check_reset(void);

void cfi_fork_child(void)
{
	spin_unlock_in_child(&learn_lock);
	check_reset(); /* the child counts its own backtraces */
}

/* ------------------------------------------------------------ the walk */

/* A frame being walked: where it returns to, its rsp and rbp. */
struct frame {
	uintptr_t ra, sp, fp;
};

/* The rule kept under key (the row at key - 1), learned on first sight. */
static inline uint64_t table_rule(const struct lft **t, uintptr_t key)
{
	uint64_t rule = likely(*t) ? table_get(*t, key) : 0;

	if (unlikely(!rule)) {
		rule = learn(key);
		*t = atomic_load_acquire(&rules);
	}
	return rule;
}

/*
 * One R_STEP rule: f becomes its caller's frame.  The stack is read as
 * libunwind's fast path (x86_64/Gtrace.c) reads it, without checking: the
 * rules come from the compiler, and the words they point to are in frames
 * that are live.  False where libunwind stops: "ip and cfa unchanged".
 */
static inline bool step(uint64_t rule, struct frame *f)
{
	uintptr_t cfa = ((rule & R_FROM_RBP) ? f->fp : f->sp) + (uintptr_t)RULE_CFA_OFF(rule);
	uintptr_t next = *(const uintptr_t *)(cfa - 8);

	if (rule & R_RBP_SAVED)
		f->fp = *(const uintptr_t *)(cfa + (uintptr_t)RULE_RBP_OFF(rule));
	if (unlikely(cfa == f->sp)) {
		/* kept a branch, not folded into flags on every frame (4 more
		 * instructions per frame measured): it is nearly never taken */
		__asm__ volatile("");
		if (next == f->ra)
			return false;
	}
	f->sp = cfa;
	f->ra = next;
	return true;
}

/*
 * From frame f, frames[1..max): what libunwind's fast path records, step
 * for step: return addresses, each frame's rule taken at the call (ra -
 * 1).  Returns the frames walked; *stop is the rule of the frame the walk
 * stopped at (R_LAST, R_OTHER or R_SIGRETURN; 0 when max or the end of the
 * stack was reached), and f that frame.
 */
static inline int walk(void **frames, int max, struct frame *f, uint64_t *stop)
{
	const struct lft *t = atomic_load_acquire(&rules);
	int n = 1;

	*stop = 0;
	while (n < max) {
		uint64_t rule = table_rule(&t, f->ra);

		if (unlikely((rule & R_KIND) != R_STEP)) {
			*stop = rule;
			return n;
		}
		if (unlikely(!step(rule, f))) {
			*stop = R_OTHER;
			return n;
		}
		if (f->ra < 0x4000)
			break;
		frames[n++] = (void *)f->ra;
	}
	return n;
}

static inline bool is_sigreturn_rule(uint64_t rule)
{
	return (rule & ~R_TAG(~0ull)) == R_SIGRETURN;
}

/*
 * The walk past a signal frame, where walk() stopped (rule R_SIGRETURN, f
 * the handler's caller, the kernel's frame: its CFA is the ucontext): on
 * from the interrupted registers, as libunwind goes.  The interrupted pc
 * is not a return address (it was not a call): its rule is the one at pc
 * itself, which the table keeps under pc + 1 (the key is always one past
 * the row it holds).  heaptrace's own frames are left out: the trampoline
 * that called the handler, a hook the signal interrupted.  Out of line,
 * off the hot path; *other as for cfi_backtrace().
 */
static NOINLINE int walk_signal(void **frames, int max, int n, uint64_t rule, struct frame f,
				bool *other)
{
	const struct lft *t = atomic_load_acquire(&rules);

	while (is_sigreturn_rule(rule)) {
		const greg_t *regs = ((const ucontext_t *)f.sp)->uc_mcontext.gregs;

		n = drop_own(frames, n);
		f = (struct frame){ (uintptr_t)regs[REG_RIP], (uintptr_t)regs[REG_RSP],
				    (uintptr_t)regs[REG_RBP] };
		if (f.ra < 0x4000)
			return n;
		if (!is_own(f.ra))
			frames[n++] = (void *)f.ra;
		if (n >= max)
			return n;
		for (rule = table_rule(&t, f.ra + 1); (rule & R_KIND) == R_STEP;
		     rule = table_rule(&t, f.ra)) {
			if (!step(rule, &f)) {
				*other = true;
				return n;
			}
			if (f.ra < 0x4000)
				return n;
			if (is_own(f.ra))
				continue;
			frames[n++] = (void *)f.ra;
			if (n >= max)
				return n;
		}
	}
	*other = (rule & R_KIND) == R_OTHER;
	return n;
}

/*
 * unw_backtrace() from the hook on (hook: cfi_backtrace()'s return
 * address, found among the first LEAD_FRAMES: by_libunwind()'s, perhaps
 * check_walk()'s and cfi_backtrace()'s come before it), without
 * heaptrace's own frames past the hook, as the walk gives them; all[] has
 * room for max of them.  Out of line (by_libunwind()), so that the walk's
 * frame does not hold these arrays; a few more frames are asked for in
 * place of the own frames dropped.
 */
#define LEAD_FRAMES 4
#define OWN_FRAMES_MAX 16

static inline __attribute__((always_inline)) int libunwind_into(void **all, void **frames,
								 int max, uintptr_t hook)
{
	int n = unw_backtrace(all, LEAD_FRAMES + max + OWN_FRAMES_MAX), at = 0;

	while (at < n && at < LEAD_FRAMES && (uintptr_t)all[at] != hook)
		at++;
	if (at >= n || (uintptr_t)all[at] != hook)
		return 0;
	find_own();
	n = drop_own(all + at, n - at);
	n = n < max ? n : max;
	memcpy(frames, all + at, (size_t)n * sizeof(void *));
	return n;
}

/* Up to the build's DEPTH and one more: the stack it always took. */
#define SHALLOW_FRAMES (HT_DEPTH + 1)

/* A deeper --depth: up to 2.2 KB more, where libunwind has its room anyway. */
static NOINLINE int by_libunwind_deep(void **frames, int max, uintptr_t hook)
{
	void *all[LEAD_FRAMES + CFI_MAX_FRAMES + OWN_FRAMES_MAX];

	return libunwind_into(all, frames, max, hook);
}

static NOINLINE int by_libunwind(void **frames, int max, uintptr_t hook)
{
	void *all[LEAD_FRAMES + SHALLOW_FRAMES + OWN_FRAMES_MAX];

	return libunwind_into(all, frames, max, hook);
}

/* Inlined: the hook must stay among the first frames libunwind_into() reads. */
static inline __attribute__((always_inline)) int by_libunwind_any(void **frames, int max,
								   uintptr_t hook)
{
	return max > SHALLOW_FRAMES ? by_libunwind_deep(frames, max, hook)
				    : by_libunwind(frames, max, hook);
}

static struct {
	uint64_t backtraces, walked, differ;
	bool reported;
	void *ours[CFI_MAX_FRAMES], *theirs[CFI_MAX_FRAMES];
	int n_ours, n_theirs;
} check;

static void check_reset(void)
{
	memset(&check, 0, sizeof(check));
}

/* --unwind=check: libunwind's backtrace against the walk's (n frames, -1: none). */
static void check_one(void **walked, int n, void **theirs, int m)
{
	atomic_fetch_add_relaxed(&check.backtraces, 1);
	if (n < 0)
		return;
	atomic_fetch_add_relaxed(&check.walked, 1);
	if (n == m && !memcmp(walked, theirs, (size_t)n * sizeof(void *)))
		return;
	if (atomic_fetch_add_relaxed(&check.differ, 1) == 0) {
		memcpy(check.ours, walked, (size_t)n * sizeof(void *));
		memcpy(check.theirs, theirs, (size_t)m * sizeof(void *));
		check.n_ours = n;
		check.n_theirs = m;
	}
}

/*
 * --unwind=check: libunwind's backtrace (which it gives) against the walk's
 * n frames.  Out of line, so that the walk's frame does not hold theirs[].
 */
static NOINLINE int check_walk(void **frames, int n, int max, uintptr_t hook)
{
	void *theirs[CFI_MAX_FRAMES];
	int m = by_libunwind_any(theirs, max, hook);

	check_one(frames, n, theirs, m);
	memcpy(frames, theirs, (size_t)m * sizeof(void *));
	return m;
}

/* Why libunwind must not take this backtrace (HT_CUT_NONE: it may). */
static enum ht_cut libunwind_unsafe(bool crossed_signal, int max)
{
	/* by_libunwind_deep()'s array on top of libunwind's own needs */
	size_t deep = max > SHALLOW_FRAMES ? (CFI_MAX_FRAMES - SHALLOW_FRAMES) * sizeof(void *) : 0;

	if (crossed_signal || ht_self.signal)
		return HT_CUT_HANDLER;
	if (stack_room() < HT_STACK_LIBUNWIND + deep)
		return HT_CUT_STACK;
	return HT_CUT_NONE;
}

/*
 * The backtrace from the caller of cfi_backtrace() or cfi_backtrace_check()
 * (its return address ra, rsp and rbp), inlined into each with check a
 * constant: an argument kept across the walk cost 13 instructions per
 * backtrace (callgrind).
 */
static inline __attribute__((always_inline)) int backtrace_from(void **frames, int max,
								 enum ht_cut *cut, bool check,
								 uintptr_t ra, uintptr_t sp,
								 uintptr_t fp)
{
	bool other = true, crossed = false;
	enum ht_cut why;
	int n = 0;

	if (max > CFI_MAX_FRAMES)
		max = CFI_MAX_FRAMES;
	if (max < 1)
		return 0;
	if (likely(!no_table)) {
		struct frame f = { ra, sp, fp };
		uint64_t stop;

		frames[0] = (void *)ra;
		n = walk(frames, max, &f, &stop);
		other = (stop & R_KIND) == R_OTHER;
		if (unlikely(is_sigreturn_rule(stop))) {
			crossed = true;
			other = false;
			n = walk_signal(frames, max, n, stop, f, &other);
		}
	}
	if (unlikely(check))
		return check_walk(frames, other ? -1 : n, max, ra);
	if (likely(!other))
		return n;
	if ((why = libunwind_unsafe(crossed, max))) {
		*cut = why;
		return n;
	}
	return by_libunwind_any(frames, max, ra);
}

/*
 * The caller's rsp is this frame's CFA; its rbp is saved under ours
 * (asking for the frame address gives this function a frame pointer,
 * whatever the flags).
 */
#define BACKTRACE_FROM_CALLER(frames, max, cut, check)                                       \
	backtrace_from(frames, max, cut, check, (uintptr_t)__builtin_return_address(0),      \
		       (uintptr_t)__builtin_dwarf_cfa(),                                     \
		       *(const uintptr_t *)__builtin_frame_address(0))

NOINLINE int cfi_backtrace(void **frames, int max, enum ht_cut *cut)
{
	return BACKTRACE_FROM_CALLER(frames, max, cut, false);
}

NOINLINE int cfi_backtrace_check(void **frames, int max, enum ht_cut *cut)
{
	return BACKTRACE_FROM_CALLER(frames, max, cut, true);
}

bool cfi_outermost(void *ra)
{
	const struct lft *t = atomic_load_acquire(&rules);

	return likely(!no_table) && (table_rule(&t, (uintptr_t)ra) & R_KIND) == R_LAST;
}

void cfi_check_report(void)
{
	char line[2048];
	struct sbuf sb = SBUF_INIT(line);

	if (check.reported)
		return;
	check.reported = true;
	sb_printf(&sb, "unwind check: %llu backtraces, %llu walked from .eh_frame, %llu differ",
		  (unsigned long long)check.backtraces, (unsigned long long)check.walked,
		  (unsigned long long)check.differ);
	if (check.differ) {
		sb_puts(&sb, "; first: walked");
		for (int i = 0; i < check.n_ours; i++)
			sb_printf(&sb, " %p", check.ours[i]);
		sb_puts(&sb, "; libunwind");
		for (int i = 0; i < check.n_theirs; i++)
			sb_printf(&sb, " %p", check.theirs[i]);
	}
	ht_warn("%s", sb_str(&sb));
}
