/*
 * cmsg_parse.c - fuzz target: the input is a raw control buffer, C = size.
 *
 * Walks an exact-size heap copy (so ASan sees any over-read) under every
 * libc model and traps on any broken invariant of §2-§4 of the spec:
 *  - every item's header and data lie inside [0, C), offsets rise by at
 *    least CMSG_LEN(0) and stay aligned, ok data is L - H bytes;
 *  - only the last item may be truncated, and the warning fires iff the
 *    walk stopped on a truncated or malformed header (re-checked here from
 *    the raw bytes);
 *  - legacy glibc (GL) sees a prefix of G36's items: both share the first
 *    header and GL's next-header rule only adds a condition (§3); when GL
 *    stops earlier it does so silently.
 * The checks that cost a walk or more run on part of the inputs, chosen by
 * content so that a reproducer reruns them (LLVMFuzzerTestOneInput):
 *  - a second walk gives the same result: one model an input, by size;
 *  - the error path's fd list (cr_close_on_error) is exactly the whole
 *    ints of the SCM_RIGHTS items, in order: on that same model, and on
 *    every model for a fixed one input in eight ("sampled"), where its
 *    count is also checked not to depend on the capacity given;
 *  - the JSON writer streams the same bytes as its buffered form (and
 *    reports a refusing sink, for inputs under 128 bytes): on the
 *    re-walked model, for a fixed one input in 32 (a quarter of the
 *    sampled ones).  What this can catch depends on the output's length
 *    (one chunk, several, the 4 KiB boundary), not on the items; the
 *    committed corpus has 13 such inputs, 6 to 3126 bytes, five of them
 *    with JSON past 4 KiB.
 * The pick hashes every byte (pick_checks), so these rates hold for the
 * inputs libFuzzer runs, not only for distinct inputs.
 * The host is assumed little-endian (x86-64, arm64), like the models.
 */
#include "cmsgref.h"
#include "fuzz.h"

struct walk_out {
    struct cr_item *items;
    size_t n;
    struct cr_walk w;
};

/* Scratch kept for the process and grown, never shrunk: the items of every
 * walk, and the error path's fd list.  Reused because a malloc under ASan
 * is filled and quarantined, so fresh blocks per input were over half of
 * the ASan build's time (make bench, figure 1).  The input itself still
 * gets its own exact-size block (fz_exact_copy). */
static struct {
    struct cr_item *items;
    size_t items_cap;
    int32_t *fds; /* a block of exactly fds_cap ints */
    size_t fds_cap;
} scratch;

/* Returns room for n items (valid until the next call); traps on ENOMEM. */
FZ_NO_COV static struct cr_item *scratch_items(size_t n)
{
    if (n > scratch.items_cap) {
        free(scratch.items);
        scratch.items = malloc(n * sizeof(*scratch.items));
        FZ_CHECK(scratch.items != NULL);
        scratch.items_cap = n;
    }
    return scratch.items;
}

/* Returns room for exactly n ints that ends where its heap block ends, so
 * ASan flags a write of fds[n] as the old exact-size malloc did (never
 * NULL, even for n == 0); traps on ENOMEM. */
FZ_NO_COV static int32_t *scratch_fds(size_t n)
{
    if (n > scratch.fds_cap || scratch.fds == NULL) {
        free(scratch.fds);
        scratch.fds_cap = n > 0 ? n : 1;
        scratch.fds = malloc(scratch.fds_cap * sizeof(*scratch.fds));
        FZ_CHECK(scratch.fds != NULL);
    }
    return scratch.fds + (scratch.fds_cap - n);
}

/* Walks buf[0, len) under libc into out->items (room for len / 12 + 2
 * items, more than any model can produce).  out keeps no pointer to buf
 * beyond out->w.buf. */
FZ_NO_COV static void walk_all(const unsigned char *buf, size_t len, enum cr_libc libc,
                     struct walk_out *out)
{
    struct cr_item it;

    FZ_CHECK_EQ(cr_walk_init(&out->w, buf, len, libc), 0);
    out->n = 0;
    while (cr_walk_next(&out->w, &it)) {
        FZ_CHECK(out->n < len / 12 + 2);
        out->items[out->n++] = it;
    }
    FZ_CHECK(!cr_walk_next(&out->w, &it)); /* an ended walk stays ended */
    FZ_CHECK_EQ(out->w.nitems, out->n);
}

/* cmsg_len at the model's width, read from the raw bytes at off. */
FZ_NO_COV static uint64_t raw_len(const unsigned char *buf, const struct cr_model *m,
                        size_t off)
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

/* The per-walk invariants: placement, statuses, stop and warning. */
FZ_NO_COV static void check_walk(const unsigned char *buf, size_t len,
                       const struct walk_out *o)
{
    const struct cr_model *m = o->w.model;

    for (size_t i = 0; i < o->n; i++) {
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
        } else {
            FZ_CHECK_EQ(it->status, CR_STATUS_TRUNCATED);
            FZ_CHECK_EQ(i, o->n - 1);
            FZ_CHECK(it->cmsg_len > len - it->offset);
            FZ_CHECK_EQ(it->data_len, len - it->data_off);
        }
    }
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

/* The error path's list against the items: whole ints of SCM_RIGHTS data
 * only, in order: one second walk.  With sampled, a third one checks the
 * short-capacity contract (CR_ENOSPC with the full count). */
FZ_NO_COV static void check_close_on_error(const unsigned char *buf, size_t len,
                                 const struct walk_out *o, int sampled)
{
    const struct cr_model *m = o->w.model;
    size_t need = 0, got = 0, k = 0;
    int32_t *fds;

    for (size_t i = 0; i < o->n; i++) {
        if (o->items[i].level == m->sol_socket &&
            o->items[i].type == m->scm_rights)
            need += o->items[i].data_len / 4;
    }
    if (sampled) {
        FZ_CHECK_EQ(cr_close_on_error(buf, len, m->libc, NULL, 0, &got),
                    need > 0 ? CR_ENOSPC : 0);
        FZ_CHECK_EQ(got, need);
    }
    fds = scratch_fds(need);
    FZ_CHECK_EQ(cr_close_on_error(buf, len, m->libc, fds, need, &got), 0);
    FZ_CHECK_EQ(got, need);
    for (size_t i = 0; i < o->n; i++) {
        const struct cr_item *it = &o->items[i];
        if (it->level != m->sol_socket || it->type != m->scm_rights)
            continue;
        FZ_CHECK_EQ(cr_item_fd_count(m, it), it->data_len / 4);
        for (size_t j = 0; j + 4 <= it->data_len; j += 4, k++) {
            int32_t v;
            memcpy(&v, buf + it->data_off + j, 4);
            FZ_CHECK_EQ((uint32_t)fds[k], (uint32_t)v);
        }
    }
    FZ_CHECK_EQ(k, need);
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

/* Two walks of the same bytes must be identical. */
FZ_NO_COV static void check_same(const struct walk_out *a, const struct walk_out *b)
{
    FZ_CHECK_EQ(a->n, b->n);
    FZ_CHECK_EQ(a->w.stop, b->w.stop);
    FZ_CHECK_EQ(a->w.stop_offset, b->w.stop_offset);
    for (size_t i = 0; i < a->n; i++)
        FZ_CHECK(item_eq(&a->items[i], &b->items[i]));
}

/* GL's items are a prefix of G36's; a shorter GL walk ends silently. */
FZ_NO_COV static void check_legacy(const struct walk_out *g36, const struct walk_out *gl)
{
    FZ_CHECK(gl->n <= g36->n);
    for (size_t i = 0; i < gl->n; i++)
        FZ_CHECK(item_eq(&gl->items[i], &g36->items[i]));
    if (gl->n == g36->n) {
        FZ_CHECK_EQ(gl->w.stop, g36->w.stop);
    } else {
        FZ_CHECK(gl->n > 0);
        FZ_CHECK_EQ(gl->w.stop, CR_STOP_END);
        FZ_CHECK_EQ(g36->items[gl->n - 1].status, CR_STATUS_OK);
    }
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

/* Streamed JSON == buffered JSON; a refusing sink gives CR_ESINK. */
FZ_NO_COV static void check_json(const unsigned char *buf, size_t len, enum cr_libc l)
{
    struct grow g = { NULL, 0, 0, 0 };
    size_t n = 0;
    char *out;

    FZ_CHECK_EQ(cr_json_parse(buf, len, l, grow_sink, &g), 0);
    out = malloc(g.n + 1);
    FZ_CHECK(out != NULL);
    /* Exactly enough room (the short-capacity case is a unit test). */
    FZ_CHECK_EQ(cr_json_parse_buf(buf, len, l, out, g.n + 1, &n), 0);
    FZ_CHECK(n == g.n && memcmp(out, g.p, n) == 0 && out[n] == '\0');
    /* A refusing sink on small inputs only: it costs a whole render. */
    g.refuse = 1;
    if (len < 128)
        FZ_CHECK_EQ(cr_json_parse(buf, len, l, grow_sink, &g), CR_ESINK);
    free(out);
    free(g.p);
}

/* Once per process: C near SIZE_MAX.  A caller may pass any size_t, and
 * the walk must then neither wrap N = off + align(L) nor read more than the
 * headers it visits.  Two real headers (16 and 32 exact-size bytes) are
 * walked with len = SIZE_MAX: L = SIZE_MAX - 3 makes align(L) wrap, and a
 * second header with L = SIZE_MAX - 18 makes off + align(L) wrap.  Each
 * must end the walk silently after an ok item, reading nothing else. */
FZ_NO_COV static void probe_size_max(void)
{
    static int done;
    static const uint64_t lens[2][2] = { { SIZE_MAX - 3, 0 },
                                         { 16, SIZE_MAX - 18 } };
    struct cr_walk w;
    struct cr_item it;

    if (done)
        return;
    done = 1;
    for (int k = 0; k < 2; k++) {
        size_t n = 16 * (size_t)(k + 1), items = 0;
        unsigned char *b = calloc(1, n);
        FZ_CHECK(b != NULL);
        for (size_t h = 0; h * 16 < n; h++) {
            memcpy(b + 16 * h, &lens[k][h], 8);
            b[16 * h + 8] = 1;
        }
        FZ_CHECK_EQ(cr_walk_init(&w, b, SIZE_MAX, CR_LIBC_GLIBC), 0);
        while (cr_walk_next(&w, &it)) {
            FZ_CHECK_EQ(it.status, CR_STATUS_OK);
            items++;
        }
        FZ_CHECK(items == n / 16 && w.stop == CR_STOP_END && !w.warning);
        free(b);
    }
}

/* Returns 0..31 from every byte of the input, so a given input always
 * gets the same checks.  Every byte, because the inputs that run the
 * sampled checks alone reach some library branches, which libFuzzer's
 * scheduler favours: when the pick hung on three bytes and the size, most
 * mutants kept their parent's pick, and the JSON check (1 in 32) ran on
 * 15% of 300,000 executions, growing with the run.  With a hash of every
 * byte each mutant draws afresh.  Multiply-xor (Fibonacci hashing) over
 * 8-byte words, top bits taken: a plain XOR of bytes would follow the
 * structure (lengths and padding are multiples of 4 or 8). */
FZ_NO_COV static unsigned pick_checks(const uint8_t *data, size_t size)
{
    const uint64_t k = 0x9e3779b97f4a7c15u;
    uint64_t h = (size + 1) * k, v;
    size_t i = 0;

    for (; i + 8 <= size; i += 8) {
        memcpy(&v, data + i, 8);
        h = (h ^ v) * k;
    }
    for (; i < size; i++)
        h = (h ^ data[i]) * k;
    return (unsigned)(h >> 59);
}

/* One input: see the file comment.  Returns 0; traps on a violation. */
FZ_NO_COV int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *buf = fz_exact_copy(data, size);
    struct walk_out o[CR_LIBC_COUNT], again;
    size_t cap = size / 12 + 2;
    struct cr_walk w;
    /* Which costly checks run (file comment): by content, never by time
     * or count, so a reproducer reruns them.  Before this (JSON on 1 input
     * in 8, cr_close_on_error on every model of every input) those two were
     * 40% and 29% of this function's instructions (callgrind over make
     * bench's runs). */
    unsigned pick = pick_checks(data, size);
    int sampled = pick % 8 == 0, json = pick == 0;
    int rewalk = (int)(size % CR_LIBC_COUNT);

    FZ_CHECK(buf != NULL);
    FZ_CHECK_EQ(cr_walk_init(&w, NULL, 1, CR_LIBC_GLIBC), CR_EINVAL);
    FZ_CHECK_EQ(cr_walk_init(&w, buf, size, CR_LIBC_COUNT), CR_EMODEL);
    FZ_CHECK_EQ(cr_walk_init(NULL, buf, size, CR_LIBC_GLIBC), CR_EINVAL);
    FZ_CHECK(!cr_walk_next(NULL, NULL) && cr_item_fd_count(NULL, NULL) == 0);
    FZ_CHECK_EQ(cr_item_fd_count(cr_model_get(CR_LIBC_GLIBC), NULL), 0);
    FZ_CHECK_EQ(cr_close_on_error(buf, size, CR_LIBC_COUNT, NULL, 0, NULL),
                CR_EMODEL);
    probe_size_max();
    again.items = scratch_items((CR_LIBC_COUNT + 1) * cap);
    for (int l = 0; l < CR_LIBC_COUNT; l++) {
        o[l].items = again.items + (size_t)(l + 1) * cap;
        walk_all(buf, size, (enum cr_libc)l, &o[l]);
        check_walk(buf, size, &o[l]);
        if (l == rewalk || sampled)
            check_close_on_error(buf, size, &o[l], sampled);
        if (l == rewalk) {
            walk_all(buf, size, (enum cr_libc)l, &again);
            check_same(&o[l], &again);
        }
    }
    check_legacy(&o[CR_LIBC_GLIBC], &o[CR_LIBC_GLIBC_LEGACY]);
    if (json)
        check_json(buf, size, (enum cr_libc)rewalk);
    free(buf);
    return 0;
}
