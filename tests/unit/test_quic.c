/* test_quic.c - unit tests of quic.[ch]: the client Initial keys of RFC 9001 appendix A.1, and a
 * ClientHello in two Initial packets (its second half first, the second packet to another
 * Destination Connection ID), built by tests/quic_capture.py's encoder, whose packets Wireshark
 * decrypts; truncated and altered packets.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "quic.h"

static const uint8_t initial_tail[] = {
    0xc1, 0x00, 0x00, 0x00, 0x01, 0x08, 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08, 0x00, 0x00,
    0x40, 0x3b, 0xb2, 0x54, 0x46, 0x9c, 0x37, 0xd8, 0x89, 0x7d, 0xa2, 0x27, 0xc3, 0xb9, 0xb1, 0x98,
    0xc6, 0x88, 0x77, 0xc3, 0x22, 0x00, 0x10, 0xf0, 0xab, 0x50, 0x1c, 0x7e, 0xc9, 0x17, 0xd2, 0x1e,
    0xf6, 0x43, 0x2e, 0xd7, 0x63, 0x18, 0xe4, 0x45, 0x44, 0x08, 0x75, 0x5a, 0x78, 0x9a, 0xbe, 0x11,
    0x2b, 0x53, 0x6b, 0x31, 0x75, 0x10, 0x9e, 0xfe, 0x3a, 0x21, 0xbe, 0x34, 0xd1
};
static const uint8_t initial_head[] = {
    0xcb, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x00, 0x00,
    0x40, 0x3d, 0xea, 0x81, 0x6c, 0x3a, 0x83, 0xbd, 0x07, 0x87, 0x88, 0xcd, 0xe2, 0xdd, 0x9c, 0xa4,
    0x32, 0x7c, 0xe6, 0x25, 0x63, 0x67, 0x8a, 0x8b, 0xa3, 0xf7, 0x60, 0x08, 0x84, 0xe0, 0x24, 0x55,
    0xe5, 0x5e, 0x04, 0xf2, 0x39, 0xdb, 0xc4, 0xfb, 0x4f, 0x54, 0xb7, 0x87, 0x81, 0x3d, 0x24, 0x8c,
    0xa9, 0x71, 0xe2, 0xae, 0x61, 0x12, 0xb1, 0x38, 0x39, 0x4f, 0xa7, 0x20, 0x8e, 0xbc, 0x97
};

static void test_rfc9001_client_keys(void **state)
{
    static const uint8_t dcid[] = { 0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08 };
    static const uint8_t key[] = { 0x1f, 0x36, 0x96, 0x13, 0xdd, 0x76, 0xd5, 0x46, 0x77, 0x30, 0xef, 0xcb, 0xe3, 0xb1, 0xa2, 0x2d };
    static const uint8_t iv[] = { 0xfa, 0x04, 0x4b, 0x2f, 0x42, 0xa3, 0xfd, 0x3b, 0x46, 0xfb, 0x25, 0x5c };
    static const uint8_t hp[] = { 0x9f, 0x50, 0x44, 0x9e, 0x04, 0xa0, 0xe8, 0x10, 0x28, 0x3a, 0x1e, 0x99, 0x33, 0xad, 0xed, 0xd2 };
    uint8_t k[16], i[12], h[16];
    assert_true(et_quic_client_keys(1, dcid, sizeof(dcid), k, i, h));
    assert_memory_equal(k, key, 16);
    assert_memory_equal(i, iv, 12);
    assert_memory_equal(h, hp, 16);
    assert_false(et_quic_client_keys(0xbabababa, dcid, sizeof(dcid), k, i, h));
}

static void test_client_hello_over_two_initials(void **state)
{
    et_quic q;
    et_quic_init(&q, 16384);
    et_span sni;
    assert_true(et_quic_is_initial(initial_tail, sizeof(initial_tail)));
    assert_false(et_quic_datagram(&q, initial_tail, sizeof(initial_tail), &sni));
    assert_false(q.finished);
    assert_true(et_quic_datagram(&q, initial_head, sizeof(initial_head), &sni));
    assert_int_equal(sni.len, strlen("example.com"));
    assert_memory_equal(sni.p, "example.com", sni.len);
    assert_true(q.finished);
    et_quic_free(&q);
}

/* The first n bytes alone on the heap, so that a sanitizer sees a read past them. */
static uint8_t *exactly(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    memcpy(c, p, n);
    return c;
}

static void test_truncated_and_altered(void **state)
{
    et_span sni;
    for (size_t n = 0; n < sizeof(initial_tail); n++) {
        et_quic q;
        et_quic_init(&q, 16384);
        uint8_t *cut = exactly(initial_tail, n);
        assert_false(et_quic_datagram(&q, cut, n, &sni));
        free(cut);
        /* Nothing of the cut packet was read: the whole hello still needs both. */
        assert_false(et_quic_datagram(&q, initial_head, sizeof(initial_head), &sni));
        et_quic_free(&q);
    }
    /* One bit changed anywhere after the header: the tag fails and nothing is read. */
    for (size_t at = 30; at < sizeof(initial_head); at++) {
        et_quic q;
        et_quic_init(&q, 16384);
        uint8_t *bad = exactly(initial_head, sizeof(initial_head));
        bad[at] ^= 0x01;
        assert_false(et_quic_datagram(&q, initial_tail, sizeof(initial_tail), &sni));
        assert_false(et_quic_datagram(&q, bad, sizeof(initial_head), &sni));
        free(bad);
        et_quic_free(&q);
    }
}

/* Initials that never complete a hello stop being read. */
static void test_gives_up(void **state)
{
    et_quic q;
    et_quic_init(&q, 16384);
    et_span sni;
    for (int i = 0; i < 100 && !q.finished; i++)
        et_quic_datagram(&q, initial_tail, sizeof(initial_tail), &sni);
    assert_true(q.finished);
    et_quic_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9001_client_keys),
        cmocka_unit_test(test_client_hello_over_two_initials),
        cmocka_unit_test(test_truncated_and_altered),
        cmocka_unit_test(test_gives_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
