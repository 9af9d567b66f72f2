/*
 * shadow_walk.h - the control-message walk done with the real libc macros.
 *
 * The reference walk (harness/src/walk.c) interprets a libc *model*; this
 * shadow does the same loop with the <sys/socket.h> of whatever libc it is
 * compiled against (CMSG_FIRSTHDR, CMSG_NXTHDR, CMSG_DATA, CMSG_LEN), the
 * way CPython's recvmsg loop uses them.  The two must agree item for item:
 * the host build proves the glibc model, a musl-gcc build the musl model.
 * Used by the libc differential check and the cmsg_diff fuzz target.
 *
 * Never build it against a legacy glibc (< 2.36 without BZ#28846): that
 * CMSG_NXTHDR loops forever on some lengths.
 */
#ifndef CR_SHADOW_WALK_H
#define CR_SHADOW_WALK_H

#include "cmsgref.h"

struct shadow_result {
    struct cr_item *items; /* caller's array of cap entries */
    size_t cap;
    size_t nitems; /* items found (may exceed cap: then truncated) */
    enum cr_stop stop;
};

/* Walks buf[0, len) with the host macros.  The bytes are first copied into
 * an exact-size, suitably aligned heap block (so ASan sees an over-read);
 * returns 0, or CR_ENOMEM if that copy cannot be made. */
int shadow_walk(const void *buf, size_t len, struct shadow_result *res);

/* The model that matches the libc this file was compiled against. */
enum cr_libc shadow_libc(void);

/* Walks buf with both the model of shadow_libc() and the shadow and compares
 * item for item.  Returns 1 if they agree, 0 if not (then writes a
 * one-line reason into why[0, whylen)), CR_ENOMEM on allocation failure. */
int shadow_compare(const void *buf, size_t len, char *why, size_t whylen);

#endif /* CR_SHADOW_WALK_H */
