/*
 * fake_kernel.c - see fake_kernel.h.  The input reader checks every length
 * against what is left in 64-bit arithmetic before using it; the fake calls
 * mimic Linux only as far as the library can observe: recvmsg fills the
 * iovecs in order, writes at most msg_namelen name bytes but reports the
 * input's namelen, writes C = min(control length, msg_controllen) control
 * bytes and reports C, and fails with EINTR / an errno first if told.  The
 * checks count open fds in /proc/self/fd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fake_kernel.h"
#include "fuzz.h"

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
    static const int families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK,
                                   AF_APPLETALK};
    struct reader r = {data, size};
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
        size_t k =
            in->name_len < msg->msg_namelen ? in->name_len : msg->msg_namelen;
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
    st->control_addr = (uint64_t)(uintptr_t)msg->msg_control;
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

/* Number of open fds of this process (entries of /proc/self/fd, less the
 * one opendir() uses). */
static long count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = -1;

    FZ_CHECK(d != NULL);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n - 2; /* "." and ".." (n started at -1 for the DIR's own fd) */
}

/* Plants dup()s of st->devnull at the input's offsets in st->control. */
static void plant(struct fk_state *st)
{
    const struct fk_input *in = st->in;

    for (unsigned i = 0; i < in->nplant; i++) {
        int32_t v;
        if ((size_t)in->plant_off[i] + 4 > in->control_len)
            continue;
        v = dup(st->devnull);
        FZ_CHECK(v >= 0);
        memcpy(st->control + in->plant_off[i], &v, 4);
        st->planted[st->nplanted] = v;
        st->planted_open[st->nplanted++] = 1;
    }
}

/* The on_eintr of a signal handler that raises. */
static int raising_handler(void *ctx)
{
    (void)ctx;
    return 1;
}

/* Fills st->args for the call the input describes; the args borrow st's
 * buffers and seam. */
static void make_args(struct fk_state *st)
{
    const struct fk_input *in = st->in;
    struct cr_recv_args *a = &st->args;
    size_t total = in->bufsize > 0 ? (size_t)in->bufsize : 0;

    memset(a, 0, sizeof(*a));
    a->fd = 1000; /* never touched: every call goes to the fake */
    a->family = in->family;
    a->bufsize = in->bufsize;
    if (in->flags & FK_F_INTO) {
        st->iov[0] = (struct iovec){st->iobuf, total / 2};
        st->iov[1] = (struct iovec){st->iobuf + total / 2, total - total / 2};
        a->iov = st->iov;
        a->iovcnt = 2;
    }
    a->ancbufsize = in->ancbufsize;
    a->timeout_ns = in->timeout_ns;
    a->libc = (enum cr_libc)in->libc;
    a->policy =
        (in->flags & FK_F_POLICY_ERROR) ? CR_WARN_ERROR : CR_WARN_RECORD;
    a->on_eintr = (in->flags & FK_F_HANDLER_RAISES) ? raising_handler : NULL;
    a->sys = &st->sys;
}

void fk_setup(struct fk_state *st, const struct fk_input *in)
{
    memset(st, 0, offsetof(struct fk_state, closes));
    st->in = in;
    st->control = fz_exact_copy(in->control, in->control_len);
    st->iobuf = malloc(in->bufsize > 0 ? (size_t)in->bufsize : 1);
    FZ_CHECK(st->control != NULL && st->iobuf != NULL);
    st->fds_before = count_fds();
    st->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    FZ_CHECK(st->devnull >= 0);
    plant(st);
    st->eintr_left = in->eintr_count;
    st->errno_left = in->fail_errno;
    st->sys.recvmsg = fk_recvmsg;
    st->sys.poll = fk_poll;
    st->sys.close = fk_close;
    st->sys.now_ns = fk_now;
    st->sys.ctx = st;
    make_args(st);
}

/* Starts a walk of the delivered bytes at the address the receive path
 * walks them at: the buffer's own, where the model can hold it (§3.4). */
static void walk_delivered(const struct fk_state *st, struct cr_walk *w)
{
    FZ_CHECK_EQ(cr_walk_init(w, st->control, st->delivered_c,
                             (enum cr_libc)st->in->libc),
                0);
    (void)cr_walk_set_base(w, st->control_addr);
}

/* The close log against CPython's list for the delivered bytes (empty
 * unless the call raised after delivery). */
static void check_closes(const struct fk_state *st, int raised_after)
{
    size_t need = 0, cap = st->delivered_c / 4 + 1;
    int32_t *want = malloc(cap * sizeof(*want));
    struct cr_walk w;

    FZ_CHECK(want != NULL);
    if (raised_after) {
        walk_delivered(st, &w);
        FZ_CHECK_EQ(cr_close_on_error_at(st->control, st->delivered_c,
                                         (enum cr_libc)st->in->libc, w.base,
                                         want, cap, &need),
                    0);
    }
    FZ_CHECK(need <= FK_MAX_CLOSES);
    FZ_CHECK_EQ(st->nclose, need);
    for (size_t i = 0; i < need; i++)
        FZ_CHECK_EQ((uint32_t)st->closes[i], (uint32_t)want[i]);
    free(want);
}

/* The exception of a call that raised after delivery, against the walk w
 * of the delivered bytes. */
static void check_raised(const struct fk_input *in, const struct cr_walk *w,
                         const struct cr_pyerr *err)
{
    if (err->exc == CR_PY_RUNTIME_WARNING) {
        FZ_CHECK(w->warning && (in->flags & FK_F_POLICY_ERROR));
        FZ_CHECK(strcmp(err->msg, CR_WARNING_TEXT) == 0);
        return;
    }
    /* F10: CPython decodes by the sa_family the kernel wrote, not by the
     * socket's family, so any socket can get here. */
    FZ_CHECK_EQ(err->exc, CR_PY_SYSTEM_ERROR);
    FZ_CHECK(in->namelen == 1 && in->name_len >= 1 && in->name[0] == AF_UNIX &&
             (in->name_len < 2 || in->name[1] == 0));
}

/* A successful call's result against the walk w of the delivered bytes. */
static void check_result(const struct fk_state *st, const struct cr_walk *w,
                         const struct cr_recv_result *res)
{
    const struct fk_input *in = st->in;
    size_t n = in->bufsize > 0 ? (size_t)in->bufsize : 0;

    FZ_CHECK(!(w->warning && (in->flags & FK_F_POLICY_ERROR)));
    FZ_CHECK(res->warning == w->warning && res->stop == w->stop);
    FZ_CHECK_EQ(res->nitems, w->nitems);
    FZ_CHECK_EQ(res->controllen, st->delivered_c);
    FZ_CHECK(st->delivered_c == 0 ||
             memcmp(res->control, st->control, st->delivered_c) == 0);
    FZ_CHECK_EQ(res->msg_flags, in->msg_flags);
    n = in->data_len < n ? in->data_len : n;
    FZ_CHECK_EQ(res->nbytes, n);
    if (!(in->flags & FK_F_INTO)) {
        FZ_CHECK_EQ(res->data_len, n);
        FZ_CHECK(n == 0 || memcmp(res->data, in->data, n) == 0);
    }
}

void fk_check(const struct fk_state *st, int rc,
              const struct cr_recv_result *res, const struct cr_pyerr *err)
{
    const struct fk_input *in = st->in;
    struct cr_walk w;
    struct cr_item it;

    check_closes(st, rc == CR_EPY && st->delivered);
    if (in->libc >= CR_LIBC_COUNT) {
        FZ_CHECK(rc == CR_EINVAL && !st->delivered);
        return;
    }
    FZ_CHECK(rc == 0 || rc == CR_EPY);
    if (rc == CR_EPY && !st->delivered) {
        FZ_CHECK(err->exc != CR_PY_NONE && err->exc != CR_PY_SYSTEM_ERROR &&
                 err->exc != CR_PY_RUNTIME_WARNING);
        FZ_CHECK(err->sys_errno == 0 || err->sys_errno == in->fail_errno);
        return;
    }
    FZ_CHECK(st->delivered);
    walk_delivered(st, &w);
    while (cr_walk_next(&w, &it))
        continue;
    if (rc == CR_EPY)
        check_raised(in, &w, err);
    else
        check_result(st, &w, res);
}

void fk_teardown(struct fk_state *st)
{
    for (unsigned i = 0; i < st->nplanted; i++) {
        if (st->planted_open[i]) {
            FZ_CHECK(fcntl(st->planted[i], F_GETFD) >= 0);
            close(st->planted[i]);
        }
    }
    close(st->devnull);
    FZ_CHECK_EQ(count_fds(), st->fds_before);
    free(st->iobuf);
    free(st->control);
}
