/*
 * replay.c - the engine-less driver: runs a fuzz target once on each file.
 *
 * Usage: <target> [-q] PATH...   where each PATH is a file or a directory
 * (its regular files are run in name order, not recursively).  This is how
 * `make replay` and `make check` run the committed corpus and every
 * reproducer under ASan+UBSan, and how `make coverage` measures the corpus.
 * A failing input traps or is reported by a sanitizer; either way the file
 * being run is named on stderr first (from a signal handler or ASan's death
 * callback), so a CI log says which file broke.  Exit 0 when every file ran,
 * 2 on bad usage, an unreadable path or paths that hold no input at all (a
 * replay that ran nothing proves nothing), and the crash's own status
 * otherwise.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "input.h"

/* Optional engine hooks; the replay driver honours them like libFuzzer. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
/* ASan / UBSan call this before dying; absent without a sanitizer. */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

static const char *current = "(none)";

/* Names the input being run; async-signal-safe. */
static void say_current(void)
{
    static const char pre[] = "replay: FAILED on input: ";
    ssize_t rc = write(2, pre, sizeof(pre) - 1);

    rc = write(2, current, strlen(current));
    rc = write(2, "\n", 1);
    (void)rc;
}

/* A crash signal: name the input, then die of the same signal. */
static void on_signal(int sig)
{
    say_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Runs the target on one file; returns 0 or -1 if it cannot be read. */
static int run_file(const char *path, int quiet)
{
    unsigned char *buf;
    size_t len;
    char err[256];

    if (input_read_file(path, &buf, &len, err, sizeof(err)) < 0) {
        fprintf(stderr, "replay: cannot read %s: %s\n", path, err);
        return -1;
    }
    current = path;
    if (!quiet)
        fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    LLVMFuzzerTestOneInput(buf, len);
    current = "(none)";
    free(buf);
    return 0;
}

/* qsort order for paths: plain strcmp. */
static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file directly inside dir, in name order.  Returns the
 * number of files run, or -1 on an unreadable directory or file. */
static long run_dir(const char *dir, int quiet)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0;
    long ran = 0;

    if (d == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            names = realloc(names, cap * sizeof(*names));
            if (names == NULL) {
                fprintf(stderr, "replay: out of memory\n");
                exit(2);
            }
        }
        names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (names[n] == NULL) {
            fprintf(stderr, "replay: out of memory\n");
            exit(2);
        }
        sprintf(names[n], "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (ran >= 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            ran = run_file(names[i], quiet) < 0 ? -1 : ran + 1;
        free(names[i]);
    }
    free(names);
    return ran;
}

/* Runs every PATH (see the file comment); returns the exit status. */
int main(int argc, char **argv)
{
    int quiet = 0, first = 1;
    long total = 0;
    const int sigs[] = {SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE};

    if (argc > 1 && strcmp(argv[1], "-q") == 0) {
        quiet = 1;
        first = 2;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [-q] FILE-OR-DIR...\n", argv[0]);
        return 2;
    }
    /* With a sanitizer, its own handlers report SEGV/BUS/FPE and then call
     * the death callback; taking those signals here would hide its report.
     * Traps (SIGILL/SIGTRAP) and aborts are ours in every build. */
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        if (i < 3 || !__sanitizer_set_death_callback)
            signal(sigs[i], on_signal);
    }
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(say_current);
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = first; i < argc; i++) {
        struct stat st;
        long ran;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: cannot stat %s: %s\n", argv[i],
                    strerror(errno));
            return 2;
        }
        ran = S_ISDIR(st.st_mode) ? run_dir(argv[i], quiet)
                                  : (run_file(argv[i], quiet) < 0 ? -1 : 1);
        if (ran < 0)
            return 2;
        total += ran;
    }
    if (total == 0) {
        fprintf(stderr,
                "replay: no input file under the %d path(s) given: "
                "nothing was replayed\n",
                argc - first);
        return 2;
    }
    printf("replay: %s: %ld inputs ran, 0 failed\n", argv[0], total);
    return 0;
}
