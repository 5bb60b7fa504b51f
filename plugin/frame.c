/* frame.c - a frame's TCP or UDP header and payload.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "frame.h"

#include <string.h>

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_PPPOE_SESSION 0x8864
#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057
#define MAX_VLAN_TAGS 4
#define MAX_IPV6_EXTENSIONS 8

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The offset of the IP header and its ethertype, from the link header. */
static bool link_payload(et_link link, const uint8_t *f, size_t len, size_t *off, unsigned *type)
{
    switch (link) {
    case ET_LINK_ETHERNET:
        if (len < 14)
            return false;
        *off = 12;
        *type = be16(f + 12);
        for (int tags = 0; (*type == 0x8100 || *type == 0x88a8) && tags < MAX_VLAN_TAGS; tags++) {
            *off += 4;
            if (len < *off + 2)
                return false;
            *type = be16(f + *off);
        }
        *off += 2;
        if (*type == ETHERTYPE_PPPOE_SESSION) {
            /* RFC 2516: version and type, code, session id, length; then PPP's protocol. */
            if (len < *off + 8)
                return false;
            unsigned ppp = be16(f + *off + 6);
            *type = ppp == PPP_IPV4 ? ETHERTYPE_IPV4 : ppp == PPP_IPV6 ? ETHERTYPE_IPV6 : 0;
            *off += 8;
        }
        return true;
    case ET_LINK_SLL:
        if (len < 16)
            return false;
        *type = be16(f + 14);
        *off = 16;
        return true;
    case ET_LINK_SLL2:
        if (len < 20)
            return false;
        *type = be16(f);
        *off = 20;
        return true;
    case ET_LINK_NULL:
        if (len < 4)
            return false;
        /* The address family in the sender's byte order: 2 is IPv4; IPv6 is 24, 28 or 30. */
        {
            uint32_t af = f[0] ? (uint32_t)f[0] : (uint32_t)f[3];
            *type = af == 2 ? ETHERTYPE_IPV4 : (af == 24 || af == 28 || af == 30) ? ETHERTYPE_IPV6 : 0;
        }
        *off = 4;
        return true;
    case ET_LINK_RAW_IP:
        if (len < 1)
            return false;
        *type = f[0] >> 4 == 4 ? ETHERTYPE_IPV4 : f[0] >> 4 == 6 ? ETHERTYPE_IPV6 : 0;
        *off = 0;
        return true;
    }
    return false;
}

/* The transport header's offset, protocol and length (header and payload), from the IP header. */
static bool ip_payload(const uint8_t *f, size_t len, size_t off, unsigned type, et_transport *out,
                       size_t *t_off, size_t *t_len)
{
    if (type == ETHERTYPE_IPV4) {
        if (len < off + 20 || f[off] >> 4 != 4)
            return false;
        size_t ihl = (size_t)(f[off] & 0x0f) * 4, total = be16(f + off + 2);
        if (ihl < 20 || total < ihl || (be16(f + off + 6) & 0x3fff) != 0)    /* a fragment */
            return false;
        out->family = 4;
        out->proto = f[off + 9];
        out->src = f + off + 12;
        out->dst = f + off + 16;
        *t_off = off + ihl;
        *t_len = total - ihl;
        return true;
    }
    if (type == ETHERTYPE_IPV6) {
        if (len < off + 40 || f[off] >> 4 != 6)
            return false;
        out->family = 6;
        out->src = f + off + 8;
        out->dst = f + off + 24;
        unsigned next = f[off + 6];
        size_t at = off + 40, payload = be16(f + off + 4);
        for (int ext = 0; ext < MAX_IPV6_EXTENSIONS && (next == 0 || next == 43 || next == 60); ext++) {
            if (len < at + 8)
                return false;
            size_t n = ((size_t)f[at + 1] + 1) * 8;
            if (n > payload)
                return false;
            next = f[at];
            at += n;
            payload -= n;
        }
        out->proto = (uint8_t)next;
        *t_off = at;
        *t_len = payload;
        return true;
    }
    return false;
}

bool et_frame_transport(et_link link, const uint8_t *f, size_t len, et_transport *out)
{
    size_t off, t_off, t_len;
    unsigned type;
    memset(out, 0, sizeof(*out));
    if (!link_payload(link, f, len, &off, &type) || !ip_payload(f, len, off, type, out, &t_off, &t_len))
        return false;
    size_t header;
    if (out->proto == 6) {
        if (len < t_off + 20)
            return false;
        header = (size_t)(f[t_off + 12] >> 4) * 4;
        if (header < 20 || header > t_len)
            return false;
        out->seq = be32(f + t_off + 4);
        out->tcp_flags = (int)(be16(f + t_off + 12) & 0x0fff);
    } else if (out->proto == 17) {
        if (len < t_off + 8)
            return false;
        header = 8;
        size_t udp_len = be16(f + t_off + 4);
        if (udp_len < 8 || udp_len > t_len)
            return false;
        t_len = udp_len;
        out->tcp_flags = -1;
    } else
        return false;
    out->sport = (uint16_t)be16(f + t_off);
    out->dport = (uint16_t)be16(f + t_off + 2);
    out->payload_len = (uint32_t)(t_len - header);
    size_t start = t_off + header;
    out->payload = f + (start < len ? start : len);
    out->captured = start < len ? len - start : 0;
    if (out->captured > out->payload_len)
        out->captured = out->payload_len;        /* Ethernet padding */
    return true;
}
