/*
 * fake_kernel.c - see fake_kernel.h.  The input reader checks every length
 * against what is left in 64-bit arithmetic before using it; the fake calls
 * mimic Linux only as far as the library can observe: recvmsg fills the
 * iovecs in order, writes at most msg_namelen name bytes but reports the
 * input's namelen, writes C = min(control length, msg_controllen) control
 * bytes and reports C, and fails with EINTR / an errno first if told.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fake_kernel.h"

struct reader {
    const uint8_t *p;
    uint64_t left;
};

/* Reads n <= 8 bytes little-endian; 0 when fewer are left (all consumed). */
static uint64_t take(struct reader *r, unsigned n)
{
    uint64_t v = 0;

    if ((uint64_t)n > r->left) {
        r->left = 0;
        return 0;
    }
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    r->left -= n;
    return v;
}

/* A u16-length-prefixed byte string, clamped to what is left. */
static const uint8_t *take_bytes(struct reader *r, size_t *ret_len)
{
    uint64_t n = take(r, 2);
    const uint8_t *p = r->p;

    if (n > r->left)
        n = r->left;
    r->p += n;
    r->left -= n;
    *ret_len = (size_t)n;
    return p;
}

/* See fake_kernel.h: the one reader of FORMAT.md.  *in borrows data. */
int fk_parse(const uint8_t *data, size_t size, struct fk_input *in)
{
    static const int families[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK,
                                    AF_APPLETALK };
    struct reader r = { data, size };
    unsigned mode;
    uint32_t bufsize;
    int32_t anc;

    if (size < 20)
        return -1;
    memset(in, 0, sizeof(*in));
    in->flags = (unsigned)take(&r, 1);
    in->libc = (unsigned)take(&r, 1) % (CR_LIBC_COUNT + 1);
    in->family = families[take(&r, 1) % 5];
    mode = (unsigned)take(&r, 1) % 3;
    in->timeout_ns = mode == 0 ? -1 : mode == 1 ? 0 : 10000000;
    in->eintr_count = (unsigned)take(&r, 1) % 17;
    in->fail_errno = (int)take(&r, 1);
    bufsize = (uint32_t)take(&r, 2);
    in->bufsize = bufsize == 0xffff ? -1 : (int64_t)bufsize;
    anc = (int32_t)(uint32_t)take(&r, 4);
    in->ancbufsize = anc > FK_MAX_ANC ? anc % (FK_MAX_ANC + 1) : anc;
    in->msg_flags = (int)(uint32_t)take(&r, 4);
    in->namelen = (uint32_t)take(&r, 2);
    in->nplant = (unsigned)take(&r, 1) % (FK_MAX_PLANT + 1);
    (void)take(&r, 1);
    for (unsigned i = 0; i < in->nplant; i++)
        in->plant_off[i] = (uint16_t)take(&r, 2);
    in->name = take_bytes(&r, &in->name_len);
    in->data = take_bytes(&r, &in->data_len);
    in->control = take_bytes(&r, &in->control_len);
    return 0;
}

/* The fake recvmsg: EINTRs, then the errno once, then delivery as the
 * file comment says.  Returns the data bytes written or -1 with errno.
 * msg and its buffers are the library's; nothing is kept. */
static ssize_t fk_recvmsg(void *ctx, int fd, struct msghdr *msg, int flags)
{
    struct fk_state *st = ctx;
    const struct fk_input *in = st->in;
    size_t done = 0, c;

    (void)fd;
    (void)flags;
    if (st->eintr_left > 0) {
        st->eintr_left--;
        errno = EINTR;
        return -1;
    }
    if (st->errno_left != 0) {
        errno = st->errno_left;
        st->errno_left = 0;
        return -1;
    }
    for (size_t i = 0; i < msg->msg_iovlen && done < in->data_len; i++) {
        size_t k = in->data_len - done;
        if (k > msg->msg_iov[i].iov_len)
            k = msg->msg_iov[i].iov_len;
        if (k > 0)
            memcpy(msg->msg_iov[i].iov_base, in->data + done, k);
        done += k;
    }
    if (msg->msg_name != NULL) {
        size_t k = in->name_len < msg->msg_namelen ? in->name_len
                                                   : msg->msg_namelen;
        if (k > 0)
            memcpy(msg->msg_name, in->name, k);
        msg->msg_namelen = in->namelen;
    }
    c = msg->msg_control == NULL ? 0 : in->control_len;
    if (c > msg->msg_controllen)
        c = msg->msg_controllen;
    if (c > 0)
        memcpy(msg->msg_control, st->control, c);
    msg->msg_controllen = c;
    msg->msg_flags = in->msg_flags;
    st->delivered = 1;
    st->delivered_c = c;
    return (ssize_t)done;
}

/* The fake poll: advances the clock; EINTR first if told, then ready
 * (1, POLLIN) or nothing ready (0). */
static int fk_poll(void *ctx, struct pollfd *fds, nfds_t n, int timeout_ms)
{
    struct fk_state *st = ctx;

    (void)n;
    (void)timeout_ms;
    st->clock_ns += 1000000;
    if (st->poll_calls++ == 0 && (st->in->flags & FK_F_POLL_EINTR)) {
        errno = EINTR;
        return -1;
    }
    if (st->in->flags & FK_F_POLL_EMPTY)
        return 0;
    fds[0].revents = POLLIN;
    return 1;
}

/* Records the close; really closes a planted fd the first time only. */
static int fk_close(void *ctx, int fd)
{
    struct fk_state *st = ctx;

    if (st->nclose < FK_MAX_CLOSES)
        st->closes[st->nclose] = fd;
    st->nclose++;
    for (unsigned i = 0; i < st->nplanted; i++) {
        if (st->planted[i] == fd && st->planted_open[i]) {
            st->planted_open[i] = 0;
            return close(fd);
        }
    }
    errno = EBADF;
    return -1;
}

/* The fake CLOCK_MONOTONIC: 1 ms later at every reading. */
static int64_t fk_now(void *ctx)
{
    struct fk_state *st = ctx;

    st->clock_ns += 1000000;
    return st->clock_ns;
}

/* Arms st's counters from st->in and points *sys at the fake calls. */
void fk_sys_init(struct cr_sys *sys, struct fk_state *st)
{
    st->eintr_left = st->in->eintr_count;
    st->errno_left = st->in->fail_errno;
    sys->recvmsg = fk_recvmsg;
    sys->poll = fk_poll;
    sys->close = fk_close;
    sys->now_ns = fk_now;
    sys->ctx = st;
}
