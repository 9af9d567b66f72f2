/*
 * invariants.h - the checks the fuzz targets share: what must hold of the
 * library's answer for any input, taken from §2-§4 and §8.  Each check
 * traps (FZ_CHECK, fuzz.h) on a violation, naming its line in
 * fuzz/invariants.c; none returns an error.  The targets (fuzz/<t>.c)
 * decode an input, call one cr_* entry point and pass the result here.
 * fuzz/README.md lists which target runs which check.
 *
 * The recvmsg_fake target's checks belong to its fake kernel and live in
 * fake_kernel.c.  The host is assumed little-endian (x86-64, arm64), like
 * the models.
 */
#ifndef CR_FUZZ_INVARIANTS_H
#define CR_FUZZ_INVARIANTS_H

#include <stddef.h>
#include <stdint.h>

#include "cmsgref.h"

/* One finished walk: its items (in scratch owned by invariants.c, valid
 * until the next fz_walk() into the same slot) and its end state. */
#define FZ_SLOTS (CR_LIBC_COUNT + 1) /* one walk per model, and one more */
struct fz_walk {
    struct cr_item *items;
    size_t n;
    struct cr_walk w;
};

/* The API's NULL / bad-model / bad-base contract (CR_EINVAL, CR_EMODEL, no
 * item, no fd, a base set only before the first item and only where a
 * buffer of C bytes fits) on buf[0, len); once per process it also walks
 * two headers with C near SIZE_MAX, where the next-header sum must not
 * wrap (§3). */
void fz_check_api(const unsigned char *buf, size_t len);

/* Walks buf[0, len), assumed at address base, under libc into *out, its
 * items into scratch slot (below FZ_SLOTS); checks an ended walk stays
 * ended and counts what it returned.  out keeps no pointer to buf beyond
 * out->w.buf. */
void fz_walk(const unsigned char *buf, size_t len, enum cr_libc libc,
             uint64_t base, unsigned slot, struct fz_walk *out);

/* Placement and statuses of one walk (§2): every item's header and data
 * lie inside [0, C), offsets rise by at least CMSG_LEN(0) and stay aligned,
 * cmsg_len is the raw field, ok data is L - H bytes, only the last item
 * may be truncated, and the warning fires iff the walk stopped on a
 * truncated or malformed header, re-checked from the raw bytes. */
void fz_check_walk(const unsigned char *buf, size_t len,
                   const struct fz_walk *o);

/* Two walks of the same bytes under the same model are identical. */
void fz_check_same(const struct fz_walk *a, const struct fz_walk *b);

/* short's items are a prefix of long's, and if short has fewer it ended
 * silently after an ok item.  This holds where short's next-header rule
 * only adds a condition to long's (§3): legacy glibc against glibc, and
 * legacy glibc at a lower address against a higher one (its extra
 * condition fails only where the pointer sum does not wrap). */
void fz_check_prefix(const struct fz_walk *lng, const struct fz_walk *shrt);

/* musl against glibc on the same bytes (§3): where every length glibc
 * read fits in 32 bits (musl reads only those), the walks are the same,
 * except that where glibc visits a header ending exactly at C, musl's
 * strict bound stops silently after the item before it. */
void fz_check_musl(const struct fz_walk *glibc, const struct fz_walk *musl);

/* Walks buf[0, len) under low's legacy model at address top (the highest
 * a buffer of len bytes can have there, where its pointer sum wraps most),
 * into the spare scratch slot (FZ_SLOTS - 1), and checks that walk
 * (fz_check_walk, fz_check_close_on_error) and that its items lie between
 * low's (the same model at its default address) and fixed's (the fixed
 * glibc of the same width): fz_check_prefix both ways. */
void fz_check_legacy_at(const unsigned char *buf, size_t len, uint64_t top,
                        const struct fz_walk *fixed, const struct fz_walk *low);

/* The error path's list (§4, cr_close_on_error_at at o's base) against
 * the walk o of buf: exactly the whole ints (floor(data_len / 4) of each)
 * of the SCM_RIGHTS items, in order; its count does not depend on the
 * capacity given (CR_ENOSPC with the full count when short, and the ints
 * that fit are the list's first ones). */
void fz_check_close_on_error(const unsigned char *buf, size_t len,
                             const struct fz_walk *o);

/* The JSON writer under libc: the streamed bytes equal the buffered form
 * given exactly enough room, and a refusing sink gives CR_ESINK. */
void fz_check_json(const unsigned char *buf, size_t len, enum cr_libc libc);

/* CMSG_LEN / CMSG_SPACE (§8) under model m at x and x + 1: the accepted
 * arguments form one interval [0, max]; CMSG_LEN(x) - CMSG_LEN(0) == x;
 * CMSG_SPACE(x) is aligned, covers CMSG_LEN(x), wastes less than one
 * alignment unit and never decreases; both stay within SOCKLEN_T_LIMIT
 * and meet it exactly at their maxima (SPACE's is LIMIT - CMSG_SPACE(1));
 * under the host's model both equal the host's macros. */
void fz_check_cmsg_len(const struct cr_model *m, int64_t x);

/* cr_model_by_name() on the name p[0, n) (cut to 31 bytes) agrees with
 * the model table, and writes nothing when it refuses. */
void fz_check_model_name(const uint8_t *p, size_t n);

#endif /* CR_FUZZ_INVARIANTS_H */
