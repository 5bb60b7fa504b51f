/* stats.c - byte and packet counters per row, kept exact while flows change class.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "stats.h"

#include <string.h>
#include <glib.h>

static void ids_free(gpointer p)
{
    g_array_free(p, TRUE);
}

typedef struct split_row {
    uint32_t device;
    int64_t key;
} split_row;

struct et_split {
    GArray *rows;              /* split_row */
    GArray *parts;             /* et_split_part */
    GArray *flow_part;         /* uint32 per flow id: its last part + 1 (0: none) */
    GPtrArray *device_rows;    /* per device: GArray of row ids sorted by key */
};

et_split *et_split_new(void)
{
    et_split *s = g_new0(et_split, 1);
    s->rows = g_array_new(FALSE, FALSE, sizeof(split_row));
    s->parts = g_array_new(FALSE, FALSE, sizeof(et_split_part));
    s->flow_part = g_array_new(FALSE, TRUE, sizeof(uint32_t));
    s->device_rows = g_ptr_array_new_with_free_func(ids_free);
    return s;
}

void et_split_free(et_split *s)
{
    if (s == NULL)
        return;
    g_array_free(s->rows, TRUE);
    g_array_free(s->parts, TRUE);
    g_array_free(s->flow_part, TRUE);
    g_ptr_array_free(s->device_rows, TRUE);
    g_free(s);
}

static int64_t split_key(const et_split *s, GArray *ids, guint i)
{
    return g_array_index(s->rows, split_row, g_array_index(ids, uint32_t, i)).key;
}

/* The row (device, key), made if new. A device's keys mostly arrive in order: its last row is
 * checked first, then its rows are searched by key. */
static uint32_t split_row_for(et_split *s, uint32_t device, int64_t key)
{
    while (s->device_rows->len <= device)
        g_ptr_array_add(s->device_rows, g_array_new(FALSE, FALSE, sizeof(uint32_t)));
    GArray *ids = g_ptr_array_index(s->device_rows, device);
    guint l = ids->len, h = ids->len;
    if (l > 0 && split_key(s, ids, l - 1) >= key) {
        l = 0;
        while (l < h) {                   /* first row with a key >= key */
            guint mid = (l + h) / 2;
            if (split_key(s, ids, mid) < key)
                l = mid + 1;
            else
                h = mid;
        }
        if (l < ids->len && split_key(s, ids, l) == key)
            return g_array_index(ids, uint32_t, l);
    }
    split_row r = { device, key };
    uint32_t id = s->rows->len;
    g_array_append_val(s->rows, r);
    g_array_insert_val(ids, l, id);
    return id;
}

uint32_t et_split_add(et_split *s, const et_flow *fl, bool up, uint32_t len, int64_t key)
{
    if (s->flow_part->len <= fl->id)
        g_array_set_size(s->flow_part, fl->id + 1);       /* zeroed: no part yet */
    uint32_t *last = &g_array_index(s->flow_part, uint32_t, fl->id);
    et_split_part *p = *last ? &g_array_index(s->parts, et_split_part, *last - 1) : NULL;
    if (p == NULL || g_array_index(s->rows, split_row, p->row).key != key) {
        et_split_part fresh = { .row = split_row_for(s, fl->device, key), .flow = fl->id };
        g_array_append_val(s->parts, fresh);
        *last = s->parts->len;
        p = &g_array_index(s->parts, et_split_part, s->parts->len - 1);
    }
    p->bytes[up ? 0 : 1] += len;
    return p->row;
}

uint32_t et_split_rows(const et_split *s)
{
    return s->rows->len;
}

void et_split_row(const et_split *s, uint32_t row, uint32_t *device, int64_t *key)
{
    const split_row *r = &g_array_index(s->rows, split_row, row);
    *device = r->device;
    *key = r->key;
}

const et_split_part *et_split_parts(const et_split *s, size_t *count)
{
    *count = s->parts->len;
    return (const et_split_part *)(void *)s->parts->data;
}
