/* phases_private.h - the detector's state, shared by phases.c (speech, interactions, phase lists)
 * and verdict.c (the judgement). Not for other files.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef ECHOTAP_PHASES_PRIVATE_H
#define ECHOTAP_PHASES_PRIVATE_H

#include "phases.h"

#include <glib.h>

typedef struct bin_entry {
    uint32_t bin;
    uint32_t up;               /* bytes */
} bin_entry;

typedef struct speech_segment {
    uint32_t first, last;      /* bins of the speech, inclusive */
    uint32_t answer_last;      /* bin of the answer's last chunk (or last) */
    uint32_t first_frame;
    double answer_until;       /* a chunk until then still belongs to the answer */
    bool answered;             /* the server sent data during or after it */
} speech_segment;

typedef struct activity_run {
    uint32_t first, last;      /* bins, inclusive */
} activity_run;

/* Voice state of a cloud flow of a speaker (or any device: speech is judged everywhere). */
typedef struct flow_voice {
    uint32_t device;
    bool udp;                  /* no pure acknowledgements to leave out: a download's ACKs are upload */
    bool voice_path;           /* by the flow's class when last looked at */
    bool in_tail;              /* voice path or metrics: its packets end an interaction */
    /* activity: runs of bins with a packet of the flow, each next bin at most the gap after the
     * one before, sorted and more than the gap apart: all that the end of an interaction needs
     * (quiet_after), without a record of every active bin */
    GArray *activity;          /* activity_run */
    /* the open run of upload bins, not yet known to be speech */
    bool run_open;
    uint32_t run_first, run_last, run_bins, run_head_bins, run_first_frame;
    uint64_t run_bytes, run_head_bytes, run_down;
    bool run_is_speech;        /* the run is the last segment */
    GArray *pending;           /* bin_entry: the run's bins until it qualifies */
    GArray *segments;          /* speech_segment */
    bool voice_reported;       /* et_phases_packet said so once */
} flow_voice;

/* Speech in a phase: upload bytes, and bins of speech (holes inside a run included). */
typedef struct phase_speech {
    uint64_t bytes;
    uint32_t bins;
} phase_speech;

typedef struct speech_change {
    uint64_t version;          /* speech_version after the change */
    uint32_t phase;            /* the listed phase it changed */
} speech_change;

typedef struct interaction {
    uint32_t first, last;      /* bins, inclusive */
} interaction;

/* The quietest speech upload rates among phases without a wake word: of those lasting at least
 * BASELINE_MIN_DURATION, and of shorter ones; -1 when there is none. */
typedef struct idle_rates {
    double lasting, brief;
} idle_rates;

typedef struct dev_state {
    GArray *speech;                 /* bin_entry, sorted by bin: speech upload on any cloud flow */
    GArray *voice_flows;            /* uint32_t: ids of its flows that have speech segments */
    GArray *cloud_flows;            /* uint32_t: ids of all its flows to the cloud */
    /* Interactions, kept up to date packet by packet while packets come in time order; built
     * again from the flows' speech and activity when they do not, or a flow changes class. */
    GArray *its;                    /* interaction */
    bool its_rebuild;
    uint32_t its_changed_from;      /* first interaction changed since the list was built */
    GArray *its_phase;              /* uint32_t: index in the list of each interaction's phase */
    /* Bins where a packet can still move the end of the last interaction: [tail_from, tail_to). */
    uint32_t tail_from, tail_to;
    uint64_t version;
    /* cache of the phase list, and the speech upload of each listed phase */
    GArray *list;
    GArray *list_before;            /* the previous list, to see what changed */
    GArray *phase_voice;            /* phase_speech per phase of list */
    uint64_t list_version;
    bool list_speaker;
    bool list_valid;
    /* idle_rates of every listed phase but the last (whose end still moves), so that judging a
     * phase does not walk the whole list on every packet */
    idle_rates settled;
    bool settled_valid;
    uint64_t speech_version;        /* speech_add calls */
    /* Speech added to a listed phase before the last, or while the list's speech was not kept:
     * speech_change, in version order (rare: a run that takes the shape of speech late). */
    GArray *speech_log;
} dev_state;

struct et_phases {
    et_detector_config cfg;
    uint32_t gap_bins;         /* cfg.gap in bins */
    et_schedule *sched;        /* copy, or NULL */
    double epoch;
    double end;                /* last packet time */
    GPtrArray *devices;        /* dev_state*, by device id */
    GPtrArray *flows;          /* flow_voice*, by flow id, NULL for flows to the LAN */
    size_t change_cursor;
};

/* The device's state, made at its first use. */
dev_state *et_phases_dev_at(et_phases *p, uint32_t device);
/* Speech in [start, end), counted on whole bins. */
phase_speech et_phases_speech_between(const et_phases *p, const dev_state *d, double start, double end);

#endif
