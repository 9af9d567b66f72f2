/*
 * input.c - reading the control bytes the CLI is given.
 *
 * CPython's ancbufsize (so every C) is capped at SOCKLEN_T_LIMIT
 * (2147483647), so a larger input cannot be a control buffer: a regular
 * file is refused by its size before a byte is read, a pipe as soon as it
 * passes the limit.  Memory is the input's size plus a constant.
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
static int read_stream(int fd, const char *name, unsigned char **ret_buf,
                       size_t *ret_len, char *err, size_t errlen)
{
    size_t cap = CHUNK, n = 0;
    unsigned char *buf = malloc(cap);

    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    for (;;) {
        ssize_t k;
        if (n == cap) {
            unsigned char *bigger;
            if (cap > (size_t)CR_SOCKLEN_T_LIMIT) {
                snprintf(err, errlen,
                         "%s: larger than CPython's control "
                         "buffer limit (%d bytes)",
                         name, CR_SOCKLEN_T_LIMIT);
                free(buf);
                return -1;
            }
            bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                snprintf(err, errlen, "%s: out of memory", name);
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
            snprintf(err, errlen, "%s: %s", name, strerror(errno));
            free(buf);
            return -1;
        }
        if (k == 0)
            break;
        n += (size_t)k;
    }
    if (n > (size_t)CR_SOCKLEN_T_LIMIT) {
        snprintf(err, errlen,
                 "%s: larger than CPython's control buffer "
                 "limit (%d bytes)",
                 name, CR_SOCKLEN_T_LIMIT);
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
        return read_stream(STDIN_FILENO, "stdin", ret_buf, ret_len, err,
                           errlen);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory", path);
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = read_stream(fd, path, ret_buf, ret_len, err, errlen);
        close(fd);
        return rc;
    }
    if (st.st_size > (off_t)CR_SOCKLEN_T_LIMIT) {
        snprintf(err, errlen,
                 "%s: %lld bytes is larger than CPython's "
                 "control buffer limit (%d bytes)",
                 path, (long long)st.st_size, CR_SOCKLEN_T_LIMIT);
        close(fd);
        return -1;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        close(fd);
        return -1;
    }
    while (n < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
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
