/* quic.c - the server name in an IETF QUIC client's Initial packets.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "quic.h"

#include <string.h>

#include <gcrypt.h>
#include <glib.h>

#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu
#define QUIC_DRAFT29 0xff00001du
#define MAX_COALESCED 4                 /* packets read in one datagram */
#define MAX_INITIALS 16                 /* client Initials read before giving up */
#define TAG_LEN 16
#define SAMPLE_LEN 16

typedef struct version_info {
    uint32_t version;
    uint8_t salt[20];
    const char *key, *iv, *hp;
    unsigned initial_type;     /* long-header packet type of an Initial */
} version_info;

static const version_info versions[] = {
    { QUIC_V1, { 0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
                 0xcc, 0xbb, 0x7f, 0x0a }, "quic key", "quic iv", "quic hp", 0 },
    { QUIC_V2, { 0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
                 0xf9, 0xbd, 0x2e, 0xd9 }, "quicv2 key", "quicv2 iv", "quicv2 hp", 1 },
    { QUIC_DRAFT29, { 0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
                      0x43, 0x90, 0xa8, 0x99 }, "quic key", "quic iv", "quic hp", 0 },
};

static const version_info *version_of(uint32_t v)
{
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        if (versions[i].version == v)
            return &versions[i];
    }
    return NULL;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A variable-length integer (RFC 9000 section 16) at p[*off], below end. */
static bool varint(const uint8_t *p, size_t end, size_t *off, uint64_t *v)
{
    if (*off >= end)
        return false;
    size_t n = (size_t)1 << (p[*off] >> 6);
    if (n > end - *off)
        return false;
    *v = p[*off] & 0x3f;
    for (size_t i = 1; i < n; i++)
        *v = *v << 8 | p[*off + i];
    *off += n;
    return true;
}

static bool hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len, uint8_t out[32])
{
    gcry_md_hd_t h;
    if (gcry_md_open(&h, GCRY_MD_SHA256, GCRY_MD_FLAG_HMAC))
        return false;
    bool ok = !gcry_md_setkey(h, key, key_len);
    if (ok) {
        gcry_md_write(h, data, len);
        memcpy(out, gcry_md_read(h, GCRY_MD_SHA256), 32);
    }
    gcry_md_close(h);
    return ok;
}

/* TLS 1.3 HKDF-Expand-Label with an empty context, for outputs of one hash block. */
static bool expand_label(const uint8_t secret[32], const char *label, uint8_t *out, size_t len)
{
    uint8_t info[2 + 1 + 6 + 32 + 1 + 1];
    size_t label_len = strlen(label), n = 0;
    if (label_len > 32 || len > 32)
        return false;
    info[n++] = 0;
    info[n++] = (uint8_t)len;
    info[n++] = (uint8_t)(6 + label_len);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, label_len);
    n += label_len;
    info[n++] = 0;                      /* context */
    info[n++] = 1;                      /* HKDF-Expand's block counter */
    uint8_t block[32];
    if (!hmac_sha256(secret, 32, info, n, block))
        return false;
    memcpy(out, block, len);
    return true;
}

bool et_quic_client_keys(uint32_t version, const uint8_t *dcid, size_t dcid_len, uint8_t key[16], uint8_t iv[12],
                         uint8_t hp[16])
{
    const version_info *vi = version_of(version);
    uint8_t initial[32], client[32];
    if (vi == NULL || !gcry_check_version(NULL))
        return false;
    return hmac_sha256(vi->salt, sizeof(vi->salt), dcid, dcid_len, initial) &&
           expand_label(initial, "client in", client, 32) && expand_label(client, vi->key, key, 16) &&
           expand_label(client, vi->iv, iv, 12) && expand_label(client, vi->hp, hp, 16);
}

void et_quic_init(et_quic *q, size_t budget)
{
    memset(q, 0, sizeof(*q));
    et_stream_init(&q->crypto, budget);
    et_stream_syn(&q->crypto, UINT32_MAX);     /* CRYPTO offsets count from 0 */
}

void et_quic_free(et_quic *q)
{
    et_stream_free(&q->crypto);
}

/* The long header up to its packet number: the offset of the packet number and the packet's end. */
typedef struct long_header {
    uint32_t version;
    const uint8_t *dcid;
    size_t dcid_len, pn_offset, end;
    bool initial;
} long_header;

static bool read_long_header(const uint8_t *p, size_t len, long_header *h)
{
    if (len < 7 || (p[0] & 0xc0) != 0xc0)
        return false;
    h->version = be32(p + 1);
    const version_info *vi = version_of(h->version);
    if (vi == NULL)
        return false;
    h->initial = ((p[0] >> 4) & 3) == vi->initial_type;
    size_t off = 5;
    h->dcid_len = p[off++];
    if (h->dcid_len > ET_QUIC_MAX_CID || h->dcid_len + 1 > len - off)
        return false;
    h->dcid = p + off;
    off += h->dcid_len;
    size_t scid_len = p[off++];
    if (scid_len > ET_QUIC_MAX_CID || scid_len > len - off)
        return false;
    off += scid_len;
    uint64_t token_len = 0, length;
    if (h->initial && (!varint(p, len, &off, &token_len) || token_len > len - off))
        return false;
    off += (size_t)token_len;
    if (!varint(p, len, &off, &length) || length > len - off)
        return false;
    h->pn_offset = off;
    h->end = off + (size_t)length;
    return true;
}

bool et_quic_is_initial(const uint8_t *p, size_t len)
{
    long_header h;
    return read_long_header(p, len, &h) && h.initial;
}

/* Removes header protection and decrypts one Initial into out (its payload's length). */
static bool decrypt(const et_quic *q, const uint8_t *p, const long_header *h, uint8_t *out, size_t *out_len)
{
    if (h->end - h->pn_offset < 4 + SAMPLE_LEN)
        return false;
    uint8_t mask[16];
    gcry_cipher_hd_t ecb, gcm;
    if (gcry_cipher_open(&ecb, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_ECB, 0))
        return false;
    bool ok = !gcry_cipher_setkey(ecb, q->hp, 16) &&
              !gcry_cipher_encrypt(ecb, mask, 16, p + h->pn_offset + 4, SAMPLE_LEN);
    gcry_cipher_close(ecb);
    if (!ok)
        return false;
    /* The header as sent, unprotected: the additional data. */
    size_t pn_len = ((p[0] ^ (mask[0] & 0x0f)) & 3) + 1;
    size_t header_len = h->pn_offset + pn_len;
    if (h->end - header_len < TAG_LEN)
        return false;
    uint8_t header[64 + 2 * ET_QUIC_MAX_CID], nonce[12];
    uint8_t *aad = header_len <= sizeof(header) ? header : out;   /* a long token: out has room */
    memcpy(aad, p, header_len);
    aad[0] ^= mask[0] & 0x0f;
    memcpy(nonce, q->iv, 12);
    for (size_t i = 0; i < pn_len; i++) {
        aad[h->pn_offset + i] ^= mask[1 + i];
        nonce[12 - pn_len + i] ^= aad[h->pn_offset + i];
    }
    size_t n = h->end - header_len - TAG_LEN;
    if (gcry_cipher_open(&gcm, GCRY_CIPHER_AES128, GCRY_CIPHER_MODE_GCM, 0))
        return false;
    ok = !gcry_cipher_setkey(gcm, q->key, 16) && !gcry_cipher_setiv(gcm, nonce, 12) &&
         !gcry_cipher_authenticate(gcm, aad, header_len) &&
         !gcry_cipher_decrypt(gcm, out, n, p + header_len, n) &&
         !gcry_cipher_checktag(gcm, p + header_len + n, TAG_LEN);
    gcry_cipher_close(gcm);
    *out_len = n;
    return ok;
}

/* The frames of a decrypted Initial: CRYPTO data into the stream, up to a frame that an Initial
 * may not carry, or bad bytes. */
static void read_frames(et_quic *q, const uint8_t *f, size_t len)
{
    size_t off = 0;
    while (off < len) {
        uint64_t type, a, b, c, d;
        if (!varint(f, len, &off, &type))
            return;
        switch (type) {
        case 0x00:                      /* PADDING */
        case 0x01:                      /* PING */
            break;
        case 0x02:                      /* ACK */
        case 0x03:
            if (!varint(f, len, &off, &a) || !varint(f, len, &off, &b) || !varint(f, len, &off, &c) ||
                !varint(f, len, &off, &d))
                return;
            for (uint64_t r = 0; r < c; r++) {
                if (!varint(f, len, &off, &a) || !varint(f, len, &off, &b))
                    return;
            }
            for (int ecn = 0; type == 0x03 && ecn < 3; ecn++) {
                if (!varint(f, len, &off, &a))
                    return;
            }
            break;
        case 0x06:                      /* CRYPTO */
            if (!varint(f, len, &off, &a) || !varint(f, len, &off, &b) || b > len - off || a > UINT32_MAX)
                return;
            et_stream_add(&q->crypto, (uint32_t)a, f + off, (size_t)b);
            off += (size_t)b;
            break;
        default:                        /* CONNECTION_CLOSE and the rest: nothing more to read */
            return;
        }
    }
}

/* A whole ClientHello at the start of the CRYPTO stream: its server_name. */
static bool client_hello_done(et_quic *q, et_span *sni)
{
    const et_stream *s = &q->crypto;
    if (s->contiguous < 4)
        return false;
    size_t body = (size_t)s->bytes[1] << 16 | (size_t)s->bytes[2] << 8 | s->bytes[3];
    if (s->bytes[0] != 1 || body > s->cap - 4) {
        q->finished = true;
        return false;
    }
    if (s->contiguous < 4 + body)
        return false;
    q->finished = true;
    return et_tls_client_hello_sni(s->bytes + 4, body, sni);
}

bool et_quic_datagram(et_quic *q, const uint8_t *p, size_t len, et_span *sni)
{
    size_t off = 0;
    for (int n = 0; n < MAX_COALESCED && !q->finished && off < len; n++) {
        long_header h;
        if (!read_long_header(p + off, len - off, &h))
            return false;
        const uint8_t *pkt = p + off;
        off += h.end;
        if (!h.initial)
            continue;
        if (q->version == 0) {
            /* The client's first Initial: its Destination Connection ID keys the connection. */
            if (!et_quic_client_keys(h.version, h.dcid, h.dcid_len, q->key, q->iv, q->hp))
                return false;
            q->version = h.version;
        }
        if (h.version != q->version)
            continue;
        /* A server's Initial does not open with the client's keys: it is skipped. */
        uint8_t *plain = g_malloc(h.end);
        size_t plain_len;
        bool opened = decrypt(q, pkt, &h, plain, &plain_len);
        if (opened)
            read_frames(q, plain, plain_len);
        g_free(plain);
        if (++q->packets >= MAX_INITIALS)
            q->finished = true;
        if (opened && client_hello_done(q, sni))
            return true;
    }
    return false;
}
