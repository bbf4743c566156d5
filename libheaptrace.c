// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libheaptrace.c - the interposers: the malloc family, C++ new and delete,
 * and the calls the tracer must see (signals, dlclose, context switches);
 * their real functions and boot arena, and the bookkeeping a signal
 * handler's hook queues.  Start-up, fork and exit are lib/process.c's.
 *
 * Every hook has one shape: an entry, the exported function, forwards what
 * needs no record (with --sample, most events) and tail-calls its
 * recording path otherwise, which enters the guard (a nested call, made by
 * the tracer or by the real function, is forwarded untouched), calls the
 * real function, records what succeeded, leaves the guard and returns the
 * real result.
 * A release removes its record *before* the real free, because the address
 * may be handed to another thread the moment it is freed.  Hooks never
 * format, print, lock globally or call the program's allocator; errno is
 * left exactly as the real function left it.  In a process that is not
 * traced (a child, without --trace-children) they only forward.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <ucontext.h>
#include <unistd.h>

#include "stacktrace.h"
#include "utils.h"
#include "lib/addrmap.h"
#include "lib/atomic.h"
#include "lib/cfi.h"
#include "lib/config.h"
#include "lib/guard.h"
#include "lib/handlers.h"
#include "lib/hooks.h"
#include "lib/oom.h"
#include "lib/sample.h"
#include "lib/process.h"
#include "lib/reporter.h"
#include "lib/tmem.h"
#include "lib/unwind.h"

HT_TLS struct ht_thread ht_self;

/* ---------------------------------------------------------------- hooks' names */

/*
 * The C++ operators are defined here in C under their mangled names, one
 * line each.  align_val_t is passed as size_t, nothrow_t by reference.
 */
#define NT const void * /* const std::nothrow_t & */
#define CXX_DECL(id, sym, ret, args) EXPORT ret id args __asm__(sym);
#define CXX_OPS(X)                                                                  \
	X(op_new, "_Znw" CXX_SIZE, void *, (size_t))                                \
	X(op_new_arr, "_Zna" CXX_SIZE, void *, (size_t))                            \
	X(op_new_nt, "_Znw" CXX_SIZE "RKSt9nothrow_t", void *, (size_t, NT))        \
	X(op_new_arr_nt, "_Zna" CXX_SIZE "RKSt9nothrow_t", void *, (size_t, NT))    \
	X(op_new_al, "_Znw" CXX_SIZE "St11align_val_t", void *, (size_t, size_t))   \
	X(op_new_arr_al, "_Zna" CXX_SIZE "St11align_val_t", void *, (size_t, size_t)) \
	X(op_new_al_nt, "_Znw" CXX_SIZE "St11align_val_tRKSt9nothrow_t", void *,    \
	  (size_t, size_t, NT))                                                     \
	X(op_new_arr_al_nt, "_Zna" CXX_SIZE "St11align_val_tRKSt9nothrow_t", void *, \
	  (size_t, size_t, NT))                                                     \
	X(op_del, "_ZdlPv", void, (void *))                                         \
	X(op_del_arr, "_ZdaPv", void, (void *))                                     \
	X(op_del_sz, "_ZdlPv" CXX_SIZE, void, (void *, size_t))                     \
	X(op_del_arr_sz, "_ZdaPv" CXX_SIZE, void, (void *, size_t))                 \
	X(op_del_nt, "_ZdlPvRKSt9nothrow_t", void, (void *, NT))                    \
	X(op_del_arr_nt, "_ZdaPvRKSt9nothrow_t", void, (void *, NT))                \
	X(op_del_al, "_ZdlPvSt11align_val_t", void, (void *, size_t))               \
	X(op_del_arr_al, "_ZdaPvSt11align_val_t", void, (void *, size_t))           \
	X(op_del_sz_al, "_ZdlPv" CXX_SIZE "St11align_val_t", void, (void *, size_t, size_t)) \
	X(op_del_arr_sz_al, "_ZdaPv" CXX_SIZE "St11align_val_t", void,              \
	  (void *, size_t, size_t))                                                 \
	X(op_del_al_nt, "_ZdlPvSt11align_val_tRKSt9nothrow_t", void, (void *, size_t, NT)) \
	X(op_del_arr_al_nt, "_ZdaPvSt11align_val_tRKSt9nothrow_t", void, (void *, size_t, NT))

CXX_OPS(CXX_DECL)

EXPORT size_t malloc_usable_size(void *p);
EXPORT void *memalign(size_t align, size_t size);
EXPORT void *aligned_alloc(size_t align, size_t size);
EXPORT void *valloc(size_t size);
EXPORT void *pvalloc(size_t size);

#define C_FUNCS(X)                                                                  \
	X(malloc, "malloc", , )                                                     \
	X(free, "free", , )                                                         \
	X(calloc, "calloc", , )                                                     \
	X(realloc, "realloc", , )                                                   \
	X(reallocarray, "reallocarray", , )                                         \
	X(memalign, "memalign", , )                                                 \
	X(posix_memalign, "posix_memalign", , )                                     \
	X(aligned_alloc, "aligned_alloc", , )                                       \
	X(valloc, "valloc", , )                                                     \
	X(pvalloc, "pvalloc", , )                                                   \
	X(malloc_usable_size, "malloc_usable_size", , )                             \
	X(sigaction, "sigaction", , )                                               \
	X(signal, "signal", , )                                                     \
	X(sysv_signal, "sysv_signal", , )                                           \
	X(__sysv_signal, "__sysv_signal", , )                                       \
	X(bsd_signal, "bsd_signal", , )                                             \
	X(sigset, "sigset", , )                                                     \
	X(dlclose, "dlclose", , )                                                   \
	X(swapcontext, "swapcontext", , )                                           \
	X(setcontext, "setcontext", , )

/* ---------------------------------------------------------------- real functions */

#define REAL_ID(id, sym, ret, args) R_##id,
enum real_id { C_FUNCS(REAL_ID) CXX_OPS(REAL_ID) R_COUNT };
#define REAL_SYM(id, sym, ret, args) sym,
static const char *const real_syms[R_COUNT] = { C_FUNCS(REAL_SYM) CXX_OPS(REAL_SYM) };

static void *reals[R_COUNT];
static HT_TLS bool resolving; /* this thread is inside dlsym */

struct lookup {
	const char *sym;
	void *found;
};

/* libstdc++'s, found with its operators if it was loaded privately */
static void (*cxx_freeres)(void);

static bool is_ours(const void *p)
{
	Dl_info self, other;

	return dladdr((void *)is_ours, &self) && dladdr(p, &other) &&
	       self.dli_fbase == other.dli_fbase;
}

static int lookup_in(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct lookup *l = arg;
	void *h;

	(void)size;
	if (!info->dlpi_name || !info->dlpi_name[0])
		return 0;
	h = dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
	if (!h)
		return 0;
	l->found = dlsym(h, l->sym);
	if (l->found && !cxx_freeres)
		cxx_freeres = (void (*)(void))dlsym(h, CXX_FRERES);
	dlclose(h);
	if (l->found && is_ours(l->found))
		l->found = NULL;
	return l->found != NULL;
}

/*
 * The one place that resolves the next definitions.  dlsym may allocate;
 * while it runs, this thread's allocations come from the boot arena.
 * C++ operators resolve on first use, as libstdc++ may be loaded late; if
 * it was dlopen'ed privately (RTLD_LOCAL, by a C program's plugin loader)
 * RTLD_NEXT cannot see it, and the loaded objects are searched one by one.
 */
/* Never at exit: dlopen() after the loader's destructor pass re-runs
 * constructors (see symbols.c). */
static void *find_loaded(const char *sym)
{
	struct lookup l = { sym, NULL };

	dl_iterate_phdr(lookup_in, &l);
	return l.found;
}

static NOINLINE void *resolve(enum real_id id)
{
	void *p;

	if (resolving)
		return NULL;
	resolving = true;
	p = dlsym(RTLD_NEXT, real_syms[id]);
	if (!p && id >= R_op_new)
		p = find_loaded(real_syms[id]);
	resolving = false;
	atomic_store_release(&reals[id], p);
	return p;
}

static inline void *real_get(enum real_id id)
{
	void *p = atomic_load_acquire(&reals[id]);

	return likely(p != NULL) ? p : resolve(id);
}

/* The next definition of hook fn, typed like fn itself. */
#define REAL(fn) ((__typeof__(&fn))real_get(R_##fn))

static NOINLINE void *missing(enum real_id id)
{
	ht_warn("no next definition of '%s' to forward to", real_syms[id]);
	abort();
}

/* C++ operators have no bootstrap path: their real one must exist. */
#define REAL_CXX(fn) ((__typeof__(&fn))(real_get(R_##fn) ?: missing(R_##fn)))

void hooks_resolve_all(void)
{
	for (int id = 0; id < R_COUNT; id++)
		real_get(id);
}

sigaction_fn hooks_real_sigaction(void)
{
	return REAL(sigaction);
}

void (*hooks_cxx_freeres(void))(void)
{
	return cxx_freeres;
}

int hooks_count(void)
{
	return R_COUNT;
}

const char *hooks_name(int i)
{
	return real_syms[i];
}

/*
 * The global scope is the main program's handle's: dlsym(RTLD_DEFAULT)
 * would search ours too, and malloc's address may be the program's PLT
 * stub (a non-PIE program that takes it, as python3 does).
 */
static void *global_heaptrace(void)
{
	void *main = dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD);
	void *p = main ? dlsym(main, "heaptrace_attach") : NULL;

	if (main)
		dlclose(main);
	return p;
}

bool hooks_interposed(void)
{
	return is_ours(global_heaptrace());
}

bool hooks_other_heaptrace(void)
{
	void *p = global_heaptrace();

	return p && !is_ours(p);
}

/* ---------------------------------------------------------------- boot arena */

/*
 * Before dlsym has returned, allocations are served from this arena: each
 * block has its size in the 8 bytes before it; memory is never reused.
 * free() recognizes arena blocks by address and ignores them.
 */
#define BOOT_SIZE (256 * 1024)
static char boot[BOOT_SIZE] __attribute__((aligned(4096)));
static size_t boot_used;

static inline bool is_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + BOOT_SIZE;
}

static void *boot_alloc(size_t size, size_t align)
{
	size_t old = atomic_load_relaxed(&boot_used), start, end;

	if (align < 16)
		align = 16;
	if (align & (align - 1) || align > BOOT_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	do {
		start = (old + 16 + align - 1) & ~(align - 1);
		if (__builtin_add_overflow(start, size, &end) || end > BOOT_SIZE) {
			errno = ENOMEM;
			return NULL;
		}
	} while (!atomic_cas_weak_relaxed(&boot_used, &old, end));
	/* a char array is not a size_t: copied, not stored through a cast */
	memcpy(boot + start - sizeof(size), &size, sizeof(size));
	return boot + start;
}

static size_t boot_size(const void *p)
{
	size_t size;

	memcpy(&size, (const char *)p - sizeof(size), sizeof(size));
	return size;
}

static void *boot_calloc(size_t n, size_t m)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, m, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return boot_alloc(bytes, 16); /* static memory, never reused: zero */
}

/* Grow an arena block into a real one (or a bigger arena block). */
static void *boot_realloc(void *old, size_t size)
{
	void *p = malloc(size);

	if (p && old)
		memcpy(p, old, boot_size(old) < size ? boot_size(old) : size);
	return p;
}

static int boot_posix_memalign(void **memptr, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || align & (align - 1))
		return EINVAL;
	p = boot_alloc(size, align);
	if (!p)
		return ENOMEM;
	*memptr = p;
	return 0;
}

/* ---------------------------------------------------------------- queued bookkeeping */

/*
 * A signal handler that interrupts this thread while it holds a tracer lock
 * (guard.h) must not take one.  Its hooks do the real work at once and queue
 * the bookkeeping here; the thread does it when it releases its last lock
 * (spin_unlock() calls ht_drain()).  An allocation is queued with the
 * backtrace taken where it was made.  A release is queued whole, real call
 * included: the block is freed only once its record is gone, so another
 * thread cannot get the address back and have its record taken for this
 * one.  Handlers nest (last in, first out), so a push is never interrupted
 * by the drain; a nested handler may interrupt a push, hence the claims by
 * fetch-and-add (atomic against this thread's own signals).  A queue that
 * is full counts what it missed (acct_missed()).
 *
 * What makes the replay exact: while must_defer() holds, no hook takes a
 * tracer lock, so no handler drains while events wait; only the context
 * they interrupted does, in order, and its replays' own unlocks find
 * "draining" set.
 */
#define PENDING_MAX 128 /* events of one thread: 5 KB */
/* frames of queued allocations whose backtrace is new: 64 of 9 frames, 4.5 KB */
#define PENDING_WORDS (64 * 9)
#define PENDING_ALLOC (-1)

struct pending {
	void *p;
	size_t a, b;   /* release: the real function's other arguments; alloc: a = size */
	int kind;      /* PENDING_ALLOC, or the real_id of the release */
	int n, cut;    /* alloc: n frames at spill->frames[at], or (n = 0) the entry at */
	unsigned at;
};

/* The capture area of deep --depth, described with its functions below. */
#define CAPTURE_AREA (2 * HT_CAPTURE_LIMIT)

/*
 * A thread's queue and capture area, 14 KB.  In libheaptrace.so they are
 * thread-locals.  libheaptrace-pid.so keeps its thread-locals in the few
 * hundred bytes of static TLS that glibc has for a library loaded late
 * (compat.h), so these live in tracer memory instead, mapped on a
 * thread's first need (a handler's event inside a hook, or a --depth
 * beyond DEPTH: mmap, which a handler may call) and unmapped at its exit.
 * A thread whose exit is known not to be seen (acct_thread_exit_unseen(),
 * in a process that used up the keys) gets none, so that they never
 * outnumber the threads alive: its handlers' events inside hooks are
 * counted missed, its deep backtraces cut at DEPTH, as when the queue or
 * the area is full.  (One that needs them before its first counted event,
 * which tells, may be left with them in such a process.)
 */
struct spill {
	struct pending ev[PENDING_MAX];
	void *frames[PENDING_WORDS];
	void *capture[CAPTURE_AREA];
};

#ifdef HT_PID_BUILD
/* Written by this thread and its signal handlers only: relaxed atomics,
 * so that a handler never sees a torn or half-made store. */
static HT_TLS struct spill *spill;

/* The thread's exit (acct_on_thread_exit()): no hook of it runs. */
static void spill_release(void)
{
	struct spill *s = spill;

	atomic_store_relaxed(&spill, NULL);
	signal_fence(); /* a handler from here on finds none */
	tmem_free(s, sizeof(*s));
}

/*
 * A handler may interrupt this and map areas of its own, and queue an
 * event in them: then those are the thread's, and ours go back.
 */
static NOINLINE bool spill_map(void)
{
	struct spill *s, *none = NULL;
	int saved;

	if (acct_thread_exit_unseen())
		return false;
	acct_on_thread_exit(spill_release);
	saved = errno; /* a failed mmap sets it: no hook or handler of ours may */
	s = tmem_alloc(sizeof(*s)); /* whole pages: mmap, no lock (tmem.h) */
	errno = saved;
	if (s && !atomic_cas_strong_relaxed(&spill, &none, s))
		tmem_free(s, sizeof(*s));
	return atomic_load_relaxed(&spill) != NULL;
}

/* This thread's areas, mapped if they were not; false without them. */
static inline bool spill_ready(void)
{
	return likely(atomic_load_relaxed(&spill)) || spill_map();
}
#else
static HT_TLS struct spill spill_own;
#define spill (&spill_own)

static inline bool spill_ready(void)
{
	return true;
}
#endif

static HT_TLS unsigned pending_words; /* of spill->frames claimed */
static HT_TLS bool draining;

/* Claim an event; NULL when the queue is full (the claim stays void). */
static struct pending *claim(void)
{
	unsigned i;

	if (ht_self.pending >= PENDING_MAX || !spill_ready())
		return NULL;
	i = atomic_fetch_add_relaxed(&ht_self.pending, 1);
	return i < PENDING_MAX ? &spill->ev[i] : NULL;
}

/*
 * An allocation whose backtrace the table has (found without a lock) is
 * queued with its entry; only a new one needs its frames kept, up to the
 * depth and one, so that whatever the depth, a queue holds as many
 * allocations from known places as it has events.
 */
static NOINLINE void queue_alloc(void *p, size_t size, void *const *frames, int n,
				 enum ht_cut cut)
{
	struct bt *b = bt_find(frames, n, cut);
	unsigned at = b ? b->id : atomic_fetch_add_relaxed(&pending_words, (unsigned)n);
	struct pending *e = b || at <= PENDING_WORDS - (unsigned)n ? claim() : NULL;

	if (!e) {
		acct_missed(false);
		return;
	}
	if (!b)
		memcpy(&spill->frames[at], frames, (size_t)n * sizeof(frames[0]));
	*e = (struct pending){ p, size, 0, PENDING_ALLOC, b ? 0 : n, (int)cut, at };
}

/* Queue a release of p by the real function id; false when it cannot be. */
static NOINLINE bool queue_release(enum real_id id, void *p, size_t a, size_t b)
{
	struct pending *e = claim();

	if (!e)
		return false;
	*e = (struct pending){ p, a, b, id, 0, 0, 0 };
	return true;
}

static bool untrack(void *p);

/*
 * Every release function takes the block and at most two word-sized
 * arguments (a size, an alignment, a nothrow_t reference); passed in
 * registers, extra ones are ignored, so one call shape does for all.
 */
typedef void (*release_fn)(void *, size_t, size_t);

/*
 * The real release of a queued event.  The handler called it with (at
 * least) its own signal blocked, and allocators are not reentrant: a
 * handler that interrupted glibc's free() here and called malloc() would
 * find its per-thread cache half updated.  So no signal comes in meanwhile
 * (two system calls, on this rare path only).
 */
static NOINLINE void release_masked(const struct pending *e)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ht_self.freeing = e->p; /* operator delete calls free(): nested */
	((release_fn)(real_get(e->kind) ?: missing(e->kind)))(e->p, e->a, e->b);
	ht_self.freeing = NULL;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void replay(const struct pending *e)
{
	if (e->kind == PENDING_ALLOC) {
		if (e->n)
			acct_alloc(e->p, e->a, &spill->frames[e->at], e->n, (enum ht_cut)e->cut);
		else
			acct_alloc_bt(e->p, e->a, bt_get(e->at));
		return;
	}
	if (untrack(e->p))
		return;
	release_masked(e);
}

/*
 * The queue empties when every event claimed is replayed; a handler may
 * add more meanwhile (it queues while events wait), and the loop takes
 * them too.  Replays take locks: their own unlocks must not drain again.
 */
void ht_drain(void)
{
	int *err = errno_ptr(), saved = *err;
	void *freeing = ht_self.freeing;
	unsigned i = 0;

	if (draining)
		return;
	draining = true;
	guard_enter();
	for (;;) {
		unsigned n = atomic_load_relaxed(&ht_self.pending);

		if (i < n) {
			if (i < PENDING_MAX)
				replay(&spill->ev[i]);
			i++;
			continue;
		}
		/* every frame claimed so far belongs to a replayed event */
		atomic_store_relaxed(&pending_words, 0);
		/* once the queue is empty, a handler drains what it queues itself */
		atomic_store_relaxed(&draining, false);
		if (atomic_cas_strong_relaxed(&ht_self.pending, &n, 0))
			break;
		atomic_store_relaxed(&draining, true);
	}
	guard_exit();
	ht_self.freeing = freeing;
	*err = saved;
}

/* ---------------------------------------------------------------- hook bodies */

/*
 * Temporary allocations, as heaptrack defines them: a block released
 * directly after its allocation, with no other allocation or release in
 * between; here of the same thread (a signal handler's events are those of
 * the thread it interrupts).  Each thread remembers its last allocation,
 * and a release compares and forgets it: a store per allocation, a compare
 * and a store per release, in memory of the thread's own.
 */
static HT_TLS void *last_alloc;

static inline bool released_at_once(void *p)
{
	bool at_once = p == last_alloc;

	last_alloc = NULL;
	return at_once;
}

/*
 * Where a hook's frames go.  Up to the build's DEPTH (and one more) they
 * fit in the hook's own stack frame; a deeper --depth takes them from this
 * thread's capture area, never from the program's stack (it may be a 4 KB
 * coroutine's, and 257 frames are 2 KB).  A signal handler's hook may
 * interrupt a hook that holds part of the area: claims nest as handlers
 * do, last in, first out.  A claim is stored before its frames are written
 * and given back after they are last read (signal fences: one thread), so
 * a handler that comes in between finds it taken, and has given its own
 * back before the hook resumes.  The area holds two claims of the deepest
 * depth (4 KB): a hook and a handler's.  A handler nested deeper that
 * finds too little of it left keeps DEPTH frames in its hook's own, cut
 * "stack" where the stack went on.
 */
static HT_TLS unsigned capture_used; /* of spill->capture */

/* words of the area, from *from on; NULL when fewer are left */
static inline void **capture_claim(unsigned words, unsigned *from)
{
	unsigned used = atomic_load_relaxed(&capture_used);

	*from = used;
	if (used > CAPTURE_AREA - words || !spill_ready())
		return NULL;
	atomic_store_relaxed(&capture_used, used + words);
	signal_fence();
	return &spill->capture[used];
}

static inline void capture_release(unsigned from)
{
	signal_fence();
	atomic_store_relaxed(&capture_used, from);
}

/*
 * Record p with n frames of the stack of the recording path this is
 * inlined into, cut as they end; frame 0 is the hook's entry, at pc hook
 * (not the recording path's own).  learn: the depth, when a new
 * backtrace's frames were taken without the one more that tells whether
 * its stack goes on (else 0).
 */
static inline __attribute__((always_inline)) void note_frames(void *p, size_t size, void *hook,
							      bool queue, void **frames, int n,
							      enum ht_cut cut, int learn)
{
	struct bt *b;

	n = bt_at_least_caller(frames, n, hook, __builtin_return_address(0), &cut);
	frames[0] = hook;
	if (unlikely(queue)) {
		queue_alloc(p, size, frames, n, cut);
	} else if (likely(b = bt_find(frames, n, cut))) {
		acct_alloc_bt(p, size, b);
	} else {
		/* new: learn, once, whether the stack goes on (frames past n unused) */
		if (n == learn && !cut && unwind_goes_on(n))
			n++;
		acct_alloc(p, size, frames, n, cut);
	}
}

/*
 * A --depth beyond the build's DEPTH: depth + 1 frames at once into the
 * capture area, so that a new backtrace needs no second unwind (and no
 * second claim) to learn whether its stack goes on.
 */
static inline __attribute__((always_inline)) void note_deep(void *p, size_t size, void *hook,
							    bool queue, void **own, int depth)
{
	unsigned from;
	void **frames = capture_claim((unsigned)depth + 1, &from);
	int keep = likely(frames) ? depth : HT_DEPTH;
	enum ht_cut cut = HT_CUT_NONE;
	int n = unwind_capture(frames ? frames : own, keep + 1, &cut);

	if (unlikely(!frames) && n > keep) {
		n = keep;
		cut = cut ? cut : HT_CUT_STACK;
	}
	note_frames(p, size, hook, queue, frames ? frames : own, n, cut, 0);
	if (likely(frames))
		capture_release(from);
}

static NOINLINE void setup_keeping_errno(void)
{
	int saved = errno;

	process_setup();
	errno = saved;
}

/* Record p with the stack of the recording path this is inlined into,
 * reached from the entry at pc hook by a tail call. */
static inline __attribute__((always_inline)) void note(void *p, size_t size, void *hook)
{
	void *own[HT_CAPTURE_OWN];
	int *err, saved;
	bool queue;
	int depth;
	enum ht_cut cut = HT_CUT_NONE;
	int n;

	/* the first allocation sets the process up, --sample included */
	if (unlikely(!atomic_load_acquire(&process_ready)))
		setup_keeping_errno();
	/* --sample: most allocations are not recorded (lib/sample.h) */
	if (unlikely(ht_sample_rate) && sample_skip(size)) {
		last_alloc = p;
		return;
	}
	err = errno_ptr();
	saved = *err;
	queue = must_defer(); /* a nested handler leaves it as it was */
	depth = process_depth();
	if (likely(depth <= HT_DEPTH)) {
		/* a queued event has no second unwind: one frame more at once */
		n = unwind_capture(own, unlikely(queue) ? depth + 1 : unwind_capture_hot(depth), &cut);
		note_frames(p, size, hook, queue, own, n, cut, depth);
	} else {
		note_deep(p, size, hook, queue, own, depth);
	}
	last_alloc = p;
	*err = saved;
}

/* ---------------------------------------------------------------- the tracer's blocks */

/*
 * heaptrace's own code (start-up, reports, libbfd, fork handlers) calls
 * malloc too.  Those blocks come from tracer memory, not the program's
 * heap, so the program's heap is laid out as it would be without us and
 * the report's allocator figures are the program's.  Each is kept in the
 * address map under ACCT_TRACER_ID, so free() knows it with the look-up it
 * makes anyway.  If the map cannot hold one, it comes from the real
 * allocator instead, untraced.
 */
static void *tracer_alloc(size_t size)
{
	void *p;

	/* a signal handler that handlers.c does not wrap, inside a table update */
	if (must_defer())
		return REAL(malloc)(size);
	p = tmem_alloc_scratch(size);

	if (p && acct_tracer_block(p, size))
		return p;
	tmem_free(p, size);
	return REAL(malloc)(size);
}

static void *tracer_calloc(size_t n, size_t m)
{
	size_t size;
	void *p;

	if (__builtin_mul_overflow(n, m, &size)) {
		errno = ENOMEM;
		return NULL;
	}
	/* tracer memory is zeroed, the real malloc's fallback is not */
	p = tracer_alloc(size);
	if (p)
		memset(p, 0, size);
	return p;
}

/* Move a block of ours that is being reallocated into dst (NULL: just free it). */
static void *tracer_move(void *old, const struct acct_block *b, void *dst, size_t size)
{
	if (dst)
		memcpy(dst, old, b->size < size ? b->size : size);
	tmem_free(old, b->size);
	return dst;
}

static void *tracer_realloc(void *old, size_t size)
{
	struct acct_block b;
	void *p;

	if (!old)
		return tracer_alloc(size);
	if (must_defer() || !acct_free(old, &b, false))
		return REAL(realloc)(old, size);
	if (b.id != ACCT_TRACER_ID) { /* a program block: hand it back, untraced */
		p = REAL(realloc)(old, size);
		if (!p && size)
			acct_restore(old, &b, false);
		return p;
	}
	if (size == 0)
		return tracer_move(old, &b, NULL, 0);
	p = tracer_alloc(size);
	if (!p) {
		acct_tracer_block(old, b.size);
		return NULL;
	}
	return tracer_move(old, &b, p, size);
}

/* ---------------------------------------------------------------- hook bodies */

/*
 * --pid: a release by the program of a block the map does not hold was
 * allocated before the attach (lib/attach.c); not while the tracer's own
 * code (a report's libbfd, whose blocks may predate its redirection) runs,
 * nor with --sample, whose filter lets most such releases by unseen.
 */
static inline void freed_before(void *p)
{
	if (unlikely(ht_process.attached) && !ht_sample_rate && p && !ht_self.tracer)
		acct_freed_before();
}

/*
 * Forget p before it is released.  True when p was a block of the
 * tracer's, which is then freed here.
 */
static inline bool untrack(void *p)
{
	struct acct_block b;

	/* --sample: most blocks were not recorded; known here without a call */
	if (unlikely(ht_sample_rate) && !sample_maybe((uintptr_t)p)) {
		last_alloc = NULL;
		return false;
	}
	if (!p)
		return false;
	if (!acct_free(p, &b, released_at_once(p))) {
		freed_before(p);
		return false;
	}
	if (likely(b.id != ACCT_TRACER_ID))
		return false;
	tracer_move(p, &b, NULL, 0);
	return true;
}

/*
 * An untraced process (config.h) only forwards: one branch on a flag that
 * never changes while it runs.  Its releases keep the tracer's blocks,
 * which the program may free or reallocate (environ, grown by setenv() in
 * our constructor, process.c), from the real allocator.
 */
static NOINLINE void *untraced_move(void *old, size_t have, size_t size)
{
	void *p = size ? REAL(malloc)(size) : NULL;

	if (p)
		memcpy(p, old, have < size ? have : size);
	return p; /* old stays the tracer's, unused */
}

#define UNTRACED_RELEASE(p, call)                                                   \
	do {                                                                        \
		size_t have_;                                                       \
		if (!acct_untraced_block((p), &have_))                              \
			call;                                                       \
	} while (0)

/* Allocation hooks' recording paths: forward; record the result of an
 * outermost call, with frame 0 at pc hook (the entry's). */
#define TRACE_ALLOC(hook, call, size)                                               \
	do {                                                                        \
		if (unlikely(ht_process.untraced))                                  \
			return (call);                                              \
		GUARD_SCOPE(g_);                                                    \
		void *p_ = (call);                                                  \
		if (g_.owned && p_)                                                 \
			note(p_, (size), (hook));                                   \
		else if (unlikely(!p_) && errno == ENOMEM)                          \
			oom_failed(size);                                           \
		return p_;                                                          \
	} while (0)

/*
 * Release hooks: forget the block, then forward; nested releases of the
 * same block (operator delete calling free) are recognized by
 * ht_self.freeing.  id, a and b say how to replay a queued release.
 */
#define TRACE_RELEASE(id, p, a, b, call)                                            \
	do {                                                                        \
		if (unlikely(ht_process.untraced)) {                                \
			UNTRACED_RELEASE(p, call);                                  \
			break;                                                      \
		}                                                                   \
		GUARD_SCOPE(g_);                                                    \
		void *outer_ = ht_self.freeing;                                     \
		if ((p) && (p) != outer_) {                                         \
			if (unlikely(must_defer())) {                               \
				if (queue_release(id, (p), (a), (b)))               \
					break;                                      \
				acct_missed(true);                                  \
			} else if (untrack(p)) {                                    \
				break;                                              \
			}                                                           \
		}                                                                   \
		ht_self.freeing = (p);                                              \
		call;                                                               \
		ht_self.freeing = outer_;                                           \
	} while (0)

/*
 * realloc and reallocarray: the old record goes before the call (the old
 * address may be reused at once by another thread) and comes back if the
 * call fails.  realloc(p, 0) frees p and returns NULL in glibc: no restore.
 * A nested call (a new-handler moving a block) still forgets the old block;
 * like every nested allocation, its result is not recorded.  A block of the
 * tracer's that the program reallocates becomes the program's.  As in
 * heaptrack, a realloc is the release of the old block (temporary if it
 * directly follows that block's allocation; a failed call takes that back)
 * and the allocation of the new one.
 */
#define TRACE_REALLOC(hook, old, size, call)                                        \
	do {                                                                        \
		size_t have_;                                                       \
		if (unlikely(ht_process.untraced))                                  \
			return acct_untraced_block((old), &have_) ?                 \
				       untraced_move((old), have_, (size)) : (call); \
		GUARD_SCOPE(g_);                                                    \
		struct acct_block b_;                                               \
		bool had_ = false, at_once_ = false;                                \
		void *p_;                                                           \
		if (unlikely(must_defer()) && (old) && (old) != ht_self.freeing) {  \
			p_ = realloc_queued((old), (size));                         \
			if (p_ && g_.owned)                                         \
				note(p_, (size), (hook));                           \
			return p_;                                                  \
		}                                                                   \
		if ((old) && (old) != ht_self.freeing) {                            \
			at_once_ = released_at_once(old);                           \
			had_ = acct_free((old), &b_, at_once_);                     \
			if (!had_)                                                  \
				freed_before(old);                                  \
		}                                                                   \
		if (unlikely(had_ && b_.id == ACCT_TRACER_ID))                      \
			p_ = (size) ? REAL(malloc)(size) : NULL;                    \
		else                                                                \
			p_ = (call);                                                \
		if (p_ && g_.owned)                                                 \
			note(p_, (size), (hook));                                   \
		if (unlikely(had_ && b_.id == ACCT_TRACER_ID) && (p_ || !(size)))   \
			tracer_move((old), &b_, p_, (size));                        \
		else if (!p_ && had_ && (size))                                     \
			restore((old), &b_, at_once_);                              \
		if (unlikely(!p_) && (size) && errno == ENOMEM)                     \
			oom_failed(size);                                           \
		return p_;                                                          \
	} while (0)

/*
 * realloc() while the bookkeeping is queued: old's record cannot go before
 * the real call, and the real realloc could free old at once.  So old is
 * copied into a new block and its release queued, as a free() would be
 * (glibc's realloc(old, 0) frees old and returns NULL).
 */
static NOINLINE void *realloc_queued(void *old, size_t size)
{
	void *p = size ? REAL(malloc)(size) : NULL;
	size_t have;

	if (size && !p)
		return NULL; /* old stays, errno is ENOMEM */
	if (p) {
		have = REAL(malloc_usable_size)(old);
		memcpy(p, old, have < size ? have : size);
	}
	if (!queue_release(R_free, old, 0, 0)) {
		acct_missed(true);
		REAL(free)(old);
	}
	return p;
}

/* A realloc failed: old is the program's again, as if never released. */
static NOINLINE void restore(void *old, const struct acct_block *b, bool at_once)
{
	int saved = errno;

	acct_restore(old, b, at_once);
	if (at_once)
		last_alloc = old;
	errno = saved;
}

/* ---------------------------------------------------------------- C hooks */

/*
 * The --pid libraries (compat.h): ld.so's own calls (dlopen's, and in
 * libheaptrace-pid-dyn.so a thread's dynamic TLS block) may reach these
 * hooks through a redirected PLT stub of the program's.  They are the
 * loader's, not the program's, and are forwarded before anything touches
 * TLS, whose first touch on a thread of the -dyn library is such a call.
 * The loader's code range is set by the constructor, before anything can
 * come here.
 */
#ifdef HT_PID_BUILD
static uintptr_t loader_lo, loader_hi;
#define FROM_LOADER() \
	unlikely((uintptr_t)__builtin_return_address(0) - loader_lo < loader_hi - loader_lo)

static int find_loader(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	if (info->dlpi_addr != *(uintptr_t *)arg)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			loader_lo = info->dlpi_addr + ph->p_vaddr;
			loader_hi = loader_lo + ph->p_memsz;
		}
	}
	return 1;
}

void hooks_find_loader(void)
{
	uintptr_t base = getauxval(AT_BASE);

	dl_iterate_phdr(find_loader, &base);
}
#else
#define FROM_LOADER() 0

void hooks_find_loader(void)
{
}
#endif

/*
 * Each hook is an entry, the exported function, and a recording path
 * (name_rec), which is the whole of the hook.  With --sample most events
 * are not recorded, and the entries forward those themselves, at the cost
 * of the tests of pass_alloc() or pass_release() (sample.h: a subtraction
 * and a compare; a load); the rest they hand to the recording path by a
 * tail call, with their own pc, frame 0 of what is recorded (note()): the
 * recording path's caller is the program, as the entry's was.  gcc sets
 * up a function's whole frame before its first test (six registers saved,
 * room for a backtrace's frames): the split spares an event not recorded
 * the recording path's.  An entry forwards only what the recording path
 * would forward untouched too.
 *
 * An allocation forwarded unguarded cannot tell a nested call from an
 * outermost one: right where the real function calls no hook, as the
 * malloc family's functions call none in glibc, jemalloc, tcmalloc or
 * mimalloc.  Those that do (operator new calls malloc(), glibc's
 * reallocarray() realloc()) forward guarded (PASS_ALLOC()).  Either way
 * a failure is seen (--oom-report, on by default), so an allocation is
 * a call, a release a tail call.
 */

/*
 * An allocation of size bytes, with --sample on: forward it untouched?  A
 * nested one (busy) is never recorded nor counted down, but the tracer's
 * own goes to its memory (the recording path); an outermost one is
 * counted down (sample.h), and recorded by the recording path when it
 * brings the count to zero.
 */
static inline bool pass_alloc(size_t size)
{
	if (ht_self.busy)
		return !ht_self.tracer;
	if (!sample_pass(size))
		return false;
	last_alloc = NULL;
	return true;
}

/*
 * A release of p, with --sample on: forward it untouched?  Yes when p was
 * not recorded (the filter says so, sample.h) and no queued event waits,
 * as the queue keeps the order of events (must_defer()).  Whether the
 * real function's own calls nest does not matter: a release of a block
 * not recorded has nothing to forget.
 */
static inline bool pass_release(const void *p)
{
	if (must_defer() || sample_maybe((uintptr_t)p))
		return false;
	if (p)
		last_alloc = NULL;
	return true;
}

static inline bool pass_realloc(const void *old, size_t size)
{
	return (!old || pass_release(old)) && pass_alloc(size);
}

/*
 * The real function id, for an entry to forward to, or NULL: without
 * --sample (tested first, the rest is for it), not resolved yet (the
 * recording path resolves it), or a call of the loader's (FROM_LOADER(),
 * forwarded by the recording path).
 */
static inline __attribute__((always_inline)) void *entry_real(enum real_id id)
{
	void *real;

	if (!ht_sample_rate)
		return NULL;
	real = atomic_load_relaxed(&reals[id]);
	return real && !FROM_LOADER() ? real : NULL;
}

static NOINLINE void pass_failed(size_t size)
{
	if (errno == ENOMEM)
		oom_failed(size);
}

/* An allocation an entry forwarded: its result, a failure told to
 * --oom-report as the recording path does. */
#define PASSED(p, size)                                                             \
	do {                                                                        \
		if (unlikely(!(p)))                                                 \
			pass_failed(size);                                          \
		return (p);                                                         \
	} while (0)

/* The same, guarded: for a real function that calls hooks (see above). */
#define PASS_ALLOC(call, size)                                                      \
	do {                                                                        \
		GUARD_SCOPE(g_);                                                    \
		void *p_ = (call);                                                  \
		PASSED(p_, size);                                                   \
	} while (0)

#define ARGS(...) __VA_ARGS__

/*
 * A recording path is a function of its own where the entry's call of it
 * is a tail call (the Makefile asks for sibling calls with any
 * optimization), and inlined into the entry where it would not be (-O0,
 * which makes none): either way the program's code is its caller.
 */
#ifdef __OPTIMIZE__
#define REC_PATH NOINLINE
#else
#define REC_PATH inline __attribute__((always_inline))
#endif

/*
 * The entry of an allocation hook fn(args) of size bytes, unguarded:
 * forward when pass, else the recording path fn_rec(args, pc), whose
 * note() counts down an allocation that pass did not.
 */
#define ENTRY_ALLOC(fn, args, size, pass)                                           \
	do {                                                                        \
		__typeof__(&fn) real_ = entry_real(R_##fn);                         \
		if (real_ && (pass)) {                                              \
			void *p_ = real_ args;                                      \
			PASSED(p_, size);                                           \
		}                                                                   \
		return fn##_rec(ARGS args, ht_current_pc());                        \
	} while (0)

static REC_PATH void *malloc_rec(size_t size, void *hook)
{
	if (unlikely(!real_get(R_malloc)))
		return boot_alloc(size, 16);
	if (FROM_LOADER())
		return REAL(malloc)(size);
	if (unlikely(ht_self.tracer))
		return tracer_alloc(size);
	TRACE_ALLOC(hook, REAL(malloc)(size), size);
}

EXPORT void *malloc(size_t size)
{
	ENTRY_ALLOC(malloc, (size), size, pass_alloc(size));
}

static REC_PATH void free_rec(void *p)
{
	if (unlikely(is_boot(p) || !real_get(R_free)))
		return;
	if (FROM_LOADER())
		return REAL(free)(p);
	TRACE_RELEASE(R_free, p, 0, 0, REAL(free)(p));
}

EXPORT void free(void *p)
{
	__typeof__(&free) real = entry_real(R_free);

	if (real && !is_boot(p) && pass_release(p))
		return real(p);
	free_rec(p);
}

static REC_PATH void *calloc_rec(size_t n, size_t m, void *hook)
{
	if (unlikely(!real_get(R_calloc)))
		return boot_calloc(n, m);
	if (FROM_LOADER())
		return REAL(calloc)(n, m);
	if (unlikely(ht_self.tracer))
		return tracer_calloc(n, m);
	TRACE_ALLOC(hook, REAL(calloc)(n, m), n * m); /* on overflow calloc fails: no record */
}

EXPORT void *calloc(size_t n, size_t m)
{
	ENTRY_ALLOC(calloc, (n, m), n * m, pass_alloc(n * m));
}

static REC_PATH void *realloc_rec(void *old, size_t size, void *hook)
{
	if (unlikely(is_boot(old) || !real_get(R_realloc)))
		return boot_realloc(old, size);
	if (FROM_LOADER())
		return REAL(realloc)(old, size);
	if (unlikely(ht_self.tracer))
		return tracer_realloc(old, size);
	TRACE_REALLOC(hook, old, size, REAL(realloc)(old, size));
}

EXPORT void *realloc(void *old, size_t size)
{
	ENTRY_ALLOC(realloc, (old, size), size, !is_boot(old) && pass_realloc(old, size));
}

/* glibc's calls realloc(): guarded, in the recording path alone. */
EXPORT void *reallocarray(void *old, size_t n, size_t m)
{
	size_t size;
	bool overflow = __builtin_mul_overflow(n, m, &size);

	if (unlikely(is_boot(old) || !real_get(R_reallocarray))) {
		if (overflow) {
			errno = ENOMEM;
			return NULL;
		}
		return boot_realloc(old, size);
	}
	if (overflow) /* fails with ENOMEM and leaves old alone */
		return REAL(reallocarray)(old, n, m);
	if (unlikely(ht_self.tracer))
		return tracer_realloc(old, size);
	if (ht_sample_rate && pass_realloc(old, size))
		PASS_ALLOC(REAL(reallocarray)(old, n, m), size);
	TRACE_REALLOC(ht_current_pc(), old, size, REAL(reallocarray)(old, n, m));
}

/* The allocation hooks that only forward and record: fn(params), whose
 * real function allocates size bytes, an entry and its recording path. */
#define ALLOC_HOOK(fn, params, args, size, boot)                                    \
	static REC_PATH void *fn##_rec(ARGS params, void *hook)                     \
	{                                                                           \
		if (unlikely(!real_get(R_##fn)))                                    \
			return boot;                                                \
		TRACE_ALLOC(hook, REAL(fn) args, size);                             \
	}                                                                           \
	void *fn params                                                             \
	{                                                                           \
		ENTRY_ALLOC(fn, args, size, pass_alloc(size));                      \
	}

ALLOC_HOOK(memalign, (size_t align, size_t size), (align, size), size, boot_alloc(size, align))
ALLOC_HOOK(aligned_alloc, (size_t align, size_t size), (align, size), size,
	   boot_alloc(size, align))
ALLOC_HOOK(valloc, (size_t size), (size), size, boot_alloc(size, 4096))
ALLOC_HOOK(pvalloc, (size_t size), (size), size,
	   boot_alloc((size + 4095) & ~(size_t)4095, 4096))

/* POSIX: on failure *memptr is not modified and errno is not set. */
static REC_PATH int posix_memalign_rec(void **memptr, size_t align, size_t size, void *hook)
{
	if (unlikely(!real_get(R_posix_memalign)))
		return boot_posix_memalign(memptr, align, size);
	if (unlikely(ht_process.untraced))
		return REAL(posix_memalign)(memptr, align, size);
	{
		GUARD_SCOPE(g);
		int r = REAL(posix_memalign)(memptr, align, size);

		if (g.owned && r == 0 && *memptr)
			note(*memptr, size, hook);
		else if (unlikely(r == ENOMEM))
			oom_failed(size);
		return r;
	}
}

EXPORT int posix_memalign(void **memptr, size_t align, size_t size)
{
	__typeof__(&posix_memalign) real = entry_real(R_posix_memalign);

	if (real && pass_alloc(size)) {
		int r = real(memptr, align, size);

		if (unlikely(r == ENOMEM))
			oom_failed(size);
		return r;
	}
	return posix_memalign_rec(memptr, align, size, ht_current_pc());
}

/* Arena blocks and the tracer's need us; glibc answers for its own. */
EXPORT size_t malloc_usable_size(void *p)
{
	struct acct_block b;
	size_t size;

	if (unlikely(is_boot(p)))
		return boot_size(p);
	if (unlikely(ht_process.untraced)) {
		if (acct_untraced_block(p, &size))
			return size;
	} else if (p && !must_defer() && acct_lookup(p, &b) && b.id == ACCT_TRACER_ID) {
		return b.size;
	}
	return real_get(R_malloc_usable_size) ? REAL(malloc_usable_size)(p) : 0;
}

/* ---------------------------------------------------------------- C++ hooks */

/*
 * Throwing forms: the real operator runs the new-handler and throws
 * std::bad_alloc; the guard is released by the cleanup as it unwinds.
 * The real operator calls malloc(): forwarded guarded (see above).
 */
#define NEW_HOOK(fn, params, args)                                                  \
	static REC_PATH void *fn##_rec(ARGS params, void *hook)                     \
	{                                                                           \
		TRACE_ALLOC(hook, REAL_CXX(fn) args, n);                            \
	}                                                                           \
	void *fn params                                                             \
	{                                                                           \
		if (ht_sample_rate && pass_alloc(n))                                \
			PASS_ALLOC(REAL_CXX(fn) args, n);                           \
		return fn##_rec(ARGS args, ht_current_pc());                        \
	}

NEW_HOOK(op_new, (size_t n), (n))
NEW_HOOK(op_new_arr, (size_t n), (n))
NEW_HOOK(op_new_nt, (size_t n, NT t), (n, t))
NEW_HOOK(op_new_arr_nt, (size_t n, NT t), (n, t))
NEW_HOOK(op_new_al, (size_t n, size_t a), (n, a))
NEW_HOOK(op_new_arr_al, (size_t n, size_t a), (n, a))
NEW_HOOK(op_new_al_nt, (size_t n, size_t a, NT t), (n, a, t))
NEW_HOOK(op_new_arr_al_nt, (size_t n, size_t a, NT t), (n, a, t))

/* a and b: how to replay a queued release (TRACE_RELEASE()). */
#define DELETE_HOOK(fn, params, args, a, b)                                         \
	static REC_PATH void fn##_rec params                                        \
	{                                                                           \
		TRACE_RELEASE(R_##fn, p, a, b, REAL_CXX(fn) args);                  \
	}                                                                           \
	void fn params                                                              \
	{                                                                           \
		__typeof__(&fn) real_ = entry_real(R_##fn);                         \
		if (real_ && pass_release(p))                                       \
			return real_ args;                                          \
		fn##_rec args;                                                      \
	}

DELETE_HOOK(op_del, (void *p), (p), 0, 0)
DELETE_HOOK(op_del_arr, (void *p), (p), 0, 0)
DELETE_HOOK(op_del_sz, (void *p, size_t n), (p, n), n, 0)
DELETE_HOOK(op_del_arr_sz, (void *p, size_t n), (p, n), n, 0)
DELETE_HOOK(op_del_nt, (void *p, NT t), (p, t), (size_t)t, 0)
DELETE_HOOK(op_del_arr_nt, (void *p, NT t), (p, t), (size_t)t, 0)
DELETE_HOOK(op_del_al, (void *p, size_t a), (p, a), a, 0)
DELETE_HOOK(op_del_arr_al, (void *p, size_t a), (p, a), a, 0)
DELETE_HOOK(op_del_sz_al, (void *p, size_t n, size_t a), (p, n, a), n, a)
DELETE_HOOK(op_del_arr_sz_al, (void *p, size_t n, size_t a), (p, n, a), n, a)
DELETE_HOOK(op_del_al_nt, (void *p, size_t a, NT t), (p, a, t), a, (size_t)t)
DELETE_HOOK(op_del_arr_al_nt, (void *p, size_t a, NT t), (p, a, t), a, (size_t)t)

/* ---------------------------------------------------------------- signals */

/*
 * The program sees its own signal dispositions, not heaptrace's
 * (reporter.c), and its handlers run through handlers.c's trampoline.
 */
EXPORT int sigaction(int signo, const struct sigaction *act, struct sigaction *old)
{
	if (unlikely(!real_get(R_sigaction))) {
		errno = ENOSYS;
		return -1;
	}
	return reporter_sigaction(signo, act, old, handlers_sigaction);
}

/*
 * The unwinder keeps the call-frame rules of code by address (cfi.c), the
 * frame-pointer walk where code is (unwind.c): code that dlclose()
 * unmapped may be replaced by other code or data at the same addresses,
 * so both are forgotten once it has returned.  Forgetting takes the
 * unwinder's lock: a signal handler's hooks meanwhile queue their
 * bookkeeping (guard.h).
 */
EXPORT int dlclose(void *handle)
{
	int r;

	if (unlikely(!real_get(R_dlclose)))
		return -1;
	r = REAL(dlclose)(handle);
	if (r == 0 && !ht_process.untraced) {
		guard_enter();
		unwind_forget();
		guard_exit();
	}
	return r;
}

/*
 * Coroutines: makecontext() gives a context a stack of the program's, often
 * of a few kilobytes.  A switch to such a context tells the hooks its
 * lowest byte (guard.h), and a context that is resumed puts back its own
 * (it is on its own stack again, whichever thread resumed it).  A context
 * switched to by other means (assembly of a coroutine library) runs as a
 * thread's own stack does.
 */
static uintptr_t context_stack_lo(const ucontext_t *uc)
{
#ifdef REG_RSP
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	uintptr_t lo = (uintptr_t)uc->uc_stack.ss_sp;

	if (sp > lo && sp - lo <= uc->uc_stack.ss_size)
		return lo;
#endif
	return 0;
}

EXPORT int swapcontext(ucontext_t *restrict oucp, const ucontext_t *restrict ucp)
{
	uintptr_t mine = ht_self.stack_lo;
	int r;

	if (unlikely(!real_get(R_swapcontext))) {
		errno = ENOSYS;
		return -1;
	}
	ht_self.stack_lo = context_stack_lo(ucp);
	r = REAL(swapcontext)(oucp, ucp);
	ht_self.stack_lo = mine;
	return r;
}

EXPORT int setcontext(const ucontext_t *ucp)
{
	uintptr_t mine = ht_self.stack_lo;
	int r;

	if (unlikely(!real_get(R_setcontext))) {
		errno = ENOSYS;
		return -1;
	}
	ht_self.stack_lo = context_stack_lo(ucp);
	r = REAL(setcontext)(ucp); /* returns only when it fails */
	ht_self.stack_lo = mine;
	return r;
}

/* signal() and its glibc variants return the previous handler. */
sighandler_t bsd_signal(int signo, sighandler_t handler); /* not declared under _GNU_SOURCE */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" /* sigset */
#define SIGNAL_HOOK(fn)                                                             \
	static sighandler_t wrapped_##fn(int signo, sighandler_t handler)           \
	{                                                                           \
		return handlers_after_signal(signo, handler, REAL(fn)(signo, handler)); \
	}                                                                           \
	EXPORT sighandler_t fn(int signo, sighandler_t handler)                     \
	{                                                                           \
		if (unlikely(!real_get(R_##fn))) {                                  \
			errno = ENOSYS;                                             \
			return SIG_ERR;                                             \
		}                                                                   \
		return reporter_signal(signo, handler, wrapped_##fn);               \
	}

SIGNAL_HOOK(signal)
SIGNAL_HOOK(sysv_signal)
SIGNAL_HOOK(__sysv_signal)
SIGNAL_HOOK(bsd_signal)
SIGNAL_HOOK(sigset)
