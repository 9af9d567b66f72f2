/*
 * test_walk.c - the walk (§2, §3, §4) on the spec's crafted buffers and on
 * the boundaries each rule names, under every libc model.
 */
#include <stdlib.h>

#include "cmsgref.h"
#include "crafted.h"
#include "tests.h"

static const char *model_names[3] = {"glibc", "glibc-legacy", "musl"};

TEST(crafted_buffers_match_spec_table_under_glibc_legacy_and_musl)
{
    size_t n;
    const struct crafted *cs = crafted_cases(&n);

    for (size_t i = 0; i < n; i++) {
        unsigned char buf[CRAFTED_MAX];
        size_t len = 0;
        if (crafted_load(&cs[i], buf, sizeof(buf), &len) < 0) {
            test_fail(__FILE__, __LINE__,
                      "%s: no readable seed file "
                      "corpus/cmsg_parse/seed-%s-*",
                      cs[i].id, cs[i].id);
            continue;
        }
        for (int m = 0; m < 3; m++) {
            char got[512];
            const char *want =
                cs[i].expect[m] ? cs[i].expect[m] : cs[i].expect[0];
            ASSERT_EQ(crafted_summary(buf, len, m, got, sizeof(got)), 0);
            if (strcmp(got, want) != 0) {
                test_fail(__FILE__, __LINE__, "%s under %s: got %s, want %s",
                          cs[i].id, model_names[m], got, want);
            }
        }
    }
}

TEST(error_path_closes_every_whole_int_of_visited_scm_rights_items)
{
    size_t n;
    const struct crafted *cs = crafted_cases(&n);

    for (size_t i = 0; i < n; i++) {
        unsigned char buf[CRAFTED_MAX];
        int32_t fds[64];
        size_t count = 99;
        size_t len = crafted_bytes(&cs[i], buf);

        if (cs[i].id[0] != 'F')
            continue;
        ASSERT_EQ(cr_close_on_error(buf, len, CR_LIBC_GLIBC, fds, 64, &count),
                  0);
        if (count != (size_t)cs[i].nclose ||
            memcmp(fds, cs[i].close, count * sizeof(int32_t)) != 0) {
            test_fail(__FILE__, __LINE__, "%s: %zu fds closed, want %d",
                      cs[i].id, count, cs[i].nclose);
        }
    }
}

TEST(close_on_error_reports_needed_count_when_capacity_is_short)
{
    unsigned char buf[48] = {0};
    int32_t fds[1];
    size_t count = 0;

    buf[0] = 28; /* hdr(28,1,1) + 3 ints */
    buf[8] = 1;
    buf[12] = 1;
    ASSERT_EQ(cr_close_on_error(buf, 28, CR_LIBC_GLIBC, fds, 1, &count),
              CR_ENOSPC);
    ASSERT_EQ(count, 3);
    ASSERT_EQ(cr_close_on_error(buf, 28, CR_LIBC_GLIBC, NULL, 0, &count),
              CR_ENOSPC);
    ASSERT_EQ(count, 3);
    /* A NULL fds only counts, whatever cap says. */
    count = 0;
    ASSERT_EQ(cr_close_on_error(buf, 28, CR_LIBC_GLIBC, NULL, 8, &count),
              CR_ENOSPC);
    ASSERT_EQ(count, 3);
}

/* Writes a glibc header at p. */
static void put_hdr(unsigned char *p, uint64_t L, int32_t lv, int32_t ty)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(L >> (8 * i));
    memcpy(p + 8, &lv, 4);
    memcpy(p + 12, &ty, 4);
}

TEST(empty_buffer_yields_no_items_and_no_warning_in_every_model)
{
    for (int m = 0; m < CR_LIBC_COUNT; m++) {
        struct cr_walk w;
        struct cr_item it;
        ASSERT_EQ(cr_walk_init(&w, NULL, 0, (enum cr_libc)m), 0);
        ASSERT_EQ(cr_walk_next(&w, &it), 0);
        ASSERT_EQ(w.warning, 0);
        ASSERT_EQ(w.stop, CR_STOP_END);
    }
}

TEST(buffer_shorter_than_a_header_yields_nothing_and_no_warning)
{
    unsigned char buf[16];

    put_hdr(buf, 20, 1, 1);
    for (size_t len = 1; len < 16; len++) {
        struct cr_walk w;
        struct cr_item it;
        ASSERT_EQ(cr_walk_init(&w, buf, len, CR_LIBC_GLIBC), 0);
        ASSERT_EQ(cr_walk_next(&w, &it), 0);
        ASSERT_EQ(w.warning, 0);
    }
}

TEST(truncated_item_returned_with_one_warning)
{
    unsigned char buf[24];
    struct cr_walk w;
    struct cr_item it;

    memset(buf, 0xEE, sizeof(buf));
    put_hdr(buf, 40, 1, 1);
    ASSERT_EQ(cr_walk_init(&w, buf, 24, CR_LIBC_GLIBC), 0);
    ASSERT_EQ(cr_walk_next(&w, &it), 1);
    ASSERT_EQ(it.status, CR_STATUS_TRUNCATED);
    ASSERT_EQ(it.data_off, 16);
    ASSERT_EQ(it.data_len, 8);
    ASSERT_EQ(cr_walk_next(&w, &it), 0);
    ASSERT_EQ(w.stop, CR_STOP_TRUNCATED);
    ASSERT_EQ(w.warning, 1);
    ASSERT_EQ(w.nitems, 1);
    /* Once ended, the walk stays ended. */
    ASSERT_EQ(cr_walk_next(&w, &it), 0);
}

TEST(malformed_header_is_dropped_and_earlier_items_kept)
{
    unsigned char buf[40];
    struct cr_walk w;
    struct cr_item it;

    memset(buf, 0, sizeof(buf));
    put_hdr(buf, 20, 1, 1);
    put_hdr(buf + 24, 15, 1, 1);
    ASSERT_EQ(cr_walk_init(&w, buf, 40, CR_LIBC_GLIBC), 0);
    ASSERT_EQ(cr_walk_next(&w, &it), 1);
    ASSERT_EQ(it.status, CR_STATUS_OK);
    ASSERT_EQ(cr_walk_next(&w, &it), 0);
    ASSERT_EQ(w.stop, CR_STOP_MALFORMED);
    ASSERT_EQ(w.stop_offset, 24);
    ASSERT_EQ(w.nitems, 1);
}

TEST(padding_after_ok_item_is_never_data)
{
    unsigned char buf[24];
    struct cr_walk w;
    struct cr_item it;

    memset(buf, 0xEE, sizeof(buf));
    put_hdr(buf, 17, 1, 1);
    ASSERT_EQ(cr_walk_init(&w, buf, 24, CR_LIBC_GLIBC), 0);
    ASSERT_EQ(cr_walk_next(&w, &it), 1);
    ASSERT_EQ(it.data_len, 1);
}

TEST(length_near_two_to_the_64_is_truncated_not_wrapped)
{
    unsigned char buf[48];

    for (uint64_t d = 0; d < 16; d++) {
        struct cr_walk w;
        struct cr_item it;
        memset(buf, 0, sizeof(buf));
        put_hdr(buf, 20, 1, 1);
        put_hdr(buf + 24, UINT64_MAX - d, 1, 1);
        for (int m = 0; m < 2; m++) {
            ASSERT_EQ(cr_walk_init(&w, buf, 48, (enum cr_libc)m), 0);
            while (cr_walk_next(&w, &it))
                ASSERT_LE(it.data_off + it.data_len, 48);
            ASSERT_LE(w.nitems, 2);
        }
    }
}

TEST(legacy_glibc_follows_align_wrap_where_the_new_rule_does_not_care)
{
    /* K22's cousin: L_next in [2^64-7, 2^64-1] aligns to 0 in legacy glibc,
     * so the next header is visited in both models and is truncated. */
    unsigned char buf[48];
    struct cr_walk w;
    struct cr_item it;

    memset(buf, 0, sizeof(buf));
    put_hdr(buf, 20, 1, 1);
    put_hdr(buf + 24, UINT64_MAX - 3, 1, 1);
    ASSERT_EQ(cr_walk_init(&w, buf, 48, CR_LIBC_GLIBC_LEGACY), 0);
    ASSERT_EQ(cr_walk_next(&w, &it), 1);
    ASSERT_EQ(cr_walk_next(&w, &it), 1);
    ASSERT_EQ(it.status, CR_STATUS_TRUNCATED);
    ASSERT_EQ(w.warning, 1);
}

TEST(freebsd_short_header_between_12_and_16_bytes_warns)
{
    unsigned char buf[16] = {16, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0};

    for (size_t len = 0; len < 16; len++) {
        struct cr_walk w;
        struct cr_item it;
        ASSERT_EQ(cr_walk_init(&w, buf, len, CR_LIBC_FREEBSD), 0);
        ASSERT_EQ(cr_walk_next(&w, &it), 0);
        ASSERT_EQ(w.warning, len >= 12);
    }
}

TEST(freebsd_and_darwin_read_32_bit_length_level_type_layout)
{
    /* len 20, level SOL_SOCKET (0xffff), type 1, then 4 pad bytes, fd 7 */
    unsigned char fb[24] = {20, 0, 0,    0,    0xff, 0xff, 0, 0, 1, 0,
                            0,  0, 0xEE, 0xEE, 0xEE, 0xEE, 7, 0, 0, 0};
    unsigned char mac[16] = {16, 0, 0, 0, 0xff, 0xff, 0, 0,
                             1,  0, 0, 0, 7,    0,    0, 0};
    struct cr_walk w;
    struct cr_item it;

    ASSERT_EQ(cr_walk_init(&w, fb, 24, CR_LIBC_FREEBSD), 0);
    ASSERT_EQ(cr_walk_next(&w, &it), 1);
    ASSERT_EQ(it.level, 0xffff);
    ASSERT_EQ(it.data_off, 16);
    ASSERT_EQ(it.data_len, 4);
    ASSERT_EQ(cr_item_fd_count(w.model, &it), 1);
    ASSERT_EQ(cr_item_fd_at(fb, &it, 0), 7);
    ASSERT_EQ(cr_walk_init(&w, mac, 16, CR_LIBC_DARWIN), 0);
    ASSERT_EQ(cr_walk_next(&w, &it), 1);
    ASSERT_EQ(it.data_off, 12);
    ASSERT_EQ(it.data_len, 4);
    ASSERT_EQ(cr_item_fd_at(mac, &it, 0), 7);
    ASSERT_EQ(cr_walk_next(&w, &it), 0);
    ASSERT_EQ(w.warning, 0);
}

TEST(darwin_twelve_byte_header_fits_where_glibc_sees_none)
{
    unsigned char buf[12] = {12, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0};
    struct cr_walk w;
    struct cr_item it;

    ASSERT_EQ(cr_walk_init(&w, buf, 12, CR_LIBC_DARWIN), 0);
    ASSERT_EQ(cr_walk_next(&w, &it), 1);
    ASSERT_EQ(it.data_len, 0);
    ASSERT_EQ(cr_walk_init(&w, buf, 12, CR_LIBC_GLIBC), 0);
    ASSERT_EQ(cr_walk_next(&w, &it), 0);
    ASSERT_EQ(w.warning, 0);
}

TEST(every_ok_step_advances_so_item_count_is_bounded)
{
    /* 4096 bytes of bare 16-byte headers: 256 items, no more. */
    size_t len = 4096;
    unsigned char *buf = calloc(1, len);
    struct cr_walk w;
    struct cr_item it;

    ASSERT_TRUE(buf != NULL);
    for (size_t off = 0; off < len; off += 16)
        put_hdr(buf + off, 16, 1, 2);
    cr_walk_init(&w, buf, len, CR_LIBC_GLIBC);
    while (cr_walk_next(&w, &it))
        ;
    free(buf);
    ASSERT_EQ(w.nitems, 256);
    ASSERT_EQ(w.warning, 0);
}

TEST(walk_rejects_unknown_model_and_null_buffer)
{
    struct cr_walk w;

    ASSERT_EQ(cr_walk_init(&w, "x", 1, (enum cr_libc)CR_LIBC_COUNT), CR_EMODEL);
    ASSERT_EQ(cr_walk_init(&w, NULL, 1, CR_LIBC_GLIBC), CR_EINVAL);
    ASSERT_EQ(cr_walk_init(NULL, "x", 1, CR_LIBC_GLIBC), CR_EINVAL);
}

TEST(model_names_round_trip_and_unknown_is_rejected)
{
    enum cr_libc l = CR_LIBC_GLIBC;

    for (int m = 0; m < CR_LIBC_COUNT; m++) {
        ASSERT_EQ(cr_model_by_name(cr_model_get((enum cr_libc)m)->name, &l), 0);
        ASSERT_EQ(l, m);
    }
    ASSERT_EQ(cr_model_by_name("legacy-glibc", &l), 0);
    ASSERT_EQ(l, CR_LIBC_GLIBC_LEGACY);
    ASSERT_EQ(cr_model_by_name("uclibc", &l), CR_EMODEL);
    ASSERT_EQ(cr_model_host(), CR_LIBC_GLIBC);
    ASSERT_TRUE(cr_model_get((enum cr_libc) - 1) == NULL);
}

TEST(walk_records_why_it_stopped)
{
    static const struct {
        const char *id;
        int libc;
        enum cr_why why;
    } want[] = {
        {"K01", CR_LIBC_GLIBC, CR_WHY_NO_ROOM},
        {"K05a", CR_LIBC_GLIBC, CR_WHY_NO_FIRST},
        {"K06", CR_LIBC_GLIBC, CR_WHY_LEN_TOO_SMALL},
        {"K08", CR_LIBC_GLIBC, CR_WHY_LEN_PAST_END},
        {"K16", CR_LIBC_GLIBC_LEGACY, CR_WHY_LEGACY_OVERRUN},
        {"K14", CR_LIBC_MUSL, CR_WHY_NO_ROOM},
    };
    size_t n;
    const struct crafted *cs = crafted_cases(&n);

    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        for (size_t i = 0; i < n; i++) {
            unsigned char buf[CRAFTED_MAX];
            struct cr_walk w;
            struct cr_item it;
            size_t len;
            if (strcmp(cs[i].id, want[k].id) != 0)
                continue;
            len = crafted_bytes(&cs[i], buf);
            cr_walk_init(&w, buf, len, (enum cr_libc)want[k].libc);
            while (cr_walk_next(&w, &it))
                ;
            ASSERT_EQ(w.why, want[k].why);
        }
    }
}

TEST(short_header_is_malformed_where_header_is_smaller_than_len0)
{
    /* FreeBSD: sizeof(cmsghdr) 12 < CMSG_LEN(0) 16. */
    unsigned char buf[14] = {16, 0, 0, 0, 0xff, 0xff, 0, 0, 1};
    struct cr_walk w;
    struct cr_item it;

    cr_walk_init(&w, buf, 14, CR_LIBC_FREEBSD);
    ASSERT_EQ(cr_walk_next(&w, &it), 0);
    ASSERT_EQ(w.why, CR_WHY_SHORT_HEADER);
    cr_walk_init(&w, NULL, 0, CR_LIBC_FREEBSD);
    ASSERT_EQ(w.why, CR_WHY_EMPTY);
}
