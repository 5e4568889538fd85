/* SPDX-License-Identifier: MIT */
/*
 * vhdx.h - the whole public API of the freestanding VHDX core, one include:
 *   vhdx_base.h    errors, GUIDs, CRC-32C, geometry, sink and source
 *   vhdx_text.h    text helpers (sizes, numbers, a bounded text builder)
 *   vhdx_create.h  parameters, plan, encoders, the image writer
 *   vhdx_read.h    the decoder (open a disk), the parent chain, the checker
 *   vhdx_parent.h  a new differencing child: its parent accepted, its locator
 *   vhdx_data.h    the virtual disk read through BAT, bitmaps and chain
 */
#ifndef VHDX_H
#define VHDX_H

#include "vhdx_base.h"
#include "vhdx_text.h"
#include "vhdx_create.h"
#include "vhdx_read.h"
#include "vhdx_parent.h"
#include "vhdx_data.h"

#endif /* VHDX_H */
