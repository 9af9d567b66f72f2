/*
 * test_recv_util.h - helpers shared by the receive-path tests (test_recv*.c,
 * test_addr.c, test_args.c, test_sys*.c): real socketpairs, sending fds,
 * default arguments, and reading the fds out of a result with the
 * library's own walk.  Test code only: it may print, never abort.
 */
#ifndef CR_TEST_RECV_UTIL_H
#define CR_TEST_RECV_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "cmsgref.h"

/* socketpair(AF_UNIX, type); 0 or -1 (errno set). */
int tu_pair(int type, int sv[2]);
/* sendmsg() of len data bytes plus one SCM_RIGHTS item with nfds fds (none
 * if nfds is 0).  Returns what sendmsg returned. */
ssize_t tu_send_fds(int sock, const int *fds, size_t nfds, const void *data,
                    size_t len);
/* Default arguments: recvmsg(bufsize 64, ancbufsize 0, flags 0), blocking,
 * the host libc, CR_WARN_RECORD, the socket's real family. */
void tu_args(struct cr_recv_args *a, int fd);
/* What CPython's settimeout() does to a socket: sets a->timeout_ns and
 * makes a->fd non-blocking for ns >= 0 (timeout or non-blocking mode),
 * blocking for ns < 0.  cr_recvmsg() leaves the fd's mode to its caller. */
int tu_set_timeout(struct cr_recv_args *a, int64_t ns);
/* 1 if fd is open. */
int tu_fd_open(int fd);
/* The whole ints of every SCM_RIGHTS item of a result (cr_walk over
 * res->control): writes up to cap to fds, returns the total. */
size_t tu_result_fds(const struct cr_recv_result *res, int *fds, size_t cap);
/* Closes every fd of tu_result_fds() that is >= 0, then frees res. */
void tu_result_close_free(struct cr_recv_result *res);
/* Item i of a result (0-based); 1 and *ret on success, 0 if absent. */
int tu_result_item(const struct cr_recv_result *res, size_t i,
                   struct cr_item *ret);
/* CLOCK_MONOTONIC in seconds. */
double tu_now(void);

#endif /* CR_TEST_RECV_UTIL_H */
