/* phases.h - phases of an experiment: a schedule, or wake-word interactions detected per speaker.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C (GLib only). Automatic detection (doc/phases.md): speech is recognised by its shape on
 * each cloud flow (upload in nearly every 100 ms bin, at most the rate of uncompressed audio, for
 * at least a second). A speaker's voice path is its voice flows and its unnamed cloud flows; speech
 * there, with the answer downloaded after it, is an interaction, and interactions closer than
 * `gap` are one. Everything else is idle. Verdicts judge speech upload in phases without a wake
 * word, on any cloud flow.
 */
#ifndef ECHOTAP_PHASES_H
#define ECHOTAP_PHASES_H

#include <stdbool.h>
#include <stdint.h>

#include "flows.h"
#include "schedule.h"

typedef struct et_detector_config {
    double bin;                /* seconds per bin (0.1: the study's resolution) */
    double gap;                /* silence that ends a burst, seconds */
    uint32_t min_voice_bytes;  /* upload that a run of speech carries at least */
    double margin;             /* bytes/s above the idle baseline that flag a phase */
} et_detector_config;

void et_detector_defaults(et_detector_config *cfg);

typedef enum { ET_VERDICT_NONE, ET_VERDICT_WAKE, ET_VERDICT_OK, ET_VERDICT_SUSPECT } et_verdict;
const char *et_verdict_name(et_verdict v);

typedef struct et_phase {
    uint32_t index;            /* per device, from 0 */
    const char *label;
    double start, end;         /* seconds since the first packet; end is exclusive */
    bool wake;
    /* The list version (et_phases_list's *version) at which the phase last changed; the last
     * phase's end following the capture is no change. Never lower than the phase before's: the
     * phases that changed since version v are those after the last one with changed <= v. */
    uint64_t changed;
} et_phase;

typedef struct et_phases et_phases;

/* sched NULL: automatic detection. epoch: time of the capture's first packet. */
et_phases *et_phases_new(const et_schedule *sched, const et_detector_config *cfg, double epoch);
void et_phases_free(et_phases *p);
bool et_phases_automatic(const et_phases *p);

/* The detector's time bin of a packet at t, and the bin's length in seconds. */
uint32_t et_phases_bin(const et_phases *p, double t);
double et_phases_bin_seconds(const et_phases *p);

/* Counts a packet of a flow (first pass): payload is its TCP/UDP payload length, frame its
 * number. Returns true, once per flow, when the flow has carried speech followed by data from
 * the server: the shape of a voice connection. */
bool et_phases_packet(et_phases *p, const et_flows *flows, const et_flow *fl, bool up,
                      uint32_t payload, double t, uint32_t frame);

/* Does this frame begin a run of speech on the flow? */
bool et_phases_speech_start(const et_phases *p, uint32_t flow, uint32_t frame);

/* A count that changes whenever the device's speech upload changes. */
uint64_t et_phases_speech_version(const et_phases *p, uint32_t device);

/* The first phase of the device's list whose speech upload changed since version *seen
 * (UINT32_MAX: none; the last phase is not told), and *seen made the current version: the phases
 * before the last whose judgement a table must write again. Each table keeps its own *seen. */
uint32_t et_phases_speech_changed_since(const et_phases *p, uint32_t device, uint64_t *seen);

/* Builds every device's interactions again from the recorded speech, answers and activity,
 * instead of from what was kept packet by packet (equal while packets come in time order). */
void et_phases_recount(et_phases *p);

/* The phase of device at time t (automatic mode, not a speaker: the single phase "all"). */
void et_phases_lookup(et_phases *p, const et_flows *flows, uint32_t device, double t, et_phase *out);

/* All phases of a device up to the end of the capture so far, in order. The array belongs to p
 * and is valid until the next call. *version changes whenever the list changes. */
const et_phase *et_phases_list(et_phases *p, const et_flows *flows, uint32_t device, uint32_t *count,
                               uint64_t *version);

/* Is this flow on its device's voice path (by its current class): the voice group, or untagged
 * and unnamed to a cloud address? */
bool et_phases_voice_path(const et_flows *flows, const et_flow *fl);

typedef struct et_phase_judgement {
    uint64_t voice_up_bytes;   /* speech upload in the phase (any cloud flow of the device) */
    double voice_up_rate;      /* bytes per second */
    double baseline_rate;      /* the device's idle baseline, bytes per second */
    uint32_t speech_bins;      /* bins of speech in the phase (on any cloud flow of the device) */
    double speech_s;           /* their seconds, never more than the phase's duration */
    double max_speech_s;       /* seconds of speech the upload could carry at AVS's lowest bitrate */
    et_verdict verdict;
    bool baseline_moves;       /* the baseline counts the last phase, whose end still moves */
} et_phase_judgement;

/* Lowest audio bitrate AVS accepts (Opus, 32 kbit/s), bytes per second. */
#define ET_AVS_MIN_AUDIO_BYTES_PER_S 4000.0

void et_phases_judge(et_phases *p, const et_flows *flows, uint32_t device, const et_phase *ph,
                     et_phase_judgement *out);

/* The end of the capture so far (the last packet's time), where the last phase of every list ends. */
double et_phases_end(const et_phases *p);

/* Judges ph again after only its end moved (no packet of its device since j was made): same
 * upload and baseline, new rate and verdict. Exact unless j->baseline_moves. */
void et_phases_rejudge(const et_phases *p, const et_phase *ph, et_phase_judgement *j);

#endif
