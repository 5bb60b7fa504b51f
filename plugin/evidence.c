/* evidence.c - evidence per protocol: the names that TLS (SNI, certificate), HTTP (Host) and DNS
 * answers give a flow, read from the other dissectors' fields on the first pass.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * What each kind of evidence is and how strong it is: doc/classification.md. A name that is not
 * a valid host name is no evidence: it gets the expert info echotap.evidence.bad_name.
 */
#include "evidence.h"
#include "extract.h"

#include <string.h>

#include <epan/expert.h>
#include <epan/proto_data.h>

static int proto_echotap = -1;
static expert_field *ei_bad_name;

void et_evidence_setup(int proto, expert_field *bad_name)
{
    proto_echotap = proto;
    ei_bad_name = bad_name;
}

/* Names the first pass refused, per packet: later passes flag them again from this record, as
 * their tree need not hold the names (only the first pass primes fields). */
typedef enum { NAME_SNI, NAME_HTTP_HOST, NAME_CERT, NAME_DNS, NAME_KINDS } name_kind;
static const char *const name_kind_text[NAME_KINDS] = {
    "TLS server name", "HTTP Host", "Certificate dNSName", "DNS name",
};
typedef struct name_problems {
    guint16 count[NAME_KINDS];
} name_problems;

#define BAD_NAME_TEXT "%s is not a valid host name: ignored as evidence"

static void record_name_problem(packet_info *pinfo, name_kind kind)
{
    name_problems *np = (name_problems *)p_get_proto_data(wmem_file_scope(), pinfo, proto_echotap, 0);
    if (np == NULL) {
        np = wmem_new0(wmem_file_scope(), name_problems);
        p_add_proto_data(wmem_file_scope(), pinfo, proto_echotap, 0, np);
    }
    if (np->count[kind] < G_MAXUINT16)
        np->count[kind]++;
}

static void add_name_problem(packet_info *pinfo, proto_tree *tree, name_kind kind, const field_info *fi)
{
    proto_tree_add_expert_format(tree, pinfo, ei_bad_name, fi->ds_tvb, fi->start, fi->length,
                                 BAD_NAME_TEXT, name_kind_text[kind]);
    record_name_problem(pinfo, kind);
}

void et_payload_name_problem(packet_info *pinfo, int kind)
{
    record_name_problem(pinfo, (name_kind)kind);
}

void et_name_problems_again(packet_info *pinfo, proto_item *ti)
{
    const name_problems *np = (const name_problems *)p_get_proto_data(wmem_file_scope(), pinfo, proto_echotap, 0);
    for (int k = 0; np && k < NAME_KINDS; k++) {
        for (guint i = 0; i < np->count[k]; i++)
            expert_add_info_format(pinfo, ti, ei_bad_name, BAD_NAME_TEXT, name_kind_text[k]);
    }
}

/* Certificate names may be wildcards ("*.cloudfront.net"); the rest must be a host name. */
static bool valid_cert_name(const char *name)
{
    char norm[ET_MAX_HOST_LEN];
    size_t wild = (name[0] == '*' && name[1] == '.') ? 2 : 0;
    return et_host_normalize(name + wild, strlen(name) - wild, norm, sizeof(norm));
}

/* TLS over TCP and IETF QUIC (whose Initial carries a TLS ClientHello), and gQUIC's CHLO. */
static void gather_sni(packet_info *pinfo, proto_tree *tree, et_flows *flows, et_flow *fl)
{
    static const field_ids *const sni_wfs[] = { &wf_sni, &wf_gquic_sni };
    for (size_t h = 0; h < G_N_ELEMENTS(sni_wfs); h++) {
        GPtrArray *a = et_found(tree, sni_wfs[h]);
        for (guint i = 0; a && i < a->len; i++) {
            const field_info *fi = (const field_info *)g_ptr_array_index(a, i);
            const char *name = fi_wire_name(fi);
            if (!name || !et_flows_add_sni(flows, fl, name, strlen(name)))
                add_name_problem(pinfo, tree, NAME_SNI, fi);
        }
    }
}

static void gather_http_host(packet_info *pinfo, proto_tree *tree, et_flows *flows, et_flow *fl)
{
    GPtrArray *a = et_found(tree, &wf_http_host);
    for (guint i = 0; a && i < a->len; i++) {
        const field_info *fi = (const field_info *)g_ptr_array_index(a, i);
        const char *name = fi_string(fi);
        if (name && !et_has_nul(fi) && et_host_is_ip_literal(name, strlen(name)))
            continue;                   /* "[FF02::C]", "239.255.255.250:1900": valid, but no name */
        if (!name || et_has_nul(fi) || !et_flows_add_http_host(flows, fl, name, strlen(name)))
            add_name_problem(pinfo, tree, NAME_HTTP_HOST, fi);
    }
}

/* The subject CN of a certificate: the string that follows an id-at-commonName (2.5.4.3) type
 * inside the subject's range. */
static const char *subject_cn(proto_tree *tree, const field_info *subject)
{
    static const guint8 oid_cn[] = { 0x55, 0x04, 0x03 };
    static const field_ids *const string_wfs[] = { &wf_utf8, &wf_printable, &wf_teletex, &wf_ia5, &wf_universal, &wf_bmp };
    GPtrArray *oids = et_found(tree, &wf_rdn_oid);
    for (guint i = 0; oids && i < oids->len; i++) {
        const field_info *oid = (const field_info *)g_ptr_array_index(oids, i);
        if (!fi_within(oid, subject) || oid->length != 3 ||
            tvb_memeql(oid->ds_tvb, oid->start, oid_cn, sizeof(oid_cn)) != 0)
            continue;
        const field_info *best = NULL;
        for (size_t h = 0; h < G_N_ELEMENTS(string_wfs); h++) {
            GPtrArray *strs = et_found(tree, string_wfs[h]);
            for (guint j = 0; strs && j < strs->len; j++) {
                const field_info *s = (const field_info *)g_ptr_array_index(strs, j);
                if (fi_within(s, subject) && s->start > oid->start && (!best || s->start < best->start))
                    best = s;
            }
        }
        return best ? fi_string(best) : NULL;
    }
    return NULL;
}

/* Interception: the server's first Certificate message (its issuer's CN) and the device's alerts. */
static void gather_tls(packet_info *pinfo, proto_tree *tree, et_flows *flows, et_flow *fl, bool up)
{
    GPtrArray *certs = et_found(tree, &wf_cert);
    if (!up && certs && certs->len && fl->cert_frame == 0) {
        const field_info *leaf = (const field_info *)g_ptr_array_index(certs, 0);
        const field_info *issuer = et_found_within(tree, &wf_issuer, leaf);
        et_flows_set_cert_seen(flows, fl, issuer ? subject_cn(tree, issuer) : NULL, pinfo->num);
    }
    GPtrArray *levels = et_found(tree, &wf_alert_level), *descs = et_found(tree, &wf_alert_desc);
    for (guint i = 0; levels && descs && i < levels->len && i < descs->len; i++) {
        const field_info *l = (const field_info *)g_ptr_array_index(levels, i);
        const field_info *d = (const field_info *)g_ptr_array_index(descs, i);
        et_flows_tls_alert(flows, fl, up, fvalue_get_uinteger(ET_FI_FVALUE((field_info *)l)),
                           fvalue_get_uinteger(ET_FI_FVALUE((field_info *)d)), pinfo->num);
    }
}

/* The server's certificate only: with mutual TLS the client sends its own after it. */
static void gather_cert(packet_info *pinfo, proto_tree *tree, et_flows *flows, et_flow *fl, bool up)
{
    GPtrArray *certs = et_found(tree, &wf_cert);
    if (up || !certs || certs->len == 0 || fl->cert_names)
        return;
    /* The first certificate of the message is the server's own. */
    const field_info *leaf = (const field_info *)g_ptr_array_index(certs, 0);
    const field_info *subject = et_found_within(tree, &wf_subject, leaf);
    const char *cn = subject ? subject_cn(tree, subject) : NULL;

    GPtrArray *names = et_found(tree, &wf_dnsname);
    GPtrArray *sans = g_ptr_array_new();
    for (guint i = 0; names && i < names->len; i++) {
        const field_info *fi = (const field_info *)g_ptr_array_index(names, i);
        if (!fi_within(fi, leaf))
            continue;
        const char *name = fi_wire_name(fi);
        if (name && valid_cert_name(name))
            g_ptr_array_add(sans, (gpointer)name);
        else
            add_name_problem(pinfo, tree, NAME_CERT, fi);
    }
    et_flows_add_cert(flows, fl, cn, (const char *const *)sans->pdata, sans->len);
    g_ptr_array_free(sans, TRUE);
}

/* Is `owner` reached from `query` through the CNAME records of this response? */
static bool cname_chain_reaches(GHashTable *cnames, const char *query, const char *owner)
{
    const char *name = query;
    for (int hops = 0; name && hops < 16; hops++) {     /* bounded: CNAME loops exist */
        if (g_ascii_strcasecmp(name, owner) == 0)
            return true;
        name = (const char *)g_hash_table_lookup(cnames, name);
    }
    return false;
}

static void gather_dns(packet_info *pinfo, proto_tree *tree, et_flows *flows)
{
    GPtrArray *as = et_found(tree, &wf_dns_a), *aaaas = et_found(tree, &wf_dns_aaaa);
    if ((!as || as->len == 0) && (!aaaas || aaaas->len == 0))
        return;
    GPtrArray *qry = et_found(tree, &wf_dns_qry);
    const char *query = (qry && qry->len) ? fi_string((const field_info *)g_ptr_array_index(qry, 0)) : NULL;

    /* Answers in the order of the message: an owner name, then its data. */
    GPtrArray *all = g_ptr_array_new();
    static const field_ids *const wfs[] = { &wf_dns_name, &wf_dns_a, &wf_dns_aaaa, &wf_dns_cname };
    for (size_t h = 0; h < G_N_ELEMENTS(wfs); h++) {
        GPtrArray *a = et_found(tree, wfs[h]);
        for (guint i = 0; a && i < a->len; i++)
            g_ptr_array_add(all, g_ptr_array_index(a, i));
    }
    g_ptr_array_sort(all, et_by_position);

    GHashTable *cnames = g_hash_table_new(g_str_hash, g_str_equal);
    const char *owner = NULL;
    for (guint i = 0; i < all->len; i++) {
        const field_info *fi = (const field_info *)g_ptr_array_index(all, i);
        if (et_is_field(fi, &wf_dns_name))
            owner = fi_string(fi);
        else if (et_is_field(fi, &wf_dns_cname) && owner)
            g_hash_table_insert(cnames, (gpointer)owner, (gpointer)fi_string(fi));
    }
    et_addr client;
    et_addr_set(&client, pinfo->dst.type == AT_IPv6 ? 6 : 4, pinfo->dst.data);
    double t = nstime_to_sec(&pinfo->rel_ts);
    owner = NULL;
    for (guint i = 0; i < all->len; i++) {
        const field_info *fi = (const field_info *)g_ptr_array_index(all, i);
        if (et_is_field(fi, &wf_dns_name)) {
            owner = fi_string(fi);
            continue;
        }
        bool v4 = et_is_field(fi, &wf_dns_a);
        if ((!v4 && !et_is_field(fi, &wf_dns_aaaa)) || owner == NULL)
            continue;
        int family = v4 ? 4 : 6;
        guint8 bytes[16];
        if (fi->length != (family == 4 ? 4 : 16))
            continue;
        tvb_memcpy(fi->ds_tvb, bytes, fi->start, fi->length);
        et_addr addr;
        et_addr_set(&addr, family, bytes);
        const char *name = (query && cname_chain_reaches(cnames, query, owner)) ? query : owner;
        if (!et_flows_add_dns(flows, name, strlen(name), &addr, &client, t))
            add_name_problem(pinfo, tree, NAME_DNS, fi);
    }
    g_hash_table_destroy(cnames);
    g_ptr_array_free(all, TRUE);
}

/* A device announcing its model over mDNS (doc/classification.md, "Smart speakers"): the TXT strings of
 * a response it sent. A response whose address records all name other hosts is a proxy's (a
 * Bonjour sleep proxy answers for sleeping devices): it says nothing about its sender. */
static void gather_mdns(packet_info *pinfo, proto_tree *tree, et_flows *flows)
{
    GPtrArray *txts = et_found(tree, &wf_dns_txt);
    if (!txts || txts->len == 0 || pinfo->srcport != 5353)
        return;
    et_addr sender;
    et_addr_set(&sender, pinfo->src.type == AT_IPv6 ? 6 : 4, pinfo->src.data);
    static const field_ids *const addr_wfs[] = { &wf_dns_a, &wf_dns_aaaa };
    bool has_addr = false, names_sender = false;
    for (size_t h = 0; h < G_N_ELEMENTS(addr_wfs); h++) {
        GPtrArray *a = et_found(tree, addr_wfs[h]);
        for (guint i = 0; a && i < a->len; i++) {
            const field_info *fi = (const field_info *)g_ptr_array_index(a, i);
            guint8 bytes[16];
            if (fi->length != (h == 0 ? 4 : 16))
                continue;
            tvb_memcpy(fi->ds_tvb, bytes, fi->start, fi->length);
            et_addr addr;
            et_addr_set(&addr, h == 0 ? 4 : 6, bytes);
            has_addr = true;
            names_sender = names_sender || et_addr_equal(&addr, &sender);
        }
    }
    if (has_addr && !names_sender)
        return;
    for (guint i = 0; i < txts->len; i++) {
        const field_info *fi = (const field_info *)g_ptr_array_index(txts, i);
        const char *txt = fi_string(fi);
        if (txt)
            et_flows_add_mdns_txt(flows, &sender, txt, strlen(txt));
    }
}

void et_gather_evidence(packet_info *pinfo, proto_tree *tree, et_flows *flows, et_flow *fl, bool up, bool use_cert)
{
    if (!et_extract_beyond_tcp(tree))
        return;
    gather_sni(pinfo, tree, flows, fl);
    if (use_cert)
        gather_cert(pinfo, tree, flows, fl, up);
    gather_tls(pinfo, tree, flows, fl, up);
    gather_http_host(pinfo, tree, flows, fl);
    gather_dns(pinfo, tree, flows);
    gather_mdns(pinfo, tree, flows);
}

void et_gather_from_tree(void *user, et_flows *flows, et_flow *fl, bool up)
{
    const et_tree_evidence *te = (const et_tree_evidence *)user;
    et_gather_evidence(te->pinfo, te->tree, flows, fl, up, te->use_cert);
}
