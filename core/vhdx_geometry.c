/* SPDX-License-Identifier: MIT */
/*
 * vhdx_geometry.c - the geometry of a disk [2.5], the one place where the
 * chunk ratio, the block counts and the BAT index math are computed: the
 * plan, the encoders, the decoder and the checker all take it from here.
 *
 * Every size involved is a power of two (block size, logical sector size,
 * chunk ratio), so divisions are shifts: no 64-bit division helper on
 * 32-bit targets.  The one division by CR + 1 (not a power of two) is
 * vhdx_udiv64_32_'s.
 */
#include "vhdx_internal.h"

int vhdx_geometry_init(struct vhdx_geometry *g, uint64_t virtual_size, uint32_t block_size,
		       uint32_t logical_sector_size, bool has_parent)
{
	struct vhdx_geometry r;
	unsigned lss_shift;

	if (!g)
		return VHDX_ERR_INVAL;
	if (!VHDX_IS_POW2(block_size) || block_size < VHDX_BLOCK_SIZE_MIN ||
	    block_size > VHDX_BLOCK_SIZE_MAX)
		return VHDX_ERR_INVAL; /* [2.6.2.1] */
	if (logical_sector_size != 512 && logical_sector_size != 4096)
		return VHDX_ERR_INVAL; /* [2.6.2.4] */
	if (virtual_size == 0 || virtual_size > VHDX_VIRTUAL_SIZE_MAX ||
	    (virtual_size & (logical_sector_size - 1)))
		return VHDX_ERR_RANGE; /* [2.6.2.2] */
	vhdx_mem_zero_(&r, sizeof(r));
	r.virtual_size = virtual_size;
	r.block_size = block_size;
	r.logical_sector_size = logical_sector_size;
	r.has_parent = has_parent;
	r.block_shift = (uint8_t)vhdx_log2_(block_size);
	lss_shift = vhdx_log2_(logical_sector_size);
	/* CR = 2^23 * LSS / BS: 2^(23 + 9..12 - 20..28), from 2^4 to 2^15 */
	r.chunk_shift = (uint8_t)(23 + lss_shift - r.block_shift);
	r.chunk_ratio = (uint32_t)1 << r.chunk_shift;
	/* P = ceil(VDS / BS); VDS <= 2^46 leaves room for the carry */
	r.payload_blocks = (virtual_size + block_size - 1) >> r.block_shift;
	/* S = ceil(P / CR) */
	r.bitmap_blocks = (r.payload_blocks + r.chunk_ratio - 1) >> r.chunk_shift;
	/* a differencing BAT carries every chunk's bitmap entry; fixed and
	 * dynamic ones end at the last payload block's entry */
	if (has_parent)
		r.bat_entries = r.bitmap_blocks * ((uint64_t)r.chunk_ratio + 1);
	else
		r.bat_entries = r.payload_blocks + ((r.payload_blocks - 1) >> r.chunk_shift);
	r.bat_bytes = r.bitmap_blocks * ((uint64_t)r.chunk_ratio + 1) * VHDX_BAT_ENTRY_SIZE;
	vhdx_mem_copy_(g, &r, sizeof(r));
	return VHDX_OK;
}

uint64_t vhdx_geometry_block_index(const struct vhdx_geometry *g, uint64_t block)
{
	return block + (block >> g->chunk_shift);
}

uint64_t vhdx_geometry_bitmap_index(const struct vhdx_geometry *g, uint64_t chunk)
{
	/* chunk * (CR + 1) + CR */
	return (chunk << g->chunk_shift) + chunk + g->chunk_ratio;
}

uint64_t vhdx_geometry_chunk_of_(const struct vhdx_geometry *g, uint64_t index, uint32_t *ret_pos)
{
	return vhdx_udiv64_32_(index, g->chunk_ratio + 1, ret_pos);
}
