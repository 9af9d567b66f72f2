/*
 * crafted.c - what the spec says of its crafted buffers (§12), per model.
 *
 * The bytes themselves have one definition: scripts/make-seeds writes them
 * as corpus/cmsg_parse/seed-<id>-<intent> files, which the fuzzers, the
 * replay, the libc differential and the oracle all read.  This file only
 * finds them and states the expected results.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmsgref.h"
#include "crafted.h"
#include "input.h"

#define KA "(1,1,41424344)"
#define K8 "(1,1,3132333435363738)"
#define EEI ((int32_t)0xEEEEEEEEu)

static const struct crafted cases[] = {
    {"K01", {"[" KA "]", NULL, NULL}, 0, {0}},
    {"K02", {"[(1,1,)]", NULL, NULL}, 0, {0}},
    {"K03", {"[(1,1,41)]", NULL, NULL}, 0, {0}},
    {"K04", {"[(-1,-1,41424344)]", NULL, NULL}, 0, {0}},
    {"K05a", {"[]", NULL, NULL}, 0, {0}},
    {"K05b", {"[]", NULL, NULL}, 0, {0}},
    {"K06", {"[] +w", NULL, NULL}, 0, {0}},
    {"K07", {"[] +w", NULL, NULL}, 0, {0}},
    {"K08", {"[(1,1,41424344eeeeeeee)] +w", NULL, NULL}, 0, {0}},
    {"K09", {"[(1,1,)] +w", NULL, NULL}, 0, {0}},
    {"K10", {"[" K8 "] +w", NULL, NULL}, 0, {0}},
    {"K11", {"[" K8 "] +w", NULL, "[] +w"}, 0, {0}},
    {"K12", {"[(1,1,41424344eeeeeeee)] +w", NULL, "[" KA "]"}, 0, {0}},
    {"K13", {"[" KA "]", NULL, NULL}, 0, {0}},
    {"K14", {"[" KA ",(1,1,)]", NULL, "[" KA "]"}, 0, {0}},
    {"K15", {"[(1,1,),(2,2,),(3,3,)]", NULL, "[(1,1,),(2,2,)]"}, 0, {0}},
    {"K16", {"[" KA ",(2,2,41424344)]", "[" KA "]", NULL}, 0, {0}},
    {"K17", {"[" KA ",(2,2,414243)] +w", "[" KA "]", NULL}, 0, {0}},
    {"K18", {"[" KA ",(2,3,3132333435363738)] +w", "[" KA "]", NULL}, 0, {0}},
    {"K19", {"[" KA ",(2,2,)] +w", "[" KA "]", "[" KA "]"}, 0, {0}},
    {"K20", {"[" KA "] +w", NULL, "[" KA "]"}, 0, {0}},
    {"K21", {"[" KA "] +w", NULL, NULL}, 0, {0}},
    {"K22", {"[" KA "," K8 "] +w", NULL, NULL}, 0, {0}},
    {"K23", {"[" K8 ",(1,1,000000000000000000)] +w", "[" K8 "]", NULL}, 0, {0}},
    {"K24", {"[" KA ",(41,50,6162636465)]", "[" KA "]", NULL}, 0, {0}},
    {"F1",
     {"[(1,1,64000000650000006600000067000000)] +w", NULL, NULL},
     4,
     {100, 101, 102, 103}},
    {"F2", {"[(1,1,64000000)] +w", NULL, "[(1,1,64000000)]"}, 1, {100}},
    {"F3", {"[] +w", NULL, NULL}, 0, {0}},
    {"F4",
     {"[(1,1,64000000),(1,1,65000000660000007a7a)] +w", "[(1,1,64000000)]",
      NULL},
     3,
     {100, 101, 102}},
    {"F5", {"[(0,99,64000000)] +w", NULL, "[(0,99,64000000)]"}, 0, {0}},
    {"F6", {"[(1,1,6400000065000000)] +w", NULL, NULL}, 2, {100, 101}},
    {"F7",
     {"[(1,1,640000006500000066000000eeeeeeee"
      "670000007a7a)] +w",
      NULL, NULL},
     5,
     {100, 101, 102, EEI, 103}},
    {"F8",
     {"[(1,1,640000006500000066000000)] +w", NULL,
      "[(1,1,640000006500000066000000)]"},
     3,
     {100, 101, 102}},
    {"F9",
     {"[(1,1,64000000),(1,1,65000000660000007a7a),"
      "(1,1,6700000068000000)] +w",
      NULL,
      "[(1,1,64000000),(1,1,65000000660000007a7a),"
      "(1,1,6700000068000000)]"},
     5,
     {100, 101, 102, 103, 104}},
};

/* The corpus directory holding the seed files. */
static const char *corpus_dir(void)
{
    const char *d = getenv("CMSGREF_CORPUS");
    return d != NULL && *d != '\0' ? d : "corpus/cmsg_parse";
}

int crafted_load(const struct crafted *c, unsigned char *buf, size_t cap,
                 size_t *ret_len)
{
    char prefix[32], path[4096];
    const char *dir = corpus_dir();
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned char *data;
    char err[256];
    size_t n, k;
    int fits;

    if (d == NULL)
        return -1;
    n = (size_t)snprintf(prefix, sizeof(prefix), "seed-%s-", c->id);
    for (k = 5; k < n; k++)
        prefix[k] =
            (char)(prefix[k] >= 'A' && prefix[k] <= 'Z' ? prefix[k] - 'A' + 'a'
                                                        : prefix[k]);
    path[0] = '\0';
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, n) == 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            break;
        }
    }
    closedir(d);
    if (path[0] == '\0')
        return -1;
    if (input_read_file(path, &data, &n, err, sizeof(err)) < 0)
        return -1;
    fits = n <= cap;
    if (fits)
        memcpy(buf, data, n);
    free(data);
    if (!fits)
        return -1;
    *ret_len = n;
    return 0;
}

size_t crafted_bytes(const struct crafted *c, unsigned char *buf)
{
    size_t n = 0;

    if (crafted_load(c, buf, CRAFTED_MAX, &n) < 0) {
        fprintf(stderr,
                "crafted: no readable seed file for %s under %s "
                "(run scripts/make-seeds)\n",
                c->id, corpus_dir());
        return 0;
    }
    return n;
}

const struct crafted *crafted_cases(size_t *ret_n)
{
    *ret_n = sizeof(cases) / sizeof(cases[0]);
    return cases;
}

int crafted_summary(const unsigned char *buf, size_t len, int libc, char *out,
                    size_t cap)
{
    struct cr_walk w;
    struct cr_item it;
    size_t n = 0;
    int rc = cr_walk_init(&w, buf, len, (enum cr_libc)libc);

#define EMIT(...)                                                              \
    do {                                                                       \
        int k_ = snprintf(out + n, n < cap ? cap - n : 0, __VA_ARGS__);        \
        n += (size_t)k_;                                                       \
    } while (0)
    if (rc < 0)
        return rc;
    EMIT("[");
    while (cr_walk_next(&w, &it)) {
        EMIT("%s(%d,%d,", w.nitems > 1 ? "," : "", it.level, it.type);
        for (size_t i = 0; i < it.data_len; i++)
            EMIT("%02x", buf[it.data_off + i]);
        EMIT(")");
    }
    EMIT("]%s", w.warning ? " +w" : "");
#undef EMIT
    return n < cap ? 0 : CR_ENOSPC;
}

size_t crafted_walk_at(const unsigned char *buf, size_t len, int libc,
                       uint64_t base, struct cr_walk *w)
{
    struct cr_item it;
    size_t n = 0;

    if (cr_walk_init(w, buf, len, (enum cr_libc)libc) < 0 ||
        cr_walk_set_base(w, base) < 0)
        return SIZE_MAX;
    while (cr_walk_next(w, &it))
        n++;
    return n;
}
