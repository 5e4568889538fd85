/* SPDX-License-Identifier: MIT */
/*
 * vhdx_app_internal.h - private to app/: the core's private helpers
 * (vhdx_internal.h) and what the printers share between their files.
 */
#ifndef VHDX_APP_INTERNAL_H
#define VHDX_APP_INTERNAL_H

#include "vhdx_internal.h"
#include "vhdx_print.h"

/* "fixed", "dynamic", "differencing" */
const char *vhdx_type_name(enum vhdx_type type);
/* A JSON string, quoted and escaped (whole escapes only when cut). */
void vhdx_text_json_(struct vhdx_text *t, const char *s);

#endif /* VHDX_APP_INTERNAL_H */
