// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * inject.c - ptrace-based shared library injector (Linux x86-64, glibc >= 2.34).
 *
 * Outline:
 *   1. Pre-flight checks that change nothing: process exists, is ours to
 *      trace, not already traced, not stopped, x86-64, dynamically linked
 *      against libc.so.6.
 *   2. Resolve dlopen/dlsym/dlerror/dlclose in the target: libc load base
 *      from /proc/PID/maps + symbol offsets from libc's own .dynsym.
 *   3. Seize ONE thread, interrupt it, and keep it only if it is in a state
 *      where calling dlopen cannot deadlock (else let it run and retry).
 *   4. Save all registers and the XSAVE state, run the calls on that thread
 *      with a return address of 0 (the return faults, we catch the SIGSEGV
 *      stop), restore everything, detach.
 *
 * Design notes (the why):
 *  - dlopen is found from the target's libc FILE (opened through
 *    /proc/PID/root, checked against the device/inode in maps), not with
 *    dlsym in our own process: that works when the injector is linked
 *    against another libc, or the target lives in a container.
 *  - The user function is found with dlsym() in the target, on the handle
 *    dlopen returned: the loader knows the real load address, symbol
 *    versions and interposition; parsing maps for a library that may be
 *    mapped twice (or already loaded from another path) would be guesswork.
 *  - Syscall restart, as gdb does for inferior calls (amd64_linux_write_pc
 *    sets orig_rax = -1; the saved regcache, orig_rax included, is put back
 *    afterwards): while our code runs orig_rax is -1 so the kernel does not
 *    "restart" into the middle of it; on restore rax (-ERESTART*) and
 *    orig_rax go back as saved, and since the stop happened inside
 *    get_signal(), the kernel's restart logic runs on those registers when
 *    we detach (ERESTART_RESTARTBLOCK goes through restart_syscall and the
 *    thread's untouched restart_block, so a sleep keeps its deadline).
 *  - Signals that arrive for our thread while it runs our code are held
 *    (suppressed at their signal-delivery-stop, siginfo kept) and given back
 *    at detach: the first via PTRACE_SETSIGINFO + PTRACE_DETACH(sig), with
 *    its original siginfo, the rest re-queued with rt_tgsigqueueinfo/tgkill.
 *  - Limits: the calls run on the thread's own stack (below the red zone);
 *    an injected call that itself sleeps and gets interrupted could replace
 *    the thread's restart_block; an abandoned (timed out) call cannot be
 *    undone; a thread in a signal handler that interrupted malloc looks
 *    "safe" and is only caught by the call timeout.
 */
#define _GNU_SOURCE
#include "inject.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "inject.c only supports x86-64 hosts"
#endif

/* Kernel-internal restart codes, visible in rax of a thread stopped in a syscall. */
#define ERESTARTSYS_ 512
#define ERESTARTNOINTR_ 513
#define ERESTARTNOHAND_ 514
#define ERESTART_RESTARTBLOCK_ 516

#define RED_ZONE 128
#define MAX_HELD 16
#define MAX_UNSAFE 32
#define MAX_SLEEP_FNS 8
#define XSTATE_MAX (64 * 1024)
#define RTLD_NOW_ 2 /* value of RTLD_NOW in the target's ABI */

#define EFLAGS_TF 0x100UL
#define EFLAGS_DF 0x400UL

struct range {
	unsigned long lo, hi;
};

struct target {
	pid_t pid;
	pid_t tid; /* seized thread, 0 if none */
	struct inject_opts o;
	char *err;
	size_t errlen;

	/* from /proc/PID/maps */
	char libc_path[PATH_MAX];
	unsigned long libc_base;
	unsigned int libc_major, libc_minor;
	unsigned long libc_ino;
	int have_ldso;
	struct range unsafe_text[MAX_UNSAFE]; /* libc + ld.so executable maps */
	int n_unsafe;
	struct range sleep_fns[MAX_SLEEP_FNS]; /* libc functions that may restart_syscall */
	int n_sleep_fns;

	/* resolved in the target */
	unsigned long a_dlopen, a_dlsym, a_dlerror, a_dlclose;

	/* saved thread state */
	struct user_regs_struct saved;
	unsigned char *xstate;
	size_t xstate_len; /* 0: xstate unavailable, use fpregs */
	struct user_fpregs_struct saved_fp;
	int state_saved;

	/* call frame */
	unsigned long call_sp; /* 16-byte aligned, below our data */

	/* signals held back while the thread ran our code */
	siginfo_t held[MAX_HELD];
	int n_held;
	int lost_held;
	int in_sig_stop; /* current stop is a signal-delivery-stop */
};

/* ---------- errors and logging ---------- */

static void seterr(struct target *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void seterr(struct target *t, const char *fmt, ...)
{
	va_list ap;

	if (!t->err || !t->errlen || t->err[0]) /* first error wins */
		return;
	va_start(ap, fmt);
	vsnprintf(t->err, t->errlen, fmt, ap);
	va_end(ap);
}

/* Append to an existing message, e.g. when undoing a step also fails. */
static void adderr(struct target *t, const char *msg)
{
	size_t n;

	if (!t->err || !t->errlen)
		return;
	n = strlen(t->err);
	snprintf(t->err + n, t->errlen - n, "%s%s", n ? "; " : "", msg);
}

static void vlog(const struct target *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void vlog(const struct target *t, const char *fmt, ...)
{
	va_list ap;

	if (!t->o.verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "inject: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000L, (us % 1000000L) * 1000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ---------- /proc/PID/status ---------- */

struct pstatus {
	char name[64];
	char state;
	pid_t tgid;
	pid_t tracer;
	unsigned int uid[4];
	unsigned long long sigblk, sigign;
};

static int read_status(pid_t pid, pid_t tid, struct pstatus *s)
{
	char path[64], line[256];
	FILE *f;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	memset(s, 0, sizeof(*s));
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Name:\t%63[^\n]", s->name) == 1)
			continue;
		if (sscanf(line, "State:\t%c", &s->state) == 1)
			continue;
		if (sscanf(line, "Tgid:\t%d", &s->tgid) == 1)
			continue;
		if (sscanf(line, "TracerPid:\t%d", &s->tracer) == 1)
			continue;
		if (sscanf(line, "Uid:\t%u %u %u %u", &s->uid[0], &s->uid[1],
			   &s->uid[2], &s->uid[3]) == 4)
			continue;
		if (sscanf(line, "SigBlk:\t%llx", &s->sigblk) == 1)
			continue;
		sscanf(line, "SigIgn:\t%llx", &s->sigign);
	}
	fclose(f);
	return 0;
}

static int sig_in_mask(unsigned long long mask, int sig)
{
	return (mask >> (sig - 1)) & 1;
}

/* One line explaining why ptrace was refused, including the Yama setting. */
static void perm_error(struct target *t, const char *what)
{
	char buf[16] = "";
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int scope = -1;

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			scope = atoi(buf);
		fclose(f);
	}
	switch (scope) {
	case -1:
		seterr(t, "permission denied to trace pid %d (%s); Yama is not active, "
		       "so the target must run as your user and be dumpable, or run as root",
		       t->pid, what);
		break;
	case 0:
		seterr(t, "permission denied to trace pid %d (%s); kernel.yama.ptrace_scope=0 "
		       "(classic): the target must run as your user and be dumpable, or run as root",
		       t->pid, what);
		break;
	case 1:
		seterr(t, "permission denied to trace pid %d (%s); kernel.yama.ptrace_scope=1: "
		       "only descendants may be traced; run `sudo sysctl kernel.yama.ptrace_scope=0` "
		       "or run as root", t->pid, what);
		break;
	case 2:
		seterr(t, "permission denied to trace pid %d (%s); kernel.yama.ptrace_scope=2: "
		       "only processes with CAP_SYS_PTRACE may trace; run as root", t->pid, what);
		break;
	default:
		seterr(t, "permission denied to trace pid %d (%s); kernel.yama.ptrace_scope=%d: "
		       "ptrace attach is disabled until reboot", t->pid, what, scope);
		break;
	}
}

/* ---------- pre-flight checks (read-only) ---------- */

static int check_process(struct target *t)
{
	struct pstatus s;
	uid_t me = geteuid();
	int i;

	if (t->pid <= 0) {
		seterr(t, "invalid pid %d", t->pid);
		return -1;
	}
	if (t->pid == getpid()) {
		seterr(t, "refusing to inject into the injector itself (pid %d)", t->pid);
		return -1;
	}
	if (read_status(t->pid, 0, &s) < 0) {
		if (errno == ENOENT || errno == ESRCH)
			seterr(t, "no such process: pid %d does not exist", t->pid);
		else
			seterr(t, "cannot read /proc/%d/status: %s", t->pid, strerror(errno));
		return -1;
	}
	if (s.tgid != t->pid) {
		seterr(t, "pid %d is a thread of process %d; give the process id", t->pid, s.tgid);
		return -1;
	}
	if (s.state == 'Z' || s.state == 'X') {
		seterr(t, "pid %d (%s) is a zombie/exiting process", t->pid, s.name);
		return -1;
	}
	if (s.tracer) {
		struct pstatus ts;
		const char *tn = read_status(s.tracer, 0, &ts) == 0 ? ts.name : "?";

		seterr(t, "pid %d (%s) is already traced by pid %d (%s); a process can have "
		       "only one tracer", t->pid, s.name, s.tracer, tn);
		return -1;
	}
	if (s.state == 'T' || s.state == 't') {
		seterr(t, "pid %d (%s) is stopped (state %c); continue it first (kill -CONT)",
		       t->pid, s.name, s.state);
		return -1;
	}
	/* Ptrace needs our uid to match all of the target's uids unless we are root. */
	for (i = 0; me != 0 && i < 3; i++) {
		if (s.uid[i] != me) {
			char what[160];

			snprintf(what, sizeof(what), "%s runs as uid %u, you are uid %u",
				 s.name, s.uid[i], me);
			perm_error(t, what);
			return -1;
		}
	}
	/* Our return-to-0 trick needs a catchable SIGSEGV; a forced SIGSEGV
	 * would reset an ignored disposition to default. */
	if (sig_in_mask(s.sigign, SIGSEGV)) {
		seterr(t, "pid %d (%s) ignores SIGSEGV; the injector's call trap would change "
		       "that disposition, refusing", t->pid, s.name);
		return -1;
	}
	return 0;
}

static int check_arch(struct target *t)
{
	char path[64];
	Elf64_Ehdr eh;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM)
			perm_error(t, "cannot open /proc/PID/exe");
		else if (errno == ENOENT)
			seterr(t, "pid %d has no executable (kernel thread or exited)", t->pid);
		else
			seterr(t, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	n = pread(fd, &eh, sizeof(eh), 0);
	close(fd);
	if (n != (ssize_t)sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
		seterr(t, "pid %d: executable is not an ELF file", t->pid);
		return -1;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		seterr(t, "pid %d is not an x86-64 process (ELF class %d, machine %d); "
		       "only x86-64 targets are supported", t->pid,
		       eh.e_ident[EI_CLASS], eh.e_machine);
		return -1;
	}
	return 0;
}

/* ---------- /proc/PID/maps ---------- */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static int is_libc(const char *path)
{
	const char *b = base_name(path);

	return strcmp(b, "libc.so.6") == 0 ||
	       (strncmp(b, "libc-", 5) == 0 && strstr(b, ".so"));
}

static int is_ldso(const char *path)
{
	const char *b = base_name(path);

	return strncmp(b, "ld-linux", 8) == 0 || strncmp(b, "ld-2.", 5) == 0 ||
	       strncmp(b, "ld64.so", 7) == 0;
}

static void add_unsafe(struct target *t, unsigned long lo, unsigned long hi)
{
	if (t->n_unsafe < MAX_UNSAFE) {
		t->unsafe_text[t->n_unsafe].lo = lo;
		t->unsafe_text[t->n_unsafe].hi = hi;
		t->n_unsafe++;
	}
}

static void note_mapping(struct target *t, unsigned long lo, unsigned long hi,
			 const char *perms, unsigned long off, unsigned int maj,
			 unsigned int min, unsigned long ino, const char *path)
{
	int libc = is_libc(path), ldso = is_ldso(path);

	if (!libc && !ldso)
		return;
	if (perms[2] == 'x')
		add_unsafe(t, lo, hi);
	if (ldso)
		t->have_ldso = 1;
	if (libc && off == 0 && !t->libc_base) {
		t->libc_base = lo;
		t->libc_major = maj;
		t->libc_minor = min;
		t->libc_ino = ino;
		snprintf(t->libc_path, sizeof(t->libc_path), "%s", path);
	}
}

static int parse_maps(struct target *t)
{
	char path[64], line[PATH_MAX + 128];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", t->pid);
	f = fopen(path, "re");
	if (!f) {
		if (errno == EACCES)
			perm_error(t, "cannot read /proc/PID/maps");
		else
			seterr(t, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, off, ino;
		unsigned int maj, min;
		char perms[8], file[PATH_MAX];

		file[0] = 0;
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %4095[^\n]", &lo, &hi, perms,
			   &off, &maj, &min, &ino, file) < 7 || file[0] != '/')
			continue;
		note_mapping(t, lo, hi, perms, off, maj, min, ino, file);
	}
	fclose(f);
	if (!t->libc_base) {
		seterr(t, "pid %d has no libc.so.6 mapped (statically linked or not a glibc "
		       "program)", t->pid);
		return -1;
	}
	if (strstr(t->libc_path, " (deleted)")) {
		seterr(t, "pid %d maps a deleted libc (%s); it was upgraded since the process "
		       "started, cannot resolve dlopen", t->pid, t->libc_path);
		return -1;
	}
	if (!t->have_ldso) {
		seterr(t, "pid %d has no dynamic loader (ld-linux) mapped; cannot dlopen", t->pid);
		return -1;
	}
	return 0;
}

/* ---------- ELF .dynsym lookup in the target's libc file ---------- */

struct elf_file {
	const unsigned char *p;
	size_t size;
};

static const void *elf_at(const struct elf_file *e, uint64_t off, uint64_t len)
{
	if (off > e->size || len > e->size - off)
		return NULL;
	return e->p + off;
}

/* Lowest PT_LOAD vaddr, page aligned: what the mapping at offset 0 corresponds to. */
static int elf_first_load(const struct elf_file *e, uint64_t *vaddr)
{
	const Elf64_Ehdr *eh = elf_at(e, 0, sizeof(*eh));
	const Elf64_Phdr *ph;
	int i;

	if (!eh)
		return -1;
	ph = elf_at(e, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(*ph));
	if (!ph)
		return -1;
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			*vaddr = ph[i].p_vaddr & ~(uint64_t)0xfff;
			return 0;
		}
	}
	return -1;
}

/*
 * Find a defined function symbol in .dynsym.  When a name has several
 * versions (dlopen@@GLIBC_2.34 and the compat dlopen@GLIBC_2.2.5), prefer
 * the default one: versym entries of compat versions carry the hidden bit.
 */
static int elf_dynsym(const struct elf_file *e, const char *name, uint64_t *value,
		      uint64_t *size)
{
	const Elf64_Ehdr *eh = elf_at(e, 0, sizeof(*eh));
	const Elf64_Shdr *sh, *sym_sh = NULL, *ver_sh = NULL;
	const Elf64_Sym *syms;
	const Elf64_Half *vers = NULL;
	const char *strs;
	size_t i, n;
	int found = 0;

	if (!eh)
		return -1;
	sh = elf_at(e, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(*sh));
	if (!sh)
		return -1;
	for (i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type == SHT_DYNSYM)
			sym_sh = &sh[i];
		else if (sh[i].sh_type == SHT_GNU_versym)
			ver_sh = &sh[i];
	}
	if (!sym_sh || sym_sh->sh_link >= eh->e_shnum)
		return -1;
	n = sym_sh->sh_size / sizeof(Elf64_Sym);
	syms = elf_at(e, sym_sh->sh_offset, sym_sh->sh_size);
	strs = elf_at(e, sh[sym_sh->sh_link].sh_offset, sh[sym_sh->sh_link].sh_size);
	if (ver_sh && ver_sh->sh_size >= n * sizeof(Elf64_Half))
		vers = elf_at(e, ver_sh->sh_offset, n * sizeof(Elf64_Half));
	if (!syms || !strs)
		return -1;
	for (i = 1; i < n; i++) {
		const Elf64_Sym *s = &syms[i];

		if (s->st_shndx == SHN_UNDEF || ELF64_ST_TYPE(s->st_info) != STT_FUNC ||
		    s->st_name >= sh[sym_sh->sh_link].sh_size ||
		    strcmp(strs + s->st_name, name) != 0)
			continue;
		*value = s->st_value;
		if (size)
			*size = s->st_size;
		found = 1;
		if (!vers || !(vers[i] & 0x8000))
			break; /* default version */
	}
	return found ? 0 : -1;
}

/* Open the libc the target really maps: through its root, checked by inode. */
static int open_target_libc(struct target *t, struct elf_file *e)
{
	char path[PATH_MAX + 32];
	struct stat st;
	void *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/root%s", t->pid, t->libc_path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(t->libc_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		seterr(t, "cannot open target libc %s: %s", t->libc_path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_ino != t->libc_ino ||
	    major(st.st_dev) != t->libc_major || minor(st.st_dev) != t->libc_minor) {
		seterr(t, "libc file %s is not the one mapped in pid %d (device/inode differ)",
		       t->libc_path, t->pid);
		close(fd);
		return -1;
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		seterr(t, "cannot map %s: %s", t->libc_path, strerror(errno));
		return -1;
	}
	e->p = p;
	e->size = st.st_size;
	return 0;
}

/*
 * A thread stopped in restart_syscall does not tell which syscall it
 * restarts.  The ones that restart that way and are harmless for us are
 * the sleeps and poll; recognise them by the libc function around rip.
 */
static void note_sleep_fns(struct target *t, const struct elf_file *e, unsigned long bias)
{
	static const char *const names[] = { "clock_nanosleep", "nanosleep", "poll" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t v, sz;

		if (t->n_sleep_fns < MAX_SLEEP_FNS &&
		    elf_dynsym(e, names[i], &v, &sz) == 0 && sz) {
			t->sleep_fns[t->n_sleep_fns].lo = bias + v;
			t->sleep_fns[t->n_sleep_fns].hi = bias + v + sz;
			t->n_sleep_fns++;
		}
	}
}

static int resolve_symbols(struct target *t)
{
	struct elf_file e;
	uint64_t first = 0, o_open, o_sym, o_err, o_close;
	unsigned long bias;
	int rc = -1;

	if (open_target_libc(t, &e) < 0)
		return -1;
	if (elf_first_load(&e, &first) < 0) {
		seterr(t, "%s: no PT_LOAD segment", t->libc_path);
	} else if (elf_dynsym(&e, "dlopen", &o_open, NULL) < 0 ||
		   elf_dynsym(&e, "dlsym", &o_sym, NULL) < 0 ||
		   elf_dynsym(&e, "dlerror", &o_err, NULL) < 0 ||
		   elf_dynsym(&e, "dlclose", &o_close, NULL) < 0) {
		seterr(t, "%s does not export dlopen/dlsym/dlerror/dlclose (glibc older than "
		       "2.34 keeps them in libdl, which is not supported)", t->libc_path);
	} else {
		bias = t->libc_base - first;
		t->a_dlopen = bias + o_open;
		t->a_dlsym = bias + o_sym;
		t->a_dlerror = bias + o_err;
		t->a_dlclose = bias + o_close;
		note_sleep_fns(t, &e, bias);
		rc = 0;
	}
	munmap((void *)e.p, e.size);
	return rc;
}

/* ---------- target memory ---------- */

static int mem_write(struct target *t, unsigned long addr, const void *buf, size_t len)
{
	struct iovec l = { (void *)buf, len }, r = { (void *)addr, len };
	size_t i;

	if (process_vm_writev(t->pid, &l, 1, &r, 1, 0) == (ssize_t)len)
		return 0;
	/* Fallback: word-wise, reading back the partial last word. */
	for (i = 0; i < len; i += sizeof(long)) {
		long w = 0;
		size_t k = len - i < sizeof(long) ? len - i : sizeof(long);

		if (k < sizeof(long)) {
			errno = 0;
			w = ptrace(PTRACE_PEEKDATA, t->tid, addr + i, NULL);
			if (errno)
				return -1;
		}
		memcpy(&w, (const char *)buf + i, k);
		if (ptrace(PTRACE_POKEDATA, t->tid, addr + i, (void *)w) < 0)
			return -1;
	}
	return 0;
}

/* Read a NUL-terminated string (truncated to len-1). */
static void mem_read_str(struct target *t, unsigned long addr, char *buf, size_t len)
{
	size_t i;

	buf[0] = 0;
	for (i = 0; i + 1 < len; i += sizeof(long)) {
		long w;

		errno = 0;
		w = ptrace(PTRACE_PEEKDATA, t->tid, addr + i, NULL);
		if (errno)
			break;
		memcpy(buf + i, &w, len - 1 - i < sizeof(long) ? len - 1 - i : sizeof(long));
		buf[len - 1] = 0;
		if (memchr(&w, 0, sizeof(w)))
			break;
	}
	buf[len - 1] = 0;
}

/* ---------- waiting and signals ---------- */

/* 0: stopped/exited (status set), 1: timeout, -1: waitpid error. */
static int wait_tid(struct target *t, int *status, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	long nap = 50;

	for (;;) {
		pid_t r = waitpid(t->tid, status, __WALL | WNOHANG);

		if (r == t->tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline)
			return 1;
		/* Short naps first: most calls return within a millisecond. */
		sleep_us(nap);
		if (nap < 1000)
			nap *= 2;
	}
}

static int is_event_stop(int status)
{
	return (status >> 16) == PTRACE_EVENT_STOP;
}

/* Keep a signal that arrived while we own the thread, to re-send later. */
static void hold_signal(struct target *t, int sig)
{
	siginfo_t si;

	if (ptrace(PTRACE_GETSIGINFO, t->tid, NULL, &si) < 0) {
		memset(&si, 0, sizeof(si));
		si.si_signo = sig;
	}
	if (t->n_held < MAX_HELD)
		t->held[t->n_held++] = si;
	else
		t->lost_held++;
	vlog(t, "holding signal %d (code %d) until after the injection", sig, si.si_code);
}

/* Re-queue a held signal on the thread, keeping its info when the kernel allows. */
static void requeue_signal(struct target *t, const siginfo_t *si)
{
	/* rt_tgsigqueueinfo refuses kernel/kill() codes (>= 0) and SI_TKILL. */
	if (si->si_code < 0 && si->si_code != SI_TKILL &&
	    syscall(SYS_rt_tgsigqueueinfo, t->pid, t->tid, si->si_signo, si) == 0)
		return;
	syscall(SYS_tgkill, t->pid, t->tid, si->si_signo);
}

/*
 * Detach from the current thread, giving back held signals.  From a
 * signal-delivery-stop the first one is injected with its original siginfo
 * by PTRACE_DETACH itself; the rest (or all, from an event stop, where
 * the detach signal would be ignored) are queued again on the thread.
 */
static int release_thread(struct target *t)
{
	int i = 0, sig = 0;

	if (!t->tid)
		return 0;
	if (t->in_sig_stop && t->n_held > 0 &&
	    ptrace(PTRACE_SETSIGINFO, t->tid, NULL, &t->held[0]) == 0) {
		sig = t->held[0].si_signo;
		i = 1;
	}
	for (; i < t->n_held; i++)
		requeue_signal(t, &t->held[i]);
	if (ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(long)sig) < 0 && errno != ESRCH) {
		adderr(t, "PTRACE_DETACH failed");
		return -1;
	}
	vlog(t, "detached from tid %d (%d held signal(s) re-sent, %d dropped)", t->tid,
	     t->n_held, t->lost_held);
	t->tid = 0;
	t->n_held = 0;
	t->in_sig_stop = 0;
	return 0;
}

/* ---------- seizing a thread in a safe state ---------- */

/* 0: thread stopped under our control, 1: thread vanished, -1: error. */
static int seize_and_stop(struct target *t, pid_t tid)
{
	int status;

	if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
		if (errno == ESRCH)
			return 1;
		if (errno == EPERM)
			perm_error(t, "PTRACE_SEIZE: operation not permitted");
		else
			seterr(t, "PTRACE_SEIZE of tid %d failed: %s", tid, strerror(errno));
		return -1;
	}
	t->tid = tid;
	t->in_sig_stop = 0;
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
		release_thread(t);
		return 1;
	}
	for (;;) {
		int r = wait_tid(t, &status, 2000);

		if (r != 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
			if (r == 0)
				t->tid = 0; /* gone: nothing to detach */
			else
				release_thread(t);
			return 1;
		}
		if (is_event_stop(status))
			return 0;
		/* A signal beat our interrupt: hold it and let the stop come. */
		hold_signal(t, WSTOPSIG(status));
		ptrace(PTRACE_CONT, tid, NULL, NULL);
	}
}

static int in_ranges(const struct range *r, int n, unsigned long ip)
{
	int i;

	for (i = 0; i < n; i++)
		if (ip >= r[i].lo && ip < r[i].hi)
			return 1;
	return 0;
}

/* Blocking syscalls during which the thread holds no allocator/loader lock. */
static int syscall_is_safe(long nr)
{
	switch (nr) {
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_pread64: case SYS_pwrite64:
	case SYS_poll: case SYS_ppoll: case SYS_select: case SYS_pselect6:
	case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_epoll_pwait2:
	case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_pause:
	case SYS_wait4: case SYS_waitid: case SYS_rt_sigsuspend:
	case SYS_rt_sigtimedwait: case SYS_accept: case SYS_accept4:
	case SYS_recvfrom: case SYS_recvmsg: case SYS_sendto: case SYS_sendmsg:
	case SYS_connect: case SYS_msgrcv:
		return 1;
	default:
		return 0; /* futex, mmap, munmap, brk, mremap, madvise, mprotect, ... */
	}
}

static const char *syscall_name(long nr)
{
	switch (nr) {
	case SYS_futex: return "futex";
	case SYS_mmap: return "mmap";
	case SYS_munmap: return "munmap";
	case SYS_brk: return "brk";
	case SYS_mremap: return "mremap";
	case SYS_madvise: return "madvise";
	case SYS_mprotect: return "mprotect";
	case SYS_restart_syscall: return "restart_syscall (of an unknown call)";
	default: return "not known to be lock-free";
	}
}

/* NULL if calling dlopen on this thread now cannot deadlock, else why not. */
static const char *unsafe_reason(const struct target *t, const struct user_regs_struct *r,
				 char *buf, size_t len)
{
	struct pstatus s;

	if (read_status(t->pid, t->tid, &s) == 0 && sig_in_mask(s.sigblk, SIGSEGV)) {
		snprintf(buf, len, "tid %d blocks SIGSEGV", t->tid);
		return buf;
	}
	if ((long)r->orig_rax >= 0) {
		if (syscall_is_safe((long)r->orig_rax))
			return NULL;
		/* rip is just after the syscall instruction of the original call */
		if ((long)r->orig_rax == SYS_restart_syscall &&
		    in_ranges(t->sleep_fns, t->n_sleep_fns, r->rip - 2))
			return NULL;
		snprintf(buf, len, "tid %d is in syscall %ld, %s", t->tid, (long)r->orig_rax,
			 syscall_name((long)r->orig_rax));
		return buf;
	}
	if (in_ranges(t->unsafe_text, t->n_unsafe, r->rip)) {
		snprintf(buf, len, "tid %d is running libc/ld.so code at %#llx", t->tid, r->rip);
		return buf;
	}
	return NULL;
}

static int list_threads(struct target *t, pid_t *tids, int max)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", t->pid);
	dir = opendir(path);
	if (!dir)
		return 0;
	tids[n++] = t->pid; /* main thread first: usually in an event loop or a sleep */
	while ((d = readdir(dir)) && n < max) {
		pid_t tid = atoi(d->d_name);

		if (tid > 0 && tid != t->pid)
			tids[n++] = tid;
	}
	closedir(dir);
	return n;
}

static int try_thread(struct target *t, pid_t tid, char *why, size_t whylen)
{
	int r = seize_and_stop(t, tid);

	if (r != 0)
		return r;
	if (ptrace(PTRACE_GETREGS, tid, NULL, &t->saved) < 0) {
		release_thread(t);
		return 1;
	}
	if (!unsafe_reason(t, &t->saved, why, whylen))
		return 0;
	vlog(t, "not safe: %s", why);
	release_thread(t);
	return 1;
}

/*
 * Rule: a thread is usable when it is blocked in a known-harmless syscall,
 * or running outside libc and ld.so.  Anything else may hold malloc or
 * loader locks, so we let it run (detach), wait a little and try again,
 * cycling over the threads, within a bounded number of stops and time.
 */
static int select_thread(struct target *t, struct inject_result *res)
{
	pid_t tids[256];
	int n = 0, i = 0, attempt;
	long deadline = now_ms() + t->o.safe_budget_ms;
	char why[128] = "no thread could be stopped";
	long pause_us = 1000L * t->o.safe_budget_ms / t->o.safe_attempts;

	if (pause_us < 1000)
		pause_us = 1000;

	for (attempt = 1; attempt <= t->o.safe_attempts && now_ms() < deadline; attempt++) {
		int r;

		if (i >= n) {
			n = list_threads(t, tids, 256);
			i = 0;
			if (n == 0) {
				seterr(t, "pid %d vanished", t->pid);
				return -1;
			}
			if (attempt > 1) /* let the threads move on; spread tries over the budget */
				sleep_us(pause_us);
		}
		r = try_thread(t, tids[i++], why, sizeof(why));
		if (r < 0)
			return -1;
		if (r == 0) {
			res->attempts = attempt;
			vlog(t, "using tid %d after %d attempt(s): rip %#llx orig_rax %lld rax %lld",
			     t->tid, attempt, t->saved.rip, (long long)t->saved.orig_rax,
			     (long long)t->saved.rax);
			return 0;
		}
	}
	seterr(t, "no thread of pid %d reached a safe state (outside malloc/loader locks) "
	       "in %d stops / %d ms (last: %s); nothing was changed",
	       t->pid, attempt - 1, t->o.safe_budget_ms, why);
	return -1;
}

/* ---------- saving and restoring the thread state ---------- */

static int save_fp_state(struct target *t)
{
	struct iovec iov;

	/* Full XSAVE area: FXSAVE legacy part plus AVX/AVX-512 upper halves,
	 * which GETFPREGS does not cover and memcpy/strlen in dlopen clobber. */
	t->xstate = malloc(XSTATE_MAX);
	if (t->xstate) {
		iov.iov_base = t->xstate;
		iov.iov_len = XSTATE_MAX;
		if (ptrace(PTRACE_GETREGSET, t->tid, (void *)NT_X86_XSTATE, &iov) == 0) {
			t->xstate_len = iov.iov_len;
		} else {
			free(t->xstate);
			t->xstate = NULL;
		}
	}
	if (ptrace(PTRACE_GETFPREGS, t->tid, NULL, &t->saved_fp) < 0) {
		seterr(t, "PTRACE_GETFPREGS failed: %s", strerror(errno));
		return -1;
	}
	t->state_saved = 1;
	return 0;
}

static int restore_state(struct target *t)
{
	struct iovec iov = { t->xstate, t->xstate_len };
	int rc = 0;

	if (!t->state_saved)
		return 0;
	if (ptrace(PTRACE_SETREGS, t->tid, NULL, &t->saved) < 0)
		rc = -1;
	if (t->xstate_len) {
		if (ptrace(PTRACE_SETREGSET, t->tid, (void *)NT_X86_XSTATE, &iov) < 0)
			rc = -1;
	} else if (ptrace(PTRACE_SETFPREGS, t->tid, NULL, &t->saved_fp) < 0) {
		rc = -1;
	}
	if (rc)
		adderr(t, "failed to restore the thread's registers");
	return rc;
}

/* A called function may assume the ABI's initial FP environment. */
static int set_clean_fp(struct target *t)
{
	struct user_fpregs_struct fp = t->saved_fp;

	fp.cwd = 0x037f;   /* x87: all exceptions masked, 64-bit precision */
	fp.swd = 0;
	fp.ftw = 0;        /* x87 register stack empty */
	fp.mxcsr = 0x1f80; /* SSE: all exceptions masked, round to nearest */
	return ptrace(PTRACE_SETFPREGS, t->tid, NULL, &fp);
}

/* ---------- the remote call ---------- */

/* Copy our strings below the red zone; the call frame goes below them. */
static int place_strings(struct target *t, const char **strs, unsigned long *addrs, int n)
{
	unsigned long top = (t->saved.rsp - RED_ZONE) & ~15UL;
	int i;

	for (i = 0; i < n; i++) {
		size_t len;

		if (!strs[i]) {
			addrs[i] = 0;
			continue;
		}
		len = strlen(strs[i]) + 1;
		top = (top - len) & ~15UL;
		if (mem_write(t, top, strs[i], len) < 0) {
			seterr(t, "cannot write to the stack of tid %d: %s", t->tid, strerror(errno));
			return -1;
		}
		addrs[i] = top;
	}
	t->call_sp = (top - 64) & ~15UL;
	return 0;
}

enum call_status { CALL_OK = 0, CALL_ERR = -1, CALL_TIMEOUT = -2, CALL_GONE = -3 };

/* Take back a thread that ran away in our call; leave it in an event stop. */
static void interrupt_call(struct target *t)
{
	int status;

	ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL);
	while (wait_tid(t, &status, 2000) == 0 && WIFSTOPPED(status)) {
		if (is_event_stop(status)) {
			t->in_sig_stop = 0;
			return;
		}
		hold_signal(t, WSTOPSIG(status));
		ptrace(PTRACE_CONT, t->tid, NULL, NULL);
	}
}

/* Wait for our call to come back to address 0; hold other signals meanwhile. */
static int wait_call(struct target *t, const char *name, unsigned long *ret)
{
	long deadline = now_ms() + t->o.call_timeout_ms;

	for (;;) {
		struct user_regs_struct r;
		long left = deadline - now_ms();
		int status, w, sig;

		w = left > 0 ? wait_tid(t, &status, left) : 1;
		if (w == 1) {
			seterr(t, "injected call to %s() did not return within %d ms; abandoned "
			       "it and restored the thread, but the library may be half loaded "
			       "and loader locks may stay held", name, t->o.call_timeout_ms);
			interrupt_call(t);
			return CALL_TIMEOUT;
		}
		if (w < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
			seterr(t, "pid %d died during the injected call to %s()", t->pid, name);
			t->tid = 0;
			return CALL_GONE;
		}
		if (is_event_stop(status)) { /* group-stop or stray interrupt: keep going */
			ptrace(PTRACE_CONT, t->tid, NULL, NULL);
			continue;
		}
		sig = WSTOPSIG(status);
		if (ptrace(PTRACE_GETREGS, t->tid, NULL, &r) < 0)
			return CALL_ERR;
		t->in_sig_stop = 1;
		if (sig == SIGSEGV && r.rip == 0) {
			*ret = r.rax;
			return CALL_OK;
		}
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
		    sig == SIGTRAP) {
			seterr(t, "injected call to %s() crashed with signal %d at %#llx; "
			       "thread state restored, loader state may be inconsistent",
			       name, sig, r.rip);
			return CALL_ERR;
		}
		hold_signal(t, sig);
		ptrace(PTRACE_CONT, t->tid, NULL, NULL);
	}
}

static int remote_call(struct target *t, const char *name, unsigned long fn,
		       unsigned long a0, unsigned long a1, unsigned long *ret)
{
	struct user_regs_struct r = t->saved;
	unsigned long zero = 0;

	/* ABI: rsp % 16 == 0 at the call, i.e. == 8 at entry after the return address. */
	r.rsp = t->call_sp - 8;
	if (mem_write(t, r.rsp, &zero, sizeof(zero)) < 0) {
		seterr(t, "cannot write the call frame: %s", strerror(errno));
		return CALL_ERR;
	}
	r.rip = fn;
	r.rdi = a0;
	r.rsi = a1;
	r.rax = 0;
	/* Like gdb when it writes the pc: no syscall restart while we run. */
	r.orig_rax = -1;
	r.eflags &= ~(EFLAGS_DF | EFLAGS_TF);
	if (ptrace(PTRACE_SETREGS, t->tid, NULL, &r) < 0 || set_clean_fp(t) < 0 ||
	    ptrace(PTRACE_CONT, t->tid, NULL, NULL) < 0) {
		seterr(t, "cannot start the call to %s(): %s", name, strerror(errno));
		return CALL_ERR;
	}
	t->in_sig_stop = 0;
	vlog(t, "calling %s() at %#lx", name, fn);
	return wait_call(t, name, ret);
}

static int remote_dlerror(struct target *t, char *buf, size_t len)
{
	unsigned long msg = 0;
	int rc = remote_call(t, "dlerror", t->a_dlerror, 0, 0, &msg);

	if (rc == CALL_OK && msg)
		mem_read_str(t, msg, buf, len);
	else
		snprintf(buf, len, "unknown error");
	return rc;
}

/* dlopen, dlsym, fn: the part that runs target code. */
static int run_calls(struct target *t, const char *lib, const char *fn, const char *arg,
		     struct inject_result *res)
{
	const char *strs[3] = { lib, fn, arg };
	unsigned long a[3], h = 0, f = 0, v = 0;
	char msg[512];
	int rc;

	if (place_strings(t, strs, a, 3) < 0)
		return CALL_ERR;
	rc = remote_call(t, "dlopen", t->a_dlopen, a[0], RTLD_NOW_, &h);
	if (rc != CALL_OK)
		return rc;
	if (!h) {
		rc = remote_dlerror(t, msg, sizeof(msg));
		seterr(t, "dlopen in pid %d failed: %s", t->pid, msg);
		return rc == CALL_OK ? CALL_ERR : rc;
	}
	res->handle = h;
	if (!fn)
		return CALL_OK;
	rc = remote_call(t, "dlsym", t->a_dlsym, h, a[1], &f);
	if (rc != CALL_OK)
		return rc;
	if (!f) {
		rc = remote_dlerror(t, msg, sizeof(msg));
		seterr(t, "dlsym(\"%s\") in pid %d failed: %s", fn, t->pid, msg);
		/* Undo the load so that a failure leaves nothing behind. */
		if (rc == CALL_OK)
			rc = remote_call(t, "dlclose", t->a_dlclose, h, 0, &v);
		return rc == CALL_OK ? CALL_ERR : rc;
	}
	rc = remote_call(t, fn, f, a[2], 0, &v);
	if (rc == CALL_OK) {
		res->fn_called = 1;
		res->fn_ret = (int)v;
	}
	return rc;
}

/* ---------- public entry points ---------- */

static void set_defaults(struct target *t, const struct inject_opts *o)
{
	if (o)
		t->o = *o;
	if (t->o.call_timeout_ms <= 0)
		t->o.call_timeout_ms = 10000;
	if (t->o.safe_attempts <= 0)
		t->o.safe_attempts = 200;
	if (t->o.safe_budget_ms <= 0)
		t->o.safe_budget_ms = 2000;
}

static int preflight(struct target *t, const char *lib_path, char *abs, size_t abslen)
{
	char tmp[PATH_MAX];

	if (!lib_path || !realpath(lib_path, tmp)) {
		seterr(t, "library %s: %s", lib_path ? lib_path : "(null)",
		       lib_path ? strerror(errno) : "no path");
		return -1;
	}
	if (access(tmp, R_OK) < 0) {
		seterr(t, "library %s is not readable: %s", tmp, strerror(errno));
		return -1;
	}
	snprintf(abs, abslen, "%s", tmp);
	if (check_process(t) < 0 || check_arch(t) < 0 || parse_maps(t) < 0 ||
	    resolve_symbols(t) < 0)
		return -1;
	vlog(t, "libc %s at %#lx; dlopen at %#lx", t->libc_path, t->libc_base, t->a_dlopen);
	return 0;
}

int inject_dlopen_ex(pid_t pid, const char *lib_path, const char *fn, const char *arg,
		     const struct inject_opts *opts, struct inject_result *res,
		     char *err, size_t errlen)
{
	struct target *t = calloc(1, sizeof(*t));
	struct inject_result dummy;
	char lib[PATH_MAX];
	int rc = -1;

	if (err && errlen)
		err[0] = 0;
	if (!t) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!res)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	t->pid = pid;
	t->err = err;
	t->errlen = errlen;
	set_defaults(t, opts);

	if (preflight(t, lib_path, lib, sizeof(lib)) == 0 &&
	    select_thread(t, res) == 0) {
		res->tid = t->tid;
		if (save_fp_state(t) == 0) {
			int call = run_calls(t, lib, fn, arg, res);

			rc = call == CALL_OK ? 0 : -1;
			if (call == CALL_GONE)
				t->state_saved = 0; /* nothing left to restore */
		}
		res->redelivered = t->n_held;
		if (t->tid && restore_state(t) < 0)
			rc = -1;
		if (release_thread(t) < 0)
			rc = -1;
	}
	free(t->xstate);
	free(t);
	return rc;
}

int inject_dlopen(pid_t pid, const char *lib_path, const char *fn, const char *arg,
		  char *err, size_t errlen)
{
	return inject_dlopen_ex(pid, lib_path, fn, arg, NULL, NULL, err, errlen);
}
