/* extract.c - the fields echotap reads from other dissectors, and how it reads them.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_LOG_DOMAIN "echotap"
#include "extract.h"

#include <stdlib.h>
#include <string.h>

#include <wsutil/wslog.h>

field_ids wf_sni, wf_cert, wf_subject, wf_rdn_oid, wf_dnsname;
field_ids wf_utf8, wf_printable, wf_teletex, wf_ia5, wf_universal, wf_bmp;
field_ids wf_http_host, wf_dns_qry, wf_dns_name, wf_dns_a, wf_dns_aaaa, wf_dns_cname;
field_ids wf_tcp_flags, wf_tcp_len;
field_ids wf_issuer, wf_alert_level, wf_alert_desc;
field_ids wf_gquic_sni, wf_dns_txt;

typedef struct wanted_field {
    field_ids *ids;
    const char *name;
} wanted_field;

static const wanted_field wanted_fields[] = {
    { &wf_sni, "tls.handshake.extensions_server_name" },
    { &wf_cert, "tls.handshake.certificate" },
    { &wf_subject, "x509af.subject" },
    { &wf_rdn_oid, "x509if.oid" },
    { &wf_dnsname, "x509ce.dNSName" },
    { &wf_utf8, "x509sat.uTF8String" },
    { &wf_printable, "x509sat.printableString" },
    { &wf_teletex, "x509sat.teletexString" },
    { &wf_ia5, "x509sat.IA5String" },
    { &wf_universal, "x509sat.universalString" },
    { &wf_bmp, "x509sat.bmpString" },
    { &wf_http_host, "http.host" },
    { &wf_dns_qry, "dns.qry.name" },
    { &wf_dns_name, "dns.resp.name" },
    { &wf_dns_a, "dns.a" },
    { &wf_dns_aaaa, "dns.aaaa" },
    { &wf_dns_cname, "dns.cname" },
    { &wf_tcp_flags, "tcp.flags" },
    { &wf_tcp_len, "tcp.len" },
    { &wf_issuer, "x509af.issuer" },
    { &wf_alert_level, "tls.alert_message.level" },
    { &wf_alert_desc, "tls.alert_message.desc" },
    { &wf_gquic_sni, "gquic.tag.sni" },
    { &wf_dns_txt, "dns.txt" },
};

/* All registered fields with this abbreviation; false when there is none. */
static bool resolve_field(const char *name, field_ids *ids)
{
    ids->n = 0;
    int id = proto_registrar_get_id_byname(name);
    if (id < 0)
        return false;
    header_field_info *hfi = proto_registrar_get_nth(id);
    while (hfi->same_name_prev_id >= 0)
        hfi = proto_registrar_get_nth(hfi->same_name_prev_id);
    for (; hfi && ids->n < ET_MAX_SAME_NAME; hfi = hfi->same_name_next)
        ids->id[ids->n++] = hfi->id;
    return true;
}

void et_extract_resolve(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(wanted_fields); i++) {
        if (!resolve_field(wanted_fields[i].name, wanted_fields[i].ids))
            ws_warning("echotap: unknown field %s", wanted_fields[i].name);
    }
    /* For the tests: the report of a field that no Wireshark has (nothing reads it). */
    const char *probe = getenv("ECHOTAP_TEST_WANTED_FIELD");
    field_ids unused;
    if (probe && *probe && !resolve_field(probe, &unused))
        ws_warning("echotap: unknown field %s", probe);
}

GArray *et_extract_wanted_ids(void)
{
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(int));
    for (size_t i = 0; i < G_N_ELEMENTS(wanted_fields); i++)
        g_array_append_vals(ids, wanted_fields[i].ids->id, wanted_fields[i].ids->n);
    return ids;
}

gint et_by_position(gconstpointer a, gconstpointer b)
{
    const field_info *x = *(const field_info *const *)a, *y = *(const field_info *const *)b;
    if (x->ds_tvb != y->ds_tvb)
        return x->ds_tvb < y->ds_tvb ? -1 : 1;
    return x->start - y->start;
}

GPtrArray *et_found(proto_tree *tree, const field_ids *ids)
{
    GPtrArray *only = NULL;
    guint with_items = 0, total = 0;
    for (int i = 0; i < ids->n; i++) {
        GPtrArray *a = proto_get_finfo_ptr_array(tree, ids->id[i]);
        if (a && a->len) {
            only = a;
            with_items++;
            total += a->len;
        }
    }
    if (with_items <= 1)
        return only;
    /* Merged in the packet's pool, so it lives as long as the packet's other field arrays: only
     * its pdata and len are read (as g_ptr_array_index does), never GLib's hidden fields. */
    wmem_allocator_t *pool = PNODE_POOL(tree);
    GPtrArray *all = wmem_new(pool, GPtrArray);
    all->pdata = wmem_alloc_array(pool, gpointer, total);
    all->len = 0;
    for (int i = 0; i < ids->n; i++) {
        GPtrArray *a = proto_get_finfo_ptr_array(tree, ids->id[i]);
        for (guint j = 0; a && j < a->len; j++)
            all->pdata[all->len++] = g_ptr_array_index(a, j);
    }
    qsort(all->pdata, all->len, sizeof(gpointer), et_by_position);
    return all;
}

bool et_is_field(const field_info *fi, const field_ids *ids)
{
    for (int i = 0; i < ids->n; i++) {
        if (fi->hfinfo->id == ids->id[i])
            return true;
    }
    return false;
}

const char *fi_string(const field_info *fi)
{
    /* fvalue_get_string() takes a non-const fvalue_t in 4.0; it does not change it. */
    return fvalue_get_string(ET_FI_FVALUE((field_info *)fi));
}

const char *fi_wire_name(const field_info *fi)
{
    const char *s = fi_string(fi);
    return (s && strlen(s) == (size_t)fi->length) ? s : NULL;
}

/* The HTTP Host field covers its whole header line, so its string and length differ; a NUL in
 * those bytes would cut the string short. */
bool et_has_nul(const field_info *fi)
{
    return tvb_find_uint8(fi->ds_tvb, fi->start, fi->length, 0) != -1;
}

bool fi_within(const field_info *fi, const field_info *outer)
{
    return fi->ds_tvb == outer->ds_tvb && fi->start >= outer->start &&
           fi->start + fi->length <= outer->start + outer->length;
}

const field_info *et_found_within(proto_tree *tree, const field_ids *ids, const field_info *outer)
{
    GPtrArray *a = et_found(tree, ids);
    for (guint i = 0; a && i < a->len; i++) {
        const field_info *fi = (const field_info *)g_ptr_array_index(a, i);
        if (fi_within(fi, outer))
            return fi;
    }
    return NULL;
}

static guint count_present(proto_tree *tree, const field_ids *ids)
{
    guint n = 0;
    for (int i = 0; i < ids->n; i++) {
        GPtrArray *a = proto_get_finfo_ptr_array(tree, ids->id[i]);
        n += a && a->len;
    }
    return n;
}

bool et_extract_beyond_tcp(proto_tree *tree)
{
    GHashTable *present = PTREE_DATA(tree)->interesting_hfids;   /* the fields asked for, in this packet */
    if (present == NULL)
        return false;
    return g_hash_table_size(present) > count_present(tree, &wf_tcp_len) + count_present(tree, &wf_tcp_flags);
}

int et_tcp_flags(proto_tree *tree)
{
    GPtrArray *a = et_found(tree, &wf_tcp_flags);
    if (!a || a->len == 0)
        return -1;
    const field_info *fi = (const field_info *)g_ptr_array_index(a, 0);
    return tvb_get_ntohs(fi->ds_tvb, fi->start) & 0x0fff;
}

guint32 et_payload_len(packet_info *pinfo, proto_tree *tree)
{
    if (pinfo->ptype != PT_TCP || tree == NULL)
        return pinfo->fd->pkt_len;
    GPtrArray *a = et_found(tree, &wf_tcp_len);
    if (!a || a->len == 0)
        return pinfo->fd->pkt_len;
    const field_info *fi = (const field_info *)g_ptr_array_index(a, 0);
    return fvalue_get_uinteger(ET_FI_FVALUE((field_info *)fi));
}
