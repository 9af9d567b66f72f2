/*
 * runner.c - runs the registered tests, one after another in this process,
 * and checks that each leaves the fd table as it found it (a test that
 * leaks or closes an fd it does not own fails).  Usage: cmsgref-tests
 * [SUBSTRING].  Ends with "N passed, N failed"; exit 1 if any failed.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests.h"

#define MAX_TESTS 1024
#define MAX_FDS 1024

struct test {
    const char *name;
    const char *file;
    test_fn fn;
};

static struct test tests[MAX_TESTS];
static size_t ntests;
static int current_failed;

void test_register(const char *name, const char *file, test_fn fn)
{
    if (ntests < MAX_TESTS)
        tests[ntests++] = (struct test){name, file, fn};
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    current_failed = 1;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int test_failed(void)
{
    return current_failed;
}

/* 1 if fd is open in this process. */
static int fcntl_probe(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

/* Lists the open fds (below MAX_FDS) into set[]; returns how many. */
static int fd_table(unsigned char *set)
{
    int n = 0;
    memset(set, 0, MAX_FDS);
    for (int fd = 0; fd < MAX_FDS; fd++) {
        if (fcntl_probe(fd)) {
            set[fd] = 1;
            n++;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    static unsigned char before[MAX_FDS], after[MAX_FDS];
    int passed = 0, failed = 0;

    for (size_t i = 0; i < ntests; i++) {
        if (argc > 1 && strstr(tests[i].name, argv[1]) == NULL)
            continue;
        current_failed = 0;
        fd_table(before);
        tests[i].fn();
        fd_table(after);
        for (int fd = 0; fd < MAX_FDS; fd++) {
            if (before[fd] != after[fd])
                test_fail(tests[i].file, 0, "fd %d was %s by the test", fd,
                          before[fd] ? "closed" : "leaked");
        }
        if (current_failed) {
            failed++;
            printf("FAIL %s\n", tests[i].name);
        } else {
            passed++;
            printf("ok   %s\n", tests[i].name);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
