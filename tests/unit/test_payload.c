/* test_payload.c - unit tests of payload.[ch]: names parsed from TLS, X.509, DNS, HTTP and gQUIC
 * bytes, built here by hand (RFC 8446 / 5246 record and handshake layouts, X.690 DER, RFC 1035),
 * and hostile bytes: truncated, lengths past the end, compression loops.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "payload_bytes.h"

/* ---- TLS ---- */

typedef struct found {
    char sni[256];
    int n_sni, n_cert, n_alert;
    size_t cert_len;
    unsigned level, desc;
} found;

static void on_sni(void *user, et_span name)
{
    found *f = user;
    snprintf(f->sni, sizeof(f->sni), "%.*s", (int)name.len, (const char *)name.p);
    f->n_sni++;
}

static void on_cert(void *user, et_span der)
{
    found *f = user;
    f->cert_len = der.len;
    f->n_cert++;
}

static void on_alert(void *user, unsigned level, unsigned desc)
{
    found *f = user;
    f->level = level;
    f->desc = desc;
    f->n_alert++;
}

static uint8_t hs_space[16384];

static unsigned read_tls(et_tls_reader *r, const buf *stream, size_t avail, found *f)
{
    et_tls_sink sink = { on_sni, on_cert, on_alert, f };
    return et_tls_read(r, stream->b, avail, &sink);
}

static void test_client_hello_sni(void **state)
{
    buf body = { .n = 0 }, msg = { .n = 0 }, stream = { .n = 0 };
    client_hello_body(&body, "avs-alexa-4-na.amazon.com");
    handshake(&msg, 1, &body);
    record(&stream, 22, msg.b, msg.n);
    et_tls_reader r;
    et_tls_reader_init(&r, hs_space, sizeof(hs_space));
    found f = { .n_sni = 0 };
    /* Nothing until the record is whole. */
    assert_int_equal(read_tls(&r, &stream, stream.n - 1, &f), 0);
    assert_int_equal(f.n_sni, 0);
    assert_int_equal(read_tls(&r, &stream, stream.n, &f), 1);
    assert_int_equal(f.n_sni, 1);
    assert_string_equal(f.sni, "avs-alexa-4-na.amazon.com");
    /* Read once. */
    assert_int_equal(read_tls(&r, &stream, stream.n, &f), 0);
    assert_int_equal(f.n_sni, 1);
}

/* A ClientHello fragmented over three records (as a large post-quantum key share makes it). */
static void test_client_hello_over_records(void **state)
{
    buf body = { .n = 0 }, msg = { .n = 0 }, stream = { .n = 0 };
    client_hello_body(&body, "example.com");
    handshake(&msg, 1, &body);
    size_t a = 7, b = msg.n / 2;
    record(&stream, 22, msg.b, a);
    record(&stream, 22, msg.b + a, b - a);
    record(&stream, 22, msg.b + b, msg.n - b);
    et_tls_reader r;
    et_tls_reader_init(&r, hs_space, sizeof(hs_space));
    found f = { .n_sni = 0 };
    assert_int_equal(read_tls(&r, &stream, stream.n - 1, &f), 2);
    assert_int_equal(f.n_sni, 0);
    assert_int_equal(read_tls(&r, &stream, stream.n, &f), 1);
    assert_string_equal(f.sni, "example.com");
}

static void test_client_hello_hostile(void **state)
{
    buf body = { .n = 0 };
    client_hello_body(&body, "example.com");
    et_span name;
    assert_true(et_tls_client_hello_sni(body.b, body.n, &name));
    /* Every truncation fails or finds nothing, without reading past the end. */
    for (size_t n = 0; n < body.n; n++) {
        uint8_t *cut = exactly(&body, n);
        assert_false(et_tls_client_hello_sni(cut, n, &name));
        free(cut);
    }
    /* The name's length points past the end. */
    body.b[body.n - strlen("example.com") - 1] = 0xff;
    assert_false(et_tls_client_hello_sni(body.b, body.n, &name));
}

static void test_alerts_and_encrypted(void **state)
{
    buf stream = { .n = 0 };
    const uint8_t fatal_unknown_ca[] = { 2, 48 }, encrypted[26] = { 0 }, app[40] = { 0 };
    record(&stream, 21, encrypted, sizeof(encrypted));      /* an encrypted alert: no fields */
    record(&stream, 21, fatal_unknown_ca, 2);
    record(&stream, 23, app, sizeof(app));
    record(&stream, 21, fatal_unknown_ca, 2);               /* after application data: not read */
    et_tls_reader r;
    et_tls_reader_init(&r, hs_space, sizeof(hs_space));
    found f = { .n_alert = 0 };
    assert_int_equal(read_tls(&r, &stream, stream.n, &f), 3);
    assert_int_equal(f.n_alert, 1);
    assert_int_equal(f.level, 2);
    assert_int_equal(f.desc, 48);
    assert_true(r.finished);
}

static void test_not_tls(void **state)
{
    buf stream = { .n = 0 };
    put_str(&stream, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    et_tls_reader r;
    et_tls_reader_init(&r, hs_space, sizeof(hs_space));
    found f = { .n_sni = 0 };
    assert_int_equal(read_tls(&r, &stream, stream.n, &f), 0);
    assert_true(r.finished);
}

/* A handshake larger than the gathering space ends the reading, without writing past it. */
static void test_handshake_past_budget(void **state)
{
    static uint8_t small[64];
    buf body = { .n = 0 }, msg = { .n = 0 }, stream = { .n = 0 };
    client_hello_body(&body, "example.com");
    handshake(&msg, 1, &body);
    record(&stream, 22, msg.b, msg.n);
    et_tls_reader r;
    et_tls_reader_init(&r, small, sizeof(small));
    found f = { .n_sni = 0 };
    read_tls(&r, &stream, stream.n, &f);
    assert_true(r.finished);
    assert_int_equal(f.n_sni, 0);
}

/* ---- X.509 ---- */

static void test_x509_names(void **state)
{
    buf issuer = { .n = 0 }, subject = { .n = 0 }, cert = { .n = 0 };
    rdn(&issuer, OID_O, 3, 0x13, "Amazon", 6);
    rdn(&issuer, OID_CN, 3, 0x13, "Amazon RSA 2048 M02", 19);
    rdn(&subject, OID_CN, 3, 0x0c, "avs-alexa-4-na.amazon.com", 25);
    rdn(&subject, OID_CN, 3, 0x0c, "second.example", 14);
    const char *sans[] = { "avs-alexa-4-na.amazon.com", "*.amazon.com" };
    certificate(&cert, &issuer, &subject, sans, 2, true);

    et_x509_names x;
    assert_true(et_x509_read(cert.b, cert.n, &x));
    assert_true(x.has_subject_cn);
    assert_string_equal(x.subject_cn, "avs-alexa-4-na.amazon.com");    /* the first CN */
    assert_string_equal(x.issuer_cn, "Amazon RSA 2048 M02");
    size_t pos = 0;
    et_span name;
    assert_true(et_x509_next_dnsname(x.san, &pos, &name));
    assert_memory_equal(name.p, "avs-alexa-4-na.amazon.com", name.len);
    assert_true(et_x509_next_dnsname(x.san, &pos, &name));
    assert_int_equal(name.len, strlen("*.amazon.com"));
    assert_memory_equal(name.p, "*.amazon.com", name.len);
    assert_false(et_x509_next_dnsname(x.san, &pos, &name));

    /* Every truncation: no crash, no read past the end. */
    for (size_t n = 0; n < cert.n; n++) {
        uint8_t *cut = exactly(&cert, n);
        if (et_x509_read(cut, n, &x)) {
            pos = 0;
            while (et_x509_next_dnsname(x.san, &pos, &name))
                assert_true(name.p + name.len <= cut + n);
        }
        free(cut);
    }
}

/* No CN (O only), a BMPString CN, a non-ASCII byte in a PrintableString, no SAN extension. */
static void test_x509_string_types(void **state)
{
    buf issuer = { .n = 0 }, subject = { .n = 0 }, cert = { .n = 0 };
    rdn(&issuer, OID_O, 3, 0x13, "Internet Widgits Pty Ltd", 24);
    rdn(&subject, OID_CN, 3, 0x1e, "\x00h\x00\xe9", 4);          /* "hé" in UCS-2 */
    certificate(&cert, &issuer, &subject, NULL, 0, false);
    et_x509_names x;
    assert_true(et_x509_read(cert.b, cert.n, &x));
    assert_false(x.has_issuer_cn);
    assert_string_equal(x.subject_cn, "h\xc3\xa9");

    subject.n = cert.n = 0;
    rdn(&subject, OID_CN, 3, 0x13, "a\xff", 2);
    certificate(&cert, &issuer, &subject, NULL, 0, false);
    assert_true(et_x509_read(cert.b, cert.n, &x));
    assert_string_equal(x.subject_cn, "a\xef\xbf\xbd");
}

static void test_x509_hostile(void **state)
{
    et_x509_names x;
    const uint8_t huge_len[] = { 0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x30 };
    const uint8_t long_form_5[] = { 0x30, 0x85, 1, 0, 0, 0, 0 };
    const uint8_t indefinite[] = { 0x30, 0x80, 0x30, 0x80, 0, 0, 0, 0 };
    assert_false(et_x509_read(huge_len, sizeof(huge_len), &x));
    assert_false(et_x509_read(long_form_5, sizeof(long_form_5), &x));
    assert_false(et_x509_read(indefinite, sizeof(indefinite), &x));
    assert_false(et_x509_read(NULL, 0, &x));
    /* A SAN whose element length points past its end. */
    const uint8_t san[] = { 0x82, 0x05, 'a', 'b' };
    size_t pos = 0;
    et_span name;
    assert_false(et_x509_next_dnsname((et_span){ san, sizeof(san) }, &pos, &name));
}

/* A Certificate message in a TLS record, as the server sends it after its ServerHello. */
static void test_certificate_message(void **state)
{
    buf issuer = { .n = 0 }, subject = { .n = 0 }, cert = { .n = 0 }, body = { .n = 0 }, msg = { .n = 0 };
    rdn(&issuer, OID_CN, 3, 0x13, "CA", 2);
    rdn(&subject, OID_CN, 3, 0x13, "leaf", 4);
    certificate(&cert, &issuer, &subject, NULL, 0, false);
    put_u24(&body, 3 + cert.n + 3 + 2);
    put_u24(&body, cert.n);
    put(&body, cert.b, cert.n);
    put_u24(&body, 2);                                 /* a second, bogus, certificate */
    put_u16(&body, 0);
    buf hello = { .n = 0 };
    put_u16(&hello, 0x0303);
    handshake(&msg, 2, &hello);                         /* ServerHello (not read) */
    handshake(&msg, 11, &body);
    buf stream = { .n = 0 };
    record(&stream, 22, msg.b, msg.n);
    et_tls_reader r;
    et_tls_reader_init(&r, hs_space, sizeof(hs_space));
    found f = { .n_cert = 0 };
    read_tls(&r, &stream, stream.n, &f);
    assert_int_equal(f.n_cert, 1);
    assert_int_equal(f.cert_len, cert.n);
}

/* ---- DNS ---- */

typedef struct dns_found {
    char query[ET_DNS_MAX_NAME];
    char owners[8][ET_DNS_MAX_NAME];
    unsigned types[8];
    char cname[ET_DNS_MAX_NAME];
    int n;
} dns_found;

static void on_query(void *user, const char *name)
{
    snprintf(((dns_found *)user)->query, ET_DNS_MAX_NAME, "%s", name);
}

static void on_record(void *user, const char *owner, unsigned type, et_span rdata, const uint8_t *msg, size_t len)
{
    dns_found *f = user;
    if (f->n < 8) {
        snprintf(f->owners[f->n], ET_DNS_MAX_NAME, "%s", owner);
        f->types[f->n++] = type;
    }
    size_t end;
    if (type == ET_DNS_CNAME)
        assert_true(et_dns_name(msg, len, (size_t)(rdata.p - msg), f->cname, sizeof(f->cname), &end));
}

static void dns_label_name(buf *b, const char *dotted)
{
    const char *s = dotted;
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        put_u8(b, (unsigned)n);
        put(b, s, n);
        s += n + (dot ? 1 : 0);
    }
    put_u8(b, 0);
}

static void rr(buf *b, const void *owner, size_t owner_len, unsigned type, const void *rdata, size_t n)
{
    put(b, owner, owner_len);
    put_u16(b, type);
    put_u16(b, 1);
    put_u16(b, 0);
    put_u16(b, 60);
    put_u16(b, (unsigned)n);
    put(b, rdata, n);
}

/* www.example.com CNAME edge.cdn.net (compressed), edge.cdn.net A 1.2.3.4, AAAA. */
static void dns_response(buf *b)
{
    const uint8_t header[] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0 };
    put(b, header, sizeof(header));
    dns_label_name(b, "www.example.com");           /* at offset 12 */
    put_u16(b, 1);
    put_u16(b, 1);
    buf target = { .n = 0 };
    dns_label_name(&target, "edge.cdn.net");
    const uint8_t to_query[] = { 0xc0, 12 };
    size_t target_at = b->n + 2 + 10;
    rr(b, to_query, 2, ET_DNS_CNAME, target.b, target.n);
    const uint8_t to_target[] = { 0xc0, (uint8_t)target_at };
    rr(b, to_target, 2, ET_DNS_A, "\x01\x02\x03\x04", 4);
    rr(b, to_target, 2, ET_DNS_AAAA, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
}

static void test_dns_cname_chain(void **state)
{
    buf m = { .n = 0 };
    dns_response(&m);
    dns_found f = { .n = 0 };
    et_dns_sink sink = { on_query, on_record, &f };
    assert_true(et_dns_read(m.b, m.n, &sink));
    assert_string_equal(f.query, "www.example.com");
    assert_int_equal(f.n, 3);
    assert_string_equal(f.owners[0], "www.example.com");
    assert_string_equal(f.cname, "edge.cdn.net");
    assert_string_equal(f.owners[1], "edge.cdn.net");
    assert_int_equal(f.types[1], ET_DNS_A);
    assert_int_equal(f.types[2], ET_DNS_AAAA);
    /* Every truncation: no read past the end (the records before the cut are given). */
    for (size_t n = 0; n < m.n; n++) {
        dns_found g = { .n = 0 };
        uint8_t *cut = exactly(&m, n);
        assert_false(et_dns_read(cut, n, &(et_dns_sink){ on_query, on_record, &g }));
        free(cut);
    }
}

static void test_dns_hostile_names(void **state)
{
    char out[ET_DNS_MAX_NAME];
    size_t end;
    const uint8_t self_loop[] = { 0xc0, 0x00 };
    const uint8_t two_loop[] = { 0x01, 'a', 0xc0, 0x04, 0x01, 'b', 0xc0, 0x00 };
    const uint8_t past_end[] = { 0xc0, 0x40 };
    const uint8_t label_past_end[] = { 0x05, 'a', 'b' };
    const uint8_t half_pointer[] = { 0x01, 'a', 0xc0 };
    const uint8_t ext_label[] = { 0x41, 'a', 0 };
    assert_false(et_dns_name(self_loop, sizeof(self_loop), 0, out, sizeof(out), &end));
    assert_false(et_dns_name(two_loop, sizeof(two_loop), 0, out, sizeof(out), &end));
    assert_false(et_dns_name(past_end, sizeof(past_end), 0, out, sizeof(out), &end));
    assert_false(et_dns_name(label_past_end, sizeof(label_past_end), 0, out, sizeof(out), &end));
    assert_false(et_dns_name(half_pointer, sizeof(half_pointer), 0, out, sizeof(out), &end));
    assert_false(et_dns_name(ext_label, sizeof(ext_label), 0, out, sizeof(out), &end));
    const uint8_t root[] = { 0 };
    assert_true(et_dns_name(root, 1, 0, out, sizeof(out), &end));
    assert_string_equal(out, "<Root>");
    assert_int_equal(end, 1);
    /* A name longer than the text form is cut, never overflowing it. */
    uint8_t long_name[300];
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        long_name[n++] = 63;
        memset(long_name + n, 'x', 63);
        n += 63;
    }
    long_name[n++] = 0;
    char small[40];
    assert_true(et_dns_name(long_name, n, 0, small, sizeof(small), &end));
    assert_true(strlen(small) < sizeof(small));
    assert_int_equal(end, n);
}

/* mDNS: a response with no question and TXT strings; a record count past the message. */
static void test_dns_txt_and_counts(void **state)
{
    buf m = { .n = 0 };
    const uint8_t header[] = { 0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
    put(&m, header, sizeof(header));
    buf owner = { .n = 0 }, txt = { .n = 0 };
    dns_label_name(&owner, "Kitchen._googlecast._tcp.local");
    put_u8(&txt, 6);
    put_str(&txt, "md=Hub");
    put_u8(&txt, 0);
    put_u8(&txt, 9);                    /* past the end */
    put_str(&txt, "ab");
    rr(&m, owner.b, owner.n, ET_DNS_TXT, txt.b, txt.n);
    dns_found f = { .n = 0 };
    assert_true(et_dns_read(m.b, m.n, &(et_dns_sink){ NULL, on_record, &f }));
    assert_int_equal(f.types[0], ET_DNS_TXT);
    et_span rdata = { txt.b, txt.n }, s;
    size_t pos = 0;
    assert_true(et_dns_next_txt(rdata, &pos, &s));
    assert_memory_equal(s.p, "md=Hub", 6);
    assert_true(et_dns_next_txt(rdata, &pos, &s));
    assert_int_equal(s.len, 0);
    assert_false(et_dns_next_txt(rdata, &pos, &s));
    assert_false(et_dns_next_txt(rdata, &pos, &s));

    m.b[7] = 0xff;                      /* 255 answers claimed, one present */
    f.n = 0;
    assert_false(et_dns_read(m.b, m.n, &(et_dns_sink){ NULL, on_record, &f }));
    assert_int_equal(f.n, 1);
    /* A query's records are not read. */
    m.b[2] = 0x01;
    f.n = 0;
    assert_true(et_dns_read(m.b, m.n, &(et_dns_sink){ NULL, on_record, &f }));
    assert_int_equal(f.n, 0);
}

/* ---- HTTP ---- */

static bool host_of(const char *s, char *out)
{
    et_span h;
    if (!et_http_request_host((const uint8_t *)s, strlen(s), &h))
        return false;
    snprintf(out, 256, "%.*s", (int)h.len, (const char *)h.p);
    return true;
}

static void test_http_host(void **state)
{
    char h[256];
    assert_true(host_of("GET /x HTTP/1.1\r\nUser-Agent: a\r\nhOsT:  example.com:8080 \r\n\r\n", h));
    assert_string_equal(h, "example.com:8080");
    assert_true(host_of("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n", h));
    assert_string_equal(h, "239.255.255.250:1900");
    assert_true(host_of("GET / HTTP/1.0\nHost:x\n\n", h));
    assert_string_equal(h, "x");
    assert_false(host_of("GET / HTTP/1.1\r\nAccept: */*\r\n\r\nHost: body\r\n", h));
    assert_false(host_of("HTTP/1.1 200 OK\r\nHost: response\r\n\r\n", h));
    assert_false(host_of("GET / HTTP/1.1\r\nHost: cut", h));
    assert_false(host_of("", h));
    assert_true(host_of("GET / HTTP/1.1\r\nHost:\r\n\r\n", h));
    assert_string_equal(h, "");
}

/* ---- gQUIC ---- */

static void test_gquic_chlo(void **state)
{
    buf p = { .n = 0 };
    put_u8(&p, 0x09);                   /* Q043: public flags, 8-byte connection id, version */
    put(&p, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
    put_str(&p, "Q043");
    put_u8(&p, 1);                      /* packet number */
    put(&p, "012345678901", 12);        /* message authentication hash */
    put_u8(&p, 0xa0);                   /* STREAM frame */
    put_u8(&p, 1);
    put_str(&p, "CHLO");
    put(&p, "\x02\x00\x00\x00", 4);     /* two tags */
    put(&p, "PAD\0\x03\x00\x00\x00", 8);
    put(&p, "SNI\0\x11\x00\x00\x00", 8);
    put_str(&p, "...www.google.com");
    et_span name;
    assert_true(et_gquic_chlo_sni(p.b, p.n, &name));
    assert_int_equal(name.len, 14);
    assert_memory_equal(name.p, "www.google.com", 14);
    /* An end offset past the values, and every truncation. */
    for (size_t n = 0; n < p.n; n++) {
        uint8_t *cut = exactly(&p, n);
        assert_false(et_gquic_chlo_sni(cut, n, &name) && name.p + name.len > cut + n);
        free(cut);
    }
    p.b[p.n - 17 - 4] = 0x7f;
    assert_false(et_gquic_chlo_sni(p.b, p.n, &name));
    /* Q050 on: encrypted, not read. */
    p.b[11] = '5';
    p.b[12] = '0';
    assert_false(et_gquic_chlo_sni(p.b, p.n, &name));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_hello_sni),
        cmocka_unit_test(test_client_hello_over_records),
        cmocka_unit_test(test_client_hello_hostile),
        cmocka_unit_test(test_alerts_and_encrypted),
        cmocka_unit_test(test_not_tls),
        cmocka_unit_test(test_handshake_past_budget),
        cmocka_unit_test(test_x509_names),
        cmocka_unit_test(test_x509_string_types),
        cmocka_unit_test(test_x509_hostile),
        cmocka_unit_test(test_certificate_message),
        cmocka_unit_test(test_dns_cname_chain),
        cmocka_unit_test(test_dns_hostile_names),
        cmocka_unit_test(test_dns_txt_and_counts),
        cmocka_unit_test(test_http_host),
        cmocka_unit_test(test_gquic_chlo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
