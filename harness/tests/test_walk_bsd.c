/*
 * test_walk_bsd.c - multi-item walks under the FreeBSD (FB) and macOS (MAC)
 * models, against values derived by hand from the spec.
 *
 * Why: FB and MAC are "modelled only" (§3): no CPython oracle runs them on
 * Linux, and test_walk.c checks them on single items only.  These tables
 * pin their multi-item behaviour to the spec's rules.  Every expected value
 * was worked out from the rules below, not by running the library; each
 * case shows its arithmetic.
 *
 * Spec facts encoded (§2 steps 2-4 and 7; §3 table and per-status rules):
 *   FB:  len u32 @0, level i32 @4, type i32 @8, 4 pad bytes @12; H = D = 16,
 *        A = 8.  First header iff C >= 12.  Malformed iff off + 16 > C or
 *        L32 < 16 (in that order); truncated iff off + L > C; else ok.
 *        After an ok header N = off + align8(L); next header iff N + 16 <= C.
 *   MAC: len u32 @0, level i32 @4, type i32 @8; H = D = 12, A = 4.  First
 *        header iff C >= 12 (C < 12: no items, no warning).  Malformed iff
 *        off + 12 > C or L32 < 12; truncated iff off + L > C.
 *        N = off + align4(L); next header iff N + 12 <= C.
 *   Both: an ok item's data is [off+D, off+L), never the padding; a
 *        truncated item's is [off+D, C), and the walk then stops with the
 *        warning; a malformed header is dropped (earlier items are kept)
 *        and the walk stops with the warning; no next header ends the walk
 *        with no warning.  Bytes 4-7 and 12-15 (the high half of cmsg_len
 *        and the type in glibc's layout) are level and padding here.
 *
 * Stop position: for a warning stop we check stop_offset (the offset of the
 * header that stopped the walk); for an END stop we check next_candidate
 * (N of the last ok item, SIZE_MAX if there was none, as cmsgref.h says).
 *
 * Headers go little-endian into a buffer pre-filled with 0xA5, so padding,
 * FB's pad bytes and unused data are junk that would show if they were read
 * (0xA5A5A5A5 read as a length would give a truncated item).  The walk gets
 * a heap copy of exactly C bytes, so ASan catches any read past C.
 */
#include <stdint.h>
#include <stdlib.h>

#include "cmsgref.h"
#include "tests.h"

#define MAX_HDRS 4
#define MAX_ITEMS 3
#define STAGE_LEN 96 /* > every C and every header's off + 12 below */

struct bsd_hdr {
    size_t off;
    uint32_t len;
    int32_t level;
    int32_t type;
};

struct bsd_item {
    size_t off;
    uint32_t len;
    int32_t level;
    int32_t type;
    size_t data_off;
    size_t data_len;
    enum cr_status status;
};

struct bsd_case {
    const char *name;
    size_t C;
    size_t nhdr;
    struct bsd_hdr hdr[MAX_HDRS];
    size_t nitems;
    struct bsd_item item[MAX_ITEMS];
    enum cr_stop stop;
    enum cr_why why;
    size_t at; /* END: next_candidate; otherwise stop_offset */
    int warning;
};

/* The tables are laid out by hand, one case per block. */
/* clang-format off */
#define H(off, len, lv, ty) {(off), (len), (lv), (ty)}
#define OK(off, len, lv, ty, doff, dlen)                                       \
    {(off), (len), (lv), (ty), (doff), (dlen), CR_STATUS_OK}
#define TR(off, len, lv, ty, doff, dlen)                                       \
    {(off), (len), (lv), (ty), (doff), (dlen), CR_STATUS_TRUNCATED}
#define END_AT(n) CR_STOP_END, CR_WHY_NO_ROOM, (n), 0
#define TRUNC_AT(off) CR_STOP_TRUNCATED, CR_WHY_LEN_PAST_END, (off), 1
#define MAL_AT(why, off) CR_STOP_MALFORMED, (why), (off), 1

static const struct bsd_case fb_cases[] = {
    /* off 0: 16 <= 48, 20 >= 16, 20 <= 48: ok, data [16,20).  N = 0 +
     * align8(20) = 24; 24+16 = 40 <= 48: visited.  off 24: 40 <= 48, 24 >=
     * 16, 48 <= 48: ok, data [40,48).  N = 24+24 = 48; 64 > 48: end. */
    {"fb_two_ok_items_back_to_back", 48, 2,
     {H(0, 20, 0xffff, 1), H(24, 24, 0, 2)}, 2,
     {OK(0, 20, 0xffff, 1, 16, 4), OK(24, 24, 0, 2, 40, 8)}, END_AT(48)},
    /* off 0: L 16 ok, data [16,16).  N = 16; 32 <= 72.  off 16: L 24, 40 <=
     * 72 ok, data [32,40).  N = 16+24 = 40; 56 <= 72.  off 40: L 32, 72 <=
     * 72 ok, data [56,72).  N = 40+32 = 72; 88 > 72: end. */
    {"fb_three_ok_items_back_to_back", 72, 3,
     {H(0, 16, 1, 1), H(16, 24, 2, 2), H(40, 32, 3, 3)}, 3,
     {OK(0, 16, 1, 1, 16, 0), OK(16, 24, 2, 2, 32, 8),
      OK(40, 32, 3, 3, 56, 16)},
     END_AT(72)},
    /* ok @0 (data [16,20)); N = 24; 24+16 = 40 <= 40: visited.  off 24: 40
     * <= 40, 16 >= 16, 40 <= 40: ok, data [40,40).  N = 40; 56 > 40: end. */
    {"fb_next_header_ending_exactly_at_c_is_visited", 40, 2,
     {H(0, 20, 0xffff, 1), H(24, 16, 5, 6)}, 2,
     {OK(0, 20, 0xffff, 1, 16, 4), OK(24, 16, 5, 6, 40, 0)}, END_AT(40)},
    /* ok @0; N = 24; 40 <= 44: visited.  off 24: 40 <= 44, 40 >= 16, 24+40
     * = 64 > 44: truncated, data [40,44) = 44-24-16 = 4 bytes; warn, stop. */
    {"fb_next_header_overrunning_c_is_truncated_and_last", 44, 2,
     {H(0, 20, 0xffff, 1), H(24, 40, 7, 8)}, 2,
     {OK(0, 20, 0xffff, 1, 16, 4), TR(24, 40, 7, 8, 40, 4)}, TRUNC_AT(24)},
    /* ok @0; N = 24; 40 <= 40: visited.  off 24: 40 <= 40, 100 >= 16, 124 >
     * 40: truncated, data [40,40) = 0 bytes; warn, stop. */
    {"fb_truncated_header_ending_at_c_has_empty_data", 40, 2,
     {H(0, 20, 0xffff, 1), H(24, 100, 7, 8)}, 2,
     {OK(0, 20, 0xffff, 1, 16, 4), TR(24, 100, 7, 8, 40, 0)}, TRUNC_AT(24)},
    /* ok @0; N = 24; 40 <= 56: visited.  off 24: 40 <= 56 but L 15 < 16:
     * malformed, dropped; warn, stop.  The ok-looking header @40 is never
     * visited. */
    {"fb_malformed_next_header_is_dropped_with_warning", 56, 3,
     {H(0, 20, 0xffff, 1), H(24, 15, 1, 1), H(40, 16, 2, 2)}, 1,
     {OK(0, 20, 0xffff, 1, 16, 4)}, MAL_AT(CR_WHY_LEN_TOO_SMALL, 24)},
    /* ok @0; N = 24; 40 <= 40: visited.  off 24: L 0 < 16: malformed (the
     * libc's NXTHDR would return this header again; the walk stops). */
    {"fb_zero_length_next_header_ending_at_c_is_malformed", 40, 2,
     {H(0, 20, 0xffff, 1), H(24, 0, 1, 1)}, 1,
     {OK(0, 20, 0xffff, 1, 16, 4)}, MAL_AT(CR_WHY_LEN_TOO_SMALL, 24)},
    /* C = 12 >= 12: first header exists.  off 0: 0+16 = 16 > 12: malformed
     * (L 16 itself is fine); no items, warn. */
    {"fb_twelve_byte_buffer_finds_header_then_warns", 12, 1,
     {H(0, 16, 0xffff, 1)}, 0, {{0}}, MAL_AT(CR_WHY_SHORT_HEADER, 0)},
    /* Same bytes as mac_fourteen_byte_buffer_is_parsed.  C = 14 >= 12:
     * first header.  off 0: 0+16 = 16 > 14: malformed (checked before L 14
     * < 16); no items, warn. */
    {"fb_fourteen_byte_buffer_finds_header_then_warns", 14, 1,
     {H(0, 14, 0xffff, 1)}, 0, {{0}}, MAL_AT(CR_WHY_SHORT_HEADER, 0)},
    /* ok @0; N = 24; 40 <= 45: visited.  off 24: 40 <= 45, 21 >= 16, 45 <=
     * 45: ok, data [40,45).  N = 24 + align8(21) = 48; 64 > 45: end. */
    {"fb_trailing_item_ending_at_unaligned_c_is_ok", 45, 2,
     {H(0, 20, 0xffff, 1), H(24, 21, 9, 10)}, 2,
     {OK(0, 20, 0xffff, 1, 16, 4), OK(24, 21, 9, 10, 40, 5)}, END_AT(48)},
    /* off 0: L 19 ok, data [16,19); pad [19,24) skipped.  N = 0 + align8(19)
     * = 24; 40 <= 64.  off 24: L 18 ok, data [40,42); pad [42,48).  N = 24
     * + align8(18) = 48; 64 <= 64.  off 48: L 16, 64 <= 64 ok, data
     * [64,64).  N = 64; 80 > 64: end. */
    {"fb_padding_after_unaligned_length_is_skipped", 64, 3,
     {H(0, 19, 1, 2), H(24, 18, 3, 4), H(48, 16, 5, 6)}, 3,
     {OK(0, 19, 1, 2, 16, 3), OK(24, 18, 3, 4, 40, 2), OK(48, 16, 5, 6, 64, 0)},
     END_AT(64)},
    /* glibc would read bytes 0-7 as L = 0xFFFFFFFE00000014 and bytes 12-15
     * (0xA5 pad) as type.  FB: L32 = 20, level -2 @4, type @8: ok, data
     * [16,20).  N = 24; 40 <= 40.  off 24: L 16 ok, data [40,40).  N = 40;
     * 56 > 40: end. */
    {"fb_glibc_length_high_half_is_level_and_ignored", 40, 2,
     {H(0, 20, -2, 0x01020304), H(24, 16, 0x7fffffff, -1)}, 2,
     {OK(0, 20, -2, 0x01020304, 16, 4), OK(24, 16, 0x7fffffff, -1, 40, 0)},
     END_AT(40)},
};

static const struct bsd_case mac_cases[] = {
    /* off 0: 12 <= 36, 16 >= 12, 16 <= 36: ok, data [12,16).  N = 0 +
     * align4(16) = 16; 16+12 = 28 <= 36: visited.  off 16: L 20, 36 <= 36:
     * ok, data [28,36).  N = 16+20 = 36; 48 > 36: end. */
    {"mac_two_ok_items_back_to_back", 36, 2,
     {H(0, 16, 0xffff, 1), H(16, 20, 0, 2)}, 2,
     {OK(0, 16, 0xffff, 1, 12, 4), OK(16, 20, 0, 2, 28, 8)}, END_AT(36)},
    /* off 0: L 12 ok, data [12,12).  N = 12; 24 <= 48.  off 12: L 16, 28 <=
     * 48 ok, data [24,28).  N = 12+16 = 28; 40 <= 48.  off 28: L 20, 48 <=
     * 48 ok, data [40,48).  N = 48; 60 > 48: end. */
    {"mac_three_ok_items_back_to_back", 48, 3,
     {H(0, 12, 1, 1), H(12, 16, 2, 2), H(28, 20, 3, 3)}, 3,
     {OK(0, 12, 1, 1, 12, 0), OK(12, 16, 2, 2, 24, 4), OK(28, 20, 3, 3, 40, 8)},
     END_AT(48)},
    /* ok @0 (data [12,16)); N = 16; 16+12 = 28 <= 28: visited.  off 16: 28
     * <= 28, 12 >= 12, 28 <= 28: ok, data [28,28).  N = 28; 40 > 28: end. */
    {"mac_next_header_ending_exactly_at_c_is_visited", 28, 2,
     {H(0, 16, 0xffff, 1), H(16, 12, 5, 6)}, 2,
     {OK(0, 16, 0xffff, 1, 12, 4), OK(16, 12, 5, 6, 28, 0)}, END_AT(28)},
    /* ok @0; N = 16; 28 <= 32: visited.  off 16: 28 <= 32, 30 >= 12, 16+30
     * = 46 > 32: truncated, data [28,32) = 32-16-12 = 4 bytes; warn, stop. */
    {"mac_next_header_overrunning_c_is_truncated_and_last", 32, 2,
     {H(0, 16, 0xffff, 1), H(16, 30, 7, 8)}, 2,
     {OK(0, 16, 0xffff, 1, 12, 4), TR(16, 30, 7, 8, 28, 4)}, TRUNC_AT(16)},
    /* ok @0; N = 16; 28 <= 28: visited.  off 16: 100 >= 12, 116 > 28:
     * truncated, data [28,28) = 0 bytes; warn, stop. */
    {"mac_truncated_header_ending_at_c_has_empty_data", 28, 2,
     {H(0, 16, 0xffff, 1), H(16, 100, 7, 8)}, 2,
     {OK(0, 16, 0xffff, 1, 12, 4), TR(16, 100, 7, 8, 28, 0)}, TRUNC_AT(16)},
    /* ok @0; N = 16; 28 <= 40: visited.  off 16: 28 <= 40 but L 11 < 12:
     * malformed, dropped; warn, stop.  The header @28 is never visited. */
    {"mac_malformed_next_header_is_dropped_with_warning", 40, 3,
     {H(0, 16, 0xffff, 1), H(16, 11, 1, 1), H(28, 12, 2, 2)}, 1,
     {OK(0, 16, 0xffff, 1, 12, 4)}, MAL_AT(CR_WHY_LEN_TOO_SMALL, 16)},
    /* C = 11 < 12: no first header; no items, no warning. */
    {"mac_buffer_shorter_than_twelve_yields_nothing_silently", 11, 1,
     {H(0, 12, 1, 1)}, 0, {{0}}, CR_STOP_END, CR_WHY_NO_FIRST, SIZE_MAX, 0},
    /* Same bytes as fb_fourteen_byte_buffer_finds_header_then_warns.  off
     * 0: 12 <= 14, 14 >= 12, 14 <= 14: ok, data [12,14).  N = 0 +
     * align4(14) = 16; 28 > 14: end, no warning. */
    {"mac_fourteen_byte_buffer_is_parsed", 14, 1,
     {H(0, 14, 0xffff, 1)}, 1, {OK(0, 14, 0xffff, 1, 12, 2)}, END_AT(16)},
    /* off 0: L 13 ok, data [12,13).  N = 0 + align4(13) = 16; 28 <= 31.
     * off 16: 28 <= 31, 15 >= 12, 31 <= 31: ok, data [28,31).  N = 16 +
     * align4(15) = 32; 44 > 31: end. */
    {"mac_trailing_item_ending_at_unaligned_c_is_ok", 31, 2,
     {H(0, 13, 1, 2), H(16, 15, 3, 4)}, 2,
     {OK(0, 13, 1, 2, 12, 1), OK(16, 15, 3, 4, 28, 3)}, END_AT(32)},
    /* off 0: L 13 ok, data [12,13); pad [13,16).  N = 16; 28 <= 48.  off
     * 16: L 18 ok, data [28,34); pad [34,36).  N = 16 + align4(18) = 36; 48
     * <= 48.  off 36: L 12 ok, data [48,48).  N = 48; 60 > 48: end. */
    {"mac_padding_after_unaligned_length_is_skipped", 48, 3,
     {H(0, 13, 1, 2), H(16, 18, 3, 4), H(36, 12, 5, 6)}, 3,
     {OK(0, 13, 1, 2, 12, 1), OK(16, 18, 3, 4, 28, 6), OK(36, 12, 5, 6, 48, 0)},
     END_AT(48)},
    /* glibc would read bytes 0-7 as L = 0xFFFFFFFF00000010 and bytes 12-15
     * (data here) as type.  MAC: L32 = 16, level -1 @4: ok, data [12,16).
     * N = 16; 28 <= 28.  off 16: L 12 ok, data [28,28).  N = 28; 40 > 28. */
    {"mac_glibc_length_high_half_is_level_and_ignored", 28, 2,
     {H(0, 16, -1, 0x01020304), H(16, 12, 0x7fffffff, -2)}, 2,
     {OK(0, 16, -1, 0x01020304, 12, 4), OK(16, 12, 0x7fffffff, -2, 28, 0)},
     END_AT(28)},
};
/* clang-format on */

/* Writes h's 12 header bytes (len, level, type; little-endian) at p. */
static void put_hdr(unsigned char *p, const struct bsd_hdr *h)
{
    uint32_t lv = (uint32_t)h->level, ty = (uint32_t)h->type;

    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(h->len >> (8 * i));
        p[4 + i] = (unsigned char)(lv >> (8 * i));
        p[8 + i] = (unsigned char)(ty >> (8 * i));
    }
}

/* Reports a mismatch in case c, with its C input bytes in hex.  item is
 * the item index, or -1 for a field of the walk itself. */
static void case_fail(const struct bsd_case *c, const unsigned char *buf,
                      int line, long item, const char *what, long long got,
                      long long want)
{
    char hex[2 * STAGE_LEN + 1];

    for (size_t i = 0; i < c->C; i++)
        snprintf(hex + 2 * i, 3, "%02x", buf[i]);
    hex[2 * c->C] = '\0';
    test_fail(__FILE__, line,
              "%s: item %ld %s: got %lld, want %lld (C=%zu: %s)", c->name, item,
              what, got, want, c->C, hex);
}

#define CASE_EQ(item, what, got, want)                                         \
    do {                                                                       \
        long long g_ = (long long)(got), w_ = (long long)(want);               \
        if (g_ != w_) {                                                        \
            case_fail(c, buf, __LINE__, (long)(item), what, g_, w_);           \
            return;                                                            \
        }                                                                      \
    } while (0)

/* Walks buf[0, c->C) under libc and checks every item and the stop. */
static void check_case(const struct bsd_case *c, enum cr_libc libc,
                       const unsigned char *buf)
{
    struct cr_walk w;
    struct cr_item it;
    size_t n = 0;

    CASE_EQ(-1, "cr_walk_init", cr_walk_init(&w, buf, c->C, libc), 0);
    while (cr_walk_next(&w, &it) == 1) {
        const struct bsd_item *e;
        CASE_EQ(n, "is beyond the expected count", n + 1 > c->nitems, 0);
        e = &c->item[n];
        CASE_EQ(n, "offset", it.offset, e->off);
        CASE_EQ(n, "cmsg_len", it.cmsg_len, e->len);
        CASE_EQ(n, "level", it.level, e->level);
        CASE_EQ(n, "type", it.type, e->type);
        CASE_EQ(n, "data_off", it.data_off, e->data_off);
        CASE_EQ(n, "data_len", it.data_len, e->data_len);
        CASE_EQ(n, "status", it.status, e->status);
        n++;
    }
    CASE_EQ(-1, "item count", n, c->nitems);
    CASE_EQ(-1, "w.nitems", w.nitems, c->nitems);
    CASE_EQ(-1, "stop", w.stop, c->stop);
    CASE_EQ(-1, "why", w.why, c->why);
    CASE_EQ(-1, "warning", w.warning, c->warning);
    if (c->stop == CR_STOP_END)
        CASE_EQ(-1, "next_candidate", w.next_candidate, c->at);
    else
        CASE_EQ(-1, "stop_offset", w.stop_offset, c->at);
    CASE_EQ(-1, "next after the end", cr_walk_next(&w, &it), 0);
}

/* Runs every case of a table, each on an exact-size heap copy of C bytes. */
static void run_table(const struct bsd_case *cases, size_t n, enum cr_libc libc)
{
    for (size_t k = 0; k < n; k++) {
        const struct bsd_case *c = &cases[k];
        unsigned char stage[STAGE_LEN];
        unsigned char *buf;

        memset(stage, 0xA5, sizeof(stage));
        for (size_t i = 0; i < c->nhdr; i++)
            put_hdr(stage + c->hdr[i].off, &c->hdr[i]);
        buf = malloc(c->C);
        if (buf == NULL) {
            test_fail(__FILE__, __LINE__, "%s: out of memory", c->name);
            return;
        }
        memcpy(buf, stage, c->C);
        check_case(c, libc, buf);
        free(buf);
    }
}

TEST(freebsd_multi_item_walks_match_hand_derived_table)
{
    run_table(fb_cases, sizeof(fb_cases) / sizeof(fb_cases[0]),
              CR_LIBC_FREEBSD);
}

TEST(darwin_multi_item_walks_match_hand_derived_table)
{
    run_table(mac_cases, sizeof(mac_cases) / sizeof(mac_cases[0]),
              CR_LIBC_DARWIN);
}
