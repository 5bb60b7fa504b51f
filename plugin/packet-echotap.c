/* packet-echotap.c - echotap: tag smart-speaker flows with their cloud service.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A postdissector, in the manner of transum: on the first pass it has the names that Wireshark's
 * own TLS, X.509, HTTP and DNS dissectors found read (evidence.c, through extract.c's wanted
 * fields) into the plain-C flow state (flows.c), and on every pass it adds the flow's class to
 * each TCP/UDP packet and queues a record on the "echotap" tap for the statistics
 * (echotap-stats.c, echotap-export.c). Here: the dissector and its fields; the capture it feeds
 * is echotap-capture.c's.
 */
#define WS_LOG_DOMAIN "echotap"
#include "echotap.h"
#include "evidence.h"
#include "extract.h"
#include "echotap-payload.h"

#include <string.h>

#include <epan/conversation.h>
#include <epan/expert.h>
#include <epan/proto_data.h>
#include <epan/tap.h>
#include <wsutil/wslog.h>

static int proto_echotap = -1;
static int proto_ws_expert = -1;         /* Wireshark's "_ws.expert" */
static int echotap_tap = -1;
static dissector_handle_t echotap_handle;

static int hf_service = -1, hf_group = -1, hf_host = -1, hf_evidence = -1, hf_rule = -1;
static int hf_device = -1, hf_device_ip = -1, hf_device_ipv6 = -1, hf_speaker = -1, hf_assistant = -1, hf_model = -1;
static int hf_dir = -1, hf_phase = -1, hf_phase_index = -1, hf_flow = -1;
static int hf_other = -1, hf_other_evidence = -1, hf_other_host = -1;
static int hf_tls_rejected = -1, hf_tls_alert = -1, hf_tls_issuer = -1;

static int ett_echotap = -1, ett_other = -1;

static expert_field ei_mismatch = EI_INIT, ei_bad_name = EI_INIT, ei_big_download = EI_INIT;
static expert_field ei_suspect = EI_INIT, ei_rejected = EI_INIT, ei_path_differs = EI_INIT, ei_unread = EI_INIT;

/* ---- the postdissector ---- */

static bool ip_of(const address *a, et_addr *out)
{
    if (a->type == AT_IPv4 && a->len == 4) {
        et_addr_set(out, 4, a->data);
        return true;
    }
    if (a->type == AT_IPv6 && a->len == 16) {
        et_addr_set(out, 6, a->data);
        return true;
    }
    return false;
}

/* The open file's: its evidence path (auto resolved once, at its init routine), each frame's
 * flow (id + 1, by frame number: later passes find it without a lookup), and per flow the frame
 * that carries the payload path's "not read" expert info (or 0). */
static et_evidence_path file_path;
static GArray *frame_flow;
static GArray *unread_frame;
static bool unread_warned;

/* Grown by doubling (zero-filled): one resize per doubling, not one per frame. */
static uint32_t *flow_slot(GArray *a, uint32_t i)
{
    if (i >= a->len)
        g_array_set_size(a, MAX(i + 1, 2 * a->len));
    return &g_array_index(a, uint32_t, i);
}

/* The packet's flow before it is counted, or NULL for a new one. echotap's own 5-tuple index
 * answers most packets; Wireshark's conversation decides where the index cannot tell: at a flow's
 * first packet (a conversation may span 5-tuples), at each TCP SYN (Wireshark starts a new
 * conversation when a port is reused) and wherever the frame's headers were not read. The flow is
 * kept with the conversation, as before the index. */
static et_flow *flow_of(et_capture *capture, packet_info *pinfo, const et_packet *p, const et_transport *tr,
                        conversation_t **conv)
{
    et_flow *fl = et_flows_find(capture->flows, p->proto, &p->src, p->sport, &p->dst, p->dport);
    *conv = NULL;
    if (fl && tr && !(p->proto == 6 && (tr->tcp_flags & 0x002)))
        return fl;
    *conv = find_conversation_pinfo(pinfo, 0);
    if (*conv == NULL)
        *conv = find_or_create_conversation(pinfo);
    guint id = GPOINTER_TO_UINT(conversation_get_proto_data(*conv, proto_echotap));
    et_flow *known = id ? et_flows_get(capture->flows, id - 1) : NULL;
    if (known && known != fl)
        et_flows_map(capture->flows, known, p->proto, &p->src, p->sport, &p->dst, p->dport);
    return known;
}

/* The payload path could not read a TCP/UDP packet of this flow: its names (and TCP's payload
 * length, for the phases) are missed. Said once per file on stderr, and by an expert info on the
 * flow's first such frame (add_tree). */
static void note_unread(packet_info *pinfo, const et_flow *fl)
{
    uint32_t *frame = flow_slot(unread_frame, fl->id);
    if (*frame)
        return;
    *frame = pinfo->num;
    if (!unread_warned) {
        unread_warned = true;
        ws_warning("echotap: frame %u and others: the payload evidence path cannot read their TCP/UDP payload "
                   "(a tunnel, an IP fragment or another link type), so their names are missed: "
                   "-o echotap.evidence_path:tree reads them", pinfo->num);
    }
}

/* The first pass: the packet, as Wireshark's dissectors found it (the tree path) or as its bytes
 * say (the payload path), into the capture. */
static et_flow *first_pass(et_capture *capture, tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
                           const et_addr *src, const et_addr *dst, double t)
{
    et_evidence_path path = file_path;
    et_tree_evidence te = { pinfo, tree, capture->cfg.use_cert };
    et_packet p = {
        .proto = pinfo->ptype == PT_TCP ? 6 : 17,
        .src = *src, .dst = *dst,
        .sport = (guint16)pinfo->srcport, .dport = (guint16)pinfo->destport,
        .frame_len = pinfo->fd->pkt_len,
        .t = t,
        .abs_t = nstime_to_sec(&pinfo->abs_ts),
        .frame = pinfo->num,
        .src_mac = pinfo->dl_src.type == AT_ETHER && pinfo->dl_src.len == 6 ? (const uint8_t *)pinfo->dl_src.data : NULL,
    };
    et_transport tr;
    bool readable = echotap_transport(tvb, pinfo, src, dst, &tr);
    conversation_t *conv;
    et_flow *fl = flow_of(capture, pinfo, &p, readable ? &tr : NULL, &conv);
    bool known = fl != NULL;
    p.flow = known ? fl->id : ET_NO_FLOW;
    if (path != ET_PATH_PAYLOAD) {
        p.tcp_flags = !known && p.proto == 6 ? et_tcp_flags(tree) : -1;
        p.payload_len = et_payload_len(pinfo, tree);
        p.gather = tree ? et_gather_from_tree : NULL;
        p.gather_user = &te;
    }
    et_packet from_payload = p;
    et_segment seg;
    if (path != ET_PATH_TREE)
        echotap_payload_fill(readable ? &tr : NULL, pinfo, known, capture->cfg.use_cert, path == ET_PATH_PAYLOAD,
                             &from_payload, &seg);
    fl = et_capture_packet(capture, path == ET_PATH_PAYLOAD ? &from_payload : &p);
    if (!known)
        conversation_add_proto_data(conv, proto_echotap, GUINT_TO_POINTER(fl->id + 1));
    if (path == ET_PATH_PAYLOAD && !readable)
        note_unread(pinfo, fl);
    if (path == ET_PATH_BOTH) {
        et_capture *shadow = echotap_shadow_capture();
        from_payload.flow = known ? fl->id : ET_NO_FLOW;
        et_flow *pfl = et_capture_packet(shadow, &from_payload);
        char *diff = echotap_payload_difference(capture, fl, shadow, pfl);
        if (diff) {
            expert_add_info_format(pinfo, NULL, &ei_path_differs, "Flow %u: %s", fl->id, diff);
            g_free(diff);
        }
    }
    *flow_slot(frame_flow, pinfo->num) = fl->id + 1;
    return fl;
}

static const char *const dir_names[] = { "up", "down" };

/* A per-flow expert info sits on one frame of the flow. First pass: the first packet at which
 * the condition holds (it is recorded in *frame). Later passes decide from the flow's final
 * state: the recorded frame if the condition still holds, or the flow's first frame when it came
 * true only after the flow's last packet (a DNS answer at the end of the capture). */
static bool flow_expert_here(packet_info *pinfo, bool cond, uint32_t *frame, uint32_t first_frame)
{
    if (!PINFO_FD_VISITED(pinfo)) {
        if (!cond || *frame)
            return false;
        *frame = pinfo->num;
        return true;
    }
    return cond && pinfo->num == (*frame ? *frame : first_frame);
}

/* et NULL (no tree, or nothing looks at the items): no item, and no call into proto.c. */
static proto_item *add_generated_string(proto_tree *et, int hf, tvbuff_t *tvb, const char *value)
{
    if (et == NULL)
        return NULL;
    proto_item *pi = proto_tree_add_string(et, hf, tvb, 0, 0, value);
    proto_item_set_generated(pi);
    return pi;
}

static proto_item *add_generated_uint(proto_tree *et, int hf, tvbuff_t *tvb, uint32_t value)
{
    if (et == NULL)
        return NULL;
    proto_item *pi = proto_tree_add_uint(et, hf, tvb, 0, 0, value);
    proto_item_set_generated(pi);
    return pi;
}

/* The flow's class: service, group, host, evidence and rule. */
static void add_class(proto_tree *et, tvbuff_t *tvb, packet_info *pinfo, et_flow *fl)
{
    if (fl->service)
        add_generated_string(et, hf_service, tvb, fl->service);
    add_generated_string(et, hf_group, tvb, et_group_name(fl->group));
    if (fl->host)
        add_generated_string(et, hf_host, tvb, fl->host);
    if (fl->evidence) {
        proto_item *pi = add_generated_string(et, hf_evidence, tvb, et_evidence_name(fl->evidence));
        if (flow_expert_here(pinfo, fl->mismatch, &fl->mismatch_frame, fl->first_frame))
            expert_add_info(pinfo, pi, &ei_mismatch);
    }
    if (fl->rule)
        add_generated_string(et, hf_rule, tvb, fl->rule);
}

/* The flow's device: its address, whether it is a speaker, its assistant and model. */
static void add_device(proto_tree *et, tvbuff_t *tvb, const et_device *dev)
{
    add_generated_string(et, hf_device, tvb, dev->addr_text);
    proto_item *pi;
    if (dev->addr.family == 4) {
        guint32 v4;
        memcpy(&v4, dev->addr.bytes, 4);
        pi = proto_tree_add_ipv4(et, hf_device_ip, tvb, 0, 0, v4);
    } else {
        ws_in6_addr v6;
        memcpy(&v6, dev->addr.bytes, 16);
        pi = proto_tree_add_ipv6(et, hf_device_ipv6, tvb, 0, 0, &v6);
    }
    proto_item_set_generated(pi);
    pi = proto_tree_add_boolean(et, hf_speaker, tvb, 0, 0, et_device_is_speaker(dev));
    proto_item_set_generated(pi);
    if (et_device_is_speaker(dev))
        add_generated_string(et, hf_assistant, tvb, et_assistant_name(et_device_assistant(dev)));
    if (dev->model[0])
        add_generated_string(et, hf_model, tvb, dev->model);
}

/* The packet's phase; the verdict's expert info sits on the first packet of each run of speech in
 * a flagged phase. */
static void add_phase(const et_capture *capture, proto_tree *et, tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
                      const et_flow *fl, const et_device *dev, bool up, double t)
{
    bool may_suspect = up && PINFO_FD_VISITED(pinfo) && capture->phases &&
                       et_phases_speech_start(capture->phases, fl->id, pinfo->num);
    if (!capture->phases || !(et_device_is_speaker(dev) || !et_phases_automatic(capture->phases)) ||
        !(tree || may_suspect))
        return;
    et_phase ph;
    et_phases_lookup(capture->phases, capture->flows, fl->device, t, &ph);
    add_generated_string(et, hf_phase, tvb, ph.label);
    proto_item *pi = add_generated_uint(et, hf_phase_index, tvb, ph.index);
    if (may_suspect && !ph.wake) {
        et_phase_judgement j;
        et_phases_judge(capture->phases, capture->flows, fl->device, &ph, &j);
        if (j.verdict == ET_VERDICT_SUSPECT)
            expert_add_info_format(pinfo, pi, &ei_suspect,
                "Speech upload without a wake word on flow %u: %.0f B/s in phase %u (%s), idle baseline %.0f B/s",
                fl->id, j.voice_up_rate, ph.index, ph.label, j.baseline_rate);
    }
}

/* Weaker evidence that names another host. */
static void add_other_evidence(proto_tree *et, tvbuff_t *tvb, const et_flow *fl)
{
    for (int e = ET_EV_COUNT - 1; e > ET_EV_NONE; e--) {
        const char *other = fl->ev_host[e];
        if (!other || (et_evidence)e == fl->evidence || other == fl->host)
            continue;
        proto_item *oi = add_generated_string(et, hf_other, tvb, other);
        proto_item_append_text(oi, " (%s)", et_evidence_name((et_evidence)e));
        proto_tree *ot = proto_item_add_subtree(oi, ett_other);
        add_generated_string(ot, hf_other_evidence, tvb, et_evidence_name((et_evidence)e));
        add_generated_string(ot, hf_other_host, tvb, other);
    }
}

/* The server's certificate and the device's answer to it. */
static void add_tls(proto_tree *et, tvbuff_t *tvb, packet_info *pinfo, const et_flow *fl)
{
    if (!fl->cert_frame)
        return;
    proto_item *pi = et ? proto_tree_add_boolean(et, hf_tls_rejected, tvb, 0, 0, fl->rejected_alert != 0) : NULL;
    proto_item_set_generated(pi);
    if (fl->rejected_alert)
        add_generated_uint(et, hf_tls_alert, tvb, fl->rejected_alert);
    if (fl->cert_issuer)
        add_generated_string(et, hf_tls_issuer, tvb, fl->cert_issuer);
    /* Once per flow: on the alert's frame, on every pass. */
    if (fl->rejected_alert && fl->rejected_frame == pinfo->num)
        expert_add_info_format(pinfo, pi, &ei_rejected,
                               "The device rejected the server's certificate (fatal alert %s (%u)); issuer: %s",
                               et_alert_name(fl->rejected_alert), fl->rejected_alert,
                               fl->cert_issuer ? fl->cert_issuer : "(no CN)");
}

/* tree NULL: nothing looks at the items, only the expert infos are added. */
static void add_tree(const et_capture *capture, tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, et_flow *fl,
                     bool up, double t)
{
    const et_device *dev = et_flows_device(capture->flows, fl->device);
    proto_item *ti = NULL;
    proto_tree *et = NULL;
    if (tree) {
        ti = proto_tree_add_item(tree, proto_echotap, tvb, 0, 0, ENC_NA);
        proto_item_set_generated(ti);
        proto_item_append_text(ti, ": %s %s%s%s", fl->service ? fl->service : "untagged", dir_names[up ? 0 : 1],
                               fl->host ? " " : "", fl->host ? fl->host : "");
        et = proto_item_add_subtree(ti, ett_echotap);
    }
    if (PINFO_FD_VISITED(pinfo) || file_path == ET_PATH_PAYLOAD)
        et_name_problems_again(pinfo, ti);

    add_class(et, tvb, pinfo, fl);
    if (et) {
        add_device(et, tvb, dev);
        add_generated_string(et, hf_dir, tvb, dir_names[up ? 0 : 1]);
        add_generated_uint(et, hf_flow, tvb, fl->id);
    }
    add_phase(capture, et, tvb, pinfo, tree, fl, dev, up, t);
    if (et)
        add_other_evidence(et, tvb, fl);
    add_tls(et, tvb, pinfo, fl);
    if (fl->id < unread_frame->len && g_array_index(unread_frame, uint32_t, fl->id) == pinfo->num)
        expert_add_info_format(pinfo, ti, &ei_unread,
                               "Flow %u: the payload evidence path cannot read this packet's TCP/UDP payload (a tunnel, "
                               "an IP fragment or another link type): names in it are missed "
                               "(preference echotap.evidence_path: tree reads them)", fl->id);
    if (fl->big_download_frame == pinfo->num)
        expert_add_info_format(pinfo, ti, &ei_big_download,
                               "CDN download passed %u MB: likely a firmware (OTA) download",
                               (unsigned)(capture->cfg.big_download / (1000 * 1000)));
}

/* Does a filter, column or output field name this protocol or one of its fields? (Not
 * proto_field_is_referenced(): it says yes to every protocol when tshark keeps protocol items.) */
static bool referenced(int proto)
{
    return proto != -1 && proto_registrar_get_nth(proto)->ref_type != HF_REF_TYPE_NONE;
}

static int dissect_echotap(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
    et_capture *capture = echotap_current_capture();
    et_addr src, dst;
    if (!capture || pinfo->flags.in_error_pkt ||
        (pinfo->ptype != PT_TCP && pinfo->ptype != PT_UDP) ||
        !ip_of(&pinfo->src, &src) || !ip_of(&pinfo->dst, &dst))
        return 0;
    double t = nstime_to_sec(&pinfo->rel_ts);
    et_flow *fl;
    if (!PINFO_FD_VISITED(pinfo))
        fl = first_pass(capture, tvb, pinfo, tree, &src, &dst, t);
    else {
        uint32_t id = pinfo->num < frame_flow->len ? g_array_index(frame_flow, uint32_t, pinfo->num) : 0;
        fl = id ? et_flows_get(capture->flows, id - 1) : NULL;
    }
    if (fl == NULL)
        return 0;
    bool up = et_flow_is_up(fl, &src, (guint16)pinfo->srcport);
    /* Items only where something looks at them (a visible tree, a filter, column or output field
     * naming echotap or expert fields): the expert infos reach the expert tap either way. */
    bool items = tree && (PTREE_DATA(tree)->visible || referenced(proto_echotap) || referenced(proto_ws_expert));
    add_tree(capture, tvb, pinfo, items ? tree : NULL, fl, up, t);

    echotap_tap_record *rec = wmem_new(pinfo->pool, echotap_tap_record);
    rec->flow = fl;
    rec->up = up;
    rec->len = pinfo->fd->pkt_len;
    rec->t = t;
    tap_queue_packet(echotap_tap, pinfo, rec);
    return 0;
}

/* Other dissectors prime the wanted fields for this file (when echotap is enabled and reads the
 * tree); without them, tshark builds no tree unless something else asks for one. */
static void evidence_path_init(void)
{
    file_path = echotap_evidence_path();
    if (file_path != ET_PATH_PAYLOAD && proto_is_protocol_enabled(find_protocol_by_id(proto_echotap)))
        set_postdissector_wanted_hfids(echotap_handle, et_extract_wanted_ids());
    echotap_payload_init(file_path);
    frame_flow = g_array_new(FALSE, TRUE, sizeof(uint32_t));
    unread_frame = g_array_new(FALSE, TRUE, sizeof(uint32_t));
    unread_warned = false;
}

static void evidence_path_cleanup(void)
{
    set_postdissector_wanted_hfids(echotap_handle, NULL);
    echotap_payload_cleanup();
    g_array_free(frame_flow, TRUE);
    frame_flow = NULL;
    g_array_free(unread_frame, TRUE);
    unread_frame = NULL;
}

/* ---- registration ---- */

int echotap_register_dissector(void)
{
    static hf_register_info hf[] = {
        { &hf_service, { "Service", "echotap.service", FT_STRING, BASE_NONE, NULL, 0x0,
            "Service class of the flow (voice: avs, siri, google-assistant, voice; metrics, cdn, api, connectivity, time, local, amazon, apple, google, sonos or a user rule's)", HFILL } },
        { &hf_group, { "Group", "echotap.group", FT_STRING, BASE_NONE, NULL, 0x0,
            "Statistics group of the flow's service: voice (every assistant's voice service), metrics, cdn, other (any other service) or untagged", HFILL } },
        { &hf_host, { "Host", "echotap.host", FT_STRING, BASE_NONE, NULL, 0x0,
            "Host name that identified the flow", HFILL } },
        { &hf_evidence, { "Evidence", "echotap.evidence", FT_STRING, BASE_NONE, NULL, 0x0,
            "Where the class came from: sni, cert, http-host, dns, resolved, same-ip, traffic (no name: the shape of a speaker's voice connection) or lan (no name: a server on the local network)", HFILL } },
        { &hf_rule, { "Rule", "echotap.rule", FT_STRING, BASE_NONE, NULL, 0x0,
            "Pattern of the rule that matched the host", HFILL } },
        { &hf_device, { "Device", "echotap.device", FT_STRING, BASE_NONE, NULL, 0x0,
            "Address of the flow's client device, as text (IPv4 or IPv6)", HFILL } },
        { &hf_device_ip, { "Device IPv4 address", "echotap.device.ip", FT_IPv4, BASE_NONE, NULL, 0x0,
            "IPv4 address of the flow's client device (for subnet filters)", HFILL } },
        { &hf_device_ipv6, { "Device IPv6 address", "echotap.device.ipv6", FT_IPv6, BASE_NONE, NULL, 0x0,
            "IPv6 address of the flow's client device (for subnet filters)", HFILL } },
        { &hf_speaker, { "Smart speaker", "echotap.device.speaker", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
            "The device is a smart speaker (its MAC vendor, an AVS flow, or a speaker model it announces over mDNS)", HFILL } },
        { &hf_assistant, { "Assistant", "echotap.device.assistant", FT_STRING, BASE_NONE, NULL, 0x0,
            "The speaker's voice assistant: alexa, siri, google, or unknown (a speaker maker's device whose assistant nothing names)", HFILL } },
        { &hf_model, { "Model", "echotap.device.model", FT_STRING, BASE_NONE, NULL, 0x0,
            "The model the device announces over mDNS (AudioAccessory5,1, Google Home Mini, iPhone14,2)", HFILL } },
        { &hf_dir, { "Direction", "echotap.dir", FT_STRING, BASE_NONE, NULL, 0x0,
            "up: device to server; down: server to device", HFILL } },
        { &hf_phase, { "Phase", "echotap.phase", FT_STRING, BASE_NONE, NULL, 0x0,
            "Phase of the experiment (schedule label, or idle/interaction)", HFILL } },
        { &hf_phase_index, { "Phase index", "echotap.phase.index", FT_UINT32, BASE_DEC, NULL, 0x0,
            "Number of the phase for this device, from 0", HFILL } },
        { &hf_flow, { "Flow", "echotap.flow", FT_UINT32, BASE_DEC, NULL, 0x0,
            "Number of the flow in this capture, from 0", HFILL } },
        { &hf_other, { "Other evidence", "echotap.other", FT_STRING, BASE_NONE, NULL, 0x0,
            "Weaker evidence that names another host", HFILL } },
        { &hf_other_evidence, { "Kind", "echotap.other.evidence", FT_STRING, BASE_NONE, NULL, 0x0,
            "Kind of the weaker evidence", HFILL } },
        { &hf_other_host, { "Host", "echotap.other.host", FT_STRING, BASE_NONE, NULL, 0x0,
            "Host named by the weaker evidence", HFILL } },
        { &hf_tls_rejected, { "Certificate rejected", "echotap.tls.rejected", FT_BOOLEAN, BASE_NONE, NULL, 0x0,
            "The device answered the server's certificate with a fatal certificate alert (e.g. unknown_ca): interception", HFILL } },
        { &hf_tls_alert, { "Rejecting alert", "echotap.tls.alert", FT_UINT8, BASE_DEC, NULL, 0x0,
            "The device's fatal certificate alert (42-46, 48, 113)", HFILL } },
        { &hf_tls_issuer, { "Certificate issuer", "echotap.tls.issuer", FT_STRING, BASE_NONE, NULL, 0x0,
            "Issuer CN of the server's certificate", HFILL } },
    };
    static int *ett[] = { &ett_echotap, &ett_other };
    static ei_register_info ei[] = {
        { &ei_mismatch, { "echotap.evidence.mismatch", PI_SECURITY, PI_WARN,
            "Evidence disagrees: the certificate does not cover the SNI, or weaker evidence names a host of another service", EXPFILL } },
        { &ei_bad_name, { "echotap.evidence.bad_name", PI_MALFORMED, PI_WARN,
            "Name is not a valid host name: ignored as evidence", EXPFILL } },
        { &ei_big_download, { "echotap.cdn.big_download", PI_SEQUENCE, PI_NOTE,
            "Large CDN download: likely a firmware (OTA) download", EXPFILL } },
        { &ei_rejected, { "echotap.tls.cert_rejected", PI_SECURITY, PI_WARN,
            "The device rejected the server's certificate: an interception (man-in-the-middle) attempt or a misissued certificate", EXPFILL } },
        { &ei_suspect, { "echotap.phase.upload_without_wake_word", PI_SECURITY, PI_WARN,
            "Speech upload above the idle baseline in a phase without a wake word", EXPFILL } },
        { &ei_path_differs, { "echotap.evidence.path_differs", PI_DEBUG, PI_NOTE,
            "The evidence paths differ (preference evidence_path both): the tree and the payload found other names", EXPFILL } },
        { &ei_unread, { "echotap.evidence.unread", PI_UNDECODED, PI_WARN,
            "The payload evidence path cannot read the flow's TCP/UDP payload here (a tunnel, an IP fragment or another link type): names in it are missed", EXPFILL } },
    };

    proto_echotap = proto_register_protocol("Smart speaker flow tagging", "echotap", "echotap");
    proto_register_field_array(proto_echotap, hf, array_length(hf));
    proto_register_subtree_array(ett, array_length(ett));
    expert_register_field_array(expert_register_protocol(proto_echotap), ei, array_length(ei));
    et_evidence_setup(proto_echotap, &ei_bad_name);

    echotap_handle = register_dissector("echotap", dissect_echotap, proto_echotap);
    register_postdissector(echotap_handle);
    echotap_tap = register_tap("echotap");
    register_init_routine(evidence_path_init);
    register_cleanup_routine(evidence_path_cleanup);
    return proto_echotap;
}

void echotap_dissector_handoff(void)
{
    et_extract_resolve();
    proto_ws_expert = proto_get_id_by_filter_name("_ws.expert");
}
