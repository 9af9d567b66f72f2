# cmsgref - the one Makefile.
#
#   make                 library + CLI into build/ (needs only cc)
#   make check           unit tests plain and under ASan+UBSan, corpus
#                        replay, real-libc differential, oracle self-tests
#   make conformance     every Python here against the reference (oracle/)
#   make VARIANT=asan    the same products into build/asan/ (also: musl,
#                        coverage); variants coexist under build/<variant>/
#
# Knobs (override on the command line):
CC ?= cc
CLANG ?= clang
MUSL_CC ?= musl-gcc
PYTHON ?= python3
CFLAGS ?= -O2 -g
VARIANT ?=

O := build$(if $(VARIANT),/$(VARIANT))
CPPFLAGS_CR := -Iharness/include -D_GNU_SOURCE
WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wpointer-arith -Wvla -Wformat=2
VFLAGS :=
VLDFLAGS :=
ifeq ($(VARIANT),asan)
  CC := $(CLANG)
  VFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
  VLDFLAGS := $(VFLAGS)
endif
ifeq ($(VARIANT),musl)
  CC := $(MUSL_CC)
endif
ifeq ($(VARIANT),coverage)
  CC := $(CLANG)
  VFLAGS := -O0 -g -fprofile-instr-generate -fcoverage-mapping
  VLDFLAGS := $(VFLAGS)
endif
ALL_CFLAGS = $(CPPFLAGS_CR) $(WARN) $(CFLAGS) $(VFLAGS) -fPIC

# The parser: the pure, allocation-free part that needs no kernel headers.
PARSER_SRC := $(addprefix harness/src/,walk.c models.c json.c errors.c cmsg_len.c)
LIB_SRC := $(wildcard harness/src/*.c)
ifeq ($(VARIANT),musl)
  LIB_SRC := $(PARSER_SRC)   # musl-gcc has no <linux/*.h>; the diff needs only the parser
endif
CLI_SRC := $(wildcard harness/cli/*.c)
TEST_SRC := $(wildcard harness/tests/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(O)/obj/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(O)/obj/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(O)/obj/%.o)
HDRS := $(wildcard harness/include/*.h harness/src/*.h harness/cli/*.h \
                   harness/tests/*.h)

.PHONY: all lib tests check check-unit check-libc conformance clean help
all: $(O)/libcmsgref.a $(O)/libcmsgref.so $(O)/cmsgref
lib: $(O)/libcmsgref.a $(O)/libcmsgref.so

$(O)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(O)/libcmsgref.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/libcmsgref.so: $(LIB_OBJ)
	$(CC) -shared $(VLDFLAGS) -o $@ $^

$(O)/cmsgref: $(CLI_OBJ) $(O)/libcmsgref.a
	$(CC) $(VLDFLAGS) -o $@ $^

$(O)/cmsgref-tests: $(TEST_OBJ) $(O)/libcmsgref.a
	$(CC) $(VLDFLAGS) -o $@ $^

tests: $(O)/cmsgref-tests

# The real-libc differential (harness/shadow): host cc proves "glibc",
# musl-gcc (Debian musl-tools) proves "musl".
SHADOW_SRC := $(wildcard harness/shadow/*.c) harness/tests/crafted.c
$(O)/libc-diff: $(SHADOW_SRC:%.c=$(O)/obj/%.o) $(O)/libcmsgref.a
	$(CC) $(VLDFLAGS) -o $@ $^

CORPUS_DIRS := $(wildcard corpus/*)
check-libc:
	$(MAKE) --no-print-directory VARIANT= build/libc-diff
	build/libc-diff $(CORPUS_DIRS)
	@if command -v $(MUSL_CC) >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory VARIANT=musl build/musl/libc-diff && \
	  build/musl/libc-diff $(CORPUS_DIRS); \
	else \
	  echo "check-libc: FAILED: $(MUSL_CC) not found: the musl model is NOT proven (apt-get install musl-tools)" >&2; \
	  exit 1; \
	fi

# One pass of the unit tests in this variant.
check-unit: $(O)/cmsgref-tests $(O)/cmsgref
	$(O)/cmsgref-tests
	harness/tests/cli_test.sh $(O)/cmsgref

check:
	$(MAKE) --no-print-directory VARIANT= check-unit
	$(MAKE) --no-print-directory VARIANT=asan check-unit
	$(MAKE) --no-print-directory check-libc

conformance:
	@echo "make conformance: the oracle (oracle/) is not built yet; nothing was checked" >&2
	@exit 2

clean:
	rm -rf build

help:
	@sed -n '2,16p' Makefile

# ---- fuzz (owner: fuzz) ----
# Fuzz targets (fuzz/<t>.c, engine-neutral LLVMFuzzerTestOneInput), their
# builds under build/<variant>/ and the commands around them; fuzz/README.md
# explains each.  `make replay` (ASan+UBSan, no engine) is part of check.
FUZZ_TARGETS := cmsg_parse cmsg_diff recvmsg_fake cmsg_len
TARGETS ?= $(FUZZ_TARGETS)
FUZZ_SECONDS ?= 60
AFL_CC ?= afl-clang-fast
AFL_DRIVER ?= $(firstword $(wildcard /usr/lib/afl/libAFLDriver.a \
                                     /usr/local/lib/afl/libAFLDriver.a))
LLVM_COV ?= llvm-cov
LLVM_PROFDATA ?= llvm-profdata
# The parser whose coverage `make coverage` gates (100% lines, >= 95%
# branches): the walk and the libc models.
FZ_COV_GATE := harness/src/walk.c harness/src/models.c
FZ_HDRS := $(HDRS) $(wildcard fuzz/*.h harness/shadow/*.h)
FZ_INC := $(CPPFLAGS_CR) -Iharness/shadow -Ifuzz
# Extra sources per target; corpus directories per target (raw control
# buffers are shared by cmsg_parse and cmsg_diff).
FZ_EXTRA_cmsg_diff := harness/shadow/shadow_walk.c
FZ_EXTRA_recvmsg_fake := fuzz/fake_kernel.c
FZ_CORPUS_cmsg_parse := corpus/cmsg_parse
FZ_CORPUS_cmsg_diff := corpus/cmsg_diff corpus/cmsg_parse
FZ_CORPUS_recvmsg_fake := corpus/recvmsg_fake
FZ_CORPUS_cmsg_len := corpus/cmsg_len
FZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
          -fno-omit-frame-pointer
# Per variant: compiler, compile flags, link flags, driver objects.
FZ_CC_fuzz := $(CLANG)
FZ_CFLAGS_fuzz := -O1 -g -fsanitize=fuzzer-no-link $(FZ_SAN)
FZ_LDFLAGS_fuzz := -fsanitize=fuzzer $(FZ_SAN)
FZ_CC_fuzz-fast := $(CLANG)
FZ_CFLAGS_fuzz-fast := -O2 -g -fsanitize=fuzzer-no-link
FZ_LDFLAGS_fuzz-fast := -fsanitize=fuzzer
FZ_CC_afl := $(AFL_CC)
FZ_CFLAGS_afl := -O2 -g
FZ_LDFLAGS_afl := $(AFL_DRIVER)
FZ_CC_afl-cmplog := AFL_LLVM_CMPLOG=1 $(AFL_CC)
FZ_CFLAGS_afl-cmplog := -O2 -g
FZ_LDFLAGS_afl-cmplog := $(AFL_DRIVER)
FZ_CC_replay := $(CLANG)
FZ_CFLAGS_replay := -O1 -g $(FZ_SAN)
FZ_LDFLAGS_replay := $(FZ_SAN)
FZ_DRIVER_replay := fuzz/replay.c
FZ_CC_coverage := $(CLANG)
FZ_CFLAGS_coverage := -O0 -g -fprofile-instr-generate -fcoverage-mapping
FZ_LDFLAGS_coverage := $(FZ_CFLAGS_coverage)
FZ_DRIVER_coverage := fuzz/replay.c
FZ_CC_musl-replay := $(MUSL_CC)
FZ_CFLAGS_musl-replay := -O2 -g
FZ_DRIVER_musl-replay := fuzz/replay.c
FZ_VARIANTS := fuzz fuzz-fast afl afl-cmplog replay coverage musl-replay

# FZ_VARIANT(v): build/v/fz/%.o from any source, build/v/<target>.  The
# coverage variant links the library that VARIANT=coverage builds (so its
# counters are the library's own); the others compile the library with
# their instrumentation.  musl-replay builds only cmsg_diff, on the parser.
define FZ_VARIANT
build/$(1)/fz/%.o: %.c $$(FZ_HDRS)
	@mkdir -p $$(@D)
	$$(FZ_CC_$(1)) $$(FZ_INC) $$(WARN) $$(FZ_CFLAGS_$(1)) -c $$< -o $$@
FZ_LIB_$(1) := $$(if $$(filter coverage,$(1)),build/coverage/libcmsgref.a,$$(patsubst %.c,build/$(1)/fz/%.o,$$(if $$(filter musl-replay,$(1)),$$(PARSER_SRC),$$(LIB_SRC))))
$$(addprefix build/$(1)/,$$(FUZZ_TARGETS)): build/$(1)/%: build/$(1)/fz/fuzz/%.o \
    $$(patsubst %.c,build/$(1)/fz/%.o,$$(FZ_DRIVER_$(1))) $$(FZ_LIB_$(1))
	$$(FZ_CC_$(1)) -o $$@ $$(filter %.o %.a,$$^) $$(FZ_LDFLAGS_$(1))
build/$(1)/cmsg_diff: build/$(1)/fz/harness/shadow/shadow_walk.o
build/$(1)/recvmsg_fake: build/$(1)/fz/fuzz/fake_kernel.o
.PHONY: fuzz-build-$(1)
fuzz-build-$(1): $$(addprefix build/$(1)/,$$(if $$(filter musl-replay,$(1)),cmsg_diff,$$(FUZZ_TARGETS)))
endef
$(foreach v,$(FZ_VARIANTS),$(eval $(call FZ_VARIANT,$(v))))
