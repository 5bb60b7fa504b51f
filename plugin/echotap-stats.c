/* echotap-stats.c - the echotap statistics: phases, flows and timeline tables.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * stat_tap_table UIs, so that each table is the same in tshark (-z echotap,phases) and in the
 * Wireshark Statistics menu (which -z can also open at start). A packet is only counted (stats.c,
 * phase_table.c); the cells are written from the counts when they are about to be read, with
 * every flow's class then (table_sync). Wireshark has no "before drawing" call for a
 * stat_tap_table, and tshark and the GUI read its cells in its listener's draw callback (the GUI
 * also once more right after its retap, whose end draws the listeners that ask for it, ours
 * included). Listeners are drawn
 * newest first, so a listener of our own (sync_ahead), registered anew when a table starts
 * counting (after the table's listener), is drawn before the tables and writes their cells.
 */
#include "echotap.h"
#include "phase_table.h"
#include "flow_record.h"
#include "stats.h"

#include <string.h>

#include <epan/packet.h>
#include <epan/prefs.h>
#include <epan/stat_tap_ui.h>
#include <epan/tap.h>

static guint pref_interval_ms = 100;
static double cli_interval;         /* -z echotap,timeline,interval=S (tshark); 0: preference */

/* ---- cells ---- */

static void put_uint(stat_tap_table_item_type *it, uint64_t v)
{
    it->value.uint_value = v > G_MAXUINT32 ? G_MAXUINT32 : (guint)v;
}

static void set_uint(stat_tap_table *t, guint row, guint col, uint64_t v)
{
    put_uint(stat_tap_get_field_data(t, row, col), v);
}

/* A new row's text cells point at shared defaults (nothing allocated for a cell written next):
 * blank, or its column's zero (zero_text). Only other texts are the cell's own. */
static const char blank[] = "";
static const char *zero_text(stat_tap_table *t, guint col);
static bool texts_pooled(stat_tap_table *t);

static void free_text(stat_tap_table *t, guint col, stat_tap_table_item_type *it)
{
    const char *s = it->value.string_value;
    if (s != blank && s != zero_text(t, col) && !texts_pooled(t))
        g_free((char *)s);
}

static void set_string(stat_tap_table *t, guint row, guint col, const char *s)
{
    stat_tap_table_item_type *it = stat_tap_get_field_data(t, row, col);
    if (g_strcmp0(it->value.string_value, s) == 0)
        return;
    free_text(t, col, it);
    it->value.string_value = g_strdup(s ? s : "");
}

static void free_item(stat_tap_table *t, guint row _U_, guint col, stat_tap_table_item_type *it)
{
    if (it->type == TABLE_ITEM_STRING) {
        free_text(t, col, it);
        it->value.string_value = NULL;
    }
}

static void clear_rows(stat_tap_table *t)
{
    for (guint r = 0; r < t->num_elements; r++) {
        for (guint c = 0; c < t->num_fields; c++)
            free_item(t, r, c, stat_tap_get_field_data(t, r, c));
        g_free(t->elements[r]);
    }
    g_free(t->elements);
    t->elements = NULL;
    t->num_elements = 0;
}

static const char *device_text(const et_capture *cap, uint32_t device)
{
    const et_device *d = et_flows_device(cap->flows, device);
    return d ? d->addr_text : "";
}

/* ---- the table type ---- */

typedef enum { ET_TABLE_PHASES, ET_TABLE_PHASE_PACKETS, ET_TABLE_FLOWS, ET_TABLE_TIMELINE } table_kind;

/* What the Flows table counted for a flow (what its display filter let through). */
typedef struct flow_count {
    uint32_t flow;
    et_flow_totals totals;
    double first, last;        /* its first and last packet counted, seconds */
} flow_count;

/* A table with its counting state: a registered one (Statistics menu, -z) or a private copy (the
 * live view's). Wireshark's callbacks get the UI or the stat_tap_table; both lead here. */
struct echotap_table {
    stat_tap_table_ui ui;
    table_kind kind;
    const char *title;         /* of its one stat_tap_table */
    stat_data_t sd;            /* a private copy's: what its packet callback is handed */
    const et_flows *flows;     /* the capture the counts belong to; NULL: none yet */
    GArray *flow_rows;         /* flows: uint32 per flow id, its row + 1 (0: not counted) */
    GArray *flow_counts;       /* flows: flow_count per row */
    et_split *split;           /* timeline rows */
    GStringChunk *texts;       /* timeline: its text cells, which never change (a row's device and
                                * start), with no allocation of their own; NULL: none pooled */
    et_ptable *ptable;         /* phase rows */
    double interval;           /* timeline: seconds per row */
    const char **number_format; /* per column: a number's format (numbers_as_text), or NULL */
    char **zero_text;          /* per column with a number_format: 0 in it */
    bool registered;           /* with Wireshark; only a registered table is copied */
};

/* The stat_tap_table of an echotap_table: Wireshark's reset callback gets only this. Freed by
 * Wireshark (free_stat_tables) or echotap_table_copy_free as the stat_tap_table it begins with. */
typedef struct owned_table {
    stat_tap_table t;
    echotap_table *owner;
} owned_table;

/* Wireshark 4.0's Qt dialog shows a TABLE_ITEM_FLOAT with 6 decimals whatever its column's format
 * says, on screen and in its Copy; tshark prints it with the format. So a number with decimals is
 * a string cell holding the text its format gives (padded as tshark prints it, which also keeps
 * the dialog's sort by text numeric), with the number in the cell's user_data for the counting. */
static void numbers_as_text(echotap_table *et)
{
    stat_tap_table_item *fields = (stat_tap_table_item *)et->ui.fields;
    et->number_format = g_new0(const char *, et->ui.nfields);
    et->zero_text = g_new0(char *, et->ui.nfields);
    for (size_t c = 0; c < et->ui.nfields; c++) {
        if (fields[c].type != TABLE_ITEM_FLOAT)
            continue;
        et->number_format[c] = fields[c].field_format;
        et->zero_text[c] = g_strdup_printf(fields[c].field_format, 0.0);
        fields[c].type = TABLE_ITEM_STRING;
        fields[c].field_format = "%s";
    }
}

static void set_float(const echotap_table *et, stat_tap_table *t, guint row, guint col, double v)
{
    stat_tap_table_item_type *it = stat_tap_get_field_data(t, row, col);
    if (it->value.string_value && it->user_data.float_value == v)
        return;
    free_text(t, col, it);
    it->value.string_value = g_strdup_printf(et->number_format[col], v);
    it->user_data.float_value = v;
}

static double get_float(stat_tap_table *t, guint row, guint col)
{
    return echotap_table_cell_number(stat_tap_get_field_data(t, row, col));
}

double echotap_table_cell_number(const stat_tap_table_item_type *it)
{
    return it->type == TABLE_ITEM_UINT ? it->value.uint_value : it->user_data.float_value;
}

/* Adds rows up to `row`, typed like the UI's columns: strings empty, numbers 0. */
static void ensure_row(const echotap_table *et, stat_tap_table *t, guint row)
{
    const stat_tap_table_ui *ui = &et->ui;
    if (t->num_elements > row)
        return;
    stat_tap_table_item_type *items = g_new0(stat_tap_table_item_type, ui->nfields);
    for (size_t c = 0; c < ui->nfields; c++) {
        items[c].type = ui->fields[c].type;
        if (et->number_format[c])
            items[c].value.string_value = et->zero_text[c];
        else if (items[c].type == TABLE_ITEM_STRING)
            items[c].value.string_value = blank;
    }
    while (t->num_elements <= row)
        stat_tap_init_table_row(t, t->num_elements, (guint)ui->nfields, items);
    g_free(items);
}

static echotap_table *table_of_ui(stat_tap_table_ui *ui)
{
    return (echotap_table *)((char *)ui - offsetof(echotap_table, ui));
}

static echotap_table *owner_of(stat_tap_table *t)
{
    return ((owned_table *)((char *)t - offsetof(owned_table, t)))->owner;
}

static const char *zero_text(stat_tap_table *t, guint col)
{
    return owner_of(t)->zero_text[col];
}

static bool texts_pooled(stat_tap_table *t)
{
    return owner_of(t)->kind == ET_TABLE_TIMELINE;
}

/* Its one stat_tap_table, made at the first call. */
static stat_tap_table *table_rows(echotap_table *et)
{
    stat_tap_table *t = et->ui.tables ? stat_tap_find_table(&et->ui, et->title) : NULL;
    if (t == NULL) {
        owned_table *ot = g_new0(owned_table, 1);
        ot->t.title = et->title;
        ot->t.num_fields = (guint)et->ui.nfields;
        ot->owner = et;
        stat_tap_add_table(&et->ui, &ot->t);
        t = &ot->t;
    }
    return t;
}

static double interval_now(void);

/* Forgets the counts and rows (a new file, a reset). */
static void table_forget(echotap_table *et, stat_tap_table *t)
{
    if (et->flow_rows) {
        g_array_free(et->flow_rows, TRUE);
        g_array_free(et->flow_counts, TRUE);
        et->flow_rows = et->flow_counts = NULL;
    }
    et_split_free(et->split);
    et->split = NULL;
    et_ptable_free(et->ptable);
    et->ptable = NULL;
    et->flows = NULL;
    clear_rows(t);
    if (et->texts)
        g_string_chunk_free(et->texts);
    et->texts = NULL;
}

static void table_init(stat_tap_table_ui *ui)
{
    echotap_table *et = table_of_ui(ui);
    table_forget(et, table_rows(et));
    et->interval = interval_now();
}

static void table_reset(stat_tap_table *t)
{
    echotap_table *et = owner_of(t);
    table_forget(et, t);
    et->interval = interval_now();
}

static void sync_ahead(void);

/* What a packet callback starts with: its table and the capture, counting again if the capture
 * changed (a new file, or a redissection). False when there is nothing to count. */
static bool tap_begin(void *tapdata, echotap_table **et, const et_capture **cap)
{
    *et = table_of_ui(((stat_data_t *)tapdata)->stat_tap_data);
    *cap = echotap_current_capture();
    if (*cap == NULL || (*cap)->phases == NULL)
        return false;
    if ((*et)->flows != (*cap)->flows || ((*et)->flow_rows == NULL && (*et)->split == NULL && (*et)->ptable == NULL)) {
        table_forget(*et, g_array_index((*et)->ui.tables, stat_tap_table *, 0));
        if ((*et)->kind == ET_TABLE_FLOWS) {
            (*et)->flow_rows = g_array_new(FALSE, TRUE, sizeof(uint32_t));
            (*et)->flow_counts = g_array_new(FALSE, TRUE, sizeof(flow_count));
        } else if ((*et)->kind == ET_TABLE_TIMELINE) {
            (*et)->split = et_split_new();
        } else {
            (*et)->ptable = et_ptable_new();
        }
        (*et)->flows = (*cap)->flows;
        if ((*et)->registered)
            sync_ahead();
    }
    return true;
}

/* ---- flows ---- */

/* The record's columns (flow_record.c, shared with the JSON export), then the first and last
 * packet that the table counted for the flow. */
enum { FL_FIRST = ET_FLOW_TABLE_COLUMNS, FL_LAST, FL_COUNT };

static stat_tap_table_item flow_fields[FL_COUNT] = {
    [FL_FIRST] = { TABLE_ITEM_FLOAT, TAP_ALIGN_RIGHT, "First (s)", "%10.3f" },
    [FL_LAST] = { TABLE_ITEM_FLOAT, TAP_ALIGN_RIGHT, "Last (s)", "%10.3f" },
};

/* The record columns' titles and formats into flow_fields; false when they do not fill it (a
 * column list out of step with FL_FIRST). */
static bool flow_record_columns(void)
{
    size_t n, placed = 0;
    const et_flow_column *cols = et_flow_columns(&n);
    for (size_t i = 0; i < n; i++) {
        if (cols[i].table_col < 0)
            continue;
        bool text = cols[i].type == ET_REC_STRING;
        flow_fields[cols[i].table_col] = (stat_tap_table_item){ text ? TABLE_ITEM_STRING : TABLE_ITEM_UINT,
            text ? TAP_ALIGN_LEFT : TAP_ALIGN_RIGHT, cols[i].title, cols[i].format };
        placed++;
    }
    return placed == ET_FLOW_TABLE_COLUMNS;
}

/* fresh: a new row, whose fixed columns (addresses, ports) are written once. */
static void write_flow_row(const echotap_table *et, stat_tap_table *t, const et_capture *cap, guint row,
                           const flow_count *fc, bool fresh)
{
    const et_flow *fl = et_flows_get(cap->flows, fc->flow);
    size_t n;
    const et_flow_column *cols = et_flow_columns(&n);
    for (size_t i = 0; i < n; i++) {
        if (cols[i].table_col < 0 || (cols[i].fixed && !fresh))
            continue;
        char buf[64];
        et_rec_value v = { NULL, 0 };
        cols[i].get(cap->flows, fl, &fc->totals, buf, sizeof(buf), &v);
        if (cols[i].type == ET_REC_STRING)
            set_string(t, row, (guint)cols[i].table_col, v.s ? v.s : cols[i].none);
        else
            set_uint(t, row, (guint)cols[i].table_col, v.u);
    }
    set_float(et, t, row, FL_FIRST, fc->first);
    set_float(et, t, row, FL_LAST, fc->last);
}

static tap_packet_status flows_packet(void *tapdata, packet_info *pinfo _U_, epan_dissect_t *edt _U_,
                                      const void *data, tap_flags_t flags _U_)
{
    echotap_table *st;
    const et_capture *cap;
    if (!tap_begin(tapdata, &st, &cap))
        return TAP_PACKET_DONT_REDRAW;
    const echotap_tap_record *rec = (const echotap_tap_record *)data;
    if (st->flow_rows->len <= rec->flow->id)
        g_array_set_size(st->flow_rows, rec->flow->id + 1);    /* zeroed: not counted yet */
    uint32_t *row = &g_array_index(st->flow_rows, uint32_t, rec->flow->id);
    if (*row == 0) {
        flow_count fresh = { .flow = rec->flow->id, .first = rec->t };
        g_array_append_val(st->flow_counts, fresh);
        *row = st->flow_counts->len;
    }
    flow_count *fc = &g_array_index(st->flow_counts, flow_count, *row - 1);
    int d = rec->up ? 0 : 1;
    fc->totals.bytes[d] += rec->len;
    fc->totals.packets[d]++;
    if (rec->t < fc->first)
        fc->first = rec->t;
    if (rec->t > fc->last)          /* from 0: the column's value before any packet */
        fc->last = rec->t;
    return TAP_PACKET_REDRAW;
}

/* Every row written again: the flows' classes and names may have changed since. */
static void sync_flows(echotap_table *et, stat_tap_table *t, const et_capture *cap)
{
    guint before = t->num_elements;
    guint rows = et->flow_counts->len;
    if (rows)
        ensure_row(et, t, rows - 1);
    for (guint r = 0; r < rows; r++)
        write_flow_row(et, t, cap, r, &g_array_index(et->flow_counts, flow_count, r), r >= before);
}

/* ---- timeline ---- */

enum { TL_DEVICE, TL_START, TL_GROUPS, TL_COUNT = TL_GROUPS + 2 * ET_GROUP_COUNT };

static stat_tap_table_item timeline_fields[TL_COUNT] = {
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Device",    "%-15s" },
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "Start (s)", "%9.3f" },
    /* then bytes up and down per group: group_columns() */
};

/* Columns up and down per group from `col` on, titled from the groups' labels ("AVS up",
 * "AVS down", ... with " what" after them when given); format NULL: as wide as the title, at
 * least 9. */
static void group_columns(stat_tap_table_item *fields, int col, const char *what, const char *format)
{
    for (int g = 0; g < ET_GROUP_COUNT; g++) {
        for (int d = 0; d < 2; d++) {
            char *title = g_strdup_printf("%s %s%s%s", et_group_label((et_group)g), d ? "down" : "up",
                                          what ? " " : "", what ? what : "");
            char *fmt = format ? g_strdup(format) : g_strdup_printf("%%%du", MAX(9, (int)strlen(title)));
            fields[col + 2 * g + d] = (stat_tap_table_item){ TABLE_ITEM_UINT, TAP_ALIGN_RIGHT, title, fmt };
        }
    }
}

static double interval_now(void)
{
    return cli_interval > 0 ? cli_interval : (pref_interval_ms ? pref_interval_ms : 100) / 1000.0;
}

static tap_packet_status timeline_packet(void *tapdata, packet_info *pinfo _U_, epan_dissect_t *edt _U_,
                                         const void *data, tap_flags_t flags _U_)
{
    echotap_table *st;
    const et_capture *cap;
    if (!tap_begin(tapdata, &st, &cap))
        return TAP_PACKET_DONT_REDRAW;
    const echotap_tap_record *rec = (const echotap_tap_record *)data;
    et_split_add(st->split, rec->flow, rec->up, rec->len, rec->t > 0 ? (int64_t)(rec->t / st->interval) : 0);
    return TAP_PACKET_REDRAW;
}

/* New rows get their device and start (which never change); every row's bytes are split again by
 * each flow's group now. The sums are made in the cells' scratch space (user_data, which
 * Wireshark leaves to the table) as doubles, exact below 2^53 bytes. */
static void sync_timeline(echotap_table *et, stat_tap_table *t, const et_capture *cap)
{
    guint before = t->num_elements;
    uint32_t rows = et_split_rows(et->split);
    if (rows == 0)
        return;
    ensure_row(et, t, rows - 1);
    if (et->texts == NULL)
        et->texts = g_string_chunk_new(4096);
    for (uint32_t r = before; r < rows; r++) {
        uint32_t device;
        int64_t k;
        et_split_row(et->split, r, &device, &k);
        stat_tap_table_item_type *it = stat_tap_get_field_data(t, r, 0);
        it[TL_DEVICE].value.string_value = g_string_chunk_insert_const(et->texts, device_text(cap, device));
        char start[64];
        it[TL_START].user_data.float_value = k * et->interval;
        g_snprintf(start, sizeof(start), et->number_format[TL_START], it[TL_START].user_data.float_value);
        it[TL_START].value.string_value = g_string_chunk_insert(et->texts, start);
    }
    for (uint32_t r = 0; r < rows; r++) {
        stat_tap_table_item_type *it = stat_tap_get_field_data(t, r, TL_GROUPS);
        for (int c = 0; c < 2 * ET_GROUP_COUNT; c++)
            it[c].user_data.float_value = 0;
    }
    size_t n;
    const et_split_part *parts = et_split_parts(et->split, &n);
    for (size_t i = 0; i < n; i++) {
        et_group g = et_flow_group(et_flows_get(cap->flows, parts[i].flow));
        stat_tap_table_item_type *it = stat_tap_get_field_data(t, parts[i].row, TL_GROUPS + 2 * g);
        it[0].user_data.float_value += (double)parts[i].bytes[0];
        it[1].user_data.float_value += (double)parts[i].bytes[1];
    }
    for (uint32_t r = 0; r < rows; r++) {
        stat_tap_table_item_type *it = stat_tap_get_field_data(t, r, TL_GROUPS);
        for (int c = 0; c < 2 * ET_GROUP_COUNT; c++)
            put_uint(&it[c], (uint64_t)it[c].user_data.float_value);
    }
}

/* tshark: -z echotap,timeline[,interval=SECONDS][,filter] */
static void timeline_filter_check(const char *opt_arg, const char **filter, char **err)
{
    cli_interval = 0;
    const char *opt = *filter;
    if (opt && g_str_has_prefix(opt, "interval=")) {
        const char *value = opt + strlen("interval=");
        char *end = NULL;
        double v = g_ascii_strtod(value, &end);
        if (end == value || (*end != '\0' && *end != ',') || !(v >= 0.001 && v <= 86400)) {
            *err = g_strdup_printf("echotap,timeline: interval must be seconds between 0.001 and 86400 (got \"%.*s\")",
                                   (int)(end && end > value ? end - value : (ptrdiff_t)strcspn(value, ",")), value);
            return;
        }
        cli_interval = v;
        *filter = *end == ',' ? end + 1 : NULL;
    }
    (void)opt_arg;
}

/* ---- phases ---- */

/* The story first: which phase, its verdict and the speech upload it judged; then the bytes per
 * service group and direction. Packet counts are a table of their own (echotap,phase_packets),
 * with the same rows. Column names are documented in doc/fields.md: keep them stable. */
enum { PH_DEVICE, PH_LABEL, PH_INDEX, PH_START, PH_DURATION, PH_KEY_COUNT,
       PH_VERDICT = PH_KEY_COUNT, PH_SPEECH_BYTES, PH_SPEECH_RATE, PH_SPEECH, PH_GROUPS,
       PH_COUNT = PH_GROUPS + 2 * ET_GROUP_COUNT };
enum { PP_GROUPS = PH_KEY_COUNT, PP_COUNT = PP_GROUPS + 2 * ET_GROUP_COUNT };

#define PHASE_KEY_COLUMNS \
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Device",       "%-15s" }, \
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Phase",        "%-12s" }, \
    { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "#",            "%3u" }, \
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "Start (s)",    "%9.3f" }, \
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "Duration (s)", "%9.3f" }

static stat_tap_table_item phase_fields[PH_COUNT] = {
    PHASE_KEY_COLUMNS,
    { TABLE_ITEM_STRING, TAP_ALIGN_LEFT,  "Verdict",           "%-24s" },
    { TABLE_ITEM_UINT,   TAP_ALIGN_RIGHT, "Speech up (bytes)", "%9u" },
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "Speech up B/s",     "%9.1f" },
    { TABLE_ITEM_FLOAT,  TAP_ALIGN_RIGHT, "Speech (s)",        "%7.1f" },
    /* then bytes up and down per group: group_columns() */
};

static stat_tap_table_item phase_packet_fields[PP_COUNT] = {
    PHASE_KEY_COLUMNS,
    /* then packets up and down per group: group_columns() */
};

static void write_phase_key(const echotap_table *et, stat_tap_table *t, const et_capture *cap, guint row,
                            const et_ptable_row *r)
{
    set_string(t, row, PH_DEVICE, r->placed ? device_text(cap, r->device) : "");
    set_string(t, row, PH_LABEL, r->label);
    set_uint(t, row, PH_INDEX, r->placed ? r->index : 0);
    set_float(et, t, row, PH_START, r->start);
    set_float(et, t, row, PH_DURATION, r->duration);
}

static void write_phase_row(const echotap_table *et, stat_tap_table *t, const et_capture *cap, guint row,
                            const et_ptable_row *r)
{
    bool packets = et->kind == ET_TABLE_PHASE_PACKETS;
    if (r->tail_only) {                 /* a last phase following the capture's end */
        set_float(et, t, row, PH_DURATION, r->duration);
        if (!packets) {
            set_string(t, row, PH_VERDICT, r->verdict);
            set_float(et, t, row, PH_SPEECH_RATE, r->voice_up_rate);
        }
        return;
    }
    write_phase_key(et, t, cap, row, r);
    stat_tap_table_item_type *it = stat_tap_get_field_data(t, row, packets ? PP_GROUPS : PH_GROUPS);
    for (int g = 0; g < ET_GROUP_COUNT; g++)
        for (int d = 0; d < 2; d++)
            put_uint(it++, packets ? r->cells.packets[g][d] : r->cells.bytes[g][d]);
    if (packets)
        return;
    set_string(t, row, PH_VERDICT, r->verdict);
    set_uint(t, row, PH_SPEECH_BYTES, r->voice_up_bytes);
    set_float(et, t, row, PH_SPEECH_RATE, r->voice_up_rate);
    set_float(et, t, row, PH_SPEECH, r->speech_s);
}

static tap_packet_status phases_packet(void *tapdata, packet_info *pinfo _U_, epan_dissect_t *edt _U_,
                                       const void *data, tap_flags_t flags _U_)
{
    echotap_table *v;
    const et_capture *cap;
    if (!tap_begin(tapdata, &v, &cap))
        return TAP_PACKET_DONT_REDRAW;
    const echotap_tap_record *rec = (const echotap_tap_record *)data;
    et_ptable_packet(v->ptable, cap->phases, cap->flows, rec->flow, rec->up, rec->len, rec->t);
    return TAP_PACKET_REDRAW;
}

/* The rows live in phase_table.c; the table copies the cells of the rows that changed since. */
static void sync_phases(echotap_table *v, stat_tap_table *t, const et_capture *cap)
{
    size_t n;
    const uint32_t *changed = et_ptable_changed(v->ptable, &n);
    if (n)
        ensure_row(v, t, et_ptable_rows(v->ptable) - 1);
    for (size_t i = 0; i < n; i++)
        write_phase_row(v, t, cap, changed[i], et_ptable_get(v->ptable, changed[i]));
    double end;
    const uint32_t *silent = et_ptable_silent(v->ptable, &n, &end);
    for (size_t i = 0; i < n; i++)
        set_float(v, t, silent[i], PH_DURATION, end - get_float(t, silent[i], PH_START));
}

/* ---- the cells written before they are read ---- */

/* Brings the cells up to the counts (when they belong to the current capture and Wireshark has
 * not freed the table). */
static void table_sync(echotap_table *et)
{
    const et_capture *cap = echotap_current_capture();
    if (cap == NULL || et->flows == NULL || et->flows != cap->flows || et->ui.tables == NULL ||
        et->ui.tables->len == 0)
        return;
    stat_tap_table *t = g_array_index(et->ui.tables, stat_tap_table *, 0);
    if (et->kind == ET_TABLE_FLOWS)
        sync_flows(et, t, cap);
    else if (et->kind == ET_TABLE_TIMELINE)
        sync_timeline(et, t, cap);
    else
        sync_phases(et, t, cap);
}

static echotap_table phases_table, phase_packets_table, flows_table, timeline_table;

/* The capture is freed (a file closed, a redissection): the registered tables' counts belong to
 * none, so that nothing is written from them (a dialog still shows its cells) and the next packet
 * counts anew. */
static void tables_cleanup(void)
{
    echotap_table *const all[] = { &phases_table, &phase_packets_table, &flows_table, &timeline_table };
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        all[i]->flows = NULL;
}

static int sync_listener;           /* its tapdata */
static bool sync_registered;

static void sync_draw(void *tapdata _U_)
{
    echotap_table *const all[] = { &phases_table, &phase_packets_table, &flows_table, &timeline_table };
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
        table_sync(all[i]);
}

/* The GUI draws only the listeners that asked for it (at its update interval and when a retap
 * ends); tshark draws every listener once, at the end. */
static tap_packet_status sync_packet(void *tapdata _U_, packet_info *pinfo _U_, epan_dissect_t *edt _U_,
                                     const void *data _U_, tap_flags_t flags _U_)
{
    return TAP_PACKET_REDRAW;
}

/* (Re)registers the listener that writes the registered tables' cells, so that it is the newest:
 * drawn before every table's listener. Called while a packet is tapped, which is safe: the tap
 * walks its list from the listener it is at, and the list only gains one at its head (or loses
 * ours, unlinked). */
static void sync_ahead(void)
{
    if (sync_registered)
        remove_tap_listener(&sync_listener);
    GString *err = register_tap_listener("echotap", &sync_listener, NULL, TL_REQUIRES_NOTHING, NULL,
                                         echotap_in_gui() ? sync_packet : NULL, sync_draw, NULL);
    sync_registered = err == NULL;
    if (err) {
        ws_warning("echotap: the tables cannot be written before they are drawn: %s", err->str);
        g_string_free(err, TRUE);
    }
}

/* tshark: reject a bad schedule with one line, before any statistic is printed. */
static void phases_filter_check(const char *opt_arg _U_, const char **filter _U_, char **err)
{
    char *problem = echotap_schedule_problem();
    if (problem) {
        *err = g_strdup_printf("echotap: bad phase schedule (echotap.schedule): %s", problem);
        g_free(problem);
    }
}

/* ---- registration ---- */

static tap_param filter_param[] = { { PARAM_FILTER, "filter", "Filter", NULL, TRUE } };

#define TABLE(k, t, name, cli, packet, check, fields) {                                           \
    .kind = (k), .title = (t), .ui = {                                                           \
        REGISTER_PACKET_STAT_GROUP_UNSORTED, (name), "echotap", (cli), table_init, (packet),      \
        table_reset, free_item, (check), G_N_ELEMENTS(fields), (fields),                          \
        G_N_ELEMENTS(filter_param), filter_param, NULL, 0 } }

static echotap_table phases_table = TABLE(ET_TABLE_PHASES, "Phases", "Echotap Phases", "echotap,phases",
                                          phases_packet, phases_filter_check, phase_fields);
/* Not "echotap,phases_packets": tshark matches -z names by prefix. */
static echotap_table phase_packets_table = TABLE(ET_TABLE_PHASE_PACKETS, "Phases", "Echotap Phase Packets",
                                                 "echotap,phase_packets", phases_packet, phases_filter_check,
                                                 phase_packet_fields);
static echotap_table flows_table = TABLE(ET_TABLE_FLOWS, "Flows", "Echotap Flows", "echotap,flows",
                                         flows_packet, NULL, flow_fields);
static echotap_table timeline_table = TABLE(ET_TABLE_TIMELINE, "Bytes per interval", "Echotap Timeline",
                                            "echotap,timeline", timeline_packet, timeline_filter_check,
                                            timeline_fields);

void echotap_register_stats(module_t *module)
{
    prefs_register_uint_preference(module, "interval_ms", "Timeline interval (ms)",
        "Interval of the echotap timeline table (100 ms: the resolution of the original study)",
        10, &pref_interval_ms);
    echotap_table *const all[] = { &phases_table, &phase_packets_table, &flows_table, &timeline_table };
    group_columns(timeline_fields, TL_GROUPS, NULL, NULL);
    group_columns(phase_fields, PH_GROUPS, "bytes", "%9u");
    group_columns(phase_packet_fields, PP_GROUPS, "pkts", "%7u");
    /* Half-filled columns would crash the table; Wireshark goes on without it. */
    flows_table.registered = flow_record_columns();
    if (!flows_table.registered)
        ws_warning("echotap: the flow record's columns do not fill the Flows table: not registered");
    phases_table.registered = phase_packets_table.registered = timeline_table.registered = true;
    register_cleanup_routine(tables_cleanup);
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
        numbers_as_text(all[i]);
        if (all[i]->registered)
            register_stat_tap_table_ui(&all[i]->ui);
    }
}

/* ---- private copies (the live view, echotap-live.c) ---- */

echotap_table *echotap_table_copy_new(const char *cli_string)
{
    echotap_table *const copyable[] = { &phases_table, &flows_table };
    const echotap_table *of = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(copyable); i++)
        if (g_strcmp0(cli_string, copyable[i]->ui.cli_string) == 0)
            of = copyable[i];
    if (of == NULL || !of->registered)
        return NULL;
    echotap_table *c = g_new0(echotap_table, 1);
    c->ui = of->ui;
    c->ui.tables = NULL;
    c->ui.refcount = 0;
    c->kind = of->kind;
    c->title = of->title;
    c->number_format = of->number_format;
    c->zero_text = of->zero_text;
    c->sd.stat_tap_data = &c->ui;
    table_rows(c);
    return c;
}

const stat_tap_table_ui *echotap_table_copy_ui(const echotap_table *c)
{
    return &c->ui;
}

const stat_tap_table *echotap_table_copy_table(echotap_table *c)
{
    table_sync(c);
    return g_array_index(c->ui.tables, stat_tap_table *, 0);
}

void echotap_table_copy_reset(echotap_table *c)
{
    table_forget(c, g_array_index(c->ui.tables, stat_tap_table *, 0));
}

tap_packet_status echotap_table_copy_packet(echotap_table *c, packet_info *pinfo, epan_dissect_t *edt,
                                            const void *data, tap_flags_t flags)
{
    return c->ui.packet_func(&c->sd, pinfo, edt, data, flags);
}

void echotap_table_copy_free(echotap_table *c)
{
    if (c == NULL)
        return;
    echotap_table_copy_reset(c);
    g_free(g_array_index(c->ui.tables, stat_tap_table *, 0));
    g_array_free(c->ui.tables, TRUE);
    g_free(c);
}
