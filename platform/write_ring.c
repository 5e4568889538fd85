/* SPDX-License-Identifier: MIT */
/*
 * write_ring.c - the writer thread behind a sink (write_ring.h).  A slot
 * is the producer's from the moment it is marked used (by put, or taken)
 * until the entry that frees it is made; the producer copies or reads
 * into it outside the lock.  The writer owns entry[first] while it makes
 * it, outside the lock; the bytes it points to stay unchanged until then
 * (the producer never touches a slot after queuing its last piece).
 */
#include "write_ring.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* The slot @i made free again (the lock held). */
static void free_slot(struct write_ring *r, int i)
{
	if (i < 0 || !r->slot_used[i])
		return;
	r->slot_used[i] = false;
	r->slots_used--;
}

/* The queued entries dropped, their slots freed (the lock held): after a
 * failure, or a stop that discards. */
static void drop_queued(struct write_ring *r, unsigned keep)
{
	while (r->queued > keep) {
		unsigned last = (r->first + r->queued - 1) % r->entries;

		free_slot(r, r->entry[last].free_slot);
		r->queued--;
	}
}

static void *writer(void *arg)
{
	struct write_ring *r = arg;
	struct write_ring_entry e;
	int err;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->queued && !r->stopping)
			pthread_cond_wait(&r->filled, &r->lock);
		if (!r->queued)
			break;
		e = r->entry[r->first];
		err = 0;
		if (e.len) {
			r->writing = true;
			pthread_mutex_unlock(&r->lock);
			err = r->write(r->ctx, e.off, e.data, e.len);
			pthread_mutex_lock(&r->lock);
			r->writing = false;
		}
		/* made (or failed): its slot is free either way */
		free_slot(r, e.free_slot);
		r->first = (r->first + 1) % r->entries;
		r->queued--;
		if (err) {
			/* nothing more is written: the rest dropped */
			r->error = err;
			drop_queued(r, 0);
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
	if (!slots || !slot_size || slot_size % 4096u) {
		errno = EINVAL;
		return -1;
	}
	r->write = write;
	r->ctx = ctx;
	r->slots = slots;
	r->slot_size = slot_size;
	r->entries = slots * WRITE_RING_QUEUE;
	r->data = aligned_alloc(4096, slots * slot_size);
	r->slot_used = calloc(slots, sizeof(*r->slot_used));
	r->entry = calloc(r->entries, sizeof(*r->entry));
	if (!r->data || !r->slot_used || !r->entry)
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
	free(r->slot_used);
	free(r->entry);
	memset(r, 0, sizeof(*r));
	errno = rc;
	return -1;
}

/* The slot holding @p, or -1 (memory of the caller's own). */
static int slot_of(const struct write_ring *r, const uint8_t *p)
{
	if (p < r->data || p >= r->data + (size_t)r->slots * r->slot_size)
		return -1;
	return (int)((size_t)(p - r->data) / r->slot_size);
}

/* Waits (the lock held) until @ready or a failure; counts the wait. */
#define WAIT_FOR(r, ready)                                              \
	do {                                                            \
		if (!(ready) && !(r)->error)                            \
			(r)->waits++;                                   \
		while (!(ready) && !(r)->error)                         \
			pthread_cond_wait(&(r)->freed, &(r)->lock);     \
	} while (0)

/* A free slot marked used (the lock held, one is free). */
static int use_free_slot(struct write_ring *r)
{
	unsigned i;

	for (i = 0; r->slot_used[i]; i++)
		;
	r->slot_used[i] = true;
	r->slots_used++;
	return (int)i;
}

/* Queues @e (the lock held, room for it): the writer is woken. */
static void enqueue(struct write_ring *r, const struct write_ring_entry *e)
{
	r->entry[(r->first + r->queued) % r->entries] = *e;
	r->queued++;
	r->puts += e->len != 0;
	pthread_cond_signal(&r->filled);
}

/* [p, p+len) inside a taken slot: queued as it is. */
static int put_uncopied(struct write_ring *r, uint64_t off, const uint8_t *p, size_t len)
{
	struct write_ring_entry e = { off, len, p, -1 };
	int err;

	pthread_mutex_lock(&r->lock);
	WAIT_FOR(r, r->queued < r->entries);
	err = r->error;
	if (!err) {
		enqueue(r, &e);
		r->uncopied += len;
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

int write_ring_put(struct write_ring *r, uint64_t off, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	struct write_ring_entry e;
	size_t n;
	int err = 0, at;

	if (len && slot_of(r, p) >= 0)
		return put_uncopied(r, off, p, len);
	while (len && !err) {
		n = len < r->slot_size ? len : r->slot_size;
		pthread_mutex_lock(&r->lock);
		WAIT_FOR(r, r->slots_used < r->slots && r->queued < r->entries);
		err = r->error;
		at = err ? -1 : use_free_slot(r);
		pthread_mutex_unlock(&r->lock);
		if (err)
			break;
		/* slot[at] is the producer's until its entry is made */
		memcpy(r->data + (size_t)at * r->slot_size, p, n);
		e.off = off;
		e.len = n;
		e.data = r->data + (size_t)at * r->slot_size;
		e.free_slot = at;
		pthread_mutex_lock(&r->lock);
		err = r->error;
		if (err)
			free_slot(r, at);
		else
			enqueue(r, &e);
		pthread_mutex_unlock(&r->lock);
		p += n;
		off += n;
		len -= n;
	}
	return err;
}

void *write_ring_take(struct write_ring *r)
{
	int at = -1;

	pthread_mutex_lock(&r->lock);
	WAIT_FOR(r, r->slots_used < r->slots);
	if (r->slots_used < r->slots)
		at = use_free_slot(r);
	pthread_mutex_unlock(&r->lock);
	return at < 0 ? NULL : r->data + (size_t)at * r->slot_size;
}

void write_ring_give_back(struct write_ring *r, void *buf)
{
	struct write_ring_entry e = { 0, 0, NULL, slot_of(r, buf) };

	if (e.free_slot < 0)
		return;
	pthread_mutex_lock(&r->lock);
	WAIT_FOR(r, r->queued < r->entries);
	if (r->error)
		free_slot(r, e.free_slot); /* nothing of it is queued any more */
	else
		enqueue(r, &e);
	pthread_mutex_unlock(&r->lock);
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
		drop_queued(r, r->writing ? 1 : 0);
	r->stopping = true;
	pthread_cond_signal(&r->filled);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	err = r->error;
	pthread_cond_destroy(&r->freed);
	pthread_cond_destroy(&r->filled);
	pthread_mutex_destroy(&r->lock);
	free(r->data);
	free(r->slot_used);
	free(r->entry);
	r->data = NULL;
	r->slot_used = NULL;
	r->entry = NULL;
	return err;
}
