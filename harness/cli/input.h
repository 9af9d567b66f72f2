/*
 * input.h - the one reader of a file of bytes for every tool of this
 * repository: the cmsgref command, the fuzz replay driver and the unit
 * tests.  It is not part of the library (which never opens files): it
 * reports failure as text for a one-line error.
 *
 * The limit is CPython's: ancbufsize, and so every control length C, is
 * at most SOCKLEN_T_LIMIT (2147483647, CR_SOCKLEN_T_LIMIT), so a larger
 * input cannot be a control buffer.  A regular file is refused by its size
 * before a byte is read; a stream (a pipe, or a file that reports size 0 as
 * /proc files do) as soon as it passes the limit.
 */
#ifndef CR_INPUT_H
#define CR_INPUT_H

#include <stddef.h>

/* Reads path ("-" for stdin) whole into a malloc'd block.  On success
 * returns 0 and writes *ret_buf (owned by the caller, non-NULL even when
 * empty) and *ret_len.  Returns -1 after writing a one-line reason without
 * the path ("No such file or directory", "is a directory", "... larger
 * than CPython's control buffer limit ...") into err[0, errlen); then
 * nothing stays allocated or open.  Memory is the input's size plus a
 * constant (at most twice the input while a stream grows). */
int input_read_file(const char *path, unsigned char **ret_buf, size_t *ret_len,
                    char *err, size_t errlen);

#endif /* CR_INPUT_H */
