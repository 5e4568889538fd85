/* SPDX-License-Identifier: MIT */
/*
 * vhdx_bmap.c - bmap 2.0 manifests (vhdx_bmap.h): the writer, in the shape
 * bmaptool 3.6 writes (BmapCreate: the same elements, order, comments and
 * indentation), and a strict parser of the XML subset it writes.
 */
#include "vhdx_bmap.h"
#include "vhdx_internal.h"

#define BMAP_VERSION "2.0"

void vhdx_bmap_range_bytes(const struct vhdx_bmap_range *r, uint64_t image_size, uint64_t *ret_start,
			   uint64_t *ret_end)
{
	uint64_t end = (r->last + 1) << VHDX_BMAP_BLOCK_SHIFT;

	*ret_start = r->first << VHDX_BMAP_BLOCK_SHIFT;
	*ret_end = end > image_size ? image_size : end;
}

static uint64_t blocks_of(uint64_t image_size)
{
	return (image_size >> VHDX_BMAP_BLOCK_SHIFT) + ((image_size & (VHDX_BMAP_BLOCK - 1)) != 0);
}

/* ---- writing ---- */

/* "10.0 MiB" as bmaptool's human_size: bytes below 512, else one decimal
 * in KiB..TiB (rounded half up; bmaptool's float rounding may differ by
 * 0.1 on an exact tie: a comment only). */
static void text_human(struct vhdx_text *t, uint64_t size)
{
	static const char units[4][4] = { "KiB", "MiB", "GiB", "TiB" };
	unsigned k, shift;
	uint64_t whole, tenths;

	if (size == 1) {
		vhdx_text_str(t, "1 byte");
		return;
	}
	if (size < 512) {
		vhdx_text_u64(t, size);
		vhdx_text_str(t, " bytes");
		return;
	}
	for (k = 0; k < 3 && (size >> (10 * (k + 1))) >= 1024; k++)
		;
	shift = 10 * (k + 1);
	whole = size >> shift;
	/* the remainder is < 2^40: times 10 fits */
	tenths = (((size & (((uint64_t)1 << shift) - 1)) * 10) + ((uint64_t)1 << (shift - 1))) >> shift;
	if (tenths == 10) {
		whole++;
		tenths = 0;
	}
	vhdx_text_u64(t, whole);
	vhdx_text_str(t, ".");
	vhdx_text_u64(t, tenths);
	vhdx_text_str(t, " ");
	vhdx_text_str(t, units[k]);
}

/* n / d by shift and subtract: no 64-bit division helpers on 32-bit targets. */
static uint64_t udiv64(uint64_t n, uint64_t d)
{
	uint64_t q = 0, r = 0;
	int i;

	for (i = 63; i >= 0; i--) {
		r = (r << 1) | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= (uint64_t)1 << i;
		}
	}
	return q;
}

/* "11.8%": mapped of all blocks, in tenths of a percent, rounded half up. */
static void text_percent(struct vhdx_text *t, uint64_t mapped, uint64_t blocks)
{
	uint32_t permille;

	while (blocks >= ((uint64_t)1 << 50)) { /* mapped * 2000 must fit */
		blocks >>= 1;
		mapped >>= 1;
	}
	permille = blocks ? (uint32_t)udiv64(mapped * 2000 + blocks, 2 * blocks) : 0; /* <= 1000 */
	vhdx_text_u64(t, permille / 10);
	vhdx_text_str(t, ".");
	vhdx_text_u64(t, permille % 10);
	vhdx_text_str(t, "%");
}

static int emit(struct vhdx_bmap_writer *w, struct vhdx_text *t, size_t *ret_len)
{
	if (vhdx_text_full(t))
		return VHDX_ERR_NOSPACE;
	vhdx_sha256_update(&w->file_hash, t->buf, t->pos);
	w->emitted += t->pos;
	*ret_len = t->pos;
	return VHDX_OK;
}

int vhdx_bmap_write_head(struct vhdx_bmap_writer *w, uint64_t image_size, uint64_t mapped_blocks, char *buf,
			 size_t len, size_t *ret_len)
{
	struct vhdx_text t;
	uint64_t blocks = blocks_of(image_size);
	size_t digits_at;
	unsigned i;

	if (!image_size || mapped_blocks > blocks)
		return VHDX_ERR_INVAL;
	vhdx_text_init(&t, buf, len);
	vhdx_text_str(&t,
		"<?xml version=\"1.0\" ?>\n"
		"<!-- This file contains the block map for an image file, which is basically\n"
		"     a list of useful (mapped) block numbers in the image file. In other words,\n"
		"     it lists only those blocks which contain data (boot sector, partition\n"
		"     table, file-system metadata, files, directories, extents, etc). These\n"
		"     blocks have to be copied to the target device. The other blocks do not\n"
		"     contain any useful data and do not have to be copied to the target\n"
		"     device.\n"
		"\n"
		"     The block map an optimization which allows to copy or flash the image to\n"
		"     the image quicker than copying of flashing the entire image. This is\n"
		"     because with bmap less data is copied: <MappedBlocksCount> blocks instead\n"
		"     of <BlocksCount> blocks.\n"
		"\n"
		"     Besides the machine-readable data, this file contains useful commentaries\n"
		"     which contain human-readable information like image size, percentage of\n"
		"     mapped data, etc.\n"
		"\n"
		"     The 'version' attribute is the block map file format version in the\n"
		"     'major.minor' format. The version major number is increased whenever an\n"
		"     incompatible block map format change is made. The minor number changes\n"
		"     in case of minor backward-compatible changes. -->\n"
		"\n"
		"<bmap version=\"" BMAP_VERSION "\">\n"
		"    <!-- Image size in bytes: ");
	text_human(&t, image_size);
	vhdx_text_str(&t, " -->\n    <ImageSize> ");
	vhdx_text_u64(&t, image_size);
	vhdx_text_str(&t, " </ImageSize>\n\n    <!-- Size of a block in bytes -->\n    <BlockSize> ");
	vhdx_text_u64(&t, VHDX_BMAP_BLOCK);
	vhdx_text_str(&t, " </BlockSize>\n\n    <!-- Count of blocks in the image file -->\n    <BlocksCount> ");
	vhdx_text_u64(&t, blocks);
	vhdx_text_str(&t, " </BlocksCount>\n\n    <!-- Count of mapped blocks: ");
	text_human(&t, mapped_blocks << VHDX_BMAP_BLOCK_SHIFT);
	vhdx_text_str(&t, " or ");
	text_percent(&t, mapped_blocks, blocks);
	vhdx_text_str(&t, " -->\n    <MappedBlocksCount> ");
	vhdx_text_u64(&t, mapped_blocks);
	vhdx_text_str(&t, " </MappedBlocksCount>\n\n"
		"    <!-- Type of checksum used in this file -->\n"
		"    <ChecksumType> sha256 </ChecksumType>\n\n"
		"    <!-- The checksum of this bmap file. When it is calculated, the value of\n"
		"         the checksum has be zero (all ASCII \"0\" symbols).  -->\n"
		"    <BmapFileChecksum> ");
	digits_at = t.pos;
	for (i = 0; i < VHDX_SHA256_HEX; i++)
		vhdx_text_str(&t, "0");
	vhdx_text_str(&t, " </BmapFileChecksum>\n\n"
		"    <!-- The block map which consists of elements which may either be a\n"
		"         range of blocks or a single block. The 'chksum' attribute\n"
		"         (if present) is the checksum of this blocks range. -->\n"
		"    <BlockMap>\n");
	if (vhdx_text_full(&t))
		return VHDX_ERR_NOSPACE;
	vhdx_mem_zero_(w, sizeof(*w));
	vhdx_sha256_init(&w->file_hash);
	w->image_size = image_size;
	w->blocks_count = blocks;
	w->mapped_blocks = mapped_blocks;
	w->checksum_offset = digits_at;
	return emit(w, &t, ret_len);
}

int vhdx_bmap_write_range(struct vhdx_bmap_writer *w, const struct vhdx_bmap_range *r, char *buf, size_t len,
			  size_t *ret_len)
{
	struct vhdx_text t;
	char hex[VHDX_SHA256_HEX + 1];
	int err;

	if (w->tail_done || r->first < w->next_block || r->last < r->first || r->last >= w->blocks_count)
		return VHDX_ERR_INVAL;
	vhdx_sha256_hex(r->sha256, hex);
	vhdx_text_init(&t, buf, len);
	vhdx_text_str(&t, "        <Range chksum=\"");
	vhdx_text_str(&t, hex);
	vhdx_text_str(&t, "\"> ");
	vhdx_text_u64(&t, r->first);
	if (r->last != r->first) {
		vhdx_text_str(&t, "-");
		vhdx_text_u64(&t, r->last);
	}
	vhdx_text_str(&t, " </Range>\n");
	err = emit(w, &t, ret_len);
	if (err)
		return err;
	w->ranged_blocks += r->last - r->first + 1;
	w->next_block = r->last + 1;
	return VHDX_OK;
}

int vhdx_bmap_write_tail(struct vhdx_bmap_writer *w, char *buf, size_t len, size_t *ret_len)
{
	struct vhdx_text t;
	int err;

	if (w->tail_done || w->ranged_blocks != w->mapped_blocks)
		return VHDX_ERR_INVAL;
	vhdx_text_init(&t, buf, len);
	vhdx_text_str(&t, "    </BlockMap>\n</bmap>\n");
	err = emit(w, &t, ret_len);
	if (!err)
		w->tail_done = true;
	return err;
}

int vhdx_bmap_write_checksum(struct vhdx_bmap_writer *w, char hex[VHDX_SHA256_HEX + 1])
{
	struct vhdx_sha256 copy;
	uint8_t digest[VHDX_SHA256_SIZE];

	if (!w->tail_done)
		return VHDX_ERR_STATE;
	vhdx_mem_copy_(&copy, &w->file_hash, sizeof(copy));
	vhdx_sha256_final(&copy, digest);
	vhdx_sha256_hex(digest, hex);
	return VHDX_OK;
}

/* ---- parsing ---- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool vhdx_sha256_from_hex(const char *hex, uint8_t digest[VHDX_SHA256_SIZE])
{
	unsigned i;

	for (i = 0; i < VHDX_SHA256_SIZE; i++) {
		int hi = hex_value(hex[2 * i]), lo = hi < 0 ? -1 : hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		digest[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

struct scan {
	const char *s;
	size_t len;
	size_t pos;
	struct vhdx_text *why;  /* NULL: no message (vhdx_bmap_next) */
};

/* "line N: " RULE [DETAIL] into why; VHDX_ERR_CORRUPT */
static int refuse(struct scan *sc, size_t at, const char *rule, const char *detail)
{
	uint64_t line = 1;
	size_t i;

	if (sc->why) {
		for (i = 0; i < at && i < sc->len; i++)
			line += sc->s[i] == '\n';
		vhdx_text_str(sc->why, "line ");
		vhdx_text_u64(sc->why, line);
		vhdx_text_str(sc->why, ": ");
		vhdx_text_str(sc->why, rule);
		if (detail)
			vhdx_text_str(sc->why, detail);
	}
	return VHDX_ERR_CORRUPT;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_space(struct scan *sc)
{
	while (sc->pos < sc->len && is_space(sc->s[sc->pos]))
		sc->pos++;
}

static bool at(const struct scan *sc, const char *lit)
{
	size_t n = vhdx_str_len_(lit);

	return sc->len - sc->pos >= n && vhdx_mem_equal_(sc->s + sc->pos, lit, n);
}

static bool eat(struct scan *sc, const char *lit)
{
	if (!at(sc, lit))
		return false;
	sc->pos += vhdx_str_len_(lit);
	return true;
}

/* True when the text ends inside @prefix followed by @name: a cut file. */
static bool cut_inside(const struct scan *sc, const char *prefix, const char *name)
{
	size_t i = sc->pos;

	for (; *prefix; prefix++, i++)
		if (i >= sc->len)
			return true;
		else if (sc->s[i] != *prefix)
			return false;
	for (; *name; name++, i++)
		if (i >= sc->len)
			return true;
		else if (sc->s[i] != *name)
			return false;
	return false;
}

/* Whitespace and comments (<!-- ... -->, no "--" inside: XML 1.0 [15]). */
static int skip_misc(struct scan *sc)
{
	for (;;) {
		size_t start;

		skip_space(sc);
		if (sc->pos < sc->len && cut_inside(sc, "<!", "--"))
			return refuse(sc, sc->pos, "truncated: a comment is not closed (-->)", NULL);
		if (!at(sc, "<!--"))
			return VHDX_OK;
		start = sc->pos;
		sc->pos += 4;
		for (;;) {
			if (sc->pos >= sc->len)
				return refuse(sc, start, "truncated: a comment is not closed (-->)", NULL);
			if (at(sc, "--")) {
				if (cut_inside(sc, "--", ">"))
					return refuse(sc, start, "truncated: a comment is not closed (-->)", NULL);
				if (!at(sc, "-->"))
					return refuse(sc, sc->pos, "'--' inside a comment (XML 1.0)", NULL);
				sc->pos += 3;
				break;
			}
			sc->pos++;
		}
	}
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-' || c == '.' || c == ':';
}

/* A name at sc->pos into @name (cut to fit, NUL-terminated); its length. */
static size_t scan_name(struct scan *sc, char *name, size_t cap)
{
	size_t n = 0;

	while (sc->pos < sc->len && name_char(sc->s[sc->pos])) {
		if (n + 1 < cap)
			name[n] = sc->s[sc->pos];
		n++;
		sc->pos++;
	}
	name[n + 1 < cap ? n : cap - 1] = '\0';
	return n;
}

/*
 * After "<Name": no attribute, or exactly @attr="value" (either quote),
 * then ">".  *ret_value/_len: the value (NULL when @attr is NULL).
 */
static int scan_attrs(struct scan *sc, const char *elem, const char *attr, const char **ret_value,
		      size_t *ret_len)
{
	char name[24];
	bool seen = false;

	for (;;) {
		size_t start = sc->pos, vstart;
		char quote;

		skip_space(sc);
		if (sc->pos >= sc->len)
			return refuse(sc, start, "truncated inside the tag <", elem);
		if (eat(sc, ">"))
			break;
		if (at(sc, "/>"))
			return refuse(sc, sc->pos, "an empty element: <", elem);
		if (sc->pos == start)
			return refuse(sc, sc->pos, "no space before an attribute of <", elem);
		start = sc->pos;
		if (!scan_name(sc, name, sizeof(name)))
			return refuse(sc, start, "not an attribute in <", elem);
		if (sc->pos >= sc->len)
			return refuse(sc, start, "truncated inside the tag <", elem);
		if (!attr || !vhdx_mem_equal_(name, attr, vhdx_str_len_(attr) + 1))
			return refuse(sc, start, "an attribute that is not read: ", name);
		if (seen)
			return refuse(sc, start, "an attribute given twice: ", name);
		seen = true;
		skip_space(sc);
		if (sc->pos < sc->len && !eat(sc, "="))
			return refuse(sc, sc->pos, "no '=' after the attribute ", name);
		skip_space(sc);
		if (sc->pos >= sc->len)
			return refuse(sc, start, "truncated inside the tag <", elem);
		if (sc->s[sc->pos] != '"' && sc->s[sc->pos] != '\'')
			return refuse(sc, sc->pos, "an attribute value not in quotes: ", name);
		quote = sc->s[sc->pos++];
		vstart = sc->pos;
		while (sc->pos < sc->len && sc->s[sc->pos] != quote) {
			if (sc->s[sc->pos] == '<' || sc->s[sc->pos] == '&')
				return refuse(sc, sc->pos, "'<' or '&' in the value of ", name);
			sc->pos++;
		}
		if (sc->pos >= sc->len)
			return refuse(sc, vstart, "truncated: the value of ", name);
		*ret_value = sc->s + vstart;
		*ret_len = sc->pos - vstart;
		sc->pos++;
	}
	if (attr && !seen)
		return refuse(sc, sc->pos, "<", elem[0] == 'R' ? "Range> without its chksum attribute" :
								 "bmap> without its version attribute");
	return VHDX_OK;
}

/* "</Name" spaces ">" */
static int scan_end_tag(struct scan *sc, const char *elem)
{
	size_t start = sc->pos, n = vhdx_str_len_(elem);

	if (cut_inside(sc, "</", elem))
		return refuse(sc, start, "truncated: no end tag </", elem);
	if (!eat(sc, "</") || sc->len - sc->pos < n || !vhdx_mem_equal_(sc->s + sc->pos, elem, n))
		return refuse(sc, start, "expected the end tag </", elem);
	sc->pos += n;
	skip_space(sc);
	if (!eat(sc, ">"))
		return refuse(sc, start, sc->pos >= sc->len ? "truncated: end tag </" : "a bad end tag </", elem);
	return VHDX_OK;
}

/* A decimal number (digits only, at most 2^64 - 1) at sc->pos. */
static int scan_number(struct scan *sc, const char *what, uint64_t *ret)
{
	size_t start = sc->pos;
	uint64_t v = 0;

	if (sc->pos >= sc->len)
		return refuse(sc, start, "truncated: ", what);
	if (sc->s[sc->pos] < '0' || sc->s[sc->pos] > '9')
		return refuse(sc, start, what, ": not a decimal number");
	while (sc->pos < sc->len && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9') {
		uint64_t d = (uint64_t)(sc->s[sc->pos] - '0');

		/* folded constants: no runtime division */
		if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10)) {
			refuse(sc, start, what, ": a number larger than 2^64 - 1");
			return VHDX_ERR_RANGE;
		}
		v = v * 10 + d;
		sc->pos++;
	}
	*ret = v;
	return VHDX_OK;
}

/* 64 lowercase hex digits of @len: the digest. */
static int scan_digest(struct scan *sc, const char *value, size_t len, const char *what, uint8_t *digest)
{
	if (len != VHDX_SHA256_HEX || !vhdx_sha256_from_hex(value, digest))
		return refuse(sc, (size_t)(value - sc->s), what, ": not 64 lowercase hex digits (SHA-256)");
	return VHDX_OK;
}

/* After "<Range": attributes, "first[-last]", the end tag. */
static int scan_range(struct scan *sc, struct vhdx_bmap_range *r)
{
	const char *value = NULL;
	size_t vlen = 0;
	int err;

	err = scan_attrs(sc, "Range", "chksum", &value, &vlen);
	if (!err)
		err = scan_digest(sc, value, vlen, "Range chksum", r->sha256);
	if (err)
		return err;
	skip_space(sc);
	err = scan_number(sc, "Range first block", &r->first);
	if (err)
		return err;
	skip_space(sc);
	if (eat(sc, "-")) {
		skip_space(sc);
		err = scan_number(sc, "Range last block", &r->last);
		if (err)
			return err;
		skip_space(sc);
	} else {
		r->last = r->first;
	}
	return scan_end_tag(sc, "Range");
}

enum field { F_IMAGE_SIZE, F_BLOCK_SIZE, F_BLOCKS_COUNT, F_MAPPED, F_CHECKSUM_TYPE, F_FILE_CHECKSUM,
	     F_BLOCK_MAP, F_COUNT };

static const char field_names[F_COUNT][sizeof("MappedBlocksCount")] = {
	"ImageSize", "BlockSize", "BlocksCount", "MappedBlocksCount", "ChecksumType", "BmapFileChecksum",
	"BlockMap",
};

struct parse_state {
	size_t seen_at[F_COUNT];   /* [byte] + 1 where each was found; 0: not yet */
	uint64_t value[F_COUNT];   /* the numbers */
	size_t digits_at;          /* [byte] BmapFileChecksum's digits */
	size_t last_range_at;
	uint64_t last_range_last;
	uint64_t ranged_blocks;
};

static int scan_block_map_ranges(struct scan *sc, struct vhdx_bmap_parser *p, struct parse_state *ps)
{
	struct vhdx_bmap_range r;
	int err;

	for (;;) {
		size_t start;

		err = skip_misc(sc);
		if (err)
			return err;
		start = sc->pos;
		if (at(sc, "</"))
			return scan_end_tag(sc, "BlockMap");
		if (cut_inside(sc, "<", "Range"))
			return refuse(sc, start, "truncated: the BlockMap is not closed", NULL);
		if (!eat(sc, "<Range") || (sc->pos < sc->len && name_char(sc->s[sc->pos])))
			return refuse(sc, start, "the BlockMap holds only <Range> elements", NULL);
		err = scan_range(sc, &r);
		if (err)
			return err;
		if (r.last < r.first)
			return refuse(sc, start, "a Range whose last block is before its first", NULL);
		if (p->info.ranges && r.first <= ps->last_range_last)
			return refuse(sc, start, "Ranges not sorted or overlapping (each must start after the "
				      "previous one's last block)", NULL);
		p->info.ranges++;
		if (r.last - r.first + 1 > p->info.longest_range)
			p->info.longest_range = r.last - r.first + 1;
		ps->ranged_blocks += r.last - r.first + 1; /* sorted, disjoint: no overflow */
		ps->last_range_last = r.last;
		ps->last_range_at = start;
	}
}

/* One of the header's elements, after "<Name". */
static int scan_field(struct scan *sc, struct vhdx_bmap_parser *p, struct parse_state *ps, enum field f)
{
	const char *name = field_names[f];
	int err;

	err = scan_attrs(sc, name, NULL, NULL, NULL);
	if (err)
		return err;
	skip_space(sc);
	if (f == F_CHECKSUM_TYPE) {
		size_t start = sc->pos;

		while (sc->pos < sc->len && name_char(sc->s[sc->pos]))
			sc->pos++;
		if (sc->pos >= sc->len)
			return refuse(sc, start, "truncated: ChecksumType", NULL);
		if (sc->pos - start != 6 || !vhdx_mem_equal_(sc->s + start, "sha256", 6))
			return refuse(sc, start, "ChecksumType: only sha256 is read", NULL);
	} else if (f == F_FILE_CHECKSUM) {
		size_t start = sc->pos;

		while (sc->pos < sc->len && name_char(sc->s[sc->pos]))
			sc->pos++;
		if (sc->pos >= sc->len)
			return refuse(sc, start, "truncated: BmapFileChecksum", NULL);
		err = scan_digest(sc, sc->s + start, sc->pos - start, "BmapFileChecksum", p->info.file_checksum);
		if (err)
			return err;
		ps->digits_at = start;
	} else if (f == F_BLOCK_MAP) {
		p->ranges_at = sc->pos;
		return scan_block_map_ranges(sc, p, ps);
	} else {
		err = scan_number(sc, name, &ps->value[f]);
		if (err)
			return err;
	}
	skip_space(sc);
	return scan_end_tag(sc, name);
}

static int check_file_checksum(struct scan *sc, const struct vhdx_bmap_parser *p, const struct parse_state *ps)
{
	struct vhdx_sha256 h;
	char zeros[VHDX_SHA256_HEX];
	uint8_t digest[VHDX_SHA256_SIZE];
	char found[VHDX_SHA256_HEX + 1];

	unsigned i;

	for (i = 0; i < VHDX_SHA256_HEX; i++)
		zeros[i] = '0';
	vhdx_sha256_init(&h);
	vhdx_sha256_update(&h, sc->s, ps->digits_at);
	vhdx_sha256_update(&h, zeros, sizeof(zeros));
	vhdx_sha256_update(&h, sc->s + ps->digits_at + VHDX_SHA256_HEX, sc->len - ps->digits_at - VHDX_SHA256_HEX);
	vhdx_sha256_final(&h, digest);
	if (vhdx_mem_equal_(digest, p->info.file_checksum, sizeof(digest)))
		return VHDX_OK;
	vhdx_sha256_hex(digest, found);
	return refuse(sc, ps->digits_at, "BmapFileChecksum does not match the file (its SHA-256 with these "
		      "digits as zeros is ", found);
}

int vhdx_bmap_parse(struct vhdx_bmap_parser *p, const char *text, size_t len, char *why, size_t why_len)
{
	struct vhdx_text t;
	struct scan sc = { text, len, 0, &t };
	struct parse_state ps;
	const char *version = NULL;
	size_t vlen = 0, start;
	char name[24];
	unsigned f;
	int err;

	vhdx_text_init(&t, why, why_len);
	vhdx_mem_zero_(p, sizeof(*p));
	vhdx_mem_zero_(&ps, sizeof(ps));
	p->text = text;
	p->len = len;
	if (!text || !len)
		return refuse(&sc, 0, "an empty file, not a bmap", NULL);
	if (cut_inside(&sc, "<?", "xml"))
		return refuse(&sc, 0, "truncated: the XML declaration is not closed", NULL);
	if (at(&sc, "<?xml")) {
		while (sc.pos < len && !at(&sc, "?>"))
			sc.pos++;
		if (!eat(&sc, "?>"))
			return refuse(&sc, 0, "truncated: the XML declaration is not closed", NULL);
	}
	err = skip_misc(&sc);
	if (err)
		return err;
	start = sc.pos;
	if (cut_inside(&sc, "<", "bmap"))
		return refuse(&sc, start, "truncated: no <bmap> element", NULL);
	if (at(&sc, "<!") || at(&sc, "<?"))
		return refuse(&sc, start, "a DOCTYPE, CDATA or processing instruction (not in a bmap)", NULL);
	if (!eat(&sc, "<bmap") || (sc.pos < len && name_char(text[sc.pos])))
		return refuse(&sc, start, sc.pos >= len ? "truncated: no <bmap> element" : "not a bmap: the root "
			      "element is not <bmap>", NULL);
	err = scan_attrs(&sc, "bmap", "version", &version, &vlen);
	if (err)
		return err;
	if (vlen != 3 || !vhdx_mem_equal_(version, BMAP_VERSION, 3))
		return refuse(&sc, start, "bmap version: only " BMAP_VERSION " is read", NULL);
	for (;;) {
		err = skip_misc(&sc);
		if (err)
			return err;
		start = sc.pos;
		if (at(&sc, "</"))
			break;
		if (sc.pos >= len)
			return refuse(&sc, start, "truncated: no </bmap>", NULL);
		if (!eat(&sc, "<"))
			return refuse(&sc, start, "text between the elements of <bmap>", NULL);
		if (at(&sc, "!") || at(&sc, "?"))
			return refuse(&sc, start, "a DOCTYPE, CDATA or processing instruction (not in a bmap)", NULL);
		scan_name(&sc, name, sizeof(name));
		if (sc.pos >= len)
			return refuse(&sc, start, "truncated inside the tag <", name);
		for (f = 0; f < F_COUNT; f++)
			if (vhdx_mem_equal_(name, field_names[f], vhdx_str_len_(field_names[f]) + 1))
				break;
		if (f == F_COUNT)
			return refuse(&sc, start, "an element that is not in a bmap 2.0: <", name);
		if (ps.seen_at[f])
			return refuse(&sc, start, "an element given twice: <", name);
		ps.seen_at[f] = start + 1;
		err = scan_field(&sc, p, &ps, (enum field)f);
		if (err)
			return err;
	}
	err = scan_end_tag(&sc, "bmap");
	if (!err)
		err = skip_misc(&sc);
	if (err)
		return err;
	if (sc.pos != len)
		return refuse(&sc, sc.pos, "content after </bmap>", NULL);
	for (f = 0; f < F_COUNT; f++)
		if (!ps.seen_at[f]) {
			refuse(&sc, len, "missing element <", field_names[f]);
			vhdx_text_str(&t, ">");
			return VHDX_ERR_CORRUPT;
		}
	/* an altered file is named as such before any rule of its content */
	err = check_file_checksum(&sc, p, &ps);
	if (err) {
		vhdx_text_str(&t, ")");
		return err;
	}
	p->info.image_size = ps.value[F_IMAGE_SIZE];
	p->info.blocks_count = ps.value[F_BLOCKS_COUNT];
	p->info.mapped_blocks = ps.value[F_MAPPED];
	if (ps.value[F_BLOCK_SIZE] != VHDX_BMAP_BLOCK)
		return refuse(&sc, ps.seen_at[F_BLOCK_SIZE] - 1, "BlockSize: only 4096 is read", NULL);
	if (!p->info.image_size)
		return refuse(&sc, ps.seen_at[F_IMAGE_SIZE] - 1, "ImageSize 0: an empty image", NULL);
	if (p->info.blocks_count != blocks_of(p->info.image_size))
		return refuse(&sc, ps.seen_at[F_BLOCKS_COUNT] - 1,
			      "BlocksCount is not ImageSize in 4096-byte blocks, rounded up", NULL);
	if (p->info.ranges && ps.last_range_last >= p->info.blocks_count)
		return refuse(&sc, ps.last_range_at, "a Range past BlocksCount", NULL);
	if (ps.ranged_blocks != p->info.mapped_blocks)
		return refuse(&sc, ps.seen_at[F_MAPPED] - 1,
			      "MappedBlocksCount is not the number of blocks in the Ranges", NULL);
	p->pos = p->ranges_at;
	return VHDX_OK;
}

int vhdx_bmap_next(struct vhdx_bmap_parser *p, struct vhdx_bmap_range *ret)
{
	struct scan sc = { p->text, p->len, p->pos, NULL };

	/* the BlockMap was checked whole by vhdx_bmap_parse: errors here mean misuse */
	if (!p->text || p->pos < p->ranges_at || skip_misc(&sc) || !eat(&sc, "<Range") || scan_range(&sc, ret))
		return 0;
	p->pos = sc.pos;
	return 1;
}

/* ---- --bmap-sha256 ---- */

int vhdx_bmap_check_pin(const char *text, size_t len, const char *pin, uint8_t *ret_digest, char *why,
			size_t why_len)
{
	uint8_t digest[VHDX_SHA256_SIZE];
	char hex[VHDX_SHA256_HEX + 1];
	struct vhdx_text t;
	size_t i;

	vhdx_sha256(text, len, digest);
	if (ret_digest)
		vhdx_mem_copy_(ret_digest, digest, sizeof(digest));
	vhdx_sha256_hex(digest, hex);
	for (i = 0; i < VHDX_SHA256_HEX && pin[i]; i++) {
		char c = pin[i] >= 'A' && pin[i] <= 'F' ? (char)(pin[i] - 'A' + 'a') : pin[i];

		if (c != hex[i])
			break;
	}
	if (i == VHDX_SHA256_HEX && !pin[i])
		return VHDX_OK;
	vhdx_text_init(&t, why, why_len);
	vhdx_text_str(&t, "its SHA-256 is ");
	vhdx_text_str(&t, hex);
	vhdx_text_str(&t, ", not the --bmap-sha256 given (");
	vhdx_text_str(&t, pin);
	vhdx_text_str(&t, ")");
	return VHDX_ERR_CORRUPT;
}
