/*
 * invariants.c - see invariants.h.  Checking code only: it is kept out of
 * coverage instrumentation (FZ_NO_COV), so the engine's signal is the
 * library's branches, not these loops.
 *
 * The items of each walk and the error path's fd list go to scratch kept
 * for the process and grown, never shrunk: under ASan every malloc is
 * filled and quarantined, so per-input blocks would cost more than the
 * walks.  The input itself still has its own exact-size block
 * (fz_exact_copy), and the fd list ends where its heap block ends, so ASan
 * still sees a read or write one past either.
 */
#include <sys/socket.h>

#include "fuzz.h"
#include "invariants.h"

#define LIMIT ((int64_t)CR_SOCKLEN_T_LIMIT)

static struct {
    struct cr_item *items;
    size_t cap;
} slots[FZ_SLOTS];

static struct {
    int32_t *fds; /* a block of exactly cap ints */
    size_t cap;
} fdlists[2];

/* Returns room for exactly n ints in list k (0 or 1) that ends where its
 * heap block ends (never NULL, even for n == 0); traps on ENOMEM. */
FZ_NO_COV static int32_t *scratch_fds(unsigned k, size_t n)
{
    if (n > fdlists[k].cap || fdlists[k].fds == NULL) {
        free(fdlists[k].fds);
        fdlists[k].cap = n > 0 ? n : 1;
        fdlists[k].fds = malloc(fdlists[k].cap * sizeof(int32_t));
        FZ_CHECK(fdlists[k].fds != NULL);
    }
    return fdlists[k].fds + (fdlists[k].cap - n);
}

FZ_NO_COV void fz_walk(const unsigned char *buf, size_t len, enum cr_libc libc,
                       uint64_t base, unsigned slot, struct fz_walk *out)
{
    size_t cap = len / 12 + 2; /* more than any model can produce */
    struct cr_item it;

    FZ_CHECK(slot < FZ_SLOTS);
    if (cap > slots[slot].cap) {
        free(slots[slot].items);
        slots[slot].items = malloc(cap * sizeof(*slots[slot].items));
        FZ_CHECK(slots[slot].items != NULL);
        slots[slot].cap = cap;
    }
    out->items = slots[slot].items;
    out->n = 0;
    FZ_CHECK_EQ(cr_walk_init(&out->w, buf, len, libc), 0);
    FZ_CHECK_EQ(cr_walk_set_base(&out->w, base), 0);
    while (cr_walk_next(&out->w, &it)) {
        FZ_CHECK(out->n < cap);
        out->items[out->n++] = it;
    }
    FZ_CHECK(!cr_walk_next(&out->w, &it)); /* an ended walk stays ended */
    FZ_CHECK_EQ(out->w.nitems, out->n);
}

/* cmsg_len at the model's width, read from the raw bytes at off. */
FZ_NO_COV static uint64_t raw_len(const unsigned char *buf,
                                  const struct cr_model *m, size_t off)
{
    uint64_t v64 = 0;
    uint32_t v32 = 0;

    if (m->len_width == 8) {
        memcpy(&v64, buf + off, 8);
        return v64;
    }
    memcpy(&v32, buf + off, 4);
    return v32;
}

/* One item's placement and status (i of o->n). */
FZ_NO_COV static void check_item(const unsigned char *buf, size_t len,
                                 const struct fz_walk *o, size_t i)
{
    const struct cr_model *m = o->w.model;
    const struct cr_item *it = &o->items[i];

    FZ_CHECK(it->offset <= len && m->len0 <= len - it->offset);
    FZ_CHECK_EQ(it->offset % m->align, 0);
    FZ_CHECK_EQ(it->data_off, it->offset + m->len0);
    FZ_CHECK(it->data_len <= len - it->data_off);
    FZ_CHECK_EQ(it->cmsg_len, raw_len(buf, m, it->offset));
    FZ_CHECK(it->cmsg_len >= m->len0);
    if (i > 0)
        FZ_CHECK(it->offset >= o->items[i - 1].offset + m->len0);
    if (it->status == CR_STATUS_OK) {
        FZ_CHECK_EQ(it->data_len, it->cmsg_len - m->len0);
        return;
    }
    FZ_CHECK_EQ(it->status, CR_STATUS_TRUNCATED);
    FZ_CHECK_EQ(i, o->n - 1);
    FZ_CHECK(it->cmsg_len > len - it->offset);
    FZ_CHECK_EQ(it->data_len, len - it->data_off);
}

FZ_NO_COV void fz_check_walk(const unsigned char *buf, size_t len,
                             const struct fz_walk *o)
{
    const struct cr_model *m = o->w.model;

    for (size_t i = 0; i < o->n; i++)
        check_item(buf, len, o, i);
    FZ_CHECK_EQ(o->w.warning, o->w.stop != CR_STOP_END);
    if (o->w.stop == CR_STOP_TRUNCATED) {
        FZ_CHECK(o->n > 0);
        FZ_CHECK_EQ(o->items[o->n - 1].status, CR_STATUS_TRUNCATED);
    } else if (o->w.stop == CR_STOP_MALFORMED) {
        size_t off = o->w.stop_offset;
        FZ_CHECK(off <= len && m->hdr_size <= len - off);
        FZ_CHECK(m->len0 > len - off || raw_len(buf, m, off) < m->len0);
        if (o->n > 0)
            FZ_CHECK(off > o->items[o->n - 1].offset);
    } else {
        FZ_CHECK_EQ(o->w.stop, CR_STOP_END);
        FZ_CHECK(o->n > 0 || len < m->hdr_size);
        if (o->n > 0)
            FZ_CHECK_EQ(o->items[o->n - 1].status, CR_STATUS_OK);
    }
}

/* 1 if two items are the same field by field (memcmp would compare the
 * struct's padding, which is indeterminate). */
FZ_NO_COV static int item_eq(const struct cr_item *a, const struct cr_item *b)
{
    return a->offset == b->offset && a->cmsg_len == b->cmsg_len &&
           a->level == b->level && a->type == b->type &&
           a->data_off == b->data_off && a->data_len == b->data_len &&
           a->status == b->status;
}

FZ_NO_COV void fz_check_same(const struct fz_walk *a, const struct fz_walk *b)
{
    FZ_CHECK_EQ(a->n, b->n);
    FZ_CHECK_EQ(a->w.stop, b->w.stop);
    FZ_CHECK_EQ(a->w.stop_offset, b->w.stop_offset);
    for (size_t i = 0; i < a->n; i++)
        FZ_CHECK(item_eq(&a->items[i], &b->items[i]));
}

FZ_NO_COV void fz_check_prefix(const struct fz_walk *lng,
                               const struct fz_walk *shrt)
{
    FZ_CHECK(shrt->n <= lng->n);
    for (size_t i = 0; i < shrt->n; i++)
        FZ_CHECK(item_eq(&shrt->items[i], &lng->items[i]));
    if (shrt->n == lng->n) {
        FZ_CHECK_EQ(shrt->w.stop, lng->w.stop);
    } else {
        FZ_CHECK(shrt->n > 0);
        FZ_CHECK_EQ(shrt->w.stop, CR_STOP_END);
        FZ_CHECK_EQ(lng->items[shrt->n - 1].status, CR_STATUS_OK);
    }
}

FZ_NO_COV void fz_check_musl(const struct fz_walk *glibc,
                             const struct fz_walk *musl)
{
    size_t len = glibc->w.len, n = glibc->n;
    int item_at_edge, stop_at_edge;

    for (size_t i = 0; i < n; i++)
        if (glibc->items[i].cmsg_len > UINT32_MAX)
            return;
    item_at_edge = n > 1 && glibc->items[n - 1].offset + 16 == len;
    stop_at_edge = n > 0 && glibc->w.stop == CR_STOP_MALFORMED &&
                   glibc->w.stop_offset + 16 == len;
    if (!item_at_edge && !stop_at_edge) {
        fz_check_same(glibc, musl);
        return;
    }
    /* glibc visited a header ending exactly at C after an ok item; musl's
     * strict bound never does: it ends there silently. */
    FZ_CHECK_EQ(musl->w.why, CR_WHY_NO_ROOM);
    FZ_CHECK_EQ(musl->w.next_candidate, len - 16);
    FZ_CHECK_EQ(musl->n, item_at_edge ? n - 1 : n);
    for (size_t i = 0; i < musl->n; i++)
        FZ_CHECK(item_eq(&glibc->items[i], &musl->items[i]));
}

FZ_NO_COV void fz_check_close_on_error(const unsigned char *buf, size_t len,
                                       const struct fz_walk *o)
{
    const struct cr_model *m = o->w.model;
    uint64_t base = o->w.base;
    size_t need = 0, got = 0, k = 0;
    int32_t *fds, *part;

    for (size_t i = 0; i < o->n; i++) {
        FZ_CHECK_EQ(cr_item_fd_count(m, &o->items[i]),
                    o->items[i].level == m->sol_socket &&
                            o->items[i].type == m->scm_rights
                        ? o->items[i].data_len / 4
                        : 0);
        need += cr_item_fd_count(m, &o->items[i]);
    }
    FZ_CHECK_EQ(cr_close_on_error_at(buf, len, m->libc, base, NULL, 0, &got),
                need > 0 ? CR_ENOSPC : 0);
    FZ_CHECK_EQ(got, need);
    fds = scratch_fds(0, need);
    FZ_CHECK_EQ(cr_close_on_error_at(buf, len, m->libc, base, fds, need, &got),
                0);
    FZ_CHECK_EQ(got, need);
    if (need > 0) { /* one short: the list is cut, inside an item or not */
        part = scratch_fds(1, need - 1);
        FZ_CHECK_EQ(
            cr_close_on_error_at(buf, len, m->libc, base, part, need - 1, &got),
            CR_ENOSPC);
        FZ_CHECK(got == need && memcmp(part, fds, 4 * (need - 1)) == 0);
    }
    for (size_t i = 0; i < o->n; i++) {
        const struct cr_item *it = &o->items[i];
        for (size_t j = 0; j < cr_item_fd_count(m, it); j++, k++) {
            int32_t v;
            memcpy(&v, buf + it->data_off + 4 * j, 4);
            FZ_CHECK_EQ((uint32_t)fds[k], (uint32_t)v);
        }
    }
    FZ_CHECK_EQ(k, need);
}

FZ_NO_COV void fz_check_legacy_at(const unsigned char *buf, size_t len,
                                  uint64_t top, const struct fz_walk *fixed,
                                  const struct fz_walk *low)
{
    struct fz_walk high;

    fz_walk(buf, len, low->w.model->libc, top, FZ_SLOTS - 1, &high);
    fz_check_walk(buf, len, &high);
    fz_check_close_on_error(buf, len, &high);
    fz_check_prefix(fixed, &high);
    fz_check_prefix(&high, low);
}

struct grow {
    char *p;
    size_t n, cap;
    int refuse;
};

/* Sink for the streamed JSON: appends, or refuses when asked to. */
FZ_NO_COV static int grow_sink(void *ctx, const char *s, size_t n)
{
    struct grow *g = ctx;

    if (g->refuse)
        return -1;
    if (g->n + n > g->cap) {
        g->cap = (g->n + n) * 2;
        g->p = realloc(g->p, g->cap);
        FZ_CHECK(g->p != NULL);
    }
    memcpy(g->p + g->n, s, n);
    g->n += n;
    return 0;
}

FZ_NO_COV void fz_check_json(const unsigned char *buf, size_t len,
                             enum cr_libc libc)
{
    struct grow g = {NULL, 0, 0, 0};
    size_t n = 0;
    char *out;

    FZ_CHECK_EQ(cr_json_parse(buf, len, libc, grow_sink, &g), 0);
    out = malloc(g.n + 1);
    FZ_CHECK(out != NULL);
    FZ_CHECK_EQ(cr_json_parse_buf(buf, len, libc, out, g.n + 1, &n), 0);
    FZ_CHECK(n == g.n && memcmp(out, g.p, n) == 0 && out[n] == '\0');
    g.refuse = 1;
    FZ_CHECK_EQ(cr_json_parse(buf, len, libc, grow_sink, &g), CR_ESINK);
    free(out);
    free(g.p);
}

/* Walks two real headers (16 and 32 exact-size bytes) with C = SIZE_MAX:
 * L = SIZE_MAX - 3 makes align(L) wrap, and a second header with
 * L = SIZE_MAX - 18 makes off + align(L) wrap.  Each must end the walk
 * silently after its ok items, reading nothing else. */
FZ_NO_COV static void check_size_max(void)
{
    static const uint64_t lens[2][2] = {{SIZE_MAX - 3, 0}, {16, SIZE_MAX - 18}};
    struct cr_walk w;
    struct cr_item it;

    for (int k = 0; k < 2; k++) {
        size_t n = 16 * (size_t)(k + 1), items = 0;
        unsigned char *b = calloc(1, n);
        FZ_CHECK(b != NULL);
        for (size_t h = 0; h * 16 < n; h++) {
            memcpy(b + 16 * h, &lens[k][h], 8);
            b[16 * h + 8] = 1;
        }
        FZ_CHECK_EQ(cr_walk_init(&w, b, SIZE_MAX, CR_LIBC_GLIBC), 0);
        FZ_CHECK_EQ(cr_walk_set_base(&w, 0), CR_EINVAL); /* no room */
        while (cr_walk_next(&w, &it)) {
            FZ_CHECK_EQ(it.status, CR_STATUS_OK);
            items++;
        }
        FZ_CHECK(items == n / 16 && w.stop == CR_STOP_END && !w.warning);
        free(b);
    }
}

/* The address-width contract of every model, at lengths no input has: a
 * 32-bit model refuses a len no buffer below 2^32 holds (cr_walk_init
 * CR_EINVAL, cr_base_default 0) and lowers its default address, 16-aligned,
 * so that a long buffer still fits; a 64-bit model's default is its
 * base_default whatever the len.  No walk is run, so nothing is read. */
FZ_NO_COV static void check_addr_width(void)
{
    static const unsigned char byte;
    const size_t mid = (size_t)1 << 28;
    struct cr_walk w;

    for (unsigned l = 0; l < CR_LIBC_COUNT; l++) {
        const struct cr_model *m = cr_model_get((enum cr_libc)l);
        const size_t big = (size_t)(UINT32_MAX - 32u);
        uint64_t d = cr_base_default(m->libc, mid);

        if (m->addr_bits != 32) {
            FZ_CHECK_EQ(cr_base_default(m->libc, SIZE_MAX), m->base_default);
            continue;
        }
        FZ_CHECK_EQ(cr_walk_init(&w, &byte, big + 1, m->libc), CR_EINVAL);
        FZ_CHECK_EQ(cr_base_default(m->libc, big + 1), 0);
        FZ_CHECK(d % 16 == 0 && d <= m->base_default);
        FZ_CHECK(d + mid + 32u <= UINT32_MAX);
        FZ_CHECK_EQ(cr_walk_init(&w, &byte, mid, m->libc), 0);
        FZ_CHECK_EQ(cr_walk_set_base(&w, d), 0);
    }
}

FZ_NO_COV void fz_check_api(const unsigned char *buf, size_t len)
{
    static int size_max_done;
    const uint64_t top = UINT64_MAX - 32u - (uint64_t)len;
    struct cr_walk w;
    struct cr_item it;

    FZ_CHECK_EQ(cr_walk_init(&w, NULL, 1, CR_LIBC_GLIBC), CR_EINVAL);
    FZ_CHECK_EQ(cr_walk_init(&w, buf, len, CR_LIBC_COUNT), CR_EMODEL);
    FZ_CHECK_EQ(cr_walk_init(NULL, buf, len, CR_LIBC_GLIBC), CR_EINVAL);
    FZ_CHECK(!cr_walk_next(NULL, NULL) && cr_item_fd_count(NULL, NULL) == 0);
    FZ_CHECK_EQ(cr_item_fd_count(cr_model_get(CR_LIBC_GLIBC), NULL), 0);
    FZ_CHECK_EQ(cr_close_on_error(buf, len, CR_LIBC_COUNT, NULL, 0, NULL),
                CR_EMODEL);
    FZ_CHECK(cr_close_on_error(buf, len, CR_LIBC_GLIBC, NULL, 0, NULL) <= 0);
    FZ_CHECK_EQ(cr_walk_set_base(NULL, 0), CR_EINVAL);
    FZ_CHECK_EQ(cr_walk_init(&w, buf, len, CR_LIBC_GLIBC_LEGACY), 0);
    FZ_CHECK_EQ(cr_walk_set_base(&w, top + 1), CR_EINVAL);
    FZ_CHECK_EQ(cr_walk_set_base(&w, top), 0);
    if (cr_walk_next(&w, &it)) /* started: the base is fixed */
        FZ_CHECK_EQ(cr_walk_set_base(&w, 0), CR_EINVAL);
    if (!size_max_done) {
        size_max_done = 1;
        check_size_max();
        check_addr_width();
    }
}

FZ_NO_COV void fz_check_cmsg_len(const struct cr_model *m, int64_t x)
{
    int64_t r = 0, r1 = 0, s = 0, s1 = 0;
    int okl = cr_cmsg_len(m->libc, x, &r) == 0;
    int oks = cr_cmsg_space(m->libc, x, &s) == 0;
    int okl1 = x < INT64_MAX && cr_cmsg_len(m->libc, x + 1, &r1) == 0;
    int oks1 = x < INT64_MAX && cr_cmsg_space(m->libc, x + 1, &s1) == 0;

    FZ_CHECK(!okl || (x >= 0 && r - (int64_t)m->len0 == x && r <= LIMIT));
    FZ_CHECK(!okl1 || okl || x < 0); /* the accepted set is an interval */
    FZ_CHECK(!oks1 || oks || x < 0);
    FZ_CHECK(!oks || okl); /* SPACE's range is inside LEN's */
    if (okl && !okl1)      /* tight: the largest CMSG_LEN is the limit */
        FZ_CHECK_EQ(r, LIMIT);
    if (oks) {
        FZ_CHECK(x >= 0 && s <= LIMIT && s % (int64_t)m->align == 0);
        FZ_CHECK(s >= r && s - x >= (int64_t)m->next_hdr);
        FZ_CHECK(s - x < (int64_t)(m->next_hdr + m->align));
        FZ_CHECK(!oks1 || s1 >= s);
        if (!oks1 && x < INT64_MAX) { /* the bound is LIMIT - SPACE(1) */
            FZ_CHECK_EQ(cr_cmsg_space(m->libc, 1, &s1), 0);
            FZ_CHECK(x + s1 <= LIMIT && x + 1 + s1 > LIMIT);
        }
    }
    if (m->libc == cr_model_host() && okl)
        FZ_CHECK_EQ(CMSG_LEN((size_t)x), r);
    if (m->libc == cr_model_host() && oks)
        FZ_CHECK_EQ(CMSG_SPACE((size_t)x), s);
}

FZ_NO_COV void fz_check_model_name(const uint8_t *p, size_t n)
{
    char name[32];
    enum cr_libc l = CR_LIBC_COUNT;
    const struct cr_model *m;

    FZ_CHECK_EQ(cr_model_by_name(NULL, NULL), CR_EMODEL);
    n = n < sizeof(name) - 1 ? n : sizeof(name) - 1;
    memcpy(name, p, n);
    name[n] = '\0';
    if (cr_model_by_name(name, &l) != 0) {
        FZ_CHECK_EQ(l, CR_LIBC_COUNT); /* not written on failure */
        return;
    }
    m = cr_model_get(l);
    FZ_CHECK(m != NULL);
    FZ_CHECK(strcmp(m->name, name) == 0 || strcmp(name, "legacy-glibc") == 0);
}
