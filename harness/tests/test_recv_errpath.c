/*
 * test_recv_errpath.c - the error path of a whole cr_recvmsg() call (§4,
 * §2 step 6) with a fake kernel in the cr_sys seam that returns the spec's
 * crafted control buffers (crafted.c: K01-K24, F1-F9, whose fds a..e are
 * the ints 100..104).  Real fds are planted at 100..104, so a close()
 * is observable with fcntl(F_GETFD):
 *  - CR_WARN_ERROR: a warning case raises RuntimeWarning and closes exactly
 *    the table's ints, in order, and nothing else; a case without warning
 *    returns normally and closes nothing;
 *  - CR_WARN_RECORD: nothing is ever closed; the caller gets every int.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "crafted.h"
#include "test_recv_util.h"
#include "tests.h"

#define NPLANT 5

struct kfake {
    const unsigned char *ctrl;
    size_t clen;
    size_t claim; /* nonzero: report this msg_controllen instead (a lie) */
    int32_t closed[16];
    size_t nclosed;
    int calls;
};

/* Delivers one data byte and the crafted control bytes; no address.  The
 * rest of the caller's control buffer is left as it was (not zeroed). */
static ssize_t kf_recvmsg(void *ctx, int fd, struct msghdr *msg, int flags)
{
    struct kfake *k = ctx;

    (void)fd;
    (void)flags;
    k->calls++;
    if (msg->msg_controllen < k->clen) {
        errno = EMSGSIZE; /* the test sized the buffer wrong */
        return -1;
    }
    if (k->clen > 0)
        memcpy(msg->msg_control, k->ctrl, k->clen);
    msg->msg_controllen = k->claim != 0 ? k->claim : k->clen;
    msg->msg_namelen = 0;
    msg->msg_flags = 0;
    if (msg->msg_iovlen > 0 && msg->msg_iov[0].iov_len > 0)
        ((char *)msg->msg_iov[0].iov_base)[0] = 'k';
    return 1;
}

/* Records the close; really closes only the planted fds, because the
 * K cases name ints such as 0 (K23) that must not hit the runner's fds. */
static int kf_close(void *ctx, int fd)
{
    struct kfake *k = ctx;

    if (k->nclosed < 16)
        k->closed[k->nclosed++] = fd;
    if (fd >= CRAFTED_FD_A && fd < CRAFTED_FD_A + NPLANT)
        return close(fd);
    errno = EBADF;
    return -1;
}

/* Opens /dev/null at 100..104.  Returns 0, or -1 if one of them was
 * already taken (then nothing is left planted). */
static int plant(void)
{
    int nul = open("/dev/null", O_RDONLY);

    if (nul < 0)
        return -1;
    for (int i = 0; i < NPLANT; i++) {
        if (tu_fd_open(CRAFTED_FD_A + i) ||
            dup2(nul, CRAFTED_FD_A + i) != CRAFTED_FD_A + i) {
            for (int j = 0; j < i; j++)
                close(CRAFTED_FD_A + j);
            close(nul);
            return -1;
        }
    }
    close(nul);
    return 0;
}

/* Bit i set iff 100+i is still open; closes all of them. */
static unsigned unplant(void)
{
    unsigned open_mask = 0;

    for (int i = 0; i < NPLANT; i++) {
        if (tu_fd_open(CRAFTED_FD_A + i)) {
            open_mask |= 1u << i;
            close(CRAFTED_FD_A + i);
        }
    }
    return open_mask;
}

/* Runs one crafted case through cr_recvmsg under policy and libc; returns
 * the call's code and fills *k, *res (freed here, fields kept), *err and
 * *open_mask.  Returns -100 if the fds could not be planted. */
static int run_case(const struct crafted *c, enum cr_warn_policy policy,
                    enum cr_libc libc, struct kfake *k,
                    struct cr_recv_result *res, struct cr_pyerr *err,
                    unsigned *open_mask)
{
    static unsigned char buf[CRAFTED_MAX];
    struct cr_sys sys;
    struct cr_recv_args a;
    int rc;

    memset(k, 0, sizeof(*k));
    k->clen = crafted_bytes(c, buf);
    k->ctrl = buf;
    memset(&sys, 0, sizeof(sys));
    sys.recvmsg = kf_recvmsg;
    sys.close = kf_close;
    sys.ctx = k;
    memset(&a, 0, sizeof(a));
    a.fd = 1000; /* never used: the fake answers */
    a.family = AF_UNIX;
    a.bufsize = 1;
    a.ancbufsize = CRAFTED_MAX;
    a.timeout_ns = -1;
    a.libc = libc;
    a.policy = policy;
    a.sys = &sys;
    if (plant() != 0)
        return -100;
    rc = cr_recvmsg(&a, res, err);
    *open_mask = unplant();
    if (rc == 0) {
        /* The fds "received" are the planted ints: already closed above,
         * so only the buffers are freed here. */
        cr_recv_result_free(res);
    }
    return rc;
}

/* Mask of planted slots (bits 0..4) named in a close list. */
static unsigned planted_mask(const int32_t *ints, size_t n)
{
    unsigned m = 0;

    for (size_t i = 0; i < n; i++) {
        if (ints[i] >= CRAFTED_FD_A && ints[i] < CRAFTED_FD_A + NPLANT)
            m |= 1u << (ints[i] - CRAFTED_FD_A);
    }
    return m;
}

static int expects_warning(const struct crafted *c, enum cr_libc libc)
{
    const char *s = c->expect[libc == CR_LIBC_GLIBC_LEGACY ? 1
                              : libc == CR_LIBC_MUSL       ? 2
                                                           : 0];

    if (s == NULL)
        s = c->expect[0];
    return strstr(s, " +w") != NULL;
}

TEST(error_policy_closes_exactly_cpythons_fd_set_for_every_crafted_case)
{
    size_t n;
    const struct crafted *cases = crafted_cases(&n);
    int nf = 0;

    for (size_t i = 0; i < n; i++) {
        const struct crafted *c = &cases[i];
        struct kfake k;
        struct cr_recv_result res;
        struct cr_pyerr e;
        unsigned open_mask = 0;
        int warn = expects_warning(c, CR_LIBC_GLIBC);
        int rc =
            run_case(c, CR_WARN_ERROR, CR_LIBC_GLIBC, &k, &res, &e, &open_mask);
        unsigned char kbuf[CRAFTED_MAX];
        int32_t kints[16];
        const int32_t *exp;
        size_t nexp;

        if (rc == -100) {
            test_fail(__FILE__, __LINE__, "fds 100..104 are not free");
            return;
        }
        if (c->id[0] == 'F')
            nf++;
        if (!warn) {
            ASSERT_EQ(rc, 0);
            ASSERT_EQ(k.nclosed, 0);
            ASSERT_EQ(open_mask, 0x1f);
            continue;
        }
        /* The table lists the close set of the F cases; for the K cases
         * it is the walk's own second pass (cr_close_on_error). */
        nexp = (size_t)c->nclose;
        exp = c->close;
        if (c->id[0] != 'F') {
            size_t len = crafted_bytes(c, kbuf);

            ASSERT_EQ(
                cr_close_on_error(kbuf, len, CR_LIBC_GLIBC, kints, 16, &nexp),
                0);
            exp = kints;
        }
        if (rc != CR_EPY || k.nclosed != nexp)
            fprintf(stderr, "    case %s\n", c->id);
        ASSERT_EQ(rc, CR_EPY);
        ASSERT_EQ(e.exc, CR_PY_RUNTIME_WARNING);
        ASSERT_STREQ(e.msg, CR_WARNING_TEXT);
        ASSERT_EQ(k.nclosed, nexp);
        for (size_t j = 0; j < k.nclosed && exp != NULL; j++)
            ASSERT_EQ(k.closed[j], exp[j]);
        /* Planted fds named in the set are closed; the others are not. */
        ASSERT_EQ(open_mask, 0x1fu & ~planted_mask(c->close, k.nclosed));
    }
    ASSERT_EQ(nf, 9);
}

TEST(record_policy_closes_nothing_and_hands_every_int_to_the_caller)
{
    size_t n;
    const struct crafted *cases = crafted_cases(&n);

    for (size_t i = 0; i < n; i++) {
        const struct crafted *c = &cases[i];
        struct kfake k;
        struct cr_recv_result res;
        struct cr_pyerr e;
        unsigned open_mask = 0;
        int rc = run_case(c, CR_WARN_RECORD, CR_LIBC_GLIBC, &k, &res, &e,
                          &open_mask);

        if (rc != 0)
            fprintf(stderr, "    case %s\n", c->id);
        ASSERT_EQ(rc, 0);
        ASSERT_EQ(k.nclosed, 0);
        ASSERT_EQ(open_mask, 0x1f);
        ASSERT_EQ(res.warning, expects_warning(c, CR_LIBC_GLIBC));
        ASSERT_EQ(res.nbytes, 1);
    }
}

TEST(f6_always_returns_both_fds_and_error_closes_both)
{
    size_t n, i;
    const struct crafted *cases = crafted_cases(&n);
    struct kfake k;
    struct cr_recv_result res;
    struct cr_pyerr e;
    unsigned open_mask;
    static unsigned char buf[CRAFTED_MAX];
    struct cr_sys sys;
    struct cr_recv_args a;
    int fds[4], rc;

    for (i = 0; i < n && strcmp(cases[i].id, "F6") != 0; i++)
        ;
    ASSERT_TRUE(i < n);
    /* Record: one truncated item with 8 bytes = fds a, b for the caller. */
    memset(&k, 0, sizeof(k));
    k.clen = crafted_bytes(&cases[i], buf);
    k.ctrl = buf;
    memset(&sys, 0, sizeof(sys));
    sys.recvmsg = kf_recvmsg;
    sys.close = kf_close;
    sys.ctx = &k;
    tu_args(&a, 1000);
    a.family = AF_UNIX;
    a.ancbufsize = CRAFTED_MAX;
    a.libc = CR_LIBC_GLIBC;
    a.sys = &sys;
    rc = cr_recvmsg(&a, &res, &e);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.nitems, 1);
    ASSERT_EQ(res.warning, 1);
    ASSERT_EQ(res.stop, CR_STOP_TRUNCATED);
    ASSERT_EQ(tu_result_fds(&res, fds, 4), 2);
    ASSERT_EQ(fds[0], CRAFTED_FD_A);
    ASSERT_EQ(fds[1], CRAFTED_FD_A + 1);
    cr_recv_result_free(&res);
    /* Error: both closed. */
    rc = run_case(&cases[i], CR_WARN_ERROR, CR_LIBC_GLIBC, &k, &res, &e,
                  &open_mask);
    ASSERT_EQ(rc, CR_EPY);
    ASSERT_EQ(open_mask, 0x1cu);
}

TEST(error_policy_follows_the_model_musl_f2_and_legacy_f4_do_not_warn)
{
    size_t n;
    const struct crafted *cases = crafted_cases(&n);

    for (size_t i = 0; i < n; i++) {
        const struct crafted *c = &cases[i];
        struct kfake k;
        struct cr_recv_result res;
        struct cr_pyerr e;
        unsigned open_mask = 0;
        int rc;

        if (strcmp(c->id, "F2") == 0) {
            ASSERT_EQ(expects_warning(c, CR_LIBC_MUSL), 0);
            rc = run_case(c, CR_WARN_ERROR, CR_LIBC_MUSL, &k, &res, &e,
                          &open_mask);
            ASSERT_EQ(rc, 0);
            ASSERT_EQ(k.nclosed, 0);
            ASSERT_EQ(open_mask, 0x1f);
        }
        if (strcmp(c->id, "F4") == 0) {
            ASSERT_EQ(expects_warning(c, CR_LIBC_GLIBC_LEGACY), 0);
            rc = run_case(c, CR_WARN_ERROR, CR_LIBC_GLIBC_LEGACY, &k, &res, &e,
                          &open_mask);
            ASSERT_EQ(rc, 0);
            ASSERT_EQ(k.nclosed, 0);
            ASSERT_EQ(open_mask, 0x1f);
        }
    }
}

TEST(controllen_reported_past_the_buffer_is_clamped_not_overread)
{
    static unsigned char buf[64];
    struct kfake k;
    struct cr_sys sys;
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    int rc;

    /* A fake kernel that writes 24 bytes and claims 64: the walk must see
     * only the 24-byte buffer (CPython would read past its buffer). */
    memset(buf, 0, sizeof(buf));
    buf[0] = 20; /* H(20,1,1) then 4 data bytes */
    buf[8] = 1;
    buf[12] = 1;
    memset(&k, 0, sizeof(k));
    k.ctrl = buf;
    k.clen = 24;
    k.claim = 64;
    memset(&sys, 0, sizeof(sys));
    sys.recvmsg = kf_recvmsg;
    sys.close = kf_close;
    sys.ctx = &k;
    tu_args(&a, 1000);
    a.family = AF_UNIX;
    a.ancbufsize = 24;
    a.libc = CR_LIBC_GLIBC;
    a.sys = &sys;
    rc = cr_recvmsg(&a, &res, &e);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.controllen, 24);
    ASSERT_EQ(res.nitems, 1);
    cr_recv_result_free(&res);
}
