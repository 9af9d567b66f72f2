/*
 * crafted.h - the spec's crafted control buffers (§12, K01-K24, F1-F9) and
 * what CPython (glibc >= 2.36), legacy glibc and musl make of them.
 *
 * The bytes live in corpus/cmsg_parse/seed-<id>-* (written by
 * scripts/make-seeds); this table holds what each should give.  The fds
 * a..e of the F cases are the ints 100..104.
 */
#ifndef CR_CRAFTED_H
#define CR_CRAFTED_H

#include <stddef.h>
#include <stdint.h>

#include "cmsgref.h"

#define CRAFTED_MAX 128
#define CRAFTED_FD_A 100

struct crafted {
    const char *id;
    /* Expected summary (see crafted_summary()) for glibc, glibc-legacy and
     * musl; NULL means "same as glibc". */
    const char *expect[3];
    /* F cases: the ints the error path closes under glibc, in order. */
    int nclose;
    int32_t close[6];
};

/* Loads the seed file of case c (corpus/cmsg_parse/seed-<id>-*, or the
 * directory $CMSGREF_CORPUS) into buf[0, cap).  Returns 0 and *ret_len,
 * or -1 if it is missing, unreadable or larger than cap. */
int crafted_load(const struct crafted *c, unsigned char *buf, size_t cap,
                 size_t *ret_len);

/* crafted_load() for callers that want just the length: returns C, or 0
 * if the seed is missing (no case has C = 0, so the caller's expectations
 * then fail loudly). */
size_t crafted_bytes(const struct crafted *c, unsigned char *buf);

/* The table and its length. */
const struct crafted *crafted_cases(size_t *ret_n);

/* Writes the walk of buf[0, len) under libc as "[(lv,ty,hex),...]" plus
 * " +w" when the warning fires, into out[0, cap).  Returns 0 or a CR_E*. */
int crafted_summary(const unsigned char *buf, size_t len, int libc, char *out,
                    size_t cap);

/* Walks buf[0, len) under libc with the buffer assumed at address base,
 * into *w; returns the item count, or SIZE_MAX if the walk could not
 * start (cr_walk_init or cr_walk_set_base refused). */
size_t crafted_walk_at(const unsigned char *buf, size_t len, int libc,
                       uint64_t base, struct cr_walk *w);

#endif /* CR_CRAFTED_H */
