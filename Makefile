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
