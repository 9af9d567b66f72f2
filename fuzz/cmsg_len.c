/*
 * cmsg_len.c - fuzz target: socket.CMSG_LEN() / CMSG_SPACE() (§8) against
 * their limits, plus the model table's name lookup.
 *
 * Input: bytes 0-7 are an int64 n (little-endian, zero-padded if short);
 * byte 8 picks a libc value (values >= CR_LIBC_COUNT must be refused with
 * CR_EMODEL); bytes 9.. are a model name for cr_model_by_name().  Each of
 * n, n +- 1 and the points near SOCKLEN_T_LIMIT (2147483647) that n's low
 * bits select is checked, under every model:
 *  - the accepted arguments form one interval [0, max]: accepted x > 0
 *    implies x - 1 accepted, refused x >= 0 implies x + 1 refused;
 *  - CMSG_LEN(x) - CMSG_LEN(0) == x and CMSG_LEN(x) <= the limit;
 *  - CMSG_SPACE(x) is aligned, covers CMSG_LEN(x), wastes less than one
 *    alignment unit, never decreases and never exceeds the limit;
 *  - the largest accepted CMSG_LEN argument gives exactly the limit, and
 *    the largest CMSG_SPACE argument is LIMIT - CMSG_SPACE(1);
 *  - under the host's model the results equal the host's own macros.
 */
#include <sys/socket.h>

#include "cmsgref.h"
#include "fuzz.h"

#define LIMIT ((int64_t)CR_SOCKLEN_T_LIMIT)

/* Checks both functions at x and their neighbours under model m. */
static void check_at(const struct cr_model *m, int64_t x)
{
    int64_t r = 0, r1 = 0, s = 0, s1 = 0;
    int okl = cr_cmsg_len(m->libc, x, &r) == 0;
    int oks = cr_cmsg_space(m->libc, x, &s) == 0;
    int okl1 = x < INT64_MAX && cr_cmsg_len(m->libc, x + 1, &r1) == 0;
    int oks1 = x < INT64_MAX && cr_cmsg_space(m->libc, x + 1, &s1) == 0;

    FZ_CHECK(!okl || (x >= 0 && r - (int64_t)m->len0 == x && r <= LIMIT));
    FZ_CHECK(!okl1 || okl || x < 0);   /* accepted set is an interval */
    FZ_CHECK(!oks1 || oks || x < 0);
    FZ_CHECK(!oks || okl);             /* SPACE's range is inside LEN's */
    if (okl && !okl1)                  /* tight: max CMSG_LEN hits the limit */
        FZ_CHECK_EQ(r, LIMIT);
    if (oks) {
        FZ_CHECK(x >= 0 && s <= LIMIT && s % (int64_t)m->align == 0);
        FZ_CHECK(s >= r && s - x >= (int64_t)m->next_hdr);
        FZ_CHECK(s - x < (int64_t)(m->next_hdr + m->align));
        FZ_CHECK(!oks1 || s1 >= s);
        /* the bound is LIMIT - CMSG_SPACE(1), exactly (§8) */
        if (!oks1 && x < INT64_MAX) {
            FZ_CHECK_EQ(cr_cmsg_space(m->libc, 1, &s1), 0);
            FZ_CHECK(x + s1 <= LIMIT && x + 1 + s1 > LIMIT);
        }
    }
    if (m->libc == cr_model_host() && okl)
        FZ_CHECK_EQ(CMSG_LEN((size_t)x), r);
    if (m->libc == cr_model_host() && oks)
        FZ_CHECK_EQ(CMSG_SPACE((size_t)x), s);
}

/* cr_model_by_name() on an arbitrary name agrees with the table. */
static void check_name(const uint8_t *p, size_t n)
{
    char name[32];
    enum cr_libc l = CR_LIBC_COUNT;
    const struct cr_model *m;

    n = n < sizeof(name) - 1 ? n : sizeof(name) - 1;
    memcpy(name, p, n);
    name[n] = '\0';
    if (cr_model_by_name(name, &l) != 0) {
        FZ_CHECK_EQ(l, CR_LIBC_COUNT); /* not written on failure */
        return;
    }
    m = cr_model_get(l);
    FZ_CHECK(m != NULL);
    FZ_CHECK(strcmp(m->name, name) == 0 || strcmp(name, "legacy-glibc") == 0);
}

/* One input: see the file comment.  Returns 0; traps on a violation. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t raw = 0;
    int64_t n, r;
    unsigned sel = size > 8 ? data[8] : 0;

    memcpy(&raw, data, size < 8 ? size : 8);
    n = (int64_t)raw;
    if (sel >= CR_LIBC_COUNT) {
        FZ_CHECK_EQ(cr_cmsg_len((enum cr_libc)sel, n, &r), CR_EMODEL);
        FZ_CHECK_EQ(cr_cmsg_space((enum cr_libc)sel, n, &r), CR_EMODEL);
        FZ_CHECK(cr_model_get((enum cr_libc)sel) == NULL);
    }
    FZ_CHECK_EQ(cr_model_by_name(NULL, NULL), CR_EMODEL);
    check_name(data + (size > 9 ? 9 : size), size > 9 ? size - 9 : 0);
    for (int l = 0; l < CR_LIBC_COUNT; l++) {
        const struct cr_model *m = cr_model_get((enum cr_libc)l);
        FZ_CHECK(m != NULL && (int)m->libc == l);
        check_at(m, n);
        check_at(m, n == INT64_MIN ? n : n - 1);
        check_at(m, LIMIT - (int64_t)(raw & 0x3f));
        check_at(m, (int64_t)(raw & 0x3f));
    }
    return 0;
}
