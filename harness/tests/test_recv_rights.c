/*
 * test_recv_rights.c - cr_recvmsg() on real AF_UNIX socketpairs: the
 * kernel's SCM_RIGHTS truncation table and SO_PASSCRED rows (§10), fds
 * installed versus returned, MSG_CTRUNC, MSG_CMSG_CLOEXEC, MSG_PEEK,
 * SCM_MAX_FD and EMFILE.  Every received fd is closed by the test; the
 * runner checks the fd table around each test.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_recv_util.h"
#include "tests.h"

/* One row of §10's truncation table: 3 fds + 1 data byte over a stream
 * pair, recvmsg(10, anc). */
struct row {
    int64_t anc;
    size_t nitems;
    size_t data_len; /* of the one SCM_RIGHTS item */
    int ctrunc;
};

/* Sends 3 fds (dups of fd 0's stand-in: a pipe end) and one byte, then
 * receives with args a (fd and family filled in here) into *res.  Returns
 * cr_recvmsg's code; sets *err. */
static int send3_recv(int sv[2], struct cr_recv_args *a,
                      struct cr_recv_result *res, struct cr_pyerr *err)
{
    int p[2], fds[3];
    int rc;

    if (pipe(p) != 0)
        return -100;
    fds[0] = p[0];
    fds[1] = p[1];
    fds[2] = p[0];
    rc = (int)tu_send_fds(sv[1], fds, 3, "x", 1);
    close(p[0]);
    close(p[1]);
    if (rc != 1)
        return -101;
    return cr_recvmsg(a, res, err);
}

/* Checks one row; returns from the test on failure (cleanup first). */
static void check_row(const struct row *r)
{
    int sv[2], fds[8];
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    struct cr_item it;
    size_t n, nopen = 0;
    int rc;

    ASSERT_EQ(tu_pair(SOCK_STREAM, sv), 0);
    tu_args(&a, sv[0]);
    a.bufsize = 10;
    a.ancbufsize = r->anc;
    rc = send3_recv(sv, &a, &res, &e);
    close(sv[0]);
    close(sv[1]);
    ASSERT_EQ(rc, 0);
    n = tu_result_fds(&res, fds, 8);
    for (size_t i = 0; i < n && i < 8; i++)
        nopen += (size_t)tu_fd_open(fds[i]);
    /* Copy what is checked, then release before asserting. */
    {
        size_t nitems = res.nitems, dlen = 0;
        int warning = res.warning, flags = res.msg_flags;
        ssize_t nbytes = res.nbytes;
        size_t data_len = res.data_len;
        unsigned char byte = res.data[0];

        if (tu_result_item(&res, 0, &it))
            dlen = it.data_len;
        tu_result_close_free(&res);
        if (r->nitems != nitems)
            fprintf(stderr, "    row ancbufsize=%lld\n", (long long)r->anc);
        ASSERT_EQ(nbytes, 1);
        ASSERT_EQ(data_len, 1);
        ASSERT_EQ(byte, 'x');
        ASSERT_EQ(warning, 0);
        ASSERT_EQ(nitems, r->nitems);
        ASSERT_EQ(dlen, r->data_len);
        ASSERT_EQ(n, r->data_len / 4);
        ASSERT_EQ(nopen, n); /* every returned fd was installed */
        ASSERT_EQ(!!(flags & MSG_CTRUNC), r->ctrunc);
    }
}

TEST(scm_rights_truncation_table_rows_match_the_kernel)
{
    static const struct row rows[] = {
        {0, 0, 0, 1},   {1, 0, 0, 1},   {8, 0, 0, 1},   {15, 0, 0, 1},
        {16, 0, 0, 1},  {17, 0, 0, 1},  {19, 0, 0, 1},  {20, 1, 4, 1},
        {21, 1, 4, 1},  {23, 1, 4, 1},  {24, 1, 8, 1},  {25, 1, 8, 1},
        {27, 1, 8, 1},  {28, 1, 12, 0}, {29, 1, 12, 0}, {31, 1, 12, 0},
        {32, 1, 12, 0}, {36, 1, 12, 0}, {40, 1, 12, 0},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        check_row(&rows[i]);
        if (test_failed())
            return;
    }
}

/* SO_PASSCRED plus 2 fds (§10 related observations).  Item 0 is the
 * credentials, item 1 (if any) the fds. */
struct cred_row {
    int64_t anc;
    size_t cred_len;   /* data bytes of the (1, 2) item */
    size_t rights_len; /* data bytes of the (1, 1) item; 0: absent */
    int ctrunc;
};

static void check_cred_row(const struct cred_row *r)
{
    int sv[2], p[2], one = 1, fds[4];
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    struct cr_item c, f;
    int has_c, has_f, rc, flags, warning;
    size_t n, nitems;

    ASSERT_EQ(tu_pair(SOCK_STREAM, sv), 0);
    ASSERT_EQ(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
    ASSERT_EQ(pipe(p), 0);
    fds[0] = p[0];
    fds[1] = p[1];
    rc = (int)tu_send_fds(sv[1], fds, 2, "y", 1);
    close(p[0]);
    close(p[1]);
    tu_args(&a, sv[0]);
    a.ancbufsize = r->anc;
    if (rc == 1)
        rc = cr_recvmsg(&a, &res, &e);
    else
        rc = -100;
    close(sv[0]);
    close(sv[1]);
    ASSERT_EQ(rc, 0);
    has_c = tu_result_item(&res, 0, &c);
    has_f = tu_result_item(&res, 1, &f);
    n = tu_result_fds(&res, fds, 4);
    flags = res.msg_flags;
    warning = res.warning;
    nitems = res.nitems;
    tu_result_close_free(&res);
    if (nitems != 1 + (r->rights_len > 0))
        fprintf(stderr, "    cred row ancbufsize=%lld\n", (long long)r->anc);
    ASSERT_EQ(warning, 0);
    ASSERT_EQ(nitems, 1 + (r->rights_len > 0));
    ASSERT_TRUE(has_c);
    ASSERT_EQ(c.level, SOL_SOCKET);
    ASSERT_EQ(c.type, SCM_CREDENTIALS);
    ASSERT_EQ(c.data_len, r->cred_len);
    if (r->rights_len > 0) {
        ASSERT_TRUE(has_f);
        ASSERT_EQ(f.type, SCM_RIGHTS);
        ASSERT_EQ(f.data_len, r->rights_len);
    }
    ASSERT_EQ(n, r->rights_len / 4);
    ASSERT_EQ(!!(flags & MSG_CTRUNC), r->ctrunc);
}

TEST(so_passcred_rows_put_credentials_first_and_truncate_fds)
{
    static const struct cred_row rows[] = {
        {16, 0, 0, 1},  {24, 8, 0, 1},  {28, 12, 0, 1},
        {48, 12, 0, 1}, {52, 12, 4, 1}, {56, 12, 8, 0},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        check_cred_row(&rows[i]);
        if (test_failed())
            return;
    }
}

/* Receives 2 fds with flags; returns in *cloexec_mask bit i = FD_CLOEXEC
 * of fd i.  Returns the number of fds received, or -1. */
static int recv2_cloexec(int flags, int *cloexec_mask)
{
    int sv[2], p[2], fds[2];
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    size_t n;
    int rc;

    *cloexec_mask = 0;
    if (tu_pair(SOCK_STREAM, sv) != 0)
        return -1;
    if (pipe(p) != 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    fds[0] = p[0];
    fds[1] = p[1];
    rc = (int)tu_send_fds(sv[1], fds, 2, "z", 1);
    close(p[0]);
    close(p[1]);
    tu_args(&a, sv[0]);
    a.ancbufsize = 64;
    a.flags = flags;
    rc = rc == 1 ? cr_recvmsg(&a, &res, &e) : -1;
    close(sv[0]);
    close(sv[1]);
    if (rc != 0)
        return -1;
    n = tu_result_fds(&res, fds, 2);
    for (size_t i = 0; i < n && i < 2; i++) {
        if (fcntl(fds[i], F_GETFD) & FD_CLOEXEC)
            *cloexec_mask |= 1 << i;
    }
    tu_result_close_free(&res);
    return (int)n;
}

TEST(msg_cmsg_cloexec_sets_fd_cloexec_on_every_received_fd)
{
    int mask;

    ASSERT_EQ(recv2_cloexec(MSG_CMSG_CLOEXEC, &mask), 2);
    ASSERT_EQ(mask, 3);
}

TEST(msg_peek_with_msg_cmsg_cloexec_sets_fd_cloexec_too)
{
    int mask;

    ASSERT_EQ(recv2_cloexec(MSG_PEEK | MSG_CMSG_CLOEXEC, &mask), 2);
    ASSERT_EQ(mask, 3);
}

TEST(without_msg_cmsg_cloexec_received_fds_are_inheritable)
{
    int mask;

    ASSERT_EQ(recv2_cloexec(0, &mask), 2);
    ASSERT_EQ(mask, 0);
}

TEST(msg_peek_installs_a_fresh_set_then_the_read_another)
{
    int sv[2], p[2], fds[2], a_fd = -1, b_fd = -1;
    struct cr_recv_args a;
    struct cr_recv_result r1, r2;
    struct cr_pyerr e;
    int rc1, rc2;

    ASSERT_EQ(tu_pair(SOCK_STREAM, sv), 0);
    ASSERT_EQ(pipe(p), 0);
    (void)tu_send_fds(sv[1], &p[0], 1, "q", 1);
    close(p[0]);
    close(p[1]);
    tu_args(&a, sv[0]);
    a.ancbufsize = 32;
    a.flags = MSG_PEEK;
    rc1 = cr_recvmsg(&a, &r1, &e);
    a.flags = 0;
    rc2 = rc1 == 0 ? cr_recvmsg(&a, &r2, &e) : -1;
    close(sv[0]);
    close(sv[1]);
    if (rc1 == 0 && tu_result_fds(&r1, fds, 1) == 1)
        a_fd = fds[0];
    if (rc2 == 0 && tu_result_fds(&r2, fds, 1) == 1)
        b_fd = fds[0];
    if (rc1 == 0)
        tu_result_close_free(&r1);
    if (rc2 == 0)
        tu_result_close_free(&r2);
    ASSERT_EQ(rc1, 0);
    ASSERT_EQ(rc2, 0);
    ASSERT_GE(a_fd, 0);
    ASSERT_GE(b_fd, 0);
    ASSERT_NE(a_fd, b_fd); /* both were open at once: two installs */
}

TEST(scm_max_fd_253_fds_arrive_in_one_item)
{
    int sv[2], p[2], send[253], got[253], nopen = 0;
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    size_t n = 0;
    int rc;

    ASSERT_EQ(tu_pair(SOCK_STREAM, sv), 0);
    ASSERT_EQ(pipe(p), 0);
    for (int i = 0; i < 253; i++)
        send[i] = p[i & 1];
    rc = (int)tu_send_fds(sv[1], send, 253, "m", 1);
    close(p[0]);
    close(p[1]);
    tu_args(&a, sv[0]);
    a.ancbufsize = 16 + 253 * 4 + 4; /* CMSG_SPACE(253 * 4) */
    rc = rc == 1 ? cr_recvmsg(&a, &res, &e) : -1;
    close(sv[0]);
    close(sv[1]);
    ASSERT_EQ(rc, 0);
    n = tu_result_fds(&res, got, 253);
    for (size_t i = 0; i < n && i < 253; i++)
        nopen += tu_fd_open(got[i]);
    rc = res.msg_flags;
    tu_result_close_free(&res);
    ASSERT_EQ(n, 253);
    ASSERT_EQ(nopen, 253);
    ASSERT_EQ(rc & MSG_CTRUNC, 0);
}

/* Lowest limit L such that exactly room fd numbers below L are free. */
static rlim_t limit_for_room(int room)
{
    int fd = 0, free_seen = 0;

    for (;; fd++) {
        if (!tu_fd_open(fd)) {
            if (free_seen == room)
                return (rlim_t)fd;
            free_seen++;
        }
    }
}

/* Sends 3 fds, lowers RLIMIT_NOFILE to leave room for `room` fds, receives
 * with ancbufsize 64, restores the limit.  Returns fds received or -1;
 * *ctrunc and *nbytes report the result. */
static int recv_with_room(int room, int *ctrunc, ssize_t *nbytes)
{
    int sv[2], p[2], fds[3], got[3];
    struct rlimit old, low;
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    int rc, n;

    if (tu_pair(SOCK_STREAM, sv) != 0 || pipe(p) != 0)
        return -1;
    fds[0] = p[0];
    fds[1] = p[1];
    fds[2] = p[0];
    rc = (int)tu_send_fds(sv[1], fds, 3, "e", 1);
    close(p[0]);
    close(p[1]);
    tu_args(&a, sv[0]);
    a.ancbufsize = 64;
    if (rc != 1 || getrlimit(RLIMIT_NOFILE, &old) != 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    low = old;
    low.rlim_cur = limit_for_room(room);
    if (setrlimit(RLIMIT_NOFILE, &low) != 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    rc = cr_recvmsg(&a, &res, &e);
    (void)setrlimit(RLIMIT_NOFILE, &old);
    close(sv[0]);
    close(sv[1]);
    if (rc != 0)
        return -1;
    n = (int)tu_result_fds(&res, got, 3);
    *ctrunc = !!(res.msg_flags & MSG_CTRUNC);
    *nbytes = res.nbytes;
    tu_result_close_free(&res);
    return n;
}

TEST(emfile_cuts_the_fd_array_to_the_room_left_without_error)
{
    for (int room = 0; room <= 2; room++) {
        int ctrunc = -1;
        ssize_t nbytes = -1;

        ASSERT_EQ(recv_with_room(room, &ctrunc, &nbytes), room);
        ASSERT_EQ(ctrunc, 1);
        ASSERT_EQ(nbytes, 1); /* the data byte is still delivered */
    }
}
