/* verdict.c - the privacy verdict: a phase's speech upload judged against the idle baseline.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "phases_private.h"

#include <string.h>

/* Phases shorter than this do not set a device's idle baseline (unless all are). */
#define BASELINE_MIN_DURATION 5.0

static const char *const verdict_names[] = { "-", "wake word", "ok", "UPLOAD WITHOUT WAKE WORD" };

const char *et_verdict_name(et_verdict v)
{
    return verdict_names[v];
}

static double rate(uint64_t bytes, double duration)
{
    return duration > 0 ? bytes / duration : 0;
}

/* Seconds of speech: its bins, never longer than the phase (a schedule's phase need not start or
 * end on a bin's edge). */
static double speech_seconds(const et_phases *p, const et_phase *ph, uint32_t bins)
{
    return MIN(bins * p->cfg.bin, MAX(ph->end - ph->start, 0.0));
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
    dev_state *d = et_phases_dev_at(p, device);
    const phase_speech *voice = (const phase_speech *)(void *)d->phase_voice->data;
    bool listed = ph->index < n && list[ph->index].start == ph->start;
    phase_speech in_phase = listed ? voice[ph->index] : et_phases_speech_between(p, d, ph->start, ph->end);
    out->voice_up_bytes = in_phase.bytes;
    out->speech_bins = in_phase.bins;
    out->voice_up_rate = rate(out->voice_up_bytes, ph->end - ph->start);
    out->speech_s = speech_seconds(p, ph, out->speech_bins);
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
            idle_rates_add(&d->settled, &list[i], voice[i].bytes);
        d->settled_valid = true;
    }
    /* The last phase counts only while no earlier one lasts long enough: the end of the capture
     * may cut it short, and its rate moves with every packet (every verdict would move with it). */
    idle_rates r = d->settled;
    if (n && r.lasting < 0) {
        idle_rates_add(&r, &list[n - 1], voice[n - 1].bytes);
        out->baseline_moves = !list[n - 1].wake;
    }
    out->baseline_rate = r.lasting >= 0 ? r.lasting : r.brief >= 0 ? r.brief : 0;
    out->verdict = ph->wake ? ET_VERDICT_WAKE : ET_VERDICT_OK;
    et_phases_rejudge(p, ph, out);
}

void et_phases_rejudge(const et_phases *p, const et_phase *ph, et_phase_judgement *j)
{
    j->voice_up_rate = rate(j->voice_up_bytes, ph->end - ph->start);
    j->speech_s = speech_seconds(p, ph, j->speech_bins);
    if (j->verdict == ET_VERDICT_OK || j->verdict == ET_VERDICT_SUSPECT)
        j->verdict = j->voice_up_bytes >= p->cfg.min_voice_bytes &&
                     j->voice_up_rate > j->baseline_rate + p->cfg.margin ? ET_VERDICT_SUSPECT : ET_VERDICT_OK;
}
