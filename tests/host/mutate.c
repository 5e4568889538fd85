/* SPDX-License-Identifier: MIT */
/*
 * mutate.c - break exactly one rule of a valid VHDX in place, fixing up the
 * checksums the rule is not about (tests/host/test_mutations.sh).
 *
 *   mutate IMAGE NAME      NAME as in the table at the end; exit 0 if applied
 *
 * Built by the test against the core library (CRC-32C, GUID constants).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhdx_internal.h"

static int fd;
static uint64_t meta_off, bat_off;

static void die(const char *what)
{
	fprintf(stderr, "mutate: %s\n", what);
	exit(2);
}

static void rd(uint64_t off, void *buf, size_t len)
{
	if (pread(fd, buf, len, (off_t)off) != (ssize_t)len)
		die("short read");
}

static void wr(uint64_t off, const void *buf, size_t len)
{
	if (pwrite(fd, buf, len, (off_t)off) != (ssize_t)len)
		die("short write");
}

static uint32_t r32(uint64_t off)
{
	uint8_t b[4];

	rd(off, b, 4);
	return vhdx_get_le32(b);
}

static uint64_t r64(uint64_t off)
{
	uint8_t b[8];

	rd(off, b, 8);
	return vhdx_get_le64(b);
}

static void w16(uint64_t off, uint16_t v)
{
	uint8_t b[2];

	vhdx_put_le16(b, v);
	wr(off, b, 2);
}

static void w32(uint64_t off, uint32_t v)
{
	uint8_t b[4];

	vhdx_put_le32(b, v);
	wr(off, b, 4);
}

static void w64(uint64_t off, uint64_t v)
{
	uint8_t b[8];

	vhdx_put_le64(b, v);
	wr(off, b, 8);
}

static void fix_crc(uint64_t off, size_t len)
{
	uint8_t *b = malloc(len);

	if (!b)
		die("memory");
	rd(off, b, len);
	memset(b + 4, 0, 4);
	w32(off + 4, vhdx_crc32c(0, b, len));
	free(b);
}

static uint64_t hdr(int i)
{
	return i ? VHDX_HEADER2_OFFSET : VHDX_HEADER1_OFFSET;
}

static int current(void)
{
	return r64(hdr(1) + 8) > r64(hdr(0) + 8);
}

static void fix_hdr(int i)
{
	fix_crc(hdr(i), VHDX_HEADER_SIZE);
}

/* Region table 1 was edited: fix its CRC and make table 2 the same. */
static void sync_rgn(void)
{
	uint8_t b[VHDX_REGION_TABLE_SIZE];

	fix_crc(VHDX_REGION_TABLE1_OFFSET, VHDX_REGION_TABLE_SIZE);
	rd(VHDX_REGION_TABLE1_OFFSET, b, sizeof(b));
	wr(VHDX_REGION_TABLE2_OFFSET, b, sizeof(b));
}

static uint64_t rgn_entry(const struct vhdx_guid *g)
{
	uint32_t i, n = r32(VHDX_REGION_TABLE1_OFFSET + 8);

	for (i = 0; i < n; i++) {
		uint64_t e = VHDX_REGION_TABLE1_OFFSET + 16 + 32 * i;
		struct vhdx_guid x;

		rd(e, &x, 16);
		if (vhdx_guid_equal(&x, g))
			return e;
	}
	die("region not found");
	return 0;
}

static uint64_t meta_entry(const struct vhdx_guid *g)
{
	uint32_t i, n = r32(meta_off + 8) >> 16;

	for (i = 0; i < n; i++) {
		uint64_t e = meta_off + 32 + 32 * i;
		struct vhdx_guid x;

		rd(e, &x, 16);
		if (vhdx_guid_equal(&x, g))
			return e;
	}
	die("metadata item not found");
	return 0;
}

static uint64_t item(const struct vhdx_guid *g)
{
	return meta_off + r32(meta_entry(g) + 16);
}

/* Byte offset of parent locator entry k's field at +f. */
static uint64_t pl_entry(unsigned k)
{
	static const struct vhdx_guid pl = VHDX_GUID_PARENT_LOCATOR;

	return item(&pl) + 20 + 12 * k;
}

int main(int argc, char **argv)
{
	static const struct vhdx_guid g_bat = VHDX_GUID_BAT_REGION, g_meta = VHDX_GUID_METADATA_REGION,
				      g_fp = VHDX_GUID_FILE_PARAMETERS, g_vds = VHDX_GUID_VIRTUAL_DISK_SIZE,
				      g_lss = VHDX_GUID_LOGICAL_SECTOR_SIZE,
				      g_pss = VHDX_GUID_PHYSICAL_SECTOR_SIZE,
				      g_id = VHDX_GUID_VIRTUAL_DISK_ID, g_pl = VHDX_GUID_PARENT_LOCATOR;
	static const struct vhdx_guid g_odd = { { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
						  0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01 } };
	const char *m;
	int c;
	struct stat st;

	if (argc != 3)
		die("usage: mutate IMAGE NAME");
	m = argv[2];
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || fstat(fd, &st))
		die("cannot open image");
	meta_off = r64(rgn_entry(&g_meta) + 16);
	bat_off = r64(rgn_entry(&g_bat) + 16);
	c = current();

#define IS(name) (strcmp(m, name) == 0)
	if (IS("base.parent_of_sample")) {
		/* DataWriteGuid = the differencing sample's parent_linkage, both headers */
		struct vhdx_guid g;
		int i;

		if (vhdx_guid_from_text(&g, "ff34003b-11ed-4cf8-a166-b2be05e20b80", 36))
			die("guid");
		for (i = 0; i < 2; i++) {
			wr(hdr(i) + 32, &g, 16);
			fix_hdr(i);
		}
	} else if (IS("base.small_blocks")) {
		/* still valid: 1 MiB blocks, 8 GiB, so that P > chunk ratio */
		w32(item(&g_fp), VHDX_MiB);
		w64(item(&g_vds), 8ull << 30);
	} else if (IS("file.signature")) {
		wr(7, "x", 1);
	} else if (IS("file.truncated")) {
		if (ftruncate(fd, 100 * 1024))
			die("truncate");
	} else if (IS("file.trailing")) {
		uint8_t z[4096] = { 0 };

		wr((uint64_t)st.st_size, z, sizeof(z));
	} else if (IS("hdr.signature")) {
		wr(hdr(0), "HEAD", 4);
	} else if (IS("hdr.checksum")) {
		wr(hdr(0) + 200, "x", 1);
	} else if (IS("hdr.version")) {
		w16(hdr(0) + 66, 2);
		fix_hdr(0);
	} else if (IS("hdr.log_version")) {
		w16(hdr(0) + 64, 1);
		fix_hdr(0);
	} else if (IS("hdr.reserved")) {
		wr(hdr(0) + 100, "x", 1);
		fix_hdr(0);
	} else if (IS("hdr.log_align")) {
		w64(hdr(0) + 72, r64(hdr(0) + 72) + 4096);
		fix_hdr(0);
	} else if (IS("hdr.log_place")) {
		/* the log grows over the metadata region (2 MiB) */
		w32(hdr(c) + 68, 2 * VHDX_MiB);
		fix_hdr(c);
	} else if (IS("hdr.log_outside")) {
		w64(hdr(c) + 72, VHDX_MiB * (uint64_t)(st.st_size / VHDX_MiB + 16));
		fix_hdr(c);
	} else if (IS("hdr.none_valid")) {
		wr(hdr(0) + 200, "x", 1);
		wr(hdr(1) + 200, "x", 1);
	} else if (IS("hdr.ambiguous")) {
		w64(hdr(0) + 8, r64(hdr(1) + 8));
		wr(hdr(0) + 16, "x", 1);
		fix_hdr(0);
	} else if (IS("log.replay")) {
		/* LogGuid set and an entry header carrying it (its checksum
		 * wrong): replay pending; without any, log.guid_unused */
		wr(hdr(c) + 48, &g_odd, 16);
		fix_hdr(c);
		wr(r64(hdr(c) + 72), "loge", 4);
		wr(r64(hdr(c) + 72) + 32, &g_odd, 16);
	} else if (IS("log.guid_unused")) {
		wr(hdr(c) + 48, &g_odd, 16);
		fix_hdr(c);
	} else if (IS("rgn.signature")) {
		wr(VHDX_REGION_TABLE1_OFFSET, "REGI", 4);
	} else if (IS("rgn.checksum")) {
		wr(VHDX_REGION_TABLE1_OFFSET + 1000, "x", 1);
	} else if (IS("rgn.count")) {
		w32(VHDX_REGION_TABLE1_OFFSET + 8, 3000);
		sync_rgn();
	} else if (IS("rgn.reserved")) {
		w32(VHDX_REGION_TABLE1_OFFSET + 12, 1);
		sync_rgn();
	} else if (IS("rgn.offset")) {
		w64(rgn_entry(&g_meta) + 16, meta_off + 4096);
		sync_rgn();
	} else if (IS("rgn.length")) {
		w32(rgn_entry(&g_bat) + 24, r32(rgn_entry(&g_bat) + 24) + 4096);
		sync_rgn();
	} else if (IS("rgn.required_bits")) {
		w32(rgn_entry(&g_bat) + 28, 3);
		sync_rgn();
	} else if (IS("rgn.not_required")) {
		w32(rgn_entry(&g_bat) + 28, 0);
		sync_rgn();
	} else if (IS("rgn.overlap")) {
		/* a second, optional region over the BAT */
		uint64_t e = VHDX_REGION_TABLE1_OFFSET + 16 + 32 * r32(VHDX_REGION_TABLE1_OFFSET + 8);

		wr(e, &g_odd, 16);
		w64(e + 16, bat_off);
		w32(e + 24, VHDX_MiB);
		w32(e + 28, 0);
		w32(VHDX_REGION_TABLE1_OFFSET + 8, r32(VHDX_REGION_TABLE1_OFFSET + 8) + 1);
		sync_rgn();
	} else if (IS("rgn.duplicate")) {
		uint64_t e = VHDX_REGION_TABLE1_OFFSET + 16 + 32 * r32(VHDX_REGION_TABLE1_OFFSET + 8);
		uint8_t b[32];

		rd(rgn_entry(&g_bat), b, 32);
		wr(e, b, 32);
		w32(VHDX_REGION_TABLE1_OFFSET + 8, r32(VHDX_REGION_TABLE1_OFFSET + 8) + 1);
		sync_rgn();
	} else if (IS("rgn.unknown_required")) {
		uint64_t e = VHDX_REGION_TABLE1_OFFSET + 16 + 32 * r32(VHDX_REGION_TABLE1_OFFSET + 8);
		uint64_t end = VHDX_ALIGN_UP((uint64_t)st.st_size, VHDX_MiB);
		uint8_t z[4096] = { 0 };

		wr(e, &g_odd, 16);
		w64(e + 16, end);
		w32(e + 24, VHDX_MiB);
		w32(e + 28, 1);
		w32(VHDX_REGION_TABLE1_OFFSET + 8, r32(VHDX_REGION_TABLE1_OFFSET + 8) + 1);
		sync_rgn();
		wr(end + VHDX_MiB - sizeof(z), z, sizeof(z));
	} else if (IS("rgn.missing")) {
		/* drop the metadata entry: move the last entry over it */
		uint64_t e = rgn_entry(&g_meta);
		uint32_t n = r32(VHDX_REGION_TABLE1_OFFSET + 8);
		uint8_t b[32];

		rd(VHDX_REGION_TABLE1_OFFSET + 16 + 32 * (n - 1), b, 32);
		wr(e, b, 32);
		memset(b, 0, 32);
		wr(VHDX_REGION_TABLE1_OFFSET + 16 + 32 * (n - 1), b, 32);
		w32(VHDX_REGION_TABLE1_OFFSET + 8, n - 1);
		sync_rgn();
	} else if (IS("rgn.outside")) {
		w64(rgn_entry(&g_bat) + 16, VHDX_ALIGN_UP((uint64_t)st.st_size, VHDX_MiB) + 64 * VHDX_MiB);
		sync_rgn();
	} else if (IS("rgn.tables_differ")) {
		w32(VHDX_REGION_TABLE2_OFFSET + 16 + 28, 1 | r32(VHDX_REGION_TABLE2_OFFSET + 16 + 28));
		wr(VHDX_REGION_TABLE2_OFFSET + 16 + 32 * 5, &g_odd, 16);
		fix_crc(VHDX_REGION_TABLE2_OFFSET, VHDX_REGION_TABLE_SIZE);
	} else if (IS("rgn.none_valid")) {
		wr(VHDX_REGION_TABLE1_OFFSET + 1000, "x", 1);
		wr(VHDX_REGION_TABLE2_OFFSET + 1000, "x", 1);
	} else if (IS("meta.signature")) {
		wr(meta_off, "METADATA", 8);
	} else if (IS("meta.reserved")) {
		wr(meta_off + 20, "x", 1);
	} else if (IS("meta.count")) {
		w16(meta_off + 10, 3000);
	} else if (IS("meta.offset")) {
		w32(meta_entry(&g_id) + 16, 100);
	} else if (IS("meta.length")) {
		w32(meta_entry(&g_id) + 20, 2 * VHDX_MiB);
	} else if (IS("meta.overlap")) {
		w32(meta_entry(&g_id) + 16, r32(meta_entry(&g_vds) + 16));
	} else if (IS("meta.duplicate")) {
		/* a second Virtual Disk ID entry, same flags */
		uint32_t n = r32(meta_off + 8) >> 16;
		uint8_t b[32];

		rd(meta_entry(&g_id), b, 32);
		vhdx_put_le32(b + 16, 0xF0000);
		wr(meta_off + 32 + 32 * n, b, 32);
		w16(meta_off + 10, (uint16_t)(n + 1));
	} else if (IS("meta.flags_reserved")) {
		w32(meta_entry(&g_fp) + 24, r32(meta_entry(&g_fp) + 24) | 8);
	} else if (IS("meta.entry_reserved")) {
		w32(meta_entry(&g_fp) + 28, 1);
	} else if (IS("meta.flags")) {
		w32(meta_entry(&g_vds) + 24, VHDX_META_IS_REQUIRED);
	} else if (IS("meta.unknown_required")) {
		uint32_t n = r32(meta_off + 8) >> 16;
		uint8_t b[32] = { 0 };

		memcpy(b, &g_odd, 16);
		vhdx_put_le32(b + 16, 0xF0000);
		vhdx_put_le32(b + 20, 8);
		vhdx_put_le32(b + 24, VHDX_META_IS_REQUIRED);
		wr(meta_off + 32 + 32 * n, b, 32);
		w16(meta_off + 10, (uint16_t)(n + 1));
	} else if (IS("meta.missing")) {
		wr(meta_entry(&g_id), &g_odd, 16);
		w32(meta_entry(&g_odd) + 24, 0);
	} else if (IS("meta.item_length")) {
		w32(meta_entry(&g_lss) + 20, 8);
	} else if (IS("fp.block_size")) {
		w32(item(&g_fp), 3 * VHDX_MiB);
	} else if (IS("fp.flags")) {
		w32(item(&g_fp) + 4, r32(item(&g_fp) + 4) | 4);
	} else if (IS("vds.range")) {
		w64(item(&g_vds), 65 * VHDX_TiB);
	} else if (IS("vds.zero")) {
		w64(item(&g_vds), 0);
	} else if (IS("vds.multiple")) {
		w64(item(&g_vds), r64(item(&g_vds)) - 512 + 1);
	} else if (IS("lss.value")) {
		w32(item(&g_lss), 1024);
	} else if (IS("pss.value")) {
		w32(item(&g_pss), 1024);
	} else if (IS("pl.type")) {
		wr(item(&g_pl), &g_odd, 16);
	} else if (IS("pl.reserved")) {
		w16(item(&g_pl) + 16, 1);
	} else if (IS("pl.length")) {
		w16(item(&g_pl) + 18, 5000);
	} else if (IS("pl.entry")) {
		w16(pl_entry(1) + 8, 0);
	} else if (IS("pl.duplicate_key")) {
		/* entry 2's key becomes entry 1's */
		w32(pl_entry(2), r32(pl_entry(1)));
		w16(pl_entry(2) + 8, (uint16_t)r32(pl_entry(1) + 8));
	} else if (IS("pl.parent_linkage")) {
		/* the '{' of parent_linkage's value (entry 0) */
		wr(item(&g_pl) + r32(pl_entry(0) + 4), "x", 1);
	} else if (IS("pl.path")) {
		/* keep parent_linkage (entry 0) and parent_linkage2 (entry 4) only */
		uint8_t b[12];

		rd(pl_entry(4), b, 12);
		wr(pl_entry(1), b, 12);
		w16(item(&g_pl) + 18, 2);
	} else if (IS("pl.missing")) {
		wr(meta_entry(&g_pl), &g_odd, 16);
		w32(meta_entry(&g_odd) + 24, 0);
	} else if (IS("pl.unexpected")) {
		w32(item(&g_fp) + 4, 0);
	} else if (IS("bat.region_size")) {
		/* 64 TiB at the image's block size needs more than 1 MiB of BAT */
		w64(item(&g_vds), 64 * VHDX_TiB);
	} else if (IS("bat.reserved")) {
		w64(bat_off, r64(bat_off) | 8);
	} else if (IS("bat.state")) {
		w64(bat_off, (r64(bat_off) & ~7ull) | 4);
	} else if (IS("bat.state_partial")) {
		w64(bat_off, (r64(bat_off) & ~7ull) | 7);
	} else if (IS("bat.state_fixed")) {
		w64(bat_off, 2);
	} else if (IS("bat.offset_reserved")) {
		w64(bat_off + 8 * 5, 2 | ((uint64_t)8 << 20));
	} else if (IS("bat.sb_state")) {
		/* the first sector-bitmap entry of a dynamic image: index CR */
		uint32_t bs = r32(item(&g_fp)), lss = r32(item(&g_lss));
		uint64_t cr = ((uint64_t)lss << 23) / bs;

		w64(bat_off + 8 * cr, 6 | ((uint64_t)64 << 20));
	} else if (IS("bat.sb_missing")) {
		uint32_t bs = r32(item(&g_fp)), lss = r32(item(&g_lss));
		uint64_t cr = ((uint64_t)lss << 23) / bs, i;

		for (i = 0; i < cr; i++)
			if ((r64(bat_off + 8 * i) & 7) == 7)
				break;
		if (i == cr)
			die("no partially present block in chunk 0");
		w64(bat_off + 8 * cr, 0);
	} else if (IS("bat.outside")) {
		w64(bat_off, 6 | ((VHDX_ALIGN_UP((uint64_t)st.st_size, VHDX_MiB) >> 20) << 20));
	} else if (IS("bat.overlap_struct")) {
		w64(bat_off, 6 | ((meta_off >> 20) << 20));
	} else if (IS("bat.overlap")) {
		w64(bat_off + 8, r64(bat_off));
	} else if (IS("bat.beyond_disk")) {
		/* one block less of virtual disk: its BAT entry is now past the end */
		uint32_t bs = r32(item(&g_fp));
		uint64_t vds = r64(item(&g_vds));

		w64(item(&g_vds), vds - bs);
		w64(bat_off + 8 * (vds / bs - 1 + (vds / bs - 1) / (((uint64_t)r32(item(&g_lss)) << 23) / bs)),
		    2);
	} else {
		die("unknown mutation");
	}
	close(fd);
	return 0;
}
