/*
 * test_sys_seam.c - the wait-and-call rules of §7, exactly, through a fake
 * cr_sys with a scripted poll(), recvmsg() and clock: the deadline is fixed
 * once and never extended, the wait is the remainder rounded up to whole
 * ms, EINTR in poll re-waits and EINTR in recvmsg retries without a wait,
 * EAGAIN after readiness waits again only in timeout mode, a raising
 * handler ends the call, errors map to OSError / BlockingIOError, a
 * closed socket (fd -1) is never polled, and the msghdr the call gets is
 * CPython's (zeroed; no control buffer for ancbufsize 0).  No real fd is used.
 */
#include <errno.h>
#include <string.h>
#include <sys/un.h>

#include "test_recv_util.h"
#include "tests.h"

#define MS INT64_C(1000000)
#define SCRIPT 8

struct step {
    int ret;         /* what the call returns */
    int err;         /* errno when ret < 0 */
    int64_t advance; /* ns the fake clock moves during the call */
};

struct wfake {
    int64_t now;
    struct step poll[SCRIPT];
    struct step recv[SCRIPT];
    int npoll, nrecv;    /* calls made so far */
    int poll_ms[SCRIPT]; /* the timeout each poll was given */
    int eintr_calls;
    int eintr_raise_at; /* on_eintr returns 1 on this call (1-based); 0 never */
    int64_t ancbufsize; /* run()'s ancbufsize */
    struct msghdr seen; /* the msghdr the first call was given */
    size_t seen_iov_len; /* its first iovec's length */
};

static int wf_poll(void *ctx, struct pollfd *fds, nfds_t n, int timeout_ms)
{
    struct wfake *f = ctx;
    struct step s = {-1, EINVAL, 0};

    (void)n;
    if (f->npoll < SCRIPT) {
        s = f->poll[f->npoll];
        f->poll_ms[f->npoll] = timeout_ms;
    }
    f->npoll++;
    f->now += s.advance;
    if (s.ret > 0)
        fds[0].revents = POLLIN;
    if (s.ret < 0)
        errno = s.err;
    return s.ret;
}

static ssize_t wf_recvmsg(void *ctx, int fd, struct msghdr *msg, int flags)
{
    struct wfake *f = ctx;
    struct step s = {-1, EINVAL, 0};

    (void)fd;
    (void)flags;
    if (f->nrecv == 0) {
        f->seen = *msg;
        f->seen_iov_len = msg->msg_iovlen > 0 ? msg->msg_iov[0].iov_len : 0;
    }
    if (f->nrecv < SCRIPT)
        s = f->recv[f->nrecv];
    f->nrecv++;
    f->now += s.advance;
    if (s.ret < 0) {
        errno = s.err;
        return -1;
    }
    msg->msg_controllen = 0;
    msg->msg_namelen = 0;
    msg->msg_flags = 0;
    return s.ret;
}

static int64_t wf_now(void *ctx)
{
    return ((struct wfake *)ctx)->now;
}

static int wf_close(void *ctx, int fd)
{
    (void)ctx;
    (void)fd;
    return 0;
}

static int wf_eintr(void *ctx)
{
    struct wfake *f = ctx;

    f->eintr_calls++;
    return f->eintr_calls == f->eintr_raise_at;
}

/* Runs cr_recvmsg(bufsize 4, f->ancbufsize) with the fake and a timeout (ns; <
 * 0 blocking, 0 non-blocking) on fd; returns its code, *err set. */
static int run(struct wfake *f, int fd, int64_t timeout_ns,
               struct cr_pyerr *err)
{
    struct cr_sys sys;
    struct cr_recv_args a;
    struct cr_recv_result res;
    int rc;

    memset(&sys, 0, sizeof(sys));
    sys.recvmsg = wf_recvmsg;
    sys.poll = wf_poll;
    sys.close = wf_close;
    sys.now_ns = wf_now;
    sys.ctx = f;
    memset(&a, 0, sizeof(a));
    a.fd = fd;
    a.family = AF_UNIX;
    a.bufsize = 4;
    a.ancbufsize = f->ancbufsize;
    a.timeout_ns = timeout_ns;
    a.libc = CR_LIBC_GLIBC;
    a.on_eintr = wf_eintr;
    a.eintr_ctx = f;
    a.sys = &sys;
    memset(err, 0, sizeof(*err));
    rc = cr_recvmsg(&a, &res, err);
    if (rc == 0)
        cr_recv_result_free(&res);
    return rc;
}

TEST(wait_is_the_remaining_time_rounded_up_to_whole_ms)
{
    struct wfake f;
    struct cr_pyerr e;

    memset(&f, 0, sizeof(f));
    f.now = 5 * MS;
    f.poll[0] = (struct step){0, 0, 0};
    ASSERT_EQ(run(&f, 3, MS + 1, &e), CR_EPY);
    ASSERT_EQ(f.poll_ms[0], 2);
    ASSERT_EQ(e.exc, CR_PY_TIMEOUT);
    ASSERT_STREQ(e.msg, "timed out");
    ASSERT_EQ(e.sys_errno, 0);
    ASSERT_EQ(f.nrecv, 0);

    memset(&f, 0, sizeof(f));
    f.poll[0] = (struct step){0, 0, 0};
    ASSERT_EQ(run(&f, 3, 2 * MS, &e), CR_EPY);
    ASSERT_EQ(f.poll_ms[0], 2);
}

TEST(deadline_is_fixed_once_and_eintr_in_poll_waits_for_the_remainder)
{
    struct wfake f;
    struct cr_pyerr e;

    memset(&f, 0, sizeof(f));
    f.poll[0] = (struct step){-1, EINTR, 30 * MS};
    f.poll[1] = (struct step){-1, EINTR, 30 * MS};
    f.poll[2] = (struct step){-1, EINTR, 30 * MS};
    f.poll[3] = (struct step){0, 0, 10 * MS};
    ASSERT_EQ(run(&f, 3, 100 * MS, &e), CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_TIMEOUT);
    ASSERT_EQ(f.npoll, 4);
    ASSERT_EQ(f.poll_ms[0], 100);
    ASSERT_EQ(f.poll_ms[1], 70);
    ASSERT_EQ(f.poll_ms[2], 40);
    ASSERT_EQ(f.poll_ms[3], 10);
    ASSERT_EQ(f.eintr_calls, 3);
    ASSERT_EQ(f.nrecv, 0);
}

TEST(remaining_time_below_zero_times_out_without_another_poll)
{
    struct wfake f;
    struct cr_pyerr e;

    memset(&f, 0, sizeof(f));
    f.poll[0] = (struct step){-1, EINTR, 20 * MS};
    ASSERT_EQ(run(&f, 3, 10 * MS, &e), CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_TIMEOUT);
    ASSERT_EQ(f.npoll, 1);
}

TEST(eagain_after_readiness_waits_again_in_timeout_mode)
{
    struct wfake f;
    struct cr_pyerr e;

    memset(&f, 0, sizeof(f));
    f.poll[0] = (struct step){1, 0, 5 * MS};
    f.recv[0] = (struct step){-1, EAGAIN, 0};
    f.poll[1] = (struct step){1, 0, 0};
    f.recv[1] = (struct step){1, 0, 0};
    ASSERT_EQ(run(&f, 3, 100 * MS, &e), 0);
    ASSERT_EQ(f.npoll, 2);
    ASSERT_EQ(f.nrecv, 2);
    ASSERT_EQ(f.poll_ms[1], 95); /* still the same deadline */
}

TEST(eintr_from_recvmsg_retries_the_call_without_a_new_wait)
{
    struct wfake f;
    struct cr_pyerr e;

    memset(&f, 0, sizeof(f));
    f.poll[0] = (struct step){1, 0, 0};
    f.recv[0] = (struct step){-1, EINTR, 0};
    f.recv[1] = (struct step){-1, EINTR, 0};
    f.recv[2] = (struct step){1, 0, 0};
    ASSERT_EQ(run(&f, 3, 100 * MS, &e), 0);
    ASSERT_EQ(f.npoll, 1);
    ASSERT_EQ(f.nrecv, 3);
    ASSERT_EQ(f.eintr_calls, 2);
}

TEST(blocking_mode_never_polls_and_retries_eintr)
{
    struct wfake f;
    struct cr_pyerr e;

    memset(&f, 0, sizeof(f));
    f.recv[0] = (struct step){-1, EINTR, 0};
    f.recv[1] = (struct step){2, 0, 0};
    ASSERT_EQ(run(&f, 3, -1, &e), 0);
    ASSERT_EQ(f.npoll, 0);
    ASSERT_EQ(f.nrecv, 2);
    ASSERT_EQ(f.eintr_calls, 1);
}

TEST(eagain_outside_timeout_mode_is_blocking_io_error_errno_11)
{
    for (int64_t t = -1; t <= 0; t++) {
        struct wfake f;
        struct cr_pyerr e;

        memset(&f, 0, sizeof(f));
        f.recv[0] = (struct step){-1, EAGAIN, 0};
        ASSERT_EQ(run(&f, 3, t, &e), CR_EPY);
        ASSERT_EQ(e.exc, CR_PY_BLOCKING_IO_ERROR);
        ASSERT_EQ(e.sys_errno, EAGAIN);
        ASSERT_STREQ(e.msg, "Resource temporarily unavailable");
        ASSERT_EQ(f.npoll, 0);
        ASSERT_EQ(f.nrecv, 1);
    }
}

TEST(handler_raising_during_poll_or_call_ends_with_signal)
{
    struct wfake f;
    struct cr_pyerr e;

    memset(&f, 0, sizeof(f));
    f.eintr_raise_at = 2;
    f.poll[0] = (struct step){-1, EINTR, 0};
    f.poll[1] = (struct step){-1, EINTR, 0};
    ASSERT_EQ(run(&f, 3, 100 * MS, &e), CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_SIGNAL);
    ASSERT_EQ(f.npoll, 2);
    ASSERT_EQ(f.nrecv, 0);

    memset(&f, 0, sizeof(f));
    f.eintr_raise_at = 1;
    f.recv[0] = (struct step){-1, EINTR, 0};
    ASSERT_EQ(run(&f, 3, -1, &e), CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_SIGNAL);
    ASSERT_EQ(f.nrecv, 1);
}

TEST(poll_and_call_failures_become_oserror_with_errno_and_strerror)
{
    struct wfake f;
    struct cr_pyerr e;

    memset(&f, 0, sizeof(f));
    f.poll[0] = (struct step){-1, ENOMEM, 0};
    ASSERT_EQ(run(&f, 3, 100 * MS, &e), CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_OS_ERROR);
    ASSERT_EQ(e.sys_errno, ENOMEM);
    ASSERT_STREQ(e.msg, "Cannot allocate memory");

    memset(&f, 0, sizeof(f));
    f.poll[0] = (struct step){1, 0, 0};
    f.recv[0] = (struct step){-1, ECONNRESET, 0};
    ASSERT_EQ(run(&f, 3, 100 * MS, &e), CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_OS_ERROR);
    ASSERT_EQ(e.sys_errno, ECONNRESET);
    ASSERT_STREQ(e.msg, "Connection reset by peer");
}

TEST(closed_socket_in_timeout_mode_is_called_without_polling)
{
    struct wfake f;
    struct cr_pyerr e;

    memset(&f, 0, sizeof(f));
    f.recv[0] = (struct step){-1, EBADF, 0};
    ASSERT_EQ(run(&f, -1, 100 * MS, &e), CR_EPY);
    ASSERT_EQ(f.npoll, 0);
    ASSERT_EQ(f.nrecv, 1);
    ASSERT_EQ(e.sys_errno, EBADF);
}

TEST(huge_timeout_is_capped_at_int_max_ms)
{
    struct wfake f;
    struct cr_pyerr e;

    memset(&f, 0, sizeof(f));
    f.now = INT64_MAX - 5;
    f.poll[0] = (struct step){0, 0, 0};
    ASSERT_EQ(run(&f, 3, INT64_MAX, &e), CR_EPY);
    ASSERT_EQ(f.poll_ms[0], 2147483647);
}

TEST(the_call_gets_cpythons_msghdr_zeroed_with_no_control_for_ancbufsize_0)
{
    struct wfake f;
    struct cr_pyerr e;

    memset(&f, 0, sizeof(f));
    f.recv[0] = (struct step){1, 0, 0};
    ASSERT_EQ(run(&f, 3, -1, &e), 0);
    ASSERT_TRUE(f.seen.msg_control == NULL);
    ASSERT_EQ(f.seen.msg_controllen, 0);
    ASSERT_EQ(f.seen.msg_flags, 0);
    ASSERT_EQ(f.seen.msg_iovlen, 1);
    ASSERT_EQ(f.seen_iov_len, 4);
    ASSERT_EQ(f.seen.msg_namelen, sizeof(struct sockaddr_un));

    memset(&f, 0, sizeof(f));
    f.recv[0] = (struct step){1, 0, 0};
    f.ancbufsize = 24;
    ASSERT_EQ(run(&f, 3, -1, &e), 0);
    ASSERT_TRUE(f.seen.msg_control != NULL);
    ASSERT_EQ(f.seen.msg_controllen, 24);
    ASSERT_EQ(f.seen.msg_flags, 0);
}
