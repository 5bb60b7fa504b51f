/* flow_record.c - the flow record, described once for the Flows table and the JSON export.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "flow_record.h"

#include <glib.h>

/* Unused parameters are allowed (-Wno-unused-parameter): every getter has the same signature. */
#define GETTER(name) \
    static void name(const et_flows *f, const et_flow *fl, const et_flow_totals *t, char *buf, size_t size, \
                     et_rec_value *v)

GETTER(get_flow) { v->u = fl->id; }
GETTER(get_proto) { v->s = fl->proto == 6 ? "tcp" : "udp"; }
GETTER(get_device) { v->s = et_flows_device(f, fl->device)->addr_text; }
GETTER(get_client_port) { v->u = fl->client_port; }
GETTER(get_server) { v->s = et_addr_to_str(&fl->server, buf, size); }
GETTER(get_server_port) { v->u = fl->server_port; }
GETTER(get_service) { v->s = fl->service; }
GETTER(get_host) { v->s = fl->host; }
GETTER(get_evidence) { v->s = fl->evidence ? et_evidence_name(fl->evidence) : NULL; }
GETTER(get_rule) { v->s = fl->rule; }
GETTER(get_bytes_up) { v->u = t->bytes[0]; }
GETTER(get_packets_up) { v->u = t->packets[0]; }
GETTER(get_bytes_down) { v->u = t->bytes[1]; }
GETTER(get_packets_down) { v->u = t->packets[1]; }

#define S ET_REC_STRING
#define U ET_REC_UINT
static const et_flow_column columns[] = {
    /* key            type title         format   col none        fixed getter */
    { "flow",         U, NULL,           NULL,    -1, NULL,       true,  get_flow },
    { "proto",        S, "Proto",        "%-5s",   1, "",         true,  get_proto },
    { "device",       S, "Device",       "%-15s",  0, "",         true,  get_device },
    { "client_port",  U, NULL,           NULL,    -1, NULL,       true,  get_client_port },
    { "server",       S, "Server",       "%-15s",  2, "",         true,  get_server },
    { "server_port",  U, "Port",         "%5u",    3, NULL,       true,  get_server_port },
    { "service",      S, "Service",      "%-12s",  4, "untagged", false, get_service },
    { "host",         S, "Host",         "%-32s",  5, "",         false, get_host },
    { "evidence",     S, "Evidence",     "%-9s",   6, "",         false, get_evidence },
    { "rule",         S, NULL,           NULL,    -1, NULL,       false, get_rule },
    { "bytes_up",     U, "Up bytes",     "%10u",   7, NULL,       false, get_bytes_up },
    { "packets_up",   U, "Up pkts",      "%8u",    8, NULL,       false, get_packets_up },
    { "bytes_down",   U, "Down bytes",   "%10u",   9, NULL,       false, get_bytes_down },
    { "packets_down", U, "Down pkts",    "%8u",   10, NULL,       false, get_packets_down },
};
#undef S
#undef U

const et_flow_column *et_flow_columns(size_t *n)
{
    *n = G_N_ELEMENTS(columns);
    return columns;
}
