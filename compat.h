/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * compat.h - everything that differs between compilers, C libraries,
 * architectures and binutils versions, so that the rest of the code does not
 * carry #ifdefs.  Only macros and tiny inline functions live here.
 */
#ifndef HEAPTRACE_COMPAT_H
#define HEAPTRACE_COMPAT_H

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define NOINLINE __attribute__((noinline))

/*
 * Thread-local state of the library must be initial-exec: the general
 * dynamic model may call __tls_get_addr, which can allocate and take the
 * loader lock, from inside malloc, and costs a call per access besides.
 * libheaptrace-pid.so, which --pid loads into a running process, is
 * initial-exec too: glibc keeps some static TLS for libraries loaded late
 * (glibc.rtld.optional_static_tls, 512 bytes, and a little more), and its
 * thread-locals fit in that (libheaptrace.c keeps its 14 KB queue and
 * capture area elsewhere; a test holds them under 512 bytes).  Where other
 * late libraries took it, that dlopen fails, and the launcher loads
 * libheaptrace-pid-dyn.so (HT_TLS_DYNAMIC): the same code with dynamic
 * TLS, through TLS descriptors.  ld.so allocates a thread's block there
 * at its first access with its own malloc, which may come back to our
 * hooks through a redirected PLT stub: the hooks of both --pid builds
 * forward the loader's calls before they touch TLS (libheaptrace.c:
 * FROM_LOADER).
 */
#ifdef HT_TLS_DYNAMIC
#define HT_TLS __thread
#else
#define HT_TLS __thread __attribute__((tls_model("initial-exec")))
#endif

#define CACHELINE 64

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#else
	__asm__ volatile("" ::: "memory");
#endif
}

/* An address inside the function this is inlined into (no label-as-value:
 * clang refuses to inline a function that takes a label's address). */
static inline __attribute__((always_inline)) void *ht_current_pc(void)
{
	void *pc = NULL;

#if defined(__x86_64__)
	__asm__ volatile("lea 0(%%rip), %0" : "=r"(pc));
#elif defined(__aarch64__)
	__asm__ volatile("adr %0, ." : "=r"(pc));
#endif
	return pc;
}

/* The letter size_t takes in Itanium C++ mangled names. */
#if __SIZEOF_SIZE_T__ == 8 && !defined(__APPLE__)
#define CXX_SIZE "m"
#else
#define CXX_SIZE "j"
#endif

/* mallinfo2 (glibc 2.33) reports size_t fields; older glibc has only int. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define HAVE_MALLINFO2 1
#endif

struct ht_mallinfo {
	size_t arena;    /* bytes obtained with brk, all arenas */
	size_t hblkhd;   /* bytes in mmapped chunks */
	size_t uordblks; /* bytes in use in the arenas */
};

/*
 * mallinfo holds the arena's lock, which a program's signal handler that
 * calls malloc on this thread would wait for forever: its signals wait
 * instead, for the few microseconds of the call.
 */
static inline struct ht_mallinfo ht_mallinfo(void)
{
	sigset_t all, old;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
#ifdef HAVE_MALLINFO2
	struct mallinfo2 mi = mallinfo2();
#else
	struct mallinfo mi = mallinfo();
#endif
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (struct ht_mallinfo){ (size_t)mi.arena, (size_t)mi.hblkhd, (size_t)mi.uordblks };
}

/*
 * The buffer a stdio stream allocated, NULL if none: glibc's FILE is
 * struct _IO_FILE, whose _IO_buf_base is private but stable ABI.  Another
 * C library's buffers are not known, and stay in the report.
 */
static inline void *ht_stdio_buffer(FILE *f)
{
#ifdef __GLIBC__
	return f->_IO_buf_base;
#else
	(void)f;
	return NULL;
#endif
}

/*
 * close_range(first, ~0U, CLOSE_RANGE_UNSHARE) (Linux 5.9): the calling
 * thread gets a descriptor table of its own holding the descriptors below
 * first.  Called by number: glibc declares it from 2.34 only.  -1 when the
 * kernel (or a seccomp filter) refuses; the table is shared as before then.
 */
#ifndef __NR_close_range
#define __NR_close_range 436 /* the same on every architecture */
#endif
static inline int ht_unshare_fds_below(unsigned first)
{
	return (int)syscall(__NR_close_range, first, ~0U, 1U << 1 /* CLOSE_RANGE_UNSHARE */);
}

/* sem_clockwait (glibc 2.30): a semaphore wait with a CLOCK_MONOTONIC deadline. */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
#define HAVE_SEM_CLOCKWAIT 1
#endif

/*
 * _dl_find_object (glibc 2.35): an address's object, without the loader's
 * lock.  heaptrace's own walk of .eh_frame (cfi.c) needs it and knows
 * x86-64's registers (elsewhere every backtrace is libunwind's); the
 * frame-pointer walk needs it to tell code from data (stacktrace.c).
 */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define HAVE_DL_FIND_OBJECT 1
#endif
#if defined(__x86_64__) && defined(HAVE_DL_FIND_OBJECT)
#define HAVE_CFI_WALK 1
#endif

/*
 * binutils: define HT_WITH_BFD before including this header to get bfd.h.
 * Older bfd.h refuses to be included without a config.h's PACKAGE; the
 * section accessors lost their bfd argument in 2.34; DMGL_* live in
 * libiberty's demangle.h, which binutils-dev does not ship.
 */
#ifdef HT_WITH_BFD
#ifndef PACKAGE
#define PACKAGE "heaptrace"
#define PACKAGE_VERSION HT_VERSION
#endif
#include <bfd.h>
#ifdef bfd_get_section_vma
#define ht_section_vma(abfd, s) bfd_get_section_vma(abfd, s)
#define ht_section_size(abfd, s) bfd_get_section_size(s)
#define ht_section_flags(abfd, s) bfd_get_section_flags(abfd, s)
#else
#define ht_section_vma(abfd, s) bfd_section_vma(s)
#define ht_section_size(abfd, s) bfd_section_size(s)
#define ht_section_flags(abfd, s) bfd_section_flags(s)
#endif
#ifndef DMGL_PARAMS
#define DMGL_PARAMS (1 << 0)
#define DMGL_ANSI (1 << 1)
#endif
#endif

#endif
