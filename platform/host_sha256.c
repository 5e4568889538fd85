/* SPDX-License-Identifier: MIT */
/*
 * host_sha256.c - SHA-256 from libcrypto (host_sha256.h).  One digest at a
 * time per process through init/update/final (the convert job hashes one
 * range at a time), and up to VHDX_SHA256_BESIDE_MAX more queued to a
 * thread of its own (start/wait/busy): the convert job hands it ranges
 * while that thread has at most one left to hash, so that a verified
 * deploy hashes on two CPUs.
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "host_sha256.h"

struct host_sha256 {
	EVP_MD_CTX *md;               /* init/update/final */
	/* start/wait/busy: a FIFO of messages, under @lock; the thread hashes
	 * msg[hashed % N] while hashed < started, the caller waits for
	 * msg[waited % N] */
	EVP_MD_CTX *beside_md;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool running;                 /* the thread started; else start() hashes in place */
	unsigned started, hashed, waited;
	struct {
		const void *data;
		size_t len;
		uint8_t digest[VHDX_SHA256_SIZE];
	} msg[VHDX_SHA256_BESIDE_MAX];
};

static struct host_sha256 host_sha;

static void ossl_digest(EVP_MD_CTX *md, const void *data, size_t len, uint8_t digest[VHDX_SHA256_SIZE])
{
	unsigned int n = VHDX_SHA256_SIZE;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, data, len);
	EVP_DigestFinal_ex(md, digest, &n);
}

static void ossl_init(void *ctx)
{
	struct host_sha256 *h = ctx;

	EVP_DigestInit_ex(h->md, EVP_sha256(), NULL);
}

static void ossl_update(void *ctx, const void *data, size_t len)
{
	struct host_sha256 *h = ctx;

	EVP_DigestUpdate(h->md, data, len);
}

static void ossl_final(void *ctx, uint8_t digest[VHDX_SHA256_SIZE])
{
	struct host_sha256 *h = ctx;
	unsigned int n = VHDX_SHA256_SIZE;

	EVP_DigestFinal_ex(h->md, digest, &n);
}

static void *beside_thread(void *arg)
{
	struct host_sha256 *h = arg;
	unsigned at;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (h->hashed == h->started)
			pthread_cond_wait(&h->changed, &h->lock);
		at = h->hashed % VHDX_SHA256_BESIDE_MAX;
		pthread_mutex_unlock(&h->lock);
		/* msg[at] is this thread's until hashed moves past it */
		ossl_digest(h->beside_md, h->msg[at].data, h->msg[at].len, h->msg[at].digest);
		pthread_mutex_lock(&h->lock);
		h->hashed++;
		pthread_cond_broadcast(&h->changed);
	}
	return NULL;
}

/* The thread, once: all signals blocked in it (Ctrl-C reaches the job's
 * thread); it lives until the process ends, idle between messages. */
static bool beside_running(struct host_sha256 *h)
{
	sigset_t all, old;

	if (h->running)
		return true;
	if (!h->beside_md)
		h->beside_md = EVP_MD_CTX_new();
	if (!h->beside_md)
		return false;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	h->running = pthread_create(&h->thread, NULL, beside_thread, h) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (h->running)
		pthread_detach(h->thread);
	return h->running;
}

static void ossl_start(void *ctx, const void *data, size_t len)
{
	struct host_sha256 *h = ctx;
	unsigned at;

	if (!beside_running(h)) {
		/* no thread: hashed here, with the first context (not in use
		 * between the job's init and final: the job starts whole
		 * messages only) */
		at = h->started++ % VHDX_SHA256_BESIDE_MAX;
		ossl_digest(h->md, data, len, h->msg[at].digest);
		h->hashed = h->started;
		return;
	}
	pthread_mutex_lock(&h->lock);
	at = h->started % VHDX_SHA256_BESIDE_MAX;
	h->msg[at].data = data;
	h->msg[at].len = len;
	h->started++;
	pthread_cond_broadcast(&h->changed);
	pthread_mutex_unlock(&h->lock);
}

static void ossl_wait(void *ctx, uint8_t digest[VHDX_SHA256_SIZE])
{
	struct host_sha256 *h = ctx;
	unsigned at = h->waited % VHDX_SHA256_BESIDE_MAX;

	pthread_mutex_lock(&h->lock);
	while (h->hashed == h->waited)
		pthread_cond_wait(&h->changed, &h->lock);
	pthread_mutex_unlock(&h->lock);
	memcpy(digest, h->msg[at].digest, VHDX_SHA256_SIZE);
	h->waited++;
}

static unsigned ossl_busy(void *ctx)
{
	struct host_sha256 *h = ctx;
	unsigned n;

	pthread_mutex_lock(&h->lock);
	n = h->started - h->hashed;
	pthread_mutex_unlock(&h->lock);
	return n;
}

static const struct vhdx_sha256_ops ossl_ops = {
	.ctx = &host_sha,
	.init = ossl_init,
	.update = ossl_update,
	.final = ossl_final,
	.start = ossl_start,
	.wait = ossl_wait,
	.busy = ossl_busy,
};

/* the same without start/wait: one CPU (VHDX_SHA256=serial, for the
 * benchmark's side-by-side row) */
static const struct vhdx_sha256_ops ossl_serial_ops = {
	.ctx = &host_sha,
	.init = ossl_init,
	.update = ossl_update,
	.final = ossl_final,
};

void host_sha256_ops(const struct vhdx_sha256_ops **ret)
{
	const char *which = getenv("VHDX_SHA256");

	*ret = NULL;
	if (which && strcmp(which, "core") == 0)
		return;
	if (!host_sha.md) {
		host_sha.md = EVP_MD_CTX_new();
		pthread_mutex_init(&host_sha.lock, NULL);
		pthread_cond_init(&host_sha.changed, NULL);
	}
	if (!host_sha.md)
		return;
	*ret = which && strcmp(which, "serial") == 0 ? &ossl_serial_ops : &ossl_ops;
}
