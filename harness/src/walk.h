/*
 * walk.h - the error path's walk (walk.c) as recv.c calls it: CPython's
 * close list handed over one int at a time, so closing needs no array.
 * Not installed; the symbol is hidden from the shared library.
 */
#ifndef CR_WALK_H
#define CR_WALK_H

#include "cmsgref.h"
#include "internal.h"

/* What cr_close_on_error_at() lists, in the same order: fn(ctx, fd) (fn
 * not NULL) for every int of CPython's close list of buf (len bytes at
 * address base).  Returns 0, or the cr_walk_init()/cr_walk_set_base()
 * error before any call.  Allocates nothing. */
CR_HIDDEN int cr_close_on_error_each(const void *buf, size_t len,
                                     enum cr_libc libc, uint64_t base,
                                     void (*fn)(void *ctx, int32_t fd),
                                     void *ctx);

#endif /* CR_WALK_H */
