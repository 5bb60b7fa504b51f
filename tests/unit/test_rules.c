/* test_rules.c - unit tests of rules.[ch]: host name patterns, host normalisation, rule tables.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Expected values come from doc/classification.md ("Rules: host name -> service") and from DNS
 * limits (RFC 1035: 63-byte labels, 253-byte names). The doc's built-in rule table is generated
 * from plugin/rules.c by this program (`test_rules --write-doc`; `--markdown` prints the table),
 * and test_doc_rule_table_is_the_code fails when the doc differs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "rules.h"

/* ---- helpers ---- */

static bool normalize(const char *in, char *out, size_t out_size)
{
    return et_host_normalize(in, strlen(in), out, out_size);
}

/* A string of n copies of c (static buffer, one per call site is enough here). */
static char *repeat(char *buf, char c, size_t n)
{
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* Service of the first matching rule, or NULL. */
static const char *service_of(const et_ruleset *rs, const char *host)
{
    const et_rule *r = et_ruleset_match(rs, host);
    return r ? r->service : NULL;
}

static const char *pattern_of(const et_ruleset *rs, const char *host)
{
    const et_rule *r = et_ruleset_match(rs, host);
    return r ? r->pattern : NULL;
}

/* ---- et_pattern_match ---- */

static void test_match_exact(void **state)
{
    (void)state;
    assert_true(et_pattern_match("api.amazon.com", "api.amazon.com"));
    assert_false(et_pattern_match("api.amazon.com", "api.amazon.co"));
    assert_false(et_pattern_match("api.amazon.com", "xapi.amazon.com"));
    assert_false(et_pattern_match("api.amazon.com", "api.amazon.com.evil.example"));
    assert_false(et_pattern_match("api.amazon.com", "www.api.amazon.com"));
    assert_false(et_pattern_match("api.amazon.com", "amazon.com"));
    assert_false(et_pattern_match("api.amazon.com", ""));
}

static void test_match_case_insensitive(void **state)
{
    (void)state;
    assert_true(et_pattern_match("api.amazon.com", "API.Amazon.COM"));
    assert_true(et_pattern_match("API.AMAZON.COM", "api.amazon.com"));
    assert_true(et_pattern_match("*.CloudFront.net", "D3P8ZR0FFA9T17.cloudfront.NET"));
    assert_true(et_pattern_match("avs-alexa-*.amazon.com", "AVS-ALEXA-4-NA.AMAZON.COM"));
}

static void test_match_trailing_dot(void **state)
{
    (void)state;
    /* One trailing dot on either side is ignored. */
    assert_true(et_pattern_match("api.amazon.com", "api.amazon.com."));
    assert_true(et_pattern_match("api.amazon.com.", "api.amazon.com"));
    assert_true(et_pattern_match("api.amazon.com.", "api.amazon.com."));
    assert_true(et_pattern_match("*.cloudfront.net", "d1.cloudfront.net."));
    assert_true(et_pattern_match("*.cloudfront.net.", "d1.cloudfront.net"));
    assert_true(et_pattern_match("avs-alexa-*.amazon.com.", "avs-alexa-4-na.amazon.com."));
    /* Only one. */
    assert_false(et_pattern_match("api.amazon.com", "api.amazon.com.."));
    assert_false(et_pattern_match("api.amazon.com", "."));
}

static void test_match_suffix(void **state)
{
    (void)state;
    assert_true(et_pattern_match("*.cloudfront.net", "d3p8zr0ffa9t17.cloudfront.net"));
    assert_true(et_pattern_match("*.cloudfront.net", "a.b.cloudfront.net"));
    assert_true(et_pattern_match("*.amazon.com", "x.y.z.amazon.com"));
    /* Not the suffix itself. */
    assert_false(et_pattern_match("*.cloudfront.net", "cloudfront.net"));
    assert_false(et_pattern_match("*.cloudfront.net", "cloudfront.net."));
    /* Not a name that merely ends with the same characters. */
    assert_false(et_pattern_match("*.cloudfront.net", "xcloudfront.net"));
    assert_false(et_pattern_match("*.cloudfront.net", "evilcloudfront.net"));
    assert_false(et_pattern_match("*.amazon.com", "notamazon.com"));
    /* Not a name with the suffix somewhere else. */
    assert_false(et_pattern_match("*.cloudfront.net", "d1.cloudfront.net.evil.example"));
    assert_false(et_pattern_match("*.cloudfront.net", "d1.cloudfront.network"));
    assert_false(et_pattern_match("*.cloudfront.net", ".cloudfront.net"));
}

static void test_match_star_in_label(void **state)
{
    (void)state;
    const char *p = "avs-alexa-*.amazon.com";
    assert_true(et_pattern_match(p, "avs-alexa-4-na.amazon.com"));
    assert_true(et_pattern_match(p, "avs-alexa-na.amazon.com"));
    assert_true(et_pattern_match(p, "avs-alexa-x.amazon.com"));       /* one character */
    /* The '*' stands for one or more characters. */
    assert_false(et_pattern_match(p, "avs-alexa-.amazon.com"));
    /* It never crosses a dot. */
    assert_false(et_pattern_match(p, "avs-alexa-4.eu.amazon.com"));
    assert_false(et_pattern_match(p, "avs-alexa-4-na.amazon.com.evil.example"));
    /* The rest of the label still has to match. */
    assert_false(et_pattern_match(p, "xavs-alexa-4.amazon.com"));
    assert_false(et_pattern_match(p, "avs-alexa-4.amazon.co"));
    assert_false(et_pattern_match(p, "www.avs-alexa-4.amazon.com"));

    /* '*' with text on both sides inside one label. */
    assert_true(et_pattern_match("a*z.example", "abcz.example"));
    assert_true(et_pattern_match("a*z.example", "a-z.example"));
    assert_false(et_pattern_match("a*z.example", "az.example"));
    assert_false(et_pattern_match("a*z.example", "a.z.example"));
    /* Prefix and suffix must not overlap: "ab*ba" needs at least 5 characters. */
    assert_false(et_pattern_match("ab*ba.example", "aba.example"));
    assert_false(et_pattern_match("ab*ba.example", "abba.example"));
    assert_true(et_pattern_match("ab*ba.example", "abxba.example"));
}

static void test_match_middle_label(void **state)
{
    (void)state;
    const char *p = "alexa.*.gateway.devices.a2z.com";
    assert_true(et_pattern_match(p, "alexa.na.gateway.devices.a2z.com"));
    assert_true(et_pattern_match(p, "alexa.eu-west-1.gateway.devices.a2z.com"));
    assert_false(et_pattern_match(p, "alexa.gateway.devices.a2z.com"));          /* empty label */
    assert_false(et_pattern_match(p, "alexa..gateway.devices.a2z.com"));
    assert_false(et_pattern_match(p, "alexa.a.b.gateway.devices.a2z.com"));      /* two labels */
    assert_false(et_pattern_match(p, "x.alexa.na.gateway.devices.a2z.com"));
}

static void test_match_idn(void **state)
{
    (void)state;
    /* Internationalised names reach us as punycode (A-labels): plain ASCII labels. */
    assert_true(et_pattern_match("*.xn--p1ai", "xn--80ak6aa92e.xn--p1ai"));
    assert_true(et_pattern_match("xn--bcher-kva.example", "XN--BCHER-KVA.example"));
    assert_true(et_pattern_match("xn--*.example", "xn--bcher-kva.example"));
    assert_false(et_pattern_match("xn--*.example", "bucher.example"));
}

/* ---- et_pattern_error ---- */

static void test_pattern_error_valid(void **state)
{
    (void)state;
    size_t n;
    const et_rule *b = et_builtin_rules(&n);
    for (size_t i = 0; i < n; i++) {
        const char *err = et_pattern_error(b[i].pattern);
        if (err)
            fail_msg("built-in pattern %s rejected: %s", b[i].pattern, err);
    }
    assert_null(et_pattern_error("example.org"));
    assert_null(et_pattern_error("example.org."));              /* one trailing dot */
    assert_null(et_pattern_error("localhost"));
    assert_null(et_pattern_error("*"));
    assert_null(et_pattern_error("a*.b*.example"));             /* one '*' per label */
    /* A '*.suffix' pattern matches its suffix literally: a '*' there could never match. */
    assert_non_null(et_pattern_error("*.a.*.b"));
    assert_false(et_pattern_match("*.a.*.b", "x.a.y.b"));
    assert_null(et_pattern_error("my_host-1.example"));
    assert_null(et_pattern_error("xn--bcher-kva.example"));
    char label[80];
    char pat[300];
    /* A 63-character label is the longest allowed, with or without a '*'. */
    snprintf(pat, sizeof(pat), "%s.com", repeat(label, 'a', 63));
    assert_null(et_pattern_error(pat));
    snprintf(pat, sizeof(pat), "%s*.com", repeat(label, 'a', 62));
    assert_null(et_pattern_error(pat));
    /* 253 characters is the longest name. */
    char l63[64];
    repeat(l63, 'a', 63);
    snprintf(pat, sizeof(pat), "%s.%s.%s.%s", l63, l63, l63, repeat(label, 'b', 61));
    assert_int_equal(strlen(pat), 253);
    assert_null(et_pattern_error(pat));
}

static void assert_pattern_rejected(const char *pattern)
{
    const char *err = et_pattern_error(pattern);
    if (err == NULL)
        fail_msg("pattern \"%s\" accepted", pattern);
    assert_true(strlen(err) > 0);
    assert_null(strchr(err, '\n'));
}

static void test_pattern_error_invalid(void **state)
{
    (void)state;
    assert_pattern_rejected(NULL);
    assert_pattern_rejected("");
    assert_pattern_rejected(".");
    assert_pattern_rejected("a..b");
    assert_pattern_rejected(".a.b");
    assert_pattern_rejected("a.b..");
    assert_pattern_rejected("**.example");
    assert_pattern_rejected("a*b*.example");
    assert_pattern_rejected("a b.example");
    assert_pattern_rejected("a/b.example");
    assert_pattern_rejected("a:443");
    assert_pattern_rejected("caf\xc3\xa9.example");             /* non-ASCII */
    assert_pattern_rejected("a\tb.example");

    char label[80], pat[400];
    snprintf(pat, sizeof(pat), "%s.com", repeat(label, 'a', 64));
    assert_pattern_rejected(pat);
    /* A '*' matches at least one character: with 63 more it needs a 64-character label. */
    snprintf(pat, sizeof(pat), "%s*.com", repeat(label, 'a', 63));
    assert_pattern_rejected(pat);
    char l63[64];
    repeat(l63, 'a', 63);
    snprintf(pat, sizeof(pat), "%s.%s.%s.%s", l63, l63, l63, repeat(label, 'b', 62));
    assert_int_equal(strlen(pat), 254);
    assert_pattern_rejected(pat);
}

static void test_pattern_error_messages(void **state)
{
    (void)state;
    /* The messages say what is wrong (they are shown in the rules dialog). */
    assert_non_null(strstr(et_pattern_error(""), "empty"));
    assert_non_null(strstr(et_pattern_error("a..b"), "empty label"));
    assert_non_null(strstr(et_pattern_error("**.a"), "'*'"));
    assert_non_null(strstr(et_pattern_error("a!.b"), "letters"));
    char big[400];
    repeat(big, 'a', 300);
    const char *err = et_pattern_error(big);
    assert_non_null(err);
    assert_true(strstr(err, "long") != NULL);
}

/* ---- et_service_error ---- */

static void test_service_error(void **state)
{
    (void)state;
    assert_null(et_service_error("avs"));
    assert_null(et_service_error("my-service_2"));
    assert_null(et_service_error("0"));
    char name[40];
    assert_null(et_service_error(repeat(name, 's', 31)));

    const char *bad[] = { "", "AVS", "Avs", "a b", "a.b", "caf\xc3\xa9", "a/b", "x\n", "untagged" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *err = et_service_error(bad[i]);
        if (err == NULL)
            fail_msg("service \"%s\" accepted", bad[i]);
        assert_null(strchr(err, '\n'));
    }
    assert_non_null(et_service_error(NULL));
    assert_non_null(et_service_error(repeat(name, 's', 32)));
}

static void test_speaker_services(void **state)
{
    (void)state;
    static const struct { const char *service, *fallback; et_assistant assistant; bool voice; } speaker[] = {
        { "avs", "amazon", ET_ASSISTANT_ALEXA, true },
        { "siri", "apple", ET_ASSISTANT_SIRI, true },
        { "google-assistant", "google", ET_ASSISTANT_GOOGLE, true },
        { "voice", "other", ET_ASSISTANT_UNKNOWN, true },
        { "metrics", "amazon", ET_ASSISTANT_ALEXA, false },
        { "cdn", "amazon", ET_ASSISTANT_ALEXA, false },
        { "api", "amazon", ET_ASSISTANT_ALEXA, false },
        { "connectivity", "amazon", ET_ASSISTANT_ALEXA, false },
        { "time", "amazon", ET_ASSISTANT_ALEXA, false },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(speaker); i++) {
        et_assistant a = ET_ASSISTANT_NONE;
        bool voice = !speaker[i].voice;
        const char *fallback = NULL;
        assert_true(et_speaker_service(speaker[i].service, &a, &voice, &fallback));
        assert_int_equal(a, speaker[i].assistant);
        assert_int_equal(voice, speaker[i].voice);
        assert_string_equal(fallback, speaker[i].fallback);
        assert_int_equal(et_group_of_service(speaker[i].service), voice ? ET_GROUP_VOICE : et_group_of_service(speaker[i].service));
    }
    static const char *const not_speaker[] = { "amazon", "apple", "google", "local", "my-service", "", "av", "avs2" };
    for (size_t i = 0; i < G_N_ELEMENTS(not_speaker); i++)
        assert_false(et_speaker_service(not_speaker[i], NULL, NULL, NULL));
    assert_false(et_speaker_service(NULL, NULL, NULL, NULL));
    assert_string_equal(et_assistant_voice_service(ET_ASSISTANT_ALEXA), "avs");
    assert_string_equal(et_assistant_voice_service(ET_ASSISTANT_SIRI), "siri");
    assert_string_equal(et_assistant_voice_service(ET_ASSISTANT_GOOGLE), "google-assistant");
    assert_string_equal(et_assistant_voice_service(ET_ASSISTANT_UNKNOWN), "voice");
    assert_null(et_assistant_voice_service(ET_ASSISTANT_NONE));
    assert_string_equal(et_assistant_name(ET_ASSISTANT_GOOGLE), "google");
    assert_string_equal(et_assistant_name((et_assistant)99), "");
}

/* A MAC vendor names a speaker only for makers whose networked products are all speakers. */
static void test_vendor_assistant(void **state)
{
    (void)state;
    assert_int_equal(et_vendor_assistant("Amazon Technologies Inc."), ET_ASSISTANT_ALEXA);
    assert_int_equal(et_vendor_assistant("AmazonTe"), ET_ASSISTANT_ALEXA);
    assert_int_equal(et_vendor_assistant("Sonos, Inc."), ET_ASSISTANT_UNKNOWN);
    assert_int_equal(et_vendor_assistant("Apple, Inc."), ET_ASSISTANT_NONE);
    assert_int_equal(et_vendor_assistant("Google, Inc."), ET_ASSISTANT_NONE);
    assert_int_equal(et_vendor_assistant("Raspberry Pi Trading Ltd"), ET_ASSISTANT_NONE);
    assert_int_equal(et_vendor_assistant(""), ET_ASSISTANT_NONE);
    assert_int_equal(et_vendor_assistant(NULL), ET_ASSISTANT_NONE);
}

static et_assistant txt(const char *s, char *model, size_t size)
{
    return et_mdns_txt_assistant(s, strlen(s), model, size);
}

/* Speaker models in mDNS TXT strings; phones, computers, TVs and Chromecasts are none. */
static void test_mdns_txt_assistant(void **state)
{
    (void)state;
    char model[48];
    assert_int_equal(txt("model=AudioAccessory1,1", model, sizeof(model)), ET_ASSISTANT_SIRI);
    assert_string_equal(model, "AudioAccessory1,1");
    assert_int_equal(txt("rpMd=AudioAccessory5,1", model, sizeof(model)), ET_ASSISTANT_SIRI);
    assert_string_equal(model, "AudioAccessory5,1");
    assert_int_equal(txt("md=Google Home Mini", model, sizeof(model)), ET_ASSISTANT_GOOGLE);
    assert_string_equal(model, "Google Home Mini");
    assert_int_equal(txt("md=Google Nest Mini", model, sizeof(model)), ET_ASSISTANT_GOOGLE);
    assert_int_equal(txt("md=Nest Audio", model, sizeof(model)), ET_ASSISTANT_GOOGLE);
    static const char *const others[] = { "model=iPhone14,2", "model=AppleTV11,1", "rpMd=MacBookPro18,3",
                                          "md=Chromecast", "md=Google TV" };
    for (size_t i = 0; i < G_N_ELEMENTS(others); i++) {
        assert_int_equal(txt(others[i], model, sizeof(model)), ET_ASSISTANT_NONE);
        assert_string_equal(model, strchr(others[i], '=') + 1);
    }
    static const char *const none[] = { "fn=Google Home Mini", "", "model=", "modelx=AudioAccessory1,1" };
    for (size_t i = 0; i < G_N_ELEMENTS(none); i++) {
        assert_int_equal(txt(none[i], model, sizeof(model)), ET_ASSISTANT_NONE);
        assert_string_equal(model, "");
    }
    /* The model is cut to the buffer and made printable: it is shown in a field. */
    char small[6];
    assert_int_equal(txt("md=Google Home\x01Mini", small, sizeof(small)), ET_ASSISTANT_GOOGLE);
    assert_string_equal(small, "Googl");
    assert_int_equal(et_mdns_txt_assistant("md=Google Home\x01", 15, model, sizeof(model)), ET_ASSISTANT_GOOGLE);
    assert_string_equal(model, "Google Home?");
}

/* ---- et_host_normalize ---- */

static void test_normalize_basic(void **state)
{
    (void)state;
    char out[ET_MAX_HOST_LEN];
    assert_true(normalize("Avs-Alexa-4-NA.Amazon.COM", out, sizeof(out)));
    assert_string_equal(out, "avs-alexa-4-na.amazon.com");
    assert_true(normalize("api.amazon.com.", out, sizeof(out)));
    assert_string_equal(out, "api.amazon.com");
    assert_true(normalize("www.example.org:8080", out, sizeof(out)));
    assert_string_equal(out, "www.example.org");
    assert_true(normalize("WWW.Example.org.:80", out, sizeof(out)));
    assert_string_equal(out, "www.example.org");
    assert_true(normalize("localhost", out, sizeof(out)));
    assert_string_equal(out, "localhost");
    assert_true(normalize("1password.com", out, sizeof(out)));
    assert_true(normalize("a.b.c2", out, sizeof(out)));

    /* An address is not a name: a certificate CN "0.0.0.0" names no host. */
    assert_false(normalize("0.0.0.0", out, sizeof(out)));
    assert_false(normalize("10.1.2.3", out, sizeof(out)));
    assert_false(normalize("host.123", out, sizeof(out)));
    assert_false(normalize("42", out, sizeof(out)));
    assert_true(normalize("_dmarc.example", out, sizeof(out)));
    assert_string_equal(out, "_dmarc.example");
    /* Punycode (IDN A-labels) is plain ASCII. */
    assert_true(normalize("XN--BCHER-KVA.Example", out, sizeof(out)));
    assert_string_equal(out, "xn--bcher-kva.example");
}

static void test_normalize_length_not_nul_terminated(void **state)
{
    (void)state;
    char out[ET_MAX_HOST_LEN];
    /* Names come from the wire with a length; the bytes after it are not part of the name. */
    const char wire[] = "api.amazon.comXYZ";
    assert_true(et_host_normalize(wire, 14, out, sizeof(out)));
    assert_string_equal(out, "api.amazon.com");
    /* Trailing NUL bytes (a padded field) end the name. */
    const char padded[] = "api.amazon.com\0\0";
    assert_true(et_host_normalize(padded, sizeof(padded) - 1, out, sizeof(out)));
    assert_string_equal(out, "api.amazon.com");
}

static void assert_normalize_rejects(const char *in, size_t len)
{
    char out[ET_MAX_HOST_LEN];
    memset(out, 'Q', sizeof(out));
    if (et_host_normalize(in, len, out, sizeof(out)))
        fail_msg("\"%.*s\" (%zu bytes) accepted as \"%s\"", (int)len, in, len, out);
    /* "leaves out empty" (rules.h) */
    assert_string_equal(out, "");
}

static void test_normalize_rejects(void **state)
{
    (void)state;
#define REJECT(s) assert_normalize_rejects((s), sizeof(s) - 1)
    REJECT("");
    REJECT(".");
    REJECT("..");
    REJECT(":443");
    REJECT("a..b");
    REJECT(".a.b");
    REJECT("a b.example");
    REJECT("api.amazon.com ");
    REJECT(" api.amazon.com");
    REJECT("api.amazon.com\r\n");
    REJECT("api\tamazon.com");
    REJECT("api.amazon.com\x01");
    REJECT("api.amazon.com\x7f");
    REJECT("api.amazon.com\0.evil.example");        /* embedded NUL hides the real name */
    REJECT("\0api.amazon.com");
    REJECT("b\xc3\xbc" "cher.example");              /* UTF-8, not punycode */
    REJECT("caf\xe9.example");                       /* Latin-1 */
    REJECT("www.example.org:80x");
    REJECT("www.example.org:-1");
    REJECT("[2001:db8::1]:443");
    REJECT("*.amazon.com");                          /* a pattern is not a host */
    REJECT("a/b");
    REJECT("a@b.example");
#undef REJECT
    assert_normalize_rejects(NULL, 0);
}

static bool literal(const char *s)
{
    return et_host_is_ip_literal(s, strlen(s));
}

static void test_ip_literal(void **state)
{
    (void)state;
    /* HTTP Hosts that are IP literals (RFC 3986 IP-literal / IPv4address, optional port). */
    assert_true(literal("[FF02::C]"));                /* SSDP M-SEARCH, seen on real captures */
    assert_true(literal("[ff02::c]:1900"));
    assert_true(literal("[2001:db8::1]"));
    assert_true(literal("[::ffff:192.0.2.1]:80"));
    assert_true(literal("239.255.255.250:1900"));
    assert_true(literal("239.255.255.250"));
    assert_true(literal("10.42.0.243"));
    /* not literals: names, malformed addresses, bad ports */
    assert_false(literal("www.amazon.com"));
    assert_false(literal("www.amazon.com:80"));
    assert_false(literal("1.2.3"));
    assert_false(literal("1.2.3.256"));
    assert_false(literal("FF02::C"));                 /* IPv6 needs its brackets */
    assert_false(literal("[FF02::C"));
    assert_false(literal("[FF02::C]x"));
    assert_false(literal("[FF02::C]:"));
    assert_false(literal("[FF02::C]:http"));
    assert_false(literal("[192.0.2.1]"));             /* brackets hold IPv6 only */
    assert_false(literal("192.0.2.1:"));
    assert_false(literal("192.0.2.1:123456"));
    assert_false(literal("[]"));
    assert_false(literal(""));
    assert_false(et_host_is_ip_literal("10.0.0.1\0.evil", 14));
    assert_false(et_host_is_ip_literal(NULL, 0));
}

static void test_normalize_lengths(void **state)
{
    (void)state;
    char out[ET_MAX_HOST_LEN], label[80], name[400];
    char l63[64];
    repeat(l63, 'a', 63);

    /* 63-character label: fine; 64: not a DNS label. */
    snprintf(name, sizeof(name), "%s.example", l63);
    assert_true(normalize(name, out, sizeof(out)));
    assert_string_equal(out, name);
    snprintf(name, sizeof(name), "%s.example", repeat(label, 'a', 64));
    assert_normalize_rejects(name, strlen(name));
    snprintf(name, sizeof(name), "www.%s", repeat(label, 'a', 64));
    assert_normalize_rejects(name, strlen(name));

    /* 253 characters: the longest name; with a trailing dot still fine. */
    snprintf(name, sizeof(name), "%s.%s.%s.%s", l63, l63, l63, repeat(label, 'b', 61));
    assert_int_equal(strlen(name), 253);
    assert_true(normalize(name, out, sizeof(out)));
    assert_string_equal(out, name);
    strcat(name, ".");
    assert_true(normalize(name, out, sizeof(out)));
    assert_int_equal(strlen(out), 253);

    /* 254 characters and more: too long. */
    snprintf(name, sizeof(name), "%s.%s.%s.%s", l63, l63, l63, repeat(label, 'b', 62));
    assert_int_equal(strlen(name), 254);
    assert_normalize_rejects(name, strlen(name));
    snprintf(name, sizeof(name), "%s.%s.%s.%s.%s", l63, l63, l63, l63, l63);
    assert_normalize_rejects(name, strlen(name));

    /* A too small output buffer is refused, not overrun. */
    char small[8];
    memset(small, 'Q', sizeof(small));
    assert_false(et_host_normalize("api.amazon.com", 14, small, sizeof(small)));
    assert_string_equal(small, "");
    assert_true(et_host_normalize("a.b.com", 7, small, sizeof(small)));
    assert_string_equal(small, "a.b.com");
    assert_false(et_host_normalize("a.b.com", 7, small, 0));
}

/* ---- rule sets ---- */

/* Every built-in row has a valid pattern and service, a source, and the group its service names
 * (avs, metrics, cdn; other for the rest), which user rules get from et_group_of_service. */
static void test_builtin_rows_are_complete(void **state)
{
    (void)state;
    size_t n;
    const et_rule *b = et_builtin_rules(&n);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        assert_null(et_pattern_error(b[i].pattern));
        assert_null(et_service_error(b[i].service));
        assert_non_null(b[i].source);
        assert_true(strlen(b[i].source) > 0);
        if (b[i].group != et_group_of_service(b[i].service))
            fail_msg("%s -> %s: group %s", b[i].pattern, b[i].service, et_group_name(b[i].group));
    }
}

static void test_groups(void **state)
{
    (void)state;
    static const char *const names[ET_GROUP_COUNT] = { "voice", "metrics", "cdn", "other", "untagged" };
    static const char *const labels[ET_GROUP_COUNT] = { "Voice", "Metrics", "CDN", "Other", "Untagged" };
    for (int g = 0; g < ET_GROUP_COUNT; g++) {
        assert_string_equal(et_group_name((et_group)g), names[g]);
        assert_string_equal(et_group_label((et_group)g), labels[g]);
        assert_int_equal(et_group_of_service(names[g]), g);
    }
    assert_int_equal(et_group_of_service("time"), ET_GROUP_OTHER);
    assert_int_equal(et_group_of_service("amazon"), ET_GROUP_OTHER);
    assert_int_equal(et_group_of_service("mine"), ET_GROUP_OTHER);
    assert_int_equal(et_group_of_service("avs"), ET_GROUP_VOICE);
    assert_int_equal(et_group_of_service("siri"), ET_GROUP_VOICE);
    assert_int_equal(et_group_of_service("google-assistant"), ET_GROUP_VOICE);
    assert_int_equal(et_group_of_service("local"), ET_GROUP_OTHER);
    assert_int_equal(et_group_of_service("AVS"), ET_GROUP_OTHER);   /* rule sets lower-case first */

    et_ruleset *rs = et_ruleset_new();
    et_ruleset_add(rs, "a.example", "AVS");
    et_ruleset_add(rs, "m.example", "metrics");
    et_ruleset_add(rs, "t.example", "time");
    et_ruleset_add(rs, "x.example", "mine");
    et_ruleset_add_builtin(rs);
    assert_int_equal(et_ruleset_match(rs, "a.example")->group, ET_GROUP_VOICE);
    assert_true(et_ruleset_match(rs, "a.example")->names_speaker);
    assert_false(et_ruleset_match(rs, "m.example")->names_speaker);
    assert_true(et_ruleset_match(rs, "avs-alexa-4-na.amazon.com")->names_speaker);
    assert_false(et_ruleset_match(rs, "guzzoni.apple.com")->names_speaker);   /* iPhones use it too */
    assert_false(et_ruleset_match(rs, "www.google.com")->names_speaker);      /* every browser does */
    assert_true(et_ruleset_match(rs, "embeddedassistant.googleapis.com")->names_speaker);
    assert_string_equal(et_ruleset_match(rs, "guzzoni.apple.com")->service, "siri");
    assert_string_equal(et_ruleset_match(rs, "www.google.com")->service, "google-assistant");
    assert_string_equal(et_ruleset_match(rs, "ab-us.ws.sonos.com")->service, "sonos");
    assert_int_equal(et_ruleset_match(rs, "m.example")->group, ET_GROUP_METRICS);
    assert_int_equal(et_ruleset_match(rs, "t.example")->group, ET_GROUP_OTHER);
    assert_int_equal(et_ruleset_match(rs, "x.example")->group, ET_GROUP_OTHER);
    assert_int_equal(et_ruleset_match(rs, "dvi8md6049w6b.cloudfront.net")->group, ET_GROUP_CDN);
    assert_int_equal(et_ruleset_match(rs, "www.amazon.com")->group, ET_GROUP_OTHER);
    et_ruleset_free(rs);
}

/* ---- doc/classification.md's built-in rule table, generated from et_builtin_rules() ---- */

#define DOC_BEGIN "<!-- built-in rules: generated from plugin/rules.c by `build/tests/unit/test_rules --write-doc`; do not edit -->\n"
#define DOC_END "<!-- end of the built-in rules -->\n"

static char *rules_markdown(void)
{
    GString *md = g_string_new("| pattern | service | group | source / evidence |\n|---|---|---|---|\n");
    size_t n;
    const et_rule *b = et_builtin_rules(&n);
    for (size_t i = 0; i < n; i++)
        g_string_append_printf(md, "| `%s` | %s | %s | %s |\n", b[i].pattern, b[i].service,
                               et_group_name(b[i].group), b[i].source);
    static const struct { const char *caption; const et_speaker_sign *(*signs)(size_t *); } kinds[] = {
        { "MAC vendor (the start of Wireshark's manufacturer name)", et_speaker_vendors },
        { "mDNS TXT string (its start)", et_speaker_models },
    };
    for (size_t k = 0; k < G_N_ELEMENTS(kinds); k++) {
        g_string_append_printf(md, "\n| %s | speaker of | source |\n|---|---|---|\n", kinds[k].caption);
        const et_speaker_sign *sg = kinds[k].signs(&n);
        for (size_t i = 0; i < n; i++)
            g_string_append_printf(md, "| `%s` | %s | %s |\n", sg[i].text, et_assistant_name(sg[i].assistant),
                                   sg[i].source);
    }
    return g_string_free(md, FALSE);
}

/* doc/classification.md of the source tree: $ECHOTAP_SOURCE_DIR, else from this file's path. */
static char *doc_path(void)
{
    const char *root = getenv("ECHOTAP_SOURCE_DIR");
    if (root && *root)
        return g_build_filename(root, "doc", "classification.md", NULL);
    char *dir = g_path_get_dirname(__FILE__);                          /* .../tests/unit */
    char *path = g_build_filename(dir, "..", "..", "doc", "classification.md", NULL);
    g_free(dir);
    return path;
}

/* The doc with the text between the markers replaced by the generated table; NULL without them. */
static char *doc_with_table(const char *doc)
{
    const char *begin = strstr(doc, DOC_BEGIN);
    const char *end = begin ? strstr(begin, DOC_END) : NULL;
    if (end == NULL)
        return NULL;
    char *table = rules_markdown();
    char *out = g_strdup_printf("%.*s%s%s", (int)(begin - doc + strlen(DOC_BEGIN)), doc, table, end);
    g_free(table);
    return out;
}

static void test_doc_rule_table_is_the_code(void **state)
{
    (void)state;
    char *path = doc_path(), *doc = NULL;
    if (!g_file_get_contents(path, &doc, NULL, NULL))
        fail_msg("cannot read %s (set ECHOTAP_SOURCE_DIR to the source tree)", path);
    char *fresh = doc_with_table(doc);
    if (fresh == NULL)
        fail_msg("%s: no generated rule table (markers %s ... %s)", path, DOC_BEGIN, DOC_END);
    if (strcmp(fresh, doc) != 0)
        fail_msg("doc/classification.md's built-in rule table differs from plugin/rules.c: run "
                 "build/tests/unit/test_rules --write-doc");
    g_free(fresh);
    g_free(doc);
    g_free(path);
}

/* --write-doc: the table into the doc; --markdown: the table on standard output. */
static int generate(const char *what)
{
    if (strcmp(what, "--markdown") == 0) {
        char *table = rules_markdown();
        fputs(table, stdout);
        g_free(table);
        return 0;
    }
    if (strcmp(what, "--write-doc") != 0) {
        fprintf(stderr, "usage: test_rules [--markdown | --write-doc]\n");
        return 2;
    }
    char *path = doc_path(), *doc = NULL, *fresh;
    GError *err = NULL;
    if (!g_file_get_contents(path, &doc, NULL, &err) || (fresh = doc_with_table(doc)) == NULL) {
        fprintf(stderr, "test_rules: %s: %s\n", path, err ? err->message : "no markers for the rule table");
        return 1;
    }
    if (!g_file_set_contents(path, fresh, -1, &err)) {
        fprintf(stderr, "test_rules: %s\n", err->message);
        return 1;
    }
    printf("%s: %s\n", path, strcmp(fresh, doc) ? "rule table written" : "rule table unchanged");
    return 0;
}

static void test_builtin_first_match_wins(void **state)
{
    (void)state;
    et_ruleset *rs = et_ruleset_new();
    et_ruleset_add_builtin(rs);
    size_t builtin;
    et_builtin_rules(&builtin);
    assert_int_equal(et_ruleset_count(rs), builtin);

    /* avs rule before *.amazon.com */
    assert_string_equal(service_of(rs, "avs-alexa-4-na.amazon.com"), "avs");
    assert_string_equal(pattern_of(rs, "avs-alexa-4-na.amazon.com"), "avs-alexa-*.amazon.com");
    assert_string_equal(service_of(rs, "bob-dispatch-prod-na.amazon.com"), "avs");
    assert_string_equal(service_of(rs, "alexa.na.gateway.devices.a2z.com"), "avs");
    assert_string_equal(service_of(rs, "device-metrics-us-2.amazon.com"), "metrics");
    assert_string_equal(service_of(rs, "unagi-na.amazon.com"), "metrics");
    /* real captures: the reachability probe and a CRL mirror on CloudFront are not CDN downloads */
    assert_string_equal(service_of(rs, "d3p8zr0ffa9t17.cloudfront.net"), "connectivity");
    assert_string_equal(pattern_of(rs, "d3p8zr0ffa9t17.cloudfront.net"), "d3p8zr0ffa9t17.cloudfront.net");
    assert_string_equal(service_of(rs, "d3h5bk8iotgjvw.cloudfront.net"), "amazon");
    assert_string_equal(service_of(rs, "fireoscaptiveportal.com"), "connectivity");
    assert_null(et_ruleset_match(rs, "www.fireoscaptiveportal.com"));
    assert_string_equal(service_of(rs, "dvi8md6049w6b.cloudfront.net"), "cdn");
    assert_string_equal(pattern_of(rs, "dvi8md6049w6b.cloudfront.net"), "*.cloudfront.net");
    assert_string_equal(service_of(rs, "softwareupdates.amazon.com"), "cdn");
    assert_string_equal(service_of(rs, "spectrum.s3.amazonaws.com"), "connectivity");
    assert_string_equal(service_of(rs, "kindle-time.amazon.com"), "time");
    assert_string_equal(service_of(rs, "ntp-g7g.amazon.com"), "time");
    assert_string_equal(service_of(rs, "0.amazon.pool.ntp.org"), "time");
    assert_string_equal(service_of(rs, "api.amazonalexa.com"), "api");
    assert_string_equal(service_of(rs, "api.amazon.com"), "api");
    assert_string_equal(service_of(rs, "arcus-uswest.amazon.com"), "api");
    assert_string_equal(service_of(rs, "dcape-na.amazon.com"), "api");
    assert_string_equal(service_of(rs, "dp-gw-na.amazon.com"), "api");
    assert_string_equal(service_of(rs, "pindorama.amazon.com"), "avs");
    assert_string_equal(service_of(rs, "prod.amazoncrl.com"), "amazon");
    /* the generic Amazon domains come last */
    assert_string_equal(service_of(rs, "www.amazon.com"), "amazon");
    assert_string_equal(pattern_of(rs, "www.amazon.com"), "*.amazon.com");
    assert_string_equal(service_of(rs, "avs-alexa-4.eu.amazon.com"), "amazon");
    assert_string_equal(service_of(rs, "avs-alexa-.amazon.com"), "amazon");
    assert_string_equal(service_of(rs, "s3.amazonaws.com"), "amazon");
    assert_string_equal(service_of(rs, "foo.a2z.com"), "amazon");
    assert_string_equal(service_of(rs, "alexa.gateway.devices.a2z.com"), "amazon");
    assert_string_equal(service_of(rs, "m.media-amazon.com"), "amazon");
    assert_string_equal(service_of(rs, "ocsp.rootca1.amazontrust.com"), "amazon");
    assert_string_equal(service_of(rs, "x.amazon.dev"), "amazon");
    assert_string_equal(service_of(rs, "images-na.ssl-images-amazon.com"), "amazon");
    /* case and trailing dot */
    assert_string_equal(service_of(rs, "AVS-ALEXA-4-NA.AMAZON.COM."), "avs");

    /* no rule */
    assert_null(et_ruleset_match(rs, "amazon.com"));
    assert_null(et_ruleset_match(rs, "cloudfront.net"));
    assert_null(et_ruleset_match(rs, "pool.ntp.org"));
    assert_null(et_ruleset_match(rs, "www.example.org"));
    assert_null(et_ruleset_match(rs, "amazon.com.evil.example"));
    assert_null(et_ruleset_match(rs, "notamazon.com"));
    assert_null(et_ruleset_match(rs, ""));
    et_ruleset_free(rs);
}

static void test_user_rules_first(void **state)
{
    (void)state;
    et_ruleset *rs = et_ruleset_new();
    et_ruleset_add(rs, "avs-alexa-4-na.amazon.com", "mine");
    et_ruleset_add(rs, "*.example.org", "Example");          /* service is lower-cased */
    et_ruleset_add(rs, "www.example.org", "never");          /* shadowed by the rule above */
    et_ruleset_add_builtin(rs);
    size_t builtin;
    et_builtin_rules(&builtin);
    assert_int_equal(et_ruleset_count(rs), 3 + builtin);

    const et_rule *r = et_ruleset_match(rs, "avs-alexa-4-na.amazon.com");
    assert_non_null(r);
    assert_string_equal(r->service, "mine");
    assert_string_equal(r->pattern, "avs-alexa-4-na.amazon.com");
    assert_string_equal(r->source, "user rule");
    /* other avs hosts still reach the built-in rule */
    assert_string_equal(service_of(rs, "avs-alexa-12-na.amazon.com"), "avs");
    assert_string_equal(service_of(rs, "www.example.org"), "example");
    assert_null(et_ruleset_match(rs, "example.org"));
    et_ruleset_free(rs);

    /* An empty set matches nothing; freeing NULL is fine. */
    rs = et_ruleset_new();
    assert_int_equal(et_ruleset_count(rs), 0);
    assert_null(et_ruleset_match(rs, "api.amazon.com"));
    et_ruleset_free(rs);
    et_ruleset_free(NULL);
}

static void test_ruleset_copies_strings(void **state)
{
    (void)state;
    et_ruleset *rs = et_ruleset_new();
    char pattern[32], service[32];
    strcpy(pattern, "*.example.net");
    strcpy(service, "mine");
    et_ruleset_add(rs, pattern, service);
    memset(pattern, 0, sizeof(pattern));
    memset(service, 0, sizeof(service));
    assert_string_equal(service_of(rs, "a.example.net"), "mine");
    et_ruleset_free(rs);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return generate(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_exact),
        cmocka_unit_test(test_match_case_insensitive),
        cmocka_unit_test(test_match_trailing_dot),
        cmocka_unit_test(test_match_suffix),
        cmocka_unit_test(test_match_star_in_label),
        cmocka_unit_test(test_match_middle_label),
        cmocka_unit_test(test_match_idn),
        cmocka_unit_test(test_pattern_error_valid),
        cmocka_unit_test(test_pattern_error_invalid),
        cmocka_unit_test(test_pattern_error_messages),
        cmocka_unit_test(test_service_error),
        cmocka_unit_test(test_speaker_services),
        cmocka_unit_test(test_vendor_assistant),
        cmocka_unit_test(test_mdns_txt_assistant),
        cmocka_unit_test(test_normalize_basic),
        cmocka_unit_test(test_normalize_length_not_nul_terminated),
        cmocka_unit_test(test_normalize_rejects),
        cmocka_unit_test(test_normalize_lengths),
        cmocka_unit_test(test_ip_literal),
        cmocka_unit_test(test_builtin_rows_are_complete),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_doc_rule_table_is_the_code),
        cmocka_unit_test(test_builtin_first_match_wins),
        cmocka_unit_test(test_user_rules_first),
        cmocka_unit_test(test_ruleset_copies_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
