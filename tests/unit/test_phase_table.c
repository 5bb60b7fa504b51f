/* test_phase_table.c - unit tests of phase_table.[ch]: the phases table kept after every packet.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The contract (phase_table.h): after every packet, the rows equal a table recounted from scratch
 * from the same packets, with every flow's current class and every device's current phase list,
 * and every row whose values changed is reported by et_ptable_changed. The recount here is
 * written independently of the module: a packet belongs to the phase whose time span holds it
 * (automatic phases: whose bins hold its bin), its bytes to its flow's current group; the
 * judgement is et_phases_judge's.
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
#include "phase_table.h"
#include "unit_helpers.h"

#define TCP 6
#define SYN 0x02

typedef struct packet {
    uint32_t flow;
    bool up;
    uint32_t len;
    double t;
} packet;

typedef struct world {
    et_capture *cap;
    et_flows *flows;           /* cap's */
    et_phases *phases;         /* cap's */
    et_ptable *table;
    GArray *packets;           /* packet: everything counted so far */
    GArray *mirror;            /* et_ptable_row: the rows as et_ptable_changed reported them */
    /* A second table over the same detector, as when tshark runs echotap,phases and
     * echotap,phase_packets: what one table learns from the detector must not hide it from the other. */
    et_ptable *other;
    GArray *other_mirror;
    uint32_t frame;
} world;

static world *world_new(const char *schedule)
{
    world *w = calloc(1, sizeof(*w));
    et_capture_config cc = { .use_cert = true, .use_dns = true, .use_same_ip = true,
                             .detector = { .bin = 0.1, .gap = 1.0, .min_voice_bytes = 4000, .margin = 1000.0 } };
    et_schedule *s = NULL;
    if (schedule) {
        char *err = NULL;
        s = et_schedule_parse(schedule, "silence,secret,quiet", &err);
        assert_non_null(s);
    }
    cc.schedule = s;
    w->cap = et_capture_new(&cc);
    et_capture_start(w->cap, 1768471195.0);
    et_schedule_free(s);
    w->flows = w->cap->flows;
    w->phases = w->cap->phases;
    w->table = et_ptable_new();
    w->packets = g_array_new(FALSE, FALSE, sizeof(packet));
    w->mirror = g_array_new(FALSE, TRUE, sizeof(et_ptable_row));
    w->other = et_ptable_new();
    w->other_mirror = g_array_new(FALSE, TRUE, sizeof(et_ptable_row));
    w->frame = 1;
    return w;
}

static void world_free(world *w)
{
    et_ptable_free(w->table);
    et_ptable_free(w->other);
    et_capture_free(w->cap);
    g_array_free(w->packets, TRUE);
    g_array_free(w->mirror, TRUE);
    g_array_free(w->other_mirror, TRUE);
    free(w);
}


static uint32_t flow_to(world *w, et_addr dev, uint16_t port, et_addr server, const char *sni)
{
    et_flow *fl = et_flows_add(w->flows, TCP, &dev, port, &server, 443, SYN, 0);
    if (sni)
        assert_true(et_flows_add_sni(w->flows, fl, sni, strlen(sni)));
    return fl->id;
}

/* The glue's copy of a table: what et_ptable_changed and et_ptable_silent report. */
static void take_changes(et_ptable *table, GArray *mirror)
{
    size_t n;
    const uint32_t *changed = et_ptable_changed(table, &n);
    /* The mirror takes what the stat_tap_table glue takes: a tail-only row's duration and
     * judgement, every other row whole; each row once. */
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < i; k++)
            assert_true(changed[k] != changed[i]);
        const et_ptable_row *r = et_ptable_get(table, changed[i]);
        if (mirror->len <= changed[i])
            g_array_set_size(mirror, changed[i] + 1);
        et_ptable_row *m = &g_array_index(mirror, et_ptable_row, changed[i]);
        if (r->tail_only) {
            m->duration = r->duration;
            m->verdict = r->verdict;
            m->voice_up_rate = r->voice_up_rate;
        } else {
            *m = *r;
        }
    }
    /* A silent row's duration is end - start, from the start the glue wrote. */
    double end;
    const uint32_t *silent = et_ptable_silent(table, &n, &end);
    for (size_t i = 0; i < n; i++) {
        et_ptable_row *m = &g_array_index(mirror, et_ptable_row, silent[i]);
        m->duration = end - m->start;
    }
}

/* One packet carrying payload bytes as the plugin sees it in one pass: the capture first, then
 * the tables, which count the frame. */
static void pkt(world *w, uint32_t flow, bool up, uint32_t payload, double t)
{
    et_packet in = packet_of(et_flows_get(w->flows, flow), up, payload, t, w->frame++);
    et_flow *fl = et_capture_packet(w->cap, &in);
    const et_device *d = et_flows_device(w->flows, fl->device);
    if (et_device_is_speaker(d) || !et_phases_automatic(w->phases)) {
        et_phase ph;                    /* the postdissector's lookup */
        et_phases_lookup(w->phases, w->flows, fl->device, t, &ph);
    }
    et_ptable_packet(w->table, w->phases, w->flows, fl, up, in.frame_len, t);
    take_changes(w->table, w->mirror);
    et_ptable_packet(w->other, w->phases, w->flows, fl, up, in.frame_len, t);
    take_changes(w->other, w->other_mirror);
    packet p = { flow, up, in.frame_len, t };
    g_array_append_val(w->packets, p);
}

static bool close_to(double a, double b)
{
    return fabs(a - b) <= 1e-6 * (1 + fabs(a) + fabs(b));
}

static bool same_row(const et_ptable_row *a, const et_ptable_row *b)
{
    return a->device == b->device && a->index == b->index && a->placed == b->placed &&
           g_strcmp0(a->label, b->label) == 0 && a->start == b->start && a->duration == b->duration &&
           memcmp(&a->cells, &b->cells, sizeof(a->cells)) == 0 &&
           a->voice_up_bytes == b->voice_up_bytes && a->voice_up_rate == b->voice_up_rate &&
           a->speech_s == b->speech_s && g_strcmp0(a->verdict, b->verdict) == 0;
}

/* The row of (device, index), or NULL. */
static const et_ptable_row *row_of(const GArray *mirror, uint32_t device, uint32_t index)
{
    for (uint32_t r = 0; r < mirror->len; r++) {
        const et_ptable_row *x = &g_array_index(mirror, et_ptable_row, r);
        if (x->device == device && x->index == index)
            return x;
    }
    return NULL;
}

/* The table recounted from w->packets equals the rows kept incrementally, and those equal what
 * et_ptable_changed reported. */
static void assert_table_equals_recount(world *w, et_ptable *table, const GArray *mirror, const char *what,
                                        uint32_t seed)
{
    uint32_t rows = et_ptable_rows(table);
    if (rows != mirror->len)
        fail_msg("%s seed %u packet %u: %u rows, %u reported", what, seed, w->packets->len, rows, mirror->len);
    for (uint32_t r = 0; r < rows; r++) {
        if (!same_row(et_ptable_get(table, r), &g_array_index(mirror, et_ptable_row, r)))
            fail_msg("%s seed %u packet %u: row %u changed without being reported", what, seed, w->packets->len, r);
    }
    bool automatic = et_phases_automatic(w->phases);
    uint32_t seen = 0;
    for (uint32_t device = 0; device < et_flows_device_count(w->flows); device++) {
        uint32_t n;
        const et_phase *list = et_phases_list(w->phases, w->flows, device, &n, NULL);
        for (uint32_t i = 0; i < n; i++) {
            const et_phase *ph = &list[i];
            et_cells want = { 0 };
            for (guint k = 0; k < w->packets->len; k++) {
                const packet *p = &g_array_index(w->packets, packet, k);
                const et_flow *fl = et_flows_get(w->flows, p->flow);
                if (fl->device != device)
                    continue;
                bool in;
                if (automatic) {
                    uint32_t bin = et_phases_bin(w->phases, p->t);
                    in = bin >= et_phases_bin(w->phases, ph->start) &&
                         (i + 1 == n || bin < et_phases_bin(w->phases, ph->end));
                } else {
                    in = (i == 0 || p->t >= ph->start) && (i + 1 == n || p->t < ph->end);
                }
                if (in) {
                    want.bytes[et_flow_group(fl)][p->up ? 0 : 1] += p->len;
                    want.packets[et_flow_group(fl)][p->up ? 0 : 1]++;
                }
            }
            et_phase_judgement j;
            et_phases_judge(w->phases, w->flows, device, ph, &j);
            const et_ptable_row *x = row_of(mirror, device, i);
            if (x == NULL)
                fail_msg("%s seed %u packet %u: no row for device %u phase %u", what, seed, w->packets->len, device, i);
            double duration = ph->end - ph->start;
            if (!x->placed || strcmp(x->label, ph->label) != 0 || x->start != ph->start ||
                !close_to(x->duration, duration))
                fail_msg("%s seed %u packet %u device %u phase %u: row %s [%.3f +%.3f], recount %s [%.3f +%.3f]", what,
                         seed, w->packets->len, device, i, x->label, x->start, x->duration, ph->label, ph->start,
                         duration);
            for (int g = 0; g < ET_GROUP_COUNT; g++) {
                for (int d = 0; d < 2; d++) {
                    if (x->cells.bytes[g][d] != want.bytes[g][d] || x->cells.packets[g][d] != want.packets[g][d])
                        fail_msg("%s seed %u packet %u device %u phase %u (%s) group %s %s: row %llu bytes %llu "
                                 "packets, recount %llu bytes %llu packets", what, seed, w->packets->len, device, i,
                                 ph->label, et_group_name((et_group)g), d ? "down" : "up",
                                 (unsigned long long)x->cells.bytes[g][d], (unsigned long long)x->cells.packets[g][d],
                                 (unsigned long long)want.bytes[g][d], (unsigned long long)want.packets[g][d]);
                }
            }
            if (strcmp(x->verdict, et_verdict_name(j.verdict)) != 0 || x->voice_up_bytes != j.voice_up_bytes ||
                !close_to(x->voice_up_rate, j.voice_up_rate) || !close_to(x->speech_s, j.speech_s))
                fail_msg("%s seed %u packet %u device %u phase %u (%s): row %s, %llu B at %.3f B/s, %.3f s; "
                         "recount %s, %llu B at %.3f B/s, %.3f s", what, seed, w->packets->len,
                         device, i, ph->label, x->verdict, (unsigned long long)x->voice_up_bytes, x->voice_up_rate,
                         x->speech_s, et_verdict_name(j.verdict),
                         (unsigned long long)j.voice_up_bytes, j.voice_up_rate, j.speech_s);
            seen++;
        }
        /* Rows of phases that no longer exist (merged): shown empty. */
        for (uint32_t r = 0; r < rows; r++) {
            const et_ptable_row *x = et_ptable_get(table, r);
            if (x->device != device || x->index < n)
                continue;
            et_cells zero = { 0 };
            if (strcmp(x->verdict, ET_PTABLE_MERGED) != 0 || strcmp(x->label, "-") != 0 ||
                memcmp(&x->cells, &zero, sizeof(zero)) != 0 || x->duration != 0 || x->voice_up_bytes != 0)
                fail_msg("%s seed %u packet %u device %u: row %u of phase %u (of %u) is not shown merged",
                         what, seed, w->packets->len, device, r, x->index, n);
            seen++;
        }
    }
    if (seen != rows)
        fail_msg("%s seed %u packet %u: %u rows, %u accounted for", what, seed, w->packets->len, rows, seen);
}

static void assert_equals_recount(world *w, const char *what, uint32_t seed)
{
    assert_table_equals_recount(w, w->table, w->mirror, what, seed);
    assert_table_equals_recount(w, w->other, w->other_mirror, what, seed);
}

static uint32_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) % n;
}

/* Random traffic of two speakers and a phone: talk bursts with answers, keep-alives, telemetry,
 * downloads, out-of-order packets; flows whose class arrives late (a DNS answer); a phone that
 * only later turns out to be a speaker. Checked after every packet. */
static void run_random(const char *schedule, uint32_t seed)
{
    world *w = world_new(schedule);
    const char *what = schedule ? "schedule" : "automatic";
    et_addr spk = ip4(192, 168, 1, 10), spk2 = ip4(192, 168, 1, 11), phone = ip4(192, 168, 1, 20);
    et_addr late_avs = ip4(52, 94, 1, 3), late_cdn = ip4(13, 32, 5, 5), late_phone = ip4(52, 94, 7, 7);
    uint32_t flows[] = {
        flow_to(w, spk, 50000, ip4(52, 94, 1, 1), "avs-alexa-4-na.amazon.com"),
        flow_to(w, spk, 50001, ip4(52, 94, 9, 9), "device-metrics-us-2.amazon.com"),
        flow_to(w, spk, 50002, late_avs, NULL),               /* avs after a DNS answer */
        flow_to(w, spk, 50003, late_cdn, NULL),               /* cdn after a DNS answer */
        flow_to(w, spk2, 50000, ip4(52, 94, 1, 2), "avs-alexa-12-eu.amazon.com"),
        flow_to(w, spk2, 50001, ip4(34, 1, 2, 4), "api.amazonalexa.com"),
        flow_to(w, phone, 50000, ip4(34, 1, 2, 3), NULL),     /* untagged */
        flow_to(w, phone, 50001, late_phone, NULL),           /* the phone is a speaker after all */
    };
    uint32_t n_flows = sizeof(flows) / sizeof(flows[0]);
    rng_state = seed;
    double t = 0, talk_until = -1, answer_until = -1;
    uint32_t talker = 0;
    double dns_at[3] = { 3 + rnd(40), 3 + rnd(40), 10 + rnd(35) };
    bool dns_done[3] = { false, false, false };
    while (t < 45) {
        t += 0.01 + rnd(30) / 100.0;
        if (talk_until < t && answer_until < t && rnd(50) == 0) {
            talker = rnd(3) == 0 ? 4 : rnd(2) ? 0 : 2;
            talk_until = t + 0.5 + rnd(30) / 10.0;
            answer_until = talk_until + rnd(20) / 10.0;
        }
        static const char *names[3] = { "avs-alexa-4-na.amazon.com", "d1abc.cloudfront.net",
                                        "avs-alexa-7-na.amazon.com" };
        const et_addr *addrs[3] = { &late_avs, &late_cdn, &late_phone };
        const et_addr *clients[3] = { &spk, &spk, &phone };
        for (int k = 0; k < 3; k++) {
            if (!dns_done[k] && t >= dns_at[k]) {
                assert_true(et_flows_add_dns(w->flows, names[k], strlen(names[k]), addrs[k], clients[k], t));
                dns_done[k] = true;
            }
        }
        uint32_t flow = flows[rnd(n_flows)];
        bool up = rnd(2);
        uint32_t len = 60 + rnd(200);
        if (t < talk_until && rnd(3)) {
            flow = flows[talker];
            up = true, len = 1000 + rnd(3000);
        } else if (t < answer_until && rnd(3)) {
            flow = flows[talker];
            up = false, len = 1500;
        } else if (flow == flows[3] && !up) {
            len = 1500;                                       /* a download */
        }
        double when = t;
        if (rnd(20) == 0)
            when = t - rnd(30) / 100.0;                       /* a little out of order */
        pkt(w, flow, up, len, when > 0 ? when : 0);
        assert_equals_recount(w, what, seed);
    }
    world_free(w);
}

static void test_incremental_equals_recount_auto(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 25; seed++)
        run_random(NULL, seed);
}

static void test_incremental_equals_recount_schedule(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 25; seed++)
        run_random("0 silence; 8 query; 15 secret; 22 command; 30 quiet; 38 conversation", seed);
}

/* ---- small cases with known values ---- */

static void test_schedule_rows(void **state)
{
    (void)state;
    world *w = world_new("0 silence; 10 query; 20 quiet");
    et_addr spk = ip4(192, 168, 1, 10);
    uint32_t avs = flow_to(w, spk, 50000, ip4(52, 94, 1, 1), "avs-alexa-4-na.amazon.com");
    pkt(w, avs, true, 100, 1.0);
    /* The device's three phases, in order, placed; the first holds the packet. */
    assert_int_equal(et_ptable_rows(w->table), 3);
    const char *labels[] = { "silence", "query", "quiet" };
    for (uint32_t i = 0; i < 3; i++) {
        const et_ptable_row *r = et_ptable_get(w->table, i);
        assert_true(r->placed);
        assert_int_equal(r->device, 0);
        assert_int_equal(r->index, i);
        assert_string_equal(r->label, labels[i]);
    }
    assert_int_equal(et_ptable_get(w->table, 0)->cells.bytes[ET_GROUP_VOICE][0], 100 + TCP4_HEADERS);
    assert_int_equal(et_ptable_get(w->table, 0)->cells.packets[ET_GROUP_VOICE][0], 1);
    pkt(w, avs, false, 300, 12.0);
    assert_int_equal(et_ptable_get(w->table, 1)->cells.bytes[ET_GROUP_VOICE][1], 300 + TCP4_HEADERS);
    /* Nothing changed without a packet; a packet of one phase reports its row. */
    size_t n;
    et_ptable_changed(w->table, &n);
    assert_int_equal(n, 0);
    pkt(w, avs, true, 50, 25.0);
    assert_equals_recount(w, "schedule rows", 0);
    assert_float_equal(et_ptable_get(w->table, 2)->duration, 5.0, 1e-9);
    world_free(w);
}

/* A flow's class known only later: its counted bytes move to the new group's columns. */
static void test_class_change_moves_counts(void **state)
{
    (void)state;
    world *w = world_new("0 silence; 10 query");
    et_addr spk = ip4(192, 168, 1, 10), server = ip4(52, 94, 1, 3);
    uint32_t avs = flow_to(w, spk, 50000, ip4(52, 94, 1, 1), "avs-alexa-4-na.amazon.com");
    uint32_t x = flow_to(w, spk, 50001, server, NULL);
    pkt(w, avs, true, 100, 0.5);
    pkt(w, x, true, 700, 1.0);
    assert_int_equal(et_ptable_get(w->table, 0)->cells.bytes[ET_GROUP_UNTAGGED][0], 700 + TCP4_HEADERS);
    const char *name = "avs-alexa-4-na.amazon.com";
    assert_true(et_flows_add_dns(w->flows, name, strlen(name), &server, &spk, 11));
    pkt(w, avs, false, 100, 11.5);
    const et_ptable_row *r = et_ptable_get(w->table, 0);
    assert_int_equal(r->cells.bytes[ET_GROUP_UNTAGGED][0], 0);
    assert_int_equal(r->cells.bytes[ET_GROUP_VOICE][0], 800 + 2 * TCP4_HEADERS);
    assert_int_equal(r->cells.packets[ET_GROUP_VOICE][0], 2);
    assert_equals_recount(w, "class change", 0);
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_rows),
        cmocka_unit_test(test_class_change_moves_counts),
        cmocka_unit_test(test_incremental_equals_recount_auto),
        cmocka_unit_test(test_incremental_equals_recount_schedule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
