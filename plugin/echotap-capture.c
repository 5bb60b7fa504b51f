/* echotap-capture.c - the open capture file's state, made from the preferences.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The preferences and the user's rule table (UAT) make an et_capture (capture.c) at every file's
 * init routine; the dissector and the outputs read it from here.
 */
#include "echotap.h"

#include <string.h>

#include <epan/addr_resolv.h>
#include <epan/funnel.h>
#include <epan/prefs.h>
#include <epan/uat.h>
#include <epan/uat-int.h>   /* the rows of another module's table */

/* Preferences */
static et_pref_bool pref_use_cert = TRUE;
static et_pref_bool pref_use_dns = TRUE;
static et_pref_bool pref_use_same_ip = TRUE;
static guint pref_big_download_mb = 20;
static const char *pref_schedule = "";
static const char *pref_nowake = "silence,idle,conversation,quiet,background";
static guint pref_min_voice_bytes = 4000;
static guint pref_gap_ms = 1000;
static gint pref_evidence_path = ET_PATH_AUTO;

/* The user's rule table (UAT "echotap_rules"). */
typedef struct user_rule {
    char *pattern;
    char *service;
} user_rule;

static user_rule *user_rules;
static guint n_user_rules;
static bool user_rules_refused;         /* a row was refused since the table was last cleared */

UAT_CSTRING_CB_DEF(user_rule, pattern, user_rule)
UAT_CSTRING_CB_DEF(user_rule, service, user_rule)

static void *user_rule_copy(void *dst, const void *src, size_t len _U_)
{
    const user_rule *s = (const user_rule *)src;
    user_rule *d = (user_rule *)dst;
    d->pattern = g_strdup(s->pattern);
    d->service = g_strdup(s->service);
    return d;
}

static void user_rule_free(void *r)
{
    user_rule *u = (user_rule *)r;
    g_free(u->pattern);
    g_free(u->service);
}

static et_cb_bool user_rule_update(void *r, char **err)
{
    const user_rule *u = (const user_rule *)r;
    const char *problem = et_pattern_error(u->pattern);
    if (problem == NULL)
        problem = et_service_error(u->service);
    if (problem) {
        *err = g_strdup_printf("echotap rule \"%s\" -> \"%s\": %s", u->pattern ? u->pattern : "",
                               u->service ? u->service : "", problem);
        user_rules_refused = true;
        return FALSE;
    }
    return TRUE;
}

/* The open capture file's, from the init routine to the cleanup routine (NULL outside). */
static et_capture *capture;
static et_capture *shadow;             /* the payload path's, with the path both */
static et_schedule *capture_schedule;  /* borrowed by capture until its first packet */

et_capture *echotap_current_capture(void)
{
    return capture;
}

et_capture *echotap_shadow_capture(void)
{
    return shadow;
}

/* Is a preference of another module set to a non-empty text? */
static bool pref_text_set(module_t *module, const char *name)
{
    pref_t *pref = module ? prefs_find_preference(module, name) : NULL;
    if (pref == NULL)
        return false;
    char *text = prefs_pref_to_str(pref, pref_current);
    bool set = text && text[0];
    g_free(text);
    return set;
}

/* Wireshark's TLS dissector decrypts with keys that the payload path does not use: a key log file
 * (TLS 1.3, QUIC), a pre-shared key, or RSA private keys (the "TLS Decrypt" table). */
static bool tls_keys_configured(void)
{
    module_t *tls = prefs_find_module("tls");
    if (pref_text_set(tls, "keylog_file") || pref_text_set(tls, "psk"))
        return true;
    uat_t *rsa_keys = uat_get_table_by_name("TLS Decrypt");
    return rsa_keys && rsa_keys->nrows_p && *rsa_keys->nrows_p > 0;
}

/* auto is the payload path (no tree: faster, the same names), except where the tree sees more: in
 * the GUI, which builds trees anyway, and with TLS keys, whose decrypted HTTP Host only the tree
 * reads. */
et_evidence_path echotap_evidence_path(void)
{
    if (pref_evidence_path != ET_PATH_AUTO)
        return (et_evidence_path)pref_evidence_path;
    return echotap_in_gui() || tls_keys_configured() ? ET_PATH_TREE : ET_PATH_PAYLOAD;
}

static const char *resolve_name(void *user _U_, const et_addr *a)
{
    if (!gbl_resolv_flags.network_name)
        return NULL;
    char numeric[64];
    const char *name;
    if (a->family == 4) {
        guint32 v4;
        memcpy(&v4, a->bytes, 4);
        name = get_hostname(v4);
    } else {
        ws_in6_addr v6;
        memcpy(&v6, a->bytes, 16);
        name = get_hostname6(&v6);
    }
    et_addr_to_str(a, numeric, sizeof(numeric));
    return (name && strcmp(name, numeric) != 0) ? name : NULL;
}

/* Wireshark stops reading a rules file at a refused row (and names it): a table with one is not
 * used at all, so that half a rules file never classifies anything. */
static bool user_rules_complete(void)
{
    return !user_rules_refused;
}

/* The table is cleared before it is read again. */
static void user_rules_reset(void)
{
    user_rules_refused = false;
}

/* The schedule preference, parsed; NULL when empty (automatic phases) or invalid. */
static et_schedule *schedule_from_prefs(void)
{
    if (pref_schedule == NULL || pref_schedule[0] == '\0')
        return NULL;
    char *err = NULL;
    et_schedule *s = et_schedule_parse(pref_schedule, pref_nowake, &err);
    g_free(err);                        /* reported when the preference was set */
    return s;
}

static const char *vendor_of(const uint8_t *mac)
{
    return ET_MANUF_NAME_IF_KNOWN(mac, 6);
}

static void capture_init(void)
{
    et_capture_config cfg = { .use_cert = pref_use_cert, .use_dns = pref_use_dns, .use_same_ip = pref_use_same_ip,
                              .big_download = (uint64_t)pref_big_download_mb * 1000 * 1000,
                              .resolve = resolve_name, .vendor = vendor_of };
    et_detector_defaults(&cfg.detector);
    cfg.detector.min_voice_bytes = pref_min_voice_bytes;
    cfg.detector.gap = pref_gap_ms / 1000.0;
    capture_schedule = schedule_from_prefs();
    cfg.schedule = capture_schedule;
    et_rule_text *rules = g_new(et_rule_text, n_user_rules + 1);
    for (guint i = 0; i < n_user_rules; i++)
        rules[i] = (et_rule_text){ user_rules[i].pattern, user_rules[i].service };
    cfg.user_rules = rules;
    cfg.n_user_rules = user_rules_complete() ? n_user_rules : 0;
    capture = et_capture_new(&cfg);
    if (echotap_evidence_path() == ET_PATH_BOTH)
        shadow = et_capture_new(&cfg);
    g_free(rules);
}

static void capture_cleanup(void)
{
    et_capture_free(capture);
    capture = NULL;
    et_capture_free(shadow);
    shadow = NULL;
    et_schedule_free(capture_schedule);
    capture_schedule = NULL;
}

char *echotap_schedule_problem(void)
{
    char *err = NULL;
    if (pref_schedule && pref_schedule[0])
        et_schedule_free(et_schedule_parse(pref_schedule, pref_nowake, &err));
    return err;
}

bool echotap_in_gui(void)
{
    const funnel_ops_t *ops = funnel_get_funnel_ops();
    return ops && ops->set_close_cb;
}

void echotap_register_capture(module_t *module)
{
    static uat_field_t rule_fields[] = {
        UAT_FLD_CSTRING(user_rule, pattern, "Host pattern",
                        "Exact name, *.suffix, or one '*' inside a label (avs-alexa-*.amazon.com)"),
        UAT_FLD_CSTRING(user_rule, service, "Service",
                        "Service class: avs, siri, google-assistant, metrics, cdn, api, connectivity, time, amazon, or your own"),
        UAT_END_FIELDS
    };

    prefs_register_bool_preference(module, "use_cert", "Use server certificates",
        "Take host names from the server certificate (subject CN and SAN dNSNames) when there is no SNI",
        &pref_use_cert);
    prefs_register_bool_preference(module, "use_dns", "Use DNS answers",
        "Take host names from DNS answers for the server address, anywhere in the capture",
        &pref_use_dns);
    prefs_register_bool_preference(module, "use_same_ip", "Use other flows to the same server",
        "Give a flow without evidence the host of another flow to the same server address",
        &pref_use_same_ip);
    prefs_register_uint_preference(module, "big_download_mb", "Large CDN download (MB)",
        "A CDN flow that downloads more than this is flagged as a likely firmware (OTA) download (0: never)",
        10, &pref_big_download_mb);
    prefs_register_string_preference(module, "schedule", "Phase schedule",
        "Phases of a scripted experiment, e.g. \"0 silence; 8 query; 14 silence; 22 command; 27 conversation\" "
        "(seconds from the first packet; \"@EPOCH label\" for absolute times). Empty: detect interactions automatically",
        &pref_schedule);
    prefs_register_string_preference(module, "nowake", "Phases without a wake word",
        "Comma-separated schedule labels whose speech upload is judged against the idle baseline",
        &pref_nowake);
    prefs_register_uint_preference(module, "min_voice_bytes", "Least speech upload (bytes)",
        "Upload that a run of speech carries at least, and that a flagged phase holds at least (4000: 1 s of Opus at 32 kbit/s)",
        10, &pref_min_voice_bytes);
    prefs_register_uint_preference(module, "gap_ms", "Gap between interactions (ms)",
        "Interactions closer than this are one; the quiet on the voice path and metrics that ends one", 10, &pref_gap_ms);

    static const enum_val_t paths[] = {
        { "auto", "Automatic (the payload; the tree in the GUI or with TLS keys)", ET_PATH_AUTO },
        { "tree", "Wireshark's protocol tree", ET_PATH_TREE },
        { "payload", "The payload's bytes (no tree)", ET_PATH_PAYLOAD },
        { "both", "Both (an expert info for each difference)", ET_PATH_BOTH },
        { NULL, NULL, 0 },
    };
    prefs_register_enum_preference(module, "evidence_path", "Evidence path",
        "Where names come from: Wireshark's protocol tree (other dissectors' fields), the payload's bytes "
        "(no tree: faster), or both (each difference an expert info). Automatic: the payload, except in the GUI "
        "and when TLS keys are configured (tls.keylog_file, tls.psk, RSA keys), where the tree reads more.",
        &pref_evidence_path, paths, FALSE);

    uat_t *rules_uat = uat_new("echotap host rules", sizeof(user_rule), "echotap_rules", TRUE,
                               &user_rules, &n_user_rules, UAT_AFFECTS_DISSECTION, NULL,
                               user_rule_copy, user_rule_update, user_rule_free, NULL, user_rules_reset,
                               rule_fields);
    prefs_register_uat_preference(module, "rules", "Host rules",
        "Host patterns and their service; tried before the built-in table", rules_uat);

    register_init_routine(capture_init);
    register_cleanup_routine(capture_cleanup);
}
