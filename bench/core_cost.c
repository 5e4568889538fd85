/* SPDX-License-Identifier: MIT */
/*
 * bench/core_cost.c - the core's own cost, for callgrind: plans an image
 * and writes it with vhdx_image_write into a sink that discards
 * everything.  write() only counts; zero() accepts any range at once, so
 * the payload costs nothing and what is left is the structures, the BAT
 * and the writer's bookkeeping.
 *
 *   core_cost [-t fixed|dynamic] [-s SIZE_GIB] [-b BLOCK_MIB] [-x SCRATCH_KIB]
 *
 * Under `valgrind --tool=callgrind --toggle-collect=vhdx_image_write`
 * only the core's work is counted; bench/core_cost.sh divides it by BAT
 * entries and by bytes written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhdx.h"

struct counts {
	unsigned long long written, writes, zeroed, zeros, flushes;
};

static int discard_write(const struct vhdx_sink *s, uint64_t off, const void *buf, size_t len)
{
	struct counts *c = s->ctx;

	(void)off;
	(void)buf;
	c->written += len;
	c->writes++;
	return VHDX_OK;
}

static int discard_zero(const struct vhdx_sink *s, uint64_t off, uint64_t len)
{
	struct counts *c = s->ctx;

	(void)off;
	c->zeroed += len;
	c->zeros++;
	return VHDX_OK;
}

static int discard_flush(const struct vhdx_sink *s)
{
	struct counts *c = s->ctx;

	c->flushes++;
	return VHDX_OK;
}

int main(int argc, char **argv)
{
	struct vhdx_params p;
	struct vhdx_plan plan;
	struct vhdx_sink sink;
	struct counts c;
	char why[256];
	size_t scratch_len = 4u << 20;
	void *scratch;
	int opt, err;

	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	p.type = VHDX_TYPE_FIXED;
	p.virtual_size = 64ull << 40;
	p.block_size = 1u << 20;
	while ((opt = getopt(argc, argv, "t:s:b:x:")) != -1) {
		switch (opt) {
		case 't':
			p.type = strcmp(optarg, "dynamic") ? VHDX_TYPE_FIXED : VHDX_TYPE_DYNAMIC;
			break;
		case 's':
			p.virtual_size = strtoull(optarg, NULL, 0) << 30;
			break;
		case 'b':
			p.block_size = (uint32_t)strtoul(optarg, NULL, 0) << 20;
			break;
		case 'x':
			scratch_len = (size_t)strtoul(optarg, NULL, 0) << 10;
			break;
		default:
			fprintf(stderr, "usage: core_cost [-t fixed|dynamic] [-s GIB] [-b MIB] [-x SCRATCH_KIB]\n");
			return 2;
		}
	}
	/* fixed GUIDs: the core is deterministic, randomness is not its cost */
	memset(p.file_write_guid.bytes, 0x11, 16);
	memset(p.data_write_guid.bytes, 0x22, 16);
	memset(p.page83.bytes, 0x33, 16);
	if (vhdx_plan_init(&plan, &p, why, sizeof(why))) {
		fprintf(stderr, "core_cost: %s\n", why);
		return 2;
	}
	scratch = aligned_alloc(4096, scratch_len);
	if (!scratch)
		return 2;
	memset(&sink, 0, sizeof(sink));
	sink.ctx = &c;
	sink.write = discard_write;
	sink.zero = discard_zero;
	sink.flush = discard_flush;
	sink.block_size = 512;
	err = vhdx_image_write(&plan, &sink, scratch, scratch_len);
	free(scratch);
	if (err) {
		fprintf(stderr, "core_cost: %s\n", vhdx_strerror(err));
		return 1;
	}
	printf("bat_entries %llu\nbat_bytes %llu\nwritten %llu\nwrites %llu\nzeroed %llu\n"
	       "zero_calls %llu\nflushes %llu\nfile_size %llu\n",
	       (unsigned long long)plan.geom.bat_entries, (unsigned long long)plan.geom.bat_entries * 8,
	       c.written, c.writes, c.zeroed, c.zeros, c.flushes,
	       (unsigned long long)plan.file_size);
	return 0;
}
