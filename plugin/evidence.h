/* evidence.h - evidence per protocol: the names that TLS (SNI, certificate), HTTP (Host) and DNS
 * answers give a flow, read from the other dissectors' fields on the first pass.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef ECHOTAP_EVIDENCE_H
#define ECHOTAP_EVIDENCE_H

#include "ws_compat.h"
#include "flows.h"

#include <epan/expert.h>

/* The protocol whose per-packet data records refused names, and the expert info for them
 * (echotap.evidence.bad_name); from proto_register_echotap. */
void et_evidence_setup(int proto, expert_field *bad_name);

/* First pass: hands every name that this packet's tree holds (SNI, the server certificate if
 * use_cert, TLS alerts, HTTP Host, DNS answers) to the flow state. up: sent by the flow's device.
 * A name that is not a valid host name gets the bad-name expert info and is recorded. */
void et_gather_evidence(packet_info *pinfo, proto_tree *tree, et_flows *flows, et_flow *fl, bool up,
                        bool use_cert);

/* The payload path refused a name (payload_evidence.h's et_name_kind, the same kinds in the same
 * order): recorded; et_name_problems_again adds its expert info on echotap's item, on the first
 * pass too (the packet's tree holds no name item to put it on). */
void et_payload_name_problem(packet_info *pinfo, int kind);

/* et_capture_packet's gather callback for the tree path: user is an et_tree_evidence. */
typedef struct et_tree_evidence {
    packet_info *pinfo;
    proto_tree *tree;
    bool use_cert;
} et_tree_evidence;
void et_gather_from_tree(void *user, et_flows *flows, et_flow *fl, bool up);

/* Later passes (and the payload path's first): the bad-name expert infos, on ti, from what the
 * first pass recorded (their tree need not hold the names: only the first pass primes other
 * dissectors' fields). */
void et_name_problems_again(packet_info *pinfo, proto_item *ti);

#endif
