// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * unwind.c - taking a backtrace (see unwind.h): the --unwind method, the
 * frame-pointer walk with its checks, and libunwind's set-up with our own
 * memory reader (which also tells a sandbox).  The .eh_frame walk is
 * cfi.c's.  Everything here runs inside allocation hooks, before any lock
 * of the table is taken: no malloc, no formatting, system calls only to
 * check a page never seen before.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include "atomic.h"
#include "cfi.h"
#include "guard.h"
#include "unwind.h"

enum ht_unwinder unwind_method;
bool unwind_sandboxed;

/*
 * libunwind validates addresses before it reads them on its slow path (a
 * frame not yet in its per-thread cache): with mincore() and by writing the
 * byte to a pipe it opens at start-up and keeps.  Those are two descriptors
 * the program did not open, and a daemon that closes "all" descriptors and
 * opens new ones under the same numbers would have libunwind read from and
 * write to its files.  So libunwind gets our memory reader instead, which
 * checks a page once with process_vm_readv() (no descriptor; where a
 * sandbox forbids it, with mincore()) and remembers the last few good pages
 * per thread, as libunwind does.
 */
#define GOOD_PAGES 4
static HT_TLS uintptr_t good_page[GOOD_PAGES];
static HT_TLS unsigned good_next;
static HT_TLS uintptr_t last_page; /* the page access_mem read last */
static pid_t self_pid;

/* Check a page the slow way and remember it. */
static NOINLINE bool page_readable(uintptr_t page)
{
	char buf[1];
	struct iovec local = { buf, 1 }, remote = { (void *)page, 1 };

	if (page == 0)
		return false;
	for (int i = 0; i < GOOD_PAGES; i++)
		if (good_page[i] == page)
			return true;
	if (process_vm_readv(self_pid, &local, 1, &remote, 1, 0) != 1) {
		unsigned char vec;

		/* a sandbox may forbid the call: then at least require a mapping */
		if (errno != EPERM && errno != ENOSYS)
			return false;
		if (mincore((void *)page, 1, &vec)) {
			if (errno == EPERM || errno == ENOSYS)
				atomic_store_relaxed(&unwind_sandboxed, true);
			return false;
		}
	}
	good_page[good_next++ % GOOD_PAGES] = page;
	return true;
}

/*
 * libunwind reads a couple of words per backtrace through here, nearly
 * always in the page it read last (its own context, on this stack).
 */
static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write,
		      void *arg)
{
	uintptr_t first = addr & ~(uintptr_t)4095, last = (addr + sizeof(*val) - 1) & ~(uintptr_t)4095;

	(void)as;
	(void)arg;
	if (write) {
		*(unw_word_t *)addr = *val;
		return 0;
	}
	if (unlikely(first != last_page || last != first)) {
		/* an unaligned word may straddle two pages: check both */
		if (!page_readable(first) || !page_readable(last))
			return -UNW_EINVAL;
		last_page = last;
	}
	*val = *(unw_word_t *)addr;
	return 0;
}

/* A word of the stack, if its page is known readable (see access_mem). */
static inline bool read_word(uintptr_t addr, uintptr_t *val)
{
	uintptr_t page = addr & ~(uintptr_t)4095;

	if (unlikely(page != last_page)) {
		if (!page_readable(page))
			return false;
		last_page = page;
	}
	*val = *(const uintptr_t *)addr;
	return true;
}

/*
 * What --unwind=fp takes for a return address: one inside the executable
 * segment of a loaded object.  Each thread keeps the last CODE_RANGES such
 * segments it met (a compare each) and finds another one the way cfi.c
 * finds an address's object, with _dl_find_object (no lock), reading the
 * segment from the object's program headers.  dlclose() empties every
 * thread's list (fp_forget()): code may go, and data come in its place.
 */
#define CODE_RANGES 8
struct code_range {
	uintptr_t lo, size;
};
static HT_TLS struct code_range code_range[CODE_RANGES];
static HT_TLS unsigned code_next, code_epoch_seen;
static unsigned code_epoch;

static void fp_forget(void)
{
	atomic_fetch_add_relaxed(&code_epoch, 1);
}

/*
 * Relaxed: a walk that runs while another thread unloads a library may
 * still take an address of that library's code as code; no live frame
 * returns there, so only a word of data that happens to point there
 * would be mistaken for a frame, as before the library went.
 */
static inline void code_ranges_check_epoch(void)
{
	unsigned epoch = atomic_load_relaxed(&code_epoch);

	if (unlikely(epoch != code_epoch_seen)) {
		memset(code_range, 0, sizeof(code_range));
		code_epoch_seen = epoch;
	}
}

#ifdef HAVE_DL_FIND_OBJECT
/* len bytes at addr, in pages known readable (a few, at most). */
static bool bytes_readable(uintptr_t addr, size_t len)
{
	for (uintptr_t page = addr & ~(uintptr_t)4095; page < addr + len; page += 4096)
		if (!page_readable(page))
			return false;
	return true;
}

/*
 * The executable PT_LOAD segment that holds pc, from the program headers
 * of pc's object: the ELF header starts its first mapped page (the loader
 * maps every object from file offset 0), and is read only where it is
 * readable and says it is one.
 */
static bool code_segment(uintptr_t pc, struct code_range *out)
{
	struct dl_find_object obj;
	const ElfW(Ehdr) *eh;
	const ElfW(Phdr) *ph;
	uintptr_t start, span;

	if (_dl_find_object((void *)pc, &obj) != 0 || !obj.dlfo_link_map)
		return false;
	start = (uintptr_t)obj.dlfo_map_start;
	span = (uintptr_t)obj.dlfo_map_end - start;
	eh = (const ElfW(Ehdr) *)start;
	if (span < sizeof(*eh) || !bytes_readable(start, sizeof(*eh)) ||
	    memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_phentsize != sizeof(*ph) ||
	    eh->e_phoff > span || eh->e_phnum > (span - eh->e_phoff) / sizeof(*ph) ||
	    !bytes_readable(start + eh->e_phoff, eh->e_phnum * sizeof(*ph)))
		return false;
	ph = (const ElfW(Phdr) *)(start + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		uintptr_t lo = obj.dlfo_link_map->l_addr + ph[i].p_vaddr;

		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & PF_X) && pc - lo < ph[i].p_memsz) {
			*out = (struct code_range){ lo, ph[i].p_memsz };
			return true;
		}
	}
	return false;
}
#else
/* No lock-free way to find an address's object: nothing is taken as code. */
static bool code_segment(uintptr_t pc, struct code_range *out)
{
	(void)pc;
	(void)out;
	return false;
}
#endif

/* First sight of pc's segment on this thread: find it and keep it. */
static NOINLINE bool code_learn(uintptr_t pc)
{
	struct code_range r;

	if (!code_segment(pc, &r))
		return false;
	code_range[code_next++ % CODE_RANGES] = r;
	return true;
}

/* Is ra a return address into code?  The call is the byte before it. */
static inline bool is_code(uintptr_t ra)
{
	for (int i = 0; i < CODE_RANGES; i++)
		if (ra - 1 - code_range[i].lo < code_range[i].size)
			return true;
	return ra > 4096 && code_learn(ra - 1);
}

/*
 * The top of this thread's own stack, as pthread_getattr_np() tells it,
 * without asking: glibc puts a thread's descriptor (pthread_self()) at
 * the top of the stack it makes or is given, above every frame, and the
 * main thread's descriptor elsewhere, below its stack, whose frames are
 * all below __libc_stack_end (where the kernel started it).  A thread
 * made otherwise may find a bound too high (the other checks still hold)
 * or too low (its backtraces are the default unwinder's).
 */
extern void *__libc_stack_end;

/* sp: an address in the thread's own stack (the hook's frame) */
static inline uintptr_t stack_top(uintptr_t sp)
{
	uintptr_t self = (uintptr_t)pthread_self();

	return self > sp ? self : (uintptr_t)__libc_stack_end;
}

/*
 * Each frame holds the caller's frame pointer and, above it, the return
 * address.  The walk takes a chain that climbs the thread's stack, from
 * the hook's frame to below its top, in frames of less than FP_MAX_FRAME
 * at 16-byte-aligned addresses (the ABI aligns the stack so for every
 * call), whose every return address is in code, for max frames or to a
 * NULL frame pointer in the stack's outermost frame (_start's, a thread's
 * first: the ABI's end of the chain, which the call-frame rules confirm).
 * A NULL elsewhere is a function without frame pointer that holds 0 in
 * the register (Debian's libc, whose start-up code ends every stack), and
 * the backtrace would stop short there.  Anything else is a register that
 * held something other than a frame pointer.  Then 0, and the default
 * unwinder takes the backtrace from the start: it cannot go on from where
 * the chain broke (frames without a frame pointer are found from the
 * stack pointer, which the chain does not give), and the frames before
 * the break may be data that only looked like a chain.  On a small stack
 * heaptrace knows (a makecontext() stack, guard.h) the thread's bounds do
 * not hold, and the default unwinder takes every backtrace.
 */
#define FP_MAX_FRAME (1u << 20)
#define FP_ALIGN (2 * sizeof(void *))
int unwind_walk_fp(void **frames, int max, void *pc, void *fp)
{
	uintptr_t cur = (uintptr_t)fp;
	int n = 0;

	if (unlikely(ht_self.stack_lo))
		return 0;
	code_ranges_check_epoch();
	frames[n++] = pc;
	while (n < max) {
		uintptr_t next, ret;

		/* aligned before it is read: a word never straddles two pages */
		if ((cur & (FP_ALIGN - 1)) || !read_word(cur, &next) ||
		    !read_word(cur + sizeof(void *), &ret) || !is_code(ret))
			return 0;
		frames[n++] = (void *)ret;
		if (n == max)
			break;
		if (!next) {
			if (!cfi_outermost((void *)ret))
				return 0;
			break;
		}
		if (next <= cur || next - cur >= FP_MAX_FRAME)
			return 0;
		cur = next;
	}
	/* the chain climbs: its last frame is its highest */
	return cur <= stack_top((uintptr_t)fp) - FP_ALIGN ? n : 0;
}


/* After fork() the process that reads its own memory has a new pid. */
void unwind_fork_child(void)
{
	self_pid = getpid();
}

/*
 * libunwind, once: its initialization opens the pipe described above; it
 * runs while no descriptor can be opened, so the pipe stays closed, and
 * with our reader in place libunwind never needs it.  Only what getrlimit()
 * read is put back.
 */
static void libunwind_init(void)
{
	struct rlimit saved, none;
	bool limited;

	self_pid = getpid();
	limited = getrlimit(RLIMIT_NOFILE, &saved) == 0;
	if (limited) {
		none = (struct rlimit){ 0, saved.rlim_max };
		setrlimit(RLIMIT_NOFILE, &none);
	}
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	unw_get_accessors(unw_local_addr_space)->access_mem = access_mem;
	if (limited)
		setrlimit(RLIMIT_NOFILE, &saved);
}

/*
 * Called by the first backtrace's set-up (process_setup(), before any
 * thread of the program exists) with the default, then by start-up (our
 * constructor, which runs process_setup() first) with --unwind: the
 * two never run at once.
 */
void unwind_init(enum ht_unwinder method)
{
	static bool libunwind_ready;

	if (!libunwind_ready) {
		libunwind_init();
		libunwind_ready = true;
	}
	unwind_method = method;
}

void unwind_forget(void)
{
	cfi_forget();
	fp_forget();
}

void unwind_check_report(void)
{
	if (unwind_method == HT_UNWIND_CHECK)
		cfi_check_report();
}
