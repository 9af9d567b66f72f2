/*
 * test_recv_addr_inject.c - address cases only a fake kernel produces,
 * through the cr_sys seam around the real recvmsg(): msg_namelen forced to
 * 1 after a real abstract-bound sender with 2 fds (F10: SystemError, both
 * received fds closed through the seam, nothing else), and a namelen with
 * no family written (AF_UNSPEC preset: (0, 14 zero bytes)).
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test_recv_util.h"
#include "tests.h"

/* A fake kernel: the real recvmsg, then msg_namelen forced (or the name
 * left unwritten); close() is recorded, then really done. */
struct namefake {
    int force_namelen; /* 1: set msg_namelen = namelen after the call */
    int skip_real;     /* 1: write 1 data byte, no name, no control */
    socklen_t namelen;
    int closed[8];
    size_t nclosed;
};

static ssize_t nf_recvmsg(void *ctx, int fd, struct msghdr *msg, int flags)
{
    struct namefake *f = ctx;
    ssize_t n;

    if (f->skip_real) {
        ((char *)msg->msg_iov[0].iov_base)[0] = 'k';
        msg->msg_namelen = f->namelen;
        msg->msg_controllen = 0;
        msg->msg_flags = 0;
        return 1;
    }
    n = recvmsg(fd, msg, flags);
    if (n >= 0 && f->force_namelen)
        msg->msg_namelen = f->namelen;
    return n;
}

static int nf_close(void *ctx, int fd)
{
    struct namefake *f = ctx;

    if (f->nclosed < 8)
        f->closed[f->nclosed++] = fd;
    return close(fd);
}

TEST(namelen_1_after_abstract_sender_raises_system_error_and_closes_fds)
{
    struct namefake f;
    struct cr_sys sys;
    struct sockaddr_un r, s;
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    int rfd, sfd, p[2], rc = -1;

    memset(&f, 0, sizeof(f));
    f.force_namelen = 1;
    f.namelen = 1;
    memset(&sys, 0, sizeof(sys));
    sys.recvmsg = nf_recvmsg;
    sys.close = nf_close;
    sys.ctx = &f;
    memset(&r, 0, sizeof(r));
    memset(&s, 0, sizeof(s));
    r.sun_family = s.sun_family = AF_UNIX;
    snprintf(r.sun_path + 1, sizeof(r.sun_path) - 1, "cmsgref-f10r-%d",
             (int)getpid());
    snprintf(s.sun_path + 1, sizeof(s.sun_path) - 1, "cmsgref-f10s-%d",
             (int)getpid());
    rfd = socket(AF_UNIX, SOCK_DGRAM, 0);
    sfd = socket(AF_UNIX, SOCK_DGRAM, 0);
    ASSERT_EQ(pipe(p), 0);
    if (rfd >= 0 && sfd >= 0 &&
        bind(rfd, (struct sockaddr *)&r, sizeof(r)) == 0 &&
        bind(sfd, (struct sockaddr *)&s, sizeof(s)) == 0 &&
        connect(sfd, (struct sockaddr *)&r, sizeof(r)) == 0 &&
        tu_send_fds(sfd, p, 2, "f", 1) == 1) {
        tu_args(&a, rfd);
        a.ancbufsize = 64;
        a.sys = &sys;
        rc = cr_recvmsg(&a, &res, &e);
    }
    close(p[0]);
    close(p[1]);
    if (rc == 0)
        tu_result_close_free(&res);
    close(rfd);
    close(sfd);
    ASSERT_EQ(rc, CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_SYSTEM_ERROR);
    ASSERT_STREQ(e.msg, "Negative size passed to PyBytes_FromStringAndSize");
    ASSERT_EQ(f.nclosed, 2); /* exactly the two received fds */
    for (size_t i = 0; i < 2; i++) {
        ASSERT_TRUE(f.closed[i] != p[0] && f.closed[i] != p[1]);
        ASSERT_EQ(tu_fd_open(f.closed[i]), 0);
    }
}

TEST(namelen_without_family_written_gives_family_0_and_14_zero_bytes)
{
    static const unsigned char zero14[14];
    struct namefake f;
    struct cr_sys sys;
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    int rc;

    memset(&f, 0, sizeof(f));
    f.skip_real = 1;
    f.namelen = 16;
    memset(&sys, 0, sizeof(sys));
    sys.recvmsg = nf_recvmsg;
    sys.close = nf_close;
    sys.ctx = &f;
    tu_args(&a, 1000); /* never touched: the fake answers */
    a.family = AF_UNIX;
    a.sys = &sys;
    rc = cr_recvmsg(&a, &res, &e);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.addr.kind, CR_ADDR_OTHER);
    ASSERT_EQ(res.addr.family, 0);
    ASSERT_EQ(res.addr.nbytes, 14);
    ASSERT_MEMEQ(res.addr.bytes, zero14, 14);
    ASSERT_EQ(res.data[0], 'k');
    cr_recv_result_free(&res);
    ASSERT_EQ(f.nclosed, 0);
}
