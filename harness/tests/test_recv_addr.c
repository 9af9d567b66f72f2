/*
 * test_recv_addr.c - the address element of cr_recvmsg() on real sockets
 * (§6 "Observed addresses": socketpairs, unbound, path-bound, abstract,
 * autobound and 108-byte-path AF_UNIX senders, an accepted AF_UNIX stream,
 * UDP over IPv4 and IPv6 loopback).  The injected cases are in
 * test_recv_addr_inject.c.  Paths live in fresh mkdtemp() directories,
 * removed afterwards; a missing loopback is reported as SKIPPED.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test_recv_util.h"
#include "tests.h"

/* recvmsg(64, 64) on fd (blocking; data must be queued). */
static int recv_addr(int fd, struct cr_recv_result *res)
{
    struct cr_recv_args a;
    struct cr_pyerr e;

    tu_args(&a, fd);
    a.ancbufsize = 64;
    tu_set_timeout(&a, INT64_C(2000000000));
    return cr_recvmsg(&a, res, &e);
}

TEST(socketpair_addresses_are_none_for_stream_dgram_seqpacket)
{
    static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};

    for (size_t i = 0; i < 3; i++) {
        int sv[2], rc;
        struct cr_recv_result res;

        ASSERT_EQ(tu_pair(types[i], sv), 0);
        (void)write(sv[1], "a", 1);
        rc = recv_addr(sv[0], &res);
        close(sv[0]);
        close(sv[1]);
        ASSERT_EQ(rc, 0);
        ASSERT_EQ(res.addr.kind, CR_ADDR_NONE);
        cr_recv_result_free(&res);
    }
}

/* A bound AF_UNIX datagram receiver plus a sender bound by bind_sender
 * (may be NULL: unbound); sends "d" and receives into *res. */
struct unix_case {
    char dir[64];
    char rpath[128];
};

static int unix_dgram_exchange(struct unix_case *uc,
                               const struct sockaddr_un *sender,
                               socklen_t sender_len, struct cr_recv_result *res)
{
    struct sockaddr_un r;
    int rfd, sfd, rc = -1;

    snprintf(uc->dir, sizeof(uc->dir), "/tmp/cmsgref-addr-XXXXXX");
    if (mkdtemp(uc->dir) == NULL)
        return -1;
    snprintf(uc->rpath, sizeof(uc->rpath), "%s/r", uc->dir);
    memset(&r, 0, sizeof(r));
    r.sun_family = AF_UNIX;
    memcpy(r.sun_path, uc->rpath, strlen(uc->rpath));
    rfd = socket(AF_UNIX, SOCK_DGRAM, 0);
    sfd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (rfd >= 0 && sfd >= 0 &&
        bind(rfd, (struct sockaddr *)&r, sizeof(r)) == 0 &&
        (sender == NULL ||
         bind(sfd, (const struct sockaddr *)sender, sender_len) == 0) &&
        sendto(sfd, "d", 1, 0, (struct sockaddr *)&r, sizeof(r)) == 1)
        rc = recv_addr(rfd, res);
    if (rfd >= 0)
        close(rfd);
    if (sfd >= 0)
        close(sfd);
    unlink(uc->rpath);
    return rc;
}

static void unix_case_cleanup(struct unix_case *uc)
{
    rmdir(uc->dir);
}

TEST(unbound_unix_dgram_sender_address_is_none)
{
    struct unix_case uc;
    struct cr_recv_result res;
    int rc = unix_dgram_exchange(&uc, NULL, 0, &res);

    unix_case_cleanup(&uc);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.addr.kind, CR_ADDR_NONE);
    cr_recv_result_free(&res);
}

TEST(path_bound_unix_sender_address_is_the_path_as_str)
{
    struct unix_case uc;
    struct cr_recv_result res;
    struct sockaddr_un s;
    char spath[128];
    int rc;

    memset(&s, 0, sizeof(s));
    s.sun_family = AF_UNIX;
    /* The receiver's helper makes the directory; reuse its name scheme by
     * binding the sender in /tmp directly with a pid-unique name. */
    snprintf(spath, sizeof(spath), "/tmp/cmsgref-s-%d\xff\xfe", (int)getpid());
    memcpy(s.sun_path, spath, strlen(spath));
    unlink(spath);
    rc = unix_dgram_exchange(&uc, &s, sizeof(s), &res);
    unlink(spath);
    unix_case_cleanup(&uc);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.addr.kind, CR_ADDR_UNIX_STR);
    ASSERT_EQ(res.addr.nbytes, strlen(spath));
    ASSERT_MEMEQ(res.addr.bytes, spath, strlen(spath));
    cr_recv_result_free(&res);
}

TEST(abstract_unix_sender_address_is_bytes_with_leading_nul)
{
    struct unix_case uc;
    struct cr_recv_result res;
    struct sockaddr_un s;
    char name[64];
    size_t n;
    int rc;

    n = (size_t)snprintf(name, sizeof(name), "cmsgref-abstract-%d",
                         (int)getpid());
    memset(&s, 0, sizeof(s));
    s.sun_family = AF_UNIX;
    memcpy(s.sun_path + 1, name, n);
    rc = unix_dgram_exchange(&uc, &s, (socklen_t)(2 + 1 + n), &res);
    unix_case_cleanup(&uc);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.addr.kind, CR_ADDR_UNIX_BYTES);
    ASSERT_EQ(res.addr.nbytes, 1 + n);
    ASSERT_EQ(res.addr.bytes[0], 0);
    ASSERT_MEMEQ(res.addr.bytes + 1, name, n);
    cr_recv_result_free(&res);
}

TEST(autobound_unix_sender_address_is_nul_plus_5_hex_chars)
{
    struct unix_case uc;
    struct cr_recv_result res;
    struct sockaddr_un s;
    int rc, hex = 1;

    memset(&s, 0, sizeof(s));
    s.sun_family = AF_UNIX;
    rc = unix_dgram_exchange(&uc, &s, sizeof(sa_family_t), &res);
    unix_case_cleanup(&uc);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.addr.kind, CR_ADDR_UNIX_BYTES);
    ASSERT_EQ(res.addr.nbytes, 6);
    ASSERT_EQ(res.addr.bytes[0], 0);
    for (size_t i = 1; i < 6; i++)
        hex &= strchr("0123456789abcdef", res.addr.bytes[i]) != NULL;
    ASSERT_TRUE(hex);
    cr_recv_result_free(&res);
}

TEST(sender_bound_to_108_byte_path_gives_the_full_108_chars)
{
    struct unix_case uc;
    struct cr_recv_result res;
    struct sockaddr_un s;
    char dir[64], cwd[4096], name[109];
    int rc = -1;

    snprintf(dir, sizeof(dir), "/tmp/cmsgref-108-XXXXXX");
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    ASSERT_TRUE(getcwd(cwd, sizeof(cwd)) != NULL);
    memset(name, 'n', 108);
    name[108] = 0;
    memset(&s, 0, sizeof(s));
    s.sun_family = AF_UNIX;
    memcpy(s.sun_path, name, 108); /* no NUL: all of sun_path */
    if (chdir(dir) == 0) {
        rc = unix_dgram_exchange(&uc, &s, sizeof(s), &res);
        unlink(name);
        unix_case_cleanup(&uc);
        if (chdir(cwd) != 0)
            rc = -2;
    }
    rmdir(dir);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.addr.kind, CR_ADDR_UNIX_STR);
    ASSERT_EQ(res.addr.nbytes, 108);
    ASSERT_MEMEQ(res.addr.bytes, name, 108);
    cr_recv_result_free(&res);
}

TEST(accepted_unix_stream_from_path_bound_client_reports_the_path)
{
    char dir[64], lpath[128], cpath[128];
    struct sockaddr_un l, c;
    struct cr_recv_result res;
    int lfd, cfd, afd = -1, rc = -1;

    snprintf(dir, sizeof(dir), "/tmp/cmsgref-acc-XXXXXX");
    ASSERT_TRUE(mkdtemp(dir) != NULL);
    snprintf(lpath, sizeof(lpath), "%s/l", dir);
    snprintf(cpath, sizeof(cpath), "%s/c", dir);
    memset(&l, 0, sizeof(l));
    memset(&c, 0, sizeof(c));
    l.sun_family = c.sun_family = AF_UNIX;
    memcpy(l.sun_path, lpath, strlen(lpath));
    memcpy(c.sun_path, cpath, strlen(cpath));
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    cfd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (lfd >= 0 && cfd >= 0 &&
        bind(lfd, (struct sockaddr *)&l, sizeof(l)) == 0 &&
        listen(lfd, 1) == 0 &&
        bind(cfd, (struct sockaddr *)&c, sizeof(c)) == 0 &&
        connect(cfd, (struct sockaddr *)&l, sizeof(l)) == 0)
        afd = accept(lfd, NULL, NULL);
    if (afd >= 0 && write(cfd, "s", 1) == 1)
        rc = recv_addr(afd, &res);
    if (afd >= 0)
        close(afd);
    close(lfd);
    close(cfd);
    unlink(lpath);
    unlink(cpath);
    rmdir(dir);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.addr.kind, CR_ADDR_UNIX_STR);
    ASSERT_EQ(res.addr.nbytes, strlen(cpath));
    ASSERT_MEMEQ(res.addr.bytes, cpath, strlen(cpath));
    cr_recv_result_free(&res);
}

/* UDP datagram over loopback in family fam; 1 = skipped (printed). */
static int udp_exchange(int fam, struct cr_recv_result *res, unsigned *port,
                        int *rc)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int r, s;

    *rc = -1;
    memset(&ss, 0, sizeof(ss));
    if (fam == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;

        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*in);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        len = sizeof(*in6);
    }
    r = socket(fam, SOCK_DGRAM, 0);
    s = socket(fam, SOCK_DGRAM, 0);
    if (r < 0 || s < 0 || bind(r, (struct sockaddr *)&ss, len) != 0 ||
        bind(s, (struct sockaddr *)&ss, len) != 0) {
        fprintf(stderr,
                "    SKIPPED: no %s loopback here (%s); this address "
                "case was NOT checked\n",
                fam == AF_INET ? "IPv4" : "IPv6", strerror(errno));
        if (r >= 0)
            close(r);
        if (s >= 0)
            close(s);
        return 1;
    }
    getsockname(s, (struct sockaddr *)&ss, &len);
    *port = fam == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                           : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    getsockname(r, (struct sockaddr *)&ss, &len);
    if (sendto(s, "u", 1, 0, (struct sockaddr *)&ss, len) == 1)
        *rc = recv_addr(r, res);
    close(r);
    close(s);
    return 0;
}

TEST(udp_over_ipv4_loopback_gives_host_and_port)
{
    struct cr_recv_result res;
    unsigned port = 0;
    int rc;

    if (udp_exchange(AF_INET, &res, &port, &rc))
        return;
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.addr.kind, CR_ADDR_INET);
    ASSERT_STREQ(res.addr.host, "127.0.0.1");
    ASSERT_EQ(res.addr.port, port);
    cr_recv_result_free(&res);
}

TEST(udp_over_ipv6_loopback_gives_host_port_flowinfo_scope)
{
    struct cr_recv_result res;
    unsigned port = 0;
    int rc;

    if (udp_exchange(AF_INET6, &res, &port, &rc))
        return;
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.addr.kind, CR_ADDR_INET6);
    ASSERT_STREQ(res.addr.host, "::1");
    ASSERT_EQ(res.addr.port, port);
    ASSERT_EQ(res.addr.flowinfo, 0);
    ASSERT_EQ(res.addr.scope_id, 0);
    cr_recv_result_free(&res);
}
