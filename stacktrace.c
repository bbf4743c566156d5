// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stacktrace.c - the table of unique backtraces and the accounting of blocks
 * against it.  Everything here runs inside allocation hooks: no malloc (tmem
 * only, and only when a table grows), no syscalls, no formatting, no lock
 * held while unwinding.
 *
 * The backtrace table is an open-addressing array of pointers to entries.
 * Look-ups read it without a lock; inserts take bt_lock, and growth
 * publishes a new array while readers may still walk the old one (which is
 * kept: a reader that misses there retries under the lock).  Entries live in
 * chunks addressed by id and are never freed, so a report may read them at
 * any time.  An entry holds --depth frames (bt_size()), so the table's
 * memory follows the depth chosen.
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
#include <time.h>
#include <unistd.h>

#include "stacktrace.h"
#include "utils.h"
#include "lib/addrmap.h"
#include "lib/guard.h"
#include "lib/tmem.h"

#define BT_CHUNK_SHIFT 8
#define BT_CHUNK (1u << BT_CHUNK_SHIFT)
#define BT_MAX_CHUNKS (1u << 16) /* 16M unique backtraces */
#define BT_MIN_SLOTS 1024

struct bt_slots {
	uint32_t mask;
	uint32_t used;
	struct bt *slot[];
};

static struct {
	spinlock_t lock;
	struct bt_slots *slots; /* read with acquire, replaced under lock */
	uint32_t count;         /* entries 0..count-1 are published */
	uint64_t untracked;
	uint64_t missed[2]; /* [release] */
	struct bt *chunks[BT_MAX_CHUNKS];
} tab;

bool bt_unwinder_ready;
bool bt_sandboxed;

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
				__atomic_store_n(&bt_sandboxed, true, __ATOMIC_RELAXED);
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

bool bt_frame_pointers;

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
 * thread's list (bt_fp_forget): code may go, and data come in its place.
 */
#define CODE_RANGES 8
struct code_range {
	uintptr_t lo, size;
};
static HT_TLS struct code_range code_range[CODE_RANGES];
static HT_TLS unsigned code_next, code_epoch_seen;
static unsigned code_epoch;

void bt_fp_forget(void)
{
	__atomic_fetch_add(&code_epoch, 1, __ATOMIC_RELAXED);
}

/*
 * Relaxed: a walk that runs while another thread unloads a library may
 * still take an address of that library's code as code; no live frame
 * returns there, so only a word of data that happens to point there
 * would be mistaken for a frame, as before the library went.
 */
static inline void code_ranges_check_epoch(void)
{
	unsigned epoch = __atomic_load_n(&code_epoch, __ATOMIC_RELAXED);

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
int bt_walk_fp(void **frames, int max, void *pc, void *fp)
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
static void bt_fork_pid(void)
{
	self_pid = getpid();
}

/*
 * Set libunwind up, once, at the first allocation (before any thread of
 * the program exists) or at start-up.  Its initialization opens the pipe
 * described above: it runs while no descriptor can be opened, so the pipe
 * stays closed, and with our reader in place libunwind never needs it.
 * The depth is fixed here too, before the first backtrace is kept.
 */
void bt_unwinder_init(void)
{
	static int started;
	struct rlimit saved, none;
	bool limited;

	if (__atomic_exchange_n(&started, 1, __ATOMIC_ACQ_REL)) {
		while (!__atomic_load_n(&bt_unwinder_ready, __ATOMIC_ACQUIRE))
			cpu_relax();
		return;
	}
	self_pid = getpid();
	/* put back only what was read (saved is undefined if getrlimit failed) */
	limited = getrlimit(RLIMIT_NOFILE, &saved) == 0;
	if (limited) {
		none = (struct rlimit){ 0, saved.rlim_max };
		setrlimit(RLIMIT_NOFILE, &none);
	}
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	unw_get_accessors(unw_local_addr_space)->access_mem = access_mem;
	if (limited)
		setrlimit(RLIMIT_NOFILE, &saved);
	config_depth(); /* before the first backtrace, which may be taken before start-up */
	/* A program an untraced child executes: forward from here on, not
	 * only from our constructor (config.h: ht_process). */
	ht_process.untraced = !config_traced();
	__atomic_store_n(&bt_unwinder_ready, true, __ATOMIC_RELEASE);
}

uint64_t ht_start_ns;

uint64_t ht_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The innermost frames, where backtraces differ most, get a multiplier
 * each: the products are independent and run side by side (a serial chain
 * of multiplies cost more than the rest of the bookkeeping).  Deeper frames
 * are only folded in by xor and sum, which vectorize: at depth 64 hashing
 * them all the first way would cost more than unwinding them.  One mix at
 * the end brings the high bits down.
 */
#define HASH_MUL_FRAMES 16

static inline uint64_t hash_frames(void *const *frames, int n, bool cut)
{
	uint64_t h = (uint64_t)n << 1 | cut, x = 0, sum = 0;
	int i;

	for (i = 0; i < n && i < HASH_MUL_FRAMES; i++)
		h += (uintptr_t)frames[i] * (GOLDEN_RATIO_64 + 2 * (uint64_t)i);
	for (; i < n; i++) {
		x ^= (uintptr_t)frames[i];
		sum += (uintptr_t)frames[i];
	}
	h += x * 0xc2b2ae3d27d4eb4fULL + sum * 0x165667b19e3779f9ULL;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	return h ^ (h >> 32);
}

uint32_t bt_count(void)
{
	return __atomic_load_n(&tab.count, __ATOMIC_ACQUIRE);
}

/* Bytes of an entry with its depth frames: whole cache lines, as its counters have one. */
static inline size_t bt_size(void)
{
	size_t bytes = offsetof(struct bt, frames) + (size_t)ht_cfg.depth * sizeof(void *);

	return (bytes + CACHELINE - 1) & ~(size_t)(CACHELINE - 1);
}

struct bt *bt_get(uint32_t id)
{
	char *chunk = (char *)tab.chunks[id >> BT_CHUNK_SHIFT];

	return (struct bt *)(chunk + (id & (BT_CHUNK - 1)) * bt_size());
}

uint64_t acct_untracked(void)
{
	return __atomic_load_n(&tab.untracked, __ATOMIC_RELAXED);
}

void acct_missed(bool release)
{
	__atomic_add_fetch(&tab.missed[release], 1, __ATOMIC_RELAXED);
}

uint64_t acct_missed_count(bool release)
{
	return __atomic_load_n(&tab.missed[release], __ATOMIC_RELAXED);
}

/* The tables could not grow: say so once, count every block missed. */
static void count_untracked(void)
{
	if (__atomic_add_fetch(&tab.untracked, 1, __ATOMIC_RELAXED) == 1)
		ht_warn("out of memory for the tracer's tables: allocations are no longer all "
			"tracked (the report counts them)");
}

/* ------------------------------------------------------------ the table */

/*
 * What names a backtrace: its frames and, below the depth, whether the
 * unwinder stopped early (cut, see bt_at_least_caller()).  At the depth
 * "truncated" is not part of the name but learned at first sight (see
 * bt_find() in stacktrace.h).
 */
static inline bool key_cut(int n, bool trunc, int depth)
{
	return n < depth && trunc;
}

/* An entry's: cut for any reason but its depth (see cut_reason()). */
static inline bool entry_key_cut(const struct bt *b)
{
	return b->truncated && b->cut_why != HT_CUT_DEPTH;
}

static inline bool same(const struct bt *b, uint64_t h, void *const *frames, int n, bool kc)
{
	if (b->hash != h || b->depth != n || entry_key_cut(b) != kc)
		return false;
	if (n > HASH_MUL_FRAMES) /* long: memcmp's vector loop wins */
		return !memcmp(b->frames, frames, (size_t)n * sizeof(frames[0]));
	for (int i = 0; i < n; i++) /* a few words: cheaper inline than memcmp */
		if (b->frames[i] != frames[i])
			return false;
	return true;
}

/* kc: key_cut() of the frames looked for */
static inline struct bt *lookup(const struct bt_slots *t, uint64_t h, void *const *frames, int n,
				bool kc)
{
	for (uint32_t i = (uint32_t)h & t->mask;; i = (i + 1) & t->mask) {
		struct bt *b = __atomic_load_n(&t->slot[i], __ATOMIC_ACQUIRE);

		if (!b)
			return NULL;
		if (same(b, h, frames, n, kc))
			return b;
	}
}

static void place(struct bt_slots *t, struct bt *b)
{
	uint32_t i = (uint32_t)b->hash & t->mask;

	while (t->slot[i])
		i = (i + 1) & t->mask;
	__atomic_store_n(&t->slot[i], b, __ATOMIC_RELEASE);
	t->used++;
}

/* Keep the load under 1/2; the old array stays readable for racing readers. */
static bool reserve_slot(void)
{
	struct bt_slots *old = tab.slots, *t;
	uint32_t cap;

	if (old && (uint64_t)(old->used + 1) * 2 <= (uint64_t)old->mask + 1)
		return true;
	cap = old ? (old->mask + 1) * 2 : BT_MIN_SLOTS;
	t = tmem_alloc(sizeof(*t) + (size_t)cap * sizeof(t->slot[0]));
	if (!t)
		return false;
	t->mask = cap - 1;
	for (uint32_t i = 0; old && i <= old->mask; i++)
		if (old->slot[i])
			place(t, old->slot[i]);
	__atomic_store_n(&tab.slots, t, __ATOMIC_RELEASE);
	return true;
}

/*
 * Why a backtrace of n frames ends there (HT_CUT_NONE: at the outermost
 * frame).  HT_CUT_DEPTH exactly at the depth: entry_key_cut() relies on it.
 */
static enum ht_cut cut_reason(int n, bool trunc, enum ht_cut why)
{
	if (!trunc)
		return HT_CUT_NONE;
	if (n == ht_cfg.depth)
		return HT_CUT_DEPTH;
	return why && why != HT_CUT_DEPTH ? why : HT_CUT_UNREADABLE;
}

static struct bt *new_entry(uint64_t h, void *const *frames, int n, bool trunc, enum ht_cut why)
{
	uint32_t id = tab.count;
	struct bt **chunk = &tab.chunks[id >> BT_CHUNK_SHIFT];
	struct bt *b;

	if (id >> BT_CHUNK_SHIFT >= BT_MAX_CHUNKS)
		return NULL;
	if (!*chunk && !(*chunk = tmem_alloc(BT_CHUNK * bt_size())))
		return NULL;
	b = bt_get(id);
	b->hash = h;
	b->first_ns = ht_now_ns();
	b->id = id;
	b->depth = (uint16_t)n;
	b->truncated = trunc;
	b->cut_why = (uint8_t)cut_reason(n, trunc, why);
	memcpy(b->frames, frames, (size_t)n * sizeof(frames[0]));
	return b;
}

static struct bt *insert(uint64_t h, void *const *frames, int n, bool trunc, enum ht_cut why)
{
	struct bt *b;

	if (!reserve_slot())
		return NULL;
	b = new_entry(h, frames, n, trunc, why);
	if (!b)
		return NULL;
	place(tab.slots, b);
	__atomic_store_n(&tab.count, tab.count + 1, __ATOMIC_RELEASE);
	return b;
}

static struct bt *bt_intern(void *const *frames, int n, bool trunc, enum ht_cut why)
{
	bool kc = key_cut(n, trunc, ht_cfg.depth);
	uint64_t h = hash_frames(frames, n, kc);
	struct bt_slots *t = __atomic_load_n(&tab.slots, __ATOMIC_ACQUIRE);
	struct bt *b = t ? lookup(t, h, frames, n, kc) : NULL;

	if (likely(b))
		return b;
	spin_lock(&tab.lock);
	b = tab.slots ? lookup(tab.slots, h, frames, n, kc) : NULL;
	if (!b)
		b = insert(h, frames, n, trunc, why);
	spin_unlock(&tab.lock);
	return b;
}

static inline __attribute__((always_inline)) struct bt *find(const struct bt_slots *t,
							     void *const *frames, int n, bool kc)
{
	return lookup(t, hash_frames(frames, n, kc), frames, n, kc);
}

static NOINLINE struct bt *find_deep(const struct bt_slots *t, void *const *frames, int n,
				     bool kc)
{
	return find(t, frames, n, kc);
}

/*
 * Up to the build's DEPTH, n's bound is known where find() is inlined, so
 * that the hash and the compare unroll for it as they did when the depth
 * was fixed at build time; deeper backtraces go out of line, so that their
 * code takes no registers here (35 instructions per look-up in all,
 * callgrind).
 */
struct bt *bt_find(void *const *frames, int n, enum ht_cut cut)
{
	struct bt_slots *t = __atomic_load_n(&tab.slots, __ATOMIC_ACQUIRE);
	int depth = ht_cfg.depth;
	bool trunc = cut != HT_CUT_NONE;

	if (unlikely(!t))
		return NULL;
	if (n > depth) { /* depth + 1 frames, or at depth 1 the hook and its caller */
		n = depth;
		trunc = true;
	}
	if (unlikely(n > HT_DEPTH))
		return find_deep(t, frames, n, key_cut(n, trunc, depth));
	return find(t, frames, n, key_cut(n, trunc, depth));
}

/* ------------------------------------------------------------ accounting */

/* Stores a report may read at any time: whole words, never torn. */
#define SET(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)

/*
 * The whole heap, for its peak: one counter every event updates (its own
 * cache line), and the peak, moved on with a compare-and-swap only when
 * the heap passes it (no lock: in a growing program that is every
 * allocation).  A backtrace's counters at the peak are saved lazily (copy
 * on the first change after a new peak), so no event log and no walk of
 * the table are needed.  With threads, an event that another thread's new
 * peak overtakes between its counter update and its epoch check is
 * attributed as if it came first: the peak's total is exact, its shares
 * exact up to the events in flight at that instant.
 */
static struct {
	int64_t bytes __attribute__((aligned(CACHELINE)));
} heap;
static struct {
	uint64_t bytes __attribute__((aligned(CACHELINE)));
	uint64_t ns;    /* when: the one clock read, per new peak */
	uint64_t epoch; /* counts new peaks; read on every event */
} peak;

_Static_assert(offsetof(struct bt_stats, peak_epoch) == CACHELINE,
	       "what every event writes fills the first cache line of bt_stats");

/* Before st changes: keep its value at the last peak if not kept yet. */
static inline void save_at_peak(struct bt_stats *st)
{
	uint64_t epoch = __atomic_load_n(&peak.epoch, __ATOMIC_ACQUIRE);

	if (likely(st->peak_epoch == epoch))
		return;
	SET(st->at_peak_count, st->live_count);
	SET(st->at_peak_bytes, st->live_bytes);
	SET(st->peak_epoch, epoch);
}

static NOINLINE void new_peak(struct bt_stats *st, uint64_t bytes)
{
	uint64_t cur = __atomic_load_n(&peak.bytes, __ATOMIC_RELAXED), epoch;

	do {
		if (bytes <= cur)
			return; /* another thread's peak is higher */
	} while (!__atomic_compare_exchange_n(&peak.bytes, &cur, bytes, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	SET(peak.ns, ht_now_ns());
	epoch = __atomic_add_fetch(&peak.epoch, 1, __ATOMIC_RELEASE);
	/* the event that made the peak is part of it */
	SET(st->at_peak_count, st->live_count);
	SET(st->at_peak_bytes, st->live_bytes);
	SET(st->peak_epoch, epoch);
}

/* How a block comes to a backtrace: a new allocation, or a record put back
 * (acct_restore()) whose release had counted a temporary allocation or not. */
enum came {
	CAME_NEW,
	CAME_BACK,
	CAME_BACK_TEMPORARY,
};

/* Called with the block's shard lock held (see record()). */
static inline void stats_add(struct bt_stats *st, uint64_t size, enum came how)
{
	int64_t bytes;

	spin_lock_nested(&st->lock);
	save_at_peak(st);
	SET(st->live_count, st->live_count + 1);
	SET(st->live_bytes, st->live_bytes + size);
	if (st->live_count > st->peak_count)
		SET(st->peak_count, st->live_count);
	if (st->live_bytes > st->peak_bytes)
		SET(st->peak_bytes, st->live_bytes);
	if (how == CAME_NEW) {
		SET(st->total_count, st->total_count + 1);
		SET(st->total_bytes, st->total_bytes + size);
	} else if (how == CAME_BACK_TEMPORARY) {
		SET(st->temp_count, st->temp_count - 1);
	}
	bytes = __atomic_add_fetch(&heap.bytes, (int64_t)size, __ATOMIC_RELAXED);
	if (unlikely((uint64_t)bytes > __atomic_load_n(&peak.bytes, __ATOMIC_RELAXED)))
		new_peak(st, (uint64_t)bytes);
	spin_unlock_nested(&st->lock);
}

static inline void stats_sub(struct bt_stats *st, uint64_t size, bool temporary)
{
	spin_lock_nested(&st->lock);
	save_at_peak(st);
	SET(st->live_count, st->live_count - 1);
	SET(st->live_bytes, st->live_bytes - size);
	if (temporary)
		SET(st->temp_count, st->temp_count + 1);
	__atomic_sub_fetch(&heap.bytes, (int64_t)size, __ATOMIC_RELAXED);
	spin_unlock_nested(&st->lock);
}

/*
 * Best effort, not a seqlock: new_peak() moves bytes (its compare-and-swap)
 * before ns and the epoch, with no in-progress mark, and several threads
 * may move it at once.  A correct seqlock would need the writers to
 * serialize and mark the update (a lock, or a second counter and fences)
 * on every new peak, which in a growing program is every allocation.
 * What a report can get instead: the epoch read twice the same tells that
 * no peak completed in between, so bytes is at least that epoch's peak;
 * if another peak is in flight, bytes may be the newer one with the
 * previous peak's time and epoch.  That peak is older by the events in
 * flight, the same approximation as the shares of a peak already are
 * (see heap and peak above), and the next report reads it whole.
 */
void bt_peak_read(struct bt_peak *out)
{
	uint64_t epoch;

	/* a peak completed while reading: read again */
	do {
		epoch = __atomic_load_n(&peak.epoch, __ATOMIC_ACQUIRE);
		*out = (struct bt_peak){ __atomic_load_n(&peak.bytes, __ATOMIC_RELAXED),
					 __atomic_load_n(&peak.ns, __ATOMIC_RELAXED), epoch };
	} while (__atomic_load_n(&peak.epoch, __ATOMIC_ACQUIRE) != epoch);
}

void bt_stats_at_peak(const struct bt_stats *st, const struct bt_peak *p, uint64_t *count,
		      uint64_t *bytes)
{
	/* unchanged since that peak: its value then is its value now */
	bool saved = st->peak_epoch == p->epoch;

	*count = saved ? st->at_peak_count : st->live_count;
	*bytes = saved ? st->at_peak_bytes : st->live_bytes;
}

void bt_stats_read(struct bt *b, struct bt_stats *out)
{
	spin_lock(&b->st.lock);
	*out = b->st;
	spin_unlock(&b->st.lock);
}

/*
 * Counters change while the block's shard lock is held, so that fork(),
 * which takes every shard lock, never copies a half-done update.
 */
/* b is bt_get(id), or NULL for a block of the tracer's. */
static bool record(void *ptr, uint32_t id, struct bt *b, uint64_t size, enum came how)
{
	uint64_t h = am_hash((uintptr_t)ptr);
	struct am_shard *s = am_shard_of(h);
	struct am_rec rec = { id, size }, old;
	enum am_result r;

	spin_lock(&s->lock);
	r = am_insert(s, h, (uintptr_t)ptr, &rec, &old);
	/* the replaced block goes first: it was never live together with ptr */
	if (unlikely(r == AM_REPLACED) && old.id != ACCT_TRACER_ID)
		stats_sub(&bt_get(old.id)->st, old.size, false);
	if (likely(r != AM_NOMEM) && b)
		stats_add(&b->st, size, how);
	spin_unlock(&s->lock);
	return r != AM_NOMEM;
}

/*
 * The addresses the tracer's blocks have ever taken, widened as they come
 * (rarely: heaptrace's own code allocating), so that an untraced child
 * looks up only the frees that fall between them (acct_untraced_block()).
 */
static uintptr_t tracer_lo = UINTPTR_MAX, tracer_hi;

static void widen_tracer_range(uintptr_t lo, uintptr_t hi)
{
	uintptr_t v = __atomic_load_n(&tracer_lo, __ATOMIC_RELAXED);

	while (lo < v && !__atomic_compare_exchange_n(&tracer_lo, &v, lo, true, __ATOMIC_RELAXED,
						      __ATOMIC_RELAXED))
		;
	v = __atomic_load_n(&tracer_hi, __ATOMIC_RELAXED);
	while (hi > v && !__atomic_compare_exchange_n(&tracer_hi, &v, hi, true, __ATOMIC_RELAXED,
						      __ATOMIC_RELAXED))
		;
}

bool acct_tracer_block(void *ptr, size_t size)
{
	widen_tracer_range((uintptr_t)ptr, (uintptr_t)ptr + (size ? size : 1));
	return record(ptr, ACCT_TRACER_ID, NULL, size, CAME_BACK);
}

/*
 * Without the shard's lock: in an untraced process nothing writes the map
 * (libheaptrace.c), so reading it cannot race, and a signal handler's free
 * that interrupts this one cannot wait for a lock.
 */
bool acct_untraced_block(const void *ptr, size_t *size)
{
	uintptr_t a = (uintptr_t)ptr;
	uint64_t h;
	struct am_rec rec;

	if (likely(a < tracer_lo || a >= tracer_hi))
		return false;
	h = am_hash(a);
	if (!am_find(am_shard_of(h), h, a, &rec) || rec.id != ACCT_TRACER_ID)
		return false;
	*size = rec.size;
	return true;
}

void acct_alloc_bt(void *ptr, size_t size, struct bt *b)
{
	if (unlikely(!record(ptr, b->id, b, size, CAME_NEW)))
		count_untracked();
}

void acct_alloc(void *ptr, size_t size, void **frames, int n, enum ht_cut cut)
{
	bool trunc = cut != HT_CUT_NONE || n > ht_cfg.depth;
	struct bt *b;

	if (n < 0)
		n = 0;
	if (n > ht_cfg.depth)
		n = ht_cfg.depth;
	b = bt_intern(frames, n, trunc, cut);
	if (unlikely(!b))
		count_untracked();
	else
		acct_alloc_bt(ptr, size, b);
}

bool acct_free(void *ptr, struct acct_block *out, bool temporary)
{
	uint64_t h = am_hash((uintptr_t)ptr);
	struct am_shard *s = am_shard_of(h);
	struct am_rec rec;
	bool found;

	spin_lock(&s->lock);
	found = am_remove(s, h, (uintptr_t)ptr, &rec);
	if (found && rec.id != ACCT_TRACER_ID)
		stats_sub(&bt_get(rec.id)->st, rec.size, temporary);
	spin_unlock(&s->lock);
	if (found && out)
		*out = (struct acct_block){ rec.id, rec.size };
	return found;
}

bool acct_lookup(void *ptr, struct acct_block *out)
{
	uint64_t h = am_hash((uintptr_t)ptr);
	struct am_shard *s = am_shard_of(h);
	struct am_rec rec;
	bool found;

	spin_lock(&s->lock);
	found = am_find(s, h, (uintptr_t)ptr, &rec);
	spin_unlock(&s->lock);
	if (found)
		*out = (struct acct_block){ rec.id, rec.size };
	return found;
}

void acct_restore(void *ptr, const struct acct_block *b, bool temporary)
{
	if (!record(ptr, b->id, b->id == ACCT_TRACER_ID ? NULL : bt_get(b->id), b->size,
		    temporary ? CAME_BACK_TEMPORARY : CAME_BACK))
		count_untracked();
}

/* ------------------------------------------------------------ fork */

void bt_fork_prepare(void)
{
	spin_lock(&tab.lock);
}

void bt_fork_parent(void)
{
	spin_unlock(&tab.lock);
}

void bt_fork_child(void)
{
	bt_fork_pid();
	spin_unlock_in_child(&tab.lock);
}
