/* SPDX-License-Identifier: MIT */
/*
 * vhdx_read.h - reading an image, one include: the decoder (vhdx_disk.h),
 * the log (vhdx_log.h), the checker's rules and findings (vhdx_rules.h),
 * the checker (vhdx_info.h) and the parent chain (vhdx_chain.h).  Their
 * text: app/vhdx_print.h.
 */
#ifndef VHDX_READ_H
#define VHDX_READ_H

#include "vhdx_disk.h"
#include "vhdx_log.h"
#include "vhdx_rules.h"
#include "vhdx_info.h"
#include "vhdx_chain.h"

#endif /* VHDX_READ_H */
