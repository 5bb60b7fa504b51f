/* payload.h - the names in a packet's payload, parsed from its bytes: the TLS ClientHello's
 * server name, the server certificate's names and issuer, TLS alerts, DNS answers, the HTTP Host
 * and gQUIC's CHLO server name.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C, no allocation. The bytes are hostile: every read is checked against the length given,
 * every loop is bounded. Names are returned as (pointer, length) into the bytes given, or into a
 * caller's buffer when they must be decoded (DNS compression, BMPString).
 */
#ifndef ECHOTAP_PAYLOAD_H
#define ECHOTAP_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct et_span {
    const uint8_t *p;
    size_t len;
} et_span;

/* ---- TLS ---- */

/* What a direction's TLS records hold, as they complete. */
typedef struct et_tls_sink {
    void (*sni)(void *user, et_span name);
    /* A Certificate message (TLS <= 1.2, in the clear): its first certificate's DER. */
    void (*certificate)(void *user, et_span leaf_der);
    void (*alert)(void *user, unsigned level, unsigned desc);
    void *user;
} et_tls_sink;

/* One direction of a TLS connection, read record by record from the start of its stream.
 * Handshake messages may span records: their bytes are gathered in hs (hs_cap bytes, the
 * caller's). */
typedef struct et_tls_reader {
    size_t next_record;        /* stream offset of the first record not read */
    size_t hs_len;             /* handshake bytes gathered */
    size_t hs_read;            /* of which whole messages were read */
    uint8_t *hs;
    size_t hs_cap;
    bool finished;             /* encrypted, not TLS, or past the budget: nothing more to read */
} et_tls_reader;

void et_tls_reader_init(et_tls_reader *r, uint8_t *hs, size_t hs_cap);
/* Reads the whole records in stream[next_record, avail) (stream: the direction's bytes from its
 * first). Returns the number of records read. */
unsigned et_tls_read(et_tls_reader *r, const uint8_t *stream, size_t avail, const et_tls_sink *sink);

/* The host_name of a ClientHello body's server_name extension (after the 4-byte handshake
 * header). */
bool et_tls_client_hello_sni(const uint8_t *body, size_t len, et_span *name);

/* ---- X.509 ---- */

#define ET_X509_MAX_NAME 256

typedef struct et_x509_names {
    char subject_cn[ET_X509_MAX_NAME];     /* "" when none */
    char issuer_cn[ET_X509_MAX_NAME];
    bool has_subject_cn, has_issuer_cn;
    et_span san;               /* the SubjectAltName extension's GeneralNames content, or empty */
} et_x509_names;

/* The subject's and the issuer's first commonName (UTF-8) and the SAN extension of a DER
 * certificate. False when the certificate cannot be read as far as its subject. */
bool et_x509_read(const uint8_t *der, size_t len, et_x509_names *out);
/* The next dNSName of a SAN's GeneralNames (*pos from 0); false at the end or at bad bytes. */
bool et_x509_next_dnsname(et_span san, size_t *pos, et_span *name);

/* ---- DNS ---- */

#define ET_DNS_MAX_NAME 256            /* text form, with its NUL */

enum { ET_DNS_A = 1, ET_DNS_CNAME = 5, ET_DNS_TXT = 16, ET_DNS_AAAA = 28 };

typedef struct et_dns_sink {
    void (*query)(void *user, const char *name);           /* the first question's name */
    /* Every resource record of every section; rdata points into the message. */
    void (*record)(void *user, const char *owner, unsigned type, et_span rdata, const uint8_t *msg, size_t msg_len);
    void *user;
} et_dns_sink;

/* A DNS message (without TCP's length prefix). Returns false at the first bad byte (the records
 * before it were given). Only responses give records. */
bool et_dns_read(const uint8_t *msg, size_t len, const et_dns_sink *sink);
/* A (possibly compressed) name at msg[off] as text ("<Root>" for the root). */
bool et_dns_name(const uint8_t *msg, size_t len, size_t off, char *out, size_t out_size, size_t *end);
/* The next character-string of a TXT record's data (*pos from 0). */
bool et_dns_next_txt(et_span rdata, size_t *pos, et_span *txt);

/* ---- HTTP, gQUIC ---- */

/* Bytes that may start an HTTP request's head (request line and headers, up to its blank line):
 * not a request, a head cut before its Host line and its end, a whole head without Host, or the
 * Host header (trimmed, in *host). */
typedef enum { ET_HTTP_NOT_REQUEST, ET_HTTP_PARTIAL, ET_HTTP_NO_HOST, ET_HTTP_HOST } et_http_head;
et_http_head et_http_request(const uint8_t *p, size_t len, et_span *host);
/* et_http_request(...) == ET_HTTP_HOST */
bool et_http_request_host(const uint8_t *p, size_t len, et_span *host);

/* The SNI tag of a gQUIC (Q043-Q046, in the clear) client hello in a UDP datagram. */
bool et_gquic_chlo_sni(const uint8_t *p, size_t len, et_span *name);

#endif
