# ptfs - one Makefile for the library, the daemon, the tests and the demo.
#   make            build build/ptfs
#   make test       unit tests (plain and ASan+UBSan) and the bats suites
#   make demo       install deps, build, mount a bundled sample, show it, unmount
#   make bench      the benchmark (scripts/bench.sh); not part of make test
#   make fuzz       each libFuzzer harness for FUZZ_SECONDS (60), and the regressions
#   make install    PREFIX=/usr/local DESTDIR=: ptfs, its man page and bash completion
#   make uninstall  the same PREFIX and DESTDIR: removes them

CC      ?= cc
OPT     ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
CSTD    := -std=gnu11
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
B       := build
BA      := build/asan

ZIP_CFLAGS  := $(shell pkg-config --cflags libzip 2>/dev/null)
# libptfs.a needs libzip, zlib, libm (compare.c) and libcrypto (digest.c)
ZIP_LIBS    := $(shell pkg-config --libs libzip 2>/dev/null || echo -lzip) -lz -lm \
               $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)
FUSE_CFLAGS := $(shell pkg-config --cflags fuse3 2>/dev/null)
FUSE_LIBS   := $(shell pkg-config --libs fuse3 2>/dev/null || echo -lfuse3)

# glibc loads libgcc_s when a worker thread exits; load it at start instead,
# so that nothing is dlopen'ed while a checkpoint is being served
GCC_S       := -Wl,--no-as-needed -lgcc_s -Wl,--as-needed
# CPPFLAGS, CFLAGS and LDFLAGS from the environment come last (dpkg-buildflags' hardening)
CFLAGS_ALL  := $(CSTD) $(OPT) $(WARN) -D_FILE_OFFSET_BITS=64 $(CPPFLAGS) $(CFLAGS)
SAN         := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC  := $(sort $(wildcard lib/*.c))
LIB_HDR  := $(wildcard lib/*.h)
FS_SRC   := $(sort $(wildcard fs/*.c))
FS_HDR   := $(wildcard fs/*.h)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT     := $(patsubst tests/unit/%.c,$(B)/%,$(UNIT_SRC))
UNIT_SAN := $(patsubst tests/unit/%.c,$(BA)/%,$(UNIT_SRC))

LIB_OBJ     := $(patsubst lib/%.c,$(B)/lib/%.o,$(LIB_SRC))
LIB_OBJ_SAN := $(patsubst lib/%.c,$(BA)/lib/%.o,$(LIB_SRC))

.PHONY: all test unit unit-asan bats demo bench fuzz install uninstall clean fixtures format fakecuda

all: $(B)/ptfs $(B)/ptfs-inspect $(B)/ptfs-ipc-read $(B)/ptfs-gpu-bench

$(B)/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(ZIP_CFLAGS) -c -o $@ $<

$(BA)/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(SAN) $(ZIP_CFLAGS) -c -o $@ $<

$(B)/libptfs.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BA)/libptfs.a: $(LIB_OBJ_SAN)
	ar rcs $@ $^

$(B)/ptfs: $(FS_SRC) $(FS_HDR) $(LIB_HDR) $(B)/libptfs.a
	$(CC) $(CFLAGS_ALL) $(FUSE_CFLAGS) -Ilib $(LDFLAGS) -o $@ $(FS_SRC) $(B)/libptfs.a $(FUSE_LIBS) $(ZIP_LIBS) -lpthread -ldl $(GCC_S)

# the daemon under ASan+UBSan+LSan, for the leak test of tests/80-load.bats
$(BA)/ptfs: $(FS_SRC) $(FS_HDR) $(LIB_HDR) $(BA)/libptfs.a
	$(CC) $(CFLAGS_ALL) $(SAN) $(FUSE_CFLAGS) -Ilib -o $@ $(FS_SRC) $(BA)/libptfs.a $(FUSE_LIBS) $(ZIP_LIBS) -lpthread -ldl $(GCC_S)

$(B)/ptfs-inspect: tests/inspect.c $(LIB_HDR) $(B)/libptfs.a
	$(CC) $(CFLAGS_ALL) -Ilib -o $@ tests/inspect.c $(B)/libptfs.a $(ZIP_LIBS) -ldl -lpthread

# the TEST DOUBLE of the CUDA driver (tests/cuda/fake_libcuda.c), for the unit
# tests and for LD_LIBRARY_PATH=build/cuda build/ptfs; never installed, and
# not sanitized (the tests that load it are)
FAKECUDA := $(B)/cuda/libcuda.so.1
fakecuda: $(FAKECUDA)
$(FAKECUDA): tests/cuda/fake_libcuda.c tests/cuda/fake_libcuda_mem.c tests/cuda/fake_libcuda.h lib/gpu_api.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Ilib -fPIC -shared -fvisibility=hidden -Wl,-soname,libcuda.so.1 -o $@ tests/cuda/fake_libcuda.c tests/cuda/fake_libcuda_mem.c -lpthread

# test_gpu_api checks lib/gpu_api.h against the toolkit's cuda.h where one is installed
CUDA_INC := $(wildcard /usr/local/cuda/include/cuda.h)
$(B)/test_gpu_api $(BA)/test_gpu_api: EXTRA_INC := $(if $(CUDA_INC),-I/usr/local/cuda/include)

# the GPU check's helpers (scripts/gpu-check.sh, docs/gpu.md): plain programs over
# lib/gpu.h, built everywhere since the driver is only loaded when they run
$(B)/ptfs-%: scripts/%.c $(LIB_HDR) $(B)/libptfs.a
	$(CC) $(CFLAGS_ALL) -Ilib -o $@ $< $(B)/libptfs.a $(ZIP_LIBS) -ldl -lpthread

$(B)/test_%: tests/unit/test_%.c $(wildcard tests/unit/*.h) $(LIB_HDR) $(B)/libptfs.a
	$(CC) $(CFLAGS_ALL) -Ilib $(EXTRA_INC) -o $@ $< $(B)/libptfs.a $(ZIP_LIBS) -ldl -lpthread

$(BA)/test_%: tests/unit/test_%.c $(wildcard tests/unit/*.h) $(LIB_HDR) $(BA)/libptfs.a
	$(CC) $(CFLAGS_ALL) $(SAN) -Ilib $(EXTRA_INC) -o $@ $< $(BA)/libptfs.a $(ZIP_LIBS) -ldl -lpthread

unit: $(UNIT) $(FAKECUDA)
unit-asan: $(UNIT_SAN) $(BA)/ptfs $(FAKECUDA)

test: all unit unit-asan
	bash tests/run.sh

demo:
	bash scripts/demo.sh

bench: all
	bash scripts/bench.sh

# libFuzzer harnesses (tests/fuzz/), FUZZ_SECONDS each, then the regression inputs
FUZZ_SECONDS ?= 60
fuzz:
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

fixtures:
	/usr/bin/python3 scripts/make-fixtures.py tests/fixtures

# mount -t fuse.ptfs and fstab need nothing else: mount(8) runs /sbin/mount.fuse3
# (package fuse3), which runs `ptfs` found on mount's own PATH,
# /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
install: $(B)/ptfs
	install -D -m 0755 $(B)/ptfs $(DESTDIR)$(BINDIR)/ptfs
	install -D -m 0644 docs/ptfs.1 $(DESTDIR)$(MANDIR)/man1/ptfs.1
	install -D -m 0644 completion/ptfs.bash $(DESTDIR)$(BASHCOMPDIR)/ptfs
	@case ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:" in \
	*":$(BINDIR):"*) ;; \
	*) echo "note: $(BINDIR) is not on mount(8)'s PATH: mount -t fuse.ptfs will not find ptfs there";; \
	esac

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ptfs $(DESTDIR)$(MANDIR)/man1/ptfs.1 $(DESTDIR)$(BASHCOMPDIR)/ptfs

format:
	clang-format -i lib/*.[ch] fs/*.[ch] tests/unit/*.[ch] tests/cuda/*.[ch] tests/*.c scripts/ipc-read.c scripts/gpu-bench.c docs/examples/ipc-consumer.c

clean:
	rm -rf $(B)
