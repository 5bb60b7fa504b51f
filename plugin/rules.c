/* rules.c - host name patterns and the rule table.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "rules.h"

#include <string.h>
#include <glib.h>

/* The built-in table is data: one row per host pattern, most specific first, with its service's
 * statistics group and the public source that ties the host to its role. doc/classification.md's
 * table is generated from this one (build/tests/unit/test_rules --write-doc; the unit test fails
 * when the doc differs). */
#define SRC_MON "Mon(IoT)r / IMC'19 'Information Exposure from Consumer IoT Devices' Echo captures"
#define SRC_AVS "Alexa Voice Service docs: 'Manage an HTTP/2 connection with AVS' (endpoints)"
#define SRC_PRIV "Princeton IoT Inspector / YourThings Echo captures (host lists)"
#define SRC_VCF "VCFingerprinting Echo captures (Kennedy et al., CNS 2019)"
#define SRC_VAF "va-fingerprinting (USENIX Security 2023) fixedFlowIds"
#define SRC_SIRI "Siri's voice endpoint: certificate CN guzzoni.apple.com; nDPI maps guzzoni.apple. to AppleSiri; " SRC_VAF "_Siri"
#define SRC_GOOGLE "Google Assistant's voice: Home Mini over TCP (CESNET NEMEA-SIoT), Nest Mini over QUIC (" SRC_VAF "_Google); on a phone or laptop it is search"
static const et_rule builtin_rules[] = {
    { "avs-alexa-*.amazon.com",          "avs",          ET_GROUP_VOICE,   SRC_AVS, true },
    { "bob-dispatch-prod-*.amazon.com",  "avs",          ET_GROUP_VOICE,   SRC_MON " (certificate CN of the AVS endpoint)", true },
    { "alexa.*.gateway.devices.a2z.com", "avs",          ET_GROUP_VOICE,   SRC_AVS " (newer regional endpoints)", true },
    { "pindorama.amazon.com",            "avs",          ET_GROUP_VOICE,   "2017 Echo Dot captures (shared notes): its only long-lived connection carries all the voice", true },
    { "guzzoni.apple.com",               "siri",         ET_GROUP_VOICE,   SRC_SIRI, false },
    { "dejavu.apple.com",                "siri",         ET_GROUP_VOICE,   SRC_VAF " (newer HomePods send the invocation there over TCP)", false },
    { "www.google.com",                  "google-assistant", ET_GROUP_VOICE, SRC_GOOGLE, false },
    { "embeddedassistant.googleapis.com", "google-assistant", ET_GROUP_VOICE, "Google Assistant SDK docs (gRPC endpoint for third-party devices)", true },
    { "device-metrics-*.amazon.com",     "metrics",      ET_GROUP_METRICS, SRC_MON, false },
    { "unagi-*.amazon.com",              "metrics",      ET_GROUP_METRICS, SRC_MON " (frequent resumed TLS sessions)", false },
    { "d3p8zr0ffa9t17.cloudfront.net",   "connectivity", ET_GROUP_OTHER,   SRC_VCF " (answers the Echo's reachability probe GET /HTTPConnTest.txt)", false },
    { "d3h5bk8iotgjvw.cloudfront.net",   "amazon",       ET_GROUP_OTHER,   SRC_VCF " (serves the same /1/meta.json as prod.amazoncrl.com)", false },
    { "fireoscaptiveportal.com",         "connectivity", ET_GROUP_OTHER,   "Fire OS captive-portal probe (Amazon devices' connectivity check)", false },
    { "*.cloudfront.net",                "cdn",          ET_GROUP_CDN,     SRC_PRIV " (firmware and content downloads)", false },
    { "softwareupdates.amazon.com",      "cdn",          ET_GROUP_CDN,     SRC_PRIV, false },
    { "spectrum.s3.amazonaws.com",       "connectivity", ET_GROUP_OTHER,   SRC_MON " (cleartext /kindle-wifi/wifistub.html check)", false },
    { "kindle-time.amazon.com",          "time",         ET_GROUP_OTHER,   SRC_MON, false },
    { "ntp-g7g.amazon.com",              "time",         ET_GROUP_OTHER,   SRC_MON " (NTP)", false },
    { "*.pool.ntp.org",                  "time",         ET_GROUP_OTHER,   "NTP Pool project (vendor zones)", false },
    { "api.amazonalexa.com",             "api",          ET_GROUP_OTHER,   SRC_AVS " (Alexa APIs)", false },
    { "api.amazon.com",                  "api",          ET_GROUP_OTHER,   "Login with Amazon docs (token endpoint)", false },
    { "arcus-uswest.amazon.com",         "api",          ET_GROUP_OTHER,   SRC_MON, false },
    { "dcape-na.amazon.com",             "api",          ET_GROUP_OTHER,   SRC_MON, false },
    { "dp-gw-na.amazon.com",             "api",          ET_GROUP_OTHER,   SRC_MON, false },
    { "prod.amazoncrl.com",              "amazon",       ET_GROUP_OTHER,   SRC_MON " (certificate revocation lists)", false },
    { "*.amazon.com",                    "amazon",       ET_GROUP_OTHER,   "Amazon's own domain", false },
    { "*.amazonalexa.com",               "amazon",       ET_GROUP_OTHER,   "Amazon's own domain", false },
    { "*.amazonaws.com",                 "amazon",       ET_GROUP_OTHER,   "Amazon Web Services' domain", false },
    { "*.a2z.com",                       "amazon",       ET_GROUP_OTHER,   "Amazon's own domain", false },
    { "*.amazon.dev",                    "amazon",       ET_GROUP_OTHER,   "Amazon's own domain", false },
    { "*.media-amazon.com",              "amazon",       ET_GROUP_OTHER,   "Amazon's own domain", false },
    { "*.ssl-images-amazon.com",         "amazon",       ET_GROUP_OTHER,   "Amazon's own domain", false },
    { "*.amazontrust.com",               "amazon",       ET_GROUP_OTHER,   "Amazon Trust Services (OCSP, CRL)", false },
    { "*.apple.com",                     "apple",        ET_GROUP_OTHER,   "Apple's own domain", false },
    { "*.icloud.com",                    "apple",        ET_GROUP_OTHER,   "Apple's own domain", false },
    { "*.aaplimg.com",                   "apple",        ET_GROUP_OTHER,   "Apple's CDN domain (guzzoni.apple.com's CNAME target)", false },
    { "*.google.com",                    "google",       ET_GROUP_OTHER,   "Google's own domain", false },
    { "*.googleapis.com",                "google",       ET_GROUP_OTHER,   "Google's own domain", false },
    { "*.gstatic.com",                   "google",       ET_GROUP_OTHER,   "Google's own domain", false },
    { "*.googleusercontent.com",         "google",       ET_GROUP_OTHER,   "Google's own domain", false },
    { "*.sonos.com",                     "sonos",        ET_GROUP_OTHER,   "Sonos players' cloud hosts (ab-us.ws.sonos.com, msmetrics.ws.sonos.com; nDPI's sonos.pcapng)", false },
};

static const struct { const char *name, *label; } groups[ET_GROUP_COUNT] = {
    [ET_GROUP_VOICE] = { "voice", "Voice" },
    [ET_GROUP_METRICS] = { "metrics", "Metrics" },
    [ET_GROUP_CDN] = { "cdn", "CDN" },
    [ET_GROUP_OTHER] = { "other", "Other" },
    [ET_GROUP_UNTAGGED] = { "untagged", "Untagged" },
};

const char *et_group_name(et_group g)
{
    return groups[(unsigned)g < ET_GROUP_COUNT ? g : ET_GROUP_UNTAGGED].name;
}

const char *et_group_label(et_group g)
{
    return groups[(unsigned)g < ET_GROUP_COUNT ? g : ET_GROUP_UNTAGGED].label;
}

et_group et_group_of_service(const char *service)
{
    bool voice;
    if (et_speaker_service(service, NULL, &voice, NULL) && voice)
        return ET_GROUP_VOICE;
    for (int g = 0; service && g < ET_GROUP_COUNT; g++) {
        if (strcmp(service, groups[g].name) == 0)
            return (et_group)g;
    }
    return ET_GROUP_OTHER;
}

static const char *const assistant_names[ET_ASSISTANT_COUNT] = {
    [ET_ASSISTANT_NONE] = "", [ET_ASSISTANT_ALEXA] = "alexa", [ET_ASSISTANT_SIRI] = "siri",
    [ET_ASSISTANT_GOOGLE] = "google", [ET_ASSISTANT_UNKNOWN] = "unknown",
};

const char *et_assistant_name(et_assistant a)
{
    return assistant_names[(unsigned)a < ET_ASSISTANT_COUNT ? a : ET_ASSISTANT_NONE];
}

/* A speaker's services: whose they are, whether they carry its voice, and what a device that is
 * not such a speaker gets instead (a phone's Siri or search is Apple's or Google's, not a
 * speaker's). */
static const struct {
    const char *service;
    et_assistant assistant;
    bool voice;
    const char *fallback;
} speaker_services[] = {
    { "avs", ET_ASSISTANT_ALEXA, true, "amazon" },
    { "siri", ET_ASSISTANT_SIRI, true, "apple" },
    { "google-assistant", ET_ASSISTANT_GOOGLE, true, "google" },
    { "voice", ET_ASSISTANT_UNKNOWN, true, "other" },
    { "metrics", ET_ASSISTANT_ALEXA, false, "amazon" },
    { "cdn", ET_ASSISTANT_ALEXA, false, "amazon" },
    { "api", ET_ASSISTANT_ALEXA, false, "amazon" },
    { "connectivity", ET_ASSISTANT_ALEXA, false, "amazon" },
    { "time", ET_ASSISTANT_ALEXA, false, "amazon" },
};

const char *et_assistant_voice_service(et_assistant a)
{
    for (size_t i = 0; a != ET_ASSISTANT_NONE && i < G_N_ELEMENTS(speaker_services); i++) {
        if (speaker_services[i].voice && speaker_services[i].assistant == a)
            return speaker_services[i].service;
    }
    return NULL;
}

bool et_speaker_service(const char *service, et_assistant *assistant, bool *voice, const char **fallback)
{
    for (size_t i = 0; service && i < G_N_ELEMENTS(speaker_services); i++) {
        if (strcmp(service, speaker_services[i].service) == 0) {
            if (assistant)
                *assistant = speaker_services[i].assistant;
            if (voice)
                *voice = speaker_services[i].voice;
            if (fallback)
                *fallback = speaker_services[i].fallback;
            return true;
        }
    }
    return false;
}

/* Makers whose every networked product is a speaker, by the start of Wireshark's manufacturer
 * name (doc/classification.md, "Smart speakers"). Apple and Google make phones too: their speakers are
 * told by mDNS. */
static const et_speaker_sign speaker_vendors[] = {
    { "Amazon", ET_ASSISTANT_ALEXA, "Echo devices' MAC addresses are Amazon Technologies' OUIs" },
    { "Sonos", ET_ASSISTANT_UNKNOWN, "Sonos players (OUI 48:a6:b8 and others) carry Alexa or Google Assistant built in" },
};

et_assistant et_vendor_assistant(const char *vendor)
{
    for (size_t i = 0; vendor && i < G_N_ELEMENTS(speaker_vendors); i++) {
        if (g_ascii_strncasecmp(vendor, speaker_vendors[i].text, strlen(speaker_vendors[i].text)) == 0)
            return speaker_vendors[i].assistant;
    }
    return ET_ASSISTANT_NONE;
}

/* Speaker models in the TXT records a device announces over mDNS (key=value, value prefix). */
static const et_speaker_sign speaker_models[] = {
    { "model=AudioAccessory", ET_ASSISTANT_SIRI, "_airplay._tcp / _raop._tcp TXT of HomePod (AudioAccessory1,1) and HomePod mini (AudioAccessory5,1)" },
    { "rpMd=AudioAccessory", ET_ASSISTANT_SIRI, "_companion-link._tcp TXT of HomePods" },
    { "md=Google Home", ET_ASSISTANT_GOOGLE, "_googlecast._tcp TXT of Google Home, Home Mini, Home Max" },
    { "md=Google Nest", ET_ASSISTANT_GOOGLE, "_googlecast._tcp TXT of Google Nest Mini, Nest Hub" },
    { "md=Nest ", ET_ASSISTANT_GOOGLE, "_googlecast._tcp TXT of Nest Audio" },
};

const et_speaker_sign *et_speaker_vendors(size_t *count)
{
    *count = G_N_ELEMENTS(speaker_vendors);
    return speaker_vendors;
}

const et_speaker_sign *et_speaker_models(size_t *count)
{
    *count = G_N_ELEMENTS(speaker_models);
    return speaker_models;
}

/* The TXT keys that carry a device's model: Apple's (model, rpMd) and Google Cast's (md). */
static const char *const model_keys[] = { "model=", "rpMd=", "md=" };

et_assistant et_mdns_txt_assistant(const char *txt, size_t len, char *model, size_t model_size)
{
    if (model_size)
        model[0] = '\0';
    const char *value = NULL;
    for (size_t i = 0; txt && i < G_N_ELEMENTS(model_keys) && !value; i++) {
        size_t n = strlen(model_keys[i]);
        if (len >= n && strncmp(txt, model_keys[i], n) == 0)
            value = txt + n;
    }
    if (value == NULL)
        return ET_ASSISTANT_NONE;
    size_t vlen = MIN(len - (size_t)(value - txt), model_size ? model_size - 1 : 0);
    for (size_t k = 0; k < vlen; k++)            /* shown in a field: printable ASCII only */
        model[k] = g_ascii_isprint(value[k]) ? value[k] : '?';
    if (model_size)
        model[vlen] = '\0';
    for (size_t i = 0; i < G_N_ELEMENTS(speaker_models); i++) {
        size_t n = strlen(speaker_models[i].text);
        if (len >= n && strncmp(txt, speaker_models[i].text, n) == 0)
            return speaker_models[i].assistant;
    }
    return ET_ASSISTANT_NONE;
}

struct et_ruleset {
    GArray *rules;            /* et_rule, strings owned by the set */
};

static bool is_host_char(unsigned char c)
{
    return g_ascii_isalnum(c) || c == '-' || c == '_';
}

/* Length without one trailing dot. */
static size_t trimmed_len(const char *s)
{
    size_t n = strlen(s);
    return (n > 0 && s[n - 1] == '.') ? n - 1 : n;
}

const char *et_pattern_error(const char *pattern)
{
    if (pattern == NULL || pattern[0] == '\0')
        return "the pattern is empty";
    size_t len = trimmed_len(pattern);
    if (len > 2 && pattern[0] == '*' && pattern[1] == '.' && memchr(pattern + 2, '*', len - 2))
        return "a '*.suffix' pattern may hold no other '*'";
    if (len > ET_MAX_HOST_LEN - 1)
        return "the pattern is longer than a host name can be (253 characters)";
    size_t label_len = 0, stars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)pattern[i];
        if (c == '.') {
            if (label_len == 0)
                return "the pattern has an empty label ('..' or a leading dot)";
            label_len = 0;
            stars = 0;
        } else if (c == '*') {
            if (++stars > 1)
                return "a label may hold only one '*'";
            if (++label_len > 63)       /* the '*' stands for at least one character */
                return "a label is longer than 63 characters";
        } else if (is_host_char(c)) {
            if (++label_len > 63)
                return "a label is longer than 63 characters";
        } else {
            return "the pattern may only hold letters, digits, '-', '_', '.' and '*'";
        }
    }
    if (label_len == 0)
        return "the pattern ends with an empty label";
    return NULL;
}

const char *et_service_error(const char *service)
{
    if (service == NULL || service[0] == '\0')
        return "the service is empty";
    size_t n = strlen(service);
    if (n > 31)
        return "the service name is longer than 31 characters";
    /* The one name of a flow without a service (tables, JSON, corpus): a rule's would be read as it. */
    if (strcmp(service, groups[ET_GROUP_UNTAGGED].name) == 0)
        return "\"untagged\" names a flow without a service: a rule cannot give it";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)service[i];
        if (!(g_ascii_islower(c) || g_ascii_isdigit(c) || c == '-' || c == '_'))
            return "the service may only hold lower-case letters, digits, '-' and '_'";
    }
    return NULL;
}

/* Glob of one label: p (plen bytes, at most one '*' matching one or more characters) against
 * h (hlen bytes), case-insensitively. */
static bool label_match(const char *p, size_t plen, const char *h, size_t hlen)
{
    const char *star = memchr(p, '*', plen);
    if (star == NULL)
        return plen == hlen && g_ascii_strncasecmp(p, h, plen) == 0;
    size_t pre = (size_t)(star - p), post = plen - pre - 1;
    if (hlen < pre + post + 1)
        return false;
    return g_ascii_strncasecmp(p, h, pre) == 0 &&
           g_ascii_strncasecmp(star + 1, h + hlen - post, post) == 0;
}

bool et_pattern_match(const char *pattern, const char *host)
{
    size_t plen = trimmed_len(pattern), hlen = trimmed_len(host);
    if (plen == 0 || hlen == 0)
        return false;

    /* "*.suffix": any name with at least one more label in front of the suffix. */
    if (plen >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        size_t slen = plen - 1;                  /* ".suffix" */
        return hlen > slen && g_ascii_strncasecmp(host + hlen - slen, pattern + 1, slen) == 0;
    }

    /* Label by label; a '*' never crosses a dot. */
    const char *p = pattern, *pend = pattern + plen;
    const char *h = host, *hend = host + hlen;
    for (;;) {
        const char *pdot = memchr(p, '.', (size_t)(pend - p));
        const char *hdot = memchr(h, '.', (size_t)(hend - h));
        const char *pe = pdot ? pdot : pend, *he = hdot ? hdot : hend;
        if (!label_match(p, (size_t)(pe - p), h, (size_t)(he - h)))
            return false;
        if (!pdot || !hdot)
            return !pdot && !hdot;
        p = pdot + 1;
        h = hdot + 1;
    }
}

bool et_host_normalize(const char *in, size_t in_len, char *out, size_t out_size)
{
    if (out_size == 0)
        return false;
    out[0] = '\0';
    if (in == NULL)
        return false;
    /* The name ends at a NUL byte only if the NUL is the last byte: an embedded NUL is an
     * attempt to hide the real name. */
    size_t n = in_len;
    while (n > 0 && in[n - 1] == '\0')
        n--;
    /* An HTTP Host may carry ":port". */
    const char *colon = memchr(in, ':', n);
    if (colon) {
        for (const char *q = colon + 1; q < in + n; q++) {
            if (!g_ascii_isdigit(*q))
                return false;
        }
        n = (size_t)(colon - in);
    }
    if (n > 0 && in[n - 1] == '.')
        n--;
    if (n == 0 || n >= out_size || n > ET_MAX_HOST_LEN - 1)
        return false;
    size_t label_len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '.') {
            if (label_len == 0)
                goto bad;
            label_len = 0;
        } else if (is_host_char(c)) {
            if (++label_len > 63)
                goto bad;
        } else {
            goto bad;
        }
        out[i] = g_ascii_tolower(c);
    }
    if (label_len == 0)
        goto bad;
    /* A top label of digits only ("0.0.0.0", "10.1.2.3") is an address, not a name (RFC 3696). */
    size_t top = n;
    while (top > 0 && out[top - 1] != '.')
        top--;
    while (top < n && g_ascii_isdigit(out[top]))
        top++;
    if (top == n)
        goto bad;
    out[n] = '\0';
    return true;
bad:
    out[0] = '\0';                   /* not the part copied before the bad byte */
    return false;
}

static bool is_port(const char *p, const char *end)
{
    if (p == end || end - p > 5)
        return false;
    for (; p < end; p++) {
        if (!g_ascii_isdigit(*p))
            return false;
    }
    return true;
}

bool et_host_is_ip_literal(const char *in, size_t len)
{
    if (in == NULL || len == 0 || len > 64 || memchr(in, '\0', len))
        return false;
    char addr[65];
    const char *end = in + len, *a = in, *a_end;
    if (in[0] == '[') {                          /* "[v6]" or "[v6]:port" */
        const char *close = memchr(in, ']', len);
        if (close == NULL || (close + 1 != end && (close[1] != ':' || !is_port(close + 2, end))))
            return false;
        a = in + 1;
        a_end = close;
        if (memchr(a, ':', (size_t)(a_end - a)) == NULL)
            return false;                        /* brackets hold IPv6 only */
    } else {                                     /* "v4" or "v4:port" */
        const char *colon = memchr(in, ':', len);
        a_end = colon ? colon : end;
        if (colon && !is_port(colon + 1, end))
            return false;
        for (const char *q = a; q < a_end; q++) {
            if (!g_ascii_isdigit(*q) && *q != '.')
                return false;
        }
    }
    memcpy(addr, a, (size_t)(a_end - a));
    addr[a_end - a] = '\0';
    return g_hostname_is_ip_address(addr);
}

const et_rule *et_builtin_rules(size_t *count)
{
    *count = G_N_ELEMENTS(builtin_rules);
    return builtin_rules;
}

et_ruleset *et_ruleset_new(void)
{
    et_ruleset *rs = g_new0(et_ruleset, 1);
    rs->rules = g_array_new(FALSE, FALSE, sizeof(et_rule));
    return rs;
}

void et_ruleset_free(et_ruleset *rs)
{
    if (rs == NULL)
        return;
    for (guint i = 0; i < rs->rules->len; i++) {
        et_rule *r = &g_array_index(rs->rules, et_rule, i);
        g_free((char *)r->pattern);
        g_free((char *)r->service);
        g_free((char *)r->source);
    }
    g_array_free(rs->rules, TRUE);
    g_free(rs);
}

static void add_rule(et_ruleset *rs, const et_rule *from)
{
    et_rule r = { g_strdup(from->pattern), g_ascii_strdown(from->service, -1), from->group,
                  g_strdup(from->source), from->names_speaker };
    g_array_append_val(rs->rules, r);
}

void et_ruleset_add(et_ruleset *rs, const char *pattern, const char *service)
{
    char *lower = g_ascii_strdown(service, -1);
    /* A user's AVS host makes its device a speaker, as the built-in AVS rows do. */
    et_rule r = { pattern, lower, et_group_of_service(lower), "user rule", strcmp(lower, "avs") == 0 };
    add_rule(rs, &r);
    g_free(lower);
}

void et_ruleset_add_builtin(et_ruleset *rs)
{
    for (size_t i = 0; i < G_N_ELEMENTS(builtin_rules); i++)
        add_rule(rs, &builtin_rules[i]);
}

const et_rule *et_ruleset_match(const et_ruleset *rs, const char *host)
{
    for (guint i = 0; i < rs->rules->len; i++) {
        const et_rule *r = &g_array_index(rs->rules, et_rule, i);
        if (et_pattern_match(r->pattern, host))
            return r;
    }
    return NULL;
}

size_t et_ruleset_count(const et_ruleset *rs)
{
    return rs->rules->len;
}
