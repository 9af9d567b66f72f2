/*
 * cmsg_diff.c - fuzz target: the reference walk against the host libc.
 *
 * The input is a raw control buffer (C = size), the same format as
 * cmsg_parse.  harness/shadow/shadow_walk.c walks it with the real
 * CMSG_FIRSTHDR / CMSG_NXTHDR / CMSG_DATA of the libc this file is
 * compiled against, the way CPython's loop calls them, and shadow_compare()
 * checks the reference model of that libc item for item (offset, length,
 * level, type, data span, status) and the stop reason.  Built with clang on
 * glibc >= 2.36 it proves the G36 model; built with musl-gcc it proves MU.
 * It must never be built against a legacy glibc, whose CMSG_NXTHDR spins
 * forever on some lengths (§2, implementation rule).
 */
#include "cmsgref.h"
#include "fuzz.h"
#include "shadow_walk.h"

/* One input: see the file comment.  Returns 0; traps on a mismatch. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    int rc;

    why[0] = '\0';
    rc = shadow_compare(data, size, why, sizeof(why));
    if (rc == 0)
        fprintf(stderr, "cmsg_diff: libc %s disagrees: %s\n",
                cr_model_get(shadow_libc())->name, why);
    FZ_CHECK_EQ(rc, 1);
    return 0;
}
