/* test_stats.c - unit tests of stats.[ch]: counts per (device, key) row, exact while flows change class.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Expected values come from stats.h: a packet's frame length and one packet go to its flow's
 * current group and direction in the row (device, key); when a flow's class changes, everything
 * it counted moves to its new group; et_acc_dirty lists each changed row once; et_acc_take_delta
 * hands out what changed in a row since it was last taken; et_acc_sum adds a device's rows with
 * lo <= key < hi. et_split: a packet's bytes go to its flow's part of the row (device, key), rows
 * numbered in the order they appear; split by each flow's group when read, the rows equal a
 * recount with the flows' current groups.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "stats.h"
#include "unit_helpers.h"

#define TCP 6
#define SYN 0x02

typedef struct world {
    et_ruleset *rules;
    et_flows *flows;
    et_acc *acc;
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    w->rules = et_ruleset_new();
    et_ruleset_add_builtin(w->rules);
    et_flow_config fc = { true, true, true, NULL, NULL };
    w->flows = et_flows_new(w->rules, &fc);
    w->acc = et_acc_new();
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    et_acc_free(w->acc);
    et_flows_free(w->flows);
    et_ruleset_free(w->rules);
    free(w);
    return 0;
}


static et_flow *flow_to(world *w, et_addr dev, uint16_t port, et_addr server, const char *sni)
{
    et_flow *fl = et_flows_add(w->flows, TCP, &dev, port, &server, 443, SYN, 0);
    if (sni)
        assert_true(et_flows_add_sni(w->flows, fl, sni, strlen(sni)));
    return fl;
}

static uint32_t add(world *w, const et_flow *fl, bool up, uint32_t len, int64_t key)
{
    return et_acc_add(w->acc, w->flows, fl, up, len, key);
}

/* The dirty rows, sorted, as a bit set of row ids < 64. */
static uint64_t dirty_set(world *w)
{
    size_t n;
    const uint32_t *rows = et_acc_dirty(w->acc, &n);
    uint64_t set = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(rows[i] < 64);
        assert_false(set & (1ull << rows[i]));               /* each once */
        set |= 1ull << rows[i];
    }
    return set;
}

static void test_cells_helpers(void **state)
{
    (void)state;
    et_cells a = { 0 }, b = { 0 };
    a.bytes[ET_GROUP_VOICE][0] = 10;
    a.bytes[ET_GROUP_CDN][0] = 5;
    a.bytes[ET_GROUP_OTHER][1] = 7;
    a.packets[ET_GROUP_VOICE][0] = 2;
    a.packets[ET_GROUP_UNTAGGED][1] = 3;
    assert_int_equal(et_cells_bytes(&a, 0), 15);
    assert_int_equal(et_cells_bytes(&a, 1), 7);
    assert_int_equal(et_cells_packets(&a, 0), 2);
    assert_int_equal(et_cells_packets(&a, 1), 3);
    et_cells_add(&b, &a, 1);
    et_cells_add(&b, &a, 1);
    assert_int_equal(b.bytes[ET_GROUP_VOICE][0], 20);
    et_cells_add(&b, &a, -1);
    assert_memory_equal(&a, &b, sizeof(a));
}

static void test_add_counts_group_and_direction(void **state)
{
    world *w = *state;
    et_flow *avs = flow_to(w, SPEAKER, 50000, ip4(52, 94, 1, 1), "avs-alexa-4-na.amazon.com");
    et_flow *met = flow_to(w, SPEAKER, 50001, ip4(52, 94, 9, 9), "device-metrics-us-2.amazon.com");
    et_flow *phone = flow_to(w, PHONE, 50000, ip4(34, 1, 2, 3), NULL);
    uint32_t r0 = add(w, avs, true, 100, 0);
    assert_int_equal(add(w, avs, false, 1500, 0), r0);
    assert_int_equal(add(w, met, true, 60, 0), r0);            /* same device and key: same row */
    uint32_t r1 = add(w, avs, true, 200, 1);
    uint32_t r2 = add(w, phone, false, 80, 0);                 /* another device: another row */
    assert_int_not_equal(r0, r1);
    assert_int_not_equal(r0, r2);
    assert_int_equal(et_acc_rows(w->acc), 3);

    uint32_t device;
    int64_t key;
    const et_cells *c = et_acc_row(w->acc, r0, &device, &key);
    assert_int_equal(device, avs->device);
    assert_int_equal(key, 0);
    assert_int_equal(c->bytes[ET_GROUP_VOICE][0], 100);
    assert_int_equal(c->bytes[ET_GROUP_VOICE][1], 1500);
    assert_int_equal(c->packets[ET_GROUP_VOICE][0], 1);
    assert_int_equal(c->packets[ET_GROUP_VOICE][1], 1);
    assert_int_equal(c->bytes[ET_GROUP_METRICS][0], 60);
    assert_int_equal(et_cells_bytes(c, 0), 160);
    assert_int_equal(et_cells_packets(c, 0), 2);
    c = et_acc_row(w->acc, r2, &device, NULL);
    assert_int_equal(device, phone->device);
    assert_int_equal(c->bytes[ET_GROUP_UNTAGGED][1], 80);
    /* The row's flow: the first flow counted in it. */
    assert_int_equal(et_acc_row_flow(w->acc, r0), avs->id);
    assert_int_equal(et_acc_row_flow(w->acc, r2), phone->id);
}

static void test_dirty_rows_each_once(void **state)
{
    world *w = *state;
    et_flow *avs = flow_to(w, SPEAKER, 50000, ip4(52, 94, 1, 1), "avs-alexa-4-na.amazon.com");
    uint32_t r0 = add(w, avs, true, 100, 0);
    add(w, avs, true, 100, 0);
    uint32_t r1 = add(w, avs, true, 100, 5);
    assert_int_equal(dirty_set(w), (1ull << r0) | (1ull << r1));
    assert_int_equal(dirty_set(w), 0);                         /* taken */
    add(w, avs, false, 100, 5);
    assert_int_equal(dirty_set(w), 1ull << r1);
}

/* A flow counted untagged whose DNS answer arrives later: its counts in every row move to AVS,
 * and those rows are dirty. */
static void test_class_change_moves_counts(void **state)
{
    world *w = *state;
    et_addr dev = SPEAKER, server = ip4(52, 94, 1, 3);
    et_flow *x = flow_to(w, dev, 50002, server, NULL);
    et_flow *met = flow_to(w, dev, 50001, ip4(52, 94, 9, 9), "device-metrics-us-2.amazon.com");
    uint32_t r0 = add(w, x, true, 1000, 0);
    add(w, x, false, 300, 0);
    add(w, met, true, 60, 0);
    uint32_t r1 = add(w, x, true, 2000, 1);
    add(w, x, true, 500, 0);                                   /* out of order: back in row 0 */
    dirty_set(w);
    const et_cells *c0 = et_acc_row(w->acc, r0, NULL, NULL);
    assert_int_equal(c0->bytes[ET_GROUP_UNTAGGED][0], 1500);
    assert_int_equal(c0->packets[ET_GROUP_UNTAGGED][0], 2);

    const char *name = "avs-alexa-4-na.amazon.com";
    assert_true(et_flows_add_dns(w->flows, name, strlen(name), &server, &dev, 3));
    assert_int_equal(et_flow_group(x), ET_GROUP_VOICE);
    et_acc_sync(w->acc, w->flows);
    assert_int_equal(dirty_set(w), (1ull << r0) | (1ull << r1));
    c0 = et_acc_row(w->acc, r0, NULL, NULL);
    assert_int_equal(c0->bytes[ET_GROUP_UNTAGGED][0], 0);
    assert_int_equal(c0->packets[ET_GROUP_UNTAGGED][0], 0);
    assert_int_equal(c0->bytes[ET_GROUP_UNTAGGED][1], 0);
    assert_int_equal(c0->bytes[ET_GROUP_VOICE][0], 1500);
    assert_int_equal(c0->packets[ET_GROUP_VOICE][0], 2);
    assert_int_equal(c0->bytes[ET_GROUP_VOICE][1], 300);
    assert_int_equal(c0->bytes[ET_GROUP_METRICS][0], 60);     /* other flows stay */
    const et_cells *c1 = et_acc_row(w->acc, r1, NULL, NULL);
    assert_int_equal(c1->bytes[ET_GROUP_VOICE][0], 2000);
    assert_int_equal(et_cells_bytes(c1, 0), 2000);
    /* Later packets of the flow count in its new group; a second sync moves nothing. */
    add(w, x, true, 10, 1);
    et_acc_sync(w->acc, w->flows);
    c1 = et_acc_row(w->acc, r1, NULL, NULL);
    assert_int_equal(c1->bytes[ET_GROUP_VOICE][0], 2010);
    assert_int_equal(c1->bytes[ET_GROUP_UNTAGGED][0], 0);
}

/* et_acc_add reads the flow log itself: the move happens with the next packet, of any flow. */
static void test_add_syncs_first(void **state)
{
    world *w = *state;
    et_addr dev = SPEAKER, server = ip4(13, 32, 5, 5);
    et_flow *x = flow_to(w, dev, 50003, server, NULL);
    et_flow *avs = flow_to(w, dev, 50000, ip4(52, 94, 1, 1), "avs-alexa-4-na.amazon.com");
    uint32_t r0 = add(w, x, false, 1500, 0);
    const char *name = "d1abc.cloudfront.net";
    assert_true(et_flows_add_dns(w->flows, name, strlen(name), &server, &dev, 1));
    add(w, avs, true, 100, 0);
    const et_cells *c = et_acc_row(w->acc, r0, NULL, NULL);
    assert_int_equal(c->bytes[ET_GROUP_CDN][1], 1500);
    assert_int_equal(c->bytes[ET_GROUP_UNTAGGED][1], 0);
}

/* Deltas add up to the row: a table derived from rows stays equal to their sum. */
static void test_deltas(void **state)
{
    world *w = *state;
    et_addr dev = SPEAKER, server = ip4(52, 94, 1, 3);
    et_flow *x = flow_to(w, dev, 50002, server, NULL);
    uint32_t r0 = add(w, x, true, 1000, 0);
    et_cells d;
    et_acc_take_delta(w->acc, r0, &d);
    assert_int_equal(d.bytes[ET_GROUP_UNTAGGED][0], 1000);
    assert_int_equal(d.packets[ET_GROUP_UNTAGGED][0], 1);
    et_acc_take_delta(w->acc, r0, &d);
    et_cells zero = { 0 };
    assert_memory_equal(&d, &zero, sizeof(d));                 /* nothing new */
    add(w, x, true, 50, 0);
    const char *name = "avs-alexa-4-na.amazon.com";
    assert_true(et_flows_add_dns(w->flows, name, strlen(name), &server, &dev, 1));
    et_acc_sync(w->acc, w->flows);
    et_acc_take_delta(w->acc, r0, &d);
    /* The 1000 taken before leave Untagged; all 1050 arrive in AVS (two's complement). */
    assert_int_equal((int64_t)d.bytes[ET_GROUP_UNTAGGED][0], -1000);
    assert_int_equal((int64_t)d.packets[ET_GROUP_UNTAGGED][0], -1);
    assert_int_equal(d.bytes[ET_GROUP_VOICE][0], 1050);
    assert_int_equal(d.packets[ET_GROUP_VOICE][0], 2);
}

static void test_sums(void **state)
{
    world *w = *state;
    et_flow *avs = flow_to(w, SPEAKER, 50000, ip4(52, 94, 1, 1), "avs-alexa-4-na.amazon.com");
    et_flow *phone = flow_to(w, PHONE, 50000, ip4(34, 1, 2, 3), NULL);
    const int64_t keys[] = { 7, 2, 5, 0, 9, 3 };               /* not in order */
    for (size_t i = 0; i < 6; i++)
        add(w, avs, true, (uint32_t)(10 * (keys[i] + 1)), keys[i]);
    add(w, phone, true, 1000, 3);
    et_cells s;
    et_acc_sum(w->acc, avs->device, 2, 6, &s);                 /* keys 2, 3, 5 */
    assert_int_equal(s.bytes[ET_GROUP_VOICE][0], 30 + 40 + 60);
    assert_int_equal(s.packets[ET_GROUP_VOICE][0], 3);
    assert_int_equal(s.bytes[ET_GROUP_UNTAGGED][0], 0);        /* the phone's row is not the speaker's */
    et_acc_sum(w->acc, avs->device, 0, INT64_MAX, &s);
    assert_int_equal(s.bytes[ET_GROUP_VOICE][0], 10 + 30 + 40 + 60 + 80 + 100);
    et_acc_sum(w->acc, avs->device, 10, 20, &s);
    assert_int_equal(et_cells_bytes(&s, 0), 0);
    et_acc_sum(w->acc, phone->device, 3, 4, &s);
    assert_int_equal(s.bytes[ET_GROUP_UNTAGGED][0], 1000);
    et_acc_sum(w->acc, 99, 0, INT64_MAX, &s);                  /* an unknown device: nothing */
    assert_int_equal(et_cells_bytes(&s, 0) + et_cells_bytes(&s, 1), 0);
}

/* Random packets and late classes: every row equals a recount with the flows' current groups. */
static void test_rows_equal_recount(void **state)
{
    world *w = *state;
    et_addr dev = SPEAKER, late = ip4(52, 94, 1, 3);
    et_flow *fl[4] = {
        flow_to(w, dev, 50000, ip4(52, 94, 1, 1), "avs-alexa-4-na.amazon.com"),
        flow_to(w, dev, 50001, late, NULL),
        flow_to(w, PHONE, 50000, ip4(34, 1, 2, 3), NULL),
        flow_to(w, dev, 50002, ip4(52, 94, 9, 9), "device-metrics-us-2.amazon.com"),
    };
    typedef struct { uint32_t flow; bool up; uint32_t len; int64_t key; } pk;
    GArray *pks = g_array_new(FALSE, FALSE, sizeof(pk));
    uint32_t rng = 7;
    for (int i = 0; i < 400; i++) {
        rng = rng * 1103515245u + 12345u;
        pk p = { fl[(rng >> 8) % 4]->id, (rng >> 12) & 1, 60 + (rng >> 16) % 1400, (int64_t)((rng >> 20) % 12) };
        if (i == 200) {
            const char *name = "avs-alexa-4-na.amazon.com";
            assert_true(et_flows_add_dns(w->flows, name, strlen(name), &late, &dev, 1));
        }
        add(w, et_flows_get(w->flows, p.flow), p.up, p.len, p.key);
        g_array_append_val(pks, p);
        for (uint32_t r = 0; r < et_acc_rows(w->acc); r++) {
            uint32_t device;
            int64_t key;
            const et_cells *got = et_acc_row(w->acc, r, &device, &key);
            et_cells want = { 0 };
            for (guint k = 0; k < pks->len; k++) {
                const pk *q = &g_array_index(pks, pk, k);
                const et_flow *f = et_flows_get(w->flows, q->flow);
                if (f->device == device && q->key == key) {
                    want.bytes[et_flow_group(f)][q->up ? 0 : 1] += q->len;
                    want.packets[et_flow_group(f)][q->up ? 0 : 1]++;
                }
            }
            if (memcmp(got, &want, sizeof(want)) != 0)
                fail_msg("packet %d: row %u (device %u key %lld) differs from the recount", i, r, device,
                         (long long)key);
        }
    }
    g_array_free(pks, TRUE);
}

/* et_split's rows split by each flow's current group (what the timeline does when it is drawn). */
static void split_cells(world *w, const et_split *s, uint32_t row, uint64_t bytes[ET_GROUP_COUNT][2])
{
    memset(bytes, 0, sizeof(uint64_t) * ET_GROUP_COUNT * 2);
    size_t n;
    const et_split_part *parts = et_split_parts(s, &n);
    for (size_t i = 0; i < n; i++) {
        if (parts[i].row != row)
            continue;
        et_group g = et_flow_group(et_flows_get(w->flows, parts[i].flow));
        bytes[g][0] += parts[i].bytes[0];
        bytes[g][1] += parts[i].bytes[1];
    }
}

static void test_split_rows_in_order(void **state)
{
    world *w = *state;
    et_split *s = et_split_new();
    et_flow *avs = flow_to(w, SPEAKER, 50000, ip4(52, 94, 1, 1), "avs-alexa-4-na.amazon.com");
    et_flow *met = flow_to(w, SPEAKER, 50001, ip4(52, 94, 9, 9), "device-metrics-us-2.amazon.com");
    et_flow *phone = flow_to(w, PHONE, 50000, ip4(34, 1, 2, 3), NULL);
    assert_int_equal(et_split_add(s, avs, true, 100, 5), 0);
    assert_int_equal(et_split_add(s, met, false, 60, 5), 0);     /* same device and key: same row */
    assert_int_equal(et_split_add(s, phone, true, 80, 5), 1);    /* another device */
    assert_int_equal(et_split_add(s, avs, true, 10, 7), 2);
    assert_int_equal(et_split_add(s, avs, false, 20, 2), 3);     /* an earlier key: a row of its own */
    assert_int_equal(et_split_add(s, met, true, 30, 5), 0);      /* back in time: the row found again */
    assert_int_equal(et_split_add(s, avs, true, 1, 2), 3);
    assert_int_equal(et_split_rows(s), 4);
    uint32_t device;
    int64_t key;
    et_split_row(s, 3, &device, &key);
    assert_int_equal(device, avs->device);
    assert_int_equal(key, 2);
    et_split_row(s, 1, &device, &key);
    assert_int_equal(device, phone->device);
    assert_int_equal(key, 5);
    uint64_t b[ET_GROUP_COUNT][2];
    split_cells(w, s, 0, b);
    assert_int_equal(b[ET_GROUP_VOICE][0], 100);
    assert_int_equal(b[ET_GROUP_METRICS][0], 30);
    assert_int_equal(b[ET_GROUP_METRICS][1], 60);
    split_cells(w, s, 3, b);
    assert_int_equal(b[ET_GROUP_VOICE][0], 1);
    assert_int_equal(b[ET_GROUP_VOICE][1], 20);
    et_split_free(s);
}

/* Random packets, some out of time order, and a late class: split when read, every row equals a
 * recount with the flows' current groups. */
static void test_split_equals_recount(void **state)
{
    world *w = *state;
    et_split *s = et_split_new();
    et_addr dev = SPEAKER, late = ip4(52, 94, 1, 3);
    et_flow *fl[4] = {
        flow_to(w, dev, 50000, ip4(52, 94, 1, 1), "avs-alexa-4-na.amazon.com"),
        flow_to(w, dev, 50001, late, NULL),
        flow_to(w, PHONE, 50000, ip4(34, 1, 2, 3), NULL),
        flow_to(w, dev, 50002, ip4(52, 94, 9, 9), "device-metrics-us-2.amazon.com"),
    };
    typedef struct { uint32_t flow; bool up; uint32_t len; int64_t key; } pk;
    GArray *pks = g_array_new(FALSE, FALSE, sizeof(pk));
    uint32_t rng = 11;
    for (int i = 0; i < 400; i++) {
        rng = rng * 1103515245u + 12345u;
        /* keys mostly rising, one in eight from the past */
        int64_t key = (rng >> 20) % 8 ? i / 20 : (int64_t)((rng >> 24) % 20);
        pk p = { fl[(rng >> 8) % 4]->id, (rng >> 12) & 1, 60 + (rng >> 16) % 1400, key };
        if (i == 200) {
            const char *name = "avs-alexa-4-na.amazon.com";
            assert_true(et_flows_add_dns(w->flows, name, strlen(name), &late, &dev, 1));
        }
        uint32_t row = et_split_add(s, et_flows_get(w->flows, p.flow), p.up, p.len, p.key);
        uint32_t device;
        int64_t k;
        et_split_row(s, row, &device, &k);
        assert_int_equal(device, et_flows_get(w->flows, p.flow)->device);
        assert_int_equal(k, p.key);
        g_array_append_val(pks, p);
    }
    for (uint32_t r = 0; r < et_split_rows(s); r++) {
        uint32_t device;
        int64_t key;
        et_split_row(s, r, &device, &key);
        for (uint32_t q = 0; q < r; q++) {                       /* each (device, key) once */
            uint32_t d2;
            int64_t k2;
            et_split_row(s, q, &d2, &k2);
            assert_false(d2 == device && k2 == key);
        }
        uint64_t got[ET_GROUP_COUNT][2], want[ET_GROUP_COUNT][2] = { { 0 } };
        split_cells(w, s, r, got);
        for (guint k = 0; k < pks->len; k++) {
            const pk *q = &g_array_index(pks, pk, k);
            const et_flow *f = et_flows_get(w->flows, q->flow);
            if (f->device == device && q->key == key)
                want[et_flow_group(f)][q->up ? 0 : 1] += q->len;
        }
        assert_memory_equal(got, want, sizeof(want));
    }
    g_array_free(pks, TRUE);
    et_split_free(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cells_helpers),
        T(test_add_counts_group_and_direction),
        T(test_dirty_rows_each_once),
        T(test_class_change_moves_counts),
        T(test_add_syncs_first),
        T(test_deltas),
        T(test_sums),
        T(test_rows_equal_recount),
        T(test_split_rows_in_order),
        T(test_split_equals_recount),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
