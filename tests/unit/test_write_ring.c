/* SPDX-License-Identifier: MIT */
/*
 * test_write_ring.c - the host's writer thread (platform/write_ring.c):
 * writes are made in the order put, with the bytes given at put time (the
 * caller's buffer reused at once), split across slots; drain returns only
 * when every write is made; the first failing write stops the writer
 * (nothing more written) and its error comes back at every later put and
 * drain; stop with discard makes only the write in progress, without it
 * every queued one; signals are blocked in the thread.  Slots taken by
 * the caller: their pieces made from where they are, in order with the
 * copied writes, and the slot reused only after they are made; taken and
 * given back after a failure too.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "test_util.h"
#include "write_ring.h"

#define SLOT 4096u
#define MAX_CALLS 4096

/* What the writer was asked to do, in order. */
struct recorder {
	struct write_ring *ring;
	unsigned calls;
	uint64_t off[MAX_CALLS];
	size_t len[MAX_CALLS];
	uint32_t sum[MAX_CALLS];  /* CRC-32C of the bytes */
	unsigned fail_at;         /* 1-based call that fails; 0: none */
	unsigned slow_us;         /* sleep per call: the producer outruns the writer */
	bool hold_first;          /* the first call waits until the ring is stopping */
	bool sigint_blocked;
};

static void sleep_us(unsigned us)
{
	struct timespec ts = { 0, (long)us * 1000 };

	nanosleep(&ts, NULL);
}

static int record(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct recorder *rec = ctx;
	unsigned i = rec->calls++;
	sigset_t cur;

	assert_true(i < MAX_CALLS);
	if (rec->hold_first && !i) {
		bool stopping = false;

		while (!stopping) {
			pthread_mutex_lock(&rec->ring->lock);
			stopping = rec->ring->stopping;
			pthread_mutex_unlock(&rec->ring->lock);
			sleep_us(1000);
		}
	}
	if (rec->slow_us)
		sleep_us(rec->slow_us);
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	rec->sigint_blocked = sigismember(&cur, SIGINT) == 1;
	rec->off[i] = off;
	rec->len[i] = len;
	rec->sum[i] = ref_crc32c(buf, len);
	return rec->fail_at == i + 1 ? EIO : 0;
}

/* Fills @buf with bytes of write @k (each write its own). */
static void fill(uint8_t *buf, size_t len, unsigned k)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(k * 131u + i * 7u + (i >> 9));
}

/* Writes of 1..3 slots and odd lengths, each from the same reused buffer,
 * come out in order, split at slot boundaries, with their own bytes. */
static void order_and_bytes(void **state)
{
	static struct recorder rec;
	struct write_ring r;
	uint8_t buf[3 * SLOT + 100];
	unsigned k, i = 0, writes = 200;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.ring = &r;
	rec.slow_us = 50;
	assert_int_equal(write_ring_start(&r, 3, SLOT, record, &rec), 0);
	for (k = 0; k < writes; k++) {
		size_t len = 1 + (k * 1237u) % sizeof(buf);

		fill(buf, len, k);
		assert_int_equal(write_ring_put(&r, (uint64_t)k << 20, buf, len), 0);
		memset(buf, 0xEE, sizeof(buf)); /* reused at once: the ring copied it */
	}
	assert_int_equal(write_ring_drain(&r), 0);
	for (k = 0; k < writes; k++) {
		size_t len = 1 + (k * 1237u) % sizeof(buf), at;

		fill(buf, len, k);
		for (at = 0; at < len; at += SLOT, i++) {
			size_t n = len - at < SLOT ? len - at : SLOT;

			assert_true(i < rec.calls);
			assert_int_equal(rec.off[i], ((uint64_t)k << 20) + at);
			assert_int_equal(rec.len[i], n);
			assert_int_equal(rec.sum[i], ref_crc32c(buf + at, n));
		}
	}
	assert_int_equal(rec.calls, i);
	assert_true(r.waits > 0); /* the slow writer made puts wait for room */
	assert_true(rec.sigint_blocked);
	assert_int_equal(write_ring_stop(&r, false), 0);
}

/* drain returns when the last write is made, not when it is taken. */
static void drain_waits(void **state)
{
	static struct recorder rec;
	struct write_ring r;
	uint8_t buf[SLOT];
	unsigned k;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.ring = &r;
	rec.slow_us = 20000;
	memset(buf, 1, sizeof(buf));
	assert_int_equal(write_ring_start(&r, 4, SLOT, record, &rec), 0);
	for (k = 0; k < 4; k++)
		assert_int_equal(write_ring_put(&r, k * SLOT, buf, SLOT), 0);
	assert_int_equal(write_ring_drain(&r), 0);
	assert_int_equal(rec.calls, 4);
	assert_int_equal(rec.len[3], SLOT); /* recorded after the sleep: made */
	assert_int_equal(write_ring_stop(&r, false), 0);
}

/* The 5th write fails: no 6th is made, the error comes back at the next
 * put or the drain, and at every put after. */
static void error_stops(void **state)
{
	static struct recorder rec;
	struct write_ring r;
	uint8_t buf[SLOT];
	unsigned k;
	int err = 0;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.ring = &r;
	rec.fail_at = 5;
	rec.slow_us = 1000;
	memset(buf, 2, sizeof(buf));
	assert_int_equal(write_ring_start(&r, 2, SLOT, record, &rec), 0);
	for (k = 0; k < 50 && !err; k++)
		err = write_ring_put(&r, k * SLOT, buf, SLOT);
	assert_int_equal(err, EIO);
	assert_true(k <= 5 + 2 + 1); /* at most the ring's 2 slots past the failure */
	assert_int_equal(write_ring_drain(&r), EIO);
	assert_int_equal(write_ring_put(&r, 0, buf, SLOT), EIO);
	assert_int_equal(write_ring_stop(&r, false), EIO);
	assert_int_equal(rec.calls, 5);
	assert_int_equal(rec.off[4], 4 * SLOT);
}

/* Waits until the writer is inside its first write. */
static void wait_writing(struct write_ring *r)
{
	bool writing = false;

	while (!writing) {
		pthread_mutex_lock(&r->lock);
		writing = r->writing;
		pthread_mutex_unlock(&r->lock);
		sleep_us(100);
	}
}

/* stop with discard: the write in progress is made, the queued ones not;
 * stop without: all of them. */
static void stop_discard(void **state)
{
	static struct recorder rec;
	struct write_ring r;
	uint8_t buf[SLOT];
	unsigned k;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.ring = &r;
	rec.hold_first = true;
	memset(buf, 3, sizeof(buf));
	assert_int_equal(write_ring_start(&r, 4, SLOT, record, &rec), 0);
	for (k = 0; k < 4; k++)
		assert_int_equal(write_ring_put(&r, k * SLOT, buf, SLOT), 0);
	wait_writing(&r);
	assert_int_equal(write_ring_stop(&r, true), 0);
	assert_int_equal(rec.calls, 1);

	memset(&rec, 0, sizeof(rec));
	rec.ring = &r;
	rec.hold_first = true;
	assert_int_equal(write_ring_start(&r, 4, SLOT, record, &rec), 0);
	for (k = 0; k < 4; k++)
		assert_int_equal(write_ring_put(&r, k * SLOT, buf, SLOT), 0);
	assert_int_equal(write_ring_stop(&r, false), 0);
	assert_int_equal(rec.calls, 4);
	assert_int_equal(rec.off[3], 3 * SLOT);
}

/* Slots taken and filled by the caller, put in two pieces each (queued
 * without a copy) between copied puts, and given back: made in the order
 * put with the bytes filled; a slot comes back only after its pieces are
 * written (with 2 slots and a slow writer, a slot reused early would be
 * filled anew before its pieces were made: other bytes). */
static void take_and_give_back(void **state)
{
	static struct recorder rec;
	struct write_ring r;
	uint8_t own[SLOT], *b;
	unsigned k, i, writes = 30;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.ring = &r;
	rec.slow_us = 300;
	assert_int_equal(write_ring_start(&r, 2, SLOT, record, &rec), 0);
	for (k = 0; k < writes; k++) {
		if (k % 3 == 2) {
			fill(own, SLOT, k);
			assert_int_equal(write_ring_put(&r, (uint64_t)k << 20, own, SLOT), 0);
			continue;
		}
		b = write_ring_take(&r);
		assert_non_null(b);
		assert_int_equal((uintptr_t)b & 4095u, 0);
		fill(b, SLOT, k);
		assert_int_equal(write_ring_put(&r, (uint64_t)k << 20, b, SLOT / 2), 0);
		assert_int_equal(write_ring_put(&r, ((uint64_t)k << 20) + SLOT / 2, b + SLOT / 2, SLOT / 2), 0);
		write_ring_give_back(&r, b);
	}
	assert_int_equal(write_ring_stop(&r, false), 0);
	for (k = 0, i = 0; k < writes; k++) {
		fill(own, SLOT, k);
		if (k % 3 == 2) {
			assert_int_equal(rec.off[i], (uint64_t)k << 20);
			assert_int_equal(rec.sum[i++], ref_crc32c(own, SLOT));
			continue;
		}
		assert_int_equal(rec.off[i], (uint64_t)k << 20);
		assert_int_equal(rec.sum[i++], ref_crc32c(own, SLOT / 2));
		assert_int_equal(rec.off[i], ((uint64_t)k << 20) + SLOT / 2);
		assert_int_equal(rec.sum[i++], ref_crc32c(own + SLOT / 2, SLOT / 2));
	}
	assert_int_equal(rec.calls, i);
	assert_int_equal(r.uncopied, 20 * SLOT);
	assert_true(r.waits > 0);
}

/* A write fails while slots are taken: the error comes back at the next
 * put; a slot can still be taken and given back (the caller's cleanup),
 * nothing more is written. */
static void take_after_failure(void **state)
{
	static struct recorder rec;
	struct write_ring r;
	uint8_t *b;
	unsigned k;
	int err = 0;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.ring = &r;
	rec.fail_at = 3;
	rec.slow_us = 1000;
	assert_int_equal(write_ring_start(&r, 3, SLOT, record, &rec), 0);
	for (k = 0; k < 50 && !err; k++) {
		b = write_ring_take(&r);
		assert_non_null(b);
		err = write_ring_put(&r, k * SLOT, b, SLOT);
		write_ring_give_back(&r, b);
	}
	assert_int_equal(err, EIO);
	b = write_ring_take(&r);
	assert_non_null(b);
	assert_int_equal(write_ring_put(&r, 0, b, SLOT), EIO);
	write_ring_give_back(&r, b);
	assert_int_equal(write_ring_drain(&r), EIO);
	assert_int_equal(write_ring_stop(&r, false), EIO);
	assert_int_equal(rec.calls, 3);
}

static void bad_sizes(void **state)
{
	struct write_ring r;

	(void)state;
	errno = 0;
	assert_int_equal(write_ring_start(&r, 0, SLOT, record, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(write_ring_start(&r, 2, 0, record, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(order_and_bytes),
		cmocka_unit_test(drain_waits),
		cmocka_unit_test(error_stops),
		cmocka_unit_test(stop_discard),
		cmocka_unit_test(take_and_give_back),
		cmocka_unit_test(take_after_failure),
		cmocka_unit_test(bad_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
