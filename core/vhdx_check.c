/* SPDX-License-Identifier: MIT */
/*
 * vhdx_check.c - the strict checker's entry points: vhdx_check walks an
 * image from its first MiB through the metadata to the BAT and reports
 * every broken rule; vhdx_probe stops before the BAT (`vhdx list`).  The
 * top of the checker's layers (vhdx_check_internal.h).
 *
 * Scratch: the first MiB's structures, then the metadata table at +0 with
 * the small-read window at +64 KiB; the BAT walk reuses all of it.
 */
#include "vhdx_check_internal.h"

static int run(const struct vhdx_source *src, void *scratch, size_t scratch_len,
	       struct vhdx_info *info, vhdx_finding_fn fn, void *ctx, bool walk_bat)
{
	struct rd_ctx c;
	int err;

	if (!src || !src->read || !scratch || scratch_len < VHDX_READ_SCRATCH_MIN || !info)
		return VHDX_ERR_INVAL;
	vhdx_mem_zero_(info, sizeof(*info));
	vhdx_mem_zero_(&c, sizeof(c));
	info->current_header = -1;
	info->region_table_used = -1;
	info->file_size = src->size;
	info->is_device = src->is_device;
	c.src = src;
	c.scratch = scratch;
	c.scratch_len = scratch_len;
	c.info = info;
	c.fn = fn;
	c.fn_ctx = ctx;
	vhdx_window_init_(&c.win, src, c.scratch + VHDX_META_TABLE_SIZE, RD_WINDOW_SIZE);

	err = rd_file_identifier_(&c);
	if (!err)
		err = rd_headers_(&c);
	if (!err)
		err = rd_region_tables_(&c);
	if (!err)
		err = rd_metadata_(&c);
	if (!err && walk_bat)
		err = rd_bat_(&c);
	if (err >= 0)
		rd_report_suppressed_(&c);
	return err < 0 ? err : VHDX_OK;
}

int vhdx_check(const struct vhdx_source *src, void *scratch, size_t scratch_len,
	       struct vhdx_info *info, vhdx_finding_fn fn, void *ctx)
{
	return run(src, scratch, scratch_len, info, fn, ctx, true);
}

int vhdx_probe(const struct vhdx_source *src, void *scratch, size_t scratch_len,
	       struct vhdx_info *info)
{
	return run(src, scratch, scratch_len, info, NULL, NULL, false);
}
