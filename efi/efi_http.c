/* SPDX-License-Identifier: MIT */
/*
 * efi_http.c - an http:// or https:// URL as the core's source, over the
 * firmware's EFI_HTTP_PROTOCOL (HttpDxe; TlsDxe for https, with the
 * firmware's trusted CA list).  Nothing is staged: every read is a
 * single-range GET (Range: bytes=A-B) straight into the caller's buffer,
 * or into a bounded read-ahead window when the reads are small.
 *
 * The server is not trusted (issue 20, "A hostile server"): every value
 * read from it (Content-Range, Content-Length, chunk-size lines) goes
 * through core/vhdx_http.h; a 206 must carry exactly the range asked and
 * the size first seen, a 200 to a ranged GET is refused (the server
 * ignores Range), the body is read to exactly the length announced (the
 * firmware blocks until its timeout when asked for more) and a chunked
 * body is de-chunked here (HttpDxe returns it raw).  A dropped connection
 * or a short body is asked again from the byte where it stopped, a bounded
 * number of times with a pause, on a new HTTP child.
 *
 * Changed bytes (issue 20: "different bytes for the same range on a second
 * request"): the core reads the headers, metadata and BAT again (the copy
 * after the plan; a BAT larger than the reader's 1 MiB scratch page by
 * page) and the read-ahead windows keep only the last few ranges, so some
 * bytes are fetched twice.  The CRC-32C of each whole 4 KiB page fetched
 * is kept, the first EFI_HTTP_PAGES_KEPT pages of each URL (a chain's
 * parents have their own): the structures come first (the header section,
 * the metadata, the BAT as the plan reads it).  A page fetched again must
 * come back with the same CRC, or the read fails with "the server sent
 * other bytes for offset N than before".  Past the bound, pages fetched
 * are not kept: a second fetch of those is held only to the file's length
 * (the Content-Range's), as before.
 *
 * Completion by polling: CheckEvent on a plain event (type 0, no notify
 * function) with Poll() in between; ESC stops the wait.
 */
#include "efi_app.h"
#include "efi_net.h"
#include "vhdx_http.h"
#include "vhdx_url.h"

#define EFI_HTTP_WINDOW       (2u << 20)     /* [byte] one read-ahead window */
#define EFI_HTTP_WINDOWS      6u             /* the first (the probe's, kept) and five more:
					      * a dirty log's open reads metadata, BAT and
					      * two log pieces before it comes back to them */
#define EFI_HTTP_PROBE        (1u << 20)     /* [byte] first GET: the VHDX header section */
#define EFI_HTTP_TIMEOUT_MS   20000u         /* [ms] the firmware's, per connection step */
#define EFI_HTTP_WAIT_US      (30u * 1000000u) /* [us] without progress: the connection is dead */
#define EFI_HTTP_MAP_WAIT_US  (15u * 1000000u) /* [us] for the address to be usable */
#define EFI_HTTP_TRIES        4u             /* retries in a row without a byte gained */
#define EFI_HTTP_TRIES_TOTAL  32u            /* retries in all, per opened URL */
#define EFI_HTTP_PAUSE_US     1000000u       /* [us] before a retry */
#define EFI_HTTP_ESC_US       200000u        /* [us] between two looks at the keyboard */
#define EFI_HTTP_PAGE         4096u          /* [byte] the unit of the changed-bytes check */
#define EFI_HTTP_PAGE_SLOTS   8192u          /* the table: 8192 x 16 bytes = 128 KiB per URL */
#define EFI_HTTP_PAGES_KEPT   6144u          /* pages kept, 3/4 of the slots: the first 24 MiB
					      * fetched (a 2.5 TiB disk's BAT at 1 MiB blocks) */

/* EFI_HTTP_STATUS_CODE, by the specification's order, as numbers. */
static const UINT16 efi_http_codes[] = {
	0,   100, 101, 200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304,
	305, 307, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412,
	413, 414, 415, 416, 417, 500, 501, 502, 503, 504, 505, 308, 429,
};

static EFI_GUID efi_http_sb_guid = EFI_NET_HTTP_SERVICE_BINDING_GUID;
static EFI_GUID efi_http_guid = EFI_NET_HTTP_PROTOCOL_GUID;
/* EFI_TLS_CA_CERTIFICATE_GUID: the variable HttpDxe reads the trusted CAs from */
EFI_GUID efi_tls_ca_guid = { 0xfd2340d0, 0x3dab, 0x4349, { 0xa6, 0xc7, 0x3b, 0x4f, 0x12, 0xb4, 0x8e, 0xae } };


static CHAR8 efi_http_name_host[] = "Host";
static CHAR8 efi_http_name_range[] = "Range";
static CHAR8 efi_http_name_agent[] = "User-Agent";
static CHAR8 efi_http_agent[] = "vhdx/" VHDX_VERSION;

/* A page's CRC-32C, in an open-addressed table keyed by page number. */
struct efi_http_page {
	UINT64 page_plus_one;      /* 0: a free slot */
	UINT32 crc;
};

struct efi_http {
	EFI_HANDLE nic;
	EFI_SERVICE_BINDING *sb;
	EFI_HANDLE child;
	EFI_NET_HTTP *http;
	EFI_EVENT event;
	char *url;                 /* pooled UTF-8: origin and path, no fragment */
	CHAR16 *url16;             /* pooled: what the firmware is given */
	BOOLEAN https;
	BOOLEAN host_is_name;      /* a DNS name, not an address */
	CHAR8 host[VHDX_URL_HOST_MAX + 10];  /* Host: name or [v6], ":port" if given */
	CHAR8 range[64];           /* "bytes=A-B" */
	UINT64 size;               /* [byte] the complete length; 0: not known yet */
	/* Bytes already fetched, for the reads that come back to them (the
	 * core reads headers, metadata and BAT pages more than once): win[0]
	 * the first GET's (the header section), kept; the others reused
	 * least recently used first.  Pages of EFI_HTTP_WINDOW bytes,
	 * allocated when first needed. */
	struct {
		UINT8 *buf;
		UINT64 off;        /* [byte] of the file */
		UINTN len;
		UINT64 used;       /* a clock of uses, for the LRU */
	} win[EFI_HTTP_WINDOWS];
	UINT64 uses;
	UINT64 next_off;           /* [byte] just past the last range fetched */
	UINT8 tail[64];            /* a chunked body's framing after the data */
	BOOLEAN fatal;             /* the last failure is not worth a retry */
	BOOLEAN said;              /* ... and its line is printed */
	BOOLEAN keep_reason;       /* ... or kept for the command's line (a write began) */
	CHAR16 reason[200];        /* "URL: what failed", the last fatal failure's */
	BOOLEAN esc;               /* ESC stopped a wait */
	UINT64 esc_us;             /* [us] the last look at the keyboard, across waits:
				    * one wait (a TCP segment) is far shorter than
				    * EFI_HTTP_ESC_US */
	BOOLEAN answered;          /* the child's connection carried a whole answer: */
	UINT64 answered_first;     /* [byte] its range, for the next answer's judgement */
	UINT64 answered_last;
	UINTN retries;
	UINT64 requests;
	UINT64 bytes;              /* [byte] of data received */
	struct efi_http_page *pages; /* EFI_HTTP_PAGE_SLOTS, pooled */
	UINTN pages_kept;
	/* a chain's URLs, the child's first: a failure of any is said once,
	 * in the command's line (efi_http_keep_reason, efi_http_reason) */
	struct efi_http *chain_prev, *chain_next;
};

/* ---- the HTTP child: created, configured, dropped ---- */

static void efi_http_drop(struct efi_http *h)
{
	if (h->http)
		h->http->Configure(h->http, NULL);
	if (h->child)
		h->sb->DestroyChild(h->sb, h->child);
	h->http = NULL;
	h->child = NULL;
	h->answered = FALSE;
}

static EFI_STATUS efi_http_connect(struct efi_http *h)
{
	EFI_NET_HTTPv4_ACCESS_POINT ap;
	EFI_NET_HTTP_CONFIG_DATA cfg;
	UINT64 start = efi_clock_us();
	EFI_STATUS st;

	st = h->sb->CreateChild(h->sb, &h->child);
	if (EFI_ERROR(st)) {
		h->child = NULL;
		return st;
	}
	st = BS->HandleProtocol(h->child, &efi_http_guid, (void **)&h->http);
	if (EFI_ERROR(st)) {
		h->http = NULL;
		return st;
	}
	ZeroMem(&ap, sizeof(ap));
	ZeroMem(&cfg, sizeof(cfg));
	ap.UseDefaultAddress = TRUE;
	cfg.HttpVersion = EfiNetHttpVersion11;
	cfg.TimeOutMillisec = EFI_HTTP_TIMEOUT_MS;
	cfg.LocalAddressIsIPv6 = FALSE;
	cfg.AccessPoint.IPv4Node = &ap;
	/* EFI_NO_MAPPING: the address (DHCP) is not in use yet */
	while ((st = h->http->Configure(h->http, &cfg)) == EFI_NO_MAPPING &&
	       efi_clock_us() - start < EFI_HTTP_MAP_WAIT_US)
		BS->Stall(100000);
	return st;
}

/* The token's completion: EFI_SUCCESS (its Status then counts),
 * EFI_TIMEOUT (no completion for EFI_HTTP_WAIT_US) or EFI_ABORTED (ESC). */
static EFI_STATUS efi_http_wait(struct efi_http *h)
{
	UINT64 start = efi_clock_us(), now;

	for (;;) {
		if (BS->CheckEvent(h->event) == EFI_SUCCESS)
			return EFI_SUCCESS;
		h->http->Poll(h->http);
		now = efi_clock_us();
		if (now - start > EFI_HTTP_WAIT_US)
			return EFI_TIMEOUT;
		if (now - h->esc_us > EFI_HTTP_ESC_US) {
			h->esc_us = now;
			if (efi_con_esc_pressed()) {
				h->esc = TRUE;
				return EFI_ABORTED;
			}
		}
	}
}

/* A network status in words: Print's %r knows none of Appendix D's
 * network codes.  buf holds 64 units. */
/* One Request (@request) or Response call on @msg, polled to its end; a
 * wait that ends early (timeout, ESC) cancels it. */
static EFI_STATUS efi_http_exchange(struct efi_http *h, EFI_NET_HTTP_MESSAGE *msg, BOOLEAN request)
{
	EFI_NET_HTTP_TOKEN tok;
	EFI_STATUS st;

	ZeroMem(&tok, sizeof(tok));
	tok.Event = h->event;
	tok.Message = msg;
	st = request ? h->http->Request(h->http, &tok) : h->http->Response(h->http, &tok);
	if (EFI_ERROR(st))
		return st;
	st = efi_http_wait(h);
	if (st == EFI_SUCCESS)
		return tok.Status;
	h->http->Cancel(h->http, &tok);
	return st;
}

static const CHAR16 *efi_http_why(EFI_STATUS st, CHAR16 *buf)
{
	if (st == EFI_CONNECTION_FIN)
		return L"the server closed the connection";
	if (st == EFI_CONNECTION_RESET)
		return L"the connection was reset";
	if (st == EFI_CONNECTION_REFUSED)
		return L"the connection was refused";
	if (st == EFI_END_OF_FILE)
		return L"the body ended short";
	if (st == EFI_TIMEOUT)
		return L"no answer in 30 s";
	if (st == EFI_HTTP_ERROR)
		return L"an HTTP error status";
	UnicodeSPrint(buf, 64 * sizeof(CHAR16), L"%r", st);
	return buf;
}

/* A failure that ends the read: one line naming it. */
static EFI_STATUS efi_http_fatal(struct efi_http *h, EFI_STATUS st, const CHAR16 *fmt, ...)
{
	CHAR16 *what;
	va_list args;

	va_start(args, fmt);
	what = VPoolPrint(fmt, args);
	va_end(args);
	h->fatal = TRUE;
	UnicodeSPrint(h->reason, sizeof(h->reason), L"%a: %s", h->url, what ? what : L"failed");
	if (!h->keep_reason) {
		h->said = TRUE;
		Print(L"\rvhdx: %s\n", h->reason);
	}
	if (what)
		FreePool(what);
	return st;
}

/* ESC during a wait: said here while the URL is being opened; once it is
 * open, by the command, whose line says what the target holds. */
static EFI_STATUS efi_http_stopped(struct efi_http *h)
{
	h->esc = TRUE;
	if (!h->size)
		return efi_http_fatal(h, EFI_ABORTED, L"stopped by ESC");
	h->fatal = TRUE;
	return EFI_ABORTED;
}

static UINTN efi_http_strlen(const CHAR8 *s)
{
	UINTN n = 0;

	while (s[n])
		n++;
	return n;
}

static void efi_http_free_headers(EFI_NET_HTTP_MESSAGE *m)
{
	UINTN i;

	if (!m->Headers)
		return;
	for (i = 0; i < m->HeaderCount; i++) {
		if (m->Headers[i].FieldName)
			FreePool(m->Headers[i].FieldName);
		if (m->Headers[i].FieldValue)
			FreePool(m->Headers[i].FieldValue);
	}
	FreePool(m->Headers);
	m->Headers = NULL;
	m->HeaderCount = 0;
}

/* What the response's headers say about its body. */
struct efi_http_answer {
	unsigned code;
	BOOLEAN has_range, has_length, chunked;
	UINT64 first, last, complete, length;
};

static EFI_STATUS efi_http_headers(struct efi_http *h, const EFI_NET_HTTP_MESSAGE *m,
				   struct efi_http_answer *a)
{
	UINTN i;

	for (i = 0; i < m->HeaderCount; i++) {
		const CHAR8 *name = m->Headers[i].FieldName, *value = m->Headers[i].FieldValue;
		UINTN nl, vl;
		int err;

		if (!name || !value)
			continue;
		nl = efi_http_strlen(name);
		vl = efi_http_strlen(value);
		if (vhdx_http_name_is((const char *)name, nl, "Content-Range")) {
			err = vhdx_http_content_range((const char *)value, vl, &a->first, &a->last,
						      &a->complete);
			if (err || a->has_range)
				return efi_http_fatal(h, EFI_PROTOCOL_ERROR,
						      L"the server's Content-Range is not one valid range: %.64a", value);
			a->has_range = TRUE;
		} else if (vhdx_http_name_is((const char *)name, nl, "Content-Length")) {
			UINT64 n;

			err = vhdx_http_content_length((const char *)value, vl, &n);
			if (err || (a->has_length && n != a->length))
				return efi_http_fatal(h, EFI_PROTOCOL_ERROR,
						      L"the server's Content-Length is not one valid length: %.64a", value);
			a->length = n;
			a->has_length = TRUE;
		} else if (vhdx_http_name_is((const char *)name, nl, "Transfer-Encoding")) {
			bool chunked = false;

			err = vhdx_http_transfer_encoding((const char *)value, vl, &chunked);
			if (err)
				return efi_http_fatal(h, EFI_UNSUPPORTED,
						      L"the server sends Transfer-Encoding %.64a: only chunked is read",
						      value);
			a->chunked = chunked;
		}
	}
	return EFI_SUCCESS;
}

static void efi_http_range_text(struct efi_http *h, UINT64 first, UINT64 last)
{
	struct vhdx_text t;

	vhdx_text_init(&t, (char *)h->range, sizeof(h->range));
	vhdx_text_str(&t, "bytes=");
	vhdx_text_u64(&t, first);
	vhdx_text_str(&t, "-");
	vhdx_text_u64(&t, last);
}

/* Checks a response's status and headers against the range asked.  probe:
 * the first GET, which learns the size (the server may end the range at
 * the file's end). */
static EFI_STATUS efi_http_check_answer(struct efi_http *h, struct efi_http_answer *a, UINT64 first,
					UINT64 *len, BOOLEAN probe)
{
	UINT64 want_last = first + *len - 1;

	/* HttpDxe parses the next answer from the byte after the body it was
	 * asked for: bytes a server sends past a Content-Length come first,
	 * and no status line is found where one must start */
	if (a->code == 0 && h->answered)
		return efi_http_fatal(h, EFI_PROTOCOL_ERROR,
				      L"the answer for bytes %ld-%ld was longer than its Content-Length (no HTTP status line where the next answer starts)",
				      h->answered_first, h->answered_last);
	if (a->code == 200)
		return efi_http_fatal(h, EFI_UNSUPPORTED,
				      L"the server ignores Range (HTTP 200 to a ranged GET): it cannot serve an image by parts");
	if (a->code == 404)
		return efi_http_fatal(h, EFI_NOT_FOUND, L"HTTP 404 Not Found");
	if (a->code == 403)
		return efi_http_fatal(h, EFI_ACCESS_DENIED, L"HTTP 403 Forbidden");
	if (a->code == 416)
		return efi_http_fatal(h, EFI_HTTP_ERROR, probe ? L"HTTP 416: the file is empty" :
				      L"HTTP 416 Range Not Satisfiable: the file shrank on the server");
	if (a->code >= 300 && a->code < 400)
		return efi_http_fatal(h, EFI_HTTP_ERROR, L"HTTP %d: a redirect, not followed (give the final URL)",
				      a->code);
	if (a->code >= 500)
		return efi_http_fatal(h, EFI_HTTP_ERROR, L"HTTP %d: a server error", a->code);
	if (a->code != 206)
		return efi_http_fatal(h, EFI_HTTP_ERROR, a->code ? L"HTTP %d, not 206 Partial Content" :
				      L"an HTTP status the firmware does not know, not 206 Partial Content",
				      a->code);
	if (!a->has_range)
		return efi_http_fatal(h, EFI_PROTOCOL_ERROR, L"a 206 answer without Content-Range");
	if (!a->complete)
		return efi_http_fatal(h, EFI_PROTOCOL_ERROR,
				      L"the server does not say the file's size (Content-Range bytes A-B/*)");
	if (probe && !h->size && a->first == first && a->last < want_last && a->last == a->complete - 1)
		want_last = a->last; /* the file ends before the probe's range */
	if (a->first != first || a->last != want_last)
		return efi_http_fatal(h, EFI_PROTOCOL_ERROR,
				      L"the server answered bytes %ld-%ld, not the range asked (%ld-%ld)",
				      a->first, a->last, first, want_last);
	if (h->size && a->complete != h->size)
		return efi_http_fatal(h, EFI_PROTOCOL_ERROR,
				      L"the file changed on the server: %ld bytes, was %ld", a->complete, h->size);
	if (!a->chunked && !a->has_length)
		return efi_http_fatal(h, EFI_PROTOCOL_ERROR,
				      L"a 206 answer with neither Content-Length nor chunked framing");
	if (!a->chunked && a->length != want_last - first + 1)
		return efi_http_fatal(h, EFI_PROTOCOL_ERROR,
				      L"Content-Length %ld does not match the range asked (%ld bytes)", a->length,
				      want_last - first + 1);
	h->size = a->complete;
	*len = want_last - first + 1;
	return EFI_SUCCESS;
}

/* A failure to reach the server at all: DNS, TLS, a refused connection. */
static EFI_STATUS efi_http_contact_failed(struct efi_http *h, EFI_STATUS st)
{
	if (h->esc)
		return efi_http_stopped(h);
	if (h->host_is_name && (st == EFI_NOT_FOUND || st == EFI_NO_MAPPING))
		return efi_http_fatal(h, st, L"DNS: the host %a is not found: %r", h->host, st);
	if (h->https && st != EFI_TIMEOUT && st != EFI_CONNECTION_REFUSED)
		return efi_http_fatal(h, st,
				      L"TLS: no secure connection: %r (certificate not trusted by the firmware's CA list, a name mismatch, or no common cipher)",
				      st);
	return st;
}

/* A whole answer came on the child's connection: the next comes after it. */
static EFI_STATUS efi_http_answered(struct efi_http *h, UINT64 first, UINT64 last)
{
	h->answered = TRUE;
	h->answered_first = first;
	h->answered_last = last;
	return EFI_SUCCESS;
}

/*
 * One GET of [first, first + *len) into dst.  *got: the bytes of that
 * range placed at dst, counted even when the answer breaks off.  Returns
 * EFI_SUCCESS with *got == *len; else a failure, h->fatal when not worth
 * a retry (its line printed).
 */
static EFI_STATUS efi_http_get(struct efi_http *h, UINT64 first, UINT64 *len, UINT8 *dst, UINT64 *got,
			       BOOLEAN probe)
{
	EFI_NET_HTTP_HEADER hdr[3];
	EFI_NET_HTTP_REQUEST_DATA req;
	EFI_NET_HTTP_RESPONSE_DATA rsp;
	EFI_NET_HTTP_MESSAGE msg;
	struct efi_http_answer a;
	struct vhdx_http_chunked ch;
	EFI_STATUS st;
	UINTN n;

	*got = 0;
	h->fatal = FALSE;
	if (!h->http) {
		st = efi_http_connect(h);
		if (EFI_ERROR(st))
			return efi_http_fatal(h, st, L"cannot set up an HTTP connection: %r", st);
	}
	efi_http_range_text(h, first, first + *len - 1);
	hdr[0].FieldName = efi_http_name_host;
	hdr[0].FieldValue = h->host;
	hdr[1].FieldName = efi_http_name_range;
	hdr[1].FieldValue = h->range;
	hdr[2].FieldName = efi_http_name_agent;
	hdr[2].FieldValue = efi_http_agent;
	req.Method = EfiNetHttpMethodGet;
	req.Url = h->url16;
	ZeroMem(&msg, sizeof(msg));
	msg.Data.Request = &req;
	msg.HeaderCount = 3;
	msg.Headers = hdr;
	h->requests++;
	st = efi_http_exchange(h, &msg, TRUE);
	if (EFI_ERROR(st))
		return efi_http_contact_failed(h, st);

	/* the status and the headers only: asked for body bytes too, HttpDxe
	 * waits for them until its timeout when there are none (a 500 with
	 * Content-Length 0) */
	ZeroMem(&rsp, sizeof(rsp));
	ZeroMem(&msg, sizeof(msg));
	msg.Data.Response = &rsp;
	msg.BodyLength = 0;
	msg.Body = NULL;
	st = efi_http_exchange(h, &msg, FALSE);
	/* EFI_HTTP_ERROR: HttpDxe's word for a 4xx or 5xx answer, whose
	 * status and headers are there: judged below like any other */
	if (EFI_ERROR(st) && !(st == EFI_HTTP_ERROR && rsp.StatusCode)) {
		efi_http_free_headers(&msg);
		return h->esc ? efi_http_stopped(h) : st;
	}
	ZeroMem(&a, sizeof(a));
	a.code = rsp.StatusCode < sizeof(efi_http_codes) / sizeof(efi_http_codes[0]) ? efi_http_codes[rsp.StatusCode] : 0;
	st = efi_http_headers(h, &msg, &a);
	efi_http_free_headers(&msg);
	if (!EFI_ERROR(st))
		st = efi_http_check_answer(h, &a, first, len, probe);
	if (EFI_ERROR(st))
		return st;
	n = 0;
	vhdx_http_chunked_init(&ch);
	for (;;) {
		UINTN asked;

		if (a.chunked) {
			size_t data;

			if (vhdx_http_chunked_feed(&ch, dst + *got, n, &data) != VHDX_OK)
				return efi_http_fatal(h, EFI_PROTOCOL_ERROR,
						      L"the chunked body is broken at byte %ld of the range (bad chunk size line, or longer than the range)",
						      *got + data);
			n = data;
		}
		*got += n;
		h->bytes += n;
		if (*got == *len && (!a.chunked || ch.done))
			return efi_http_answered(h, first, first + *len - 1);
		/* more: the rest of the range, or (chunked) its framing */
		ZeroMem(&msg, sizeof(msg));
		if (*got < *len) {
			msg.Body = dst + *got;
			msg.BodyLength = (UINTN)(*len - *got);
		} else {
			msg.Body = h->tail;
			msg.BodyLength = sizeof(h->tail);
		}
		asked = msg.BodyLength;
		st = efi_http_exchange(h, &msg, FALSE);
		if (h->esc)
			return efi_http_stopped(h);
		if (EFI_ERROR(st))
			return st;
		n = msg.BodyLength;
		if (n > asked)
			return efi_http_fatal(h, EFI_PROTOCOL_ERROR, L"the firmware returned more body than asked");
		if (!n)
			return EFI_END_OF_FILE; /* nothing came: the body is short */
		if (msg.Body == h->tail) {
			size_t data;

			if (vhdx_http_chunked_feed(&ch, h->tail, n, &data) != VHDX_OK || data)
				return efi_http_fatal(h, EFI_PROTOCOL_ERROR,
						      L"the chunked body is longer than the range asked");
			if (ch.done)
				return efi_http_answered(h, first, first + *len - 1);
			n = 0;
			continue;
		}
	}
}

/* The slot of @page: its own, or the free one where it goes. */
static struct efi_http_page *efi_http_page_slot(struct efi_http *h, UINT64 page)
{
	UINTN i = (UINTN)(((page + 1) * 0x9E3779B97F4A7C15ull) >> 51) & (EFI_HTTP_PAGE_SLOTS - 1);

	/* never full: at most EFI_HTTP_PAGES_KEPT of the slots are used */
	while (h->pages[i].page_plus_one && h->pages[i].page_plus_one != page + 1)
		i = (i + 1) & (EFI_HTTP_PAGE_SLOTS - 1);
	return &h->pages[i];
}

/* Every whole page of [off, off + len) just fetched into @buf: kept, or
 * held to the CRC kept from its first fetch. */
static EFI_STATUS efi_http_pages_check(struct efi_http *h, UINT64 off, const UINT8 *buf, UINT64 len)
{
	UINT64 page = (off + EFI_HTTP_PAGE - 1) / EFI_HTTP_PAGE;

	for (; (page + 1) * EFI_HTTP_PAGE <= off + len; page++) {
		struct efi_http_page *p = efi_http_page_slot(h, page);
		const UINT8 *at = buf + (page * EFI_HTTP_PAGE - off);

		if (p->page_plus_one) {
			if (vhdx_crc32c(0, at, EFI_HTTP_PAGE) != p->crc)
				return efi_http_fatal(h, EFI_CRC_ERROR,
						      L"the server sent other bytes for offset %ld than before: the image changed while being read",
						      page * EFI_HTTP_PAGE);
		} else if (h->pages_kept < EFI_HTTP_PAGES_KEPT) {
			p->page_plus_one = page + 1;
			p->crc = vhdx_crc32c(0, at, EFI_HTTP_PAGE);
			h->pages_kept++;
		}
	}
	return EFI_SUCCESS;
}

/*
 * [off, off + len) of the file into dst, retried from the byte where an
 * answer broke off.  probe: the first GET (len may come back shorter:
 * the file's end).
 */
static EFI_STATUS efi_http_fetch(struct efi_http *h, UINT64 off, UINT64 *len, UINT8 *dst, BOOLEAN probe)
{
	UINT64 done = 0, got, want;
	UINTN tries = 0;
	CHAR16 why[64];
	EFI_STATUS st;

	for (;;) {
		want = *len - done;
		st = efi_http_get(h, off + done, &want, dst + done, &got, probe && !h->size);
		if (h->size && probe)
			*len = done + want;
		done += got;
		if (!EFI_ERROR(st)) {
			h->next_off = off + *len;
			return efi_http_pages_check(h, off, dst, *len);
		}
		efi_http_drop(h);
		if (h->fatal)
			return st;
		tries = got ? 1 : tries + 1;
		if (tries > EFI_HTTP_TRIES || h->retries >= EFI_HTTP_TRIES_TOTAL)
			return efi_http_fatal(h, st, L"the connection failed at byte %ld: %s; gave up after %d retries",
					      off + done, efi_http_why(st, why), h->retries);
		h->retries++;
		Print(L"\rnetwork: %s at byte %ld: retry %d (of at most %d) in 1 s, from that byte\n",
		      efi_http_why(st, why), off + done, h->retries, EFI_HTTP_TRIES_TOTAL);
		BS->Stall(EFI_HTTP_PAUSE_US);
	}
}

/* ---- the source ---- */

/* The window that holds byte off, or -1. */
static INTN efi_http_window_at(struct efi_http *h, UINT64 off)
{
	UINTN i;

	for (i = 0; i < EFI_HTTP_WINDOWS; i++)
		if (h->win[i].len && off >= h->win[i].off && off < h->win[i].off + h->win[i].len)
			return (INTN)i;
	return -1;
}

/* Bytes from off up to the first window that starts after it (at most max). */
static UINT64 efi_http_gap(const struct efi_http *h, UINT64 off, UINT64 max)
{
	UINTN i;

	for (i = 0; i < EFI_HTTP_WINDOWS; i++)
		if (h->win[i].len && h->win[i].off > off && h->win[i].off - off < max)
			max = h->win[i].off - off;
	return max;
}

EFI_STATUS efi_http_read(struct efi_http *h, UINT64 off, void *buf, UINTN len)
{
	UINT8 *out = buf;
	EFI_STATUS st;

	if (off > h->size || len > h->size - off)
		return EFI_END_OF_FILE;
	while (len) {
		INTN w = efi_http_window_at(h, off);
		UINT64 n, ahead;
		UINTN i, v;

		if (w >= 0) {
			n = h->win[w].off + h->win[w].len - off;
			if (n > len)
				n = len;
			CopyMem(out, h->win[w].buf + (off - h->win[w].off), (UINTN)n);
			h->win[w].used = ++h->uses;
			out += n;
			off += n;
			len -= (UINTN)n;
			continue;
		}
		/* large reads, and reads that run into a window: straight to
		 * the caller, up to the window */
		n = efi_http_gap(h, off, len);
		if (n >= EFI_HTTP_WINDOW || n < len) {
			st = efi_http_fetch(h, off, &n, out, FALSE);
			if (EFI_ERROR(st))
				return st;
			out += n;
			off += n;
			len -= (UINTN)n;
			continue;
		}
		/* a small read: ahead only when the reads go on where the last
		 * range ended (the BAT, blocks stored in order), never over
		 * bytes a window holds (no byte fetched twice) */
		ahead = off == h->next_off ? EFI_HTTP_WINDOW : len;
		if (ahead > h->size - off)
			ahead = h->size - off;
		ahead = efi_http_gap(h, off, ahead);
		for (v = 1, i = 2; i < EFI_HTTP_WINDOWS; i++)
			if (h->win[i].used < h->win[v].used)
				v = i;
		if (!h->win[v].buf) {
			h->win[v].buf = efi_pages_alloc(EFI_HTTP_WINDOW);
			if (!h->win[v].buf)
				return EFI_OUT_OF_RESOURCES;
		}
		h->win[v].len = 0;
		st = efi_http_fetch(h, off, &ahead, h->win[v].buf, FALSE);
		if (EFI_ERROR(st))
			return st;
		h->win[v].off = off;
		h->win[v].len = (UINTN)ahead;
		h->win[v].used = ++h->uses;
	}
	return EFI_SUCCESS;
}

BOOLEAN efi_http_said(const struct efi_http *h)
{
	for (; h; h = h->chain_next)
		if (h->said)
			return TRUE;
	return FALSE;
}

BOOLEAN efi_http_esc(const struct efi_http *h)
{
	for (; h; h = h->chain_next)
		if (h->esc)
			return TRUE;
	return FALSE;
}

void efi_http_keep_reason(struct efi_http *h)
{
	for (; h; h = h->chain_next)
		h->keep_reason = TRUE;
}

const CHAR16 *efi_http_reason(const struct efi_http *h)
{
	for (; h; h = h->chain_next)
		if (h->fatal && h->reason[0])
			return h->reason;
	return NULL;
}

void efi_http_chain_add(struct efi_http *child, struct efi_http *parent)
{
	if (!child || !parent)
		return;
	while (child->chain_next)
		child = child->chain_next;
	child->chain_next = parent;
	parent->chain_prev = child;
	parent->keep_reason = child->keep_reason;
}

UINT64 efi_http_size(const struct efi_http *h)
{
	return h->size;
}

EFI_HANDLE efi_http_nic(const struct efi_http *h)
{
	return h->nic;
}

void efi_http_close(struct efi_http *h)
{
	UINTN i;

	if (!h)
		return;
	if (h->chain_prev)
		h->chain_prev->chain_next = h->chain_next;
	if (h->chain_next)
		h->chain_next->chain_prev = h->chain_prev;
	efi_http_drop(h);
	if (h->event)
		BS->CloseEvent(h->event);
	for (i = 0; i < EFI_HTTP_WINDOWS; i++)
		efi_pages_free(h->win[i].buf, EFI_HTTP_WINDOW);
	if (h->url)
		FreePool(h->url);
	if (h->url16)
		FreePool(h->url16);
	if (h->pages)
		FreePool(h->pages);
	FreePool(h);
}

/* The firmware's trusted CA list exists (HttpDxe refuses https without it). */
static BOOLEAN efi_http_have_cas(void)
{
	static CHAR16 name[] = L"TlsCaCertificate";
	UINTN size = 0;
	EFI_STATUS st = RT->GetVariable(name, &efi_tls_ca_guid, NULL, &size, NULL);

	return st == EFI_BUFFER_TOO_SMALL || (!EFI_ERROR(st) && size);
}

EFI_STATUS efi_http_open(struct efi_http **ret, const char *url, EFI_HANDLE nic)
{
	struct vhdx_url u;
	struct efi_http *h;
	struct vhdx_text t;
	const char *why = NULL;
	UINTN n, i;
	UINT64 len;
	EFI_STATUS st;

	*ret = NULL;
	for (n = 0; url[n]; n++)
		;
	if (vhdx_url_parse(&u, url, n, &why) != VHDX_OK)
		return efi_refusef(L"%a: not a URL vhdx reads: %a", url, why ? why : "invalid");
	h = AllocateZeroPool(sizeof(*h));
	if (!h)
		return efi_out_of_memory();
	*ret = h;
	h->nic = nic;
	h->https = u.scheme == VHDX_URL_HTTPS;
	/* a DNS name has a letter in its last label; an address has none */
	h->host_is_name = !u.host_is_ipv6 && u.host_len &&
			  !(u.host[u.host_len - 1] >= '0' && u.host[u.host_len - 1] <= '9');
	h->url = AllocatePool(u.origin_len + u.path_len + 1);
	h->url16 = AllocatePool((u.origin_len + u.path_len + 1) * sizeof(CHAR16));
	h->win[0].buf = efi_pages_alloc(EFI_HTTP_WINDOW);
	h->pages = AllocateZeroPool(EFI_HTTP_PAGE_SLOTS * sizeof(*h->pages));
	if (!h->url || !h->url16 || !h->win[0].buf || !h->pages)
		return efi_out_of_memory();
	CopyMem(h->url, url, u.origin_len);
	CopyMem(h->url + u.origin_len, u.path, u.path_len);
	h->url[u.origin_len + u.path_len] = 0;
	for (i = 0; i <= u.origin_len + u.path_len; i++)
		h->url16[i] = (CHAR16)(UINT8)h->url[i]; /* vhdx_url_parse: ASCII only */
	vhdx_text_init(&t, (char *)h->host, sizeof(h->host));
	if (u.host_is_ipv6)
		vhdx_text_str(&t, "[");
	for (i = 0; i < u.host_len && t.pos + 1 < t.len; i++)
		t.buf[t.pos++] = u.host[i];
	t.buf[t.pos] = 0;
	if (u.host_is_ipv6)
		vhdx_text_str(&t, "]");
	if (u.port_given) {
		vhdx_text_str(&t, ":");
		vhdx_text_u64(&t, u.port);
	}
	if (h->https && !efi_http_have_cas())
		return efi_con_failf(EFI_APP_REFUSED,
				     L"%a: TLS: the firmware has no trusted CA list (TlsCaCertificate; OVMF takes it from fw_cfg etc/edk2/https/cacerts)",
				     h->url);
	st = BS->HandleProtocol(nic, &efi_http_sb_guid, (void **)&h->sb);
	if (EFI_ERROR(st))
		return efi_refusef(L"%a: the network interface has no HTTP driver: %r", h->url, st);
	st = BS->CreateEvent(0, 0, NULL, NULL, &h->event);
	if (EFI_ERROR(st)) {
		h->event = NULL;
		return efi_con_failf(EFI_APP_FAILED, L"%a: cannot create an event: %r", h->url, st);
	}
	/* the first GET: the size, and the header section into the window */
	len = EFI_HTTP_PROBE;
	st = efi_http_fetch(h, 0, &len, h->win[0].buf, TRUE);
	if (EFI_ERROR(st)) {
		CHAR16 words[64];

		if (!h->fatal)
			efi_refusef(L"%a: %s", h->url, efi_http_why(st, words));
		/* EFI_NOT_FOUND: a 404, which a chain counts as an absent parent */
		return h->esc ? EFI_ABORTED : st == EFI_NOT_FOUND && h->fatal ? EFI_NOT_FOUND : EFI_APP_REFUSED;
	}
	h->win[0].off = 0;
	h->win[0].len = (UINTN)len;
	h->win[0].used = ~0ull; /* kept */
	return EFI_SUCCESS;
}

EFI_STATUS efi_target_url(struct efi_target *t, const struct vhdx_cli *cli, BOOLEAN for_write)
{
	EFI_HANDLE nic = NULL;
	EFI_STATUS st;
	UINTN n;

	for (n = 0; cli->target[n]; n++)
		;
	t->kind = EFI_TARGET_URL;
	t->name = AllocateZeroPool((n + 1) * sizeof(CHAR16));
	if (!t->name)
		return efi_out_of_memory();
	efi_text_from_utf8(cli->target, t->name, n + 1);
	if (for_write)
		return efi_refusef(L"%s: a URL is read, never written: give a disk or a file",
				     t->name);
	st = efi_net_up(cli, &nic);
	if (EFI_ERROR(st))
		return st;
	st = efi_http_open(&t->http, cli->target, nic);
	return st == EFI_NOT_FOUND ? EFI_APP_REFUSED : st;
}
