/* SPDX-License-Identifier: MIT */
/*
 * faultshim.c - an LD_PRELOAD library for the host tests: counts the calls
 * that change a target (pwrite, fdatasync/fsync, fallocate, the
 * BLKZEROOUT ioctl) and makes one of them fail, so that no test code lives
 * in the product.  Built by the test scripts with cc into $BUILD/tests/.
 *
 * Environment:
 *   FAULT_OP      write | flush | zero: the kind of call to fail;
 *                 any: count all three kinds together;
 *                 read: a pread of a file descriptor opened read-only
 *                   (a source: the tool opens its target read-write);
 *                   not counted in any
 *   FAULT_AT      1-based index of that call among calls of its kind
 *   FAULT_MODE    eio, enospc: the call fails with that errno;
 *                 short: that write writes half (a sector multiple) and
 *                   returns the short count, later calls are normal;
 *                 full: that write is short, and every later write and
 *                   allocating fallocate fails with ENOSPC (a disk that
 *                   filled up; punching a hole frees space, so it works)
 *                 kill: the process kills itself with SIGKILL instead of
 *                   making that call (a crash: no cleanup can run)
 *   FAULT_NOZERO  1: FALLOC_FL_ZERO_RANGE and BLKZEROOUT fail with
 *                   EOPNOTSUPP, as on tmpfs: the tool writes zeros (plain
 *                   allocation and punching holes still work)
 *   FAULT_NOSYNC  1: flushes are counted (and fail as asked) but not passed
 *                   on: the tests read the target through the same page
 *                   cache, and 300 runs of five fdatasync each cost minutes
 *                   on a busy disk
 *   FAULT_DELAY_US  sleep this long before each write and zero call (all
 *                   of it, signals or not, like a slow device)
 *   FAULT_NODIRECT  open: open(2) with O_DIRECT fails with EINVAL (a
 *                   target that takes no direct writes); write: a pwrite
 *                   on a descriptor with O_DIRECT fails with EINVAL (one
 *                   that refuses the alignment), neither counted nor traced
 *   FAULT_REPORT  a file that receives "writes=N flushes=N zeros=N" at exit,
 *                 "reads=N" on a second line (reads of read-only fds) and
 *                 "direct=N" on a third (writes counted that were made on
 *                 a descriptor with O_DIRECT)
 *   FAULT_TRACE   a file that receives one line per call, in order:
 *                 "write OFFSET LENGTH HEX" (HEX: the first 8 bytes written,
 *                 or fewer), "flush", "zero OFFSET LENGTH" (fallocate,
 *                 posix_fallocate, BLKZEROOUT; "zero - -" for BLKZEROOUT);
 *                 calls that fail by FAULT_OP are traced too
 *   FAULT_ALLOC_OVER  malloc and aligned_alloc of this many bytes or more
 *                 fail with ENOMEM (the tool's buffers: 1 MiB and up; libc's
 *                 own small allocations go through)
 *   FAULT_DNS     1: getaddrinfo of a name (not a numeric address) answers
 *                 EAI_NONAME at once, asking no resolver: a DNS failure
 *                 under the real libcurl with no query leaving the machine
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <arpa/inet.h>
#include <linux/fs.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

enum kind { K_WRITE, K_FLUSH, K_ZERO, K_ANY, K_READ };
static long counts[5], direct_writes;
static const char *nodirect = "";
static int trace_fd = -1;
static int fail_kind = -1;
static long fail_at;
static int fail_errno;
static int mode_short, mode_full, mode_kill, full_now, nozero, nosync, dns_fails;
static long delay_us;
static size_t alloc_over;

__attribute__((constructor)) static void shim_init(void)
{
	const char *op = getenv("FAULT_OP"), *at = getenv("FAULT_AT"), *mode = getenv("FAULT_MODE");
	const char *d = getenv("FAULT_DELAY_US"), *nz = getenv("FAULT_NOZERO");

	if (op && at && mode) {
		fail_kind = !strcmp(op, "write") ? K_WRITE : !strcmp(op, "flush") ? K_FLUSH :
			    !strcmp(op, "zero") ? K_ZERO : !strcmp(op, "any") ? K_ANY :
			    !strcmp(op, "read") ? K_READ : -1;
		fail_at = atol(at);
		if (!strcmp(mode, "eio"))
			fail_errno = EIO;
		else if (!strcmp(mode, "enospc"))
			fail_errno = ENOSPC;
		else if (!strcmp(mode, "short"))
			mode_short = 1;
		else if (!strcmp(mode, "full"))
			mode_full = 1;
		else if (!strcmp(mode, "kill"))
			mode_kill = 1;
		else
			fail_kind = -1;
	}
	delay_us = d ? atol(d) : 0;
	alloc_over = getenv("FAULT_ALLOC_OVER") ? strtoull(getenv("FAULT_ALLOC_OVER"), NULL, 10) : 0;
	nozero = nz && !strcmp(nz, "1");
	nosync = getenv("FAULT_NOSYNC") && !strcmp(getenv("FAULT_NOSYNC"), "1");
	dns_fails = getenv("FAULT_DNS") && !strcmp(getenv("FAULT_DNS"), "1");
	if (getenv("FAULT_NODIRECT"))
		nodirect = getenv("FAULT_NODIRECT");
	if (getenv("FAULT_TRACE"))
		trace_fd = open(getenv("FAULT_TRACE"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

static void trace(const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	if (trace_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0 && write(trace_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0)
		trace_fd = -1;
}

__attribute__((destructor)) static void shim_report(void)
{
	const char *path = getenv("FAULT_REPORT");
	FILE *f;

	if (!path || !(f = fopen(path, "w")))
		return;
	fprintf(f, "writes=%ld flushes=%ld zeros=%ld\nreads=%ld\ndirect=%ld\n", counts[K_WRITE], counts[K_FLUSH],
		counts[K_ZERO], counts[K_READ], direct_writes);
	fclose(f);
}

static void delay(void)
{
	struct timespec ts;

	if (delay_us <= 0)
		return;
	ts.tv_sec = delay_us / 1000000;
	ts.tv_nsec = delay_us % 1000000 * 1000;
	/* a slow device does not return early on a signal: sleep it all */
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* 1: fail this call with fail_errno; 2: make it short (writes only). */
static int decide(enum kind k)
{
	long n = ++counts[k], any = k == K_READ ? counts[K_ANY] : ++counts[K_ANY];

	if (fail_kind == K_ANY && k != K_READ)
		n = any;
	else if ((int)k != fail_kind)
		return 0;
	if (n != fail_at)
		return 0;
	if (mode_kill)
		raise(SIGKILL);
	if (mode_short || mode_full) {
		full_now = mode_full;
		return k == K_WRITE ? 2 : 0;
	}
	return 1;
}

static void *real(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f) {
		fprintf(stderr, "faultshim: no %s\n", name);
		abort();
	}
	return f;
}

static ssize_t do_pwrite(const char *name, int fd, const void *buf, size_t len, off64_t off)
{
	ssize_t (*fn)(int, const void *, size_t, off64_t) = real(name);
	int full_before = full_now;
	const unsigned char *p = buf;
	int flags = fcntl(fd, F_GETFL);
	bool direct = flags >= 0 && (flags & O_DIRECT);
	char hex[17] = "";
	size_t i;

	if (direct && !strcmp(nodirect, "write")) {
		errno = EINVAL;
		return -1;
	}
	direct_writes += direct;
	for (i = 0; i < 8 && i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", p[i]);
	trace("write %lld %zu %s\n", (long long)off, len, hex);
	delay();
	switch (decide(K_WRITE)) {
	case 1:
		errno = fail_errno;
		return -1;
	case 2:
		/* half, in whole 4 KiB units where it can (O_DIRECT on 4Kn) */
		len = len >= 8192 ? len / 2 / 4096 * 4096 : len >= 1024 ? len / 2 / 512 * 512 : len / 2;
		return fn(fd, buf, len, off);
	}
	if (full_before) {
		errno = ENOSPC;
		return -1;
	}
	return fn(fd, buf, len, off);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return do_pwrite("pwrite", fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	return do_pwrite("pwrite64", fd, buf, len, off);
}

static int do_open(const char *name, const char *path, int flags, mode_t mode)
{
	int (*fn)(const char *, int, ...) = real(name);

	if ((flags & O_DIRECT) && !strcmp(nodirect, "open")) {
		errno = EINVAL;
		return -1;
	}
	return fn(path, flags, mode);
}

/* open and open64: the mode taken from the varargs where the flags use it */
#define OPEN_WRAPPER(fn)                                               \
	int fn(const char *path, int flags, ...)                       \
	{                                                              \
		mode_t mode = 0;                                       \
		va_list ap;                                            \
                                                                       \
		if (flags & (O_CREAT | O_TMPFILE)) {                   \
			va_start(ap, flags);                           \
			mode = (mode_t)va_arg(ap, int);                \
			va_end(ap);                                    \
		}                                                      \
		return do_open(#fn, path, flags, mode);                \
	}
OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)

static int do_sync(const char *name, int fd)
{
	int (*fn)(int) = real(name);

	trace("flush\n");
	if (decide(K_FLUSH) == 1) {
		errno = fail_errno;
		return -1;
	}
	return nosync ? 0 : fn(fd);
}

int fdatasync(int fd)
{
	return do_sync("fdatasync", fd);
}

int fsync(int fd)
{
	return do_sync("fsync", fd);
}

static int do_fallocate(const char *name, int fd, int mode, off64_t off, off64_t len)
{
	int (*fn)(int, int, off64_t, off64_t) = real(name);

	if (nozero && (mode & FALLOC_FL_ZERO_RANGE)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	trace("zero %lld %lld\n", (long long)off, (long long)len);
	delay();
	if (decide(K_ZERO) == 1) {
		errno = fail_errno;
		return -1;
	}
	if (full_now && !(mode & FALLOC_FL_PUNCH_HOLE)) {
		errno = ENOSPC;
		return -1;
	}
	return fn(fd, mode, off, len);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	return do_fallocate("fallocate", fd, mode, off, len);
}

int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	return do_fallocate("fallocate64", fd, mode, off, len);
}

/* posix_fallocate returns the error number instead of setting errno. */
static int do_posix_fallocate(const char *name, int fd, off64_t off, off64_t len)
{
	int (*fn)(int, off64_t, off64_t) = real(name);

	trace("zero %lld %lld\n", (long long)off, (long long)len);
	delay();
	if (decide(K_ZERO) == 1)
		return fail_errno;
	if (full_now)
		return ENOSPC;
	return fn(fd, off, len);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
	return do_posix_fallocate("posix_fallocate", fd, off, len);
}

int posix_fallocate64(int fd, off64_t off, off64_t len)
{
	return do_posix_fallocate("posix_fallocate64", fd, off, len);
}

int ioctl(int fd, unsigned long req, ...)
{
	int (*fn)(int, unsigned long, void *) = real("ioctl");
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == BLKZEROOUT) {
		if (nozero) {
			errno = EOPNOTSUPP;
			return -1;
		}
		trace("zero - -\n");
		delay();
		if (decide(K_ZERO) == 1) {
			errno = fail_errno;
			return -1;
		}
	}
	return fn(fd, req, arg);
}

/* reads of a file descriptor opened read-only: a source, not the target */
static ssize_t do_pread(const char *name, int fd, void *buf, size_t len, off64_t off)
{
	ssize_t (*fn)(int, void *, size_t, off64_t) = real(name);
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && (fl & O_ACCMODE) == O_RDONLY && decide(K_READ) == 1) {
		errno = fail_errno;
		return -1;
	}
	return fn(fd, buf, len, off);
}

ssize_t pread(int fd, void *buf, size_t len, off_t off)
{
	return do_pread("pread", fd, buf, len, off);
}

ssize_t pread64(int fd, void *buf, size_t len, off64_t off)
{
	return do_pread("pread64", fd, buf, len, off);
}

/* glibc's own allocator under our malloc: dlsym itself may allocate */
extern void *__libc_malloc(size_t len);
extern void *__libc_memalign(size_t align, size_t len);

static int alloc_fails(size_t len)
{
	if (alloc_over && len >= alloc_over) {
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *malloc(size_t len)
{
	return alloc_fails(len) ? NULL : __libc_malloc(len);
}

void *aligned_alloc(size_t align, size_t len)
{
	return alloc_fails(len) ? NULL : __libc_memalign(align, len);
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
	unsigned char addr[16];

	if (dns_fails && node && inet_pton(AF_INET, node, addr) != 1 && inet_pton(AF_INET6, node, addr) != 1)
		return EAI_NONAME;
	return ((int (*)(const char *, const char *, const struct addrinfo *, struct addrinfo **))real(
		"getaddrinfo"))(node, service, hints, res);
}
