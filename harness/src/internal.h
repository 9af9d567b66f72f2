/*
 * internal.h - helpers shared by the library's .c files; not installed.
 * The other internal headers name the file whose functions they declare
 * (pyerr.h, sock.h, walk.h) and mark them CR_HIDDEN.
 *
 * Byte loads never cast into the control buffer (it need not be aligned)
 * and every length sum goes through add_overflows(), so a length field is
 * never used in arithmetic before it is checked (glibc BZ#28846's lesson).
 */
#ifndef CR_INTERNAL_H
#define CR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* A function shared between the library's files but not exported from
 * the shared library. */
#define CR_HIDDEN __attribute__((visibility("hidden")))

/* 1 if a + b does not fit a size_t (then *sum is unspecified), else 0. */
static inline int add_overflows(size_t a, size_t b, size_t *sum)
{
    return __builtin_add_overflow(a, b, sum);
}

/* Little-endian unsigned 32-bit load from p.  Straight-line on purpose:
 * a byte loop costs one traced comparison a byte in the fuzz builds. */
static inline uint32_t load_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* Little-endian unsigned load of width 4 or 8 bytes from p (the only
 * widths a model has: cmsghdr.cmsg_len is a size_t or a socklen_t). */
static inline uint64_t load_le(const unsigned char *p, unsigned width)
{
    uint64_t v = load_le32(p);

    if (width == 8)
        v |= (uint64_t)load_le32(p + 4) << 32;
    return v;
}

/* Little-endian signed 32-bit load: how x86-64 and arm64 read an int. */
static inline int32_t load_i32(const unsigned char *p)
{
    return (int32_t)load_le32(p);
}

#endif /* CR_INTERNAL_H */
