/*
 * sock.h - the system-call half of recvmsg (sock.c) as recv.c calls it:
 * the cr_sys seam's close and the wait-and-call loop.  Not installed; the
 * symbols are hidden from the shared library.
 */
#ifndef CR_SOCK_H
#define CR_SOCK_H

#include "cmsgref.h"
#include "internal.h"

/* close(fd) through the seam (sys or its close member may be NULL: the real
 * call).  Returns what close returned; errno as the call left it. */
CR_HIDDEN int cr_sys_close(const struct cr_sys *sys, int fd);

/* CPython's sock_call_ex() for recvmsg (§7): the optional readiness wait
 * (timeout mode), then the call, retried on EINTR after args->on_eintr.
 * msg is the caller's, fully set up; every syscall goes through args->sys.
 * Returns 0 and *ret_n (the syscall's value) on success, or CR_EPY with *err
 * (timeout, BlockingIOError, OSError, signal).  Allocates nothing. */
CR_HIDDEN int cr_sock_call_recvmsg(const struct cr_recv_args *args,
                                   struct msghdr *msg, ssize_t *ret_n,
                                   struct cr_pyerr *err);

#endif /* CR_SOCK_H */
