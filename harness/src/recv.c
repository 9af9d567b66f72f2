/*
 * recv.c - socket.recvmsg() / recvmsg_into() from the C level down (§5,
 * §7): argument checks in CPython's order, buffers, the call (sock.c), the
 * walk (walk.c), the address (addr.c) and CPython's error path (§4).
 *
 * Upstream facts encoded (CPython Modules/socketmodule.c, sock_recvmsg()
 * and sock_recvmsg_guts(), 3.6-3.13):
 *  - order: bufsize < 0 (recvmsg only), the data buffer, getsockaddrlen(),
 *    the ancbufsize range [0, SOCKLEN_T_LIMIT], the control buffer, then
 *    the wait and the call; nothing before the call looks at the fd;
 *  - the control buffer is not zeroed; the address buffer is zeroed for
 *    the family's size with sa_family preset to AF_UNSPEC;
 *  - after the call: one walk; an escalated warning or a failure while
 *    building the result (F10) runs the error path, which closes every
 *    whole int of every visited SCM_RIGHTS item (cr_close_on_error()) and
 *    ignores close() failures; the exception then propagates;
 *  - recvmsg keeps min(nbytes, bufsize) data bytes; recvmsg_into reports
 *    the syscall's nbytes, which MSG_TRUNC can make larger than the
 *    buffers.
 *
 * Ownership: every allocation (data and control, as CPython's) happens
 * before the syscall, so no allocation can fail while received fds are in
 * flight; the error path closes each int as its walk reaches it
 * (cr_close_on_error_each()) and allocates nothing.  Limits: a msg_controllen
 * or msg_namelen larger than the buffer (only a fake kernel can report that) is
 * clamped to the buffer; CPython would read past its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pyerr.h"
#include "sock.h"
#include "walk.h"

/* What cr_recvmsg() allocates; all owned by it until handed over. */
struct bufs {
    unsigned char *data;
    unsigned char *control;
};

/* Frees what b owns (NULL members are fine); b is dead afterwards (every
 * caller returns). */
static void bufs_free(struct bufs *b)
{
    free(b->data);
    free(b->control);
}

/* Allocates everything before the call, failing as CPython does (§5 steps
 * 2-6).  Returns 0, or CR_EPY with *err; on failure nothing stays
 * allocated. */
static int prepare(const struct cr_recv_args *a, struct bufs *b,
                   struct cr_pyerr *err)
{
    int into = a->iov != NULL;

    memset(b, 0, sizeof(*b));
    if (into && a->iovcnt > INT32_MAX) {
        cr_pyerr_set(err, CR_PY_OS_ERROR,
                     "recvmsg_into() argument 1 is too long");
        return CR_EPY;
    }
    if (!into) {
        if (a->bufsize < 0) {
            cr_pyerr_set(err, CR_PY_VALUE_ERROR,
                         "negative buffer size in recvmsg()");
            return CR_EPY;
        }
        /* malloc(0) may return NULL legitimately: ask for 1 byte. */
        if ((uint64_t)a->bufsize < SIZE_MAX)
            b->data = malloc(a->bufsize > 0 ? (size_t)a->bufsize : 1);
        if (b->data == NULL) {
            cr_pyerr_set(err, CR_PY_MEMORY_ERROR, "");
            return CR_EPY;
        }
    }
    if (cr_addr_buflen(a->family) == 0) {
        cr_pyerr_set(err, CR_PY_OS_ERROR, "getsockaddrlen: bad family");
        bufs_free(b);
        return CR_EPY;
    }
    if (a->ancbufsize < 0 || a->ancbufsize > CR_SOCKLEN_T_LIMIT) {
        cr_pyerr_set(err, CR_PY_VALUE_ERROR,
                     "invalid ancillary data buffer length");
        bufs_free(b);
        return CR_EPY;
    }
    if (a->ancbufsize > 0) {
        b->control = malloc((size_t)a->ancbufsize); /* not zeroed: §1 */
        if (b->control == NULL) {
            cr_pyerr_set(err, CR_PY_MEMORY_ERROR, "");
            bufs_free(b);
            return CR_EPY;
        }
    }
    return 0;
}

/* The address both walks assume: the control buffer's own, unless the
 * model's pointers cannot hold it (a 32-bit model in a 64-bit process),
 * then the model's default. */
static uint64_t walk_base(const void *control, size_t len, enum cr_libc libc)
{
    struct cr_walk w;
    uint64_t at = (uint64_t)(uintptr_t)control;

    if (cr_walk_init(&w, control, len, libc) == 0 &&
        cr_walk_set_base(&w, at) == 0)
        return at;
    return cr_base_default(libc, len);
}

/* close_received()'s sink: one close() through the seam per int. */
struct closer {
    const struct cr_sys *sys;
};

static void close_one(void *ctx, int32_t fd)
{
    const struct closer *c = ctx;

    (void)cr_sys_close(c->sys, fd);
}

/* CPython's error path (§4): close() every int of cr_close_on_error()'s
 * list through the seam, in its order, ignoring failures.  Allocates and
 * frees nothing. */
static void close_received(const struct cr_recv_args *a, const struct bufs *b,
                           size_t controllen)
{
    struct closer c = {a->sys};

    if (controllen == 0)
        return;
    (void)cr_close_on_error_each(b->control, controllen, a->libc,
                                 walk_base(b->control, controllen, a->libc),
                                 close_one, &c);
}

/* See cmsgref.h.  Returns 0 with *ret_res (the caller owns the received
 * fds and frees *ret_res with cr_recv_result_free()), CR_EPY with *ret_err
 * (after the syscall: the error path's fds are closed), or CR_EINVAL for a
 * NULL pointer, an unknown libc or policy.  The caller keeps args, its
 * iovecs and the socket. */
int cr_recvmsg(const struct cr_recv_args *args, struct cr_recv_result *ret_res,
               struct cr_pyerr *ret_err)
{
    struct sockaddr_storage ss;
    struct msghdr msg;
    struct iovec one;
    struct bufs b;
    struct cr_walk w;
    struct cr_item it;
    struct cr_recv_result res;
    struct cr_pyerr err;
    size_t controllen;
    ssize_t n = 0;
    int rc;

    if (args == NULL || ret_res == NULL || ret_err == NULL ||
        cr_model_get(args->libc) == NULL ||
        (args->policy != CR_WARN_RECORD && args->policy != CR_WARN_ERROR))
        return CR_EINVAL;
    rc = prepare(args, &b, ret_err);
    if (rc < 0)
        return rc;

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNSPEC;
    memset(&msg, 0, sizeof(msg));
    msg.msg_name = &ss;
    msg.msg_namelen = cr_addr_buflen(args->family);
    if (args->iov != NULL) {
        msg.msg_iov = (struct iovec *)args->iov;
        msg.msg_iovlen = args->iovcnt;
    } else {
        one.iov_base = b.data;
        one.iov_len = (size_t)args->bufsize;
        msg.msg_iov = &one;
        msg.msg_iovlen = 1;
    }
    msg.msg_control = b.control;
    msg.msg_controllen = (size_t)args->ancbufsize;

    rc = cr_sock_call_recvmsg(args, &msg, &n, ret_err);
    if (rc < 0) {
        bufs_free(&b);
        return rc;
    }

    /* From here on, received fds are in flight: no allocation. */
    controllen = b.control == NULL ? 0 : msg.msg_controllen;
    if (controllen > (size_t)args->ancbufsize)
        controllen = (size_t)args->ancbufsize;
    memset(&res, 0, sizeof(res));
    (void)cr_walk_init(&w, b.control, controllen, args->libc);
    (void)cr_walk_set_base(&w, walk_base(b.control, controllen, args->libc));
    while (cr_walk_next(&w, &it))
        ;
    if (w.warning && args->policy == CR_WARN_ERROR) {
        close_received(args, &b, controllen);
        bufs_free(&b);
        cr_pyerr_set(ret_err, CR_PY_RUNTIME_WARNING, CR_WARNING_TEXT);
        return CR_EPY;
    }
    rc = cr_addr_decode(args->family, &ss, msg.msg_namelen, &res.addr, &err);
    if (rc < 0) {
        close_received(args, &b, controllen);
        bufs_free(&b);
        *ret_err = err;
        return CR_EPY;
    }

    res.nbytes = n;
    if (args->iov == NULL) {
        res.data = b.data;
        res.data_len = (uint64_t)n < (uint64_t)args->bufsize
                           ? (size_t)n
                           : (size_t)args->bufsize;
        b.data = NULL;
    }
    res.control = b.control;
    res.controllen = controllen;
    b.control = NULL;
    res.msg_flags = msg.msg_flags;
    res.libc = args->libc;
    res.stop = w.stop;
    res.warning = w.warning;
    res.nitems = w.nitems;
    bufs_free(&b);
    *ret_res = res;
    return 0;
}

/* Frees data and control and clears the pointers; the fds are the
 * caller's.  NULL is a no-op. */
void cr_recv_result_free(struct cr_recv_result *res)
{
    if (res == NULL)
        return;
    free(res->data);
    free(res->control);
    res->data = NULL;
    res->control = NULL;
}
