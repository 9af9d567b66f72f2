/*
 * internal.h - helpers shared by the library's .c files; not installed.
 *
 * Byte loads never cast into the control buffer (it need not be aligned)
 * and every length sum goes through add_overflows(), so a length field is
 * never used in arithmetic before it is checked (glibc BZ#28846's lesson).
 */
#ifndef CR_INTERNAL_H
#define CR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* 1 if a + b does not fit a size_t (then *sum is unspecified), else 0. */
static inline int add_overflows(size_t a, size_t b, size_t *sum)
{
    return __builtin_add_overflow(a, b, sum);
}

/* Little-endian unsigned load of width 4 or 8 bytes from p. */
static inline uint64_t load_le(const unsigned char *p, unsigned width)
{
    uint64_t v = 0;
    for (unsigned i = width; i > 0; i--)
        v = (v << 8) | p[i - 1];
    return v;
}

/* Little-endian signed 32-bit load: how x86-64 and arm64 read an int. */
static inline int32_t load_i32(const unsigned char *p)
{
    return (int32_t)(uint32_t)load_le(p, 4);
}

#endif /* CR_INTERNAL_H */
