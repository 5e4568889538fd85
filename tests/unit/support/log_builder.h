/* SPDX-License-Identifier: MIT */
/*
 * log_builder.h - a small VHDX log writer for the unit tests [2.3], written
 * from VHDX-FORMAT.md apart from the core's reader: entries with data and
 * zero descriptors put into the log ring of an image in RAM, headers made
 * dirty, the struct vhdx_disk fields the log uses read back from the
 * headers, and a RAM file (a source and a sink over the same bytes whose
 * writes grow it, with power cuts) for replay.
 */
#ifndef LOG_BUILDER_H
#define LOG_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhdx.h"

#define LB_SECTOR 4096u

/* One descriptor: data (4096 bytes written at file_offset) or zero. */
struct lb_desc {
	bool zero;
	uint64_t file_offset;   /* [byte] */
	uint64_t zero_length;   /* [byte] zero only */
	const uint8_t *data;    /* data only: 4096 bytes */
};

/* One log entry [2.3.1]. */
struct lb_entry {
	uint64_t sequence;
	uint32_t tail;          /* [byte] ring offset of the sequence's first entry */
	struct vhdx_guid log_guid;
	uint64_t flushed;       /* [byte] FlushedFileOffset */
	uint64_t last;          /* [byte] LastFileOffset */
	const struct lb_desc *desc;
	size_t count;
};

/* EntryLength [byte]: descriptor sectors plus one data sector per data descriptor. */
uint32_t lb_entry_length(const struct lb_entry *e);
/* Writes @e at ring offset @pos of @ring (@ring_len bytes), wrapping around
 * its end, checksum included; returns its length. */
uint32_t lb_entry_write(uint8_t *ring, uint32_t ring_len, uint32_t pos, const struct lb_entry *e);

/* Sets LogGuid of the current header (and of the other one when @both)
 * and recomputes their checksums. */
void lb_set_log_guid(uint8_t *image, const struct vhdx_guid *g, bool both);
/* Recomputes header @which's checksum (0: header 1 at 64 KiB). */
void lb_header_fix(uint8_t *image, int which);
/* The fields of struct vhdx_disk the log uses, from @image's headers:
 * file_size, current_header, sequence, the GUIDs, log_replay_needed,
 * log_offset, log_length.  Asserts that a header is valid. */
void lb_disk_from_image(struct vhdx_disk *d, const uint8_t *image, uint64_t size);

/*
 * A RAM file.  src reads [0, size) and asserts the core's alignment
 * promise (offsets multiples of 4096, lengths too unless the read ends at
 * size); sink writes and zeros grow size (what lies between the old end
 * and a write reads as zeros, like a file).  Every write, zero and flush
 * is one operation; with cut_at = n the power is lost at the n-th: it and
 * every later one fail with VHDX_ERR_IO and change nothing, except that a
 * cut write lands its first @torn bytes (a torn write on a device of
 * 512-byte sectors: 512, 1024, ...).
 */
struct lb_file {
	uint8_t *data;          /* cap bytes; zero past size */
	uint64_t size;          /* [byte] */
	uint64_t cap;           /* [byte] */
	long reads, writes, zeros, flushes, ops;
	uint64_t read_bytes;    /* [byte] */
	long fail_read_at;      /* 1-based read that fails with VHDX_ERR_IO; 0: never */
	long cut_at;            /* 1-based operation index; 0: never */
	uint32_t torn;          /* [byte] of the cut write that land */
	bool cut;               /* the power is off */
	struct vhdx_source src;
	struct vhdx_sink sink;
};

/* @size bytes of @data (may be NULL: zeros) in a file of capacity @cap. */
void lb_file_init(struct lb_file *f, const uint8_t *data, uint64_t size, uint64_t cap, uint32_t block_size);
void lb_file_free(struct lb_file *f);
/* The power back on, counters and failures reset (size and bytes kept). */
void lb_file_power_on(struct lb_file *f);

/* A new image of @virtual_size written by the core's writer into @f
 * (capacity @cap), log @log_size bytes; returns the plan. */
struct vhdx_plan lb_image_make(struct lb_file *f, uint64_t virtual_size, uint32_t block_size, uint32_t log_size,
			       uint64_t cap);

#endif /* LOG_BUILDER_H */
