/*
 * fake_kernel.h - the structured input of the recvmsg_fake target and the
 * fake kernel that plays it back behind cr_recvmsg()'s struct cr_sys seam.
 *
 * fuzz/FORMAT.md is the specification of the input bytes; fk_parse() is
 * the one reader of that format.  The fake kernel never calls the real
 * recvmsg/poll/close on behalf of the library: it fills the msghdr from the
 * input, reports EINTR / an errno as told, keeps a fake monotonic clock,
 * and records every close() the library asks for.  Planted descriptors
 * (real fds, dup()s of /dev/null written into the control bytes) are really
 * closed when the library closes them, so the fd table shows the truth.
 */
#ifndef CR_FAKE_KERNEL_H
#define CR_FAKE_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "cmsgref.h"

#define FK_MAX_PLANT 8       /* planted fds per input */
#define FK_MAX_ANC 65536     /* ancbufsize values above are folded below */
#define FK_MAX_CLOSES (FK_MAX_ANC / 4 + 1)

/* The decoded input (see FORMAT.md).  Pointers borrow the input bytes. */
struct fk_input {
    unsigned flags;          /* FK_F_* */
    unsigned libc;           /* may be out of range on purpose */
    int family;
    int64_t timeout_ns;      /* < 0 blocking, 0 non-blocking, > 0 timeout */
    unsigned eintr_count;
    int fail_errno;          /* 0: none */
    int64_t bufsize;
    int64_t ancbufsize;
    int msg_flags;
    uint32_t namelen;        /* what the kernel reports as msg_namelen */
    unsigned nplant;
    uint16_t plant_off[FK_MAX_PLANT];
    const uint8_t *name, *data, *control;
    size_t name_len, data_len, control_len;
};

#define FK_F_POLICY_ERROR 0x01  /* CR_WARN_ERROR instead of CR_WARN_RECORD */
#define FK_F_INTO 0x02          /* recvmsg_into with two iovecs */
#define FK_F_HANDLER_RAISES 0x04 /* on_eintr returns nonzero */
#define FK_F_POLL_EMPTY 0x08    /* the fake poll reports nothing ready */
#define FK_F_POLL_EINTR 0x10    /* the first fake poll fails with EINTR */

/* Decodes data[0, size) into *ret.  Returns 0, or -1 if the fixed header
 * is incomplete (the input is then ignored).  Never reads past size. */
int fk_parse(const uint8_t *data, size_t size, struct fk_input *ret);

/* State of one fake call.  The caller zeroes it, sets in, control (a
 * mutable copy of in->control with the planted fds written in) and
 * planted[], then points sys.ctx at it with fk_sys_init(). */
struct fk_state {
    const struct fk_input *in;
    unsigned char *control;  /* owned by the caller */
    unsigned eintr_left;
    int errno_left;
    int poll_calls;
    int64_t clock_ns;
    int delivered;           /* the fake recvmsg succeeded */
    size_t delivered_c;      /* msg_controllen it reported */
    int planted[FK_MAX_PLANT];
    int planted_open[FK_MAX_PLANT];
    unsigned nplanted;
    size_t nclose;           /* may exceed FK_MAX_CLOSES: then overflowed */
    int32_t closes[FK_MAX_CLOSES]; /* last: reset needs only what precedes */
};

/* Fills *sys with the fake calls bound to st. */
void fk_sys_init(struct cr_sys *sys, struct fk_state *st);

#endif /* CR_FAKE_KERNEL_H */
