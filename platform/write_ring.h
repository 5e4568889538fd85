/* SPDX-License-Identifier: MIT */
/*
 * write_ring.h - writes handed to a writer thread through a bounded FIFO,
 * so that the caller reads and hashes the next range while this one is
 * written (issue 21: convert --bmap).  One producer (the caller), one
 * consumer (the thread); constant memory: @slots buffers of @slot_size
 * bytes, and a queue of writes (WRITE_RING_QUEUE per slot).
 *
 * A write is either put (its bytes copied into a slot: the caller's
 * buffer is free again at once; a longer write is split across slots) or
 * made from a slot the caller took (write_ring_take): the caller reads
 * into it, puts pieces of it (queued without a copy) and gives it back,
 * after which the slot is reused once those pieces are written.  The
 * writes are made in the order given; drain waits for all of them, so a
 * flush after it covers them.  The first failing write stops the writer:
 * nothing more is written, and every later put and drain returns its
 * error.
 */
#ifndef VHDX_WRITE_RING_H
#define VHDX_WRITE_RING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes @len bytes at @off: 0, or an error that stops the ring. */
typedef int (*write_ring_fn)(void *ctx, uint64_t off, const void *buf, size_t len);

#define WRITE_RING_QUEUE 8u /* queued writes per slot: a taken slot's pieces (runs of data) */

/* One queued write; len 0: none, only its slot freed (a give-back). */
struct write_ring_entry {
	uint64_t off;
	size_t len;
	const uint8_t *data;
	int free_slot;          /* the slot freed once this is made; -1: none */
};

struct write_ring {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t filled;  /* a write was queued, or stop */
	pthread_cond_t freed;   /* a write was made, or the writer failed */
	write_ring_fn write;
	void *ctx;
	uint8_t *data;          /* slots * slot_size, 4096-aligned */
	bool *slot_used;        /* the caller's (taken, or filled by put) until freed */
	unsigned slots, slots_used;
	size_t slot_size;       /* [byte] */
	struct write_ring_entry *entry;
	unsigned entries;       /* slots * WRITE_RING_QUEUE */
	unsigned first;         /* the oldest queued entry: the one made next or now */
	unsigned queued;        /* entries queued, the one being made included */
	bool writing;           /* the writer holds entry[first] outside the lock */
	bool stopping;
	int error;              /* the failing write's, sticky */
	/* statistics: pieces queued, puts and takes that waited for room,
	 * bytes queued without a copy */
	uint64_t puts, waits, uncopied;
};

/* Starts the writer thread (all signals blocked in it: they stay the
 * caller's).  0, or -1 with errno set (nothing started). */
int write_ring_start(struct write_ring *r, unsigned slots, size_t slot_size, write_ring_fn write, void *ctx);
/* Queues [buf, buf+len) for offset @off, waiting for room: copied into
 * slots, or (within a slot the caller took) queued as it is.  0, or the
 * writer's error (nothing queued). */
int write_ring_put(struct write_ring *r, uint64_t off, const void *buf, size_t len);
/* A free slot, the caller's until given back, waiting for one: 4096-aligned,
 * slot_size bytes.  Never NULL once started (after a failure too: the
 * failure comes back at the next put). */
void *write_ring_take(struct write_ring *r);
/* The slot at @buf (from write_ring_take) handed back: reused once the
 * pieces put from it are written (or dropped after a failure). */
void write_ring_give_back(struct write_ring *r, void *buf);
/* Waits until every queued write is made: 0, or the writer's error. */
int write_ring_drain(struct write_ring *r);
/* Ends the thread and frees the buffers.  @discard: the writes not yet
 * begun are dropped (after a failure); otherwise they are made first.
 * The writer's error, or 0. */
int write_ring_stop(struct write_ring *r, bool discard);

#endif /* VHDX_WRITE_RING_H */
