/* SPDX-License-Identifier: MIT */
/*
 * write_ring.c - the writer thread behind a sink (write_ring.h).  The
 * producer owns the slot after the queued ones from the moment it sees
 * room until it queues it, and copies into it outside the lock; the
 * writer owns slot[first] while it writes it, outside the lock.
 */
#include "write_ring.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void *writer(void *arg)
{
	struct write_ring *r = arg;
	struct write_ring_slot s;
	int err;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->queued && !r->stopping)
			pthread_cond_wait(&r->filled, &r->lock);
		if (!r->queued)
			break;
		s = r->slot[r->first];
		r->writing = true;
		pthread_mutex_unlock(&r->lock);
		err = r->write(r->ctx, s.off, r->data + (size_t)r->first * r->slot_size, s.len);
		pthread_mutex_lock(&r->lock);
		r->writing = false;
		if (err) {
			/* nothing more is written: the rest dropped */
			r->error = err;
			r->queued = 0;
		} else {
			r->first = (r->first + 1) % r->slots;
			r->queued--;
		}
		pthread_cond_signal(&r->freed);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int write_ring_start(struct write_ring *r, unsigned slots, size_t slot_size, write_ring_fn write, void *ctx)
{
	sigset_t all, old;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!slots || !slot_size) {
		errno = EINVAL;
		return -1;
	}
	r->write = write;
	r->ctx = ctx;
	r->slots = slots;
	r->slot_size = slot_size;
	r->data = aligned_alloc(4096, (slots * slot_size + 4095) & ~(size_t)4095);
	r->slot = calloc(slots, sizeof(*r->slot));
	if (!r->data || !r->slot)
		goto fail;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->filled, NULL);
	pthread_cond_init(&r->freed, NULL);
	/* SIGINT and the others reach the caller, which stops cleanly */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&r->thread, NULL, writer, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!rc)
		return 0;
	pthread_cond_destroy(&r->freed);
	pthread_cond_destroy(&r->filled);
	pthread_mutex_destroy(&r->lock);
	errno = rc;
fail:
	rc = errno;
	free(r->data);
	free(r->slot);
	memset(r, 0, sizeof(*r));
	errno = rc;
	return -1;
}

int write_ring_put(struct write_ring *r, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	unsigned at;
	size_t n;
	int err = 0;

	while (len && !err) {
		n = len < r->slot_size ? len : r->slot_size;
		pthread_mutex_lock(&r->lock);
		if (r->queued == r->slots && !r->error)
			r->waits++;
		while (r->queued == r->slots && !r->error)
			pthread_cond_wait(&r->freed, &r->lock);
		err = r->error;
		at = (r->first + r->queued) % r->slots;
		pthread_mutex_unlock(&r->lock);
		if (err)
			break;
		/* slot[at] is the producer's until queued: the writer stops before it */
		memcpy(r->data + (size_t)at * r->slot_size, p, n);
		r->slot[at].off = off;
		r->slot[at].len = n;
		pthread_mutex_lock(&r->lock);
		err = r->error;
		if (!err) {
			r->queued++;
			r->puts++;
			pthread_cond_signal(&r->filled);
		}
		pthread_mutex_unlock(&r->lock);
		p += n;
		off += n;
		len -= n;
	}
	return err;
}

int write_ring_drain(struct write_ring *r)
{
	int err;

	pthread_mutex_lock(&r->lock);
	while (r->queued && !r->error)
		pthread_cond_wait(&r->freed, &r->lock);
	err = r->error;
	pthread_mutex_unlock(&r->lock);
	return err;
}

int write_ring_stop(struct write_ring *r, bool discard)
{
	int err;

	pthread_mutex_lock(&r->lock);
	if (discard)
		r->queued = r->writing ? 1 : 0;
	r->stopping = true;
	pthread_cond_signal(&r->filled);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	err = r->error;
	pthread_cond_destroy(&r->freed);
	pthread_cond_destroy(&r->filled);
	pthread_mutex_destroy(&r->lock);
	free(r->data);
	free(r->slot);
	r->data = NULL;
	r->slot = NULL;
	return err;
}
