/* extract.h - the fields echotap reads from other dissectors, and how it reads them.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Like transum, echotap asks Wireshark to prime a list of other dissectors' fields on the first
 * pass (the wanted fields) and reads them from the tree. Their ids are named wf_*: hf_* names
 * echotap's own fields (packet-echotap.c).
 */
#ifndef ECHOTAP_EXTRACT_H
#define ECHOTAP_EXTRACT_H

#include "ws_compat.h"

/* One abbreviation can name several registered fields (x509af.subject is registered three
 * times): all are wanted. */
#define ET_MAX_SAME_NAME 8
typedef struct field_ids {
    int n;
    int id[ET_MAX_SAME_NAME];
} field_ids;

extern field_ids wf_sni, wf_cert, wf_subject, wf_rdn_oid, wf_dnsname;
extern field_ids wf_utf8, wf_printable, wf_teletex, wf_ia5, wf_universal, wf_bmp;
extern field_ids wf_http_host, wf_dns_qry, wf_dns_name, wf_dns_a, wf_dns_aaaa, wf_dns_cname;
extern field_ids wf_tcp_flags, wf_tcp_len;
extern field_ids wf_issuer, wf_alert_level, wf_alert_desc;
extern field_ids wf_gquic_sni, wf_dns_txt;

/* Looks the wanted fields up (from proto_reg_handoff); a field this Wireshark does not have is
 * reported once ("echotap: unknown field NAME") and is then never found. */
void et_extract_resolve(void);
/* The ids of every wanted field, for set_postdissector_wanted_hfids (which takes the array). */
GArray *et_extract_wanted_ids(void);

/* Every occurrence of a wanted field in the tree, in packet order, or NULL. The array lives as
 * long as the packet's tree. */
GPtrArray *et_found(proto_tree *tree, const field_ids *ids);
bool et_is_field(const field_info *fi, const field_ids *ids);
/* Orders field_infos by data source, then offset (g_ptr_array_sort). */
gint et_by_position(gconstpointer a, gconstpointer b);

const char *fi_string(const field_info *fi);
/* A name field whose bytes on the wire are the name itself (SNI, dNSName): its string, or NULL
 * when a NUL inside makes the string shorter than the field. */
const char *fi_wire_name(const field_info *fi);
/* Do the field's bytes hold a NUL? */
bool et_has_nul(const field_info *fi);
/* Does fi lie inside outer's bytes? */
bool fi_within(const field_info *fi, const field_info *outer);
/* The first occurrence of a wanted field inside outer's bytes, or NULL. */
const field_info *et_found_within(proto_tree *tree, const field_ids *ids, const field_info *outer);

/* Whether the packet's tree holds any field asked for beyond TCP's length and flags, which every
 * segment carries: a packet with none (most packets) carries no evidence, and two lookups say so
 * instead of one per field. */
bool et_extract_beyond_tcp(proto_tree *tree);

/* TCP flags of the packet (12 bits), or -1 without a TCP header in the tree. */
int et_tcp_flags(proto_tree *tree);
/* TCP payload length (0 for a pure acknowledgement); a UDP packet, or one without a tree,
 * counts whole (frame length). */
guint32 et_payload_len(packet_info *pinfo, proto_tree *tree);

#endif
