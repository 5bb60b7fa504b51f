/* flows.c - per-capture flow state: devices, evidence, classification.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "flows.h"

#include <string.h>
#include <glib.h>

/* DNS answers kept per server address; older ones are dropped first. */
#define DNS_ENTRIES_PER_ADDR 32

typedef struct dns_entry {
    const char *name;          /* interned */
    double t;
    et_addr client;
} dns_entry;

typedef struct same_ip_best {
    et_evidence ev;
    const char *host;
} same_ip_best;

struct et_flows {
    const et_ruleset *rules;
    et_flow_config cfg;
    GStringChunk *strings;     /* interned host names */
    GHashTable *interned;      /* char* -> char* in strings */
    GPtrArray *flows;          /* et_flow*, index = id */
    GPtrArray *devices;        /* et_device*, index = id */
    GPtrArray *device_flows;   /* GArray of uint32 flow ids, index = device id */
    GHashTable *device_by_addr;/* et_addr* -> et_device* */
    GHashTable *flows_by_server;/* et_addr* (owned) -> GArray of uint32 flow ids */
    GHashTable *dns;           /* et_addr* (owned) -> GArray of dns_entry */
    GHashTable *same_ip;       /* et_addr* (owned) -> same_ip_best* */
    GHashTable *by_tuple;      /* tuple_key* (owned) -> the newest flow of that 5-tuple */
    GArray *changes;           /* uint32 flow ids */
};

static const char *const evidence_names[ET_EV_COUNT] = {
    "none", "lan", "traffic", "same-ip", "resolved", "dns", "http-host", "cert", "sni",
};

const char *et_evidence_name(et_evidence ev)
{
    return (unsigned)ev < ET_EV_COUNT ? evidence_names[ev] : "none";
}

/* ---- addresses ---- */

void et_addr_set(et_addr *a, int family, const void *bytes)
{
    memset(a, 0, sizeof(*a));
    a->family = (uint8_t)family;
    memcpy(a->bytes, bytes, family == 6 ? 16 : 4);
}

static size_t addr_len(const et_addr *a)
{
    return a->family == 6 ? 16 : 4;
}

bool et_addr_equal(const et_addr *a, const et_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, addr_len(a)) == 0;
}

static guint addr_hash(gconstpointer p)
{
    const et_addr *a = p;
    guint h = a->family;
    for (size_t i = 0; i < addr_len(a); i++)
        h = h * 31 + a->bytes[i];
    return h;
}

static gboolean addr_eq(gconstpointer a, gconstpointer b)
{
    return et_addr_equal(a, b);
}

/* A 5-tuple in either direction, in 32-bit words: protocol and family, the two ports, then the
 * lower endpoint's address and the higher one's (lower: by address, then port). Words, so that
 * hashing and comparing take a few instructions and read no padding. */
typedef struct tuple_key {
    uint32_t w[10];
} tuple_key;

/* The address's bytes into 4 words (IPv4: the first, the rest 0); sizes known to the compiler,
 * so no call into libc. */
static void address_words(uint32_t *w, const et_addr *a)
{
    if (a->family == 6)
        memcpy(w, a->bytes, 16);
    else {
        memcpy(w, a->bytes, 4);
        w[1] = w[2] = w[3] = 0;
    }
}

static void tuple_key_set(tuple_key *k, uint8_t proto, const et_addr *a, uint16_t ap, const et_addr *b, uint16_t bp)
{
    uint32_t x[4], y[4];
    address_words(x, a);
    address_words(y, b);
    int order = memcmp(a->bytes, b->bytes, addr_len(a));
    bool swap = order > 0 || (order == 0 && ap > bp);
    k->w[0] = (uint32_t)proto << 8 | a->family;
    k->w[1] = swap ? (uint32_t)bp << 16 | ap : (uint32_t)ap << 16 | bp;
    memcpy(&k->w[2], swap ? y : x, 16);
    memcpy(&k->w[6], swap ? x : y, 16);
}

static guint tuple_hash(gconstpointer p)
{
    const tuple_key *k = p;
    uint32_t h = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(k->w); i++)
        h = (h ^ k->w[i]) * 0x9e3779b1u;         /* multiplicative (Fibonacci) hashing */
    return h ^ h >> 15;
}

static gboolean tuple_eq(gconstpointer a, gconstpointer b)
{
    return memcmp(a, b, sizeof(tuple_key)) == 0;
}

bool et_addr_is_local(const et_addr *a)
{
    const uint8_t *b = a->bytes;
    if (a->family == 4) {
        return b[0] == 10 || b[0] == 127 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
               (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) ||
               b[0] >= 224 || (b[0] == 0);
    }
    static const uint8_t loopback6[16] = { [15] = 1 };
    return (b[0] & 0xfe) == 0xfc ||                   /* fc00::/7 unique local */
           (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
           b[0] == 0xff ||                            /* multicast */
           memcmp(b, loopback6, 16) == 0;
}

const char *et_addr_to_str(const et_addr *a, char *buf, size_t size)
{
    if (a->family == 4) {
        g_snprintf(buf, (gulong)size, "%u.%u.%u.%u", a->bytes[0], a->bytes[1], a->bytes[2], a->bytes[3]);
        return buf;
    }
    /* RFC 5952: lower case, longest run of zero groups (two or more) as "::". */
    uint16_t g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (uint16_t)(a->bytes[2 * i] << 8 | a->bytes[2 * i + 1]);
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j > i ? j : i + 1;
    }
    GString *s = g_string_sized_new(40);
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            g_string_append(s, "::");
            i += best_len - 1;
            continue;
        }
        if (s->len > 0 && s->str[s->len - 1] != ':')
            g_string_append_c(s, ':');
        g_string_append_printf(s, "%x", g[i]);
    }
    g_strlcpy(buf, s->str, size);
    g_string_free(s, TRUE);
    return buf;
}

/* ---- construction ---- */

static void flow_free(gpointer p)
{
    et_flow *fl = p;
    g_free(fl->cert_hosts);
    g_free(fl);
}

static void free_flow_ids(gpointer p)
{
    g_array_free(p, TRUE);
}

et_flows *et_flows_new(const et_ruleset *rules, const et_flow_config *cfg)
{
    et_flows *f = g_new0(et_flows, 1);
    f->rules = rules;
    f->cfg = *cfg;
    f->strings = g_string_chunk_new(4096);
    f->interned = g_hash_table_new(g_str_hash, g_str_equal);
    f->flows = g_ptr_array_new_with_free_func(flow_free);
    f->devices = g_ptr_array_new_with_free_func(g_free);
    f->device_flows = g_ptr_array_new_with_free_func(free_flow_ids);
    f->device_by_addr = g_hash_table_new(addr_hash, addr_eq);
    f->flows_by_server = g_hash_table_new_full(addr_hash, addr_eq, g_free, free_flow_ids);
    f->dns = g_hash_table_new_full(addr_hash, addr_eq, g_free, free_flow_ids);
    f->same_ip = g_hash_table_new_full(addr_hash, addr_eq, g_free, g_free);
    f->by_tuple = g_hash_table_new_full(tuple_hash, tuple_eq, g_free, NULL);
    f->changes = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    return f;
}

void et_flows_free(et_flows *f)
{
    if (f == NULL)
        return;
    g_hash_table_destroy(f->by_tuple);
    g_hash_table_destroy(f->same_ip);
    g_hash_table_destroy(f->dns);
    g_hash_table_destroy(f->flows_by_server);
    g_hash_table_destroy(f->device_by_addr);
    g_ptr_array_free(f->device_flows, TRUE);
    g_ptr_array_free(f->devices, TRUE);
    g_ptr_array_free(f->flows, TRUE);
    g_hash_table_destroy(f->interned);
    g_string_chunk_free(f->strings);
    g_array_free(f->changes, TRUE);
    g_free(f);
}

static const char *intern(et_flows *f, const char *s)
{
    const char *found = g_hash_table_lookup(f->interned, s);
    if (found == NULL) {
        found = g_string_chunk_insert(f->strings, s);
        g_hash_table_insert(f->interned, (gpointer)found, (gpointer)found);
    }
    return found;
}

et_flow *et_flows_get(const et_flows *f, uint32_t id)
{
    return id < f->flows->len ? g_ptr_array_index(f->flows, id) : NULL;
}

uint32_t et_flows_count(const et_flows *f)
{
    return f->flows->len;
}

et_device *et_flows_device(const et_flows *f, uint32_t id)
{
    return id < f->devices->len ? g_ptr_array_index(f->devices, id) : NULL;
}

uint32_t et_flows_device_count(const et_flows *f)
{
    return f->devices->len;
}

size_t et_flows_changes(const et_flows *f, const uint32_t **ids)
{
    if (ids)
        *ids = (const uint32_t *)(void *)f->changes->data;
    return f->changes->len;
}

static et_device *device_for(et_flows *f, const et_addr *addr)
{
    et_device *d = g_hash_table_lookup(f->device_by_addr, addr);
    if (d == NULL) {
        d = g_new0(et_device, 1);
        d->id = f->devices->len;
        d->addr = *addr;
        et_addr_to_str(addr, d->addr_text, sizeof(d->addr_text));
        g_ptr_array_add(f->devices, d);
        g_ptr_array_add(f->device_flows, g_array_new(FALSE, FALSE, sizeof(uint32_t)));
        g_hash_table_insert(f->device_by_addr, &d->addr, d);
    }
    return d;
}

static GArray *ids_at(GHashTable *table, const et_addr *addr)
{
    GArray *ids = g_hash_table_lookup(table, addr);
    if (ids == NULL) {
        ids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        g_hash_table_insert(table, g_memdup2(addr, sizeof(*addr)), ids);
    }
    return ids;
}

/* ---- classification ---- */

static const char *dns_name_for(const et_flows *f, const et_flow *fl, const et_addr *device_addr)
{
    GArray *entries = g_hash_table_lookup(f->dns, &fl->server);
    if (entries == NULL)
        return NULL;
    /* Two rounds: answers to this device first, then answers to anyone. */
    for (int round = 0; round < 2; round++) {
        const dns_entry *before = NULL, *after = NULL;
        for (guint i = 0; i < entries->len; i++) {
            const dns_entry *e = &g_array_index(entries, dns_entry, i);
            if (round == 0 && !et_addr_equal(&e->client, device_addr))
                continue;
            if (e->t <= fl->first) {
                if (before == NULL || e->t >= before->t)
                    before = e;
            } else if (after == NULL || e->t < after->t) {
                after = e;
            }
        }
        if (before || after)
            return before ? before->name : after->name;
    }
    return NULL;
}

static const char *raw_service(const et_flows *f, const char *host, const et_rule **rule, et_group *group)
{
    const et_rule *r = host ? et_ruleset_match(f->rules, host) : NULL;
    if (rule)
        *rule = r;
    if (group)
        *group = r ? r->group : ET_GROUP_UNTAGGED;
    return r ? r->service : NULL;
}

et_assistant et_device_assistant(const et_device *d)
{
    if (d->by_flow != ET_ASSISTANT_NONE)
        return d->by_flow;
    if (d->by_model != ET_ASSISTANT_NONE)
        return d->by_model;
    return d->by_vendor;
}

/* doc/classification.md, "Smart speakers": a speaker service stays on a speaker of its assistant; a
 * device that is no speaker gets the fallback (a phone's Siri is "apple"), and so does a speaker
 * of another assistant for a voice service (an Echo's www.google.com is search). A speaker whose
 * assistant is unknown keeps every voice service: its traffic decides. */
static const char *service_on_device(const char *raw, et_assistant device, et_group *group)
{
    et_assistant owner;
    bool voice;
    const char *fallback;
    if (!et_speaker_service(raw, &owner, &voice, &fallback))
        return raw;
    if (device == ET_ASSISTANT_NONE ||
        (voice && device != ET_ASSISTANT_UNKNOWN && owner != ET_ASSISTANT_UNKNOWN && owner != device)) {
        *group = et_group_of_service(fallback);
        return fallback;
    }
    return raw;
}

static void classify(et_flows *f, et_flow *fl);

/* Is host one of the flow's certificate's names, or covered by one of its wildcards? */
static bool cert_covers(const et_flow *fl, const char *host)
{
    for (uint64_t i = 0; i < fl->cert_names; i++) {
        if (fl->cert_hosts[i] == host || et_cert_name_covers(fl->cert_hosts[i], host))
            return true;
    }
    return false;
}

static void classify_device_flows(et_flows *f, const et_device *d)
{
    GArray *ids = g_ptr_array_index(f->device_flows, d->id);
    for (guint i = 0; i < ids->len; i++)
        classify(f, et_flows_get(f, g_array_index(ids, uint32_t, i)));
}

static void classify(et_flows *f, et_flow *fl)
{
    et_device *d = et_flows_device(f, fl->device);

    if (f->cfg.use_dns) {
        const char *name = dns_name_for(f, fl, &d->addr);
        fl->ev_host[ET_EV_DNS] = name;
    }
    if (f->cfg.resolve) {
        const char *name = f->cfg.resolve(f->cfg.resolve_user, &fl->server);
        char norm[ET_MAX_HOST_LEN];
        fl->ev_host[ET_EV_RESOLVED] =
            name && et_host_normalize(name, strlen(name), norm, sizeof(norm)) ? intern(f, norm) : NULL;
    }
    if (f->cfg.use_same_ip) {
        const same_ip_best *b = g_hash_table_lookup(f->same_ip, &fl->server);
        fl->ev_host[ET_EV_SAME_IP] = b ? b->host : NULL;
    }

    et_evidence ev = ET_EV_NONE;
    for (int e = ET_EV_COUNT - 1; e > ET_EV_NONE; e--) {
        if (fl->ev_host[e] && (e != ET_EV_CERT || f->cfg.use_cert)) {
            ev = (et_evidence)e;
            break;
        }
    }
    const char *host = ev ? fl->ev_host[ev] : NULL;
    const et_rule *rule = NULL;
    et_group group;
    const char *raw = raw_service(f, host, &rule, &group);
    et_assistant assistant = et_device_assistant(d);
    if (ev == ET_EV_NONE && fl->voice_shaped && assistant != ET_ASSISTANT_NONE) {
        ev = ET_EV_TRAFFIC;
        raw = et_assistant_voice_service(assistant);
        group = ET_GROUP_VOICE;
    }

    /* doc/classification.md, "Mismatch": a certificate that covers the SNI (or stands alone)
     * vouches for each of its names, whatever rules they fall under. */
    bool cert_vouches = f->cfg.use_cert && fl->cert_names &&
                        (!fl->ev_host[ET_EV_SNI] || cert_covers(fl, fl->ev_host[ET_EV_SNI]));
    bool mismatch = fl->sni_not_in_cert && ev == ET_EV_SNI && f->cfg.use_cert;
    for (int e = ev - 1; e > ET_EV_NONE && !mismatch; e--) {
        const char *other = fl->ev_host[e];
        if (other && other != host && e != ET_EV_SAME_IP && (e != ET_EV_CERT || f->cfg.use_cert) &&
            g_strcmp0(raw_service(f, other, NULL, NULL), raw) != 0 && !(cert_vouches && cert_covers(fl, other)))
            mismatch = true;
    }

    if (rule && rule->names_speaker && d->by_flow == ET_ASSISTANT_NONE) {
        et_assistant owner = ET_ASSISTANT_NONE;
        et_speaker_service(raw, &owner, NULL, NULL);
        if (owner != ET_ASSISTANT_NONE && owner != ET_ASSISTANT_UNKNOWN) {
            d->by_flow = owner;
            if (owner != assistant) {   /* its flows' services change, this one's included */
                classify_device_flows(f, d);
                return;
            }
        }
    }
    const char *service = raw ? service_on_device(raw, assistant, &group) : NULL;
    /* The LAN: whatever no rule names there stays in the home (DNS to the router, mDNS, speakers
     * talking to each other with self-signed certificates). */
    if (service == NULL && et_addr_is_local(&fl->server)) {
        service = "local";
        group = ET_GROUP_OTHER;
        if (ev == ET_EV_NONE)
            ev = ET_EV_LAN;
    }

    const char *pattern = rule ? rule->pattern : NULL;
    if (ev != fl->evidence || host != fl->host || pattern != fl->rule ||
        g_strcmp0(service, fl->service) != 0 || group != fl->group || mismatch != fl->mismatch) {
        fl->evidence = ev;
        fl->host = host;
        fl->rule = pattern;
        fl->service = service;
        fl->group = group;
        fl->mismatch = mismatch;
        g_array_append_val(f->changes, fl->id);
    }
}

void et_flows_add_traffic(et_flows *f, et_flow *fl)
{
    if (!fl->voice_shaped) {
        fl->voice_shaped = true;
        classify(f, fl);
    }
}

static void classify_server_flows(et_flows *f, const et_addr *server, bool weak_only)
{
    GArray *ids = g_hash_table_lookup(f->flows_by_server, server);
    for (guint i = 0; ids && i < ids->len; i++) {
        et_flow *fl = et_flows_get(f, g_array_index(ids, uint32_t, i));
        if (!weak_only || fl->evidence < ET_EV_HTTP_HOST)
            classify(f, fl);
    }
}

/* A flow has its own strong evidence: other flows to the same server may use it. */
static void offer_same_ip(et_flows *f, et_flow *fl, et_evidence ev, const char *host)
{
    same_ip_best *b = g_hash_table_lookup(f->same_ip, &fl->server);
    if (b && b->ev >= ev)
        return;
    if (b == NULL) {
        b = g_new0(same_ip_best, 1);
        g_hash_table_insert(f->same_ip, g_memdup2(&fl->server, sizeof(fl->server)), b);
    }
    b->ev = ev;
    b->host = host;
    if (f->cfg.use_same_ip)
        classify_server_flows(f, &fl->server, true);
}

/* ---- flows and packets ---- */

static bool client_is_src(uint16_t sport, uint16_t dport, int tcp_flags)
{
    if (tcp_flags >= 0 && (tcp_flags & 0x02)) {           /* SYN */
        return !(tcp_flags & 0x10);                        /* SYN from the client, SYN/ACK from the server */
    }
    if ((sport < 1024) != (dport < 1024))
        return dport < 1024;
    return sport >= dport;
}

et_flow *et_flows_add(et_flows *f, uint8_t proto, const et_addr *src, uint16_t sport,
                      const et_addr *dst, uint16_t dport, int tcp_flags, double t)
{
    et_flow *fl = g_new0(et_flow, 1);
    fl->id = f->flows->len;
    fl->proto = proto;
    if (client_is_src(sport, dport, tcp_flags)) {
        fl->client = *src; fl->client_port = sport;
        fl->server = *dst; fl->server_port = dport;
    } else {
        fl->client = *dst; fl->client_port = dport;
        fl->server = *src; fl->server_port = sport;
    }
    fl->first = fl->last = t;
    fl->group = ET_GROUP_UNTAGGED;
    et_device *d = device_for(f, &fl->client);
    fl->device = d->id;
    g_ptr_array_add(f->flows, fl);
    g_array_append_val(g_ptr_array_index(f->device_flows, d->id), fl->id);
    g_array_append_val(ids_at(f->flows_by_server, &fl->server), fl->id);
    et_flows_map(f, fl, proto, src, sport, dst, dport);
    classify(f, fl);
    return fl;
}

void et_flows_map(et_flows *f, et_flow *fl, uint8_t proto, const et_addr *src, uint16_t sport, const et_addr *dst,
                  uint16_t dport)
{
    tuple_key *k = g_new(tuple_key, 1);
    tuple_key_set(k, proto, src, sport, dst, dport);
    g_hash_table_replace(f->by_tuple, k, fl);
}

et_flow *et_flows_find(const et_flows *f, uint8_t proto, const et_addr *src, uint16_t sport, const et_addr *dst,
                       uint16_t dport)
{
    tuple_key k;
    tuple_key_set(&k, proto, src, sport, dst, dport);
    return g_hash_table_lookup(f->by_tuple, &k);
}

bool et_flow_is_up(const et_flow *fl, const et_addr *src, uint16_t sport)
{
    return sport == fl->client_port && et_addr_equal(src, &fl->client);
}

bool et_flows_packet(et_flows *f, et_flow *fl, bool up, uint32_t len, double t, uint32_t frame,
                     uint64_t big_download)
{
    (void)f;
    int dir = up ? 0 : 1;
    fl->bytes[dir] += len;
    fl->packets[dir]++;
    if (fl->packets[0] + fl->packets[1] == 1)
        fl->first_frame = frame;
    if (t < fl->first)
        fl->first = t;
    if (t > fl->last)
        fl->last = t;
    if (big_download && !up && fl->big_download_frame == 0 && fl->bytes[1] >= big_download &&
        et_flow_group(fl) == ET_GROUP_CDN) {
        fl->big_download_frame = frame;
        return true;
    }
    return false;
}

void et_flows_set_vendor(et_flows *f, et_device *d, const char *vendor)
{
    et_assistant before = et_device_assistant(d);
    d->oui_checked = true;
    d->by_vendor = et_vendor_assistant(vendor);
    if (before != et_device_assistant(d))
        classify_device_flows(f, d);
}

bool et_flows_add_mdns_txt(et_flows *f, const et_addr *addr, const char *txt, size_t len)
{
    char model[ET_MODEL_MAX];
    et_assistant a = et_mdns_txt_assistant(txt, len, model, sizeof(model));
    if (model[0] == '\0')
        return false;
    et_device *d = device_for(f, addr);
    if (a == ET_ASSISTANT_NONE) {       /* a model, but no speaker's: it names the device all the same */
        if (d->by_model == ET_ASSISTANT_NONE)
            g_strlcpy(d->model, model, sizeof(d->model));
        return false;
    }
    et_assistant before = et_device_assistant(d);
    d->by_model = a;
    g_strlcpy(d->model, model, sizeof(d->model));
    if (before != et_device_assistant(d))
        classify_device_flows(f, d);
    return true;
}

/* ---- evidence ---- */

bool et_cert_name_covers(const char *cert_name, const char *host)
{
    if (cert_name[0] == '*' && cert_name[1] == '.') {
        const char *dot = strchr(host, '.');
        return dot && dot != host && g_ascii_strcasecmp(dot, cert_name + 1) == 0;
    }
    return g_ascii_strcasecmp(cert_name, host) == 0;
}

static bool set_own_evidence(et_flows *f, et_flow *fl, et_evidence ev, const char *name, size_t len)
{
    char norm[ET_MAX_HOST_LEN];
    if (!et_host_normalize(name, len, norm, sizeof(norm)))
        return false;
    if (fl->ev_host[ev])            /* first one wins: retransmissions, renegotiation */
        return true;
    fl->ev_host[ev] = intern(f, norm);
    classify(f, fl);
    offer_same_ip(f, fl, ev, fl->ev_host[ev]);
    return true;
}

bool et_flows_add_sni(et_flows *f, et_flow *fl, const char *name, size_t len)
{
    return set_own_evidence(f, fl, ET_EV_SNI, name, len);
}

bool et_flows_add_http_host(et_flows *f, et_flow *fl, const char *name, size_t len)
{
    return set_own_evidence(f, fl, ET_EV_HTTP_HOST, name, len);
}

size_t et_flows_add_cert(et_flows *f, et_flow *fl, const char *cn, const char *const *sans,
                         size_t n_sans)
{
    if (fl->ev_host[ET_EV_CERT] || fl->cert_names)
        return 0;
    const char *chosen = NULL, *first_any = NULL, *first = NULL;
    bool covers_sni = false;
    size_t kept = 0;
    const char **hosts = g_new(const char *, n_sans + 1);
    for (size_t i = 0; i <= n_sans; i++) {
        const char *name = i == 0 ? cn : sans[i - 1];
        char norm[ET_MAX_HOST_LEN];
        /* A wildcard name ("*.cloudfront.net"): '*' is not a host character, so check the
         * rest and put the "*." back. */
        size_t wild = name && name[0] == '*' && name[1] == '.' ? 2 : 0;
        if (name == NULL ||
            !et_host_normalize(name + wild, strlen(name) - wild, norm + wild, sizeof(norm) - wild))
            continue;
        memcpy(norm, "*.", wild);
        hosts[kept++] = intern(f, norm);
        if (fl->ev_host[ET_EV_SNI] && et_cert_name_covers(norm, fl->ev_host[ET_EV_SNI]))
            covers_sni = true;
        if (first == NULL)
            first = intern(f, norm);
        if (chosen)
            continue;
        /* A wildcard name matches a rule as it is: "*.cloudfront.net" matches "*.cloudfront.net"
         * (every name it covers does), not "avs-alexa-*.amazon.com". */
        const char *svc = raw_service(f, norm, NULL, NULL);
        if (svc && strcmp(svc, "amazon") != 0)
            chosen = intern(f, norm);
        else if (svc && first_any == NULL)
            first_any = intern(f, norm);
    }
    fl->cert_names = kept;
    if (kept == 0) {
        g_free(hosts);
        return 0;
    }
    fl->cert_hosts = hosts;
    fl->sni_not_in_cert = fl->ev_host[ET_EV_SNI] && !covers_sni;
    fl->ev_host[ET_EV_CERT] = chosen ? chosen : first_any ? first_any : first;
    classify(f, fl);
    if (f->cfg.use_cert)            /* certificates are not evidence: not for other flows either */
        offer_same_ip(f, fl, ET_EV_CERT, fl->ev_host[ET_EV_CERT]);
    return kept;
}

bool et_flows_add_dns(et_flows *f, const char *name, size_t len, const et_addr *addr,
                      const et_addr *client, double t)
{
    char norm[ET_MAX_HOST_LEN];
    if (!et_host_normalize(name, len, norm, sizeof(norm)))
        return false;
    GArray *entries = g_hash_table_lookup(f->dns, addr);
    if (entries == NULL) {
        entries = g_array_new(FALSE, FALSE, sizeof(dns_entry));
        g_hash_table_insert(f->dns, g_memdup2(addr, sizeof(*addr)), entries);
    }
    const char *interned = intern(f, norm);
    bool same_name = entries->len > 0;
    for (guint i = 0; i < entries->len; i++) {
        const dns_entry *e = &g_array_index(entries, dns_entry, i);
        if (e->name == interned && e->t == t && et_addr_equal(&e->client, client))
            return true;                                /* the same answer again: nothing new */
        same_name = same_name && e->name == interned;
    }
    if (entries->len >= DNS_ENTRIES_PER_ADDR)
        g_array_remove_index(entries, 0);
    dns_entry e = { interned, t, *client };
    g_array_append_val(entries, e);
    /* When every earlier answer for this address gave this name, every flow to it has it already
     * (a metrics server is looked up again before each upload: no quadratic reclassification). */
    if (f->cfg.use_dns && !same_name)
        classify_server_flows(f, addr, false);
    return true;
}

/* ---- interception: the device rejects the server's certificate ---- */

static const struct { unsigned desc; const char *name; } cert_alerts[] = {
    { 42, "bad_certificate" }, { 43, "unsupported_certificate" }, { 44, "certificate_revoked" },
    { 45, "certificate_expired" }, { 46, "certificate_unknown" }, { 48, "unknown_ca" },
    { 113, "bad_certificate_status_response" },
};

bool et_alert_rejects_cert(unsigned desc)
{
    return et_alert_name(desc) != NULL;
}

const char *et_alert_name(unsigned desc)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cert_alerts); i++) {
        if (cert_alerts[i].desc == desc)
            return cert_alerts[i].name;
    }
    return NULL;
}

void et_flows_set_cert_seen(et_flows *f, et_flow *fl, const char *issuer, uint32_t frame)
{
    if (fl->cert_frame)                 /* the first Certificate message: retransmissions, renegotiation */
        return;
    fl->cert_frame = frame;
    fl->cert_issuer = issuer ? intern(f, issuer) : NULL;
}

bool et_flows_tls_alert(et_flows *f, et_flow *fl, bool up, unsigned level, unsigned desc, uint32_t frame)
{
    (void)f;
    if (!up || level != 2 || !et_alert_rejects_cert(desc) || fl->cert_frame == 0 ||
        frame < fl->cert_frame || fl->rejected_alert)
        return false;
    fl->rejected_alert = (uint8_t)desc;
    fl->rejected_frame = frame;
    return true;
}
