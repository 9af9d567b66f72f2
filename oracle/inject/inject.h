/*
 * inject.h - the entry points of the LD_PRELOAD injection shim
 * (build/inject/libcrinject.so), which the oracle calls through ctypes.
 * See inject.c for what each does.  Not part of the library's API
 * (harness/include/cmsgref.h): the shim is a test tool.
 */
#ifndef CR_INJECT_H
#define CR_INJECT_H

#include <stddef.h>

int cr_inject_arm(int fd, const void *bytes, size_t len);
void cr_inject_disarm(void);
long cr_inject_count(void);
int cr_inject_log_area(int *area, size_t cap);
int cr_inject_watch(int fd, const void *bytes, size_t len);
long cr_inject_unwatch(void);

#endif
