/* SPDX-License-Identifier: MIT */
/*
 * vhdx_open.c - the decoder: vhdx_disk_open reads the File Type
 * Identifier, the headers, the region tables and the metadata into a
 * small struct vhdx_disk, and refuses with one reason line what it cannot
 * trust; vhdx_disk_locator_get reads one parent locator value.  No
 * findings: the strict checker (vhdx_check*.c) is a layer above, sharing
 * the field parsers of vhdx_decode.c.
 *
 * Scratch while opening: a header or region table at +0 (the second
 * header at +64 KiB), then the metadata table at +0 and a read window
 * for the items from +64 KiB.
 */
#include "vhdx_decode.h"

struct opener {
	const struct vhdx_source *src;
	uint8_t *scratch;
	size_t scratch_len;
	struct vhdx_disk *d;
	struct vhdx_text why;
	struct vhdx_window_ win;  /* small reads, from scratch + 64 KiB */
};

/* Refusals: the reason as "a<n>b" (n decimal, or hex when @hex); returns err. */
static int refuse_n(struct opener *o, int err, const char *a, uint64_t n, bool hex, const char *b)
{
	vhdx_text_str(&o->why, a);
	if (hex)
		vhdx_text_hex(&o->why, n);
	else
		vhdx_text_u64(&o->why, n);
	vhdx_text_str(&o->why, b);
	return err;
}

static int refuse(struct opener *o, int err, const char *text)
{
	vhdx_text_str(&o->why, text);
	return err;
}

/* "header 2: " and the like: the place a reason is about. */
static void about(struct opener *o, const char *what, uint64_t n)
{
	vhdx_text_str(&o->why, what);
	vhdx_text_u64(&o->why, n);
	vhdx_text_str(&o->why, ": ");
}

static int file_identifier(struct opener *o)
{
	uint8_t sig[8];
	int err;

	err = vhdx_window_read_(&o->win, VHDX_FILE_ID_SIG_OFF, sig, sizeof(sig));
	if (err < 0)
		return err;
	if (err || !vhdx_mem_equal_(sig, VHDX_FILE_ID_SIGNATURE, 8))
		return refuse(o, VHDX_ERR_CORRUPT, "not a VHDX: no vhdxfile signature [2.2.1]");
	if (o->src->size < VHDX_HEADER_SECTION_SIZE)
		return refuse_n(o, VHDX_ERR_CORRUPT, "truncated: the file has ", o->src->size, false,
				" bytes, its header section needs 1 MiB [2.2]");
	return 0;
}

static const char *header_fault(const struct vhdx_info_header *h)
{
	return !h->signature_ok ? "signature" : "checksum";
}

static int headers(struct opener *o)
{
	struct vhdx_disk *d = o->d;
	struct vhdx_info_header h[2];
	const struct vhdx_info_header *cur;
	uint32_t crc;
	unsigned i;
	int err;

	for (i = 0; i < 2; i++) {
		uint8_t *p = o->scratch + i * VHDX_STRUCT_SLOT_SIZE;

		err = vhdx_source_read_(o->src, i ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET, p,
					VHDX_HEADER_SIZE);
		if (err)
			return err < 0 ? err : VHDX_ERR_CORRUPT; /* inside the first MiB: cannot be */
		vhdx_header_decode_(p, &h[i], &crc);
	}
	d->current_header = vhdx_header_current_(h);
	if (d->current_header < 0) {
		if (h[0].signature_ok == h[1].signature_ok) {
			vhdx_text_str(&o->why, "no valid header: both header ");
			vhdx_text_str(&o->why, header_fault(&h[0]));
			return refuse(o, VHDX_ERR_CORRUPT, h[0].signature_ok ? "s fail [2.2.2]" :
							 "s are wrong [2.2.2]");
		}
		vhdx_text_str(&o->why, "no valid header: header 1's ");
		vhdx_text_str(&o->why, header_fault(&h[0]));
		vhdx_text_str(&o->why, " and header 2's ");
		vhdx_text_str(&o->why, header_fault(&h[1]));
		return refuse(o, VHDX_ERR_CORRUPT, " are wrong [2.2.2]");
	}
	if (h[0].checksum_ok && h[1].checksum_ok && h[0].sequence == h[1].sequence &&
	    !vhdx_mem_equal_(o->scratch, o->scratch + VHDX_STRUCT_SLOT_SIZE, VHDX_HEADER_SIZE))
		return refuse_n(o, VHDX_ERR_CORRUPT, "headers 1 and 2 differ with the same sequence number ",
				h[0].sequence, false, ": the current one is undefined [2.2.2]");
	cur = &h[d->current_header];
	about(o, "header ", (uint64_t)d->current_header + 1);
	if (cur->version != VHDX_HEADER_VERSION)
		return refuse_n(o, VHDX_ERR_UNSUPPORTED, "Version ", cur->version, false, ", not 1 [2.2.2]");
	if (cur->log_version != VHDX_LOG_VERSION)
		return refuse_n(o, VHDX_ERR_UNSUPPORTED, "LogVersion ", cur->log_version, false,
				", not 0 [2.2.2]");
	if (!vhdx_log_aligned_(cur))
		return refuse_n(o, VHDX_ERR_CORRUPT, "the log at ", cur->log_offset, true,
				" is not placed on 1 MiB multiples from 1 MiB [2.2.2]");
	if (cur->log_length && !vhdx_inside_(cur->log_offset, cur->log_length, o->src->size))
		return refuse_n(o, VHDX_ERR_CORRUPT, "the log ends at ", cur->log_offset + cur->log_length,
				true, ", past the file end [2.2.2]");
	o->why.pos = 0;
	o->why.buf[0] = '\0';
	d->sequence = cur->sequence;
	vhdx_mem_copy_(&d->file_write_guid, &cur->file_write_guid, sizeof(d->file_write_guid));
	vhdx_mem_copy_(&d->data_write_guid, &cur->data_write_guid, sizeof(d->data_write_guid));
	vhdx_mem_copy_(&d->log_guid, &cur->log_guid, sizeof(d->log_guid));
	d->log_replay_needed = !vhdx_guid_is_zero(&cur->log_guid);
	d->log_offset = cur->log_offset;
	d->log_length = cur->log_length;
	return 0;
}

/* Reads region table @i into scratch; true when its signature and checksum hold. */
static int read_region_table(struct opener *o, unsigned i, bool *ret_ok)
{
	uint8_t *t = o->scratch;
	uint32_t crc;
	int err;

	err = vhdx_source_read_(o->src, i ? VHDX_REGION_TABLE2_OFFSET : VHDX_REGION_TABLE1_OFFSET, t,
				VHDX_REGION_TABLE_SIZE);
	if (err)
		return err < 0 ? err : VHDX_ERR_CORRUPT;
	*ret_ok = vhdx_mem_equal_(t + VHDX_RGN_SIG_OFF, VHDX_REGION_SIGNATURE, 4) &&
		  vhdx_checksum_ok_(t, VHDX_REGION_TABLE_SIZE, VHDX_RGN_CHECKSUM_OFF, &crc);
	return 0;
}

static int region_entry(struct opener *o, const struct vhdx_region_entry_ *r, uint32_t j)
{
	struct vhdx_disk *d = o->d;
	uint64_t *off = r->kind == VHDX_REGION_BAT_ ? &d->bat_offset : &d->meta_offset;
	uint32_t *len = r->kind == VHDX_REGION_BAT_ ? &d->bat_length : &d->meta_length;

	if (r->kind == VHDX_REGION_OTHER_) {
		if (!(r->required & VHDX_RGN_REQUIRED))
			return 0; /* optional and unknown: ignored [2.2.3.2] */
		about(o, "region table entry ", j);
		return refuse(o, VHDX_ERR_UNSUPPORTED, "an unknown region is marked Required [2.2.3.2]");
	}
	about(o, "region table entry ", j);
	vhdx_text_str(&o->why, r->kind == VHDX_REGION_BAT_ ? "the BAT region " : "the metadata region ");
	if (*len)
		return refuse(o, VHDX_ERR_CORRUPT, "is listed twice [2.2.3.2]");
	if (!vhdx_region_offset_ok_(r->offset) || !vhdx_region_length_ok_(r->length))
		return refuse_n(o, VHDX_ERR_CORRUPT, "at ", r->offset, true,
				" is not placed on 1 MiB multiples from 1 MiB [2.2.3.2]");
	if (!vhdx_inside_(r->offset, r->length, o->src->size))
		return refuse_n(o, VHDX_ERR_CORRUPT, "ends at ", r->offset + r->length, true,
				", outside the file [2.2.3.2]");
	if (vhdx_overlaps_(r->offset, r->length, d->log_offset, d->log_length))
		return refuse(o, VHDX_ERR_CORRUPT, "overlaps the log [2.1]");
	o->why.pos = 0;
	o->why.buf[0] = '\0';
	*off = r->offset;
	*len = r->length;
	return 0;
}

static int region_tables(struct opener *o)
{
	struct vhdx_disk *d = o->d;
	struct vhdx_region_entry_ r;
	uint32_t count, j;
	bool ok = false;
	int err;

	err = read_region_table(o, 0, &ok);
	if (!err && !ok) {
		d->region_table_used = 1; /* table 1 is damaged: its copy [2.2.3] */
		err = read_region_table(o, 1, &ok);
	}
	if (err)
		return err;
	if (!ok)
		return refuse(o, VHDX_ERR_CORRUPT,
			      "no valid region table: both fail their signature or checksum [2.2.3]");
	about(o, "region table ", (uint64_t)d->region_table_used + 1);
	count = vhdx_get_le32(o->scratch + VHDX_RGN_COUNT_OFF);
	if (count > VHDX_RGN_MAX_ENTRIES)
		return refuse_n(o, VHDX_ERR_CORRUPT, "EntryCount ", count, false, " is over 2047 [2.2.3.1]");
	o->why.pos = 0;
	o->why.buf[0] = '\0';
	for (j = 0; j < count; j++) {
		vhdx_region_entry_decode_(o->scratch, j, &r);
		err = region_entry(o, &r, j);
		if (err)
			return err;
	}
	if (!d->bat_length || !d->meta_length) {
		about(o, "region table ", (uint64_t)d->region_table_used + 1);
		return refuse(o, VHDX_ERR_CORRUPT, d->bat_length ? "no metadata region [2.2.3.2]" :
							    "no BAT region [2.2.3.2]");
	}
	if (vhdx_overlaps_(d->bat_offset, d->bat_length, d->meta_offset, d->meta_length))
		return refuse(o, VHDX_ERR_CORRUPT, "the BAT and metadata regions overlap [2.1]");
	return 0;
}

/* Reads the value of known item @kind (its entry @m, checked) into @v. */
static int item_value(struct opener *o, const struct vhdx_meta_entry_ *m, void *v)
{
	int err = vhdx_window_read_(&o->win, o->d->meta_offset + m->offset, v, m->length);

	return err > 0 ? VHDX_ERR_CORRUPT : err; /* inside the region, so inside the file */
}

/* The entry of known item @kind, checked against its definition [2.6.2]. */
static int known_entry(struct opener *o, const int32_t *pos, int kind, struct vhdx_meta_entry_ *m)
{
	const struct vhdx_item_def_ *def = &vhdx_items_[kind];

	if (pos[kind] < 0) {
		vhdx_text_str(&o->why, "missing required metadata item: ");
		vhdx_text_str(&o->why, def->name);
		return refuse(o, VHDX_ERR_CORRUPT, " [2.6.2]");
	}
	vhdx_meta_entry_decode_(o->scratch, (uint32_t)pos[kind], m);
	vhdx_text_str(&o->why, def->name);
	if (def->length && m->length != def->length)
		return refuse_n(o, VHDX_ERR_CORRUPT, " item: Length ", m->length, false,
				", not its defined length [2.6.2]");
	if (!m->length || !vhdx_meta_offset_ok_(m) || !vhdx_meta_inside_(m, o->d->meta_length))
		return refuse(o, VHDX_ERR_CORRUPT, " item: outside the metadata region [2.6.1.2]");
	o->why.pos = 0;
	o->why.buf[0] = '\0';
	return 0;
}

static int parent_locator(struct opener *o, const struct vhdx_meta_entry_ *m)
{
	struct vhdx_disk *d = o->d;
	uint64_t base = d->meta_offset + m->offset;
	uint8_t hdr[VHDX_PL_HEADER_SIZE], e[VHDX_PL_ENTRY_SIZE];
	struct vhdx_guid type;
	struct vhdx_pl_entry_ pl;
	uint32_t count, j;
	int err;

	if (m->length < VHDX_PL_HEADER_SIZE)
		return refuse(o, VHDX_ERR_CORRUPT, "the parent locator is shorter than its header [2.6.2.6.1]");
	err = vhdx_window_read_(&o->win, base, hdr, sizeof(hdr));
	if (err)
		return err > 0 ? VHDX_ERR_CORRUPT : err;
	vhdx_mem_copy_(&type, hdr, 16);
	if (!vhdx_guid_equal(&type, &vhdx_guid_locator_type_))
		return refuse(o, VHDX_ERR_UNSUPPORTED, "the parent locator is not of the VHDX type [2.6.2.6]");
	count = vhdx_get_le16(hdr + VHDX_PL_COUNT_OFF);
	if (VHDX_PL_HEADER_SIZE + (uint64_t)count * VHDX_PL_ENTRY_SIZE > m->length)
		return refuse_n(o, VHDX_ERR_CORRUPT, "the parent locator's ", count, false,
				" entries do not fit the item [2.6.2.6.1]");
	for (j = 0; j < count; j++) {
		err = vhdx_window_read_(&o->win, base + VHDX_PL_HEADER_SIZE + j * VHDX_PL_ENTRY_SIZE, e,
					sizeof(e));
		if (err)
			return err > 0 ? VHDX_ERR_CORRUPT : err;
		vhdx_pl_entry_decode_(e, &pl);
		if (!vhdx_pl_entry_ok_(&pl, m->length))
			return refuse_n(o, VHDX_ERR_CORRUPT, "parent locator entry ", j, false,
					": key or value empty, odd or outside the item [2.6.2.6.2]");
	}
	d->locator_offset = base;
	d->locator_length = m->length;
	d->locator_count = (uint16_t)count;
	return 0;
}

static int metadata(struct opener *o)
{
	struct vhdx_disk *d = o->d;
	struct vhdx_meta_entry_ m[VHDX_ITEM_COUNT_];
	int32_t pos[VHDX_ITEM_COUNT_];
	uint8_t v[16];
	uint32_t count, j, bs, lss;
	uint64_t vds;
	int err, k;

	err = vhdx_source_read_(o->src, d->meta_offset, o->scratch, VHDX_META_TABLE_SIZE);
	if (err)
		return err < 0 ? err : VHDX_ERR_CORRUPT; /* checked inside the file */
	if (!vhdx_mem_equal_(o->scratch + VHDX_META_SIG_OFF, VHDX_META_SIGNATURE, 8))
		return refuse(o, VHDX_ERR_CORRUPT, "metadata table: no \"metadata\" signature [2.6.1.1]");
	count = vhdx_get_le16(o->scratch + VHDX_META_COUNT_OFF);
	if (count > VHDX_META_MAX_ENTRIES)
		return refuse_n(o, VHDX_ERR_CORRUPT, "metadata table: EntryCount ", count, false,
				" is over 2047 [2.6.1.1]");
	for (j = 0; j < count; j++) {
		vhdx_meta_entry_decode_(o->scratch, j, &m[0]);
		if (m[0].kind < 0 && (m[0].flags & VHDX_META_IS_REQUIRED))
			return refuse_n(o, VHDX_ERR_UNSUPPORTED, "metadata entry ", j, false,
					": an unknown item is marked IsRequired [2.6.1.2]");
	}
	vhdx_meta_find_items_(o->scratch, count, pos);
	for (k = VHDX_ITEM_FP_; k <= VHDX_ITEM_PSS_; k++) {
		err = known_entry(o, pos, k, &m[k]);
		if (err)
			return err;
	}
	err = item_value(o, &m[VHDX_ITEM_FP_], v);
	if (err)
		return err;
	bs = vhdx_get_le32(v);
	d->file_parameters_flags = vhdx_get_le32(v + 4);
	if (!vhdx_block_size_ok_(bs))
		return refuse_n(o, VHDX_ERR_CORRUPT, "BlockSize ", bs, false,
				" is not a power of two from 1 MiB to 256 MiB [2.6.2.1]");
	if (d->file_parameters_flags & ~(uint32_t)VHDX_FP_FLAGS_KNOWN)
		return refuse_n(o, VHDX_ERR_UNSUPPORTED, "File Parameters flags ", d->file_parameters_flags,
				true, " have reserved bits set [2.6.2.1]");
	d->type = vhdx_type_of_flags_(d->file_parameters_flags);
	err = item_value(o, &m[VHDX_ITEM_LSS_], v);
	if (err)
		return err;
	lss = vhdx_get_le32(v);
	if (!vhdx_sector_size_ok_(lss))
		return refuse_n(o, VHDX_ERR_CORRUPT, "LogicalSectorSize ", lss, false, ", not 512 or 4096 [2.6.2.4]");
	err = item_value(o, &m[VHDX_ITEM_PSS_], v);
	if (err)
		return err;
	d->physical_sector_size = vhdx_get_le32(v);
	if (!vhdx_sector_size_ok_(d->physical_sector_size))
		return refuse_n(o, VHDX_ERR_CORRUPT, "PhysicalSectorSize ", d->physical_sector_size, false,
				", not 512 or 4096 [2.6.2.5]");
	err = item_value(o, &m[VHDX_ITEM_VDS_], v);
	if (err)
		return err;
	vds = vhdx_get_le64(v);
	if (!vhdx_virtual_size_ok_(vds))
		return refuse_n(o, VHDX_ERR_CORRUPT, "VirtualDiskSize ", vds, false,
				" is not from 1 byte to 64 TiB [2.6.2.2]");
	if (vds & (lss - 1))
		return refuse_n(o, VHDX_ERR_CORRUPT, "VirtualDiskSize ", vds, false,
				" is not a multiple of the logical sector size [2.6.2.2]");
	err = vhdx_geometry_init(&d->geom, vds, bs, lss, d->type == VHDX_TYPE_DIFFERENCING);
	VHDX_ASSERT(err == VHDX_OK); /* every value was checked above */
	if (err)
		return refuse(o, VHDX_ERR_CORRUPT, "geometry [2.6.2]");
	/* the Page 83 ID is required too, but a disk without it still reads */
	if (pos[VHDX_ITEM_PAGE83_] >= 0) {
		err = known_entry(o, pos, VHDX_ITEM_PAGE83_, &m[VHDX_ITEM_PAGE83_]);
		if (!err)
			err = item_value(o, &m[VHDX_ITEM_PAGE83_], &d->page83);
		if (err)
			return err;
		d->has_page83 = true;
	}
	if (d->type == VHDX_TYPE_DIFFERENCING) {
		if (pos[VHDX_ITEM_PL_] < 0)
			return refuse(o, VHDX_ERR_CORRUPT,
				      "HasParent is set but there is no parent locator [2.6.2.1, 2.6.2.6]");
		err = known_entry(o, pos, VHDX_ITEM_PL_, &m[VHDX_ITEM_PL_]);
		if (!err)
			err = parent_locator(o, &m[VHDX_ITEM_PL_]);
		if (err)
			return err;
	}
	if (d->bat_length / VHDX_BAT_ENTRY_SIZE < d->geom.bat_entries)
		return refuse_n(o, VHDX_ERR_CORRUPT, "the BAT region cannot hold the disk's ",
				d->geom.bat_entries, false, " entries [2.5]");
	return 0;
}

int vhdx_disk_open(struct vhdx_disk *ret, const struct vhdx_source *src, void *scratch,
		   size_t scratch_len, char *why, size_t why_len)
{
	struct vhdx_disk d;
	struct opener o;
	char none[1];
	int err;

	if (!why || !why_len) {
		why = none;
		why_len = sizeof(none);
	}
	why[0] = '\0';
	if (!ret || !src || !src->read || !scratch || scratch_len < VHDX_OPEN_SCRATCH_MIN)
		return VHDX_ERR_INVAL;
	vhdx_mem_zero_(&d, sizeof(d));
	vhdx_mem_zero_(&o, sizeof(o));
	o.src = src;
	o.scratch = scratch;
	o.scratch_len = scratch_len;
	o.d = &d;
	vhdx_text_init(&o.why, why, why_len);
	/* small reads: at most 64 KiB of window after the 64 KiB table */
	vhdx_window_init_(&o.win, src, o.scratch + VHDX_META_TABLE_SIZE,
			  (scratch_len - VHDX_META_TABLE_SIZE < VHDX_META_TABLE_SIZE ?
				   scratch_len - VHDX_META_TABLE_SIZE : VHDX_META_TABLE_SIZE) &
				  ~(size_t)(VHDX_IO_ALIGN - 1));
	d.file_size = src->size;
	err = file_identifier(&o);
	if (!err)
		err = headers(&o);
	if (!err)
		err = region_tables(&o);
	if (!err)
		err = metadata(&o);
	if (err) {
		if (err == VHDX_ERR_IO) {
			o.why.pos = 0;
			refuse(&o, err, "a read failed");
		}
		return err;
	}
	vhdx_mem_copy_(ret, &d, sizeof(d));
	return VHDX_OK;
}

/* The key of locator entry @e equals ASCII @key (UTF-16 code units). */
static int key_is(struct vhdx_window_ *w, uint64_t at, uint16_t len, const char *key, bool *ret)
{
	size_t n = vhdx_str_len_(key), i;
	uint8_t u[64];
	int err;

	*ret = false;
	if (len != 2 * n)
		return 0;
	for (i = 0; i < n; i += sizeof(u) / 2) {
		size_t k = n - i < sizeof(u) / 2 ? n - i : sizeof(u) / 2, m;

		err = vhdx_window_read_(w, at + 2 * i, u, 2 * k);
		if (err)
			return err > 0 ? VHDX_ERR_CORRUPT : err;
		for (m = 0; m < k; m++)
			if (vhdx_get_le16(u + 2 * m) != (uint8_t)key[i + m] || (uint8_t)key[i + m] >= 0x80)
				return 0;
	}
	*ret = true;
	return 0;
}

/* The UTF-16LE value at @at, @len bytes, as UTF-8 in @buf. */
static int value_text(struct vhdx_window_ *w, uint64_t at, uint16_t len, char *buf, size_t buf_len)
{
	struct vhdx_text t;
	uint8_t u[512];
	size_t done = 0;
	int err;

	vhdx_text_init(&t, buf, buf_len);
	while (done < len) {
		size_t k = len - done < sizeof(u) ? len - done : sizeof(u);

		err = vhdx_window_read_(w, at + done, u, k);
		if (err)
			return err > 0 ? VHDX_ERR_CORRUPT : err;
		/* a surrogate pair is never split between two pieces */
		if (done + k < len && k >= 2) {
			uint16_t last = vhdx_get_le16(u + k - 2);

			if (last >= 0xD800 && last <= 0xDBFF)
				k -= 2;
		}
		if (!vhdx_utf16_to_text_(&t, u, k)) {
			buf[0] = '\0';
			return VHDX_ERR_NOSPACE;
		}
		done += k;
	}
	return 0;
}

int vhdx_disk_locator_get(const struct vhdx_disk *d, const struct vhdx_source *src,
			  const char *key, char *buf, size_t len, void *scratch, size_t scratch_len)
{
	struct vhdx_window_ w;
	struct vhdx_pl_entry_ pl;
	uint8_t hdr[VHDX_PL_HEADER_SIZE], e[VHDX_PL_ENTRY_SIZE];
	uint64_t base;
	uint32_t count, j;
	bool match;
	int err;

	if (!d || !src || !src->read || !key || !buf || !scratch || scratch_len < VHDX_IO_ALIGN)
		return VHDX_ERR_INVAL;
	if (!len)
		return VHDX_ERR_NOSPACE;
	buf[0] = '\0';
	if (!d->locator_offset)
		return VHDX_ERR_RANGE;
	base = d->locator_offset;
	vhdx_window_init_(&w, src, scratch, scratch_len & ~(size_t)(VHDX_IO_ALIGN - 1));
	if (d->locator_length < VHDX_PL_HEADER_SIZE)
		return VHDX_ERR_CORRUPT;
	err = vhdx_window_read_(&w, base, hdr, sizeof(hdr));
	if (err)
		return err > 0 ? VHDX_ERR_CORRUPT : err;
	count = vhdx_get_le16(hdr + VHDX_PL_COUNT_OFF);
	if (VHDX_PL_HEADER_SIZE + (uint64_t)count * VHDX_PL_ENTRY_SIZE > d->locator_length)
		return VHDX_ERR_CORRUPT;
	for (j = 0; j < count; j++) {
		err = vhdx_window_read_(&w, base + VHDX_PL_HEADER_SIZE + j * VHDX_PL_ENTRY_SIZE, e, sizeof(e));
		if (err)
			return err > 0 ? VHDX_ERR_CORRUPT : err;
		vhdx_pl_entry_decode_(e, &pl);
		if (!vhdx_pl_entry_ok_(&pl, d->locator_length))
			return VHDX_ERR_CORRUPT;
		err = key_is(&w, base + pl.key_offset, pl.key_length, key, &match);
		if (err)
			return err;
		if (match)
			return value_text(&w, base + pl.value_offset, pl.value_length, buf, len);
	}
	return VHDX_ERR_RANGE;
}
