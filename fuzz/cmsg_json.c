/*
 * cmsg_json.c - fuzz target: the JSON writer (README "JSON schema") under
 * every libc model: the streamed output equals the buffered one given
 * exactly enough room, and a sink that refuses gives CR_ESINK.  What this
 * can break on depends on the output's length (one chunk, several, the
 * writer's 4 KiB buffer boundary), so long outputs matter more than items.
 *
 * Input: a raw control buffer, C = size, as for cmsg_parse (whose corpus
 * it shares); a separate target because each check renders the whole
 * output.
 */
#include "fuzz.h"
#include "invariants.h"

/* One input: see the file comment.  Returns 0; traps on a violation. */
FZ_NO_COV int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *buf = fz_exact_copy(data, size);

    FZ_CHECK(buf != NULL);
    for (unsigned l = 0; l < CR_LIBC_COUNT; l++)
        fz_check_json(buf, size, (enum cr_libc)l);
    free(buf);
    return 0;
}
