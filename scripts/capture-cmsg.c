/*
 * capture-cmsg.c - capture control buffers exactly as the Linux kernel
 * writes them, as seeds for corpus/cmsg_parse/.
 *
 * Why: the crafted seeds (scripts/make-seeds) cover the spec's edge cases;
 * these cover what real kernels produce (§10): SCM_RIGHTS at each
 * ancbufsize around CMSG_LEN / CMSG_SPACE (the kernel truncates to
 * CMSG_LEN(4 * fds that fit) and uses the padding, dbus CVE-2014-3635),
 * SO_PASSCRED credentials before fds, SO_TIMESTAMP / SO_TIMESTAMPNS,
 * IP_PKTINFO and IPV6_PKTINFO.  Each file holds the first msg_controllen
 * bytes the kernel returned, nothing else.
 *
 * Usage: capture-cmsg OUTDIR   writes OUTDIR/seed-kernel-<what>-anc<N> and
 * prints one line per file; a scenario the host cannot run (no IPv6, say)
 * is reported as SKIPPED on stderr, never silently.  Exit 0, 1 if a
 * scenario failed, 2 on bad usage.  Received fds are closed (the buffers
 * come from the kernel, so the host's CMSG macros are safe on them); the
 * fd numbers inside the files are whatever the kernel gave this run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FDS 253 /* SCM_MAX_FD in the kernel's include/net/scm.h */

static const char *outdir;
static int failures;

/* Writes buf[0, n) to OUTDIR/seed-kernel-<name>-anc<anc>. */
static void save(const char *name, size_t anc, const void *buf, size_t n)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/seed-kernel-%s-anc%zu", outdir, name, anc);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "capture-cmsg: cannot write %s: %s\n", path,
                strerror(errno));
        failures++;
        return;
    }
    printf("%s (%zu bytes)\n", path, n);
}

/* Closes every fd of every SCM_RIGHTS item of a kernel-written buffer. */
static void close_received(struct msghdr *msg)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL;
         c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        for (size_t i = 0; (i + 1) * sizeof(int) <= c->cmsg_len - CMSG_LEN(0);
             i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            close(fd);
        }
    }
}

/* Receives one message on fd with an ancbufsize-byte control buffer and
 * saves the control bytes.  Returns 0 or -1. */
static int recv_save(int fd, const char *name, size_t anc)
{
    unsigned char data[64];
    unsigned char *control = malloc(anc > 0 ? anc : 1);
    struct iovec iov = {data, sizeof(data)};
    struct msghdr msg;
    ssize_t n;

    if (control == NULL)
        return -1;
    memset(control, 0xEE, anc > 0 ? anc : 1);
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = anc > 0 ? control : NULL;
    msg.msg_controllen = anc;
    n = recvmsg(fd, &msg, 0);
    if (n < 0) {
        fprintf(stderr, "capture-cmsg: %s: recvmsg: %s\n", name,
                strerror(errno));
        free(control);
        failures++;
        return -1;
    }
    if (msg.msg_controllen > 0)
        save(name, anc, control, msg.msg_controllen);
    close_received(&msg);
    free(control);
    return 0;
}

/* Sends one byte with an SCM_RIGHTS item naming one /dev/null fd nfds
 * times (the kernel installs nfds separate fds at the receiver).  Returns 0
 * or -1; the /dev/null fd is closed before returning. */
static int send_fds(int sock, int nfds)
{
    size_t space = CMSG_SPACE(MAX_FDS * sizeof(int));
    unsigned char *control = calloc(1, space);
    struct iovec iov = {"x", 1};
    struct msghdr msg;
    struct cmsghdr *c;
    int fds[MAX_FDS], rc, base = open("/dev/null", O_RDONLY);

    if (control == NULL || base < 0)
        return -1;
    for (int i = 0; i < nfds; i++)
        fds[i] = base;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
    memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
    rc = sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
    close(base);
    free(control);
    return rc;
}

/* SCM_RIGHTS (and with passcred, SCM_CREDENTIALS first) at one size. */
static void rights(int nfds, size_t anc, int passcred)
{
    int sv[2], on = 1;
    char name[64];

    snprintf(name, sizeof(name), "%srights-%dfds", passcred ? "cred-" : "",
             nfds);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        fprintf(stderr, "capture-cmsg: socketpair: %s\n", strerror(errno));
        failures++;
        return;
    }
    if (passcred)
        setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
    if (send_fds(sv[0], nfds) != 0) {
        fprintf(stderr, "capture-cmsg: %s: sendmsg: %s\n", name,
                strerror(errno));
        failures++;
    } else {
        recv_save(sv[1], name, anc);
    }
    close(sv[0]);
    close(sv[1]);
}

/* One UDP datagram over loopback with socket options opt[] set on the
 * receiver, captured at each ancbufsize in ancs[]. */
static void udp(int family, const char *name, const int (*opts)[2],
                size_t nopts, const size_t *ancs, size_t nanc)
{
    for (size_t i = 0; i < nanc; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int r = socket(family, SOCK_DGRAM, 0);
        int s = socket(family, SOCK_DGRAM, 0);
        int on = 1;

        memset(&ss, 0, sizeof(ss));
        ss.ss_family = (sa_family_t)family;
        if (family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        } else {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            a->sin6_addr = in6addr_loopback;
        }
        if (r < 0 || s < 0 ||
            bind(r, (struct sockaddr *)&ss,
                 family == AF_INET ? sizeof(struct sockaddr_in)
                                   : sizeof(struct sockaddr_in6)) != 0 ||
            getsockname(r, (struct sockaddr *)&ss, &sl) != 0) {
            fprintf(stderr,
                    "capture-cmsg: SKIPPED %s: no loopback for "
                    "family %d: %s\n",
                    name, family, strerror(errno));
            if (r >= 0)
                close(r);
            if (s >= 0)
                close(s);
            return;
        }
        for (size_t k = 0; k < nopts; k++)
            setsockopt(r, opts[k][0], opts[k][1], &on, sizeof(on));
        if (sendto(s, "x", 1, 0, (struct sockaddr *)&ss, sl) != 1) {
            fprintf(stderr, "capture-cmsg: %s: sendto: %s\n", name,
                    strerror(errno));
            failures++;
        } else {
            recv_save(r, name, ancs[i]);
        }
        close(r);
        close(s);
    }
}

/* Runs every scenario into argv[1]; exit status as in the file comment. */
int main(int argc, char **argv)
{
    static const size_t rights3[] = {16, 17, 19, 20, 21, 23, 24,
                                     25, 27, 28, 31, 32, 36, 40};
    static const size_t cred[] = {16, 24, 28, 48, 52, 56};
    static const int ts[][2] = {{SOL_SOCKET, SO_TIMESTAMP}};
    static const int tsns[][2] = {{SOL_SOCKET, SO_TIMESTAMPNS}};
    static const int pkt4[][2] = {{IPPROTO_IP, IP_PKTINFO}};
    static const int pkt6[][2] = {{IPPROTO_IPV6, IPV6_RECVPKTINFO}};
    static const int both[][2] = {{IPPROTO_IP, IP_PKTINFO},
                                  {SOL_SOCKET, SO_TIMESTAMPNS}};
    static const size_t ts_anc[] = {16, 20, 24, 32};
    static const size_t pk4_anc[] = {20, 28, 32};
    static const size_t pk6_anc[] = {24, 36, 40};
    static const size_t both_anc[] = {40, 48, 56, 64};

    struct stat st;

    if (argc == 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: capture-cmsg OUTDIR\n"
               "Captures the control buffers the kernel writes (SCM_RIGHTS "
               "around\nCMSG_LEN/CMSG_SPACE, SO_PASSCRED, SO_TIMESTAMP[NS], "
               "IP[V6]_PKTINFO)\ninto OUTDIR/seed-kernel-*.  Exit 0, 1 if a "
               "scenario failed, 2 on bad usage.\n");
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "capture-cmsg: usage: capture-cmsg OUTDIR (see "
                        "--help)\n");
        return 2;
    }
    if (stat(argv[1], &st) != 0) {
        fprintf(stderr, "capture-cmsg: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(stderr, "capture-cmsg: %s: not a directory\n", argv[1]);
        return 2;
    }
    outdir = argv[1];
    for (size_t i = 0; i < sizeof(rights3) / sizeof(rights3[0]); i++)
        rights(3, rights3[i], 0);
    rights(1, CMSG_LEN(4), 0);
    rights(1, CMSG_SPACE(4), 0);
    rights(2, CMSG_LEN(8) - 1, 0);
    rights(2, CMSG_SPACE(8) + 1, 0);
    rights(MAX_FDS, CMSG_SPACE(MAX_FDS * sizeof(int)), 0);
    rights(MAX_FDS, CMSG_LEN(100 * sizeof(int)) + 1, 0);
    for (size_t i = 0; i < sizeof(cred) / sizeof(cred[0]); i++)
        rights(2, cred[i], 1);
    udp(AF_INET, "so-timestamp", ts, 1, ts_anc, 4);
    udp(AF_INET, "so-timestampns", tsns, 1, ts_anc, 4);
    udp(AF_INET, "ip-pktinfo", pkt4, 1, pk4_anc, 3);
    udp(AF_INET6, "ipv6-pktinfo", pkt6, 1, pk6_anc, 3);
    udp(AF_INET, "ip-pktinfo-and-timestampns", both, 2, both_anc, 4);
    return failures ? 1 : 0;
}
