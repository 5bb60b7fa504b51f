/* echotap-payload.c - the payload evidence path's glue: a packet's names read from its bytes.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * With the preference echotap.evidence_path at payload (or both), the names come from the frame's
 * own bytes (frame.c finds the TCP/UDP payload, payload_evidence.c reads it) instead of other
 * dissectors' fields, so Wireshark need not build a protocol tree (doc/classification.md).
 */
#include "echotap-payload.h"
#include "evidence.h"
#include "frame.h"

#include <string.h>

#include <epan/expert.h>
#include <wiretap/wtap.h>     /* the record's link type: not reached through epan's headers from 4.4 on */

/* The payload path's handshake buffers, for the open file (with the paths payload and both). */
static et_payload_evidence *payload_evidence;
/* With the path both: flows whose difference between the paths was reported (by flow id). */
static GArray *reported_differences;

static void name_refused(void *user, et_name_kind kind)
{
    et_payload_name_problem((packet_info *)user, (int)kind);
}

static void gather_from_payload(void *user, et_flows *flows, et_flow *fl, bool up)
{
    et_payload_gather(payload_evidence, flows, fl, up, (const et_segment *)user);
}

static bool link_of(const packet_info *pinfo, et_link *link)
{
    if (pinfo->rec == NULL || pinfo->rec->rec_type != REC_TYPE_PACKET)
        return false;
    switch (pinfo->rec->rec_header.packet_header.pkt_encap) {
    case WTAP_ENCAP_ETHERNET: *link = ET_LINK_ETHERNET; return true;
    case WTAP_ENCAP_SLL: *link = ET_LINK_SLL; return true;
    case WTAP_ENCAP_SLL2: *link = ET_LINK_SLL2; return true;
    case WTAP_ENCAP_NULL: case WTAP_ENCAP_LOOP: *link = ET_LINK_NULL; return true;
    case WTAP_ENCAP_RAW_IP: case WTAP_ENCAP_RAW_IP4: case WTAP_ENCAP_RAW_IP6: *link = ET_LINK_RAW_IP; return true;
    default: return false;
    }
}

bool echotap_transport(tvbuff_t *tvb, packet_info *pinfo, const et_addr *src, const et_addr *dst, et_transport *tr)
{
    et_link link;
    if (!link_of(pinfo, &link))
        return false;
    guint len = tvb_captured_length(tvb);
    if (!et_frame_transport(link, tvb_get_ptr(tvb, 0, len), len, tr))
        return false;
    size_t n = tr->family == 6 ? 16 : 4;
    return tr->proto == (pinfo->ptype == PT_TCP ? 6 : 17) && tr->sport == pinfo->srcport &&
           tr->dport == pinfo->destport && tr->family == src->family && tr->family == dst->family &&
           memcmp(tr->src, src->bytes, n) == 0 && memcmp(tr->dst, dst->bytes, n) == 0;
}

void echotap_payload_fill(const et_transport *tr, packet_info *pinfo, bool known, bool use_cert, bool report_names,
                          et_packet *p, et_segment *seg)
{
    if (tr == NULL) {
        p->tcp_flags = -1;
        p->payload_len = p->frame_len;
        p->gather = NULL;
        return;
    }
    *seg = (et_segment){ .proto = p->proto, .src = p->src, .dst = p->dst, .sport = p->sport, .dport = p->dport,
                         .seq = tr->seq, .tcp_flags = tr->tcp_flags, .payload = tr->payload, .len = tr->captured,
                         .frame = p->frame, .t = p->t, .use_cert = use_cert,
                         .refused = report_names ? name_refused : NULL, .refused_user = pinfo };
    p->tcp_flags = !known ? tr->tcp_flags : -1;
    p->payload_len = p->proto == 6 ? tr->payload_len : p->frame_len;
    p->gather = gather_from_payload;
    p->gather_user = seg;
}

/* With the path both: does the payload path's flow (in the shadow capture) hold other names than
 * the tree's? Text for the expert info, or NULL. */
static char *path_difference(const et_capture *capture, const et_flow *tree_fl, const et_capture *shadow,
                             const et_flow *payload_fl)
{
    for (int e = ET_EV_NONE + 1; e < ET_EV_COUNT; e++) {
        const char *a = tree_fl->ev_host[e], *b = payload_fl->ev_host[e];
        if (g_strcmp0(a, b) != 0)
            return g_strdup_printf("Evidence %s: tree %s, payload %s", et_evidence_name((et_evidence)e),
                                   a ? a : "(none)", b ? b : "(none)");
    }
    if (g_strcmp0(tree_fl->cert_issuer, payload_fl->cert_issuer) != 0 || tree_fl->cert_frame != payload_fl->cert_frame ||
        tree_fl->rejected_alert != payload_fl->rejected_alert)
        return g_strdup_printf("Certificate seen in frame %u / %u, issuer %s / %s, rejecting alert %u / %u (tree / payload)",
                               tree_fl->cert_frame, payload_fl->cert_frame,
                               tree_fl->cert_issuer ? tree_fl->cert_issuer : "(none)",
                               payload_fl->cert_issuer ? payload_fl->cert_issuer : "(none)",
                               tree_fl->rejected_alert, payload_fl->rejected_alert);
    const et_device *a = et_flows_device(capture->flows, tree_fl->device);
    const et_device *b = et_flows_device(shadow->flows, payload_fl->device);
    if (strcmp(a->model, b->model) != 0)
        return g_strdup_printf("Device model: tree %s, payload %s", a->model[0] ? a->model : "(none)",
                               b->model[0] ? b->model : "(none)");
    return NULL;
}

char *echotap_payload_difference(const et_capture *capture, const et_flow *tree_fl, const et_capture *shadow,
                                 const et_flow *payload_fl)
{
    if (tree_fl->id >= reported_differences->len)
        g_array_set_size(reported_differences, tree_fl->id + 1);
    bool *reported = &g_array_index(reported_differences, bool, tree_fl->id);
    char *diff = *reported ? NULL : path_difference(capture, tree_fl, shadow, payload_fl);
    if (diff)
        *reported = true;
    return diff;
}

void echotap_payload_init(et_evidence_path path)
{
    if (path != ET_PATH_TREE)
        payload_evidence = et_payload_evidence_new(ET_HANDSHAKE_BUDGET);
    if (path == ET_PATH_BOTH)
        reported_differences = g_array_new(FALSE, TRUE, sizeof(bool));
}

void echotap_payload_cleanup(void)
{
    et_payload_evidence_free(payload_evidence);
    payload_evidence = NULL;
    if (reported_differences)
        g_array_free(reported_differences, TRUE);
    reported_differences = NULL;
}
