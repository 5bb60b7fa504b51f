/* ws_compat.h - the few Wireshark API differences between 4.0 and 4.6 that echotap meets.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Keyed on WIRESHARK_VERSION_MAJOR/MINOR from ws_version.h (included by wireshark.h).
 */
#ifndef ECHOTAP_WS_COMPAT_H
#define ECHOTAP_WS_COMPAT_H

#include <wireshark.h>
#include <epan/packet.h>

#define ET_WS_AT_LEAST(maj, min) \
    (WIRESHARK_VERSION_MAJOR > (maj) || (WIRESHARK_VERSION_MAJOR == (maj) && WIRESHARK_VERSION_MINOR >= (min)))

/* prefs_register_bool_preference() takes gboolean* before 4.4, bool* from 4.4. */
#if ET_WS_AT_LEAST(4, 4)
typedef bool et_pref_bool;
#else
typedef gboolean et_pref_bool;
#endif

/* UAT callbacks and wmem_foreach_func return gboolean in 4.0, bool from 4.2. */
#if ET_WS_AT_LEAST(4, 2)
typedef bool et_cb_bool;
#else
typedef gboolean et_cb_bool;
#endif

/* field_info::value is an embedded fvalue_t in 4.0 and a pointer from 4.2. */
#if ET_WS_AT_LEAST(4, 2)
#define ET_FI_FVALUE(fi) ((fi)->value)
#else
#define ET_FI_FVALUE(fi) (&(fi)->value)
#endif

/* get_manuf_name_if_known() takes the address length from 4.2 (MA-M/MA-S lookups); before, it reads
 * the 3-byte OUI only. */
#if ET_WS_AT_LEAST(4, 2)
#define ET_MANUF_NAME_IF_KNOWN(addr, len) get_manuf_name_if_known((addr), (len))
#else
#define ET_MANUF_NAME_IF_KNOWN(addr, len) get_manuf_name_if_known(addr)
#endif

/* tvb_find_guint8() gives way to tvb_find_uint8() (present in 4.4, deprecated with a warning in
 * 4.6); 4.0 has only the old name. */
#if !ET_WS_AT_LEAST(4, 4)
#define tvb_find_uint8 tvb_find_guint8
#endif

/* The optional plugin description symbol exists from 4.4. */
#if ET_WS_AT_LEAST(4, 4)
#include <wsutil/plugins.h>
#define ET_HAVE_PLUGIN_DESCRIBE 1
#endif

#endif
