/* echotap-payload.h - the payload evidence path's glue: a packet's names read from its bytes.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef ECHOTAP_PAYLOAD_GLUE_H
#define ECHOTAP_PAYLOAD_GLUE_H

#include "echotap.h"
#include "frame.h"
#include "payload_evidence.h"

/* For the open file, with the path payload or both: the handshake buffers (and, with both, which
 * flows' differences were reported). */
void echotap_payload_init(et_evidence_path path);
void echotap_payload_cleanup(void);

/* The packet's TCP/UDP header and payload from the frame's own bytes; false when they are not
 * the ones Wireshark's dissectors gave the packet (a tunnel, an IP fragment, another link type). */
bool echotap_transport(tvbuff_t *tvb, packet_info *pinfo, const et_addr *src, const et_addr *dst, et_transport *tr);

/* Makes p (a copy of the tree path's packet) the payload path's: its names from the frame's TCP or
 * UDP payload tr (described in *seg, which must live as long as p is used), or none when tr is
 * NULL (echotap_transport could not read the frame). report_names: a refused name gets the
 * bad-name expert info. */
void echotap_payload_fill(const et_transport *tr, packet_info *pinfo, bool known, bool use_cert, bool report_names,
                          et_packet *p, et_segment *seg);

/* With the path both: the text of the first difference between a flow's names on the two paths
 * (g_free it), once per flow; else NULL. */
char *echotap_payload_difference(const et_capture *capture, const et_flow *tree_fl, const et_capture *shadow,
                                 const et_flow *payload_fl);

#endif
