/* SPDX-License-Identifier: MIT */
/*
 * test_bmap.c - the bmap writer and parser of the core: what the writer
 * emits parses back to the same ranges and checksum; each broken rule is
 * refused with one line naming it (the file re-checksummed after the
 * break, so that the rule itself is what fails, not the file checksum).
 */
#include "test_util.h"
#include "vhdx_bmap.h"

static char file[64 * 1024];

/* A bmap of a 10 MiB + 512 byte image: blocks 0, 100-399 and the last (2560). */
static size_t make_bmap(char *out, size_t cap, uint64_t image_size)
{
	struct vhdx_bmap_writer w;
	struct vhdx_bmap_range r[3] = { { 0, 0, { 0 } }, { 100, 399, { 0 } }, { 2560, 2560, { 0 } } };
	char hex[65];
	size_t n, len = 0, i;

	for (i = 0; i < 3; i++)
		vhdx_sha256(&i, sizeof(i), r[i].sha256);
	assert_int_equal(vhdx_bmap_write_head(&w, image_size, 302, out, cap, &n), VHDX_OK);
	len += n;
	for (i = 0; i < 3; i++) {
		assert_int_equal(vhdx_bmap_write_range(&w, &r[i], out + len, cap - len, &n), VHDX_OK);
		len += n;
	}
	assert_int_equal(vhdx_bmap_write_checksum(&w, hex), VHDX_ERR_STATE);
	assert_int_equal(vhdx_bmap_write_tail(&w, out + len, cap - len, &n), VHDX_OK);
	len += n;
	assert_int_equal(vhdx_bmap_write_checksum(&w, hex), VHDX_OK);
	memcpy(out + w.checksum_offset, hex, 64);
	return len;
}

/* The file's BmapFileChecksum recomputed (after a deliberate break). */
static void reseal(char *text, size_t len)
{
	char *digits = strstr(text, "<BmapFileChecksum> ") + strlen("<BmapFileChecksum> ");
	uint8_t d[VHDX_SHA256_SIZE];
	char hex[65];

	memset(digits, '0', 64);
	vhdx_sha256(text, len, d);
	vhdx_sha256_hex(d, hex);
	memcpy(digits, hex, 64);
}

static void test_round_trip(void **state)
{
	struct vhdx_bmap_parser p;
	struct vhdx_bmap_range r;
	char why[256];
	size_t len, i;
	uint8_t d[VHDX_SHA256_SIZE];

	(void)state;
	len = make_bmap(file, sizeof(file), 10 * 1024 * 1024 + 512);
	file[len] = 0;
	assert_non_null(strstr(file, "<bmap version=\"2.0\">"));
	assert_non_null(strstr(file, "<ImageSize> 10486272 </ImageSize>"));
	assert_non_null(strstr(file, "<BlocksCount> 2561 </BlocksCount>"));
	assert_non_null(strstr(file, "<!-- Count of mapped blocks: 1.2 MiB or 11.8% -->"));
	assert_non_null(strstr(file, "\"> 100-399 </Range>\n"));
	assert_non_null(strstr(file, "\"> 2560 </Range>\n"));
	assert_int_equal(vhdx_bmap_parse(&p, file, len, why, sizeof(why)), VHDX_OK);
	assert_int_equal(p.info.image_size, 10 * 1024 * 1024 + 512);
	assert_int_equal(p.info.blocks_count, 2561);
	assert_int_equal(p.info.mapped_blocks, 302);
	assert_int_equal(p.info.ranges, 3);
	assert_int_equal(p.info.longest_range, 300);
	for (i = 0; vhdx_bmap_next(&p, &r); i++) {
		vhdx_sha256(&i, sizeof(i), d);
		assert_memory_equal(r.sha256, d, sizeof(d));
	}
	assert_int_equal(i, 3);
	assert_int_equal(r.first, 2560);
}

static void test_writer_rules(void **state)
{
	struct vhdx_bmap_writer w;
	struct vhdx_bmap_range r = { 5, 9, { 0 } };
	char small[100], buf[4096];
	size_t n;

	(void)state;
	assert_int_equal(vhdx_bmap_write_head(&w, 0, 0, buf, sizeof(buf), &n), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_bmap_write_head(&w, 40960, 11, buf, sizeof(buf), &n), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_bmap_write_head(&w, 40960, 5, small, sizeof(small), &n), VHDX_ERR_NOSPACE);
	assert_int_equal(vhdx_bmap_write_head(&w, 40960, 5, buf, sizeof(buf), &n), VHDX_OK);
	assert_int_equal(vhdx_bmap_write_range(&w, &r, small, 20, &n), VHDX_ERR_NOSPACE);
	assert_int_equal(vhdx_bmap_write_tail(&w, buf, sizeof(buf), &n), VHDX_ERR_INVAL); /* 0 of 5 */
	assert_int_equal(vhdx_bmap_write_range(&w, &r, buf, sizeof(buf), &n), VHDX_OK);
	assert_int_equal(vhdx_bmap_write_range(&w, &r, buf, sizeof(buf), &n), VHDX_ERR_INVAL); /* overlap */
	r.first = 10;
	r.last = 10; /* past BlocksCount (10) */
	assert_int_equal(vhdx_bmap_write_range(&w, &r, buf, sizeof(buf), &n), VHDX_ERR_INVAL);
	assert_int_equal(vhdx_bmap_write_tail(&w, buf, sizeof(buf), &n), VHDX_OK);
}

/* Replace the first @from in the file by @to, reseal unless @keep_sum. */
static size_t edit(const char *from, const char *to, bool keep_sum)
{
	size_t len = make_bmap(file, sizeof(file), 10 * 1024 * 1024 + 512);
	char *at, tail[64 * 1024];

	file[len] = 0;
	at = strstr(file, from);
	assert_non_null(at);
	strcpy(tail, at + strlen(from));
	strcpy(at, to);
	strcat(file, tail);
	len = strlen(file);
	if (!keep_sum)
		reseal(file, len);
	return len;
}

static void expect_refusal(size_t len, int err, const char *rule)
{
	struct vhdx_bmap_parser p;
	char why[256];

	why[0] = 0;
	assert_int_equal(vhdx_bmap_parse(&p, file, len, why, sizeof(why)), err);
	if (!strstr(why, rule))
		fail_msg("expected \"%s\", got \"%s\"", rule, why);
	assert_true(strncmp(why, "line ", 5) == 0);
	assert_null(strchr(why, '\n'));
}

static void test_refusals(void **state)
{
	size_t len;

	(void)state;
	len = make_bmap(file, sizeof(file), 10 * 1024 * 1024 + 512);
	/* cut anywhere: refused as truncated (a cut after "</bmap>" leaves a whole bmap) */
	{
		size_t cut, whole = strstr(file, "</bmap>") - file + strlen("</bmap>");

		for (cut = 1; cut < whole; cut++)
			expect_refusal(cut, VHDX_ERR_CORRUPT, "truncated");
	}
	expect_refusal(0, VHDX_ERR_CORRUPT, "empty");
	expect_refusal(edit("<ImageSize> 10486272", "<ImageSize> 10486272x", false), VHDX_ERR_CORRUPT,
		       "expected the end tag </ImageSize");
	expect_refusal(edit("<ImageSize> 10486272", "<ImageSize> -1", false), VHDX_ERR_CORRUPT,
		       "ImageSize: not a decimal number");
	expect_refusal(edit("<ImageSize> 10486272", "<ImageSize> 99999999999999999999", false), VHDX_ERR_RANGE,
		       "larger than 2^64");
	expect_refusal(edit("<ImageSize> 10486272", "<ImageSize> 10485760", false), VHDX_ERR_CORRUPT,
		       "BlocksCount is not ImageSize");
	expect_refusal(edit("<BlockSize> 4096", "<BlockSize> 512", false), VHDX_ERR_CORRUPT,
		       "BlockSize: only 4096");
	expect_refusal(edit("<MappedBlocksCount> 302", "<MappedBlocksCount> 303", false), VHDX_ERR_CORRUPT,
		       "MappedBlocksCount is not the number");
	expect_refusal(edit("<ChecksumType> sha256", "<ChecksumType> sha512", false), VHDX_ERR_CORRUPT,
		       "only sha256");
	expect_refusal(edit("\"> 100-399 <", "\"> 100-0399 <", true), VHDX_ERR_CORRUPT,
		       "BmapFileChecksum does not match");
	expect_refusal(edit("\"> 100-399 <", "\"> 399-100 <", false), VHDX_ERR_CORRUPT, "last block is before");
	expect_refusal(edit("\"> 100-399 <", "\"> 0-299 <", false), VHDX_ERR_CORRUPT, "not sorted or overlapping");
	expect_refusal(edit("\"> 2560 <", "\"> 2561 <", false), VHDX_ERR_CORRUPT, "past BlocksCount");
	expect_refusal(edit("\"> 2560 <", "\"> 2560- <", false), VHDX_ERR_CORRUPT, "Range last block");
	expect_refusal(edit("<Range chksum=\"", "<Range chksum=\"g", false), VHDX_ERR_CORRUPT,
		       "Range chksum: not 64 lowercase hex");
	expect_refusal(edit("<Range chksum=\"", "<Range sha1=\"", false), VHDX_ERR_CORRUPT, "not read: sha1");
	expect_refusal(edit("<BlockMap>", "<BlockMap><Other/>", false), VHDX_ERR_CORRUPT, "only <Range>");
	expect_refusal(edit("<BlockSize>", "<Extra> 1 </Extra><BlockSize>", false), VHDX_ERR_CORRUPT,
		       "not in a bmap 2.0: <Extra");
	expect_refusal(edit("<BlockSize> 4096 </BlockSize>", "", false), VHDX_ERR_CORRUPT,
		       "missing element <BlockSize>");
	expect_refusal(edit("<bmap version=\"2.0\">", "<bmap version=\"1.3\">", false), VHDX_ERR_CORRUPT,
		       "only 2.0");
	expect_refusal(edit("</bmap>\n", "</bmap>\nx", false), VHDX_ERR_CORRUPT, "content after </bmap>");
	expect_refusal(edit("<bmap ", "<!DOCTYPE x [<!ENTITY a \"b\">]><bmap ", false), VHDX_ERR_CORRUPT,
		       "DOCTYPE");
	expect_refusal(edit("file contains", "file -- contains", false), VHDX_ERR_CORRUPT, "'--' inside");
	/* the file checksum: one digit of it changed */
	len = make_bmap(file, sizeof(file), 10 * 1024 * 1024 + 512);
	file[len] = 0;
	{
		char *d = strstr(file, "<BmapFileChecksum> ") + strlen("<BmapFileChecksum> ");

		d[10] = d[10] == '0' ? '1' : '0';
	}
	expect_refusal(len, VHDX_ERR_CORRUPT, "BmapFileChecksum does not match");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_writer_rules),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
