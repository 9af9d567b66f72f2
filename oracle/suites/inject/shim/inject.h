/*
 * inject.h - the entry points of the LD_PRELOAD injection shim
 * (build/inject/libcrinject.so), which the oracle calls through ctypes.
 * See inject.c for what each does.  Not part of the library's API
 * (harness/include/cmsgref.h): the shim is a test tool.
 */
#ifndef CR_INJECT_H
#define CR_INJECT_H

#include <stddef.h>
#include <stdint.h>

#define CR_INJECT_MAX 65536

/* The shim's whole state.  It normally lives inside the shim; the oracle
 * may move it into its own memory (cr_inject_ctl_area) and then arm, watch
 * and read the log by writing and reading these fields directly, with no
 * foreign call per case.  Layout (native byte order, no padding): fd at 0,
 * len 4, watch 8, delivered 12, nclosed 16, injected 24, namelen 32,
 * poll_errno 36, control 40, bytes 48.  The shim only reads fd, len,
 * watch, namelen, poll_errno and bytes, and writes fd (-1 once used),
 * namelen (-1 once used), poll_errno (negated once used), delivered,
 * control, nclosed and injected. */
struct cr_inject_ctl {
    int32_t fd;         /* the next recvmsg() on this fd gets bytes; -1: none */
    uint32_t len;       /* armed byte count, at most CR_INJECT_MAX */
    int32_t watch;      /* nonzero: close() is logged, not performed */
    int32_t delivered;  /* 1 once the armed bytes went out */
    int64_t nclosed;    /* close() calls logged while watch was set */
    int64_t injected;   /* calls rewritten since the state was set up */
    int32_t namelen;    /* >= 0: the armed call's msg_namelen becomes this
                           (at most what the caller gave); -1: untouched.
                           Stay within the family's sockaddr size, as a
                           kernel does: PyPy 7.3 declares a msg_namelen
                           larger than its buffer and corrupts its heap
                           past 110 bytes for AF_UNIX */
    int32_t poll_errno; /* > 0: the next poll() that watches fd fails
                           with this errno, once, and the field becomes
                           its negation (so < 0: it did); 0: untouched */
    uint64_t control;   /* msg_control of the last call rewritten: the
                           address the caller's walk starts at, which the
                           legacy glibc rule depends on (spec §3.4) */
    unsigned char bytes[CR_INJECT_MAX];
};

int cr_inject_arm(int fd, const void *bytes, size_t len);
int cr_inject_namelen(int namelen);
int cr_inject_poll_errno(int eno);
void cr_inject_disarm(void);
long cr_inject_count(void);
int cr_inject_log_area(int *area, size_t cap);
int cr_inject_watch(int fd, const void *bytes, size_t len);
long cr_inject_unwatch(void);
int cr_inject_ctl_area(struct cr_inject_ctl *area);
size_t cr_inject_ctl_size(void);

#endif
