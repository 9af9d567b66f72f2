/*
 * input.c - reading the control bytes the CLI is given.
 *
 * CPython's ancbufsize (so every C) is capped at SOCKLEN_T_LIMIT
 * (2147483647), so a larger input cannot be a control buffer: a regular
 * file is refused by its size before a byte is read, a pipe (or a file
 * that reports size 0, as /proc files do) as soon as it passes the limit.
 * Memory is the input's size plus a constant (at most twice the input
 * while a stream grows).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define CHUNK (1u << 20)

/* Reads fd until EOF into a growing block; -1 with err set on failure. */
static int read_stream(int fd, unsigned char **ret_buf, size_t *ret_len,
                       char *err, size_t errlen)
{
    size_t cap = CHUNK, n = 0;
    unsigned char *buf = malloc(cap);

    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (;;) {
        ssize_t k;
        if (n == cap) {
            unsigned char *bigger;
            if (cap > (size_t)CR_SOCKLEN_T_LIMIT) {
                snprintf(err, errlen,
                         "larger than CPython's control "
                         "buffer limit (%d bytes)",
                         CR_SOCKLEN_T_LIMIT);
                free(buf);
                return -1;
            }
            bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                snprintf(err, errlen, "out of memory");
                free(buf);
                return -1;
            }
            buf = bigger;
            cap *= 2;
        }
        k = read(fd, buf + n, cap - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            snprintf(err, errlen, "%s", strerror(errno));
            free(buf);
            return -1;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    if (n > (size_t)CR_SOCKLEN_T_LIMIT) {
        snprintf(err, errlen,
                 "larger than CPython's control buffer "
                 "limit (%d bytes)",
                 CR_SOCKLEN_T_LIMIT);
        free(buf);
        return -1;
    }
    *ret_buf = buf;
    *ret_len = n;
    return 0;
}

int cli_read_input(const char *path, unsigned char **ret_buf, size_t *ret_len,
                   char *err, size_t errlen)
{
    struct stat st;
    unsigned char *buf;
    size_t n = 0;
    int fd, rc;

    if (strcmp(path, "-") == 0)
        return read_stream(STDIN_FILENO, ret_buf, ret_len, err, errlen);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "is a directory");
        close(fd);
        return -1;
    }
    /* A size of 0 is not trusted: /proc and /sys files report 0 and
     * have content, so they are read to their end like a pipe. */
    if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        rc = read_stream(fd, ret_buf, ret_len, err, errlen);
        close(fd);
        return rc;
    }
    if (st.st_size > (off_t)CR_SOCKLEN_T_LIMIT) {
        snprintf(err, errlen,
                 "%lld bytes is larger than CPython's "
                 "control buffer limit (%d bytes)",
                 (long long)st.st_size, CR_SOCKLEN_T_LIMIT);
        close(fd);
        return -1;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "out of memory");
        close(fd);
        return -1;
    }
    while (n < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            snprintf(err, errlen, "%s", strerror(errno));
            free(buf);
            close(fd);
            return -1;
        }
        if (k == 0)
            break; /* the file shrank: take what is there */
        n += (size_t)k;
    }
    close(fd);
    *ret_buf = buf;
    *ret_len = n;
    return 0;
}
