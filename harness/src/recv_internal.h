/*
 * recv_internal.h - what recv.c and sock.c share: the cr_sys seam wrappers,
 * the wait-and-call loop and the cr_pyerr setters.  Not installed; the
 * symbols are hidden from the shared library.
 */
#ifndef CR_RECV_INTERNAL_H
#define CR_RECV_INTERNAL_H

#include "cmsgref.h"

#define CR_HIDDEN __attribute__((visibility("hidden")))

/* Sets *e to exc with an exact message (copied, truncated to fit). */
CR_HIDDEN void cr_pyerr_set(struct cr_pyerr *e, enum cr_pyexc exc,
                            const char *msg);
/* Sets *e to the OSError CPython raises for errno eno: BlockingIOError for
 * EAGAIN/EWOULDBLOCK, else OSError; msg is strerror(eno). */
CR_HIDDEN void cr_pyerr_errno(struct cr_pyerr *e, int eno);

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

#endif /* CR_RECV_INTERNAL_H */
