/*
 * json.c - the one JSON writer for parse results (README "JSON schema").
 *
 * Everything that reports a walk as JSON - the CLI, the fuzz drivers and
 * the Python oracle (through cr_json_parse_buf) - goes through
 * cr_json_parse(), so the schema has one definition.  Output is streamed to
 * a sink through a fixed 4 KiB buffer: memory does not grow with the
 * control buffer, and the fd list is produced by the error path's own
 * second walk rather than stored.
 */
#include <stdio.h> /* snprintf for escapes and addresses */
#include <string.h>

#include "cmsgref.h"

struct writer {
    cr_sink_fn sink;
    void *ctx;
    int err;
    size_t n;
    char buf[4096];
};

static void flush(struct writer *jw)
{
    if (jw->err == 0 && jw->n > 0 && jw->sink(jw->ctx, jw->buf, jw->n) < 0)
        jw->err = CR_ESINK;
    jw->n = 0;
}

/* Appends s[0, n), flushing each time the buffer fills.  Most calls fit
 * with room to spare and take the first branch, which cannot fill it (so
 * the chunks the sink sees are the same); bytes it buffers after a sink
 * error are dropped by flush(), like the loop's. */
static void put(struct writer *jw, const char *s, size_t n)
{
    if (n < sizeof(jw->buf) - jw->n) {
        memcpy(jw->buf + jw->n, s, n);
        jw->n += n;
        return;
    }
    while (n > 0 && jw->err == 0) {
        size_t room = sizeof(jw->buf) - jw->n;
        size_t k = n < room ? n : room;
        memcpy(jw->buf + jw->n, s, k);
        jw->n += k;
        s += k;
        n -= k;
        if (jw->n == sizeof(jw->buf))
            flush(jw);
    }
}

static void puts_(struct writer *jw, const char *s)
{
    put(jw, s, strlen(s));
}

/* Decimal digits of v, without snprintf: this runs for every number of
 * every item, and needs no format parsing. */
static void put_u64(struct writer *jw, unsigned long long v)
{
    char tmp[20];
    size_t k = sizeof(tmp);

    do {
        tmp[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(jw, tmp + k, sizeof(tmp) - k);
}

static void put_i64(struct writer *jw, long long v)
{
    if (v < 0) {
        put(jw, "-", 1);
        put_u64(jw, 0ull - (unsigned long long)v);
    } else {
        put_u64(jw, (unsigned long long)v);
    }
}

/* Lowercase hex of p[0, n), 128 bytes a chunk: one loop test a byte. */
static void put_hex(struct writer *jw, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[256];

    while (n > 0) {
        size_t chunk = n < sizeof(tmp) / 2 ? n : sizeof(tmp) / 2;
        for (size_t i = 0; i < chunk; i++) {
            tmp[2 * i] = digits[p[i] >> 4];
            tmp[2 * i + 1] = digits[p[i] & 15];
        }
        put(jw, tmp, 2 * chunk);
        p += chunk;
        n -= chunk;
    }
}

static const char *stop_name(enum cr_stop s)
{
    switch (s) {
    case CR_STOP_TRUNCATED: return "truncated";
    case CR_STOP_MALFORMED: return "malformed";
    default: return "end";
    }
}

/* Writes the one-line JSON of a walk of buf[0, len) under libc to sink.
 * Returns 0, CR_EMODEL / CR_EINVAL from the walk, or CR_ESINK if the sink
 * refused bytes. */
int cr_json_parse(const void *buf, size_t len, enum cr_libc libc,
                  cr_sink_fn sink, void *ctx)
{
    return cr_json_parse_at(buf, len, libc, cr_base_default(libc, len), sink,
                            ctx);
}

/* Writes an address as a JSON string of 0x-hex (a u64 is past what a JSON
 * number holds exactly in most readers). */
static void put_addr(struct writer *jw, uint64_t v)
{
    char t[24];

    snprintf(t, sizeof(t), "\"0x%llx\"", (unsigned long long)v);
    puts_(jw, t);
}

/* cr_json_parse() with buf assumed at address base.  A model that reads
 * the address (legacy glibc) adds "base" and "base_threshold". */
int cr_json_parse_at(const void *buf, size_t len, enum cr_libc libc,
                     uint64_t base, cr_sink_fn sink, void *ctx)
{
    struct writer jw;
    struct cr_walk w;
    struct cr_item it;
    uint64_t threshold;
    int rc, first = 1;

    if (sink == NULL)
        return CR_EINVAL;
    rc = cr_walk_init(&w, buf, len, libc);
    if (rc == 0)
        rc = cr_walk_set_base(&w, base);
    if (rc < 0)
        return rc;
    jw.sink = sink;
    jw.ctx = ctx;
    jw.err = 0;
    jw.n = 0;
    puts_(&jw, "{\"libc\":\"");
    puts_(&jw, w.model->name);
    puts_(&jw, "\",\"controllen\":");
    put_u64(&jw, len);
    puts_(&jw, ",\"items\":[");
    while (cr_walk_next(&w, &it)) {
        puts_(&jw, first ? "{\"offset\":" : ",{\"offset\":");
        first = 0;
        put_u64(&jw, it.offset);
        puts_(&jw, ",\"level\":");
        put_i64(&jw, it.level);
        puts_(&jw, ",\"type\":");
        put_i64(&jw, it.type);
        puts_(&jw, ",\"cmsg_len\":");
        put_u64(&jw, it.cmsg_len);
        puts_(&jw, ",\"data\":\"");
        put_hex(&jw, (const unsigned char *)buf + it.data_off, it.data_len);
        puts_(&jw, it.status == CR_STATUS_OK ? "\",\"status\":\"ok\"}"
                                             : "\",\"status\":\"truncated\"}");
    }
    puts_(&jw, "],\"stop\":\"");
    puts_(&jw, stop_name(w.stop));
    puts_(&jw, w.warning ? "\",\"warning\":true" : "\",\"warning\":false");
    puts_(&jw, ",\"close_on_error\":[");
    threshold = w.base_threshold;
    /* The error path's second walk, streamed. */
    first = 1;
    cr_walk_init(&w, buf, len, libc);
    cr_walk_set_base(&w, base);
    while (cr_walk_next(&w, &it)) {
        size_t k = cr_item_fd_count(w.model, &it);
        for (size_t i = 0; i < k; i++) {
            if (!first)
                put(&jw, ",", 1);
            first = 0;
            put_i64(&jw, cr_item_fd_at(buf, &it, i));
        }
    }
    puts_(&jw, "]");
    if (w.model->next == CR_NEXT_LEGACY) {
        puts_(&jw, ",\"base\":");
        put_addr(&jw, base);
        puts_(&jw, ",\"base_threshold\":");
        if (threshold == 0)
            puts_(&jw, "null");
        else
            put_addr(&jw, threshold);
    }
    puts_(&jw, "}");
    flush(&jw);
    return jw.err;
}

struct bufsink {
    char *out;
    size_t cap;
    size_t n;
};

static int buf_sink(void *ctx, const char *s, size_t n)
{
    struct bufsink *b = ctx;

    if (b->n < b->cap) {
        size_t room = b->cap - b->n;
        memcpy(b->out + b->n, s, n < room ? n : room);
    }
    b->n += n;
    return 0;
}

/* cr_json_parse() into out[0, cap).  Returns 0 with a NUL-terminated
 * string, CR_ENOSPC if it (with its NUL) does not fit, or the walk's error;
 * *ret_len is the full length on 0 and CR_ENOSPC. */
int cr_json_parse_buf(const void *buf, size_t len, enum cr_libc libc, char *out,
                      size_t cap, size_t *ret_len)
{
    return cr_json_parse_buf_at(buf, len, libc, cr_base_default(libc, len), out,
                                cap, ret_len);
}

/* cr_json_parse_buf() with buf assumed at address base. */
int cr_json_parse_buf_at(const void *buf, size_t len, enum cr_libc libc,
                         uint64_t base, char *out, size_t cap, size_t *ret_len)
{
    struct bufsink b = {out, out == NULL ? 0 : cap, 0};
    int rc = cr_json_parse_at(buf, len, libc, base, buf_sink, &b);

    if (rc < 0)
        return rc;
    if (ret_len != NULL)
        *ret_len = b.n;
    if (b.n >= b.cap)
        return CR_ENOSPC;
    out[b.n] = '\0';
    return 0;
}

/* Writes s[0, n) as the inside of a JSON string: quotes, backslashes and
 * control bytes escaped, other bytes as they are.  Returns 0 or CR_ESINK. */
int cr_json_escape(const char *s, size_t n, cr_sink_fn sink, void *ctx)
{
    struct writer jw;

    if (sink == NULL || (s == NULL && n > 0))
        return CR_EINVAL;
    jw.sink = sink;
    jw.ctx = ctx;
    jw.err = 0;
    jw.n = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(&jw, e, 2);
        } else if (c < 0x20) {
            char e[8];
            snprintf(e, sizeof(e), "\\u%04x", c);
            put(&jw, e, 6);
        } else {
            put(&jw, (const char *)&c, 1);
        }
    }
    flush(&jw);
    return jw.err;
}
