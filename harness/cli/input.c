/*
 * input.c - see input.h: the one file reader of the tools.  A regular
 * file is read to the size fstat() reported (a file that shrinks meanwhile
 * gives what is there); anything else is read in growing chunks to EOF.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmsgref.h"
#include "input.h"

#define CHUNK (1u << 20)

/* Writes the size refusal into err: "N bytes is larger ..." for a known
 * size, "larger ..." for a stream (size < 0).  Returns -1. */
static int too_large(long long size, char *err, size_t errlen)
{
    char known[32] = "";

    if (size >= 0)
        snprintf(known, sizeof(known), "%lld bytes is ", size);
    snprintf(err, errlen,
             "%slarger than CPython's control buffer limit (%d bytes)", known,
             CR_SOCKLEN_T_LIMIT);
    return -1;
}

/* Writes "out of memory" or strerror(eno) into err.  Returns -1. */
static int failed(int eno, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s",
             eno == ENOMEM ? "out of memory" : strerror(eno));
    return -1;
}

/* Reads into buf[*n, cap) until cap, EOF or an error, retrying EINTR.
 * Returns 0 (*n advanced) or -1 with errno. */
static int read_upto(int fd, unsigned char *buf, size_t cap, size_t *n)
{
    while (*n < cap) {
        ssize_t k = read(fd, buf + *n, cap - *n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        *n += (size_t)k;
    }
    return 0;
}

/* Reads fd to EOF into a block that doubles from CHUNK; -1 with err set on
 * failure or once the input passes the limit. */
static int read_stream(int fd, unsigned char **ret_buf, size_t *ret_len,
                       char *err, size_t errlen)
{
    size_t cap = CHUNK, n = 0;
    unsigned char *buf = malloc(cap);

    if (buf == NULL)
        return failed(ENOMEM, err, errlen);
    for (;;) {
        unsigned char *bigger;
        if (read_upto(fd, buf, cap, &n) < 0) {
            free(buf);
            return failed(errno, err, errlen);
        }
        if (n > (size_t)CR_SOCKLEN_T_LIMIT) {
            free(buf);
            return too_large(-1, err, errlen);
        }
        if (n < cap)
            break;
        bigger = realloc(buf, cap * 2);
        if (bigger == NULL) {
            free(buf);
            return failed(ENOMEM, err, errlen);
        }
        buf = bigger;
        cap *= 2;
    }
    *ret_buf = buf;
    *ret_len = n;
    return 0;
}

/* Reads the regular file fd of the size st reported (see input.h). */
static int read_sized(int fd, const struct stat *st, unsigned char **ret_buf,
                      size_t *ret_len, char *err, size_t errlen)
{
    unsigned char *buf;
    size_t n = 0;

    if (st->st_size > (off_t)CR_SOCKLEN_T_LIMIT)
        return too_large((long long)st->st_size, err, errlen);
    buf = malloc((size_t)st->st_size + 1);
    if (buf == NULL)
        return failed(ENOMEM, err, errlen);
    if (read_upto(fd, buf, (size_t)st->st_size, &n) < 0) {
        free(buf);
        return failed(errno, err, errlen);
    }
    *ret_buf = buf;
    *ret_len = n;
    return 0;
}

int input_read_file(const char *path, unsigned char **ret_buf, size_t *ret_len,
                    char *err, size_t errlen)
{
    struct stat st;
    int fd, rc;

    if (strcmp(path, "-") == 0)
        return read_stream(STDIN_FILENO, ret_buf, ret_len, err, errlen);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return failed(errno, err, errlen);
    if (fstat(fd, &st) != 0) {
        rc = failed(errno, err, errlen);
    } else if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "is a directory");
        rc = -1;
    } else if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        /* A size of 0 is not trusted: /proc and /sys files report 0 and
         * have content, so they are read to their end like a pipe. */
        rc = read_stream(fd, ret_buf, ret_len, err, errlen);
    } else {
        rc = read_sized(fd, &st, ret_buf, ret_len, err, errlen);
    }
    close(fd);
    return rc;
}
