/*
 * test_cmsg_len.c - CMSG_LEN / CMSG_SPACE limits per model (§8 table).
 */
#include "cmsgref.h"
#include "tests.h"

struct row {
    enum cr_libc libc;
    int64_t len0, space0, space1, space4, max_len_arg, max_len, max_space_arg,
        max_space;
};

static const struct row rows[] = {
    {CR_LIBC_GLIBC, 16, 16, 24, 24, 2147483631, 2147483647, 2147483623,
     2147483640},
    {CR_LIBC_MUSL, 16, 16, 24, 24, 2147483631, 2147483647, 2147483623,
     2147483640},
    {CR_LIBC_FREEBSD, 16, 16, 24, 24, 2147483631, 2147483647, 2147483623,
     2147483640},
    {CR_LIBC_DARWIN, 12, 12, 16, 16, 2147483635, 2147483647, 2147483631,
     2147483644},
};

TEST(cmsg_len_and_space_match_spec_table_at_both_ends)
{
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        int64_t v = 0;
        ASSERT_EQ(cr_cmsg_len(r->libc, 0, &v), 0);
        ASSERT_EQ(v, r->len0);
        ASSERT_EQ(cr_cmsg_space(r->libc, 0, &v), 0);
        ASSERT_EQ(v, r->space0);
        ASSERT_EQ(cr_cmsg_space(r->libc, 1, &v), 0);
        ASSERT_EQ(v, r->space1);
        ASSERT_EQ(cr_cmsg_space(r->libc, 4, &v), 0);
        ASSERT_EQ(v, r->space4);
        ASSERT_EQ(cr_cmsg_len(r->libc, r->max_len_arg, &v), 0);
        ASSERT_EQ(v, r->max_len);
        ASSERT_EQ(cr_cmsg_len(r->libc, r->max_len_arg + 1, &v), CR_ERANGE);
        ASSERT_EQ(cr_cmsg_space(r->libc, r->max_space_arg, &v), 0);
        ASSERT_EQ(v, r->max_space);
        ASSERT_EQ(cr_cmsg_space(r->libc, r->max_space_arg + 1, &v), CR_ERANGE);
        ASSERT_EQ(cr_cmsg_len(r->libc, -1, &v), CR_ERANGE);
        ASSERT_EQ(cr_cmsg_space(r->libc, -1, &v), CR_ERANGE);
        ASSERT_EQ(cr_cmsg_len(r->libc, INT64_MAX, &v), CR_ERANGE);
        ASSERT_EQ(cr_cmsg_space(r->libc, INT64_MAX, &v), CR_ERANGE);
    }
}

TEST(cmsg_len_and_space_refuse_a_null_out_pointer)
{
    ASSERT_EQ(cr_cmsg_len(CR_LIBC_GLIBC, 0, NULL), CR_EINVAL);
    ASSERT_EQ(cr_cmsg_space(CR_LIBC_GLIBC, 0, NULL), CR_EINVAL);
}

TEST(cmsg_len_minus_len0_is_identity_over_valid_range)
{
    int64_t v = 0;
    for (int64_t n = 0; n < 4096; n++) {
        ASSERT_EQ(cr_cmsg_len(CR_LIBC_GLIBC, n, &v), 0);
        ASSERT_EQ(v - 16, n);
    }
    ASSERT_EQ(cr_cmsg_len((enum cr_libc)7, 0, &v), CR_EMODEL);
    ASSERT_EQ(cr_cmsg_space((enum cr_libc)7, 0, &v), CR_EMODEL);
}

TEST(cmsg_space_matches_host_macro_where_host_is_glibc)
{
    for (int64_t n = 0; n < 300; n++) {
        int64_t v = 0, w = 0;
        ASSERT_EQ(cr_cmsg_space(cr_model_host(), n, &v), 0);
        ASSERT_EQ(v, (int64_t)CMSG_SPACE((size_t)n));
        ASSERT_EQ(cr_cmsg_len(cr_model_host(), n, &w), 0);
        ASSERT_EQ(w, (int64_t)CMSG_LEN((size_t)n));
    }
}
