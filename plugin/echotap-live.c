/* echotap-live.c - the live view: the Phases and Flows tables as text that Wireshark redraws
 * during a live capture.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Why a view of its own: the Echotap Phases/Flows/Timeline dialogs are stat_tap_table dialogs
 * (Qt's SimpleStatisticsDialog), which register a tap listener, retap, draw once and remove the
 * listener again; only their Apply button counts new packets. A tap listener that stays
 * registered is tapped with every packet captured, and Wireshark calls its draw callback at its
 * statistics update interval (taps.update_interval, 3 s by default). So the live view is such a
 * listener, shown in a text window of Wireshark's funnel API (the one Lua's windows use):
 * Statistics > Echotap Live, or -z echotap,live at start. It counts into private copies of the
 * Phases and Flows tables (echotap_table_copy_new: the same code as the registered tables) and
 * prints them as aligned text: the Phases whole, the Flows folded so that the text fits a screen
 * (render_flows), under the wall clock of the drawing. `tshark -q -z echotap,live` prints the same
 * text once, at its end.
 *
 * The listener is removed when its window is closed and, at the latest, when Wireshark shuts
 * down (the windows are gone by then; only the listener and its tables are freed).
 */
#define WS_LOG_DOMAIN "echotap"
/* The views' lifecycle is logged at info level: hidden by default, shown by --log-debug echotap.
 * (ws_debug is compiled out of plugins unless WS_DEBUG is defined, from Wireshark 4.2 on.) */
#include "echotap.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <epan/funnel.h>
#include <epan/prefs.h>
#include <wsutil/report_message.h>

#define LIVE_TITLE "Echotap Live"
#define LIVE_CLI "echotap,live"
#define COLUMN_GAP "  "
/* tshark's line around a statistic */
#define RULE "====================================================================================================="

/* The Phases table's story columns, then its bytes per group (the columns after the story). */
static const char *const story_columns[] = { "Device", "Phase", "#", "Start (s)", "Duration (s)", "Verdict",
                                             "Speech up (bytes)", "Speech up B/s", "Speech (s)" };
static const char *const phase_key_columns[] = { "Device", "Phase", "#" };

typedef struct live_view {
    funnel_text_window_t *win;   /* NULL: no funnel text windows; the text is printed at the end */
    echotap_table *phases, *flows;
    char *filter;
    uint64_t packets;
    double last_t;
    time_t last_captured;        /* the last packet's capture time (wall clock) */
    GArray *counted;             /* guint8: a bit per frame number counted since the last reset */
    bool gui;                    /* a window of the GUI (which retaps and redraws) */
    bool retapping;              /* inside the retap that opening started */
    bool closed;                 /* the window was closed during that retap */
} live_view;

static GSList *views;            /* every registered view, for the shutdown routine */

/* ---- text of a stat_tap_table ---- */

/* A cell as its column's field_format writes it, without the format's padding. The tables have
 * numbers (UINT) and text (STRING, numbers with decimals too: echotap-stats.c). */
static char *cell_text(const stat_tap_table_ui *ui, const stat_tap_table *t, guint row, guint col)
{
    const stat_tap_table_item_type *it = stat_tap_get_field_data(t, row, col);
    const char *fmt = ui->fields[col].field_format;
    char *s;
    if (it->type == TABLE_ITEM_UINT)
        s = g_strdup_printf(fmt, it->value.uint_value);
    else if (it->type == TABLE_ITEM_STRING)
        s = g_strdup_printf(fmt, it->value.string_value ? it->value.string_value : "");
    else
        s = g_strdup("");
    return g_strstrip(s);
}

/* Characters a text window shows for s (bytes when s is not UTF-8). */
static size_t text_width(const char *s)
{
    return g_utf8_validate(s, -1, NULL) ? (size_t)g_utf8_strlen(s, -1) : strlen(s);
}

static void pad(GString *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g_string_append_c(out, ' ');
}

static void put_cell(GString *out, const char *s, size_t width, bool right, bool last)
{
    size_t w = text_width(s);
    if (right)
        pad(out, width > w ? width - w : 0);
    g_string_append(out, s);
    if (!right && !last)
        pad(out, width > w ? width - w : 0);
}

static int column_index(const stat_tap_table_ui *ui, const char *title)
{
    for (size_t c = 0; c < ui->nfields; c++) {
        if (g_strcmp0(ui->fields[c].column_name, title) == 0)
            return (int)c;
    }
    return -1;
}

/* `heading`, then a text table: a header line, a line of dashes as wide as each column (where one
 * column ends and the next begins), and one line per row; cells left-aligned or right-aligned as
 * their column says, two spaces apart. cells: rows x ncols, row by row. */
static void render_grid(GString *out, const char *heading, size_t ncols, const char *const *titles, const bool *right,
                        char *const *cells, size_t rows)
{
    size_t *width = g_new0(size_t, ncols);
    for (size_t j = 0; j < ncols; j++) {
        width[j] = text_width(titles[j]);
        for (size_t r = 0; r < rows; r++)
            width[j] = MAX(width[j], text_width(cells[r * ncols + j]));
    }
    g_string_append_printf(out, "%s\n", heading);
    for (size_t j = 0; j < ncols; j++) {
        if (j)
            g_string_append(out, COLUMN_GAP);
        put_cell(out, titles[j], width[j], right[j], j + 1 == ncols);
    }
    g_string_append_c(out, '\n');
    for (size_t j = 0; j < ncols; j++) {
        if (j)
            g_string_append(out, COLUMN_GAP);
        for (size_t k = 0; k < width[j]; k++)
            g_string_append_c(out, '-');
    }
    g_string_append_c(out, '\n');
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < ncols; j++) {
            if (j)
                g_string_append(out, COLUMN_GAP);
            put_cell(out, cells[r * ncols + j], width[j], right[j], j + 1 == ncols);
        }
        g_string_append_c(out, '\n');
    }
    if (rows == 0)
        g_string_append(out, "(no rows yet)\n");
    g_string_append_c(out, '\n');
    g_free(width);
}

/* The chosen columns of t as a text table (render_grid). `strip`: a suffix cut from the titles. */
static void render_table(GString *out, const char *heading, const stat_tap_table_ui *ui, const stat_tap_table *t,
                         const int *cols, size_t ncols, const char *strip)
{
    guint rows = t->num_elements;
    char **titles = g_new0(char *, ncols + 1);      /* NULL-terminated, for g_strfreev */
    bool *right = g_new0(bool, ncols);
    char **cells = g_new0(char *, (size_t)rows * ncols);
    for (size_t j = 0; j < ncols; j++) {
        titles[j] = g_strdup(ui->fields[cols[j]].column_name);
        if (strip && g_str_has_suffix(titles[j], strip) && strlen(titles[j]) > strlen(strip))
            titles[j][strlen(titles[j]) - strlen(strip)] = '\0';
        right[j] = ui->fields[cols[j]].align == TAP_ALIGN_RIGHT;
        for (guint r = 0; r < rows; r++)
            cells[(size_t)r * ncols + j] = cell_text(ui, t, r, (guint)cols[j]);
    }
    render_grid(out, heading, ncols, (const char *const *)titles, right, cells, rows);
    g_strfreev(titles);
    for (size_t i = 0; i < (size_t)rows * ncols; i++)
        g_free(cells[i]);
    g_free(cells);
    g_free(right);
}

/* Indexes of the named columns that exist into cols; how many. */
static size_t named_columns(const stat_tap_table_ui *ui, const char *const *names, size_t n, int *cols)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = column_index(ui, names[i]);
        if (c >= 0)
            cols[k++] = c;
    }
    return k;
}

/* ---- the Flows, folded ---- */

/* A live capture opens a flow per TLS connection: hundreds after minutes. The view shows them per
 * device, service and server, the LIVE_TOP groups with the most bytes, and the rest in a line per
 * device, so that it fits a screen (the funnel text window cannot keep the reader's place when its
 * text is set again: Qt's setText scrolls it to the top). */
#define LIVE_TOP 10

typedef struct flow_group {
    const char *device, *service, *server, *host;  /* cells of the Flows table */
    guint64 host_bytes;          /* bytes of the flow the host is from: the group's biggest with one */
    guint order;                 /* first row of the group in the table */
    guint flows, more;           /* flows; groups folded into a rest line */
    guint64 bytes[2], pkts[2];   /* up, down */
    double first, last;
} flow_group;

enum { FG_DEVICE, FG_SERVICE, FG_SERVER, FG_HOST, FG_UP_BYTES, FG_UP_PKTS, FG_DOWN_BYTES, FG_DOWN_PKTS,
       FG_FIRST, FG_LAST, FG_COLUMNS };
/* The Flows table's columns the fold reads, in the enum's order. */
static const char *const flow_columns[FG_COLUMNS] = { "Device", "Service", "Server", "Host", "Up bytes",
    "Up pkts", "Down bytes", "Down pkts", "First (s)", "Last (s)" };

static guint64 group_bytes(const flow_group *g)
{
    return g->bytes[0] + g->bytes[1];
}

static gint by_order(gconstpointer a, gconstpointer b)
{
    const flow_group *x = a, *y = b;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Most bytes first; equal ones in the table's order. */
static gint by_bytes(gconstpointer a, gconstpointer b)
{
    const flow_group *x = a, *y = b;
    if (group_bytes(x) != group_bytes(y))
        return group_bytes(x) > group_bytes(y) ? -1 : 1;
    return by_order(a, b);
}

static void group_add(flow_group *into, const flow_group *g)
{
    if (into->flows == 0 || g->first < into->first)
        into->first = g->first;
    into->last = into->flows == 0 ? g->last : MAX(into->last, g->last);
    into->flows += g->flows;
    for (int d = 0; d < 2; d++) {
        into->bytes[d] += g->bytes[d];
        into->pkts[d] += g->pkts[d];
    }
}

static void render_flows(GString *out, const stat_tap_table_ui *ui, const stat_tap_table *t)
{
    int col[FG_COLUMNS];
    for (int c = 0; c < FG_COLUMNS; c++) {
        col[c] = column_index(ui, flow_columns[c]);
        if (col[c] < 0) {
            g_string_append_printf(out, "Flows\n(the Flows table has no column %s)\n\n", flow_columns[c]);
            return;
        }
    }
    GArray *groups = g_array_new(FALSE, TRUE, sizeof(flow_group));
    GHashTable *index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint r = 0; r < t->num_elements; r++) {
        const stat_tap_table_item_type *it = stat_tap_get_field_data(t, r, 0);
        flow_group one = { it[col[FG_DEVICE]].value.string_value, it[col[FG_SERVICE]].value.string_value,
                           it[col[FG_SERVER]].value.string_value, "", 0, r, 1, 0,
                           { it[col[FG_UP_BYTES]].value.uint_value, it[col[FG_DOWN_BYTES]].value.uint_value },
                           { it[col[FG_UP_PKTS]].value.uint_value, it[col[FG_DOWN_PKTS]].value.uint_value },
                           echotap_table_cell_number(&it[col[FG_FIRST]]),
                           echotap_table_cell_number(&it[col[FG_LAST]]) };
        char *key = g_strjoin("\t", one.device, one.service, one.server, NULL);
        gpointer at;
        flow_group *g;
        if (g_hash_table_lookup_extended(index, key, NULL, &at)) {
            g_free(key);
            g = &g_array_index(groups, flow_group, GPOINTER_TO_UINT(at));
            group_add(g, &one);
        } else {
            g_hash_table_insert(index, key, GUINT_TO_POINTER(groups->len));
            g_array_append_val(groups, one);
            g = &g_array_index(groups, flow_group, groups->len - 1);
        }
        const char *host = it[col[FG_HOST]].value.string_value;
        if (host && *host && (*g->host == '\0' || group_bytes(&one) > g->host_bytes)) {
            g->host = host;
            g->host_bytes = group_bytes(&one);
        }
    }
    g_hash_table_destroy(index);
    g_array_sort(groups, by_bytes);

    /* The top groups, then the rest per device, in the order of the first row each rest holds. */
    GArray *shown = g_array_new(FALSE, TRUE, sizeof(flow_group));
    g_array_append_vals(shown, groups->data, MIN(groups->len, LIVE_TOP));
    GArray *rest = g_array_new(FALSE, TRUE, sizeof(flow_group));
    for (guint i = LIVE_TOP; i < groups->len; i++) {
        const flow_group *g = &g_array_index(groups, flow_group, i);
        guint k = 0;
        while (k < rest->len && g_strcmp0(g_array_index(rest, flow_group, k).device, g->device) != 0)
            k++;
        if (k == rest->len) {
            flow_group line = { g->device, "", "", "", 0, g->order, 0, 0, { 0, 0 }, { 0, 0 }, 0, 0 };
            g_array_append_val(rest, line);
        }
        flow_group *line = &g_array_index(rest, flow_group, k);
        line->order = MIN(line->order, g->order);
        line->more++;
        group_add(line, g);
    }
    g_array_sort(rest, by_order);
    g_array_append_vals(shown, rest->data, rest->len);

    static const char *const titles[] = { "Device", "Service", "Server", "Host", "Flows", "Up bytes", "Up pkts",
                                          "Down bytes", "Down pkts", "First (s)", "Last (s)" };
    static const bool right[] = { false, false, false, false, true, true, true, true, true, true, true };
    enum { N = G_N_ELEMENTS(titles) };
    char **cells = g_new0(char *, (size_t)shown->len * N);
    for (guint r = 0; r < shown->len; r++) {
        const flow_group *g = &g_array_index(shown, flow_group, r);
        char **c = &cells[(size_t)r * N];
        c[0] = g_strdup(g->device);
        c[1] = g->more ? g_strdup_printf("(%u more)", g->more) : g_strdup(g->service);
        c[2] = g_strdup(g->server);
        c[3] = g_strdup(g->host);
        c[4] = g_strdup_printf("%u", g->flows);
        c[5] = g_strdup_printf("%" G_GUINT64_FORMAT, g->bytes[0]);
        c[6] = g_strdup_printf("%" G_GUINT64_FORMAT, g->pkts[0]);
        c[7] = g_strdup_printf("%" G_GUINT64_FORMAT, g->bytes[1]);
        c[8] = g_strdup_printf("%" G_GUINT64_FORMAT, g->pkts[1]);
        c[9] = g_strdup_printf("%.3f", g->first);
        c[10] = g_strdup_printf("%.3f", g->last);
    }
    g_string_append_printf(out, "%u flow%s in %u group%s of device, service and server.\n", t->num_elements,
                           t->num_elements == 1 ? "" : "s", groups->len, groups->len == 1 ? "" : "s");
    render_grid(out, "Flows (per device, service and server: the " G_STRINGIFY(LIVE_TOP) " with the most bytes, "
                "then the rest per device)", N, titles, right, cells, shown->len);
    for (size_t i = 0; i < (size_t)shown->len * N; i++)
        g_free(cells[i]);
    g_free(cells);
    g_array_free(shown, TRUE);
    g_array_free(rest, TRUE);
    g_array_free(groups, TRUE);
}

static char *wall_clock(time_t t)
{
    GDateTime *dt = g_date_time_new_from_unix_local(t);
    char *s = dt ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S %z") : g_strdup("?");
    if (dt)
        g_date_time_unref(dt);
    return s;
}

static char *live_text(const live_view *v)
{
    GString *out = g_string_new(NULL);
    g_string_append_printf(out, "%" G_GUINT64_FORMAT " packets of TCP and UDP flows", v->packets);
    if (v->packets)
        g_string_append_printf(out, ", the last at %.3f s", v->last_t);
    if (v->filter)
        g_string_append_printf(out, " (filter: %s)", v->filter);
    g_string_append(out, ".\n");
    /* When the text was drawn, beside when the last packet came: during a live capture both move on. */
    char *now = wall_clock(time(NULL));
    g_string_append_printf(out, "Drawn at %s (wall clock)", now);
    g_free(now);
    if (v->packets) {
        char *captured = wall_clock(v->last_captured);
        g_string_append_printf(out, "; the last packet was captured at %s", captured);
        g_free(captured);
    }
    g_string_append(out, ".\n");
    if (v->gui)
        g_string_append_printf(out, "During a live capture Wireshark redraws this view every %.1f s (preference "
                               "statistics.update_interval).\n", prefs.tap_update_interval / 1000.0);
    char *problem = echotap_schedule_problem();
    if (problem) {
        g_string_append_printf(out, "Bad phase schedule (echotap.schedule): %s\n", problem);
        g_free(problem);
    }
    g_string_append_c(out, '\n');

    const stat_tap_table_ui *ui = echotap_table_copy_ui(v->phases);
    const stat_tap_table *t = echotap_table_copy_table(v->phases);
    int *cols = g_new0(int, ui->nfields);
    size_t n = named_columns(ui, story_columns, G_N_ELEMENTS(story_columns), cols);
    render_table(out, "Phases", ui, t, cols, n, NULL);
    /* The bytes per service group and direction: the columns after the story's last. */
    n = named_columns(ui, phase_key_columns, G_N_ELEMENTS(phase_key_columns), cols);
    int after = column_index(ui, story_columns[G_N_ELEMENTS(story_columns) - 1]);
    for (size_t c = (size_t)after + 1; after >= 0 && c < ui->nfields; c++)
        cols[n++] = (int)c;
    render_table(out, "Phase bytes (per service group, up and down)", ui, t, cols, n, " bytes");
    g_free(cols);

    render_flows(out, echotap_table_copy_ui(v->flows), echotap_table_copy_table(v->flows));
    return g_string_free(out, FALSE);
}

/* ---- the tap listener ---- */

static void live_reset(void *tapdata)
{
    live_view *v = (live_view *)tapdata;
    echotap_table_copy_reset(v->phases);
    echotap_table_copy_reset(v->flows);
    v->packets = 0;
    v->last_t = 0;
    v->last_captured = 0;
    g_array_set_size(v->counted, 0);
    ws_info("live view %p reset", (void *)v);
}

/* A retap that runs while a live capture goes on (a view opened during it) can hand a frame to
 * the listener twice: as it arrives, and again in the retap's sweep. Each frame counts once. */
static bool already_counted(live_view *v, guint32 frame)
{
    guint byte = frame / 8;
    if (v->counted->len <= byte)
        g_array_set_size(v->counted, byte + 1);       /* zeroed: the array clears new elements */
    guint8 *b = &g_array_index(v->counted, guint8, byte);
    guint8 bit = (guint8)(1u << (frame % 8));
    if (*b & bit)
        return true;
    *b |= bit;
    return false;
}

static tap_packet_status live_packet(void *tapdata, packet_info *pinfo, epan_dissect_t *edt, const void *data,
                                     tap_flags_t flags)
{
    live_view *v = (live_view *)tapdata;
    const echotap_tap_record *rec = (const echotap_tap_record *)data;
    if (already_counted(v, pinfo->num))
        return TAP_PACKET_DONT_REDRAW;
    echotap_table_copy_packet(v->phases, pinfo, edt, data, flags);
    echotap_table_copy_packet(v->flows, pinfo, edt, data, flags);
    v->packets++;
    if (rec->t >= v->last_t) {
        v->last_t = rec->t;
        v->last_captured = pinfo->abs_ts.secs;
    }
    return TAP_PACKET_REDRAW;
}

static void live_draw(void *tapdata)
{
    live_view *v = (live_view *)tapdata;
    const funnel_ops_t *ops = funnel_get_funnel_ops();
    char *text = live_text(v);
    if (v->win) {
        /* The Qt GUI clears its funnel ops when its main window goes. */
        if (ops && ops->set_text)
            ops->set_text(v->win, text);
    } else {
        printf("\n" RULE "\n%s:\n%s" RULE "\n", LIVE_TITLE, text);
    }
    g_free(text);
}

static void live_finish(void *tapdata)
{
    live_view *v = (live_view *)tapdata;
    views = g_slist_remove(views, v);
    ws_info("live view %p closed (%u open)", (void *)v, g_slist_length(views));
    echotap_table_copy_free(v->phases);
    echotap_table_copy_free(v->flows);
    g_array_free(v->counted, TRUE);
    g_free(v->filter);
    g_free(v);
}

/* The window was closed: the listener goes (live_finish frees the view), unless the retap that
 * opening started is still running; then opening removes it. */
static void live_closed(void *data)
{
    live_view *v = (live_view *)data;
    v->win = NULL;
    if (v->retapping) {
        v->closed = true;
        return;
    }
    remove_tap_listener(v);
}

/* Opens a view: a window (when there are funnel text windows), a listener, and a retap so that the
 * packets there already are count (the GUI's; tshark has no retap and is at its start). */
static bool live_open(const char *filter)
{
    const funnel_ops_t *ops = funnel_get_funnel_ops();
    live_view *v = g_new0(live_view, 1);
    v->counted = g_array_new(FALSE, TRUE, sizeof(guint8));
    v->phases = echotap_table_copy_new("echotap,phases");
    v->flows = echotap_table_copy_new("echotap,flows");
    v->filter = filter && *filter ? g_strdup(filter) : NULL;
    GString *err = v->phases && v->flows ? register_tap_listener("echotap", v, v->filter, TL_REQUIRES_NOTHING,
                                                                 live_reset, live_packet, live_draw, live_finish)
                                         : g_string_new("the Phases or Flows table is not registered");
    if (err) {
        /* No listener: live_finish is not called. */
        report_failure("%s: %s", LIVE_CLI, err->str);
        g_string_free(err, TRUE);
        echotap_table_copy_free(v->phases);
        echotap_table_copy_free(v->flows);
        g_array_free(v->counted, TRUE);
        g_free(v->filter);
        g_free(v);
        return false;
    }
    views = g_slist_prepend(views, v);
    ws_info("live view %p opened (%u open)", (void *)v, g_slist_length(views));
    /* A GUI's window, one that can be closed. tshark's funnel text windows cannot, and tshark 4.0
     * prints only every other one of them (funnel_dump_all_text_windows): there the view prints
     * itself when tshark draws its statistics at the end. */
    if (ops && ops->new_text_window && ops->set_close_cb) {
        v->win = ops->new_text_window(ops->ops_id, LIVE_TITLE);
        if (v->win)
            ops->set_close_cb(v->win, live_closed, v);
    }
    if (v->win && ops->retap_packets) {
        v->gui = true;
        v->retapping = true;
        ops->retap_packets(ops->ops_id);
        v->retapping = false;
        if (v->closed) {
            remove_tap_listener(v);
            return true;
        }
    }
    if (v->win)
        live_draw(v);
    return true;
}

/* Statistics > Echotap Live */
static void live_menu_cb(gpointer data _U_)
{
    live_open(NULL);
}

/* -z echotap,live[,filter] */
static ET_Z_INIT_TYPE
live_init(const char *opt_arg, void *userdata _U_)
{
    /* tshark stops on a bad schedule, as for the tables; a GUI's window names it instead (tshark's
     * way out, exit, would end the GUI). */
    char *problem = echotap_schedule_problem();
    if (problem && !echotap_in_gui()) {
        report_failure("%s: bad phase schedule (echotap.schedule): %s", LIVE_CLI, problem);
        g_free(problem);
        ET_Z_INIT_DONE(false);
    }
    g_free(problem);
    const char *filter = opt_arg + strlen(LIVE_CLI);
    if (*filter == ',')
        filter++;
    ET_Z_INIT_DONE(live_open(filter));
}

/* Wireshark quits: the listeners go (their windows are already gone). */
static void live_shutdown(void)
{
    while (views) {
        void *v = views->data;
        remove_tap_listener(v);
        if (views && views->data == v)     /* it was no longer registered */
            live_finish(v);
    }
}

void echotap_register_live(void)
{
    static tap_param params[] = { { PARAM_FILTER, "filter", "Filter", NULL, TRUE } };
    /* Not a prefix of another echotap,... name, nor one of them a prefix of it: tshark matches -z
     * names by prefix. */
    static stat_tap_ui ui = { REGISTER_STAT_GROUP_GENERIC, LIVE_TITLE, LIVE_CLI, live_init,
                              G_N_ELEMENTS(params), params };
    register_stat_tap_ui(&ui, NULL);
    funnel_register_menu(LIVE_TITLE, REGISTER_PACKET_STAT_GROUP_UNSORTED, live_menu_cb, NULL, NULL, FALSE);
    register_shutdown_routine(live_shutdown);
}
