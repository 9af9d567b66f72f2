/*
 * recv_rss.c - the child process of `make bench`'s receive-path RSS:
 * one cr_recvmsg() with a huge bufsize (or ancbufsize) request on a
 * socketpair that carries one small message, so the driver can read this
 * process's peak RSS (getrusage of a child) and compare it with the same
 * call at a small size.
 *
 * Why it should stay small: CPython allocates bufsize bytes up front (§5
 * step 3) and the reference does too, but untouched pages of a large
 * malloc (an anonymous mmap) are never resident; the kernel writes only
 * the bytes it delivers.  A reference that zeroed or touched its buffers
 * would show the whole request in its RSS.
 *
 * Usage: recv_rss BUFSIZE ANCBUFSIZE  (decimal, 0..2^31 / 0..2147483647).
 * Prints one JSON line {"bufsize","ancbufsize","data_len","controllen",
 * "vmhwm_kib"} (VmHWM from /proc/self/status, -1 if unreadable) and exits
 * 0; exit 1 (one line on stderr) if the call fails or returns something
 * other than the message; exit 2 on bad arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmsgref.h"

static const char message[] = "small message";

/* Prints "recv_rss: msg" on stderr and exits with code.  Never returns. */
static void die(int code, const char *msg)
{
    fprintf(stderr, "recv_rss: %s\n", msg);
    exit(code);
}

/* Parses a decimal int64 in [0, hi]; exits 2 if it is not one. */
static int64_t parse_size(const char *s, int64_t hi)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > hi)
        die(2, "usage: recv_rss BUFSIZE ANCBUFSIZE (non-negative, "
               "BUFSIZE <= 2^31, ANCBUFSIZE <= 2147483647)");
    return (int64_t)v;
}

/* This process's VmHWM (peak resident set) in KiB, or -1. */
static long vmhwm_kib(void)
{
    char line[256];
    long v = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmHWM:", 6) == 0) {
            v = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* One cr_recvmsg() as the file comment says; the result and the socket
 * pair are owned here and released before exit. */
int main(int argc, char **argv)
{
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr err;
    int sv[2];

    if (argc != 3)
        die(2, "usage: recv_rss BUFSIZE ANCBUFSIZE");
    memset(&a, 0, sizeof(a));
    a.bufsize = parse_size(argv[1], (int64_t)1 << 31);
    a.ancbufsize = parse_size(argv[2], CR_SOCKLEN_T_LIMIT);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die(1, "socketpair failed");
    if (write(sv[0], message, sizeof(message)) != (ssize_t)sizeof(message))
        die(1, "write failed");
    a.fd = sv[1];
    a.family = AF_UNIX;
    a.timeout_ns = -1;
    a.libc = cr_model_host();
    a.policy = CR_WARN_RECORD;
    if (cr_recvmsg(&a, &res, &err) != 0) {
        fprintf(stderr, "recv_rss: cr_recvmsg raised %s: %s\n",
                cr_pyexc_name(err.exc), err.msg);
        return 1;
    }
    if (res.data_len != sizeof(message) ||
        memcmp(res.data, message, sizeof(message)) != 0)
        die(1, "cr_recvmsg did not return the message");
    printf("{\"bufsize\":%lld,\"ancbufsize\":%lld,\"data_len\":%zu,"
           "\"controllen\":%zu,\"vmhwm_kib\":%ld}\n",
           (long long)a.bufsize, (long long)a.ancbufsize, res.data_len,
           res.controllen, vmhwm_kib());
    cr_recv_result_free(&res);
    close(sv[0]);
    close(sv[1]);
    return fflush(stdout) == 0 ? 0 : 1;
}
