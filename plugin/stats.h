/* stats.h - byte and packet counters per row, kept exact while flows change class.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C (GLib only). A statistics table counts each packet into a row (device, key): the key
 * is a phase, a time interval or a flow. The columns split the counts by service group and
 * direction. A flow's group can change after some of its packets were counted (its certificate
 * or a DNS answer arrives later), so each flow remembers what it added to which row and moves
 * it when the flow log says its class changed: the table always equals a count made with every
 * flow's current class.
 */
#ifndef ECHOTAP_STATS_H
#define ECHOTAP_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "flows.h"

typedef struct et_cells {
    uint64_t bytes[ET_GROUP_COUNT][2];     /* [group][0 up, 1 down] */
    uint64_t packets[ET_GROUP_COUNT][2];
} et_cells;

void et_cells_add(et_cells *into, const et_cells *c, int sign);
uint64_t et_cells_bytes(const et_cells *c, int dir);     /* all groups */
uint64_t et_cells_packets(const et_cells *c, int dir);

typedef struct et_acc et_acc;

et_acc *et_acc_new(void);
void et_acc_free(et_acc *a);

/* Counts a packet into row (device of the flow, key); returns the row. Reads the flow log first. */
uint32_t et_acc_add(et_acc *a, const et_flows *flows, const et_flow *fl, bool up, uint32_t len, int64_t key);

/* Moves the counts of flows whose class changed since the last call. */
void et_acc_sync(et_acc *a, const et_flows *flows);

uint32_t et_acc_rows(const et_acc *a);
const et_cells *et_acc_row(const et_acc *a, uint32_t row, uint32_t *device, int64_t *key);
/* The row's flow, for tables keyed by flow (the first flow counted in it). */
uint32_t et_acc_row_flow(const et_acc *a, uint32_t row);

/* Rows changed since the last call, each once; the array belongs to a. */
const uint32_t *et_acc_dirty(et_acc *a, size_t *count);

/* What changed in a row since the last call for it (for tables derived from these rows). */
void et_acc_take_delta(et_acc *a, uint32_t row, et_cells *delta);

/* Sum of a device's rows with lo <= key < hi. */
void et_acc_sum(const et_acc *a, uint32_t device, int64_t lo, int64_t hi, et_cells *out);

/* Bytes per row (device, key) as parts: what each flow sent and received in the row. The split by
 * service group is made when the rows are read, from each flow's class then, so a class change
 * costs nothing while counting (the timeline's rows; et_acc keeps its cells split as it counts). */
typedef struct et_split_part {
    uint32_t row;
    uint32_t flow;
    uint64_t bytes[2];         /* [0] up, [1] down */
} et_split_part;

typedef struct et_split et_split;

et_split *et_split_new(void);
void et_split_free(et_split *s);
/* Counts a packet of fl into row (device of fl, key); returns the row. Rows are numbered in the
 * order they appear. */
uint32_t et_split_add(et_split *s, const et_flow *fl, bool up, uint32_t len, int64_t key);
uint32_t et_split_rows(const et_split *s);
void et_split_row(const et_split *s, uint32_t row, uint32_t *device, int64_t *key);
/* Every part; a flow has one part per row (several when its packets came out of time order). */
const et_split_part *et_split_parts(const et_split *s, size_t *count);

#endif
