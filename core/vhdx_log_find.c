/* SPDX-License-Identifier: MIT */
/*
 * vhdx_log_find.c - the log [2.3], first of its three units: the active
 * sequence (vhdx_log_find), and the reading and walking of the ring that
 * the view (vhdx_log_view.c) and replay (vhdx_log_replay.c) use too.
 *
 * The log is a ring of 4 KiB sectors at LogOffset, LogLength long.  An
 * entry is one or more descriptor sectors (a 64-byte header, then 32-byte
 * descriptors: 126 in the first sector, 128 in each further one) followed
 * by exactly one data sector per data descriptor [2.3.1]; it may wrap
 * around the ring's end.  EntryLength may be longer: the sectors after the
 * data sectors are padding, in the checksum ("over the entire entry
 * specified by EntryLength", 2.3.1.1) but not interpreted; the
 * specification gives the entry's length and its parts without saying
 * that nothing may follow them, and qemu accepts such entries.  Every
 * further sector of a valid entry but padding starts with "desc", "zero"
 * or "data", never with "loge": valid entries never overlap, and a sector
 * inside one never starts another.  The scan skips a whole entry (padding
 * included) once it was read, so padding is never a candidate.
 *
 * The bound on vhdx_log_find, whatever the ring holds (4 GiB of garbage
 * included): the scan only moves forward.  A candidate entry is read
 * sector by sector and dropped at the first sector that breaks its
 * structure; the scan resumes at that sector (every sector before it
 * started with a descriptor or data signature, so none can start an
 * entry), or after the whole entry when only its checksum failed.  So the
 * scan reads the ring once, in order, through the scratch window, and a
 * second time at most for the one candidate that wraps around the ring's
 * end; no sector is checksummed more than twice.  Then one sector per run
 * of entries (its head's Tail) and the active sequence's descriptor
 * sectors once.  In all at most 3 x LogLength bytes read and checksummed,
 * O(LogLength) time, no memory but the scratch buffer (test_log.c
 * measures 1 x LogLength on garbage, 2 x with an entry that wraps).
 */
#include "vhdx_log_internal.h"

int vhdx_log_fail_(char *why, size_t why_len, int err, const char *a, bool has_n, uint64_t n, const char *b)
{
	struct vhdx_text t;

	if (why && why_len) {
		vhdx_text_init(&t, why, why_len);
		vhdx_text_str(&t, a);
		if (has_n)
			vhdx_text_hex(&t, n);
		if (b)
			vhdx_text_str(&t, b);
	}
	return err;
}

/* @r over @log's ring in @src, read through @win (@win_cap bytes, at least 4 KiB); no one-sector buffer. */
void vhdx_log_ring_init_(struct ring_ *r, const struct vhdx_source *src, const struct vhdx_log *log, uint8_t *win,
			 size_t win_cap)
{
	vhdx_mem_zero_(r, sizeof(*r));
	r->src = src;
	r->base = log->log_offset;
	r->len = log->log_length;
	vhdx_window_init_(&r->win, src, win, win_cap & ~(size_t)LOG_SECTOR_MASK);
}

int vhdx_log_ring_sector_(struct ring_ *r, uint64_t pos, const uint8_t **ret)
{
	uint64_t n;
	int err;

	VHDX_ASSERT(pos < r->len && !(pos & LOG_SECTOR_MASK));
	if (!vhdx_window_holds_(&r->win, 0, r->base + pos, LOG_SECTOR)) {
		n = r->len - pos; /* never across the ring's end */
		if (n > r->win.size)
			n = r->win.size;
		err = vhdx_window_load_(&r->win, r->base + pos, n);
		if (err)
			return err;
	}
	*ret = r->win.buf + (r->base + pos - r->win.start);
	return VHDX_OK;
}

/* --- the active sequence -------------------------------------------- */

/* What a valid entry says. */
struct entry_ {
	uint64_t pos;       /* [byte] ring offset */
	uint64_t length;    /* [byte] EntryLength */
	uint64_t tail;      /* [byte] ring offset */
	uint64_t sequence;
	uint64_t flushed;   /* [byte] FlushedFileOffset */
	uint64_t last;      /* [byte] LastFileOffset */
};

/*
 * Is there a valid entry at ring offset @pos [2.3.1]?  0: yes, @e filled;
 * 1: no; or a negative error.  *ret_next: bytes from @pos to the next
 * position that may start an entry (at least one sector): the first
 * sector that broke the structure, or the entry's end when all of it was
 * read.
 */
static int entry_check(struct ring_ *r, uint64_t pos, const struct vhdx_guid *guid, struct entry_ *e,
		       uint64_t *ret_next)
{
	const uint8_t *s;
	uint64_t dsec, nsec, k, data = 0, seen = 0;
	uint32_t count, want, crc;
	int err;

	*ret_next = LOG_SECTOR;
	if ((err = vhdx_log_ring_sector_(r, pos, &s)))
		return err;
	if (!vhdx_mem_equal_(s, LOGE_SIGNATURE, 4))
		return 1;
	e->pos = pos;
	e->length = vhdx_get_le32(s + LOGE_LENGTH_OFF);
	e->tail = vhdx_get_le32(s + LOGE_TAIL_OFF);
	e->sequence = vhdx_get_le64(s + LOGE_SEQUENCE_OFF);
	e->flushed = vhdx_get_le64(s + LOGE_FLUSHED_OFF);
	e->last = vhdx_get_le64(s + LOGE_LAST_OFF);
	count = vhdx_get_le32(s + LOGE_COUNT_OFF);
	want = vhdx_get_le32(s + LOGE_CHECKSUM_OFF);
	if (!vhdx_guid_bytes_equal_(s + LOGE_GUID_OFF, guid->bytes))
		return 1;
	r->guid_seen = true;
	if (!e->length || (e->length & LOG_SECTOR_MASK) || e->length > r->len)
		return 1;
	if ((e->tail & LOG_SECTOR_MASK) || e->tail >= r->len || !e->sequence)
		return 1;
	nsec = e->length >> LOG_SECTOR_SHIFT;
	dsec = desc_sectors(count);
	if (dsec > nsec)
		return 1;
	/* the first sector with the checksum field zero [2.3.1.1]: the decoder's rule */
	vhdx_checksum_ok_(s, LOG_SECTOR, LOGE_CHECKSUM_OFF, &crc);
	for (k = 0; k < dsec; k++) {
		size_t off = k ? 0 : LOGE_HEADER_SIZE;

		if (k) {
			if ((err = vhdx_log_ring_sector_(r, ring_add(pos, k << LOG_SECTOR_SHIFT, r->len), &s)))
				return err;
			crc = vhdx_crc32c(crc, s, LOG_SECTOR);
		}
		for (; off < LOG_SECTOR && seen < count; off += DESC_SIZE, seen++) {
			const uint8_t *d = s + off;

			if (vhdx_mem_equal_(d, DESC_DATA_SIG, 4))
				data++;
			else if (!vhdx_mem_equal_(d, DESC_ZERO_SIG, 4))
				break;
			if (vhdx_get_le64(d + DESC_SEQUENCE_OFF) != e->sequence)
				break;
		}
		if (off < LOG_SECTOR && seen < count) {
			*ret_next = k << LOG_SECTOR_SHIFT;
			return 1;
		}
	}
	/* one data sector per data descriptor, right after the descriptor
	 * sectors [2.3.1]; EntryLength may leave more sectors after them
	 * (padding: in the checksum, not interpreted; qemu accepts it) */
	if (dsec + data > nsec) {
		*ret_next = dsec << LOG_SECTOR_SHIFT;
		return 1;
	}
	for (k = dsec; k < nsec; k++) {
		if ((err = vhdx_log_ring_sector_(r, ring_add(pos, k << LOG_SECTOR_SHIFT, r->len), &s)))
			return err;
		if (k < dsec + data && (!vhdx_mem_equal_(s, DATA_SIGNATURE, 4) ||
		    vhdx_get_le32(s + DATA_SEQ_HIGH_OFF) != (uint32_t)(e->sequence >> 32) ||
		    vhdx_get_le32(s + DATA_SEQ_LOW_OFF) != (uint32_t)e->sequence)) {
			*ret_next = k << LOG_SECTOR_SHIFT;
			return 1;
		}
		crc = vhdx_crc32c(crc, s, LOG_SECTOR);
	}
	*ret_next = e->length;
	return vhdx_crc_matches_(want, crc) ? 0 : 1;
}

/* A run: physically consecutive valid entries, sequence numbers +1. */
struct run_ {
	uint64_t start;       /* ring offset of its first entry */
	uint64_t start_seq;
	struct entry_ head;   /* its last entry */
	uint64_t end;         /* ring offset just after the head */
};

struct scan_ {
	struct ring_ r;
	const struct vhdx_guid *guid;
	bool have_best;
	struct entry_ best;   /* head of the active sequence so far */
};

/*
 * A run from @start to @head is a sequence when the head's Tail names one
 * of its entries [2.3.3]; the highest head sequence number wins.  Inside
 * the run every sector is an entry's first ("loge") or one of its
 * descriptor or data sectors, so one sector read tells whether Tail is
 * an entry's start.
 */
static int run_judge(struct scan_ *sc, uint64_t start, const struct entry_ *head)
{
	uint64_t n = sc->r.len;
	int err;

	if (ring_dist(start, head->tail, n) > ring_dist(start, head->pos, n))
		return VHDX_OK;
	if (head->tail != start && head->tail != head->pos) {
		if ((err = vhdx_dev_read_(sc->r.src, sc->r.base + head->tail, sc->r.one, LOG_SECTOR)))
			return err;
		if (!vhdx_mem_equal_(sc->r.one, LOGE_SIGNATURE, 4))
			return VHDX_OK;
	}
	if (!sc->have_best || head->sequence > sc->best.sequence) {
		vhdx_mem_copy_(&sc->best, head, sizeof(*head));
		sc->have_best = true;
	}
	return VHDX_OK;
}

/* Every 4 KiB position once (see the bound at the top); the runs judged. */
static int scan_ring(struct scan_ *sc)
{
	struct run_ cur, first;
	bool have_cur = false, cur_is_first = false, have_first = false;
	uint64_t pos = 0, next, n = sc->r.len;
	struct entry_ e;
	int err;

	vhdx_mem_zero_(&cur, sizeof(cur));
	vhdx_mem_zero_(&first, sizeof(first));

	while (pos < n) {
		err = entry_check(&sc->r, pos, sc->guid, &e, &next);
		if (err < 0)
			return err;
		if (!err) {
			if (have_cur && e.pos == cur.end && e.sequence == cur.head.sequence + 1) {
				vhdx_mem_copy_(&cur.head, &e, sizeof(e));
			} else {
				if (have_cur && cur_is_first) {
					vhdx_mem_copy_(&first, &cur, sizeof(cur));
					have_first = true;
				} else if (have_cur && (err = run_judge(sc, cur.start, &cur.head))) {
					return err;
				}
				cur.start = e.pos;
				cur.start_seq = e.sequence;
				vhdx_mem_copy_(&cur.head, &e, sizeof(e));
				cur_is_first = !have_cur;
				have_cur = true;
			}
			cur.end = ring_add(e.pos, e.length, n);
		}
		pos += next > LOG_SECTOR ? next : LOG_SECTOR;
	}
	if (!have_cur)
		return VHDX_OK;
	if (cur_is_first || !have_first)
		return run_judge(sc, cur.start, &cur.head);
	/* the last run continues at the ring's start: one sequence */
	if (cur.end == first.start && first.start_seq == cur.head.sequence + 1)
		return run_judge(sc, cur.start, &first.head);
	if ((err = run_judge(sc, cur.start, &cur.head)))
		return err;
	return run_judge(sc, first.start, &first.head);
}

/* --- walking the active sequence ------------------------------------ */



/*
 * Calls @fn for every descriptor of the entries from @tail to @head, in
 * order, reading the descriptor sectors through @r's window (one read per
 * window, not per entry: 8191 entries of a 64 MiB log were 8191 reads of
 * 4 KiB).  @fn may read through @r too: a descriptor is copied out before
 * it is called, and sectors are looked up again after.  Checks
 * again what find checked of the structure (the file may have changed
 * under a view): VHDX_ERR_CORRUPT when it no longer holds.
 * *ret_entries counts the entries, *ret_tail_seq is the tail's sequence.
 */
int vhdx_log_walk_(struct ring_ *r, uint64_t tail, uint64_t head, desc_fn fn, void *ctx,
		   uint32_t *ret_entries, uint64_t *ret_tail_seq)
{
	uint64_t n = r->len, pos = tail, seq = 0, max_entries = n >> LOG_SECTOR_SHIFT;
	uint32_t entries = 0;
	int err;

	for (;;) {
		uint64_t length, dsec, i, data = 0, entry_seq;
		const uint8_t *sector;
		uint32_t count;

		if (entries >= max_entries)
			return VHDX_ERR_CORRUPT;
		if ((err = vhdx_log_ring_sector_(r, pos, &sector)))
			return err;
		length = vhdx_get_le32(sector + LOGE_LENGTH_OFF);
		count = vhdx_get_le32(sector + LOGE_COUNT_OFF);
		entry_seq = vhdx_get_le64(sector + LOGE_SEQUENCE_OFF);
		dsec = desc_sectors(count);
		if (!vhdx_mem_equal_(sector, LOGE_SIGNATURE, 4) || !length || (length & LOG_SECTOR_MASK) ||
		    length > n || dsec > (length >> LOG_SECTOR_SHIFT))
			return VHDX_ERR_CORRUPT;
		if (!entries)
			seq = entry_seq;
		else if (entry_seq != seq + entries)
			return VHDX_ERR_CORRUPT;
		for (i = 0; i < count; i++) {
			uint64_t at = LOGE_HEADER_SIZE + i * DESC_SIZE;
			const uint8_t *d;
			struct desc_ x;

			if ((err = vhdx_log_ring_sector_(r, ring_add(pos, at & ~LOG_SECTOR_MASK, n), &sector)))
				return err;
			d = sector + (at & LOG_SECTOR_MASK);
			x.zero = vhdx_mem_equal_(d, DESC_ZERO_SIG, 4);
			x.file_offset = vhdx_get_le64(d + DESC_FILE_OFF);
			if (x.zero) {
				x.length = vhdx_get_le64(d + DESC_ZERO_LEN_OFF);
				x.data_pos = 0;
				x.leading = 0;
				x.trailing = 0;
			} else {
				if (!vhdx_mem_equal_(d, DESC_DATA_SIG, 4) || dsec + data >= (length >> LOG_SECTOR_SHIFT))
					return VHDX_ERR_CORRUPT;
				x.length = LOG_SECTOR;
				x.data_pos = ring_add(pos, (dsec + data) << LOG_SECTOR_SHIFT, n);
				x.leading = vhdx_get_le64(d + DESC_LEADING_OFF);
				x.trailing = vhdx_get_le32(d + DESC_TRAILING_OFF);
				data++;
			}
			if ((err = fn(ctx, &x)))
				return err;
		}
		entries++;
		if (pos == head)
			break;
		pos = ring_add(pos, length, n);
	}
	if (ret_entries)
		*ret_entries = entries;
	if (ret_tail_seq)
		*ret_tail_seq = seq;
	return VHDX_OK;
}

/* The 4 KiB a data descriptor writes: LeadingBytes, Data[4084], TrailingBytes. */
void vhdx_log_restore_(uint8_t *s, const struct desc_ *d)
{
	vhdx_put_le64(s, d->leading);
	vhdx_put_le32(s + LOG_SECTOR - DATA_TRAILING_SIZE, d->trailing);
}

/* Checks of every descriptor of the active sequence, and their sums. */
struct tally_ {
	struct vhdx_log *log;
	struct ring_ *r;        /* the walk's: data sectors are read through its window */
	const struct vhdx_disk *d;
	uint8_t *data;          /* 4 KiB: a data sector written into the BAT */
	uint64_t file_end;      /* [byte] max(file size, LastFileOffset) */
	uint64_t zeroed;        /* [byte] ZeroLength summed */
	uint64_t block_end;     /* [byte] the largest block end the logged BAT sectors name */
	bool any;
	uint64_t bad_offset;    /* the descriptor's FileOffset when one broke a rule */
	const char *bad;        /* the rule */
};

/* The blocks a data sector written into the BAT allocates: t->block_end
 * raised to the end of the last one (every block counted as BlockSize, at
 * least 1 MiB: a sector bitmap block is 1 MiB) [2.5]. */
static int tally_bat_sector(struct tally_ *t, const struct desc_ *d)
{
	uint64_t bat_end = t->d->bat_offset + t->d->bat_length, span, i;
	const uint8_t *logged;
	int err;

	if (d->zero || d->file_offset >= bat_end || d->file_offset + d->length <= t->d->bat_offset)
		return VHDX_OK;
	if ((err = vhdx_log_ring_sector_(t->r, d->data_pos, &logged)))
		return err;
	vhdx_mem_copy_(t->data, logged, LOG_SECTOR);
	vhdx_log_restore_(t->data, d);
	span = t->d->geom.block_size > VHDX_MiB ? t->d->geom.block_size : VHDX_MiB;
	for (i = 0; i < LOG_SECTOR; i += VHDX_BAT_ENTRY_SIZE) {
		uint64_t e = vhdx_get_le64(t->data + i), start = e >> VHDX_BAT_OFFSET_SHIFT << VHDX_BAT_OFFSET_SHIFT;
		uint32_t state = (uint32_t)(e & VHDX_BAT_STATE_MASK);

		if ((state == VHDX_PAYLOAD_FULLY_PRESENT || state == VHDX_PAYLOAD_PARTIALLY_PRESENT) && start + span > t->block_end)
			t->block_end = start + span;
	}
	return VHDX_OK;
}

static int tally_desc(void *ctx, const struct desc_ *d)
{
	struct tally_ *t = ctx;
	struct vhdx_log *log = t->log;
	uint64_t end;

	t->bad_offset = d->file_offset;
	if ((d->file_offset & LOG_SECTOR_MASK) || (d->length & LOG_SECTOR_MASK)) {
		t->bad = " is not a multiple of 4 KiB [2.3.1]";
		return VHDX_ERR_CORRUPT;
	}
	if (d->zero)
		log->zero_descriptors++;
	else
		log->data_descriptors++;
	if (!d->length)
		return VHDX_OK;
	if (!vhdx_add_u64_(d->file_offset, d->length, &end)) {
		t->bad = " runs past 2^64";
		return VHDX_ERR_CORRUPT;
	}
	if (d->file_offset < LOG_PROTECTED_END) {
		t->bad = " is aimed at the headers (the first 192 KiB are never logged) [2.3]";
		return VHDX_ERR_CORRUPT;
	}
	if (d->file_offset < log->log_offset + log->log_length && end > log->log_offset) {
		t->bad = " is aimed at the log itself [2.3]";
		return VHDX_ERR_CORRUPT;
	}
	if (end > t->file_end) {
		t->bad = " writes past LastFileOffset and the file end [2.3.1.1]";
		return VHDX_ERR_CORRUPT;
	}
	if (d->zero)
		t->zeroed += d->length;
	else if (t->data && tally_bat_sector(t, d))
		return VHDX_ERR_IO;
	if (!t->any || d->file_offset < log->low)
		log->low = d->file_offset;
	if (!t->any || end > log->high)
		log->high = end;
	t->any = true;
	return VHDX_OK;
}

/*
 * The largest LastFileOffset a log may name [2.3.1.1: "a file size that
 * all allocated file structures fit into"]: the end of the file, of its
 * regions and log, of what the descriptors write and of the blocks the
 * logged BAT sectors allocate, rounded up to 1 MiB, plus a margin of
 * VHDX_LOG_LAST_MARGIN (the extension is sparse: nothing is allocated
 * that nothing writes).  Beyond it a replay would grow the file by
 * terabytes that no structure uses.
 */
#define VHDX_LOG_LAST_MARGIN (1024ull * VHDX_MiB) /* [byte] */

static uint64_t log_need(const struct vhdx_disk *d, const struct vhdx_source *src, const struct tally_ *t)
{
	uint64_t need = src->size, ends[5];
	unsigned i;

	ends[0] = d->bat_offset + d->bat_length;
	ends[1] = d->meta_offset + d->meta_length;
	ends[2] = d->log_offset + d->log_length;
	ends[3] = t->any ? t->log->high : 0;
	ends[4] = t->block_end;
	for (i = 0; i < 5; i++)
		if (ends[i] > need)
			need = ends[i];
	if (need > UINT64_MAX - 2 * VHDX_LOG_LAST_MARGIN)
		return UINT64_MAX;
	return VHDX_ALIGN_UP(need, (uint64_t)VHDX_MiB) + VHDX_LOG_LAST_MARGIN;
}

/* vhdx_log_find with a scratch of at least 8 KiB; *ret_zeroed: bytes of the zero descriptors. */
int vhdx_log_find_(struct vhdx_log *ret, const struct vhdx_disk *d, const struct vhdx_source *src, uint8_t *scratch,
		   size_t scratch_len, char *why, size_t why_len, uint64_t *ret_zeroed)
{
	struct vhdx_log log;
	struct scan_ sc;
	struct tally_ t;
	uint64_t log_end;
	int err;

	vhdx_mem_zero_(&log, sizeof(log));
	log.log_offset = d->log_offset;
	log.log_length = d->log_length;
	vhdx_mem_copy_(&log.log_guid, &d->log_guid, sizeof(log.log_guid));
	if (vhdx_guid_is_zero(&d->log_guid)) {
		vhdx_mem_copy_(ret, &log, sizeof(log));
		*ret_zeroed = 0;
		return VHDX_OK;
	}
	if (!d->log_length || (d->log_length & LOG_SECTOR_MASK) || (d->log_offset & LOG_SECTOR_MASK) ||
	    !vhdx_add_u64_(d->log_offset, d->log_length, &log_end) || log_end > src->size)
		return vhdx_log_fail_(why, why_len, VHDX_ERR_CORRUPT, "log replay needed, but the log at ", true,
			    d->log_offset, " is misplaced or outside the file [2.2.2]");

	vhdx_mem_zero_(&sc, sizeof(sc));
	sc.guid = &d->log_guid;
	sc.r.src = src;
	sc.r.base = d->log_offset;
	sc.r.len = d->log_length;
	sc.r.one = scratch;
	vhdx_window_init_(&sc.r.win, src, scratch + LOG_SECTOR, (scratch_len - LOG_SECTOR) & ~(size_t)LOG_SECTOR_MASK);
	if ((err = scan_ring(&sc)))
		return err;
	if (!sc.have_best && !sc.r.guid_seen) {
		/* nothing was logged under LogGuid: write-ahead order [2.3] means
		 * nothing was applied under it either (qemu's crash window) */
		log.guid_unused = true;
		vhdx_mem_copy_(ret, &log, sizeof(log));
		*ret_zeroed = 0;
		return VHDX_OK;
	}
	if (!sc.have_best)
		return vhdx_log_fail_(why, why_len, VHDX_ERR_CORRUPT,
			    "log replay needed, but the log holds no valid sequence for its LogGuid [2.3.3]",
			    false, 0, NULL);

	log.active = true;
	log.tail = sc.best.tail;
	log.head = sc.best.pos;
	log.head_sequence = sc.best.sequence;
	log.flushed_file_offset = sc.best.flushed;
	log.last_file_offset = sc.best.last;
	if (src->size < sc.best.flushed)
		return vhdx_log_fail_(why, why_len, VHDX_ERR_CORRUPT, "the file is truncated: shorter than the log's FlushedFileOffset ",
			    true, sc.best.flushed, " [2.3.3]");

	vhdx_mem_zero_(&t, sizeof(t));
	t.log = &log;
	t.r = &sc.r;
	t.d = d;
	t.data = sc.r.one; /* the scan is done with it */
	t.file_end = src->size > sc.best.last ? src->size : sc.best.last;
	err = vhdx_log_walk_(&sc.r, log.tail, log.head, tally_desc, &t, &log.entries, &log.tail_sequence);
	if (err == VHDX_ERR_CORRUPT && t.bad)
		return vhdx_log_fail_(why, why_len, err, "log descriptor for file offset ", true, t.bad_offset, t.bad);
	if (err == VHDX_ERR_CORRUPT)
		return vhdx_log_fail_(why, why_len, err, "log sequence changed while it was read", false, 0, NULL);
	if (err)
		return err;
	if (sc.best.last > src->size && sc.best.last > log_need(d, src, &t))
		return vhdx_log_fail_(why, why_len, VHDX_ERR_CORRUPT, "the log's LastFileOffset ", true, sc.best.last,
			    " is past anything the image can need (its regions, the blocks its BAT names, the "
			    "file end, 1 GiB more) [2.3.1.1]");
	vhdx_mem_copy_(ret, &log, sizeof(log));
	*ret_zeroed = t.zeroed;
	return VHDX_OK;
}

int vhdx_log_find(struct vhdx_log *ret, const struct vhdx_disk *d, const struct vhdx_source *src,
		  void *scratch, size_t scratch_len, char *why, size_t why_len)
{
	uint64_t zeroed;

	if (why && why_len)
		why[0] = '\0';
	if (!ret || !d || !src || !src->read || !scratch || scratch_len < VHDX_LOG_SCRATCH_MIN)
		return vhdx_log_fail_(why, why_len, VHDX_ERR_INVAL, "NULL argument or scratch below VHDX_LOG_SCRATCH_MIN",
			    false, 0, NULL);
	return vhdx_log_find_(ret, d, src, scratch, scratch_len, why, why_len, &zeroed);
}
