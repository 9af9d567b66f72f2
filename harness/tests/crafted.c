/*
 * crafted.c - builders and expectations for the spec's crafted buffers.
 * Notation follows §12: H(L, lv, ty; payload) is a 16-byte glibc header
 * then the payload then 0xEE filler to a multiple of 8; hdr() the bare
 * header; fd() 4-byte little-endian ints; "/C" a cut to C bytes.
 */
#include <stdio.h>
#include <string.h>

#include "cmsgref.h"
#include "crafted.h"

struct bb {
    unsigned char *b;
    size_t n;
};

static void put(struct bb *b, const void *p, size_t n)
{
    if (b->n + n <= CRAFTED_MAX) {
        memcpy(b->b + b->n, p, n);
        b->n += n;
    }
}

static void le(struct bb *b, uint64_t v, int width)
{
    for (int i = 0; i < width; i++) {
        unsigned char c = (unsigned char)(v >> (8 * i));
        put(b, &c, 1);
    }
}

static void hdr(struct bb *b, uint64_t L, uint32_t lv, uint32_t ty)
{
    le(b, L, 8);
    le(b, lv, 4);
    le(b, ty, 4);
}

static void H(struct bb *b, uint64_t L, uint32_t lv, uint32_t ty,
              const char *payload, size_t n)
{
    static const unsigned char ee = 0xEE;

    hdr(b, L, lv, ty);
    put(b, payload, n);
    while (b->n % 8 != 0)
        put(b, &ee, 1);
}

static void fd(struct bb *b, int label)
{
    le(b, (uint64_t)(CRAFTED_FD_A + label), 4);
}

static void ee(struct bb *b, int count)
{
    for (int i = 0; i < count; i++)
        le(b, 0xEE, 1);
}

#define BB struct bb b = { buf, 0 }
#define A4 "ABCD", 4
#define P8 "12345678", 8
#define FD_A "\x64\0\0\0", 4 /* fd(a) as a payload: the int 100 */

static size_t k01(unsigned char *buf) { BB; H(&b, 20, 1, 1, A4); return 24; }
static size_t k02(unsigned char *buf) { BB; H(&b, 16, 1, 1, "", 0); return 16; }
static size_t k03(unsigned char *buf) { BB; H(&b, 17, 1, 1, "A", 1); return 24; }
static size_t k04(unsigned char *buf)
{
    BB;
    H(&b, 20, 0xFFFFFFFFu, 0xFFFFFFFFu, A4);
    return 24;
}
static size_t k05a(unsigned char *buf) { BB; le(&b, 16, 8); return 8; }
static size_t k05b(unsigned char *buf) { BB; H(&b, 20, 1, 1, A4); return 15; }
static size_t k06(unsigned char *buf) { BB; H(&b, 0, 1, 1, A4); return 24; }
static size_t k07(unsigned char *buf) { BB; H(&b, 15, 1, 1, A4); return 24; }
static size_t k08(unsigned char *buf)
{
    BB;
    H(&b, 40, 1, 1, "ABCD\xee\xee\xee\xee", 8);
    return 24;
}
static size_t k09(unsigned char *buf) { BB; H(&b, 20, 1, 1, A4); return 16; }
static size_t k10(unsigned char *buf) { BB; H(&b, UINT64_MAX, 1, 1, P8); return 24; }
static size_t k11(unsigned char *buf) { BB; H(&b, 1ull << 63, 1, 1, P8); return 24; }
static size_t k12(unsigned char *buf)
{
    BB;
    H(&b, (1ull << 32) + 20, 1, 1, A4);
    return 24;
}
static size_t k13(unsigned char *buf)
{
    BB;
    H(&b, 20, 1, 1, A4);
    hdr(&b, 16, 1, 1);
    return 32;
}
static size_t k14(unsigned char *buf)
{
    BB;
    H(&b, 20, 1, 1, A4);
    H(&b, 16, 1, 1, "", 0);
    return 40;
}
static size_t k15(unsigned char *buf)
{
    BB;
    H(&b, 16, 1, 1, "", 0);
    H(&b, 16, 2, 2, "", 0);
    H(&b, 16, 3, 3, "", 0);
    return 48;
}
static size_t k16_17(unsigned char *buf)
{
    BB;
    H(&b, 20, 1, 1, A4);
    H(&b, 20, 2, 2, A4);
    return b.n;
}
static size_t k16(unsigned char *buf) { k16_17(buf); return 44; }
static size_t k17(unsigned char *buf) { k16_17(buf); return 43; }
static size_t k18(unsigned char *buf)
{
    BB;
    H(&b, 20, 1, 1, A4);
    H(&b, 28, 2, 3, P8);
    return 48;
}
static size_t k19(unsigned char *buf)
{
    BB;
    H(&b, 20, 1, 1, A4);
    hdr(&b, 40, 2, 2);
    return 40;
}
static size_t k20(unsigned char *buf)
{
    BB;
    H(&b, 20, 1, 1, A4);
    hdr(&b, 0, 1, 1);
    return 40;
}
static size_t k21(unsigned char *buf)
{
    BB;
    H(&b, 20, 1, 1, A4);
    hdr(&b, 8, 1, 1);
    H(&b, 20, 1, 1, A4);
    return 64;
}
static size_t k22(unsigned char *buf)
{
    BB;
    H(&b, 20, 1, 1, A4);
    hdr(&b, UINT64_MAX - 7, 1, 1);
    put(&b, P8);
    return 48;
}
static size_t k23(unsigned char *buf)
{
    BB;
    H(&b, 24, 1, 1, P8);
    hdr(&b, 0x0000020000000100ull, 1, 1);
    put(&b, "\0\0\0\0\0\0\0\0\0", 9);
    return 49;
}
static size_t k24(unsigned char *buf)
{
    BB;
    H(&b, 20, 1, 1, A4);
    H(&b, 21, 41, 50, "abcde", 5);
    return 45;
}
static size_t f1(unsigned char *buf)
{
    BB;
    hdr(&b, 36, 1, 1);
    for (int i = 0; i < 4; i++)
        fd(&b, i);
    return 32;
}
static size_t f2(unsigned char *buf)
{
    BB;
    H(&b, 20, 1, 1, FD_A);
    hdr(&b, 8, 1, 1);
    return 40;
}
static size_t f3(unsigned char *buf)
{
    BB;
    hdr(&b, 8, 1, 1);
    H(&b, 20, 1, 1, FD_A);
    return 40;
}
static size_t f4(unsigned char *buf)
{
    BB;
    H(&b, 20, 1, 1, FD_A);
    hdr(&b, 28, 1, 1);
    fd(&b, 1);
    fd(&b, 2);
    put(&b, "\0\0", 2);
    return 50;
}
static size_t f5(unsigned char *buf)
{
    BB;
    H(&b, 20, 0, 99, FD_A);
    hdr(&b, 8, 1, 1);
    return 40;
}
static size_t f6(unsigned char *buf)
{
    BB;
    hdr(&b, 36, 1, 1);
    fd(&b, 0);
    fd(&b, 1);
    return 24;
}
static size_t f7(unsigned char *buf)
{
    BB;
    hdr(&b, 40, 1, 1);
    for (int i = 0; i < 3; i++)
        fd(&b, i);
    ee(&b, 4);
    fd(&b, 3);
    put(&b, "\0\0", 2);
    return 38;
}
static size_t f8(unsigned char *buf)
{
    BB;
    hdr(&b, 28, 1, 1);
    for (int i = 0; i < 4; i++)
        fd(&b, i);
    hdr(&b, 8, 1, 1);
    return 48;
}
static size_t f9(unsigned char *buf)
{
    BB;
    H(&b, 20, 1, 1, FD_A);
    hdr(&b, 26, 1, 1);
    fd(&b, 1);
    fd(&b, 2);
    put(&b, "zz", 2);
    ee(&b, 6);
    hdr(&b, 24, 1, 1);
    fd(&b, 3);
    fd(&b, 4);
    hdr(&b, 9, 1, 1);
    return 96;
}

#define KA "(1,1,41424344)"
#define K8 "(1,1,3132333435363738)"
#define EEI ((int32_t)0xEEEEEEEEu)

static const struct crafted cases[] = {
    { "K01", k01, { "[" KA "]", NULL, NULL }, 0, { 0 } },
    { "K02", k02, { "[(1,1,)]", NULL, NULL }, 0, { 0 } },
    { "K03", k03, { "[(1,1,41)]", NULL, NULL }, 0, { 0 } },
    { "K04", k04, { "[(-1,-1,41424344)]", NULL, NULL }, 0, { 0 } },
    { "K05a", k05a, { "[]", NULL, NULL }, 0, { 0 } },
    { "K05b", k05b, { "[]", NULL, NULL }, 0, { 0 } },
    { "K06", k06, { "[] +w", NULL, NULL }, 0, { 0 } },
    { "K07", k07, { "[] +w", NULL, NULL }, 0, { 0 } },
    { "K08", k08, { "[(1,1,41424344eeeeeeee)] +w", NULL, NULL }, 0, { 0 } },
    { "K09", k09, { "[(1,1,)] +w", NULL, NULL }, 0, { 0 } },
    { "K10", k10, { "[" K8 "] +w", NULL, NULL }, 0, { 0 } },
    { "K11", k11, { "[" K8 "] +w", NULL, "[] +w" }, 0, { 0 } },
    { "K12", k12, { "[(1,1,41424344eeeeeeee)] +w", NULL, "[" KA "]" }, 0,
      { 0 } },
    { "K13", k13, { "[" KA "]", NULL, NULL }, 0, { 0 } },
    { "K14", k14, { "[" KA ",(1,1,)]", NULL, "[" KA "]" }, 0, { 0 } },
    { "K15", k15, { "[(1,1,),(2,2,),(3,3,)]", NULL, "[(1,1,),(2,2,)]" }, 0,
      { 0 } },
    { "K16", k16, { "[" KA ",(2,2,41424344)]", "[" KA "]", NULL }, 0, { 0 } },
    { "K17", k17, { "[" KA ",(2,2,414243)] +w", "[" KA "]", NULL }, 0,
      { 0 } },
    { "K18", k18, { "[" KA ",(2,3,3132333435363738)] +w", "[" KA "]", NULL },
      0, { 0 } },
    { "K19", k19, { "[" KA ",(2,2,)] +w", "[" KA "]", "[" KA "]" }, 0,
      { 0 } },
    { "K20", k20, { "[" KA "] +w", NULL, "[" KA "]" }, 0, { 0 } },
    { "K21", k21, { "[" KA "] +w", NULL, NULL }, 0, { 0 } },
    { "K22", k22, { "[" KA "," K8 "] +w", NULL, NULL }, 0, { 0 } },
    { "K23", k23, { "[" K8 ",(1,1,000000000000000000)] +w", "[" K8 "]",
                    NULL }, 0, { 0 } },
    { "K24", k24, { "[" KA ",(41,50,6162636465)]", "[" KA "]", NULL }, 0,
      { 0 } },
    { "F1", f1, { "[(1,1,64000000650000006600000067000000)] +w", NULL, NULL },
      4, { 100, 101, 102, 103 } },
    { "F2", f2, { "[(1,1,64000000)] +w", NULL, "[(1,1,64000000)]" }, 1,
      { 100 } },
    { "F3", f3, { "[] +w", NULL, NULL }, 0, { 0 } },
    { "F4", f4, { "[(1,1,64000000),(1,1,65000000660000000000)] +w",
                  "[(1,1,64000000)]", NULL }, 3, { 100, 101, 102 } },
    { "F5", f5, { "[(0,99,64000000)] +w", NULL, "[(0,99,64000000)]" }, 0, { 0 } },
    { "F6", f6, { "[(1,1,6400000065000000)] +w", NULL, NULL }, 2,
      { 100, 101 } },
    { "F7", f7, { "[(1,1,640000006500000066000000eeeeeeee"
                  "670000000000)] +w", NULL, NULL }, 5,
      { 100, 101, 102, EEI, 103 } },
    { "F8", f8, { "[(1,1,640000006500000066000000)] +w", NULL,
                  "[(1,1,640000006500000066000000)]" }, 3,
      { 100, 101, 102 } },
    { "F9", f9, { "[(1,1,64000000),(1,1,65000000660000007a7a),"
                  "(1,1,6700000068000000)] +w", NULL,
                  "[(1,1,64000000),(1,1,65000000660000007a7a),"
                  "(1,1,6700000068000000)]" }, 5,
      { 100, 101, 102, 103, 104 } },
};

const struct crafted *crafted_cases(size_t *ret_n)
{
    *ret_n = sizeof(cases) / sizeof(cases[0]);
    return cases;
}

int crafted_summary(const unsigned char *buf, size_t len, int libc,
                    char *out, size_t cap)
{
    struct cr_walk w;
    struct cr_item it;
    size_t n = 0;
    int rc = cr_walk_init(&w, buf, len, (enum cr_libc)libc);

#define EMIT(...)                                                       \
    do {                                                                \
        int k_ = snprintf(out + n, n < cap ? cap - n : 0, __VA_ARGS__); \
        n += (size_t)k_;                                                \
    } while (0)
    if (rc < 0)
        return rc;
    EMIT("[");
    while (cr_walk_next(&w, &it)) {
        EMIT("%s(%d,%d,", w.nitems > 1 ? "," : "", it.level, it.type);
        for (size_t i = 0; i < it.data_len; i++)
            EMIT("%02x", buf[it.data_off + i]);
        EMIT(")");
    }
    EMIT("]%s", w.warning ? " +w" : "");
#undef EMIT
    return n < cap ? 0 : CR_ENOSPC;
}
