/*
 * test_addr.c - address decoding (§6) on hand-made sockaddr bytes: None,
 * AF_INET, AF_INET6, the AF_UNIX str / abstract-bytes / F10 rules with the
 * unsigned n = addrlen - 2, the AF_UNSPEC preset, clamping to the family's
 * buffer size, raw addresses, zero in the fields a kind does not use, and
 * cr_addr_buflen()'s table.  Real-socket addresses are in
 * test_recv_addr.c.
 */
#include <arpa/inet.h>
#include <linux/can.h>
#include <linux/if_alg.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/qrtr.h>
#include <linux/tipc.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "test_recv_util.h"
#include "tests.h"

static const unsigned char zero14[14];

TEST(namelen_zero_decodes_to_none)
{
    struct sockaddr_storage ss;
    struct cr_addr a;
    struct cr_pyerr e;

    memset(&ss, 0xAB, sizeof(ss));
    ASSERT_EQ(cr_addr_decode(AF_INET, &ss, 0, &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_NONE);
}

TEST(inet_decodes_dotted_quad_and_host_order_port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in in;
    struct cr_addr a;
    struct cr_pyerr e;

    memset(&ss, 0, sizeof(ss));
    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    in.sin_port = htons(54321);
    in.sin_addr.s_addr = htonl(0x7F000001);
    memcpy(&ss, &in, sizeof(in));
    ASSERT_EQ(cr_addr_decode(AF_INET, &ss, sizeof(in), &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_INET);
    ASSERT_STREQ(a.host, "127.0.0.1");
    ASSERT_EQ(a.port, 54321);
}

TEST(inet6_decodes_numeric_host_without_scope_suffix)
{
    struct sockaddr_storage ss;
    struct sockaddr_in6 in6;
    struct cr_addr a;
    struct cr_pyerr e;

    memset(&ss, 0, sizeof(ss));
    memset(&in6, 0, sizeof(in6));
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(8080);
    in6.sin6_flowinfo = htonl(0x12345);
    in6.sin6_scope_id = 3;
    inet_pton(AF_INET6, "fe80::1", &in6.sin6_addr);
    memcpy(&ss, &in6, sizeof(in6));
    ASSERT_EQ(cr_addr_decode(AF_INET6, &ss, sizeof(in6), &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_INET6);
    ASSERT_STREQ(a.host, "fe80::1");
    ASSERT_EQ(a.port, 8080);
    ASSERT_EQ(a.flowinfo, 0x12345);
    ASSERT_EQ(a.scope_id, 3);
}

/* An AF_UNIX sockaddr with path bytes p[0, n) copied in. */
static void unix_ss(struct sockaddr_storage *ss, const void *p, size_t n)
{
    sa_family_t f = AF_UNIX;

    memset(ss, 0, sizeof(*ss));
    memcpy(ss, &f, sizeof(f));
    memcpy((unsigned char *)ss + 2, p, n);
}

TEST(unix_path_decodes_to_str_up_to_first_nul)
{
    struct sockaddr_storage ss;
    struct cr_addr a;
    struct cr_pyerr e;

    unix_ss(&ss, "/tmp/sock\0junk", 14);
    ASSERT_EQ(cr_addr_decode(AF_UNIX, &ss, 2 + 10, &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_UNIX_STR);
    ASSERT_EQ(a.nbytes, 9);
    ASSERT_MEMEQ(a.bytes, "/tmp/sock", 9);
    /* The str form reads sun_path as a C string, whatever addrlen says. */
    ASSERT_EQ(cr_addr_decode(AF_UNIX, &ss, 2 + 3, &a, &e), 0);
    ASSERT_EQ(a.nbytes, 9);
}

TEST(unix_abstract_decodes_to_bytes_with_leading_nul)
{
    struct sockaddr_storage ss;
    struct cr_addr a;
    struct cr_pyerr e;

    unix_ss(&ss, "\0abc\0def", 8);
    ASSERT_EQ(cr_addr_decode(AF_UNIX, &ss, 2 + 8, &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_UNIX_BYTES);
    ASSERT_EQ(a.nbytes, 8);
    ASSERT_MEMEQ(a.bytes, "\0abc\0def", 8);
}

TEST(unix_addrlen_2_decodes_to_empty_str)
{
    struct sockaddr_storage ss;
    struct cr_addr a;
    struct cr_pyerr e;

    unix_ss(&ss, "", 0);
    ASSERT_EQ(cr_addr_decode(AF_UNIX, &ss, 2, &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_UNIX_STR);
    ASSERT_EQ(a.nbytes, 0);
}

TEST(unix_addrlen_1_with_nul_path_raises_system_error)
{
    struct sockaddr_storage ss;
    struct cr_addr a;
    struct cr_pyerr e;

    unix_ss(&ss, "\0abstract", 9);
    memset(&a, 0x5A, sizeof(a));
    ASSERT_EQ(cr_addr_decode(AF_UNIX, &ss, 1, &a, &e), CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_SYSTEM_ERROR);
    ASSERT_STREQ(e.msg, "Negative size passed to PyBytes_FromStringAndSize");
    ASSERT_EQ(a.kind, 0x5A5A5A5A); /* ret_addr untouched on failure */
}

TEST(unix_abstract_name_in_an_unsized_family_buffer_stops_at_sun_path)
{
    struct sockaddr_storage ss;
    unsigned char name[108];
    struct cr_addr a;
    struct cr_pyerr e;

    memset(name, 'n', sizeof(name));
    name[0] = 0;
    unix_ss(&ss, name, sizeof(name));
    memset((unsigned char *)&ss + 110, 'X', sizeof(ss) - 110);
    /* AF_UNSPEC sizes nothing: up to sizeof(ss) = 128 bytes given, an
     * AF_UNIX sockaddr is read as far as a sockaddr_un goes */
    ASSERT_EQ(cr_addr_decode(AF_UNSPEC, &ss, sizeof(ss), &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_UNIX_BYTES);
    ASSERT_EQ(a.nbytes, 108);
    ASSERT_MEMEQ(a.bytes, name, 108);
}

TEST(unix_addrlen_1_with_non_nul_path_decodes_to_str)
{
    struct sockaddr_storage ss;
    struct cr_addr a;
    struct cr_pyerr e;

    unix_ss(&ss, "ab", 2);
    ASSERT_EQ(cr_addr_decode(AF_UNIX, &ss, 1, &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_UNIX_STR);
    ASSERT_EQ(a.nbytes, 2);
}

TEST(unix_108_byte_path_without_nul_gives_108_bytes)
{
    struct sockaddr_storage ss;
    unsigned char path[108];
    struct cr_addr a;
    struct cr_pyerr e;

    memset(path, 'p', sizeof(path));
    unix_ss(&ss, path, sizeof(path));
    /* bytes past sun_path are not NUL: the read must stop at 108 */
    memset((unsigned char *)&ss + 110, 'q', sizeof(ss) - 110);
    ASSERT_EQ(cr_addr_decode(AF_UNIX, &ss, 110, &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_UNIX_STR);
    ASSERT_EQ(a.nbytes, 108);
    ASSERT_MEMEQ(a.bytes, path, 108);
}

TEST(namelen_is_clamped_to_the_family_buffer_size)
{
    struct sockaddr_storage ss;
    unsigned char path[108];
    struct cr_addr a;
    struct cr_pyerr e;

    memset(path, 'z', sizeof(path));
    path[0] = 0;
    unix_ss(&ss, path, sizeof(path));
    ASSERT_EQ(cr_addr_decode(AF_UNIX, &ss, 128, &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_UNIX_BYTES);
    ASSERT_EQ(a.nbytes, 108);
}

TEST(unspec_preset_with_nonzero_namelen_gives_family_0_and_14_zero_bytes)
{
    struct sockaddr_storage ss;
    struct cr_addr a;
    struct cr_pyerr e;

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNSPEC;
    ASSERT_EQ(cr_addr_decode(AF_UNIX, &ss, 16, &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_OTHER);
    ASSERT_EQ(a.family, 0);
    ASSERT_EQ(a.nbytes, 14);
    ASSERT_MEMEQ(a.bytes, zero14, 14);
}

TEST(family_without_decoder_gives_family_and_sa_data)
{
    struct sockaddr_storage ss;
    struct cr_addr a;
    struct cr_pyerr e;

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = 99;
    memcpy((unsigned char *)&ss + 2, "0123456789abcdXY", 16);
    ASSERT_EQ(cr_addr_decode(AF_INET6, &ss, 28, &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_OTHER);
    ASSERT_EQ(a.family, 99);
    ASSERT_EQ(a.nbytes, 14);
    ASSERT_MEMEQ(a.bytes, "0123456789abcd", 14);
}

TEST(decoder_switches_on_buffer_family_not_socket_family)
{
    struct sockaddr_storage ss;
    struct sockaddr_in in;
    struct cr_addr a;
    struct cr_pyerr e;

    memset(&ss, 0, sizeof(ss));
    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    in.sin_port = htons(7);
    in.sin_addr.s_addr = htonl(0x0A000001);
    memcpy(&ss, &in, sizeof(in));
    ASSERT_EQ(cr_addr_decode(AF_UNIX, &ss, 16, &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_INET);
    ASSERT_STREQ(a.host, "10.0.0.1");
}

TEST(netlink_address_is_reported_raw_not_guessed)
{
    struct sockaddr_storage ss;
    struct sockaddr_nl nl;
    struct cr_addr a;
    struct cr_pyerr e;

    memset(&ss, 0, sizeof(ss));
    memset(&nl, 0, sizeof(nl));
    nl.nl_family = AF_NETLINK;
    nl.nl_pid = 1234;
    memcpy(&ss, &nl, sizeof(nl));
    ASSERT_EQ(cr_addr_decode(AF_NETLINK, &ss, sizeof(nl), &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_RAW);
    ASSERT_EQ(a.family, AF_NETLINK);
    ASSERT_EQ(a.nbytes, sizeof(nl));
    ASSERT_MEMEQ(a.bytes, &nl, sizeof(nl));
}

/* Leaves a page of 0xA5 on the stack below the caller's frame, where the
 * next call's locals will be; called through a volatile pointer so that it
 * is not inlined into the caller's frame. */
static void fill_stack(void)
{
    volatile unsigned char junk[4096];

    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = 0xA5;
}
static void (*volatile dirty_stack)(void) = fill_stack;

static int addr_is_zero_but_kind(const struct cr_addr *a)
{
    static const unsigned char zero[sizeof(a->bytes)];

    return a->family == 0 && a->host[0] == 0 && a->port == 0 &&
           a->flowinfo == 0 && a->scope_id == 0 && a->nbytes == 0 &&
           memcmp(a->bytes, zero, sizeof(zero)) == 0;
}

TEST(fields_a_kind_does_not_use_are_zero)
{
    struct sockaddr_storage ss;
    struct sockaddr_in in;
    struct cr_addr a;
    struct cr_pyerr e;

    memset(&ss, 0xAB, sizeof(ss));
    dirty_stack();
    ASSERT_EQ(cr_addr_decode(AF_INET, &ss, 0, &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_NONE);
    ASSERT_TRUE(addr_is_zero_but_kind(&a));

    memset(&in, 0, sizeof(in));
    in.sin_family = AF_INET;
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, &in, sizeof(in));
    dirty_stack();
    ASSERT_EQ(cr_addr_decode(AF_INET, &ss, sizeof(in), &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_INET);
    ASSERT_STREQ(a.host, "0.0.0.0");
    ASSERT_EQ(a.flowinfo, 0);
    ASSERT_EQ(a.scope_id, 0);
    ASSERT_EQ(a.nbytes, 0);
}

/* A raw address keeps addrlen bytes up to the size of bytes[]: a socket of
 * an unsized family reads up to a sockaddr_storage. */
TEST(raw_address_keeps_addrlen_bytes_up_to_the_bytes_field)
{
    struct sockaddr_storage ss;
    struct cr_addr a;
    struct cr_pyerr e;
    sa_family_t fam = AF_NETLINK;
    const size_t max = sizeof(a.bytes);

    memset(&ss, 0x5C, sizeof(ss));
    memcpy(&ss, &fam, sizeof(fam));
    ASSERT_EQ(cr_addr_decode(AF_UNSPEC, &ss, (socklen_t)(max - 1), &a, &e), 0);
    ASSERT_EQ(a.kind, CR_ADDR_RAW);
    ASSERT_EQ(a.nbytes, max - 1);
    ASSERT_EQ(cr_addr_decode(AF_UNSPEC, &ss, (socklen_t)max, &a, &e), 0);
    ASSERT_EQ(a.nbytes, max);
    ASSERT_EQ(cr_addr_decode(AF_UNSPEC, &ss, (socklen_t)(max + 1), &a, &e), 0);
    ASSERT_EQ(a.nbytes, max);
    ASSERT_MEMEQ(a.bytes, &ss, max);
}

TEST(buflen_is_sizeof_the_family_sockaddr)
{
    ASSERT_EQ(cr_addr_buflen(AF_UNIX), 110);
    ASSERT_EQ(cr_addr_buflen(AF_INET), 16);
    ASSERT_EQ(cr_addr_buflen(AF_INET6), 28);
    ASSERT_EQ(cr_addr_buflen(AF_NETLINK), 12);
    ASSERT_EQ(cr_addr_buflen(AF_PACKET), 20);
    ASSERT_EQ(cr_addr_buflen(AF_RDS), 16); /* sockaddr_in */
}

TEST(buflen_of_other_linux_families_matches_the_kernel_headers)
{
    /* addr.c hard-codes these sizes (musl-gcc lacks the headers); check
     * them against the uapi structs wherever the headers exist. */
    ASSERT_EQ(cr_addr_buflen(AF_PACKET), sizeof(struct sockaddr_ll));
    ASSERT_EQ(cr_addr_buflen(AF_QIPCRTR), sizeof(struct sockaddr_qrtr));
    ASSERT_EQ(cr_addr_buflen(AF_VSOCK), sizeof(struct sockaddr_vm));
    ASSERT_EQ(cr_addr_buflen(AF_TIPC), sizeof(struct sockaddr_tipc));
    ASSERT_EQ(cr_addr_buflen(AF_CAN), sizeof(struct sockaddr_can));
    ASSERT_EQ(cr_addr_buflen(AF_ALG), sizeof(struct sockaddr_alg));
}

/* AF_BLUETOOTH is sized by the socket's protocol in CPython, which this
 * API does not take: cmsgref reports it as unsizable (see addr.c). */
TEST(buflen_is_0_for_families_cpython_rejects_or_cmsgref_cannot_size)
{
    ASSERT_EQ(cr_addr_buflen(AF_UNSPEC), 0);
    ASSERT_EQ(cr_addr_buflen(AF_AX25), 0);
    ASSERT_EQ(cr_addr_buflen(AF_BLUETOOTH), 0);
    ASSERT_EQ(cr_addr_buflen(12345), 0);
    ASSERT_EQ(cr_addr_buflen(-1), 0);
}

TEST(decode_rejects_null_pointers)
{
    struct sockaddr_storage ss;
    struct cr_addr a;
    struct cr_pyerr e;

    memset(&ss, 0, sizeof(ss));
    ASSERT_EQ(cr_addr_decode(AF_UNIX, NULL, 0, &a, &e), CR_EINVAL);
    ASSERT_EQ(cr_addr_decode(AF_UNIX, &ss, 0, NULL, &e), CR_EINVAL);
    ASSERT_EQ(cr_addr_decode(AF_UNIX, &ss, 0, &a, NULL), CR_EINVAL);
}
