/*
 * recv_bench.c - `make bench`'s recv_vs_raw: the cost of the
 * reference's whole receive call, cr_recvmsg(), against the floor of the
 * same work done by hand: raw recvmsg(2) plus a minimal CMSG loop.
 *
 * Traffic: an AF_UNIX stream socketpair; each message is PAYLOAD data bytes
 * with one SCM_RIGHTS item of 3 fds (dups of one pipe end), sent with
 * sendmsg(2).  Each round sends a batch of messages (untimed), then times
 * receiving the batch with one side; the other side gets its own batch in
 * the same round, the order alternating between rounds.  Both sides close
 * the 3 received fds with close(2), one by one, in the order received.
 * The output is one JSON line: per-side ns/call of every round, the medians
 * and the median of the per-round ratios cr/raw.
 *
 * Upstream facts encoded: a unix stream recvmsg stops after the skb that
 * carries fds, so with bufsize = PAYLOAD every call reads exactly one
 * message and its 3 fds (Linux net/unix/af_unix.c); the kernel only writes
 * well-formed headers (spec §10), so the raw side may use the host's
 * CMSG_NXTHDR here - the library never does.  Fds in flight stay far below
 * RLIMIT_NOFILE (BATCH_MAX * 3).
 *
 * Checks (exit 1, one line on stderr): every call returns PAYLOAD bytes
 * and exactly 3 fds, and the process's fd table is the same size at the
 * end as at the start.  Bad arguments: one line on stderr, exit 2.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmsgref.h"

#define PAYLOAD 16
#define NFDS 3
#define BATCH_MAX 128
#define ROUNDS_MAX 100000

static int send_fds[NFDS];

/* Prints "recv_bench: msg" on stderr and exits with code (1: a check
 * failed, 2: bad arguments).  Never returns. */
static void die(int code, const char *msg)
{
    fprintf(stderr, "recv_bench: %s\n", msg);
    exit(code);
}

/* CLOCK_MONOTONIC in nanoseconds. */
static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Number of open fds of this process (entries of /proc/self/fd, minus the
 * directory's own fd); -1 if /proc is unavailable. */
static int fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n - 1;
}

/* One message's buffers: PAYLOAD data bytes and room for NFDS fds, with
 * the msghdr that points at them. */
struct one_msg {
    unsigned char data[PAYLOAD];
    union {
        struct cmsghdr h;
        unsigned char b[CMSG_SPACE(sizeof(int) * NFDS)];
    } ctl;
    struct iovec iov;
    struct msghdr msg;
};

/* Points o->msg at o's own buffers; zeroes the header and control bytes
 * (not the data). */
static void one_msg_init(struct one_msg *o)
{
    memset(&o->ctl, 0, sizeof(o->ctl));
    memset(&o->msg, 0, sizeof(o->msg));
    o->iov.iov_base = o->data;
    o->iov.iov_len = sizeof(o->data);
    o->msg.msg_iov = &o->iov;
    o->msg.msg_iovlen = 1;
    o->msg.msg_control = o->ctl.b;
    o->msg.msg_controllen = sizeof(o->ctl.b);
}

/* Sends n messages of PAYLOAD bytes, each with the NFDS send_fds, on fd.
 * The fds stay owned by this file (the kernel takes its own references). */
static void send_batch(int fd, int n)
{
    struct one_msg o;
    struct cmsghdr *c;

    one_msg_init(&o);
    memset(o.data, 'x', sizeof(o.data));
    c = CMSG_FIRSTHDR(&o.msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * NFDS);
    memcpy(CMSG_DATA(c), send_fds, sizeof(send_fds));
    for (int i = 0; i < n; i++) {
        if (sendmsg(fd, &o.msg, 0) != (ssize_t)sizeof(o.data))
            die(1, "sendmsg failed");
    }
}

/* The floor: raw recvmsg(2) and a minimal CMSG loop that closes every
 * received fd.  Returns the number of fds received (and closed). */
static int recv_raw(int fd)
{
    struct one_msg o;
    struct cmsghdr *c;
    int got = 0;
    ssize_t n;

    one_msg_init(&o);
    n = recvmsg(fd, &o.msg, 0);
    if (n != PAYLOAD)
        die(1, "raw recvmsg did not return one message");
    for (c = CMSG_FIRSTHDR(&o.msg); c != NULL; c = CMSG_NXTHDR(&o.msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        for (size_t k = 0; k + sizeof(int) <= c->cmsg_len - CMSG_LEN(0);
             k += sizeof(int)) {
            int v;
            memcpy(&v, CMSG_DATA(c) + k, sizeof(v));
            close(v);
            got++;
        }
    }
    return got;
}

/* The reference: cr_recvmsg() as CPython's recvmsg(PAYLOAD, 32) on a
 * blocking socket, then the same close loop over its items.  Returns the
 * number of fds received (and closed). */
static int recv_cr(int fd)
{
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr err;
    struct cr_walk w;
    struct cr_item it;
    const struct cr_model *m = cr_model_get(cr_model_host());
    int got = 0;

    memset(&a, 0, sizeof(a));
    a.fd = fd;
    a.family = AF_UNIX;
    a.bufsize = PAYLOAD;
    a.ancbufsize = CMSG_SPACE(sizeof(int) * NFDS);
    a.timeout_ns = -1;
    a.libc = cr_model_host();
    a.policy = CR_WARN_RECORD;
    if (cr_recvmsg(&a, &res, &err) != 0)
        die(1, "cr_recvmsg failed");
    if (res.data_len != PAYLOAD)
        die(1, "cr_recvmsg did not return one message");
    if (cr_walk_init(&w, res.control, res.controllen, a.libc) != 0)
        die(1, "cr_walk_init failed");
    while (cr_walk_next(&w, &it)) {
        size_t nfd = cr_item_fd_count(m, &it);
        for (size_t k = 0; k < nfd; k++) {
            close(cr_item_fd_at(res.control, &it, k));
            got++;
        }
    }
    cr_recv_result_free(&res);
    return got;
}

/* Times one batch of n receives with one side; returns ns per call. */
static double timed_batch(int rfd, int n, int use_cr)
{
    int64_t t0, t1;

    t0 = now_ns();
    for (int i = 0; i < n; i++) {
        int got = use_cr ? recv_cr(rfd) : recv_raw(rfd);
        if (got != NFDS)
            die(1, "a call did not deliver exactly 3 fds");
    }
    t1 = now_ns();
    return (double)(t1 - t0) / n;
}

/* qsort comparator for doubles (a and b point into the array). */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Median of v[0, n) (sorts a copy); n > 0. */
static double median(const double *v, int n)
{
    double *c = malloc(sizeof(double) * (size_t)n);
    double r;

    if (c == NULL)
        die(1, "out of memory");
    memcpy(c, v, sizeof(double) * (size_t)n);
    qsort(c, (size_t)n, sizeof(double), cmp_double);
    r = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
    free(c);
    return r;
}

/* Parses a decimal int in [lo, hi]; exits 2 naming the option if not. */
static int parse_int(const char *s, const char *opt, int lo, int hi)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "recv_bench: %s needs an integer in [%d, %d]\n", opt,
                lo, hi);
        exit(2);
    }
    return (int)v;
}

/* Prints "key":[v0,...], to stdout; v is borrowed. */
static void print_list(const char *key, const double *v, int n)
{
    printf("\"%s\":[", key);
    for (int i = 0; i < n; i++)
        printf("%s%.1f", i ? "," : "", v[i]);
    printf("],");
}

/* Runs the rounds (see the file comment) and prints the JSON line.
 * Returns 0, or exits 1/2 through die(). */
int main(int argc, char **argv)
{
    int rounds = 300, batch = 64, warmup = 20, sv[2], p[2], fds0;
    double *raw, *cr, *ratio;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = parse_int(argv[++i], "--rounds", 1, ROUNDS_MAX);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = parse_int(argv[++i], "--batch", 1, BATCH_MAX);
        else if (strcmp(argv[i], "--warmup") == 0 && i + 1 < argc)
            warmup = parse_int(argv[++i], "--warmup", 0, ROUNDS_MAX);
        else
            die(2, "usage: recv_bench [--rounds N] [--batch N] [--warmup N]");
    }
    raw = malloc(sizeof(double) * (size_t)rounds);
    cr = malloc(sizeof(double) * (size_t)rounds);
    ratio = malloc(sizeof(double) * (size_t)rounds);
    if (raw == NULL || cr == NULL || ratio == NULL)
        die(1, "out of memory");
    fds0 = fd_count();
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || pipe(p) != 0)
        die(1, "socketpair/pipe failed");
    for (int i = 0; i < NFDS; i++)
        send_fds[i] = p[i % 2];
    for (int r = -warmup; r < rounds; r++) {
        /* Alternate which side goes first; warm-up rounds are discarded. */
        for (int k = 0; k < 2; k++) {
            int use_cr = (r + k) % 2 != 0;
            double ns;
            send_batch(sv[0], batch);
            ns = timed_batch(sv[1], batch, use_cr);
            if (r >= 0) {
                if (use_cr)
                    cr[r] = ns;
                else
                    raw[r] = ns;
            }
        }
        if (r >= 0)
            ratio[r] = cr[r] / raw[r];
    }
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
    if (fds0 >= 0 && fd_count() != fds0)
        die(1, "the fd table changed size: a received fd leaked");
    printf("{\"rounds\":%d,\"batch\":%d,\"fds_per_call\":%d,"
           "\"payload\":%d,",
           rounds, batch, NFDS, PAYLOAD);
    print_list("raw_ns", raw, rounds);
    print_list("cr_ns", cr, rounds);
    printf("\"raw_ns_median\":%.1f,\"cr_ns_median\":%.1f,"
           "\"ratio_median\":%.4f}\n",
           median(raw, rounds), median(cr, rounds), median(ratio, rounds));
    free(raw);
    free(cr);
    free(ratio);
    return fflush(stdout) == 0 ? 0 : 1;
}
