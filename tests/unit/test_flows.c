/* test_flows.c - unit tests of flows.[ch]: devices, direction, evidence, classification, change log.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Expected values come from doc/classification.md (the contract) and, for address text,
 * RFC 5952 / the usual private and local address ranges.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "flow_record.h"
#include "flows.h"
#include "unit_helpers.h"

#define TCP 6
#define UDP 17
#define SYN 0x02
#define ACK 0x10
#define PSH 0x08

/* ---- helpers ---- */


static et_addr ip6(const char *text)
{
    uint8_t bytes[16];
    if (inet_pton(AF_INET6, text, bytes) != 1)
        fail_msg("bad IPv6 literal in the test: %s", text);
    et_addr x;
    et_addr_set(&x, 6, bytes);
    return x;
}

static const char *addr_text(const et_addr *a)
{
    static char buf[64];
    return et_addr_to_str(a, buf, sizeof(buf));
}

typedef struct fixture {
    et_ruleset *rules;
    et_flows *flows;
    et_flow_config cfg;
} fixture;

static const char *test_resolver(void *user, const et_addr *a)
{
    (void)user;
    et_addr known = ip4(52, 94, 99, 99);
    return et_addr_equal(a, &known) ? "Host.Resolved.Example." : NULL;
}

static fixture *fixture_new(bool use_cert, bool use_dns, bool use_same_ip, bool resolve)
{
    fixture *fx = calloc(1, sizeof(*fx));
    fx->rules = et_ruleset_new();
    et_ruleset_add_builtin(fx->rules);
    fx->cfg.use_cert = use_cert;
    fx->cfg.use_dns = use_dns;
    fx->cfg.use_same_ip = use_same_ip;
    fx->cfg.resolve = resolve ? test_resolver : NULL;
    fx->flows = et_flows_new(fx->rules, &fx->cfg);
    return fx;
}

static int setup_all(void **state)
{
    *state = fixture_new(true, true, true, true);
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    if (fx == NULL)
        return 0;
    et_flows_free(fx->flows);
    et_ruleset_free(fx->rules);
    free(fx);
    return 0;
}

/* Addresses used below (and SPEAKER, PHONE: unit_helpers.h). */
#define AVS_SERVER ip4(52, 94, 1, 1)
#define SERVER2 ip4(52, 94, 2, 2)

/* A TCP flow from its SYN. */
static et_flow *tcp_flow(fixture *fx, et_addr client, uint16_t cport, et_addr server, uint16_t sport, double t)
{
    return et_flows_add(fx->flows, TCP, &client, cport, &server, sport, SYN, t);
}

static void sni(fixture *fx, et_flow *fl, const char *name)
{
    assert_true(et_flows_add_sni(fx->flows, fl, name, strlen(name)));
}

static void dns(fixture *fx, const char *name, et_addr addr, et_addr client, double t)
{
    assert_true(et_flows_add_dns(fx->flows, name, strlen(name), &addr, &client, t));
}

static et_device *device_of(fixture *fx, const et_flow *fl)
{
    et_device *d = et_flows_device(fx->flows, fl->device);
    assert_non_null(d);
    return d;
}

/* Is id in the change log at or after position from? */
static bool changed_since(fixture *fx, size_t from, uint32_t id)
{
    const uint32_t *ids;
    size_t n = et_flows_changes(fx->flows, &ids);
    for (size_t i = from; i < n; i++) {
        if (ids[i] == id)
            return true;
    }
    return false;
}

static size_t changes(fixture *fx)
{
    const uint32_t *ids;
    return et_flows_changes(fx->flows, &ids);
}

/* ---- device (client) decision ---- */

static void assert_client(const et_flow *fl, et_addr client, uint16_t cport, et_addr server, uint16_t sport)
{
    assert_true(et_addr_equal(&fl->client, &client));
    assert_int_equal(fl->client_port, cport);
    assert_true(et_addr_equal(&fl->server, &server));
    assert_int_equal(fl->server_port, sport);
}

static void test_client_syn(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = AVS_SERVER;
    et_flow *fl = et_flows_add(fx->flows, TCP, &a, 50000, &s, 443, SYN, 0);
    assert_client(fl, a, 50000, s, 443);
    assert_true(et_addr_equal(&device_of(fx, fl)->addr, &a));
    assert_int_equal(fl->proto, TCP);

    /* The SYN sender is the client even from a low port to a high one. */
    et_addr x = ip4(10, 0, 0, 5), y = ip4(10, 0, 0, 6);
    fl = et_flows_add(fx->flows, TCP, &x, 80, &y, 50000, SYN, 0);
    assert_client(fl, x, 80, y, 50000);
    assert_true(et_addr_equal(&device_of(fx, fl)->addr, &x));
}

static void test_client_synack(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = AVS_SERVER;
    /* The capture starts at the SYN/ACK: its receiver is the client. */
    et_flow *fl = et_flows_add(fx->flows, TCP, &s, 443, &a, 50000, SYN | ACK, 0);
    assert_client(fl, a, 50000, s, 443);
    assert_true(et_addr_equal(&device_of(fx, fl)->addr, &a));
    /* Also when the ports would say otherwise. */
    et_addr x = ip4(10, 0, 0, 5), y = ip4(10, 0, 0, 6);
    fl = et_flows_add(fx->flows, TCP, &x, 50000, &y, 80, SYN | ACK, 0);
    assert_client(fl, y, 80, x, 50000);
}

static void test_client_low_port(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = AVS_SERVER;
    /* No SYN in the capture: mid-stream packet from the server. */
    et_flow *fl = et_flows_add(fx->flows, TCP, &s, 443, &a, 50000, ACK | PSH, 0);
    assert_client(fl, a, 50000, s, 443);
    /* Mid-stream packet from the client. */
    fl = et_flows_add(fx->flows, TCP, &a, 50001, &s, 443, ACK, 0);
    assert_client(fl, a, 50001, s, 443);
    /* UDP: no flags. */
    et_addr dnss = ip4(8, 8, 8, 8);
    fl = et_flows_add(fx->flows, UDP, &a, 40000, &dnss, 53, -1, 0);
    assert_client(fl, a, 40000, dnss, 53);
    assert_int_equal(fl->proto, UDP);
    fl = et_flows_add(fx->flows, UDP, &dnss, 123, &a, 40001, -1, 0);
    assert_client(fl, a, 40001, dnss, 123);
    /* Port 1023 is below 1024, 1024 is not. */
    fl = et_flows_add(fx->flows, UDP, &dnss, 1023, &a, 1024, -1, 0);
    assert_client(fl, a, 1024, dnss, 1023);
}

static void test_client_higher_port(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, b = PHONE;
    et_flow *fl = et_flows_add(fx->flows, UDP, &a, 5000, &b, 6000, -1, 0);
    assert_client(fl, b, 6000, a, 5000);
    fl = et_flows_add(fx->flows, UDP, &a, 6001, &b, 5001, -1, 0);
    assert_client(fl, a, 6001, b, 5001);
    /* Both below 1024: still the higher port. */
    fl = et_flows_add(fx->flows, UDP, &a, 500, &b, 80, -1, 0);
    assert_client(fl, a, 500, b, 80);
    fl = et_flows_add(fx->flows, UDP, &a, 81, &b, 501, -1, 0);
    assert_client(fl, b, 501, a, 81);
    /* TCP without SYN, same rule. */
    fl = et_flows_add(fx->flows, TCP, &a, 5002, &b, 6002, ACK, 0);
    assert_client(fl, b, 6002, a, 5002);
}

static void test_client_equal_ports(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, b = PHONE, ntp = ip4(52, 94, 3, 3);
    /* Equal ports: the sender of the first packet. */
    et_flow *fl = et_flows_add(fx->flows, UDP, &a, 123, &ntp, 123, -1, 0);
    assert_client(fl, a, 123, ntp, 123);
    fl = et_flows_add(fx->flows, UDP, &b, 5353, &a, 5353, -1, 0);
    assert_client(fl, b, 5353, a, 5353);
    fl = et_flows_add(fx->flows, TCP, &ntp, 40000, &a, 40000, ACK, 0);
    assert_client(fl, ntp, 40000, a, 40000);
}

static void test_direction(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = AVS_SERVER;
    et_flow *fl = et_flows_add(fx->flows, TCP, &s, 443, &a, 50000, SYN | ACK, 0);
    assert_true(et_flow_is_up(fl, &a, 50000));
    assert_false(et_flow_is_up(fl, &s, 443));

    /* A flow between two ports of one host: the port decides. */
    fl = et_flows_add(fx->flows, TCP, &a, 6000, &a, 5000, ACK, 0);
    assert_true(et_flow_is_up(fl, &a, 6000));
    assert_false(et_flow_is_up(fl, &a, 5000));

    /* IPv6 and an IPv4 address with the same leading bytes are different hosts. */
    et_addr v6 = ip6("c0a8:10a::1");
    fl = et_flows_add(fx->flows, UDP, &a, 40000, &s, 53, -1, 0);
    assert_false(et_flow_is_up(fl, &v6, 40000));
}

/* The 5-tuple index: either direction finds the flow; protocol, ports, addresses and family
 * tell flows apart; a flow added later for the same 5-tuple (a TCP port reused) replaces it. */
static void test_find_by_tuple(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = AVS_SERVER;
    assert_null(et_flows_find(fx->flows, TCP, &a, 50000, &s, 443));
    et_flow *fl = et_flows_add(fx->flows, TCP, &a, 50000, &s, 443, SYN, 0);
    assert_ptr_equal(et_flows_find(fx->flows, TCP, &a, 50000, &s, 443), fl);
    assert_ptr_equal(et_flows_find(fx->flows, TCP, &s, 443, &a, 50000), fl);
    assert_null(et_flows_find(fx->flows, UDP, &a, 50000, &s, 443));
    assert_null(et_flows_find(fx->flows, TCP, &a, 50001, &s, 443));
    assert_null(et_flows_find(fx->flows, TCP, &a, 443, &s, 50000));
    et_addr v6 = ip6("c0a8:10a::1"), s6 = ip6("3400:1::1");
    assert_null(et_flows_find(fx->flows, TCP, &v6, 50000, &s6, 443));

    et_flow *again = et_flows_add(fx->flows, TCP, &a, 50000, &s, 443, SYN, 5);
    assert_int_not_equal(again->id, fl->id);
    assert_ptr_equal(et_flows_find(fx->flows, TCP, &s, 443, &a, 50000), again);

    /* Another 5-tuple mapped to an existing flow (one Wireshark conversation over both). */
    et_flows_map(fx->flows, fl, TCP, &a, 50002, &s, 443);
    assert_ptr_equal(et_flows_find(fx->flows, TCP, &s, 443, &a, 50002), fl);
    assert_ptr_equal(et_flows_find(fx->flows, TCP, &a, 50000, &s, 443), again);
}

static void test_devices(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, b = PHONE, s = AVS_SERVER, s2 = SERVER2;
    et_flow *f1 = tcp_flow(fx, a, 50000, s, 443, 0);
    et_flow *f2 = tcp_flow(fx, a, 50001, s2, 443, 1);
    et_flow *f3 = tcp_flow(fx, b, 50000, s, 443, 2);
    /* Server-side packets first: still the same device. */
    et_flow *f4 = et_flows_add(fx->flows, UDP, &s2, 123, &b, 40000, -1, 3);
    assert_int_equal(et_flows_count(fx->flows), 4);
    assert_int_equal(et_flows_device_count(fx->flows), 2);
    assert_int_equal(f1->device, f2->device);
    assert_int_equal(f3->device, f4->device);
    assert_int_not_equal(f1->device, f3->device);
    assert_true(et_addr_equal(&device_of(fx, f1)->addr, &a));
    assert_true(et_addr_equal(&device_of(fx, f3)->addr, &b));
    /* ids index the tables */
    assert_ptr_equal(et_flows_get(fx->flows, f3->id), f3);
    assert_null(et_flows_get(fx->flows, 4));
    assert_null(et_flows_device(fx->flows, 2));
    /* A new device is not a speaker until told. */
    assert_false(et_device_is_speaker(device_of(fx, f1)));
}

/* ---- evidence ---- */

static void test_evidence_names(void **state)
{
    (void)state;
    /* doc/classification.md, "Evidence, strongest first" */
    assert_string_equal(et_evidence_name(ET_EV_SNI), "sni");
    assert_string_equal(et_evidence_name(ET_EV_CERT), "cert");
    assert_string_equal(et_evidence_name(ET_EV_HTTP_HOST), "http-host");
    assert_string_equal(et_evidence_name(ET_EV_DNS), "dns");
    assert_string_equal(et_evidence_name(ET_EV_RESOLVED), "resolved");
    assert_string_equal(et_evidence_name(ET_EV_SAME_IP), "same-ip");
    assert_string_equal(et_evidence_name(ET_EV_TRAFFIC), "traffic");
    assert_string_equal(et_evidence_name(ET_EV_LAN), "lan");
    assert_string_equal(et_evidence_name(ET_EV_NONE), "none");
    assert_string_equal(et_evidence_name(ET_EV_COUNT), "none");
    assert_true(ET_EV_SNI > ET_EV_CERT && ET_EV_CERT > ET_EV_HTTP_HOST && ET_EV_HTTP_HOST > ET_EV_DNS &&
                ET_EV_DNS > ET_EV_RESOLVED && ET_EV_RESOLVED > ET_EV_SAME_IP && ET_EV_SAME_IP > ET_EV_NONE);
}

static void test_evidence_ranking_weak_first(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = ip4(52, 94, 99, 99), other = SERVER2;
    /* same-ip from another flow to the same server (HTTP Host) */
    et_flow *donor = tcp_flow(fx, a, 40000, s, 80, 0);
    assert_true(et_flows_add_http_host(fx->flows, donor, "donor.example", 13));

    et_flow *fl = tcp_flow(fx, a, 50000, s, 443, 1);
    /* Resolved (the resolver knows s) beats same-ip. */
    assert_int_equal(fl->evidence, ET_EV_RESOLVED);
    assert_string_equal(fl->host, "host.resolved.example");
    assert_string_equal(fl->ev_host[ET_EV_SAME_IP], "donor.example");

    dns(fx, "dns.example", s, a, 0.5);
    assert_int_equal(fl->evidence, ET_EV_DNS);
    assert_string_equal(fl->host, "dns.example");

    assert_true(et_flows_add_http_host(fx->flows, fl, "http.example", 12));
    assert_int_equal(fl->evidence, ET_EV_HTTP_HOST);
    assert_string_equal(fl->host, "http.example");

    const char *sans[] = { "cert.example" };
    assert_int_equal(et_flows_add_cert(fx->flows, fl, NULL, sans, 1), 1);
    assert_int_equal(fl->evidence, ET_EV_CERT);
    assert_string_equal(fl->host, "cert.example");

    sni(fx, fl, "sni.example");
    assert_int_equal(fl->evidence, ET_EV_SNI);
    assert_string_equal(fl->host, "sni.example");

    /* Weaker evidence is kept. */
    assert_string_equal(fl->ev_host[ET_EV_SNI], "sni.example");
    assert_string_equal(fl->ev_host[ET_EV_CERT], "cert.example");
    assert_string_equal(fl->ev_host[ET_EV_HTTP_HOST], "http.example");
    assert_string_equal(fl->ev_host[ET_EV_DNS], "dns.example");
    assert_string_equal(fl->ev_host[ET_EV_RESOLVED], "host.resolved.example");
    /* None of these hosts has a rule: untagged. */
    assert_null(fl->service);
    assert_null(fl->rule);
    assert_int_equal(et_flow_group(fl), ET_GROUP_UNTAGGED);

    /* A flow to an address nobody knows anything about. */
    et_flow *none = tcp_flow(fx, a, 50001, other, 443, 2);
    assert_int_equal(none->evidence, ET_EV_NONE);
    assert_null(none->host);
    assert_null(none->service);
}

static void test_evidence_ranking_strong_first(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = AVS_SERVER;
    et_flow *fl = tcp_flow(fx, a, 50000, s, 443, 1);
    sni(fx, fl, "avs-alexa-4-na.amazon.com");
    assert_int_equal(fl->evidence, ET_EV_SNI);
    const char *sans[] = { "avs-alexa-4-na.amazon.com" };
    et_flows_add_cert(fx->flows, fl, "bob-dispatch-prod-na.amazon.com", sans, 1);
    assert_true(et_flows_add_http_host(fx->flows, fl, "avs-alexa-4-na.amazon.com", 25));
    dns(fx, "avs-alexa-4-na.amazon.com", s, a, 0.5);
    assert_int_equal(fl->evidence, ET_EV_SNI);
    assert_string_equal(fl->host, "avs-alexa-4-na.amazon.com");
    assert_string_equal(fl->rule, "avs-alexa-*.amazon.com");
    assert_string_equal(fl->service, "avs");
    assert_false(fl->mismatch);
    assert_string_equal(fl->ev_host[ET_EV_CERT], "bob-dispatch-prod-na.amazon.com");
    assert_string_equal(fl->ev_host[ET_EV_DNS], "avs-alexa-4-na.amazon.com");
}

static void test_sni_and_http_host_forms(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = AVS_SERVER, s2 = SERVER2;
    et_flow *fl = tcp_flow(fx, a, 50000, s, 443, 0);
    /* As sent, lower-cased, one trailing dot removed. */
    sni(fx, fl, "AVS-Alexa-4-NA.Amazon.COM.");
    assert_string_equal(fl->host, "avs-alexa-4-na.amazon.com");
    /* The first SNI of a flow wins (retransmission, renegotiation). */
    sni(fx, fl, "www.example.org");
    assert_string_equal(fl->host, "avs-alexa-4-na.amazon.com");

    /* HTTP Host: ":port" removed. Not NUL terminated on the wire. */
    et_flow *h = tcp_flow(fx, a, 50001, s2, 80, 0);
    const char wire[] = "Spectrum.S3.AmazonAWS.com:80\r\n";
    assert_true(et_flows_add_http_host(fx->flows, h, wire, 28));
    assert_int_equal(h->evidence, ET_EV_HTTP_HOST);
    assert_string_equal(h->host, "spectrum.s3.amazonaws.com");

    /* Not a host name: refused, no evidence. */
    et_flow *bad = tcp_flow(fx, a, 50002, ip4(52, 94, 7, 7), 443, 0);
    assert_false(et_flows_add_sni(fx->flows, bad, "evil\0.amazon.com", 16));
    assert_false(et_flows_add_sni(fx->flows, bad, "a b", 3));
    assert_false(et_flows_add_sni(fx->flows, bad, "", 0));
    assert_false(et_flows_add_http_host(fx->flows, bad, "[2001:db8::1]:443", 17));
    assert_int_equal(bad->evidence, ET_EV_NONE);
    assert_null(bad->host);
    assert_null(bad->ev_host[ET_EV_SNI]);
}

static void test_cert_choice(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER;

    /* CN matches an avs rule: it is the host (a non-amazon service, first candidate). */
    et_flow *f1 = tcp_flow(fx, a, 50000, ip4(52, 94, 0, 1), 443, 0);
    const char *s1[] = { "avs-alexa-4-na.amazon.com", "avs-alexa-5-na.amazon.com" };
    assert_int_equal(et_flows_add_cert(fx->flows, f1, "bob-dispatch-prod-na.amazon.com", s1, 2), 3);
    assert_int_equal(f1->evidence, ET_EV_CERT);
    assert_string_equal(f1->host, "bob-dispatch-prod-na.amazon.com");
    assert_string_equal(f1->service, "avs");
    assert_int_equal(f1->cert_names, 3);

    /* CN only matches *.amazon.com: the first SAN of a non-amazon service wins. */
    et_flow *f2 = tcp_flow(fx, a, 50001, ip4(52, 94, 0, 2), 443, 0);
    const char *s2[] = { "amazon.com", "www.amazon.com", "avs-alexa-4-na.amazon.com", "api.amazon.com" };
    et_flows_add_cert(fx->flows, f2, "www.amazon.com", s2, 4);
    assert_string_equal(f2->host, "avs-alexa-4-na.amazon.com");
    assert_string_equal(f2->service, "avs");

    /* Only amazon-service names: the first matching any rule. */
    et_flow *f3 = tcp_flow(fx, a, 50002, ip4(52, 94, 0, 3), 443, 0);
    const char *s3[] = { "nothing.example", "www.amazon.com", "x.a2z.com" };
    et_flows_add_cert(fx->flows, f3, "Foo.Example", s3, 3);
    assert_string_equal(f3->host, "www.amazon.com");
    assert_string_equal(f3->service, "amazon");

    /* No name matches a rule: the CN. */
    et_flow *f4 = tcp_flow(fx, a, 50003, ip4(52, 94, 0, 4), 443, 0);
    const char *s4[] = { "bar.example" };
    et_flows_add_cert(fx->flows, f4, "Foo.Example", s4, 1);
    assert_string_equal(f4->host, "foo.example");
    assert_null(f4->service);

    /* ... or the first SAN when there is no CN. */
    et_flow *f5 = tcp_flow(fx, a, 50004, ip4(52, 94, 0, 5), 443, 0);
    const char *s5[] = { "bar.example", "baz.example" };
    assert_int_equal(et_flows_add_cert(fx->flows, f5, NULL, s5, 2), 2);
    assert_string_equal(f5->host, "bar.example");

    /* Names that are not host names are skipped. */
    et_flow *f6 = tcp_flow(fx, a, 50005, ip4(52, 94, 0, 6), 443, 0);
    const char *s6[] = { "bad name", "ok.example" };
    assert_int_equal(et_flows_add_cert(fx->flows, f6, "Amazon Web Services", s6, 2), 1);
    assert_string_equal(f6->host, "ok.example");

    /* Nothing usable: no cert evidence. */
    et_flow *f7 = tcp_flow(fx, a, 50006, ip4(52, 94, 0, 7), 443, 0);
    const char *s7[] = { "bad name" };
    assert_int_equal(et_flows_add_cert(fx->flows, f7, NULL, s7, 1), 0);
    assert_int_equal(f7->evidence, ET_EV_NONE);
    assert_null(f7->ev_host[ET_EV_CERT]);

    /* Only the first certificate counts. */
    const char *s8[] = { "other.example" };
    assert_int_equal(et_flows_add_cert(fx->flows, f1, "other.example", s8, 1), 0);
    assert_string_equal(f1->host, "bob-dispatch-prod-na.amazon.com");
}

static void test_cert_wildcard_names(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER;
    et_device *d;
    /* A CloudFront server certificate: its names are wildcards. */
    const char *sans[] = { "*.cloudfront.net", "cloudfront.net" };

    et_flow *fl = tcp_flow(fx, a, 50000, ip4(13, 32, 0, 1), 443, 0);
    d = device_of(fx, fl);
    et_flows_set_vendor(fx->flows, d, "Amazon Technologies Inc.");
    sni(fx, fl, "dvi8md6049w6b.cloudfront.net");
    assert_int_equal(et_flows_add_cert(fx->flows, fl, "*.cloudfront.net", sans, 2), 3);
    /* "*.cloudfront.net" covers the SNI: no mismatch. */
    assert_false(fl->sni_not_in_cert);
    assert_false(fl->mismatch);
    assert_string_equal(fl->service, "cdn");
    /* The certificate's host is the wildcard name: it matches the cdn rule. */
    assert_string_equal(fl->ev_host[ET_EV_CERT], "*.cloudfront.net");

    /* Without SNI the wildcard certificate still tells the service. */
    et_flow *f2 = tcp_flow(fx, a, 50001, ip4(13, 32, 0, 2), 443, 0);
    et_flows_add_cert(fx->flows, f2, "*.cloudfront.net", sans, 2);
    assert_int_equal(f2->evidence, ET_EV_CERT);
    assert_string_equal(f2->service, "cdn");
}

static void test_cert_name_covers(void **state)
{
    (void)state;
    assert_true(et_cert_name_covers("api.amazon.com", "api.amazon.com"));
    assert_true(et_cert_name_covers("API.amazon.com", "api.AMAZON.com"));
    assert_false(et_cert_name_covers("api.amazon.com", "www.amazon.com"));
    assert_true(et_cert_name_covers("*.amazon.com", "www.amazon.com"));
    assert_false(et_cert_name_covers("*.amazon.com", "amazon.com"));
    assert_false(et_cert_name_covers("*.amazon.com", "a.b.amazon.com"));   /* one label only */
    assert_false(et_cert_name_covers("*.amazon.com", "xamazon.com"));
    assert_false(et_cert_name_covers("*.amazon.com", ".amazon.com"));
}

static void test_sni_not_covered_by_cert(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER;

    /* Covered by a SAN: fine. */
    et_flow *ok = tcp_flow(fx, a, 50000, ip4(52, 94, 0, 1), 443, 0);
    sni(fx, ok, "avs-alexa-4-na.amazon.com");
    const char *s1[] = { "avs-alexa-4-na.amazon.com" };
    et_flows_add_cert(fx->flows, ok, "bob-dispatch-prod-na.amazon.com", s1, 1);
    assert_false(ok->sni_not_in_cert);
    assert_false(ok->mismatch);

    /* Not covered: mismatch, the SNI still decides. */
    et_flow *bad = tcp_flow(fx, a, 50001, ip4(52, 94, 0, 2), 443, 0);
    sni(fx, bad, "avs-alexa-4-na.amazon.com");
    const char *s2[] = { "www.example.org" };
    et_flows_add_cert(fx->flows, bad, "www.example.org", s2, 1);
    assert_true(bad->sni_not_in_cert);
    assert_true(bad->mismatch);
    assert_int_equal(bad->evidence, ET_EV_SNI);
    assert_string_equal(bad->host, "avs-alexa-4-na.amazon.com");
    assert_string_equal(bad->service, "avs");

    /* Not covered even if the certificate's names map to the same service. */
    et_flow *f3 = tcp_flow(fx, a, 50002, ip4(52, 94, 0, 3), 443, 0);
    sni(fx, f3, "avs-alexa-4-na.amazon.com");
    const char *s3[] = { "avs-alexa-5-na.amazon.com" };
    et_flows_add_cert(fx->flows, f3, "bob-dispatch-prod-na.amazon.com", s3, 1);
    assert_true(f3->sni_not_in_cert);
    assert_true(f3->mismatch);
}

static void test_mismatch_dns(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = AVS_SERVER, s2 = SERVER2;
    /* DNS said the address is www.example.org, the SNI says AVS: mismatch. */
    dns(fx, "www.example.org", s, a, 0);
    et_flow *fl = tcp_flow(fx, a, 50000, s, 443, 1);
    assert_false(fl->mismatch);
    sni(fx, fl, "avs-alexa-4-na.amazon.com");
    assert_int_equal(fl->evidence, ET_EV_SNI);
    assert_true(fl->mismatch);

    /* DNS and SNI agree: no mismatch. */
    dns(fx, "avs-alexa-4-na.amazon.com", s2, a, 0);
    et_flow *f2 = tcp_flow(fx, a, 50001, s2, 443, 1);
    sni(fx, f2, "avs-alexa-4-na.amazon.com");
    assert_false(f2->mismatch);
}

/* Real captures: two names of one certificate that fall under different rules are no mismatch. */
static void test_mismatch_not_for_names_of_a_covering_cert(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER;

    /* SNI dp-gw-na-js (amazon), the certificate's CN dp-gw-na (api), a SAN covers the SNI. */
    et_flow *fl = tcp_flow(fx, a, 50000, ip4(52, 94, 0, 1), 443, 0);
    et_flows_set_vendor(fx->flows, device_of(fx, fl), "Amazon Technologies Inc.");
    sni(fx, fl, "dp-gw-na-js.amazon.com");
    const char *s1[] = { "dp-gw-na.amazon.com", "dp-gw-na-js.amazon.com" };
    et_flows_add_cert(fx->flows, fl, "dp-gw-na.amazon.com", s1, 2);
    assert_false(fl->sni_not_in_cert);
    assert_string_equal(fl->ev_host[ET_EV_CERT], "dp-gw-na.amazon.com");
    assert_string_equal(fl->service, "amazon");
    assert_false(fl->mismatch);

    /* A wildcard SAN covers the SNI: the same. */
    et_flow *f2 = tcp_flow(fx, a, 50001, ip4(52, 94, 0, 2), 443, 0);
    sni(fx, f2, "dp-gw-na-js.amazon.com");
    const char *s2[] = { "*.amazon.com" };
    et_flows_add_cert(fx->flows, f2, "dp-gw-na.amazon.com", s2, 1);
    assert_false(f2->mismatch);

    /* The reachability probe's host under CloudFront's wildcard certificate (cdn rule). */
    et_flow *f3 = tcp_flow(fx, a, 50002, ip4(13, 32, 0, 9), 443, 0);
    sni(fx, f3, "d3p8zr0ffa9t17.cloudfront.net");
    const char *s3[] = { "*.cloudfront.net" };
    et_flows_add_cert(fx->flows, f3, "*.cloudfront.net", s3, 1);
    assert_string_equal(f3->service, "connectivity");
    assert_false(f3->mismatch);

    /* A DNS name that is a name of the covering certificate: no mismatch either. */
    et_addr s4 = ip4(52, 94, 0, 4);
    dns(fx, "dp-gw-na.amazon.com", s4, a, 0);
    et_flow *f4 = tcp_flow(fx, a, 50003, s4, 443, 1);
    sni(fx, f4, "dp-gw-na-js.amazon.com");
    assert_true(f4->mismatch);                 /* known before the certificate */
    et_flows_add_cert(fx->flows, f4, "dp-gw-na.amazon.com", s1, 2);
    assert_false(f4->mismatch);

    /* ... but a DNS name of another service that the certificate does not name still is. */
    et_addr s5 = ip4(52, 94, 0, 5);
    dns(fx, "avs-alexa-4-na.amazon.com", s5, a, 0);
    et_flow *f5 = tcp_flow(fx, a, 50004, s5, 443, 1);
    sni(fx, f5, "dp-gw-na-js.amazon.com");
    et_flows_add_cert(fx->flows, f5, "dp-gw-na.amazon.com", s1, 2);
    assert_true(f5->mismatch);

    /* A certificate that does not cover the SNI vouches for nothing. */
    et_addr s6 = ip4(52, 94, 0, 6);
    dns(fx, "dp-gw-na.amazon.com", s6, a, 0);
    et_flow *f6 = tcp_flow(fx, a, 50005, s6, 443, 1);
    sni(fx, f6, "unagi-na.amazon.com");
    const char *s6n[] = { "dp-gw-na.amazon.com" };
    et_flows_add_cert(fx->flows, f6, "dp-gw-na.amazon.com", s6n, 1);
    assert_true(f6->sni_not_in_cert);
    assert_true(f6->mismatch);

    /* No SNI: the certificate is the flow's evidence and vouches for the names it carries. */
    et_addr s7 = ip4(52, 94, 0, 7);
    dns(fx, "dp-gw-na-js.amazon.com", s7, a, 0);
    et_flow *f7 = tcp_flow(fx, a, 50006, s7, 443, 1);
    et_flows_add_cert(fx->flows, f7, "dp-gw-na.amazon.com", s1, 2);
    assert_int_equal(f7->evidence, ET_EV_CERT);
    assert_false(f7->mismatch);
}

static void test_tls_rejected(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER;
    et_flow *fl = tcp_flow(fx, a, 50000, ip4(52, 94, 0, 1), 443, 0);
    /* An alert before any certificate, a server's alert, a warning, an alert of another kind:
     * none is a rejection of the server's certificate. */
    assert_false(et_flows_tls_alert(fx->flows, fl, true, 2, 48, 4));
    et_flows_set_cert_seen(fx->flows, fl, "mitmproxy", 6);
    et_flows_set_cert_seen(fx->flows, fl, "other", 9);          /* the first one stays */
    assert_string_equal(fl->cert_issuer, "mitmproxy");
    assert_int_equal(fl->cert_frame, 6);
    assert_false(et_flows_tls_alert(fx->flows, fl, false, 2, 48, 7));
    assert_false(et_flows_tls_alert(fx->flows, fl, true, 1, 48, 7));
    assert_false(et_flows_tls_alert(fx->flows, fl, true, 2, 40, 7));   /* handshake_failure */
    assert_false(et_flows_tls_alert(fx->flows, fl, true, 2, 49, 7));   /* access_denied */
    assert_int_equal(fl->rejected_alert, 0);
    assert_true(et_flows_tls_alert(fx->flows, fl, true, 2, 48, 8));
    assert_int_equal(fl->rejected_alert, 48);
    assert_int_equal(fl->rejected_frame, 8);
    assert_false(et_flows_tls_alert(fx->flows, fl, true, 2, 42, 9)); /* once */
    assert_int_equal(fl->rejected_frame, 8);

    const unsigned rejecting[] = { 42, 43, 44, 45, 46, 48, 113 };
    for (size_t i = 0; i < sizeof(rejecting) / sizeof(rejecting[0]); i++) {
        assert_true(et_alert_rejects_cert(rejecting[i]));
        assert_non_null(et_alert_name(rejecting[i]));
    }
    assert_string_equal(et_alert_name(48), "unknown_ca");
    assert_false(et_alert_rejects_cert(0));
    assert_false(et_alert_rejects_cert(47));
    assert_false(et_alert_rejects_cert(49));
    assert_null(et_alert_name(40));
}

static void test_cert_disabled(void **state)
{
    fixture *fx = fixture_new(false, true, true, false);
    *state = fx;
    et_addr a = SPEAKER, s = AVS_SERVER;
    et_flow *fl = tcp_flow(fx, a, 50000, s, 443, 0);
    sni(fx, fl, "avs-alexa-4-na.amazon.com");
    const char *sans[] = { "www.example.org" };
    et_flows_add_cert(fx->flows, fl, "www.example.org", sans, 1);
    /* Certificates are not evidence: no mismatch from them. */
    assert_int_equal(fl->evidence, ET_EV_SNI);
    assert_false(fl->mismatch);

    /* A cert-only flow has no host; and other flows to that server get no same-ip from it. */
    et_addr s2 = SERVER2;
    et_flow *c = tcp_flow(fx, a, 50001, s2, 443, 1);
    et_flows_add_cert(fx->flows, c, "api.amazon.com", NULL, 0);
    assert_int_equal(c->evidence, ET_EV_NONE);
    assert_null(c->service);
    et_flow *other = tcp_flow(fx, a, 50002, s2, 443, 2);
    assert_int_equal(other->evidence, ET_EV_NONE);
    assert_null(other->host);
}

/* ---- DNS ---- */

static void test_dns_latest_before(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = AVS_SERVER;
    dns(fx, "early.example", s, a, 2);
    dns(fx, "late-before.example", s, a, 8);
    dns(fx, "after.example", s, a, 12);
    et_flow *fl = tcp_flow(fx, a, 50000, s, 443, 10);
    assert_int_equal(fl->evidence, ET_EV_DNS);
    assert_string_equal(fl->host, "late-before.example");
    /* An answer after the flow's start does not replace one before it. */
    dns(fx, "after2.example", s, a, 11);
    assert_string_equal(fl->host, "late-before.example");
    /* An answer at the flow's first packet counts as before, and is later than 8 s. */
    dns(fx, "at.example", s, a, 10);
    assert_string_equal(fl->host, "at.example");
    /* An answer that comes out of order in the file (sent at 9 s): still the latest before. */
    dns(fx, "nine.example", s, a, 9);
    assert_string_equal(fl->host, "at.example");
}

static void test_dns_earliest_after(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = AVS_SERVER;
    et_flow *fl = tcp_flow(fx, a, 50000, s, 443, 10);
    assert_int_equal(fl->evidence, ET_EV_NONE);
    size_t before = changes(fx);
    dns(fx, "d.example", s, a, 15);
    assert_int_equal(fl->evidence, ET_EV_DNS);
    assert_string_equal(fl->host, "d.example");
    assert_true(changed_since(fx, before, fl->id));
    dns(fx, "c.example", s, a, 12);
    assert_string_equal(fl->host, "c.example");
    dns(fx, "e.example", s, a, 20);
    assert_string_equal(fl->host, "c.example");
    /* The same answer again changes nothing. */
    size_t n = changes(fx);
    dns(fx, "c.example", s, a, 12);
    assert_int_equal(changes(fx), n);
    /* An answer before the flow beats all of them. */
    dns(fx, "b.example", s, a, 1);
    assert_string_equal(fl->host, "b.example");
}

static void test_dns_device_preferred(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, b = PHONE, s = AVS_SERVER, s2 = SERVER2;
    dns(fx, "mine.example", s, a, 3);
    dns(fx, "other.example", s, b, 9);              /* later, but to another device */
    et_flow *fl = tcp_flow(fx, a, 50000, s, 443, 10);
    assert_string_equal(fl->host, "mine.example");
    /* The other device's flow to the same address takes the answer sent to it. */
    et_flow *fb = tcp_flow(fx, b, 50000, s, 443, 10);
    assert_string_equal(fb->host, "other.example");
    /* An answer to this device after the flow still beats another device's before it. */
    dns(fx, "theirs.example", s2, b, 5);
    et_flow *f2 = tcp_flow(fx, a, 50001, s2, 443, 10);
    assert_string_equal(f2->host, "theirs.example");    /* only answers to others: used */
    dns(fx, "mine-later.example", s2, a, 11);
    assert_string_equal(f2->host, "mine-later.example");
}

static void test_dns_forms(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = ip6("2600:9000:2000:1::1");
    et_addr a6 = ip6("fd00::10");
    assert_true(et_flows_add_dns(fx->flows, "D3P8ZR0FFA9T17.CloudFront.NET.", 30, &s, &a6, 1));
    et_flow *fl = tcp_flow(fx, a6, 50000, s, 443, 2);
    assert_int_equal(fl->evidence, ET_EV_DNS);
    assert_string_equal(fl->host, "d3p8zr0ffa9t17.cloudfront.net");
    /* a non-speaker device: cdn collapses to amazon */
    assert_string_equal(fl->service, "amazon");
    /* Bad names are refused. */
    assert_false(et_flows_add_dns(fx->flows, "a b", 3, &s, &a, 1));
    assert_false(et_flows_add_dns(fx->flows, "", 0, &s, &a, 1));
}

static void test_dns_disabled(void **state)
{
    fixture *fx = fixture_new(true, false, true, false);
    *state = fx;
    et_addr a = SPEAKER, s = AVS_SERVER;
    dns(fx, "avs-alexa-4-na.amazon.com", s, a, 1);
    et_flow *fl = tcp_flow(fx, a, 50000, s, 443, 2);
    assert_int_equal(fl->evidence, ET_EV_NONE);
    assert_null(fl->ev_host[ET_EV_DNS]);
    assert_false(device_of(fx, fl)->by_flow == ET_ASSISTANT_ALEXA);
}

/* ---- same-ip ---- */

static void test_same_ip(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, b = PHONE, s = AVS_SERVER, s2 = SERVER2;
    /* A flow with no evidence of its own, before the flow that has some. */
    et_flow *weak = tcp_flow(fx, a, 50000, s, 443, 0);
    assert_int_equal(weak->evidence, ET_EV_NONE);
    et_flow *elsewhere = tcp_flow(fx, a, 50001, s2, 443, 0);

    et_flow *strong = tcp_flow(fx, a, 50002, s, 443, 1);
    sni(fx, strong, "avs-alexa-4-na.amazon.com");
    assert_int_equal(weak->evidence, ET_EV_SAME_IP);
    assert_string_equal(weak->host, "avs-alexa-4-na.amazon.com");
    assert_string_equal(weak->service, "avs");
    assert_int_equal(elsewhere->evidence, ET_EV_NONE);

    /* A later flow to that address (another device too) gets it at once. */
    et_flow *later = tcp_flow(fx, b, 50000, s, 443, 5);
    assert_int_equal(later->evidence, ET_EV_SAME_IP);
    assert_string_equal(later->host, "avs-alexa-4-na.amazon.com");

    /* A flow's own DNS evidence is stronger than same-ip. */
    et_addr s3 = ip4(52, 94, 3, 3);
    dns(fx, "dns-name.example", s3, a, 0);
    et_flow *withdns = tcp_flow(fx, a, 50003, s3, 443, 1);
    et_flow *d3 = tcp_flow(fx, a, 50004, s3, 443, 1);
    sni(fx, d3, "sni-name.example");
    assert_int_equal(withdns->evidence, ET_EV_DNS);
    assert_string_equal(withdns->host, "dns-name.example");
    assert_string_equal(withdns->ev_host[ET_EV_SAME_IP], "sni-name.example");
}

static void test_same_ip_strongest_then_earliest(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = AVS_SERVER;
    et_flow *weak = tcp_flow(fx, a, 50000, s, 80, 0);
    et_flow *h1 = tcp_flow(fx, a, 50001, s, 80, 1);
    et_flow *h2 = tcp_flow(fx, a, 50002, s, 80, 2);
    assert_true(et_flows_add_http_host(fx->flows, h1, "one.example", 11));
    assert_true(et_flows_add_http_host(fx->flows, h2, "two.example", 11));
    /* a tie: the earliest flow */
    assert_string_equal(weak->host, "one.example");
    /* a certificate is stronger than an HTTP Host */
    et_flow *c = tcp_flow(fx, a, 50003, s, 443, 3);
    const char *sans[] = { "three.example" };
    et_flows_add_cert(fx->flows, c, NULL, sans, 1);
    assert_string_equal(weak->host, "three.example");
    assert_int_equal(weak->evidence, ET_EV_SAME_IP);
    /* and an SNI stronger still */
    et_flow *t = tcp_flow(fx, a, 50004, s, 443, 4);
    sni(fx, t, "four.example");
    assert_string_equal(weak->host, "four.example");
    /* flows with their own HTTP Host keep it */
    assert_string_equal(h2->host, "two.example");
}

static void test_same_ip_disabled(void **state)
{
    fixture *fx = fixture_new(true, true, false, false);
    *state = fx;
    et_addr a = SPEAKER, s = AVS_SERVER;
    et_flow *weak = tcp_flow(fx, a, 50000, s, 443, 0);
    et_flow *strong = tcp_flow(fx, a, 50001, s, 443, 1);
    sni(fx, strong, "avs-alexa-4-na.amazon.com");
    et_flow *later = tcp_flow(fx, a, 50002, s, 443, 2);
    assert_int_equal(weak->evidence, ET_EV_NONE);
    assert_int_equal(later->evidence, ET_EV_NONE);
    assert_null(later->service);
}

/* ---- speakers ---- */

static void test_speaker_by_oui(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = ip4(52, 94, 5, 5);
    et_flow *fl = tcp_flow(fx, a, 50000, s, 443, 0);
    et_device *d = device_of(fx, fl);
    et_flows_set_vendor(fx->flows, d, "Amazon Technologies Inc.");
    assert_true(d->by_vendor == ET_ASSISTANT_ALEXA);
    assert_true(d->oui_checked);
    assert_true(et_device_is_speaker(d));
    sni(fx, fl, "api.amazon.com");
    assert_string_equal(fl->service, "api");
    assert_int_equal(et_flow_group(fl), ET_GROUP_OTHER);
    /* A speaker by its OUI, without AVS flows yet. */
    assert_false(d->by_flow == ET_ASSISTANT_ALEXA);
}

static void test_non_speaker_services(void **state)
{
    fixture *fx = *state;
    et_addr b = PHONE;
    struct { const char *sni, *service; } cases[] = {
        { "api.amazon.com", "amazon" },                  /* speaker service -> amazon */
        { "device-metrics-us-2.amazon.com", "amazon" },
        { "d3p8zr0ffa9t17.cloudfront.net", "amazon" },
        { "kindle-time.amazon.com", "amazon" },
        { "www.amazon.com", "amazon" },
        { "www.example.org", NULL },                     /* host, no rule: untagged */
    };
    et_device *d = NULL;
    for (uint16_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        et_addr s = ip4(52, 94, 6, (uint8_t)i);
        et_flow *fl = tcp_flow(fx, b, (uint16_t)(50000 + i), s, 443, i);
        d = device_of(fx, fl);
        et_flows_set_vendor(fx->flows, d, "Apple, Inc.");
        sni(fx, fl, cases[i].sni);
        if (cases[i].service)
            assert_string_equal(fl->service, cases[i].service);
        else
            assert_null(fl->service);
    }
    assert_false(et_device_is_speaker(d));
}

static void test_user_service_any_device(void **state)
{
    (void)state;
    et_ruleset *rs = et_ruleset_new();
    et_ruleset_add(rs, "*.example.org", "mine");
    et_ruleset_add_builtin(rs);
    et_flow_config cfg = { true, true, true, NULL, NULL };
    et_flows *f = et_flows_new(rs, &cfg);
    et_addr b = PHONE, s = SERVER2;
    et_flow *fl = et_flows_add(f, TCP, &b, 50000, &s, 443, SYN, 0);
    assert_true(et_flows_add_sni(f, fl, "www.example.org", 15));
    assert_string_equal(fl->service, "mine");
    assert_string_equal(fl->rule, "*.example.org");
    assert_int_equal(et_flow_group(fl), ET_GROUP_OTHER);
    et_flows_free(f);
    et_ruleset_free(rs);
}

static void test_speaker_by_avs_reclassifies(void **state)
{
    fixture *fx = *state;
    et_addr b = PHONE, a = SPEAKER;
    /* A device whose MAC is not Amazon's. */
    et_flow *api = tcp_flow(fx, b, 50000, ip4(52, 94, 7, 1), 443, 0);
    et_device *d = device_of(fx, api);
    et_flows_set_vendor(fx->flows, d, NULL);
    sni(fx, api, "api.amazon.com");
    et_flow *met = tcp_flow(fx, b, 50001, ip4(52, 94, 7, 2), 443, 1);
    sni(fx, met, "device-metrics-us-2.amazon.com");
    et_flow *www = tcp_flow(fx, b, 50002, ip4(52, 94, 7, 3), 443, 2);
    sni(fx, www, "www.amazon.com");
    et_flow *stranger = tcp_flow(fx, a, 50000, ip4(52, 94, 7, 4), 443, 3);
    sni(fx, stranger, "api.amazon.com");
    assert_string_equal(api->service, "amazon");
    assert_string_equal(met->service, "amazon");
    assert_false(et_device_is_speaker(d));

    size_t before = changes(fx);
    et_flow *avs = tcp_flow(fx, b, 50003, AVS_SERVER, 443, 3);
    sni(fx, avs, "avs-alexa-4-na.amazon.com");
    assert_true(d->by_flow == ET_ASSISTANT_ALEXA);
    assert_false(d->by_vendor == ET_ASSISTANT_ALEXA);
    assert_true(et_device_is_speaker(d));
    assert_string_equal(avs->service, "avs");
    /* Its earlier flows are reclassified... */
    assert_string_equal(api->service, "api");
    assert_string_equal(met->service, "metrics");
    assert_int_equal(et_flow_group(met), ET_GROUP_METRICS);
    assert_string_equal(www->service, "amazon");
    /* ... and the change log says so; unchanged flows are not in it. */
    assert_true(changed_since(fx, before, api->id));
    assert_true(changed_since(fx, before, met->id));
    assert_true(changed_since(fx, before, avs->id));
    assert_false(changed_since(fx, before, www->id));
    /* Another device is not affected. */
    assert_string_equal(stranger->service, "amazon");
    assert_false(changed_since(fx, before, stranger->id));
    /* Later flows of the device are speaker flows at once. */
    et_flow *cdn = tcp_flow(fx, b, 50004, ip4(13, 32, 0, 9), 443, 4);
    sni(fx, cdn, "dvi8md6049w6b.cloudfront.net");
    assert_string_equal(cdn->service, "cdn");
}

/* ---- speakers of every maker (doc/classification.md, "Speakers") ---- */

#define HOMEPOD ip4(192, 168, 1, 30)
#define GOOGLE_HOME ip4(192, 168, 1, 31)
#define SONOS ip4(192, 168, 1, 32)

static void mdns(fixture *fx, et_addr device, const char *txt, bool speaker_model)
{
    assert_int_equal(et_flows_add_mdns_txt(fx->flows, &device, txt, strlen(txt)), speaker_model);
}

/* guzzoni is Siri on a HomePod (told by its mDNS model), Apple's on an iPhone; the model may come
 * after the flow, which then changes class. */
static void test_siri_on_homepod_only(void **state)
{
    fixture *fx = *state;
    et_addr hp = HOMEPOD, phone = PHONE;
    et_flow *on_hp = tcp_flow(fx, hp, 50000, ip4(17, 253, 1, 1), 443, 0);
    et_flow *on_phone = tcp_flow(fx, phone, 50001, ip4(17, 253, 1, 2), 443, 0);
    et_flows_set_vendor(fx->flows, device_of(fx, on_hp), "Apple, Inc.");
    et_flows_set_vendor(fx->flows, device_of(fx, on_phone), "Apple, Inc.");
    sni(fx, on_hp, "guzzoni.apple.com");
    sni(fx, on_phone, "guzzoni.apple.com");
    assert_string_equal(on_hp->service, "apple");
    assert_int_equal(on_hp->group, ET_GROUP_OTHER);
    assert_false(et_device_is_speaker(device_of(fx, on_hp)));

    size_t before = changes(fx);
    mdns(fx, phone, "model=iPhone14,2", false);
    mdns(fx, hp, "model=AudioAccessory1,1", true);
    mdns(fx, hp, "model=J105aAP", false);          /* another record of its own: the speaker model stays */
    assert_string_equal(device_of(fx, on_phone)->model, "iPhone14,2");
    assert_true(changed_since(fx, before, on_hp->id));
    assert_int_equal(et_device_assistant(device_of(fx, on_hp)), ET_ASSISTANT_SIRI);
    assert_string_equal(device_of(fx, on_hp)->model, "AudioAccessory1,1");
    assert_string_equal(on_hp->service, "siri");
    assert_int_equal(on_hp->group, ET_GROUP_VOICE);
    assert_string_equal(on_phone->service, "apple");
    assert_false(et_device_is_speaker(device_of(fx, on_phone)));
    /* Its other Apple flows are Apple's. */
    et_flow *other = tcp_flow(fx, hp, 50002, ip4(17, 253, 1, 3), 443, 1);
    sni(fx, other, "gsp-ssl.ls.apple.com");
    assert_string_equal(other->service, "apple");
}

/* www.google.com is the Assistant on a Google speaker, search on a laptop and on an Echo. */
static void test_google_assistant_on_google_speakers_only(void **state)
{
    fixture *fx = *state;
    et_addr gh = GOOGLE_HOME, laptop = PHONE, echo = SPEAKER;
    mdns(fx, gh, "md=Google Home Mini", true);
    mdns(fx, laptop, "md=Chromecast", false);
    et_addr g1 = ip4(142, 250, 1, 1), g2 = ip4(142, 250, 1, 2), g3 = ip4(142, 250, 1, 3);
    et_flow *gq = et_flows_add(fx->flows, UDP, &gh, 50001, &g1, 443, -1, 0);
    et_flow *search = tcp_flow(fx, laptop, 50002, g2, 443, 0);
    et_flow *on_echo = tcp_flow(fx, echo, 50003, g3, 443, 0);
    et_flows_set_vendor(fx->flows, device_of(fx, on_echo), "Amazon Technologies Inc.");
    sni(fx, gq, "www.google.com");
    sni(fx, search, "www.google.com");
    sni(fx, on_echo, "www.google.com");
    assert_string_equal(gq->service, "google-assistant");
    assert_int_equal(gq->group, ET_GROUP_VOICE);
    assert_string_equal(search->service, "google");
    assert_int_equal(search->group, ET_GROUP_OTHER);
    assert_string_equal(on_echo->service, "google");
    assert_int_equal(et_device_assistant(device_of(fx, gq)), ET_ASSISTANT_GOOGLE);
    assert_false(et_device_is_speaker(device_of(fx, search)));
}

/* Alexa built into another maker's speaker: its AVS flow makes it an Alexa speaker; a speaker
 * maker's device with nothing named is a speaker of an unknown assistant, whose voice connection
 * (found by its shape) is "voice". */
static void test_alexa_built_in(void **state)
{
    fixture *fx = *state;
    et_addr sonos = SONOS, other = ip4(192, 168, 1, 33);
    et_flow *sonos_cloud = tcp_flow(fx, sonos, 50000, ip4(54, 1, 1, 1), 443, 0);
    et_flows_set_vendor(fx->flows, device_of(fx, sonos_cloud), "Sonos, Inc.");
    sni(fx, sonos_cloud, "ab-us.ws.sonos.com");
    assert_string_equal(sonos_cloud->service, "sonos");
    assert_int_equal(et_device_assistant(device_of(fx, sonos_cloud)), ET_ASSISTANT_UNKNOWN);
    et_flow *avs = tcp_flow(fx, sonos, 50001, AVS_SERVER, 443, 1);
    sni(fx, avs, "avs-alexa-4-na.amazon.com");
    assert_string_equal(avs->service, "avs");
    assert_int_equal(et_device_assistant(device_of(fx, avs)), ET_ASSISTANT_ALEXA);

    et_flow *unnamed = tcp_flow(fx, other, 50002, ip4(52, 94, 9, 9), 443, 2);
    et_flows_set_vendor(fx->flows, device_of(fx, unnamed), "Sonos, Inc.");
    assert_null(unnamed->service);
    et_flows_add_traffic(fx->flows, unnamed);
    assert_string_equal(unnamed->service, "voice");
    assert_int_equal(unnamed->group, ET_GROUP_VOICE);
    assert_int_equal(unnamed->evidence, ET_EV_TRAFFIC);

    /* On a device that is no speaker, traffic names nothing. */
    et_addr phone = PHONE;
    et_flow *phone_flow = tcp_flow(fx, phone, 50003, ip4(52, 94, 9, 10), 443, 3);
    et_flows_add_traffic(fx->flows, phone_flow);
    assert_null(phone_flow->service);
}

/* The Assistant SDK's endpoint, like AVS, is opened by speakers only. */
static void test_assistant_sdk_names_speaker(void **state)
{
    fixture *fx = *state;
    et_addr dev = ip4(192, 168, 1, 40);
    et_flow *fl = tcp_flow(fx, dev, 50000, ip4(142, 250, 2, 1), 443, 0);
    sni(fx, fl, "embeddedassistant.googleapis.com");
    assert_int_equal(et_device_assistant(device_of(fx, fl)), ET_ASSISTANT_GOOGLE);
    assert_string_equal(fl->service, "google-assistant");
}

/* LAN flows no rule names are local; a certificate CN "0.0.0.0" names no host. */
static void test_lan_is_local(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, b = ip4(192, 168, 1, 21), router = ip4(192, 168, 1, 1), mcast = ip4(224, 0, 0, 251);
    et_flow *echo_to_echo = tcp_flow(fx, a, 50000, b, 55443, 0);
    et_flows_set_vendor(fx->flows, device_of(fx, echo_to_echo), "Amazon Technologies Inc.");
    const char *sans[] = { "0.0.0.0" };
    assert_int_equal(et_flows_add_cert(fx->flows, echo_to_echo, "0.0.0.0", sans, 1), 0);
    assert_null(echo_to_echo->host);
    assert_string_equal(echo_to_echo->service, "local");
    assert_int_equal(echo_to_echo->evidence, ET_EV_LAN);
    assert_int_equal(echo_to_echo->group, ET_GROUP_OTHER);
    et_flow *whalexa = tcp_flow(fx, a, 50001, b, 55443, 1);
    assert_int_equal(et_flows_add_cert(fx->flows, whalexa, "WHALEXA", NULL, 0), 1);
    assert_string_equal(whalexa->service, "local");
    assert_int_equal(whalexa->evidence, ET_EV_CERT);
    et_flow *to_router = et_flows_add(fx->flows, UDP, &a, 40000, &router, 53, -1, 2);
    assert_string_equal(to_router->service, "local");
    et_flow *mdns_flow = et_flows_add(fx->flows, UDP, &a, 5353, &mcast, 5353, -1, 3);
    assert_string_equal(mdns_flow->service, "local");
    /* A rule's name on the LAN keeps its rule. */
    et_flow *named = tcp_flow(fx, a, 50002, ip4(10, 0, 0, 9), 443, 4);
    sni(fx, named, "unagi-na.amazon.com");
    assert_string_equal(named->service, "metrics");
    /* A cloud flow without a name stays untagged. */
    et_flow *cloud = tcp_flow(fx, a, 50003, ip4(52, 94, 9, 11), 443, 5);
    assert_null(cloud->service);
    assert_int_equal(cloud->evidence, ET_EV_NONE);
}

static void test_oui_change_log(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER;
    et_flow *fl = tcp_flow(fx, a, 50000, ip4(52, 94, 8, 1), 443, 0);
    sni(fx, fl, "api.amazon.com");
    et_device *d = device_of(fx, fl);
    assert_string_equal(fl->service, "amazon");
    size_t before = changes(fx);
    et_flows_set_vendor(fx->flows, d, "Amazon Technologies Inc.");
    assert_string_equal(fl->service, "api");
    assert_true(changed_since(fx, before, fl->id));
    /* Setting it again changes nothing. */
    size_t n = changes(fx);
    et_flows_set_vendor(fx->flows, d, "Amazon Technologies Inc.");
    assert_int_equal(changes(fx), n);
    /* Nor does a packet. */
    et_flows_packet(fx->flows, fl, true, 100, 1, 1, 0);
    assert_int_equal(changes(fx), n);
}

static void test_change_log_on_class_changes(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = SERVER2;
    et_flow *fl = tcp_flow(fx, a, 50000, s, 443, 10);
    size_t n0 = changes(fx);
    dns(fx, "www.example.org", s, a, 5);          /* host, no service */
    assert_int_equal(changes(fx), n0 + 1);
    sni(fx, fl, "www.amazon.com");                 /* service */
    assert_int_equal(changes(fx), n0 + 2);
    const uint32_t *ids;
    size_t n = et_flows_changes(fx->flows, &ids);
    assert_int_equal(ids[n - 1], fl->id);
    assert_int_equal(ids[n - 2], fl->id);
}

/* ---- packets ---- */

static void test_packet_totals(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, s = AVS_SERVER;
    et_flow *fl = tcp_flow(fx, a, 50000, s, 443, 1.0);
    assert_false(et_flows_packet(fx->flows, fl, et_flow_is_up(fl, &a, 50000), 74, 1.0, 5, 0));
    assert_false(et_flows_packet(fx->flows, fl, et_flow_is_up(fl, &s, 443), 1514, 1.2, 6, 0));
    assert_false(et_flows_packet(fx->flows, fl, et_flow_is_up(fl, &s, 443), 66, 1.3, 7, 0));
    assert_false(et_flows_packet(fx->flows, fl, et_flow_is_up(fl, &a, 50000), 60, 2.5, 9, 0));
    assert_int_equal(fl->bytes[0], 134);
    assert_int_equal(fl->packets[0], 2);
    assert_int_equal(fl->bytes[1], 1580);
    assert_int_equal(fl->packets[1], 2);
    assert_float_equal(fl->first, 1.0, 1e-9);
    assert_float_equal(fl->last, 2.5, 1e-9);
    assert_int_equal(fl->first_frame, 5);
    assert_int_equal(fl->big_download_frame, 0);
}

static void test_big_download(void **state)
{
    fixture *fx = *state;
    et_addr a = SPEAKER, b = PHONE;
    const uint64_t big = 1000000;
    et_flow *fl = tcp_flow(fx, a, 50000, ip4(13, 32, 0, 1), 443, 0);
    et_flows_set_vendor(fx->flows, device_of(fx, fl), "Amazon Technologies Inc.");
    sni(fx, fl, "dvi8md6049w6b.cloudfront.net");
    assert_int_equal(et_flow_group(fl), ET_GROUP_CDN);
    /* Uploads do not count. */
    assert_false(et_flows_packet(fx->flows, fl, true, 600000, 1, 10, big));
    assert_false(et_flows_packet(fx->flows, fl, true, 600000, 1, 11, big));
    assert_false(et_flows_packet(fx->flows, fl, false, 400000, 2, 12, big));
    assert_false(et_flows_packet(fx->flows, fl, false, 400000, 3, 13, big));
    assert_true(et_flows_packet(fx->flows, fl, false, 400000, 4, 14, big));    /* 1.2 MB */
    assert_int_equal(fl->big_download_frame, 14);
    /* Only once. */
    assert_false(et_flows_packet(fx->flows, fl, false, 400000, 5, 15, big));
    assert_int_equal(fl->big_download_frame, 14);

    /* The other cdn rule; one byte under the limit is not past it, two over are. */
    et_flow *edge = tcp_flow(fx, a, 50003, ip4(13, 32, 0, 4), 443, 0);
    sni(fx, edge, "softwareupdates.amazon.com");
    assert_false(et_flows_packet(fx->flows, edge, false, 999999, 1, 30, big));
    assert_true(et_flows_packet(fx->flows, edge, false, 2, 1, 31, big));
    assert_int_equal(edge->big_download_frame, 31);

    /* Not a cdn flow: never. */
    et_flow *avs = tcp_flow(fx, a, 50001, AVS_SERVER, 443, 0);
    sni(fx, avs, "avs-alexa-4-na.amazon.com");
    for (uint32_t i = 0; i < 4; i++)
        assert_false(et_flows_packet(fx->flows, avs, false, 400000, 1, 20 + i, big));
    assert_int_equal(avs->big_download_frame, 0);

    /* big_download 0: never. */
    et_flow *f0 = tcp_flow(fx, a, 50002, ip4(13, 32, 0, 2), 443, 0);
    sni(fx, f0, "dvi8md6049w6b.cloudfront.net");
    assert_false(et_flows_packet(fx->flows, f0, false, 4000000, 1, 40, 0));

    /* A cdn host on a device that is not a speaker is "amazon": never. */
    et_flow *ph = tcp_flow(fx, b, 50000, ip4(13, 32, 0, 3), 443, 0);
    sni(fx, ph, "dvi8md6049w6b.cloudfront.net");
    assert_false(et_flows_packet(fx->flows, ph, false, 4000000, 1, 50, big));
}

/* The group is stored by classification, from the rule's row: user rules fall in the group
 * their service names (one of the group names), else other; a speaker service on a device that
 * is not a speaker is "amazon", other; a voice-shaped unnamed flow is avs. */
static void test_groups(void **state)
{
    (void)state;
    assert_string_equal(et_group_name(ET_GROUP_VOICE), "voice");
    assert_string_equal(et_group_name(ET_GROUP_METRICS), "metrics");
    assert_string_equal(et_group_name(ET_GROUP_CDN), "cdn");
    assert_string_equal(et_group_name(ET_GROUP_OTHER), "other");
    assert_string_equal(et_group_name(ET_GROUP_UNTAGGED), "untagged");

    et_ruleset *rs = et_ruleset_new();
    et_ruleset_add(rs, "voice.example.org", "avs");
    et_ruleset_add(rs, "cdn.example.org", "CDN");
    et_ruleset_add(rs, "mine.example.org", "mine");
    et_ruleset_add_builtin(rs);
    et_flow_config cfg = { true, true, true, NULL, NULL };
    et_flows *f = et_flows_new(rs, &cfg);
    et_addr spk = SPEAKER, phone = PHONE, s = SERVER2, a = AVS_SERVER;
    static const struct { const char *sni; const char *service; et_group group; } cases[] = {
        { "avs-alexa-4-na.amazon.com", "avs", ET_GROUP_VOICE },       /* makes SPEAKER a speaker */
        { "unagi-na.amazon.com", "metrics", ET_GROUP_METRICS },
        { "dvi8md6049w6b.cloudfront.net", "cdn", ET_GROUP_CDN },
        { "kindle-time.amazon.com", "time", ET_GROUP_OTHER },
        { "www.amazon.com", "amazon", ET_GROUP_OTHER },
        { "voice.example.org", "avs", ET_GROUP_VOICE },
        { "cdn.example.org", "cdn", ET_GROUP_CDN },
        { "mine.example.org", "mine", ET_GROUP_OTHER },
        { "www.example.net", NULL, ET_GROUP_UNTAGGED },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        et_addr server = ip4(52, 94, 30, (uint8_t)(1 + i));    /* no same-ip evidence */
        et_flow *fl = et_flows_add(f, TCP, &spk, (uint16_t)(40000 + i), &server, 443, SYN, (double)i);
        assert_int_equal(et_flow_group(fl), ET_GROUP_UNTAGGED);
        assert_true(et_flows_add_sni(f, fl, cases[i].sni, strlen(cases[i].sni)));
        if (cases[i].service)
            assert_string_equal(fl->service, cases[i].service);
        else
            assert_null(fl->service);
        assert_int_equal(fl->group, cases[i].group);
        assert_int_equal(et_flow_group(fl), cases[i].group);
    }
    /* Not a speaker: metrics becomes amazon, in other. */
    et_flow *pm = et_flows_add(f, TCP, &phone, 50000, &s, 443, SYN, 20);
    assert_true(et_flows_add_sni(f, pm, "unagi-na.amazon.com", 19));
    assert_string_equal(pm->service, "amazon");
    assert_int_equal(et_flow_group(pm), ET_GROUP_OTHER);
    /* Evidence traffic: no host, service avs, group avs. */
    et_flow *v = et_flows_add(f, TCP, &spk, 50001, &a, 443, SYN, 21);
    et_flows_add_traffic(f, v);
    assert_int_equal(v->evidence, ET_EV_TRAFFIC);
    assert_null(v->host);
    assert_string_equal(v->service, "avs");
    assert_int_equal(et_flow_group(v), ET_GROUP_VOICE);
    et_flows_free(f);
    et_ruleset_free(rs);
}

/* ---- the flow record (flow_record.c): one description for the Flows table and the JSON ---- */

static const char *record_string(const et_flows *f, const et_flow *fl, const char *key, char *buf, size_t size)
{
    size_t n;
    const et_flow_column *cols = et_flow_columns(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cols[i].key, key) == 0) {
            assert_int_equal(cols[i].type, ET_REC_STRING);
            et_rec_value v = { NULL, 0 };
            et_flow_totals t = { { 0, 0 }, { 0, 0 } };
            cols[i].get(f, fl, &t, buf, size, &v);
            return v.s;
        }
    }
    fail_msg("no record column %s", key);
    return NULL;
}

static void test_flow_record(void **state)
{
    fixture *fx = *state;
    size_t n;
    const et_flow_column *cols = et_flow_columns(&n);
    /* Keys are unique; the table columns are 0..ET_FLOW_TABLE_COLUMNS-1, each once, titled. */
    int placed[ET_FLOW_TABLE_COLUMNS] = { 0 };
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(cols[i].key, cols[j].key);
        if (cols[i].table_col < 0) {
            assert_null(cols[i].title);
            continue;
        }
        assert_true(cols[i].table_col < ET_FLOW_TABLE_COLUMNS);
        placed[cols[i].table_col]++;
        assert_non_null(cols[i].title);
        assert_non_null(cols[i].format);
        assert_true(cols[i].type == ET_REC_UINT || cols[i].none != NULL);
    }
    for (int c = 0; c < ET_FLOW_TABLE_COLUMNS; c++)
        assert_int_equal(placed[c], 1);
    assert_string_equal(cols[0].key, "flow");

    et_addr spk = SPEAKER, srv = ip4(52, 94, 40, 1);
    et_flow *fl = tcp_flow(fx, spk, 41000, srv, 443, 0);
    char buf[64];
    assert_string_equal(record_string(fx->flows, fl, "device", buf, sizeof(buf)), "192.168.1.10");
    assert_string_equal(record_string(fx->flows, fl, "server", buf, sizeof(buf)), "52.94.40.1");
    assert_string_equal(record_string(fx->flows, fl, "proto", buf, sizeof(buf)), "tcp");
    assert_null(record_string(fx->flows, fl, "service", buf, sizeof(buf)));    /* JSON null, table "untagged" */
    assert_null(record_string(fx->flows, fl, "evidence", buf, sizeof(buf)));
    sni(fx, fl, "avs-alexa-4-na.amazon.com");
    assert_string_equal(record_string(fx->flows, fl, "service", buf, sizeof(buf)), "avs");
    assert_string_equal(record_string(fx->flows, fl, "host", buf, sizeof(buf)), "avs-alexa-4-na.amazon.com");
    assert_string_equal(record_string(fx->flows, fl, "evidence", buf, sizeof(buf)), "sni");
    assert_string_equal(record_string(fx->flows, fl, "rule", buf, sizeof(buf)), "avs-alexa-*.amazon.com");
    /* Counts come from the output's own totals. */
    et_flow_totals t = { { 100, 2000 }, { 3, 4 } };
    uint64_t want[4] = { 100, 3, 2000, 4 }, got[4];
    static const char *const keys[4] = { "bytes_up", "packets_up", "bytes_down", "packets_down" };
    for (int k = 0; k < 4; k++) {
        for (size_t i = 0; i < n; i++) {
            if (strcmp(cols[i].key, keys[k]) == 0) {
                et_rec_value v = { NULL, 0 };
                cols[i].get(fx->flows, fl, &t, buf, sizeof(buf), &v);
                got[k] = v.u;
            }
        }
        assert_int_equal(got[k], want[k]);
    }
}

/* ---- addresses ---- */

static void assert_v6_text(const char *in, const char *expected)
{
    et_addr a = ip6(in);
    assert_string_equal(addr_text(&a), expected);
}

static void test_addr_text(void **state)
{
    (void)state;
    et_addr v4 = ip4(192, 168, 1, 10);
    assert_string_equal(addr_text(&v4), "192.168.1.10");
    v4 = ip4(0, 0, 0, 0);
    assert_string_equal(addr_text(&v4), "0.0.0.0");
    v4 = ip4(255, 255, 255, 255);
    assert_string_equal(addr_text(&v4), "255.255.255.255");

    /* RFC 5952: lower case, no leading zeros, the longest run of two or more zero groups as
     * "::" (the first one on a tie), a single zero group not compressed. */
    assert_v6_text("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
    assert_v6_text("::1", "::1");
    assert_v6_text("::", "::");
    assert_v6_text("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");
    assert_v6_text("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1");
    assert_v6_text("2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::");
    assert_v6_text("1:0:0:2:0:0:0:3", "1:0:0:2::3");
    assert_v6_text("2001:db8::abcd:ef01", "2001:db8::abcd:ef01");
    assert_v6_text("fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a");
    assert_v6_text("ff02::fb", "ff02::fb");
    assert_v6_text("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8");
    assert_v6_text("0:0:0:0:0:0:0:1", "::1");
    assert_v6_text("1:0:0:0:0:0:0:0", "1::");
    assert_v6_text("1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0");
    assert_v6_text("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

    /* The longest text fits the documented 46 bytes. */
    char buf[46];
    et_addr big = ip6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    assert_string_equal(et_addr_to_str(&big, buf, sizeof(buf)), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

static void test_addr_equal(void **state)
{
    (void)state;
    et_addr a = ip4(10, 0, 0, 1), b = ip4(10, 0, 0, 1), c = ip4(10, 0, 0, 2);
    assert_true(et_addr_equal(&a, &b));
    assert_false(et_addr_equal(&a, &c));
    et_addr x = ip6("a00:1::"), y = ip6("a00:1::");
    assert_true(et_addr_equal(&x, &y));
    assert_false(et_addr_equal(&a, &x));       /* same first bytes, other family */
}

static void test_addr_local(void **state)
{
    (void)state;
    struct { et_addr a; bool local; } v4[] = {
        { ip4(10, 1, 2, 3), true },
        { ip4(172, 16, 0, 1), true },
        { ip4(172, 31, 255, 255), true },
        { ip4(172, 15, 255, 255), false },
        { ip4(172, 32, 0, 1), false },
        { ip4(192, 168, 0, 1), true },
        { ip4(192, 169, 0, 1), false },
        { ip4(169, 254, 1, 1), true },
        { ip4(127, 0, 0, 1), true },
        { ip4(224, 0, 0, 251), true },
        { ip4(239, 255, 255, 250), true },
        { ip4(255, 255, 255, 255), true },
        { ip4(8, 8, 8, 8), false },
        { ip4(52, 94, 1, 1), false },
        { ip4(11, 0, 0, 1), false },
    };
    for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
        if (et_addr_is_local(&v4[i].a) != v4[i].local)
            fail_msg("%s: local should be %d", addr_text(&v4[i].a), v4[i].local);
    }
    struct { const char *text; bool local; } v6[] = {
        { "::1", true },
        { "fe80::1", true },
        { "febf::1", true },
        { "fec0::1", false },
        { "fc00::1", true },
        { "fd12:3456::1", true },
        { "fe00::1", false },
        { "ff02::fb", true },
        { "2001:db8::1", false },
        { "2600:9000:2000:1::1", false },
        { "::2", false },
    };
    for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
        et_addr a = ip6(v6[i].text);
        if (et_addr_is_local(&a) != v6[i].local)
            fail_msg("%s: local should be %d", v6[i].text, v6[i].local);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_all, teardown)
#define T_OWN(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_client_syn),
        T(test_client_synack),
        T(test_client_low_port),
        T(test_client_higher_port),
        T(test_client_equal_ports),
        T(test_direction),
        T(test_find_by_tuple),
        T(test_devices),
        cmocka_unit_test(test_evidence_names),
        T(test_evidence_ranking_weak_first),
        T(test_evidence_ranking_strong_first),
        T(test_sni_and_http_host_forms),
        T(test_cert_choice),
        T(test_cert_wildcard_names),
        cmocka_unit_test(test_cert_name_covers),
        T(test_sni_not_covered_by_cert),
        T(test_mismatch_dns),
        T(test_mismatch_not_for_names_of_a_covering_cert),
        T(test_tls_rejected),
        T_OWN(test_cert_disabled),
        T(test_dns_latest_before),
        T(test_dns_earliest_after),
        T(test_dns_device_preferred),
        T(test_dns_forms),
        T_OWN(test_dns_disabled),
        T(test_same_ip),
        T(test_same_ip_strongest_then_earliest),
        T_OWN(test_same_ip_disabled),
        T(test_speaker_by_oui),
        T(test_non_speaker_services),
        cmocka_unit_test(test_user_service_any_device),
        T(test_speaker_by_avs_reclassifies),
        T(test_oui_change_log),
        T(test_change_log_on_class_changes),
        T(test_packet_totals),
        T(test_big_download),
        cmocka_unit_test(test_groups),
        T(test_siri_on_homepod_only),
        T(test_google_assistant_on_google_speakers_only),
        T(test_alexa_built_in),
        T(test_assistant_sdk_names_speaker),
        T(test_lan_is_local),
        cmocka_unit_test_setup_teardown(test_flow_record, setup_all, teardown),
        cmocka_unit_test(test_addr_text),
        cmocka_unit_test(test_addr_equal),
        cmocka_unit_test(test_addr_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
