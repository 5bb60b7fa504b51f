/* test_frame.c - unit tests of frame.[ch]: the TCP/UDP header and payload of frames built by hand
 * (Ethernet with VLAN tags or PPPoE, Linux cooked, raw IP; IPv4, IPv6 with an extension header), Ethernet
 * padding, fragments, and every truncation.
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

#include "frame.h"

static const uint8_t eth_vlan_ipv4_tcp[] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,          /* MACs */
    0x81, 0x00, 0x00, 0x05, 0x08, 0x00,             /* 802.1Q, IPv4 */
    0x45, 0, 0, 20 + 20 + 3, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 168, 1, 10, 52, 1, 2, 3,
    0xc0, 0x01, 0x01, 0xbb, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0,
    'a', 'b', 'c',
    0, 0, 0, 0, 0, 0,                               /* Ethernet padding */
};

static const uint8_t sll_ipv6_udp[] = {
    0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x86, 0xdd,
    0x60, 0, 0, 0, 0, 8 + 8 + 2, 0, 64,             /* payload 18, next: hop-by-hop */
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb,
    17, 0, 0, 0, 0, 0, 0, 0,                        /* hop-by-hop options, next UDP */
    0x14, 0xe9, 0x14, 0xe9, 0, 10, 0, 0, 'm', 'd',
};

static void test_ethernet_vlan_ipv4_tcp(void **state)
{
    et_transport t;
    assert_true(et_frame_transport(ET_LINK_ETHERNET, eth_vlan_ipv4_tcp, sizeof(eth_vlan_ipv4_tcp), &t));
    assert_int_equal(t.proto, 6);
    assert_int_equal(t.family, 4);
    assert_memory_equal(t.src, "\xc0\xa8\x01\x0a", 4);
    assert_int_equal(t.sport, 0xc001);
    assert_int_equal(t.dport, 443);
    assert_int_equal(t.seq, 0x11223344);
    assert_int_equal(t.tcp_flags, 0x018);
    assert_int_equal(t.payload_len, 3);
    assert_int_equal(t.captured, 3);                /* not the padding */
    assert_memory_equal(t.payload, "abc", 3);
}

/* The same IPv4 packet in a PPPoE session (RFC 2516), and a PPP protocol that is not IP. */
static void test_pppoe_session(void **state)
{
    uint8_t f[sizeof(eth_vlan_ipv4_tcp) + 4];
    static const uint8_t pppoe[] = { 0x88, 0x64, 0x11, 0x00, 0x00, 0x07, 0, 45, 0x00, 0x21 };
    memcpy(f, eth_vlan_ipv4_tcp, 12);
    memcpy(f + 12, pppoe, sizeof(pppoe));
    memcpy(f + 12 + sizeof(pppoe), eth_vlan_ipv4_tcp + 18, sizeof(eth_vlan_ipv4_tcp) - 18);
    size_t n = 12 + sizeof(pppoe) + sizeof(eth_vlan_ipv4_tcp) - 18;
    et_transport t;
    assert_true(et_frame_transport(ET_LINK_ETHERNET, f, n, &t));
    assert_int_equal(t.proto, 6);
    assert_int_equal(t.dport, 443);
    assert_int_equal(t.payload_len, 3);
    assert_memory_equal(t.payload, "abc", 3);
    f[21] = 0x23;                                   /* PPP protocol 0x0023: not IP */
    assert_false(et_frame_transport(ET_LINK_ETHERNET, f, n, &t));
    f[21] = 0x21;
    for (size_t cut = 0; cut < n; cut++) {
        if (et_frame_transport(ET_LINK_ETHERNET, f, cut, &t))
            assert_true(t.payload + t.captured <= f + cut);
    }
}

static void test_sll_ipv6_udp(void **state)
{
    et_transport t;
    assert_true(et_frame_transport(ET_LINK_SLL, sll_ipv6_udp, sizeof(sll_ipv6_udp), &t));
    assert_int_equal(t.proto, 17);
    assert_int_equal(t.family, 6);
    assert_int_equal(t.sport, 5353);
    assert_int_equal(t.tcp_flags, -1);
    assert_int_equal(t.payload_len, 2);
    assert_memory_equal(t.payload, "md", 2);
}

static void test_raw_ip_and_fragments(void **state)
{
    et_transport t;
    const uint8_t *ip = eth_vlan_ipv4_tcp + 18;
    size_t ip_len = 43;
    assert_true(et_frame_transport(ET_LINK_RAW_IP, ip, ip_len, &t));
    assert_int_equal(t.dport, 443);
    uint8_t frag[43];
    memcpy(frag, ip, sizeof(frag));
    frag[6] = 0x20;                                 /* more fragments */
    assert_false(et_frame_transport(ET_LINK_RAW_IP, frag, sizeof(frag), &t));
    frag[6] = 0;
    frag[7] = 1;                                    /* a later fragment */
    assert_false(et_frame_transport(ET_LINK_RAW_IP, frag, sizeof(frag), &t));
}

/* A snapshot length cuts the payload: its length is the headers', its captured part what is there. */
static void test_truncations(void **state)
{
    et_transport t;
    for (size_t n = 0; n < sizeof(eth_vlan_ipv4_tcp); n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, eth_vlan_ipv4_tcp, n);
        if (et_frame_transport(ET_LINK_ETHERNET, cut, n, &t)) {
            assert_int_equal(t.payload_len, 3);
            assert_true(t.payload + t.captured <= cut + n);
        }
        free(cut);
    }
    for (size_t n = 0; n < sizeof(sll_ipv6_udp); n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, sll_ipv6_udp, n);
        if (et_frame_transport(ET_LINK_SLL, cut, n, &t))
            assert_true(t.payload + t.captured <= cut + n);
        free(cut);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethernet_vlan_ipv4_tcp),
        cmocka_unit_test(test_pppoe_session),
        cmocka_unit_test(test_sll_ipv6_udp),
        cmocka_unit_test(test_raw_ip_and_fragments),
        cmocka_unit_test(test_truncations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
