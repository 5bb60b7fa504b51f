/* phase_table.c - the rows of the phases table, kept up to date after every packet.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "phase_table.h"

#include <string.h>
#include <glib.h>

/* What the verdict cell shows: nothing yet, et_verdict + 1, or MERGED. */
#define SHOWN_NOTHING 0
#define MERGED (-1)

typedef struct row {
    et_ptable_row out;
    bool dirty;                /* counts changed since the row was written */
    bool summed;               /* its counts were summed again from the bins with this packet */
    bool changed;              /* in pt->changed */
    bool full;                 /* more than its duration and judgement changed */
    bool silent;               /* in pt->silent: only its duration follows the capture's end */
    int verdict_shown;
} row;

typedef struct device_phases {
    GArray *phases;            /* et_phase: the list the rows were last built from */
    uint64_t version;          /* et_phases_list's version of that list */
    bool listed;               /* phases and version are set */
    GArray *rows;              /* uint32: row of each phase */
    GArray *flows;             /* uint32: ids of the device's flows */
    uint64_t judged;           /* tail is the judgement of this packet (pt->packets) */
    uint64_t speech_judged;    /* et_phases_speech_version when tail was judged */
    uint64_t speech_seen;      /* et_phases_speech_changed_since's */
    double baseline;           /* idle baseline the verdicts were written with */
    /* What the last phase's row needs while nothing but the capture's end moves: its judgement
     * at the last sync, and whether that holds (see tail_can_follow). */
    et_phase_judgement tail;
    bool tail_follows;
    size_t changes_seen;       /* length of the flows' change log at the last sync */
    bool speaker;              /* the device was a speaker at the last sync */
    bool silent;               /* its last row is silent (see et_ptable_silent) */
} device_phases;

/* Row numbers, appended to on every packet: a plain array (GArray's calls cost more than the
 * table's own work here). */
typedef struct row_list {
    uint32_t *ids;
    guint len, size;
} row_list;

static void row_list_add(row_list *l, uint32_t r)
{
    if (l->len == l->size) {
        l->size = l->size ? 2 * l->size : 16;
        l->ids = g_renew(uint32_t, l->ids, l->size);
    }
    l->ids[l->len++] = r;
}

/* A flow's packets in one key: a bin of the detector when automatic, a phase with a schedule.
 * Compact (a flow's record of every key it was seen in is what the table keeps per bin): a key
 * whose counts would overflow gets a second record. */
typedef struct key_counts {
    uint32_t key;
    uint32_t bytes[2];         /* [0 up, 1 down] */
    uint16_t packets[2];
} key_counts;

/* A flow as the table counts it: its counts per key, all in the group it is in. */
typedef struct table_flow {
    uint32_t device;
    et_group group;
    GArray *keys;              /* key_counts, sorted by key */
} table_flow;

struct et_ptable {
    GPtrArray *flows;          /* table_flow*, by flow id */
    size_t change_cursor;      /* in the flows' change log */
    GArray *rows;              /* row */
    row_list dirty_rows;       /* rows whose counts changed with this packet */
    row_list summed_rows;      /* rows summed again from the counts with this packet */
    GPtrArray *devices;        /* device_phases*, by device id */
    row_list changed;          /* rows created or written since et_ptable_changed */
    row_list changed_out;
    GArray *silent;            /* uint32: the silent rows (et_ptable_silent) */
    bool silent_stale;         /* a device became silent or stopped being so */
    double end;                /* the capture's end at the last packet */
    uint64_t packets;          /* counted so far */
};

static void device_phases_free(gpointer p)
{
    device_phases *dp = p;
    g_array_free(dp->phases, TRUE);
    g_array_free(dp->rows, TRUE);
    g_array_free(dp->flows, TRUE);
    g_free(dp);
}

static void table_flow_free(gpointer p)
{
    table_flow *tf = p;
    if (tf) {
        g_array_free(tf->keys, TRUE);
        g_free(tf);
    }
}

et_ptable *et_ptable_new(void)
{
    et_ptable *pt = g_new0(et_ptable, 1);
    pt->flows = g_ptr_array_new_with_free_func(table_flow_free);
    pt->rows = g_array_new(FALSE, TRUE, sizeof(row));
    pt->devices = g_ptr_array_new_with_free_func(device_phases_free);
    pt->silent = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    return pt;
}

void et_ptable_free(et_ptable *pt)
{
    if (pt == NULL)
        return;
    g_ptr_array_free(pt->flows, TRUE);
    g_array_free(pt->rows, TRUE);
    g_free(pt->dirty_rows.ids);
    g_free(pt->summed_rows.ids);
    g_ptr_array_free(pt->devices, TRUE);
    g_free(pt->changed.ids);
    g_free(pt->changed_out.ids);
    g_array_free(pt->silent, TRUE);
    g_free(pt);
}

uint32_t et_ptable_rows(const et_ptable *pt)
{
    return pt->rows->len;
}

const uint32_t *et_ptable_changed(et_ptable *pt, size_t *count)
{
    row_list t = pt->changed_out;
    pt->changed_out = pt->changed;
    pt->changed = t;
    pt->changed.len = 0;
    for (guint i = 0; i < pt->changed_out.len; i++) {
        row *x = &g_array_index(pt->rows, row, pt->changed_out.ids[i]);
        x->out.tail_only = !x->full;
        x->changed = x->full = false;
    }
    *count = pt->changed_out.len;
    return pt->changed_out.ids;
}

/* The row, marked as changed in its duration and judgement only (the last phase following the
 * capture's end). */
static row *touch_tail(et_ptable *pt, uint32_t r)
{
    row *x = &g_array_index(pt->rows, row, r);
    if (!x->changed) {
        x->changed = true;
        row_list_add(&pt->changed, r);
    }
    return x;
}

/* The row, marked as changed whole. */
static row *touch(et_ptable *pt, uint32_t r)
{
    row *x = touch_tail(pt, r);
    x->full = true;
    return x;
}

static device_phases *new_phases_of(et_ptable *pt, uint32_t device)
{
    while (pt->devices->len <= device) {
        device_phases *dp = g_new0(device_phases, 1);
        dp->phases = g_array_new(FALSE, FALSE, sizeof(et_phase));
        dp->rows = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        dp->flows = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        g_ptr_array_add(pt->devices, dp);
    }
    return g_ptr_array_index(pt->devices, device);
}

static inline device_phases *phases_of(et_ptable *pt, uint32_t device)
{
    return device < pt->devices->len ? g_ptr_array_index(pt->devices, device) : new_phases_of(pt, device);
}

static uint32_t row_of_phase(et_ptable *pt, device_phases *dp, uint32_t device, uint32_t index)
{
    while (dp->rows->len <= index) {
        uint32_t r = pt->rows->len;
        row x = { .out = { .device = device, .index = dp->rows->len, .label = "", .verdict = "" } };
        g_array_append_val(pt->rows, x);
        g_array_append_val(dp->rows, r);
        touch(pt, r);
    }
    return g_array_index(dp->rows, uint32_t, index);
}

static void show_verdict(row *x, int verdict)
{
    if (verdict != x->verdict_shown) {
        x->out.verdict = verdict == MERGED ? ET_PTABLE_MERGED : et_verdict_name((et_verdict)(verdict - 1));
        x->verdict_shown = verdict;
    }
}

static void write_verdict(row *x, const et_phase_judgement *j)
{
    x->out.voice_up_bytes = j->voice_up_bytes;
    x->out.voice_up_rate = j->voice_up_rate;
    x->out.speech_s = j->speech_s;
    show_verdict(x, (int)j->verdict + 1);
}

static void write_duration(row *x, double duration)
{
    x->out.duration = duration;
}

static void add_counts(et_cells *cells, et_group g, const key_counts *c, int sign)
{
    for (int d = 0; d < 2; d++) {
        cells->bytes[g][d] += sign > 0 ? c->bytes[d] : -(uint64_t)c->bytes[d];
        cells->packets[g][d] += sign > 0 ? c->packets[d] : -(uint64_t)c->packets[d];
    }
}

static table_flow *flow_of(et_ptable *pt, const et_flow *fl)
{
    while (pt->flows->len <= fl->id)
        g_ptr_array_add(pt->flows, NULL);
    table_flow *tf = g_ptr_array_index(pt->flows, fl->id);
    if (tf == NULL) {
        tf = g_new0(table_flow, 1);
        tf->device = fl->device;
        tf->group = et_flow_group(fl);
        tf->keys = g_array_new(FALSE, FALSE, sizeof(key_counts));
        g_ptr_array_index(pt->flows, fl->id) = tf;
        g_array_append_val(phases_of(pt, fl->device)->flows, fl->id);
    }
    return tf;
}

/* The first record of keys at or after key (after: above key). */
static guint key_index(const GArray *keys, int64_t key, bool after)
{
    guint lo = 0, hi = keys->len;
    while (lo < hi) {
        guint mid = (lo + hi) / 2;
        int64_t k = g_array_index(keys, key_counts, mid).key;
        if (k < key || (after && k == key))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void count_key(table_flow *tf, uint32_t key, int dir, uint32_t len)
{
    GArray *k = tf->keys;
    guint i = k->len;
    if (i > 0 && g_array_index(k, key_counts, i - 1).key > key)
        i = key_index(k, key, true);   /* out of time order */
    key_counts *c = i > 0 ? &g_array_index(k, key_counts, i - 1) : NULL;
    if (c == NULL || c->key != key || c->packets[dir] == G_MAXUINT16 || c->bytes[dir] > G_MAXUINT32 - len) {
        key_counts fresh = { .key = key };
        g_array_insert_val(k, i, fresh);
        c = &g_array_index(k, key_counts, i);
    }
    c->bytes[dir] += len;
    c->packets[dir]++;
}

/* The counts of a device's flows with lo <= key < hi, each in its flow's group now. */
static void sum_keys(const et_ptable *pt, const device_phases *dp, int64_t lo, int64_t hi, et_cells *out)
{
    memset(out, 0, sizeof(*out));
    for (guint f = 0; f < dp->flows->len; f++) {
        const table_flow *tf = g_ptr_array_index(pt->flows, g_array_index(dp->flows, uint32_t, f));
        const GArray *k = tf->keys;
        if (k->len == 0 || g_array_index(k, key_counts, k->len - 1).key < lo)
            continue;
        for (guint i = key_index(k, lo, false); i < k->len; i++) {
            const key_counts *c = &g_array_index(k, key_counts, i);
            if (c->key >= hi)
                break;
            add_counts(out, tf->group, c, 1);
        }
    }
}

static void mark_dirty(et_ptable *pt, uint32_t r)
{
    row *x = &g_array_index(pt->rows, row, r);
    if (!x->dirty)
        row_list_add(&pt->dirty_rows, r);
    x->dirty = true;
}

static uint32_t phase_at_key(const device_phases *dp, int64_t key, const et_phases *phases);

/* A flow whose group changed: its counts move to the new group's cells in the rows that hold them. */
static void move_flow(et_ptable *pt, const et_phases *phases, table_flow *tf, et_group to)
{
    device_phases *dp = phases_of(pt, tf->device);
    for (guint i = 0; dp->phases->len && i < tf->keys->len; i++) {
        const key_counts *c = &g_array_index(tf->keys, key_counts, i);
        uint32_t r = row_of_phase(pt, dp, tf->device, phase_at_key(dp, c->key, phases));
        row *x = &g_array_index(pt->rows, row, r);
        add_counts(&x->out.cells, tf->group, c, -1);
        add_counts(&x->out.cells, to, c, 1);
        mark_dirty(pt, r);
    }
    tf->group = to;
}

/* Flows whose class changed since the last packet. */
static void sync_classes(et_ptable *pt, const et_phases *phases, const et_flows *flows)
{
    const uint32_t *ids;
    size_t n = et_flows_changes(flows, &ids);
    for (; pt->change_cursor < n; pt->change_cursor++) {
        uint32_t id = ids[pt->change_cursor];
        table_flow *tf = id < pt->flows->len ? g_ptr_array_index(pt->flows, id) : NULL;
        et_group now = tf ? et_flow_group(et_flows_get(flows, id)) : ET_GROUP_UNTAGGED;
        if (tf && now != tf->group)
            move_flow(pt, phases, tf, now);
    }
}

/* moved: the row shows another phase than when it was last written (or none yet). judged: ph's
 * judgement, when known. */
static void write_phase_row(et_ptable *pt, et_phases *phases, const et_flows *flows, uint32_t r, const et_phase *ph,
                            bool moved, const et_phase_judgement *judged)
{
    row *x = touch(pt, r);
    x->dirty = false;
    if (moved) {
        x->out.placed = true;
        x->out.label = ph ? ph->label : "-";
        x->out.start = ph ? ph->start : 0;
    }
    write_duration(x, ph ? ph->end - ph->start : 0);
    if (ph && judged) {
        write_verdict(x, judged);
    } else if (ph) {
        et_phase_judgement j;
        et_phases_judge(phases, flows, x->out.device, ph, &j);
        write_verdict(x, &j);
    } else {
        x->out.voice_up_bytes = 0;
        x->out.voice_up_rate = 0;
        x->out.speech_s = 0;
        show_verdict(x, MERGED);
    }
}

/* The last phase of an unchanged list: only its end moved, so only the cells that depend on the
 * duration change (the counts, when they changed too, are written by write_phase_row). */
static void write_phase_tail(et_ptable *pt, uint32_t r, const et_phase *ph, const et_phase_judgement *j)
{
    row *x = touch_tail(pt, r);
    write_duration(x, ph->end - ph->start);
    write_verdict(x, j);
}

/* Can the last phase's row be kept up to date from its judgement alone until the device's next
 * packet or the next class change? Not when the list itself changes with time (an interaction
 * whose end the capture passes is followed by an idle phase) or when the baseline counts it. */
static bool tail_can_follow(const et_phases *phases, const et_flows *flows, uint32_t device, const et_phase *last,
                            const et_phase_judgement *j)
{
    const et_device *dev = et_flows_device(flows, device);
    bool interaction = et_phases_automatic(phases) && dev && et_device_is_speaker(dev) && last->wake;
    return !interaction && !j->baseline_moves;
}

/* A silent device's last row: only its duration follows the capture's end (et_ptable_silent). */
static void set_silent(et_ptable *pt, device_phases *dp, bool silent)
{
    if (dp->silent == silent)
        return;
    g_array_index(pt->rows, row, g_array_index(dp->rows, uint32_t, dp->phases->len - 1)).silent = silent;
    dp->silent = silent;
    pt->silent_stale = true;
}

/* The last phase of a device that sent nothing since its last sync: only its end moved. */
static void follow_tail(et_ptable *pt, const et_phases *phases, device_phases *dp)
{
    et_phase *last = &g_array_index(dp->phases, et_phase, dp->phases->len - 1);
    double end = et_phases_end(phases);
    if (last->end < end)
        last->end = end;
    et_phases_rejudge(phases, last, &dp->tail);
    write_phase_tail(pt, g_array_index(dp->rows, uint32_t, dp->phases->len - 1), last, &dp->tail);
}

/* Brings one device's rows in line with its current phase list. */
static void sync_device(et_ptable *pt, et_phases *phases, const et_flows *flows, uint32_t device)
{
    device_phases *dp = phases_of(pt, device);
    uint32_t n;
    uint64_t version;
    const et_phase *list = et_phases_list(phases, flows, device, &n, &version);
    bool automatic = et_phases_automatic(phases);
    bool same_list = dp->listed && version == dp->version && n == dp->phases->len;
    /* Phases are stamped with the list version at which they changed, never lower than the
     * phase before's: the changed ones are those after the last stamp this table has seen. */
    uint32_t first_changed = n;
    while (first_changed > 0 && (!dp->listed || list[first_changed - 1].changed > dp->version))
        first_changed--;
    if (first_changed > dp->phases->len)
        first_changed = dp->phases->len;
    for (uint32_t i = first_changed; i < n || i < dp->phases->len; i++) {
        uint32_t r = row_of_phase(pt, dp, device, i);     /* may move pt->rows */
        row *x = &g_array_index(pt->rows, row, r);
        if (!x->summed)
            row_list_add(&pt->summed_rows, r);
        x->summed = true;
        if (i >= n)
            memset(&x->out.cells, 0, sizeof(x->out.cells));
        else if (automatic)
            sum_keys(pt, dp, et_phases_bin(phases, list[i].start),
                     i + 1 == n ? G_MAXINT64 : et_phases_bin(phases, list[i].end), &x->out.cells);
        else
            sum_keys(pt, dp, i, i + 1, &x->out.cells);
    }
    if (first_changed < n || dp->phases->len != n) {
        g_array_set_size(dp->phases, first_changed);
        g_array_append_vals(dp->phases, list + first_changed, n - first_changed);
    }
    if (n)
        g_array_index(dp->phases, et_phase, n - 1).end = list[n - 1].end;
    dp->version = version;
    dp->listed = true;

    /* Write what changed: new or moved phases, changed counts, the growing last phase; every
     * verdict when the idle baseline moved or the device became a speaker (with no count moving:
     * speech counts whatever the flows' classes, phase lists changed are written above). */
    et_phase_judgement j = { 0 };
    uint64_t speech = et_phases_speech_version(phases, device);
    if (n && same_list && dp->judged && !dp->tail.baseline_moves && speech == dp->speech_judged) {
        j = dp->tail;                   /* the same phase, speech and baseline: only its end moved */
        et_phases_rejudge(phases, &list[n - 1], &j);
    } else if (n) {
        et_phases_judge(phases, flows, device, &list[n - 1], &j);
    }
    const et_device *dev = et_flows_device(flows, device);
    bool speaker = dev && et_device_is_speaker(dev);
    bool all = j.baseline_rate != dp->baseline || speaker != dp->speaker;
    dp->speaker = speaker;
    dp->baseline = j.baseline_rate;
    dp->tail = j;
    dp->judged = pt->packets;
    dp->speech_judged = speech;
    dp->tail_follows = n > 0 && tail_can_follow(phases, flows, device, &list[n - 1], &j);
    dp->changes_seen = et_flows_changes(flows, NULL);
    /* Rows whose counts alone changed are written by et_ptable_packet, once every list is synced. */
    if (!all && first_changed == n) {
        uint32_t tail = n ? g_array_index(dp->rows, uint32_t, n - 1) : 0;
        if (n && !g_array_index(pt->rows, row, tail).dirty)    /* else written whole below */
            write_phase_tail(pt, tail, &list[n - 1], &j);
        return;
    }
    uint32_t from = all ? 0 : MIN(first_changed, n ? n - 1 : 0);
    for (uint32_t i = from; i < dp->rows->len; i++)
        write_phase_row(pt, phases, flows, g_array_index(dp->rows, uint32_t, i), i < n ? &list[i] : NULL,
                        i >= first_changed, i + 1 == n ? &j : NULL);
}

/* Writes the judgement of the device's phases before the last whose speech upload changed. */
static void rejudge_earlier(et_ptable *pt, et_phases *phases, const et_flows *flows, uint32_t device)
{
    device_phases *dp = phases_of(pt, device);
    uint32_t from = et_phases_speech_changed_since(phases, device, &dp->speech_seen);
    for (uint32_t i = from; from != UINT32_MAX && i + 1 < dp->phases->len; i++) {
        uint32_t r = g_array_index(dp->rows, uint32_t, i);
        row *x = &g_array_index(pt->rows, row, r);
        et_phase_judgement j;
        et_phases_judge(phases, flows, device, &g_array_index(dp->phases, et_phase, i), &j);
        if (j.voice_up_bytes != x->out.voice_up_bytes || j.speech_s != x->out.speech_s ||
            (int)j.verdict + 1 != x->verdict_shown)
            write_verdict(touch(pt, r), &j);
    }
}

/* Which phase of a device's last list holds this key. */
static uint32_t phase_at_key(const device_phases *dp, int64_t key, const et_phases *phases)
{
    if (!et_phases_automatic(phases))
        return (uint32_t)key;
    uint32_t lo = 0, hi = dp->phases->len;
    double bin = et_phases_bin_seconds(phases);
    double t = key * bin + bin / 2;
    if (hi > 0 && g_array_index(dp->phases, et_phase, hi - 1).start <= t)
        return hi - 1;                  /* the common case: a packet of the last phase */
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (g_array_index(dp->phases, et_phase, mid).start <= t)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

void et_ptable_packet(et_ptable *pt, et_phases *phases, const et_flows *flows, const et_flow *fl, bool up,
                      uint32_t len, double t)
{
    uint32_t key;
    if (et_phases_automatic(phases)) {
        key = et_phases_bin(phases, t);
    } else {
        et_phase ph;
        et_phases_lookup(phases, flows, fl->device, t, &ph);
        key = ph.index;
    }
    pt->packets++;
    sync_classes(pt, phases, flows);
    table_flow *tf = flow_of(pt, fl);
    int dir = up ? 0 : 1;
    count_key(tf, key, dir, len);

    /* Phase lists change (an interaction found, a device became a speaker, the end moved). A
     * device that sent nothing, with no class change anywhere, needs its last phase's end only. */
    size_t changes = et_flows_changes(flows, NULL);
    pt->end = et_phases_end(phases);
    for (uint32_t d = 0; d < et_flows_device_count(flows); d++) {
        device_phases *dp = phases_of(pt, d);
        if (d != fl->device && dp->tail_follows && dp->changes_seen == changes) {
            if (dp->silent)
                continue;
            follow_tail(pt, phases, dp);
            /* With no speech upload its rate stays 0 and its verdict stays: only the duration
             * moves, with the capture's end (a scheduled phase may still lie ahead of it). */
            if (dp->tail.voice_up_bytes == 0 &&
                g_array_index(dp->phases, et_phase, dp->phases->len - 1).end == pt->end)
                set_silent(pt, dp, true);
        } else {
            set_silent(pt, dp, false);
            sync_device(pt, phases, flows, d);
        }
    }
    /* Speech found late (a run of upload takes the shape of speech only after a second or more)
     * counts into the phases where it began, with no count of theirs changing: judge the sending
     * device's earlier phases again. */
    rejudge_earlier(pt, phases, flows, fl->device);
    /* The packet goes to the row of the phase that holds it in the list just synced, unless that
     * row was summed again from the counts (which hold it already). */
    device_phases *dp = phases_of(pt, fl->device);
    if (dp->phases->len) {
        uint32_t r = row_of_phase(pt, dp, fl->device, phase_at_key(dp, key, phases));
        row *x = &g_array_index(pt->rows, row, r);
        if (!x->summed) {
            x->out.cells.bytes[tf->group][dir] += len;
            x->out.cells.packets[tf->group][dir]++;
            mark_dirty(pt, r);
        }
    }
    for (guint i = 0; i < pt->summed_rows.len; i++)
        g_array_index(pt->rows, row, pt->summed_rows.ids[i]).summed = false;
    pt->summed_rows.len = 0;
    for (guint i = 0; i < pt->dirty_rows.len; i++) {
        uint32_t r = pt->dirty_rows.ids[i];
        const row *x = &g_array_index(pt->rows, row, r);
        if (!x->dirty)
            continue;                   /* written by sync_device */
        const device_phases *xp = g_ptr_array_index(pt->devices, x->out.device);
        uint32_t index = x->out.index;
        write_phase_row(pt, phases, flows, r, index < xp->phases->len ? &g_array_index(xp->phases, et_phase, index) : NULL,
                        false, index + 1 == xp->phases->len && xp->judged == pt->packets ? &xp->tail : NULL);
    }
    pt->dirty_rows.len = 0;
}

const et_ptable_row *et_ptable_get(et_ptable *pt, uint32_t r)
{
    row *x = &g_array_index(pt->rows, row, r);
    if (x->silent)
        write_duration(x, pt->end - x->out.start);
    return &x->out;
}

const uint32_t *et_ptable_silent(et_ptable *pt, size_t *count, double *end)
{
    if (pt->silent_stale) {
        g_array_set_size(pt->silent, 0);
        for (guint d = 0; d < pt->devices->len; d++) {
            const device_phases *dp = g_ptr_array_index(pt->devices, d);
            if (dp->silent)
                g_array_append_val(pt->silent, g_array_index(dp->rows, uint32_t, dp->phases->len - 1));
        }
        pt->silent_stale = false;
    }
    *count = pt->silent->len;
    *end = pt->end;
    return (const uint32_t *)(void *)pt->silent->data;
}
