/* test_phases.c - unit tests of phases.[ch]: schedules, wake-word interaction detection, verdicts.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Expected values come from doc/phases.md: speech is upload in nearly every 100 ms bin, at most
 * 4000 B per bin, for at least 1 s and min_voice_bytes; interactions closer than `gap` are one;
 * metrics/CDN never make one; and the verdict compares a no-wake phase's speech upload rate with
 * the idle baseline plus a margin. The signals are synthetic packets
 * fed through the public API, the way the postdissector feeds them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "capture.h"
#include "phases.h"
#include "unit_helpers.h"

#define TCP 6
#define UDP 17
#define ACK 0x10
#define SYN 0x02
#define BIN 0.1

/* ---- schedule parsing ---- */

static void test_schedule_example(void **state)
{
    (void)state;
    char *err = (char *)"untouched";
    et_schedule *s = et_schedule_parse("0 silence; 8 query; 14 silence; 22 command; 27 conversation",
                                       "silence,conversation", &err);
    assert_null(err);
    assert_non_null(s);
    assert_false(s->absolute);
    assert_int_equal(s->count, 5);
    const double starts[] = { 0, 8, 14, 22, 27 };
    const char *labels[] = { "silence", "query", "silence", "command", "conversation" };
    const bool wake[] = { false, true, false, true, false };
    for (uint32_t i = 0; i < 5; i++) {
        assert_float_equal(s->entries[i].start, starts[i], 1e-9);
        assert_string_equal(s->entries[i].label, labels[i]);
        assert_int_equal(s->entries[i].wake, wake[i]);
    }
    et_schedule_free(s);
}

static et_schedule *parse_ok(const char *text, const char *nowake)
{
    char *err = NULL;
    et_schedule *s = et_schedule_parse(text, nowake, &err);
    if (s == NULL || err != NULL)
        fail_msg("\"%s\" refused: %s", text, err ? err : "(no message)");
    return s;
}

static void test_schedule_forms(void **state)
{
    (void)state;
    /* a trailing ';' */
    /* A file's lines are entries too; empty entries are skipped. */
    et_schedule *s = parse_ok("0 a\n5 b\n", NULL);
    assert_int_equal(s->count, 2);
    assert_string_equal(s->entries[1].label, "b");
    et_schedule_free(s);
    s = parse_ok("0 a;; 5 b", NULL);
    assert_int_equal(s->count, 2);
    et_schedule_free(s);

    s = parse_ok("0 a; 5 b;", NULL);
    assert_int_equal(s->count, 2);
    assert_string_equal(s->entries[1].label, "b");
    et_schedule_free(s);

    /* tabs, several blanks, blanks around the text and the ';' */
    s = parse_ok("  0\tsilence ;\t8 \t query  ;  14   silence  ", "silence");
    assert_int_equal(s->count, 3);
    assert_float_equal(s->entries[1].start, 8, 1e-9);
    assert_string_equal(s->entries[1].label, "query");
    assert_true(s->entries[1].wake);
    assert_false(s->entries[2].wake);
    et_schedule_free(s);

    /* fractional seconds, a first phase that does not start at 0 */
    s = parse_ok("1.5 a; 2.25 b", NULL);
    assert_float_equal(s->entries[0].start, 1.5, 1e-9);
    assert_float_equal(s->entries[1].start, 2.25, 1e-9);
    et_schedule_free(s);

    /* absolute (epoch) times */
    s = parse_ok("@1768471200 a; @1768471208 b", NULL);
    assert_true(s->absolute);
    assert_int_equal(s->count, 2);
    assert_float_equal(s->entries[0].start, 1768471200.0, 1e-6);
    assert_float_equal(s->entries[1].start, 1768471208.0, 1e-6);
    et_schedule_free(s);

    /* a single entry; a 31-character label; '-' and '_' in labels */
    s = parse_ok("0 abcdefghijklmnopqrstuvwxyz-_012", NULL);
    assert_int_equal(s->count, 1);
    assert_int_equal(strlen(s->entries[0].label), 31);
    et_schedule_free(s);
}

static void test_schedule_nowake(void **state)
{
    (void)state;
    const char *text = "0 silence; 8 query; 14 quiet; 22 command; 27 conversation";
    /* no list: every phase has a wake word */
    et_schedule *s = parse_ok(text, NULL);
    for (uint32_t i = 0; i < s->count; i++)
        assert_true(s->entries[i].wake);
    et_schedule_free(s);
    s = parse_ok(text, "");
    for (uint32_t i = 0; i < s->count; i++)
        assert_true(s->entries[i].wake);
    et_schedule_free(s);

    /* README's default list, blanks around the commas */
    s = parse_ok(text, "silence, idle ,conversation,quiet,background");
    const bool wake[] = { false, true, false, true, false };
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(s->entries[i].wake, wake[i]);
    et_schedule_free(s);

    /* whole labels only */
    s = parse_ok("0 silence2; 5 sil", "silence");
    assert_true(s->entries[0].wake);
    assert_true(s->entries[1].wake);
    et_schedule_free(s);
}

/* The parse fails with a one-line message naming entry `entry` (0: the message need not name one). */
static void assert_schedule_error(const char *text, unsigned entry)
{
    char *err = NULL;
    et_schedule *s = et_schedule_parse(text, "silence", &err);
    if (s != NULL)
        fail_msg("schedule \"%s\" accepted", text);
    if (err == NULL)
        fail_msg("schedule \"%s\": no error message", text);
    if (strchr(err, '\n') != NULL)
        fail_msg("schedule \"%s\": the message is more than one line: %s", text, err);
    if (entry) {
        char want[32];
        snprintf(want, sizeof(want), "entry %u", entry);
        const char *at = strstr(err, want);
        if (at == NULL || g_ascii_isdigit(at[strlen(want)]))
            fail_msg("schedule \"%s\": message does not name entry %u: %s", text, entry, err);
    }
    g_free(err);
}

static void test_schedule_errors(void **state)
{
    (void)state;
    assert_schedule_error("", 0);
    assert_schedule_error("   \t ", 0);
    assert_schedule_error(NULL, 0);
    assert_schedule_error(";", 0);                           /* only empty entries */
    assert_schedule_error("\n;\n", 0);
    assert_schedule_error("abc silence", 1);                 /* not a number */
    assert_schedule_error("0 a; x b", 2);
    assert_schedule_error("0 a; 5s b", 2);
    assert_schedule_error("0 a; 1e999 b", 2);                /* not finite */
    assert_schedule_error("nan a", 1);
    assert_schedule_error("inf a", 1);
    assert_schedule_error("-1 a", 1);                        /* negative */
    assert_schedule_error("0 a; -5 b", 2);
    assert_schedule_error("@-5 a", 1);
    assert_schedule_error("@ a", 1);
    assert_schedule_error("0 a; 5 b; 3 c", 3);               /* decreasing */
    assert_schedule_error("0 a; 5 b; 5 c", 3);               /* not increasing */
    assert_schedule_error("0 a!", 1);                        /* bad label characters */
    assert_schedule_error("0 a; 5 caf\xc3\xa9", 2);
    assert_schedule_error("0 a; 5 b.c", 2);
    assert_schedule_error("0 abcdefghijklmnopqrstuvwxyz-_0123", 1);   /* 32 characters */
    assert_schedule_error("0", 1);                           /* missing label */
    assert_schedule_error("0 a; 5", 2);
    assert_schedule_error("0 a; 5 b c", 2);                  /* one label only */
    assert_schedule_error("@1768471200 a; 8 b", 2);          /* mixes @ and relative */
    assert_schedule_error("0 a; @1768471208 b", 2);
    assert_schedule_error("0 a; 5 b; 10 c; 15 d; 20 e; 25 f; 30 g; 35 h; 40 i; 45 j; 40 k", 11);

    /* more entries than the parser holds */
    GString *big = g_string_new(NULL);
    for (int i = 0; i < 1100; i++)
        g_string_append_printf(big, "%d p%d; ", i, i);
    char *err = NULL;
    assert_null(et_schedule_parse(big->str, NULL, &err));
    assert_non_null(err);
    assert_null(strchr(err, '\n'));
    g_free(err);
    g_string_free(big, TRUE);
}

/* ---- a synthetic capture ---- */

typedef struct world {
    et_capture *cap;
    et_flows *flows;           /* cap's */
    et_phases *phases;         /* cap's */
    et_detector_config cfg;
} world;

static void config(et_detector_config *cfg)
{
    /* README.md: 100 ms bins, 1 s gap, 4000 bytes in 5 bins, 1000 B/s margin. Set explicitly so
     * that the tests below do not depend on the defaults (tested on their own). */
    cfg->bin = BIN;
    cfg->gap = 1.0;
    cfg->min_voice_bytes = 4000;
    cfg->margin = 1000.0;
}

/* cfg NULL: config()'s. */
static world *world_new_with(const et_schedule *sched, double epoch, const et_detector_config *cfg)
{
    world *w = calloc(1, sizeof(*w));
    et_capture_config cc = { .use_cert = true, .use_dns = true, .use_same_ip = true, .schedule = sched };
    if (cfg)
        cc.detector = *cfg;
    else
        config(&cc.detector);
    w->cfg = cc.detector;
    w->cap = et_capture_new(&cc);
    et_capture_start(w->cap, epoch);
    w->flows = w->cap->flows;
    w->phases = w->cap->phases;
    return w;
}

static world *world_new(const et_schedule *sched, double epoch)
{
    return world_new_with(sched, epoch, NULL);
}

static int setup_auto(void **state)
{
    *state = world_new(NULL, 1768471195.0);
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    if (w == NULL)
        return 0;
    et_capture_free(w->cap);
    free(w);
    return 0;
}


static et_flow *flow_to(world *w, et_addr dev, uint16_t port, et_addr server, double t, const char *sni)
{
    et_flow *fl = et_flows_add(w->flows, TCP, &dev, port, &server, 443, SYN, t);
    if (sni)
        assert_true(et_flows_add_sni(w->flows, fl, sni, strlen(sni)));
    return fl;
}

/* The speaker's AVS connection (SNI), opened at t. */
static et_flow *avs_flow(world *w, double t)
{
    return flow_to(w, SPEAKER, 50000, ip4(52, 94, 1, 1), t, "avs-alexa-4-na.amazon.com");
}

/* The postdissector looks up the phase of every packet of a speaker (or of every device with a
 * schedule) right after counting it: the phase list is then always valid and kept up to date
 * incrementally. The suite runs twice, without and with those lookups. */
static bool lookup_each_packet;

/* A packet of fl carrying payload bytes, through the plugin's per-packet entry. */
static void pkt(world *w, const et_flow *fl, bool up, uint32_t payload, double t)
{
    static uint32_t frame = 1;
    et_packet p = packet_of(fl, up, payload, t, frame++);
    et_capture_packet(w->cap, &p);
    const et_device *d = et_flows_device(w->flows, fl->device);
    if (lookup_each_packet && (et_device_is_speaker(d) || !et_phases_automatic(w->phases))) {
        et_phase ph;
        et_phases_lookup(w->phases, w->flows, fl->device, t, &ph);
        assert_true(ph.start <= t + 1e-9);
    }
}

/* An HTTP/2 PING and its answer: idle keep-alive on the AVS connection. */
static void ping(world *w, const et_flow *fl, double t)
{
    pkt(w, fl, true, 100, t);
    pkt(w, fl, false, 100, t + 0.02);
}

/* Constant-rate traffic: one packet every 0.1 s from t0 (inclusive) while t < t1. Returns bytes. */
static uint64_t stream(world *w, const et_flow *fl, bool up, double t0, double t1, uint32_t per_packet)
{
    uint64_t sum = 0;
    for (int i = 0;; i++) {
        double t = t0 + i * 0.1;
        if (t >= t1 - 1e-9)
            break;
        pkt(w, fl, up, per_packet, t);
        sum += per_packet;
    }
    return sum;
}

/* A copy of a device's phase list (the module's array is valid only until its next call). */
static const et_phase *phases_of(world *w, uint32_t device, uint32_t *n)
{
    static et_phase copy[16];
    const et_phase *got = et_phases_list(w->phases, w->flows, device, n, NULL);
    assert_non_null(got);
    assert_true(*n >= 1);
    assert_true(*n <= 16);
    memcpy(copy, got, *n * sizeof(et_phase));
    const et_phase *list = copy;
    /* Phases tile the capture: from 0, each starting where the previous ended. */
    assert_float_equal(list[0].start, 0, 1e-9);
    for (uint32_t i = 0; i < *n; i++) {
        assert_int_equal(list[i].index, i);
        assert_true(list[i].end >= list[i].start);
        if (i > 0)
            assert_float_equal(list[i].start, list[i - 1].end, 1e-9);
    }
    return list;
}

static void assert_phase(const et_phase *ph, const char *label, double start, double end, double tolerance)
{
    assert_string_equal(ph->label, label);
    if (fabs(ph->start - start) > tolerance || fabs(ph->end - end) > tolerance)
        fail_msg("phase %s is [%.3f, %.3f), expected [%.3f, %.3f) within %.3f", label, ph->start,
                 ph->end, start, end, tolerance);
}

/* Idle keep-alives on the AVS flow at these times. */
static void pings(world *w, const et_flow *fl, const double *ts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ping(w, fl, ts[i]);
}

/* ---- automatic detection ---- */

static void test_detector_defaults(void **state)
{
    (void)state;
    et_detector_config cfg;
    memset(&cfg, 0xff, sizeof(cfg));
    et_detector_defaults(&cfg);
    /* README.md, "Phases" */
    assert_float_equal(cfg.bin, 0.1, 1e-12);
    assert_float_equal(cfg.gap, 1.0, 1e-12);
    assert_int_equal(cfg.min_voice_bytes, 4000);
    assert_float_equal(cfg.margin, 1000.0, 1e-12);
    assert_float_equal(ET_AVS_MIN_AUDIO_BYTES_PER_S, 4000.0, 1e-12);    /* 32 kbit/s */
}

static void test_idle_only(void **state)
{
    world *w = *state;
    assert_true(et_phases_automatic(w->phases));
    et_flow *avs = avs_flow(w, 0);
    const double ts[] = { 0.05, 5.05, 10.05, 15.05, 20.05, 25.05, 29.95 };
    pings(w, avs, ts, 7);
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 1);
    assert_phase(&list[0], "idle", 0, 29.97, 1e-9);
    assert_false(list[0].wake);
}

static void test_voice_burst(void **state)
{
    world *w = *state;
    et_flow *avs = avs_flow(w, 0);
    const double before[] = { 1.05, 6.05 };
    pings(w, avs, before, 2);
    /* 3 s of speech at 32 kB/s, then 2 s of spoken answer downloaded. */
    assert_int_equal(stream(w, avs, true, 10.05, 13.0, 3200), 96000);
    stream(w, avs, false, 13.05, 15.0, 5000);
    const double after[] = { 20.05, 25.05, 29.95 };
    pings(w, avs, after, 3);

    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 3);
    assert_phase(&list[0], "idle", 0, 10.05, BIN);
    assert_phase(&list[1], "interaction", 10.05, 14.95, BIN);
    assert_true(list[1].start <= 10.05 && list[1].end > 14.95);    /* its packets are inside */
    assert_phase(&list[2], "idle", 14.95, 29.97, BIN);
    assert_float_equal(list[2].end, 29.97, 1e-9);
    assert_false(list[0].wake);
    assert_true(list[1].wake);
    assert_false(list[2].wake);

    et_phase ph;
    et_phases_lookup(w->phases, w->flows, avs->device, 5.0, &ph);
    assert_string_equal(ph.label, "idle");
    assert_int_equal(ph.index, 0);
    et_phases_lookup(w->phases, w->flows, avs->device, 12.0, &ph);
    assert_string_equal(ph.label, "interaction");
    assert_int_equal(ph.index, 1);
    et_phases_lookup(w->phases, w->flows, avs->device, 14.9, &ph);
    assert_string_equal(ph.label, "interaction");
    et_phases_lookup(w->phases, w->flows, avs->device, 25.0, &ph);
    assert_string_equal(ph.label, "idle");
    assert_int_equal(ph.index, 2);

    /* The interaction has a wake word; idle phases are judged against the baseline. */
    et_phase_judgement j;
    et_phases_judge(w->phases, w->flows, avs->device, &list[1], &j);
    assert_int_equal(j.verdict, ET_VERDICT_WAKE);
    assert_int_equal(j.voice_up_bytes, 96000);
    assert_float_equal(j.speech_s, 3.0, 1e-9);          /* 30 bins of speech, measured */
    assert_float_equal(j.max_speech_s, 24.0, 1e-9);     /* what 96 kB could carry at 4000 B/s */
    et_phases_judge(w->phases, w->flows, avs->device, &list[0], &j);
    assert_int_equal(j.verdict, ET_VERDICT_OK);
    assert_int_equal(j.voice_up_bytes, 0);          /* pings are not speech */
}

/* ---- speech of other codecs and generations (doc/phases.md, "Speech") ---- */

/* An Echo Dot 3 at PCM rate: its voice connection, older than the capture, silent for 20 s;
 * then ~66 kB of buffered audio in one bin, ~3.3 kB per bin with every fourth bin a record more,
 * for 5 s, then the answer. Unnamed: the voice connection by its shape. */
static void test_pcm_after_buffered_burst(void **state)
{
    world *w = *state;
    et_addr echo = SPEAKER, server = ip4(52, 94, 1, 7);
    et_flow *fl = et_flows_add(w->flows, TCP, &echo, 50000, &server, 443, ACK, 20.05);
    et_flows_set_vendor(w->flows, et_flows_device(w->flows, fl->device), "Amazon Technologies Inc.");
    for (int i = 0; i < 45; i++)                 /* 65.7 kB within the first 100 ms */
        pkt(w, fl, true, 1460, 20.05 + 0.001 * i);
    for (int b = 1; b <= 50; b++)
        pkt(w, fl, true, b % 4 == 0 ? 4450 : 3300, 20.05 + 0.1 * b);
    stream(w, fl, false, 25.2, 27.0, 4000);
    ping(w, fl, 35.05);
    uint32_t n;
    const et_phase *list = phases_of(w, fl->device, &n);
    assert_int_equal(n, 3);
    assert_phase(&list[1], "interaction", 20.0, 27.0, BIN);
    assert_string_equal(fl->service, "avs");
    assert_int_equal(fl->evidence, ET_EV_TRAFFIC);
    et_phase_judgement j;
    et_phases_judge(w->phases, w->flows, fl->device, &list[1], &j);
    assert_float_equal(j.speech_s, 5.1, 1e-9);
    assert_true(j.speech_s <= list[1].end - list[1].start);
}

/* A burst then a bulk upload faster than any audio is no speech; nor is a burst alone, nor one
 * larger than buffered audio can be. */
static void test_burst_then_bulk_is_no_speech(void **state)
{
    world *w = *state;
    et_flow *avs = avs_flow(w, 0);
    for (int i = 0; i < 40; i++)
        pkt(w, avs, true, 1460, 5.05 + 0.001 * i);
    stream(w, avs, true, 5.15, 7.0, 10000);      /* 100 kB/s for 1.85 s */
    pkt(w, avs, true, 60000, 10.05);             /* a burst alone */
    stream(w, avs, true, 20.05, 20.35, 60000);   /* 180 kB in 0.3 s, then audio-sized records */
    stream(w, avs, true, 20.35, 22.0, 3300);
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].label, "idle");
}

/* QUIC over UDP has no pure acknowledgements to leave out: a download's ACK datagrams fill every
 * bin with small upload. They are no speech; the speaker's real upload is, and its speech ends
 * where the answer begins. */
static void test_udp_ack_stream_is_no_speech(void **state)
{
    world *w = *state;
    et_addr gh = ip4(192, 168, 1, 31), server = ip4(142, 250, 1, 1), laptop = PHONE;
    assert_true(et_flows_add_mdns_txt(w->flows, &gh, "md=Google Home Mini", 19));
    et_flow *voice = et_flows_add(w->flows, UDP, &gh, 50000, &server, 443, -1, 1.0);
    assert_true(et_flows_add_sni(w->flows, voice, "www.google.com", 14));
    assert_string_equal(voice->service, "google-assistant");
    /* A 3 s download with ACKs (80 B, twice per bin) on the speaker's own voice flow. */
    for (int b = 0; b < 30; b++) {
        pkt(w, voice, false, 1350, 2.05 + 0.1 * b);
        pkt(w, voice, false, 1350, 2.07 + 0.1 * b);
        pkt(w, voice, true, 80, 2.08 + 0.1 * b);
        pkt(w, voice, true, 80, 2.09 + 0.1 * b);
    }
    uint32_t n;
    const et_phase *list = phases_of(w, voice->device, &n);
    assert_int_equal(n, 1);
    /* Then a 4 s command (3.5 kB per bin, the server's small ACKs) and its answer with ACKs. */
    for (int b = 0; b < 40; b++) {
        pkt(w, voice, true, 1200, 10.05 + 0.1 * b);
        pkt(w, voice, true, 1200, 10.08 + 0.1 * b);
        pkt(w, voice, true, 1100, 10.11 + 0.1 * b);
        pkt(w, voice, false, 60, 10.12 + 0.1 * b);
    }
    for (int b = 0; b < 20; b++) {
        pkt(w, voice, false, 1350, 14.25 + 0.1 * b);
        pkt(w, voice, true, 80, 14.27 + 0.1 * b);
    }
    ping(w, voice, 19.05);
    list = phases_of(w, voice->device, &n);
    assert_int_equal(n, 3);
    assert_phase(&list[1], "interaction", 10.0, 16.2, BIN);
    et_phase_judgement j;
    et_phases_judge(w->phases, w->flows, voice->device, &list[1], &j);
    assert_float_equal(j.speech_s, 4.0, 0.11);

    /* A laptop's QUIC download from the same host: no speech, no phases but "all". */
    et_flow *dl = et_flows_add(w->flows, UDP, &laptop, 50001, &server, 443, -1, 20.0);
    assert_true(et_flows_add_sni(w->flows, dl, "www.google.com", 14));
    for (int b = 0; b < 30; b++) {
        pkt(w, dl, false, 1350, 20.05 + 0.1 * b);
        pkt(w, dl, true, 80, 20.06 + 0.1 * b);
    }
    assert_string_equal(dl->service, "google");
    et_phase all;
    et_phases_lookup(w->phases, w->flows, dl->device, 21.0, &all);
    assert_string_equal(all.label, "all");
    et_phases_judge(w->phases, w->flows, dl->device, &all, &j);
    assert_int_equal(j.voice_up_bytes, 0);
}

static void test_version_changes(void **state)
{
    world *w = *state;
    et_flow *avs = avs_flow(w, 0);
    ping(w, avs, 1.05);
    uint32_t n;
    uint64_t v1, v2, v3;
    et_phases_list(w->phases, w->flows, avs->device, &n, &v1);
    et_phases_list(w->phases, w->flows, avs->device, &n, &v2);
    assert_int_equal(v1, v2);
    stream(w, avs, true, 10.05, 11.0, 3200);
    const et_phase *list = et_phases_list(w->phases, w->flows, avs->device, &n, &v3);
    assert_int_equal(n, 2);
    assert_string_equal(list[1].label, "interaction");
    assert_int_not_equal(v1, v3);
}

static void test_bursts_merge_within_gap(void **state)
{
    world *w = *state;
    et_flow *avs = avs_flow(w, 0);
    ping(w, avs, 1.05);
    /* 1 s of speech, 0.5 s pause (less than the 1 s gap), 1 s more. */
    stream(w, avs, true, 10.05, 11.0, 1000);
    stream(w, avs, true, 11.45, 12.4, 1000);
    ping(w, avs, 20.05);
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 3);
    assert_phase(&list[1], "interaction", 10.05, 12.35, BIN);
    assert_string_equal(list[0].label, "idle");
    assert_string_equal(list[2].label, "idle");
}

static void test_bursts_split_beyond_gap(void **state)
{
    world *w = *state;
    et_flow *avs = avs_flow(w, 0);
    ping(w, avs, 1.05);
    /* 1 s of speech, 1.6 s pause (more than the 1 s gap), 1 s more. */
    stream(w, avs, true, 10.05, 11.0, 1000);
    stream(w, avs, true, 12.55, 13.5, 1000);
    ping(w, avs, 20.05);
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 5);
    assert_phase(&list[0], "idle", 0, 10.05, BIN);
    assert_phase(&list[1], "interaction", 10.05, 10.95, BIN);
    assert_phase(&list[2], "idle", 10.95, 12.55, BIN);
    assert_phase(&list[3], "interaction", 12.55, 13.45, BIN);
    assert_phase(&list[4], "idle", 13.45, 20.07, BIN);
}

static void test_gap_config(void **state)
{
    (void)state;
    /* The same traffic with a 2 s gap: one interaction. */
    et_detector_config cfg;
    config(&cfg);
    cfg.gap = 2.0;
    world *w = world_new_with(NULL, 0, &cfg);
    *state = w;
    et_flow *avs = avs_flow(w, 0);
    stream(w, avs, true, 10.05, 11.0, 1000);
    stream(w, avs, true, 12.55, 13.5, 1000);
    ping(w, avs, 20.05);
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 3);
    assert_phase(&list[1], "interaction", 10.05, 13.45, BIN);
}

static void test_small_uploads_are_idle(void **state)
{
    world *w = *state;
    et_flow *avs = avs_flow(w, 0);
    /* 2500 bytes in 5 bins: too few bytes. */
    stream(w, avs, true, 5.05, 5.5, 500);
    /* 10000 bytes in one bin: too few bins. */
    pkt(w, avs, true, 10000, 10.05);
    /* 8000 bytes in 4 bins: too few bins. */
    stream(w, avs, true, 15.05, 15.4, 2000);
    /* A long download with little upload (an answer without a question). */
    pkt(w, avs, true, 300, 20.05);
    stream(w, avs, false, 20.15, 23.0, 20000);
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].label, "idle");

    /* Post-answer events: three 5 kB messages within 0.3 s. */
    for (int i = 0; i < 3; i++)
        stream(w, avs, true, 24.05 + 0.1 * i, 24.1 + 0.1 * i, 5000);
    /* A bulk upload: 1.5 s at 200 kB/s, faster than any audio. */
    stream(w, avs, true, 26.05, 27.5, 20000);
    /* Upload in every other bin only, for 2 s. */
    for (int i = 0; i < 10; i++)
        pkt(w, avs, true, 800, 28.05 + 0.2 * i);
    list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].label, "idle");

    /* Control: exactly 4000 bytes in 10 bins (1 s) is speech ("at least"). */
    stream(w, avs, true, 40.05, 41.0, 400);
    list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 2);
    assert_phase(&list[1], "interaction", 40.05, 40.95, BIN);
}

static void test_metrics_never_interaction(void **state)
{
    world *w = *state;
    et_flow *avs = avs_flow(w, 0);
    et_flow *met = flow_to(w, SPEAKER, 50001, ip4(52, 94, 9, 9), 0, "device-metrics-us-2.amazon.com");
    assert_string_equal(met->service, "metrics");
    assert_true(et_phases_voice_path(w->flows, avs));
    assert_false(et_phases_voice_path(w->flows, met));
    ping(w, avs, 1.05);
    /* voice-sized upload, on the metrics connection */
    stream(w, met, true, 10.05, 13.0, 3200);
    stream(w, met, false, 13.05, 14.0, 500);
    ping(w, avs, 20.05);
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].label, "idle");
}

static void test_cdn_never_interaction(void **state)
{
    world *w = *state;
    et_flow *avs = avs_flow(w, 0);
    et_flow *cdn = flow_to(w, SPEAKER, 50002, ip4(13, 32, 0, 1), 0, "dvi8md6049w6b.cloudfront.net");
    assert_string_equal(cdn->service, "cdn");
    assert_false(et_phases_voice_path(w->flows, cdn));
    ping(w, avs, 1.05);
    /* A firmware download: requests up, 1 MB/s down for 5 s. */
    stream(w, cdn, true, 10.05, 15.0, 600);
    stream(w, cdn, false, 10.1, 15.0, 100000);
    ping(w, avs, 20.05);
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].label, "idle");
}

static void test_oui_speaker_untagged_voice_path(void **state)
{
    world *w = *state;
    /* A speaker by its MAC vendor, whose AVS connection we cannot name. */
    et_flow *cloud = flow_to(w, SPEAKER, 50000, ip4(34, 1, 2, 3), 0, NULL);
    et_flow *lan = flow_to(w, SPEAKER, 50001, ip4(192, 168, 1, 1), 0, NULL);
    et_device *d = et_flows_device(w->flows, cloud->device);
    et_flows_set_vendor(w->flows, d, "Amazon Technologies Inc.");
    assert_null(cloud->service);
    assert_true(et_phases_voice_path(w->flows, cloud));
    assert_false(et_phases_voice_path(w->flows, lan));
    /* Voice-sized upload to the LAN (a phone app, a hub): not the voice path. */
    stream(w, lan, true, 2.05, 5.0, 3200);
    /* ... and to the cloud. */
    stream(w, cloud, true, 10.05, 13.0, 3200);
    stream(w, cloud, false, 13.05, 15.0, 5000);
    pkt(w, cloud, true, 100, 20.05);
    uint32_t n;
    const et_phase *list = phases_of(w, d->id, &n);
    assert_int_equal(n, 3);
    assert_phase(&list[1], "interaction", 10.05, 14.95, BIN);
}

static void test_non_speaker_single_phase(void **state)
{
    world *w = *state;
    et_flow *fl = flow_to(w, PHONE, 50000, ip4(34, 1, 2, 3), 0, NULL);
    et_device *d = et_flows_device(w->flows, fl->device);
    et_flows_set_vendor(w->flows, d, NULL);
    stream(w, fl, true, 10.05, 13.0, 3200);
    stream(w, fl, false, 13.05, 15.0, 5000);
    uint32_t n;
    const et_phase *list = phases_of(w, d->id, &n);
    assert_int_equal(n, 1);
    assert_phase(&list[0], "all", 0, 14.95, 1e-9);
    assert_false(list[0].wake);
    et_phase_judgement j;
    et_phases_judge(w->phases, w->flows, d->id, &list[0], &j);
    assert_int_equal(j.verdict, ET_VERDICT_NONE);
}

static void test_late_dns_makes_avs_flow(void **state)
{
    world *w = *state;
    /* The AVS connection is only named by a DNS answer seen later in the file. */
    et_addr server = ip4(52, 94, 1, 2), dev = SPEAKER;
    et_flow *fl = flow_to(w, dev, 50000, server, 5.0, NULL);
    ping(w, fl, 5.05);
    stream(w, fl, true, 10.05, 13.0, 3200);
    stream(w, fl, false, 13.05, 15.0, 5000);
    uint32_t n;
    const et_phase *list = phases_of(w, fl->device, &n);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].label, "all");          /* not known as a speaker yet */

    const char *name = "avs-alexa-4-na.amazon.com";
    assert_true(et_flows_add_dns(w->flows, name, strlen(name), &server, &dev, 20.0));
    assert_string_equal(fl->service, "avs");
    ping(w, fl, 25.05);
    list = phases_of(w, fl->device, &n);
    assert_int_equal(n, 3);
    assert_phase(&list[0], "idle", 0, 10.05, BIN);
    assert_phase(&list[1], "interaction", 10.05, 14.95, BIN);
    assert_phase(&list[2], "idle", 14.95, 25.07, BIN);
}

static void test_devices_independent(void **state)
{
    world *w = *state;
    et_flow *avs = avs_flow(w, 0);
    et_addr other = ip4(192, 168, 1, 11);
    et_flow *avs2 = flow_to(w, other, 50000, ip4(52, 94, 1, 1), 0, "avs-alexa-4-na.amazon.com");
    assert_int_not_equal(avs->device, avs2->device);
    stream(w, avs, true, 10.05, 12.0, 3200);
    stream(w, avs2, true, 20.05, 22.0, 3200);
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 3);
    assert_phase(&list[1], "interaction", 10.05, 11.95, BIN);
    list = phases_of(w, avs2->device, &n);
    assert_int_equal(n, 2);
    assert_phase(&list[1], "interaction", 20.05, 21.95, BIN);
}

/* ---- schedules and verdicts ---- */

static void test_schedule_phase_list(void **state)
{
    (void)state;
    et_schedule *s = parse_ok("0 silence; 8 query; 14 silence; 22 command; 27 conversation",
                              "silence,conversation");
    world *w = world_new(s, 1768471195.0);
    *state = w;
    et_schedule_free(s);                      /* the phases keep their own copy */
    assert_false(et_phases_automatic(w->phases));
    et_flow *avs = avs_flow(w, 0);
    ping(w, avs, 0.05);
    ping(w, avs, 29.95);
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 5);
    assert_phase(&list[0], "silence", 0, 8, 1e-9);
    assert_phase(&list[1], "query", 8, 14, 1e-9);
    assert_phase(&list[2], "silence", 14, 22, 1e-9);
    assert_phase(&list[3], "command", 22, 27, 1e-9);
    assert_phase(&list[4], "conversation", 27, 29.97, 1e-9);   /* to the end of the capture */
    const bool wake[] = { false, true, false, true, false };
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(list[i].wake, wake[i]);

    /* A device that is not a speaker follows the schedule too. */
    et_flow *ph = flow_to(w, PHONE, 50000, ip4(34, 1, 2, 3), 0, NULL);
    pkt(w, ph, true, 100, 1);
    list = phases_of(w, ph->device, &n);
    assert_int_equal(n, 5);

    et_phase p;
    et_phases_lookup(w->phases, w->flows, avs->device, 8.0, &p);
    assert_string_equal(p.label, "query");
    et_phases_lookup(w->phases, w->flows, avs->device, 13.99, &p);
    assert_string_equal(p.label, "query");
    assert_int_equal(p.index, 1);
    et_phases_lookup(w->phases, w->flows, avs->device, 14.0, &p);
    assert_string_equal(p.label, "silence");
    assert_int_equal(p.index, 2);
}

static void test_schedule_absolute_and_late_start(void **state)
{
    (void)state;
    /* The capture starts 5 s before the first scheduled phase. */
    et_schedule *s = parse_ok("@1768471200 a; @1768471208 b", NULL);
    world *w = world_new(s, 1768471195.0);
    *state = w;
    et_schedule_free(s);
    et_flow *avs = avs_flow(w, 0);
    ping(w, avs, 0.05);
    ping(w, avs, 19.95);
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 3);
    assert_phase(&list[0], "unscheduled", 0, 5, 1e-6);
    assert_false(list[0].wake);
    assert_phase(&list[1], "a", 5, 13, 1e-6);
    assert_true(list[1].wake);
    assert_phase(&list[2], "b", 13, 19.97, 1e-6);
    et_phase p;
    et_phases_lookup(w->phases, w->flows, avs->device, 6.0, &p);
    assert_string_equal(p.label, "a");
}

static void test_verdicts(void **state)
{
    (void)state;
    et_schedule *s = parse_ok("0 silence; 10 query; 20 secret; 30 quiet", "silence,secret,quiet");
    world *w = world_new(s, 0);
    *state = w;
    et_schedule_free(s);
    et_flow *avs = avs_flow(w, 0);
    et_flow *met = flow_to(w, SPEAKER, 50001, ip4(52, 94, 9, 9), 0, "device-metrics-us-2.amazon.com");
    pings(w, avs, (const double[]){ 1.05 }, 1);                 /* 100 bytes up each */
    /* silence: a big metrics upload, faster than audio */
    stream(w, met, true, 3.05, 4.0, 5000);
    pings(w, avs, (const double[]){ 6.05, 11.05 }, 2);
    /* query (wake word): speech */
    uint64_t query_up = stream(w, avs, true, 12.05, 14.0, 3200);
    stream(w, avs, false, 14.05, 15.0, 5000);
    pings(w, avs, (const double[]){ 16.05 }, 1);
    /* secret (no wake word): 20 kB of speech */
    uint64_t secret_up = stream(w, avs, true, 21.05, 23.0, 1000);
    assert_int_equal(secret_up, 20000);
    pings(w, avs, (const double[]){ 25.05, 31.05 }, 2);
    /* quiet (no wake word): a little upload, not the shape of speech */
    uint64_t quiet_up = stream(w, avs, true, 33.05, 33.5, 600);
    pings(w, avs, (const double[]){ 36.05, 39.95 }, 2);

    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 4);
    assert_string_equal(list[2].label, "secret");
    et_phase_judgement j;

    /* silence: the baseline phase (only pings), OK */
    et_phases_judge(w->phases, w->flows, avs->device, &list[0], &j);
    assert_int_equal(j.voice_up_bytes, 0);          /* pings and the bulk metrics upload */
    assert_float_equal(j.voice_up_rate, 0, 1e-6);
    assert_float_equal(j.baseline_rate, 0, 1e-6);
    assert_float_equal(j.max_speech_s, 0, 1e-9);
    assert_int_equal(j.verdict, ET_VERDICT_OK);

    /* query: wake word */
    et_phases_judge(w->phases, w->flows, avs->device, &list[1], &j);
    assert_int_equal(j.voice_up_bytes, query_up);
    assert_int_equal(j.verdict, ET_VERDICT_WAKE);

    /* secret: big upload without a wake word */
    et_phases_judge(w->phases, w->flows, avs->device, &list[2], &j);
    assert_int_equal(j.voice_up_bytes, secret_up);
    assert_float_equal(j.voice_up_rate, secret_up / 10.0, 1e-6);
    assert_float_equal(j.baseline_rate, 0, 1e-6);
    assert_float_equal(j.max_speech_s, secret_up / 4000.0, 1e-9);
    assert_int_equal(j.verdict, ET_VERDICT_SUSPECT);
    assert_string_equal(et_verdict_name(j.verdict), "UPLOAD WITHOUT WAKE WORD");

    /* quiet: 3000 bytes in half a second is not the shape of speech */
    et_phases_judge(w->phases, w->flows, avs->device, &list[3], &j);
    assert_int_equal(quiet_up, 3000);
    assert_int_equal(j.voice_up_bytes, 0);
    assert_int_equal(j.verdict, ET_VERDICT_OK);

    /* A device that is not a speaker gets no verdict. */
    et_flow *ph = flow_to(w, PHONE, 50000, ip4(34, 1, 2, 3), 0, NULL);
    stream(w, ph, true, 21.05, 23.0, 5000);
    list = phases_of(w, ph->device, &n);
    et_phases_judge(w->phases, w->flows, ph->device, &list[2], &j);
    assert_int_equal(j.verdict, ET_VERDICT_NONE);
}

static void test_baseline_long_phases_first(void **state)
{
    (void)state;
    /* A short quiet phase (2 s) must not set the baseline when a long one exists. */
    et_schedule *s = parse_ok("0 blip; 2 silence; 12 secret", "blip,silence,secret");
    world *w = world_new(s, 0);
    *state = w;
    et_schedule_free(s);
    et_flow *avs = avs_flow(w, 0);
    /* silence: 1500 B/s of idle voice-path upload (a chatty speaker) */
    stream(w, avs, true, 2.05, 12.0, 150);
    /* secret: 2000 B/s: only 500 B/s above this speaker's idle level */
    stream(w, avs, true, 12.05, 22.0, 200);
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 3);
    et_phase_judgement j;
    et_phases_judge(w->phases, w->flows, avs->device, &list[2], &j);
    assert_float_equal(j.baseline_rate, 1500.0, 1.0);
    assert_int_equal(j.verdict, ET_VERDICT_OK);
}

static void test_last_phase_not_in_baseline_when_an_earlier_one_lasts(void **state)
{
    (void)state;
    /* The last phase, cut short by the end of the capture, must not lower the baseline that a
     * completed 10 s phase gives; with no completed phase of 5 s, it is all there is. */
    et_schedule *s = parse_ok("0 silence; 10 quiet", "silence,quiet");
    world *w = world_new(s, 0);
    *state = w;
    et_schedule_free(s);
    et_flow *avs = avs_flow(w, 0);
    stream(w, avs, true, 0.05, 10.0, 100);                       /* 1000 B/s idle upload */
    pkt(w, avs, false, 100, 19.95);                              /* quiet: nothing up */
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 2);
    et_phase_judgement j;
    et_phases_judge(w->phases, w->flows, avs->device, &list[1], &j);
    assert_float_equal(j.baseline_rate, 1000.0, 1e-6);
    assert_false(j.baseline_moves);
    assert_int_equal(j.verdict, ET_VERDICT_OK);
}

static void test_short_phases_take_the_last_into_the_baseline(void **state)
{
    (void)state;
    et_schedule *s = parse_ok("0 blip; 2 quiet", "blip,quiet");
    world *w = world_new(s, 0);
    *state = w;
    et_schedule_free(s);
    et_flow *avs = avs_flow(w, 0);
    stream(w, avs, true, 0.05, 2.0, 250);                        /* blip: 2500 B/s of speech over 2 s */
    stream(w, avs, true, 2.05, 3.0, 500);                        /* quiet: 5000 B of speech in 10 s */
    pkt(w, avs, true, 100, 11.95);
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    et_phase_judgement j;
    et_phases_judge(w->phases, w->flows, avs->device, &list[0], &j);
    assert_float_equal(j.baseline_rate, 5000 / (list[1].end - list[1].start), 1e-6);
    assert_true(j.baseline_moves);
}

static void test_rejudge_equals_judge_when_only_the_end_moves(void **state)
{
    (void)state;
    /* What the phases table does for a device that sent nothing: judge its last phase again with
     * the capture's new end only. It must agree with a full judgement, verdict included. */
    et_schedule *s = parse_ok("0 silence; 10 quiet", "silence,quiet");
    world *w = world_new(s, 0);
    *state = w;
    et_schedule_free(s);
    et_flow *avs = avs_flow(w, 0);
    et_flow *phone = flow_to(w, PHONE, 50000, ip4(34, 1, 2, 3), 0, NULL);
    pings(w, avs, (const double[]){ 1.05, 6.05 }, 2);           /* baseline 20 B/s */
    stream(w, avs, true, 10.05, 12.0, 300);                      /* quiet: 3000 B/s for 2 s */
    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    et_phase last = list[n - 1];
    et_phase_judgement early;
    et_phases_judge(w->phases, w->flows, avs->device, &last, &early);
    assert_int_equal(early.verdict, ET_VERDICT_SUSPECT);
    et_verdict verdict = early.verdict;
    for (double t = 12.05; t < 60; t += 0.5) {                  /* only the phone talks */
        pkt(w, phone, true, 500, t);
        list = phases_of(w, avs->device, &n);
        et_phase_judgement full;
        et_phases_judge(w->phases, w->flows, avs->device, &list[n - 1], &full);
        assert_float_equal(et_phases_end(w->phases), list[n - 1].end, 1e-9);
        last.end = et_phases_end(w->phases);
        et_phase_judgement again = early;
        et_phases_rejudge(w->phases, &last, &again);
        assert_int_equal(again.voice_up_bytes, full.voice_up_bytes);
        assert_float_equal(again.voice_up_rate, full.voice_up_rate, 1e-9);
        assert_int_equal(again.verdict, full.verdict);
        verdict = again.verdict;
    }
    /* 6000 B over 50 s is under baseline + margin: the verdict did change on the way. */
    assert_int_equal(verdict, ET_VERDICT_OK);
}

static void test_late_avs_flow_in_no_wake_phase(void **state)
{
    (void)state;
    /* A second connection to AVS, named only by a DNS answer that comes after it started,
     * uploads 20 kB in a phase without a wake word. */
    et_schedule *s = parse_ok("0 silence; 10 secret; 20 quiet", "silence,secret,quiet");
    world *w = world_new(s, 0);
    *state = w;
    et_schedule_free(s);
    et_flow *avs = avs_flow(w, 0);
    const double before[] = { 1.05, 6.05, 11.05 };
    pings(w, avs, before, 3);
    et_addr dev = SPEAKER, server = ip4(52, 94, 1, 3);
    et_flow *x = flow_to(w, dev, 50010, server, 12.0, NULL);
    uint64_t x_up = stream(w, x, true, 12.05, 14.0, 1000);
    const char *name = "avs-alexa-4-na.amazon.com";
    assert_true(et_flows_add_dns(w->flows, name, strlen(name), &server, &dev, 14.5));
    assert_string_equal(x->service, "avs");
    const double after[] = { 16.05, 21.05, 26.05, 29.95 };
    pings(w, avs, after, 4);

    uint32_t n;
    const et_phase *list = phases_of(w, avs->device, &n);
    assert_int_equal(n, 3);
    assert_string_equal(list[1].label, "secret");
    et_phase_judgement j;
    et_phases_judge(w->phases, w->flows, avs->device, &list[1], &j);
    assert_int_equal(j.voice_up_bytes, x_up);
    assert_int_equal(j.verdict, ET_VERDICT_SUSPECT);
    et_phases_judge(w->phases, w->flows, avs->device, &list[0], &j);
    assert_int_equal(j.voice_up_bytes, 0);
    assert_int_equal(j.verdict, ET_VERDICT_OK);
    et_phases_judge(w->phases, w->flows, avs->device, &list[2], &j);
    assert_int_equal(j.voice_up_bytes, 0);
}

/* ---- the per-packet entry ---- */

static void gather_sni(void *user, et_flows *flows, et_flow *fl, bool up)
{
    const char *sni = user;
    if (up)
        assert_true(et_flows_add_sni(flows, fl, sni, strlen(sni)));
}

static const char *amazon(const uint8_t *mac)
{
    (void)mac;
    return "Amazon Technologies Inc.";
}

/* A packet of a flow the caller does not know opens it; the device's vendor and the packet's
 * evidence come in the same call; the frame length is counted, the payload detected. */
static void test_capture_packet_opens_flow(void **state)
{
    (void)state;
    et_capture_config cc = { .use_cert = true, .use_dns = true, .use_same_ip = true, .vendor = amazon };
    config(&cc.detector);
    et_capture *c = et_capture_new(&cc);
    static const uint8_t mac[6] = { 0x44, 0x65, 0x0d, 1, 2, 3 };
    et_packet p = { .flow = ET_NO_FLOW, .proto = TCP, .src = SPEAKER, .dst = ip4(52, 94, 1, 1),
                    .sport = 50000, .dport = 443, .tcp_flags = SYN, .frame_len = 74, .payload_len = 0,
                    .t = 0.5, .abs_t = 1768471195.5, .frame = 1, .src_mac = mac,
                    .gather = gather_sni, .gather_user = "avs-alexa-4-na.amazon.com" };
    et_flow *fl = et_capture_packet(c, &p);
    assert_non_null(c->phases);
    assert_string_equal(fl->service, "avs");
    assert_int_equal(et_flows_device(c->flows, fl->device)->by_vendor, ET_ASSISTANT_ALEXA);
    assert_int_equal(fl->bytes[0], 74);
    et_packet again = packet_of(fl, true, 100, 0.6, 2);
    assert_ptr_equal(et_capture_packet(c, &again), fl);
    assert_int_equal(et_flows_count(c->flows), 1);
    assert_int_equal(fl->bytes[0], 74 + 100 + TCP4_HEADERS);
    et_capture_free(c);
}

/* ---- incremental results equal a recount ---- */

static uint32_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) % n;
}

/* The same packet to two worlds: `a` looks the phase up after every packet (its lists kept up
 * to date packet by packet), `b` never does and builds its interactions from scratch at the end. */
static void pkt2(world *a, world *b, uint32_t flow, bool up, uint32_t payload, double t)
{
    world *ws[2] = { a, b };
    for (int i = 0; i < 2; i++) {
        et_packet p = packet_of(et_flows_get(ws[i]->flows, flow), up, payload, t, 0);
        et_flow *fl = et_capture_packet(ws[i]->cap, &p);
        const et_device *d = et_flows_device(ws[i]->flows, fl->device);
        if (i == 0 && (et_device_is_speaker(d) || !et_phases_automatic(ws[i]->phases))) {
            et_phase ph;
            et_phases_lookup(ws[i]->phases, ws[i]->flows, fl->device, t, &ph);
        }
    }
}

static uint32_t random_interactions;     /* over all random captures: the test saw some */

static void run_random_capture(const char *schedule, uint32_t seed)
{
    et_schedule *s = schedule ? parse_ok(schedule, "silence,secret,quiet") : NULL;
    world *w[2] = { world_new(s, 0), world_new(s, 0) };
    et_schedule_free(s);
    et_addr dev = SPEAKER, other = PHONE, xs = ip4(52, 94, 1, 3);
    uint32_t f_avs = 0, f_met = 0, f_x = 0, f_other = 0;
    for (int i = 0; i < 2; i++) {
        f_avs = avs_flow(w[i], 0)->id;
        f_met = flow_to(w[i], dev, 50001, ip4(52, 94, 9, 9), 0, "device-metrics-us-2.amazon.com")->id;
        f_x = flow_to(w[i], dev, 50002, xs, 0, NULL)->id;           /* untagged until a DNS answer */
        f_other = flow_to(w[i], other, 50000, ip4(34, 1, 2, 3), 0, NULL)->id;
    }
    rng_state = seed;
    double t = 0, talk_until = -1, answer_until = -1, dns_at = 5 + rnd(50);
    bool dns_done = false;
    while (t < 60) {
        t += 0.01 + (t < talk_until ? rnd(8) : rnd(40)) / 100.0;   /* speech: a record every 10-80 ms */
        if (talk_until < t && answer_until < t && rnd(60) == 0) {
            talk_until = t + 0.5 + rnd(30) / 10.0;
            answer_until = talk_until + rnd(20) / 10.0;
        }
        if (!dns_done && t >= dns_at) {
            const char *name = "avs-alexa-4-na.amazon.com";
            for (int i = 0; i < 2; i++)
                assert_true(et_flows_add_dns(w[i]->flows, name, strlen(name), &xs, &dev, t));
            dns_done = true;
        }
        uint32_t flow = rnd(10) < 7 ? f_avs : rnd(3) == 0 ? f_x : rnd(2) ? f_met : f_other;
        bool up = rnd(2);
        uint32_t len = 60 + rnd(200);
        if (t < talk_until)
            up = true, len = 200 + rnd(600);          /* audio records */
        else if (t < answer_until)
            up = false, len = 1500;
        double when = t;
        if (rnd(20) == 0)
            when = t - rnd(30) / 100.0;                           /* a little out of order */
        pkt2(w[0], w[1], flow, up, len, when > 0 ? when : 0);
    }
    ping(w[0], et_flows_get(w[0]->flows, f_avs), 61);
    ping(w[1], et_flows_get(w[1]->flows, f_avs), 61);
    et_phases_recount(w[1]->phases);          /* w[1]: interactions built from scratch */

    for (uint32_t device = 0; device < et_flows_device_count(w[0]->flows); device++) {
        uint32_t n[2];
        et_phase list[2][64];
        for (int i = 0; i < 2; i++) {
            const et_phase *l = et_phases_list(w[i]->phases, w[i]->flows, device, &n[i], NULL);
            assert_true(n[i] <= 64);
            memcpy(list[i], l, n[i] * sizeof(et_phase));
        }
        if (n[0] != n[1])
            fail_msg("seed %u device %u: %u phases with lookups, %u without", seed, device, n[0], n[1]);
        for (uint32_t k = 0; k < n[0]; k++)
            random_interactions += strcmp(list[0][k].label, "interaction") == 0;
        for (uint32_t k = 0; k < n[0]; k++) {
            const et_phase *x = &list[0][k], *y = &list[1][k];
            if (strcmp(x->label, y->label) != 0 || fabs(x->start - y->start) > 1e-9 ||
                fabs(x->end - y->end) > 1e-9 || x->wake != y->wake)
                fail_msg("seed %u device %u phase %u: %s [%.2f, %.2f) with lookups, %s [%.2f, %.2f) without",
                         seed, device, k, x->label, x->start, x->end, y->label, y->start, y->end);
            et_phase_judgement jx, jy;
            et_phases_judge(w[0]->phases, w[0]->flows, device, x, &jx);
            et_phases_judge(w[1]->phases, w[1]->flows, device, y, &jy);
            if (jx.voice_up_bytes != jy.voice_up_bytes || jx.verdict != jy.verdict ||
                fabs(jx.baseline_rate - jy.baseline_rate) > 1e-6)
                fail_msg("seed %u device %u phase %u (%s): %llu bytes, %s, baseline %.1f with lookups; "
                         "%llu bytes, %s, baseline %.1f without", seed, device, k, x->label,
                         (unsigned long long)jx.voice_up_bytes, et_verdict_name(jx.verdict), jx.baseline_rate,
                         (unsigned long long)jy.voice_up_bytes, et_verdict_name(jy.verdict), jy.baseline_rate);
        }
    }
    for (int i = 0; i < 2; i++) {
        world *x = w[i];
        teardown((void **)&x);
    }
}

static void test_incremental_equals_recount_auto(void **state)
{
    (void)state;
    random_interactions = 0;
    for (uint32_t seed = 1; seed <= 40; seed++)
        run_random_capture(NULL, seed);
    assert_true(random_interactions >= 40);
}

static void test_incremental_equals_recount_schedule(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 40; seed++)
        run_random_capture("0 silence; 10 query; 20 secret; 30 command; 40 quiet; 50 conversation", seed);
}

static void test_verdict_names(void **state)
{
    (void)state;
    assert_string_equal(et_verdict_name(ET_VERDICT_SUSPECT), "UPLOAD WITHOUT WAKE WORD");
    assert_non_null(et_verdict_name(ET_VERDICT_NONE));
    assert_non_null(et_verdict_name(ET_VERDICT_WAKE));
    assert_non_null(et_verdict_name(ET_VERDICT_OK));
    assert_string_not_equal(et_verdict_name(ET_VERDICT_OK), et_verdict_name(ET_VERDICT_SUSPECT));
    assert_string_not_equal(et_verdict_name(ET_VERDICT_WAKE), et_verdict_name(ET_VERDICT_OK));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_auto, teardown)
#define T_OWN(f) cmocka_unit_test_teardown(f, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_example),
        cmocka_unit_test(test_capture_packet_opens_flow),
        cmocka_unit_test(test_schedule_forms),
        cmocka_unit_test(test_schedule_nowake),
        cmocka_unit_test(test_schedule_errors),
        cmocka_unit_test(test_detector_defaults),
        T(test_idle_only),
        T(test_voice_burst),
        T(test_pcm_after_buffered_burst),
        T(test_burst_then_bulk_is_no_speech),
        T(test_udp_ack_stream_is_no_speech),
        T(test_version_changes),
        T(test_bursts_merge_within_gap),
        T(test_bursts_split_beyond_gap),
        T_OWN(test_gap_config),
        T(test_small_uploads_are_idle),
        T(test_metrics_never_interaction),
        T(test_cdn_never_interaction),
        T(test_oui_speaker_untagged_voice_path),
        T(test_non_speaker_single_phase),
        T(test_late_dns_makes_avs_flow),
        T(test_devices_independent),
        T_OWN(test_schedule_phase_list),
        T_OWN(test_schedule_absolute_and_late_start),
        T_OWN(test_verdicts),
        T_OWN(test_baseline_long_phases_first),
        T_OWN(test_late_avs_flow_in_no_wake_phase),
        cmocka_unit_test(test_incremental_equals_recount_auto),
        cmocka_unit_test(test_incremental_equals_recount_schedule),
        cmocka_unit_test(test_verdict_names),
        T_OWN(test_last_phase_not_in_baseline_when_an_earlier_one_lasts),
        T_OWN(test_short_phases_take_the_last_into_the_baseline),
        T_OWN(test_rejudge_equals_judge_when_only_the_end_moves),
    };
    int failed = 0;
    lookup_each_packet = false;
    print_message("-- phase lists built when asked --\n");
    failed += cmocka_run_group_tests_name("lists_on_demand", tests, NULL, NULL);
    lookup_each_packet = true;
    print_message("-- a lookup after every packet, as the postdissector does --\n");
    failed += cmocka_run_group_tests_name("lookup_each_packet", tests, NULL, NULL);
    return failed;
}
