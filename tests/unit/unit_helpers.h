/* unit_helpers.h - what the unit tests of the core share: addresses of a small home network, and
 * packets of a flow as the glue hands them to et_capture_packet.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef ECHOTAP_UNIT_HELPERS_H
#define ECHOTAP_UNIT_HELPERS_H

#include <stdint.h>

#include "capture.h"
#include "flows.h"

static inline et_addr ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    const uint8_t bytes[4] = { a, b, c, d };
    et_addr x;
    et_addr_set(&x, 4, bytes);
    return x;
}

/* A packet of a known flow carrying payload bytes: from the device when up, else from the server.
 * Its frame adds Ethernet, IPv4 and TCP or UDP headers. */
#define TCP4_HEADERS (14 + 20 + 20)
#define UDP4_HEADERS (14 + 20 + 8)
static inline et_packet packet_of(const et_flow *fl, bool up, uint32_t payload, double t, uint32_t frame)
{
    et_packet p = {
        .flow = fl->id, .proto = fl->proto,
        .src = up ? fl->client : fl->server, .dst = up ? fl->server : fl->client,
        .sport = up ? fl->client_port : fl->server_port, .dport = up ? fl->server_port : fl->client_port,
        .tcp_flags = -1,
        .frame_len = payload + (fl->proto == 6 ? TCP4_HEADERS : UDP4_HEADERS), .payload_len = payload,
        .t = t, .frame = frame,
    };
    return p;
}

#define SPEAKER ip4(192, 168, 1, 10)
#define PHONE ip4(192, 168, 1, 20)

#endif
