// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * unit-cfi.c - the default unwinder's pieces: the call-frame instructions
 * run to the row of an address and the rule drawn from it (every rule the
 * walk takes, and every kind it must leave to libunwind), the pointer
 * encodings and the .eh_frame_hdr search, CIE augmentations, the table of
 * rules (tags, growth, forgetting), and a walk of this program's own stack
 * against libunwind's.
 *
 * The instruction bytes are written by hand, as a compiler would emit
 * them for x86-64 (code alignment 1, data alignment -8), and read from a
 * copy of exactly their size, so that AddressSanitizer sees a read past
 * their end; malformed ones (test_malformed) must give "cannot walk".
 */
#define _GNU_SOURCE
#include <signal.h>

#include "../utils.c"
#include "../lib/tmem.c"
#include "../lib/cfi.c"
#include "unit.h"

HT_TLS struct ht_thread ht_self;
void ht_drain(void) {} /* nothing is ever queued here */

/* The x86-64 CIE: CFA = rsp + 8, return address at CFA - 8. */
static const uint8_t CIE_INSNS[] = { 0x0c, 7, 8, 0x90, 1 };

/* A heap copy of exactly n bytes (free()d by the caller). */
static uint8_t *exact_copy(const void *p, size_t n)
{
	uint8_t *copy = malloc(n);

	memcpy(copy, p, n);
	return copy;
}

/* The rule at pc of an FDE starting at 0x1000 with these instructions. */
static uint64_t rule_at(const uint8_t *insns, size_t len, uintptr_t pc)
{
	uint8_t *cie = exact_copy(CIE_INSNS, sizeof(CIE_INSNS)), *fde = exact_copy(insns, len);
	struct fde_info fi = {
		.code_align = 1,
		.data_align = -8,
		.cie_insns = cie,
		.cie_end = cie + sizeof(CIE_INSNS),
		.insns = fde,
		.end = fde + len,
		.start = 0x1000,
	};
	uint64_t rule = read_rule(&fi, pc);

	free(cie);
	free(fde);
	return rule;
}

#define RULE_AT(insns, pc) rule_at(insns, sizeof(insns), pc)

/* push %rbp; mov %rsp,%rbp; ... an epilogue between remember and restore */
static void test_prologue_and_epilogue(void)
{
	static const uint8_t f[] = {
		0x41,          /* advance 1: after push %rbp */
		0x0e, 16,      /* def_cfa_offset 16 */
		0x86, 2,       /* rbp at CFA - 16 */
		0x43,          /* advance 3: after mov %rsp,%rbp */
		0x0d, 6,       /* def_cfa_register rbp */
		0x4a,          /* advance 10: the epilogue of an early return */
		0x0a,          /* remember_state */
		0x0c, 7, 8,    /* def_cfa rsp + 8 (after pop %rbp) */
		0xc6,          /* restore rbp */
		0x41,          /* advance 1: the code after that return */
		0x0b,          /* restore_state */
		0x03, 0x00, 0x01, /* advance_loc2 256 */
		0x2e, 16,      /* GNU_args_size: ignored */
	};
	uint64_t framed = RULE(R_STEP | R_RBP_SAVED | R_FROM_RBP, 16, -16);

	CHECK_EQ(RULE_AT(f, 0x1000), RULE(R_STEP, 8, 0));
	CHECK_EQ(RULE_AT(f, 0x1001), RULE(R_STEP | R_RBP_SAVED, 16, -16));
	CHECK_EQ(RULE_AT(f, 0x1003), RULE(R_STEP | R_RBP_SAVED, 16, -16));
	CHECK_EQ(RULE_AT(f, 0x1004), framed);
	CHECK_EQ(RULE_AT(f, 0x100d), framed);
	CHECK_EQ(RULE_AT(f, 0x100e), RULE(R_STEP, 8, 0));
	CHECK_EQ(RULE_AT(f, 0x100f), framed);
	CHECK_EQ(RULE_AT(f, 0x1200), framed);
}

/* rsp-based frames: the CFA moves with every push */
static void test_pushes(void)
{
	static const uint8_t f[] = {
		0x42, 0x0e, 16, 0x8f, 2, /* push %r15 */
		0x42, 0x0e, 24, 0x86, 3, /* push %rbp */
		0x41, 0x0e, 64,          /* sub $40,%rsp */
	};

	CHECK_EQ(RULE_AT(f, 0x1001), RULE(R_STEP, 8, 0));
	CHECK_EQ(RULE_AT(f, 0x1002), RULE(R_STEP, 16, 0));
	CHECK_EQ(RULE_AT(f, 0x1004), RULE(R_STEP | R_RBP_SAVED, 24, -24));
	CHECK_EQ(RULE_AT(f, 0x1005), RULE(R_STEP | R_RBP_SAVED, 64, -24));
}

/* What the walk leaves to libunwind, and where the stack ends. */
static void test_other_and_last(void)
{
	static const uint8_t cfa_expr[] = { 0x41, 0x0f, 3, 0x76, 0x78, 0x06 };
	static const uint8_t rbp_expr[] = { 0x41, 0x10, 6, 2, 0x76, 0x00 };
	static const uint8_t rbx_expr[] = { 0x41, 0x10, 3, 2, 0x76, 0x70 };
	static const uint8_t cfa_r10[] = { 0x41, 0x0c, 10, 0 };
	static const uint8_t ra_moved[] = { 0x41, 0x90, 2 };
	static const uint8_t rbp_in_reg[] = { 0x41, 0x09, 6, 3 };
	static const uint8_t rsp_saved[] = { 0x41, 0x87, 2 };
	/* rbp at CFA + 24000: past the 14 bits libunwind's fast path keeps */
	static const uint8_t rbp_far[] = { 0x41, 0x11, 6, 0xc8, 0x68 };
	static const uint8_t reg17[] = { 0x41, 0x91, 2 };
	static const uint8_t val_offset[] = { 0x41, 0x14, 3, 2 };
	static const uint8_t underflow[] = { 0x41, 0x0b };
	static const uint8_t huge_cfa[] = { 0x41, 0x0e, 0x80, 0x80, 0x80, 0x80, 0x01 };
	static const uint8_t set_loc[] = { 0x01, 0, 0x10, 0, 0, 0, 0, 0, 0 };
	static const uint8_t ra_undef[] = { 0x41, 0x07, 16 };
	static const uint8_t rbp_undef[] = { 0x41, 0x07, 6 };
	static const uint8_t rbx_saved[] = { 0x41, 0x83, 2, 0x09, 12, 13, 0x07, 14 };
	uint8_t deep[10];

	CHECK_EQ(RULE_AT(cfa_expr, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(cfa_expr, 0x1000), RULE(R_STEP, 8, 0)); /* not yet */
	CHECK_EQ(RULE_AT(rbp_expr, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(rbx_expr, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(cfa_r10, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(ra_moved, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(rbp_in_reg, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(rsp_saved, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(rbp_far, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(reg17, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(val_offset, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(underflow, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(huge_cfa, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(set_loc, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(ra_undef, 0x1001), R_LAST);
	CHECK_EQ(RULE_AT(rbp_undef, 0x1001), R_LAST);
	/* other registers saved, moved or undefined: nothing to the walk */
	CHECK_EQ(RULE_AT(rbx_saved, 0x1001), RULE(R_STEP, 8, 0));
	/* more nested remember_state than kept */
	deep[0] = 0x41;
	memset(deep + 1, 0x0a, sizeof(deep) - 1);
	CHECK_EQ(RULE_AT(deep, 0x1001), R_OTHER);
}

static void test_pointers(void)
{
	static const uint8_t b[] = { 0xfc, 0xff, 0xff, 0xff, 0x34, 0x12, 0xe5, 0x8e, 0x26, 0x7f };
	struct reader r = { .p = b, .end = b + sizeof(b) };

	CHECK_EQ(rd_pointer(&r, 0x1b, 0), (uintptr_t)b - 4); /* pcrel sdata4 */
	CHECK_EQ(rd_pointer(&r, 0x02, 0), 0x1234);           /* udata2 */
	CHECK_EQ(rd_pointer(&r, 0x01, 0), 624485);           /* uleb128 */
	CHECK_EQ(rd_pointer(&r, 0x09, 0), (uint64_t)-1);     /* sleb128 */
	CHECK(!r.bad);
	r.p = b;
	CHECK_EQ(rd_pointer(&r, 0x3b, 0x5000), 0x5000 - 4); /* datarel */
	rd_pointer(&r, 0x9b, 0);                            /* indirect */
	CHECK(r.bad);
}

/* .eh_frame_hdr with three FDEs at 0x100, 0x200 and 0x300 past it */
static void test_hdr_search(void)
{
	int32_t hdr[3 + 2 * 3] = { 0 };
	const uint8_t *h = (const uint8_t *)hdr;
	uintptr_t base = (uintptr_t)hdr;

	memcpy(hdr, (const uint8_t[]){ 1, 0x1b, 0x03, 0x3b }, 4);
	hdr[2] = 3;
	for (int i = 0; i < 3; i++) {
		hdr[3 + 2 * i] = 0x100 * (i + 1);
		hdr[4 + 2 * i] = 0x1000 + i;
	}
	CHECK(hdr_search(h, h + sizeof(hdr), base + 0xff) == NULL);
	CHECK(hdr_search(h, h + sizeof(hdr), base + 0x100) == h + 0x1000);
	CHECK(hdr_search(h, h + sizeof(hdr), base + 0x2ff) == h + 0x1001);
	CHECK(hdr_search(h, h + sizeof(hdr), base + 0x300) == h + 0x1002);
	CHECK(hdr_search(h, h + sizeof(hdr), base + 0x100000) == h + 0x1002);
	((uint8_t *)hdr)[3] = 0x03; /* a table in another encoding */
	CHECK(hdr_search(h, h + sizeof(hdr), base + 0x200) == NULL);
}

/* A CIE: length, id 0, version 1, augmentation, alignments, RA column, data. */
static bool cie_read(const char *aug, const uint8_t *data, size_t n, uint8_t ra, uint8_t *enc,
		     struct fde_info *out)
{
	uint8_t cie[64] = { 0 };
	size_t at = 9;
	struct fde_info fi;

	cie[8] = 1;
	memcpy(cie + at, aug, strlen(aug) + 1);
	at += strlen(aug) + 1;
	cie[at++] = 1;    /* code alignment */
	cie[at++] = 0x78; /* data alignment -8 */
	cie[at++] = ra;
	memcpy(cie + at, data, n);
	at += n;
	memcpy(cie + at, CIE_INSNS, sizeof(CIE_INSNS));
	at += sizeof(CIE_INSNS);
	cie[0] = (uint8_t)(at - 4);
	if (!read_cie(cie, cie + sizeof(cie), &fi, enc))
		return false;
	CHECK(fi.cie_insns == cie + at - sizeof(CIE_INSNS));
	CHECK_EQ(fi.data_align, (uint64_t)-8);
	*out = fi;
	return true;
}

static bool cie_ok(const char *aug, const uint8_t *data, size_t n, uint8_t ra, uint8_t *enc)
{
	struct fde_info fi;

	return cie_read(aug, data, n, ra, enc, &fi) && !fi.signal;
}

static void test_cie(void)
{
	struct fde_info fi;
	uint8_t enc = 0;

	CHECK(cie_ok("zR", (const uint8_t[]){ 1, 0x1b }, 2, 16, &enc));
	CHECK_EQ(enc, 0x1b);
	/* personality (indirect pcrel sdata4), LSDA, FDE encoding */
	CHECK(cie_ok("zPLR", (const uint8_t[]){ 7, 0x9b, 1, 2, 3, 4, 0x1b, 0x1b }, 8, 16, &enc));
	CHECK_EQ(enc, 0x1b);
	/* the signal return's: walked past by the ucontext (test_signal_frame) */
	CHECK(cie_read("zRS", (const uint8_t[]){ 1, 0x1b }, 2, 16, &enc, &fi) && fi.signal);
	CHECK(!cie_ok("zRS", (const uint8_t[]){ 1, 0x1b }, 2, 16, &enc));
	CHECK(!cie_ok("zR", (const uint8_t[]){ 1, 0x1b }, 2, 15, &enc));  /* another RA column */
	CHECK(!cie_ok("eh", (const uint8_t[]){ 0 }, 0, 16, &enc));
}

/* A CIE of exactly these bytes (after its length word), read. */
static bool cie_bytes(const uint8_t *body, size_t n)
{
	uint8_t *cie = malloc(4 + n), enc;
	struct fde_info fi;
	bool ok;

	memcpy(cie, &(uint32_t){ (uint32_t)n }, 4);
	memcpy(cie + 4, body, n);
	ok = read_cie(cie, cie + 4 + n, &fi, &enc);
	free(cie);
	return ok;
}

/*
 * Call-frame information that is not what a compiler emits: every read
 * stays inside it (AddressSanitizer), no arithmetic overflows
 * (UndefinedBehaviorSanitizer), and the rule is "cannot walk".
 */
static void test_malformed(void)
{
	/* a LEB128 number whose last byte still says "more" */
	static const uint8_t leb_cut[] = { 0x41, 0x0e, 0x80, 0x80 };
	static const uint8_t leb_cut2[] = { 0x41, 0x86 };
	/* rbp at a factor of 2^62 (times -8), and CFA at sleb -2^62 * -8 */
	static const uint8_t huge_uleb[] = { 0x41, 0x86, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					     0x80, 0x80, 0x40 };
	static const uint8_t huge_sleb[] = { 0x41, 0x13, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					     0x80, 0x80, 0x40 };
	/* an expression longer than what is left */
	static const uint8_t expr_long[] = { 0x41, 0x10, 3, 0x7f, 0x00 };
	/* CFA at rsp + 13: between the stack's words */
	static const uint8_t cfa_odd[] = { 0x41, 0x0e, 13 };
	/* CIEs: id 0, version 1, then an augmentation without its NUL ... */
	static const uint8_t aug_open[] = { 0, 0, 0, 0, 1, 'z', 'R' };
	/* ... code alignment cut short ... */
	static const uint8_t code_cut[] = { 0, 0, 0, 0, 1, 0, 0x81 };
	/* ... augmentation data longer than the CIE */
	static const uint8_t aug_long[] = { 0, 0, 0, 0, 1, 'z', 'R', 0, 1, 0x78, 16, 0x7f, 0x1b };
	/* .eh_frame_hdr whose count says more entries than it holds */
	static const int32_t hdr_over[] = { 0, 0, 1000, 0x100, 0x1000 };
	uint8_t *h;

	CHECK_EQ(RULE_AT(leb_cut, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(leb_cut2, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(huge_uleb, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(huge_sleb, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(expr_long, 0x1001), R_OTHER);
	CHECK_EQ(RULE_AT(cfa_odd, 0x1001), R_OTHER);
	CHECK(!cie_bytes(aug_open, sizeof(aug_open)));
	CHECK(!cie_bytes(code_cut, sizeof(code_cut)));
	CHECK(!cie_bytes(aug_long, sizeof(aug_long)));
	h = exact_copy(hdr_over, sizeof(hdr_over));
	memcpy(h, (const uint8_t[]){ 1, 0x1b, 0x03, 0x3b }, 4);
	CHECK(hdr_search(h, h + sizeof(hdr_over), (uintptr_t)h + 0x200) == NULL);
	CHECK(hdr_search(h, h + 3, (uintptr_t)h + 0x200) == NULL);
	free(h);
}

/* The table: tags, growth at half full, forgetting. */
static void test_table(void)
{
	uint64_t state = 7;
	uintptr_t pcs[3000];

	CHECK(rules == NULL);
	for (int i = 0; i < 3000; i++) {
		pcs[i] = 0x400000 + (unit_rand(&state) & 0xffffff);
		spin_lock(&learn_lock);
		if (!(rules && table_get(rules, pcs[i])) && table_room())
			table_put(rules, pcs[i], RULE(R_STEP, 8 * (pcs[i] & 15), 0) | R_TAG(pcs[i]));
		spin_unlock(&learn_lock);
	}
	CHECK_EQ(rules->mask + 1, 8192); /* 4096, doubled at half full */
	for (int i = 0; i < 3000; i++)
		CHECK_EQ(table_get(rules, pcs[i]), RULE(R_STEP, 8 * (pcs[i] & 15), 0) | R_TAG(pcs[i]));
	CHECK_EQ(table_get(rules, 0x399999), 0);
	/* a slot taken by another address under this one's reader: not taken */
	spin_lock(&learn_lock);
	for (size_t i = 0; i <= rules->mask; i++)
		if (lft_slot(rules, i, SLOT_WIDTH)[SLOT_PC] == pcs[0])
			lft_slot(rules, i, SLOT_WIDTH)[SLOT_RULE] = R_STEP | R_TAG(pcs[0] + 1);
	spin_unlock(&learn_lock);
	CHECK_EQ(table_get(rules, pcs[0]), 0);
	cfi_forget();
	CHECK_EQ(rules->used, 0);
	for (int i = 0; i < 3000; i++)
		CHECK_EQ(table_get(rules, pcs[i]), 0);
	CHECK_EQ(ht_self.locks, 0);
}

/* This program's own stack, walked and by libunwind, from nested calls:
 * up to nested_max frames. */
static int nested_max = HT_DEPTH + 1;
static bool checking; /* --unwind=check */

static NOINLINE int nested(int depth)
{
	void *frames[CFI_MAX_FRAMES];
	enum ht_cut cut = HT_CUT_NONE;
	int n;

	if (depth > 0)
		return nested(depth - 1) + 1;
	n = checking ? cfi_backtrace_check(frames, nested_max, &cut)
		     : cfi_backtrace(frames, nested_max, &cut);
	__asm__ volatile("" ::: "memory");
	return n;
}

static void test_walk(void)
{
	cfi_forget();
	checking = true;
	for (int d = 0; d < 12; d++)
		CHECK(nested(d) >= (d + 2 < nested_max ? d + 2 : nested_max));
	/* deeper than the build's DEPTH (--depth), up to the most there is */
	nested_max = CFI_MAX_FRAMES;
	CHECK(nested(40) - 40 >= 42); /* nested() adds one per call */
	CHECK_EQ(nested(300) - 300, CFI_MAX_FRAMES);
	nested_max = HT_DEPTH + 1;
	CHECK_EQ(check.backtraces, 14);
	CHECK_EQ(check.walked, 14);
	CHECK_EQ(check.differ, 0);
	checking = false;
}

/*
 * Through the kernel's signal frame: a handler's backtrace goes on from
 * the interrupted code (here, inside raise()) as libunwind's does.
 */
static int in_handler;

static void on_signal(int signo)
{
	(void)signo;
	in_handler = nested(0);
}

static void test_signal_frame(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	cfi_forget();
	memset(&check, 0, sizeof(check));
	checking = true;
	raise(SIGUSR1);
	CHECK_EQ(check.backtraces, 1);
	CHECK_EQ(check.walked, 1);
	CHECK_EQ(check.differ, 0);
	CHECK_EQ(in_handler, HT_DEPTH + 1);
	checking = false;
}

int main(void)
{
	unit_watchdog(60);
	/* cfi.c is linked into this program: none of its frames are to be
	 * left out as heaptrace's own (an empty range, found already) */
	own_found = true;
	test_prologue_and_epilogue();
	test_pushes();
	test_other_and_last();
	test_pointers();
	test_hdr_search();
	test_cie();
	test_malformed();
	test_table();
	test_walk();
	test_signal_frame();
	return unit_done("unit-cfi");
}
