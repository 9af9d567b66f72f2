/*
 * tests.h - the one test runner's registration and assertion macros.
 *
 * TEST(name) defines and registers a test; the runner (runner.c) runs every
 * registered test (or those whose name contains argv[1]), checks the fd
 * table is unchanged around each, and ends with "N passed, N failed".
 * Assertions print both operands and return from the test on failure.
 */
#ifndef CR_TESTS_H
#define CR_TESTS_H

#include <stdio.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, const char *file, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 1 if the current test already failed. */
int test_failed(void);

#define TEST(name)                                                             \
    static void test_##name(void);                                             \
    __attribute__((constructor)) static void reg_##name(void)                  \
    {                                                                          \
        test_register(#name, __FILE__, test_##name);                           \
    }                                                                          \
    static void test_##name(void)

#define ASSERT_CMP(a, op, b, fmt, T)                                           \
    do {                                                                       \
        T a_ = (T)(a), b_ = (T)(b);                                            \
        if (!(a_ op b_)) {                                                     \
            test_fail(__FILE__, __LINE__, "%s %s %s: " fmt " vs " fmt, #a,     \
                      #op, #b, a_, b_);                                        \
            return;                                                            \
        }                                                                      \
    } while (0)

#define ASSERT_EQ(a, b) ASSERT_CMP(a, ==, b, "%lld", long long)
#define ASSERT_NE(a, b) ASSERT_CMP(a, !=, b, "%lld", long long)
#define ASSERT_GE(a, b) ASSERT_CMP(a, >=, b, "%lld", long long)
#define ASSERT_LE(a, b) ASSERT_CMP(a, <=, b, "%lld", long long)
#define ASSERT_UEQ(a, b) ASSERT_CMP(a, ==, b, "%llu", unsigned long long)
#define ASSERT_TRUE(c) ASSERT_EQ(!!(c), 1)
#define ASSERT_STREQ(a, b)                                                     \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                 \
            test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a,    \
                      #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");             \
            return;                                                            \
        }                                                                      \
    } while (0)
#define ASSERT_MEMEQ(a, b, n)                                                  \
    do {                                                                       \
        if (memcmp((a), (b), (n)) != 0) {                                      \
            test_fail(__FILE__, __LINE__, "%s == %s over %zu bytes", #a, #b,   \
                      (size_t)(n));                                            \
            return;                                                            \
        }                                                                      \
    } while (0)

#endif /* CR_TESTS_H */
