/*
 * models.c - the libc models of the control-message macros (§3).
 *
 * Each model is the header layout plus the arithmetic of CMSG_FIRSTHDR,
 * CMSG_NXTHDR, CMSG_LEN and CMSG_SPACE of one libc, as data.  The walk
 * (walk.c) interprets it; nothing here calls the host's macros, because the
 * legacy glibc CMSG_NXTHDR spins forever on some lengths.
 *
 * Upstream facts encoded:
 *  - glibc x86-64: struct cmsghdr { size_t cmsg_len; int level; int type; },
 *    16 bytes, 8-byte alignment; BZ#28846 (fixed in 2.37, backported to the
 *    2.36 branch) changed CMSG_NXTHDR to check N + 16 <= C without reading
 *    the next header's length; before, it also required N + align(L_next)
 *    <= C.
 *  - musl x86-64: cmsg_len is a 32-bit socklen_t followed by 4 pad bytes;
 *    its CMSG_NXTHDR bound is strict (N + 16 < C).
 *  - FreeBSD amd64: { socklen_t len; int level; int type; } is 12 bytes, but
 *    CMSG_LEN(0) and the data offset are _ALIGN(12) = 16; SOL_SOCKET 0xffff.
 *  - macOS: 12-byte header, 4-byte alignment, data at 12; SOL_SOCKET 0xffff.
 *  - glibc ILP32 (i386, armhf): size_t cmsg_len is 4 bytes, so the header
 *    is 12 bytes and CMSG_ALIGN rounds to 4; CMSG_NXTHDR is glibc's (fixed
 *    or legacy) in 32-bit arithmetic, so the legacy pointer sum wraps at
 *    2^32.
 */
#include <string.h>

#include "cmsgref.h"

#define B64 64, CR_BASE_DEFAULT
#define B32 32, CR_BASE_DEFAULT_ILP32

static const struct cr_model models[CR_LIBC_COUNT] = {
    {CR_LIBC_GLIBC, "glibc", 16, 16, 8, 16, 8, 8, 12, CR_NEXT_FITS, 1, 1, B64},
    {CR_LIBC_GLIBC_LEGACY, "glibc-legacy", 16, 16, 8, 16, 8, 8, 12,
     CR_NEXT_LEGACY, 1, 1, B64},
    {CR_LIBC_MUSL, "musl", 16, 16, 8, 16, 4, 8, 12, CR_NEXT_FITS_STRICT, 1, 1,
     B64},
    {CR_LIBC_FREEBSD, "freebsd", 12, 16, 8, 16, 4, 4, 8, CR_NEXT_FITS, 0xffff,
     1, B64},
    {CR_LIBC_DARWIN, "darwin", 12, 12, 4, 12, 4, 4, 8, CR_NEXT_FITS, 0xffff, 1,
     B64},
    {CR_LIBC_GLIBC_I386, "glibc-i386", 12, 12, 4, 12, 4, 4, 8, CR_NEXT_FITS, 1,
     1, B32},
    {CR_LIBC_GLIBC_LEGACY_I386, "glibc-legacy-i386", 12, 12, 4, 12, 4, 4, 8,
     CR_NEXT_LEGACY, 1, 1, B32},
};

/* Returns the model for libc, or NULL when libc is not a known model. */
const struct cr_model *cr_model_get(enum cr_libc libc)
{
    if ((unsigned)libc >= CR_LIBC_COUNT)
        return NULL;
    return &models[libc];
}

/* Returns 0 and writes *ret_libc for a known name, else CR_EMODEL. */
int cr_model_by_name(const char *name, enum cr_libc *ret_libc)
{
    if (name == NULL)
        return CR_EMODEL;
    if (strcmp(name, "legacy-glibc") == 0) {
        *ret_libc = CR_LIBC_GLIBC_LEGACY;
        return 0;
    }
    for (size_t i = 0; i < CR_LIBC_COUNT; i++) {
        if (strcmp(name, models[i].name) == 0) {
            *ret_libc = models[i].libc;
            return 0;
        }
    }
    return CR_EMODEL;
}

/* The model of the headers this file was compiled against.  glibc's
 * version macros tell the BZ#28846 fix apart only by release, so glibc
 * before 2.36 is legacy and 2.36 onwards is taken to carry the fix (Debian
 * 12's 2.36 does; a plain 2.36 tarball does not: see §3). */
enum cr_libc cr_model_host(void)
{
#if defined(__GLIBC__) /* size_t's width picks the ILP32 twin */
#if __GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 36)
    return SIZE_MAX == 0xffffffffu ? CR_LIBC_GLIBC_I386 : CR_LIBC_GLIBC;
#else
    return SIZE_MAX == 0xffffffffu ? CR_LIBC_GLIBC_LEGACY_I386
                                   : CR_LIBC_GLIBC_LEGACY;
#endif
#elif defined(__linux__)
    return CR_LIBC_MUSL; /* Linux without glibc: musl is the model we have */
#elif defined(__FreeBSD__)
    return CR_LIBC_FREEBSD;
#elif defined(__APPLE__)
    return CR_LIBC_DARWIN;
#else
    return CR_LIBC_GLIBC;
#endif
}
