/* stats.h - byte and packet counters per row, kept exact while flows change class.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C (GLib only). A statistics table counts each packet into a row (device, key): the key
 * is a phase, a time interval or a flow. The columns split the counts by service group and
 * direction. A flow's group can change after some of its packets were counted (its certificate
 * or a DNS answer arrives later), so the counts are kept per flow and split by group only when
 * the rows are read: the table always equals a count made with every flow's current class.
 */
#ifndef ECHOTAP_STATS_H
#define ECHOTAP_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "flows.h"

/* A row's counts by group and direction (the phase table's rows). */
typedef struct et_cells {
    uint64_t bytes[ET_GROUP_COUNT][2];     /* [group][0 up, 1 down] */
    uint64_t packets[ET_GROUP_COUNT][2];
} et_cells;

/* Bytes per row (device, key) as parts: what each flow sent and received in the row. The split by
 * service group is made when the rows are read, from each flow's class then, so a class change
 * costs nothing while counting (the timeline's rows). */
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
