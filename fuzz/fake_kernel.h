/*
 * fake_kernel.h - the structured input of the recvmsg_fake target, the
 * fake kernel that plays it back behind cr_recvmsg()'s struct cr_sys seam,
 * and the checks of what the library did with it (§4, §5, §7).
 *
 * fuzz/FORMAT.md is the specification of the input bytes; fk_parse() is
 * the one reader of that format.  The fake kernel never calls the real
 * recvmsg/poll/close on behalf of the library: it fills the msghdr from the
 * input, reports EINTR / an errno as told, keeps a fake monotonic clock,
 * and records every close() the library asks for.  Planted descriptors
 * (real fds, dup()s of /dev/null written into the control bytes) are really
 * closed when the library closes them, so the fd table shows the truth.
 *
 * One call: fk_parse(), fk_setup(), cr_recvmsg(&st->args, ...), fk_check(),
 * fk_teardown().
 */
#ifndef CR_FAKE_KERNEL_H
#define CR_FAKE_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include <sys/uio.h>

#include "cmsgref.h"

#define FK_MAX_PLANT 8   /* planted fds per input */
#define FK_MAX_ANC 65536 /* ancbufsize values above are folded below */
#define FK_MAX_CLOSES (FK_MAX_ANC / 4 + 1)

/* The decoded input (see FORMAT.md).  Pointers borrow the input bytes. */
struct fk_input {
    unsigned flags; /* FK_F_* */
    unsigned libc;  /* may be out of range on purpose */
    int family;
    int64_t timeout_ns; /* < 0 blocking, 0 non-blocking, > 0 timeout */
    unsigned eintr_count;
    int fail_errno; /* 0: none */
    int64_t bufsize;
    int64_t ancbufsize;
    int msg_flags;
    uint32_t namelen; /* what the kernel reports as msg_namelen */
    unsigned nplant;
    uint16_t plant_off[FK_MAX_PLANT];
    const uint8_t *name, *data, *control;
    size_t name_len, data_len, control_len;
};

#define FK_F_POLICY_ERROR 0x01   /* CR_WARN_ERROR instead of CR_WARN_RECORD */
#define FK_F_INTO 0x02           /* recvmsg_into with two iovecs */
#define FK_F_HANDLER_RAISES 0x04 /* on_eintr returns nonzero */
#define FK_F_POLL_EMPTY 0x08     /* the fake poll reports nothing ready */
#define FK_F_POLL_EINTR 0x10     /* the first fake poll fails with EINTR */

/* Decodes data[0, size) into *ret.  Returns 0, or -1 if the fixed header
 * is incomplete (the input is then ignored).  Never reads past size. */
int fk_parse(const uint8_t *data, size_t size, struct fk_input *ret);

/* State of one fake call, filled by fk_setup(). */
struct fk_state {
    const struct fk_input *in;
    unsigned char *control; /* in->control with the planted fds written in */
    unsigned char *iobuf;   /* the data buffers: in->bufsize bytes */
    struct iovec iov[2];
    struct cr_sys sys;
    struct cr_recv_args args; /* the call, as the input says */
    int devnull;              /* the fd the planted ones dup() */
    long fds_before;          /* open fds before fk_setup() */
    unsigned eintr_left;
    int errno_left;
    int poll_calls;
    int64_t clock_ns;
    int delivered;         /* the fake recvmsg succeeded */
    size_t delivered_c;    /* msg_controllen it reported */
    uint64_t control_addr; /* where it wrote the control bytes */
    int planted[FK_MAX_PLANT];
    int planted_open[FK_MAX_PLANT];
    unsigned nplanted;
    size_t nclose; /* may exceed FK_MAX_CLOSES: then overflowed */
    int32_t closes[FK_MAX_CLOSES]; /* last: reset needs only what precedes */
};

/* Resets *st for one call of *in (borrowed until fk_teardown()):
 * allocates the control copy and the data buffers, plants the fds, and
 * fills st->sys with the fake calls and st->args with the call.  Traps if
 * an allocation or an fd fails. */
void fk_setup(struct fk_state *st, const struct fk_input *in);

/* Checks what cr_recvmsg(&st->args, res, err) returned as rc (§4): the
 * close() calls are exactly CPython's list (cr_close_on_error() of the
 * delivered bytes, same order, one call per slot) when the call raised
 * after delivery, and none otherwise; the exception is the escalated
 * RuntimeWarning (policy "error" and a warning) or the address SystemError
 * (F10: an AF_UNIX sa_family with namelen 1, on any socket); before
 * delivery no exception of the walk or the address; on success the result
 * mirrors what was delivered.  Traps on a violation. */
void fk_check(const struct fk_state *st, int rc,
              const struct cr_recv_result *res, const struct cr_pyerr *err);

/* Ends the call: every planted fd not closed by the library is still
 * open and is closed here, then the fd table must be as fk_setup() found
 * it (no leak, no stray close outside the seam); frees what fk_setup()
 * allocated.  Traps on a violation. */
void fk_teardown(struct fk_state *st);

#endif /* CR_FAKE_KERNEL_H */
