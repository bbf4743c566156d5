# SPDX-License-Identifier: GPL-2.0-or-later
# heaptrace - build, install, set-up, tests.  `make help` lists the targets.

VERSION := 0.1.0
DEPTH ?= 8
# O=DIR: build into DIR (a second build beside this one: make O=/tmp/d30 DEPTH=30)
O ?= .
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(PREFIX)/bin
LIBDIR := $(PREFIX)/lib/heaptrace
MANDIR := $(PREFIX)/share/man/man1
COMPLETIONDIR := $(PREFIX)/share/bash-completion/completions
DOCDIR := $(PREFIX)/share/doc/heaptrace

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
CXX ?= g++
PYTHON := /usr/bin/python3

WARN := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wformat-security -Wvla \
	-Wno-unused-parameter
ifneq ($(WERROR),)
WARN += -Werror
endif
OPT ?= -O2 -g
# The library's hooks run on every allocation: -O3, and link-time
# optimization so that the hooks and the tables, kept in files of their
# own, compile as one (what each buys: bench/README.md).
LIB_OPT ?= -O3 -g -flto=auto
CFLAGS ?=
LDFLAGS ?=
CPPFLAGS_HT := -std=gnu11 -DHT_DEPTH=$(DEPTH) -DHT_VERSION='"$(VERSION)"'

# libbfd is opened at report time by its run-time name (libbfd-2.40-system.so
# on Debian 12), found from the development link at build time.
LIBBFD_SONAME := $(notdir $(realpath $(shell $(CC) -print-file-name=libbfd.so 2>/dev/null)))
ifneq ($(LIBBFD_SONAME),)
CPPFLAGS_HT += -DHT_LIBBFD='"$(LIBBFD_SONAME)"'
endif

# The layout shows the two binaries: at the top, their entry points
# (heaptrace.c, libheaptrace.c) and what both compile or share; lib/ is
# compiled into libheaptrace.so only, launcher/ into heaptrace only.
SHARED_SRCS := textfmt.c utils.c bfdfind.c cxxname.c
LIB_SRCS := libheaptrace.c stacktrace.c $(addprefix lib/,process.c unwind.c cfi.c addrmap.c \
	tmem.c config.c snapshot.c report.c text.c json.c folded.c svg.c pprof.c gzip.c reporter.c handlers.c \
	scan.c world.c leaks.c oom.c sample.c attach.c got.c \
	output.c symbols.c debuginfo.c dwarf.c ignore.c) \
	$(SHARED_SRCS)
LIB_OBJS := $(patsubst %.c,$(O)/build/lib/%.o,$(notdir $(LIB_SRCS)))
PID_OBJS := $(patsubst %.c,$(O)/build/pid/%.o,$(notdir $(LIB_SRCS)))
PIDDYN_OBJS := $(patsubst %.c,$(O)/build/piddyn/%.o,$(notdir $(LIB_SRCS)))
LAUNCHER_SRCS := heaptrace.c $(addprefix launcher/,diff.c difftab.c jsonparse.c usage.c pidcmd.c inject.c) $(SHARED_SRCS)
LAUNCHER_OBJS := $(patsubst %.c,$(O)/build/bin/%.o,$(notdir $(LAUNCHER_SRCS)))
HEADERS := $(wildcard *.h lib/*.h launcher/*.h)
vpath %.c . lib launcher

# The library runs inside other programs: position-independent, only the
# interposed symbols exported (libheaptrace.map), initial-exec TLS, eager
# binding (no lazy PLT resolution inside a hook), and exceptions may pass
# through operator new.  libgcc_s is linked before libunwind so that the
# process's _Unwind_* symbols stay libgcc's, whatever the program links.
# A hook's entry reaches its recording path by a tail call (libheaptrace.c),
# which -O1 does not make unless asked.
LIB_CFLAGS := $(CPPFLAGS_HT) -I. $(LIB_OPT) $(WARN) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-fexceptions -fno-omit-frame-pointer -fno-plt -foptimize-sibling-calls -pthread $(CFLAGS)
LIB_LDFLAGS := -shared -Wl,--version-script=lib/libheaptrace.map -Wl,-z,now -Wl,--no-as-needed \
	-lgcc_s -lunwind -ldl -lm -pthread $(LDFLAGS)
BIN_CFLAGS := $(CPPFLAGS_HT) -I. -DHT_LIBDIR='"$(LIBDIR)"' $(OPT) $(WARN) $(CFLAGS)

# --pid loads the library into a running process, where glibc keeps only
# a few hundred bytes of static TLS for late libraries: the same code with
# its large per-thread areas out of TLS (compat.h: HT_PID_BUILD), and, for
# a process whose other late libraries took that space, with dynamic TLS
# too (HT_TLS_DYNAMIC), reached through TLS descriptors where the compiler
# has them (clang 14 does not on x86-64: __tls_get_addr then).
TLS_DIALECT := $(shell $(CC) -mtls-dialect=gnu2 -fPIC -x c -c /dev/null -o /dev/null 2>/dev/null \
	&& echo -mtls-dialect=gnu2)
PID_CFLAGS := $(LIB_CFLAGS) -DHT_PID_BUILD
PIDDYN_CFLAGS := $(subst -ftls-model=initial-exec,-DHT_PID_BUILD -DHT_TLS_DYNAMIC \
	-ftls-model=global-dynamic $(TLS_DIALECT),$(LIB_CFLAGS))

PID_LIBS := $(O)/libheaptrace-pid.so $(O)/libheaptrace-pid-dyn.so
all: $(O)/heaptrace $(O)/libheaptrace.so $(PID_LIBS)

# Rebuild everything when DEPTH, CC or the flags change.
$(O)/build/flags: FORCE | $(O)/build/lib $(O)/build/bin
	@echo '$(CC) $(LIB_CFLAGS) $(BIN_CFLAGS) $(LIB_LDFLAGS)' | cmp -s - $@ || \
		echo '$(CC) $(LIB_CFLAGS) $(BIN_CFLAGS) $(LIB_LDFLAGS)' > $@

$(O)/build/lib $(O)/build/bin $(O)/build/pid $(O)/build/piddyn build/unit:
	@mkdir -p $@

$(O)/build/lib/%.o: %.c $(HEADERS) $(O)/build/flags | $(O)/build/lib
	$(CC) $(LIB_CFLAGS) -c -o $@ $<

$(O)/build/bin/%.o: %.c $(HEADERS) $(O)/build/flags | $(O)/build/bin
	$(CC) $(BIN_CFLAGS) -c -o $@ $<

$(O)/build/pid/%.o: %.c $(HEADERS) $(O)/build/flags | $(O)/build/pid
	$(CC) $(PID_CFLAGS) -c -o $@ $<

$(O)/build/piddyn/%.o: %.c $(HEADERS) $(O)/build/flags | $(O)/build/piddyn
	$(CC) $(PIDDYN_CFLAGS) -c -o $@ $<

$(O)/libheaptrace.so: $(LIB_OBJS) lib/libheaptrace.map
	$(CC) $(LIB_CFLAGS) -o $@ $(LIB_OBJS) $(LIB_LDFLAGS)

$(O)/libheaptrace-pid.so: $(PID_OBJS) lib/libheaptrace.map
	$(CC) $(PID_CFLAGS) -o $@ $(PID_OBJS) $(LIB_LDFLAGS)

$(O)/libheaptrace-pid-dyn.so: $(PIDDYN_OBJS) lib/libheaptrace.map
	$(CC) $(PIDDYN_CFLAGS) -o $@ $(PIDDYN_OBJS) $(LIB_LDFLAGS)

$(O)/heaptrace: $(LAUNCHER_OBJS)
	$(CC) -o $@ $(LAUNCHER_OBJS) $(LDFLAGS)

# what make install puts where, and make uninstall removes: one list
INSTALLED := $(BINDIR)/heaptrace $(LIBDIR)/libheaptrace.so $(LIBDIR)/libheaptrace-pid.so \
	$(LIBDIR)/libheaptrace-pid-dyn.so \
	$(MANDIR)/heaptrace.1 $(COMPLETIONDIR)/heaptrace $(DOCDIR)/README.md

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(MANDIR) \
		$(DESTDIR)$(COMPLETIONDIR) $(DESTDIR)$(DOCDIR)
	install -m 755 $(O)/heaptrace $(DESTDIR)$(BINDIR)/heaptrace
	install -m 644 $(O)/libheaptrace.so $(DESTDIR)$(LIBDIR)/libheaptrace.so
	install -m 644 $(O)/libheaptrace-pid.so $(DESTDIR)$(LIBDIR)/libheaptrace-pid.so
	install -m 644 $(O)/libheaptrace-pid-dyn.so $(DESTDIR)$(LIBDIR)/libheaptrace-pid-dyn.so
	install -m 644 doc/heaptrace.1 $(DESTDIR)$(MANDIR)/heaptrace.1
	install -m 644 doc/heaptrace.bash-completion $(DESTDIR)$(COMPLETIONDIR)/heaptrace
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DOCDIR)

# a release tarball of the commit checked out: it builds and tests with
# make && make test once unpacked (DIST=PATH writes it elsewhere)
DIST ?= heaptrace-$(VERSION).tar.gz
dist:
	@git rev-parse --git-dir >/dev/null 2>&1 || \
		{ echo "heaptrace: make dist needs a git checkout (it archives HEAD)" >&2; exit 1; }
	git archive --format=tar.gz --prefix=heaptrace-$(VERSION)/ -o $(DIST) HEAD

# ------------------------------------------------------------------ set-up
# Debian packages needed to build and test (the second and third lines:
# programs the tests trace, or run beside heaptrace; jq also reformats
# reports for --diff's tests; clang builds heaptrace with CC=clang; Go, the
# pprof sources and protoc read --format=pprof's profiles; chromium opens
# --flame-graph=svg's).  A test
# whose program is missing fails, it does not skip (tests/htlib.py need()).
# The machine image may carry
# LLVM's libunwind-14-dev, which conflicts with libunwind-dev: it goes
# (together with libc++-14-dev, which needs it).
DEB_PKGS := gcc g++ make libunwind-dev binutils-dev zlib1g-dev python3-pytest \
	sqlite3 xz-utils zstd git perl jq nodejs openjdk-17-jre-headless cmake man-db \
	clang valgrind strace gdb golang-go golang-github-google-pprof-dev protobuf-compiler \
	bash-completion chromium
DEB_CONFLICTS := libunwind-14-dev

deps:
	@missing=; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | grep -q '^ii' || missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	cmd="apt-get install -y --no-install-recommends$$missing $(DEB_CONFLICTS:%=%-)"; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "heaptrace: missing build dependencies:$$missing" >&2; \
		echo "run as root: apt-get update && $$cmd" >&2; exit 1; \
	fi; \
	echo "heaptrace: installing$$missing" >&2; \
	export DEBIAN_FRONTEND=noninteractive; \
	{ apt-get update -qq && $$cmd; } >&2 || { echo "heaptrace: apt-get failed" >&2; exit 1; }

demo: deps
	$(MAKE) all tests/bin/sample-leak
	./heaptrace ./tests/bin/sample-leak

# ------------------------------------------------------------------ tests
TEST_CFLAGS := -O0 -g -rdynamic -fno-omit-frame-pointer -fno-optimize-sibling-calls -fno-inline \
	-Wall -pthread
TEST_C := $(wildcard tests/s-*.c) tests/sample-leak.c
TEST_CXX := $(wildcard tests/s-*.cc)
TEST_BINS := $(TEST_C:tests/%.c=tests/bin/%) $(TEST_CXX:tests/%.cc=tests/bin/%)
TEST_LIBS := tests/bin/libctor.so tests/bin/libplugin.so tests/bin/libframe24.so \
	tests/bin/libframe120.so tests/bin/libleaktls.so
UNIT_BINS := build/unit/unit-addrmap build/unit/unit-utils build/unit/unit-stacktrace \
	build/unit/unit-cfi build/unit/unit-jsonparse build/unit/unit-difftab \
	build/unit/unit-scan build/unit/unit-dwarf

tests/bin:
	@mkdir -p $@

tests/bin/%: tests/%.c | tests/bin
	$(CC) $(TEST_CFLAGS) -o $@ $< -ldl -lm

tests/bin/%: tests/%.cc | tests/bin
	$(CXX) $(TEST_CFLAGS) -o $@ $< -ldl

# a shared library whose constructor allocates before heaptrace is set up
tests/bin/libctor.so: tests/lib-ctor.c | tests/bin
	$(CC) $(TEST_CFLAGS) -fPIC -shared -o $@ $<
tests/bin/s-early: tests/s-early.c tests/bin/libctor.so | tests/bin
	$(CC) $(TEST_CFLAGS) -o $@ $< -Ltests/bin -lctor -Wl,-rpath,'$$ORIGIN'
tests/bin/libplugin.so: tests/lib-plugin.c | tests/bin
	$(CC) $(TEST_CFLAGS) -fPIC -shared -o $@ $<
# the same code with two frame sizes (s-dlreuse)
tests/bin/libframe24.so: tests/lib-frame.c | tests/bin
	$(CC) -DFRAME=24 -DZERO=8 -fPIC -shared -o $@ $<
tests/bin/libframe120.so: tests/lib-frame.c | tests/bin
	$(CC) -DFRAME=120 -DZERO=24 -fPIC -shared -o $@ $<
# dynamic TLS that s-leak-tls dlopen()s (test_leaks.py)
tests/bin/libleaktls.so: tests/lib-leaktls.c | tests/bin
	$(CC) $(TEST_CFLAGS) -fPIC -shared -o $@ $<
# the s-leak-* programs share two headers
$(patsubst tests/%.c,tests/bin/%,$(wildcard tests/s-leak-*.c)): tests/leak.h tests/leak-thread.h

# libraries and programs the tests load or exec beside tests/bin/s-*
# (test_ignore, test_misuse, test_launcher, test_linkage, test_stress, test_attach,
# test_pprof)
TEST_EXTRA := tests/bin/libhtplug.so tests/bin/libearly-blocks.so tests/bin/libold-preload.so \
	tests/bin/liblink-thrower.so tests/bin/link-main tests/bin/static-prog tests/bin/static-wait \
	tests/bin/pprof
# google/pprof, the reader --format=pprof is tested with: built offline
# from Debian's sources (golang-github-google-pprof-dev) by Debian's Go
tests/bin/pprof: | tests/bin
	GOPATH=/usr/share/gocode GO111MODULE=off GOCACHE=$(CURDIR)/build/gocache \
		go build -o $@ github.com/google/pprof
tests/bin/libhtplug.so: tests/ignore-plugin.c | tests/bin
	$(CC) -O0 -g -fPIC -shared -fno-omit-frame-pointer -o $@ $<
tests/bin/libearly-blocks.so: tests/lib-early-blocks.c | tests/bin
	$(CC) -O0 -g -fPIC -shared -fno-omit-frame-pointer -o $@ $<
tests/bin/libold-preload.so: tests/lib-old-preload.c | tests/bin
	$(CC) -shared -fPIC -o $@ $<
# a C program (plain flags) that dlopens a C++ library
tests/bin/liblink-thrower.so: tests/link-thrower.cc | tests/bin
	$(CXX) -shared -fPIC -o $@ $<
tests/bin/link-main: tests/link-main.c | tests/bin
	$(CC) -o $@ $< -ldl
# a static program, which LD_PRELOAD cannot reach
tests/bin/static-prog: tests/static-prog.c | tests/bin
	$(CC) -static -O0 -o $@ $<
tests/bin/static-wait: tests/static-wait.c | tests/bin
	$(CC) -static -O0 -o $@ $<

# symbols (test_symbols.py): built without -rdynamic, so only the full
# symbol table and the debug information name the programs' functions
SYM_CFLAGS := -O0 -fno-omit-frame-pointer -fno-inline -Wall
SYM_LINK := -Ltests/bin -lsym-shared -Wl,-rpath,$(CURDIR)/tests/bin -ldl
SYM_BINS := tests/bin/sym-static tests/bin/sym-static-nog tests/bin/sym-static-nopie \
	tests/bin/sym-cxx tests/bin/libsym-shared.so tests/bin/libsym-plugin.so
tests/bin/libsym-%.so: tests/sym-%.c | tests/bin
	$(CC) $(SYM_CFLAGS) -g -fPIC -shared -o $@ $<
tests/bin/sym-static: tests/sym-static.c tests/bin/libsym-shared.so
	$(CC) $(SYM_CFLAGS) -g -o $@ $< $(SYM_LINK)
tests/bin/sym-static-nog: tests/sym-static.c tests/bin/libsym-shared.so
	$(CC) $(SYM_CFLAGS) -o $@ $< $(SYM_LINK)
tests/bin/sym-static-nopie: tests/sym-static.c tests/bin/libsym-shared.so
	$(CC) $(SYM_CFLAGS) -g -no-pie -fno-pie -o $@ $< $(SYM_LINK)
tests/bin/sym-cxx: tests/sym-cxx.cc | tests/bin
	$(CXX) $(SYM_CFLAGS) -g -o $@ $<

# the default unwinder against libunwind (test_unwind.py): optimized code
# without frame pointers, as Debian's own programs are built
tests/bin/opt-frames: tests/opt-frames.c | tests/bin
	$(CC) -O2 -g -fomit-frame-pointer -Wall -pthread -o $@ $<
# --unwind=fp against the default (test_unwind.py): a program's own -O1
# code that keeps data in rbp
tests/bin/opt-rbpdata: tests/opt-rbpdata.cc | tests/bin
	$(CXX) -O1 -g -rdynamic -fomit-frame-pointer -Wall -pthread -o $@ $<

UNIT_CFLAGS := $(CPPFLAGS_HT) -I. -O1 -g $(WARN) -fsanitize=address,undefined -fno-omit-frame-pointer -pthread
build/unit/unit-%: tests/unit-%.c $(HEADERS) $(LIB_SRCS) $(LAUNCHER_SRCS) $(O)/build/flags | build/unit
	$(CC) $(UNIT_CFLAGS) -o $@ $< -lunwind -ldl $(UNIT_LIBS_$*)
# unit-dwarf checks lib/dwarf.c against libbfd, on the test programs
UNIT_LIBS_dwarf := -lbfd
UNIT_LIBS_stacktrace := -lm
build/unit/unit-dwarf: $(TEST_BINS) $(TEST_LIBS) $(SYM_BINS)

# a second build with DEPTH=30 on the command line, beside this one
# (test_launcher.py): built here once, not by the tests
DEPTH30 := build/depth30
depth30:
	$(MAKE) O=$(DEPTH30) DEPTH=30 all

check-build: all $(TEST_BINS) $(TEST_LIBS) $(TEST_EXTRA) $(SYM_BINS) tests/bin/opt-frames tests/bin/opt-rbpdata \
	$(UNIT_BINS) depth30

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do echo "== $$t"; $$t || exit 1; done

test: deps
	$(MAKE) check-build
	$(MAKE) unit
	$(PYTHON) -m pytest -q tests

# ------------------------------------------------------------------ benchmarks
# Workloads untraced, traced, under the floors (interposition only, unwinding
# only) and under heaptrack if installed, side by side: see bench/README.md.
BENCH_ARGS ?=

bench: deps all
	$(MAKE) -s -C bench
	$(PYTHON) bench/run.py $(BENCH_ARGS)

# ------------------------------------------------------------------ misc
clean:
	rm -rf build tests/bin heaptrace libheaptrace.so libheaptrace-pid.so libheaptrace-pid-dyn.so tests/__pycache__ .pytest_cache bench/build

help:
	@echo 'make            build heaptrace and libheaptrace.so (DEPTH=N: the default of --depth, 8)'
	@echo 'make demo       install missing build dependencies, build, trace a leaking sample'
	@echo 'make test       install missing dependencies, build, run unit and integration tests'
	@echo 'make bench      measure heaptrace against the untraced run, its floors and heaptrack'
	@echo 'make install    install into $$(DESTDIR)$$(PREFIX) (default PREFIX=/usr/local): the binaries,'
	@echo '                the man page, bash completion and README; make uninstall removes them'
	@echo 'make dist       a release tarball of HEAD, heaptrace-$(VERSION).tar.gz'
	@echo 'make deps       install missing Debian build dependencies (root), or print the command'
	@echo 'make clean      remove what the build made'

.PHONY: all install uninstall dist deps demo test unit check-build depth30 bench clean help FORCE
.DELETE_ON_ERROR:
