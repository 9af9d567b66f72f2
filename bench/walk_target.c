/*
 * walk_target.c - the least a parse target can do: one libc model (glibc)
 * walked through the library on an exact-size copy of the input, nothing
 * checked.  Figure 1 of `make bench` (issue 5) runs it beside cmsg_parse
 * and the empty target, built the same way, as a floor under what any
 * target that walks the library at all can reach: cmsg_parse walks all
 * five models and checks invariants (issue 3), so it cannot be faster than
 * this, and the ratio of this target to the empty one bounds figure 1.
 * Encodes no upstream fact.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmsgref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Walks data[0, size) once under glibc on its own heap copy (as
 * cmsg_parse does) and discards the items; returns 0, or -1 (the input is
 * not added to the corpus) when the copy cannot be allocated. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *buf = malloc(size > 0 ? size : 1);
    struct cr_walk w;
    struct cr_item it;

    if (buf == NULL)
        return -1;
    memcpy(buf, data, size);
    if (cr_walk_init(&w, buf, size, CR_LIBC_GLIBC) == 0) {
        while (cr_walk_next(&w, &it))
            continue;
    }
    free(buf);
    return 0;
}
