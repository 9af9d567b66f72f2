/*
 * cmsg_parse.c - fuzz target: the walk (§2-§3) and the error path's walk
 * (§4) under every libc model.
 *
 * Input: a raw control buffer, C = size.  Each model walks an exact-size
 * heap copy (so ASan sees any over-read); every walk must place and
 * classify its items as §2 says (fz_check_walk), a second walk must be
 * identical (fz_check_same), and the error path must list exactly the
 * whole SCM_RIGHTS ints (fz_check_close_on_error).  Legacy glibc (64- and
 * 32-bit) also walks at the highest address a buffer of C bytes can have,
 * where its pointer sum wraps most: its items must lie between those of
 * its default address and those of the fixed glibc of its width
 * (fz_check_prefix).  musl's walk is glibc's but for its strict bound
 * (fz_check_musl).  The API's NULL /
 * bad-model / bad-base contract holds (fz_check_api).  The JSON writer's
 * checks have their own target, cmsg_json.
 */
#include "fuzz.h"
#include "invariants.h"

/* One input: see the file comment.  Returns 0; traps on a violation. */
FZ_NO_COV int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *buf = fz_exact_copy(data, size);
    const uint64_t top = UINT64_MAX - 32u - (uint64_t)size;
    const uint64_t top32 = UINT32_MAX - 32u - (uint64_t)size;
    const unsigned spare = CR_LIBC_COUNT; /* the scratch slot of a rewalk */
    struct fz_walk o[CR_LIBC_COUNT], again;

    FZ_CHECK(buf != NULL);
    fz_check_api(buf, size);
    for (unsigned l = 0; l < CR_LIBC_COUNT; l++) {
        uint64_t base = cr_base_default((enum cr_libc)l, size);
        fz_walk(buf, size, (enum cr_libc)l, base, l, &o[l]);
        fz_check_walk(buf, size, &o[l]);
        fz_walk(buf, size, (enum cr_libc)l, base, spare, &again);
        fz_check_same(&o[l], &again);
        fz_check_close_on_error(buf, size, &o[l]);
    }
    fz_check_legacy_at(buf, size, top, &o[CR_LIBC_GLIBC],
                       &o[CR_LIBC_GLIBC_LEGACY]);
    fz_check_legacy_at(buf, size, top32, &o[CR_LIBC_GLIBC_I386],
                       &o[CR_LIBC_GLIBC_LEGACY_I386]);
    fz_check_musl(&o[CR_LIBC_GLIBC], &o[CR_LIBC_MUSL]);
    free(buf);
    return 0;
}
