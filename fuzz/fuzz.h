/*
 * fuzz.h - what every fuzz target in fuzz/ shares: the engine entry point's
 * prototype, the invariant checks that trap, and the exact-size heap copy.
 *
 * Targets are engine-neutral: the same file links against libFuzzer, AFL++'s
 * libAFLDriver, the OSS-Fuzz engine or fuzz/replay.c.  A violated invariant
 * prints both operands and the source line on stderr, then executes a trap
 * instruction, which every engine (and ASan's death callback in the replay
 * driver) reports as a crash with this input.  This header is for fuzz
 * drivers only; the library itself never prints or aborts.
 */
#ifndef CR_FUZZ_H
#define CR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checking code: not coverage-instrumented.  Its loops and comparisons
 * give the engine no signal about the library, so tracing them would only
 * slow every run.  Plain where the attribute is unsupported. */
#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(no_sanitize)
#define FZ_NO_COV __attribute__((no_sanitize("coverage")))
#endif
#endif
#ifndef FZ_NO_COV
#define FZ_NO_COV
#endif

/* The entry point every engine calls once per input; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Trap unless cond holds. */
#define FZ_CHECK(cond)                                                         \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                          \
            __builtin_trap();                                                  \
        }                                                                      \
    } while (0)

/* Trap unless a == b, printing both as unsigned 64-bit values. */
#define FZ_CHECK_EQ(a, b)                                                      \
    do {                                                                       \
        unsigned long long fz_a_ = (unsigned long long)(a);                    \
        unsigned long long fz_b_ = (unsigned long long)(b);                    \
        if (fz_a_ != fz_b_) {                                                  \
            fprintf(stderr,                                                    \
                    "%s:%d: invariant failed: %s == %s "                       \
                    "(%llu != %llu)\n",                                        \
                    __FILE__, __LINE__, #a, #b, fz_a_, fz_b_);                 \
            __builtin_trap();                                                  \
        }                                                                      \
    } while (0)

/* A malloc'd copy of data[0, size) in a block of exactly size bytes (one
 * byte when size is 0, never read), so ASan flags a read one past the end.
 * Returns NULL only when malloc fails; the caller frees it. */
static inline unsigned char *fz_exact_copy(const uint8_t *data, size_t size)
{
    unsigned char *p = malloc(size > 0 ? size : 1);

    if (p != NULL && size > 0)
        memcpy(p, data, size);
    return p;
}

#endif /* CR_FUZZ_H */
