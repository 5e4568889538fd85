/* SPDX-License-Identifier: MIT */
/*
 * vhdx_compare.c - one reader over a chain or a raw source, and the
 * comparison of two disks that `vhdx compare` runs in both frontends
 * (vhdx_data.h).  qemu-img compare's contract is the frontends' business;
 * here: the first differing byte, the shorter disk read as if
 * zero-extended, ranges that are zeros in both never read.
 */
#include "vhdx_data.h"
#include "vhdx_internal.h"

#define PAGE VHDX_READER_PAGE

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static int reader_check(const struct vhdx_reader *r)
{
	if (!r || (!r->chain) == (!r->raw) || !r->scratch)
		return VHDX_ERR_INVAL;
	if (r->scratch_len < (r->chain ? VHDX_DATA_SCRATCH_MIN : PAGE))
		return VHDX_ERR_INVAL;
	if (r->raw && (!r->raw->read || r->size > r->raw->size))
		return VHDX_ERR_INVAL;
	return VHDX_OK;
}

int vhdx_reader_map(const struct vhdx_reader *r, uint64_t offset, uint64_t len, struct vhdx_extent *ret)
{
	struct vhdx_extent e;
	int err = reader_check(r);

	if (err)
		return err;
	if (!ret)
		return VHDX_ERR_INVAL;
	if (!len || offset >= r->size || len > r->size - offset)
		return VHDX_ERR_RANGE;
	if (r->chain)
		return vhdx_map(r->chain, offset, len, ret, r->scratch, r->scratch_len);
	vhdx_mem_zero_(&e, sizeof(e));
	e.kind = VHDX_EXTENT_DATA;
	e.length = len;
	e.file_offset = offset;
	if (r->raw_map) {
		err = r->raw_map(r, offset, len, &e);
		VHDX_ASSERT(err <= 0);
		if (err)
			return err > 0 ? VHDX_ERR_IO : err;
		if (!e.length || e.length > len)
			return VHDX_ERR_INVAL;
		e.level = 0;
		e.file_offset = offset;
	}
	vhdx_mem_copy_(ret, &e, sizeof(e)); /* no struct copy: it may become a memcpy call */
	return VHDX_OK;
}

/* Raw bytes: whole pages straight into @buf, a head or tail that is not a
 * whole page through the scratch (read up to the source's end only). */
static int raw_read(const struct vhdx_reader *r, uint64_t off, uint8_t *dst, size_t len)
{
	uint8_t *bounce = r->scratch;
	size_t n;
	int err;

	while (len) {
		if ((off & (PAGE - 1)) || len < PAGE) {
			uint64_t page = off & ~(uint64_t)(PAGE - 1);
			size_t have = (size_t)min_u64(PAGE, r->raw->size - page);

			err = vhdx_dev_read_(r->raw, page, bounce, have);
			if (err)
				return err;
			n = PAGE - (size_t)(off - page);
			if (n > len)
				n = len;
			vhdx_mem_copy_(dst, bounce + (off - page), n);
		} else {
			n = len & ~(size_t)(PAGE - 1);
			err = vhdx_dev_read_(r->raw, off, dst, n);
			if (err)
				return err;
		}
		off += n;
		dst += n;
		len -= n;
	}
	return VHDX_OK;
}

int vhdx_reader_read(const struct vhdx_reader *r, uint64_t offset, void *buf, size_t len)
{
	int err = reader_check(r);

	if (err)
		return err;
	if (!buf)
		return VHDX_ERR_INVAL;
	if (!len)
		return VHDX_OK;
	if (offset >= r->size || len > r->size - offset)
		return VHDX_ERR_RANGE;
	if (r->chain)
		return vhdx_read_at(r->chain, offset, buf, len, r->scratch, r->scratch_len);
	return raw_read(r, offset, buf, len);
}

/* Word-wise where both are aligned alike (the halves of one buffer are). */
typedef uint64_t __attribute__((__may_alias__)) vhdx_cmp_word_;

/* First index in [0, len) where @a and @b differ, or len. */
static size_t first_difference(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i = 0;

	if ((((uintptr_t)a ^ (uintptr_t)b) & 7u) == 0) {
		while (i < len && ((uintptr_t)(a + i) & 7u)) {
			if (a[i] != b[i])
				return i;
			i++;
		}
		while (i + 32 <= len) {
			const vhdx_cmp_word_ *x = (const vhdx_cmp_word_ *)(const void *)(a + i);
			const vhdx_cmp_word_ *y = (const vhdx_cmp_word_ *)(const void *)(b + i);

			if ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]))
				break;
			i += 32;
		}
	}
	while (i < len && a[i] == b[i])
		i++;
	return i;
}

/* First non-zero byte in [0, len), or len. */
static size_t first_nonzero(const uint8_t *p, size_t len)
{
	size_t i = 0, step = 4096;

	while (i < len) {
		size_t n = len - i < step ? len - i : step;

		if (!vhdx_is_zero(p + i, n))
			break;
		i += n;
	}
	while (i < len && !p[i])
		i++;
	return i;
}

/* One side's extent at @off, at most @len; past its end, zeros. */
static int side_map(const struct vhdx_reader *r, uint64_t off, uint64_t len, struct vhdx_extent *ret)
{
	if (off >= r->size) {
		vhdx_mem_zero_(ret, sizeof(*ret));
		ret->kind = VHDX_EXTENT_ZERO;
		ret->length = len;
		return VHDX_OK;
	}
	return vhdx_reader_map(r, off, min_u64(len, r->size - off), ret);
}

int vhdx_compare(const struct vhdx_reader *a, const struct vhdx_reader *b, void *buf, size_t buf_len,
		 struct vhdx_compare_result *ret, vhdx_compare_progress progress, void *progress_ctx)
{
	const struct vhdx_reader *side[2] = { a, b };
	uint8_t *half[2];
	size_t half_len;
	uint64_t total, off = 0;
	int err;

	if (!ret)
		return VHDX_ERR_INVAL;
	vhdx_mem_zero_(ret, sizeof(*ret));
	if (!buf || buf_len < VHDX_COMPARE_BUF_MIN || reader_check(a) || reader_check(b))
		return VHDX_ERR_INVAL;
	half_len = (buf_len / 2) & ~(size_t)(PAGE - 1);
	half[0] = buf;
	half[1] = half[0] + half_len;
	total = a->size > b->size ? a->size : b->size;
	while (off < total) {
		struct vhdx_extent e[2];
		uint64_t n = min_u64(total - off, half_len);
		size_t i;
		unsigned s;

		for (s = 0; s < 2; s++) {
			err = side_map(side[s], off, n, &e[s]);
			if (err) {
				ret->failed = s;
				ret->failed_offset = off;
				return err;
			}
		}
		n = min_u64(n, min_u64(e[0].length, e[1].length));
		if (e[0].kind == VHDX_EXTENT_DATA && e[1].kind == VHDX_EXTENT_DATA) {
			for (s = 0; s < 2; s++) {
				err = vhdx_reader_read(side[s], off, half[s], (size_t)n);
				if (err) {
					ret->failed = s;
					ret->failed_offset = off;
					return err;
				}
			}
			i = first_difference(half[0], half[1], (size_t)n);
		} else if (e[0].kind == VHDX_EXTENT_DATA || e[1].kind == VHDX_EXTENT_DATA) {
			s = e[0].kind == VHDX_EXTENT_DATA ? 0 : 1;
			err = vhdx_reader_read(side[s], off, half[s], (size_t)n);
			if (err) {
				ret->failed = s;
				ret->failed_offset = off;
				return err;
			}
			i = first_nonzero(half[s], (size_t)n);
		} else {
			i = (size_t)n;
		}
		if (i < n) {
			ret->difference = off + i;
			ret->compared = off + i;
			return VHDX_OK;
		}
		off += n;
		if (progress && progress(progress_ctx, off, total))
			return VHDX_ERR_ABORTED;
	}
	ret->same = true;
	ret->compared = total;
	return VHDX_OK;
}
