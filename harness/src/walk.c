/*
 * walk.c - CPython's control-message walk (§2) under a libc model (§3).
 *
 * CPython's loop is: first header, then for each header compute its status
 * (malformed / truncated / ok); append an item for ok and truncated; stop
 * with one RuntimeWarning on the first non-ok status; otherwise ask the
 * libc's CMSG_NXTHDR.  This file re-states that loop with offsets instead
 * of pointers: every header we look at lies wholly inside buf[0, len), no
 * sum can wrap, and the host's macros are never called.  It allocates
 * nothing; one struct cr_walk is the whole state, so a 64 MiB buffer is
 * walked in constant memory.
 *
 * The error path (§4) is a second walk over the same bytes with the same
 * rules, exactly as in CPython: cr_close_on_error() below.
 */
#include "cmsgref.h"
#include "internal.h"
#include "walk.h"

/* The highest address of the model's pointer width: 2^addr_bits - 1. */
static uint64_t addr_max(const struct cr_model *m)
{
    return m->addr_bits == 32 ? UINT64_C(0xffffffff) : UINT64_MAX;
}

/* Returns 0 and the walk ready to run, CR_EMODEL for an unknown libc, or
 * CR_EINVAL for a NULL w, a NULL buf with len > 0, or a len that no buffer
 * of the model's address width holds.  w borrows buf. */
int cr_walk_init(struct cr_walk *w, const void *buf, size_t len,
                 enum cr_libc libc)
{
    const struct cr_model *m = cr_model_get(libc);

    if (w == NULL || (buf == NULL && len > 0))
        return CR_EINVAL;
    if (m == NULL)
        return CR_EMODEL;
    if (m->addr_bits == 32 && (uint64_t)len > addr_max(m) - 32u)
        return CR_EINVAL;
    w->buf = buf;
    w->len = len;
    w->model = m;
    w->off = 0;
    w->nitems = 0;
    w->stop = CR_STOP_END;
    w->warning = 0;
    w->stop_offset = 0;
    w->next_candidate = SIZE_MAX;
    w->base = cr_base_default(libc, len);
    w->base_threshold = 0;
    /* First-header rule: a header exists at 0 iff C >= sizeof(cmsghdr);
     * with C == 0 CPython does not start the walk at all (§2 steps 1-2). */
    w->done = len < m->hdr_size;
    w->why = len == 0  ? CR_WHY_EMPTY
             : w->done ? CR_WHY_NO_FIRST
                       : CR_WHY_RUNNING;
    return 0;
}

/* The model's default address; a 32-bit model's is lowered (16-aligned)
 * when a buffer of len bytes would not fit below 2^32 there.  0 for an
 * unknown model or a len no 32-bit buffer holds. */
uint64_t cr_base_default(enum cr_libc libc, size_t len)
{
    const struct cr_model *m = cr_model_get(libc);
    uint64_t room;

    if (m == NULL)
        return 0;
    if (m->addr_bits == 64)
        return m->base_default;
    if ((uint64_t)len > addr_max(m) - 32u)
        return 0;
    room = addr_max(m) - 32u - (uint64_t)len;
    return m->base_default <= room ? m->base_default : room & ~UINT64_C(15);
}

/* Sets the address the model assumes for buf; see cmsgref.h.  The room
 * asked beyond len covers the pointers the macros form past the last
 * header (the aligned current length and the next header), so only the
 * next length's sum can wrap. */
int cr_walk_set_base(struct cr_walk *w, uint64_t base)
{
    if (w == NULL || w->nitems > 0 || w->off > 0)
        return CR_EINVAL;
    if ((uint64_t)w->len > addr_max(w->model) - 32u ||
        base > addr_max(w->model) - 32u - (uint64_t)w->len)
        return CR_EINVAL;
    w->base = base;
    return 0;
}

/* Ends the walk with a status; a non-ok end carries the one warning. */
static int finish(struct cr_walk *w, enum cr_stop stop, enum cr_why why,
                  size_t where)
{
    w->done = 1;
    w->why = why;
    w->stop = stop;
    w->warning = stop != CR_STOP_END;
    w->stop_offset = where;
    return 0;
}

/* The next-header rule after an ok header at off with length L, where
 * H <= L <= len - off.  Records N in w->next_candidate; returns
 * CR_WHY_RUNNING if a header exists there, else the reason there is none. */
static enum cr_why next_header(struct cr_walk *w, size_t off, uint64_t L)
{
    const struct cr_model *m = w->model;
    size_t aligned, n;

    /* L <= len - off, so only a len near SIZE_MAX could overflow here. */
    if (add_overflows((size_t)L, m->align - 1, &aligned))
        return CR_WHY_NO_ROOM;
    aligned &= ~(m->align - 1);
#if CR_CANARY == 6 /* seeded bug: legacy glibc aligns N to 4, not 8 */
    if (m->next == CR_NEXT_LEGACY)
        aligned = ((size_t)L + 3u) & ~(size_t)3u;
#endif
    if (add_overflows(off, aligned, &n))
        return CR_WHY_NO_ROOM;
    w->next_candidate = n;
    if (n > w->len)
        return CR_WHY_NO_ROOM;
#if CR_CANARY == 1 /* seeded bug: glibc's N + 16 <= C taken as < */
    if (m->libc == CR_LIBC_GLIBC && m->next_hdr == w->len - n)
        return CR_WHY_NO_ROOM;
#endif
#if CR_CANARY == 5 /* seeded bug: musl's N + 16 < C taken as <= */
    if (m->next == CR_NEXT_FITS_STRICT && m->next_hdr == w->len - n)
        return CR_WHY_RUNNING;
#endif
    if (m->next == CR_NEXT_FITS_STRICT) {
        if (m->next_hdr >= w->len - n)
            return CR_WHY_NO_ROOM;
    } else if (m->next_hdr > w->len - n) {
        return CR_WHY_NO_ROOM;
    }
    if (m->next == CR_NEXT_LEGACY) {
        /* Legacy glibc reads the next header's length and compares the
         * pointer base + N + align(L_next) with base + C.  align() wraps
         * modulo 2^W (W = addr_bits: size_t is the pointer's width), so a
         * length within A - 1 of 2^W aligns to 0 (the infinite-loop bug),
         * and the pointer sum wraps once it passes 2^W - 1: the wrapped
         * pointer lies below base + C, so the header is visited.  init and
         * set_base keep base + N from wrapping.  L_next < 2^W (the field
         * is W bits wide), so the 64-bit sum below cannot wrap for W = 32. */
        const uint64_t top = addr_max(m);
        uint64_t ln = load_le(w->buf + n, m->len_width);
        uint64_t a = (ln + (m->align - 1u)) & ~(uint64_t)(m->align - 1u) & top;
        uint64_t at = w->base + (uint64_t)n;
        int fits = a <= (uint64_t)w->len - (uint64_t)n;
        /* Not fitting, but short of wrapping at base 0: the header is
         * visited iff base >= 2^W - N - a.  Keep the first such step whose
         * threshold a buffer can sit at (set_base's highest base,
         * 2^W - 1 - 32 - C, or below): a >= C - N + 33. */
        if (!fits && a <= top - (uint64_t)n &&
            a >= (uint64_t)w->len - (uint64_t)n + 33u && w->base_threshold == 0)
            w->base_threshold = top - (uint64_t)n - a + 1u;
        if (!fits && a <= top - at)
            return CR_WHY_LEGACY_OVERRUN;
    }
    return CR_WHY_RUNNING;
}

/* Returns 1 with *ret_item for the next item, 0 once the walk has ended.
 * Reads only buf[off, off + S) and, for the legacy rule, the next length. */
int cr_walk_next(struct cr_walk *w, struct cr_item *ret_item)
{
    const struct cr_model *m;
    const unsigned char *h;
    size_t off, rem;
    enum cr_why why;
    uint64_t L;
    struct cr_item it;

    if (w == NULL || w->done)
        return 0;
    m = w->model;
    off = w->off;
    rem = w->len - off; /* off + S <= len holds for every visited header */
    h = w->buf + off;
    /* Malformed: CMSG_LEN(0) does not fit, or L < CMSG_LEN(0). */
    if (m->len0 > rem)
        return finish(w, CR_STOP_MALFORMED, CR_WHY_SHORT_HEADER, off);
    L = load_le(h, m->len_width);
    if (L < m->len0)
        return finish(w, CR_STOP_MALFORMED, CR_WHY_LEN_TOO_SMALL, off);
    it.offset = off;
    it.cmsg_len = L;
    it.level = load_i32(h + m->level_off);
    it.type = load_i32(h + m->type_off);
    it.data_off = off + m->len0;
    w->nitems++;
    if (L > (uint64_t)rem) {
        /* Truncated: the data runs to C, possibly 0 bytes (K09). */
        it.data_len = rem - m->len0;
        it.status = CR_STATUS_TRUNCATED;
#if CR_CANARY == 2 /* seeded bug: a truncated item reported ok */
        it.status = CR_STATUS_OK;
#endif
        finish(w, CR_STOP_TRUNCATED, CR_WHY_LEN_PAST_END, off);
#if CR_CANARY == 4 /* seeded bug: no warning for a truncated empty item */
        if (rem == m->len0)
            w->warning = 0;
#endif
    } else {
        it.data_len = (size_t)L - m->len0;
        it.status = CR_STATUS_OK;
        why = next_header(w, off, L);
        if (why == CR_WHY_RUNNING)
            w->off = w->next_candidate;
        else
            finish(w, CR_STOP_END, why, off + (size_t)L);
    }
    *ret_item = it;
    return 1;
}

/* Returns floor(data_len / 4) for a (SOL_SOCKET, SCM_RIGHTS) item of the
 * model, 0 for any other item or a NULL argument. */
size_t cr_item_fd_count(const struct cr_model *m, const struct cr_item *it)
{
    if (m == NULL || it == NULL)
        return 0;
    if (it->level != m->sol_socket || it->type != m->scm_rights)
        return 0;
    return it->data_len / sizeof(int32_t);
}

/* Returns the i-th whole int of an item's data; the caller keeps i below
 * cr_item_fd_count(), so the read stays inside the item. */
int32_t cr_item_fd_at(const void *buf, const struct cr_item *it, size_t i)
{
    const unsigned char *p = buf;

    return load_i32(p + it->data_off + i * sizeof(int32_t));
}

/* The error path's second walk (§4): every whole int of every visited
 * SCM_RIGHTS item, in order, including the truncated last one.  Returns 0,
 * CR_ENOSPC (count still reported) or the cr_walk_init() error. */
int cr_close_on_error(const void *buf, size_t len, enum cr_libc libc,
                      int32_t *fds, size_t cap, size_t *ret_count)
{
    return cr_close_on_error_at(buf, len, libc, cr_base_default(libc, len), fds,
                                cap, ret_count);
}

/* See walk.h. */
int cr_close_on_error_each(const void *buf, size_t len, enum cr_libc libc,
                           uint64_t base, void (*fn)(void *ctx, int32_t fd),
                           void *ctx)
{
    struct cr_walk w;
    struct cr_item it;
    int rc = cr_walk_init(&w, buf, len, libc);

    if (rc == 0)
        rc = cr_walk_set_base(&w, base);
    if (rc < 0)
        return rc;
    while (cr_walk_next(&w, &it)) {
        size_t k = cr_item_fd_count(w.model, &it);
#if CR_CANARY == 3 /* seeded bug: a truncated item's last int not closed */
        if (it.status == CR_STATUS_TRUNCATED && k > 0)
            k--;
#endif
        for (size_t i = 0; i < k; i++)
            fn(ctx, cr_item_fd_at(buf, &it, i));
    }
    return 0;
}

/* cr_close_on_error_at()'s sink: the first cap ints into fds, all counted. */
struct fd_list {
    int32_t *fds;
    size_t cap;
    size_t n;
};

static void fd_list_add(void *ctx, int32_t fd)
{
    struct fd_list *l = ctx;

    if (l->n < l->cap)
        l->fds[l->n] = fd;
    l->n++; /* no wrap: n <= len / 4 */
}

/* cr_close_on_error() with buf assumed at address base: also CR_EINVAL
 * for an impossible base. */
int cr_close_on_error_at(const void *buf, size_t len, enum cr_libc libc,
                         uint64_t base, int32_t *fds, size_t cap,
                         size_t *ret_count)
{
    struct fd_list l = {fds, fds == NULL ? 0 : cap, 0};
    int rc = cr_close_on_error_each(buf, len, libc, base, fd_list_add, &l);

    if (rc < 0)
        return rc;
    if (ret_count != NULL)
        *ret_count = l.n;
    return l.n > l.cap ? CR_ENOSPC : 0;
}
