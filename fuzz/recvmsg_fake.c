/*
 * recvmsg_fake.c - fuzz target: the whole cr_recvmsg() path against a fake
 * kernel (fake_kernel.c) behind the struct cr_sys seam.
 *
 * The input (fuzz/FORMAT.md) gives the data, name and control bytes, the
 * msg_flags, EINTRs and an errno to report first, the timeout mode and the
 * warning policy, and offsets where real fds (dup()s of /dev/null) are
 * planted in the control bytes.  After the call it checks what §4 demands:
 *  - if the call raised after the fake kernel delivered, the close() calls
 *    are exactly CPython's list (cr_close_on_error() of the delivered bytes,
 *    same order, one call per slot) and the exception is the escalated
 *    RuntimeWarning (policy "error" and a warning) or the address
 *    SystemError (F10: an AF_UNIX sa_family with namelen 1, on any socket);
 *  - if it raised before delivery, or returned normally, nothing was
 *    closed and the result mirrors what was delivered;
 *  - every planted fd not in the close list is still open, and once the
 *    target closes those the fd table is as it was before (no leak, no
 *    stray close outside the seam).
 */
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "fake_kernel.h"
#include "fuzz.h"

static struct fk_state st; /* large (the close log): not on the stack */

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

/* Plants dup()s of a /dev/null fd at the input's offsets in st.control. */
static void plant(const struct fk_input *in, int devnull)
{
    for (unsigned i = 0; i < in->nplant; i++) {
        int32_t v;
        if ((size_t)in->plant_off[i] + 4 > in->control_len)
            continue;
        v = dup(devnull);
        FZ_CHECK(v >= 0);
        memcpy(st.control + in->plant_off[i], &v, 4);
        st.planted[st.nplanted] = v;
        st.planted_open[st.nplanted++] = 1;
    }
}

/* Checks the close log against CPython's list for the delivered bytes. */
static void check_closes(const struct fk_input *in, int raised_after)
{
    size_t need = 0, cap = st.delivered_c / 4 + 1;
    int32_t *want = malloc(cap * sizeof(*want));

    FZ_CHECK(want != NULL);
    if (raised_after)
        FZ_CHECK_EQ(cr_close_on_error(st.control, st.delivered_c,
                                      (enum cr_libc)in->libc, want, cap,
                                      &need), 0);
    FZ_CHECK(need <= FK_MAX_CLOSES);
    FZ_CHECK_EQ(st.nclose, need);
    for (size_t i = 0; i < need; i++)
        FZ_CHECK_EQ((uint32_t)st.closes[i], (uint32_t)want[i]);
    free(want);
}

/* The on_eintr of a signal handler that raises. */
static int raising_handler(void *ctx)
{
    (void)ctx;
    return 1;
}

/* The warning state of a walk over the delivered control bytes. */
static void walk_delivered(const struct fk_input *in, struct cr_walk *w)
{
    struct cr_item it;

    FZ_CHECK_EQ(cr_walk_init(w, st.control, st.delivered_c,
                             (enum cr_libc)in->libc), 0);
    while (cr_walk_next(w, &it))
        ;
}

/* The return code, exception and result against what the fake did. */
static void check_outcome(const struct fk_input *in, int rc,
                          const struct cr_recv_result *res,
                          const struct cr_pyerr *err)
{
    struct cr_walk w;
    size_t n;

    if (in->libc >= CR_LIBC_COUNT) {
        FZ_CHECK(rc == CR_EINVAL && !st.delivered);
        return;
    }
    FZ_CHECK(rc == 0 || rc == CR_EPY);
    if (rc == CR_EPY && !st.delivered) {
        FZ_CHECK(err->exc != CR_PY_NONE && err->exc != CR_PY_SYSTEM_ERROR &&
                 err->exc != CR_PY_RUNTIME_WARNING);
        FZ_CHECK(err->sys_errno == 0 || err->sys_errno == in->fail_errno);
        return;
    }
    FZ_CHECK(st.delivered);
    walk_delivered(in, &w);
    if (rc == CR_EPY) {
        if (err->exc == CR_PY_RUNTIME_WARNING) {
            FZ_CHECK(w.warning && (in->flags & FK_F_POLICY_ERROR));
            FZ_CHECK(strcmp(err->msg, CR_WARNING_TEXT) == 0);
        } else {
            /* F10: CPython decodes by the sa_family the kernel wrote, not
             * by the socket's family, so any socket can get here. */
            FZ_CHECK_EQ(err->exc, CR_PY_SYSTEM_ERROR);
            FZ_CHECK(in->namelen == 1 && in->name_len >= 1 &&
                     in->name[0] == AF_UNIX &&
                     (in->name_len < 2 || in->name[1] == 0));
        }
        return;
    }
    FZ_CHECK(!(w.warning && (in->flags & FK_F_POLICY_ERROR)));
    FZ_CHECK(res->warning == w.warning && res->stop == w.stop);
    FZ_CHECK_EQ(res->nitems, w.nitems);
    FZ_CHECK_EQ(res->controllen, st.delivered_c);
    FZ_CHECK(st.delivered_c == 0 ||
             memcmp(res->control, st.control, st.delivered_c) == 0);
    FZ_CHECK_EQ(res->msg_flags, in->msg_flags);
    n = in->bufsize > 0 ? (size_t)in->bufsize : 0;
    n = in->data_len < n ? in->data_len : n;
    FZ_CHECK_EQ(res->nbytes, n);
    if (!(in->flags & FK_F_INTO)) {
        FZ_CHECK_EQ(res->data_len, n);
        FZ_CHECK(n == 0 || memcmp(res->data, in->data, n) == 0);
    }
}

/* Fills *a for one call as the input says; a borrows in, sys and iov, and
 * iov[] points into iobuf (in->bufsize bytes, or none). */
static void make_args(const struct fk_input *in, const struct cr_sys *sys,
                      unsigned char *iobuf, struct iovec iov[2],
                      struct cr_recv_args *a)
{
    size_t total = in->bufsize > 0 ? (size_t)in->bufsize : 0;

    memset(a, 0, sizeof(*a));
    a->fd = 1000; /* never touched: every call goes to the fake */
    a->family = in->family;
    a->bufsize = in->bufsize;
    if (in->flags & FK_F_INTO) {
        iov[0] = (struct iovec){ iobuf, total / 2 };
        iov[1] = (struct iovec){ iobuf + total / 2, total - total / 2 };
        a->iov = iov;
        a->iovcnt = 2;
    }
    a->ancbufsize = in->ancbufsize;
    a->timeout_ns = in->timeout_ns;
    a->libc = (enum cr_libc)in->libc;
    a->policy = (in->flags & FK_F_POLICY_ERROR) ? CR_WARN_ERROR
                                                : CR_WARN_RECORD;
    a->on_eintr = (in->flags & FK_F_HANDLER_RAISES) ? raising_handler : NULL;
    a->sys = sys;
}

/* One input: see the file comment.  Returns 0; traps on a violation.
 * Every fd it opens (the /dev/null base, the planted dups) is closed
 * before it returns, by the library or here. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fk_input in;
    struct cr_sys sys;
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr err;
    struct iovec iov[2];
    unsigned char *iobuf;
    long fds_before;
    int devnull, rc;

    if (fk_parse(data, size, &in) < 0)
        return 0;
    memset(&st, 0, offsetof(struct fk_state, closes));
    st.in = &in;
    st.control = fz_exact_copy(in.control, in.control_len);
    iobuf = malloc(in.bufsize > 0 ? (size_t)in.bufsize : 1);
    FZ_CHECK(st.control != NULL && iobuf != NULL);
    fds_before = count_fds();
    devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    FZ_CHECK(devnull >= 0);
    plant(&in, devnull);
    fk_sys_init(&sys, &st);
    make_args(&in, &sys, iobuf, iov, &a);
    memset(&res, 0, sizeof(res));
    rc = cr_recvmsg(&a, &res, &err);
    check_outcome(&in, rc, &res, &err);
    check_closes(&in, rc == CR_EPY && st.delivered);
    for (unsigned i = 0; i < st.nplanted; i++) {
        if (st.planted_open[i]) {
            FZ_CHECK(fcntl(st.planted[i], F_GETFD) >= 0);
            close(st.planted[i]);
        }
    }
    close(devnull);
    FZ_CHECK_EQ(count_fds(), fds_before);
    if (rc == 0)
        cr_recv_result_free(&res);
    free(iobuf);
    free(st.control);
    return 0;
}
