/* plugin.c - registers echotap's parts with Wireshark: the dissector, the capture state its
 * preferences make, and each output. A new output adds a line here, not to the dissector.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#define WS_BUILD_DLL
#include "echotap.h"

#include <epan/prefs.h>

#ifndef ECHOTAP_VERSION
#define ECHOTAP_VERSION "0.0.0"
#endif

WS_DLL_PUBLIC_DEF const char plugin_version[] = ECHOTAP_VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;
WS_DLL_PUBLIC void plugin_register(void);
#ifdef ET_HAVE_PLUGIN_DESCRIBE
WS_DLL_PUBLIC uint32_t plugin_describe(void);
#endif

static void register_protoinfo(void)
{
    int proto = echotap_register_dissector();
    module_t *module = prefs_register_protocol(proto, NULL);
    echotap_register_capture(module);
    echotap_register_stats(module);
    echotap_register_export();
    echotap_register_live();
}

void plugin_register(void)
{
    static proto_plugin plugin;
    plugin.register_protoinfo = register_protoinfo;
    plugin.register_handoff = echotap_dissector_handoff;
    proto_register_plugin(&plugin);
}

#ifdef ET_HAVE_PLUGIN_DESCRIBE
uint32_t plugin_describe(void)
{
    return WS_PLUGIN_DESC_DISSECTOR | WS_PLUGIN_DESC_TAP_LISTENER;
}
#endif
