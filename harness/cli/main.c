/*
 * main.c - the cmsgref command: parse and explain control buffers.
 *
 * Every error (unknown option or model, missing or unreadable file, an
 * input larger than CPython's 2147483647-byte control limit) is one line
 * on stderr and exit status 2.  Output goes through the library's one
 * JSON writer (cr_json_parse) or the explain view.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "input.h"

static const char usage[] =
    "usage: cmsgref parse [--libc MODEL|all] [--base ADDR] [--] FILE|-\n"
    "       cmsgref explain [--libc MODEL] [--base ADDR] [--full] [--] FILE|-\n"
    "       cmsgref models\n"
    "       cmsgref --help | -h | help | --version\n"
    "\n"
    "FILE holds the raw control bytes CPython's recvmsg() got back from the\n"
    "kernel (controllen C = the file's size; at most 2147483647 bytes).\n"
    "\n"
    "  parse    print, as one JSON line, what CPython returns in ancdata for\n"
    "           those bytes: items, where the walk stopped, whether the\n"
    "           RuntimeWarning fires, and the ints its error path would\n"
    "           close() (schema in README.md); --libc all prints one line\n"
    "           per model\n"
    "  explain  an annotated hex dump: each header, its data and padding,\n"
    "           where the walk stopped and why; --full shows every byte\n"
    "  models   list the libc models and their header arithmetic\n"
    "\n"
    "Options may come before or after FILE; --libc=MODEL is the same as\n"
    "--libc MODEL (the last one given wins); after --, every argument is a\n"
    "file name; parse/explain --help (or -h) print this.\n"
    "MODEL: glibc (>= 2.36, with BZ#28846; the default on this host when\n"
    "it is glibc), glibc-legacy (also legacy-glibc), musl, freebsd, darwin,\n"
    "and for 32-bit glibc (i386, armhf: 12-byte header, align 4)\n"
    "glibc-i386 and glibc-legacy-i386.\n"
    "ADDR: the address of msg_control, decimal or 0x-hex (default\n"
    "0x7f0000000000, an x86-64 mmap address; 0xf7000000 for the 32-bit\n"
    "models).  Only the legacy models read it: their CMSG_NXTHDR sum wraps\n"
    "at 2^64 (2^32) as a pointer; their JSON adds \"base\"\n"
    "and \"base_threshold\" (from which address the first step the\n"
    "address decides visits its header, or null).\n"
    "Exit status: 0 on success, 2 on bad usage, unreadable input or a\n"
    "failed write (one line on stderr).  A reader that goes away (| head)\n"
    "ends it by SIGPIPE, silently, as for any filter.\n";

#define ARG_SHOWN 200 /* bytes of an argument an error message quotes */

/* Writes a command-line argument into an error line: bytes other than
 * printable ASCII as \xHH (so the line stays one line), cut after
 * ARG_SHOWN bytes (so the reason after it is never lost). */
static void put_arg(const char *arg)
{
    size_t i;

    for (i = 0; arg[i] != '\0' && i < ARG_SHOWN; i++) {
        unsigned char c = (unsigned char)arg[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    if (arg[i] != '\0')
        fprintf(stderr, "...(%zu bytes)", strlen(arg));
}

/* "cmsgref: MSG: ARG" (or without ARG); returns the exit status 2. */
static int fail(const char *msg, const char *arg)
{
    fprintf(stderr, "cmsgref: %s", msg);
    if (arg != NULL) {
        fputs(": ", stderr);
        put_arg(arg);
    }
    fputc('\n', stderr);
    return 2;
}

/* "cmsgref: FILE: REASON" for an input that cannot be read. */
static int fail_input(const char *file, const char *reason)
{
    fputs("cmsgref: ", stderr);
    put_arg(strcmp(file, "-") == 0 ? "stdin" : file);
    fprintf(stderr, ": %s\n", reason);
    return 2;
}

static int is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

static int file_sink(void *ctx, const char *s, size_t n)
{
    return fwrite(s, 1, n, (FILE *)ctx) == n ? 0 : -1;
}

/* Finishes output: a write error (full disk, closed pipe) is an error. */
static int finish_output(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        return fail("cannot write output", NULL);
    return rc;
}

static int cmd_models(void)
{
    for (int i = 0; i < CR_LIBC_COUNT; i++) {
        const struct cr_model *m = cr_model_get((enum cr_libc)i);
        char rule[64];

        cli_next_rule(m, rule, sizeof(rule));
        printf("%-17s cmsghdr %2zu  CMSG_LEN(0) %2zu  align %zu  cmsg_len "
               "u%-2u  SOL_SOCKET %d  next: %s%s\n",
               m->name, m->hdr_size, m->len0, m->align, m->len_width * 8,
               m->sol_socket, rule,
               (enum cr_libc)i == cr_model_host() ? "  (host)" : "");
    }
    return finish_output(0);
}

/* Reads an address: decimal digits, or 0x / 0X and hex digits, nothing
 * else, below 2^64.  Returns 0 with *ret_addr, or -1. */
static int parse_addr(const char *s, uint64_t *ret_addr)
{
    int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    const char *p = hex ? s + 2 : s;
    unsigned radix = hex ? 16u : 10u;
    uint64_t v = 0;

    if (*p == '\0')
        return -1;
    for (; *p != '\0'; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (hex && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a') + 10u;
        else if (hex && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A') + 10u;
        else
            return -1;
        if (v > (UINT64_MAX - d) / radix)
            return -1;
        v = v * radix + d;
    }
    *ret_addr = v;
    return 0;
}

/* 1 if argument a is option name, as "NAME" or "NAME=VALUE"; else 0. */
static int is_option(const char *a, const char *name)
{
    size_t n = strlen(name);

    return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

/* The value of the option at argv[*i] (is_option() holds): what follows
 * its '=', or the next argument (then *i moves past it).  Returns NULL if
 * the value is missing. */
static const char *option_value(int argc, char **argv, int *i)
{
    const char *eq = strchr(argv[*i], '=');

    if (eq != NULL)
        return eq + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* Whether a model reads the buffer's address: only the legacy glibc
 * next-header rule does (§3.4); the others walk alike at any address. */
static int reads_base(enum cr_libc libc)
{
    return cr_model_get(libc)->next == CR_NEXT_LEGACY;
}

int main(int argc, char **argv)
{
    const char *cmd, *file = NULL, *libc_name = NULL, *base_text = NULL;
    uint64_t base = 0;
    enum cr_libc libc = cr_model_host();
    int all = 0, full = 0, explain;
    unsigned char *buf = NULL;
    size_t len = 0;
    char err[512];
    int rc = 0;

    if (argc < 2)
        return fail("missing command (try --help)", NULL);
    cmd = argv[1];
    if (is_help(cmd) || strcmp(cmd, "help") == 0) {
        if (argc > 2)
            return fail("--help takes no arguments", argv[2]);
        fputs(usage, stdout);
        return finish_output(0);
    }
    if (strcmp(cmd, "--version") == 0) {
        if (argc > 2)
            return fail("--version takes no arguments", argv[2]);
        printf("cmsgref %s\n", CR_VERSION);
        return finish_output(0);
    }
    if (strcmp(cmd, "models") == 0) {
        if (argc > 2)
            return fail("models takes no arguments", argv[2]);
        return cmd_models();
    }
    if (strcmp(cmd, "parse") != 0 && strcmp(cmd, "explain") != 0)
        return fail("unknown command (try --help)", cmd);
    explain = cmd[0] == 'e';
    for (int i = 2, opts = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts && strcmp(a, "--") == 0) {
            opts = 0;
        } else if (!opts || a[0] != '-' || a[1] == '\0') {
            if (file != NULL)
                return fail("more than one input file", a);
            file = a;
        } else if (is_option(a, "--libc")) {
            libc_name = option_value(argc, argv, &i);
            if (libc_name == NULL)
                return fail("--libc needs a model", NULL);
        } else if (is_option(a, "--base")) {
            base_text = option_value(argc, argv, &i);
            if (base_text == NULL)
                return fail("--base needs an address", NULL);
        } else if (strcmp(a, "--full") == 0 && explain) {
            full = 1;
        } else if (is_help(a)) {
            fputs(usage, stdout);
            return finish_output(0);
        } else {
            return fail("unknown option", a);
        }
    }
    if (file == NULL)
        return fail("missing input FILE (or - for stdin)", NULL);
    if (libc_name != NULL) {
        if (strcmp(libc_name, "all") == 0 && explain)
            return fail("explain shows one model: --libc all is for parse",
                        NULL);
        if (strcmp(libc_name, "all") == 0)
            all = 1;
        else if (cr_model_by_name(libc_name, &libc) < 0)
            return fail("unknown libc model (glibc, glibc-legacy or "
                        "legacy-glibc, musl, freebsd, darwin, glibc-i386, "
                        "glibc-legacy-i386; parse also takes all)",
                        libc_name);
    }
    if (base_text != NULL && parse_addr(base_text, &base) < 0)
        return fail("--base takes an address, decimal or 0x-hex, below 2^64",
                    base_text);
    if (input_read_file(file, &buf, &len, err, sizeof(err)) < 0)
        return fail_input(file, err);
    if (base > UINT64_MAX - 32u - (uint64_t)len) {
        free(buf);
        return fail("--base leaves no room below 2^64 for this buffer",
                    base_text);
    }
    for (int m = all ? 0 : (int)libc;
         base_text != NULL && m <= (all ? CR_LIBC_COUNT - 1 : (int)libc); m++)
        if (reads_base((enum cr_libc)m) &&
            cr_model_get((enum cr_libc)m)->addr_bits == 32 &&
            base > UINT64_C(0xffffffff) - 32u - (uint64_t)len) {
            free(buf);
            return fail(all ? "--base leaves no room below 2^32 for this "
                              "buffer (--libc all includes glibc-legacy-i386)"
                            : "--base leaves no room below 2^32 for this "
                              "buffer (a 32-bit model)",
                        base_text);
        }
    if (explain) {
        if (base_text == NULL || !reads_base(libc))
            base = cr_base_default(libc, len);
        rc = cli_explain(stdout, file, buf, len, libc, base, full);
    } else {
        for (int m = all ? 0 : (int)libc;
             m <= (all ? CR_LIBC_COUNT - 1 : (int)libc); m++) {
            rc = cr_json_parse_at(buf, len, (enum cr_libc)m,
                                  base_text != NULL &&
                                          reads_base((enum cr_libc)m)
                                      ? base
                                      : cr_base_default((enum cr_libc)m, len),
                                  file_sink, stdout);
            if (rc < 0)
                break;
            fputc('\n', stdout);
        }
    }
    free(buf);
    if (rc < 0)
        return fail("cannot write output", cr_strerror(rc));
    return finish_output(0);
}
