/*
 * alloc.c - an LD_PRELOAD library that fails one libc allocation after a
 * recvmsg() returned, so an interpreter that allocates through libc
 * (CPython under PYTHONMALLOC=malloc) meets a memory failure while it
 * builds the call's result (spec §4.2: MemoryError, and the error path
 * closes the SCM_RIGHTS slots).
 *
 * Why a library of its own: interposing the allocator touches every
 * allocation of the process, so it is preloaded only into the child that
 * runs one allocation case (oracle/suites/inject/alloc.py), in front of
 * the injection shim (inject.c), never into the workers.  Its recvmsg()
 * passes through to the next one (the shim's, which rewrites the control
 * bytes) and starts the count when that returns.
 *
 * Use: cr_alloc_fail(k) arms; once the next recvmsg() has returned, the
 * k-th call of malloc(), calloc() or realloc() from then on (counting
 * every one, in any thread) fails with ENOMEM, once; nothing fails before
 * that recvmsg() returns or when nothing is armed.  cr_alloc_failed()
 * tells whether the failure went out.
 *
 * The real allocator: glibc exports it as __libc_malloc, __libc_calloc
 * and __libc_realloc, so no dlsym() runs for it (glibc's dlsym() may
 * itself allocate, which would re-enter here before anything is
 * resolved); free() is not interposed, every block is libc's own.  Other
 * libcs (musl exports no such names and its dlsym() does not allocate)
 * resolve it with dlsym(RTLD_NEXT).  Limits: process-global state, one
 * thread driving it, as the shim.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

int cr_alloc_fail(long k);
int cr_alloc_failed(void);
ssize_t recvmsg(int fd, struct msghdr *msg, int flags);
void *malloc(size_t size);
void *calloc(size_t nmemb, size_t size);
void *realloc(void *ptr, size_t size);

typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);

/* The next definition of name after this library, resolved once into
 * *slot; NULL if there is none. */
static void *next(const char *name, void **slot)
{
    if (*slot == NULL)
        *slot = dlsym(RTLD_NEXT, name);
    return *slot;
}

#ifdef __GLIBC__
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t nmemb, size_t size);
void *__libc_realloc(void *ptr, size_t size);
#define REAL(fn, type) __libc_##fn
#else
#define REAL(fn, type) ((type)next(#fn, &next_##fn))
static void *next_malloc, *next_calloc, *next_realloc;
#endif
static void *next_recvmsg;

/* alloc_arm > 0 is the armed k; the next recvmsg() moves it into
 * alloc_left, which counts the allocations down until the k-th fails;
 * alloc_failed is then 1. */
static long alloc_arm;
static long alloc_left;
static int alloc_failed;

/* Arm the failure of the k-th allocation after the next recvmsg() returns
 * (see the file comment); k = 0 disarms.  Returns 0, or -1 if k < 0. */
int cr_alloc_fail(long k)
{
    if (k < 0)
        return -1;
    alloc_arm = k;
    alloc_left = 0;
    alloc_failed = 0;
    return 0;
}

/* 1 if the armed failure went out since cr_alloc_fail(), else 0; then
 * forgets it and disarms. */
int cr_alloc_failed(void)
{
    int failed = alloc_failed;

    alloc_arm = 0;
    alloc_left = 0;
    alloc_failed = 0;
    return failed;
}

/* The next recvmsg() (the shim's, or libc's); when it returns, an armed
 * count starts.  Returns what it returns, or -1 with ENOSYS if there is
 * none. */
ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    recvmsg_fn real = (recvmsg_fn)next("recvmsg", &next_recvmsg);
    ssize_t n;

    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    n = real(fd, msg, flags);
    alloc_left = alloc_arm;
    alloc_arm = 0;
    return n;
}

/* 1 if this allocation is the armed one, with errno set to ENOMEM. */
static int fail_now(void)
{
    if (alloc_left <= 0 || --alloc_left > 0)
        return 0;
    alloc_failed = 1;
    errno = ENOMEM;
    return 1;
}

/* The interposed allocators: NULL with ENOMEM for the armed failure, else
 * what libc's returns (NULL with ENOMEM if libc's cannot be found). */
void *malloc(size_t size)
{
    malloc_fn real = REAL(malloc, malloc_fn);

    if (fail_now() || real == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    return real(size);
}

void *calloc(size_t nmemb, size_t size)
{
    calloc_fn real = REAL(calloc, calloc_fn);

    if (fail_now() || real == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    return real(nmemb, size);
}

void *realloc(void *ptr, size_t size)
{
    realloc_fn real = REAL(realloc, realloc_fn);

    if (fail_now() || real == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    return real(ptr, size);
}
