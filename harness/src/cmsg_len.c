/*
 * cmsg_len.c - socket.CMSG_LEN() and socket.CMSG_SPACE() (§8).
 *
 * CPython accepts n only where the C macro's result cannot exceed
 * SOCKLEN_T_LIMIT (2147483647): CMSG_LEN(n) needs n <= LIMIT - CMSG_LEN(0);
 * CMSG_SPACE(n) needs n <= LIMIT - CMSG_SPACE(1), a margin that covers the
 * padding before and after the data.  Anything else (negative included)
 * raises OverflowError("CMSG_LEN() argument out of range") or the
 * CMSG_SPACE() twin; the binding supplies the text.
 */
#include "cmsgref.h"

static int64_t align_up(int64_t v, size_t a)
{
    return (v + (int64_t)a - 1) & ~(int64_t)(a - 1);
}

/* Returns 0 and *ret_len = H + n, CR_ERANGE out of range, CR_EMODEL,
 * CR_EINVAL for a NULL ret_len. */
int cr_cmsg_len(enum cr_libc libc, int64_t n, int64_t *ret_len)
{
    const struct cr_model *m = cr_model_get(libc);

    if (m == NULL)
        return CR_EMODEL;
    if (ret_len == NULL)
        return CR_EINVAL;
    if (n < 0 || n > CR_SOCKLEN_T_LIMIT - (int64_t)m->len0)
        return CR_ERANGE;
    *ret_len = (int64_t)m->len0 + n;
    return 0;
}

/* Returns 0 and *ret_space = align(n) + align(S), CR_ERANGE, CR_EMODEL,
 * CR_EINVAL for a NULL ret_space. */
int cr_cmsg_space(enum cr_libc libc, int64_t n, int64_t *ret_space)
{
    const struct cr_model *m = cr_model_get(libc);
    int64_t space1;

    if (m == NULL)
        return CR_EMODEL;
    if (ret_space == NULL)
        return CR_EINVAL;
    space1 = align_up(1, m->align) + (int64_t)m->next_hdr;
    if (n < 0 || n > CR_SOCKLEN_T_LIMIT - space1)
        return CR_ERANGE;
    *ret_space = align_up(n, m->align) + (int64_t)m->next_hdr;
    return 0;
}
