/*
 * test_recv_util.c - see test_recv_util.h.  The sending side builds its
 * control message with the host's CMSG_* macros on bytes it wrote itself;
 * that is the trusted side, unlike the receive path under test.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "test_recv_util.h"

#define MAX_SEND_FDS 253 /* SCM_MAX_FD: the kernel's per-message cap */

int tu_pair(int type, int sv[2])
{
    return socketpair(AF_UNIX, type, 0, sv);
}

ssize_t tu_send_fds(int sock, const int *fds, size_t nfds, const void *data,
                    size_t len)
{
    static union {
        struct cmsghdr h;
        unsigned char b[CMSG_SPACE(MAX_SEND_FDS * sizeof(int))];
    } u;
    struct msghdr msg;
    struct iovec iov;
    struct cmsghdr *c;

    if (nfds > MAX_SEND_FDS) {
        errno = EINVAL;
        return -1;
    }
    memset(&msg, 0, sizeof(msg));
    memset(&u, 0, sizeof(u));
    iov.iov_base = (void *)data;
    iov.iov_len = len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (nfds > 0) {
        msg.msg_control = u.b;
        msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
        c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    }
    return sendmsg(sock, &msg, 0);
}

void tu_args(struct cr_recv_args *a, int fd)
{
    int family = AF_UNIX;

    memset(a, 0, sizeof(*a));
    (void)cr_sock_family(fd, &family);
    a->fd = fd;
    a->family = family;
    a->bufsize = 64;
    a->ancbufsize = 0;
    a->timeout_ns = -1;
    a->libc = cr_model_host();
    a->policy = CR_WARN_RECORD;
}

int tu_set_timeout(struct cr_recv_args *a, int64_t ns)
{
    int fl = fcntl(a->fd, F_GETFL);

    a->timeout_ns = ns;
    if (fl < 0)
        return -1;
    fl = ns >= 0 ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    return fcntl(a->fd, F_SETFL, fl);
}

int tu_fd_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

size_t tu_result_fds(const struct cr_recv_result *res, int *fds, size_t cap)
{
    struct cr_walk w;
    struct cr_item it;
    size_t n = 0;

    if (cr_walk_init(&w, res->control, res->controllen, res->libc) < 0)
        return 0;
    while (cr_walk_next(&w, &it)) {
        size_t k = cr_item_fd_count(w.model, &it);
        for (size_t i = 0; i < k; i++, n++) {
            if (n < cap)
                fds[n] = cr_item_fd_at(res->control, &it, i);
        }
    }
    return n;
}

void tu_result_close_free(struct cr_recv_result *res)
{
    int fds[512];
    size_t n = tu_result_fds(res, fds, 512);

    for (size_t i = 0; i < n && i < 512; i++) {
        if (fds[i] >= 0)
            close(fds[i]);
    }
    cr_recv_result_free(res);
}

int tu_result_item(const struct cr_recv_result *res, size_t i,
                   struct cr_item *ret)
{
    struct cr_walk w;
    struct cr_item it;
    size_t k = 0;

    if (cr_walk_init(&w, res->control, res->controllen, res->libc) < 0)
        return 0;
    while (cr_walk_next(&w, &it)) {
        if (k++ == i) {
            *ret = it;
            return 1;
        }
    }
    return 0;
}

double tu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
