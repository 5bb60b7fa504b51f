/* flows.h - per-capture flow state: devices, evidence, classification.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C (GLib only). The Wireshark glue feeds it what the dissectors found; it decides which
 * host and service each flow has, following doc/classification.md. Evidence can arrive in any
 * order (a DNS answer after the flow's first packet, a later flow to the same server), so a
 * flow's class can change; every change is appended to a change log that statistics read.
 */
#ifndef ECHOTAP_FLOWS_H
#define ECHOTAP_FLOWS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "rules.h"

/* Kinds of evidence, weakest first: a higher value is stronger. */
typedef enum {
    ET_EV_NONE = 0,
    ET_EV_LAN,                 /* no name: the server's address is on the local network */
    ET_EV_TRAFFIC,             /* no name: a speaker's flow that carries the shape of its voice */
    ET_EV_SAME_IP,
    ET_EV_RESOLVED,
    ET_EV_DNS,
    ET_EV_HTTP_HOST,
    ET_EV_CERT,
    ET_EV_SNI,
    ET_EV_COUNT
} et_evidence;

const char *et_evidence_name(et_evidence ev);

typedef struct et_addr {
    uint8_t family;            /* 4 or 6 */
    uint8_t bytes[16];
} et_addr;

void et_addr_set(et_addr *a, int family, const void *bytes);
bool et_addr_equal(const et_addr *a, const et_addr *b);
/* Private, loopback, link-local or multicast: traffic that stays on the LAN. */
bool et_addr_is_local(const et_addr *a);
/* Text form into buf (at least 46 bytes). */
const char *et_addr_to_str(const et_addr *a, char *buf, size_t size);

#define ET_MODEL_MAX 48

typedef struct et_device {
    uint32_t id;
    et_addr addr;
    char addr_text[46];        /* addr as text (et_addr_to_str), made once */
    /* What says it is a speaker, and of which assistant (doc/classification.md, "Smart speakers"). */
    et_assistant by_vendor;    /* its MAC vendor (et_vendor_assistant) */
    et_assistant by_model;     /* a speaker model it announced over mDNS */
    et_assistant by_flow;      /* a flow named by a rule that only that assistant's devices use */
    bool oui_checked;
    char model[ET_MODEL_MAX];  /* the model it announced ("AudioAccessory5,1", "iPhone14,2"), "" if none */
} et_device;

/* The device's assistant: named by its flows, its announced model, then its MAC vendor;
 * ET_ASSISTANT_NONE when it is not a speaker. */
et_assistant et_device_assistant(const et_device *d);
static inline bool et_device_is_speaker(const et_device *d)
{
    return et_device_assistant(d) != ET_ASSISTANT_NONE;
}

typedef struct et_flow {
    uint32_t id;
    uint8_t proto;             /* 6 TCP, 17 UDP */
    et_addr client, server;
    uint16_t client_port, server_port;
    uint32_t device;           /* et_device id */

    /* Host per kind of evidence (interned, lower-case), NULL where absent. */
    const char *ev_host[ET_EV_COUNT];
    bool sni_not_in_cert;      /* the certificate's names do not cover the SNI */
    uint64_t cert_names;       /* how many names the certificate carried */
    const char **cert_hosts;   /* those names (interned, wildcards as "*.x"), cert_names of them */

    /* Current class, recomputed when evidence changes. */
    et_evidence evidence;
    const char *host;          /* interned or NULL */
    const char *rule;          /* pattern of the matching rule or NULL */
    const char *service;       /* service after the speaker decision, NULL if untagged */
    et_group group;            /* its statistics group: the rule's, other for a speaker service on
                                * a device that is not such a speaker, untagged without a service */
    bool mismatch;             /* some weaker evidence points at another service */
    bool voice_shaped;         /* carried speech followed by the server's answer */

    /* Totals over all packets seen on the first pass. */
    uint64_t bytes[2], packets[2];   /* [0] up (device to server), [1] down */
    double first, last;              /* seconds since the capture's first packet */
    uint32_t first_frame;            /* frame numbers, for expert infos on later passes */
    uint32_t big_download_frame;     /* frame where downloads passed the OTA size, or 0 */
    uint32_t mismatch_frame;         /* first-pass frame that carried the mismatch expert info, or 0 */

    /* Interception: the server's certificate (TLS <= 1.2, in the clear) and the device's answer. */
    uint32_t cert_frame;             /* frame of the server's Certificate message, or 0 */
    const char *cert_issuer;         /* its issuer's CN (interned), NULL if none */
    uint8_t rejected_alert;          /* the device's fatal certificate alert (e.g. 48 unknown_ca), or 0 */
    uint32_t rejected_frame;         /* frame of that alert, or 0 */
} et_flow;

/* The statistics group of a flow's current service (set by classification). */
static inline et_group et_flow_group(const et_flow *fl) { return fl->group; }

typedef const char *(*et_resolve_fn)(void *user, const et_addr *addr);

typedef struct et_flow_config {
    bool use_cert;             /* certificate names are evidence */
    bool use_dns;              /* DNS answers are evidence */
    bool use_same_ip;          /* flows to the same server address share evidence */
    et_resolve_fn resolve;     /* Wireshark name resolution, or NULL */
    void *resolve_user;
} et_flow_config;

typedef struct et_flows et_flows;

et_flows *et_flows_new(const et_ruleset *rules, const et_flow_config *cfg);
void et_flows_free(et_flows *f);

/* A new flow from its first packet seen. tcp_flags is -1 for UDP. t: seconds since the capture's
 * first packet. */
et_flow *et_flows_add(et_flows *f, uint8_t proto, const et_addr *src, uint16_t sport,
                      const et_addr *dst, uint16_t dport, int tcp_flags, double t);
et_flow *et_flows_get(const et_flows *f, uint32_t id);
/* The newest flow of a 5-tuple (either direction), or NULL: a flow added later for the same
 * 5-tuple (a TCP port reused) replaces the older one here. */
et_flow *et_flows_find(const et_flows *f, uint8_t proto, const et_addr *src, uint16_t sport, const et_addr *dst,
                       uint16_t dport);
/* Makes a 5-tuple's packets find fl (et_flows_add does it for the flow's own). */
void et_flows_map(et_flows *f, et_flow *fl, uint8_t proto, const et_addr *src, uint16_t sport, const et_addr *dst,
                  uint16_t dport);
uint32_t et_flows_count(const et_flows *f);
et_device *et_flows_device(const et_flows *f, uint32_t id);
uint32_t et_flows_device_count(const et_flows *f);

/* Is a packet from (src, sport) going up, i.e. sent by the flow's device? */
bool et_flow_is_up(const et_flow *fl, const et_addr *src, uint16_t sport);

/* Counts a packet (first pass only). Returns true when this packet took the flow's download
 * past big_download bytes (0: never) on a cdn flow: a likely firmware/OTA download. */
bool et_flows_packet(et_flows *f, et_flow *fl, bool up, uint32_t len, double t, uint32_t frame,
                     uint64_t big_download);

/* The device's MAC vendor, as Wireshark's manufacturer table names it (NULL: unknown). */
void et_flows_set_vendor(et_flows *f, et_device *d, const char *vendor);
/* A TXT string of an mDNS answer that the device at addr sent about itself. A model it names
 * becomes the device's (a speaker model is never replaced by another model). Returns true when it
 * names a speaker model (the device is then a speaker of that model's assistant). */
bool et_flows_add_mdns_txt(et_flows *f, const et_addr *addr, const char *txt, size_t len);

/* Evidence. Names come as found on the wire (len bytes, not necessarily NUL terminated);
 * they return false when the name is not a valid host name (it is then ignored). */
bool et_flows_add_sni(et_flows *f, et_flow *fl, const char *name, size_t len);
bool et_flows_add_http_host(et_flows *f, et_flow *fl, const char *name, size_t len);
/* cn may be NULL. Names that are not valid host names are skipped; returns how many were kept. */
size_t et_flows_add_cert(et_flows *f, et_flow *fl, const char *cn, const char *const *sans,
                         size_t n_sans);
/* A DNS answer: name (what the client asked for) resolves to addr; sent to client at time t. */
bool et_flows_add_dns(et_flows *f, const char *name, size_t len, const et_addr *addr,
                      const et_addr *client, double t);

/* The flow carried speech followed by the server's answer (phases.c): on a speaker, with no
 * name at all, it is the voice connection (evidence traffic, its assistant's voice service). */
void et_flows_add_traffic(et_flows *f, et_flow *fl);

/* The server's Certificate message was seen in this frame; issuer: its issuer's CN or NULL. */
void et_flows_set_cert_seen(et_flows *f, et_flow *fl, const char *issuer, uint32_t frame);
/* A TLS alert on the flow (level 2 fatal, desc its code). The device rejected the server's
 * certificate when it sends, after the server's Certificate, a fatal alert that is about
 * certificates (et_alert_rejects_cert). Returns true when this alert is that rejection. */
bool et_flows_tls_alert(et_flows *f, et_flow *fl, bool up, unsigned level, unsigned desc, uint32_t frame);
/* bad_certificate 42, unsupported_certificate 43, certificate_revoked 44, certificate_expired 45,
 * certificate_unknown 46, unknown_ca 48, bad_certificate_status_response 113. */
bool et_alert_rejects_cert(unsigned desc);
const char *et_alert_name(unsigned desc);

/* The change log: ids of flows whose class changed, in order (ids may be NULL). Readers keep
 * their own cursor. */
size_t et_flows_changes(const et_flows *f, const uint32_t **ids);

/* Certificate name matching for the SNI check: "*.example.com" covers one label. */
bool et_cert_name_covers(const char *cert_name, const char *host);

#endif
