/* SPDX-License-Identifier: MIT */
/* host.h - shared declarations of the host command's parts. */
#ifndef VHDX_HOST_H
#define VHDX_HOST_H

#include "host_error.h"
#include "vhdx_cli.h"
#include "vhdx_print.h"

/* Each returns an exit status (VHDX_EXIT_*), having printed its own errors
 * as one line on stderr, prefixed "vhdx: ". */
int host_cmd_create(const struct vhdx_cli *cli);
int host_cmd_info(const struct vhdx_cli *cli);   /* platform/host_read.c */
int host_cmd_check(const struct vhdx_cli *cli);  /* platform/host_read.c */
int host_cmd_convert(const struct vhdx_cli *cli); /* platform/host_convert.c */
int host_cmd_compare(const struct vhdx_cli *cli); /* platform/host_compare.c */
int host_cmd_repair(const struct vhdx_cli *cli);  /* platform/host_repair.c */
int host_cmd_bmap(const struct vhdx_cli *cli);    /* platform/host_bmap.c */
int host_cmd_verify(const struct vhdx_cli *cli);  /* platform/host_bmap.c */
/* A bmap manifest (a file, or an http(s):// URL) read whole, at most 256
 * MiB: malloc'd text and *@ret_len, or NULL with one line printed that
 * ends with @tail ("; nothing written", or ""). */
char *host_read_manifest(const char *name, size_t *ret_len, const char *tail);

#endif /* VHDX_HOST_H */
