/* echotap-export.c - tshark -z echotap,json: the three tables as JSON, for scripts.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A tshark-only statistic (like -z conv,tcp it has its own printer), so it is computed when it
 * is printed, from the flows' final classes: per flow and key (phase or interval) counts, then
 * grouped by each flow's service. Unlike the tables, it splits every service, not just the
 * groups that fit in fixed columns.
 */
#include "echotap.h"
#include "flow_record.h"

#include <stdio.h>
#include <string.h>

#include <epan/stat_tap_ui.h>
#include <epan/tap.h>
#include <wsutil/report_message.h>

typedef et_flow_totals counts;

/* What one flow counted under one key (a phase index, a 100 ms bin or an interval). A flow's
 * packets arrive in time order, so its keys mostly do too: only its last part is looked at, and a
 * packet out of order may start a part for a key the flow had (parts are summed when printed). */
typedef struct export_part {
    uint32_t flow;
    int64_t key;
    counts c;
} export_part;

typedef struct part_list {
    GArray *parts;             /* export_part */
    GArray *last;              /* uint32 per flow id: its last part + 1 (0: none) */
} part_list;

typedef struct export_state {
    char *filter;
    double interval;
    part_list phase_parts;     /* key = phase index, or 100 ms bin (automatic) */
    part_list time_parts;      /* key = interval */
    GArray *flow_counts;       /* counts per flow id (no packets: not counted) */
} export_state;

static void parts_init(part_list *pl)
{
    pl->parts = g_array_new(FALSE, FALSE, sizeof(export_part));
    pl->last = g_array_new(FALSE, TRUE, sizeof(uint32_t));
}

static void parts_free(part_list *pl)
{
    g_array_free(pl->parts, TRUE);
    g_array_free(pl->last, TRUE);
}

static void export_reset(void *tapdata)
{
    export_state *st = (export_state *)tapdata;
    g_array_set_size(st->phase_parts.parts, 0);
    g_array_set_size(st->phase_parts.last, 0);
    g_array_set_size(st->time_parts.parts, 0);
    g_array_set_size(st->time_parts.last, 0);
    g_array_set_size(st->flow_counts, 0);
}

static void count(counts *c, bool up, uint32_t len)
{
    c->bytes[up ? 0 : 1] += len;
    c->packets[up ? 0 : 1]++;
}

static void count_part(part_list *pl, uint32_t flow, int64_t key, bool up, uint32_t len)
{
    if (pl->last->len <= flow)
        g_array_set_size(pl->last, flow + 1);       /* zeroed: no part yet */
    uint32_t *last = &g_array_index(pl->last, uint32_t, flow);
    export_part *p = *last ? &g_array_index(pl->parts, export_part, *last - 1) : NULL;
    if (p == NULL || p->key != key) {
        export_part fresh = { .flow = flow, .key = key };
        g_array_append_val(pl->parts, fresh);
        *last = pl->parts->len;
        p = &g_array_index(pl->parts, export_part, pl->parts->len - 1);
    }
    count(&p->c, up, len);
}

static tap_packet_status export_packet(void *tapdata, packet_info *pinfo _U_, epan_dissect_t *edt _U_,
                                       const void *data, tap_flags_t flags _U_)
{
    export_state *st = (export_state *)tapdata;
    const echotap_tap_record *rec = (const echotap_tap_record *)data;
    const et_capture *cap = echotap_current_capture();
    if (cap == NULL || cap->phases == NULL)
        return TAP_PACKET_DONT_REDRAW;
    int64_t key;
    if (et_phases_automatic(cap->phases)) {
        key = et_phases_bin(cap->phases, rec->t);
    } else {
        et_phase ph;
        et_phases_lookup(cap->phases, cap->flows, rec->flow->device, rec->t, &ph);
        key = ph.index;
    }
    uint32_t id = rec->flow->id;
    count_part(&st->phase_parts, id, key, rec->up, rec->len);
    count_part(&st->time_parts, id, rec->t > 0 ? (int64_t)(rec->t / st->interval) : 0, rec->up, rec->len);
    if (st->flow_counts->len <= id)
        g_array_set_size(st->flow_counts, id + 1);  /* zeroed */
    count(&g_array_index(st->flow_counts, counts, id), rec->up, rec->len);
    return TAP_PACKET_REDRAW;
}

static void json_string(const char *s)
{
    putchar('"');
    while (s && *s) {
        size_t run = 0;           /* characters that need no escape, written at once */
        while (s[run] && s[run] != '"' && s[run] != '\\' && (unsigned char)s[run] >= 0x20)
            run++;
        fwrite(s, 1, run, stdout);
        s += run;
        if (*s == '\0')
            break;
        unsigned char c = (unsigned char)*s++;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else
            printf("\\u%04x", c);
    }
    putchar('"');
}

static void json_string_or_null(const char *s)
{
    if (s)
        json_string(s);
    else
        fputs("null", stdout);
}

static const char *service_of(const et_flow *fl)
{
    return fl->service ? fl->service : "untagged";
}

/* An output row: (phase index or interval, device, service) and its counts. */
typedef struct out_row {
    int64_t a;
    uint32_t device;
    const char *service;
    counts c;
} out_row;

static gint out_row_order(gconstpointer x, gconstpointer y)
{
    const out_row *p = x, *q = y;
    if (p->device != q->device)
        return p->device < q->device ? -1 : 1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return strcmp(p->service, q->service);
}

/* Rows of counts per (phase index or interval, device, service): one per part, sorted, then the
 * rows with the same key summed. */
static GArray *aggregate(const et_capture *cap, const part_list *pl, bool phases)
{
    GArray *rows = g_array_sized_new(FALSE, FALSE, sizeof(out_row), pl->parts->len);
    bool automatic = et_phases_automatic(cap->phases);
    for (guint i = 0; i < pl->parts->len; i++) {
        const export_part *p = &g_array_index(pl->parts, export_part, i);
        const et_flow *fl = et_flows_get(cap->flows, p->flow);
        out_row r = { p->key, fl->device, service_of(fl), p->c };
        if (phases && automatic) {
            et_phase ph;
            et_phases_lookup(cap->phases, cap->flows, fl->device, (p->key + 0.5) * et_phases_bin_seconds(cap->phases), &ph);
            r.a = ph.index;
        }
        g_array_append_val(rows, r);
    }
    g_array_sort(rows, out_row_order);
    guint kept = 0;
    for (guint i = 0; i < rows->len; i++) {
        const out_row *r = &g_array_index(rows, out_row, i);
        out_row *last = kept ? &g_array_index(rows, out_row, kept - 1) : NULL;
        if (last && out_row_order(last, r) == 0) {
            for (int d = 0; d < 2; d++) {
                last->c.bytes[d] += r->c.bytes[d];
                last->c.packets[d] += r->c.packets[d];
            }
        } else {
            g_array_index(rows, out_row, kept++) = *r;
        }
    }
    g_array_set_size(rows, kept);
    return rows;
}

static void print_counts_rows(const et_capture *cap, GArray *rows, bool phases, double interval)
{
    bool first = true;
    for (guint i = 0; i < rows->len; i++) {
        const out_row *r = &g_array_index(rows, out_row, i);
        const char *dev = et_flows_device(cap->flows, r->device)->addr_text;
        for (int d = 0; d < 2; d++) {
            if (r->c.packets[d] == 0)
                continue;
            fputs(first ? "\n  {" : ",\n  {", stdout);
            first = false;
            if (phases) {
                uint32_t n;
                const et_phase *list = et_phases_list(cap->phases, cap->flows, r->device, &n, NULL);
                printf("\"phase_index\": %" G_GINT64_FORMAT ", \"phase\": ", r->a);
                json_string(r->a < n ? list[r->a].label : "");
            } else {
                printf("\"start\": %.6f", r->a * interval);
            }
            fputs(", \"device\": ", stdout);
            json_string(dev);
            fputs(", \"service\": ", stdout);
            json_string(r->service);
            printf(", \"dir\": \"%s\", \"bytes\": %" G_GUINT64_FORMAT ", \"packets\": %" G_GUINT64_FORMAT "}",
                   d == 0 ? "up" : "down", r->c.bytes[d], r->c.packets[d]);
        }
    }
}

static void print_devices(const et_capture *cap)
{
    char buf[64];
    for (uint32_t d = 0; d < et_flows_device_count(cap->flows); d++) {
        const et_device *dev = et_flows_device(cap->flows, d);
        printf("%s\n  {\"device\": ", d ? "," : "");
        json_string(et_addr_to_str(&dev->addr, buf, sizeof(buf)));
        printf(", \"speaker\": %s, \"assistant\": ", et_device_is_speaker(dev) ? "true" : "false");
        if (et_device_is_speaker(dev))
            json_string(et_assistant_name(et_device_assistant(dev)));
        else
            printf("null");
        printf(", \"model\": ");
        if (dev->model[0])
            json_string(dev->model);
        else
            printf("null");
        printf("}");
    }
}

/* The flows the export counted, with the flow record's columns. */
static void print_flows(const et_capture *cap, GArray *flow_counts)
{
    char buf[64];
    bool first = true;
    for (uint32_t id = 0; id < et_flows_count(cap->flows) && id < flow_counts->len; id++) {
        const counts *c = &g_array_index(flow_counts, counts, id);
        if (c->packets[0] + c->packets[1] == 0)
            continue;
        const et_flow *fl = et_flows_get(cap->flows, id);
        printf("%s\n  {", first ? "" : ",");
        first = false;
        size_t n;
        const et_flow_column *cols = et_flow_columns(&n);
        for (size_t i = 0; i < n; i++) {
            et_rec_value v = { NULL, 0 };
            cols[i].get(cap->flows, fl, c, buf, sizeof(buf), &v);
            printf("%s\"%s\": ", i ? ", " : "", cols[i].key);
            if (cols[i].type == ET_REC_STRING)
                json_string_or_null(v.s || !cols[i].none || !*cols[i].none ? v.s : cols[i].none);
            else
                printf("%" G_GUINT64_FORMAT, v.u);
        }
        printf("}");
    }
}

/* Every device's phases with their judgement. */
static void print_phases(const et_capture *cap)
{
    char buf[64];
    bool first = true;
    for (uint32_t d = 0; d < et_flows_device_count(cap->flows); d++) {
        uint32_t n;
        const et_phase *list = et_phases_list(cap->phases, cap->flows, d, &n, NULL);
        et_addr_to_str(&et_flows_device(cap->flows, d)->addr, buf, sizeof(buf));
        for (uint32_t i = 0; i < n; i++) {
            et_phase_judgement j;
            et_phases_judge(cap->phases, cap->flows, d, &list[i], &j);
            printf("%s\n  {\"device\": ", first ? "" : ",");
            first = false;
            json_string(buf);
            /* The Phases table's order: what, when, the verdict and the speech it judged; then
             * what the verdict was judged against. */
            printf(", \"label\": ");
            json_string(list[i].label);
            printf(", \"index\": %u, \"start\": %.6f, \"end\": %.6f, \"verdict\": ", list[i].index,
                   list[i].start, list[i].end);
            json_string(et_verdict_name(j.verdict));
            printf(", \"voice_up_bytes\": %" G_GUINT64_FORMAT ", \"voice_up_rate\": %.1f, \"speech_s\": %.1f"
                   ", \"max_speech_s\": %.2f, \"wake\": %s, \"baseline_rate\": %.1f}",
                   j.voice_up_bytes, j.voice_up_rate, j.speech_s, j.max_speech_s, list[i].wake ? "true" : "false",
                   j.baseline_rate);
        }
    }
}

static void export_draw(void *tapdata)
{
    export_state *st = (export_state *)tapdata;
    const et_capture *cap = echotap_current_capture();
    if (cap == NULL || cap->phases == NULL) {
        printf("{\"flows\": [], \"phases\": [], \"stats\": [], \"timeline\": []}\n");
        return;
    }
    printf("{\"filter\": ");
    json_string_or_null(st->filter);
    printf(",\n\"automatic_phases\": %s,\n\"devices\": [", et_phases_automatic(cap->phases) ? "true" : "false");
    print_devices(cap);
    printf("],\n\"flows\": [");
    print_flows(cap, st->flow_counts);
    printf("],\n\"phases\": [");
    print_phases(cap);
    printf("],\n\"stats\": [");
    GArray *rows = aggregate(cap, &st->phase_parts, true);
    print_counts_rows(cap, rows, true, 0);
    g_array_free(rows, TRUE);
    printf("],\n\"timeline_interval\": %.6f,\n\"timeline\": [", st->interval);
    rows = aggregate(cap, &st->time_parts, false);
    print_counts_rows(cap, rows, false, st->interval);
    g_array_free(rows, TRUE);
    printf("]}\n");
}

static void export_finish(void *tapdata)
{
    export_state *st = (export_state *)tapdata;
    parts_free(&st->phase_parts);
    parts_free(&st->time_parts);
    g_array_free(st->flow_counts, TRUE);
    g_free(st->filter);
    g_free(st);
}

/* -z echotap,json[,interval=SECONDS][,filter] */
static ET_Z_INIT_TYPE
export_init(const char *opt_arg, void *userdata _U_)
{
    char *problem = echotap_schedule_problem();
    if (problem) {
        report_failure("echotap,json: bad phase schedule (echotap.schedule): %s", problem);
        g_free(problem);
        ET_Z_INIT_DONE(false);
    }
    export_state *st = g_new0(export_state, 1);
    st->interval = 0.1;
    const char *rest = opt_arg + strlen("echotap,json");
    if (*rest == ',')
        rest++;
    if (g_str_has_prefix(rest, "interval=")) {
        const char *value = rest + strlen("interval=");
        char *end = NULL;
        double v = g_ascii_strtod(value, &end);
        if (end == value || (*end != '\0' && *end != ',') || !(v >= 0.001 && v <= 86400)) {
            report_failure("echotap,json: interval must be seconds between 0.001 and 86400");
            g_free(st);
            ET_Z_INIT_DONE(false);
        }
        st->interval = v;
        rest = *end == ',' ? end + 1 : end;
    }
    st->filter = *rest ? g_strdup(rest) : NULL;
    parts_init(&st->phase_parts);
    parts_init(&st->time_parts);
    st->flow_counts = g_array_new(FALSE, TRUE, sizeof(counts));
    GString *err = register_tap_listener("echotap", st, st->filter, 0, export_reset, export_packet,
                                         export_draw, export_finish);
    if (err) {
        report_failure("echotap,json: %s", err->str);
        g_string_free(err, TRUE);
        export_finish(st);
        ET_Z_INIT_DONE(false);
    }
    ET_Z_INIT_DONE(true);
}

void echotap_register_export(void)
{
    static tap_param params[] = { { PARAM_FILTER, "filter", "Filter", NULL, TRUE } };
    static stat_tap_ui ui = { REGISTER_STAT_GROUP_GENERIC, "Echotap JSON export", "echotap,json", export_init,
                              G_N_ELEMENTS(params), params };
    register_stat_tap_ui(&ui, NULL);
}
