/*
 * cmsg_len.c - fuzz target: socket.CMSG_LEN() / CMSG_SPACE() (§8) against
 * their limits, and the model table's name lookup.
 *
 * Input: bytes 0-7 are an int64 n (little-endian, zero-padded if short);
 * byte 8 picks a libc value (values >= CR_LIBC_COUNT must be refused with
 * CR_EMODEL); bytes 9.. are a model name for cr_model_by_name().  Under
 * every model fz_check_cmsg_len() runs at n, n - 1, and the points near 0
 * and near SOCKLEN_T_LIMIT that n's low six bits select.
 */
#include "fuzz.h"
#include "invariants.h"

#define LIMIT ((int64_t)CR_SOCKLEN_T_LIMIT)

/* One input: see the file comment.  Returns 0; traps on a violation. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t raw = 0;
    int64_t n, r;
    unsigned sel = size > 8 ? data[8] : 0;

    memcpy(&raw, data, size < 8 ? size : 8);
    n = (int64_t)raw;
    if (sel >= CR_LIBC_COUNT) {
        FZ_CHECK_EQ(cr_cmsg_len((enum cr_libc)sel, n, &r), CR_EMODEL);
        FZ_CHECK_EQ(cr_cmsg_space((enum cr_libc)sel, n, &r), CR_EMODEL);
        FZ_CHECK(cr_model_get((enum cr_libc)sel) == NULL);
    }
    fz_check_model_name(data + (size > 9 ? 9 : size), size > 9 ? size - 9 : 0);
    for (int l = 0; l < CR_LIBC_COUNT; l++) {
        const struct cr_model *m = cr_model_get((enum cr_libc)l);
        FZ_CHECK(m != NULL && (int)m->libc == l);
        fz_check_cmsg_len(m, n);
        fz_check_cmsg_len(m, n == INT64_MIN ? n : n - 1);
        fz_check_cmsg_len(m, LIMIT - (int64_t)(raw & 0x3f));
        fz_check_cmsg_len(m, (int64_t)(raw & 0x3f));
    }
    return 0;
}
