# cmsgref - the one Makefile.
#
#   make                 library + CLI into build/ (needs only cc)
#   make check           the tests (README "Build and requirements"); ends
#                        with "check: N passed, N failed"
#   make conformance     every Python here against the reference (oracle/);
#                        DEBIAN="bullseye trixie forky", MUSL=3.11 add more
#   make cpython-tests   each CPython's own test_socket subset, native and with
#                        the reference installed
#   make fuzz | afl      time-boxed libFuzzer / AFL++ runs (FUZZ_SECONDS=N)
#   make replay | coverage | oss-fuzz-check   corpus replay, coverage gate,
#                        the ClusterFuzzLite build as OSS-Fuzz runs it
#   make bench | mutants speed, memory and detection figures; mutation scores
#   make VARIANT=asan    the same products into build/asan/ (also: musl,
#                        i386, coverage); variants coexist under build/<v>/
SHELL := /bin/bash
# Knobs (override on the command line):
CC ?= cc
CLANG ?= clang
GCC ?= gcc
MUSL_CC ?= musl-gcc
PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)
CFLAGS ?= -O2 -g
VARIANT ?=

O := build$(if $(VARIANT),/$(VARIANT))
CPPFLAGS_CR := -Iharness/include -Iharness/cli -D_GNU_SOURCE
WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wpointer-arith -Wvla -Wformat=2
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Per variant: compiler, compile flags, link flags (asan: gcc's sanitizers, beside clang's in the fuzz builds).
V_CC_asan := $(GCC)
V_FL_asan := -O1 -g $(SAN)
V_LD_asan := $(V_FL_asan)
V_CC_musl := $(MUSL_CC)
V_CC_i386 := $(CC) -m32
V_FL_i386 := -D_FILE_OFFSET_BITS=64
V_LD_i386 := -m32
V_CC_coverage := $(CLANG)
V_FL_coverage := -O0 -g -fprofile-instr-generate -fcoverage-mapping
V_LD_coverage := $(V_FL_coverage)
CC := $(or $(V_CC_$(VARIANT)),$(CC))
VFLAGS := $(V_FL_$(VARIANT))
VLDFLAGS := $(V_LD_$(VARIANT))
ALL_CFLAGS = $(CPPFLAGS_CR) $(WARN) $(CFLAGS) $(VFLAGS) -fPIC
# $(O)/flags holds the compiler and flags $(O)'s objects were built with;
# it is rewritten only when they change, which rebuilds every object.
O_FLAGS_SH := '$(subst ','\'',$(strip $(CC) $(ALL_CFLAGS) | $(VLDFLAGS)))'

# The parser: the allocation-free part that needs no kernel headers.
PARSER_SRC := $(addprefix harness/src/,walk.c models.c json.c errors.c cmsg_len.c)
LIB_SRC := $(wildcard harness/src/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(O)/obj/%.o)
CLI_OBJ := $(patsubst %.c,$(O)/obj/%.o,$(wildcard harness/cli/*.c))
TEST_OBJ := $(patsubst %.c,$(O)/obj/%.o,$(wildcard harness/tests/*.c))
HDRS := $(wildcard harness/include/*.h harness/src/*.h harness/cli/*.h harness/tests/*.h)

.PHONY: FORCE all lib tests check check-unit check-libc check-libc-i386 clean help format-check check-workflows check-docs check-fuzz-tools
all: $(O)/libcmsgref.a $(O)/libcmsgref.so $(O)/cmsgref
lib: $(O)/libcmsgref.a $(O)/libcmsgref.so
tests: $(O)/cmsgref-tests
$(O)/flags: FORCE
	@mkdir -p $(@D) && printf '%s\n' $(O_FLAGS_SH) | cmp -s - $@ || \
	    printf '%s\n' $(O_FLAGS_SH) > $@
FORCE:
$(O)/obj/%.o: %.c $(HDRS) $(O)/flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@
$(O)/libcmsgref.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^
$(O)/libcmsgref.so: $(LIB_OBJ)
	$(CC) -shared $(VLDFLAGS) -o $@ $^
$(O)/cmsgref: $(CLI_OBJ) $(O)/libcmsgref.a
	$(CC) $(VLDFLAGS) -o $@ $^
$(O)/cmsgref-tests: $(TEST_OBJ) $(O)/obj/harness/cli/input.o $(O)/libcmsgref.a
	$(CC) $(VLDFLAGS) -o $@ $^

# ---- check: each step's log in build/check/, the total last ----
CHECK_STEPS := VARIANT=:check-unit VARIANT=asan:check-unit check-libc replay \
               format-check check-oracle check-bench check-fuzz-tools \
               check-workflows check-mutants check-docs
check:
	@rm -rf build/check && mkdir -p build/check
	@set -o pipefail; n=0; for step in $(CHECK_STEPS); do n=$$((n + 1)); \
	  $(MAKE) --no-print-directory $${step/:/ } 2>&1 | tee build/check/$$n.log || \
	  { echo "check: FAILED in step '$${step/:/ }' (log: build/check/$$n.log)" >&2; exit 1; }; \
	done
	@$(PYTHON) scripts/check-summary build/check/*.log
check-unit: $(O)/cmsgref-tests $(O)/cmsgref
	$(O)/cmsgref-tests
	harness/tests/cli_test.sh $(O)/cmsgref
# The real-libc differential: cmsg_diff built with the host cc and musl-gcc;
# i386 (not in check): gcc-multilib, run by $(I386_RUN) (qemu-user).
check-libc:
	@command -v $(MUSL_CC) >/dev/null 2>&1 || { echo "check-libc: FAILED: $(MUSL_CC) not found: the musl model is NOT proven (apt-get install musl-tools)" >&2; exit 1; }
	@$(MAKE) --no-print-directory fuzz-build-cc-replay fuzz-build-musl-replay
	build/cc-replay/cmsg_diff -q $(FZ_CORPUS_cmsg_diff)
	build/musl-replay/cmsg_diff -q $(FZ_CORPUS_cmsg_diff)
I386_RUN ?= qemu-i386
check-libc-i386: fuzz-build-i386-replay
	$(I386_RUN) build/i386-replay/cmsg_diff -q $(FZ_CORPUS_cmsg_diff)
format-check:
	scripts/format-check
check-workflows:
	$(PYTHON) scripts/check-workflows
	$(PYTHON) scripts/test_check_workflows.py
check-docs:
	$(PYTHON) docs/check-refs
	$(PYTHON) docs/test_check_refs.py
# fuzz/run.py, scripts/ci-fuzz (fake fuzzers) and tools/ self-tests.
check-fuzz-tools: fuzz-build-replay build/capture-cmsg
	$(PYTHON) fuzz/test_run.py
	$(PYTHON) -m unittest discover -s tools/tests -t .
clean:
	rm -rf build
help:
	@awk 'NR > 1 && /^#/ { print; next } NR > 1 { exit }' Makefile

# ---- fuzz (fuzz/README.md) ----
# Targets fuzz/<t>.c, their extra sources and corpora (its own first);
# .clusterfuzzlite/build.sh and scripts/ci-fuzz read these variables.
FUZZ_TARGETS := cmsg_parse cmsg_json cmsg_diff recvmsg_fake cmsg_len
TARGETS ?= $(FUZZ_TARGETS)
FUZZ_SECONDS ?= 60
AFL_CC ?= afl-clang-fast
AFL_DRIVER ?= $(firstword $(wildcard /usr/lib/afl/libAFLDriver.a /usr/local/lib/afl/libAFLDriver.a))
FZ_COV_GATE := harness/src/walk.c harness/src/models.c
FZ_HDRS := $(HDRS) $(wildcard fuzz/*.h harness/shadow/*.h)
FZ_INC := $(CPPFLAGS_CR) -Iharness/shadow -Ifuzz
$(foreach t,cmsg_parse cmsg_json cmsg_len,$(eval FZ_EXTRA_$(t) := fuzz/invariants.c))
FZ_EXTRA_cmsg_diff := harness/shadow/shadow_walk.c
FZ_EXTRA_recvmsg_fake := fuzz/fake_kernel.c
FZ_CORPUS_cmsg_parse := corpus/cmsg_parse
FZ_CORPUS_cmsg_json := corpus/cmsg_json corpus/cmsg_parse
FZ_CORPUS_cmsg_diff := corpus/cmsg_diff corpus/cmsg_parse
FZ_CORPUS_recvmsg_fake := corpus/recvmsg_fake
FZ_CORPUS_cmsg_len := corpus/cmsg_len
# FZ_DEF(variant, compiler, compile flags, link flags, driver sources)
FZ_RDRV := fuzz/replay.c harness/cli/input.c
define FZ_DEF
FZ_CC_$(1) := $(2)
FZ_CFLAGS_$(1) := $(3)
FZ_LDFLAGS_$(1) := $(4)
FZ_DRIVER_$(1) := $(5)
endef
$(eval $(call FZ_DEF,fuzz,$(CLANG),-O1 -g -fsanitize=fuzzer-no-link $(SAN),-fsanitize=fuzzer $(SAN)))
$(eval $(call FZ_DEF,fuzz-fast,$(CLANG),-O2 -g -fsanitize=fuzzer-no-link,-fsanitize=fuzzer))
$(eval $(call FZ_DEF,afl,$(AFL_CC),-O2 -g,$(AFL_DRIVER)))
$(eval $(call FZ_DEF,afl-cmplog,AFL_LLVM_CMPLOG=1 $(AFL_CC),-O2 -g,$(AFL_DRIVER)))
$(eval $(call FZ_DEF,replay,$(CLANG),-O1 -g $(SAN),$(SAN),$(FZ_RDRV)))
$(eval $(call FZ_DEF,coverage,$(CLANG),$(V_FL_coverage),$(V_FL_coverage),$(FZ_RDRV)))
$(eval $(call FZ_DEF,musl-replay,$(MUSL_CC),-O2 -g,,$(FZ_RDRV)))
$(eval $(call FZ_DEF,cc-replay,$(CC),-O2 -g,,$(FZ_RDRV)))
$(eval $(call FZ_DEF,i386-replay,$(CC) -m32 -static,-O2 -g -D_FILE_OFFSET_BITS=64,,$(FZ_RDRV)))
FZ_PARSER_ONLY := musl-replay cc-replay i386-replay
fz_extra = build/$(1)/$(2): $(patsubst %.c,build/$(1)/fz/%.o,$(FZ_EXTRA_$(2)))
# FZ_VARIANT(v): build/v/<target>; coverage links VARIANT=coverage's
# library, FZ_PARSER_ONLY variants build cmsg_diff on the parser only.
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
# Corpus directories as run.py wants them: --target NAME:DIR,DIR
fz_comma := ,
fz_spec = $(1):$(subst $() ,$(fz_comma),$(strip $(FZ_CORPUS_$(1))))
FZ_RUN_TARGETS = $(foreach t,$(TARGETS),--target $(call fz_spec,$(t)))

.PHONY: replay fuzz afl coverage oss-fuzz-check fuzz-seeds fuzz-target-args
# Every corpus file and build/findings/ input under ASan+UBSan.
replay: fuzz-build-replay
	@set -e; $(foreach t,$(FUZZ_TARGETS),build/replay/$(t) -q $(FZ_CORPUS_$(t)) $(wildcard build/findings/$(t));)
# TARGETS for FUZZ_SECONDS, merged into corpus/; arguments checked first.
fuzz:
	@$(PYTHON) fuzz/run.py libfuzzer --check --seconds $(FUZZ_SECONDS) $(FZ_RUN_TARGETS)
	@$(MAKE) --no-print-directory fuzz-build-fuzz fuzz-build-replay all
	$(PYTHON) fuzz/run.py libfuzzer --seconds $(FUZZ_SECONDS) $(FZ_RUN_TARGETS)
afl:
	@$(PYTHON) fuzz/run.py afl --check --seconds $(FUZZ_SECONDS) $(FZ_RUN_TARGETS)
	@test -n "$(AFL_DRIVER)" || { echo "afl: libAFLDriver.a not found (apt-get install afl++)" >&2; exit 2; }
	@$(MAKE) --no-print-directory fuzz-build-afl fuzz-build-afl-cmplog fuzz-build-replay all
	$(PYTHON) fuzz/run.py afl --seconds $(FUZZ_SECONDS) $(FZ_RUN_TARGETS)
coverage:
	$(MAKE) --no-print-directory VARIANT=coverage lib
	$(MAKE) --no-print-directory fuzz-build-coverage
	scripts/coverage "$(FZ_COV_GATE)" $(foreach t,$(FUZZ_TARGETS),$(call fz_spec,$(t)))
oss-fuzz-check:
	CLANG=$(CLANG) PYTHON=$(PYTHON) scripts/oss-fuzz-check $(FUZZ_TARGETS)
build/capture-cmsg: scripts/capture-cmsg.c
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -o $@ $<
fuzz-seeds: build/capture-cmsg
	$(PYTHON) scripts/make-seeds
	build/capture-cmsg corpus/cmsg_parse
fuzz-target-args:
	@echo $(FZ_RUN_TARGETS)

# ---- oracle (oracle/README.md) ----
# PYTHONS replaces discovery; ORACLE_ARGS: driver options (--help); DEBIAN,
# MUSL add interpreter sources; SEED, GENERATE, HEAPCHECK reach the driver.
ORACLE_SHIM := $(O)/inject/libcrinject.so $(O)/inject/libcralloc.so
ORACLE_ENV := PYTHONPATH=$(CURDIR)
.PHONY: conformance check-oracle oracle-inject-shim cpython-tests bench check-bench mutants check-mutants
oracle-inject-shim: $(ORACLE_SHIM)
$(O)/inject/libcr%.so: oracle/suites/inject/shim/%.c oracle/suites/inject/shim/inject.h
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -fPIC -shared -o $@ $(filter %.c,$^) -ldl
conformance: build/libcmsgref.so build/cmsgref $(ORACLE_SHIM)
	$(ORACLE_ENV) $(if $(DEBIAN),CMSGREF_DEBIAN="$(DEBIAN)") $(if $(MUSL),CMSGREF_MUSL="$(MUSL)") \
	  $(PYTHON) -m oracle.conformance $(if $(PYTHONS),--pythons "$(PYTHONS)") $(ORACLE_ARGS)
check-oracle: build/libcmsgref.so build/cmsgref $(ORACLE_SHIM)
	$(ORACLE_ENV) $(PYTHON) -m unittest discover -s oracle/tests -t .
cpython-tests: build/libcmsgref.so
	$(ORACLE_ENV) $(PYTHON) -m oracle.cpython_tests $(if $(PYTHONS),--pythons "$(PYTHONS)") $(CPYTHON_TESTS_ARGS)

# ---- bench (bench/README.md) ----
# Never fails on a time; what does not build is MISSING.  Seeded bugs
# (-DCR_CANARY=N): build/bench/canary<N>/ and canary<N>-musl/cmsg_diff.
BENCH_ARGS ?=
BENCH_CANARIES := 1 2 3 4 5 6
BENCH_C := build/bench/recv_bench build/bench/recv_rss
BENCH_FZ := build/fuzz/cmsg_parse build/fuzz-fast/cmsg_parse build/musl-replay/cmsg_diff \
  $(foreach n,$(BENCH_CANARIES),build/bench/canary$(n)/cmsg_parse build/bench/canary$(n)-musl/cmsg_diff)
FZ_PARSER_ONLY += $(foreach n,$(BENCH_CANARIES),bench/canary$(n)-musl)
define BENCH_CANARY
$$(eval $$(call FZ_DEF,bench/canary$(1),$$(FZ_CC_fuzz-fast),$$(FZ_CFLAGS_fuzz-fast) -DCR_CANARY=$(1),$$(FZ_LDFLAGS_fuzz-fast)))
$$(eval $$(call FZ_DEF,bench/canary$(1)-musl,$$(MUSL_CC),-O2 -g -DCR_CANARY=$(1),,$$(FZ_RDRV)))
endef
$(foreach n,$(BENCH_CANARIES),$(eval $(call BENCH_CANARY,$(n))))
FZ_VARIANTS := fuzz fuzz-fast afl afl-cmplog replay coverage musl-replay cc-replay i386-replay \
  $(foreach n,$(BENCH_CANARIES),bench/canary$(n) bench/canary$(n)-musl)
$(foreach v,$(FZ_VARIANTS),$(eval $(call FZ_VARIANT,$(v))))
$(BENCH_C): build/bench/%: bench/%.c build/libcmsgref.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS_CR) $(WARN) $(CFLAGS) -o $@ $< build/libcmsgref.a
bench:
	@$(MAKE) --no-print-directory -k -j2 all build/libcmsgref.so $(BENCH_C) $(ORACLE_SHIM) $(BENCH_FZ) || \
	  echo "bench: WARNING: some products did not build: their figures will be MISSING" >&2
	$(ORACLE_ENV) $(PYTHON) -m bench.run $(BENCH_ARGS)
# Self-tests; each seeded bug fails on the corpus, the clean builds pass.
check-bench: $(BENCH_C) build/libcmsgref.so $(BENCH_FZ)
	$(ORACLE_ENV) $(PYTHON) -m unittest bench.test_bench

# ---- mutants (mutants/README.md) ----
# Not in check (check-mutants is).  MUTANTS_MAX=N MUTANTS_FUNCS="f g"
# MUTANTS_SIDE=cpython|reference|both MUTANTS_PYVER=3.11|3.13 MUTANTS_SEED=N
mutants: build/libcmsgref.so build/cmsgref $(ORACLE_SHIM)
	$(ORACLE_ENV) $(PYTHON) -m mutants $(if $(MUTANTS_MAX),--max $(MUTANTS_MAX)) --funcs "$(MUTANTS_FUNCS)" --side $(or $(MUTANTS_SIDE),both) --version $(or $(MUTANTS_PYVER),3.11) $(if $(MUTANTS_SEED),--seed $(MUTANTS_SEED))
check-mutants:
	$(ORACLE_ENV) $(PYTHON) -m unittest discover -s mutants/tests -t .
