/* phases.c - wake-word interaction detection, phase lists and the privacy verdict.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "phases_private.h"

#include <math.h>
#include <string.h>
#include <glib.h>

/* ---- detection ---- */

void et_detector_defaults(et_detector_config *cfg)
{
    cfg->bin = 0.1;
    cfg->gap = 1.0;
    cfg->min_voice_bytes = 4000;
    cfg->margin = 1000.0;
}

/* The shape of speech (doc/phases.md gives each number's reason): upload in nearly every 100 ms
 * bin, at no more than uncompressed audio's rate once the audio buffered before the connection
 * woke is out, for at least a second. */
#define SPEECH_MAX_HOLE_BINS 2         /* empty bins a run of audio records may skip */
#define SPEECH_MIN_BINS 10             /* a run spans at least this many bins (1 s) */
#define SPEECH_MIN_OCCUPANCY 0.7       /* share of its bins that carry upload */
#define SPEECH_MAX_BYTES_PER_BIN 4800  /* 16 kHz 16-bit PCM (3200 B per 100 ms) + up to 50 % framing */
#define SPEECH_HEAD_BINS 3             /* the run's first 0.3 s, where buffered audio lands... */
#define SPEECH_HEAD_MAX_BYTES 160000   /* ...at most 4 s of PCM with framing (5 s of audio: 160 kB) */
/* The answer: downloads of at least ANSWER_MIN_PAYLOAD bytes (not PINGs, ACKs or replies to
 * events), the first within ANSWER_WAIT_S of the end of the speech, each next one within
 * ANSWER_GAP_S of the one before. */
#define ANSWER_MIN_PAYLOAD 300
#define ANSWER_WAIT_S 5.0
#define ANSWER_GAP_S 2.0

static void dev_state_free(gpointer p)
{
    dev_state *d = p;
    g_array_free(d->speech, TRUE);
    g_array_free(d->voice_flows, TRUE);
    g_array_free(d->cloud_flows, TRUE);
    g_array_free(d->its, TRUE);
    g_array_free(d->its_phase, TRUE);
    g_array_free(d->list, TRUE);
    g_array_free(d->list_before, TRUE);
    g_array_free(d->phase_voice, TRUE);
    g_array_free(d->speech_log, TRUE);
    g_free(d);
}

static void flow_voice_free(gpointer p)
{
    flow_voice *fv = p;
    if (fv) {
        if (fv->pending)
            g_array_free(fv->pending, TRUE);
        if (fv->segments)
            g_array_free(fv->segments, TRUE);
        g_array_free(fv->activity, TRUE);
        g_free(fv);
    }
}

et_phases *et_phases_new(const et_schedule *sched, const et_detector_config *cfg, double epoch)
{
    et_phases *p = g_new0(et_phases, 1);
    p->cfg = *cfg;
    p->gap_bins = (uint32_t)llround(cfg->gap / cfg->bin);
    if (sched) {
        p->sched = g_new0(et_schedule, 1);
        *p->sched = *sched;
        p->sched->entries = g_memdup2(sched->entries, sizeof(et_schedule_entry) * sched->count);
    }
    p->epoch = epoch;
    p->devices = g_ptr_array_new_with_free_func(dev_state_free);
    p->flows = g_ptr_array_new_with_free_func(flow_voice_free);
    return p;
}

void et_phases_free(et_phases *p)
{
    if (p == NULL)
        return;
    g_ptr_array_free(p->devices, TRUE);
    g_ptr_array_free(p->flows, TRUE);
    et_schedule_free(p->sched);
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

dev_state *et_phases_dev_at(et_phases *p, uint32_t device)
{
    while (p->devices->len <= device) {
        dev_state *d = g_new0(dev_state, 1);
        d->speech = g_array_new(FALSE, FALSE, sizeof(bin_entry));
        d->voice_flows = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        d->cloud_flows = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        d->its = g_array_new(FALSE, FALSE, sizeof(interaction));
        d->its_phase = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        d->its_changed_from = UINT32_MAX;
        d->speech_log = g_array_new(FALSE, FALSE, sizeof(speech_change));
        d->list = g_array_new(FALSE, FALSE, sizeof(et_phase));
        d->list_before = g_array_new(FALSE, FALSE, sizeof(et_phase));
        d->phase_voice = g_array_new(FALSE, TRUE, sizeof(phase_speech));
        g_ptr_array_add(p->devices, d);
    }
    return g_ptr_array_index(p->devices, device);
}

bool et_phases_voice_path(const et_flows *flows, const et_flow *fl)
{
    (void)flows;
    et_group g = et_flow_group(fl);
    return g == ET_GROUP_VOICE || (g == ET_GROUP_UNTAGGED && fl->host == NULL && !et_addr_is_local(&fl->server));
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

static void log_speech_change(dev_state *d, uint32_t phase)
{
    GArray *log = d->speech_log;
    speech_change *last = log->len ? &g_array_index(log, speech_change, log->len - 1) : NULL;
    if (last && last->phase == phase) {
        last->version = d->speech_version;      /* the same news for whoever saw less */
    } else {
        speech_change c = { d->speech_version, phase };
        g_array_append_val(log, c);
    }
}

/* Speech upload of a device at a bin (0 bytes: a hole inside a run of speech, which lasts through
 * it), also into the counts of its listed phases. */
static void speech_add(et_phases *p, dev_state *d, uint32_t bin, uint32_t bytes)
{
    GArray *s = d->speech;
    d->speech_version++;
    guint i = s->len;
    while (i > 0 && g_array_index(s, bin_entry, i - 1).bin > bin)
        i--;
    uint32_t new_bins = 0;
    if (i > 0 && g_array_index(s, bin_entry, i - 1).bin == bin) {
        g_array_index(s, bin_entry, i - 1).up += bytes;
    } else {
        bin_entry e = { bin, bytes };
        g_array_insert_val(s, i, e);
        new_bins = 1;
    }
    if (!d->list_valid || d->phase_voice->len != d->list->len || d->list->len == 0) {
        log_speech_change(d, 0);        /* counted when the list is built again */
        return;
    }
    guint lo = 0, hi = d->list->len;
    double bin_start = bin * p->cfg.bin;
    while (hi - lo > 1) {
        guint mid = (lo + hi) / 2;
        if (g_array_index(d->list, et_phase, mid).start <= bin_start + 1e-9)
            lo = mid;
        else
            hi = mid;
    }
    phase_speech *ps = &g_array_index(d->phase_voice, phase_speech, lo);
    ps->bytes += bytes;
    ps->bins += new_bins;
    if (lo + 1 < d->list->len) {
        d->settled_valid = false;
        log_speech_change(d, lo);
    }
}

static bool run_is_speech(const et_phases *p, const flow_voice *fv)
{
    uint32_t span = fv->run_last - fv->run_first + 1;
    if (span < SPEECH_MIN_BINS || fv->run_bins < SPEECH_MIN_OCCUPANCY * span ||
        fv->run_bytes < p->cfg.min_voice_bytes || fv->run_head_bytes > SPEECH_HEAD_MAX_BYTES)
        return false;
    uint64_t body = fv->run_bytes - fv->run_head_bytes;
    if (body > (uint64_t)(fv->run_bins - fv->run_head_bins) * SPEECH_MAX_BYTES_PER_BIN)
        return false;
    return !fv->udp || fv->run_down <= fv->run_bytes;
}

static speech_segment *last_segment(flow_voice *fv)
{
    return fv->segments && fv->segments->len
               ? &g_array_index(fv->segments, speech_segment, fv->segments->len - 1) : NULL;
}

static uint32_t gap_bins(const et_phases *p)
{
    return p->gap_bins;
}

static void set_tail(const et_phases *p, dev_state *d)
{
    guint n = d->its->len;
    d->tail_from = n ? g_array_index(d->its, interaction, n - 1).last + 1 : UINT32_MAX;
    d->tail_to = n ? d->tail_from + gap_bins(p) : 0;
}

/* Speech of a voice-path flow, or its answer, now spans [first, last]: the last interaction grows,
 * or a new one begins. Anything earlier than the last interaction needs the interactions built
 * again. */
static void segment_changed(et_phases *p, const flow_voice *fv, uint32_t first, uint32_t last)
{
    if (!fv->voice_path)
        return;
    dev_state *d = et_phases_dev_at(p, fv->device);
    d->version++;
    if (d->its_rebuild)
        return;
    guint n = d->its->len;
    interaction *tail = n ? &g_array_index(d->its, interaction, n - 1) : NULL;
    if (tail == NULL || first > tail->last + gap_bins(p)) {
        interaction it = { first, last };
        g_array_append_val(d->its, it);
        d->its_changed_from = MIN(d->its_changed_from, n);
    } else if (first >= tail->first) {
        tail->last = MAX(tail->last, last);
        d->its_changed_from = MIN(d->its_changed_from, n - 1);
    } else {
        d->its_rebuild = true;
        return;
    }
    set_tail(p, d);
}

static void upload(et_phases *p, flow_voice *fv, uint32_t flow, uint32_t bin, uint32_t bytes, uint32_t frame)
{
    dev_state *d = et_phases_dev_at(p, fv->device);
    /* Packets come in time order within a flow; one from before the open run starts a new one. */
    if (fv->run_open && bin >= fv->run_first && bin <= fv->run_last + SPEECH_MAX_HOLE_BINS + 1) {
        if (bin > fv->run_last) {
            fv->run_last = bin;
            fv->run_bins++;
            fv->run_head_bins += bin < fv->run_first + SPEECH_HEAD_BINS;
        }
    } else {
        fv->run_open = true;
        fv->run_first = fv->run_last = bin;
        fv->run_bins = 1;
        fv->run_head_bins = 1;
        fv->run_bytes = 0;
        fv->run_head_bytes = 0;
        fv->run_down = 0;
        fv->run_first_frame = frame;
        fv->run_is_speech = false;
        if (fv->pending)
            g_array_set_size(fv->pending, 0);
    }
    fv->run_bytes += bytes;
    if (bin < fv->run_first + SPEECH_HEAD_BINS)
        fv->run_head_bytes += bytes;
    if (fv->run_is_speech) {
        speech_segment *sg = last_segment(fv);
        if (bin > sg->last) {
            for (uint32_t hole = sg->last + 1; hole < bin; hole++)
                speech_add(p, d, hole, 0);
            sg->last = bin;
            if (sg->answer_last < bin)
                sg->answer_last = bin;
            sg->answer_until = MAX(sg->answer_until, (bin + 1) * p->cfg.bin + ANSWER_WAIT_S);
            segment_changed(p, fv, sg->first, bin);
        }
        speech_add(p, d, bin, bytes);
        return;
    }
    if (fv->pending == NULL)
        fv->pending = g_array_new(FALSE, FALSE, sizeof(bin_entry));
    bin_entry e = { bin, bytes };
    if (fv->pending->len && g_array_index(fv->pending, bin_entry, fv->pending->len - 1).bin == bin)
        g_array_index(fv->pending, bin_entry, fv->pending->len - 1).up += bytes;
    else
        g_array_append_val(fv->pending, e);
    if (!run_is_speech(p, fv))
        return;
    /* The run has the shape of speech: it becomes a segment, its bytes so far speech upload. */
    fv->run_is_speech = true;
    if (fv->segments == NULL)
        fv->segments = g_array_new(FALSE, FALSE, sizeof(speech_segment));
    if (fv->segments->len == 0)
        g_array_append_val(d->voice_flows, flow);
    speech_segment sg = { fv->run_first, fv->run_last, fv->run_last, fv->run_first_frame,
                          (fv->run_last + 1) * p->cfg.bin + ANSWER_WAIT_S, false };
    g_array_append_val(fv->segments, sg);
    for (guint i = 0; i < fv->pending->len; i++) {
        const bin_entry *b = &g_array_index(fv->pending, bin_entry, i);
        for (uint32_t hole = i ? g_array_index(fv->pending, bin_entry, i - 1).bin + 1 : b->bin; hole < b->bin; hole++)
            speech_add(p, d, hole, 0);
        speech_add(p, d, b->bin, b->up);
    }
    g_array_set_size(fv->pending, 0);
    segment_changed(p, fv, sg.first, sg.last);
}

static void download(et_phases *p, flow_voice *fv, uint32_t payload, double t)
{
    if (fv->udp && fv->run_open && et_phases_bin(p, t) <= fv->run_last + SPEECH_MAX_HOLE_BINS + 1) {
        fv->run_down += payload;
        /* The answer has begun: the acknowledgements it draws are no more speech. */
        if (fv->run_is_speech && payload >= ANSWER_MIN_PAYLOAD)
            fv->run_open = false;
    }
    speech_segment *sg = last_segment(fv);
    if (sg == NULL || t > sg->answer_until || t < sg->first * p->cfg.bin)
        return;
    sg->answered = true;
    if (payload < ANSWER_MIN_PAYLOAD)
        return;
    uint32_t bin = et_phases_bin(p, t);
    sg->answer_until = MAX(sg->answer_until, t + ANSWER_GAP_S);
    if (bin > sg->answer_last) {
        sg->answer_last = bin;
        segment_changed(p, fv, sg->first, bin);
    }
}

bool et_phases_speech_start(const et_phases *p, uint32_t flow, uint32_t frame)
{
    const flow_voice *fv = flow < p->flows->len ? g_ptr_array_index(p->flows, flow) : NULL;
    for (guint i = 0; fv && fv->segments && i < fv->segments->len; i++) {
        if (g_array_index(fv->segments, speech_segment, i).first_frame == frame)
            return true;
    }
    return false;
}

/* The packets that end an interaction: its voice path's and the telemetry it sets off. */
static bool in_tail(const et_flows *flows, const et_flow *fl)
{
    return et_phases_voice_path(flows, fl) || et_flow_group(fl) == ET_GROUP_METRICS;
}

static void mark_active(const et_phases *p, flow_voice *fv, uint32_t bin)
{
    GArray *a = fv->activity;
    uint32_t gap = gap_bins(p);
    guint n = a->len;
    activity_run *last = n ? &g_array_index(a, activity_run, n - 1) : NULL;
    if (last && bin >= last->first && (uint64_t)bin <= (uint64_t)last->last + gap) {     /* in time order */
        last->last = MAX(last->last, bin);
        return;
    }
    guint lo = 0, hi = n;              /* the first run that reaches within the gap of bin */
    while (lo < hi) {
        guint mid = (lo + hi) / 2;
        if ((uint64_t)g_array_index(a, activity_run, mid).last + gap < bin)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == n || (uint64_t)bin + gap < g_array_index(a, activity_run, lo).first) {
        activity_run r = { bin, bin };
        g_array_insert_val(a, lo, r);
        return;
    }
    activity_run *r = &g_array_index(a, activity_run, lo);
    r->first = MIN(r->first, bin);
    r->last = MAX(r->last, bin);
    while (lo + 1 < a->len && g_array_index(a, activity_run, lo + 1).first <= (uint64_t)r->last + gap) {
        r->last = MAX(r->last, g_array_index(a, activity_run, lo + 1).last);
        g_array_remove_index(a, lo + 1);
        r = &g_array_index(a, activity_run, lo);
    }
}

/* Flows whose class changed since we last looked: a flow that joins or leaves the voice path
 * takes its speech with it. */
static void apply_changes(et_phases *p, const et_flows *flows)
{
    const uint32_t *ids;
    size_t n = et_flows_changes(flows, &ids);
    for (; p->change_cursor < n; p->change_cursor++) {
        uint32_t id = ids[p->change_cursor];
        flow_voice *fv = id < p->flows->len ? g_ptr_array_index(p->flows, id) : NULL;
        if (fv == NULL)
            continue;
        const et_flow *fl = et_flows_get(flows, id);
        bool now = et_phases_voice_path(flows, fl);
        bool tail = in_tail(flows, fl);
        if (now != fv->voice_path || tail != fv->in_tail) {
            if ((now != fv->voice_path && fv->segments && fv->segments->len) || tail != fv->in_tail) {
                dev_state *d = et_phases_dev_at(p, fv->device);
                d->version++;
                d->its_rebuild = true;
            }
            fv->voice_path = now;
            fv->in_tail = tail;
        }
    }
}

bool et_phases_packet(et_phases *p, const et_flows *flows, const et_flow *fl, bool up,
                      uint32_t payload, double t, uint32_t frame)
{
    if (t > p->end)
        p->end = t;
    apply_changes(p, flows);
    if (et_addr_is_local(&fl->server))
        return false;
    flow_voice *fv = fl->id < p->flows->len ? g_ptr_array_index(p->flows, fl->id) : NULL;
    dev_state *d = et_phases_dev_at(p, fl->device);
    if (fv == NULL) {
        while (p->flows->len <= fl->id)
            g_ptr_array_add(p->flows, NULL);
        fv = g_new0(flow_voice, 1);
        fv->device = fl->device;
        fv->udp = fl->proto == 17;
        fv->voice_path = et_phases_voice_path(flows, fl);
        fv->in_tail = in_tail(flows, fl);
        fv->activity = g_array_new(FALSE, FALSE, sizeof(activity_run));
        g_ptr_array_index(p->flows, fl->id) = fv;
        g_array_append_val(d->cloud_flows, fl->id);
    }
    uint32_t bin = et_phases_bin(p, t);
    mark_active(p, fv, bin);
    if (fv->in_tail && bin >= d->tail_from && bin < d->tail_to) {
        g_array_index(d->its, interaction, d->its->len - 1).last = bin;    /* it ends later */
        d->its_changed_from = MIN(d->its_changed_from, d->its->len - 1);
        set_tail(p, d);
        d->version++;
    } else if (fv->in_tail && d->its->len && bin + 1 < d->tail_from &&
               bin < g_array_index(d->its, interaction, d->its->len - 1).first) {
        d->its_rebuild = true;          /* out of order: it may end an earlier interaction later */
        d->version++;
    }
    if (payload == 0)
        return false;
    if (up)
        upload(p, fv, fl->id, bin, payload, frame);
    else
        download(p, fv, payload, t);
    const speech_segment *sg = last_segment(fv);
    if (fv->voice_reported || sg == NULL || !sg->answered)
        return false;
    fv->voice_reported = true;
    return true;
}

/* ---- phase lists ---- */

static void append_phase(GArray *list, const char *label, double start, double end, bool wake)
{
    et_phase ph = { list->len, label, start, end, wake, 0 };
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

static gint by_first(gconstpointer a, gconstpointer b)
{
    const interaction *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* The last bin of the chain of tail packets (voice path, metrics) that follow `last` with gaps of
 * at most `gap` bins (the gap of the activity runs): a run that starts within the gap of the
 * chain's end and goes past it is chained whole, since each of its bins is within the gap of the
 * one before. */
static uint32_t quiet_after(const et_phases *p, const dev_state *d, uint32_t last, uint32_t gap)
{
    for (;;) {
        uint32_t next = last;
        for (guint i = 0; i < d->cloud_flows->len; i++) {
            const flow_voice *fv = g_ptr_array_index(p->flows, g_array_index(d->cloud_flows, uint32_t, i));
            if (!fv->in_tail)
                continue;
            const GArray *a = fv->activity;
            guint lo = 0, hi = a->len;         /* the first run that goes past last */
            while (lo < hi) {
                guint mid = (lo + hi) / 2;
                if (g_array_index(a, activity_run, mid).last <= last)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < a->len && g_array_index(a, activity_run, lo).first <= (uint64_t)last + gap)
                next = MAX(next, g_array_index(a, activity_run, lo).last);
        }
        if (next == last)
            return last;
        last = next;
    }
}

/* The interactions from the flows' speech, answers and activity: each speech segment of a
 * voice-path flow with its answer; segments closer than the gap (turns of one dialog, a second
 * voice connection) are one interaction. */
static void build_interactions(const et_phases *p, dev_state *d)
{
    GArray *its = d->its;
    g_array_set_size(its, 0);
    for (guint i = 0; i < d->voice_flows->len; i++) {
        uint32_t id = g_array_index(d->voice_flows, uint32_t, i);
        const flow_voice *fv = g_ptr_array_index(p->flows, id);
        if (!fv->voice_path)
            continue;
        for (guint j = 0; j < fv->segments->len; j++) {
            const speech_segment *sg = &g_array_index(fv->segments, speech_segment, j);
            interaction it = { sg->first, MAX(sg->last, sg->answer_last) };
            g_array_append_val(its, it);
        }
    }
    g_array_sort(its, by_first);
    uint32_t gap = gap_bins(p);
    /* Interactions closer than the gap are one; each ends when its voice path and telemetry fall
     * quiet for the gap (which may bring it within the gap of the next). */
    for (int pass = 0; pass < 2; pass++) {
        guint n = 0;
        for (guint i = 0; i < its->len; i++) {
            interaction it = g_array_index(its, interaction, i);
            if (pass)
                it.last = quiet_after(p, d, it.last, gap);
            interaction *prev = n ? &g_array_index(its, interaction, n - 1) : NULL;
            if (prev && it.first <= prev->last + gap)
                prev->last = MAX(prev->last, it.last);
            else
                g_array_index(its, interaction, n++) = it;
        }
        g_array_set_size(its, n);
    }
    d->its_rebuild = false;
    d->its_changed_from = 0;
    set_tail(p, d);
}

/* The automatic list from interaction k on: the phases before the first of them are kept.
 * Returns the index of the first phase built again. */
static uint32_t build_auto_list(const et_phases *p, dev_state *d, GArray *list, uint32_t k)
{
    GArray *at = d->its_phase;
    uint32_t cut;
    if (k < at->len) {
        cut = g_array_index(at, uint32_t, k);
        if (cut > 0 && !g_array_index(list, et_phase, cut - 1).wake)
            cut--;                      /* the idle phase before it ends where it starts */
    } else {
        k = at->len;                    /* nothing before the last phase changed */
        cut = list->len && !g_array_index(list, et_phase, list->len - 1).wake ? list->len - 1 : list->len;
    }
    g_array_set_size(list, cut);
    g_array_set_size(at, MIN(k, at->len));
    double pos = cut ? g_array_index(list, et_phase, cut - 1).end : 0;
    for (guint i = at->len; i < d->its->len; i++) {
        interaction it = g_array_index(d->its, interaction, i);
        double start = it.first * p->cfg.bin, end = (it.last + 1) * p->cfg.bin;
        if (start > pos)
            append_phase(list, "idle", pos, start, false);
        uint32_t index = list->len;
        g_array_append_val(at, index);
        append_phase(list, "interaction", start, end, true);
        pos = end;
    }
    if (list->len == 0 || pos < p->end)
        append_phase(list, "idle", pos, p->end > pos ? p->end : pos, false);
    return cut;
}

uint32_t et_phases_speech_changed_since(const et_phases *p, uint32_t device, uint64_t *seen)
{
    uint32_t from = UINT32_MAX;
    if (device >= p->devices->len)
        return from;
    const dev_state *d = g_ptr_array_index(p->devices, device);
    const GArray *log = d->speech_log;
    for (guint i = log->len; i > 0 && g_array_index(log, speech_change, i - 1).version > *seen; i--)
        from = MIN(from, g_array_index(log, speech_change, i - 1).phase);
    *seen = d->speech_version;
    return from;
}

uint64_t et_phases_speech_version(const et_phases *p, uint32_t device)
{
    return device < p->devices->len ? ((const dev_state *)g_ptr_array_index(p->devices, device))->speech_version : 0;
}

void et_phases_recount(et_phases *p)
{
    for (guint i = 0; i < p->devices->len; i++) {
        dev_state *d = g_ptr_array_index(p->devices, i);
        d->its_rebuild = true;
        d->version++;
    }
}

/* Speech in [start, end), counted on whole bins. */
phase_speech et_phases_speech_between(const et_phases *p, const dev_state *d, double start, double end)
{
    GArray *s = d->speech;
    uint32_t first = (uint32_t)(start / p->cfg.bin + 1e-9);
    phase_speech sum = { 0, 0 };
    for (guint i = first_index_at(s, first); i < s->len; i++) {
        const bin_entry *e = &g_array_index(s, bin_entry, i);
        if (e->bin * p->cfg.bin >= end - 1e-9)
            break;
        sum.bytes += e->up;
        sum.bins++;
    }
    return sum;
}

/* Recounts the speech upload of the phases that changed (from the first that differs from the
 * previous list; all when the previous one says nothing). */
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
        g_array_index(d->phase_voice, phase_speech, i) =
            et_phases_speech_between(p, d, ph->start, i + 1 == n ? G_MAXDOUBLE : ph->end);
    }
}

/* A list built anew: a phase equal to the previous list's at its place keeps its stamp (the old
 * last phase's end was still open); the others, and every phase after one of them, get stamp. */
static void stamp_changes(dev_state *d, bool keep, uint64_t stamp)
{
    guint n = d->list->len, m = keep ? d->list_before->len : 0;
    bool changed = false;
    for (guint i = 0; i < n; i++) {
        et_phase *a = &g_array_index(d->list, et_phase, i);
        const et_phase *b = i < m ? &g_array_index(d->list_before, et_phase, i) : NULL;
        changed = changed || b == NULL || a->start != b->start || a->wake != b->wake ||
                  (a->end != b->end && (i + 1 < m || i + 1 < n)) || strcmp(a->label, b->label) != 0;
        a->changed = changed ? stamp : b->changed;
    }
}

const et_phase *et_phases_list(et_phases *p, const et_flows *flows, uint32_t device, uint32_t *count,
                               uint64_t *version)
{
    apply_changes(p, flows);
    dev_state *d = et_phases_dev_at(p, device);
    const et_device *dev = et_flows_device(flows, device);
    bool speaker = dev && et_device_is_speaker(dev);
    /* Only an idle last phase runs on to the end of the capture: once the capture is past the
     * end of a last interaction, the list changes (an idle phase follows it). */
    if (d->list_valid && !p->sched && speaker && d->list_speaker && d->list->len > 0) {
        const et_phase *tail = &g_array_index(d->list, et_phase, d->list->len - 1);
        if (tail->wake && tail->end < p->end)
            d->version++;
    }
    uint64_t stamp = d->version * 2 + (speaker ? 1 : 0);
    bool valid = d->list_valid && d->list_speaker == speaker;
    if (valid && d->list_version != d->version && !p->sched && speaker && !d->its_rebuild) {
        /* Interactions change at the end (packets come in time order): the list too. */
        guint old_len = d->list->len;
        et_phase old_last = g_array_index(d->list, et_phase, old_len - 1);
        /* The phases built again that are as they were (the idle phase before a growing last
         * interaction) keep their stamp and speech: not the old last one, whose end was open. */
        et_phase old_kept[2];
        guint kept_from = d->its_changed_from < d->its_phase->len
                              ? g_array_index(d->its_phase, uint32_t, d->its_changed_from) : old_len;
        kept_from = kept_from > 0 ? kept_from - 1 : 0;
        guint kept = 0;
        while (kept < G_N_ELEMENTS(old_kept) && kept_from + kept + 1 < old_len) {
            old_kept[kept] = g_array_index(d->list, et_phase, kept_from + kept);
            kept++;
        }
        uint32_t cut = build_auto_list(p, d, d->list, d->its_changed_from);
        d->its_changed_from = UINT32_MAX;
        g_array_set_size(d->phase_voice, d->list->len);
        bool same_so_far = true;
        for (guint i = cut; i < d->list->len; i++) {
            et_phase *ph = &g_array_index(d->list, et_phase, i);
            const et_phase *was = i >= kept_from && i - kept_from < kept ? &old_kept[i - kept_from] : NULL;
            if (same_so_far && was && ph->start == was->start && ph->end == was->end && ph->wake == was->wake &&
                strcmp(ph->label, was->label) == 0) {
                ph->changed = was->changed;
                continue;
            }
            /* A last interaction that only grew at its end is the same phase, still last: the
             * speech from its start on was counted into it. */
            if (same_so_far && i + 1 == d->list->len && i + 1 == old_len && ph->start == old_last.start &&
                ph->wake == old_last.wake && strcmp(ph->label, old_last.label) == 0) {
                ph->changed = old_last.changed;
                continue;
            }
            same_so_far = false;
            ph->changed = stamp;
            g_array_index(d->phase_voice, phase_speech, i) =
                et_phases_speech_between(p, d, ph->start, i + 1 == d->list->len ? G_MAXDOUBLE : ph->end);
        }
        d->settled_valid = false;
        d->list_version = d->version;
    } else if (!valid || d->list_version != d->version) {
        GArray *t = d->list_before;
        d->list_before = d->list;
        d->list = t;
        g_array_set_size(d->list, 0);
        if (p->sched) {
            build_schedule_list(p, d->list);
        } else if (!speaker) {
            append_phase(d->list, "all", 0, p->end, false);
        } else {
            if (d->its_rebuild)
                build_interactions(p, d);
            g_array_set_size(d->its_phase, 0);
            build_auto_list(p, d, d->list, 0);
            d->its_changed_from = UINT32_MAX;
        }
        stamp_changes(d, valid, stamp);
        update_phase_voice(p, d, valid);
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
        *version = stamp;
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

double et_phases_end(const et_phases *p)
{
    return p->end;
}
