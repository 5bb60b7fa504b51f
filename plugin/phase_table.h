/* phase_table.h - the rows of the phases table, kept up to date packet by packet.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C (GLib only). One row per (device, phase): its counts per service group and direction,
 * and its judgement (phases.h). Rows are kept incrementally, so that the table's cells, written
 * before each draw (echotap-stats.c), cost only the rows that changed: after every packet the rows
 * equal ones recounted from scratch with every flow's current class and every device's current
 * phase list.
 *
 * - Each flow keeps its counts per detector bin (automatic) or per phase (schedule), 16 bytes a
 *   bin it was seen in, and each packet goes to the row of the phase that holds it; when a
 *   device's phase list changes, the rows of the phases that changed are summed again from its
 *   flows' counts, and a flow whose group changes moves its counts between the group's cells.
 * - A row whose phase disappeared (interactions merged) stays, shown as "(merged)" with no counts:
 *   a table's rows cannot be removed while a dialog shows them.
 * - The last phase of a device that sent nothing ends with the capture: only its duration, rate
 *   and verdict change, from its last judgement (et_phases_rejudge), while that is exact.
 * - A judgement can change with no count of its phase changing: a flow changes class (the device
 *   becomes a speaker, a flow joins or leaves the voice path), or a run of upload takes the
 *   shape of speech a second or more after it began, in an earlier phase. Then the device's
 *   rows are judged again.
 *
 * Rows are numbered in the order they appear and never move. A row's values are those the table
 * shows: until a row has been placed (device, label, index, start written), those cells are empty.
 */
#ifndef ECHOTAP_PHASE_TABLE_H
#define ECHOTAP_PHASE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flows.h"
#include "phases.h"
#include "stats.h"

/* What the verdict cell says of a row whose phase was merged into another. */
#define ET_PTABLE_MERGED "(merged)"

typedef struct et_ptable_row {
    uint32_t device;
    uint32_t index;            /* the phase's index within its device */
    bool placed;               /* device, label, index and start are shown */
    const char *label;         /* "-" when merged; valid while the et_phases lives */
    double start;              /* seconds since the first packet */
    double duration;
    et_cells cells;            /* bytes and packets per group and direction */
    uint64_t voice_up_bytes;   /* the judgement's: speech-shaped upload judged by the verdict */
    double voice_up_rate;      /* the judgement's upload rate, bytes per second */
    double speech_s;           /* seconds of speech in the phase, measured */
    const char *verdict;       /* et_verdict_name, ET_PTABLE_MERGED, or "" before the first judgement */
    bool tail_only;            /* at et_ptable_changed: only duration and judgement changed */
} et_ptable_row;

typedef struct et_ptable et_ptable;

et_ptable *et_ptable_new(void);
void et_ptable_free(et_ptable *pt);

/* Counts a packet of fl (frame length len, t seconds since the first packet) and brings every
 * device's rows up to date. Call it after flows and phases have seen the packet. */
void et_ptable_packet(et_ptable *pt, et_phases *phases, const et_flows *flows, const et_flow *fl, bool up,
                      uint32_t len, double t);

uint32_t et_ptable_rows(const et_ptable *pt);
const et_ptable_row *et_ptable_get(et_ptable *pt, uint32_t row);

/* Rows created or changed since the last call, each once; the array belongs to pt and is valid
 * until the next call into pt. Rows are numbered from 0 without gaps (et_ptable_rows). */
const uint32_t *et_ptable_changed(et_ptable *pt, size_t *count);

/* The silent rows: the last phases of devices that sent nothing since the packet on which their
 * row was last reported, with no speech upload. With every packet only their duration changes,
 * to end - start (end: the capture's end, also returned), and et_ptable_changed does not report
 * that: a table with many quiet devices then costs nothing per packet and device. The array
 * belongs to pt and is valid until the next call into pt. */
const uint32_t *et_ptable_silent(et_ptable *pt, size_t *count, double *end);

#endif
