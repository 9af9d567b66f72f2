/*
 * test_walk_ilp32.c - the 32-bit glibc models (glibc-i386,
 * glibc-legacy-i386; §3.7): the 12-byte header, CMSG_LEN / CMSG_SPACE
 * with CPython's limits, the spec's crafted cases rewritten for 32 bits
 * (corpus/cmsg_parse/seed-ilp32-*, written by scripts/make-seeds), and
 * the legacy next-header sum wrapping at 2^32 at the buffer's address.
 */
#include <string.h>

#include "cmsgref.h"
#include "crafted.h"
#include "tests.h"

#define G32 CR_LIBC_GLIBC_I386
#define GL32 CR_LIBC_GLIBC_LEGACY_I386

TEST(ilp32_models_have_the_12_byte_header_and_4_byte_alignment)
{
    for (int l = G32; l <= GL32; l++) {
        const struct cr_model *m = cr_model_get((enum cr_libc)l);
        enum cr_libc back = CR_LIBC_COUNT;
        ASSERT_TRUE(m != NULL);
        ASSERT_UEQ(m->hdr_size, 12);
        ASSERT_UEQ(m->len0, 12);
        ASSERT_UEQ(m->align, 4);
        ASSERT_UEQ(m->next_hdr, 12);
        ASSERT_UEQ(m->len_width, 4);
        ASSERT_UEQ(m->level_off, 4);
        ASSERT_UEQ(m->type_off, 8);
        ASSERT_UEQ(m->addr_bits, 32);
        ASSERT_UEQ(m->base_default, CR_BASE_DEFAULT_ILP32);
        ASSERT_EQ(m->sol_socket, 1);
        ASSERT_EQ(m->scm_rights, 1);
        ASSERT_EQ(cr_model_by_name(m->name, &back), 0);
        ASSERT_EQ(back, l);
    }
    ASSERT_EQ(cr_model_get(G32)->next, CR_NEXT_FITS);
    ASSERT_EQ(cr_model_get(GL32)->next, CR_NEXT_LEGACY);
    ASSERT_STREQ(cr_model_get(G32)->name, "glibc-i386");
    ASSERT_STREQ(cr_model_get(GL32)->name, "glibc-legacy-i386");
}

TEST(ilp32_cmsg_len_and_space_match_the_i386_macros_and_cpython_limits)
{
    int64_t r;

    for (int l = G32; l <= GL32; l++) {
        ASSERT_EQ(cr_cmsg_len((enum cr_libc)l, 0, &r), 0);
        ASSERT_EQ(r, 12);
        ASSERT_EQ(cr_cmsg_len((enum cr_libc)l, 4, &r), 0);
        ASSERT_EQ(r, 16);
        ASSERT_EQ(cr_cmsg_space((enum cr_libc)l, 0, &r), 0);
        ASSERT_EQ(r, 12);
        ASSERT_EQ(cr_cmsg_space((enum cr_libc)l, 1, &r), 0);
        ASSERT_EQ(r, 16);
        ASSERT_EQ(cr_cmsg_space((enum cr_libc)l, 4, &r), 0);
        ASSERT_EQ(r, 16);
        ASSERT_EQ(cr_cmsg_space((enum cr_libc)l, 5, &r), 0);
        ASSERT_EQ(r, 20);
        /* CPython: n <= SOCKLEN_T_LIMIT - CMSG_LEN(0) resp. - CMSG_SPACE(1) */
        ASSERT_EQ(cr_cmsg_len((enum cr_libc)l, 2147483635, &r), 0);
        ASSERT_EQ(r, 2147483647);
        ASSERT_EQ(cr_cmsg_len((enum cr_libc)l, 2147483636, &r), CR_ERANGE);
        ASSERT_EQ(cr_cmsg_space((enum cr_libc)l, 2147483631, &r), 0);
        ASSERT_EQ(r, 2147483644);
        ASSERT_EQ(cr_cmsg_space((enum cr_libc)l, 2147483632, &r), CR_ERANGE);
        ASSERT_EQ(cr_cmsg_len((enum cr_libc)l, -1, &r), CR_ERANGE);
        ASSERT_EQ(cr_cmsg_space((enum cr_libc)l, -1, &r), CR_ERANGE);
    }
}

#define KA "(1,1,41424344)"
#define K8 "(1,1,3132333435363738)"

/* What each seed-ilp32-* gives under glibc-i386 and glibc-legacy-i386
 * (NULL: as glibc-i386), and the error path's list under glibc-i386. */
static const struct {
    const char *id;
    const char *g36, *gl;
    int nclose;
    int32_t close[5];
} cases[] = {
    {"ilp32-k01", "[" KA "]", NULL, 1, {0x44434241}},
    {"ilp32-k02", "[(1,1,)]", NULL, 0, {0}},
    {"ilp32-k03", "[(1,1,41)]", NULL, 0, {0}},
    {"ilp32-k04", "[(-1,-1,41424344)]", NULL, 0, {0}},
    {"ilp32-k05a", "[]", NULL, 0, {0}},
    {"ilp32-k05b", "[]", NULL, 0, {0}},
    {"ilp32-k06", "[] +w", NULL, 0, {0}},
    {"ilp32-k07", "[] +w", NULL, 0, {0}},
    {"ilp32-k08",
     "[(1,1,41424344eeeeeeee)] +w",
     NULL,
     2,
     {0x44434241, (int32_t)0xeeeeeeeeu}},
    {"ilp32-k09", "[(1,1,)] +w", NULL, 0, {0}},
    {"ilp32-k10", "[" K8 "] +w", NULL, 2, {0x34333231, 0x38373635}},
    {"ilp32-k11", "[" K8 "] +w", NULL, 2, {0x34333231, 0x38373635}},
    {"ilp32-k13", "[" KA "]", NULL, 1, {0x44434241}},
    {"ilp32-k14", "[" KA ",(1,1,)]", NULL, 1, {0x44434241}},
    {"ilp32-k15", "[(1,1,),(2,2,),(3,3,)]", NULL, 0, {0}},
    {"ilp32-k16", "[" KA ",(2,2,6162636465)]", "[" KA "]", 1, {0x44434241}},
    {"ilp32-k17", "[" KA ",(2,2,61626364)] +w", "[" KA "]", 1, {0x44434241}},
    {"ilp32-k18",
     "[" KA ",(2,3,3132333435363738)] +w",
     "[" KA "]",
     1,
     {0x44434241}},
    {"ilp32-k19", "[" KA ",(2,2,)] +w", "[" KA "]", 1, {0x44434241}},
    {"ilp32-k20", "[" KA "] +w", NULL, 1, {0x44434241}},
    {"ilp32-k21", "[" KA "] +w", NULL, 1, {0x44434241}},
    {"ilp32-k22",
     "[" KA "," K8 "] +w",
     NULL,
     3,
     {0x44434241, 0x34333231, 0x38373635}},
    {"ilp32-k23",
     "[" K8 ",(1,1,000000000000000000)] +w",
     "[" K8 "]",
     4,
     {0x34333231, 0x38373635, 0, 0}},
    {"ilp32-k24", "[" KA ",(41,50,616263)]", "[" KA "]", 1, {0x44434241}},
    {"ilp32-legacy", "[(1,1,),(1,1,)] +w", NULL, 0, {0}},
    {"ilp32-f1",
     "[(1,1,64000000650000006600000067000000)] +w",
     NULL,
     4,
     {100, 101, 102, 103}},
    {"ilp32-f2", "[(1,1,64000000)] +w", NULL, 1, {100}},
    {"ilp32-f3", "[] +w", NULL, 0, {0}},
    {"ilp32-f4",
     "[(1,1,64000000),(1,1,65000000660000007a7a)] +w",
     "[(1,1,64000000)]",
     3,
     {100, 101, 102}},
    {"ilp32-f5", "[(0,99,64000000)] +w", NULL, 0, {0}},
    {"ilp32-f6", "[(1,1,6400000065000000)] +w", NULL, 2, {100, 101}},
    {"ilp32-f7",
     "[(1,1,640000006500000066000000eeeeeeee670000007a7a)] +w",
     NULL,
     5,
     {100, 101, 102, (int32_t)0xeeeeeeeeu, 103}},
    {"ilp32-f8", "[(1,1,64000000650000007a7a7a)] +w", NULL, 2, {100, 101}},
    {"ilp32-f9",
     "[(1,1,64000000),(1,1,65000000660000007a7a),(1,1,6700000068000000)] +w",
     NULL,
     5,
     {100, 101, 102, 103, 104}},
};

TEST(ilp32_crafted_seeds_match_the_table_under_both_32_bit_models)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct crafted c = {cases[i].id, {NULL, NULL, NULL}, 0, {0}};
        unsigned char buf[CRAFTED_MAX];
        char got[512];
        int32_t fds[8];
        size_t n = 0;

        memset(buf, 0, sizeof(buf));
        size_t len = crafted_bytes(&c, buf);
        ASSERT_TRUE(len > 0);
        ASSERT_EQ(crafted_summary(buf, len, G32, got, sizeof(got)), 0);
        ASSERT_STREQ(got, cases[i].g36);
        ASSERT_EQ(crafted_summary(buf, len, GL32, got, sizeof(got)), 0);
        ASSERT_STREQ(got, cases[i].gl ? cases[i].gl : cases[i].g36);
        ASSERT_EQ(cr_close_on_error(buf, len, G32, fds, 8, &n), 0);
        ASSERT_UEQ(n, (size_t)cases[i].nclose);
        for (size_t k = 0; k < n; k++)
            ASSERT_EQ(fds[k], cases[i].close[k]);
    }
}

/* C = 24: an empty item (41, 50), then a header at 12 whose cmsg_len is
 * 0xffff0000: under the 32-bit legacy rule visited iff base >= 2^32 - 12
 * - 0xffff0000 = 0xfff4 (the pointer sum wraps past 2^32). */
static const unsigned char wrap24[24] = {0x0c, 0, 0, 0, 0x29, 0, 0,    0,
                                         0x32, 0, 0, 0, 0,    0, 0xff, 0xff,
                                         0x29, 0, 0, 0, 0x33, 0, 0,    0};

/* C = 40: SCM_RIGHTS 200, 201; then SCM_RIGHTS at 20 with the same
 * length, whose slots up to C hold 202, 203: threshold 2^32 - 20 -
 * 0xffff0000 = 0xffec. */
static const unsigned char wrap40[40] = {
    0x14, 0, 0,    0,    1, 0, 0, 0, 1, 0, 0, 0, 0xc8, 0, 0, 0, 0xc9, 0, 0, 0,
    0,    0, 0xff, 0xff, 1, 0, 0, 0, 1, 0, 0, 0, 0xca, 0, 0, 0, 0xcb, 0, 0, 0};

/* The item count of a 32-bit legacy walk at base (crafted_walk_at). */
#define walk32_at(buf, len, base, w) crafted_walk_at(buf, len, GL32, base, w)

TEST(ilp32_legacy_next_header_wraps_at_2p32_at_the_buffer_address)
{
    struct cr_walk w;

    ASSERT_UEQ(walk32_at(wrap24, 24, 0xfff3, &w), 1);
    ASSERT_EQ(w.warning, 0);
    ASSERT_UEQ(w.base_threshold, 0xfff4);
    ASSERT_EQ(w.why, CR_WHY_LEGACY_OVERRUN);
    ASSERT_UEQ(walk32_at(wrap24, 24, 0xfff4, &w), 2);
    ASSERT_EQ(w.warning, 1);
    ASSERT_EQ(w.stop, CR_STOP_TRUNCATED);
    ASSERT_UEQ(w.base_threshold, 0xfff4);
    /* The default base (0xf7000000) is far above the threshold. */
    ASSERT_UEQ(walk32_at(wrap24, 24, CR_BASE_DEFAULT_ILP32, &w), 2);
    /* The fixed 32-bit rule ignores the base and the next length. */
    for (uint64_t base = 0; base <= 0xfff4; base += 0xfff4) {
        struct cr_item it;
        size_t n = 0;
        ASSERT_EQ(cr_walk_init(&w, wrap24, 24, G32), 0);
        ASSERT_EQ(cr_walk_set_base(&w, base), 0);
        while (cr_walk_next(&w, &it))
            n++;
        ASSERT_UEQ(n, 2);
        ASSERT_UEQ(w.base_threshold, 0);
    }
}

TEST(ilp32_legacy_wrap_changes_items_warning_and_close_list)
{
    struct cr_walk w;
    int32_t fds[8];
    size_t n;
    char out[1024];

    ASSERT_UEQ(walk32_at(wrap40, 40, 0xffeb, &w), 1);
    ASSERT_EQ(w.warning, 0);
    ASSERT_UEQ(walk32_at(wrap40, 40, 0xffec, &w), 2);
    ASSERT_EQ(w.warning, 1);
    ASSERT_EQ(cr_close_on_error_at(wrap40, 40, GL32, 0xffeb, fds, 8, &n), 0);
    ASSERT_UEQ(n, 2);
    ASSERT_EQ(cr_close_on_error_at(wrap40, 40, GL32, 0xffec, fds, 8, &n), 0);
    ASSERT_UEQ(n, 4);
    ASSERT_EQ(fds[2], 202);
    ASSERT_EQ(fds[3], 203);
    ASSERT_EQ(
        cr_json_parse_buf_at(wrap40, 40, GL32, 0xffeb, out, sizeof(out), &n),
        0);
    ASSERT_TRUE(strstr(out, "\"warning\":false,\"close_on_error\":[200,201],"
                            "\"base\":\"0xffeb\",\"base_threshold\":"
                            "\"0xffec\"}") != NULL);
}

TEST(ilp32_legacy_aligned_length_wraps_to_zero_mod_2p32)
{
    /* L_next = 2^32 - 3 aligns to 0: the step passes at any base. */
    static const unsigned char b[24] = {0x0c, 0, 0, 0, 1,    0,    0,    0,
                                        1,    0, 0, 0, 0xfd, 0xff, 0xff, 0xff,
                                        1,    0, 0, 0, 1,    0,    0,    0};
    struct cr_walk w;

    ASSERT_UEQ(walk32_at(b, 24, 0, &w), 2);
    ASSERT_EQ(w.stop, CR_STOP_TRUNCATED);
    ASSERT_UEQ(w.base_threshold, 0);
}

TEST(ilp32_base_stays_below_2p32_and_the_default_makes_room)
{
    static unsigned char buf[64];
    struct cr_walk w;

    ASSERT_EQ(cr_walk_init(&w, buf, 64, GL32), 0);
    ASSERT_UEQ(w.base, CR_BASE_DEFAULT_ILP32);
    ASSERT_EQ(cr_walk_set_base(&w, UINT64_C(0xffffffff) - 32 - 64), 0);
    ASSERT_EQ(cr_walk_set_base(&w, UINT64_C(0xffffffff) - 32 - 63), CR_EINVAL);
    ASSERT_EQ(cr_walk_set_base(&w, CR_BASE_DEFAULT), CR_EINVAL);
    ASSERT_UEQ(cr_base_default(GL32, 64), CR_BASE_DEFAULT_ILP32);
    ASSERT_UEQ(cr_base_default(CR_LIBC_GLIBC_LEGACY, 64), CR_BASE_DEFAULT);
    /* A buffer that would pass 2^32 at the default: the base is lowered. */
    ASSERT_UEQ(cr_base_default(G32, 0x10000000), UINT64_C(0xefffffd0));
    ASSERT_UEQ(cr_base_default((enum cr_libc)CR_LIBC_COUNT, 64), 0);
    /* The longest 32-bit buffer (2^32 - 33 bytes; nothing is read) fits
     * only at base 0. */
    ASSERT_EQ(cr_walk_init(&w, buf, (size_t)UINT64_C(0xffffffdf), G32), 0);
    ASSERT_UEQ(w.base, 0);
    ASSERT_EQ(cr_walk_set_base(&w, 0), 0);
    ASSERT_EQ(cr_walk_set_base(&w, 1), CR_EINVAL);
#if SIZE_MAX > 0xffffffffu
    /* No 32-bit buffer holds 2^32 - 32 bytes (nothing is read). */
    ASSERT_EQ(cr_walk_init(&w, buf, (size_t)UINT64_C(0xffffffe0), G32),
              CR_EINVAL);
    ASSERT_EQ(
        cr_walk_init(&w, buf, (size_t)UINT64_C(0xffffffe0), CR_LIBC_GLIBC), 0);
    ASSERT_UEQ(cr_base_default(G32, (size_t)UINT64_C(0xffffffe0)), 0);
#endif
}

TEST(ilp32_rights_are_level_1_where_darwin_with_the_same_sizes_says_0xffff)
{
    static const unsigned char b[16] = {0x10, 0, 0, 0, 1, 0, 0, 0,
                                        1,    0, 0, 0, 7, 0, 0, 0};
    int32_t fds[2];
    size_t n;

    ASSERT_EQ(cr_close_on_error(b, 16, G32, fds, 2, &n), 0);
    ASSERT_UEQ(n, 1);
    ASSERT_EQ(fds[0], 7);
    ASSERT_EQ(cr_close_on_error(b, 16, CR_LIBC_DARWIN, fds, 2, &n), 0);
    ASSERT_UEQ(n, 0);
}
