/* SPDX-License-Identifier: MIT */
/*
 * vhdx_encode.c - encoders of every structure a new image holds:
 * File Type Identifier (2.2.1), headers (2.2.2), region table (2.2.3),
 * metadata table and items (2.6), parent locator (2.6.2.6), BAT (2.5).
 */
#include "vhdx_internal.h"

static void cursor_init(struct vhdx_cursor_ *c, void *buf, uint64_t start, size_t len)
{
	c->buf = buf;
	c->start = start;
	c->len = len;
	c->pos = 0;
}

/* --- 2.2.1 File Type Identifier ------------------------------------- */

size_t vhdx_file_id_size(const struct vhdx_plan *plan)
{
	/* signature + creator + its NUL terminator, as Windows writes it */
	return 8 + 2 * ((size_t)plan->creator_units + 1);
}

int vhdx_file_id_encode(const struct vhdx_plan *plan, void *buf, size_t len)
{
	struct vhdx_cursor_ c;

	if (len < vhdx_file_id_size(plan))
		return VHDX_ERR_NOSPACE;
	cursor_init(&c, buf, 0, vhdx_file_id_size(plan));
	vhdx_emit_bytes_(&c, VHDX_FILE_ID_SIGNATURE, 8);
	vhdx_emit_utf16_(&c, plan->params.creator);
	vhdx_emit_le16_(&c, 0);
	return VHDX_OK;
}

/* --- 2.2.2 Header ---------------------------------------------------- */

size_t vhdx_header_size(const struct vhdx_plan *plan)
{
	(void)plan;
	return VHDX_HEADER_SIZE;
}

int vhdx_header_encode(const struct vhdx_plan *plan, unsigned which, void *buf, size_t len)
{
	uint8_t *h = buf;

	if (which > 1)
		return VHDX_ERR_INVAL;
	if (len < VHDX_HEADER_SIZE)
		return VHDX_ERR_NOSPACE;
	vhdx_mem_zero_(h, VHDX_HEADER_SIZE);
	vhdx_mem_copy_(h + VHDX_HDR_SIG_OFF, VHDX_HEADER_SIGNATURE, 4);
	/* Windows: header 2 current, sequence number of header 1 plus one */
	vhdx_put_le64(h + VHDX_HDR_SEQUENCE_OFF, (uint64_t)which + 1);
	vhdx_mem_copy_(h + VHDX_HDR_FILE_WRITE_OFF, plan->params.file_write_guid.bytes, 16);
	vhdx_mem_copy_(h + VHDX_HDR_DATA_WRITE_OFF, plan->params.data_write_guid.bytes, 16);
	/* LogGuid stays zero: the log is empty and must not be replayed */
	vhdx_put_le16(h + VHDX_HDR_LOG_VERSION_OFF, VHDX_LOG_VERSION);
	vhdx_put_le16(h + VHDX_HDR_VERSION_OFF, VHDX_HEADER_VERSION);
	vhdx_put_le32(h + VHDX_HDR_LOG_LENGTH_OFF, (uint32_t)plan->log_length);
	vhdx_put_le64(h + VHDX_HDR_LOG_OFFSET_OFF, plan->log_offset);
	vhdx_put_le32(h + VHDX_HDR_CHECKSUM_OFF, vhdx_crc32c(0, h, VHDX_HEADER_SIZE));
	return VHDX_OK;
}

/* --- 2.2.3 Region table ---------------------------------------------- */

size_t vhdx_region_table_size(const struct vhdx_plan *plan)
{
	(void)plan;
	return VHDX_RGN_ENTRIES_OFF + 2 * VHDX_RGN_ENTRY_SIZE;
}

static void region_entry(uint8_t *e, const struct vhdx_guid *id, uint64_t off, uint64_t len)
{
	vhdx_mem_copy_(e + VHDX_RGN_E_GUID_OFF, id->bytes, 16);
	vhdx_put_le64(e + VHDX_RGN_E_OFFSET_OFF, off);
	vhdx_put_le32(e + VHDX_RGN_E_LENGTH_OFF, (uint32_t)len);
	vhdx_put_le32(e + VHDX_RGN_E_REQUIRED_OFF, VHDX_RGN_REQUIRED);
}

int vhdx_region_table_encode(const struct vhdx_plan *plan, void *buf, size_t len)
{
	size_t size = vhdx_region_table_size(plan);
	uint8_t *t = buf;
	uint32_t crc;

	if (len < size)
		return VHDX_ERR_NOSPACE;
	vhdx_mem_zero_(t, size);
	vhdx_mem_copy_(t + VHDX_RGN_SIG_OFF, VHDX_REGION_SIGNATURE, 4);
	vhdx_put_le32(t + VHDX_RGN_COUNT_OFF, 2);
	/* Windows lists the BAT first; both Required (QEMU wrote 0) */
	region_entry(t + VHDX_RGN_ENTRIES_OFF, &vhdx_guid_bat_region_, plan->bat_offset, plan->bat_length);
	region_entry(t + VHDX_RGN_ENTRIES_OFF + VHDX_RGN_ENTRY_SIZE, &vhdx_guid_metadata_region_, plan->meta_offset,
		     plan->meta_length);
	/* the checksum covers all 64 KiB; the part not encoded here is zero */
	crc = vhdx_crc32c(0, t, size);
	crc = vhdx_crc32c_zeros(crc, VHDX_REGION_TABLE_SIZE - size);
	vhdx_put_le32(t + VHDX_RGN_CHECKSUM_OFF, crc);
	return VHDX_OK;
}

/* --- 2.6 Metadata ------------------------------------------------------ */

size_t vhdx_meta_table_size(const struct vhdx_plan *plan)
{
	return VHDX_META_ENTRIES_OFF + (size_t)plan->meta_entry_count * VHDX_META_ENTRY_SIZE;
}

int vhdx_meta_table_encode(const struct vhdx_plan *plan, void *buf, size_t len)
{
	size_t size = vhdx_meta_table_size(plan);
	uint8_t *t = buf;
	uint32_t i;

	if (len < size)
		return VHDX_ERR_NOSPACE;
	vhdx_mem_zero_(t, size);
	vhdx_mem_copy_(t + VHDX_META_SIG_OFF, VHDX_META_SIGNATURE, 8);
	vhdx_put_le16(t + VHDX_META_COUNT_OFF, (uint16_t)plan->meta_entry_count);
	for (i = 0; i < plan->meta_entry_count; i++) {
		uint8_t *e = t + VHDX_META_ENTRIES_OFF + i * VHDX_META_ENTRY_SIZE;
		const struct vhdx_item_def_ *it = &vhdx_items_[i];

		/* the items are packed in table order: vhdx_meta_items_render_ */
		vhdx_mem_copy_(e + VHDX_META_E_ID_OFF, it->id.bytes, 16);
		vhdx_put_le32(e + VHDX_META_E_OFFSET_OFF, it->windows_offset);
		vhdx_put_le32(e + VHDX_META_E_LENGTH_OFF, it->length ? it->length : plan->locator_size);
		vhdx_put_le32(e + VHDX_META_E_FLAGS_OFF, it->flags);
	}
	return VHDX_OK;
}

/* Parent locator (2.6.2.6): header, entries, then strings packed key,
 * value, key, value (Hyper-V's order). */
static void emit_locator(struct vhdx_cursor_ *c, const struct vhdx_plan *plan)
{
	const struct vhdx_params *p = &plan->params;
	uint32_t str_off = VHDX_PL_HEADER_SIZE + VHDX_PL_ENTRY_SIZE * (uint32_t)p->parent_locator_count;
	size_t i;

	vhdx_emit_bytes_(c, vhdx_guid_locator_type_.bytes, 16);
	vhdx_emit_le16_(c, 0);
	vhdx_emit_le16_(c, (uint16_t)p->parent_locator_count);
	for (i = 0; i < p->parent_locator_count; i++) {
		uint32_t klen = 2 * (uint32_t)vhdx_emit_utf16_(NULL, p->parent_locator[i].key);
		uint32_t vlen = 2 * (uint32_t)vhdx_emit_utf16_(NULL, p->parent_locator[i].value);

		vhdx_emit_le32_(c, str_off);
		vhdx_emit_le32_(c, str_off + klen);
		vhdx_emit_le16_(c, (uint16_t)klen);
		vhdx_emit_le16_(c, (uint16_t)vlen);
		str_off += klen + vlen;
	}
	for (i = 0; i < p->parent_locator_count; i++) {
		vhdx_emit_utf16_(c, p->parent_locator[i].key);
		vhdx_emit_utf16_(c, p->parent_locator[i].value);
	}
}

void vhdx_meta_items_render_(const struct vhdx_plan *plan, uint64_t off, void *buf, size_t len)
{
	const struct vhdx_params *p = &plan->params;
	struct vhdx_cursor_ c;
	uint32_t fp_flags = 0;

	if (p->type == VHDX_TYPE_FIXED)
		fp_flags |= VHDX_FP_LEAVE_BLOCKS_ALLOCATED;
	if (p->type == VHDX_TYPE_DIFFERENCING)
		fp_flags |= VHDX_FP_HAS_PARENT;
	vhdx_mem_zero_(buf, len);
	cursor_init(&c, buf, off, len);
	vhdx_emit_le32_(&c, p->block_size);
	vhdx_emit_le32_(&c, fp_flags);
	vhdx_emit_le64_(&c, p->virtual_size);
	vhdx_emit_le32_(&c, p->logical_sector_size);
	vhdx_emit_le32_(&c, p->physical_sector_size);
	vhdx_emit_bytes_(&c, p->page83.bytes, 16);
	if (p->type == VHDX_TYPE_DIFFERENCING)
		emit_locator(&c, plan);
}

size_t vhdx_meta_items_size(const struct vhdx_plan *plan)
{
	return plan->meta_items_size;
}

int vhdx_meta_items_encode(const struct vhdx_plan *plan, void *buf, size_t len)
{
	if (len < plan->meta_items_size)
		return VHDX_ERR_NOSPACE;
	vhdx_meta_items_render_(plan, 0, buf, plan->meta_items_size);
	return VHDX_OK;
}

/* --- 2.5 BAT ----------------------------------------------------------- */

/* Entry of payload block b (b < P): fixed blocks lie contiguous from the
 * data offset; dynamic ones are absent or ZERO, always with offset 0
 * (Hyper-V cannot read a ZERO entry that carries one). */
static uint64_t payload_entry(const struct vhdx_plan *plan, uint64_t block)
{
	const struct vhdx_params *p = &plan->params;

	if (block >= plan->geom.payload_blocks)
		return 0;
	switch (p->type) {
	case VHDX_TYPE_FIXED:
		return (plan->data_offset + (block << plan->geom.block_shift)) | VHDX_PAYLOAD_FULLY_PRESENT;
	case VHDX_TYPE_DYNAMIC:
		return p->zero_blocks ? VHDX_PAYLOAD_ZERO : VHDX_PAYLOAD_NOT_PRESENT;
	default:
		return VHDX_PAYLOAD_NOT_PRESENT;
	}
}

uint64_t vhdx_bat_entry(const struct vhdx_plan *plan, uint64_t index)
{
	const struct vhdx_geometry *g = &plan->geom;
	uint32_t pos;
	uint64_t chunk = vhdx_geometry_chunk_of_(g, index, &pos);

	if (pos == g->chunk_ratio)
		return VHDX_SB_NOT_PRESENT; /* sector bitmaps: none in a new image */
	return payload_entry(plan, (chunk << g->chunk_shift) + pos);
}

int vhdx_bat_encode(const struct vhdx_plan *plan, uint64_t first, void *buf, size_t len)
{
	const struct vhdx_geometry *g = &plan->geom;
	uint8_t *out = buf;
	uint32_t pos;
	uint64_t chunk, block;
	size_t i;

	if (len % VHDX_BAT_ENTRY_SIZE)
		return VHDX_ERR_INVAL;
	chunk = vhdx_geometry_chunk_of_(g, first, &pos); /* once per window, not per entry */
	block = (chunk << g->chunk_shift) + pos;
	for (i = 0; i < len; i += VHDX_BAT_ENTRY_SIZE) {
		if (pos == g->chunk_ratio) {
			vhdx_put_le64(out + i, VHDX_SB_NOT_PRESENT);
			pos = 0;
			continue;
		}
		vhdx_put_le64(out + i, payload_entry(plan, block));
		block++;
		pos++;
	}
	return VHDX_OK;
}
