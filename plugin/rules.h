/* rules.h - host name patterns and the rule table that maps a host name to a service.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C (GLib only): no epan dependency, unit-tested directly.
 */
#ifndef ECHOTAP_RULES_H
#define ECHOTAP_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* Longest host name we look at (RFC 1035: 253 characters plus a trailing dot). */
#define ET_MAX_HOST_LEN 254

/* Statistics groups: the column groups of the phase and timeline tables and the field
 * echotap.group, in column order. A rule row carries its group (nDPI's category in the row). */
typedef enum { ET_GROUP_VOICE, ET_GROUP_METRICS, ET_GROUP_CDN, ET_GROUP_OTHER, ET_GROUP_UNTAGGED,
               ET_GROUP_COUNT } et_group;
/* "voice", "metrics", "cdn", "other", "untagged": echotap.group's values and the JSON's names. */
const char *et_group_name(et_group g);
/* "Voice", "Metrics", "CDN", "Other", "Untagged": the tables' column titles. */
const char *et_group_label(et_group g);
/* The group of a user rule's service: the group of that name, else other. */
et_group et_group_of_service(const char *service);

typedef struct et_rule {
    const char *pattern;
    const char *service;
    et_group group;           /* the service's statistics group */
    const char *source;       /* where the entry comes from (built-in table: public source) */
    bool names_speaker;       /* only speakers of the service's assistant open such a flow (AVS,
                               * the Assistant SDK's endpoint): it makes its device one */
} et_rule;

typedef struct et_ruleset et_ruleset;

/* The voice assistants a speaker can carry. ET_ASSISTANT_UNKNOWN: a speaker (by its maker's MAC
 * vendor) whose assistant nothing has named yet. */
typedef enum { ET_ASSISTANT_NONE, ET_ASSISTANT_ALEXA, ET_ASSISTANT_SIRI, ET_ASSISTANT_GOOGLE,
               ET_ASSISTANT_UNKNOWN, ET_ASSISTANT_COUNT } et_assistant;
/* "", "alexa", "siri", "google", "unknown": echotap.device.assistant's values. */
const char *et_assistant_name(et_assistant a);
/* The service of an assistant's voice connection: avs, siri, google-assistant, or voice for an
 * unknown assistant; NULL for none. */
const char *et_assistant_voice_service(et_assistant a);

/* Services that describe what a smart speaker does (doc/classification.md, "Smart speakers"): the
 * assistant they belong to (voice services: their own; Amazon's device services: Alexa) and the
 * service a device that is not a speaker gets instead ("amazon", "apple", "google"). Returns
 * false for any other service. */
bool et_speaker_service(const char *service, et_assistant *assistant, bool *voice, const char **fallback);

/* A sign that a device is a speaker, as data with its public source: the start of a MAC vendor's
 * name, or of an mDNS TXT string. doc/classification.md's tables are generated from these. */
typedef struct et_speaker_sign {
    const char *text;
    et_assistant assistant;
    const char *source;
} et_speaker_sign;
const et_speaker_sign *et_speaker_vendors(size_t *count);
const et_speaker_sign *et_speaker_models(size_t *count);

/* What a device's MAC vendor says (Wireshark's manufacturer name): an Amazon device is an Alexa
 * speaker, a speaker maker's device a speaker whose assistant is unknown; else NONE. */
et_assistant et_vendor_assistant(const char *vendor);

/* What one mDNS TXT string a device announces about itself says: its model (the value of a
 * model, rpMd or md key, made printable, "" for any other string) into model, and the assistant
 * of a speaker model (model=AudioAccessory*: HomePod; md=Google Home*: Google);
 * ET_ASSISTANT_NONE for any other model (an iPhone, a Chromecast) or string. */
et_assistant et_mdns_txt_assistant(const char *txt, size_t len, char *model, size_t model_size);

/* Checks a pattern: NULL if valid, else a static message saying what is wrong. */
const char *et_pattern_error(const char *pattern);

/* Checks a service name (lower-case letters, digits, '-', '_'; 1..31 characters). */
const char *et_service_error(const char *service);

/* Case-insensitive match of a host name against one pattern; one trailing dot on either is
 * ignored. Patterns: "exact.name", "*.suffix", or a '*' inside one label ("avs-alexa-*.a.com"). */
bool et_pattern_match(const char *pattern, const char *host);

/* Normalises a host name from the wire into out (lower case, no trailing dot, no ":port").
 * Returns false (and leaves out empty) when the name is empty, too long or contains bytes that
 * cannot be in a DNS name (controls, spaces, NUL). */
bool et_host_normalize(const char *in, size_t in_len, char *out, size_t out_size);

/* Is this (len bytes) an IP literal as an HTTP Host may carry one: an IPv4 dotted quad, or an
 * IPv6 address in brackets, either with an optional ":port" ("[FF02::C]", "239.255.255.250:1900").
 * A literal is a valid Host but not a name: it is no evidence, and not a bad name either. */
bool et_host_is_ip_literal(const char *in, size_t len);

/* The built-in table. */
const et_rule *et_builtin_rules(size_t *count);

/* A rule set: user rules first, then built-in rules; first match wins. */
et_ruleset *et_ruleset_new(void);
void et_ruleset_free(et_ruleset *rs);
/* Copies the rule (strings included). The pattern must be valid. */
void et_ruleset_add(et_ruleset *rs, const char *pattern, const char *service);
void et_ruleset_add_builtin(et_ruleset *rs);
/* The first rule matching host, or NULL. */
const et_rule *et_ruleset_match(const et_ruleset *rs, const char *host);
size_t et_ruleset_count(const et_ruleset *rs);

#endif
