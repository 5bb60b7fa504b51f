/* payload_evidence.h - evidence from the payload's bytes: the names that evidence.c reads from
 * Wireshark's tree, parsed here from each TCP/UDP payload (payload.c) with no tree at all.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C (GLib only). TLS handshakes are read from each TCP direction's first bytes in sequence
 * order (stream.c); a flow's buffers are freed once its handshake is read or its budget is used.
 * The names go to the flow state the same way and in the same order as evidence.c's.
 */
#ifndef ECHOTAP_PAYLOAD_EVIDENCE_H
#define ECHOTAP_PAYLOAD_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flows.h"

/* Names refused as evidence (not valid host names), as evidence.c's expert info counts them. */
typedef enum { ET_NAME_SNI, ET_NAME_HTTP_HOST, ET_NAME_CERT, ET_NAME_DNS, ET_NAME_KINDS } et_name_kind;

/* One TCP segment or UDP datagram. */
typedef struct et_segment {
    uint8_t proto;             /* 6 TCP, 17 UDP */
    et_addr src, dst;
    uint16_t sport, dport;
    uint32_t seq;              /* TCP */
    int tcp_flags;             /* TCP, else -1 */
    const uint8_t *payload;
    size_t len;
    uint32_t frame;
    double t;                  /* seconds since the capture's first packet */
    bool use_cert;             /* certificate names are evidence */
    void (*refused)(void *user, et_name_kind kind);     /* or NULL */
    void *refused_user;
} et_segment;

#define ET_HANDSHAKE_BUDGET 16384       /* bytes kept per direction while a handshake is read */
/* A TLS handshake longer than the budget (a certificate chain with thousands of names) grows it,
 * up to this; Wireshark reassembles any length, so the tree path reads beyond. */
#define ET_HANDSHAKE_MAX (1u << 20)

typedef struct et_payload_evidence et_payload_evidence;

et_payload_evidence *et_payload_evidence_new(size_t budget);
void et_payload_evidence_free(et_payload_evidence *pe);

/* An et_gather_fn's work for one packet of flow fl (up: sent by its device). */
void et_payload_gather(et_payload_evidence *pe, et_flows *flows, et_flow *fl, bool up, const et_segment *seg);

/* Flows whose handshake buffers are held now (for tests and memory figures). */
size_t et_payload_evidence_open(const et_payload_evidence *pe);

#endif
