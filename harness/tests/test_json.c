/*
 * test_json.c - the one JSON writer: exact bytes for the example,
 * escaping, capacity handling, and error names.
 */
#include "cmsgref.h"
#include "tests.h"

TEST(json_matches_documented_schema_byte_for_byte)
{
    /* hdr(20,1,1) + fd 7 + filler, C = 24.  (The schema example
     * says C = 40; under glibc a 40-byte buffer would visit a second
     * header, so the example illustrates the keys, not a real walk.) */
    unsigned char buf[40] = {20, 0, 0, 0, 0, 0, 0, 0, 1,    0,    0,    0,
                             1,  0, 0, 0, 7, 0, 0, 0, 0xEE, 0xEE, 0xEE, 0xEE};
    char out[512];
    size_t n = 0;

    ASSERT_EQ(cr_json_parse_buf(buf, 24, CR_LIBC_GLIBC, out, sizeof(out), &n),
              0);
    ASSERT_STREQ(
        out, "{\"libc\":\"glibc\",\"controllen\":24,\"items\":[{\"offset\":0,"
             "\"level\":1,\"type\":1,\"cmsg_len\":20,\"data\":\"07000000\","
             "\"status\":\"ok\"}],\"stop\":\"end\",\"warning\":false,"
             "\"close_on_error\":[7]}");
    ASSERT_EQ(n, strlen(out));
}

TEST(json_reports_truncation_warning_and_negative_ints)
{
    unsigned char buf[32] = {36,   0,    0,    0,    0, 0, 0, 0,
                             1,    0,    0,    0,    1, 0, 0, 0,
                             0xEE, 0xEE, 0xEE, 0xEE, 3, 0, 0, 0,
                             0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x80};
    char out[512];

    ASSERT_EQ(cr_json_parse_buf(buf, 32, CR_LIBC_MUSL, out, sizeof(out), NULL),
              0);
    ASSERT_STREQ(
        out, "{\"libc\":\"musl\",\"controllen\":32,\"items\":[{\"offset\":0,"
             "\"level\":1,\"type\":1,\"cmsg_len\":36,\"data\":"
             "\"eeeeeeee03000000ffffffff00000080\",\"status\":\"truncated\"}],"
             "\"stop\":\"truncated\",\"warning\":true,\"close_on_error\":"
             "[-286331154,3,-1,-2147483648]}");
}

TEST(json_buffer_too_small_reports_needed_length)
{
    unsigned char buf[16] = {16, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2};
    char out[8];
    char big[256];
    size_t n = 0, m = 0;

    ASSERT_EQ(cr_json_parse_buf(buf, 16, CR_LIBC_GLIBC, out, sizeof(out), &n),
              CR_ENOSPC);
    ASSERT_EQ(cr_json_parse_buf(buf, 16, CR_LIBC_GLIBC, big, sizeof(big), &m),
              0);
    ASSERT_EQ(n, m);
    ASSERT_EQ(cr_json_parse_buf(buf, 16, CR_LIBC_GLIBC, NULL, 0, &n),
              CR_ENOSPC);
    ASSERT_EQ(n, m);
}

static int failing_sink(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    (void)s;
    (void)n;
    return -1;
}

TEST(json_sink_failure_is_reported_not_ignored)
{
    ASSERT_EQ(cr_json_parse("", 0, CR_LIBC_GLIBC, failing_sink, NULL),
              CR_ESINK);
    ASSERT_EQ(cr_json_parse("", 0, (enum cr_libc)9, failing_sink, NULL),
              CR_EMODEL);
}

TEST(json_parse_without_a_sink_is_einval)
{
    ASSERT_EQ(cr_json_parse("", 0, CR_LIBC_GLIBC, NULL, NULL), CR_EINVAL);
    ASSERT_EQ(cr_json_parse_at("", 0, CR_LIBC_GLIBC, 0, NULL, NULL), CR_EINVAL);
}

struct collect {
    char buf[64];
    size_t n;
};

static int collect_sink(void *ctx, const char *s, size_t n)
{
    struct collect *c = ctx;
    if (c->n + n >= sizeof(c->buf))
        return -1;
    memcpy(c->buf + c->n, s, n);
    c->n += n;
    c->buf[c->n] = '\0';
    return 0;
}

TEST(json_escape_quotes_backslashes_and_control_bytes)
{
    struct collect c = {{0}, 0};

    ASSERT_EQ(cr_json_escape("a\"b\\c\n\x01", 7, collect_sink, &c), 0);
    ASSERT_STREQ(c.buf, "a\\\"b\\\\c\\u000a\\u0001");
}

TEST(json_escape_refuses_a_null_sink_or_string)
{
    struct collect c = {{0}, 0};

    ASSERT_EQ(cr_json_escape("a", 1, NULL, &c), CR_EINVAL);
    ASSERT_EQ(cr_json_escape(NULL, 1, collect_sink, &c), CR_EINVAL);
    ASSERT_EQ(cr_json_escape(NULL, 0, collect_sink, &c), 0);
    ASSERT_EQ(c.n, 0);
}

TEST(error_codes_have_names_and_messages)
{
    ASSERT_STREQ(cr_err_name(CR_EINVAL), "CR_EINVAL");
    ASSERT_STREQ(cr_err_name(CR_EPY), "CR_EPY");
    ASSERT_STREQ(cr_err_name(12345), "CR_E?");
    ASSERT_STREQ(cr_strerror(CR_EMODEL), "unknown libc model");
    ASSERT_STREQ(cr_strerror(-999), "unknown error");
    ASSERT_STREQ(cr_pyexc_name(CR_PY_RUNTIME_WARNING), "RuntimeWarning");
}
