/* SPDX-License-Identifier: MIT */
/*
 * write_ring.h - writes handed to a writer thread through a bounded FIFO
 * of buffers, so that the caller reads and hashes the next range while
 * this one is written (issue 21: convert --bmap).  One producer (the
 * caller), one consumer (the thread); constant memory: @slots buffers of
 * @slot_size bytes, a longer write is split across them.  The writes are
 * made in the order given; drain waits for all of them, so a flush after
 * it covers them.  The first failing write stops the writer: nothing more
 * is written, and every later put and drain returns its error.
 */
#ifndef VHDX_WRITE_RING_H
#define VHDX_WRITE_RING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes @len bytes at @off: 0, or an error that stops the ring. */
typedef int (*write_ring_fn)(void *ctx, uint64_t off, const void *buf, size_t len);

struct write_ring_slot {
	uint64_t off;
	size_t len;
};

struct write_ring {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t filled;  /* a slot was queued, or stop */
	pthread_cond_t freed;   /* a slot was written, or the writer failed */
	write_ring_fn write;
	void *ctx;
	uint8_t *data;          /* slots * slot_size */
	struct write_ring_slot *slot;
	unsigned slots;
	size_t slot_size;       /* [byte] */
	unsigned first;         /* the oldest queued slot: the one written next or now */
	unsigned queued;        /* slots queued, the one being written included */
	bool writing;           /* the writer holds slot[first] outside the lock */
	bool stopping;
	int error;              /* the failing write's, sticky */
	uint64_t puts, waits;   /* statistics: pieces queued, puts that waited for room */
};

/* Starts the writer thread (all signals blocked in it: they stay the
 * caller's).  0, or -1 with errno set (nothing started). */
int write_ring_start(struct write_ring *r, unsigned slots, size_t slot_size, write_ring_fn write, void *ctx);
/* Queues a copy of [buf, buf+len) for offset @off, waiting for room: 0,
 * or the writer's error (nothing queued). */
int write_ring_put(struct write_ring *r, uint64_t off, const void *buf, size_t len);
/* Waits until every queued write is made: 0, or the writer's error. */
int write_ring_drain(struct write_ring *r);
/* Ends the thread and frees the buffers.  @discard: the writes not yet
 * begun are dropped (after a failure); otherwise they are made first.
 * The writer's error, or 0. */
int write_ring_stop(struct write_ring *r, bool discard);

#endif /* VHDX_WRITE_RING_H */
