/*
 * sock.c - the system-call half of socket.recvmsg(): the cr_sys seam, the
 * readiness wait and the EINTR / EAGAIN retry rules of CPython's
 * sock_call_ex() (§7), and the socket-family query.
 *
 * Upstream facts encoded (CPython Modules/socketmodule.c, 3.6-3.13):
 *  - blocking (timeout None) and non-blocking (0) sockets do not wait; the
 *    call runs directly; EAGAIN on a non-blocking call is BlockingIOError;
 *  - with a timeout the deadline is fixed once per call and never moved;
 *    each round polls for POLLIN with the remaining time rounded up to whole
 *    milliseconds; a negative remainder or an empty poll is "timed out";
 *  - EINTR from poll or from recvmsg runs the signal handlers (here
 *    args->on_eintr): a raising handler ends the call, otherwise poll
 *    resumes with the recomputed remainder, and recvmsg is retried at once
 *    without a new wait (PEP 475);
 *  - EAGAIN after poll said "readable" is a false positive: wait again,
 *    but only in timeout mode;
 *  - a closed socket has fd -1: the wait is skipped and the call itself
 *    fails with EBADF;
 *  - settimeout() with 0 or a timeout puts the fd in O_NONBLOCK.  This
 *    library does not own the fd's mode, so in those two modes it adds
 *    MSG_DONTWAIT to the call instead: the same effect on this one call,
 *    and a caller that passes a blocking fd cannot hang a "non-blocking"
 *    call.  A fake kernel in the seam sees the extra flag.
 *
 * Every syscall goes through struct cr_sys so that a fake kernel can stand
 * in; NULL members are the real calls, which report failure as -1 and
 * errno, as a fake must too.  Nothing here allocates or keeps state.
 */
#include <errno.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "pyerr.h"
#include "sock.h"

/* The seam's calls.  Each takes the seam (NULL: real calls) and returns
 * what the call returns, errno included. */
static ssize_t sys_recvmsg(const struct cr_sys *sys, int fd, struct msghdr *msg,
                           int flags)
{
    if (sys != NULL && sys->recvmsg != NULL)
        return sys->recvmsg(sys->ctx, fd, msg, flags);
    return recvmsg(fd, msg, flags);
}

static int sys_poll(const struct cr_sys *sys, struct pollfd *fds, nfds_t n,
                    int timeout_ms)
{
    if (sys != NULL && sys->poll != NULL)
        return sys->poll(sys->ctx, fds, n, timeout_ms);
    return poll(fds, n, timeout_ms);
}

int cr_sys_close(const struct cr_sys *sys, int fd)
{
    if (sys != NULL && sys->close != NULL)
        return sys->close(sys->ctx, fd);
    return close(fd);
}

/* CLOCK_MONOTONIC in ns (the real clock cannot fail for this id). */
static int64_t sys_now_ns(const struct cr_sys *sys)
{
    struct timespec ts;

    if (sys != NULL && sys->now_ns != NULL)
        return sys->now_ns(sys->ctx);
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ns -> ms rounded up (CPython's _PyTime_ROUND_CEILING), capped at
 * INT_MAX for poll().  ns >= 0. */
static int ceil_ms(int64_t ns)
{
    int64_t ms = ns / 1000000 + (ns % 1000000 != 0);

    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* Runs the signal handlers: 0 to go on, CR_EPY (SIGNAL) if one "raised". */
static int handle_eintr(const struct cr_recv_args *args, struct cr_pyerr *err)
{
    if (args->on_eintr != NULL && args->on_eintr(args->eintr_ctx) != 0) {
        cr_pyerr_set(err, CR_PY_SIGNAL, "");
        return CR_EPY;
    }
    return 0;
}

/* One readiness wait of the timeout mode.  Returns 1 ready, 0 to wait
 * again (EINTR, handlers passed), or CR_EPY with *err (timed out, poll
 * failure, handler raised).  *deadline is set on the first round. */
static int wait_readable(const struct cr_recv_args *args, int64_t *deadline,
                         int *deadline_set, struct cr_pyerr *err)
{
    int64_t interval;
    struct pollfd pfd;
    int r, eno;

    if (*deadline_set) {
        int64_t now = sys_now_ns(args->sys);

        /* A fake clock may return anything: saturate, never overflow. */
        if (__builtin_sub_overflow(*deadline, now, &interval))
            interval = now < 0 ? INT64_MAX : INT64_MIN;
    } else {
        int64_t now = sys_now_ns(args->sys);

        *deadline_set = 1;
        if (__builtin_add_overflow(now, args->timeout_ns, deadline))
            *deadline = INT64_MAX;
        interval = args->timeout_ns;
    }
    if (interval < 0) {
        cr_pyerr_set(err, CR_PY_TIMEOUT, "timed out");
        return CR_EPY;
    }
    if (args->fd == -1)
        return 1; /* closed socket: no wait, the call reports EBADF */
    pfd.fd = args->fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    r = sys_poll(args->sys, &pfd, 1, ceil_ms(interval));
    if (r < 0) {
        eno = errno;
        if (eno == EINTR)
            return handle_eintr(args, err);
        cr_pyerr_errno(err, eno);
        return CR_EPY;
    }
    if (r == 0) {
        cr_pyerr_set(err, CR_PY_TIMEOUT, "timed out");
        return CR_EPY;
    }
    return 1;
}

int cr_sock_call_recvmsg(const struct cr_recv_args *args, struct msghdr *msg,
                         ssize_t *ret_n, struct cr_pyerr *err)
{
    int has_timeout = args->timeout_ns > 0;
    int flags = args->flags | (args->timeout_ns >= 0 ? MSG_DONTWAIT : 0);
    int64_t deadline = 0;
    int deadline_set = 0;
    ssize_t n;
    int rc, eno;

    for (;;) {
        if (has_timeout) {
            rc = wait_readable(args, &deadline, &deadline_set, err);
            if (rc < 0)
                return rc;
            if (rc == 0)
                continue;
        }
        for (;;) {
            n = sys_recvmsg(args->sys, args->fd, msg, flags);
            if (n >= 0) {
                *ret_n = n;
                return 0;
            }
            eno = errno;
            if (eno != EINTR)
                break;
            rc = handle_eintr(args, err);
            if (rc < 0)
                return rc;
        }
        if (has_timeout && (eno == EAGAIN || eno == EWOULDBLOCK))
            continue; /* poll's false positive: wait again */
        cr_pyerr_errno(err, eno);
        return CR_EPY;
    }
}

/* The socket's family (SO_DOMAIN).  Returns 0 and *ret_family, or CR_EINVAL
 * if fd is not a socket, is closed, or ret_family is NULL.  Not routed
 * through the seam: cr_recvmsg() never calls it. */
int cr_sock_family(int fd, int *ret_family)
{
    int v = 0;
    socklen_t len = sizeof(v);

    if (ret_family == NULL)
        return CR_EINVAL;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) != 0)
        return CR_EINVAL;
    *ret_family = v;
    return 0;
}
