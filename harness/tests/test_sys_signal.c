/*
 * test_sys_signal.c - §7 on real sockets and real signals: a SIGALRM storm
 * (setitimer every 1 ms, handler installed without SA_RESTART) while the
 * call waits, a forked child that sends after ~50 ms, timeouts and
 * non-blocking reads.  Timing bounds are generous (a 0.2 s timeout must end
 * within [0.19, 1.0] s) so a loaded machine does not make them flaky; a
 * watchdog in the handler callback ends a runaway wait after 3 s so a bug
 * fails the test instead of hanging it.  Timer and handler are restored.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_recv_util.h"
#include "tests.h"

#define NS INT64_C(1000000000)

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

struct storm {
    struct sigaction old_sa;
    struct itimerval old_it;
};

/* SIGALRM every 1 ms, without SA_RESTART, so blocking calls see EINTR. */
static int storm_start(struct storm *s)
{
    struct sigaction sa;
    struct itimerval it;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    if (sigaction(SIGALRM, &sa, &s->old_sa) != 0)
        return -1;
    memset(&it, 0, sizeof(it));
    it.it_interval.tv_usec = 1000;
    it.it_value.tv_usec = 1000;
    alarms = 0;
    return setitimer(ITIMER_REAL, &it, &s->old_it);
}

/* Disarms first (a pending SIGALRM still meets our handler), then restores
 * the old handler. */
static void storm_stop(struct storm *s)
{
    struct itimerval zero;

    memset(&zero, 0, sizeof(zero));
    setitimer(ITIMER_REAL, &zero, NULL);
    sigaction(SIGALRM, &s->old_sa, NULL);
}

struct eintr_ctx {
    int calls;
    int raise_at; /* return nonzero on this call; 0: never */
    double t0;    /* watchdog: raise after 3 s */
    int go_fd;    /* > 0: write a byte here at the 5th EINTR */
};

static int count_eintr(void *ctx)
{
    struct eintr_ctx *c = ctx;

    c->calls++;
    if (c->go_fd > 0 && c->calls == 5)
        (void)write(c->go_fd, "g", 1);
    if (c->raise_at != 0 && c->calls >= c->raise_at)
        return 1;
    return tu_now() - c->t0 > 3.0;
}

/* Forks a child that waits for a byte on go_rd (if > 0; at most 5 s),
 * then sleeps ms, writes one byte to fd and exits.  The "go" byte comes
 * from the parent's 5th EINTR, so the parent is known to be waiting in
 * the call when the data is sent, however loaded the machine is. */
static pid_t send_later(int fd, long ms, int go_rd)
{
    pid_t pid = fork();

    if (pid == 0) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
        struct pollfd p = {go_rd, POLLIN, 0};

        if (go_rd > 0) {
            while (poll(&p, 1, 5000) < 0 && errno == EINTR)
                ;
        }
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        if (write(fd, "L", 1) != 1)
            _exit(1);
        _exit(0);
    }
    return pid;
}

static void reap(pid_t pid)
{
    int st;

    while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
}

TEST(blocking_call_survives_a_signal_storm_and_retries_after_each_eintr)
{
    int sv[2], go[2], rc = -1;
    struct storm s;
    struct eintr_ctx c = {0, 0, 0, 0};
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    pid_t pid;
    unsigned char byte = 0;

    ASSERT_EQ(tu_pair(SOCK_STREAM, sv), 0);
    ASSERT_EQ(pipe(go), 0);
    tu_args(&a, sv[0]);
    a.on_eintr = count_eintr;
    a.eintr_ctx = &c;
    c.go_fd = go[1];
    pid = send_later(sv[1], 50, go[0]);
    c.t0 = tu_now();
    if (pid > 0 && storm_start(&s) == 0) {
        rc = cr_recvmsg(&a, &res, &e);
        storm_stop(&s);
    }
    reap(pid);
    close(go[0]);
    close(go[1]);
    close(sv[0]);
    close(sv[1]);
    ASSERT_TRUE(pid > 0);
    ASSERT_EQ(rc, 0);
    byte = res.data[0];
    ASSERT_EQ(res.nbytes, 1);
    cr_recv_result_free(&res);
    ASSERT_EQ(byte, 'L');
    ASSERT_GE(c.calls, 5);
    ASSERT_LE(tu_now() - c.t0 > 3.0, 0);
}

TEST(handler_raising_in_a_blocking_wait_ends_the_call_with_signal)
{
    int sv[2], rc = -1;
    struct storm s;
    struct eintr_ctx c = {0, 3, 0, 0};
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;

    ASSERT_EQ(tu_pair(SOCK_STREAM, sv), 0);
    tu_args(&a, sv[0]);
    a.on_eintr = count_eintr;
    a.eintr_ctx = &c;
    c.t0 = tu_now();
    if (storm_start(&s) == 0) {
        rc = cr_recvmsg(&a, &res, &e);
        storm_stop(&s);
    }
    close(sv[0]);
    close(sv[1]);
    if (rc == 0)
        cr_recv_result_free(&res);
    ASSERT_EQ(rc, CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_SIGNAL);
    ASSERT_EQ(c.calls, 3);
}

/* recvmsg with a timeout on an empty pair, optionally under a storm;
 * returns elapsed seconds, *rc and *err. */
static double timed_wait(int64_t timeout_ns, int with_storm, int *rc,
                         struct cr_pyerr *err, int *eintr_calls)
{
    int sv[2];
    struct storm s;
    struct eintr_ctx c = {0, 0, 0, 0};
    struct cr_recv_args a;
    struct cr_recv_result res;
    double t0, t1;

    *rc = -100;
    if (tu_pair(SOCK_STREAM, sv) != 0)
        return -1;
    tu_args(&a, sv[0]);
    tu_set_timeout(&a, timeout_ns);
    a.on_eintr = count_eintr;
    a.eintr_ctx = &c;
    t0 = c.t0 = tu_now();
    if (!with_storm || storm_start(&s) == 0) {
        *rc = cr_recvmsg(&a, &res, err);
        if (with_storm)
            storm_stop(&s);
    }
    t1 = tu_now();
    close(sv[0]);
    close(sv[1]);
    if (*rc == 0)
        cr_recv_result_free(&res);
    *eintr_calls = c.calls;
    return t1 - t0;
}

TEST(timeout_fires_after_about_the_timeout)
{
    struct cr_pyerr e;
    int rc, calls;
    double dt = timed_wait(NS / 5, 0, &rc, &e, &calls);

    ASSERT_EQ(rc, CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_TIMEOUT);
    ASSERT_STREQ(e.msg, "timed out");
    ASSERT_GE((int64_t)(dt * 1000), 190);
    ASSERT_LE((int64_t)(dt * 1000), 1000);
}

TEST(signal_storm_does_not_extend_the_deadline)
{
    struct cr_pyerr e;
    int rc, calls;
    double dt = timed_wait(NS / 5, 1, &rc, &e, &calls);

    ASSERT_EQ(rc, CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_TIMEOUT);
    ASSERT_GE(calls, 1);
    ASSERT_GE((int64_t)(dt * 1000), 190);
    ASSERT_LE((int64_t)(dt * 1000), 1000);
}

TEST(timeout_mode_returns_data_that_arrives_in_time)
{
    int sv[2], rc;
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;
    pid_t pid;

    ASSERT_EQ(tu_pair(SOCK_STREAM, sv), 0);
    tu_args(&a, sv[0]);
    tu_set_timeout(&a, 5 * NS);
    pid = send_later(sv[1], 50, 0);
    rc = cr_recvmsg(&a, &res, &e);
    reap(pid);
    close(sv[0]);
    close(sv[1]);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(res.nbytes, 1);
    cr_recv_result_free(&res);
}

TEST(non_blocking_socket_without_data_raises_blocking_io_error)
{
    struct cr_pyerr e;
    int rc, calls;
    double dt = timed_wait(0, 0, &rc, &e, &calls);

    ASSERT_EQ(rc, CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_BLOCKING_IO_ERROR);
    ASSERT_EQ(e.sys_errno, EAGAIN);
    ASSERT_STREQ(e.msg, "Resource temporarily unavailable");
    ASSERT_LE((int64_t)(dt * 1000), 500);
}

TEST(msg_dontwait_on_a_blocking_socket_raises_blocking_io_error)
{
    int sv[2], rc;
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;

    ASSERT_EQ(tu_pair(SOCK_STREAM, sv), 0);
    tu_args(&a, sv[0]);
    a.timeout_ns = -1;
    a.flags = MSG_DONTWAIT;
    rc = cr_recvmsg(&a, &res, &e);
    close(sv[0]);
    close(sv[1]);
    if (rc == 0)
        cr_recv_result_free(&res);
    ASSERT_EQ(rc, CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_BLOCKING_IO_ERROR);
    ASSERT_EQ(e.sys_errno, EAGAIN);
}

TEST(non_blocking_mode_does_not_hang_on_a_blocking_fd)
{
    int sv[2], rc;
    struct cr_recv_args a;
    struct cr_recv_result res;
    struct cr_pyerr e;

    ASSERT_EQ(tu_pair(SOCK_STREAM, sv), 0);
    tu_args(&a, sv[0]);
    a.timeout_ns = 0; /* the fd itself stays blocking */
    rc = cr_recvmsg(&a, &res, &e);
    close(sv[0]);
    close(sv[1]);
    if (rc == 0)
        cr_recv_result_free(&res);
    ASSERT_EQ(rc, CR_EPY);
    ASSERT_EQ(e.exc, CR_PY_BLOCKING_IO_ERROR);
}
