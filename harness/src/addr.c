/*
 * addr.c - the fourth element of recvmsg()'s tuple: how CPython sizes the
 * address buffer for a socket family and how it turns the bytes the kernel
 * wrote there into a Python value (§6).
 *
 * Upstream facts encoded (CPython Modules/socketmodule.c, getsockaddrlen()
 * and makesockaddr(), Linux build):
 *  - the buffer size comes from the *socket's* family: sizeof the family's
 *    sockaddr (AF_UNIX 110, AF_INET 16, AF_INET6 28, AF_NETLINK 12, ...);
 *    any other family is "getsockaddrlen: bad family";
 *  - the decoder switches on the sa_family *in the buffer*, which CPython
 *    presets to AF_UNSPEC, and sees addrlen = min(msg_namelen, size);
 *  - addrlen 0 is None; AF_INET is (host, port); AF_INET6 is (host, port,
 *    flowinfo, scope_id), numeric host without %scope (3.7+, bpo-32221);
 *  - AF_UNIX on Linux computes n = addrlen - 2 as a size_t: n != 0 with a
 *    NUL first path byte gives bytes sun_path[0:n] (abstract name), else a
 *    str read as a C string from sun_path; addrlen 1 with a NUL path byte
 *    wraps n and PyBytes_FromStringAndSize() raises SystemError (F10);
 *  - a family without a decoder gives (family, the 14 sa_data bytes).
 *
 * Limits: CPython also has decoders for AF_NETLINK, AF_QIPCRTR, AF_VSOCK,
 * AF_BLUETOOTH, AF_PACKET, AF_TIPC, AF_CAN and AF_ALG.  Those are out of scope:
 * such an address is returned as CR_ADDR_RAW (family plus the first addrlen
 * raw bytes, at most 108) rather than guessed.  AF_BLUETOOTH's buffer size
 * depends on the socket's protocol, which this API does not take, so
 * cr_addr_buflen() rejects it (CPython would size it per protocol).  The family
 * table is that of CPython 3.8-3.13; 3.6 lacks AF_VSOCK and AF_QIPCRTR and 3.7
 * lacks AF_QIPCRTR, so there those families are "bad family".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>

#include "cmsgref.h"
#include "pyerr.h"

/* Linux address families and sockaddr sizes that the libc headers do not
 * all provide (musl-gcc has no <linux/...>).  The sizes are the sizeof of
 * the kernel's uapi structs, the same on x86-64 and i386. */
#ifndef AF_QIPCRTR
#define AF_QIPCRTR 42
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_RDS
#define AF_RDS 21
#endif
#ifndef AF_TIPC
#define AF_TIPC 30
#endif
#ifndef AF_CAN
#define AF_CAN 29
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif
#define SIZEOF_SOCKADDR_NL 12   /* struct sockaddr_nl */
#define SIZEOF_SOCKADDR_LL 20   /* struct sockaddr_ll */
#define SIZEOF_SOCKADDR_QRTR 12 /* struct sockaddr_qrtr */
#define SIZEOF_SOCKADDR_VM 16   /* struct sockaddr_vm */
#define SIZEOF_SOCKADDR_TIPC 16 /* struct sockaddr_tipc */
#define SIZEOF_SOCKADDR_CAN 24  /* struct sockaddr_can (with j1939) */
#define SIZEOF_SOCKADDR_ALG 88  /* struct sockaddr_alg */

/* Offset of sun_path and of sa_data in their sockaddrs: after the 2-byte
 * sa_family_t on Linux. */
#define FAMILY_SIZE 2
#define SA_DATA_SIZE 14

/* Returns CPython's address buffer size for a socket family, or 0 when its
 * getsockaddrlen() raises (unknown family, or AF_BLUETOOTH, see above). */
socklen_t cr_addr_buflen(int family)
{
    switch (family) {
    case AF_UNIX: return (socklen_t)sizeof(struct sockaddr_un);
    case AF_NETLINK: return SIZEOF_SOCKADDR_NL;
    case AF_QIPCRTR: return SIZEOF_SOCKADDR_QRTR;
    case AF_VSOCK: return SIZEOF_SOCKADDR_VM;
    case AF_RDS: /* RDS sockets use sockaddr_in */
    case AF_INET: return (socklen_t)sizeof(struct sockaddr_in);
    case AF_INET6: return (socklen_t)sizeof(struct sockaddr_in6);
    case AF_PACKET: return SIZEOF_SOCKADDR_LL;
    case AF_TIPC: return SIZEOF_SOCKADDR_TIPC;
    case AF_CAN: return SIZEOF_SOCKADDR_CAN;
    case AF_ALG: return SIZEOF_SOCKADDR_ALG;
    default: return 0;
    }
}

/* 1 for the families CPython decodes with a dedicated decoder that cmsgref
 * does not model (reported as CR_ADDR_RAW). */
static int has_unmodelled_decoder(int family)
{
    switch (family) {
    case AF_NETLINK:
    case AF_QIPCRTR:
    case AF_VSOCK:
    case AF_BLUETOOTH:
    case AF_PACKET:
    case AF_TIPC:
    case AF_CAN:
    case AF_ALG: return 1;
    default: return 0;
    }
}

/* Fills *a for an AF_UNIX sockaddr of addrlen bytes.  Returns 0, or
 * CR_EPY with *err set for F10.  p points at the whole sockaddr. */
static int decode_unix(const unsigned char *p, size_t addrlen,
                       struct cr_addr *a, struct cr_pyerr *err)
{
    const unsigned char *path = p + FAMILY_SIZE;
    const size_t path_max = sizeof(((struct sockaddr_un *)0)->sun_path);
    size_t n = addrlen - FAMILY_SIZE; /* unsigned on purpose: it wraps */

    if (n != 0 && path[0] == 0) {
        if (n > path_max) {
            /* Only addrlen 1 gets here (the caller clamps addrlen to
             * sizeof(struct sockaddr_un)): the size_t wraps to a negative
             * Py_ssize_t. */
            cr_pyerr_set(err, CR_PY_SYSTEM_ERROR,
                         "Negative size passed to PyBytes_FromStringAndSize");
            return CR_EPY;
        }
        a->kind = CR_ADDR_UNIX_BYTES;
        memcpy(a->bytes, path, n);
        a->nbytes = n;
        return 0;
    }
    /* A C string from sun_path, whatever addrlen says.  CPython's buffer
     * continues past sun_path (a union of sockaddrs, not all zeroed); a
     * 108-byte path without NUL gives all 108 bytes, so the
     * read stops at the end of sun_path. */
    a->kind = CR_ADDR_UNIX_STR;
    a->nbytes = 0;
    while (a->nbytes < path_max && path[a->nbytes] != 0) {
        a->bytes[a->nbytes] = path[a->nbytes];
        a->nbytes++;
    }
    return 0;
}

/* Decodes sa as CPython's makesockaddr() would (§6).  family is the socket's
 * family; it only sizes the buffer (an unsized family reads at most
 * sizeof(*sa)).  Reads sa only; on success writes *ret_addr and returns 0;
 * returns CR_EPY with *ret_err for F10, CR_EINVAL for a NULL pointer. */
int cr_addr_decode(int family, const struct sockaddr_storage *sa,
                   socklen_t namelen, struct cr_addr *ret_addr,
                   struct cr_pyerr *ret_err)
{
    const unsigned char *p = (const unsigned char *)sa;
    size_t size = cr_addr_buflen(family);
    size_t addrlen = namelen;
    struct cr_addr a;
    sa_family_t fam;
    int rc;

    if (sa == NULL || ret_addr == NULL || ret_err == NULL)
        return CR_EINVAL;
    if (size == 0)
        size = sizeof(*sa);
    if (addrlen > size)
        addrlen = size;
    memset(&a, 0, sizeof(a));
    if (addrlen == 0) {
        a.kind = CR_ADDR_NONE;
        *ret_addr = a;
        return 0;
    }
    memcpy(&fam, p, sizeof(fam));
    a.family = fam;
    if (fam == AF_INET) {
        struct sockaddr_in in;

        memcpy(&in, p, sizeof(in));
        a.kind = CR_ADDR_INET;
        inet_ntop(AF_INET, &in.sin_addr, a.host, sizeof(a.host));
        a.port = ntohs(in.sin_port);
    } else if (fam == AF_INET6) {
        struct sockaddr_in6 in6;

        memcpy(&in6, p, sizeof(in6));
        a.kind = CR_ADDR_INET6;
        inet_ntop(AF_INET6, &in6.sin6_addr, a.host, sizeof(a.host));
        a.port = ntohs(in6.sin6_port);
        a.flowinfo = ntohl(in6.sin6_flowinfo);
        a.scope_id = in6.sin6_scope_id;
    } else if (fam == AF_UNIX) {
        /* An unsized family's buffer is read as far as a sockaddr_un
         * goes, as an AF_UNIX socket's would be (so only addrlen 1 can
         * wrap, F10). */
        rc = decode_unix(p,
                         addrlen < sizeof(struct sockaddr_un)
                             ? addrlen
                             : sizeof(struct sockaddr_un),
                         &a, ret_err);
        if (rc < 0)
            return rc;
    } else if (has_unmodelled_decoder(fam)) {
        a.kind = CR_ADDR_RAW;
        a.nbytes = addrlen < sizeof(a.bytes) ? addrlen : sizeof(a.bytes);
        memcpy(a.bytes, p, a.nbytes);
    } else {
        /* Includes AF_UNSPEC left by the preset: (0, 14 bytes). */
        a.kind = CR_ADDR_OTHER;
        memcpy(a.bytes, p + FAMILY_SIZE, SA_DATA_SIZE);
        a.nbytes = SA_DATA_SIZE;
    }
    *ret_addr = a;
    return 0;
}
