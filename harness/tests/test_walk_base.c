/*
 * test_walk_base.c - legacy glibc's next-header sum wraps at the buffer's
 * address (§3): the two cases seen on a glibc 2.31 CPython, at bases just
 * below and at the threshold, and the base's API contract.
 */
#include <string.h>

#include "cmsgref.h"
#include "crafted.h"
#include "tests.h"

/* C = 32: an empty item (41, 50), then a header at 16 whose cmsg_len is
 * 0xfffffff900000000: visited iff base >= 2^64 - 16 - that. */
static const unsigned char case32[32] = {
    0x10, 0, 0, 0, 0,    0,    0,    0,    0x29, 0, 0, 0, 0x32, 0, 0, 0,
    0,    0, 0, 0, 0xf9, 0xff, 0xff, 0xff, 0x29, 0, 0, 0, 0x33, 0, 0, 0};
#define CASE32_THRESHOLD UINT64_C(0x6fffffff0)

/* C = 48: SCM_RIGHTS 200, 201; then SCM_RIGHTS at 24 with the same huge
 * length, whose slots up to C hold 202, 203. */
static const unsigned char case48[48] = {
    0x18, 0, 0, 0, 0,    0, 0, 0, 1,    0, 0, 0, 1,    0,    0,    0,
    0xc8, 0, 0, 0, 0xc9, 0, 0, 0, 0,    0, 0, 0, 0xf9, 0xff, 0xff, 0xff,
    1,    0, 0, 0, 1,    0, 0, 0, 0xca, 0, 0, 0, 0xcb, 0,    0,    0};
#define CASE48_THRESHOLD UINT64_C(0x6ffffffe8)

/* The item count of a legacy glibc walk at base (crafted_walk_at). */
#define walk_at(buf, len, base, w)                                             \
    crafted_walk_at(buf, len, CR_LIBC_GLIBC_LEGACY, base, w)

TEST(legacy_next_header_wraps_at_the_buffer_address_c32)
{
    struct cr_walk w;

    ASSERT_EQ(walk_at(case32, 32, CASE32_THRESHOLD - 1, &w), 1);
    ASSERT_EQ(w.warning, 0);
    ASSERT_EQ(w.why, CR_WHY_LEGACY_OVERRUN);
    ASSERT_UEQ(w.base_threshold, CASE32_THRESHOLD);
    ASSERT_EQ(walk_at(case32, 32, CASE32_THRESHOLD, &w), 2);
    ASSERT_EQ(w.warning, 1);
    ASSERT_EQ(w.stop, CR_STOP_TRUNCATED);
    ASSERT_UEQ(w.base_threshold, CASE32_THRESHOLD);
    /* A brk heap address and an mmap address both lie above it. */
    ASSERT_EQ(walk_at(case32, 32, UINT64_C(0x555555559000), &w), 2);
    ASSERT_EQ(walk_at(case32, 32, CR_BASE_DEFAULT, &w), 2);
    /* At base 0 the sum wraps only past 2^64 of offset. */
    ASSERT_EQ(walk_at(case32, 32, 0, &w), 1);
}

TEST(legacy_wrap_changes_items_warning_and_close_list_c48)
{
    struct cr_walk w;
    int32_t fds[8];
    size_t count = 0;

    ASSERT_EQ(walk_at(case48, 48, CASE48_THRESHOLD - 1, &w), 1);
    ASSERT_EQ(w.warning, 0);
    ASSERT_EQ(cr_close_on_error_at(case48, 48, CR_LIBC_GLIBC_LEGACY,
                                   CASE48_THRESHOLD - 1, fds, 8, &count),
              0);
    ASSERT_EQ(count, 2);
    ASSERT_EQ(walk_at(case48, 48, CASE48_THRESHOLD, &w), 2);
    ASSERT_EQ(w.warning, 1);
    ASSERT_EQ(cr_close_on_error_at(case48, 48, CR_LIBC_GLIBC_LEGACY,
                                   CASE48_THRESHOLD, fds, 8, &count),
              0);
    ASSERT_EQ(count, 4);
    ASSERT_EQ(fds[0], 200);
    ASSERT_EQ(fds[1], 201);
    ASSERT_EQ(fds[2], 202);
    ASSERT_EQ(fds[3], 203);
}

TEST(legacy_steps_that_fit_leave_no_threshold)
{
    /* Two empty items back to back, C = 32: every step fits. */
    static const unsigned char two[32] = {0x10, 0, 0, 0, 0, 0,    0, 0, 1, 0, 0,
                                          0,    7, 0, 0, 0, 0x10, 0, 0, 0, 0, 0,
                                          0,    0, 1, 0, 0, 0,    8, 0, 0, 0};
    struct cr_walk w;

    ASSERT_EQ(walk_at(two, 32, 0, &w), 2);
    ASSERT_UEQ(w.base_threshold, 0);
    ASSERT_EQ(walk_at(two, 32, CR_BASE_DEFAULT, &w), 2);
    ASSERT_UEQ(w.base_threshold, 0);
}

TEST(legacy_overrun_no_buffer_address_can_wrap_leaves_no_threshold)
{
    /* C = 52: an ok item, then an unpadded SCM_RIGHTS item at 32 with
     * L = 20: 32 + 24 passes C by 4, which only a base above the highest
     * one a 52-byte buffer can have would wrap. */
    unsigned char buf[52] = {0x1c, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2};
    struct cr_walk w;

    buf[32] = 20;
    buf[40] = 1;
    buf[44] = 1;
    ASSERT_EQ(walk_at(buf, 52, UINT64_MAX - 32 - 52, &w), 1);
    ASSERT_EQ(w.why, CR_WHY_LEGACY_OVERRUN);
    ASSERT_UEQ(w.base_threshold, 0);
}

TEST(legacy_threshold_at_the_highest_base_a_buffer_can_have)
{
    /* C = 39: an empty item, then a header at N = 16 whose length aligns
     * to 56 = C - N + 33, the smallest step a buffer's base can still
     * wrap: at the highest base set_base allows, 2^64 - 1 - 32 - 39. */
    unsigned char buf[39] = {0x10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2};
    const uint64_t highest = UINT64_MAX - 32 - 39;
    struct cr_walk w;

    buf[16] = 56;
    ASSERT_EQ(walk_at(buf, 39, highest - 1, &w), 1);
    ASSERT_EQ(w.why, CR_WHY_LEGACY_OVERRUN);
    ASSERT_UEQ(w.base_threshold, highest);
    ASSERT_EQ(walk_at(buf, 39, highest, &w), 2);
    ASSERT_UEQ(w.base_threshold, highest);
}

TEST(set_base_refuses_a_length_that_leaves_no_room_above_it)
{
    /* A length within 32 of the top of the address space leaves no base
     * at all; the walk is never started, so buf is not read past 16. */
#if SIZE_MAX > 0xffffffffu /* only a 64-bit size_t gets that near 2^64 */
    unsigned char buf[16] = {0};
    struct cr_walk w;

    ASSERT_EQ(cr_walk_init(&w, buf, SIZE_MAX - 32, CR_LIBC_GLIBC_LEGACY), 0);
    ASSERT_EQ(cr_walk_set_base(&w, 0), 0);
    ASSERT_EQ(cr_walk_init(&w, buf, SIZE_MAX - 31, CR_LIBC_GLIBC_LEGACY), 0);
    ASSERT_EQ(cr_walk_set_base(&w, 0), CR_EINVAL);
#endif
}

TEST(fixed_glibc_and_musl_ignore_the_base)
{
    struct cr_walk w;
    struct cr_item it;
    size_t n[2];

    for (int m = 0; m < CR_LIBC_COUNT; m++) {
        const struct cr_model *md = cr_model_get((enum cr_libc)m);
        if (md->next == CR_NEXT_LEGACY)
            continue;
        for (int k = 0; k < 2; k++) {
            uint64_t high =
                md->addr_bits == 32 ? 0xffffff00u : CASE48_THRESHOLD;
            ASSERT_EQ(cr_walk_init(&w, case48, 48, (enum cr_libc)m), 0);
            ASSERT_EQ(cr_walk_set_base(&w, k ? high : 0), 0);
            for (n[k] = 0; cr_walk_next(&w, &it); n[k]++)
                ;
            ASSERT_UEQ(w.base_threshold, 0);
        }
        ASSERT_EQ(n[0], n[1]);
    }
}

TEST(base_is_set_before_the_walk_and_leaves_room_for_the_buffer)
{
    struct cr_walk w;
    struct cr_item it;

    ASSERT_EQ(cr_walk_init(&w, case32, 32, CR_LIBC_GLIBC_LEGACY), 0);
    ASSERT_UEQ(w.base, CR_BASE_DEFAULT);
    ASSERT_EQ(cr_walk_set_base(&w, UINT64_MAX - 32 - 32), 0);
    ASSERT_EQ(cr_walk_set_base(&w, UINT64_MAX - 32 - 31), CR_EINVAL);
    ASSERT_EQ(cr_walk_set_base(NULL, 0), CR_EINVAL);
    ASSERT_EQ(cr_walk_next(&w, &it), 1);
    ASSERT_EQ(cr_walk_set_base(&w, 0), CR_EINVAL);
}

TEST(json_names_the_base_and_threshold_for_legacy_only)
{
    char out[1024];
    size_t n;

    ASSERT_EQ(cr_json_parse_buf_at(case32, 32, CR_LIBC_GLIBC_LEGACY, 0, out,
                                   sizeof(out), &n),
              0);
    ASSERT_TRUE(strstr(out, ",\"base\":\"0x0\","
                            "\"base_threshold\":\"0x6fffffff0\"}") != NULL);
    ASSERT_EQ(cr_json_parse_buf(case32, 32, CR_LIBC_GLIBC_LEGACY, out,
                                sizeof(out), &n),
              0);
    ASSERT_TRUE(strstr(out, "\"base\":\"0x7f0000000000\"") != NULL);
    ASSERT_TRUE(strstr(out, "\"warning\":true") != NULL);
    ASSERT_EQ(cr_json_parse_buf_at(case32, 32, CR_LIBC_GLIBC, 0, out,
                                   sizeof(out), &n),
              0);
    ASSERT_TRUE(strstr(out, "\"base\"") == NULL);
    ASSERT_EQ(cr_json_parse_buf_at(case32, 32, CR_LIBC_GLIBC_LEGACY, UINT64_MAX,
                                   out, sizeof(out), &n),
              CR_EINVAL);
}
