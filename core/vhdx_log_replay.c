/* SPDX-License-Identifier: MIT */
/*
 * vhdx_log_replay.c - the log [2.3], third of its three units: replay in
 * place through a sink (vhdx_log_replay): every descriptor of the active
 * sequence applied in order, the file extended to LastFileOffset, then
 * both headers rewritten without the LogGuid, each write flushed in the
 * order that keeps a cut replay replayable [2.3.3].
 */
#include "vhdx_log_internal.h"

/* --- replay ---------------------------------------------------------- */

struct replay_ {
	const struct vhdx_source *src;
	const struct vhdx_sink *sink;
	const struct vhdx_log *log;
	uint8_t *data;          /* 4 KiB: a data sector */
	uint8_t *zeros;         /* zeroed lazily */
	size_t zeros_len;       /* [byte] multiple of 4 KiB */
	bool zeros_ready;
	bool zero_unsupported;  /* the sink's zero() said UNSUPPORTED once */
};

/* [off, off+len) reads as zeros: the sink's zero() in chunks, else writes. */
static int replay_zero(struct replay_ *rp, uint64_t off, uint64_t len)
{
	int err;

	while (len) {
		uint64_t n = len < VHDX_ZERO_CHUNK ? len : VHDX_ZERO_CHUNK;

		err = VHDX_ERR_UNSUPPORTED;
		if (!rp->zero_unsupported) {
			err = vhdx_dev_zero_(rp->sink, off, n);
			if (err == VHDX_ERR_UNSUPPORTED)
				rp->zero_unsupported = true;
			else if (err)
				return err;
		}
		if (err == VHDX_ERR_UNSUPPORTED) {
			if (!rp->zeros_ready) {
				vhdx_mem_zero_(rp->zeros, rp->zeros_len);
				rp->zeros_ready = true;
			}
			if (n > rp->zeros_len)
				n = rp->zeros_len;
			if ((err = vhdx_dev_write_(rp->sink, off, rp->zeros, (size_t)n)))
				return err;
		}
		off += n;
		len -= n;
	}
	return VHDX_OK;
}

static int replay_desc(void *ctx, const struct desc_ *d)
{
	struct replay_ *rp = ctx;
	int err;

	if (d->zero)
		return d->length ? replay_zero(rp, d->file_offset, d->length) : VHDX_OK;
	if ((err = vhdx_dev_read_(rp->src, rp->log->log_offset + d->data_pos, rp->data, LOG_SECTOR)))
		return err;
	vhdx_log_restore_(rp->data, d);
	return vhdx_dev_write_(rp->sink, d->file_offset, rp->data, LOG_SECTOR);
}

/* The file grows from @from to @to (a multiple of 4 KiB): the bytes of a
 * partial last sector kept, its rest zeroed, and one zero sector written
 * at the new end.  What lies between is past the old end of the file and
 * reads as zeros (POSIX; UEFI's file protocol grows a file on a write past
 * its end): a sparse extension, nothing allocated that nothing writes. */
static int replay_extend(struct replay_ *rp, uint64_t from, uint64_t to)
{
	uint64_t a = from & ~LOG_SECTOR_MASK;
	int err;

	if (a != from) {
		if ((err = vhdx_dev_read_(rp->src, a, rp->data, (size_t)(from - a))))
			return err;
		vhdx_mem_zero_(rp->data + (from - a), (size_t)(LOG_SECTOR - (from - a)));
		if ((err = vhdx_dev_write_(rp->sink, a, rp->data, LOG_SECTOR)))
			return err;
		from = a + LOG_SECTOR;
	}
	if (to <= from)
		return VHDX_OK;
	vhdx_mem_zero_(rp->data, LOG_SECTOR);
	return vhdx_dev_write_(rp->sink, to - LOG_SECTOR, rp->data, LOG_SECTOR);
}

/* The signature and the checksum [2.2.2], by the decoder's rules. */
static bool header_valid(const uint8_t *h)
{
	uint32_t crc;

	return vhdx_mem_equal_(h, VHDX_HEADER_SIGNATURE, 4) &&
	       vhdx_checksum_ok_(h, VHDX_HEADER_SIZE, VHDX_HDR_CHECKSUM_OFF, &crc);
}

/* @h as written by replay: the same fields but SequenceNumber, FileWriteGuid, LogGuid zero [2.2.2]. */
static void header_clean(uint8_t *h, uint64_t sequence, const struct vhdx_guid *file_write_guid)
{
	vhdx_put_le64(h + VHDX_HDR_SEQUENCE_OFF, sequence);
	vhdx_mem_copy_(h + VHDX_HDR_FILE_WRITE_OFF, file_write_guid->bytes, 16);
	uint32_t crc;

	vhdx_mem_zero_(h + VHDX_HDR_LOG_GUID_OFF, 16);
	vhdx_checksum_ok_(h, VHDX_HEADER_SIZE, VHDX_HDR_CHECKSUM_OFF, &crc);
	vhdx_put_le32(h + VHDX_HDR_CHECKSUM_OFF, crc);
}

/* The state only a replay cut between its two header writes leaves: @cur
 * clean, @other valid, one sequence number below, still naming a log,
 * and otherwise the same header. */
static bool header_half_done(const uint8_t *cur, const uint8_t *other)
{
	return header_valid(other) && vhdx_guid_is_zero((const struct vhdx_guid *)(cur + VHDX_HDR_LOG_GUID_OFF)) &&
	       !vhdx_guid_is_zero((const struct vhdx_guid *)(other + VHDX_HDR_LOG_GUID_OFF)) &&
	       vhdx_get_le64(other + VHDX_HDR_SEQUENCE_OFF) + 1 == vhdx_get_le64(cur + VHDX_HDR_SEQUENCE_OFF) &&
	       vhdx_guid_bytes_equal_(cur + VHDX_HDR_DATA_WRITE_OFF, other + VHDX_HDR_DATA_WRITE_OFF) &&
	       vhdx_mem_equal_(cur + VHDX_HDR_LOG_VERSION_OFF, other + VHDX_HDR_LOG_VERSION_OFF,
			       VHDX_HEADER_SIZE - VHDX_HDR_LOG_VERSION_OFF);
}

static uint64_t header_offset(int which)
{
	return which ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET;
}

int vhdx_log_replay(const struct vhdx_disk *d, const struct vhdx_source *src, const struct vhdx_sink *sink,
		    const struct vhdx_guid *file_write_guid, bool dry_run, void *scratch, size_t scratch_len,
		    struct vhdx_replay_stats *ret_stats, char *why, size_t why_len)
{
	struct vhdx_replay_stats st;
	struct vhdx_log log;
	struct replay_ rp;
	struct ring_ r;
	uint8_t *s = scratch, *hdr[2];
	uint64_t zeroed, seq, new_end = 0;
	int cur, other, err;

	if (why && why_len)
		why[0] = '\0';
	if (!d || !src || !src->read || !file_write_guid || !scratch || scratch_len < VHDX_LOG_SCRATCH_MIN ||
	    (!dry_run && (!sink || !sink->write || !VHDX_IS_POW2(sink->block_size) ||
			  sink->block_size > LOG_SECTOR)) ||
	    (d->current_header != 0 && d->current_header != 1))
		return vhdx_log_fail_(why, why_len, VHDX_ERR_INVAL,
			    "NULL argument, scratch below VHDX_LOG_SCRATCH_MIN or a sink block size above 4 KiB",
			    false, 0, NULL);
	vhdx_mem_zero_(&st, sizeof(st));
	cur = d->current_header;
	other = 1 - cur;
	hdr[cur] = s;
	hdr[other] = s + LOG_SECTOR;
	if (src->size < VHDX_HEADER2_OFFSET + VHDX_HEADER_SIZE)
		return vhdx_log_fail_(why, why_len, VHDX_ERR_CORRUPT, "the file ends before header 2", false, 0, NULL);
	if ((err = vhdx_dev_read_(src, header_offset(cur), hdr[cur], VHDX_HEADER_SIZE)) ||
	    (err = vhdx_dev_read_(src, header_offset(other), hdr[other], VHDX_HEADER_SIZE)))
		return err;
	if (!header_valid(hdr[cur]) || vhdx_get_le64(hdr[cur] + VHDX_HDR_SEQUENCE_OFF) != d->sequence ||
	    !vhdx_guid_bytes_equal_(hdr[cur] + VHDX_HDR_LOG_GUID_OFF, d->log_guid.bytes))
		return vhdx_log_fail_(why, why_len, VHDX_ERR_CORRUPT, "the current header is not the one the disk was opened with",
			    false, 0, NULL);
	seq = d->sequence;

	if ((err = vhdx_log_find_(&log, d, src, s + 2 * LOG_SECTOR, scratch_len - 2 * LOG_SECTOR, why, why_len, &zeroed)))
		return err;
	if (log.guid_unused) {
		/* nothing to apply: the headers as a replay leaves them */
		if (seq > UINT64_MAX - 2)
			return vhdx_log_fail_(why, why_len, VHDX_ERR_CORRUPT, "header sequence number at its maximum", false, 0,
				    NULL);
		st.guid_unused = true;
		st.headers = 2;
		vhdx_mem_copy_(hdr[other], hdr[cur], VHDX_HEADER_SIZE);
		header_clean(hdr[other], seq + 1, file_write_guid);
		header_clean(hdr[cur], seq + 2, file_write_guid);
		if (!dry_run && ((err = vhdx_dev_write_(sink, header_offset(other), hdr[other], VHDX_HEADER_SIZE)) ||
				 (err = vhdx_dev_flush_(sink)) ||
				 (err = vhdx_dev_write_(sink, header_offset(cur), hdr[cur], VHDX_HEADER_SIZE)) ||
				 (err = vhdx_dev_flush_(sink))))
			return err;
		if (ret_stats)
			vhdx_mem_copy_(ret_stats, &st, sizeof(st));
		return VHDX_OK;
	}
	if (!log.active) {
		/* a replay cut between its header writes: the other copy still names the log */
		if (header_half_done(hdr[cur], hdr[other])) {
			if (seq == UINT64_MAX)
				return vhdx_log_fail_(why, why_len, VHDX_ERR_CORRUPT, "header sequence number at its maximum",
					    false, 0, NULL);
			header_clean(hdr[cur], seq + 1, file_write_guid);
			st.headers = 1;
			if (!dry_run && ((err = vhdx_dev_write_(sink, header_offset(other), hdr[cur], VHDX_HEADER_SIZE)) ||
					 (err = vhdx_dev_flush_(sink))))
				return err;
		}
		if (ret_stats)
			vhdx_mem_copy_(ret_stats, &st, sizeof(st));
		return VHDX_OK;
	}
	if (seq > UINT64_MAX - 2)
		return vhdx_log_fail_(why, why_len, VHDX_ERR_CORRUPT, "header sequence number at its maximum", false, 0, NULL);
	if (log.last_file_offset > src->size) {
		new_end = VHDX_ALIGN_UP(log.last_file_offset, LOG_SECTOR);
		if (src->is_device || (sink && sink->capacity && new_end > sink->capacity))
			return vhdx_log_fail_(why, why_len, VHDX_ERR_DEVFULL, "the log's LastFileOffset ", true,
				    log.last_file_offset, " is past the end of the device");
	}
	st.data_sectors = log.data_descriptors;
	st.zeroed = zeroed;
	st.extended_to = new_end;
	st.headers = 2;
	/* both copies as they will be: the non-current one first, sequence + 1 */
	vhdx_mem_copy_(hdr[other], hdr[cur], VHDX_HEADER_SIZE);
	header_clean(hdr[other], seq + 1, file_write_guid);
	header_clean(hdr[cur], seq + 2, file_write_guid);
	if (!dry_run) {
		vhdx_mem_zero_(&rp, sizeof(rp));
		rp.src = src;
		rp.sink = sink;
		rp.log = &log;
		rp.data = s + 3 * LOG_SECTOR;
		rp.zeros = s + 4 * LOG_SECTOR;
		rp.zeros_len = (scratch_len - 4 * LOG_SECTOR) & ~(size_t)LOG_SECTOR_MASK;
		/* extend first: the zeros never land on a sector a descriptor wrote */
		if (new_end && (err = replay_extend(&rp, src->size, new_end)))
			return err;
		vhdx_log_ring_init_(&r, src, &log, s + 2 * LOG_SECTOR, LOG_SECTOR);
		if ((err = vhdx_log_walk_(&r, log.tail, log.head, replay_desc, &rp, NULL, NULL)))
			return err == VHDX_ERR_CORRUPT ? vhdx_log_fail_(why, why_len, err, "log sequence changed while it was replayed",
							      false, 0, NULL)
						       : err;
		if ((err = vhdx_dev_flush_(sink)) ||
		    (err = vhdx_dev_write_(sink, header_offset(other), hdr[other], VHDX_HEADER_SIZE)) ||
		    (err = vhdx_dev_flush_(sink)) ||
		    (err = vhdx_dev_write_(sink, header_offset(cur), hdr[cur], VHDX_HEADER_SIZE)) || (err = vhdx_dev_flush_(sink)))
			return err;
	}
	if (ret_stats)
		vhdx_mem_copy_(ret_stats, &st, sizeof(st));
	return VHDX_OK;
}
