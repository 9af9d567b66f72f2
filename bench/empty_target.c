/*
 * empty_target.c - the libFuzzer target that does nothing: the ceiling of
 * the engine on this machine for figure 1 of `make bench` (issue 5).
 *
 * It is compiled and linked exactly like fuzz/cmsg_parse.c (same compiler,
 * same flags per variant, the same instrumented library objects linked in,
 * so libFuzzer scans the same number of coverage counters per run); only
 * the body is empty.  exec/s of cmsg_parse divided by exec/s of this binary
 * on the same corpus, seed and run count is the "fraction of the ceiling".
 * Encodes no upstream fact.
 */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Takes one input (borrowed from the engine) and ignores it; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}
