/* phases.c - schedules, wake-word interaction detection and the privacy verdict.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "phases.h"

#include <math.h>
#include <string.h>
#include <glib.h>

#define MAX_SCHEDULE_ENTRIES 1024
/* Phases shorter than this do not set a device's idle baseline (unless all are). */
#define BASELINE_MIN_DURATION 5.0

/* ---- schedule ---- */

static bool label_ok(const char *s, size_t n)
{
    if (n == 0 || n >= ET_LABEL_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!(g_ascii_isalnum(s[i]) || s[i] == '-' || s[i] == '_'))
            return false;
    }
    return true;
}

static bool in_list(const char *label, const char *list)
{
    bool found = false;
    gchar **items = g_strsplit(list ? list : "", ",", -1);
    for (gchar **it = items; *it && !found; it++)
        found = g_ascii_strcasecmp(g_strstrip(*it), label) == 0;
    g_strfreev(items);
    return found;
}

/* Control characters become '?'. */
static void printable(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
    }
}

et_schedule *et_schedule_parse(const char *text, const char *nowake, char **error)
{
    *error = NULL;
    gchar *copy = g_strdup(text ? text : "");
    gchar **items = g_strsplit_set(g_strstrip(copy), ";\n", -1);   /* a file: one entry per line */
    et_schedule *s = g_new0(et_schedule, 1);
    s->entries = g_new0(et_schedule_entry, MAX_SCHEDULE_ENTRIES);
    guint n_items = g_strv_length(items);
    for (guint i = 0; i < n_items && *error == NULL; i++) {
        gchar *item = g_strstrip(items[i]);
        if (*item == '\0')
            continue;                       /* ";;", a trailing ';' or an empty line */
        if (s->count == MAX_SCHEDULE_ENTRIES) {
            *error = g_strdup_printf("the schedule has more than %d entries", MAX_SCHEDULE_ENTRIES);
            break;
        }
        gchar **parts = g_strsplit_set(item, " \t", -1);
        gchar *time_s = NULL, *label = NULL;
        guint words = 0;
        for (gchar **p = parts; *p; p++) {
            if (**p == '\0')
                continue;
            words++;
            if (words == 1) time_s = *p;
            else if (words == 2) label = *p;
        }
        bool absolute = time_s && time_s[0] == '@';
        const char *num = time_s ? time_s + (absolute ? 1 : 0) : "";
        gchar *end = NULL;
        double t = g_ascii_strtod(num, &end);
        printable(item);                    /* the error line quotes them: no terminal escapes */
        if (time_s)
            printable(time_s);
        if (words != 2) {
            *error = g_strdup_printf("schedule entry %u (\"%s\"): expected \"SECONDS LABEL\"", i + 1, item);
        } else if (*num == '\0' || end == NULL || *end != '\0' || !isfinite(t) || t < 0) {
            *error = g_strdup_printf("schedule entry %u (\"%s\"): \"%s\" is not a number of seconds", i + 1, item, time_s);
        } else if (!label_ok(label, strlen(label))) {
            *error = g_strdup_printf("schedule entry %u (\"%s\"): the label must be 1 to %d letters, digits, '-' or '_'",
                                     i + 1, item, ET_LABEL_MAX - 1);
        } else if (s->count > 0 && absolute != s->absolute) {
            *error = g_strdup_printf("schedule entry %u (\"%s\"): mixes absolute (@) and relative times", i + 1, item);
        } else if (s->count > 0 && t <= s->entries[s->count - 1].start) {
            *error = g_strdup_printf("schedule entry %u (\"%s\"): times must increase", i + 1, item);
        } else {
            et_schedule_entry *e = &s->entries[s->count++];
            s->absolute = absolute;
            e->start = t;
            g_strlcpy(e->label, label, sizeof(e->label));
            e->wake = !in_list(label, nowake);
        }
        g_strfreev(parts);
    }
    if (*error == NULL && s->count == 0)
        *error = g_strdup("the schedule is empty (expected e.g. \"0 silence; 8 query\")");
    g_strfreev(items);
    g_free(copy);
    if (*error) {
        et_schedule_free(s);
        return NULL;
    }
    return s;
}

void et_schedule_free(et_schedule *s)
{
    if (s) {
        g_free(s->entries);
        g_free(s);
    }
}

/* ---- detection ---- */

void et_detector_defaults(et_detector_config *cfg)
{
    cfg->bin = 0.1;
    cfg->gap = 1.0;
    cfg->min_voice_bytes = 4000;
    cfg->min_voice_bins = 5;
    cfg->margin = 1000.0;
}

static const char *const verdict_names[] = { "-", "wake word", "ok", "UPLOAD WITHOUT WAKE WORD" };

const char *et_verdict_name(et_verdict v)
{
    return verdict_names[v];
}

typedef struct bin_entry {
    uint32_t bin;
    uint32_t up, down;         /* bytes */
} bin_entry;

enum { SERIES_NONE, SERIES_AVS, SERIES_CAND, SERIES_COUNT };

typedef struct burst {
    bool open;
    uint32_t first, last;      /* bins */
    uint32_t last_up_bin;
    uint32_t up_bins;
    uint64_t up;
} burst;

typedef struct interaction {
    uint32_t first, last;      /* bins, inclusive */
} interaction;

/* The quietest voice-path upload rates among phases without a wake word: of those lasting at
 * least BASELINE_MIN_DURATION, and of shorter ones; -1 when there is none. */
typedef struct idle_rates {
    double lasting, brief;
} idle_rates;

typedef struct dev_state {
    GArray *series[SERIES_COUNT];   /* bin_entry, sorted by bin ([SERIES_NONE] unused) */
    bool avs_mode;                  /* detection ran on the AVS series */
    GArray *interactions;           /* closed bursts that were interactions */
    burst cur;
    bool rerun;                     /* the detector must run again over the whole series */
    bool rerun_current;             /* ... or only over the open burst */
    uint64_t version;
    /* cache of the phase list, and the voice-path upload of each listed phase */
    GArray *list;
    GArray *list_before;            /* the previous list, to see what changed */
    GArray *phase_voice;            /* uint64_t per phase of list */
    uint64_t list_version;
    bool list_speaker;
    bool list_valid;
    bool voice_stale;               /* a recount moved bytes anywhere: recount every phase */
    /* idle_rates of every listed phase but the last (whose end still moves), so that judging a
     * phase does not walk the whole list on every packet */
    idle_rates settled;
    bool settled_valid;
} dev_state;

typedef struct flow_bins {
    uint8_t series;            /* SERIES_* the bins are counted in */
    uint32_t device;
    GArray *bins;              /* bin_entry */
} flow_bins;

struct et_phases {
    et_detector_config cfg;
    et_schedule *sched;        /* copy, or NULL */
    double epoch;
    double end;                /* last packet time */
    GPtrArray *devices;        /* dev_state*, by device id */
    GPtrArray *flows;          /* flow_bins*, by flow id, NULL if never on a voice path */
    size_t change_cursor;
    GStringChunk *labels;
};

static void dev_state_free(gpointer p)
{
    dev_state *d = p;
    for (int i = 0; i < SERIES_COUNT; i++) {
        if (d->series[i])
            g_array_free(d->series[i], TRUE);
    }
    g_array_free(d->interactions, TRUE);
    g_array_free(d->list, TRUE);
    g_array_free(d->list_before, TRUE);
    g_array_free(d->phase_voice, TRUE);
    g_free(d);
}

static void flow_bins_free(gpointer p)
{
    flow_bins *fb = p;
    if (fb) {
        g_array_free(fb->bins, TRUE);
        g_free(fb);
    }
}

et_phases *et_phases_new(const et_schedule *sched, const et_detector_config *cfg, double epoch)
{
    et_phases *p = g_new0(et_phases, 1);
    p->cfg = *cfg;
    if (sched) {
        p->sched = g_new0(et_schedule, 1);
        *p->sched = *sched;
        p->sched->entries = g_memdup2(sched->entries, sizeof(et_schedule_entry) * sched->count);
    }
    p->epoch = epoch;
    p->devices = g_ptr_array_new_with_free_func(dev_state_free);
    p->flows = g_ptr_array_new_with_free_func(flow_bins_free);
    p->labels = g_string_chunk_new(256);
    return p;
}

void et_phases_free(et_phases *p)
{
    if (p == NULL)
        return;
    g_ptr_array_free(p->devices, TRUE);
    g_ptr_array_free(p->flows, TRUE);
    et_schedule_free(p->sched);
    g_string_chunk_free(p->labels);
    g_free(p);
}

uint32_t et_phases_bin(const et_phases *p, double t)
{
    /* 0.3 / 0.1 is 2.9999999999999996 in binary floating point: a packet at a bin's start
     * belongs to that bin. */
    return t > 0 ? (uint32_t)floor(t / p->cfg.bin + 1e-6) : 0;
}

double et_phases_bin_seconds(const et_phases *p)
{
    return p->cfg.bin;
}

bool et_phases_automatic(const et_phases *p)
{
    return p->sched == NULL;
}

static dev_state *dev_at(et_phases *p, uint32_t device)
{
    while (p->devices->len <= device) {
        dev_state *d = g_new0(dev_state, 1);
        for (int i = SERIES_AVS; i < SERIES_COUNT; i++)
            d->series[i] = g_array_new(FALSE, FALSE, sizeof(bin_entry));
        d->interactions = g_array_new(FALSE, FALSE, sizeof(interaction));
        d->list = g_array_new(FALSE, FALSE, sizeof(et_phase));
        d->list_before = g_array_new(FALSE, FALSE, sizeof(et_phase));
        d->phase_voice = g_array_new(FALSE, TRUE, sizeof(uint64_t));
        g_ptr_array_add(p->devices, d);
    }
    return g_ptr_array_index(p->devices, device);
}

bool et_phases_voice_path(const et_flows *flows, const et_flow *fl)
{
    const et_device *d = et_flows_device(flows, fl->device);
    et_group g = et_flow_group(fl);
    if (d->has_avs)
        return g == ET_GROUP_AVS;
    return g == ET_GROUP_AVS || (g == ET_GROUP_UNTAGGED && !et_addr_is_local(&fl->server));
}

static uint8_t series_of(const et_flows *flows, const et_flow *fl)
{
    et_group g = et_flow_group(fl);
    if (g == ET_GROUP_AVS)
        return SERIES_AVS;
    if (g == ET_GROUP_UNTAGGED && !et_addr_is_local(&fl->server))
        return SERIES_CAND;
    (void)flows;
    return SERIES_NONE;
}

/* Adds (or, with sign -1, removes) bytes at a bin of a sorted series. Returns the entry's index. */
static void series_add(GArray *s, uint32_t bin, int64_t up, int64_t down)
{
    guint i = s->len;
    while (i > 0 && g_array_index(s, bin_entry, i - 1).bin > bin)
        i--;
    if (i > 0 && g_array_index(s, bin_entry, i - 1).bin == bin) {
        bin_entry *e = &g_array_index(s, bin_entry, i - 1);
        e->up = (uint32_t)((int64_t)e->up + up);
        e->down = (uint32_t)((int64_t)e->down + down);
        return;
    }
    bin_entry e = { bin, (uint32_t)up, (uint32_t)down };
    g_array_insert_val(s, i, e);
}

static bool burst_is_interaction(const et_phases *p, const burst *b)
{
    return b->open && b->up >= p->cfg.min_voice_bytes && b->up_bins >= p->cfg.min_voice_bins;
}

static uint32_t gap_bins(const et_phases *p)
{
    return (uint32_t)llround(p->cfg.gap / p->cfg.bin);
}

/* The incremental detector: one bin of voice-path traffic, in time order. */
static void feed(et_phases *p, dev_state *d, uint32_t bin, uint32_t up, uint32_t down)
{
    if (up == 0 && down == 0)
        return;
    burst *b = &d->cur;
    bool was_interaction = burst_is_interaction(p, b);
    uint32_t was_last = b->last;
    if (!b->open || bin > b->last + gap_bins(p)) {
        if (burst_is_interaction(p, b)) {
            interaction it = { b->first, b->last };
            g_array_append_val(d->interactions, it);
        }
        memset(b, 0, sizeof(*b));
        b->open = true;
        b->first = b->last = bin;
        b->last_up_bin = UINT32_MAX;
        was_interaction = false;        /* the closed one is listed already */
    }
    if (bin > b->last)
        b->last = bin;
    if (up) {
        if (b->last_up_bin != bin)
            b->up_bins++;
        b->last_up_bin = bin;
        b->up += up;
    }
    /* The phase list changes only when an interaction appears or grows. */
    bool is_interaction = burst_is_interaction(p, b);
    if (is_interaction != was_interaction || (is_interaction && b->last != was_last))
        d->version++;
}

static void rerun(et_phases *p, const et_flows *flows, uint32_t device, dev_state *d)
{
    const et_device *dev = et_flows_device(flows, device);
    d->avs_mode = dev && dev->has_avs;
    g_array_set_size(d->interactions, 0);
    memset(&d->cur, 0, sizeof(d->cur));
    GArray *s = d->series[d->avs_mode ? SERIES_AVS : SERIES_CAND];
    for (guint i = 0; i < s->len; i++) {
        const bin_entry *e = &g_array_index(s, bin_entry, i);
        feed(p, d, e->bin, e->up, e->down);
    }
    d->rerun = d->rerun_current = false;
    d->voice_stale = true;
    d->version++;
}

static guint first_index_at(GArray *s, uint32_t bin)
{
    guint lo = 0, hi = s->len;
    while (lo < hi) {
        guint mid = (lo + hi) / 2;
        if (g_array_index(s, bin_entry, mid).bin < bin)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Counts the open burst again from the series: cheap, a burst is short. */
static void rerun_current(et_phases *p, dev_state *d)
{
    GArray *s = d->series[d->avs_mode ? SERIES_AVS : SERIES_CAND];
    guint i = first_index_at(s, d->cur.first);
    memset(&d->cur, 0, sizeof(d->cur));
    for (; i < s->len; i++) {
        const bin_entry *e = &g_array_index(s, bin_entry, i);
        feed(p, d, e->bin, e->up, e->down);
    }
    d->rerun_current = false;
    d->version++;
}

static void sync_dev(et_phases *p, const et_flows *flows, uint32_t device, dev_state *d)
{
    const et_device *dev = et_flows_device(flows, device);
    if (d->rerun || (dev && dev->has_avs != d->avs_mode))
        rerun(p, flows, device, d);
    else if (d->rerun_current)
        rerun_current(p, d);
}

/* Flows whose class changed since we last looked: move their voice-path bins. */
static void apply_changes(et_phases *p, const et_flows *flows)
{
    const uint32_t *ids;
    size_t n = et_flows_changes(flows, &ids);
    for (; p->change_cursor < n; p->change_cursor++) {
        uint32_t id = ids[p->change_cursor];
        flow_bins *fb = id < p->flows->len ? g_ptr_array_index(p->flows, id) : NULL;
        if (fb == NULL)
            continue;
        uint8_t now = series_of(flows, et_flows_get(flows, id));
        if (now == fb->series)
            continue;
        dev_state *d = dev_at(p, fb->device);
        uint8_t detected = d->avs_mode ? SERIES_AVS : SERIES_CAND;
        uint32_t first_bin = fb->bins->len ? g_array_index(fb->bins, bin_entry, 0).bin : 0;
        for (guint i = 0; i < fb->bins->len; i++) {
            const bin_entry *e = &g_array_index(fb->bins, bin_entry, i);
            if (fb->series != SERIES_NONE)
                series_add(d->series[fb->series], e->bin, -(int64_t)e->up, -(int64_t)e->down);
            if (now != SERIES_NONE)
                series_add(d->series[now], e->bin, e->up, e->down);
        }
        if (fb->series == detected || now == detected) {
            if (d->cur.open && first_bin >= d->cur.first)
                d->rerun_current = true;
            else
                d->rerun = true;
            d->voice_stale = true;          /* bytes moved in phases that may keep their place */
        }
        fb->series = now;
    }
}

void et_phases_packet(et_phases *p, const et_flows *flows, const et_flow *fl, bool up,
                      uint32_t len, double t)
{
    if (t > p->end)
        p->end = t;
    apply_changes(p, flows);
    uint8_t series = series_of(flows, fl);
    flow_bins *fb = fl->id < p->flows->len ? g_ptr_array_index(p->flows, fl->id) : NULL;
    if (series == SERIES_NONE && fb == NULL)
        return;
    while (p->flows->len <= fl->id)
        g_ptr_array_add(p->flows, NULL);
    if (fb == NULL) {
        fb = g_new0(flow_bins, 1);
        fb->series = series;
        fb->device = fl->device;
        fb->bins = g_array_new(FALSE, FALSE, sizeof(bin_entry));
        g_ptr_array_index(p->flows, fl->id) = fb;
    }
    uint32_t bin = et_phases_bin(p, t);
    uint32_t u = up ? len : 0, dn = up ? 0 : len;
    series_add(fb->bins, bin, u, dn);
    if (series == SERIES_NONE)
        return;
    dev_state *d = dev_at(p, fl->device);
    series_add(d->series[series], bin, u, dn);
    const et_device *dev = et_flows_device(flows, fl->device);
    if ((series == SERIES_AVS) != dev->has_avs || d->rerun || dev->has_avs != d->avs_mode)
        return;                             /* not the detected series, or recounted anyway */
    if (d->cur.open && bin < d->cur.first)
        d->rerun = true;                    /* out of order across bursts: recount */
    else if (d->rerun_current || (d->cur.open && bin < d->cur.last))
        rerun_current(p, d);                /* the bin is already counted in the series */
    else
        feed(p, d, bin, u, dn);
    /* The listed phases' counts are kept up to date here, also when the list is about to be
     * rebuilt: the rebuild keeps the counts of the phases that stay (with a schedule the packet's
     * phase need not be the last one) and recounts the others. */
    if (u && d->list_valid && !d->rerun && !d->rerun_current &&
        d->phase_voice->len == d->list->len) {
        guint lo = 0, hi = d->list->len;
        double bin_start = bin * p->cfg.bin;
        while (hi - lo > 1) {
            guint mid = (lo + hi) / 2;
            if (g_array_index(d->list, et_phase, mid).start <= bin_start + 1e-9)
                lo = mid;
            else
                hi = mid;
        }
        g_array_index(d->phase_voice, uint64_t, lo) += u;
        if (lo + 1 < d->list->len)
            d->settled_valid = false;
    }
}

/* ---- phase lists ---- */

static void append_phase(GArray *list, const char *label, double start, double end, bool wake)
{
    et_phase ph = { list->len, label, start, end, wake };
    g_array_append_val(list, ph);
}

static void build_schedule_list(const et_phases *p, GArray *list)
{
    const et_schedule *s = p->sched;
    for (uint32_t i = 0; i < s->count; i++) {
        double start = s->absolute ? s->entries[i].start - p->epoch : s->entries[i].start;
        double end = i + 1 < s->count ? (s->absolute ? s->entries[i + 1].start - p->epoch
                                                     : s->entries[i + 1].start) : p->end;
        if (i == 0 && start > 0)
            append_phase(list, "unscheduled", 0, start, false);
        if (end <= 0 && i + 1 < s->count)
            continue;                       /* an absolute phase over before the capture began */
        append_phase(list, s->entries[i].label, start > 0 ? start : 0, end > start ? end : start,
                     s->entries[i].wake);
    }
}

static void build_auto_list(const et_phases *p, const dev_state *d, GArray *list)
{
    double pos = 0;
    guint n = d->interactions->len + (burst_is_interaction(p, &d->cur) ? 1 : 0);
    for (guint i = 0; i < n; i++) {
        interaction it = i < d->interactions->len ? g_array_index(d->interactions, interaction, i)
                                                  : (interaction){ d->cur.first, d->cur.last };
        double start = it.first * p->cfg.bin, end = (it.last + 1) * p->cfg.bin;
        if (start > pos)
            append_phase(list, "idle", pos, start, false);
        append_phase(list, "interaction", start, end, true);
        pos = end;
    }
    if (list->len == 0 || pos < p->end)
        append_phase(list, "idle", pos, p->end > pos ? p->end : pos, false);
}

/* Voice-path upload in [start, end), counted on whole bins. */
static uint64_t voice_up_between(const et_phases *p, const dev_state *d, double start, double end)
{
    GArray *s = d->series[d->avs_mode ? SERIES_AVS : SERIES_CAND];
    uint32_t first = (uint32_t)(start / p->cfg.bin + 1e-9);
    uint64_t sum = 0;
    for (guint i = first_index_at(s, first); i < s->len; i++) {
        const bin_entry *e = &g_array_index(s, bin_entry, i);
        if (e->bin * p->cfg.bin >= end - 1e-9)
            break;
        sum += e->up;
    }
    return sum;
}

/* Recounts the voice-path upload of the phases that changed (from the first that differs from
 * the previous list; all when the previous one says nothing). */
static void update_phase_voice(const et_phases *p, dev_state *d, bool keep_prefix)
{
    guint n = d->list->len, first = 0;
    if (keep_prefix) {
        guint m = MIN(d->list_before->len, d->phase_voice->len);
        while (first < n && first + 1 < m) {   /* the old last phase was still open */
            const et_phase *a = &g_array_index(d->list, et_phase, first);
            const et_phase *b = &g_array_index(d->list_before, et_phase, first);
            if (a->start != b->start || a->end != b->end || strcmp(a->label, b->label) != 0)
                break;
            first++;
        }
    }
    g_array_set_size(d->phase_voice, n);
    for (guint i = first; i < n; i++) {
        const et_phase *ph = &g_array_index(d->list, et_phase, i);
        g_array_index(d->phase_voice, uint64_t, i) =
            voice_up_between(p, d, ph->start, i + 1 == n ? G_MAXDOUBLE : ph->end);
    }
}

const et_phase *et_phases_list(et_phases *p, const et_flows *flows, uint32_t device, uint32_t *count,
                               uint64_t *version)
{
    apply_changes(p, flows);
    dev_state *d = dev_at(p, device);
    sync_dev(p, flows, device, d);
    const et_device *dev = et_flows_device(flows, device);
    bool speaker = dev && et_device_is_speaker(dev);
    /* Only an idle last phase runs on to the end of the capture: once the capture is past the
     * end of a last interaction, the list changes (an idle phase follows it). */
    if (d->list_valid && !p->sched && speaker && d->list_speaker && d->list->len > 0) {
        const et_phase *tail = &g_array_index(d->list, et_phase, d->list->len - 1);
        if (tail->wake && tail->end < p->end)
            d->version++;
    }
    if (!d->list_valid || d->list_version != d->version || d->list_speaker != speaker) {
        GArray *t = d->list_before;
        d->list_before = d->list;
        d->list = t;
        g_array_set_size(d->list, 0);
        if (p->sched)
            build_schedule_list(p, d->list);
        else if (!speaker)
            append_phase(d->list, "all", 0, p->end, false);
        else
            build_auto_list(p, d, d->list);
        update_phase_voice(p, d, d->list_valid && d->list_speaker == speaker && !d->voice_stale);
        d->voice_stale = false;
        d->settled_valid = false;
        d->list_valid = true;
        d->list_version = d->version;
        d->list_speaker = speaker;
    }
    /* The last phase runs to the end of the capture so far. */
    et_phase *last = &g_array_index(d->list, et_phase, d->list->len - 1);
    if (last->end < p->end)
        last->end = p->end;
    *count = d->list->len;
    if (version)
        *version = d->version * 2 + (speaker ? 1 : 0);
    return (const et_phase *)(void *)d->list->data;
}

void et_phases_lookup(et_phases *p, const et_flows *flows, uint32_t device, double t, et_phase *out)
{
    uint32_t n;
    const et_phase *list = et_phases_list(p, flows, device, &n, NULL);
    uint32_t lo = 0, hi = n;            /* the last phase whose start <= t */
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (list[mid].start <= t)
            lo = mid;
        else
            hi = mid;
    }
    *out = list[lo];
}

static double rate(uint64_t bytes, double duration)
{
    return duration > 0 ? bytes / duration : 0;
}

static void idle_rates_add(idle_rates *r, const et_phase *ph, uint64_t voice)
{
    if (ph->wake)
        return;
    double x = rate(voice, ph->end - ph->start);
    if (ph->end - ph->start >= BASELINE_MIN_DURATION) {
        if (r->lasting < 0 || x < r->lasting)
            r->lasting = x;
    } else if (r->brief < 0 || x < r->brief) {
        r->brief = x;
    }
}

void et_phases_judge(et_phases *p, const et_flows *flows, uint32_t device, const et_phase *ph,
                     et_phase_judgement *out)
{
    memset(out, 0, sizeof(*out));
    uint32_t n;
    const et_phase *list = et_phases_list(p, flows, device, &n, NULL);
    const et_device *dev = et_flows_device(flows, device);
    dev_state *d = dev_at(p, device);
    const uint64_t *voice = (const uint64_t *)(void *)d->phase_voice->data;
    bool listed = ph->index < n && list[ph->index].start == ph->start;
    out->voice_up_bytes = listed ? voice[ph->index] : voice_up_between(p, d, ph->start, ph->end);
    out->voice_up_rate = rate(out->voice_up_bytes, ph->end - ph->start);
    out->max_speech_s = out->voice_up_bytes / ET_AVS_MIN_AUDIO_BYTES_PER_S;
    if (dev == NULL || !et_device_is_speaker(dev)) {
        out->verdict = ET_VERDICT_NONE;
        return;
    }
    /* Baseline: the quietest phase without a wake word (long phases first: a short one says
     * little about the idle level). */
    if (!d->settled_valid) {
        d->settled = (idle_rates){ -1, -1 };
        for (uint32_t i = 0; i + 1 < n; i++)
            idle_rates_add(&d->settled, &list[i], voice[i]);
        d->settled_valid = true;
    }
    /* The last phase counts only while no earlier one lasts long enough: the end of the capture
     * may cut it short, and its rate moves with every packet (every verdict would move with it). */
    idle_rates r = d->settled;
    if (n && r.lasting < 0) {
        idle_rates_add(&r, &list[n - 1], voice[n - 1]);
        out->baseline_moves = !list[n - 1].wake;
    }
    out->baseline_rate = r.lasting >= 0 ? r.lasting : r.brief >= 0 ? r.brief : 0;
    out->verdict = ph->wake ? ET_VERDICT_WAKE : ET_VERDICT_OK;
    et_phases_rejudge(p, ph, out);
}

double et_phases_end(const et_phases *p)
{
    return p->end;
}

void et_phases_rejudge(const et_phases *p, const et_phase *ph, et_phase_judgement *j)
{
    j->voice_up_rate = rate(j->voice_up_bytes, ph->end - ph->start);
    if (j->verdict == ET_VERDICT_OK || j->verdict == ET_VERDICT_SUSPECT)
        j->verdict = j->voice_up_rate > j->baseline_rate + p->cfg.margin ? ET_VERDICT_SUSPECT : ET_VERDICT_OK;
}
