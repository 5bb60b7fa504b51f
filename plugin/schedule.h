/* schedule.h - the phases of a scripted experiment, as the schedule preference writes them.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C (GLib only).
 */
#ifndef ECHOTAP_SCHEDULE_H
#define ECHOTAP_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#define ET_LABEL_MAX 32

typedef struct et_schedule_entry {
    double start;              /* seconds: relative to the first packet, or epoch if absolute */
    char label[ET_LABEL_MAX];
    bool wake;                 /* the phase has a wake word: its upload is not judged */
} et_schedule_entry;

typedef struct et_schedule {
    bool absolute;
    uint32_t count;
    et_schedule_entry *entries;
} et_schedule;

/* "0 silence; 8 query; 14 silence" (relative seconds) or "@1768471200 silence; @... query"
 * (epoch seconds). Labels listed in nowake (comma separated) are phases without a wake word;
 * every other label has one. On error returns NULL and sets *error (g_free it) to one line
 * naming the problem. */
et_schedule *et_schedule_parse(const char *text, const char *nowake, char **error);
void et_schedule_free(et_schedule *s);

#endif
