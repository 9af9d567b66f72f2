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
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "inject.h"

#define CR_INJECT_MAX 65536

ssize_t recvmsg(int fd, struct msghdr *msg, int flags);
int close(int fd);

typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef int (*close_fn)(int);

static int armed_fd = -1;
static size_t armed_len;
static unsigned char armed_bytes[CR_INJECT_MAX];
static long injected;
static int delivered; /* the armed buffer went out since the last arm */

static int watching;
static long nclosed;  /* close() calls since the watch opened */
static int *log_area; /* the caller's, set by cr_inject_log_area */
static size_t log_cap;

/* Arm the next recvmsg() on fd with bytes[0, len).  bytes is copied (the
 * caller keeps ownership); fd is not touched.  Returns 0, or -1 if fd is
 * negative, len exceeds CR_INJECT_MAX or bytes is NULL with len > 0. */
int cr_inject_arm(int fd, const void *bytes, size_t len)
{
    if (fd < 0 || len > CR_INJECT_MAX || (bytes == NULL && len > 0))
        return -1;
    if (len > 0)
        memcpy(armed_bytes, bytes, len);
    armed_len = len;
    armed_fd = fd;
    delivered = 0;
    return 0;
}

/* Forget an armed buffer that was not used. */
void cr_inject_disarm(void)
{
    armed_fd = -1;
}

/* How many calls have been rewritten since the process started: lets the
 * oracle prove that an injection really happened. */
long cr_inject_count(void)
{
    return injected;
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

/* cr_inject_arm() and open a watch (see the file comment).  Returns 0, or
 * -1 as cr_inject_arm() does (then no watch is open). */
int cr_inject_watch(int fd, const void *bytes, size_t len)
{
    if (cr_inject_arm(fd, bytes, len) != 0)
        return -1;
    nclosed = 0;
    watching = 1;
    return 0;
}

/* Close the watch and disarm.  Returns the number of close() calls logged
 * since cr_inject_watch() (the first log_cap of them are in the log area,
 * in call order), or -1 if the armed buffer was never delivered (the
 * interpreter did not call libc's recvmsg on that fd). */
long cr_inject_unwatch(void)
{
    watching = 0;
    armed_fd = -1;
    return delivered ? nclosed : -1;
}

/* The interposed close(): logged and not performed during a watch, the
 * real one otherwise.  Returns 0 during a watch, else what libc returns. */
int close(int fd)
{
    static close_fn real;

    if (watching) {
        if (nclosed >= 0 && (size_t)nclosed < log_cap)
            log_area[nclosed] = fd;
        nclosed++;
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

/* The interposed recvmsg: the real call, then the armed bytes in place of
 * the control data.  Returns what the real call returned, or -1 with
 * EMSGSIZE if the armed bytes do not fit the caller's control buffer. */
ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    static recvmsg_fn real;
    size_t cap;
    ssize_t n;

    if (real == NULL)
        real = (recvmsg_fn)dlsym(RTLD_NEXT, "recvmsg");
    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (fd != armed_fd || msg == NULL)
        return real(fd, msg, flags);
    cap = msg->msg_control == NULL ? 0 : (size_t)msg->msg_controllen;
    if (armed_len > cap) {
        armed_fd = -1;
        errno = EMSGSIZE;
        return -1;
    }
    n = real(fd, msg, flags);
    if (n < 0)
        return n; /* stays armed: EINTR / EAGAIN retries get the bytes */
    armed_fd = -1;
    if (armed_len > 0)
        memcpy(msg->msg_control, armed_bytes, armed_len);
    msg->msg_controllen = armed_len;
    injected++;
    delivered = 1;
    return n;
}
