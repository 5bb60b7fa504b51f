/* capture.h - one capture file's state, and the one way a packet enters it.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C (GLib only). The Wireshark glue fills an et_packet from what the dissectors found and
 * calls et_capture_packet(), which keeps the order: flow, evidence, flow counts, phases. The unit
 * tests call the same entry, so the order is written once.
 */
#ifndef ECHOTAP_CAPTURE_H
#define ECHOTAP_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "flows.h"
#include "phases.h"
#include "rules.h"

typedef struct et_rule_text {
    const char *pattern;
    const char *service;
} et_rule_text;

/* What the preferences decide. Read when the capture is made; schedule is borrowed until the
 * phases start. */
typedef struct et_capture_config {
    bool use_cert;             /* certificate names are evidence */
    bool use_dns;              /* DNS answers are evidence */
    bool use_same_ip;          /* flows to the same server address share evidence */
    uint64_t big_download;     /* bytes of a CDN download that flag a firmware download (0: never) */
    et_detector_config detector;
    const et_schedule *schedule;        /* NULL: automatic phases */
    const et_rule_text *user_rules;     /* tried before the built-in rules */
    size_t n_user_rules;
    et_resolve_fn resolve;     /* name resolution, or NULL */
    void *resolve_user;
    /* The manufacturer that the MAC address (6 bytes) belongs to, or NULL (NULL: none known). */
    const char *(*vendor)(const uint8_t *mac);
} et_capture_config;

/* Read-only outside capture.c. phases is NULL until the first packet. */
typedef struct et_capture {
    et_ruleset *rules;
    et_flows *flows;
    et_phases *phases;
    et_capture_config cfg;
} et_capture;

#define ET_NO_FLOW UINT32_MAX

/* Hands the names that a packet carries to the flow state (flows.h's et_flows_add_*). */
typedef void (*et_gather_fn)(void *user, et_flows *flows, et_flow *fl, bool up);

typedef struct et_packet {
    uint32_t flow;             /* the packet's flow, if the caller knows it; else ET_NO_FLOW */
    uint8_t proto;             /* 6 TCP, 17 UDP */
    et_addr src, dst;
    uint16_t sport, dport;
    int tcp_flags;             /* -1 for UDP; read only when the packet opens a flow */
    uint32_t frame_len;        /* bytes on the wire */
    uint32_t payload_len;      /* TCP/UDP payload bytes */
    double t;                  /* seconds since the capture's first packet */
    double abs_t;              /* seconds since 1970 */
    uint32_t frame;            /* frame number */
    const uint8_t *src_mac;    /* 6 bytes, or NULL */
    et_gather_fn gather;       /* the packet's evidence, or NULL */
    void *gather_user;
} et_packet;

et_capture *et_capture_new(const et_capture_config *cfg);
void et_capture_free(et_capture *c);

/* Starts the phases at epoch (the first packet's time since 1970). et_capture_packet calls it at
 * the first packet; a caller that knows the epoch earlier may call it first. */
void et_capture_start(et_capture *c, double epoch);

/* Counts a packet (once, in order: the first pass). Returns its flow, made if p->flow is
 * ET_NO_FLOW or unknown. */
et_flow *et_capture_packet(et_capture *c, const et_packet *p);

#endif
