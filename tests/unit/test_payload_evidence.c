/* test_payload_evidence.c - unit tests of payload_evidence.[ch]: the payload path's names reach
 * the flow state as evidence.c's do: a ClientHello split over segments that arrive out of order
 * and twice, the server's certificate and the device's alert, DNS answers with a CNAME chain, and
 * the handshake buffers freed once read.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "flows.h"
#include "payload.h"
#include "payload_bytes.h"
#include "payload_evidence.h"
#include "unit_helpers.h"

#define SERVER ip4(52, 94, 1, 2)
#define ISN_UP 1000u
#define ISN_DOWN 9000u

typedef struct fixture {
    et_ruleset *rules;
    et_flows *flows;
    et_payload_evidence *pe;
    et_flow *fl;
    int refused;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    fx->rules = et_ruleset_new();
    et_ruleset_add_builtin(fx->rules);
    et_flow_config cfg = { .use_cert = true, .use_dns = true, .use_same_ip = true };
    fx->flows = et_flows_new(fx->rules, &cfg);
    fx->pe = et_payload_evidence_new(ET_HANDSHAKE_BUDGET);
    et_addr speaker = SPEAKER, server = SERVER;
    fx->fl = et_flows_add(fx->flows, 6, &speaker, 50000, &server, 443, 0x002, 0.0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    et_payload_evidence_free(fx->pe);
    et_flows_free(fx->flows);
    et_ruleset_free(fx->rules);
    free(fx);
    return 0;
}

static void refused(void *user, et_name_kind kind)
{
    ((fixture *)user)->refused++;
}

/* A TCP segment of the test flow: seq counts from the direction's first payload byte. */
static void segment(fixture *fx, bool up, uint32_t offset, const uint8_t *p, size_t len, int flags, uint32_t frame)
{
    et_flow *fl = fx->fl;
    et_segment seg = {
        .proto = 6, .src = up ? fl->client : fl->server, .dst = up ? fl->server : fl->client,
        .sport = up ? fl->client_port : fl->server_port, .dport = up ? fl->server_port : fl->client_port,
        .seq = (up ? ISN_UP : ISN_DOWN) + 1 + offset, .tcp_flags = flags, .payload = p, .len = len,
        .frame = frame, .use_cert = true, .refused = refused, .refused_user = fx,
    };
    et_payload_gather(fx->pe, fx->flows, fl, up, &seg);
}

static void handshake_start(fixture *fx)
{
    segment(fx, true, (uint32_t)-1, NULL, 0, 0x002, 1);
    segment(fx, false, (uint32_t)-1, NULL, 0, 0x012, 2);
}

static void client_hello(buf *stream, const char *sni)
{
    buf body = { .n = 0 }, msg = { .n = 0 };
    client_hello_body(&body, sni);
    handshake(&msg, 1, &body);
    record(stream, 22, msg.b, msg.n);
}

static void test_split_client_hello_out_of_order(void **state)
{
    fixture *fx = *state;
    handshake_start(fx);
    buf hello = { .n = 0 };
    client_hello(&hello, "avs-alexa-4-na.amazon.com");
    size_t half = hello.n / 2;
    segment(fx, true, (uint32_t)half, hello.b + half, hello.n - half, 0x018, 3);      /* second half first */
    assert_null(fx->fl->ev_host[ET_EV_SNI]);
    segment(fx, true, (uint32_t)half, hello.b + half, hello.n - half, 0x018, 4);      /* and again */
    segment(fx, true, 0, hello.b, half, 0x018, 5);
    assert_string_equal(fx->fl->ev_host[ET_EV_SNI], "avs-alexa-4-na.amazon.com");
    assert_string_equal(fx->fl->service, "avs");
    assert_int_equal(fx->refused, 0);
}

/* An HTTP request head over three segments, the last two out of order: its Host once the head is
 * whole from the stream's start, as Wireshark's reassembly gives it; a head whole in the first
 * segment is read once. */
static void test_http_head_split_over_segments(void **state)
{
    fixture *fx = *state;
    handshake_start(fx);
    const char *head = "GET /1/meta.json HTTP/1.1\r\nUser-Agent: x\r\nHost: prod.amazoncrl.com\r\n\r\n";
    const uint8_t *p = (const uint8_t *)head;
    size_t n = strlen(head);
    segment(fx, true, 0, p, 20, 0x018, 3);
    segment(fx, true, 40, p + 40, n - 40, 0x018, 4);
    assert_null(fx->fl->ev_host[ET_EV_HTTP_HOST]);
    segment(fx, true, 20, p + 20, 20, 0x018, 5);
    assert_string_equal(fx->fl->ev_host[ET_EV_HTTP_HOST], "prod.amazoncrl.com");
    assert_int_equal(fx->refused, 0);
    assert_int_equal(et_payload_evidence_open(fx->pe), 1);
    segment(fx, false, 0, (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n", 19, 0x018, 6);
    assert_int_equal(et_payload_evidence_open(fx->pe), 0);
}

static void test_http_head_in_one_segment(void **state)
{
    fixture *fx = *state;
    handshake_start(fx);
    const char *head = "GET / HTTP/1.1\r\nHost: bad_name!\r\n\r\n";
    segment(fx, true, 0, (const uint8_t *)head, strlen(head), 0x018, 3);
    assert_int_equal(fx->refused, 1);           /* refused once: not also from the stream */
}

static void server_certificate(buf *stream, const char *issuer_cn, const char *const *sans, size_t n_sans)
{
    buf issuer = { .n = 0 }, subject = { .n = 0 }, cert = { .n = 0 }, body = { .n = 0 }, msg = { .n = 0 };
    rdn(&issuer, OID_CN, 3, 0x13, issuer_cn, strlen(issuer_cn));
    rdn(&subject, OID_CN, 3, 0x13, sans[0], strlen(sans[0]));
    certificate(&cert, &issuer, &subject, sans, n_sans, false);
    put_u24(&body, 3 + cert.n);
    put_u24(&body, cert.n);
    put(&body, cert.b, cert.n);
    handshake(&msg, 11, &body);
    record(stream, 22, msg.b, msg.n);
}

/* The server's certificate (issuer, names) and the device's fatal unknown_ca alert: interception.
 * After both directions end their handshake in the clear, the buffers are freed. */
static void test_certificate_alert_and_freeing(void **state)
{
    fixture *fx = *state;
    handshake_start(fx);
    buf hello = { .n = 0 };
    client_hello(&hello, "avs-alexa-4-na.amazon.com");
    segment(fx, true, 0, hello.b, hello.n, 0x018, 3);
    assert_int_equal(et_payload_evidence_open(fx->pe), 1);

    buf flight = { .n = 0 };
    const char *sans[] = { "avs-alexa-4-na.amazon.com", "bad name!" };
    server_certificate(&flight, "Mallory CA", sans, 2);
    segment(fx, false, 0, flight.b, flight.n, 0x018, 4);
    assert_int_equal(fx->fl->cert_frame, 4);
    assert_string_equal(fx->fl->cert_issuer, "Mallory CA");
    assert_int_equal(fx->fl->cert_names, 2);           /* the CN and the valid SAN */
    assert_int_equal(fx->refused, 1);                  /* "bad name!" */

    buf alert = { .n = 0 };
    const uint8_t unknown_ca[] = { 2, 48 };
    record(&alert, 21, unknown_ca, 2);
    segment(fx, true, (uint32_t)hello.n, alert.b, alert.n, 0x018, 5);
    assert_int_equal(fx->fl->rejected_alert, 48);
    assert_int_equal(fx->fl->rejected_frame, 5);

    const uint8_t app[30] = { 0 };
    buf up_app = { .n = 0 }, down_app = { .n = 0 };
    record(&up_app, 23, app, sizeof(app));
    record(&down_app, 23, app, sizeof(app));
    segment(fx, true, (uint32_t)(hello.n + alert.n), up_app.b, up_app.n, 0x018, 6);
    assert_int_equal(et_payload_evidence_open(fx->pe), 1);
    segment(fx, false, (uint32_t)flight.n, down_app.b, down_app.n, 0x018, 7);
    assert_int_equal(et_payload_evidence_open(fx->pe), 0);
}

/* A DNS answer (query CNAME target, target A address): a later flow to that address is named by
 * the query. */
static void test_dns_answer_names_later_flow(void **state)
{
    fixture *fx = *state;
    buf m = { .n = 0 };
    const uint8_t header[] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0 };
    put(&m, header, sizeof(header));
    const uint8_t qname[] = "\x07" "avs-cdn" "\x06" "amazon" "\x03" "com";
    put(&m, qname, sizeof(qname));
    put_u16(&m, 1);
    put_u16(&m, 1);
    const uint8_t to_query[] = { 0xc0, 12 }, rr_tail[] = { 0, 1, 0, 0, 0, 60 };
    put(&m, to_query, 2);
    put_u16(&m, 5);
    put(&m, rr_tail, sizeof(rr_tail));
    const uint8_t target[] = "\x04" "edge" "\x03" "cdn" "\x03" "net";
    size_t target_at = m.n + 2;
    put_u16(&m, sizeof(target));
    put(&m, target, sizeof(target));
    const uint8_t to_target[] = { 0xc0, (uint8_t)target_at };
    put(&m, to_target, 2);
    put_u16(&m, 1);
    put(&m, rr_tail, sizeof(rr_tail));
    put_u16(&m, 4);
    put(&m, "\x34\x5e\x09\x09", 4);

    et_addr speaker = SPEAKER, resolver = ip4(192, 168, 1, 1), answer = ip4(52, 94, 9, 9);
    et_flow *dns = et_flows_add(fx->flows, 17, &speaker, 40000, &resolver, 53, -1, 1.0);
    et_segment seg = { .proto = 17, .src = resolver, .dst = speaker, .sport = 53, .dport = 40000,
                       .tcp_flags = -1, .payload = m.b, .len = m.n, .frame = 9, .t = 1.0 };
    et_payload_gather(fx->pe, fx->flows, dns, false, &seg);
    et_flow *later = et_flows_add(fx->flows, 6, &speaker, 50001, &answer, 443, 0x002, 2.0);
    assert_string_equal(later->ev_host[ET_EV_DNS], "avs-cdn.amazon.com");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_split_client_hello_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_head_split_over_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_head_in_one_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_certificate_alert_and_freeing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dns_answer_names_later_flow, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
