/* echotap.h - what the Wireshark glue files of echotap share.
 *
 * Dependencies point down: plugin.c registers the others; the outputs (echotap-stats.c,
 * echotap-export.c, echotap-live.c) and the dissector read the capture from echotap-capture.c.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef ECHOTAP_H
#define ECHOTAP_H

#include "ws_compat.h"
#include "capture.h"

#include <stdlib.h>

#include <epan/stat_tap_ui.h>
#include <epan/tap.h>

/* What the postdissector queues on the "echotap" tap for every packet of a flow. */
typedef struct echotap_tap_record {
    const et_flow *flow;
    bool up;
    uint32_t len;              /* frame length */
    double t;                  /* seconds since the capture's first packet */
} echotap_tap_record;

/* The dissector (packet-echotap.c): its protocol id, and its handoff. */
int echotap_register_dissector(void);
void echotap_dissector_handoff(void);

/* The capture state (echotap-capture.c): its preferences and rule table under module. */
void echotap_register_capture(module_t *module);
/* The capture file being dissected (NULL outside a file). Outputs only read it. */
et_capture *echotap_current_capture(void);
/* Where the evidence comes from (preference echotap.evidence_path): Wireshark's tree (the other
 * dissectors' fields, evidence.c), the payload's bytes with no tree (payload_evidence.c), or both,
 * each difference an expert info. */
typedef enum { ET_PATH_AUTO, ET_PATH_TREE, ET_PATH_PAYLOAD, ET_PATH_BOTH } et_evidence_path;
/* The path for this file: auto resolved. */
et_evidence_path echotap_evidence_path(void);
/* With the path both: the capture that the payload path feeds, beside the current one. */
et_capture *echotap_shadow_capture(void);
/* What is wrong with the schedule preference (g_free it), or NULL if it is empty or valid. */
char *echotap_schedule_problem(void);
/* Whether a GUI runs the plugin (its funnel text windows can be closed; tshark's cannot): a -z
 * argument that is refused must not exit there, as tshark's statistics do. */
bool echotap_in_gui(void);

/* The statistics tables (echotap-stats.c), their preference under module. */
void echotap_register_stats(module_t *module);
/* tshark's -z echotap,json (echotap-export.c). */
void echotap_register_export(void);
/* The live view (echotap-live.c): Statistics > Echotap Live and -z echotap,live. */
void echotap_register_live(void);

/* A statistics table with its counting state (echotap-stats.c): the registered ones and the
 * private copies are of this one type. A copy of the Phases or the Flows table is counted by the
 * same code into a table of its own: for the live view, since the registered tables belong to
 * Wireshark's statistics dialogs. cli_string: "echotap,phases" or "echotap,flows" (NULL for any
 * other). */
typedef struct echotap_table echotap_table;
echotap_table *echotap_table_copy_new(const char *cli_string);
const stat_tap_table_ui *echotap_table_copy_ui(const echotap_table *c);
/* Its table, the cells first brought up to the counts. */
const stat_tap_table *echotap_table_copy_table(echotap_table *c);
void echotap_table_copy_reset(echotap_table *c);
tap_packet_status echotap_table_copy_packet(echotap_table *c, packet_info *pinfo, epan_dissect_t *edt,
                                            const void *data, tap_flags_t flags);
void echotap_table_copy_free(echotap_table *c);
/* A cell's number: a UINT's, or the one a cell of a column with decimals holds beside its text. */
double echotap_table_cell_number(const stat_tap_table_item_type *it);


/* A -z init callback (echotap,json and echotap,live) is declared ET_Z_INIT_TYPE and ends with
 * ET_Z_INIT_DONE(worked). From 4.6 it returns whether it worked; before, tshark's statistics exit
 * on a refused argument and so do these, but not in a GUI (Wireshark takes -z too, and the exit
 * would end it): there the failure has been reported and nothing is registered. */
#if ET_WS_AT_LEAST(4, 6)
#define ET_Z_INIT_TYPE bool
#define ET_Z_INIT_DONE(worked) return (worked)
#else
#define ET_Z_INIT_TYPE void
#define ET_Z_INIT_DONE(worked)                  \
    do {                                        \
        if (!(worked) && !echotap_in_gui())     \
            exit(1);                            \
        return;                                 \
    } while (0)
#endif

#endif
