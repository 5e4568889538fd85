/* SPDX-License-Identifier: MIT */
/*
 * host_compare.c - `vhdx compare A B`: the virtual disks of two images
 * (VHDX chains, dirty logs read through the overlay) or raw files and
 * devices, byte for byte.  qemu-img compare's contract: exit 0 identical,
 * 1 different (the first differing offset printed), 2 could not run.
 * Disks of different sizes compare as if the shorter were zero-extended,
 * and the output says so.  Ranges that read as zeros in both are skipped
 * without reading.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_disk.h"

#define CMP_CHUNK (4u * 1024u * 1024u) /* [byte] compared per read */

/* First offset in [0, len) where a and b differ, or len. */
static size_t first_difference(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i = 0;

	while (i + 4096 <= len && memcmp(a + i, b + i, 4096) == 0)
		i += 4096;
	while (i < len && a[i] == b[i])
		i++;
	return i;
}

static int report_difference(const char *a, const char *b, uint64_t off)
{
	printf("%s and %s differ at byte %llu (sector %llu of 512)\n", a, b, (unsigned long long)off,
	       (unsigned long long)(off / 512));
	return VHDX_EXIT_FAILED;
}

/* The longer disk's tail past the shorter's end must read as zeros. */
static int compare_tail(struct host_disk *d, uint64_t from, uint8_t *buf, const char *a, const char *b,
			uint64_t *ret_diff)
{
	uint64_t off = from;
	struct vhdx_extent e;

	while (off < d->size) {
		uint64_t n = d->size - off < CMP_CHUNK ? d->size - off : CMP_CHUNK;
		size_t i;

		if (host_disk_map(d, off, n, &e) < 0)
			return VHDX_EXIT_USAGE;
		if (e.kind == VHDX_EXTENT_ZERO) {
			off += e.length;
			continue;
		}
		n = e.length;
		if (host_disk_read(d, off, buf, (size_t)n) < 0)
			return VHDX_EXIT_USAGE;
		for (i = 0; i < n && !buf[i]; i++)
			;
		if (i < n) {
			*ret_diff = off + i;
			return report_difference(a, b, off + i);
		}
		off += n;
	}
	return VHDX_EXIT_OK;
}

int host_cmd_compare(const struct vhdx_cli *cli)
{
	struct host_disk a, b;
	uint8_t *ba = NULL, *bb = NULL;
	uint64_t common, off = 0, diff = 0;
	int st;

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
	ba = malloc(CMP_CHUNK);
	bb = malloc(CMP_CHUNK);
	if (!ba || !bb) {
		host_error("out of memory");
		st = VHDX_EXIT_USAGE;
		goto out;
	}
	if (a.size != b.size && !cli->quiet)
		printf("sizes differ: %s is %llu bytes, %s is %llu bytes; the shorter is compared as if "
		       "zero-extended\n",
		       cli->source, (unsigned long long)a.size, cli->target, (unsigned long long)b.size);
	common = a.size < b.size ? a.size : b.size;
	st = VHDX_EXIT_OK;
	while (off < common && st == VHDX_EXIT_OK) {
		uint64_t n = common - off < CMP_CHUNK ? common - off : CMP_CHUNK;
		struct vhdx_extent ea, eb;
		size_t i;

		if (host_disk_map(&a, off, n, &ea) < 0 || host_disk_map(&b, off, n, &eb) < 0) {
			st = VHDX_EXIT_USAGE;
			break;
		}
		n = ea.length < eb.length ? ea.length : eb.length;
		if (ea.kind == VHDX_EXTENT_ZERO && eb.kind == VHDX_EXTENT_ZERO) {
			off += n;
			continue;
		}
		if ((ea.kind == VHDX_EXTENT_ZERO ? (memset(ba, 0, (size_t)n), 0) :
						   host_disk_read(&a, off, ba, (size_t)n)) < 0 ||
		    (eb.kind == VHDX_EXTENT_ZERO ? (memset(bb, 0, (size_t)n), 0) :
						   host_disk_read(&b, off, bb, (size_t)n)) < 0) {
			st = VHDX_EXIT_USAGE;
			break;
		}
		i = first_difference(ba, bb, (size_t)n);
		if (i < n) {
			diff = off + i;
			st = report_difference(cli->source, cli->target, diff);
			break;
		}
		off += n;
	}
	if (st == VHDX_EXIT_OK && a.size != b.size)
		st = compare_tail(a.size > b.size ? &a : &b, common, ba, cli->source, cli->target, &diff);
	if (st == VHDX_EXIT_OK && !cli->quiet)
		printf("%s and %s are identical (%llu bytes compared)\n", cli->source, cli->target,
		       (unsigned long long)(a.size > b.size ? a.size : b.size));
out:
	free(ba);
	free(bb);
	host_disk_close(&a);
	host_disk_close(&b);
	if (fflush(stdout) != 0)
		return VHDX_EXIT_USAGE;
	return st;
}
