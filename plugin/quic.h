/* quic.h - the server name in an IETF QUIC client's Initial packets.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C with libgcrypt. Initial packets are encrypted with keys that anyone can derive from
 * the client's first Destination Connection ID (RFC 9001 section 5.2): Wireshark's tree decrypts
 * them, and so does this, to read the TLS ClientHello that their CRYPTO frames carry. Versions 1,
 * 2 (RFC 9369) and draft 29.
 */
#ifndef ECHOTAP_QUIC_H
#define ECHOTAP_QUIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "payload.h"
#include "stream.h"

#define ET_QUIC_MAX_CID 20

/* One QUIC connection's client Initials, read until its ClientHello is whole. */
typedef struct et_quic {
    uint32_t version;          /* of the first Initial; 0 before it */
    uint8_t key[16], iv[12], hp[16];
    et_stream crypto;          /* the client's CRYPTO bytes, by offset */
    unsigned packets;          /* Initials tried */
    bool finished;             /* the ClientHello was read, or cannot be */
} et_quic;

void et_quic_init(et_quic *q, size_t budget);
void et_quic_free(et_quic *q);

/* Does a UDP datagram start with a QUIC long-header Initial of a version read here? */
bool et_quic_is_initial(const uint8_t *p, size_t len);
/* A UDP datagram of the connection (either direction: server packets fail to decrypt with the
 * client's keys and are skipped). True, with the name, when it completes a ClientHello that has
 * a server_name. */
bool et_quic_datagram(et_quic *q, const uint8_t *p, size_t len, et_span *sni);

/* RFC 9001 section 5.2: the client's Initial key, IV and header protection key for a version and
 * Destination Connection ID. */
bool et_quic_client_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len, uint8_t key[16], uint8_t iv[12],
                         uint8_t hp[16]);

#endif
