/* payload.c - the names in a packet's payload, parsed from its bytes.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Each parser reads through a cursor that never passes its end: a read past it fails the cursor,
 * and every later read then fails too, so a parser checks once, where it matters.
 */
#include "payload.h"

#include <string.h>

typedef struct cursor {
    const uint8_t *p;
    size_t len, off;
    bool bad;
} cursor;

static cursor cursor_of(const uint8_t *p, size_t len)
{
    return (cursor){ p, len, 0, false };
}

static size_t left(const cursor *c)
{
    return c->bad ? 0 : c->len - c->off;
}

static bool take(cursor *c, size_t n, const uint8_t **out)
{
    if (c->bad || n > c->len - c->off) {
        c->bad = true;
        return false;
    }
    if (out)
        *out = c->p + c->off;
    c->off += n;
    return true;
}

static unsigned get_u8(cursor *c)
{
    const uint8_t *b;
    return take(c, 1, &b) ? b[0] : 0;
}

static unsigned get_u16(cursor *c)
{
    const uint8_t *b;
    return take(c, 2, &b) ? (unsigned)b[0] << 8 | b[1] : 0;
}

static size_t get_u24(cursor *c)
{
    const uint8_t *b;
    return take(c, 3, &b) ? (size_t)b[0] << 16 | (size_t)b[1] << 8 | b[2] : 0;
}

/* A sub-cursor over the next n bytes. */
static cursor sub(cursor *c, size_t n)
{
    const uint8_t *b = NULL;
    if (!take(c, n, &b))
        return (cursor){ NULL, 0, 0, true };
    return cursor_of(b, n);
}

/* ---- TLS ---- */

enum { TLS_CCS = 20, TLS_ALERT = 21, TLS_HANDSHAKE = 22, TLS_APP_DATA = 23 };
enum { HS_CLIENT_HELLO = 1, HS_CERTIFICATE = 11 };
#define TLS_RECORD_HEADER 5
#define TLS_MAX_RECORD (16384 + 2048)  /* the largest ciphertext record TLS allows */

void et_tls_reader_init(et_tls_reader *r, uint8_t *hs, size_t hs_cap)
{
    *r = (et_tls_reader){ .hs = hs, .hs_cap = hs_cap };
}

bool et_tls_client_hello_sni(const uint8_t *body, size_t len, et_span *name)
{
    cursor c = cursor_of(body, len);
    take(&c, 2 + 32, NULL);                       /* version, random */
    take(&c, get_u8(&c), NULL);                   /* session id */
    take(&c, get_u16(&c), NULL);                  /* cipher suites */
    take(&c, get_u8(&c), NULL);                   /* compression methods */
    cursor exts = sub(&c, get_u16(&c));
    while (left(&exts) >= 4) {
        unsigned type = get_u16(&exts);
        cursor ext = sub(&exts, get_u16(&exts));
        if (type != 0)                            /* server_name */
            continue;
        cursor list = sub(&ext, get_u16(&ext));
        while (left(&list) >= 3) {
            unsigned name_type = get_u8(&list);
            size_t n = get_u16(&list);
            const uint8_t *b;
            if (!take(&list, n, &b))
                return false;
            if (name_type == 0) {                 /* host_name */
                *name = (et_span){ b, n };
                return true;
            }
        }
        return false;
    }
    return false;
}

/* A Certificate message body: certificate_list of 3-byte-length certificates. */
static bool tls_leaf_certificate(const uint8_t *body, size_t len, et_span *der)
{
    cursor c = cursor_of(body, len);
    cursor list = sub(&c, get_u24(&c));
    size_t n = get_u24(&list);
    const uint8_t *b;
    if (n == 0 || !take(&list, n, &b))
        return false;
    *der = (et_span){ b, n };
    return true;
}

/* The whole handshake messages gathered and not yet read. */
static void read_handshake_messages(et_tls_reader *r, const et_tls_sink *sink)
{
    while (r->hs_len - r->hs_read >= 4) {
        const uint8_t *m = r->hs + r->hs_read;
        size_t body_len = (size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3];
        if (body_len > r->hs_len - r->hs_read - 4)
            return;                               /* the rest comes in a later record */
        et_span found;
        if (m[0] == HS_CLIENT_HELLO && sink->sni && et_tls_client_hello_sni(m + 4, body_len, &found))
            sink->sni(sink->user, found);
        else if (m[0] == HS_CERTIFICATE && sink->certificate && tls_leaf_certificate(m + 4, body_len, &found))
            sink->certificate(sink->user, found);
        r->hs_read += 4 + body_len;
    }
}

unsigned et_tls_read(et_tls_reader *r, const uint8_t *stream, size_t avail, const et_tls_sink *sink)
{
    unsigned records = 0;
    while (!r->finished && avail >= r->next_record + TLS_RECORD_HEADER) {
        const uint8_t *h = stream + r->next_record;
        size_t len = (size_t)h[3] << 8 | h[4];
        if (h[0] < TLS_CCS || h[0] > TLS_APP_DATA || h[1] != 3 || len > TLS_MAX_RECORD) {
            r->finished = true;                   /* not TLS (or lost): the rest cannot be framed */
            break;
        }
        if (avail - r->next_record - TLS_RECORD_HEADER < len)
            break;                                /* the record is not whole yet */
        const uint8_t *body = h + TLS_RECORD_HEADER;
        r->next_record += TLS_RECORD_HEADER + len;
        records++;
        if (h[0] == TLS_ALERT && len == 2 && sink->alert)
            sink->alert(sink->user, body[0], body[1]);    /* longer alerts are encrypted */
        else if (h[0] == TLS_HANDSHAKE) {
            if (len > r->hs_cap - r->hs_len) {
                r->finished = true;
                break;
            }
            memcpy(r->hs + r->hs_len, body, len);
            r->hs_len += len;
            read_handshake_messages(r, sink);
        } else if (h[0] == TLS_APP_DATA)
            r->finished = true;                   /* encrypted from here on */
    }
    return records;
}

/* ---- X.509 (DER) ---- */

enum {
    DER_BOOLEAN = 0x01, DER_INTEGER = 0x02, DER_OCTET_STRING = 0x04, DER_OID = 0x06,
    DER_UTF8 = 0x0c, DER_PRINTABLE = 0x13, DER_TELETEX = 0x14, DER_IA5 = 0x16,
    DER_UNIVERSAL = 0x1c, DER_BMP = 0x1e, DER_SEQUENCE = 0x30, DER_SET = 0x31,
    DER_EXPLICIT_0 = 0xa0, DER_EXPLICIT_3 = 0xa3, DER_DNSNAME = 0x82,
};

/* The next element: its tag and its contents. Single-byte tags, definite lengths of up to four
 * bytes. */
static bool der_next(cursor *c, unsigned *tag, cursor *content)
{
    *tag = get_u8(c);
    unsigned first = get_u8(c);
    size_t len = first;
    if (first & 0x80) {
        unsigned n = first & 0x7f;
        if (n == 0 || n > 4)
            c->bad = true;
        len = 0;
        for (unsigned i = 0; i < n && !c->bad; i++)
            len = len << 8 | get_u8(c);
    }
    *content = sub(c, len);
    return !c->bad;
}

static bool der_expect(cursor *c, unsigned want, cursor *content)
{
    unsigned tag;
    return der_next(c, &tag, content) && tag == want;
}

/* UTF-8 for one code point (none for surrogates and code points past Unicode). */
static size_t utf8_put(unsigned long cp, char *out, size_t room)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        if (cp >= 0xd800 && cp < 0xe000)
            return 0;
        b[0] = (char)(0xe0 | cp >> 12);
        b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else if (cp < 0x110000) {
        b[0] = (char)(0xf0 | cp >> 18);
        b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    } else
        return 0;
    if (n > room)
        return 0;
    memcpy(out, b, n);
    return n;
}

/* A directory string as UTF-8 text (BMPString and UniversalString are UCS-2 / UCS-4). */
static bool der_string_text(unsigned tag, cursor s, char *out, size_t out_size)
{
    size_t unit = tag == DER_BMP ? 2 : tag == DER_UNIVERSAL ? 4 : 1;
    if (tag != DER_UTF8 && tag != DER_PRINTABLE && tag != DER_TELETEX && tag != DER_IA5 && unit == 1)
        return false;
    size_t n = 0;
    while (left(&s) >= unit) {
        unsigned long cp = 0;
        for (size_t i = 0; i < unit; i++)
            cp = cp << 8 | get_u8(&s);
        /* As Wireshark shows them: the single-byte types are ASCII, other bytes U+FFFD. */
        if (unit == 1 && (tag == DER_UTF8 || cp < 0x80)) {
            if (n + 1 >= out_size)
                break;
            out[n++] = (char)cp;
        } else
            n += utf8_put(unit == 1 ? 0xfffd : cp, out + n, out_size - 1 - n);
    }
    out[n] = '\0';
    return true;
}

/* The first commonName (2.5.4.3) of a Name: SEQUENCE of SET of SEQUENCE { OID, string }. */
static bool name_first_cn(cursor name, char *out, size_t out_size)
{
    static const uint8_t oid_cn[] = { 0x55, 0x04, 0x03 };
    cursor rdn;
    unsigned tag;
    while (left(&name) && der_next(&name, &tag, &rdn)) {
        cursor atv;
        while (tag == DER_SET && left(&rdn) && der_expect(&rdn, DER_SEQUENCE, &atv)) {
            cursor oid, value;
            unsigned value_tag;
            if (!der_expect(&atv, DER_OID, &oid) || !der_next(&atv, &value_tag, &value))
                continue;
            if (oid.len == sizeof(oid_cn) && memcmp(oid.p, oid_cn, sizeof(oid_cn)) == 0)
                return der_string_text(value_tag, value, out, out_size);
        }
    }
    return false;
}

/* The SubjectAltName extension (2.5.29.17) in the extensions' SEQUENCE. */
static et_span extensions_san(cursor exts)
{
    static const uint8_t oid_san[] = { 0x55, 0x1d, 0x11 };
    cursor ext;
    while (left(&exts) && der_expect(&exts, DER_SEQUENCE, &ext)) {
        cursor oid, value;
        unsigned tag;
        if (!der_expect(&ext, DER_OID, &oid) || !der_next(&ext, &tag, &value))
            continue;
        if (tag == DER_BOOLEAN && !der_next(&ext, &tag, &value))      /* critical */
            continue;
        if (tag != DER_OCTET_STRING || oid.len != sizeof(oid_san) || memcmp(oid.p, oid_san, sizeof(oid_san)) != 0)
            continue;
        cursor names;
        if (der_expect(&value, DER_SEQUENCE, &names))
            return (et_span){ names.p, names.len };
    }
    return (et_span){ NULL, 0 };
}

bool et_x509_read(const uint8_t *der, size_t len, et_x509_names *out)
{
    memset(out, 0, sizeof(*out));
    cursor all = cursor_of(der, len), cert, tbs, skip, issuer, subject;
    unsigned tag;
    if (!der_expect(&all, DER_SEQUENCE, &cert) || !der_expect(&cert, DER_SEQUENCE, &tbs) ||
        !der_next(&tbs, &tag, &skip))
        return false;
    if (tag == DER_EXPLICIT_0 && !der_next(&tbs, &tag, &skip))          /* version, then serial */
        return false;
    if (tag != DER_INTEGER || !der_expect(&tbs, DER_SEQUENCE, &skip) ||  /* signature algorithm */
        !der_expect(&tbs, DER_SEQUENCE, &issuer) || !der_expect(&tbs, DER_SEQUENCE, &skip) ||  /* validity */
        !der_expect(&tbs, DER_SEQUENCE, &subject))
        return false;
    out->has_issuer_cn = name_first_cn(issuer, out->issuer_cn, sizeof(out->issuer_cn));
    out->has_subject_cn = name_first_cn(subject, out->subject_cn, sizeof(out->subject_cn));
    /* subjectPublicKeyInfo, optional unique ids [1] [2], then extensions [3]. */
    while (left(&tbs) && der_next(&tbs, &tag, &skip)) {
        cursor exts;
        if (tag == DER_EXPLICIT_3 && der_expect(&skip, DER_SEQUENCE, &exts)) {
            out->san = extensions_san(exts);
            break;
        }
    }
    return true;
}

bool et_x509_next_dnsname(et_span san, size_t *pos, et_span *name)
{
    if (san.p == NULL || *pos >= san.len)
        return false;
    cursor c = cursor_of(san.p, san.len);
    c.off = *pos;
    unsigned tag;
    cursor value;
    while (left(&c) && der_next(&c, &tag, &value)) {
        *pos = c.off;
        if (tag == DER_DNSNAME) {
            *name = (et_span){ value.p, value.len };
            return true;
        }
    }
    *pos = san.len;
    return false;
}

/* ---- DNS ---- */

#define DNS_HEADER 12
#define DNS_MAX_JUMPS 64               /* compression pointers followed for one name */
#define DNS_MAX_RECORDS 1024

bool et_dns_name(const uint8_t *msg, size_t len, size_t off, char *out, size_t out_size, size_t *end)
{
    size_t n = 0, pos = off;
    unsigned jumps = 0;
    bool jumped = false;
    for (;;) {
        if (pos >= len)
            return false;
        unsigned label = msg[pos];
        if ((label & 0xc0) == 0xc0) {
            if (pos + 1 >= len || ++jumps > DNS_MAX_JUMPS)
                return false;                     /* truncated, or a compression loop */
            if (!jumped)
                *end = pos + 2;
            jumped = true;
            pos = (size_t)(label & 0x3f) << 8 | msg[pos + 1];
            continue;
        }
        if (label & 0xc0)
            return false;                         /* extended label types */
        pos++;
        if (label == 0)
            break;
        if (pos + label > len)
            return false;
        /* Too long for the text form: the name is cut, as no host name is this long. */
        if (n + (n ? 1 : 0) + label < out_size) {
            if (n)
                out[n++] = '.';
            memcpy(out + n, msg + pos, label);
            n += label;
        }
        pos += label;
    }
    if (!jumped)
        *end = pos;
    if (n == 0) {
        if (out_size < sizeof("<Root>"))
            return false;
        memcpy(out, "<Root>", sizeof("<Root>"));
        return true;
    }
    out[n] = '\0';
    return true;
}

bool et_dns_read(const uint8_t *msg, size_t len, const et_dns_sink *sink)
{
    if (len < DNS_HEADER)
        return false;
    bool response = msg[2] & 0x80;
    unsigned questions = (unsigned)msg[4] << 8 | msg[5];
    unsigned records = ((unsigned)msg[6] << 8 | msg[7]) + ((unsigned)msg[8] << 8 | msg[9]) +
                       ((unsigned)msg[10] << 8 | msg[11]);
    char name[ET_DNS_MAX_NAME];
    size_t pos = DNS_HEADER;
    for (unsigned q = 0; q < questions; q++) {
        if (!et_dns_name(msg, len, pos, name, sizeof(name), &pos) || len - pos < 4)
            return false;
        pos += 4;                                 /* type, class */
        if (q == 0 && sink->query)
            sink->query(sink->user, name);
    }
    for (unsigned r = 0; response && r < records && r < DNS_MAX_RECORDS; r++) {
        if (!et_dns_name(msg, len, pos, name, sizeof(name), &pos) || len - pos < 10)
            return false;
        unsigned type = (unsigned)msg[pos] << 8 | msg[pos + 1];
        size_t rdlen = (size_t)msg[pos + 8] << 8 | msg[pos + 9];
        pos += 10;
        if (rdlen > len - pos)
            return false;
        if (sink->record)
            sink->record(sink->user, name, type, (et_span){ msg + pos, rdlen }, msg, len);
        pos += rdlen;
    }
    return true;
}

bool et_dns_next_txt(et_span rdata, size_t *pos, et_span *txt)
{
    if (*pos >= rdata.len)
        return false;
    size_t n = rdata.p[*pos];
    if (n > rdata.len - *pos - 1) {
        *pos = rdata.len;
        return false;
    }
    *txt = (et_span){ rdata.p + *pos + 1, n };
    *pos += 1 + n;
    return true;
}

/* ---- HTTP ---- */

static bool is_space(uint8_t b)
{
    return b == ' ' || b == '\t';
}

/* Every TCP segment is asked: most fail at the first byte. */
static bool starts_with_method(const uint8_t *p, size_t len)
{
#define METHOD(m) { m, sizeof(m) - 1 }
    static const struct { const char *text; size_t len; } methods[] = {
        METHOD("GET "), METHOD("POST "), METHOD("HEAD "), METHOD("PUT "), METHOD("DELETE "),
        METHOD("OPTIONS "), METHOD("CONNECT "), METHOD("PATCH "), METHOD("NOTIFY "),
        METHOD("M-SEARCH "), METHOD("SUBSCRIBE "), METHOD("UNSUBSCRIBE "),
    };
#undef METHOD
    for (size_t i = 0; len && i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (p[0] == (uint8_t)methods[i].text[0] && len >= methods[i].len &&
            memcmp(p, methods[i].text, methods[i].len) == 0)
            return true;
    }
    return false;
}

et_http_head et_http_request(const uint8_t *p, size_t len, et_span *host)
{
    if (!starts_with_method(p, len))
        return ET_HTTP_NOT_REQUEST;
    size_t line = 0;
    while (line < len) {
        const uint8_t *nl = memchr(p + line, '\n', len - line);
        if (nl == NULL)
            return ET_HTTP_PARTIAL;
        size_t end = (size_t)(nl - p), stop = end;
        if (stop > line && p[stop - 1] == '\r')
            stop--;
        if (stop == line)
            return ET_HTTP_NO_HOST;               /* the blank line */
        if (stop - line >= 5 && (p[line] | 0x20) == 'h' && (p[line + 1] | 0x20) == 'o' &&
            (p[line + 2] | 0x20) == 's' && (p[line + 3] | 0x20) == 't' && p[line + 4] == ':') {
            size_t a = line + 5;
            while (a < stop && is_space(p[a]))
                a++;
            while (stop > a && is_space(p[stop - 1]))
                stop--;
            *host = (et_span){ p + a, stop - a };
            return ET_HTTP_HOST;
        }
        line = end + 1;
    }
    return ET_HTTP_PARTIAL;
}

bool et_http_request_host(const uint8_t *p, size_t len, et_span *host)
{
    return et_http_request(p, len, host) == ET_HTTP_HOST;
}

/* ---- gQUIC ---- */

#define GQUIC_MAX_TAGS 64

/* A CHLO message: tag, number of entries, padding, then (tag, end offset) pairs and the values. */
static bool chlo_sni(const uint8_t *p, size_t len, et_span *name)
{
    cursor c = cursor_of(p, len);
    take(&c, 4, NULL);                            /* "CHLO" */
    const uint8_t *n_le;
    if (!take(&c, 2, &n_le))
        return false;
    size_t tags = (size_t)n_le[0] | (size_t)n_le[1] << 8;
    take(&c, 2, NULL);
    const uint8_t *index;
    if (tags > GQUIC_MAX_TAGS || !take(&c, tags * 8, &index))
        return false;
    const uint8_t *values = p + c.off;
    size_t values_len = left(&c), start = 0;
    for (size_t i = 0; i < tags; i++) {
        const uint8_t *e = index + i * 8;
        size_t end = (size_t)e[4] | (size_t)e[5] << 8 | (size_t)e[6] << 16 | (size_t)e[7] << 24;
        if (end < start || end > values_len)
            return false;
        if (memcmp(e, "SNI\0", 4) == 0) {
            *name = (et_span){ values + start, end - start };
            return true;
        }
        start = end;
    }
    return false;
}

/* Versions Q043-Q046 send the CHLO in the clear (Q050 on encrypt it like IETF QUIC): Q043 after
 * flags and an 8-byte connection id, Q046 after its long-header byte. */
bool et_gquic_chlo_sni(const uint8_t *p, size_t len, et_span *name)
{
    static const size_t version_at[] = { 9, 1 };
    for (size_t i = 0; i < 2; i++) {
        size_t v = version_at[i];
        if (len < v + 4 || p[v] != 'Q' || p[v + 1] != '0' || p[v + 2] != '4' || p[v + 3] < '3' || p[v + 3] > '6')
            continue;
        for (size_t at = v + 4; at + 4 <= len; at++) {
            if (memcmp(p + at, "CHLO", 4) == 0)
                return chlo_sni(p + at, len - at, name);
        }
    }
    return false;
}
