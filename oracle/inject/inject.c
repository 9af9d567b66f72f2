/*
 * inject.c - an LD_PRELOAD shim that replaces the control bytes a real
 * recvmsg() returns, so an interpreter's own socket.recvmsg() walks a
 * control buffer of our choosing.
 *
 * Why: the Linux kernel only ever writes well-formed cmsg headers (spec
 * §10), so CPython's truncated/malformed paths and its fd-closing error
 * path (§2, §4) are unreachable with real data.  The spec's own method is
 * to interpose on libc's recvmsg, make the real call (data, flags, address
 * and blocking stay real), then overwrite msg_control and msg_controllen.
 *
 * Use: the oracle loads the interpreter with LD_PRELOAD=<this .so>, opens
 * the same .so with ctypes (dlopen returns the preloaded copy) and calls
 * cr_inject_arm(fd, bytes, len) before one recvmsg on fd.  The arming is
 * one-shot: the next successful recvmsg() on exactly that fd gets the
 * bytes, later calls and other fds are untouched.
 *
 * Limits: at most CR_INJECT_MAX bytes; if the caller's control buffer
 * (msg_controllen on entry) is smaller than the armed bytes, nothing is
 * injected and the call fails with EMSGSIZE so the mismatch is loud.  The
 * shim keeps process-global state (one armed buffer): it is a test tool,
 * not library code, and the oracle drives one call at a time.
 *
 * The planted-field bookkeeping of the oracle's in-process path is in
 * field.c, built into the same .so.
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

typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);

static int armed_fd = -1;
static size_t armed_len;
static unsigned char armed_bytes[CR_INJECT_MAX];
static long injected;

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

/* The interposed recvmsg: the real call, then the armed bytes in place of
 * the control data.  Returns what the real call returned, or -1 with
 * EMSGSIZE if the armed bytes do not fit the caller's control buffer. */
ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    recvmsg_fn real = (recvmsg_fn)dlsym(RTLD_NEXT, "recvmsg");
    size_t cap;
    ssize_t n;

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
    return n;
}
