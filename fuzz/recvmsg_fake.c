/*
 * recvmsg_fake.c - fuzz target: the whole cr_recvmsg() path (§4-§7)
 * against a fake kernel behind the struct cr_sys seam (fake_kernel.c).
 *
 * The input (fuzz/FORMAT.md) gives the data, name and control bytes, the
 * msg_flags, EINTRs and an errno to report first, the timeout mode, the
 * warning policy, and offsets where real fds (dup()s of /dev/null) are
 * planted in the control bytes.  fk_check() then demands CPython's close
 * set and exception, or a result that mirrors what was delivered;
 * fk_teardown() that no fd leaked and none was closed outside the seam.
 */
#include "fake_kernel.h"
#include "fuzz.h"

static struct fk_state st; /* large (the close log): not on the stack */

/* One input: see the file comment.  Returns 0; traps on a violation.
 * Every fd it opens is closed before it returns, by the library or by
 * fk_teardown(). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fk_input in;
    struct cr_recv_result res;
    struct cr_pyerr err;
    int rc;

    if (fk_parse(data, size, &in) < 0)
        return 0;
    fk_setup(&st, &in);
    memset(&res, 0, sizeof(res));
    rc = cr_recvmsg(&st.args, &res, &err);
    fk_check(&st, rc, &res, &err);
    if (rc == 0)
        cr_recv_result_free(&res);
    fk_teardown(&st);
    return 0;
}
