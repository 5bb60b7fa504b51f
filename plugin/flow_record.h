/* flow_record.h - the flow record, described once: each column of the Flows table
 * (-z echotap,flows, Statistics → Echotap Flows) and each member of -z echotap,json's "flows"
 * objects is one descriptor here (name, type, getter), and both outputs are made from the list.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Plain C (GLib only), unit-tested in test_flows.c.
 */
#ifndef ECHOTAP_FLOW_RECORD_H
#define ECHOTAP_FLOW_RECORD_H

#include "flows.h"

/* What an output counted for a flow (the table: what its display filter let through). */
typedef struct et_flow_totals {
    uint64_t bytes[2], packets[2];      /* [0] up (device to server), [1] down */
} et_flow_totals;

typedef enum { ET_REC_STRING, ET_REC_UINT } et_rec_type;

typedef struct et_rec_value {
    const char *s;             /* ET_REC_STRING; NULL: the flow has none (its column's `none`) */
    uint64_t u;                /* ET_REC_UINT */
} et_rec_value;

typedef struct et_flow_column {
    const char *key;           /* member of the JSON flow objects */
    et_rec_type type;
    const char *title;         /* Flows table column title; NULL: not in the table */
    const char *format;        /* the table column's printf format */
    int table_col;             /* the column's place in the table (-1: not in it) */
    const char *none;          /* what the table and the JSON show for a NULL string ("" or NULL: JSON null) */
    bool fixed;                /* never changes once the flow exists */
    /* buf (at least 64 bytes) may hold the string returned in v->s. */
    void (*get)(const et_flows *f, const et_flow *fl, const et_flow_totals *t, char *buf, size_t size,
                et_rec_value *v);
} et_flow_column;

/* The Flows table shows this many record columns (then First (s) and Last (s), which it keeps). */
#define ET_FLOW_TABLE_COLUMNS 11

/* The record's columns, in the JSON objects' order. */
const et_flow_column *et_flow_columns(size_t *n);

#endif
