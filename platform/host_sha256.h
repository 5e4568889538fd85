/* SPDX-License-Identifier: MIT */
/*
 * host_sha256.h - SHA-256 from the host's libcrypto (OpenSSL's EVP, which
 * uses the CPU's SHA instructions where it has them) for the core's jobs:
 * the same function as app/vhdx_sha256.c, whose own tests stay on that one.
 */
#ifndef HOST_SHA256_H
#define HOST_SHA256_H

#include "vhdx_sha256.h"

/* *@ret: libcrypto's SHA-256, with start/wait/busy on a thread of its own, or
 * NULL (the core's own) when it cannot be set up or VHDX_SHA256=core is
 * in the environment (tests, benchmarks); VHDX_SHA256=serial: without
 * start/wait/busy (the benchmark's one-CPU row). */
void host_sha256_ops(const struct vhdx_sha256_ops **ret);

#endif /* HOST_SHA256_H */
