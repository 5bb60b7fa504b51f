/* stream.c - the first bytes of one direction of a TCP connection, in sequence order.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

void et_stream_init(et_stream *s, size_t cap)
{
    memset(s, 0, sizeof(*s));
    s->cap = cap;
}

void et_stream_free(et_stream *s)
{
    g_free(s->bytes);
    s->bytes = NULL;
}

void et_stream_syn(et_stream *s, uint32_t seq)
{
    if (!s->based) {
        s->base_seq = seq + 1;
        s->based = true;
    }
}

/* Copies [start, end) where no byte is yet: before the contiguous end nothing, and around the
 * kept runs. Returns false when the bytes make too many runs (they are dropped). */
static bool place(et_stream *s, size_t start, size_t end, const uint8_t *p)
{
    if (start < s->contiguous) {
        p += s->contiguous - start;
        start = s->contiguous;
    }
    if (start >= end)
        return true;
    /* Where [start, end) goes among the runs, and the gaps it fills. */
    unsigned first = 0;
    while (first < s->n_ranges && s->ranges[first].end < start)
        first++;
    unsigned last = first;
    while (last < s->n_ranges && s->ranges[last].start <= end)
        last++;
    if (first == last && s->n_ranges == ET_STREAM_MAX_RANGES) {
        if (start != s->contiguous)
            return false;
        memcpy(s->bytes + start, p, end - start);   /* in order: no run needed */
        s->contiguous = end;
        return true;
    }
    size_t at = start;
    for (unsigned i = first; i < last; i++) {
        if (s->ranges[i].start > at)
            memcpy(s->bytes + at, p + (at - start), s->ranges[i].start - at);
        if (s->ranges[i].end > at)
            at = s->ranges[i].end;
    }
    if (at < end)
        memcpy(s->bytes + at, p + (at - start), end - at);
    /* Runs first..last-1 and the new bytes become one run. */
    size_t merged_start = first < last && s->ranges[first].start < start ? s->ranges[first].start : start;
    size_t merged_end = first < last && s->ranges[last - 1].end > end ? s->ranges[last - 1].end : end;
    unsigned removed = last - first;
    if (removed == 0) {
        memmove(&s->ranges[first + 1], &s->ranges[first], (s->n_ranges - first) * sizeof(s->ranges[0]));
        s->n_ranges++;
    } else if (removed > 1) {
        memmove(&s->ranges[first + 1], &s->ranges[last], (s->n_ranges - last) * sizeof(s->ranges[0]));
        s->n_ranges -= removed - 1;
    }
    s->ranges[first].start = merged_start;
    s->ranges[first].end = merged_end;
    return true;
}

void et_stream_reserve(et_stream *s, uint32_t seq, size_t len, size_t max)
{
    if (s->cap == 0 || s->cap >= max)
        return;
    int64_t end = (s->based ? (int64_t)(int32_t)(seq - s->base_seq) : 0) + (int64_t)len;
    if (end <= (int64_t)s->cap)
        return;
    size_t cap = s->cap;
    while (cap < (size_t)end && cap < max)
        cap *= 2;
    s->cap = cap < max ? cap : max;
    if (s->bytes)
        s->bytes = g_realloc(s->bytes, s->cap);
}

bool et_stream_add(et_stream *s, uint32_t seq, const uint8_t *p, size_t len)
{
    if (len == 0 || s->cap == 0)
        return false;
    if (!s->based) {
        s->base_seq = seq;
        s->based = true;
    }
    /* Offsets in 32-bit sequence space: a segment that starts before byte 0 keeps its later bytes. */
    int64_t rel = (int32_t)(seq - s->base_seq);
    if (rel < 0) {
        if ((uint64_t)-rel >= len)
            return false;
        p += -rel;
        len -= (size_t)-rel;
        rel = 0;
    }
    size_t start = (size_t)rel;
    if (start >= s->cap)
        return false;
    size_t end = len > s->cap - start ? s->cap : start + len;
    if (s->bytes == NULL)
        s->bytes = g_malloc(s->cap);
    size_t before = s->contiguous;
    if (!place(s, start, end, p))
        return false;
    if (s->n_ranges && s->ranges[0].start <= s->contiguous) {
        s->contiguous = s->ranges[0].end;
        memmove(&s->ranges[0], &s->ranges[1], (s->n_ranges - 1) * sizeof(s->ranges[0]));
        s->n_ranges--;
    }
    return s->contiguous > before;
}
