# cmsgref - the one Makefile.
#
#   make                 library + CLI into build/ (needs only cc)
#   make check           the tests: unit (plain + ASan/UBSan), CLI, real-libc
#                        differential (glibc, musl), corpus replay, oracle,
#                        bench and fuzz-tooling self-tests; ends with
#                        "check: N passed, N failed"
#   make conformance     every Python here against the reference (oracle/)
#   make cpython-tests   each CPython's own test_socket subset, native and with
#                        the reference installed
#   make fuzz | afl      time-boxed libFuzzer / AFL++ runs (FUZZ_SECONDS=N)
#   make replay | coverage | oss-fuzz-check   corpus replay, coverage gate,
#                        the ClusterFuzzLite build as OSS-Fuzz runs it
#   make bench           speed and memory figures (build/bench/bench.json)
#   make VARIANT=asan    the same products into build/asan/ (also: musl,
#                        coverage); variants coexist under build/<variant>/
#
SHELL := /bin/bash

# Knobs (override on the command line):
CC ?= cc
CLANG ?= clang
MUSL_CC ?= musl-gcc
PYTHON ?= python3
CFLAGS ?= -O2 -g
VARIANT ?=

O := build$(if $(VARIANT),/$(VARIANT))
CPPFLAGS_CR := -Iharness/include -Iharness/cli -D_GNU_SOURCE
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
ifeq ($(VARIANT),i386)
  CC := $(CC) -m32
  VFLAGS := -D_FILE_OFFSET_BITS=64
  VLDFLAGS := -m32
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

$(O)/cmsgref-tests: $(TEST_OBJ) $(O)/obj/harness/cli/input.o $(O)/libcmsgref.a
	$(CC) $(VLDFLAGS) -o $@ $^

tests: $(O)/cmsgref-tests

# The real-libc differential: the cmsg_diff fuzz target over its corpus,
# built with the host cc (proves "glibc") and with musl-gcc (Debian
# musl-tools; proves "musl").
check-libc:
	@command -v $(MUSL_CC) >/dev/null 2>&1 || { echo "check-libc: FAILED: $(MUSL_CC) not found: the musl model is NOT proven (apt-get install musl-tools)" >&2; exit 1; }
	@$(MAKE) --no-print-directory fuzz-build-cc-replay fuzz-build-musl-replay
	build/cc-replay/cmsg_diff -q $(FZ_CORPUS_cmsg_diff)
	build/musl-replay/cmsg_diff -q $(FZ_CORPUS_cmsg_diff)

# The same against glibc's i386 macros (glibc-i386): built with cc -m32
# (gcc-multilib), run by $(I386_RUN) (qemu-user; empty where the kernel
# runs i386 programs).  Not in check: it needs both packages.
I386_RUN ?= qemu-i386
.PHONY: check-libc-i386
check-libc-i386:
	@$(MAKE) --no-print-directory fuzz-build-i386-replay
	$(I386_RUN) build/i386-replay/cmsg_diff -q $(FZ_CORPUS_cmsg_diff)

# One pass of the unit tests in this variant.
check-unit: $(O)/cmsgref-tests $(O)/cmsgref
	$(O)/cmsgref-tests
	harness/tests/cli_test.sh $(O)/cmsgref

# Every step's output is shown and kept in build/check/; the last line is
# the total over all of them (scripts/check-summary).
CHECK_STEPS := VARIANT=:check-unit VARIANT=asan:check-unit check-libc replay \
               check-oracle check-bench check-fuzz-tools check-workflows \
               check-mutants
check:
	@rm -rf build/check && mkdir -p build/check
	@set -o pipefail; n=0; for step in $(CHECK_STEPS); do n=$$((n + 1)); \
	  $(MAKE) --no-print-directory $${step/:/ } 2>&1 | tee build/check/$$n.log || \
	  { echo "check: FAILED in step '$${step/:/ }' (log: build/check/$$n.log)" >&2; exit 1; }; \
	done
	@$(PYTHON) scripts/check-summary build/check/*.log

# The CI workflows (.github/workflows) through actionlint and against this
# tree's targets and scripts, then the checker's own tests.
.PHONY: check-workflows
check-workflows:
	$(PYTHON) scripts/check-workflows
	$(PYTHON) scripts/test_check_workflows.py

# The specification's pointers (docs/semantics.md) all name something that
# exists, and the checker's own tests.
.PHONY: check-docs
check-docs:
	$(PYTHON) docs/check-refs
	$(PYTHON) docs/test_check_refs.py
CHECK_STEPS += check-docs

clean:
	rm -rf build

help:
	@awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' Makefile

# Every tracked C file laid out as .clang-format says (clang-format 14;
# scripts/format-check); part of check.
.PHONY: format-check
format-check:
	scripts/format-check
CHECK_STEPS += format-check

# ---- fuzz ----
# Fuzz targets (fuzz/<t>.c, engine-neutral LLVMFuzzerTestOneInput), their
# builds under build/<variant>/ and the commands around them; fuzz/README.md
# explains each.  `make replay` (ASan+UBSan, no engine) is part of check.
FUZZ_TARGETS := cmsg_parse cmsg_json cmsg_diff recvmsg_fake cmsg_len
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
# Extra sources per target; corpus directories per target, its own first
# (the raw control buffers of corpus/cmsg_parse serve every raw target).
FZ_EXTRA_cmsg_parse := fuzz/invariants.c
FZ_EXTRA_cmsg_json := fuzz/invariants.c
FZ_EXTRA_cmsg_len := fuzz/invariants.c
FZ_EXTRA_cmsg_diff := harness/shadow/shadow_walk.c
FZ_EXTRA_recvmsg_fake := fuzz/fake_kernel.c
FZ_CORPUS_cmsg_parse := corpus/cmsg_parse
FZ_CORPUS_cmsg_json := corpus/cmsg_json corpus/cmsg_parse
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
FZ_DRIVER_replay := fuzz/replay.c harness/cli/input.c
FZ_CC_coverage := $(CLANG)
FZ_CFLAGS_coverage := -O0 -g -fprofile-instr-generate -fcoverage-mapping
FZ_LDFLAGS_coverage := $(FZ_CFLAGS_coverage)
FZ_DRIVER_coverage := fuzz/replay.c harness/cli/input.c
FZ_CC_musl-replay := $(MUSL_CC)
FZ_CFLAGS_musl-replay := -O2 -g
FZ_DRIVER_musl-replay := fuzz/replay.c harness/cli/input.c
FZ_CC_cc-replay := $(CC)
FZ_CFLAGS_cc-replay := -O2 -g
FZ_DRIVER_cc-replay := fuzz/replay.c harness/cli/input.c
FZ_CC_i386-replay := $(CC) -m32 -static
FZ_CFLAGS_i386-replay := -O2 -g -D_FILE_OFFSET_BITS=64
FZ_DRIVER_i386-replay := fuzz/replay.c harness/cli/input.c
FZ_VARIANTS := fuzz fuzz-fast afl afl-cmplog replay coverage musl-replay cc-replay i386-replay
FZ_PARSER_ONLY := musl-replay cc-replay i386-replay
fz_extra = build/$(1)/$(2): $(patsubst %.c,build/$(1)/fz/%.o,$(FZ_EXTRA_$(2)))

# FZ_VARIANT(v): build/v/fz/%.o from any source, build/v/<target>.  The
# coverage variant links the library that VARIANT=coverage builds (so its
# counters are the library's own); the others compile the library with
# their instrumentation.  FZ_PARSER_ONLY variants build only cmsg_diff, on
# the parser.
define FZ_VARIANT
build/$(1)/fz/%.o: %.c $$(FZ_HDRS)
	@mkdir -p $$(@D)
	$$(FZ_CC_$(1)) $$(FZ_INC) $$(WARN) $$(FZ_CFLAGS_$(1)) -c $$< -o $$@
FZ_LIB_$(1) := $$(if $$(filter coverage,$(1)),build/coverage/libcmsgref.a,$$(patsubst %.c,build/$(1)/fz/%.o,$$(if $$(filter $$(FZ_PARSER_ONLY),$(1)),$$(PARSER_SRC),$$(LIB_SRC))))
$$(addprefix build/$(1)/,$$(FUZZ_TARGETS)): build/$(1)/%: build/$(1)/fz/fuzz/%.o \
    $$(patsubst %.c,build/$(1)/fz/%.o,$$(FZ_DRIVER_$(1))) $$(FZ_LIB_$(1))
	$$(FZ_CC_$(1)) -o $$@ $$(filter %.o,$$^) $$(filter %.a,$$^) $$(FZ_LDFLAGS_$(1))
$$(foreach t,$$(FUZZ_TARGETS),$$(eval $$(call fz_extra,$(1),$$(t))))
.PHONY: fuzz-build-$(1)
fuzz-build-$(1): $$(addprefix build/$(1)/,$$(if $$(filter $$(FZ_PARSER_ONLY),$(1)),cmsg_diff,$$(FUZZ_TARGETS)))
endef
$(foreach v,$(FZ_VARIANTS),$(eval $(call FZ_VARIANT,$(v))))

# Corpus directories as run.py wants them: --target NAME:DIR,DIR
fz_comma := ,
fz_space := $(fz_empty) $(fz_empty)
FZ_RUN_TARGETS = $(foreach t,$(TARGETS),--target $(t):$(subst $(fz_space),$(fz_comma),$(FZ_CORPUS_$(t))))

.PHONY: replay fuzz afl coverage oss-fuzz-check fuzz-seeds fuzz-target-args
# Every corpus file and every reproducer in build/findings/ through the
# replay driver under ASan+UBSan (check-libc replays cmsg_diff built with
# the host cc and musl-gcc).
replay: fuzz-build-replay
	@set -e; $(foreach t,$(FUZZ_TARGETS),build/replay/$(t) -q $(FZ_CORPUS_$(t)) $(wildcard build/findings/$(t));)

# libFuzzer on each of TARGETS for FUZZ_SECONDS, merging into corpus/.
# The arguments (FUZZ_SECONDS, TARGETS, AFL_JOBS) are checked before the
# build (run.py --check), so a typo costs one line, not a build.
fuzz:
	@$(PYTHON) fuzz/run.py libfuzzer --check --seconds $(FUZZ_SECONDS) $(FZ_RUN_TARGETS)
	@$(MAKE) --no-print-directory fuzz-build-fuzz fuzz-build-replay all
	$(PYTHON) fuzz/run.py libfuzzer --seconds $(FUZZ_SECONDS) $(FZ_RUN_TARGETS)

# AFL++ secondaries (one per core; AFL_JOBS=N to change), then afl-cmin.
afl:
	@$(PYTHON) fuzz/run.py afl --check --seconds $(FUZZ_SECONDS) $(FZ_RUN_TARGETS)
	@test -n "$(AFL_DRIVER)" || { echo "afl: libAFLDriver.a not found (apt-get install afl++)" >&2; exit 2; }
	@$(MAKE) --no-print-directory fuzz-build-afl fuzz-build-afl-cmplog fuzz-build-replay all
	$(PYTHON) fuzz/run.py afl --seconds $(FUZZ_SECONDS) $(FZ_RUN_TARGETS)

# The committed corpus through the coverage build of the library: prints
# llvm-cov's table, writes build/coverage/html/, and fails unless the
# parser (FZ_COV_GATE) has 100% lines and >= 95% branches covered.
FZ_COV_OBJS := build/coverage/$(firstword $(FUZZ_TARGETS)) $(foreach t,$(wordlist 2,99,$(FUZZ_TARGETS)),-object build/coverage/$(t))
coverage:
	$(MAKE) --no-print-directory VARIANT=coverage lib
	$(MAKE) --no-print-directory fuzz-build-coverage
	@rm -rf build/coverage/profraw && mkdir -p build/coverage/profraw
	@set -e; $(foreach t,$(FUZZ_TARGETS),LLVM_PROFILE_FILE=build/coverage/profraw/$(t).profraw build/coverage/$(t) -q $(FZ_CORPUS_$(t));)
	$(LLVM_PROFDATA) merge -sparse -o build/coverage/corpus.profdata build/coverage/profraw/*.profraw
	$(LLVM_COV) report $(FZ_COV_OBJS) -instr-profile=build/coverage/corpus.profdata harness/src/*.c
	$(LLVM_COV) show -format=html -output-dir=build/coverage/html $(FZ_COV_OBJS) -instr-profile=build/coverage/corpus.profdata harness/src/*.c harness/shadow/*.c
	@$(LLVM_COV) export -summary-only $(FZ_COV_OBJS) -instr-profile=build/coverage/corpus.profdata $(FZ_COV_GATE) | $(PYTHON) fuzz/covgate.py 100 95
	@echo "coverage: HTML report in build/coverage/html/index.html"

# The ClusterFuzzLite build.sh as OSS-Fuzz runs it (libFuzzer + ASan),
# into build/oss-fuzz/, then each target on its seed zip.
FZ_OSS_FLAGS := -O1 -fno-omit-frame-pointer -gline-tables-only \
  -fsanitize=address -fsanitize-address-use-after-scope \
  -fsanitize=fuzzer-no-link
oss-fuzz-check:
	@rm -rf build/oss-fuzz && mkdir -p build/oss-fuzz/out build/oss-fuzz/work
	SRC=$(CURDIR) OUT=$(CURDIR)/build/oss-fuzz/out WORK=$(CURDIR)/build/oss-fuzz/work \
	  CC=$(CLANG) CXX=$(CLANG)++ CFLAGS="$(FZ_OSS_FLAGS)" CXXFLAGS="$(FZ_OSS_FLAGS)" \
	  LIB_FUZZING_ENGINE=-fsanitize=fuzzer SANITIZER=address FUZZING_ENGINE=libfuzzer \
	  ARCHITECTURE=x86_64 bash .clusterfuzzlite/build.sh
	@set -e; for t in $(FUZZ_TARGETS); do \
	  for f in $$t $${t}_seed_corpus.zip $$t.dict $$t.options; do \
	    test -s build/oss-fuzz/out/$$f || { echo "oss-fuzz-check: build.sh did not produce $$f" >&2; exit 1; }; \
	  done; \
	  rm -rf build/oss-fuzz/seeds/$$t && mkdir -p build/oss-fuzz/seeds/$$t; \
	  $(PYTHON) -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
	    build/oss-fuzz/out/$${t}_seed_corpus.zip build/oss-fuzz/seeds/$$t; \
	  (cd build/oss-fuzz/out && ./$$t -runs=0 -dict=$$t.dict -artifact_prefix=../crash-$$t- ../seeds/$$t) > build/oss-fuzz/$$t.log 2>&1 || \
	    { tail -20 build/oss-fuzz/$$t.log >&2; echo "oss-fuzz-check: $$t failed on its seed corpus" >&2; exit 1; }; \
	  echo "oss-fuzz-check: $$t ran its $$(ls build/oss-fuzz/seeds/$$t | wc -l) seeds"; \
	done

# Regenerate the crafted seeds and capture kernel-written buffers.
build/capture-cmsg: scripts/capture-cmsg.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -o $@ $<
fuzz-seeds: build/capture-cmsg
	$(PYTHON) scripts/make-seeds
	build/capture-cmsg corpus/cmsg_parse
# run.py's --target arguments for TARGETS (scripts/ci-fuzz reads them here,
# so the corpus layout is written down once).
fuzz-target-args:
	@echo $(FZ_RUN_TARGETS)

# Self-tests of fuzz/run.py and scripts/ci-fuzz (part of check; fake
# fuzzers, a few seconds): bad arguments exit 2 with one line, prune never
# deletes a failing input, no crash file outside build/, failed steps exit
# 1, SIGINT/SIGTERM leave no process behind; the replay driver refuses
# paths that hold no input.  Then the shared tools/ (procs, fdtable).
.PHONY: check-fuzz-tools
check-fuzz-tools: fuzz-build-replay build/capture-cmsg
	$(PYTHON) fuzz/test_run.py
	$(PYTHON) -m unittest discover -s tools/tests -t .

# ---- oracle ----
# The conformance oracle (oracle/README.md): every Python here against the
# reference.  PYTHONS="/path/py1 /path/py2" replaces discovery; ORACLE_ARGS
# passes driver options (e.g. --suites inject --only seed-k08; see
# python3 -m oracle.conformance --help).
ORACLE_SHIM := $(O)/inject/libcrinject.so
ORACLE_ENV := PYTHONPATH=$(CURDIR)
.PHONY: conformance check-oracle oracle-inject-shim
oracle-inject-shim: $(ORACLE_SHIM)
# The LD_PRELOAD shim is not library code: plain cc, the project's warnings.
$(ORACLE_SHIM): oracle/suites/inject/shim/inject.c oracle/suites/inject/shim/inject.h
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -fPIC -shared -o $@ $(filter %.c,$^) -ldl

# DEBIAN="bullseye trixie" adds those Debian releases' CPythons, each run in
# a root of its own (scripts/debian-root; oracle/sources/debian.py);
# MUSL=3.11 a CPython built with musl-gcc (scripts/musl-python).
conformance: build/libcmsgref.so build/cmsgref $(ORACLE_SHIM)
	$(ORACLE_ENV) $(if $(DEBIAN),CMSGREF_DEBIAN="$(DEBIAN)") $(if $(MUSL),CMSGREF_MUSL="$(MUSL)") $(PYTHON) -m oracle.conformance \
	    $(if $(PYTHONS),--pythons "$(PYTHONS)") $(ORACLE_ARGS)

# Oracle self-tests (stdlib unittest): the comparison, expectations,
# discovery, report and one injected end-to-end run that must FAIL.
check-oracle: build/libcmsgref.so build/cmsgref $(ORACLE_SHIM)
	$(ORACLE_ENV) $(PYTHON) -m unittest discover -s oracle/tests -t .

# ---- bench ----
# `make bench` (bench/README.md) measures and reports, never fails on a
# time; `make check` runs only check-bench, which tests the bench code.  A
# product that does not build makes its figures MISSING, not the run stop.
# BENCH_ARGS passes driver options (e.g. --only native --budget 300).
# The seeded bugs (-DCR_CANARY=N, harness/src) through the fuzz section's
# FZ_VARIANT: build/bench/canary<N>/ with fuzz-fast's flags, and
# build/bench/canary<N>-musl/cmsg_diff as check-libc's musl differential.
BENCH_ARGS ?=
BENCH_CANARIES := 1 2 3 4 5 6
BENCH_C := build/bench/recv_bench build/bench/recv_rss
BENCH_FZ := build/fuzz/cmsg_parse build/fuzz-fast/cmsg_parse build/musl-replay/cmsg_diff \
  $(foreach n,$(BENCH_CANARIES),build/bench/canary$(n)/cmsg_parse build/bench/canary$(n)-musl/cmsg_diff)
FZ_PARSER_ONLY += $(foreach n,$(BENCH_CANARIES),bench/canary$(n)-musl)
define BENCH_CANARY
FZ_CC_bench/canary$(1) := $$(FZ_CC_fuzz-fast)
FZ_CFLAGS_bench/canary$(1) := $$(FZ_CFLAGS_fuzz-fast) -DCR_CANARY=$(1)
FZ_LDFLAGS_bench/canary$(1) := $$(FZ_LDFLAGS_fuzz-fast)
FZ_CC_bench/canary$(1)-musl := $$(FZ_CC_musl-replay)
FZ_CFLAGS_bench/canary$(1)-musl := $$(FZ_CFLAGS_musl-replay) -DCR_CANARY=$(1)
FZ_DRIVER_bench/canary$(1)-musl := $$(FZ_DRIVER_musl-replay)
$$(eval $$(call FZ_VARIANT,bench/canary$(1)))
$$(eval $$(call FZ_VARIANT,bench/canary$(1)-musl))
endef
$(foreach n,$(BENCH_CANARIES),$(eval $(call BENCH_CANARY,$(n))))
.PHONY: bench check-bench
$(BENCH_C): build/bench/%: bench/%.c build/libcmsgref.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_CR) $(WARN) $(CFLAGS) -o $@ $< build/libcmsgref.a
bench:
	@$(MAKE) --no-print-directory -k -j2 all build/libcmsgref.so $(BENCH_C) $(ORACLE_SHIM) $(BENCH_FZ) || \
	  echo "bench: WARNING: some products did not build: their figures will be MISSING" >&2
	PYTHONPATH=$(CURDIR) $(PYTHON) -m bench.run $(BENCH_ARGS)

# Self-tests of the bench code (no time can fail them), and each seeded bug
# shown to fail a check on the committed corpus where the clean build passes.
check-bench: $(BENCH_C) build/libcmsgref.so $(BENCH_FZ)
	PYTHONPATH=$(CURDIR) $(PYTHON) -m unittest bench.test_bench

# ---- oracle: CPython's own tests against the reference ----
# Each installed CPython's own test.test_socket recvmsg / recvmsg_into /
# SCM_RIGHTS / CMSG macro tests, natively and with oracle.reference.refsocket
# installed (oracle/cpython_tests.py); fails if the reference passes fewer.
# PYTHONS="/path/py ..." replaces discovery; CPYTHON_TESTS_ARGS passes
# options (--strict, --verbose, --timeout N, --jobs N).
.PHONY: cpython-tests
cpython-tests: build/libcmsgref.so
	PYTHONPATH=$(CURDIR) $(PYTHON) -m oracle.cpython_tests \
	    $(if $(PYTHONS),--pythons "$(PYTHONS)") $(CPYTHON_TESTS_ARGS)

# ---- mutants ----
# Mutation scores (mutants/run.py): CPython's socketmodule.c, built from
# Debian's source in $CMSGREF_CACHE, judged by the oracle and CPython's own
# tests; harness/src judged by unit tests + replay and by a short fuzz run.
# Not part of check (check-mutants tests the mutator).  Knobs: MUTANTS_MAX=N
# MUTANTS_FUNCS="f g" MUTANTS_SIDE=cpython|reference|both MUTANTS_PYVER=3.11|3.13
.PHONY: mutants check-mutants
mutants: build/libcmsgref.so build/cmsgref $(ORACLE_SHIM)
	PYTHONPATH=$(CURDIR) $(PYTHON) -m mutants $(if $(MUTANTS_MAX),--max $(MUTANTS_MAX)) --funcs "$(MUTANTS_FUNCS)" --side $(or $(MUTANTS_SIDE),both) --version $(or $(MUTANTS_PYVER),3.11)
check-mutants:
	PYTHONPATH=$(CURDIR) $(PYTHON) -m unittest discover -s mutants/tests -t .
