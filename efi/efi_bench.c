/* SPDX-License-Identifier: MIT */
/*
 * efi_bench.c - the hidden `--bench-raw MODE` of create (issue 7 part 4)
 * and convert (issue 14): the baselines our writers are measured against,
 * in the same app and boot.
 *
 *   create --bench-raw write   a plain loop of WriteBlocks of zeros over the
 *                       bytes the planned image would write
 *                       (vhdx_image_total), in chunks of the writer's
 *                       zeroing buffer size, then one FlushBlocks; prints
 *                       elapsed time and MiB/s.
 *   convert --bench-raw copy   a plain copy loop for a deploy: the bytes
 *                       of the source's file (or device) from its first
 *                       payload byte, as many as the deploy writes, read
 *                       through the reader's own source (efi_source:
 *                       EFI_FILE Read or ReadBlocks) and written with
 *                       WriteBlocks at increasing offsets, in convert's
 *                       chunk from convert's buffer, then one FlushBlocks;
 *                       no VHDX logic.  The deploy's own overhead is its
 *                       time against this loop's.
 *
 * Everything before the loop is the real command: TARGET resolution, the
 * refusals (blank check, --force), the plan, the confirmation.  The loops
 * use the same BlockIo path as the writers' sink (efi_bio_write: MediaId,
 * LBA, LastBlock) and the same exclusive open of the target.  Time from
 * the TSC / generic timer calibrated against Stall (efi_clock_us); the
 * write loop prints the RTC (GetTime, whole seconds) beside it as a check
 * on the calibration.  Block devices only.
 */
#include "efi_app.h"
#include "vhdx_url.h"

static BOOLEAN efi_bench_is(const char *mode, const char *name)
{
	UINTN i;

	for (i = 0; name[i] && mode[i] == name[i]; i++)
		;
	return name[i] == 0 && mode[i] == 0;
}

BOOLEAN efi_bench_mode_known_for(enum vhdx_cli_cmd cmd, const char *mode)
{
	if (cmd == VHDX_CMD_CREATE)
		return efi_bench_is(mode, "write");
	if (cmd == VHDX_CMD_CONVERT)
		return efi_bench_is(mode, "copy") || efi_bench_is(mode, "tcp4") || efi_bench_is(mode, "tcp4d");
	return FALSE;
}

/* seconds since midnight from the RTC, or -1 */
static INT64 efi_bench_rtc(void)
{
	EFI_TIME tm;

	if (EFI_ERROR(RT->GetTime(&tm, NULL)))
		return -1;
	return (INT64)tm.Hour * 3600 + tm.Minute * 60 + tm.Second;
}

EFI_STATUS efi_bench_raw(const struct vhdx_cli *cli, struct efi_target *t,
			 const struct vhdx_plan *plan, UINTN chunk, EFI_HANDLE image)
{
	EFI_BLOCK_IO *bio = NULL;
	UINT64 total = vhdx_image_total(plan), done = 0, t0, t1, us, ms, calls = 0, flush_us;
	INT64 rtc0, rtc1;
	void *zeros;
	EFI_STATUS st;
	char line[240];
	struct vhdx_text s;

	(void)cli;
	total &= ~(UINT64)(t->bio.block_size - 1);
	if (total > t->bio.size)
		total = t->bio.size;
	zeros = efi_pages_alloc(chunk);
	if (!zeros)
		return efi_con_failf(EFI_OUT_OF_RESOURCES, L"no memory for a %ld-byte buffer",
				     (UINT64)chunk);
	ZeroMem(zeros, chunk);
	/* the same exclusive open as the writer (efi_create.c) */
	st = BS->OpenProtocol(t->dev->handle, &gEfiBlockIoProtocolGuid, (void **)&bio, image, NULL,
			      EFI_OPEN_PROTOCOL_EXCLUSIVE);
	if (EFI_ERROR(st) || bio != t->bio.bio) {
		if (!EFI_ERROR(st))
			BS->CloseProtocol(t->dev->handle, &gEfiBlockIoProtocolGuid, image, NULL);
		efi_pages_free(zeros, chunk);
		return efi_refusef(L"%s: cannot get exclusive access: %r", t->name,
				   EFI_ERROR(st) ? st : EFI_MEDIA_CHANGED);
	}
	rtc0 = efi_bench_rtc();
	t0 = efi_clock_us();
	while (done < total) {
		UINTN n = total - done < chunk ? (UINTN)(total - done) : chunk;

		st = efi_bio_write(&t->bio, done, zeros, n);
		if (EFI_ERROR(st))
			break;
		done += n;
		calls++;
	}
	t1 = efi_clock_us();
	if (!EFI_ERROR(st))
		st = t->bio.bio->FlushBlocks(t->bio.bio);
	us = efi_clock_us() - t0;
	flush_us = efi_clock_us() - t1;
	rtc1 = efi_bench_rtc();
	BS->CloseProtocol(t->dev->handle, &gEfiBlockIoProtocolGuid, image, NULL);
	BS->ConnectController(t->dev->handle, NULL, NULL, TRUE);
	efi_pages_free(zeros, chunk);
	if (EFI_ERROR(st))
		return efi_con_failf(EFI_APP_FAILED, L"bench-raw: write failed at byte %ld: %r", done,
				     st);
	ms = us / 1000 ? us / 1000 : 1;
	vhdx_text_init(&s, line, sizeof(line));
	vhdx_text_str(&s, "bench-raw write: wrote ");
	vhdx_text_u64(&s, done);
	vhdx_text_str(&s, " bytes in ");
	vhdx_text_u64(&s, ms);
	vhdx_text_str(&s, " ms (");
	vhdx_text_u64(&s, done / 1024 * 1000 / ms / 1024);
	vhdx_text_str(&s, " MiB/s), ");
	vhdx_text_u64(&s, calls);
	vhdx_text_str(&s, " WriteBlocks of up to ");
	vhdx_text_u64(&s, chunk);
	vhdx_text_str(&s, " bytes, ");
	vhdx_text_u64(&s, flush_us / 1000);
	vhdx_text_str(&s, " ms in 1 flush; RTC ");
	if (rtc0 >= 0 && rtc1 >= 0)
		vhdx_text_u64(&s, (UINT64)((rtc1 - rtc0 + 86400) % 86400));
	else
		vhdx_text_str(&s, "?");
	vhdx_text_str(&s, " s\n");
	efi_con_utf8(line);
	return EFI_SUCCESS;
}

/* "N ms" of microseconds, at least 1 where a rate divides by it */
static UINT64 efi_bench_ms(UINT64 us)
{
	return us / 1000 ? us / 1000 : 1;
}

static EFI_STATUS efi_bench_tcp4(const char *url, EFI_HANDLE nic, BOOLEAN options, UINT64 from,
				 struct efi_bio *dst, UINT64 size, void *buf, UINTN chunk);

EFI_STATUS efi_bench_copy(const char *mode, const char *url, const struct vhdx_source *s,
			  const struct efi_source *es, UINT64 from, struct efi_bio *dst, UINT64 size, void *buf,
			  UINTN chunk)
{
	UINT64 done = 0, t0, t1, t2, read_us = 0, write_us = 0, flush_us, us, ms, calls = 0;
	const CHAR16 *op = L"read";
	EFI_STATUS st = EFI_SUCCESS;
	char line[300];
	struct vhdx_text l;

	if (!efi_bench_is(mode, "copy")) {
		if (!es->http)
			return efi_refuse("bench-raw tcp4: the source must be an http:// URL");
		return efi_bench_tcp4(url, efi_http_nic(es->http), efi_bench_is(mode, "tcp4"), from, dst, size,
				      buf, chunk);
	}
	t0 = efi_clock_us();
	while (done < size) {
		UINTN n = size - done < chunk ? (UINTN)(size - done) : chunk;

		t1 = efi_clock_us();
		if (s->read(s, from + done, buf, n)) {
			st = EFI_ERROR(es->status) ? es->status : EFI_DEVICE_ERROR;
			break;
		}
		t2 = efi_clock_us();
		read_us += t2 - t1;
		st = efi_bio_write(dst, done, buf, n);
		write_us += efi_clock_us() - t2;
		if (EFI_ERROR(st)) {
			op = L"write";
			break;
		}
		done += n;
		calls++;
	}
	t1 = efi_clock_us();
	if (!EFI_ERROR(st)) {
		op = L"flush";
		st = dst->bio->FlushBlocks(dst->bio);
	}
	t2 = efi_clock_us();
	flush_us = t2 - t1;
	us = t2 - t0;
	if (EFI_ERROR(st))
		return efi_con_failf(EFI_APP_FAILED, L"bench-raw copy: %s failed at byte %ld: %r", op, done, st);
	ms = efi_bench_ms(us);
	vhdx_text_init(&l, line, sizeof(line));
	vhdx_text_str(&l, "bench-raw copy: ");
	vhdx_text_u64(&l, done);
	vhdx_text_str(&l, " bytes in ");
	vhdx_text_u64(&l, ms);
	vhdx_text_str(&l, " ms, ");
	vhdx_text_u64(&l, done / 1024 * 1000 / ms / 1024);
	vhdx_text_str(&l, " MiB/s; reads ");
	vhdx_text_u64(&l, read_us / 1000);
	vhdx_text_str(&l, " ms, writes ");
	vhdx_text_u64(&l, write_us / 1000);
	vhdx_text_str(&l, " ms, 1 flush ");
	vhdx_text_u64(&l, flush_us / 1000);
	vhdx_text_str(&l, " ms; ");
	vhdx_text_u64(&l, calls);
	vhdx_text_str(&l, " reads and writes of up to ");
	vhdx_text_u64(&l, chunk);
	vhdx_text_str(&l, " bytes from source byte ");
	vhdx_text_u64(&l, from);
	vhdx_text_str(&l, "\n");
	efi_con_utf8(line);
	return EFI_SUCCESS;
}

/* ---- convert --bench-raw tcp4 / tcp4d URL DISK: issue 20's experiment ----
 *
 * The same bytes as `copy` (size from byte from of the file), fetched in
 * ONE GET over EFI_TCP4 directly (UEFI 2.10 section 28.1.3, gnu-efi's
 * efitcp.h), each Receive given the whole free part of buf: does a large
 * receive buffer with window scaling (tcp4: EFI_TCP4_OPTION, 4 MiB) or the
 * driver's defaults (tcp4d: no options, as HttpDxe configures it) beat
 * EFI_HTTP_PROTOCOL's one segment per Response()?  http:// with an IPv4
 * address only; no TLS, no retry, no ESC: a measurement, not a deploy. */

#define EFI_BENCH_TCP4_RCVBUF (4u << 20)   /* [byte] the socket's receive buffer (tcp4) */
#define EFI_BENCH_TCP4_WAIT_US (30u * 1000000u) /* [us] without progress: failed */

static EFI_GUID efi_bench_tcp4_sb_guid = EFI_TCP4_SERVICE_BINDING_PROTOCOL;
static EFI_GUID efi_bench_tcp4_guid = EFI_TCP4_PROTOCOL;

struct efi_bench_tcp4 {
	EFI_SERVICE_BINDING *sb;
	EFI_HANDLE child;
	EFI_TCP4 *tcp;
	EFI_EVENT event;
	UINT64 calls;              /* Receive calls that returned data */
};

/* Polls until the token's event fires: its status, or EFI_TIMEOUT. */
static EFI_STATUS efi_bench_tcp4_wait(struct efi_bench_tcp4 *b, EFI_TCP4_COMPLETION_TOKEN *tok)
{
	UINT64 start = efi_clock_us();

	while (BS->CheckEvent(b->event) != EFI_SUCCESS) {
		b->tcp->Poll(b->tcp);
		if (efi_clock_us() - start > EFI_BENCH_TCP4_WAIT_US) {
			b->tcp->Cancel(b->tcp, tok);
			return EFI_TIMEOUT;
		}
	}
	return tok->Status;
}

/* a.b.c.d of the URL's host, or FALSE */
static BOOLEAN efi_bench_ipv4(const char *h, UINTN n, EFI_IPv4_ADDRESS *ip)
{
	UINTN i, part = 0, digits = 0;
	UINT32 v = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || h[i] == '.') {
			if (!digits || v > 255 || part > 3)
				return FALSE;
			ip->Addr[part++] = (UINT8)v;
			v = 0;
			digits = 0;
		} else if (h[i] >= '0' && h[i] <= '9' && digits < 3) {
			v = v * 10 + (UINT32)(h[i] - '0');
			digits++;
		} else {
			return FALSE;
		}
	}
	return part == 4;
}

static EFI_STATUS efi_bench_tcp4_open(struct efi_bench_tcp4 *b, EFI_HANDLE nic, const struct vhdx_url *u,
				      BOOLEAN options)
{
	EFI_TCP4_CONFIG_DATA cfg;
	EFI_TCP4_OPTION opt;
	EFI_TCP4_CONNECTION_TOKEN conn;
	UINT64 start = efi_clock_us();
	EFI_STATUS st;

	st = BS->HandleProtocol(nic, &efi_bench_tcp4_sb_guid, (void **)&b->sb);
	if (!EFI_ERROR(st))
		st = b->sb->CreateChild(b->sb, &b->child);
	if (!EFI_ERROR(st))
		st = BS->HandleProtocol(b->child, &efi_bench_tcp4_guid, (void **)&b->tcp);
	if (!EFI_ERROR(st))
		st = BS->CreateEvent(0, 0, NULL, NULL, &b->event);
	if (EFI_ERROR(st))
		return st;
	ZeroMem(&cfg, sizeof(cfg));
	ZeroMem(&opt, sizeof(opt));
	cfg.TimeToLive = 64;
	cfg.AccessPoint.UseDefaultAddress = TRUE;
	cfg.AccessPoint.ActiveFlag = TRUE;
	cfg.AccessPoint.RemotePort = u->port;
	if (!efi_bench_ipv4(u->host, u->host_len, &cfg.AccessPoint.RemoteAddress))
		return EFI_UNSUPPORTED;
	/* edk2's TcpDxe defaults but for the receive buffer and scaling */
	opt.ReceiveBufferSize = EFI_BENCH_TCP4_RCVBUF;
	opt.SendBufferSize = 65536;
	opt.MaxSynBackLog = 1;
	opt.ConnectionTimeout = 75;     /* [s] */
	opt.DataRetries = 12;
	opt.FinTimeout = 600;           /* [s] */
	opt.TimeWaitTimeout = 120;      /* [s] */
	opt.KeepAliveProbes = 4;
	opt.KeepAliveTime = 7200;       /* [s] */
	opt.KeepAliveInterval = 75;     /* [s] */
	opt.EnableTimeStamp = TRUE;
	opt.EnableWindowScaling = TRUE;
	cfg.ControlOption = options ? &opt : NULL;
	while ((st = b->tcp->Configure(b->tcp, &cfg)) == EFI_NO_MAPPING && efi_clock_us() - start < 15000000u)
		BS->Stall(100000);
	if (EFI_ERROR(st))
		return st;
	ZeroMem(&conn, sizeof(conn));
	conn.CompletionToken.Event = b->event;
	st = b->tcp->Connect(b->tcp, &conn);
	if (!EFI_ERROR(st))
		st = efi_bench_tcp4_wait(b, &conn.CompletionToken);
	return st;
}

static void efi_bench_tcp4_close(struct efi_bench_tcp4 *b)
{
	if (b->tcp) {
		EFI_TCP4_CLOSE_TOKEN close;

		ZeroMem(&close, sizeof(close));
		close.CompletionToken.Event = b->event;
		close.AbortOnClose = TRUE;
		if (!EFI_ERROR(b->tcp->Close(b->tcp, &close)))
			efi_bench_tcp4_wait(b, &close.CompletionToken);
		b->tcp->Configure(b->tcp, NULL);
	}
	if (b->child)
		b->sb->DestroyChild(b->sb, b->child);
	if (b->event)
		BS->CloseEvent(b->event);
}

/* One Transmit (tx) or Receive of n bytes at p, waited for: *got bytes
 * moved (a receive ends the stream with EFI_END_OF_FILE at 0 bytes). */
static EFI_STATUS efi_bench_tcp4_io(struct efi_bench_tcp4 *b, BOOLEAN tx, UINT8 *p, UINTN n, UINTN *got)
{
	union {
		EFI_TCP4_TRANSMIT_DATA tx;
		EFI_TCP4_RECEIVE_DATA rx;
	} data;
	EFI_TCP4_IO_TOKEN tok;
	EFI_STATUS st;

	ZeroMem(&data, sizeof(data));
	ZeroMem(&tok, sizeof(tok));
	tok.CompletionToken.Event = b->event;
	if (tx) {
		data.tx.Push = TRUE;
		data.tx.DataLength = (UINT32)n;
		data.tx.FragmentCount = 1;
		data.tx.FragmentTable[0].FragmentLength = (UINT32)n;
		data.tx.FragmentTable[0].FragmentBuffer = p;
		tok.Packet.TxData = &data.tx;
		st = b->tcp->Transmit(b->tcp, &tok);
	} else {
		data.rx.DataLength = (UINT32)n;
		data.rx.FragmentCount = 1;
		data.rx.FragmentTable[0].FragmentLength = (UINT32)n;
		data.rx.FragmentTable[0].FragmentBuffer = p;
		tok.Packet.RxData = &data.rx;
		st = b->tcp->Receive(b->tcp, &tok);
	}
	if (!EFI_ERROR(st))
		st = efi_bench_tcp4_wait(b, &tok.CompletionToken);
	*got = EFI_ERROR(st) ? 0 : tx ? n : data.rx.DataLength;
	return st;
}

static EFI_STATUS efi_bench_tcp4_send(struct efi_bench_tcp4 *b, char *req, UINTN n)
{
	UINTN sent;

	return efi_bench_tcp4_io(b, TRUE, (UINT8 *)req, n, &sent);
}

/* Up to n bytes into p: *got of them (at least 1 on success). */
static EFI_STATUS efi_bench_tcp4_recv(struct efi_bench_tcp4 *b, UINT8 *p, UINTN n, UINTN *got)
{
	EFI_STATUS st = efi_bench_tcp4_io(b, FALSE, p, n, got);

	if (!EFI_ERROR(st) && !*got)
		st = EFI_END_OF_FILE;
	b->calls += *got != 0;
	return st;
}

/* The header's end in p[0, n): the offset after "\r\n\r\n", or 0. */
static UINTN efi_bench_header_end(const UINT8 *p, UINTN n)
{
	UINTN i;

	for (i = 3; i < n; i++)
		if (p[i - 3] == '\r' && p[i - 2] == '\n' && p[i - 1] == '\r' && p[i] == '\n')
			return i + 1;
	return 0;
}

static EFI_STATUS efi_bench_tcp4(const char *url, EFI_HANDLE nic, BOOLEAN options, UINT64 from,
				 struct efi_bio *dst, UINT64 size, void *buf, UINTN chunk)
{
	struct efi_bench_tcp4 b;
	struct vhdx_url u;
	struct vhdx_text t;
	const char *why = NULL;
	char req[600], line[300];
	UINT8 *p = buf;
	UINTN n, fill = 0, head = 0, got;
	UINT64 done = 0, t0, us, ms, write_us = 0, t1;
	EFI_STATUS st;

	for (n = 0; url[n]; n++)
		;
	if (vhdx_url_parse(&u, url, n, &why) != VHDX_OK || u.scheme != VHDX_URL_HTTP || u.path_len > 400)
		return efi_refuse("bench-raw tcp4: an http:// URL with an IPv4 address and a short path only");
	vhdx_text_init(&t, req, sizeof(req));
	vhdx_text_str(&t, "GET ");
	for (n = 0; n < u.path_len; n++)
		req[t.pos++] = u.path[n];
	req[t.pos] = 0;
	vhdx_text_str(&t, " HTTP/1.1\r\nHost: ");
	for (n = 0; n < u.host_len && n < 64; n++)
		req[t.pos++] = u.host[n];
	req[t.pos] = 0;
	vhdx_text_str(&t, "\r\nRange: bytes=");
	vhdx_text_u64(&t, from);
	vhdx_text_str(&t, "-");
	vhdx_text_u64(&t, from + size - 1);
	vhdx_text_str(&t, "\r\nUser-Agent: vhdx-bench\r\nConnection: close\r\n\r\n");
	ZeroMem(&b, sizeof(b));
	t0 = efi_clock_us();
	st = efi_bench_tcp4_open(&b, nic, &u, options);
	if (!EFI_ERROR(st))
		st = efi_bench_tcp4_send(&b, req, t.pos);
	/* the status line and headers, then the body: written from buf in
	 * chunks, each Receive offered all of buf that is free */
	while (!EFI_ERROR(st) && done < size) {
		st = efi_bench_tcp4_recv(&b, p + fill, chunk - fill, &got);
		if (EFI_ERROR(st))
			break;
		fill += got;
		if (!head) {
			head = efi_bench_header_end(p, fill);
			if (!head) {
				if (fill == chunk)
					st = EFI_PROTOCOL_ERROR;
				continue;
			}
			if (fill < 13 || CompareMem(p + 9, "206", 3) != 0) {
				st = EFI_PROTOCOL_ERROR;
				break;
			}
			CopyMem(p, p + head, fill - head);
			fill -= head;
		}
		if (fill > size - done)
			fill = (UINTN)(size - done);
		if (fill == chunk || done + fill == size) {
			t1 = efi_clock_us();
			st = efi_bio_write(dst, done, p, fill);
			write_us += efi_clock_us() - t1;
			done += fill;
			fill = 0;
		}
	}
	if (!EFI_ERROR(st))
		st = dst->bio->FlushBlocks(dst->bio);
	us = efi_clock_us() - t0;
	efi_bench_tcp4_close(&b);
	if (EFI_ERROR(st))
		return efi_con_failf(EFI_APP_FAILED, L"bench-raw tcp4: failed at body byte %ld: %r", done, st);
	ms = efi_bench_ms(us);
	vhdx_text_init(&t, line, sizeof(line));
	vhdx_text_str(&t, options ? "bench-raw tcp4 (4 MiB receive buffer, window scaling): " :
				    "bench-raw tcp4d (TcpDxe's default options): ");
	vhdx_text_u64(&t, done);
	vhdx_text_str(&t, " bytes in ");
	vhdx_text_u64(&t, ms);
	vhdx_text_str(&t, " ms, ");
	vhdx_text_u64(&t, done / 1024 * 1000 / ms / 1024);
	vhdx_text_str(&t, " MiB/s; ");
	vhdx_text_u64(&t, b.calls);
	vhdx_text_str(&t, " Receive calls (");
	vhdx_text_u64(&t, b.calls ? done / b.calls : 0);
	vhdx_text_str(&t, " bytes each), writes ");
	vhdx_text_u64(&t, write_us / 1000);
	vhdx_text_str(&t, " ms; one GET from source byte ");
	vhdx_text_u64(&t, from);
	vhdx_text_str(&t, "\n");
	efi_con_utf8(line);
	return EFI_SUCCESS;
}
