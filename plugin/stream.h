/* stream.h - the first bytes of one direction of a TCP connection, in sequence order.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C. Handshakes (a ClientHello, a certificate chain) span segments that may arrive out of
 * order or twice: each segment's bytes are placed by their sequence number in a buffer of the
 * stream's first bytes (a budget), the first copy of a byte is kept (retransmissions change
 * nothing), and readers see the bytes that are present from the stream's start on.
 */
#ifndef ECHOTAP_STREAM_H
#define ECHOTAP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ET_STREAM_MAX_RANGES 8          /* separate runs of bytes kept while a gap is open */

typedef struct et_stream {
    uint8_t *bytes;            /* cap bytes, allocated at the first payload; NULL after freeing */
    size_t cap;
    uint32_t base_seq;         /* sequence number of byte 0 */
    bool based;
    size_t contiguous;         /* bytes [0, contiguous) are present */
    /* Runs of bytes past the first gap, sorted, apart. */
    struct { size_t start, end; } ranges[ET_STREAM_MAX_RANGES];
    unsigned n_ranges;
} et_stream;

void et_stream_init(et_stream *s, size_t cap);
void et_stream_free(et_stream *s);
/* The SYN's sequence number: the stream starts after it. Without a SYN, it starts at the first
 * segment's. */
void et_stream_syn(et_stream *s, uint32_t seq);
/* A segment's payload. Returns true when it added bytes to the contiguous start. Bytes past the
 * budget, before the start, or past ET_STREAM_MAX_RANGES runs are dropped. */
bool et_stream_add(et_stream *s, uint32_t seq, const uint8_t *p, size_t len);
/* Room for a segment (seq, len) that goes past the budget: the budget grows to hold it, up to
 * max bytes. */
void et_stream_reserve(et_stream *s, uint32_t seq, size_t len, size_t max);
/* Is the budget's every byte present? */
static inline bool et_stream_full(const et_stream *s)
{
    return s->contiguous == s->cap;
}

#endif
