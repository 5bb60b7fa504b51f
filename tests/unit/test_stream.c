/* test_stream.c - unit tests of stream.[ch]: a direction's first bytes in sequence order, from
 * segments in order, out of order, retransmitted, overlapping, and past the budget.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "stream.h"

static const uint8_t text[] = "0123456789abcdefghijklmnopqrstuvwxyz";
#define ISN 4000000000u                 /* near the wrap: offsets must survive it */

static void add(et_stream *s, size_t off, size_t len)
{
    et_stream_add(s, ISN + 1 + (uint32_t)off, text + off, len);
}

static void assert_prefix(const et_stream *s, size_t n)
{
    assert_int_equal(s->contiguous, n);
    if (n)
        assert_memory_equal(s->bytes, text, n);
}

static void test_in_order(void **state)
{
    et_stream s;
    et_stream_init(&s, 64);
    et_stream_syn(&s, ISN);
    add(&s, 0, 10);
    add(&s, 10, 10);
    assert_prefix(&s, 20);
    et_stream_free(&s);
}

static void test_out_of_order(void **state)
{
    et_stream s;
    et_stream_init(&s, 64);
    et_stream_syn(&s, ISN);
    add(&s, 20, 5);
    add(&s, 10, 5);
    assert_prefix(&s, 0);
    assert_int_equal(s.n_ranges, 2);
    add(&s, 0, 10);
    assert_prefix(&s, 15);
    assert_false(et_stream_add(&s, ISN + 1 + 16, text + 16, 4));     /* still a gap at 15 */
    assert_true(et_stream_add(&s, ISN + 1 + 15, text + 15, 1));
    assert_prefix(&s, 25);
    assert_int_equal(s.n_ranges, 0);
    et_stream_free(&s);
}

/* A retransmission with other bytes changes nothing: the first copy is kept. */
static void test_retransmission_and_overlap(void **state)
{
    et_stream s;
    et_stream_init(&s, 64);
    et_stream_syn(&s, ISN);
    add(&s, 0, 10);
    const uint8_t junk[20] = { 'X', 'X', 'X', 'X', 'X', 'X', 'X', 'X', 'X', 'X' };
    assert_false(et_stream_add(&s, ISN + 1, junk, 10));
    add(&s, 12, 4);
    et_stream_add(&s, ISN + 1 + 14, junk, 1);                          /* inside a kept run */
    add(&s, 5, 15);                                                    /* overlaps both */
    assert_prefix(&s, 20);
    et_stream_free(&s);
}

static void test_budget_and_bounds(void **state)
{
    et_stream s;
    et_stream_init(&s, 16);
    et_stream_syn(&s, ISN);
    assert_false(et_stream_add(&s, ISN + 1 + 16, text + 16, 4));      /* past the budget */
    assert_null(s.bytes);
    add(&s, 0, 30);                                                    /* cut at the budget */
    assert_prefix(&s, 16);
    assert_true(et_stream_full(&s));
    /* Before the start: only the bytes from byte 0 on count. */
    et_stream t;
    et_stream_init(&t, 16);
    et_stream_syn(&t, ISN + 5);
    assert_false(et_stream_add(&t, ISN + 1, text, 5));
    et_stream_add(&t, ISN + 1, text, 10);
    assert_int_equal(t.contiguous, 5);
    assert_memory_equal(t.bytes, text + 5, 5);
    et_stream_free(&s);
    et_stream_free(&t);
}

/* More separate runs than kept: the extra one is dropped until the gap closes, and bytes in
 * order still come in. */
/* A segment past the budget makes room for itself, doubling the budget up to a maximum; bytes
 * already held stay where they were. */
static void test_reserve(void **state)
{
    (void)state;
    et_stream s;
    et_stream_init(&s, 8);
    et_stream_syn(&s, ISN);
    add(&s, 0, 6);
    et_stream_reserve(&s, ISN + 1 + 6, 4, 64);     /* to offset 10: 8 -> 16 */
    assert_int_equal(s.cap, 16);
    add(&s, 6, 4);
    assert_prefix(&s, 10);
    et_stream_reserve(&s, ISN + 1 + 10, 26, 20);   /* past the maximum: 20 and no more */
    assert_int_equal(s.cap, 20);
    add(&s, 10, 26);
    assert_prefix(&s, 20);
    assert_true(et_stream_full(&s));
    et_stream_reserve(&s, ISN + 1 + 2, 4, 64);     /* within the budget: nothing to do */
    assert_int_equal(s.cap, 20);
    et_stream_free(&s);

    et_stream_init(&s, 0);                          /* a disabled stream stays so */
    et_stream_reserve(&s, ISN, 10, 64);
    assert_int_equal(s.cap, 0);
}

static void test_too_many_runs(void **state)
{
    et_stream s;
    et_stream_init(&s, 36);
    et_stream_syn(&s, ISN);
    for (size_t off = 2; off < 2 + 2 * (ET_STREAM_MAX_RANGES + 1); off += 2)
        add(&s, off, 1);
    assert_int_equal(s.n_ranges, ET_STREAM_MAX_RANGES);
    add(&s, 0, 1);
    assert_prefix(&s, 1);
    for (size_t off = 1; off < 36; off++)
        add(&s, off, 1);
    assert_prefix(&s, 36);
    assert_int_equal(s.n_ranges, 0);
    et_stream_free(&s);
}

/* No SYN seen (a capture that starts mid-connection): the first segment starts the stream. */
static void test_no_syn(void **state)
{
    et_stream s;
    et_stream_init(&s, 64);
    et_stream_add(&s, 77, text, 4);
    et_stream_add(&s, 81, text + 4, 4);
    assert_prefix(&s, 8);
    et_stream_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_retransmission_and_overlap),
        cmocka_unit_test(test_budget_and_bounds),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_too_many_runs),
        cmocka_unit_test(test_no_syn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
