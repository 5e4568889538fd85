/* SPDX-License-Identifier: MIT */
/*
 * vhdx_check_bat.c - the checker's BAT walk [2.5]: states per disk type,
 * reserved bits, placement of every allocated block, and overlaps, in
 * constant memory; then what follows the image.
 *
 * A log that needs replay [2.3] may hold a newer BAT than the one on
 * disk: unless the source reads through the log (log_applied), every
 * finding of the walk would describe the image before replay, so they are
 * withheld and counted in one warning (log.withheld), and the counts say
 * they come from the BAT on disk (info->bat_before_replay).
 *
 * On a block device (source is_device) what follows the image up to the
 * device's end is the device's: no file.trailing, info->structures_end
 * says where the image ends.
 *
 * Overlap of blocks with each other: the first pass notes whether the
 * allocated blocks, in BAT order, have ascending, disjoint file ranges
 * (what every writer we know produces for fixed images and for dynamic
 * images written front to back).  Then no two blocks overlap, and nothing
 * more is needed.  Otherwise the second half of the scratch buffer becomes
 * a bitmap of 1 MiB units (every block offset and size is a multiple of
 * 1 MiB) covering a window of the allocated file range; one pass over the
 * BAT per window marks each block's units and reports a block whose unit
 * is already marked.  Cost: ceil(range / (bits * 1 MiB)) passes, each
 * reading the BAT once; with a 128 KiB scratch one pass covers 512 GiB of
 * file, with VHDX_CHECK_SCRATCH_ONE_PASS all of a 64 TiB image.  Sound (no
 * overlap is missed), bounded, and no sorting or per-block memory.
 */
#include "vhdx_check_internal.h"

struct span {
	uint64_t start, len;   /* [byte] */
	const char *name;
};

struct bat_walk {
	struct rd_ctx *c;
	uint64_t entries;      /* entries walked */
	uint8_t *win;
	size_t win_entries;
	uint8_t *bitmap;       /* NULL in the first pass */
	uint64_t bits;         /* [MiB units] of the bitmap */
	uint64_t base;         /* [MiB] unit of bit 0 */
	struct span fixed[3 + VHDX_INFO_MAX_REGIONS];
	unsigned nfixed;
	uint64_t prev_end;
	bool ascending;
};

static void bat_where(struct rd_ctx *c, uint64_t idx, bool bitmap, uint64_t n)
{
	struct vhdx_text t;

	vhdx_text_init(&t, c->where, sizeof(c->where));
	vhdx_text_str(&t, "BAT entry ");
	vhdx_text_u64(&t, idx);
	vhdx_text_str(&t, bitmap ? " (sector bitmap of chunk " : " (block ");
	vhdx_text_u64(&t, n);
	vhdx_text_str(&t, ")");
}

/* A finding about one BAT entry; its text only while the rule is listed. */
static void bad_entry(struct rd_ctx *c, enum vhdx_rule rule, uint64_t idx, bool bitmap, uint64_t n,
		      uint64_t e, uint64_t eoff)
{
	if (rd_listing_(c, rule)) {
		bat_where(c, idx, bitmap, n);
		rd_found_(c, "entry ", e, true);
		rd_found_more_(c, ", state ", e & VHDX_BAT_STATE_MASK, false);
	}
	rd_report_(c, rule, eoff);
}

/* Placement of one allocated block [start, start+len). */
static void place(struct bat_walk *w, uint64_t idx, bool bitmap, uint64_t n, uint64_t eoff,
		  uint64_t start, uint64_t len)
{
	struct rd_ctx *c = w->c;
	struct vhdx_info *info = c->info;
	uint64_t end = start > UINT64_MAX - len ? UINT64_MAX : start + len;
	unsigned i;

	if (w->bitmap) {
		uint64_t u = start >> 20, ue = end >> 20;

		if (u < w->base)
			u = w->base;
		if (ue > w->base + w->bits)
			ue = w->base + w->bits;
		for (; u < ue; u++) {
			uint64_t b = u - w->base;
			uint8_t m = (uint8_t)(1u << (b & 7));

			if (w->bitmap[b >> 3] & m) {
				if (rd_listing_(c, VHDX_R_BAT_OVERLAP)) {
					bat_where(c, idx, bitmap, n);
					rd_found_(c, "block at ", start, true);
					rd_found_more_(c, " shares MiB ", u << 20, true);
					rd_found_str_(c, " with an earlier block", false);
				}
				rd_report_(c, VHDX_R_BAT_OVERLAP, eoff);
				return;
			}
			w->bitmap[b >> 3] |= m;
		}
		return;
	}
	if (end > info->file_size) {
		if (rd_listing_(c, VHDX_R_BAT_OUTSIDE)) {
			bat_where(c, idx, bitmap, n);
			rd_found_(c, "block ends at ", end, true);
			rd_found_more_(c, ", file ends at ", info->file_size, true);
		}
		rd_report_(c, VHDX_R_BAT_OUTSIDE, eoff);
	}
	for (i = 0; i < w->nfixed; i++) {
		const struct span *s = &w->fixed[i];

		if (s->len && start < s->start + s->len && s->start < end) {
			if (rd_listing_(c, VHDX_R_BAT_OVERLAP_STRUCT)) {
				bat_where(c, idx, bitmap, n);
				rd_found_(c, "block at ", start, true);
				rd_found_str_(c, " overlaps ", false);
				rd_found_str_(c, s->name, false);
				rd_found_more_(c, " at ", s->start, true);
			}
			rd_report_(c, VHDX_R_BAT_OVERLAP_STRUCT, eoff);
			break;
		}
	}
	if (!info->data_end || start < info->data_start)
		info->data_start = start;
	if (end > info->data_end)
		info->data_end = end;
	if (start < w->prev_end)
		w->ascending = false;
	w->prev_end = end;
}

/* Checks one entry in the first pass; places allocated ones in either pass. */
static void entry(struct bat_walk *w, uint64_t idx, uint64_t e, bool bitmap, uint64_t n,
		  bool *chunk_partial)
{
	struct rd_ctx *c = w->c;
	struct vhdx_info *info = c->info;
	uint64_t eoff = info->bat_offset + idx * VHDX_BAT_ENTRY_SIZE;
	unsigned state = (unsigned)(e & VHDX_BAT_STATE_MASK);
	uint64_t off = (e >> VHDX_BAT_OFFSET_SHIFT) << 20;
	bool diff = info->type == VHDX_TYPE_DIFFERENCING;
	bool first = !w->bitmap;

	if (!bitmap && n >= info->geom.payload_blocks) {
		/* differencing: entries of the last chunk past the disk end */
		if (first && e)
			bad_entry(c, VHDX_R_BAT_BEYOND_DISK, idx, bitmap, n, e, eoff);
		return;
	}
	if (first) {
		if (e & VHDX_BAT_RESERVED_MASK)
			bad_entry(c, VHDX_R_BAT_RESERVED, idx, bitmap, n, e, eoff);
		if (bitmap)
			info->bitmap_states[state]++;
		else
			info->payload_states[state]++;
	}
	if (bitmap) {
		bool bad = state != VHDX_SB_NOT_PRESENT && !(diff && state == VHDX_SB_PRESENT);

		if (first) {
			if (bad)
				bad_entry(c, VHDX_R_BAT_SB_STATE, idx, bitmap, n, e, eoff);
			if (state == VHDX_SB_NOT_PRESENT && off)
				bad_entry(c, VHDX_R_BAT_OFFSET_RESERVED, idx, bitmap, n, e, eoff);
			if (*chunk_partial && state != VHDX_SB_PRESENT)
				bad_entry(c, VHDX_R_BAT_SB_MISSING, idx, bitmap, n, e, eoff);
		}
		*chunk_partial = false;
		if (state == VHDX_SB_PRESENT)
			place(w, idx, bitmap, n, eoff, off, VHDX_MiB);
		return;
	}
	if (first) {
		if (state == 4 || state == 5 || (state == VHDX_PAYLOAD_PARTIALLY_PRESENT && !diff))
			bad_entry(c, VHDX_R_BAT_STATE, idx, bitmap, n, e, eoff); else if (info->type == VHDX_TYPE_FIXED && state <= VHDX_PAYLOAD_UNMAPPED)
			bad_entry(c, VHDX_R_BAT_STATE_FIXED, idx, bitmap, n, e, eoff);
		if ((state == VHDX_PAYLOAD_NOT_PRESENT || state == VHDX_PAYLOAD_ZERO) && off)
			bad_entry(c, VHDX_R_BAT_OFFSET_RESERVED, idx, bitmap, n, e, eoff);
	}
	if (state == VHDX_PAYLOAD_PARTIALLY_PRESENT)
		*chunk_partial = true;
	if (state == VHDX_PAYLOAD_FULLY_PRESENT || state == VHDX_PAYLOAD_PARTIALLY_PRESENT)
		place(w, idx, bitmap, n, eoff, off, info->block_size);
}

static int pass(struct bat_walk *w)
{
	struct rd_ctx *c = w->c;
	struct vhdx_info *info = c->info;
	uint64_t idx = 0, block = 0, chunk = 0, off, len;
	uint32_t in_chunk = 0;
	bool chunk_partial = false;
	int err;

	while (idx < w->entries) {
		uint64_t n = w->entries - idx;
		size_t k;

		if (n > w->win_entries)
			n = w->win_entries;
		off = info->bat_offset + idx * VHDX_BAT_ENTRY_SIZE;
		len = VHDX_ALIGN_UP(n * VHDX_BAT_ENTRY_SIZE, VHDX_IO_ALIGN);
		if (len > info->file_size - off)
			len = info->file_size - off; /* entries end inside the file (rd_bat_) */
		err = rd_read_(c, off, w->win, (size_t)len);
		if (err)
			return err < 0 ? err : 1;
		for (k = 0; k < n; k++, idx++) {
			uint64_t e = vhdx_get_le64(w->win + k * VHDX_BAT_ENTRY_SIZE);

			if (in_chunk == info->geom.chunk_ratio) {
				entry(w, idx, e, true, chunk, &chunk_partial);
				in_chunk = 0;
				chunk++;
			} else {
				entry(w, idx, e, false, block, &chunk_partial);
				in_chunk++;
				block++;
			}
		}
	}
	return 0;
}

static void add_span(struct bat_walk *w, uint64_t start, uint64_t len, const char *name)
{
	if (w->nfixed < VHDX_ARRAY_SIZE(w->fixed)) {
		w->fixed[w->nfixed].start = start;
		w->fixed[w->nfixed].len = len;
		w->fixed[w->nfixed].name = name;
		w->nfixed++;
	}
}

static void trailing(struct rd_ctx *c)
{
	struct vhdx_info *info = c->info;
	uint64_t end = VHDX_HEADER_SECTION_SIZE;
	unsigned i;

	if (info->current_header >= 0) {
		const struct vhdx_info_header *h = &info->header[info->current_header];

		if (h->log_offset + h->log_length > end && h->log_offset + h->log_length <= info->file_size)
			end = h->log_offset + h->log_length;
	}
	for (i = 0; i < info->region_count && i < VHDX_INFO_MAX_REGIONS; i++) {
		uint64_t e = info->regions[i].offset + info->regions[i].length;

		if (e > end && e <= info->file_size)
			end = e;
	}
	if (info->data_end > end)
		end = info->data_end;
	info->structures_end = end;
	if (info->file_size > end && !c->src->is_device) {
		rd_where_(c, "file end", UINT64_MAX, "");
		rd_found_(c, "", info->file_size - end, false);
		rd_found_str_(c, " bytes after ", false);
		rd_found_more_(c, "", end, true);
		rd_report_(c, VHDX_R_FILE_TRAILING, end);
	}
}

static int walk(struct rd_ctx *c)
{
	struct vhdx_info *info = c->info;
	struct bat_walk w;
	uint64_t have, lo, hi;
	size_t half = (c->scratch_len / 2) & ~(size_t)(VHDX_IO_ALIGN - 1);
	unsigned i;
	int err;

	if (!info->geometry_ok || !info->bat_offset) {
		trailing(c);
		return 1;
	}
	vhdx_mem_zero_(&w, sizeof(w));
	w.c = c;
	w.win = c->scratch;
	w.win_entries = half / VHDX_BAT_ENTRY_SIZE;
	w.ascending = true;
	w.entries = info->geom.bat_entries;
	have = info->bat_length / VHDX_BAT_ENTRY_SIZE;
	if (w.entries > have) {
		rd_where_(c, "BAT region", UINT64_MAX, "");
		rd_found_(c, "", info->bat_length, false);
		rd_found_more_(c, " bytes for ", info->geom.bat_entries, false);
		rd_found_str_(c, " entries", false);
		rd_report_(c, VHDX_R_BAT_REGION_SIZE, info->bat_offset);
		w.entries = have;
	}
	if (info->bat_offset > info->file_size)
		w.entries = 0;
	else if (w.entries > (info->file_size - info->bat_offset) / VHDX_BAT_ENTRY_SIZE)
		w.entries = (info->file_size - info->bat_offset) / VHDX_BAT_ENTRY_SIZE;

	add_span(&w, 0, VHDX_HEADER_SECTION_SIZE, "the header section");
	if (info->current_header >= 0)
		add_span(&w, info->header[info->current_header].log_offset,
			 info->header[info->current_header].log_length, "the log");
	for (i = 0; i < info->region_count && i < VHDX_INFO_MAX_REGIONS; i++) {
		const char *name = vhdx_region_name(&info->regions[i].guid);

		add_span(&w, info->regions[i].offset, info->regions[i].length,
			 !name ? "a region" : name[0] == 'B' ? "the BAT" : "the metadata region");
	}

	err = pass(&w);
	if (err)
		return err;
	info->bat_walked = true;
	info->overlap_fast_path = w.ascending;
	if (!w.ascending) {
		w.bitmap = c->scratch + half;
		w.bits = (uint64_t)half * 8;
		/* blocks past the file end were reported; overlaps matter inside it */
		lo = info->data_start >> 20;
		hi = VHDX_ALIGN_UP(info->data_end < info->file_size ? info->data_end : info->file_size,
				   VHDX_MiB) >> 20;
		for (w.base = lo; w.base < hi; w.base += w.bits) {
			vhdx_mem_zero_(w.bitmap, half);
			info->overlap_passes++;
			err = pass(&w);
			if (err)
				return err;
		}
	}
	trailing(c);
	return 0;
}

int rd_bat_(struct rd_ctx *c)
{
	bool stale = c->info->log_replay_needed && !c->src->log_applied;
	int err;

	c->info->bat_before_replay = stale;
	if (stale)
		rd_withhold_(c, true);
	err = walk(c);
	if (stale && err >= 0)
		rd_withhold_(c, false); /* one warning for what was withheld */
	c->withhold = false;
	return err;
}
