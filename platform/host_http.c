/* SPDX-License-Identifier: MIT */
/*
 * host_http.c - a URL as the core's source (host_http.h) over libcurl.
 *
 * Every request is one GET with one range (RFC 9110 14.2); the answer
 * must be 206 with a Content-Range naming exactly the bytes asked (and the
 * file's length as first seen), and a body of exactly that length.  A 200
 * is a server that ignores Range: refused before anything is written (the
 * first request is made when the source opens).  A transfer cut short
 * (connection dropped, short body) resumes from the first byte it lacks,
 * HTTP_RETRIES times at most, HTTP_RETRY_PAUSE_MS apart (the other
 * transfer goes on meanwhile), each retry one line on stderr.
 *
 * Few requests: HTTP_STREAMS buffers, the least recently used refilled.
 * A read that starts where a buffer ends fetches twice what that buffer
 * holds (up to HTTP_WINDOW_MAX), so a run of stored blocks read in file
 * order becomes a few large requests; a read elsewhere asks for
 * HTTP_WINDOW_MIN or what it needs.  The BAT's pages and the data runs
 * keep their own buffers, so nothing is fetched twice in practice.
 * A run that has reached HTTP_WINDOW_MAX is refilled in its own buffer,
 * and its next window is asked at once on a second easy handle (a second
 * connection: HTTP/1.1 answers one request at a time), so that the server
 * sends (and encrypts) it while the caller writes this one; it is taken
 * when a read reaches it, or into another stream when a run elsewhere
 * wants the second handle, never dropped.  Both transfers run in one
 * curl multi handle, driven from the reads: no thread.
 * Memory: the buffers (36 MiB at most, few touched) and the page table
 * (grown as pages are fetched, 4 MiB at most); the image is never staged.
 *
 * Changed bytes: the core reads the headers, region tables, metadata and
 * BAT again (the checker after the decoder, the copy after the plan); those
 * reads are served from the stream buffers, so they see the bytes of the
 * first fetch by construction.  What is fetched again (evicted) is checked:
 * the CRC-32C of every whole 4 KiB page fetched is kept (the first
 * HTTP_PAGES_KEPT pages; the structures come first) and a page must come
 * back with the same CRC ("the server sent other bytes ... than before").
 * And every answer must carry the ETag (else the Last-Modified) of the
 * first: a file replaced on the server between two requests, a resumed one
 * included, is refused ("the file changed on the server while being
 * read") before its bytes are taken.  The page table also counts bytes
 * fetched twice (VHDX_HTTP_STATS=1 prints it at exit).
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host.h"
#include "host_http.h"
#include "vhdx_url.h"

#define HTTP_WINDOW_MIN     (64u * 1024u)        /* [byte] a lone read's read-ahead */
#define HTTP_WINDOW_MAX     (4u * 1024u * 1024u) /* [byte] a stream's read-ahead and buffer */
#define HTTP_STREAMS        8u                   /* buffers: 32 MiB at most, grown as needed */
#define HTTP_RETRIES        5u
#define HTTP_RETRY_PAUSE_MS 500u
#define HTTP_MAX_REDIRS     10L
#define HTTP_PAGE           4096u
#define HTTP_PAGES_KEPT     (1u << 18)           /* 1 GiB of pages; 4 MiB of table at most */
#define HTTP_PAGES_FIRST    (1u << 12)           /* the table's first size: 64 KiB, doubled as it fills */
#define HTTP_STALL_SECONDS  30L                  /* below 1 byte/s this long: cut */

struct page_crc {
	uint64_t page_plus_one; /* 0: empty slot */
	uint32_t crc;
};

struct http_stream {
	uint8_t *buf;             /* cap bytes, grown up to HTTP_WINDOW_MAX as needed */
	size_t cap;
	uint64_t off;             /* [byte] file offset of buf[0] */
	size_t len;               /* [byte] valid in buf */
	size_t window;            /* [byte] its next read-ahead */
	unsigned long long used;  /* tick of its last use */
};

enum xfer_state {
	XFER_IDLE,
	XFER_RUNNING,             /* in the multi handle */
	XFER_PAUSED,              /* cut: resumed at resume_at */
	XFER_DONE,                /* every byte asked is in dst */
	XFER_FAILED,              /* why says what */
};

/* One ranged GET and its resumptions, on an easy handle of its own. */
struct http_xfer {
	struct host_http *h;
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	enum xfer_state state;
	uint8_t *dst;
	uint64_t want_first;      /* what this request asked: bytes first-last */
	uint64_t want_last;
	size_t got;               /* [byte] body so far, into dst */
	unsigned retries;
	uint64_t resume_at;       /* [ms] CLOCK_MONOTONIC, when PAUSED */
	/* the response in flight */
	long status;              /* of the last status line (redirects reset it) */
	char reason[64];
	bool have_range;
	bool judged;              /* this response's headers passed judge() */
	uint64_t cr_first, cr_last, cr_total;
	char version[200];        /* its ETag (else Last-Modified) */
	const char *refusal;      /* why the write callback stopped the body */
	char refusal_buf[640];
	/* FAILED: */
	char why[512];
	bool absent;              /* 404, 410 */
};

struct host_http {
	CURLM *multi;
	char *url;
	uint64_t size;            /* [byte] the file, from the first Content-Range */
	bool size_known;
	/* the file's version: ETag (else Last-Modified) of the first answer */
	char version_first[200];
	/* read-ahead: a few streams (the BAT's pages and the data runs
	 * interleave), each its own buffer, the least recently used reused */
	struct http_stream streams[HTTP_STREAMS];
	unsigned long long tick;
	/* xfers[0]: what a read waits for; xfers[1]: the next window of a
	 * long run, in flight while the caller consumes this one (on a
	 * second connection: HTTP/1.1 answers one request at a time) */
	struct http_xfer xfers[2];
	uint8_t *ahead_buf;       /* xfers[1]'s: ahead_cap bytes, HTTP_WINDOW_MAX when used */
	size_t ahead_cap;
	bool ahead;               /* xfers[1] holds a window not yet taken */
	/* pages seen */
	struct page_crc *pages;
	size_t pages_cap;         /* slots: a power of two, up to HTTP_PAGES_KEPT */
	size_t pages_used;
};

static const char *cacert_file;
static bool curl_ready;
static struct host_http_stats totals;
/* host_http_keep_failure: a failed read's line kept here for the command's
 * own line instead of printed (convert: one line with what the disk holds) */
static bool keep_failure;
static char kept_failure[512];

void host_http_set_cacert(const char *file)
{
	cacert_file = file;
}

void host_http_stats(struct host_http_stats *ret)
{
	*ret = totals;
}

bool host_http_is(const struct posix_target *t)
{
	return t->fd < 0 && t->user;
}

static void print_stats(void)
{
	fprintf(stderr, "vhdx: http: %llu requests, %llu bytes, %llu retries, %llu bytes fetched twice\n",
		totals.requests, totals.bytes, totals.retries, totals.refetched);
}

/* "HTTP/1.1 206 Partial Content": a new response (after a redirect, the
 * next one's) starts; "Content-Range: bytes 0-65535/1048576". */
static size_t on_header(char *line, size_t size, size_t n, void *ctx)
{
	struct http_xfer *x = ctx;
	size_t len = size * n;
	char text[256];
	unsigned long long a, b, c;
	int code;

	if (len >= sizeof(text))
		return len; /* no header we read is this long */
	memcpy(text, line, len);
	text[len] = '\0';
	if (strncmp(text, "HTTP/", 5) == 0) {
		char *sp = strchr(text, ' ');

		x->have_range = false;
		x->judged = false;
		x->version[0] = '\0';
		x->status = 0;
		x->reason[0] = '\0';
		if (sp && sscanf(sp, " %3d", &code) == 1) {
			x->status = code;
			snprintf(x->reason, sizeof(x->reason), "%s", sp + 4 < text + len ? sp + 5 : "");
			x->reason[strcspn(x->reason, "\r\n")] = '\0';
		}
		return len;
	}
	if (strncasecmp(text, "ETag:", 5) == 0 ||
	    (strncasecmp(text, "Last-Modified:", 14) == 0 && strncmp(x->version, "ETag", 4) != 0)) {
		char *v = text + strcspn(text, ":") + 1;

		v += strspn(v, " \t");
		v[strcspn(v, "\r\n")] = '\0';
		snprintf(x->version, sizeof(x->version), "%s %s", text[0] == 'E' || text[0] == 'e' ? "ETag" : "Last-Modified", v);
		return len;
	}
	if (strncasecmp(text, "Content-Range:", 14) == 0) {
		char unit[8];

		if (sscanf(text + 14, " %7[a-z] %llu-%llu/%llu", unit, &a, &b, &c) == 4 && strcmp(unit, "bytes") == 0) {
			x->have_range = true;
			x->cr_first = a;
			x->cr_last = b;
			x->cr_total = c;
		} else {
			x->have_range = false;
			x->cr_total = 0;
			x->cr_first = 1;
			x->cr_last = 0; /* first > last: refused below */
		}
	}
	return len;
}

/* The answer is judged before its first body byte is taken. */
static const char *judge(struct http_xfer *x)
{
	if (x->status == 200)
		return "the server ignores Range (it answered 200 with the whole file to a ranged GET)";
	if (x->status != 206)
		return NULL; /* an error status: its body is not ours; said after */
	if (!x->have_range)
		return "a 206 answer without one 'Content-Range: bytes first-last/length' (several ranges, or none)";
	if (x->cr_first > x->cr_last || x->cr_last >= x->cr_total) {
		snprintf(x->refusal_buf, sizeof(x->refusal_buf), "a Content-Range that is not a range (%llu-%llu/%llu)",
			 (unsigned long long)x->cr_first, (unsigned long long)x->cr_last,
			 (unsigned long long)x->cr_total);
		return x->refusal_buf;
	}
	if (x->h->version_first[0] && strcmp(x->version, x->h->version_first) != 0) {
		snprintf(x->refusal_buf, sizeof(x->refusal_buf),
			 "the file changed on the server while being read (%s, first %s)",
			 x->version[0] ? x->version : "no version", x->h->version_first);
		return x->refusal_buf;
	}
	if (x->h->size_known && x->cr_total != x->h->size) {
		snprintf(x->refusal_buf, sizeof(x->refusal_buf),
			 "the file's length changed from %llu to %llu bytes while being read",
			 (unsigned long long)x->h->size, (unsigned long long)x->cr_total);
		return x->refusal_buf;
	}
	/* exactly what was asked; at the first request (length unknown) the
	 * file may end before the range does */
	if (x->cr_first != x->want_first + x->got ||
	    (x->cr_last != x->want_last && (x->h->size_known || x->cr_last != x->cr_total - 1 ||
					     x->cr_last > x->want_last))) {
		snprintf(x->refusal_buf, sizeof(x->refusal_buf),
			 "the server answered bytes %llu-%llu to a request for %llu-%llu",
			 (unsigned long long)x->cr_first, (unsigned long long)x->cr_last,
			 (unsigned long long)(x->want_first + x->got), (unsigned long long)x->want_last);
		return x->refusal_buf;
	}
	return NULL;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct http_xfer *x = ctx;
	size_t len = size * n;
	uint64_t room;

	if (x->status != 206)
		return x->status >= 300 ? len : 0; /* an error page: dropped; 200: judged */
	room = x->want_last - x->want_first + 1 - x->got;
	if (len > room) {
		x->refusal = "the server sent a body longer than the range it named";
		return 0;
	}
	memcpy(x->dst + x->got, data, len);
	x->got += len;
	totals.bytes += len;
	return len;
}

/* Headers done, body starting: each response (a resumed one too) is
 * judged before its first byte is taken. */
static size_t on_body_judged(char *data, size_t size, size_t n, void *ctx)
{
	struct http_xfer *x = ctx;

	if (x->refusal)
		return 0;
	if (x->status < 300 && x->status != 206 && x->status != 200) {
		snprintf(x->refusal_buf, sizeof(x->refusal_buf), "the server answered %ld to a ranged GET",
			 x->status);
		x->refusal = x->refusal_buf;
		return 0;
	}
	if (!x->judged && (x->status == 200 || x->status == 206)) {
		x->refusal = judge(x);
		if (x->refusal)
			return 0;
		x->judged = true;
	}
	return on_body(data, size, n, ctx);
}

static bool cut_short(CURLcode rc)
{
	switch (rc) {
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* One line for a failure that is not a cut transfer. */
static void failure_line(struct http_xfer *x, CURLcode rc, char *why, size_t why_len, bool *ret_absent)
{
	const char *detail = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);

	if (ret_absent)
		*ret_absent = false;
	switch (rc) {
	case CURLE_OK:
		if (x->status == 404 || x->status == 410) {
			if (ret_absent)
				*ret_absent = true;
		}
		snprintf(why, why_len, "the server answered %ld%s%s%s", x->status, x->reason[0] ? " (" : "",
			 x->reason, x->reason[0] ? ")" : "");
		return;
	case CURLE_WRITE_ERROR:
		snprintf(why, why_len, "%s", x->refusal ? x->refusal : detail);
		return;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(why, why_len, "cannot resolve the host name (DNS): %s", detail);
		return;
	case CURLE_COULDNT_CONNECT:
		snprintf(why, why_len, "cannot connect to the server: %s", detail);
		return;
	case CURLE_PEER_FAILED_VERIFICATION:
		snprintf(why, why_len, "TLS: the server's certificate is not trusted (--cacert FILE names a CA): %s",
			 detail);
		return;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(why, why_len, "TLS: the handshake failed (no common protocol or cipher?): %s", detail);
		return;
	case CURLE_SSL_CACERT_BADFILE:
		snprintf(why, why_len, "--cacert %s: cannot be read as CA certificates: %s",
			 cacert_file ? cacert_file : "", detail);
		return;
	case CURLE_TOO_MANY_REDIRECTS:
		snprintf(why, why_len, "more than %ld redirects", HTTP_MAX_REDIRS);
		return;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_WEIRD_SERVER_REPLY:
		if (x->status >= 300 && x->status < 400) {
			snprintf(why, why_len, "redirected to a URL that is not http:// or https://: %s", detail);
			return;
		}
		/* no status line; after a first answer, bytes it left on the
		 * connection past its Content-Length */
		snprintf(why, why_len, "the server's answer is not an HTTP/1.x response%s: %s",
			 x->h->size_known ? " (a body longer than its Content-Length before it?)" : "", detail);
		return;
	case CURLE_OUT_OF_MEMORY:
#if LIBCURL_VERSION_NUM >= 0x080600
	case CURLE_TOO_LARGE:
#endif
		if (!x->judged) {
			snprintf(why, why_len,
				 "the server's response headers are larger than libcurl takes (a line over 100 KiB?): %s",
				 detail);
			return;
		}
		snprintf(why, why_len, "%s", detail);
		return;
	default:
		snprintf(why, why_len, "%s", detail);
		return;
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The request for what @x still lacks, handed to the multi handle. */
static void xfer_request(struct http_xfer *x)
{
	char range[48];

	x->refusal = NULL;
	x->errbuf[0] = '\0';
	x->status = 0;
	x->have_range = false;
	x->judged = false;
	snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, x->want_first + x->got, x->want_last);
	curl_easy_setopt(x->curl, CURLOPT_RANGE, range);
	totals.requests++;
	x->state = XFER_RUNNING;
	curl_multi_add_handle(x->h->multi, x->curl);
}

/* Bytes [first, last] into @dst, by @x; the transfer runs as the multi
 * handle is driven (drive, pump). */
static void xfer_start(struct http_xfer *x, uint64_t first, uint64_t last, uint8_t *dst)
{
	x->dst = dst;
	x->want_first = first;
	x->want_last = last;
	x->got = 0;
	x->retries = 0;
	x->why[0] = '\0';
	x->absent = false;
	xfer_request(x);
}

/* @x's transfer ended with @rc: done, failed (why), or cut and paused
 * until its retry (said on stderr).  At the first request (size unknown)
 * the answer may stop at the file's end. */
static void xfer_ended(struct http_xfer *x, CURLcode rc)
{
	const char *how;

	curl_multi_remove_handle(x->h->multi, x->curl);
	if (rc == CURLE_OK && !x->judged && (x->status == 200 || x->status == 206)) {
		/* an empty body: judged here, as a body would have been */
		x->refusal = judge(x);
		if (x->refusal)
			rc = CURLE_WRITE_ERROR;
	}
	if (rc == CURLE_OK && x->status == 206) {
		if ((!x->h->size_known && x->want_first + x->got == x->cr_last + 1) ||
		    x->got == x->want_last - x->want_first + 1) {
			x->state = XFER_DONE;
			return;
		}
		/* a body shorter than its range: resumed below */
	} else if (rc == CURLE_OK || !cut_short(rc)) {
		failure_line(x, rc, x->why, sizeof(x->why), &x->absent);
		x->state = XFER_FAILED;
		return;
	}
	how = rc == CURLE_OK ? "a body shorter than its range" : (x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	if (++x->retries > HTTP_RETRIES) {
		snprintf(x->why, sizeof(x->why), "the transfer was cut %u times; the last at byte %" PRIu64 ": %s",
			 HTTP_RETRIES + 1, x->want_first + x->got, how);
		x->state = XFER_FAILED;
		return;
	}
	totals.retries++;
	fprintf(stderr, "vhdx: %s: transfer cut at byte %" PRIu64 " (%s); retry %u of %u from there\n",
		x->h->url, x->want_first + x->got, how, x->retries, HTTP_RETRIES);
	x->state = XFER_PAUSED;
	x->resume_at = now_ms() + HTTP_RETRY_PAUSE_MS;
}

/* Moves every transfer on as far as it goes without waiting: paused ones
 * whose pause is over are asked again, ended ones judged. */
static void pump(struct host_http *h)
{
	uint64_t now = now_ms();
	CURLMsg *msg;
	int running, left;

	for (unsigned i = 0; i < 2; i++) {
		if (h->xfers[i].state == XFER_PAUSED && now >= h->xfers[i].resume_at)
			xfer_request(&h->xfers[i]);
	}
	curl_multi_perform(h->multi, &running);
	while ((msg = curl_multi_info_read(h->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		for (unsigned i = 0; i < 2; i++) {
			if (h->xfers[i].curl == msg->easy_handle && h->xfers[i].state == XFER_RUNNING) {
				xfer_ended(&h->xfers[i], msg->data.result);
				break;
			}
		}
	}
}

/* Drives the transfers until @x is done or failed. */
static void drive(struct host_http *h, struct http_xfer *x)
{
	for (;;) {
		int timeout = 1000; /* [ms] */

		pump(h);
		if (x->state == XFER_DONE || x->state == XFER_FAILED)
			return;
		for (unsigned i = 0; i < 2; i++) {
			if (h->xfers[i].state == XFER_PAUSED) {
				uint64_t now = now_ms(), at = h->xfers[i].resume_at;
				int wait = at > now ? (int)(at - now) : 0;

				timeout = wait < timeout ? wait : timeout;
			}
		}
		curl_multi_poll(h->multi, NULL, 0, timeout, NULL);
	}
}

/*
 * Fetches bytes [first, last] into @dst: one request, resumed after a cut
 * from the first missing byte.  0, or -1 with one line in @why.  At the
 * first request (size unknown) the answer may stop at the file's end:
 * *@ret_len tells how much came.
 */
static int fetch(struct host_http *h, uint64_t first, uint64_t last, uint8_t *dst, size_t *ret_len, char *why,
		 size_t why_len, bool *ret_absent)
{
	struct http_xfer *x = &h->xfers[0];

	bool failed;

	xfer_start(x, first, last, dst);
	drive(h, x);
	failed = x->state == XFER_FAILED;
	x->state = XFER_IDLE;
	if (ret_absent)
		*ret_absent = x->absent;
	if (failed) {
		snprintf(why, why_len, "%s", x->why);
		return -1;
	}
	*ret_len = x->got;
	return 0;
}


/* Open addressing over page numbers; full: new pages are not kept. */
static struct page_crc *page_slot(struct page_crc *pages, size_t cap, uint64_t page, bool *ret_found)
{
	uint64_t k = (page + 1) * 0x9E3779B97F4A7C15ull;
	size_t i = (size_t)(k >> 40) & (cap - 1);

	for (;;) {
		struct page_crc *p = &pages[i];

		if (p->page_plus_one == page + 1) {
			*ret_found = true;
			return p;
		}
		if (!p->page_plus_one) {
			*ret_found = false;
			return p;
		}
		i = (i + 1) & (cap - 1);
	}
}

/* Twice the slots, the pages kept moved over: the table grows with what
 * was fetched (its pages are touched only as it grows).  False when out
 * of memory: new pages are then not kept. */
static bool pages_grow(struct host_http *h)
{
	size_t cap = h->pages_cap * 2;
	struct page_crc *grown = calloc(cap, sizeof(*grown));
	bool found;

	if (!grown)
		return false;
	for (size_t i = 0; i < h->pages_cap; i++) {
		if (h->pages[i].page_plus_one)
			*page_slot(grown, cap, h->pages[i].page_plus_one - 1, &found) = h->pages[i];
	}
	free(h->pages);
	h->pages = grown;
	h->pages_cap = cap;
	return true;
}

#if defined(__x86_64__)
/* CRC-32C by SSE 4.2's crc32 instruction (the same polynomial and
 * inversions as vhdx_crc32c): about 8 bytes per 3 cycles against the
 * tables' 1, and every byte fetched passes here. */
__attribute__((target("sse4.2"))) static uint32_t page_crc_sse42(const uint8_t *p)
{
	uint64_t crc = 0xFFFFFFFFu, word;

	for (size_t i = 0; i < HTTP_PAGE; i += 8) {
		memcpy(&word, p + i, 8);
		crc = __builtin_ia32_crc32di(crc, word);
	}
	return (uint32_t)crc ^ 0xFFFFFFFFu;
}
#endif

static uint32_t page_crc(const uint8_t *p)
{
#if defined(__x86_64__)
	static int sse42 = -1;

	if (sse42 < 0)
		sse42 = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	if (sse42)
		return page_crc_sse42(p);
#endif
	return vhdx_crc32c(0, p, HTTP_PAGE);
}

/* Every whole page in @buf (file bytes from @off): its CRC against the
 * one kept from an earlier fetch.  0, or -1 with @why. */
static int pages_note(struct host_http *h, uint64_t off, const uint8_t *buf, size_t len, char *why, size_t why_len)
{
	uint64_t page = (off + HTTP_PAGE - 1) / HTTP_PAGE;

	for (; (page + 1) * HTTP_PAGE <= off + len; page++) {
		uint32_t crc = page_crc(buf + (page * HTTP_PAGE - off));
		bool found;
		struct page_crc *p = page_slot(h->pages, h->pages_cap, page, &found);

		if (found) {
			totals.refetched += HTTP_PAGE;
			if (p->crc != crc) {
				snprintf(why, why_len,
					 "the server sent other bytes for offset %" PRIu64 " than before: the image changed while being read",
					 page * HTTP_PAGE);
				return -1;
			}
		} else {
			if (h->pages_used >= h->pages_cap * 3 / 4) {
				if (h->pages_cap >= HTTP_PAGES_KEPT || !pages_grow(h))
					continue; /* full: not kept */
				p = page_slot(h->pages, h->pages_cap, page, &found);
			}
			p->page_plus_one = page + 1;
			p->crc = crc;
			h->pages_used++;
		}
	}
	return 0;
}

static int fail_read(struct posix_target *t, struct host_http *h, uint64_t off, const char *why)
{
	if (!keep_failure)
		fprintf(stderr, "vhdx: %s: %s\n", h->url, why);
	else if (!kept_failure[0])
		snprintf(kept_failure, sizeof(kept_failure), "%s: %s", h->url, why);
	if (!t->failed_op) {
		t->saved_errno = EIO;
		t->failed_op = "read";
		t->failed_offset = off;
	}
	return VHDX_ERR_IO;
}

/* The stream holding @off; else the least recently used one, refilled:
 * with twice what the last fetch took when @off continues a stream (that
 * stream keeps its bytes: the structures are read again, by the checker
 * and between plan and copy), else with a lone read's window. */
static struct http_stream *pick_stream(struct host_http *h, uint64_t off, bool *ret_hit)
{
	struct http_stream *lru = &h->streams[0];
	size_t window = HTTP_WINDOW_MIN;
	unsigned i;

	for (i = 0; i < HTTP_STREAMS; i++) {
		struct http_stream *st = &h->streams[i];

		if (st->len && off >= st->off && off < st->off + st->len) {
			*ret_hit = true;
			return st;
		}
	}
	*ret_hit = false;
	for (i = 0; i < HTTP_STREAMS; i++) {
		struct http_stream *st = &h->streams[i];

		if (st->len && off == st->off + st->len && st->len * 2 > window) {
			window = st->len * 2 > HTTP_WINDOW_MAX ? HTTP_WINDOW_MAX : st->len * 2;
			/* a long run (the data): refilled in its own buffer, so
			 * the others keep the structures and memory stays few
			 * buffers touched */
			if (window == HTTP_WINDOW_MAX && st->len == HTTP_WINDOW_MAX) {
				st->window = window;
				return st;
			}
		}
		if (st->used < lru->used)
			lru = st;
	}
	lru->window = window;
	return lru;
}
/* The window xfers[1] fetched, waited for, checked page by page and
 * swapped into a stream's place: @st, else the least recently used one.
 * 0, or -1 with @why (the transfer failed, or its bytes differ from an
 * earlier fetch). */
static int ahead_take(struct host_http *h, struct http_stream *st, char *why, size_t why_len)
{
	struct http_xfer *x = &h->xfers[1];
	uint8_t *buf;
	size_t cap;

	drive(h, x);
	h->ahead = false;
	if (x->state == XFER_FAILED) {
		x->state = XFER_IDLE;
		snprintf(why, why_len, "%s", x->why);
		return -1;
	}
	x->state = XFER_IDLE;
	if (pages_note(h, x->want_first, h->ahead_buf, x->got, why, why_len) < 0)
		return -1;
	if (!st) {
		st = &h->streams[0];
		for (unsigned i = 1; i < HTTP_STREAMS; i++) {
			if (h->streams[i].used < st->used)
				st = &h->streams[i];
		}
	}
	buf = st->buf;
	cap = st->cap;
	st->buf = h->ahead_buf;
	st->cap = HTTP_WINDOW_MAX;
	h->ahead_buf = buf;
	h->ahead_cap = cap;
	st->off = x->want_first;
	st->len = x->got;
	st->window = HTTP_WINDOW_MAX;
	st->used = ++h->tick;
	return 0;
}

/* The window after a long run's, asked now on xfers[1] so that it
 * arrives while the caller consumes this one; never over bytes a stream
 * holds.  One at a time: a window asked earlier and not read since is
 * taken into a stream first (its bytes are kept, not fetched again). */
static void ahead_start(struct host_http *h, uint64_t off)
{
	uint64_t end;
	char why[512];

	if (h->ahead && ahead_take(h, NULL, why, sizeof(why)) < 0)
		h->ahead = false; /* not needed yet: a read that needs it says why */
	if (off >= h->size)
		return;
	end = h->size - off > HTTP_WINDOW_MAX ? off + HTTP_WINDOW_MAX : h->size;
	for (unsigned i = 0; i < HTTP_STREAMS; i++) {
		const struct http_stream *st = &h->streams[i];

		if (!st->len || st->off + st->len <= off || st->off >= end)
			continue;
		if (st->off <= off)
			return; /* held already */
		end = st->off;
	}
	if (h->ahead_cap < HTTP_WINDOW_MAX) {
		uint8_t *grown = realloc(h->ahead_buf, HTTP_WINDOW_MAX);

		if (!grown)
			return; /* no read-ahead: each window when asked */
		h->ahead_buf = grown;
		h->ahead_cap = HTTP_WINDOW_MAX;
	}
	xfer_start(&h->xfers[1], off, end - 1, h->ahead_buf);
	h->ahead = true;
	pump(h); /* the request out now */
}

static int http_read(const struct vhdx_source *s, uint64_t off, void *buf, size_t len)
{
	struct posix_target *t = s->ctx;
	struct host_http *h = t->user;
	uint8_t *p = buf;
	char why[512];

	if (off > h->size || len > h->size - off) {
		errno = EIO;
		return fail_read(t, h, off, "a read past the end of the file");
	}
	if (h->ahead)
		pump(h); /* the next window keeps coming */
	while (len) {
		struct http_stream *st;
		uint64_t want, limit = UINT64_MAX;
		size_t got, n;
		bool hit;

		st = pick_stream(h, off, &hit);
		st->used = ++h->tick;
		if (hit) {
			n = (size_t)(st->off + st->len - off);
			n = n < len ? n : len;
			memcpy(p, st->buf + (off - st->off), n);
			p += n;
			off += n;
			len -= n;
			continue;
		}
		if (h->ahead && off >= h->xfers[1].want_first && off <= h->xfers[1].want_last) {
			/* the window read ahead: into the run's stream (the
			 * caller is past its end), and the next one asked */
			if (ahead_take(h, st, why, sizeof(why)) < 0)
				return fail_read(t, h, off, why);
			if (st->len == HTTP_WINDOW_MAX)
				ahead_start(h, st->off + st->len);
			continue;
		}
		/* up to the window read ahead, not into it */
		if (h->ahead && h->xfers[1].want_first > off)
			limit = h->xfers[1].want_first - off;
		if (len >= HTTP_WINDOW_MAX) { /* straight into the caller's buffer */
			n = len - len % HTTP_WINDOW_MAX;
			n = n < limit ? n : (size_t)limit;
			if (fetch(h, off, off + n - 1, p, &got, why, sizeof(why), NULL) < 0 ||
			    pages_note(h, off, p, n, why, sizeof(why)) < 0)
				return fail_read(t, h, off, why);
			p += n;
			off += n;
			len -= n;
			st->len = 0;
			continue;
		}
		want = len > st->window ? len : st->window;
		if (want > h->size - off)
			want = h->size - off;
		if (want > limit)
			want = limit;
		if (st->cap < want) {
			uint8_t *grown = realloc(st->buf, (size_t)want);

			if (!grown) {
				errno = ENOMEM;
				return fail_read(t, h, off, "out of memory");
			}
			st->buf = grown;
			st->cap = (size_t)want;
		}
		st->len = 0;
		if (fetch(h, off, off + want - 1, st->buf, &got, why, sizeof(why), NULL) < 0 ||
		    pages_note(h, off, st->buf, (size_t)want, why, sizeof(why)) < 0)
			return fail_read(t, h, off, why);
		st->off = off;
		st->len = (size_t)want;
		if (want == HTTP_WINDOW_MAX)
			ahead_start(h, off + want);
	}
	return VHDX_OK;
}

static void http_free(struct host_http *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < 2; i++) {
		if (!h->xfers[i].curl)
			continue;
		if (h->multi && (h->xfers[i].state == XFER_RUNNING))
			curl_multi_remove_handle(h->multi, h->xfers[i].curl);
		curl_easy_cleanup(h->xfers[i].curl);
	}
	if (h->multi)
		curl_multi_cleanup(h->multi);
	for (unsigned i = 0; i < HTTP_STREAMS; i++)
		free(h->streams[i].buf);
	free(h->ahead_buf);
	free(h->url);
	free(h->pages);
	free(h);
}

static void xfer_setup(struct host_http *h, struct http_xfer *x, const char *url)
{
	x->h = h;
	/* the URL as given: a fragment is libcurl's to drop */
	curl_easy_setopt(x->curl, CURLOPT_URL, url);
	curl_easy_setopt(x->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(x->curl, CURLOPT_MAXREDIRS, HTTP_MAX_REDIRS);
	curl_easy_setopt(x->curl, CURLOPT_NOSIGNAL, 1L);
	/* receive in 1 MiB pieces, not libcurl's default 16 KiB: fewer calls */
	curl_easy_setopt(x->curl, CURLOPT_BUFFERSIZE, 1024L * 1024L);
	curl_easy_setopt(x->curl, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->curl, CURLOPT_USERAGENT, "vhdx/" VHDX_VERSION);
	curl_easy_setopt(x->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->curl, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->curl, CURLOPT_WRITEFUNCTION, on_body_judged);
	curl_easy_setopt(x->curl, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->curl, CURLOPT_CONNECTTIMEOUT, HTTP_STALL_SECONDS);
	curl_easy_setopt(x->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(x->curl, CURLOPT_LOW_SPEED_TIME, HTTP_STALL_SECONDS);
	if (cacert_file)
		curl_easy_setopt(x->curl, CURLOPT_CAINFO, cacert_file);
}

int host_http_open(const char *url, struct posix_target *t, struct vhdx_source *src, bool *ret_absent,
		   char *why, size_t why_len)
{
	struct host_http *h;
	struct vhdx_url u;
	const char *bad;
	size_t got;

	*ret_absent = false;
	if (vhdx_url_parse(&u, url, strlen(url), &bad) != VHDX_OK) {
		snprintf(why, why_len, "not a URL this reads: %s", bad);
		return -1;
	}
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(why, why_len, "libcurl cannot start");
			return -1;
		}
		curl_ready = true;
		if (getenv("VHDX_HTTP_STATS"))
			atexit(print_stats);
	}
	h = calloc(1, sizeof(*h));
	if (h) {
		h->url = strdup(url);
		h->streams[0].buf = malloc(HTTP_WINDOW_MIN);
		h->streams[0].cap = HTTP_WINDOW_MIN;
		h->pages_cap = HTTP_PAGES_FIRST;
		h->pages = calloc(h->pages_cap, sizeof(*h->pages));
		h->multi = curl_multi_init();
		h->xfers[0].curl = curl_easy_init();
		h->xfers[1].curl = curl_easy_init();
	}
	if (!h || !h->url || !h->streams[0].buf || !h->pages || !h->multi || !h->xfers[0].curl ||
	    !h->xfers[1].curl) {
		http_free(h);
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	xfer_setup(h, &h->xfers[0], url);
	xfer_setup(h, &h->xfers[1], url);

	if (fetch(h, 0, HTTP_WINDOW_MIN - 1, h->streams[0].buf, &got, why, why_len, ret_absent) < 0) {
		if (strstr(why, "416"))
			snprintf(why, why_len, "the file is empty (the server answered 416 to its first bytes)");
		http_free(h);
		return -1;
	}
	h->size = h->xfers[0].cr_total;
	h->size_known = true;
	memcpy(h->version_first, h->xfers[0].version, sizeof(h->version_first));
	h->streams[0].off = 0;
	h->streams[0].len = got;
	h->streams[0].window = HTTP_WINDOW_MIN;
	h->streams[0].used = ++h->tick;
	if (pages_note(h, 0, h->streams[0].buf, got, why, why_len) < 0) {
		http_free(h);
		return -1;
	}

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->size = h->size;
	t->sector_size = 512;
	t->user = h;
	memset(src, 0, sizeof(*src));
	src->ctx = t;
	src->read = http_read;
	src->size = h->size;
	return 0;
}


void host_http_close(struct posix_target *t)
{
	if (!host_http_is(t))
		return;
	http_free(t->user);
	t->user = NULL;
}

enum vhdx_parent_open host_http_open_parent(const char *child_url, const char *path, enum vhdx_path_kind kind,
					    struct vhdx_source *ret_src, char *name, size_t name_len, char *why,
					    size_t why_len)
{
	struct posix_target *t;
	struct vhdx_url u;
	const char *bad = NULL;
	bool absent;
	int err;

	snprintf(name, name_len, "%s", path);
	switch (kind) {
	case VHDX_PATH_DRIVE:
		snprintf(why, why_len, "a Windows drive path, not followed here");
		return VHDX_PARENT_CANNOT;
	case VHDX_PATH_VOLUME:
		snprintf(why, why_len, "a Windows volume or network path, not followed here");
		return VHDX_PARENT_CANNOT;
	case VHDX_PATH_RELATIVE:
	case VHDX_PATH_ROOTED:
		break;
	}
	if (vhdx_url_parse(&u, child_url, strlen(child_url), &bad) != VHDX_OK) {
		snprintf(why, why_len, "the child's URL: %s", bad);
		return VHDX_PARENT_CANNOT;
	}
	if (kind == VHDX_PATH_ROOTED) { /* from the server's root */
		u.path = "/";
		u.path_len = 1;
		u.query_off = 1;
		while (*path == '\\' || *path == '/')
			path++;
	}
	err = vhdx_url_resolve(&u, child_url, path, strlen(path), name, name_len, NULL, &bad);
	if (err) {
		snprintf(name, name_len, "%s", path);
		snprintf(why, why_len, "%s", err == VHDX_ERR_NOSPACE ? "its URL is too long" : bad);
		return VHDX_PARENT_CANNOT;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(why, why_len, "out of memory");
		return VHDX_PARENT_FAILED;
	}
	if (host_http_open(name, t, ret_src, &absent, why, why_len) < 0) {
		free(t);
		return absent ? VHDX_PARENT_ABSENT : VHDX_PARENT_FAILED;
	}
	return VHDX_PARENT_OPENED;
}

void host_http_keep_failure(void)
{
	keep_failure = true;
	kept_failure[0] = '\0';
}

const char *host_http_failure(void)
{
	return kept_failure[0] ? kept_failure : NULL;
}
