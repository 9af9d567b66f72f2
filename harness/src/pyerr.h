/*
 * pyerr.h - the setters of struct cr_pyerr (pyerr.c).  Not installed; the
 * symbols are hidden from the shared library.
 */
#ifndef CR_PYERR_H
#define CR_PYERR_H

#include "cmsgref.h"
#include "internal.h"

/* Sets *e to exc with an exact message (copied, cut to fit) and no
 * errno. */
CR_HIDDEN void cr_pyerr_set(struct cr_pyerr *e, enum cr_pyexc exc,
                            const char *msg);

/* Sets *e to the OSError CPython raises for errno eno: BlockingIOError for
 * EAGAIN / EWOULDBLOCK, else OSError; msg is strerror(eno), sys_errno is
 * eno. */
CR_HIDDEN void cr_pyerr_errno(struct cr_pyerr *e, int eno);

#endif /* CR_PYERR_H */
