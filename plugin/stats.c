/* stats.c - byte and packet counters per row, kept exact while flows change class.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "stats.h"

#include <string.h>
#include <glib.h>

typedef struct acc_row {
    uint32_t device;
    uint32_t flow;             /* first flow counted in the row */
    int64_t key;
    et_cells cells;
    bool dirty;
} acc_row;

/* What one flow added to one row. */
typedef struct contribution {
    uint32_t row;
    uint64_t bytes[2], packets[2];
} contribution;

typedef struct flow_part {
    et_group group;            /* the group its counts are in */
    GArray *contributions;     /* contribution, in row creation order */
} flow_part;

struct et_acc {
    GArray *rows;              /* acc_row */
    GHashTable *row_index;     /* (device, key) -> row + 1 */
    GPtrArray *device_rows;    /* per device: GArray of row ids sorted by key */
    GPtrArray *flows;          /* flow_part*, by flow id */
    GArray *dirty;             /* uint32 row ids */
    GArray *dirty_out;
    GArray *taken;             /* et_cells per row: what et_acc_take_delta handed out (only tables
                                * that take deltas grow it: it doubles a row's size) */
    size_t change_cursor;
};

typedef struct row_key {
    uint32_t device;
    int64_t key;
} row_key;

void et_cells_add(et_cells *into, const et_cells *c, int sign)
{
    /* Separate loops with no multiply: sums over many rows (et_acc_sum) run here, and the compiler
     * turns these into a few vector additions. */
    if (sign > 0) {
        for (int g = 0; g < ET_GROUP_COUNT; g++) {
            for (int d = 0; d < 2; d++) {
                into->bytes[g][d] += c->bytes[g][d];
                into->packets[g][d] += c->packets[g][d];
            }
        }
    } else {
        for (int g = 0; g < ET_GROUP_COUNT; g++) {
            for (int d = 0; d < 2; d++) {
                into->bytes[g][d] -= c->bytes[g][d];
                into->packets[g][d] -= c->packets[g][d];
            }
        }
    }
}

uint64_t et_cells_bytes(const et_cells *c, int dir)
{
    uint64_t sum = 0;
    for (int g = 0; g < ET_GROUP_COUNT; g++)
        sum += c->bytes[g][dir];
    return sum;
}

uint64_t et_cells_packets(const et_cells *c, int dir)
{
    uint64_t sum = 0;
    for (int g = 0; g < ET_GROUP_COUNT; g++)
        sum += c->packets[g][dir];
    return sum;
}

static guint row_key_hash(gconstpointer p)
{
    const row_key *k = p;
    return g_int64_hash(&k->key) ^ (k->device * 2654435761u);
}

static gboolean row_key_equal(gconstpointer a, gconstpointer b)
{
    const row_key *x = a, *y = b;
    return x->device == y->device && x->key == y->key;
}

static void flow_part_free(gpointer p)
{
    flow_part *fp = p;
    if (fp) {
        g_array_free(fp->contributions, TRUE);
        g_free(fp);
    }
}

static void ids_free(gpointer p)
{
    g_array_free(p, TRUE);
}

et_acc *et_acc_new(void)
{
    et_acc *a = g_new0(et_acc, 1);
    a->rows = g_array_new(FALSE, FALSE, sizeof(acc_row));
    a->row_index = g_hash_table_new_full(row_key_hash, row_key_equal, g_free, NULL);
    a->device_rows = g_ptr_array_new_with_free_func(ids_free);
    a->flows = g_ptr_array_new_with_free_func(flow_part_free);
    a->dirty = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    a->dirty_out = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    a->taken = g_array_new(FALSE, TRUE, sizeof(et_cells));
    return a;
}

void et_acc_free(et_acc *a)
{
    if (a == NULL)
        return;
    g_array_free(a->rows, TRUE);
    g_hash_table_destroy(a->row_index);
    g_ptr_array_free(a->device_rows, TRUE);
    g_ptr_array_free(a->flows, TRUE);
    g_array_free(a->dirty, TRUE);
    g_array_free(a->dirty_out, TRUE);
    g_array_free(a->taken, TRUE);
    g_free(a);
}

static void mark_dirty(et_acc *a, uint32_t row)
{
    acc_row *r = &g_array_index(a->rows, acc_row, row);
    if (!r->dirty) {
        r->dirty = true;
        g_array_append_val(a->dirty, row);
    }
}

static uint32_t row_for(et_acc *a, uint32_t device, int64_t key, uint32_t flow)
{
    row_key k = { device, key };
    gpointer found = g_hash_table_lookup(a->row_index, &k);
    if (found)
        return GPOINTER_TO_UINT(found) - 1;
    acc_row r = { .device = device, .flow = flow, .key = key };
    uint32_t id = a->rows->len;
    g_array_append_val(a->rows, r);
    g_hash_table_insert(a->row_index, g_memdup2(&k, sizeof(k)), GUINT_TO_POINTER(id + 1));
    while (a->device_rows->len <= device)
        g_ptr_array_add(a->device_rows, g_array_new(FALSE, FALSE, sizeof(uint32_t)));
    GArray *ids = g_ptr_array_index(a->device_rows, device);
    guint pos = ids->len;                 /* keys mostly arrive in order */
    while (pos > 0 && g_array_index(a->rows, acc_row, g_array_index(ids, uint32_t, pos - 1)).key > key)
        pos--;
    g_array_insert_val(ids, pos, id);
    return id;
}

static void move_flow(et_acc *a, flow_part *fp, et_group to)
{
    for (guint i = 0; i < fp->contributions->len; i++) {
        const contribution *c = &g_array_index(fp->contributions, contribution, i);
        acc_row *r = &g_array_index(a->rows, acc_row, c->row);
        for (int d = 0; d < 2; d++) {
            r->cells.bytes[fp->group][d] -= c->bytes[d];
            r->cells.packets[fp->group][d] -= c->packets[d];
            r->cells.bytes[to][d] += c->bytes[d];
            r->cells.packets[to][d] += c->packets[d];
        }
        mark_dirty(a, c->row);
    }
    fp->group = to;
}

void et_acc_sync(et_acc *a, const et_flows *flows)
{
    const uint32_t *ids;
    size_t n = et_flows_changes(flows, &ids);
    for (; a->change_cursor < n; a->change_cursor++) {
        uint32_t id = ids[a->change_cursor];
        flow_part *fp = id < a->flows->len ? g_ptr_array_index(a->flows, id) : NULL;
        if (fp == NULL)
            continue;
        et_group now = et_flow_group(et_flows_get(flows, id));
        if (now != fp->group)
            move_flow(a, fp, now);
        /* The row's strings (service, host) may have changed even if the group did not. */
        for (guint i = 0; i < fp->contributions->len; i++)
            mark_dirty(a, g_array_index(fp->contributions, contribution, i).row);
    }
}

uint32_t et_acc_add(et_acc *a, const et_flows *flows, const et_flow *fl, bool up, uint32_t len, int64_t key)
{
    et_acc_sync(a, flows);
    while (a->flows->len <= fl->id)
        g_ptr_array_add(a->flows, NULL);
    flow_part *fp = g_ptr_array_index(a->flows, fl->id);
    if (fp == NULL) {
        fp = g_new0(flow_part, 1);
        fp->group = et_flow_group(fl);
        fp->contributions = g_array_new(FALSE, FALSE, sizeof(contribution));
        g_ptr_array_index(a->flows, fl->id) = fp;
    }
    /* A flow visits rows in time order: its last contribution is usually this row's (then the
     * row needs no lookup). An out-of-order packet gets a contribution of its own, which moves
     * just as well. */
    guint n = fp->contributions->len;
    contribution *c = n ? &g_array_index(fp->contributions, contribution, n - 1) : NULL;
    const acc_row *last = c ? &g_array_index(a->rows, acc_row, c->row) : NULL;
    uint32_t row = last && last->key == key && last->device == fl->device ? c->row
                                                                          : row_for(a, fl->device, key, fl->id);
    if (c == NULL || c->row != row) {
        contribution fresh = { .row = row };
        g_array_append_val(fp->contributions, fresh);
        c = &g_array_index(fp->contributions, contribution, fp->contributions->len - 1);
    }
    int d = up ? 0 : 1;
    c->bytes[d] += len;
    c->packets[d]++;
    acc_row *r = &g_array_index(a->rows, acc_row, row);
    r->cells.bytes[fp->group][d] += len;
    r->cells.packets[fp->group][d]++;
    mark_dirty(a, row);
    return row;
}

uint32_t et_acc_rows(const et_acc *a)
{
    return a->rows->len;
}

const et_cells *et_acc_row(const et_acc *a, uint32_t row, uint32_t *device, int64_t *key)
{
    const acc_row *r = &g_array_index(a->rows, acc_row, row);
    if (device)
        *device = r->device;
    if (key)
        *key = r->key;
    return &r->cells;
}

uint32_t et_acc_row_flow(const et_acc *a, uint32_t row)
{
    return g_array_index(a->rows, acc_row, row).flow;
}

const uint32_t *et_acc_dirty(et_acc *a, size_t *count)
{
    GArray *t = a->dirty_out;
    a->dirty_out = a->dirty;
    a->dirty = t;
    g_array_set_size(a->dirty, 0);
    for (guint i = 0; i < a->dirty_out->len; i++)
        g_array_index(a->rows, acc_row, g_array_index(a->dirty_out, uint32_t, i)).dirty = false;
    *count = a->dirty_out->len;
    return (const uint32_t *)(void *)a->dirty_out->data;
}

void et_acc_sum(const et_acc *a, uint32_t device, int64_t lo, int64_t hi, et_cells *out)
{
    memset(out, 0, sizeof(*out));
    if (device >= a->device_rows->len)
        return;
    GArray *ids = g_ptr_array_index(a->device_rows, device);
    guint l = 0, h = ids->len;
    while (l < h) {                       /* first row with key >= lo */
        guint mid = (l + h) / 2;
        if (g_array_index(a->rows, acc_row, g_array_index(ids, uint32_t, mid)).key < lo)
            l = mid + 1;
        else
            h = mid;
    }
    for (; l < ids->len; l++) {
        const acc_row *r = &g_array_index(a->rows, acc_row, g_array_index(ids, uint32_t, l));
        if (r->key >= hi)
            break;
        et_cells_add(out, &r->cells, 1);
    }
}

void et_acc_take_delta(et_acc *a, uint32_t row, et_cells *delta)
{
    const acc_row *r = &g_array_index(a->rows, acc_row, row);
    if (a->taken->len <= row)
        g_array_set_size(a->taken, a->rows->len);       /* zeroed: nothing handed out yet */
    et_cells *taken = &g_array_index(a->taken, et_cells, row);
    *delta = r->cells;
    et_cells_add(delta, taken, -1);
    *taken = r->cells;
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
