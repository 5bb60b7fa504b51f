/* payload_evidence.c - evidence from the payload's bytes.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Each gather_* follows its namesake in evidence.c: which packets, which names, which checks, in
 * the same order, so that the flow state cannot tell the two paths apart.
 */
#include "payload_evidence.h"
#include "payload.h"
#include "quic.h"
#include "stream.h"

#include <string.h>

#include <glib.h>

#define TCP_SYN 0x002

/* One TCP flow's handshake being read: [0] up, [1] down. */
typedef struct handshake {
    et_stream stream[2];
    et_tls_reader tls[2];
    size_t dns_next[2];        /* DNS over TCP: the next message's offset */
    bool dns;
    bool http_head_open;       /* the client's stream may start an HTTP request head not yet whole */
    et_quic *quic;             /* a QUIC connection's client Initials */
} handshake;

/* Per flow id: NULL (not yet seen), the handshake being read, or READ (nothing more to read). */
static handshake read_marker;
#define READ (&read_marker)

struct et_payload_evidence {
    size_t budget;
    GPtrArray *by_flow;
    size_t open;
};

et_payload_evidence *et_payload_evidence_new(size_t budget)
{
    et_payload_evidence *pe = g_new0(et_payload_evidence, 1);
    pe->budget = budget;
    pe->by_flow = g_ptr_array_new();
    return pe;
}

static void handshake_free(handshake *h)
{
    for (int d = 0; d < 2; d++) {
        et_stream_free(&h->stream[d]);
        g_free(h->tls[d].hs);
    }
    if (h->quic)
        et_quic_free(h->quic);
    g_free(h->quic);
    g_free(h);
}

void et_payload_evidence_free(et_payload_evidence *pe)
{
    if (pe == NULL)
        return;
    for (guint i = 0; i < pe->by_flow->len; i++) {
        handshake *h = g_ptr_array_index(pe->by_flow, i);
        if (h && h != READ)
            handshake_free(h);
    }
    g_ptr_array_free(pe->by_flow, TRUE);
    g_free(pe);
}

size_t et_payload_evidence_open(const et_payload_evidence *pe)
{
    return pe->open;
}

static void refuse(const et_segment *seg, et_name_kind kind)
{
    if (seg->refused)
        seg->refused(seg->refused_user, kind);
}

static bool is_port(const et_segment *seg, uint16_t port)
{
    return seg->sport == port || seg->dport == port;
}

/* ---- TLS ---- */

typedef struct tls_context {
    et_flows *flows;
    et_flow *fl;
    bool up;
    const et_segment *seg;
} tls_context;

static void tls_sni(void *user, et_span name)
{
    tls_context *c = user;
    if (memchr(name.p, 0, name.len) || !et_flows_add_sni(c->flows, c->fl, (const char *)name.p, name.len))
        refuse(c->seg, ET_NAME_SNI);
}

static bool valid_cert_name(const char *name)
{
    char norm[ET_MAX_HOST_LEN];
    size_t wild = (name[0] == '*' && name[1] == '.') ? 2 : 0;
    return et_host_normalize(name + wild, strlen(name) - wild, norm, sizeof(norm));
}

/* The server's certificate only (with mutual TLS the client sends its own after it), then the
 * frame it came in and its issuer (gather_cert, then gather_tls). */
static void tls_certificate(void *user, et_span der)
{
    tls_context *c = user;
    if (c->up)
        return;
    et_x509_names x;
    bool readable = et_x509_read(der.p, der.len, &x);
    if (c->seg->use_cert && !c->fl->cert_names) {
        GPtrArray *sans = g_ptr_array_new_with_free_func(g_free);
        et_span name;
        for (size_t pos = 0; readable && et_x509_next_dnsname(x.san, &pos, &name);) {
            char *s = memchr(name.p, 0, name.len) ? NULL : g_strndup((const char *)name.p, name.len);
            if (s && valid_cert_name(s))
                g_ptr_array_add(sans, s);
            else {
                g_free(s);
                refuse(c->seg, ET_NAME_CERT);
            }
        }
        et_flows_add_cert(c->flows, c->fl, readable && x.has_subject_cn ? x.subject_cn : NULL,
                          (const char *const *)sans->pdata, sans->len);
        g_ptr_array_free(sans, TRUE);
    }
    if (c->fl->cert_frame == 0)
        et_flows_set_cert_seen(c->flows, c->fl, readable && x.has_issuer_cn ? x.issuer_cn : NULL, c->seg->frame);
}

static void tls_alert(void *user, unsigned level, unsigned desc)
{
    tls_context *c = user;
    et_flows_tls_alert(c->flows, c->fl, c->up, level, desc, c->seg->frame);
}

/* ---- DNS ---- */

#define DNS_MAX_CNAMES 32
#define DNS_MAX_ADDRS 64

typedef struct dns_answers {
    char query[ET_DNS_MAX_NAME];
    bool has_query;
    struct { char owner[ET_DNS_MAX_NAME], target[ET_DNS_MAX_NAME]; } cnames[DNS_MAX_CNAMES];
    unsigned n_cnames;
    struct { char owner[ET_DNS_MAX_NAME]; et_addr addr; } addrs[DNS_MAX_ADDRS];
    unsigned n_addrs;
    et_span txts[DNS_MAX_ADDRS];
    unsigned n_txts;
} dns_answers;

static void dns_query(void *user, const char *name)
{
    dns_answers *a = user;
    g_strlcpy(a->query, name, sizeof(a->query));
    a->has_query = true;
}

static void dns_record(void *user, const char *owner, unsigned type, et_span rdata, const uint8_t *msg, size_t len)
{
    dns_answers *a = user;
    size_t end;
    if (type == ET_DNS_CNAME && a->n_cnames < DNS_MAX_CNAMES &&
        et_dns_name(msg, len, (size_t)(rdata.p - msg), a->cnames[a->n_cnames].target, ET_DNS_MAX_NAME, &end)) {
        g_strlcpy(a->cnames[a->n_cnames].owner, owner, ET_DNS_MAX_NAME);
        a->n_cnames++;
    } else if ((type == ET_DNS_A && rdata.len == 4) || (type == ET_DNS_AAAA && rdata.len == 16)) {
        if (a->n_addrs < DNS_MAX_ADDRS) {
            g_strlcpy(a->addrs[a->n_addrs].owner, owner, ET_DNS_MAX_NAME);
            et_addr_set(&a->addrs[a->n_addrs].addr, type == ET_DNS_A ? 4 : 6, rdata.p);
            a->n_addrs++;
        }
    } else if (type == ET_DNS_TXT) {
        et_span s;
        for (size_t pos = 0; a->n_txts < DNS_MAX_ADDRS && et_dns_next_txt(rdata, &pos, &s);)
            a->txts[a->n_txts++] = s;
    }
}

/* The owner's CNAME target: the last CNAME record for it, as evidence.c's table keeps it. */
static const char *cname_of(const dns_answers *a, const char *owner)
{
    for (unsigned i = a->n_cnames; i-- > 0;) {
        if (strcmp(a->cnames[i].owner, owner) == 0)
            return a->cnames[i].target;
    }
    return NULL;
}

static bool cname_chain_reaches(const dns_answers *a, const char *owner)
{
    const char *name = a->query;
    for (int hops = 0; name && hops < 16; hops++) {     /* bounded: CNAME loops exist */
        if (g_ascii_strcasecmp(name, owner) == 0)
            return true;
        name = cname_of(a, name);
    }
    return false;
}

static void gather_dns(et_flows *flows, const dns_answers *a, const et_segment *seg)
{
    for (unsigned i = 0; i < a->n_addrs; i++) {
        const char *owner = a->addrs[i].owner;
        const char *name = a->has_query && cname_chain_reaches(a, owner) ? a->query : owner;
        if (!et_flows_add_dns(flows, name, strlen(name), &a->addrs[i].addr, &seg->dst, seg->t))
            refuse(seg, ET_NAME_DNS);
    }
}

/* A device announcing its model: see evidence.c's gather_mdns. The strings are ASCII, as
 * Wireshark shows them (other bytes U+FFFD). */
static void gather_mdns(et_flows *flows, const dns_answers *a, const et_segment *seg)
{
    if (a->n_txts == 0 || seg->sport != 5353)
        return;
    bool names_sender = false;
    for (unsigned i = 0; i < a->n_addrs; i++)
        names_sender = names_sender || et_addr_equal(&a->addrs[i].addr, &seg->src);
    if (a->n_addrs && !names_sender)
        return;
    for (unsigned i = 0; i < a->n_txts; i++) {
        char text[3 * 255 + 1];
        size_t n = 0;
        for (size_t j = 0; j < a->txts[i].len; j++) {
            uint8_t b = a->txts[i].p[j];
            if (b < 0x80)
                text[n++] = (char)b;
            else {
                memcpy(text + n, "\xef\xbf\xbd", 3);
                n += 3;
            }
        }
        text[n] = '\0';
        et_flows_add_mdns_txt(flows, &seg->src, text, n);
    }
}

static void dns_message(et_flows *flows, const uint8_t *msg, size_t len, const et_segment *seg)
{
    dns_answers *a = g_new(dns_answers, 1);
    a->has_query = false;
    a->n_cnames = a->n_addrs = a->n_txts = 0;
    et_dns_read(msg, len, &(et_dns_sink){ dns_query, dns_record, a });
    gather_dns(flows, a, seg);
    gather_mdns(flows, a, seg);
    g_free(a);
}

/* ---- HTTP ---- */

static void add_http_host(et_flows *flows, et_flow *fl, et_span host, const et_segment *seg)
{
    if (memchr(host.p, 0, host.len)) {
        refuse(seg, ET_NAME_HTTP_HOST);
        return;
    }
    if (et_host_is_ip_literal((const char *)host.p, host.len))
        return;                         /* "[FF02::C]", "239.255.255.250:1900": valid, but no name */
    if (!et_flows_add_http_host(flows, fl, (const char *)host.p, host.len))
        refuse(seg, ET_NAME_HTTP_HOST);
}

static void gather_http_host(et_flows *flows, et_flow *fl, const uint8_t *p, size_t len, const et_segment *seg)
{
    et_span host;
    if (et_http_request_host(p, len, &host))
        add_http_host(flows, fl, host, seg);
}

/* ---- TCP streams ---- */

static handshake *handshake_of(et_payload_evidence *pe, const et_flow *fl)
{
    if (fl->id >= pe->by_flow->len)
        g_ptr_array_set_size(pe->by_flow, fl->id + 1);
    handshake *h = g_ptr_array_index(pe->by_flow, fl->id);
    if (h == NULL) {
        h = g_new0(handshake, 1);
        for (int d = 0; d < 2; d++) {
            et_stream_init(&h->stream[d], pe->budget);
            et_tls_reader_init(&h->tls[d], NULL, 0);
        }
        h->dns = fl->server_port == 53;
        h->http_head_open = true;
        g_ptr_array_index(pe->by_flow, fl->id) = h;
        pe->open++;
    }
    return h;
}

/* DNS over TCP: messages with a 2-byte length, one after another. */
static void tcp_dns(et_flows *flows, handshake *h, int d, const et_segment *seg)
{
    const et_stream *s = &h->stream[d];
    while (s->contiguous - h->dns_next[d] >= 2) {
        const uint8_t *m = s->bytes + h->dns_next[d];
        size_t len = (size_t)m[0] << 8 | m[1];
        if (s->contiguous - h->dns_next[d] - 2 < len)
            break;
        dns_message(flows, m + 2, len, seg);
        h->dns_next[d] += 2 + len;
    }
}

static void handshake_read(et_payload_evidence *pe, const et_flow *fl, handshake *h)
{
    handshake_free(h);
    g_ptr_array_index(pe->by_flow, fl->id) = READ;
    pe->open--;
}

/* A direction that may still hold a TLS handshake: its budget grows rather than ends it. */
static bool may_grow(const handshake *h, int d)
{
    return !h->dns && h->stream[d].cap < ET_HANDSHAKE_MAX && (h->tls[d].hs == NULL || !h->tls[d].finished);
}

static bool direction_read(const handshake *h, int d)
{
    return (et_stream_full(&h->stream[d]) && !may_grow(h, d)) ||
           (h->tls[d].finished && !h->dns && !(d == 0 && h->http_head_open));
}

/* The client's first request head when it spans segments (as Wireshark reassembles it), read from
 * the stream once whole; a head whole in the segment that starts the stream is that segment's
 * (et_payload_gather). seq: the segment's first payload byte. */
static void http_head_from_stream(et_flows *flows, et_flow *fl, handshake *h, uint32_t seq, const et_segment *seg)
{
    const et_stream *s = &h->stream[0];
    et_span host, own;
    et_http_head head = et_http_request(s->bytes, s->contiguous, &host);
    if (head == ET_HTTP_PARTIAL && !et_stream_full(s))
        return;
    h->http_head_open = false;
    if (head == ET_HTTP_HOST &&
        !(seq == s->base_seq && et_http_request(seg->payload, seg->len, &own) == ET_HTTP_HOST))
        add_http_host(flows, fl, host, seg);
}

static void tcp_segment(et_payload_evidence *pe, et_flows *flows, et_flow *fl, bool up, const et_segment *seg)
{
    handshake *h = fl->id < pe->by_flow->len ? g_ptr_array_index(pe->by_flow, fl->id) : NULL;
    if (h == READ)
        return;
    h = handshake_of(pe, fl);
    int d = up ? 0 : 1;
    uint32_t seq = seg->seq;
    if (seg->tcp_flags & TCP_SYN) {
        et_stream_syn(&h->stream[d], seq);
        seq++;                          /* data in a SYN (TCP Fast Open) follows it */
    }
    if (may_grow(h, d)) {
        et_stream_reserve(&h->stream[d], seq, seg->len, ET_HANDSHAKE_MAX);
        if (h->tls[d].hs && h->tls[d].hs_cap < h->stream[d].cap) {  /* records gathered fit as in the stream */
            h->tls[d].hs = g_realloc(h->tls[d].hs, h->stream[d].cap);
            h->tls[d].hs_cap = h->stream[d].cap;
        }
    }
    if (direction_read(h, d) || !et_stream_add(&h->stream[d], seq, seg->payload, seg->len))
        return;
    if (h->tls[d].hs == NULL)
        et_tls_reader_init(&h->tls[d], g_malloc(h->stream[d].cap), h->stream[d].cap);
    tls_context c = { flows, fl, up, seg };
    et_tls_sink sink = { tls_sni, tls_certificate, tls_alert, &c };
    et_tls_read(&h->tls[d], h->stream[d].bytes, h->stream[d].contiguous, &sink);
    if (up && h->http_head_open)
        http_head_from_stream(flows, fl, h, seq, seg);
    if (h->dns)
        tcp_dns(flows, h, d, seg);
    if (direction_read(h, 0) && direction_read(h, 1))
        handshake_read(pe, fl, h);
}

/* IETF QUIC: the ClientHello in the client's Initials (quic.c), from a flow's first Initial on. */
static void quic_datagram(et_payload_evidence *pe, et_flows *flows, et_flow *fl, bool up, const et_segment *seg)
{
    handshake *h = fl->id < pe->by_flow->len ? g_ptr_array_index(pe->by_flow, fl->id) : NULL;
    if (h == READ || (h == NULL && !et_quic_is_initial(seg->payload, seg->len)))
        return;
    h = handshake_of(pe, fl);
    if (h->quic == NULL) {
        h->quic = g_new(et_quic, 1);
        et_quic_init(h->quic, pe->budget);
    }
    et_span sni;
    if (et_quic_datagram(h->quic, seg->payload, seg->len, &sni)) {
        tls_context c = { flows, fl, up, seg };
        tls_sni(&c, sni);
    }
    if (h->quic->finished)
        handshake_read(pe, fl, h);
}

void et_payload_gather(et_payload_evidence *pe, et_flows *flows, et_flow *fl, bool up, const et_segment *seg)
{
    if (seg->proto == 6) {
        if (seg->len || (seg->tcp_flags & TCP_SYN))      /* the SYN places the stream's start */
            tcp_segment(pe, flows, fl, up, seg);
        /* Each request's head, where a segment starts one. */
        gather_http_host(flows, fl, seg->payload, seg->len, seg);
        return;
    }
    quic_datagram(pe, flows, fl, up, seg);
    et_span sni;
    if (et_gquic_chlo_sni(seg->payload, seg->len, &sni)) {
        tls_context c = { flows, fl, up, seg };
        tls_sni(&c, sni);
    }
    if (is_port(seg, 1900))
        gather_http_host(flows, fl, seg->payload, seg->len, seg);
    if (is_port(seg, 53) || is_port(seg, 5353) || is_port(seg, 5355))
        dns_message(flows, seg->payload, seg->len, seg);
}
