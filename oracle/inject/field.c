/*
 * field.c - the planted-field bookkeeping (cr_inject_field_*) of the
 * oracle's in-process injection path, part of the LD_PRELOAD shim.
 *
 * Why: oracle/suite_inject.py plants a real fd at every number an injected
 * buffer names, runs the interpreter's recvmsg in the worker, then needs
 * to know which planted fds the call closed, that it closed none of the
 * worker's own fds ("base") and opened none ("leaks").  Done with one
 * Python call per descriptor that cost most of a case; here it is one
 * native call before and one after each case (issue 5, figure 4).  It
 * plants a dup of one shared pipe read end at each number, restores fds
 * 0-2 after the call, and keeps the planted fds that survived for the
 * next case.
 *
 * Upstream facts it relies on (Linux): /proc/self/fd lists the open
 * descriptors and, since Linux 6.2, stat() of it reports their number as
 * st_size (0 before: the table is then listed every time); poll()
 * reports POLLNVAL for a number that is not open; a pipe read end polls
 * POLLIN exactly while the pipe holds data, so writing one byte into the
 * shared pipe and reading it back tells every fd still on that pipe from
 * anything else in two polls (what does not follow the pattern is
 * decided by fstat identity, as before); a new descriptor always takes
 * the lowest free number, so none can appear in the high room the
 * worker's own fds live in (those are checked for existence only).
 * What this gives up against one fstat per fd, knowingly: an unrelated
 * object put at a planted number that turns readable and unreadable in
 * step with the probe, and a worker fd in the high room closed and
 * replaced by an explicit dup2()/F_DUPFD onto that very number, would
 * pass as unchanged.  Worker fds below the high room (0-2, inherited
 * ones) are still compared by fstat identity.
 *
 * Limits: planted numbers below CR_FIELD_CAP, at most CR_BASE_CAP worker
 * fds, CR_TABLE_CAP open fds in all.  Process-global state, like the rest
 * of the shim: one worker drives one case at a time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "inject.h"

/* Planted numbers are below this: oracle/suite_inject.py's PLANT_LIMIT
 * (4096) must not exceed it. */
#define CR_FIELD_CAP 4096
/* The worker's own descriptors (fds 0-2, the protected high ones,
 * inherited ones). */
#define CR_BASE_CAP 256
/* Open descriptors in all, when the table has to be listed. */
#define CR_TABLE_CAP (CR_FIELD_CAP + CR_BASE_CAP + 1024)
#define CR_NSTD 3

struct fdkey {
    int fd;
    dev_t dev;
    ino_t ino;
};

static int f_ready;
static int f_src_r = -1, f_src_w = -1, f_peer = -1, f_sock = -1;
static int f_floor;                 /* first number of the high room */
static dev_t f_dev;                 /* identity of every planted fd */
static ino_t f_ino;
static int f_saved[CR_NSTD];        /* copies of fds 0-2, or -1 */
static int f_cloexec[CR_NSTD];
static unsigned char f_payload[16];
static size_t f_plen;
static struct fdkey f_base[CR_BASE_CAP];
static size_t f_nbase;
static unsigned char f_in_field[CR_FIELD_CAP];
static int f_field[CR_FIELD_CAP];
static size_t f_nfield;
static int f_want[CR_FIELD_CAP];    /* the current case's planted set */
static size_t f_nwant;
static unsigned char f_mark[CR_FIELD_CAP];
static unsigned char f_state[CR_FIELD_CAP];     /* per f_want: ST_* */
static long f_n0;
static int f_in_case;
static struct pollfd f_poll[CR_FIELD_CAP + CR_BASE_CAP];
static struct fdkey f_table[CR_TABLE_CAP];

enum { ST_SAME = 0, ST_CLOSED = 1, ST_ODD = 2 };

/* The number of open fds from stat("/proc/self/fd").st_size: Linux >= 6.2;
 * 0 when the kernel does not report it (or stat fails). */
static size_t proc_count(void)
{
    struct stat st;

    if (stat("/proc/self/fd", &st) != 0 || st.st_size < 0)
        return 0;
    return (size_t)st.st_size;
}

/* List the open fds (without the listing's own) with their identity into
 * f_table.  Returns the count, or -errno (-EMFILE past CR_TABLE_CAP). */
static long list_table(void)
{
    char dents[8192];
    size_t n = 0;
    int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dfd < 0)
        return -errno;
    for (;;) {
        long got = syscall(SYS_getdents64, dfd, dents, sizeof dents);
        size_t off = 0;

        if (got < 0) {
            int e = errno;
            close(dfd);
            return -e;
        }
        if (got == 0)
            break;
        while (off + 19 < (size_t)got) {
            unsigned short reclen;
            const char *name = dents + off + 19;
            char *end;
            long fd;
            struct stat st;

            memcpy(&reclen, dents + off + 16, sizeof reclen);
            if (reclen == 0)
                break;
            off += reclen;
            if (name[0] < '0' || name[0] > '9')
                continue;
            fd = strtol(name, &end, 10);
            if (*end != '\0' || fd == dfd || fd > INT32_MAX)
                continue;
            if (fstat((int)fd, &st) != 0)
                continue;
            if (n == CR_TABLE_CAP) {
                close(dfd);
                return -EMFILE;
            }
            f_table[n].fd = (int)fd;
            f_table[n].dev = st.st_dev;
            f_table[n].ino = st.st_ino;
            n++;
        }
    }
    close(dfd);
    return (long)n;
}

/* poll() on f_poll[0, n) with a zero timeout, retried on EINTR.  Returns
 * 0 or -errno. */
static int poll_now(size_t n)
{
    while (poll(f_poll, (nfds_t)n, 0) < 0) {
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

static int is_planted_key(const struct stat *st)
{
    return st->st_dev == f_dev && st->st_ino == f_ino;
}

static int saved_std(int fd)
{
    return fd >= 0 && fd < CR_NSTD && f_saved[fd] >= 0;
}

/* Take the current table as the worker's own fds.  The field must be
 * empty.  Returns the number of base fds or -errno. */
static int rebase(void)
{
    long n = list_table();
    long i;

    if (n < 0)
        return (int)n;
    if (n > CR_BASE_CAP)
        return -EMFILE;
    for (i = 0; i < n; i++)
        f_base[i] = f_table[i];
    f_nbase = (size_t)n;
    return (int)n;
}

/* Set the field up: src_r is the shared pipe read end every planted fd
 * duplicates, src_w its write end (kept open: the pipe's state is what
 * tells a planted fd from anything else), peer/sock the reused socketpair
 * (payload is sent on peer before each call), [floor, ...) the high room
 * where all of these live, saved[0..2] copies of fds 0-2 (or -1) with
 * their close-on-exec flags.  All fds stay the caller's.  Takes the
 * current table as the base.  Returns the number of base fds or -errno. */
int cr_inject_field_setup(int src_r, int src_w, int peer, int sock,
                          int floor, const int *saved, const int *cloexec,
                          const void *payload, size_t plen)
{
    struct stat st;
    int i;

    if (saved == NULL || cloexec == NULL || payload == NULL || plen == 0
            || plen > sizeof f_payload)
        return -EINVAL;
    if (fstat(src_r, &st) != 0)
        return -errno;
    f_dev = st.st_dev;
    f_ino = st.st_ino;
    f_src_r = src_r;
    f_src_w = src_w;
    f_peer = peer;
    f_sock = sock;
    f_floor = floor;
    for (i = 0; i < CR_NSTD; i++) {
        f_saved[i] = saved[i];
        f_cloexec[i] = cloexec[i];
    }
    memcpy(f_payload, payload, plen);
    f_plen = plen;
    f_nfield = 0;
    memset(f_in_field, 0, sizeof f_in_field);
    f_ready = 1;
    return rebase();
}

/* Copy the base fd numbers to ret_fds[0, cap).  Returns how many there
 * are (may exceed cap) or -EBADF before setup. */
int cr_inject_field_base(int *ret_fds, size_t cap)
{
    size_t i;

    if (!f_ready)
        return -EBADF;
    for (i = 0; i < f_nbase && i < cap; i++)
        ret_fds[i] = f_base[i].fd;
    return (int)f_nbase;
}

/* Close the field's fds that are still planted ones and empty it; then
 * take the table as the new base.  Returns the number of base fds or
 * -errno. */
int cr_inject_field_drop(void)
{
    size_t i;
    struct stat st;

    if (!f_ready)
        return -EBADF;
    for (i = 0; i < f_nfield; i++) {
        int fd = f_field[i];

        f_in_field[fd] = 0;
        if (fstat(fd, &st) == 0 && is_planted_key(&st))
            close(fd);
    }
    f_nfield = 0;
    return rebase();
}

/* True if the open fd numbers are exactly base + field: the count equals
 * theirs and none of them is closed; a listing when the kernel gives no
 * count.  Numbers only, as the Python check it replaces. */
static int table_is_known(void)
{
    size_t count = proc_count();
    size_t known = f_nbase + f_nfield;
    size_t i, n = 0;

    if (count == 0) {
        long got = list_table();
        long j;

        if (got < 0 || (size_t)got != known)
            return 0;
        for (j = 0; j < got; j++) {
            int fd = f_table[j].fd;
            int hit = fd >= 0 && fd < CR_FIELD_CAP && f_in_field[fd];

            for (i = 0; !hit && i < f_nbase; i++)
                hit = f_base[i].fd == fd;
            if (!hit)
                return 0;
        }
        return 1;
    }
    if (count != known)
        return 0;
    for (i = 0; i < f_nbase; i++) {
        f_poll[n].fd = f_base[i].fd;
        f_poll[n++].events = 0;
    }
    for (i = 0; i < f_nfield; i++) {
        f_poll[n].fd = f_field[i];
        f_poll[n++].events = 0;
    }
    if (poll_now(n) != 0)
        return 0;
    for (i = 0; i < n; i++) {
        if (f_poll[i].revents & POLLNVAL)
            return 0;
    }
    return 1;
}

/* Which of fds[0, n) still refer to the planted pipe, into state[]:
 * one byte is written into the pipe and read back; a planted fd polls
 * POLLIN exactly while it is there.  POLLNVAL means closed; any other
 * pattern is ST_ODD (the caller then decides by fstat).  Returns 0 or
 * -errno. */
static int probe_planted(const int *fds, size_t n, unsigned char *state)
{
    unsigned char byte = 0x5a;
    size_t i;
    int rc;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        f_poll[i].fd = fds[i];
        f_poll[i].events = POLLIN;
    }
    if (write(f_src_w, &byte, 1) != 1)
        return -EIO;
    rc = poll_now(n);
    for (i = 0; i < n; i++) {
        short r = f_poll[i].revents;

        state[i] = r & POLLNVAL ? ST_CLOSED : r == POLLIN ? ST_SAME
            : ST_ODD;
    }
    if (read(f_src_r, &byte, 1) != 1)
        return -EIO;
    if (rc != 0)
        return rc;
    rc = poll_now(n);
    if (rc != 0)
        return rc;
    for (i = 0; i < n; i++) {
        if (state[i] == ST_SAME && f_poll[i].revents != 0)
            state[i] = ST_ODD;
    }
    return 0;
}

/* Verify the base fds not in the current case (those >= f_floor by
 * existence: no new fd can take a number there, the lowest free one is
 * always far below; the others by fstat identity).  want_mark: f_mark is
 * set for the case's planted numbers.  Writes lost numbers to
 * ret_lost[0, bcap) and returns how many are lost, or -errno. */
static long check_base(int use_mark, int *ret_lost, size_t bcap,
                       size_t *ret_ok)
{
    size_t i, n = 0, ok = 0;
    long lost = 0;
    struct stat st;

    for (i = 0; i < f_nbase; i++) {
        int fd = f_base[i].fd;
        int bad;

        if (use_mark && fd < CR_FIELD_CAP && f_mark[fd])
            continue;
        if (fd >= f_floor) {
            f_poll[n].fd = fd;
            f_poll[n++].events = 0;
            continue;
        }
        bad = fstat(fd, &st) != 0 || st.st_dev != f_base[i].dev
            || st.st_ino != f_base[i].ino;
        if (bad) {
            if ((size_t)lost < bcap)
                ret_lost[lost] = fd;
            lost++;
        } else {
            ok++;
        }
    }
    if (n > 0 && poll_now(n) != 0)
        return -errno;
    for (i = 0; i < n; i++) {
        if (f_poll[i].revents & POLLNVAL) {
            if ((size_t)lost < bcap)
                ret_lost[lost] = f_poll[i].fd;
            lost++;
        } else {
            ok++;
        }
    }
    *ret_ok = ok;
    return lost;
}

/* The key an fd number is expected to have now: 1 with dev and ino set
 * if it is a planted number (use_mark: of the case, else of the field) or a
 * base fd (not planted over), else 0. */
static int expected_key(int fd, int use_mark, dev_t *dev, ino_t *ino)
{
    size_t i;

    if (fd >= 0 && fd < CR_FIELD_CAP
            && (use_mark ? f_mark[fd] : f_in_field[fd])) {
        *dev = f_dev;
        *ino = f_ino;
        return 1;
    }
    for (i = 0; i < f_nbase; i++) {
        if (f_base[i].fd == fd) {
            *dev = f_base[i].dev;
            *ino = f_base[i].ino;
            return 1;
        }
    }
    return 0;
}

/* List the table and report every fd that is not where it is expected
 * (expected_key) as a leak: its number into ret_leaks[0, lcap) and its
 * /proc/self/fd target, NUL-terminated, one after the other into
 * ret_targets[0, tcap) ("?" when unreadable or out of room).  Returns
 * the number of leaks or -errno. */
static long find_leaks(int use_mark, int *ret_leaks, size_t lcap,
                       char *ret_targets, size_t tcap)
{
    long n = list_table();
    long i, leaks = 0;
    size_t toff = 0;

    if (n < 0)
        return n;
    for (i = 0; i < n; i++) {
        dev_t dev;
        ino_t ino;
        char path[64], target[4096];
        ssize_t tl;
        size_t need;

        if (expected_key(f_table[i].fd, use_mark, &dev, &ino)
                && dev == f_table[i].dev && ino == f_table[i].ino)
            continue;
        if ((size_t)leaks >= lcap)
            return -ENOBUFS;
        ret_leaks[leaks++] = f_table[i].fd;
        snprintf(path, sizeof path, "/proc/self/fd/%d", f_table[i].fd);
        tl = readlink(path, target, sizeof target - 1);
        if (tl < 0) {
            target[0] = '?';
            tl = 1;
        }
        target[tl] = '\0';
        need = (size_t)tl + 1;
        if (toff + need > tcap)
            return -ENOBUFS;
        memcpy(ret_targets + toff, target, need);
        toff += need;
    }
    return leaks;
}

/* Between cases: is the table exactly base + field, each fd still the
 * object it was?  Leaks (fds open that are neither, or replaced) as in
 * find_leaks; ret_counts[0] = leaks, [1] = base or field fds missing or
 * replaced.  Returns 0 or -errno. */
int cr_inject_field_check(int *ret_leaks, size_t lcap, char *ret_targets,
                          size_t tcap, long *ret_counts)
{
    size_t ok = 0, i, same = 0;
    long lost, leaks = 0;
    int lostbuf[1];
    int rc, odd = 0;

    if (!f_ready || f_in_case)
        return -EBADF;
    lost = check_base(0, lostbuf, 0, &ok);
    if (lost < 0)
        return (int)lost;
    rc = probe_planted(f_field, f_nfield, f_state);
    if (rc != 0)
        return rc;
    for (i = 0; i < f_nfield; i++) {
        if (f_state[i] == ST_SAME)
            same++;
        else
            lost++;
        odd |= f_state[i] == ST_ODD;
    }
    if (odd || proc_count() != ok + same) {
        leaks = find_leaks(0, ret_leaks, lcap, ret_targets, tcap);
        if (leaks < 0)
            return (int)leaks;
    }
    ret_counts[0] = leaks;
    ret_counts[1] = lost;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x, y;

    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    return (x > y) - (x < y);
}

/* Before one injected call: make the table exactly base + want, each
 * want number a planted fd, queue the payload on the peer and arm the
 * socket with buf[0, len).  want: sorted distinct numbers in [0,
 * CR_FIELD_CAP); cands: sorted ints the call could close.  If the table
 * is not base + field (something opened or closed fds since the last
 * case), the field is dropped and the base retaken first.  Returns 0
 * when armed, 1 when a candidate names a base fd other than a saved 0-2
 * (the field is dropped, nothing planted: run the case elsewhere), or
 * -errno.  Arrays stay the caller's. */
int cr_inject_field_begin(const int *want, size_t nwant, const int *cands,
                          size_t ncands, const void *buf, size_t len)
{
    size_t i;
    int rc;

    if (!f_ready || f_in_case)
        return -EBADF;
    if (nwant > CR_FIELD_CAP || (nwant > 0 && want == NULL)
            || (ncands > 0 && cands == NULL))
        return -EINVAL;
    for (i = 0; i < nwant; i++) {
        if (want[i] < 0 || want[i] >= CR_FIELD_CAP
                || (i > 0 && want[i] <= want[i - 1]))
            return -ERANGE;
    }
    if (!table_is_known()) {
        rc = cr_inject_field_drop();
        if (rc < 0)
            return rc;
    }
    for (i = 0; i < f_nbase; i++) {
        int fd = f_base[i].fd;

        if (!saved_std(fd) && ncands > 0
                && bsearch(&fd, cands, ncands, sizeof *cands, cmp_int)) {
            rc = cr_inject_field_drop();
            return rc < 0 ? rc : 1;
        }
    }
    for (i = 0; i < nwant; i++)
        f_mark[want[i]] = 1;
    for (i = 0; i < f_nfield; i++) {
        if (!f_mark[f_field[i]])
            close(f_field[i]);
    }
    rc = 0;
    for (i = 0; i < nwant && rc == 0; i++) {
        if (!f_in_field[want[i]] && dup2(f_src_r, want[i]) < 0)
            rc = -errno;
    }
    for (i = 0; i < f_nfield; i++)
        f_in_field[f_field[i]] = 0;
    f_nfield = 0;
    if (rc != 0) {
        /* Keep the field consistent: the want numbers planted so far. */
        struct stat st;

        for (i = 0; i < nwant; i++) {
            f_mark[want[i]] = 0;
            if (saved_std(want[i]))
                (void)dup3(f_saved[want[i]], want[i],
                           f_cloexec[want[i]] ? O_CLOEXEC : 0);
            else if (fstat(want[i], &st) == 0
                    && is_planted_key(&st)) {
                f_field[f_nfield++] = want[i];
                f_in_field[want[i]] = 1;
            }
        }
        return rc;
    }
    for (i = 0; i < nwant; i++)
        f_want[i] = want[i];
    f_nwant = nwant;
    if (send(f_peer, f_payload, f_plen, MSG_NOSIGNAL) != (ssize_t)f_plen) {
        rc = -errno;
        for (i = 0; i < nwant; i++)
            f_mark[want[i]] = 0;
        f_nwant = 0;
        return rc < 0 ? rc : -EIO;
    }
    f_n0 = cr_inject_count();
    f_in_case = 1;
    if (cr_inject_arm(f_sock, buf, len) != 0) {
        f_in_case = 0;
        return -EINVAL;
    }
    return 0;
}

/* After the call: disarm, then report into the caller's arrays the planted
 * numbers the call closed (or replaced), ret_closed[0, ccap) ascending;
 * the leaks, as find_leaks; the base fds it closed or replaced,
 * ret_lost[0, bcap).  ret_counts = {closed, leaks, lost, calls the shim
 * rewrote}.  Then fds 0-2 are restored from their copies, the socket is
 * drained, the planted fds still open stay in the field for the next
 * case and every other fd the call opened is closed.  If a base fd was
 * lost the field is dropped.  Returns 0 or -errno. */
int cr_inject_field_end(int *ret_closed, size_t ccap, int *ret_leaks,
                        size_t lcap, char *ret_targets, size_t tcap,
                        int *ret_lost, size_t bcap, long *ret_counts)
{
    size_t i, ok = 0, same = 0, nclosed = 0;
    long lost, leaks = 0;
    int rc, odd = 0, left = 0;
    struct stat st;

    if (!f_ready || !f_in_case)
        return -EBADF;
    cr_inject_disarm();
    f_in_case = 0;
    ret_counts[3] = cr_inject_count() - f_n0;
    lost = check_base(1, ret_lost, bcap, &ok);
    rc = lost < 0 ? (int)lost : probe_planted(f_want, f_nwant, f_state);
    if (rc == 0) {
        for (i = 0; i < f_nwant; i++) {
            odd |= f_state[i] == ST_ODD;
            same += f_state[i] == ST_SAME;
        }
        if (odd || proc_count() != ok + same) {
            leaks = find_leaks(1, ret_leaks, lcap, ret_targets, tcap);
            if (leaks < 0)
                rc = (int)leaks;
        }
    }
    if (rc == 0 && odd) {
        for (i = 0; i < f_nwant; i++) {
            if (f_state[i] == ST_ODD)
                f_state[i] = fstat(f_want[i], &st) == 0
                    && is_planted_key(&st) ? ST_SAME : ST_CLOSED;
        }
    }
    for (i = 0; i < f_nwant; i++) {
        int fd = f_want[i];

        f_mark[fd] = 0;
        if (rc == 0 && f_state[i] != ST_SAME) {
            if (nclosed < ccap)
                ret_closed[nclosed] = fd;
            nclosed++;
        }
        if (saved_std(fd)) {
            if (dup3(f_saved[fd], fd, f_cloexec[fd] ? O_CLOEXEC : 0) < 0
                    && rc == 0)
                rc = -errno;
        } else if (rc == 0 && f_state[i] == ST_SAME) {
            f_field[f_nfield++] = fd;
            f_in_field[fd] = 1;
        }
    }
    f_nwant = 0;
    if (ioctl(f_sock, FIONREAD, &left) == 0) {
        unsigned char sink[256];

        while (left > 0) {
            ssize_t got = read(f_sock, sink, sizeof sink);

            if (got <= 0)
                break;
            left -= (int)got;
        }
    }
    if (rc != 0)
        return rc;
    if (leaks > 0) {
        long n = list_table();
        long j;

        for (j = 0; j < n; j++) {
            dev_t dev;
            ino_t ino;

            if (!expected_key(f_table[j].fd, 0, &dev, &ino))
                close(f_table[j].fd);
        }
    }
    ret_counts[0] = (long)nclosed;
    ret_counts[1] = leaks;
    ret_counts[2] = lost;
    if (lost > 0)
        return cr_inject_field_drop() < 0 ? -EIO : 0;
    return 0;
}
