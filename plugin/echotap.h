/* echotap.h - what the Wireshark glue files of echotap share.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef ECHOTAP_H
#define ECHOTAP_H

#include "ws_compat.h"
#include "flows.h"
#include "phases.h"

/* What the postdissector queues on the "echotap" tap for every packet of a flow. */
typedef struct echotap_tap_record {
    const et_flow *flow;
    bool up;
    uint32_t len;              /* frame length */
    double t;                  /* seconds since the capture's first packet */
} echotap_tap_record;

/* State of the capture file being dissected (NULL outside a file). */
typedef struct echotap_capture {
    et_ruleset *rules;
    et_flows *flows;
    et_phases *phases;
} echotap_capture;

const echotap_capture *echotap_current_capture(void);

/* What is wrong with the schedule preference (g_free it), or NULL if it is empty or valid. */
char *echotap_schedule_problem(void);

/* Registration of the statistics (echotap-stats.c), called from proto_register_echotap. */
void echotap_register_stats(int proto, module_t *module);
/* Registration of tshark's -z echotap,json (echotap-export.c). */
void echotap_register_export(void);

#endif
