/* SPDX-License-Identifier: MIT */
/*
 * host_compare.c - `vhdx compare A B`: the virtual disks of two images
 * (VHDX chains, dirty logs read through the overlay) or raw files and
 * devices, byte for byte, by the core's vhdx_compare (vhdx_data.h, the
 * same loop as the UEFI app's).  qemu-img compare's contract: exit 0
 * identical, 1 different (the first differing offset printed), 2 could
 * not run.
 * Disks of different sizes compare as if the shorter were zero-extended,
 * and the output says so; but a raw block device larger than the other
 * disk (an image deployed onto it) is compared over the other's extent
 * only, and the output says how much of the device lies beyond it, not
 * compared: a device's tail is whatever it held before.  Ranges that read as zeros in both are skipped
 * without reading.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_disk.h"

#define CMP_CHUNK (1024u * 1024u) /* [byte] compared per read, on each side (peak RSS: BENCHMARKS.md 6) */

static int report_difference(const char *a, const char *b, uint64_t off)
{
	printf("%s and %s differ at byte %llu (sector %llu of 512)\n", a, b, (unsigned long long)off,
	       (unsigned long long)(off / 512));
	return VHDX_EXIT_FAILED;
}

int host_cmd_compare(const struct vhdx_cli *cli)
{
	struct host_disk a, b;
	struct vhdx_reader ra, rb;
	struct vhdx_compare_result res;
	uint8_t *buf = NULL, *pages = NULL;
	uint64_t beyond = 0; /* [byte] of the larger side, a device, not compared */
	const char *device = NULL, *image = NULL;
	int st, err;

	if (!cli->source || !cli->target) {
		host_error("compare: two images needed: vhdx compare A B");
		return VHDX_EXIT_USAGE;
	}
	st = host_disk_open(&a, cli->source, cli->source_format);
	if (st != VHDX_EXIT_OK)
		return st;
	st = host_disk_open(&b, cli->target, cli->source_format);
	if (st != VHDX_EXIT_OK) {
		host_disk_close(&a);
		return st;
	}
	buf = aligned_alloc(VHDX_READER_PAGE, 2 * CMP_CHUNK);
	pages = aligned_alloc(VHDX_READER_PAGE, 2 * VHDX_READER_PAGE);
	if (!buf || !pages) {
		st = host_out_of_memory();
		goto out;
	}
	host_disk_reader(&a, &ra, pages);
	host_disk_reader(&b, &rb, pages + VHDX_READER_PAGE);
	if (b.raw && b.t.is_block_device && b.size > a.size) {
		beyond = b.size - a.size;
		rb.size = a.size;
		device = cli->target;
		image = cli->source;
	} else if (a.raw && a.t.is_block_device && a.size > b.size) {
		beyond = a.size - b.size;
		ra.size = b.size;
		device = cli->source;
		image = cli->target;
	}
	if (device && !cli->quiet)
		printf("sizes differ: %s is a block device of %llu bytes, %s is %llu bytes; %s's extent is "
		       "compared, the device's last %llu bytes lie beyond it (not compared)\n",
		       device, (unsigned long long)(a.size > b.size ? a.size : b.size), image,
		       (unsigned long long)(a.size < b.size ? a.size : b.size), image, (unsigned long long)beyond);
	else if (a.size != b.size && !cli->quiet)
		printf("sizes differ: %s is %llu bytes, %s is %llu bytes; the shorter is compared as if "
		       "zero-extended\n",
		       cli->source, (unsigned long long)a.size, cli->target, (unsigned long long)b.size);
	err = vhdx_compare(&ra, &rb, buf, 2 * CMP_CHUNK, &res, NULL, NULL);
	if (err) {
		host_disk_error(res.failed ? &b : &a, err, res.failed_offset);
		st = host_exit_before_write(err);
	} else if (!res.same) {
		st = report_difference(cli->source, cli->target, res.difference);
	} else if (!cli->quiet) {
		if (device)
			printf("%s and %s are identical over %s's %llu bytes: the device holds the image; its "
			       "last %llu bytes were not compared\n",
			       cli->source, cli->target, image, (unsigned long long)res.compared,
			       (unsigned long long)beyond);
		else
			printf("%s and %s are identical (%llu bytes compared)\n", cli->source, cli->target,
			       (unsigned long long)res.compared);
	}
out:
	free(buf);
	free(pages);
	host_disk_close(&a);
	host_disk_close(&b);
	if (fflush(stdout) != 0)
		return VHDX_EXIT_USAGE;
	return st;
}
