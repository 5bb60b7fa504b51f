/* frame.h - a frame's TCP or UDP header and payload, found from its link, IP and transport
 * headers: what the payload evidence path reads instead of Wireshark's tree.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C. Ethernet (with 802.1Q / 802.1ad tags, PPPoE sessions), Linux cooked (v1, v2), BSD loopback and raw
 * IP; IPv4 and IPv6 (with extension headers). IP fragments, tunnels and other protocols are not
 * found: the caller then has no payload evidence for the packet.
 */
#ifndef ECHOTAP_FRAME_H
#define ECHOTAP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { ET_LINK_ETHERNET, ET_LINK_SLL, ET_LINK_SLL2, ET_LINK_NULL, ET_LINK_RAW_IP } et_link;

typedef struct et_transport {
    uint8_t proto;             /* 6 TCP, 17 UDP */
    uint8_t family;            /* 4 or 6 */
    const uint8_t *src, *dst;  /* 4 or 16 bytes */
    uint16_t sport, dport;
    uint32_t seq;              /* TCP */
    int tcp_flags;             /* TCP: 12 bits; UDP: -1 */
    uint32_t payload_len;      /* as the IP and transport headers say */
    const uint8_t *payload;    /* the captured part of it */
    size_t captured;
} et_transport;

bool et_frame_transport(et_link link, const uint8_t *frame, size_t len, et_transport *out);

#endif
