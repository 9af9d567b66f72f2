/*
 * inject.h - the entry points of the LD_PRELOAD injection shim
 * (build/inject/libcrinject.so), which the oracle calls through ctypes.
 *
 * Why a header: inject.c (the recvmsg interposer) and field.c (the
 * planted-field bookkeeping) are one .so; this is where both, and a
 * reader, find every entry point.  Not part of the library's API
 * (harness/include/cmsgref.h): the shim is a test tool.
 */
#ifndef CR_INJECT_H
#define CR_INJECT_H

#include <stddef.h>

/* inject.c: arm the next recvmsg() on fd with bytes[0, len) (copied). */
int cr_inject_arm(int fd, const void *bytes, size_t len);
void cr_inject_disarm(void);
long cr_inject_count(void);

/* field.c: see there. */
int cr_inject_field_setup(int src_r, int src_w, int peer, int sock,
                          int floor, const int *saved, const int *cloexec,
                          const void *payload, size_t plen);
int cr_inject_field_base(int *ret_fds, size_t cap);
int cr_inject_field_drop(void);
int cr_inject_field_check(int *ret_leaks, size_t lcap, char *ret_targets,
                          size_t tcap, long *ret_counts);
int cr_inject_field_begin(const int *want, size_t nwant, const int *cands,
                          size_t ncands, const void *buf, size_t len);
int cr_inject_field_end(int *ret_closed, size_t ccap, int *ret_leaks,
                        size_t lcap, char *ret_targets, size_t tcap,
                        int *ret_lost, size_t bcap, long *ret_counts);

#endif
