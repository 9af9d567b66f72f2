/*
 * test_args.c - the argument errors of §5 that live at the C level, in
 * CPython's order: bufsize < 0, the data allocation (MemoryError), the
 * family (getsockaddrlen), the ancbufsize range, the control allocation;
 * then a closed socket (fd -1) failing with EBADF without waiting.
 *
 * The MemoryError test asks malloc for 2**62 bytes.  Under ASan that is a
 * fatal error unless allocator_may_return_null=1, so this file sets it as
 * the sanitizer's default for the whole test binary (an ASAN_OPTIONS in
 * the environment still overrides it).
 */
#include <errno.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_recv_util.h"
#include "tests.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CR_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CR_TEST_ASAN 1
#endif
#ifdef CR_TEST_ASAN
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}
#endif

/* Runs cr_recvmsg on a fresh stream pair with one byte queued, after
 * letting edit() change the default arguments; returns its code and fills
 * *err (and frees/closes any result). */
static int call_with(void (*edit)(struct cr_recv_args *), struct cr_pyerr *err)
{
    int sv[2];
    struct cr_recv_args a;
    struct cr_recv_result res;
    int rc;

    if (tu_pair(SOCK_STREAM, sv) != 0)
        return -100;
    (void)write(sv[1], "x", 1);
    tu_args(&a, sv[0]);
    tu_set_timeout(&a, 0);
    edit(&a);
    memset(err, 0, sizeof(*err));
    rc = cr_recvmsg(&a, &res, err);
    if (rc == 0)
        tu_result_close_free(&res);
    close(sv[0]);
    close(sv[1]);
    return rc;
}

#define EXPECT_PYERR(edit, exc_, msg_)                                         \
    do {                                                                       \
        struct cr_pyerr e_;                                                    \
        ASSERT_EQ(call_with(edit, &e_), CR_EPY);                               \
        ASSERT_STREQ(cr_pyexc_name(e_.exc), cr_pyexc_name(exc_));              \
        ASSERT_STREQ(e_.msg, msg_);                                            \
        ASSERT_EQ(e_.sys_errno, 0);                                            \
    } while (0)

static void neg_buf(struct cr_recv_args *a)
{
    a->bufsize = -1;
}
static void neg_buf_neg_anc_bad_family(struct cr_recv_args *a)
{
    a->bufsize = -1;
    a->ancbufsize = -1;
    a->family = 12345;
}
static void huge_buf(struct cr_recv_args *a)
{
    a->bufsize = INT64_C(1) << 62;
}
static void max_buf(struct cr_recv_args *a)
{
    a->bufsize = INT64_MAX;
}
static void huge_buf_bad_family(struct cr_recv_args *a)
{
    a->bufsize = INT64_C(1) << 62;
    a->family = 12345;
    a->ancbufsize = -1;
}
static void bad_family(struct cr_recv_args *a)
{
    a->family = 12345;
}
static void bad_family_neg_anc(struct cr_recv_args *a)
{
    a->family = 12345;
    a->ancbufsize = -1;
}
static void bluetooth(struct cr_recv_args *a)
{
    a->family = AF_BLUETOOTH;
}
static void neg_anc(struct cr_recv_args *a)
{
    a->ancbufsize = -1;
}
static void anc_2_31(struct cr_recv_args *a)
{
    a->ancbufsize = INT64_C(2147483648);
}
static void into_neg_buf_neg_anc(struct cr_recv_args *a)
{
    static char b[4];
    static struct iovec iov = {b, sizeof(b)};

    a->iov = &iov;
    a->iovcnt = 1;
    a->bufsize = -1; /* ignored by recvmsg_into */
    a->ancbufsize = -1;
}
static void into_too_many(struct cr_recv_args *a)
{
    static struct iovec iov;

    a->iov = &iov;
    a->iovcnt = (size_t)INT32_MAX + 1;
    a->ancbufsize = -1;
}
static void nothing(struct cr_recv_args *a)
{
    (void)a;
}
static void anc_max(struct cr_recv_args *a)
{
    a->ancbufsize = 2147483647;
}

TEST(negative_bufsize_raises_value_error)
{
    EXPECT_PYERR(neg_buf, CR_PY_VALUE_ERROR,
                 "negative buffer size in recvmsg()");
}

TEST(negative_bufsize_is_checked_before_family_and_ancbufsize)
{
    EXPECT_PYERR(neg_buf_neg_anc_bad_family, CR_PY_VALUE_ERROR,
                 "negative buffer size in recvmsg()");
}

TEST(bufsize_2_62_raises_empty_memory_error)
{
    EXPECT_PYERR(huge_buf, CR_PY_MEMORY_ERROR, "");
    EXPECT_PYERR(max_buf, CR_PY_MEMORY_ERROR, "");
}

TEST(data_allocation_fails_before_family_check)
{
    EXPECT_PYERR(huge_buf_bad_family, CR_PY_MEMORY_ERROR, "");
}

TEST(unknown_family_raises_getsockaddrlen_oserror_errno_0)
{
    EXPECT_PYERR(bad_family, CR_PY_OS_ERROR, "getsockaddrlen: bad family");
    EXPECT_PYERR(bluetooth, CR_PY_OS_ERROR, "getsockaddrlen: bad family");
}

TEST(family_is_checked_before_ancbufsize)
{
    EXPECT_PYERR(bad_family_neg_anc, CR_PY_OS_ERROR,
                 "getsockaddrlen: bad family");
}

TEST(ancbufsize_out_of_range_raises_value_error)
{
    EXPECT_PYERR(neg_anc, CR_PY_VALUE_ERROR,
                 "invalid ancillary data buffer length");
    EXPECT_PYERR(anc_2_31, CR_PY_VALUE_ERROR,
                 "invalid ancillary data buffer length");
}

TEST(recvmsg_into_ignores_bufsize_and_checks_ancbufsize)
{
    EXPECT_PYERR(into_neg_buf_neg_anc, CR_PY_VALUE_ERROR,
                 "invalid ancillary data buffer length");
}

TEST(recvmsg_into_more_than_int_max_buffers_is_too_long)
{
    EXPECT_PYERR(into_too_many, CR_PY_OS_ERROR,
                 "recvmsg_into() argument 1 is too long");
}

TEST(valid_arguments_succeed)
{
    struct cr_pyerr e;

    ASSERT_EQ(call_with(nothing, &e), 0);
}

TEST(ancbufsize_socklen_t_limit_is_allocated_and_accepted)
{
    struct cr_pyerr e;

    ASSERT_EQ(call_with(anc_max, &e), 0);
}

TEST(closed_socket_fd_minus_one_raises_ebadf_without_waiting)
{
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    double t0;
    int sv[2];

    ASSERT_EQ(tu_pair(SOCK_STREAM, sv), 0);
    tu_args(&a, sv[0]);
    close(sv[0]);
    close(sv[1]);
    a.fd = -1;
    a.ancbufsize = 64;
    a.timeout_ns = INT64_C(5000000000); /* a wait would take 5 s */
    t0 = tu_now();
    ASSERT_EQ(cr_recvmsg(&a, &res, &e), CR_EPY);
    ASSERT_LE((int64_t)((tu_now() - t0) * 1000), 1000);
    ASSERT_EQ(e.exc, CR_PY_OS_ERROR);
    ASSERT_EQ(e.sys_errno, EBADF);
    ASSERT_STREQ(e.msg, "Bad file descriptor");
    a.timeout_ns = -1;
    ASSERT_EQ(cr_recvmsg(&a, &res, &e), CR_EPY);
    ASSERT_EQ(e.sys_errno, EBADF);
}

TEST(null_pointers_and_unknown_libc_or_policy_are_einval)
{
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;

    tu_args(&a, -1);
    ASSERT_EQ(cr_recvmsg(NULL, &res, &e), CR_EINVAL);
    ASSERT_EQ(cr_recvmsg(&a, NULL, &e), CR_EINVAL);
    ASSERT_EQ(cr_recvmsg(&a, &res, NULL), CR_EINVAL);
    a.libc = (enum cr_libc)CR_LIBC_COUNT;
    ASSERT_EQ(cr_recvmsg(&a, &res, &e), CR_EINVAL);
    a.libc = CR_LIBC_GLIBC;
    a.policy = (enum cr_warn_policy)7;
    ASSERT_EQ(cr_recvmsg(&a, &res, &e), CR_EINVAL);
    cr_recv_result_free(NULL);
}

TEST(sock_family_reports_so_domain)
{
    int sv[2], fam = -1;

    ASSERT_EQ(tu_pair(SOCK_DGRAM, sv), 0);
    ASSERT_EQ(cr_sock_family(sv[0], &fam), 0);
    close(sv[0]);
    close(sv[1]);
    ASSERT_EQ(fam, AF_UNIX);
    ASSERT_EQ(cr_sock_family(-1, &fam), CR_EINVAL);
    ASSERT_EQ(cr_sock_family(0, NULL), CR_EINVAL);
}

#ifndef CR_TEST_ASAN
static int count_calls;

static ssize_t counting_recvmsg(void *ctx, int fd, struct msghdr *msg,
                                int flags)
{
    (void)ctx;
    (void)fd;
    (void)msg;
    (void)flags;
    count_calls++;
    errno = EIO;
    return -1;
}

/* This process's virtual size in bytes (first field of /proc/self/statm),
 * or 0 if unknown. */
static uint64_t vm_size(void)
{
    unsigned long long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu", &pages) != 1)
        pages = 0;
    fclose(f);
    return (uint64_t)pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* recvmsg(16, ancbufsize) on an AF_UNIX socket whose recvmsg fails with
 * EIO, with RLIMIT_AS lowered to room bytes above this process's size; its
 * code, or -100 if the limit could not be set.  A result is freed. */
static int call_with_room(int64_t ancbufsize, uint64_t room, struct cr_pyerr *e)
{
    struct rlimit old, low;
    struct cr_sys sys;
    struct cr_recv_args a;
    struct cr_recv_result res;
    uint64_t vsz = vm_size();
    int rc = -100;

    if (vsz == 0 || getrlimit(RLIMIT_AS, &old) != 0)
        return rc;
    memset(&sys, 0, sizeof(sys));
    sys.recvmsg = counting_recvmsg;
    tu_args(&a, -1);
    a.family = AF_UNIX;
    a.bufsize = 16;
    a.ancbufsize = ancbufsize;
    a.sys = &sys;
    count_calls = 0;
    low = old;
    low.rlim_cur = (rlim_t)(vsz + room);
    if (setrlimit(RLIMIT_AS, &low) == 0) {
        rc = cr_recvmsg(&a, &res, e);
        (void)setrlimit(RLIMIT_AS, &old);
    }
    if (rc == 0)
        cr_recv_result_free(&res);
    return rc;
}
#else
#define SKIP_UNDER_ASAN()                                                      \
    fprintf(stderr, "    SKIPPED under ASan: RLIMIT_AS cannot be lowered "     \
                    "below ASan's shadow mapping; the plain build runs this "  \
                    "test\n")
#endif

TEST(control_buffer_allocation_failure_is_memory_error_before_the_call)
{
#ifdef CR_TEST_ASAN
    SKIP_UNDER_ASAN();
#else
    struct cr_pyerr e;

    /* 2 GiB: more than the room left */
    ASSERT_EQ(call_with_room(2147483647, UINT64_C(256) << 20, &e), CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_MEMORY_ERROR);
    ASSERT_STREQ(e.msg, "");
    ASSERT_EQ(count_calls, 0); /* nothing was received */
#endif
}

/* cr_recvmsg's memory is CPython's: the data buffer and the control buffer
 * (cmsgref.h), nothing sized by ancbufsize besides: with room for one
 * ancbufsize and a little, the call is made (a 32-bit process has room for
 * one 2 GiB control buffer, not two). */
TEST(room_for_one_ancbufsize_is_enough_to_make_the_call)
{
#ifdef CR_TEST_ASAN
    SKIP_UNDER_ASAN();
#else
    struct cr_pyerr e;

    /* Above glibc's largest mmap threshold (32 MiB), so the control buffer
     * is a fresh mapping: 64 MiB fits in 72 MiB, 2 x 64 MiB would not. */
    ASSERT_EQ(call_with_room(INT64_C(64) << 20, UINT64_C(72) << 20, &e),
              CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_OS_ERROR);
    ASSERT_EQ(e.sys_errno, EIO);
    ASSERT_EQ(count_calls, 1);
#endif
}
