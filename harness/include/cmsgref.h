/*
 * cmsgref.h - the one public header of cmsgref.
 *
 * cmsgref reproduces what CPython's socket.recvmsg() / recvmsg_into()
 * return for a given socket and control buffer: the ancillary-data walk
 * (items, the one RuntimeWarning, the fds closed when the call raises),
 * the libc's next-header rule as an explicit model, the full receive call
 * on a real fd, address decoding and CMSG_LEN / CMSG_SPACE.  The behaviour
 * is specified in docs/semantics.md; section numbers (§) below refer to
 * it.
 *
 * Conventions: public symbols cr_*, types struct cr_*, constants CR_*.
 * Calls return int >= 0 on success or a negative CR_E* code.  Out
 * parameters are named ret_* and written only on success.  The library
 * never aborts, exits or prints, and keeps no global state.
 */
#ifndef CMSGREF_H
#define CMSGREF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <poll.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_VERSION "0.1.0"

/* CPython's SOCKLEN_T_LIMIT: min(2^31-1, INT_MAX).  Bounds ancbufsize,
 * CMSG_LEN/CMSG_SPACE results and so every control length C (§1, §8). */
#define CR_SOCKLEN_T_LIMIT 2147483647

/* ---------------------------------------------------------------- errors */

/* Library error codes.  A code, once published, keeps its value. */
#define CR_ERRNO_MAP(X)                                                        \
    X(EINVAL, -1, "invalid argument")                                          \
    X(ENOSPC, -2, "output capacity too small")                                 \
    X(ENOMEM, -3, "out of memory")                                             \
    X(ERANGE, -4, "value out of range")                                        \
    X(EMODEL, -5, "unknown libc model")                                        \
    X(ESINK, -6, "output sink failed")                                         \
    X(EPY, -7, "the call raised a Python exception (see struct cr_pyerr)")

enum cr_errno {
#define CR_ERRNO_ENUM(name, val, msg) CR_##name = (val),
    CR_ERRNO_MAP(CR_ERRNO_ENUM)
#undef CR_ERRNO_ENUM
};

/* Message for a CR_E* code; "unknown error" for anything else. */
const char *cr_strerror(int err);
/* Name of a CR_E* code ("CR_EINVAL"); "CR_E?" for anything else. */
const char *cr_err_name(int err);

/* ----------------------------------------------------------- libc models */

/* The libc whose <sys/socket.h> CPython was compiled against (§3). */
enum cr_libc {
    CR_LIBC_GLIBC = 0,        /* glibc >= 2.36 with the BZ#28846 fix (G36) */
    CR_LIBC_GLIBC_LEGACY = 1, /* glibc <= 2.35 and the original 2.36 (GL) */
    CR_LIBC_MUSL = 2,         /* musl 1.2.x, x86-64 (MU) */
    CR_LIBC_FREEBSD = 3,      /* FreeBSD amd64 (FB) */
    CR_LIBC_DARWIN = 4,       /* macOS (MAC) */
    CR_LIBC_GLIBC_I386 = 5,   /* glibc >= 2.36, ILP32: i386, armhf (G36-32) */
    CR_LIBC_GLIBC_LEGACY_I386 = 6 /* glibc <= 2.35, ILP32 (GL-32) */
};
#define CR_LIBC_COUNT 7

/* How the model finds the header after an ok one at off with length L,
 * N = off + align(L) being the candidate (§3). */
enum cr_next_rule {
    CR_NEXT_FITS,        /* N + S' <= C (G36, FB, MAC; S' = align(S)) */
    CR_NEXT_FITS_STRICT, /* N + S' <  C (musl) */
    CR_NEXT_LEGACY       /* N + S' <= C and the pointer base + N +
                            align(L_next), modulo 2^addr_bits, <= base + C */
};

/* The address of msg_control a walk assumes when the caller gives none
 * (cr_walk_set_base).  Only the legacy glibc rule reads it: that
 * CMSG_NXTHDR adds the next header's aligned length to a pointer, so the
 * sum wraps at the buffer's address (§3).  This value lies in the x86-64
 * Linux mmap region, where CPython's small-object allocator places control
 * buffers of up to 512 bytes. */
#define CR_BASE_DEFAULT UINT64_C(0x7f0000000000)
/* The same for the 32-bit models: an address in the mmap region of a
 * 32-bit process on a 64-bit Linux kernel (below its stack at 0xff...).
 * A walk lowers it when the buffer would not fit below 2^32. */
#define CR_BASE_DEFAULT_ILP32 UINT64_C(0xf7000000)

/* A libc model: the header layout and the macros' arithmetic, as data. */
struct cr_model {
    enum cr_libc libc;
    const char *name;   /* "glibc", "glibc-legacy", "musl", ...,
                           "glibc-i386", "glibc-legacy-i386" */
    size_t hdr_size;    /* S = sizeof(struct cmsghdr) */
    size_t len0;        /* H = CMSG_LEN(0) = data offset D */
    size_t align;       /* A */
    size_t next_hdr;    /* S' = align(S): the space the next rule asks */
    unsigned len_width; /* bytes of cmsg_len read: 8 or 4 */
    size_t level_off;   /* byte offset of cmsg_level in the header */
    size_t type_off;    /* byte offset of cmsg_type in the header */
    enum cr_next_rule next;
    int32_t sol_socket;    /* SOL_SOCKET on that system */
    int32_t scm_rights;    /* SCM_RIGHTS on that system */
    unsigned addr_bits;    /* pointer width: 64, or 32 (ILP32) */
    uint64_t base_default; /* the base a walk assumes unless told */
};

/* The model for a libc, or NULL if libc is out of range. */
const struct cr_model *cr_model_get(enum cr_libc libc);
/* Look a model up by name; 0 and *ret_libc on success, CR_EMODEL if the
 * name is unknown.  "glibc-legacy" and "legacy-glibc" are both accepted. */
int cr_model_by_name(const char *name, enum cr_libc *ret_libc);
/* The model of the libc this library was compiled against. */
enum cr_libc cr_model_host(void);

/* ------------------------------------------------------------- the walk */

/* Status of one header (§2 step 3). Values are CPython's codes. */
enum cr_status {
    CR_STATUS_MALFORMED = -1,
    CR_STATUS_OK = 0,
    CR_STATUS_TRUNCATED = 1
};

/* Why the walk ended. */
enum cr_stop {
    CR_STOP_END = 0,       /* no (further) header: no warning */
    CR_STOP_TRUNCATED = 1, /* the last item is cut short: warning */
    CR_STOP_MALFORMED = 2  /* a header was dropped: warning */
};

/* Why the walk ended, for people (cmsgref explain) and tests. */
enum cr_why {
    CR_WHY_RUNNING = 0,    /* the walk has not ended */
    CR_WHY_EMPTY,          /* C == 0: CPython does not start the walk */
    CR_WHY_NO_FIRST,       /* 0 < C < S: CMSG_FIRSTHDR finds no header */
    CR_WHY_NO_ROOM,        /* after an ok item the next header would not fit:
                              N + S' > C (musl: N + S' >= C) */
    CR_WHY_LEGACY_OVERRUN, /* legacy glibc: N + align(L_next) > C */
    CR_WHY_SHORT_HEADER,   /* malformed: off + CMSG_LEN(0) > C */
    CR_WHY_LEN_TOO_SMALL,  /* malformed: cmsg_len < CMSG_LEN(0) */
    CR_WHY_LEN_PAST_END    /* truncated: cmsg_len > C - off */
};

/* One item CPython would put in ancdata: (level, type, data), where data is
 * buf[data_off, data_off + data_len). */
struct cr_item {
    size_t offset;     /* header offset from the start of the buffer */
    uint64_t cmsg_len; /* L, read at the model's width */
    int32_t level;
    int32_t type;
    size_t data_off;
    size_t data_len;
    enum cr_status status; /* CR_STATUS_OK or CR_STATUS_TRUNCATED */
};

/* Walk state.  Initialise with cr_walk_init(), then call cr_walk_next()
 * until it returns 0.  Fields are read-only for callers; once the walk has
 * ended, stop, warning, nitems and stop_offset describe how. */
struct cr_walk {
    const unsigned char *buf; /* borrowed; must outlive the walk */
    size_t len;               /* C */
    const struct cr_model *model;
    size_t off; /* offset of the next header to look at */
    int done;
    enum cr_stop stop;
    int warning;             /* 1 iff stop != CR_STOP_END */
    size_t nitems;           /* items produced so far */
    size_t stop_offset;      /* where the walk ended (header or C) */
    enum cr_why why;         /* why it ended */
    size_t next_candidate;   /* N after the last ok item (SIZE_MAX: none) */
    uint64_t base;           /* address of buf the model assumes */
    uint64_t base_threshold; /* legacy rule: the first next-header step
                                that depended on base visits its header iff
                                base >= this; 0: no step depended on it */
};

/* Start a walk over buf[0, len) under a model.  buf may be NULL only if
 * len is 0.  Returns 0, or CR_EMODEL / CR_EINVAL (also for a 32-bit
 * model and a len no 32-bit buffer has: above 2^32 - 33).  Allocates
 * nothing. */
int cr_walk_init(struct cr_walk *w, const void *buf, size_t len,
                 enum cr_libc libc);
/* Set the address the model assumes for buf (default: the model's
 * base_default) before the first cr_walk_next().  Returns 0, or CR_EINVAL
 * for a NULL w, a walk already started, or a base where no buffer of this
 * length can sit (base + len + 32 past 2^addr_bits - 1). */
int cr_walk_set_base(struct cr_walk *w, uint64_t base);
/* The address a walk of len bytes under libc assumes unless told: the
 * model's base_default; a 32-bit model's is lowered when the buffer would
 * not fit below 2^32 there.  0 for an unknown model or a len no 32-bit
 * buffer holds.  The calls without _at (JSON, close list) use it. */
uint64_t cr_base_default(enum cr_libc libc, size_t len);
/* Produce the next item.  Returns 1 and fills *ret_item, or 0 when the walk
 * has ended (then w->stop tells why).  Never reads outside buf[0, len). */
int cr_walk_next(struct cr_walk *w, struct cr_item *ret_item);

/* Whole native ints CPython's error path closes for one item: 0 unless the
 * item is (SOL_SOCKET, SCM_RIGHTS) in its model, else floor(data_len/4). */
size_t cr_item_fd_count(const struct cr_model *m, const struct cr_item *it);
/* The i-th int of such an item, read unaligned and little-endian. */
int32_t cr_item_fd_at(const void *buf, const struct cr_item *it, size_t i);

/* The ints CPython's error path (§4) would close(), in order, by a second
 * walk.  Writes up to cap ints to fds (a NULL fds counts as cap 0) and
 * the total count to *ret_count; returns CR_ENOSPC if cap was too small
 * (*ret_count still says how many are needed), 0 otherwise. */
int cr_close_on_error(const void *buf, size_t len, enum cr_libc libc,
                      int32_t *fds, size_t cap, size_t *ret_count);
/* The same with buf assumed at address base (cr_walk_set_base). */
int cr_close_on_error_at(const void *buf, size_t len, enum cr_libc libc,
                         uint64_t base, int32_t *fds, size_t cap,
                         size_t *ret_count);

/* ------------------------------------------------------------------ JSON */

/* Output sink: write n bytes, return 0 or a negative value to stop. */
typedef int (*cr_sink_fn)(void *ctx, const char *s, size_t n);

/* Write the one-line JSON for a control buffer under a model (README
 * "JSON schema"), without a trailing newline.  Returns 0, CR_EMODEL or
 * CR_ESINK. */
int cr_json_parse(const void *buf, size_t len, enum cr_libc libc,
                  cr_sink_fn sink, void *ctx);
/* The same into out[0, cap): on success writes a NUL-terminated string and
 * returns 0; if it does not fit returns CR_ENOSPC.  Either way *ret_len is
 * the full length without the NUL. */
int cr_json_parse_buf(const void *buf, size_t len, enum cr_libc libc, char *out,
                      size_t cap, size_t *ret_len);
/* The two above with buf assumed at address base (cr_walk_set_base); an
 * impossible base is CR_EINVAL. */
int cr_json_parse_at(const void *buf, size_t len, enum cr_libc libc,
                     uint64_t base, cr_sink_fn sink, void *ctx);
int cr_json_parse_buf_at(const void *buf, size_t len, enum cr_libc libc,
                         uint64_t base, char *out, size_t cap, size_t *ret_len);

/* Write s[0, n) as a JSON string body (no quotes), escaping as needed.
 * Returns 0, CR_ESINK, or CR_EINVAL for a NULL sink (or a NULL s with
 * n > 0). */
int cr_json_escape(const char *s, size_t n, cr_sink_fn sink, void *ctx);

/* --------------------------------------------------- CMSG_LEN/CMSG_SPACE */

/* CPython's socket.CMSG_LEN(n) / CMSG_SPACE(n) under a model (§8).
 * Returns 0 and *ret_len / *ret_space on success; CR_ERANGE when CPython
 * raises OverflowError('CMSG_LEN() argument out of range') (resp.
 * CMSG_SPACE); CR_EMODEL; CR_EINVAL for a NULL out-pointer. */
int cr_cmsg_len(enum cr_libc libc, int64_t n, int64_t *ret_len);
int cr_cmsg_space(enum cr_libc libc, int64_t n, int64_t *ret_space);

/* ------------------------------------------------ Python-level failures */

/* The Python exception class a failed call raises. */
#define CR_PYEXC_MAP(X)                                                        \
    X(NONE, 0, "")                                                             \
    X(TYPE_ERROR, 1, "TypeError")                                              \
    X(VALUE_ERROR, 2, "ValueError")                                            \
    X(OVERFLOW_ERROR, 3, "OverflowError")                                      \
    X(MEMORY_ERROR, 4, "MemoryError")                                          \
    X(OS_ERROR, 5, "OSError")                                                  \
    X(BLOCKING_IO_ERROR, 6, "BlockingIOError")                                 \
    X(TIMEOUT, 7, "TimeoutError")                                              \
    X(RUNTIME_WARNING, 8, "RuntimeWarning")                                    \
    X(SYSTEM_ERROR, 9, "SystemError")                                          \
    X(SIGNAL, 10, "<signal handler exception>")

enum cr_pyexc {
#define CR_PYEXC_ENUM(name, val, cls) CR_PY_##name = (val),
    CR_PYEXC_MAP(CR_PYEXC_ENUM)
#undef CR_PYEXC_ENUM
};

/* Class name for a cr_pyexc ("TimeoutError" is socket.timeout before 3.10:
 * the binding picks the class for its version). */
const char *cr_pyexc_name(enum cr_pyexc exc);

#define CR_PYERR_MSG_MAX 160

/* A typed Python failure.  For OS_ERROR / BLOCKING_IO_ERROR, sys_errno is
 * the errno and msg is strerror (Python shows "[Errno N] msg"); otherwise
 * sys_errno is 0 and msg is the exact message (empty for MemoryError). */
struct cr_pyerr {
    enum cr_pyexc exc;
    int sys_errno;
    char msg[CR_PYERR_MSG_MAX];
};

/* The exact RuntimeWarning text (§2 step 5). */
#define CR_WARNING_TEXT                                                        \
    "received malformed or improperly-truncated ancillary data"

/* ----------------------------------------------------- address decoding */

enum cr_addr_kind {
    CR_ADDR_NONE = 0,   /* Python None: namelen 0 */
    CR_ADDR_INET,       /* (host, port) */
    CR_ADDR_INET6,      /* (host, port, flowinfo, scope_id) */
    CR_ADDR_UNIX_STR,   /* str: path bytes up to the first NUL (fs-decoded) */
    CR_ADDR_UNIX_BYTES, /* bytes: abstract name with its leading NUL */
    CR_ADDR_OTHER,      /* (family, sa_data: 14 bytes) */
    CR_ADDR_RAW         /* a family CPython decodes specially but cmsgref
                           does not model (AF_NETLINK, AF_PACKET, ...):
                           bytes = the first addrlen raw sockaddr bytes,
                           at most 108 */
};

struct cr_addr {
    enum cr_addr_kind kind;
    int family;
    char host[64]; /* INET / INET6, NUL-terminated numeric form */
    unsigned port;
    uint32_t flowinfo;
    uint32_t scope_id;
    unsigned char bytes[108]; /* UNIX path (str or bytes form), sa_data,
                                 or RAW's sockaddr bytes */
    size_t nbytes;
};

/* Decode a sockaddr as CPython does (§6).  family is the socket's family,
 * sa/namelen what recvmsg returned (namelen already clamped by the caller
 * or not: the decoder clamps to the family's sockaddr size).  The fields
 * *ret_addr's kind does not use are zero.  Returns 0, or
 * CR_EPY with *ret_err = SystemError for AF_UNIX namelen 1 with a NUL path
 * byte (F10). */
int cr_addr_decode(int family, const struct sockaddr_storage *sa,
                   socklen_t namelen, struct cr_addr *ret_addr,
                   struct cr_pyerr *ret_err);
/* The address buffer size CPython uses for a family (110 / 16 / 28 / ...);
 * 0 for a family CPython's getsockaddrlen() rejects. */
socklen_t cr_addr_buflen(int family);

/* ---------------------------------------------------- the receive call */

/* The syscall seam: NULL members (or a NULL struct) mean the real call.
 * The fuzzers' fake kernel plugs in here.  recvmsg gets the msghdr CPython
 * builds: zeroed but for name, iov and control, msg_control NULL and
 * msg_controllen 0 when ancbufsize is 0. */
struct cr_sys {
    ssize_t (*recvmsg)(void *ctx, int fd, struct msghdr *msg, int flags);
    int (*poll)(void *ctx, struct pollfd *fds, nfds_t n, int timeout_ms);
    int (*close)(void *ctx, int fd);
    int64_t (*now_ns)(void *ctx); /* CLOCK_MONOTONIC */
    void *ctx;
};

/* Warning policy after the syscall (§2 step 6). */
enum cr_warn_policy {
    CR_WARN_RECORD = 0, /* warning recorded; fds handed to the caller */
    CR_WARN_ERROR = 1   /* "error" filter: the call raises RuntimeWarning and
                           closes exactly CPython's fd set */
};

/* Arguments.  Integers come as int64_t already converted from Python ints
 * (the Python-level conversion errors are the binding's). */
struct cr_recv_args {
    int fd;
    int family;              /* the socket's family (cr_sock_family()) */
    int64_t bufsize;         /* recvmsg: data buffer size; ignored with iov */
    const struct iovec *iov; /* recvmsg_into: caller buffers, else NULL;
                                recvmsg_into([]) passes any non-NULL
                                pointer with iovcnt 0 */
    size_t iovcnt;
    int64_t ancbufsize;
    int flags;
    /* Socket timeout: < 0 blocking (None), 0 non-blocking, > 0 ns.  The
     * fd's O_NONBLOCK is left alone; for >= 0 the call gets MSG_DONTWAIT
     * (what settimeout()'s O_NONBLOCK does to it). */
    int64_t timeout_ns;
    enum cr_libc libc;
    enum cr_warn_policy policy;
    /* Called after each EINTR, where CPython runs signal handlers: return
     * 0 to retry, nonzero to fail with CR_PY_SIGNAL (the handler raised).
     * NULL retries. */
    int (*on_eintr)(void *ctx);
    void *eintr_ctx;
    const struct cr_sys *sys;
};

/* Result of a successful call.  The library owns data and control until
 * cr_recv_result_free(); the caller owns every fd in the SCM_RIGHTS items
 * (with CR_WARN_RECORD) and must close them. */
struct cr_recv_result {
    unsigned char *data;    /* recvmsg: nbytes_data bytes; NULL for _into */
    size_t data_len;        /* min(nbytes, bufsize); 0 for _into */
    ssize_t nbytes;         /* what the syscall returned (recvmsg_into's n) */
    unsigned char *control; /* the control buffer, C = controllen bytes */
    size_t controllen;
    int msg_flags;
    struct cr_addr addr;
    enum cr_libc libc;
    enum cr_stop stop;
    int warning;
    size_t nitems;
};

/* socket.recvmsg / recvmsg_into semantics (§5, §7).  Returns 0 and
 * *ret_res, or CR_EPY with *ret_err set to the exception CPython raises
 * (argument errors in CPython's order, timeouts, errno, the escalated
 * warning, ...).  On CR_EPY after the syscall, the fds of CPython's error
 * path are closed; nothing else is.  Items are read with cr_walk over
 * res->control.  Never returns another code for valid pointers; CR_EINVAL
 * if a pointer is NULL or libc / policy is out of range.  *ret_err is
 * written only on CR_EPY.  A msg_controllen or msg_namelen above the
 * buffer size (only a fake kernel reports one) is clamped to it.  What it
 * allocates is the data buffer (bufsize) and the control buffer
 * (ancbufsize), as CPython does; its error path allocates nothing. */
int cr_recvmsg(const struct cr_recv_args *args, struct cr_recv_result *ret_res,
               struct cr_pyerr *ret_err);
/* Free what cr_recvmsg allocated (not the fds).  NULL is a no-op. */
void cr_recv_result_free(struct cr_recv_result *res);

/* The socket's family via SO_DOMAIN; 0 and *ret_family, or CR_EINVAL. */
int cr_sock_family(int fd, int *ret_family);

#ifdef __cplusplus
}
#endif
#endif /* CMSGREF_H */
