/* payload_bytes.h - hand-built bytes for the payload parsers' tests: TLS records and handshake
 * messages (RFC 8446 / 5246 layouts) and X.509 certificates (X.690 DER) with the parts echotap
 * reads real and the rest placeholders.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef ECHOTAP_PAYLOAD_BYTES_H
#define ECHOTAP_PAYLOAD_BYTES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- byte builders ---- */

typedef struct buf {
    uint8_t b[8192];
    size_t n;
} buf;

static inline void put(buf *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof(b->b));
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static inline void put_u8(buf *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    put(b, &x, 1);
}

static inline void put_u16(buf *b, unsigned v)
{
    put_u8(b, v >> 8);
    put_u8(b, v);
}

static inline void put_u24(buf *b, size_t v)
{
    put_u8(b, (unsigned)(v >> 16));
    put_u16(b, (unsigned)v);
}

static inline void put_str(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* A DER element: tag, length (short or long form), contents. */
static inline void der(buf *b, unsigned tag, const buf *content)
{
    put_u8(b, tag);
    if (content->n < 0x80)
        put_u8(b, (unsigned)content->n);
    else {
        put_u8(b, 0x82);
        put_u16(b, (unsigned)content->n);
    }
    put(b, content->b, content->n);
}

static inline void der_bytes(buf *b, unsigned tag, const void *p, size_t n)
{
    buf c = { .n = 0 };
    put(&c, p, n);
    der(b, tag, &c);
}

/* The first n bytes alone on the heap, so that a sanitizer sees a read past them. */
static inline uint8_t *exactly(const buf *b, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, b->b, n);
    return p;
}

/* ---- TLS ---- */

/* A ClientHello body with a server_name extension (and another extension before it). */
static inline void client_hello_body(buf *b, const char *sni)
{
    put_u16(b, 0x0303);
    for (int i = 0; i < 32; i++)
        put_u8(b, i);
    put_u8(b, 0);                       /* session id */
    put_u16(b, 2);
    put_u16(b, 0x1301);
    put_u8(b, 1);
    put_u8(b, 0);
    buf exts = { .n = 0 };
    put_u16(&exts, 0x000a);             /* supported_groups */
    put_u16(&exts, 4);
    put_u16(&exts, 2);
    put_u16(&exts, 0x001d);
    put_u16(&exts, 0x0000);             /* server_name */
    put_u16(&exts, (unsigned)strlen(sni) + 5);
    put_u16(&exts, (unsigned)strlen(sni) + 3);
    put_u8(&exts, 0);
    put_u16(&exts, (unsigned)strlen(sni));
    put_str(&exts, sni);
    put_u16(b, (unsigned)exts.n);
    put(b, exts.b, exts.n);
}

static inline void handshake(buf *b, unsigned type, const buf *body)
{
    put_u8(b, type);
    put_u24(b, body->n);
    put(b, body->b, body->n);
}

static inline void record(buf *b, unsigned type, const uint8_t *p, size_t n)
{
    put_u8(b, type);
    put_u16(b, 0x0303);
    put_u16(b, (unsigned)n);
    put(b, p, n);
}

/* ---- X.509 ---- */

static inline void rdn(buf *name, const uint8_t *oid, size_t oid_len, unsigned str_tag, const void *s, size_t n)
{
    buf atv = { .n = 0 }, set = { .n = 0 };
    der_bytes(&atv, 0x06, oid, oid_len);
    der_bytes(&atv, str_tag, s, n);
    der(&set, 0x30, &atv);
    der(name, 0x31, &set);
}

static const uint8_t OID_CN[] __attribute__((unused)) = { 0x55, 0x04, 0x03 };
static const uint8_t OID_O[] __attribute__((unused)) = { 0x55, 0x04, 0x0a };

/* A certificate with the parts echotap reads real and the rest placeholders. */
static inline void certificate(buf *out, const buf *issuer, const buf *subject, const char *const *sans, size_t n_sans,
                        bool critical_san)
{
    buf tbs = { .n = 0 }, tmp = { .n = 0 };
    const uint8_t two = 2;
    der_bytes(&tmp, 0x02, &two, 1);
    der(&tbs, 0xa0, &tmp);                              /* version v3 */
    der_bytes(&tbs, 0x02, "\x01\x02", 2);               /* serial */
    der_bytes(&tbs, 0x30, "\x06\x01\x2a", 3);           /* signature algorithm */
    der(&tbs, 0x30, issuer);
    der_bytes(&tbs, 0x30, "", 0);                       /* validity */
    der(&tbs, 0x30, subject);
    der_bytes(&tbs, 0x30, "\x30\x00\x03\x01\x00", 5);   /* subjectPublicKeyInfo */
    buf gn = { .n = 0 };
    der_bytes(&gn, 0x87, "\x0a\x00\x00\x01", 4);        /* an iPAddress first */
    for (size_t i = 0; i < n_sans; i++)
        der_bytes(&gn, 0x82, sans[i], strlen(sans[i]));
    buf seq = { .n = 0 }, ext = { .n = 0 }, exts = { .n = 0 }, ext3 = { .n = 0 };
    der(&seq, 0x30, &gn);
    der_bytes(&ext, 0x06, "\x55\x1d\x13", 3);           /* basicConstraints first */
    der_bytes(&ext, 0x04, "\x30\x00", 2);
    der(&exts, 0x30, &ext);
    ext.n = 0;
    der_bytes(&ext, 0x06, "\x55\x1d\x11", 3);
    if (critical_san)
        der_bytes(&ext, 0x01, "\xff", 1);
    der(&ext, 0x04, &seq);
    der(&exts, 0x30, &ext);
    der(&ext3, 0x30, &exts);
    der(&tbs, 0xa3, &ext3);
    buf cert = { .n = 0 };
    der(&cert, 0x30, &tbs);
    der_bytes(&cert, 0x30, "\x06\x01\x2a", 3);
    der_bytes(&cert, 0x03, "\x00\x01", 2);
    der(out, 0x30, &cert);
}

#endif
