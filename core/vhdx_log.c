/* SPDX-License-Identifier: MIT */
/*
 * vhdx_log.c - the log [2.3]: its active sequence (vhdx_log_find), a
 * read-only view of the file as it is after replay (vhdx_log_view_init)
 * and replay in place through a sink (vhdx_log_replay).
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
#include "vhdx_decode.h"

#define LOG_SECTOR        VHDX_LOG_SECTOR_SIZE /* 4096 */
#define LOG_SECTOR_MASK   ((uint64_t)LOG_SECTOR - 1)
#define LOG_SECTOR_SHIFT  12u

/* 2.3.1.1 entry header: 64 bytes at the start of an entry's first sector */
#define LOGE_SIGNATURE     "loge"
#define LOGE_CHECKSUM_OFF  4u  /* u32 CRC-32C over EntryLength bytes, this field zero */
#define LOGE_LENGTH_OFF    8u  /* u32 [byte] EntryLength, multiple of 4 KiB */
#define LOGE_TAIL_OFF      12u /* u32 [byte] ring offset of the sequence's first entry */
#define LOGE_SEQUENCE_OFF  16u /* u64, > 0 */
#define LOGE_COUNT_OFF     24u /* u32 DescriptorCount */
#define LOGE_GUID_OFF      32u /* GUID, the header's LogGuid */
#define LOGE_FLUSHED_OFF   48u /* u64 [byte] FlushedFileOffset: the file size when written */
#define LOGE_LAST_OFF      56u /* u64 [byte] LastFileOffset: the size that holds every structure */
#define LOGE_HEADER_SIZE   64u

/* 2.3.1.2, 2.3.1.3 descriptors: 32 bytes each, packed after the header */
#define DESC_SIZE          32u
#define DESC_DATA_SIG      "desc"
#define DESC_ZERO_SIG      "zero"
#define DESC_TRAILING_OFF  4u  /* data: u32, the last 4 bytes of the sector written */
#define DESC_LEADING_OFF   8u  /* data: u64, its first 8 bytes */
#define DESC_ZERO_LEN_OFF  8u  /* zero: u64 [byte] ZeroLength, multiple of 4 KiB */
#define DESC_FILE_OFF      16u /* u64 [byte] FileOffset, multiple of 4 KiB */
#define DESC_SEQUENCE_OFF  24u /* u64, the entry's SequenceNumber */

/* 2.3.1.4 data sector: "data", SequenceHigh, Data[4084], SequenceLow */
#define DATA_SIGNATURE     "data"
#define DATA_SEQ_HIGH_OFF  4u    /* u32, SequenceNumber >> 32 */
#define DATA_SEQ_LOW_OFF   4092u /* u32, SequenceNumber & 0xFFFFFFFF */
#define DATA_TRAILING_SIZE 4u    /* the sector written: LeadingBytes (u64), Data, TrailingBytes (u32) */

/* The File Type Identifier and both headers are never logged [2.3]. */
#define LOG_PROTECTED_END  VHDX_REGION_TABLE1_OFFSET /* [byte] 192 KiB */

static int fail(char *why, size_t why_len, int err, const char *a, bool has_n, uint64_t n, const char *b)
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

/* a + d in a ring of n bytes (a < n, d <= n) */
static uint64_t ring_add(uint64_t a, uint64_t d, uint64_t n)
{
	a += d;
	return a >= n ? a - n : a;
}

/* Bytes from a forward to b in a ring of n bytes. */
static uint64_t ring_dist(uint64_t a, uint64_t b, uint64_t n)
{
	return b >= a ? b - a : b + n - a;
}

/* Descriptor sectors of an entry with @count descriptors. */
static uint64_t desc_sectors(uint32_t count)
{
	return (LOGE_HEADER_SIZE + (uint64_t)count * DESC_SIZE + LOG_SECTOR - 1) >> LOG_SECTOR_SHIFT;
}

/* --- reading the ring ----------------------------------------------- */

/*
 * The ring read through a window of the scratch buffer (sequential scan)
 * and a one-sector buffer (random sectors: Tail checks, the final walk).
 * Reads never cross the ring's end; offsets and lengths are multiples of
 * 4 KiB from LogOffset (a multiple of 1 MiB).
 */
struct ring_ {
	const struct vhdx_source *src;
	uint64_t base;     /* [byte] file offset of the ring */
	uint64_t len;      /* [byte] ring length, multiple of 4 KiB */
	uint8_t *one;      /* 4 KiB */
	struct vhdx_window_ win; /* over the file: start = base + a ring offset */
	bool guid_seen;    /* a sector starting "loge" carries the header's LogGuid */
};

/* @r over @log's ring in @src, read through @win (@win_cap bytes, at least 4 KiB); no one-sector buffer. */
static void ring_init(struct ring_ *r, const struct vhdx_source *src, const struct vhdx_log *log, uint8_t *win,
		      size_t win_cap)
{
	vhdx_mem_zero_(r, sizeof(*r));
	r->src = src;
	r->base = log->log_offset;
	r->len = log->log_length;
	vhdx_window_init_(&r->win, src, win, win_cap & ~(size_t)LOG_SECTOR_MASK);
}

static int ring_sector(struct ring_ *r, uint64_t pos, const uint8_t **ret)
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
	if ((err = ring_sector(r, pos, &s)))
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
			if ((err = ring_sector(r, ring_add(pos, k << LOG_SECTOR_SHIFT, r->len), &s)))
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
		if ((err = ring_sector(r, ring_add(pos, k << LOG_SECTOR_SHIFT, r->len), &s)))
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

/* One descriptor of the active sequence, in replay order. */
struct desc_ {
	bool zero;
	uint64_t file_offset;   /* [byte] */
	uint64_t length;        /* [byte] 4096 for data, ZeroLength for zero */
	uint64_t data_pos;      /* data: ring offset of its data sector */
	uint64_t leading;       /* data: LeadingBytes (8) */
	uint32_t trailing;      /* data: TrailingBytes (4) */
};

typedef int (*desc_fn)(void *ctx, const struct desc_ *d);

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
static int walk_sequence(struct ring_ *r, uint64_t tail, uint64_t head, desc_fn fn, void *ctx,
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
		if ((err = ring_sector(r, pos, &sector)))
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

			if ((err = ring_sector(r, ring_add(pos, at & ~LOG_SECTOR_MASK, n), &sector)))
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
static void data_sector_restore(uint8_t *s, const struct desc_ *d)
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
	if ((err = ring_sector(t->r, d->data_pos, &logged)))
		return err;
	vhdx_mem_copy_(t->data, logged, LOG_SECTOR);
	data_sector_restore(t->data, d);
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
static int log_find(struct vhdx_log *ret, const struct vhdx_disk *d, const struct vhdx_source *src, uint8_t *scratch,
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
		return fail(why, why_len, VHDX_ERR_CORRUPT, "log replay needed, but the log at ", true,
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
		return fail(why, why_len, VHDX_ERR_CORRUPT,
			    "log replay needed, but the log holds no valid sequence for its LogGuid [2.3.3]",
			    false, 0, NULL);

	log.active = true;
	log.tail = sc.best.tail;
	log.head = sc.best.pos;
	log.head_sequence = sc.best.sequence;
	log.flushed_file_offset = sc.best.flushed;
	log.last_file_offset = sc.best.last;
	if (src->size < sc.best.flushed)
		return fail(why, why_len, VHDX_ERR_CORRUPT, "the file is truncated: shorter than the log's FlushedFileOffset ",
			    true, sc.best.flushed, " [2.3.3]");

	vhdx_mem_zero_(&t, sizeof(t));
	t.log = &log;
	t.r = &sc.r;
	t.d = d;
	t.data = sc.r.one; /* the scan is done with it */
	t.file_end = src->size > sc.best.last ? src->size : sc.best.last;
	err = walk_sequence(&sc.r, log.tail, log.head, tally_desc, &t, &log.entries, &log.tail_sequence);
	if (err == VHDX_ERR_CORRUPT && t.bad)
		return fail(why, why_len, err, "log descriptor for file offset ", true, t.bad_offset, t.bad);
	if (err == VHDX_ERR_CORRUPT)
		return fail(why, why_len, err, "log sequence changed while it was read", false, 0, NULL);
	if (err)
		return err;
	if (sc.best.last > src->size && sc.best.last > log_need(d, src, &t))
		return fail(why, why_len, VHDX_ERR_CORRUPT, "the log's LastFileOffset ", true, sc.best.last,
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
		return fail(why, why_len, VHDX_ERR_INVAL, "NULL argument or scratch below VHDX_LOG_SCRATCH_MIN",
			    false, 0, NULL);
	return log_find(ret, d, src, scratch, scratch_len, why, why_len, &zeroed);
}

/* --- the read-only view --------------------------------------------- */

struct view_read_ {
	struct vhdx_log_view *v;
	uint64_t off;           /* [byte] of buf[0] */
	uint64_t end;           /* [byte] */
	uint8_t *buf;
};

static int view_desc(void *ctx, const struct desc_ *d)
{
	struct view_read_ *vr = ctx;
	uint64_t lo = d->file_offset > vr->off ? d->file_offset : vr->off, hi;
	uint8_t *page = vr->v->page[1];
	int err;

	if (!vhdx_add_u64_(d->file_offset, d->length, &hi) || hi > vr->end)
		hi = vr->end;

	if (lo >= hi)
		return VHDX_OK;
	if (d->zero) {
		vhdx_mem_zero_(vr->buf + (lo - vr->off), (size_t)(hi - lo));
		return VHDX_OK;
	}
	if ((err = vhdx_dev_read_(vr->v->under, vr->v->log.log_offset + d->data_pos, page, LOG_SECTOR)))
		return err;
	data_sector_restore(page, d);
	vhdx_mem_copy_(vr->buf + (lo - vr->off), page + (lo - d->file_offset), (size_t)(hi - lo));
	return VHDX_OK;
}

/* [off, end) of the file under the log (end <= under->size), any alignment:
 * whole sectors straight into buf, partial ones through page[0]. */
static int view_read_under(struct vhdx_log_view *v, uint64_t off, uint64_t end, uint8_t *buf)
{
	const struct vhdx_source *u = v->under;
	uint64_t cur = off;
	int err;

	while (cur < end) {
		uint64_t a = cur & ~LOG_SECTOR_MASK, n;

		if (cur == a && (end - cur >= LOG_SECTOR || end == u->size)) {
			n = end - cur >= LOG_SECTOR ? (end - cur) & ~LOG_SECTOR_MASK : end - cur;
			if ((err = vhdx_dev_read_(u, cur, buf + (cur - off), (size_t)n)))
				return err;
		} else {
			uint64_t slen = u->size - a < LOG_SECTOR ? u->size - a : LOG_SECTOR;

			if ((err = vhdx_dev_read_(u, a, v->page[0], (size_t)slen)))
				return err;
			n = (a + slen < end ? a + slen : end) - cur;
			vhdx_mem_copy_(buf + (cur - off), v->page[0] + (cur - a), (size_t)n);
		}
		cur += n;
	}
	return VHDX_OK;
}

/*
 * The index.  A page's bytes after replay are those of the last descriptor
 * of the sequence that covers it [2.3.3].  Data descriptors cover one page
 * each: the last one per page is kept (sorted by file offset, then by
 * descriptor number).  Zero descriptors are kept as the union of their
 * ranges; a kept data page that a later zero descriptor also covers is
 * marked zeroed.  So a page reads as its kept data page when there is one
 * not marked, else as zeros when the union covers it, else as the file
 * underneath.
 */

/* Index of the first element of @n whose key (from @key) is >= @x; @n if none. */
static uint32_t lower_bound(const void *base, uint32_t n, size_t size, size_t key_off, uint64_t x)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint64_t k;

		vhdx_mem_copy_(&k, (const uint8_t *)base + (size_t)mid * size + key_off, sizeof(k));
		if (k < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int view_read_index(struct vhdx_log_view *v, uint64_t off, uint64_t end, uint8_t *buf)
{
	uint8_t *page = v->page[1];
	uint32_t k;
	int err;

	/* zero extents are disjoint and sorted: their ends rise too */
	k = lower_bound(v->zeros, v->zero_count, sizeof(*v->zeros), offsetof(struct vhdx_log_zeros, end), off + 1);
	for (; k < v->zero_count && v->zeros[k].start < end; k++) {
		uint64_t lo = v->zeros[k].start > off ? v->zeros[k].start : off;
		uint64_t hi = v->zeros[k].end < end ? v->zeros[k].end : end;

		vhdx_mem_zero_(buf + (lo - off), (size_t)(hi - lo));
	}
	k = lower_bound(v->data, v->data_count, sizeof(*v->data), offsetof(struct vhdx_log_page, file_offset),
			off & ~LOG_SECTOR_MASK);
	for (; k < v->data_count && v->data[k].file_offset < end; k++) {
		const struct vhdx_log_page *p = &v->data[k];
		uint64_t lo = p->file_offset > off ? p->file_offset : off;
		uint64_t hi = p->file_offset + LOG_SECTOR < end ? p->file_offset + LOG_SECTOR : end;

		if (p->zeroed)
			continue;
		if ((err = vhdx_dev_read_(v->under, v->log.log_offset + p->data_pos, page, LOG_SECTOR)))
			return err;
		vhdx_put_le64(page, p->leading);
		vhdx_put_le32(page + LOG_SECTOR - DATA_TRAILING_SIZE, p->trailing);
		vhdx_mem_copy_(buf + (lo - off), page + (lo - p->file_offset), (size_t)(hi - lo));
	}
	return VHDX_OK;
}

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	while (n--) {
		uint8_t t = *a;

		*a++ = *b;
		*b++ = t;
	}
}

/* Data pages by (file offset, descriptor number); zero ranges by start. */
static bool index_less(const uint8_t *a, const uint8_t *b, size_t size)
{
	if (size == sizeof(struct vhdx_log_page)) {
		const struct vhdx_log_page *x = (const void *)a, *y = (const void *)b;

		return x->file_offset < y->file_offset || (x->file_offset == y->file_offset && x->order < y->order);
	}
	return ((const struct vhdx_log_zeros *)(const void *)a)->start <
	       ((const struct vhdx_log_zeros *)(const void *)b)->start;
}

/* Heapsort: in place, O(n log n), no recursion. */
static void index_sort(void *base, uint32_t n, size_t size)
{
	uint8_t *a = base;
	uint32_t start = n / 2, end = n;

	while (end > 1) {
		uint32_t root, child;

		if (start > 0) {
			start--;
		} else {
			end--;
			swap_bytes(a, a + (size_t)end * size, size);
		}
		for (root = start; (child = 2 * root + 1) < end; root = child) {
			if (child + 1 < end && index_less(a + (size_t)child * size, a + (size_t)(child + 1) * size, size))
				child++;
			if (!index_less(a + (size_t)root * size, a + (size_t)child * size, size))
				break;
			swap_bytes(a + (size_t)root * size, a + (size_t)child * size, size);
		}
	}
}

struct index_build_ {
	struct vhdx_log_page *data;
	struct vhdx_log_zeros *zeros;
	uint32_t data_cap, zero_cap, data_count, zero_count, order;
};

static int index_desc(void *ctx, const struct desc_ *d)
{
	struct index_build_ *b = ctx;
	uint32_t order = b->order++;
	uint64_t end;

	/* what find checked, in case the file changed since */
	if ((d->file_offset & LOG_SECTOR_MASK) || !vhdx_add_u64_(d->file_offset, d->length, &end))
		return VHDX_ERR_CORRUPT;
	if (d->zero) {
		if (!d->length)
			return VHDX_OK;
		if (b->zero_count >= b->zero_cap)
			return VHDX_ERR_CORRUPT; /* more than find counted */
		b->zeros[b->zero_count].start = d->file_offset;
		b->zeros[b->zero_count].end = end;
		b->zeros[b->zero_count].order = order;
		b->zero_count++;
		return VHDX_OK;
	}
	if (b->data_count >= b->data_cap)
		return VHDX_ERR_CORRUPT;
	b->data[b->data_count].file_offset = d->file_offset;
	b->data[b->data_count].leading = d->leading;
	b->data[b->data_count].data_pos = (uint32_t)d->data_pos;
	b->data[b->data_count].trailing = d->trailing;
	b->data[b->data_count].order = order;
	b->data[b->data_count].zeroed = 0;
	b->data_count++;
	return VHDX_OK;
}

/* The first data page at or after @k not yet judged against a zero range (path halving). */
static uint32_t next_unjudged(uint32_t *next, uint32_t k)
{
	while (next[k] != k) {
		next[k] = next[next[k]];
		k = next[k];
	}
	return k;
}

/* [byte] the log is read through this much of the index's memory while it
 * is built: 16 reads for a 1 MiB log, not one per entry */
#define VIEW_INDEX_WINDOW (64u * 1024u)

size_t vhdx_log_view_index_size(const struct vhdx_log_view *view)
{
	if (!view || !view->log.active)
		return 0;
	/* 8: mem rounded up to 8; a uint32_t per data page and one more while
	 * built; the window the log is read through while built */
	return 8 + sizeof(uint32_t) +
	       (size_t)view->log.data_descriptors * (sizeof(struct vhdx_log_page) + sizeof(uint32_t)) +
	       (size_t)view->log.zero_descriptors * sizeof(struct vhdx_log_zeros) + VIEW_INDEX_WINDOW;
}

int vhdx_log_view_index(struct vhdx_log_view *view, void *mem, size_t len)
{
	struct index_build_ b;
	struct ring_ r;
	uintptr_t at;
	uint32_t *next, i, k, n;
	size_t need;
	int err;

	if (!view || !mem || !view->log.active)
		return VHDX_ERR_INVAL;
	need = vhdx_log_view_index_size(view);
	at = ((uintptr_t)mem + 7) & ~(uintptr_t)7;
	/* need holds 8 bytes for rounding mem up to 8 */
	if (len < need || view->log.data_descriptors >= UINT32_MAX || view->log.zero_descriptors >= UINT32_MAX)
		return VHDX_ERR_INVAL;
	vhdx_mem_zero_(&b, sizeof(b));
	b.data = (struct vhdx_log_page *)at;
	b.data_cap = (uint32_t)view->log.data_descriptors;
	b.zeros = (struct vhdx_log_zeros *)(b.data + b.data_cap);
	b.zero_cap = (uint32_t)view->log.zero_descriptors;
	next = (uint32_t *)(b.zeros + b.zero_cap);
	view->data = NULL;
	ring_init(&r, view->under, &view->log, (uint8_t *)(next + b.data_cap + 1), VIEW_INDEX_WINDOW);
	err = walk_sequence(&r, view->log.tail, view->log.head, index_desc, &b, NULL, NULL);
	if (err)
		return err;

	/* the last data descriptor of each page */
	index_sort(b.data, b.data_count, sizeof(*b.data));
	for (i = 0, n = 0; i < b.data_count; i++) {
		if (n && b.data[n - 1].file_offset == b.data[i].file_offset)
			n--;
		if (n != i)
			vhdx_mem_copy_(&b.data[n], &b.data[i], sizeof(b.data[i]));
		n++;
	}
	b.data_count = n;

	/* zero ranges from the last one back: a page is judged by the last range covering it */
	for (k = 0; k <= n; k++)
		next[k] = k;
	for (i = b.zero_count; i-- > 0;) {
		const struct vhdx_log_zeros *z = &b.zeros[i];

		k = next_unjudged(next, lower_bound(b.data, n, sizeof(*b.data),
						    offsetof(struct vhdx_log_page, file_offset), z->start));
		while (k < n && b.data[k].file_offset < z->end) {
			b.data[k].zeroed = b.data[k].order < z->order;
			next[k] = k + 1;
			k = next_unjudged(next, k + 1);
		}
	}

	/* their union */
	index_sort(b.zeros, b.zero_count, sizeof(*b.zeros));
	for (i = 0, n = 0; i < b.zero_count; i++) {
		if (n && b.zeros[i].start <= b.zeros[n - 1].end) {
			if (b.zeros[i].end > b.zeros[n - 1].end)
				b.zeros[n - 1].end = b.zeros[i].end;
			continue;
		}
		if (n != i)
			vhdx_mem_copy_(&b.zeros[n], &b.zeros[i], sizeof(b.zeros[i]));
		n++;
	}
	view->zero_count = n;
	view->zeros = b.zeros;
	view->data_count = b.data_count;
	view->data = b.data;
	return VHDX_OK;
}

static int view_read(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	struct vhdx_log_view *v = s->ctx;
	struct view_read_ vr;
	struct ring_ r;
	uint64_t end, under_end;
	int err;

	if (!len)
		return VHDX_OK;
	if (!vhdx_add_u64_(off, len, &end) || end > s->size)
		return VHDX_ERR_IO;
	under_end = end < v->under->size ? end : v->under->size;
	if (off < under_end && (err = view_read_under(v, off, under_end, buf)))
		return err;
	/* past the file's end and up to LastFileOffset: zeros */
	if (end > v->under->size) {
		uint64_t z = off > v->under->size ? off : v->under->size;

		vhdx_mem_zero_((uint8_t *)buf + (z - off), (size_t)(end - z));
	}
	if (!v->log.active || end <= v->log.low || off >= v->log.high)
		return VHDX_OK;
	if (v->data)
		return view_read_index(v, off, end, buf);
	vr.v = v;
	vr.off = off;
	vr.end = end;
	vr.buf = buf;
	ring_init(&r, v->under, &v->log, v->page[0], LOG_SECTOR);
	err = walk_sequence(&r, v->log.tail, v->log.head, view_desc, &vr, NULL, NULL);
	return err == VHDX_ERR_CORRUPT ? VHDX_ERR_IO : err;
}

void vhdx_log_view_init(struct vhdx_log_view *view, const struct vhdx_log *log, const struct vhdx_source *under)
{
	VHDX_ASSERT(view && log && under);
	vhdx_mem_zero_(&view->source, sizeof(view->source));
	vhdx_mem_copy_(&view->log, log, sizeof(*log));
	view->under = under;
	view->source.ctx = view;
	view->source.read = view_read;
	view->source.size = under->size;
	if (log->active && log->last_file_offset > under->size)
		view->source.size = log->last_file_offset;
	view->source.is_device = under->is_device;
	view->source.log_applied = log->active;
	view->data = NULL;
	view->zeros = NULL;
	view->data_count = 0;
	view->zero_count = 0;
}

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
		if (rp->sink->zero && !rp->zero_unsupported) {
			err = rp->sink->zero(rp->sink, off, n);
			VHDX_ASSERT(err <= 0);
			if (err == VHDX_ERR_UNSUPPORTED)
				rp->zero_unsupported = true;
			else if (err)
				return VHDX_ERR_IO;
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
	data_sector_restore(rp->data, d);
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
		return fail(why, why_len, VHDX_ERR_INVAL,
			    "NULL argument, scratch below VHDX_LOG_SCRATCH_MIN or a sink block size above 4 KiB",
			    false, 0, NULL);
	vhdx_mem_zero_(&st, sizeof(st));
	cur = d->current_header;
	other = 1 - cur;
	hdr[cur] = s;
	hdr[other] = s + LOG_SECTOR;
	if (src->size < VHDX_HEADER2_OFFSET + VHDX_HEADER_SIZE)
		return fail(why, why_len, VHDX_ERR_CORRUPT, "the file ends before header 2", false, 0, NULL);
	if ((err = vhdx_dev_read_(src, header_offset(cur), hdr[cur], VHDX_HEADER_SIZE)) ||
	    (err = vhdx_dev_read_(src, header_offset(other), hdr[other], VHDX_HEADER_SIZE)))
		return err;
	if (!header_valid(hdr[cur]) || vhdx_get_le64(hdr[cur] + VHDX_HDR_SEQUENCE_OFF) != d->sequence ||
	    !vhdx_guid_bytes_equal_(hdr[cur] + VHDX_HDR_LOG_GUID_OFF, d->log_guid.bytes))
		return fail(why, why_len, VHDX_ERR_CORRUPT, "the current header is not the one the disk was opened with",
			    false, 0, NULL);
	seq = d->sequence;

	if ((err = log_find(&log, d, src, s + 2 * LOG_SECTOR, scratch_len - 2 * LOG_SECTOR, why, why_len, &zeroed)))
		return err;
	if (log.guid_unused) {
		/* nothing to apply: the headers as a replay leaves them */
		if (seq > UINT64_MAX - 2)
			return fail(why, why_len, VHDX_ERR_CORRUPT, "header sequence number at its maximum", false, 0,
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
				return fail(why, why_len, VHDX_ERR_CORRUPT, "header sequence number at its maximum",
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
		return fail(why, why_len, VHDX_ERR_CORRUPT, "header sequence number at its maximum", false, 0, NULL);
	if (log.last_file_offset > src->size) {
		new_end = VHDX_ALIGN_UP(log.last_file_offset, LOG_SECTOR);
		if (src->is_device || (sink && sink->capacity && new_end > sink->capacity))
			return fail(why, why_len, VHDX_ERR_DEVFULL, "the log's LastFileOffset ", true,
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
		ring_init(&r, src, &log, s + 2 * LOG_SECTOR, LOG_SECTOR);
		if ((err = walk_sequence(&r, log.tail, log.head, replay_desc, &rp, NULL, NULL)))
			return err == VHDX_ERR_CORRUPT ? fail(why, why_len, err, "log sequence changed while it was replayed",
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
