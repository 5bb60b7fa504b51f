/* unit_helpers.h - what the unit tests of the core share: addresses of a small home network.
 *
 * Copyright 2026 The echotap developers
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef ECHOTAP_UNIT_HELPERS_H
#define ECHOTAP_UNIT_HELPERS_H

#include <stdint.h>

#include "flows.h"

static inline et_addr ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    const uint8_t bytes[4] = { a, b, c, d };
    et_addr x;
    et_addr_set(&x, 4, bytes);
    return x;
}

#define SPEAKER ip4(192, 168, 1, 10)
#define PHONE ip4(192, 168, 1, 20)

#endif
