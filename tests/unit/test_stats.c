/* test_stats.c - unit tests of stats.[ch]: bytes per (device, key) row, exact while flows change class.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Expected values come from stats.h. et_split: a packet's bytes go to its flow's part of the row
 * (device, key), rows numbered in the order they appear; split by each flow's group when read,
 * the rows equal a recount with the flows' current groups.
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
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof(*w));
    w->rules = et_ruleset_new();
    et_ruleset_add_builtin(w->rules);
    et_flow_config fc = { true, true, true, NULL, NULL };
    w->flows = et_flows_new(w->rules, &fc);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
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
        T(test_split_rows_in_order),
        T(test_split_equals_recount),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
