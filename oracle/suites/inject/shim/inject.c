/*
 * inject.c - an LD_PRELOAD shim that replaces the control bytes a real
 * recvmsg() returns, so an interpreter's own socket.recvmsg() walks a
 * control buffer of our choosing, and that records the close() calls the
 * interpreter makes while it handles that buffer.
 *
 * Why: the Linux kernel only ever writes well-formed cmsg headers (spec
 * §10), so CPython's truncated/malformed paths and its fd-closing error
 * path (§2, §4) are unreachable with real data.  The spec's own method is
 * to interpose on libc's recvmsg, make the real call (data, flags, address
 * and blocking stay real), then overwrite msg_control and msg_controllen.
 * What the error path does is, by §4, "one close() per whole 4-byte slot,
 * even if the int is negative or invalid": so the observation is the
 * sequence of close() calls itself.  While a watch is open the shim's
 * close() appends the fd to a log and returns 0 without closing anything:
 * an injected int that happens to name one of the process's own fds (its
 * stdio, the socket under test) cannot harm it, no real fd has to be
 * planted at every number a buffer names, and closes of invalid, negative
 * or repeated ints are seen too.  Every CPython 3.6-3.13 and PyPy 7.3
 * calls libc's close() there (the error path is C code calling close()
 * through the dynamic linker), which the oracle's self-tests check.
 *
 * Use: the oracle loads the interpreter with LD_PRELOAD=<this .so>, opens
 * the same .so with ctypes (dlopen returns the preloaded copy).
 *  - cr_inject_arm(fd, bytes, len): the next successful recvmsg() on
 *    exactly that fd gets the bytes (one-shot); nothing is logged.
 *  - cr_inject_watch(fd, bytes, len): the same, and opens a watch: from
 *    now on close() is logged, not performed, until cr_inject_unwatch().
 *    The log goes to the area given to cr_inject_log_area().
 *  - cr_inject_namelen(n): the armed call's msg_namelen is also set to n
 *    (at most the caller's buffer) after the real call, so an interpreter
 *    decodes an address length the kernel never gives (spec §6: 1 makes
 *    CPython's AF_UNIX decoder fail, F10; a length with no family written
 *    decodes as (0, 14 zero bytes)).  cr_inject_arm() resets it.
 *  - cr_inject_poll_errno(e): the next poll() whose set includes the
 *    armed fd fails with errno e instead of waiting (once), so the error
 *    branch of the wait before a call with a timeout is reached (spec §7:
 *    a poll error other than EINTR raises OSError with its errno; on
 *    Linux poll() on one fd fails only with EINTR or ENOMEM, and ENOMEM
 *    cannot be provoked from outside).  Every CPython 3.6-3.13, PyPy 7.3
 *    and the library wait through libc's poll() (none calls ppoll or the
 *    fortified __poll_chk), which the oracle's self-tests check: the
 *    field turns negative when the failure went out.  cr_inject_arm()
 *    resets it.
 *  - every rewritten call leaves the address of its msg_control in the
 *    state's control field: legacy glibc's next-header rule depends on
 *    where the buffer lies (spec §3.4), so the reference walks there.
 *  - cr_inject_ctl_area(area): the shim's state (armed fd and bytes, the
 *    watch flag, the counts: struct cr_inject_ctl in inject.h) moves into
 *    the caller's memory, so the oracle arms, watches and reads the count
 *    by plain stores and loads, one foreign call per worker instead of two
 *    per case (a foreign call is slow on PyPy before its JIT warms up).
 *    The functions above keep working on the moved state.
 * Limits: at most CR_INJECT_MAX bytes; if the caller's control buffer
 * (msg_controllen on entry) is smaller than the armed bytes, nothing is
 * injected and the call fails with EMSGSIZE so the mismatch is loud.  The
 * shim keeps process-global state (one armed buffer, one watch): it is a
 * test tool, not library code, and the oracle drives one call at a time
 * from one thread; a close() from another thread during a watch would be
 * logged (and show up as an unexpected close), not lost.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "inject.h"

ssize_t recvmsg(int fd, struct msghdr *msg, int flags);
int close(int fd);
int poll(struct pollfd *fds, nfds_t nfds, int timeout);

typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef int (*close_fn)(int);
typedef int (*poll_fn)(struct pollfd *, nfds_t, int);

_Static_assert(offsetof(struct cr_inject_ctl, nclosed) == 16 &&
                   offsetof(struct cr_inject_ctl, namelen) == 32 &&
                   offsetof(struct cr_inject_ctl, poll_errno) == 36 &&
                   offsetof(struct cr_inject_ctl, control) == 40 &&
                   offsetof(struct cr_inject_ctl, bytes) == 48,
               "inject.h documents this layout to the oracle");

static struct cr_inject_ctl own = {.fd = -1, .namelen = -1};
static struct cr_inject_ctl *ctl = &own; /* own, or the caller's area */
static int *log_area; /* the caller's, set by cr_inject_log_area */
static size_t log_cap;

/* Arm the next recvmsg() on fd with bytes[0, len).  bytes is copied (the
 * caller keeps ownership; it may be the state's own bytes field); fd is
 * not touched.  Returns 0, or -1 if fd is negative, len exceeds
 * CR_INJECT_MAX or bytes is NULL with len > 0. */
int cr_inject_arm(int fd, const void *bytes, size_t len)
{
    if (fd < 0 || len > CR_INJECT_MAX || (bytes == NULL && len > 0))
        return -1;
    if (len > 0)
        memmove(ctl->bytes, bytes, len);
    ctl->len = (uint32_t)len;
    ctl->namelen = -1;
    ctl->poll_errno = 0;
    ctl->fd = fd;
    ctl->delivered = 0;
    return 0;
}

/* After cr_inject_arm(): the armed call's msg_namelen becomes namelen (at
 * most the caller's msg_namelen on entry).  Returns 0, or -1 if namelen is
 * negative. */
int cr_inject_namelen(int namelen)
{
    if (namelen < 0)
        return -1;
    ctl->namelen = namelen;
    return 0;
}

/* After cr_inject_arm(): the next poll() that watches the armed fd fails
 * with errno eno (once; see the file comment).  Returns 0, or -1 if eno is
 * not positive. */
int cr_inject_poll_errno(int eno)
{
    if (eno <= 0)
        return -1;
    ctl->poll_errno = eno;
    return 0;
}

/* Forget an armed buffer that was not used. */
void cr_inject_disarm(void)
{
    ctl->fd = -1;
}

/* How many calls have been rewritten since the state was set up: lets the
 * oracle prove that an injection really happened. */
long cr_inject_count(void)
{
    return (long)ctl->injected;
}

/* Where close() calls are logged during a watch: area[0, cap), the
 * caller's memory, which must stay valid while the shim is loaded (or
 * until the next call; NULL/0 logs nothing but still counts).  Returns 0. */
int cr_inject_log_area(int *area, size_t cap)
{
    log_area = cap > 0 ? area : NULL;
    log_cap = log_area == NULL ? 0 : cap;
    return 0;
}

/* Move the state into the caller's area (sizeof(struct cr_inject_ctl)
 * bytes, which must stay valid until the next call), or back into the
 * shim with NULL.  The area is initialised: nothing armed or watched,
 * counts zero.  Returns 0. */
int cr_inject_ctl_area(struct cr_inject_ctl *area)
{
    ctl = area != NULL ? area : &own;
    ctl->fd = -1;
    ctl->len = 0;
    ctl->watch = 0;
    ctl->namelen = -1;
    ctl->poll_errno = 0;
    ctl->control = 0;
    ctl->delivered = 0;
    ctl->nclosed = 0;
    ctl->injected = 0;
    return 0;
}

/* sizeof(struct cr_inject_ctl), so the oracle can check its layout. */
size_t cr_inject_ctl_size(void)
{
    return sizeof(struct cr_inject_ctl);
}

/* cr_inject_arm() and open a watch (see the file comment).  Returns 0, or
 * -1 as cr_inject_arm() does (then no watch is open). */
int cr_inject_watch(int fd, const void *bytes, size_t len)
{
    if (cr_inject_arm(fd, bytes, len) != 0)
        return -1;
    ctl->nclosed = 0;
    ctl->watch = 1;
    return 0;
}

/* Close the watch and disarm.  Returns the number of close() calls logged
 * since cr_inject_watch() (the first log_cap of them are in the log area,
 * in call order), or -1 if the armed buffer was never delivered (the
 * interpreter did not call libc's recvmsg on that fd). */
long cr_inject_unwatch(void)
{
    ctl->watch = 0;
    ctl->fd = -1;
    return ctl->delivered ? (long)ctl->nclosed : -1;
}

/* The interposed close(): logged and not performed during a watch, the
 * real one otherwise.  Returns 0 during a watch, else what libc returns. */
int close(int fd)
{
    static close_fn real;

    if (ctl->watch) {
        if (ctl->nclosed >= 0 && (uint64_t)ctl->nclosed < log_cap)
            log_area[ctl->nclosed] = fd;
        ctl->nclosed++;
        return 0;
    }
    if (real == NULL)
        real = (close_fn)dlsym(RTLD_NEXT, "close");
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return real(fd);
}

/* The interposed poll(): fails once with the armed errno when fds includes
 * the armed fd (see cr_inject_poll_errno), the real one otherwise.
 * Returns -1 with that errno, or what libc returns.  glibc declares fds
 * write-only, so gcc takes reading the caller's set (which poll() does by
 * contract) for a read of uninitialised memory: that warning is off here. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
    static poll_fn real;
    int eno = ctl->poll_errno;
    nfds_t i;

    for (i = 0; eno > 0 && ctl->fd >= 0 && fds != NULL && i < nfds; i++) {
        if (fds[i].fd == ctl->fd) {
            ctl->poll_errno = -eno;
            errno = eno;
            return -1;
        }
    }
    if (real == NULL)
        real = (poll_fn)dlsym(RTLD_NEXT, "poll");
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return real(fds, nfds, timeout);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* The interposed recvmsg: the real call, then the armed bytes in place of
 * the control data.  Returns what the real call returned, or -1 with
 * EMSGSIZE if the armed bytes do not fit the caller's control buffer. */
ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    static recvmsg_fn real;
    size_t cap, len;
    socklen_t name_cap;
    ssize_t n;

    if (real == NULL)
        real = (recvmsg_fn)dlsym(RTLD_NEXT, "recvmsg");
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (fd < 0 || fd != ctl->fd || msg == NULL)
        return real(fd, msg, flags);
    len = ctl->len > CR_INJECT_MAX ? CR_INJECT_MAX : ctl->len;
    cap = msg->msg_control == NULL ? 0 : (size_t)msg->msg_controllen;
    if (len > cap) {
        ctl->fd = -1;
        errno = EMSGSIZE;
        return -1;
    }
    name_cap = msg->msg_name == NULL ? 0 : msg->msg_namelen;
    n = real(fd, msg, flags);
    if (n < 0)
        return n; /* stays armed: EINTR / EAGAIN retries get the bytes */
    ctl->fd = -1;
    if (len > 0)
        memcpy(msg->msg_control, ctl->bytes, len);
    msg->msg_controllen = len;
    ctl->control = (uint64_t)(uintptr_t)msg->msg_control;
    if (ctl->namelen >= 0) {
        msg->msg_namelen = (socklen_t)ctl->namelen < name_cap
                               ? (socklen_t)ctl->namelen
                               : name_cap;
        ctl->namelen = -1;
    }
    ctl->injected++;
    ctl->delivered = 1;
    return n;
}
