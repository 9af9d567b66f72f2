/*
 * shadow_walk.c - see shadow_walk.h.  The status rule (malformed iff the
 * header's CMSG_LEN(0) does not fit or cmsg_len < CMSG_LEN(0); truncated
 * iff cmsg_len runs past C) is the one CPython applies before it reads
 * any data; the stepping is left entirely to the libc's macros.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shadow_walk.h"

enum cr_libc shadow_libc(void)
{
    return cr_model_host();
}

/* Records one item if there is room; counts it either way. */
static void add_item(struct shadow_result *res, const struct cr_item *it)
{
    if (res->nitems < res->cap)
        res->items[res->nitems] = *it;
    res->nitems++;
}

int shadow_walk(const void *buf, size_t len, struct shadow_result *res)
{
    struct msghdr msg;
    struct cmsghdr *c;
    unsigned char *copy;
    const size_t data_off = CMSG_LEN(0);

    /* malloc(0) may return NULL; one spare byte keeps the block real while
     * msg_controllen still says len. */
    copy = malloc(len ? len : 1);
    if (copy == NULL)
        return CR_ENOMEM;
    if (len > 0)
        memcpy(copy, buf, len);
    memset(&msg, 0, sizeof(msg));
    msg.msg_control = copy;
    msg.msg_controllen = len;
    res->nitems = 0;
    res->stop = CR_STOP_END;
    c = len > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    while (c != NULL) {
        size_t off = (size_t)((unsigned char *)c - copy);
        size_t room = len - off;
        struct cr_item it;

        if (data_off > room || (size_t)c->cmsg_len < data_off) {
            res->stop = CR_STOP_MALFORMED;
            break;
        }
        it.offset = off;
        it.cmsg_len = (uint64_t)c->cmsg_len;
        it.level = c->cmsg_level;
        it.type = c->cmsg_type;
        it.data_off = (size_t)(CMSG_DATA(c) - copy);
        if ((size_t)c->cmsg_len > room) {
            it.data_len = room - data_off;
            it.status = CR_STATUS_TRUNCATED;
            add_item(res, &it);
            res->stop = CR_STOP_TRUNCATED;
            break;
        }
        it.data_len = (size_t)c->cmsg_len - data_off;
        it.status = CR_STATUS_OK;
        add_item(res, &it);
        c = CMSG_NXTHDR(&msg, c);
    }
    free(copy);
    return 0;
}

static int compare(const void *buf, size_t len, const struct shadow_result *sr,
                   char *why, size_t whylen);

int shadow_compare(const void *buf, size_t len, char *why, size_t whylen)
{
    /* Every ok step advances at least 12 bytes in any model. */
    size_t cap = len / 12 + 1;
    struct cr_item *items = malloc(cap * sizeof(*items));
    struct shadow_result sr = {items, cap, 0, CR_STOP_END};
    int rc;

    if (items == NULL)
        return CR_ENOMEM;
    rc = shadow_walk(buf, len, &sr);
    if (rc == 0)
        rc = compare(buf, len, &sr, why, whylen);
    free(items);
    return rc;
}

/* The body of shadow_compare() once the shadow has run. */
static int compare(const void *buf, size_t len, const struct shadow_result *sr,
                   char *why, size_t whylen)
{
    struct cr_walk w;
    struct cr_item it;
    size_t i = 0;

    if (cr_walk_init(&w, buf, len, shadow_libc()) < 0)
        return CR_EINVAL;
    while (cr_walk_next(&w, &it)) {
        if (i >= sr->nitems) {
            snprintf(why, whylen,
                     "model has item %zu at offset %zu, libc "
                     "stopped after %zu",
                     i, it.offset, sr->nitems);
            return 0;
        }
        if (i < sr->cap) {
            const struct cr_item *s = &sr->items[i];
            if (s->offset != it.offset || s->cmsg_len != it.cmsg_len ||
                s->level != it.level || s->type != it.type ||
                s->data_off != it.data_off || s->data_len != it.data_len ||
                s->status != it.status) {
                snprintf(why, whylen,
                         "item %zu differs: model off=%zu "
                         "len=%llu data=%zu+%zu st=%d; libc off=%zu len=%llu "
                         "data=%zu+%zu st=%d",
                         i, it.offset, (unsigned long long)it.cmsg_len,
                         it.data_off, it.data_len, (int)it.status, s->offset,
                         (unsigned long long)s->cmsg_len, s->data_off,
                         s->data_len, (int)s->status);
                return 0;
            }
        }
        i++;
    }
    if (i != sr->nitems || w.stop != sr->stop) {
        snprintf(why, whylen,
                 "model: %zu items, stop %d; libc: %zu items, "
                 "stop %d",
                 i, (int)w.stop, sr->nitems, (int)sr->stop);
        return 0;
    }
    return 1;
}
