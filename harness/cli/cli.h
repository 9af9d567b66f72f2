/*
 * cli.h - pieces of the cmsgref command shared between its files.
 */
#ifndef CR_CLI_H
#define CR_CLI_H

#include <stdio.h>

#include "cmsgref.h"

/* The model's next-header rule as text ("N + 16 < C", ...) into out. */
void cli_next_rule(const struct cr_model *m, char *out, size_t cap);

/* Prints the annotated view of buf[0, len) under libc, the buffer assumed
 * at address base, to out.  full: show every data byte instead of eliding
 * long runs.  Returns 0 or a CR_E* (CR_EINVAL for an impossible base). */
int cli_explain(FILE *out, const char *name, const unsigned char *buf,
                size_t len, enum cr_libc libc, uint64_t base, int full);

#endif /* CR_CLI_H */
