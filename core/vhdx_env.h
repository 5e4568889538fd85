/* SPDX-License-Identifier: MIT */
/*
 * vhdx_env.h - the freestanding seam of the core.
 *
 * The core includes nothing else from the toolchain.  An embedder that lacks
 * these headers replaces this one file.  VHDX_ASSERT may be overridden before
 * inclusion (the host unit tests map it to assert()); by default it is empty,
 * so the core never needs an abort().
 */
#ifndef VHDX_ENV_H
#define VHDX_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef VHDX_ASSERT
#define VHDX_ASSERT(expr) ((void)0)
#endif

#endif /* VHDX_ENV_H */
