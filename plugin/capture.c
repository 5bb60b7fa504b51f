/* capture.c - one capture file's state, and the one way a packet enters it.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "capture.h"

#include <glib.h>

et_capture *et_capture_new(const et_capture_config *cfg)
{
    et_capture *c = g_new0(et_capture, 1);
    c->cfg = *cfg;
    c->rules = et_ruleset_new();
    for (size_t i = 0; i < cfg->n_user_rules; i++)
        et_ruleset_add(c->rules, cfg->user_rules[i].pattern, cfg->user_rules[i].service);
    et_ruleset_add_builtin(c->rules);
    c->cfg.user_rules = NULL;           /* copied into the rules */
    c->cfg.n_user_rules = 0;
    et_flow_config fc = { cfg->use_cert, cfg->use_dns, cfg->use_same_ip, cfg->resolve, cfg->resolve_user };
    c->flows = et_flows_new(c->rules, &fc);
    return c;
}

void et_capture_free(et_capture *c)
{
    if (c == NULL)
        return;
    et_phases_free(c->phases);
    et_flows_free(c->flows);
    et_ruleset_free(c->rules);
    g_free(c);
}

void et_capture_start(et_capture *c, double epoch)
{
    if (c->phases)
        return;
    c->phases = et_phases_new(c->cfg.schedule, &c->cfg.detector, epoch);
    c->cfg.schedule = NULL;             /* copied into the phases */
}

et_flow *et_capture_packet(et_capture *c, const et_packet *p)
{
    et_capture_start(c, p->abs_t - p->t);
    et_flow *fl = p->flow != ET_NO_FLOW ? et_flows_get(c->flows, p->flow) : NULL;
    if (fl == NULL)
        fl = et_flows_add(c->flows, p->proto, &p->src, p->sport, &p->dst, p->dport, p->tcp_flags, p->t);
    bool up = et_flow_is_up(fl, &p->src, p->sport);
    et_device *dev = et_flows_device(c->flows, fl->device);
    /* The vendor of the device's own MAC: a packet it sent. */
    if (up && !dev->oui_checked && p->src_mac && c->cfg.vendor)
        et_flows_set_vendor(c->flows, dev, c->cfg.vendor(p->src_mac));
    if (p->gather)
        p->gather(p->gather_user, c->flows, fl, up);
    et_flows_packet(c->flows, fl, up, p->frame_len, p->t, p->frame, c->cfg.big_download);
    if (et_phases_packet(c->phases, c->flows, fl, up, p->payload_len, p->t, p->frame))
        et_flows_add_traffic(c->flows, fl);
    return fl;
}
