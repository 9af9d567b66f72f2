/*
 * explain.c - `cmsgref explain`: a person's view of one walk.
 *
 * An annotated hex dump that boxes each header the walk visits, its
 * fields, its data and its padding, shows where and why the walk stopped
 * (the library's own cr_why, so the reasons cannot drift from the rules),
 * whether the RuntimeWarning fires, the ancdata CPython returns and the fds
 * its error path would close.  Long data runs are elided unless --full.
 */
#include <string.h>

#include "cli.h"

#define ELIDE_HEAD 32
#define ELIDE_TAIL 16

/* One dump row: up to 8 bytes from off, with a note in the right column. */
static void row(FILE *out, const unsigned char *buf, size_t off, size_t n,
                const char *note)
{
    char hex[3 * 8 + 1] = "";

    for (size_t i = 0; i < n && i < 8; i++)
        snprintf(hex + 3 * i, 4, "%02x ", buf[off + i]);
    fprintf(out, "| %06zx  %-24s  %s\n", off, hex, note);
}

/* Dumps buf[off, end) 8 bytes a row, the first row carrying note; unless
 * full, a run that would hide at least one row shows only its first
 * ELIDE_HEAD bytes and the rows holding its last ELIDE_TAIL. */
static void dump(FILE *out, const unsigned char *buf, size_t off, size_t end,
                 const char *note, int full)
{
    size_t len = end - off;
    size_t head_end = off + ELIDE_HEAD;
    size_t tail =
        len > ELIDE_TAIL ? off + ((len - ELIDE_TAIL) & ~(size_t)7) : off;
    int elide = !full && len > ELIDE_HEAD + ELIDE_TAIL && tail > head_end;

    for (size_t p = off; p < end; p += 8) {
        if (elide && p == head_end) {
            fprintf(out, "|         ... %zu bytes not shown (--full) ...\n",
                    tail - head_end);
            p = tail - 8; /* the loop's step lands on tail */
            continue;
        }
        row(out, buf, p, end - p < 8 ? end - p : 8, p == off ? note : "");
    }
}

/* A name for (level, type) on Linux models, or NULL. */
static const char *cmsg_name(const struct cr_model *m, int32_t lv, int32_t ty)
{
    if (lv == m->sol_socket && ty == m->scm_rights)
        return "SOL_SOCKET, SCM_RIGHTS";
    if (m->libc > CR_LIBC_MUSL)
        return lv == m->sol_socket ? "SOL_SOCKET" : NULL;
    if (lv == 1) {
        switch (ty) {
        case 2: return "SOL_SOCKET, SCM_CREDENTIALS";
        case 29: return "SOL_SOCKET, SCM_TIMESTAMP";
        case 35: return "SOL_SOCKET, SCM_TIMESTAMPNS";
        default: return "SOL_SOCKET";
        }
    }
    if (lv == 0 && ty == 8)
        return "IPPROTO_IP, IP_PKTINFO";
    if (lv == 41 && ty == 50)
        return "IPPROTO_IPV6, IPV6_PKTINFO";
    return NULL;
}

/* Prints the header fields of the header at off, clipped to C. */
static void header_fields(FILE *out, const unsigned char *buf, size_t len,
                          const struct cr_model *m, size_t off)
{
    struct field {
        size_t at, size;
        const char *name;
    } f[4];
    size_t nf = 0, end = off + m->len0 < len ? off + m->len0 : len;

    f[nf++] = (struct field){0, m->len_width, "cmsg_len"};
    if (m->len_width == 4 && m->level_off == 8)
        f[nf++] = (struct field){4, 4, "pad (not part of cmsg_len)"};
    f[nf++] = (struct field){m->level_off, 4, "cmsg_level"};
    f[nf++] = (struct field){m->type_off, 4, "cmsg_type"};
    for (size_t i = 0; i < nf; i++) {
        size_t a = off + f[i].at;
        size_t b = a + f[i].size;
        char note[64];
        if (a >= end)
            return;
        if (b > end) {
            snprintf(note, sizeof(note), "%s (cut by C)", f[i].name);
            b = end;
        } else if (i == 0) {
            unsigned long long v = 0;
            for (size_t j = f[i].size; j > 0; j--)
                v = (v << 8) | buf[a + j - 1];
            snprintf(note, sizeof(note), "cmsg_len = %llu", v);
        } else if (f[i].at == m->level_off || f[i].at == m->type_off) {
            int32_t v;
            memcpy(&v, buf + a, 4);
            snprintf(note, sizeof(note), "%s = %d", f[i].name, (int)v);
        } else {
            snprintf(note, sizeof(note), "%s", f[i].name);
        }
        dump(out, buf, a, b, note, 1);
    }
    if (off + m->type_off + 4 < end)
        dump(out, buf, off + m->type_off + 4, end, "pad (header alignment)", 1);
}

/* Prints bytes as a Python bytes literal, cut after 48 bytes. */
static void py_bytes(FILE *out, const unsigned char *p, size_t n)
{
    size_t shown = n > 48 ? 48 : n;

    fputs("b'", out);
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = p[i];
        if (c == '\\' || c == '\'')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c >= 0x20 && c < 0x7f)
            fputc(c, out);
        else
            fprintf(out, "\\x%02x", c);
    }
    fputc('\'', out);
    if (shown < n)
        fprintf(out, " + %zu more bytes", n - shown);
}

static const char *why_text(enum cr_why why)
{
    switch (why) {
    case CR_WHY_EMPTY: return "C == 0: CPython does not start the walk";
    case CR_WHY_NO_FIRST:
        return "C < sizeof(struct cmsghdr): CMSG_FIRSTHDR finds no header";
    case CR_WHY_NO_ROOM:
        return "no room for another header after the last item";
    case CR_WHY_LEGACY_OVERRUN:
        return "legacy glibc: the next header's cmsg_len runs past C, so "
               "CMSG_NXTHDR returns NULL (silent drop)";
    case CR_WHY_SHORT_HEADER:
        return "MALFORMED: the header's CMSG_LEN(0) bytes run past C";
    case CR_WHY_LEN_TOO_SMALL:
        return "MALFORMED: cmsg_len < CMSG_LEN(0); the header is dropped";
    case CR_WHY_LEN_PAST_END:
        return "TRUNCATED: cmsg_len runs past C; the item is cut at C";
    default: return "running";
    }
}

void cli_next_rule(const struct cr_model *m, char *out, size_t cap)
{
    int n = snprintf(out, cap, "N + %zu %s C", m->next_hdr,
                     m->next == CR_NEXT_FITS_STRICT ? "<" : "<=");

    if (m->next == CR_NEXT_LEGACY && n >= 0 && (size_t)n < cap)
        snprintf(out + n, cap - (size_t)n,
                 " and N + align(L_next) <= C (pointers mod 2^%u)",
                 m->addr_bits);
}

static void model_line(FILE *out, const struct cr_model *m)
{
    char rule[64];

    cli_next_rule(m, rule, sizeof(rule));
    fprintf(out,
            "model %s: cmsghdr %zu bytes, cmsg_len u%u, level @%zu, "
            "type @%zu, data @%zu, align %zu; next header at N = off + "
            "align(cmsg_len) iff %s\n",
            m->name, m->hdr_size, m->len_width * 8, m->level_off, m->type_off,
            m->len0, m->align, rule);
}

int cli_explain(FILE *out, const char *name, const unsigned char *buf,
                size_t len, enum cr_libc libc, uint64_t base, int full)
{
    struct cr_walk w;
    struct cr_item it;
    const struct cr_model *m;
    int rc = cr_walk_init(&w, buf, len, libc), first = 1;
    size_t covered = 0;

    if (rc == 0)
        rc = cr_walk_set_base(&w, base);
    if (rc < 0)
        return rc;
    m = w.model;
    fprintf(out, "%s: C = %zu control bytes\n", name, len);
    model_line(out, m);
    if (m->next == CR_NEXT_LEGACY)
        fprintf(out,
                "buffer at 0x%llx: the next-header sum wraps at 2^%u "
                "as a pointer\n",
                (unsigned long long)base, m->addr_bits);
    while (cr_walk_next(&w, &it)) {
        const char *nm = cmsg_name(m, it.level, it.type);
        size_t k = cr_item_fd_count(m, &it), hdr_end = it.offset + m->len0;
        size_t data_end = it.data_off + it.data_len;
        char note[160];

        fprintf(out,
                "+-- item %zu: header @%zu  level %d type %d%s%s%s  "
                "cmsg_len %llu: %s\n",
                w.nitems - 1, it.offset, it.level, it.type, nm ? " (" : "",
                nm ? nm : "", nm ? ")" : "", (unsigned long long)it.cmsg_len,
                it.status == CR_STATUS_OK ? "ok" : "TRUNCATED");
        header_fields(out, buf, len, m, it.offset);
        if (it.data_len > 0) {
            snprintf(note, sizeof(note), "data [%zu, %zu): %zu bytes%s",
                     it.data_off, data_end, it.data_len,
                     k ? ", native ints = fds" : "");
            dump(out, buf, it.data_off, data_end, note, full);
        }
        if (k > 0) {
            fprintf(out, "|         fds:");
            for (size_t i = 0; i < k && i < 16; i++)
                fprintf(out, " %d", cr_item_fd_at(buf, &it, i));
            fprintf(out, "%s%s\n", k > 16 ? " ..." : "",
                    it.data_len % 4 ? " (trailing partial int ignored)" : "");
        }
        covered = data_end > hdr_end ? data_end : hdr_end;
        if (it.status == CR_STATUS_OK && w.next_candidate != SIZE_MAX &&
            covered < w.next_candidate && covered < len) {
            size_t pend = w.next_candidate < len ? w.next_candidate : len;
            dump(out, buf, covered, pend,
                 "padding after cmsg_len (never returned)", full);
            covered = pend;
        }
        if (!w.done)
            fprintf(out, "+-- next header at N = %zu\n", w.next_candidate);
        first = 0;
    }
    if (w.stop == CR_STOP_MALFORMED) {
        fprintf(out, "+-- header @%zu: %s\n", w.stop_offset, why_text(w.why));
        header_fields(out, buf, len, m, w.stop_offset);
        covered = w.stop_offset + m->len0 < len ? w.stop_offset + m->len0 : len;
    }
    if (covered < len)
        dump(out, buf, covered, len, "not visited by the walk", full);
    fprintf(out, "STOP");
    if (w.stop == CR_STOP_END && !first)
        fprintf(out, " after item %zu: next candidate N = %zu, C = %zu: %s\n",
                w.nitems - 1, w.next_candidate, len, why_text(w.why));
    else
        fprintf(out, " @%zu: %s\n", w.stop_offset, why_text(w.why));
    if (w.base_threshold != 0)
        fprintf(out,
                "the address decides: a next header counted above is "
                "visited iff the buffer sits at or above 0x%llx\n",
                (unsigned long long)w.base_threshold);
    if (w.warning)
        fprintf(out, "RuntimeWarning: %s\n", CR_WARNING_TEXT);
    else
        fprintf(out, "no warning\n");
    fprintf(out, "ancdata: [");
    cr_walk_init(&w, buf, len, libc);
    cr_walk_set_base(&w, base);
    while (cr_walk_next(&w, &it)) {
        fprintf(out, "%s(%d, %d, ", w.nitems > 1 ? ", " : "", it.level,
                it.type);
        py_bytes(out, buf + it.data_off, it.data_len);
        fputc(')', out);
    }
    fprintf(out, "]\nif the call raises after the syscall, close():");
    {
        size_t count = 0;
        int32_t fds[16];
        cr_close_on_error_at(buf, len, libc, base, fds, 16, &count);
        for (size_t i = 0; i < count && i < 16; i++)
            fprintf(out, " %d", fds[i]);
        fprintf(out, "%s%s\n", count == 0 ? " nothing" : "",
                count > 16 ? " ..." : "");
    }
    return ferror(out) ? CR_ESINK : 0;
}
