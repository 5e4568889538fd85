/* SPDX-License-Identifier: MIT */
/* test_identify.c - vhdx_sector_mismatch: what counts as a partition table,
 * and which sectors it counts. */
#include <stdio.h>

#include "test_util.h"
#include "vhdx_identify.h"

static uint8_t head[VHDX_PARTITION_HEAD];

static void put_gpt(size_t at)
{
	memcpy(head + at, "EFI PART", 8);
}

/* MBR entry @i (UEFI 2.x table 5.2): status, type, first LBA, sector count */
static void put_mbr_entry(unsigned i, uint8_t status, uint8_t type, uint32_t first, uint32_t count)
{
	uint8_t *e = head + 446 + 16 * i;

	e[0] = status;
	e[4] = type;
	memcpy(e + 8, &first, 4);
	memcpy(e + 12, &count, 4);
	head[510] = 0x55;
	head[511] = 0xAA;
}

static bool mismatch(uint32_t image_sector, uint32_t device_sector, char *why, size_t why_len)
{
	return vhdx_sector_mismatch(head, sizeof(head), image_sector, device_sector, why, why_len);
}

static void expect_why(uint32_t image_sector, uint32_t device_sector, const char *fragment)
{
	char why[320] = "";

	if (!mismatch(image_sector, device_sector, why, sizeof(why)))
		fail_msg("%u onto %u: no mismatch found, expected '%s'", image_sector, device_sector, fragment);
	if (!strstr(why, fragment))
		fail_msg("%u onto %u: '%s' lacks '%s'", image_sector, device_sector, why, fragment);
	assert_null(strchr(why, '\n'));
}

static void test_gpt(void **state)
{
	char why[320] = "untouched";

	(void)state;
	memset(head, 0, sizeof(head));
	put_mbr_entry(0, 0x00, 0xEE, 1, 0xFFFFFFFFu); /* protective MBR */
	put_gpt(512);
	expect_why(512, 4096, "the image's GPT partition table (header at byte 512, LBA 1) counts 512-byte "
			      "sectors, the device's are 4096 bytes");
	expect_why(0, 4096, "header at byte 512"); /* a raw file: the GPT tells */
	assert_false(mismatch(512, 512, why, sizeof(why)));
	assert_false(mismatch(0, 512, why, sizeof(why)));
	assert_string_equal(why, "untouched");

	/* a 4096-byte GPT (LBA 1 = byte 4096) */
	memset(head + 512, 0, 8);
	put_gpt(4096);
	expect_why(4096, 512, "(header at byte 4096, LBA 1) counts 4096-byte sectors, the device's are 512 bytes");
	expect_why(0, 512, "counts 4096-byte sectors");
	assert_false(mismatch(4096, 4096, NULL, 0));
	/* a 512-sector VHDX that holds a disk laid out for 4096: its table
	 * matches a 4096-byte device, not a 512-byte one */
	assert_false(mismatch(512, 4096, NULL, 0));
	assert_true(mismatch(512, 512, NULL, 0));
}

static void test_mbr(void **state)
{
	(void)state;
	memset(head, 0, sizeof(head));
	put_mbr_entry(1, 0x80, 0x83, 2048, 32768);
	expect_why(512, 4096, "the image's MBR partition table counts the image's 512-byte sectors, the device's "
			      "are 4096 bytes");
	expect_why(4096, 512, "counts the image's 4096-byte sectors, the device's are 512 bytes");
	assert_false(mismatch(512, 512, NULL, 0));
	assert_false(mismatch(0, 4096, NULL, 0)); /* a raw file: an MBR does not say its sector */
	/* a protective MBR alone (the GPT header lost) is still a table */
	memset(head, 0, sizeof(head));
	put_mbr_entry(0, 0x00, 0xEE, 1, 131071);
	assert_true(mismatch(512, 4096, NULL, 0));
}

static void test_no_table(void **state)
{
	unsigned i;

	(void)state;
	memset(head, 0, sizeof(head));
	assert_false(mismatch(512, 4096, NULL, 0)); /* blank */
	head[510] = 0x55;
	head[511] = 0xAA;
	assert_false(mismatch(512, 4096, NULL, 0)); /* a signature, every entry empty */
	put_mbr_entry(0, 0x00, 0x83, 2048, 0);
	assert_false(mismatch(512, 4096, NULL, 0)); /* a type, no length */
	/* a filesystem's boot sector: boot code where the entries would be */
	for (i = 0; i < 64; i++)
		head[446 + i] = (uint8_t)(0x1F + 7 * i);
	assert_false(mismatch(512, 4096, NULL, 0));
	/* a device that says no sector size, a head too short for any table */
	memset(head, 0, sizeof(head));
	put_gpt(512);
	assert_false(mismatch(512, 0, NULL, 0));
	assert_false(vhdx_sector_mismatch(head, 512, 512, 4096, NULL, 0));
	assert_true(vhdx_sector_mismatch(head, 520, 512, 4096, NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gpt),
		cmocka_unit_test(test_mbr),
		cmocka_unit_test(test_no_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
