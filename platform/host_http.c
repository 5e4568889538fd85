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
 * HTTP_RETRIES times at most, HTTP_RETRY_PAUSE_MS apart, each retry one
 * line on stderr.
 *
 * Few requests: HTTP_STREAMS buffers, the least recently used refilled.
 * A read that starts where a buffer ends fetches twice what that buffer
 * holds (up to HTTP_WINDOW_MAX), so a run of stored blocks read in file
 * order becomes a few large requests; a read elsewhere asks for
 * HTTP_WINDOW_MIN or what it needs.  The BAT's pages and the data runs
 * keep their own buffers, so nothing is fetched twice in practice.
 * A run that has reached HTTP_WINDOW_MAX is refilled in its own buffer.
 * Memory: the buffers (32 MiB at most, few touched) and the page table
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

struct host_http {
	CURL *curl;
	char *url;
	char errbuf[CURL_ERROR_SIZE];
	uint64_t size;            /* [byte] the file, from the first Content-Range */
	bool size_known;
	/* read-ahead: a few streams (the BAT's pages and the data runs
	 * interleave), each its own buffer, the least recently used reused */
	struct http_stream streams[HTTP_STREAMS];
	unsigned long long tick;
	/* the request in flight */
	uint8_t *dst;
	uint64_t want_first;      /* what this request asked: bytes first-last */
	uint64_t want_last;
	size_t got;               /* [byte] body so far, into dst */
	long status;              /* of the last status line (redirects reset it) */
	char reason[64];
	bool have_range;
	bool judged;              /* this response's headers passed judge() */
	uint64_t cr_first, cr_last, cr_total;
	/* the file's version: ETag (else Last-Modified) of the first answer,
	 * and of the one in flight */
	char version_first[200];
	char version[200];
	const char *refusal;      /* why the write callback stopped the body */
	char refusal_buf[640];
	/* pages seen */
	struct page_crc *pages;
	size_t pages_cap;         /* slots: a power of two, up to HTTP_PAGES_KEPT */
	size_t pages_used;
};

static const char *cacert_file;
static bool curl_ready;
static struct host_http_stats totals;

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
	struct host_http *h = ctx;
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

		h->have_range = false;
		h->judged = false;
		h->version[0] = '\0';
		h->status = 0;
		h->reason[0] = '\0';
		if (sp && sscanf(sp, " %3d", &code) == 1) {
			h->status = code;
			snprintf(h->reason, sizeof(h->reason), "%s", sp + 4 < text + len ? sp + 5 : "");
			h->reason[strcspn(h->reason, "\r\n")] = '\0';
		}
		return len;
	}
	if (strncasecmp(text, "ETag:", 5) == 0 ||
	    (strncasecmp(text, "Last-Modified:", 14) == 0 && strncmp(h->version, "ETag", 4) != 0)) {
		char *v = text + strcspn(text, ":") + 1;

		v += strspn(v, " \t");
		v[strcspn(v, "\r\n")] = '\0';
		snprintf(h->version, sizeof(h->version), "%s %s", text[0] == 'E' || text[0] == 'e' ? "ETag" : "Last-Modified", v);
		return len;
	}
	if (strncasecmp(text, "Content-Range:", 14) == 0) {
		char unit[8];

		if (sscanf(text + 14, " %7[a-z] %llu-%llu/%llu", unit, &a, &b, &c) == 4 && strcmp(unit, "bytes") == 0) {
			h->have_range = true;
			h->cr_first = a;
			h->cr_last = b;
			h->cr_total = c;
		} else {
			h->have_range = false;
			h->cr_total = 0;
			h->cr_first = 1;
			h->cr_last = 0; /* first > last: refused below */
		}
	}
	return len;
}

/* The answer is judged before its first body byte is taken. */
static const char *judge(struct host_http *h)
{
	if (h->status == 200)
		return "the server ignores Range (it answered 200 with the whole file to a ranged GET)";
	if (h->status != 206)
		return NULL; /* an error status: its body is not ours; said after */
	if (!h->have_range)
		return "a 206 answer without one 'Content-Range: bytes first-last/length' (several ranges, or none)";
	if (h->cr_first > h->cr_last || h->cr_last >= h->cr_total) {
		snprintf(h->refusal_buf, sizeof(h->refusal_buf), "a Content-Range that is not a range (%llu-%llu/%llu)",
			 (unsigned long long)h->cr_first, (unsigned long long)h->cr_last,
			 (unsigned long long)h->cr_total);
		return h->refusal_buf;
	}
	if (h->version_first[0] && strcmp(h->version, h->version_first) != 0) {
		snprintf(h->refusal_buf, sizeof(h->refusal_buf),
			 "the file changed on the server while being read (%s, first %s)",
			 h->version[0] ? h->version : "no version", h->version_first);
		return h->refusal_buf;
	}
	if (h->size_known && h->cr_total != h->size) {
		snprintf(h->refusal_buf, sizeof(h->refusal_buf),
			 "the file's length changed from %llu to %llu bytes while being read",
			 (unsigned long long)h->size, (unsigned long long)h->cr_total);
		return h->refusal_buf;
	}
	/* exactly what was asked; at the first request (length unknown) the
	 * file may end before the range does */
	if (h->cr_first != h->want_first + h->got ||
	    (h->cr_last != h->want_last && (h->size_known || h->cr_last != h->cr_total - 1 ||
					     h->cr_last > h->want_last))) {
		snprintf(h->refusal_buf, sizeof(h->refusal_buf),
			 "the server answered bytes %llu-%llu to a request for %llu-%llu",
			 (unsigned long long)h->cr_first, (unsigned long long)h->cr_last,
			 (unsigned long long)(h->want_first + h->got), (unsigned long long)h->want_last);
		return h->refusal_buf;
	}
	return NULL;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct host_http *h = ctx;
	size_t len = size * n;
	uint64_t room;

	if (h->status != 206)
		return h->status >= 300 ? len : 0; /* an error page: dropped; 200: judged */
	room = h->want_last - h->want_first + 1 - h->got;
	if (len > room) {
		h->refusal = "the server sent a body longer than the range it named";
		return 0;
	}
	memcpy(h->dst + h->got, data, len);
	h->got += len;
	return len;
}

/* Headers done, body starting: each response (a resumed one too) is
 * judged before its first byte is taken. */
static size_t on_body_judged(char *data, size_t size, size_t n, void *ctx)
{
	struct host_http *h = ctx;

	if (h->refusal)
		return 0;
	if (h->status < 300 && h->status != 206 && h->status != 200) {
		snprintf(h->refusal_buf, sizeof(h->refusal_buf), "the server answered %ld to a ranged GET",
			 h->status);
		h->refusal = h->refusal_buf;
		return 0;
	}
	if (!h->judged && (h->status == 200 || h->status == 206)) {
		h->refusal = judge(h);
		if (h->refusal)
			return 0;
		h->judged = true;
	}
	return on_body(data, size, n, ctx);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000u, (long)(ms % 1000u) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
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
static void failure_line(struct host_http *h, CURLcode rc, char *why, size_t why_len, bool *ret_absent)
{
	const char *detail = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);

	if (ret_absent)
		*ret_absent = false;
	switch (rc) {
	case CURLE_OK:
		if (h->status == 404 || h->status == 410) {
			if (ret_absent)
				*ret_absent = true;
		}
		snprintf(why, why_len, "the server answered %ld%s%s%s", h->status, h->reason[0] ? " (" : "",
			 h->reason, h->reason[0] ? ")" : "");
		return;
	case CURLE_WRITE_ERROR:
		snprintf(why, why_len, "%s", h->refusal ? h->refusal : detail);
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
		snprintf(why, why_len, "redirected to a URL that is not http:// or https://: %s", detail);
		return;
	default:
		snprintf(why, why_len, "%s", detail);
		return;
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
	unsigned retries = 0;
	char range[48];
	CURLcode rc;

	h->dst = dst;
	h->want_first = first;
	h->want_last = last;
	h->got = 0;
	for (;;) {
		size_t before = h->got;

		h->refusal = NULL;
		h->errbuf[0] = '\0';
		h->status = 0;
		h->have_range = false;
		snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, first + h->got, last);
		curl_easy_setopt(h->curl, CURLOPT_RANGE, range);
		totals.requests++;
		rc = curl_easy_perform(h->curl);
		totals.bytes += h->got - before;
		if (rc == CURLE_OK && !h->judged && (h->status == 200 || h->status == 206)) {
			/* an empty body: judged here, as a body would have been */
			h->refusal = judge(h);
			if (h->refusal)
				rc = CURLE_WRITE_ERROR;
		}
		if (rc == CURLE_OK && h->status == 206) {
			if (!h->size_known && first + h->got == h->cr_last + 1)
				break; /* the first answer, up to the file's end */
			if (h->got == last - first + 1)
				break;
			/* a body shorter than its range: resumed below */
		} else if (rc == CURLE_OK || !cut_short(rc)) {
			failure_line(h, rc, why, why_len, ret_absent);
			return -1;
		}
		if (++retries > HTTP_RETRIES) {
			snprintf(why, why_len, "the transfer was cut %u times; the last at byte %" PRIu64 ": %s",
				 HTTP_RETRIES + 1, first + h->got,
				 rc == CURLE_OK ? "a body shorter than its range" : (h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc)));
			return -1;
		}
		totals.retries++;
		fprintf(stderr, "vhdx: %s: transfer cut at byte %" PRIu64 " (%s); retry %u of %u from there\n",
			h->url, first + h->got,
			rc == CURLE_OK ? "a body shorter than its range" : (h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc)),
			retries, HTTP_RETRIES);
		sleep_ms(HTTP_RETRY_PAUSE_MS);
	}
	*ret_len = h->got;
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
	fprintf(stderr, "vhdx: %s: %s\n", h->url, why);
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
	while (len) {
		struct http_stream *st;
		uint64_t want;
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
		if (len >= HTTP_WINDOW_MAX) { /* straight into the caller's buffer */
			n = len - len % HTTP_WINDOW_MAX;
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
	}
	return VHDX_OK;
}

static void http_free(struct host_http *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	for (unsigned i = 0; i < HTTP_STREAMS; i++)
		free(h->streams[i].buf);
	free(h->url);
	free(h->pages);
	free(h);
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
		h->curl = curl_easy_init();
	}
	if (!h || !h->url || !h->streams[0].buf || !h->pages || !h->curl) {
		http_free(h);
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	/* the URL as given: a fragment is libcurl's to drop */
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h->curl, CURLOPT_MAXREDIRS, HTTP_MAX_REDIRS);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	/* receive in 1 MiB pieces, not libcurl's default 16 KiB: fewer calls */
	curl_easy_setopt(h->curl, CURLOPT_BUFFERSIZE, 1024L * 1024L);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "vhdx/" VHDX_VERSION);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body_judged);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, HTTP_STALL_SECONDS);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h->curl, CURLOPT_LOW_SPEED_TIME, HTTP_STALL_SECONDS);
	if (cacert_file)
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, cacert_file);

	if (fetch(h, 0, HTTP_WINDOW_MIN - 1, h->streams[0].buf, &got, why, why_len, ret_absent) < 0) {
		if (strstr(why, "416"))
			snprintf(why, why_len, "the file is empty (the server answered 416 to its first bytes)");
		http_free(h);
		return -1;
	}
	h->size = h->cr_total;
	h->size_known = true;
	memcpy(h->version_first, h->version, sizeof(h->version_first));
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
