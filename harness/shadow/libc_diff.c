/*
 * libc_diff.c - proves a libc model against the real libc macros.
 *
 * Built twice by `make check-libc`: with the host cc (glibc: proves the
 * "glibc" model) and with musl-gcc (proves "musl").  For every input it
 * walks with the model of the libc it was compiled against and with the
 * real CMSG_* macros (shadow_walk.c) and demands item-for-item agreement.
 * Inputs: every file under the paths given on the command line (the
 * corpus directories, which hold the spec's crafted buffers as seed-*
 * files), and a deterministic sweep of
 * generated buffers whose length fields sit on every boundary the rules
 * name (0..48, 2^32 + small, 2^63, 2^64 - small) cut at every length.
 *
 * Usage: libc-diff [--sweep N] [PATH...]; exit 0 if all agree, 1 on a
 * disagreement (each printed), 2 on bad usage or an unreadable path.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "shadow_walk.h"

#define MAX_FILE (64u << 20)

static unsigned long checked, failed;

static void check(const char *what, const unsigned char *buf, size_t len)
{
    char why[256];
    int rc = shadow_compare(buf, len, why, sizeof(why));

    checked++;
    if (rc == 1)
        return;
    failed++;
    if (rc < 0)
        printf("FAIL %s: %s\n", what, cr_strerror(rc));
    else
        printf("FAIL %s (%zu bytes): %s\n", what, len, why);
}

/* Reads one file and checks it; returns 0, or 2 if it cannot be read. */
static int check_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    size_t n;
    struct stat st;

    if (f == NULL || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "libc-diff: %s: %s\n", path, strerror(errno));
        if (f != NULL)
            fclose(f);
        return 2;
    }
    if (st.st_size > (off_t)MAX_FILE) {
        fprintf(stderr, "libc-diff: %s: larger than %u bytes\n", path,
                MAX_FILE);
        fclose(f);
        return 2;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        fclose(f);
        fprintf(stderr, "libc-diff: %s: out of memory\n", path);
        return 2;
    }
    n = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    check(path, buf, n);
    free(buf);
    return 0;
}

/* Checks a file, or every regular file below a directory. */
static int check_path(const char *path)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int rc = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "libc-diff: %s: %s\n", path, strerror(errno));
        return 2;
    }
    if (!S_ISDIR(st.st_mode))
        return check_file(path);
    d = opendir(path);
    if (d == NULL) {
        fprintf(stderr, "libc-diff: %s: %s\n", path, strerror(errno));
        return 2;
    }
    while ((e = readdir(d)) != NULL) {
        char sub[4096];
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        if (check_path(sub) != 0)
            rc = 2;
    }
    closedir(d);
    return rc;
}

/* xorshift64: a fixed-seed generator so every run sweeps the same set. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static uint64_t pick_len(uint64_t *s)
{
    uint64_t r = next_rand(s);
    switch (r % 5) {
    case 0:
    case 1: return (r >> 8) % 49;
    case 2: return (1ull << 32) + (r >> 8) % 49;
    case 3: return UINT64_MAX - (r >> 8) % 16;
    default: return ((r >> 8) % 2) ? (1ull << 63) : (r >> 16) % 300;
    }
}

/* Builds `count` buffers of 1-4 glibc-layout headers with boundary
 * lengths, each checked at every cut from 0 to its full length. */
static void sweep(unsigned long count)
{
    uint64_t s = 0x9e3779b97f4a7c15ull;
    unsigned char buf[128];

    for (unsigned long i = 0; i < count; i++) {
        size_t n = 0;
        int nh = 1 + (int)(next_rand(&s) % 4);
        memset(buf, 0xEE, sizeof(buf));
        for (int h = 0; h < nh && n + 16 <= sizeof(buf); h++) {
            uint64_t L = pick_len(&s);
            int32_t lv = (int32_t)(next_rand(&s) % 3);
            for (int b = 0; b < 8; b++)
                buf[n + b] = (unsigned char)(L >> (8 * b));
            memcpy(buf + n + 8, &lv, 4);
            memcpy(buf + n + 12, &lv, 4);
            n += 16 + (size_t)(next_rand(&s) % 3) * 4;
            n = (n + 7) & ~(size_t)7;
            if (next_rand(&s) % 4 == 0)
                n -= 8; /* overlap: the next header starts in this data */
        }
        if (n > sizeof(buf))
            n = sizeof(buf);
        for (size_t cut = 0; cut <= n; cut++) {
            char what[64];
            snprintf(what, sizeof(what), "sweep #%lu cut %zu", i, cut);
            check(what, buf, cut);
        }
    }
}

int main(int argc, char **argv)
{
    unsigned long sweeps = 20000;
    int rc = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: libc-diff [--sweep N] [PATH...]\n");
            return 0;
        }
        if (strcmp(argv[i], "--sweep") == 0 && i + 1 < argc) {
            char *end;
            sweeps = strtoul(argv[++i], &end, 10);
            if (*end != '\0') {
                fprintf(stderr, "libc-diff: bad --sweep count\n");
                return 2;
            }
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "libc-diff: unknown option %s\n", argv[i]);
            return 2;
        } else if (check_path(argv[i]) != 0) {
            rc = 2;
        }
    }
    sweep(sweeps);
    printf("libc-diff (%s model vs real macros): %lu buffers, %lu "
           "disagreements\n",
           cr_model_get(shadow_libc())->name, checked, failed);
    if (failed)
        return 1;
    return rc;
}
