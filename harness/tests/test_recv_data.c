/*
 * test_recv_data.c - the data side of cr_recvmsg() on real socketpairs
 * (§5 "Data sizing"): MSG_TRUNC on a datagram (recvmsg keeps bufsize
 * bytes, recvmsg_into reports the full length), recvmsg_into with several
 * buffers and with none (a datagram is discarded, stream data is not),
 * recvmsg(0), and EOF.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "test_recv_util.h"
#include "tests.h"

TEST(msg_trunc_on_datagram_keeps_bufsize_bytes_and_reports_full_length)
{
    int sv[2];
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    int rc, flags;
    ssize_t nbytes;
    size_t dlen;

    ASSERT_EQ(tu_pair(SOCK_DGRAM, sv), 0);
    (void)write(sv[1], "abcdef", 6);
    tu_args(&a, sv[0]);
    a.bufsize = 3;
    a.flags = MSG_TRUNC;
    rc = cr_recvmsg(&a, &res, &e);
    close(sv[0]);
    close(sv[1]);
    ASSERT_EQ(rc, 0);
    nbytes = res.nbytes;
    dlen = res.data_len;
    flags = res.msg_flags;
    rc = memcmp(res.data, "abc", 3);
    cr_recv_result_free(&res);
    ASSERT_EQ(nbytes, 6);
    ASSERT_EQ(dlen, 3);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(flags & MSG_TRUNC, MSG_TRUNC);
}

TEST(recvmsg_into_reports_syscall_nbytes_beyond_the_buffers)
{
    int sv[2];
    char b1[2], b2[1];
    struct iovec iov[2] = {{b1, 2}, {b2, 1}};
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    int rc;

    ASSERT_EQ(tu_pair(SOCK_DGRAM, sv), 0);
    (void)write(sv[1], "abcdef", 6);
    tu_args(&a, sv[0]);
    a.iov = iov;
    a.iovcnt = 2;
    a.bufsize = 4; /* ignored with iov: no data buffer, no data_len */
    a.flags = MSG_TRUNC;
    rc = cr_recvmsg(&a, &res, &e);
    close(sv[0]);
    close(sv[1]);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(res.data == NULL);
    ASSERT_EQ(res.data_len, 0);
    ASSERT_EQ(res.nbytes, 6);
    ASSERT_EQ(res.msg_flags & MSG_TRUNC, MSG_TRUNC);
    cr_recv_result_free(&res);
    ASSERT_MEMEQ(b1, "ab", 2);
    ASSERT_MEMEQ(b2, "c", 1);
}

TEST(recvmsg_into_no_buffers_discards_a_datagram_but_not_stream_data)
{
    static char dummy;
    struct iovec none = {&dummy, 0};
    int sv[2];
    char c = 0;
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    int rc, flags;
    ssize_t nbytes, after;

    ASSERT_EQ(tu_pair(SOCK_DGRAM, sv), 0);
    (void)write(sv[1], "abc", 3);
    tu_args(&a, sv[0]);
    a.iov = &none;
    a.iovcnt = 0;
    rc = cr_recvmsg(&a, &res, &e);
    after = recv(sv[0], &c, 1, MSG_DONTWAIT);
    close(sv[0]);
    close(sv[1]);
    ASSERT_EQ(rc, 0);
    nbytes = res.nbytes;
    flags = res.msg_flags;
    cr_recv_result_free(&res);
    ASSERT_EQ(nbytes, 0);
    ASSERT_EQ(flags, MSG_TRUNC);
    ASSERT_EQ(after, -1); /* the datagram is gone */

    ASSERT_EQ(tu_pair(SOCK_STREAM, sv), 0);
    (void)write(sv[1], "abc", 3);
    tu_args(&a, sv[0]);
    a.iov = &none;
    a.iovcnt = 0;
    rc = cr_recvmsg(&a, &res, &e);
    after = recv(sv[0], &c, 1, MSG_DONTWAIT);
    close(sv[0]);
    close(sv[1]);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.nbytes, 0);
    ASSERT_EQ(res.msg_flags, 0);
    cr_recv_result_free(&res);
    ASSERT_EQ(after, 1); /* nothing was consumed */
    ASSERT_EQ(c, 'a');
}

TEST(eof_on_stream_returns_empty_data_no_items_and_no_address)
{
    int sv[2];
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    int rc;

    ASSERT_EQ(tu_pair(SOCK_STREAM, sv), 0);
    close(sv[1]);
    tu_args(&a, sv[0]);
    a.ancbufsize = 64;
    rc = cr_recvmsg(&a, &res, &e);
    close(sv[0]);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.nbytes, 0);
    ASSERT_EQ(res.data_len, 0);
    ASSERT_EQ(res.controllen, 0);
    ASSERT_EQ(res.nitems, 0);
    ASSERT_EQ(res.msg_flags, 0);
    ASSERT_EQ(res.addr.kind, CR_ADDR_NONE);
    cr_recv_result_free(&res);
}

TEST(recvmsg_0_on_datagram_dequeues_it_with_msg_trunc)
{
    int sv[2], rc;
    char c;
    ssize_t after;
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;

    ASSERT_EQ(tu_pair(SOCK_DGRAM, sv), 0);
    (void)write(sv[1], "abc", 3);
    tu_args(&a, sv[0]);
    a.bufsize = 0;
    rc = cr_recvmsg(&a, &res, &e);
    after = recv(sv[0], &c, 1, MSG_DONTWAIT);
    close(sv[0]);
    close(sv[1]);
    ASSERT_EQ(rc, 0);
    ASSERT_TRUE(res.data != NULL); /* b'', not recvmsg_into's None */
    ASSERT_EQ(res.data_len, 0);
    ASSERT_EQ(res.nbytes, 0);
    ASSERT_EQ(res.msg_flags, MSG_TRUNC);
    ASSERT_EQ(res.addr.kind, CR_ADDR_NONE);
    cr_recv_result_free(&res);
    ASSERT_EQ(after, -1);
}

TEST(more_than_iov_max_buffers_fail_in_the_kernel_with_emsgsize)
{
    static char bytes[1025];
    static struct iovec iov[1025];
    int sv[2], rc;
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;

    for (size_t i = 0; i < 1025; i++) {
        iov[i].iov_base = &bytes[i];
        iov[i].iov_len = 1;
    }
    ASSERT_EQ(tu_pair(SOCK_STREAM, sv), 0);
    (void)write(sv[1], "i", 1);
    tu_args(&a, sv[0]);
    tu_set_timeout(&a, INT64_C(2000000000));
    a.iov = iov;
    a.iovcnt = 1025; /* IOV_MAX is 1024 */
    rc = cr_recvmsg(&a, &res, &e);
    close(sv[0]);
    close(sv[1]);
    if (rc == 0)
        cr_recv_result_free(&res);
    ASSERT_EQ(rc, CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_OS_ERROR);
    ASSERT_EQ(e.sys_errno, EMSGSIZE);
    ASSERT_STREQ(e.msg, "Message too long");
}
