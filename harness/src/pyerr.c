/*
 * pyerr.c - the setters of struct cr_pyerr, the Python exception a call
 * raises (class, message, errno): every file that raises goes through
 * them, so the message is always copied and cut the same way and
 * sys_errno is set only for an OSError.
 *
 * Upstream fact encoded: Python's OSError(errno, strerror) constructor
 * picks the BlockingIOError subclass for EAGAIN / EWOULDBLOCK.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pyerr.h"

/* Copies msg into e->msg (truncated to fit) and sets the class. */
void cr_pyerr_set(struct cr_pyerr *e, enum cr_pyexc exc, const char *msg)
{
    e->exc = exc;
    e->sys_errno = 0;
    snprintf(e->msg, sizeof(e->msg), "%s", msg);
}

/* OSError from errno: Python's OSError(errno, strerror) constructor picks
 * BlockingIOError for EAGAIN/EWOULDBLOCK; the other subclasses are left to
 * the binding, which gets sys_errno. */
void cr_pyerr_errno(struct cr_pyerr *e, int eno)
{
    char buf[CR_PYERR_MSG_MAX];
    const char *s = buf;

    buf[0] = 0;
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    s = strerror_r(eno, buf, sizeof(buf));
#else
    if (strerror_r(eno, buf, sizeof(buf)) != 0)
        snprintf(buf, sizeof(buf), "Unknown error %d", eno);
#endif
    cr_pyerr_set(e,
                 (eno == EAGAIN || eno == EWOULDBLOCK) ? CR_PY_BLOCKING_IO_ERROR
                                                       : CR_PY_OS_ERROR,
                 s);
    e->sys_errno = eno;
}
