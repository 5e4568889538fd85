/* SPDX-License-Identifier: MIT */
/*
 * host_bmap.c - `vhdx bmap SOURCE OUT.bmap` and `vhdx verify --bmap F TARGET`
 * on the host, over the core's bmap writer and parser (vhdx_bmap.h) and
 * the disks of host_disk.h (VHDX chains, dirty logs through the overlay,
 * raw files and devices).
 *
 * bmap: the mapped ranges are the 4096-byte blocks that hold a non-zero
 * byte; a range never crosses a BMAP_WINDOW boundary of the disk, so each
 * is at most 1 MiB and lies in one aligned buffer (a deploy can check a
 * range before it writes it).  Windows that map as ZERO are not read.
 * The file is written beside OUT, synced and renamed over it.
 *
 * verify: exit 0 every range's SHA-256 matches (and with --zeros every
 * unmapped block reads as zeros), 1 the first bad range or block named,
 * 2 could not run (a bad bmap, an unreadable disk, another size).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host_disk.h"
#include "vhdx_bmap.h"

#define BMAP_WINDOW (1024u * 1024u)          /* [byte] a range's longest, and the read unit */
#define BMAP_FILE_MAX (256ull * 1024 * 1024) /* [byte] the largest bmap read (2.5M ranges) */

struct range_list {
	struct vhdx_bmap_range *r;
	size_t n, cap;
};

static int range_add(struct range_list *l, uint64_t first, uint64_t last, const uint8_t *data, size_t len)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		struct vhdx_bmap_range *r = realloc(l->r, cap * sizeof(*r));

		if (!r)
			return -1;
		l->r = r;
		l->cap = cap;
	}
	l->r[l->n].first = first;
	l->r[l->n].last = last;
	vhdx_sha256(data, len, l->r[l->n].sha256);
	l->n++;
	return 0;
}

/* Whether [off, off + len) holds any extent that is not ZERO.  0/1, -1 printed. */
static int window_has_data(struct host_disk *d, uint64_t off, uint64_t len)
{
	struct vhdx_extent e;

	while (len) {
		if (host_disk_map(d, off, len, &e) < 0)
			return -1;
		if (e.kind == VHDX_EXTENT_DATA)
			return 1;
		off += e.length;
		len -= e.length;
	}
	return 0;
}

/* The ranges of the window at @off (@len bytes in @buf): runs of non-zero blocks. */
static int window_ranges(struct range_list *l, const uint8_t *buf, uint64_t off, size_t len)
{
	size_t at = 0, run = 0;
	bool in_run = false;

	for (at = 0; at <= len; at += VHDX_BMAP_BLOCK) {
		size_t n = len - at < VHDX_BMAP_BLOCK ? len - at : VHDX_BMAP_BLOCK;
		bool data = at < len && !vhdx_is_zero(buf + at, n);

		if (data && !in_run) {
			run = at;
			in_run = true;
		} else if (!data && in_run) {
			if (range_add(l, (off + run) >> VHDX_BMAP_BLOCK_SHIFT,
				      ((off + at) >> VHDX_BMAP_BLOCK_SHIFT) - 1, buf + run, at - run) < 0)
				return -1;
			in_run = false;
		}
		if (at >= len)
			break;
		if (at + VHDX_BMAP_BLOCK > len) { /* a partial last block: the run ends with it */
			if (in_run && range_add(l, (off + run) >> VHDX_BMAP_BLOCK_SHIFT,
						(off + at) >> VHDX_BMAP_BLOCK_SHIFT, buf + run, len - run) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

/* The bmap text of @l into a new buffer; its length in *ret_len. */
static char *bmap_text(const struct range_list *l, uint64_t image_size, size_t *ret_len)
{
	struct vhdx_bmap_writer w;
	uint64_t mapped = 0;
	size_t cap = 8192 + l->n * 160, len = 0, n, i;
	char *out = malloc(cap), hex[VHDX_SHA256_HEX + 1];
	int err;

	if (!out)
		return NULL;
	for (i = 0; i < l->n; i++)
		mapped += l->r[i].last - l->r[i].first + 1;
	err = vhdx_bmap_write_head(&w, image_size, mapped, out, cap, &n);
	for (len = n, i = 0; !err && i < l->n; i++, len += n)
		err = vhdx_bmap_write_range(&w, &l->r[i], out + len, cap - len, &n);
	if (!err)
		err = vhdx_bmap_write_tail(&w, out + len, cap - len, &n);
	if (!err)
		err = vhdx_bmap_write_checksum(&w, hex);
	if (err) {
		host_error("bmap: the writer refused: %s", vhdx_strerror(err));
		free(out);
		return NULL;
	}
	len += n;
	memcpy(out + w.checksum_offset, hex, VHDX_SHA256_HEX);
	*ret_len = len;
	return out;
}

/* @text to @path: a temporary file beside it, synced, renamed over it, the folder synced. */
static int write_file_atomically(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t done = 0;
	int fd, dfd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= sizeof(tmp)) {
		host_error("%s: %s", path, strerror(ENAMETOOLONG));
		return -1;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		host_error("%s: cannot create a file beside it: %s", path, strerror(errno));
		return -1;
	}
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			host_error("%s: write failed: %s", tmp, strerror(n < 0 ? errno : EIO));
			goto fail;
		}
		done += (size_t)n;
	}
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		host_error("%s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		host_error("%s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		host_error("%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
		goto fail;
	}
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path + 1) : 1, slash ? path : ".");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

int host_cmd_bmap(const struct vhdx_cli *cli)
{
	struct host_disk d;
	struct range_list l = { NULL, 0, 0 };
	struct stat out_st;
	uint8_t *buf = NULL;
	uint64_t off, mapped = 0;
	char *text = NULL;
	size_t text_len = 0, i;
	int st;

	st = host_disk_open(&d, cli->source, cli->source_format);
	if (st != VHDX_EXIT_OK)
		return st;
	st = VHDX_EXIT_USAGE;
	if (stat(cli->target, &out_st) == 0) {
		if (!S_ISREG(out_st.st_mode)) {
			host_error("%s: not a regular file: a bmap is written to a file", cli->target);
			goto out;
		}
		if (host_disk_holds(&d, &out_st)) {
			host_error("%s: is the source (or a level of its chain), not a place for its bmap",
				   cli->target);
			goto out;
		}
	}
	if (!d.size) {
		host_error("%s: an empty disk has no bmap (ImageSize 0)", cli->source);
		goto out;
	}
	buf = aligned_alloc(VHDX_READER_PAGE, BMAP_WINDOW);
	if (!buf) {
		st = host_out_of_memory();
		goto out;
	}
	for (off = 0; off < d.size; off += BMAP_WINDOW) {
		size_t len = d.size - off < BMAP_WINDOW ? (size_t)(d.size - off) : BMAP_WINDOW;
		int has = window_has_data(&d, off, len);

		if (has < 0)
			goto out;
		if (!has)
			continue;
		if (host_disk_read(&d, off, buf, len) < 0)
			goto out;
		if (window_ranges(&l, buf, off, len) < 0) {
			st = host_out_of_memory();
			goto out;
		}
	}
	text = bmap_text(&l, d.size, &text_len);
	if (!text || write_file_atomically(cli->target, text, text_len) < 0)
		goto out;
	for (i = 0; i < l.n; i++)
		mapped += l.r[i].last - l.r[i].first + 1;
	printf("%s: %zu ranges, %llu of %llu blocks of 4096 bytes hold data (ImageSize %llu bytes)\n",
	       cli->target, l.n, (unsigned long long)mapped,
	       (unsigned long long)((d.size + VHDX_BMAP_BLOCK - 1) / VHDX_BMAP_BLOCK), (unsigned long long)d.size);
	st = fflush(stdout) == 0 ? VHDX_EXIT_OK : VHDX_EXIT_USAGE;
out:
	free(text);
	free(l.r);
	free(buf);
	host_disk_close(&d);
	return st;
}

/* The bmap file, whole, at most BMAP_FILE_MAX bytes.  NULL printed. */
static char *read_bmap_file(const char *path, size_t *ret_len)
{
	struct stat st;
	char *text;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		host_error("%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > BMAP_FILE_MAX) {
		host_error("%s: not a bmap: %s", path,
			   S_ISREG(st.st_mode) ? "larger than 256 MiB" : "not a regular file");
		close(fd);
		return NULL;
	}
	text = malloc((size_t)st.st_size + 1);
	while (text && done < (size_t)st.st_size) {
		ssize_t n = read(fd, text + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (!text || done != (size_t)st.st_size) {
		host_error("%s: %s", path, text ? "read failed" : "out of memory");
		free(text);
		close(fd);
		return NULL;
	}
	close(fd);
	*ret_len = done;
	return text;
}

/* SHA-256 of the disk's bytes [start, end), read BMAP_WINDOW at a time. */
static int hash_extent(struct host_disk *d, uint8_t *buf, uint64_t start, uint64_t end, uint8_t *digest)
{
	struct vhdx_sha256 h;

	vhdx_sha256_init(&h);
	while (start < end) {
		size_t n = end - start < BMAP_WINDOW ? (size_t)(end - start) : BMAP_WINDOW;

		if (host_disk_read(d, start, buf, n) < 0)
			return -1;
		vhdx_sha256_update(&h, buf, n);
		start += n;
	}
	vhdx_sha256_final(&h, digest);
	return 0;
}

/* With --zeros: [start, end) reads as zeros.  0 yes, 1 no (*ret_at: the
 * first non-zero byte), -1 printed. */
static int check_zeros(struct host_disk *d, uint8_t *buf, uint64_t start, uint64_t end, uint64_t *ret_at)
{
	while (start < end) {
		struct vhdx_extent e;
		size_t n, i;

		if (host_disk_map(d, start, end - start, &e) < 0)
			return -1;
		n = e.length < BMAP_WINDOW ? (size_t)e.length : BMAP_WINDOW;
		if (e.kind == VHDX_EXTENT_DATA) {
			if (host_disk_read(d, start, buf, n) < 0)
				return -1;
			for (i = 0; i < n; i++)
				if (buf[i]) {
					*ret_at = start + i;
					return 1;
				}
		}
		start += e.kind == VHDX_EXTENT_DATA ? n : e.length;
	}
	return 0;
}

int host_cmd_verify(const struct vhdx_cli *cli)
{
	struct vhdx_bmap_parser p;
	struct vhdx_bmap_range r;
	struct host_disk d;
	char why[256], want[VHDX_SHA256_HEX + 1], got[VHDX_SHA256_HEX + 1];
	uint8_t *buf = NULL, digest[VHDX_SHA256_SIZE];
	uint64_t start, end, next = 0, at, device_tail = 0;
	size_t len;
	char *text = read_bmap_file(cli->bmap, &len);
	int st, z;

	if (!text)
		return VHDX_EXIT_USAGE;
	if (cli->bmap_sha256 && vhdx_bmap_check_pin(text, len, cli->bmap_sha256, NULL, why, sizeof(why)) != VHDX_OK) {
		host_error("%s: %s", cli->bmap, why);
		free(text);
		return VHDX_EXIT_USAGE;
	}
	if (vhdx_bmap_parse(&p, text, len, why, sizeof(why)) != VHDX_OK) {
		host_error("%s: not a valid bmap: %s", cli->bmap, why);
		free(text);
		return VHDX_EXIT_USAGE;
	}
	st = host_disk_open(&d, cli->target, cli->source_format);
	if (st != VHDX_EXIT_OK) {
		free(text);
		return st;
	}
	st = VHDX_EXIT_USAGE;
	if (d.raw && d.t.is_block_device && d.size > p.info.image_size) {
		device_tail = d.size - p.info.image_size; /* an image deployed onto a larger device */
	} else if (d.size != p.info.image_size) {
		host_error("%s: ImageSize %llu bytes differs from %s's %llu bytes: a bmap of another image",
			   cli->bmap, (unsigned long long)p.info.image_size, cli->target, (unsigned long long)d.size);
		goto out;
	}
	buf = aligned_alloc(VHDX_READER_PAGE, BMAP_WINDOW);
	if (!buf) {
		st = host_out_of_memory();
		goto out;
	}
	for (;;) {
		bool more = vhdx_bmap_next(&p, &r);

		start = more ? r.first << VHDX_BMAP_BLOCK_SHIFT : p.info.image_size;
		if (cli->zeros && start > next) {
			z = check_zeros(&d, buf, next, start, &at);
			if (z < 0)
				goto out;
			if (z) {
				printf("%s: block %llu (byte %llu) is not in the bmap's ranges but does not read as "
				       "zeros\n", cli->target, (unsigned long long)(at >> VHDX_BMAP_BLOCK_SHIFT),
				       (unsigned long long)at);
				st = VHDX_EXIT_FAILED;
				goto out;
			}
		}
		if (!more)
			break;
		vhdx_bmap_range_bytes(&r, p.info.image_size, &start, &end);
		if (hash_extent(&d, buf, start, end, digest) < 0)
			goto out;
		if (memcmp(digest, r.sha256, sizeof(digest)) != 0) {
			vhdx_sha256_hex(r.sha256, want);
			vhdx_sha256_hex(digest, got);
			printf("%s: range %llu-%llu (bytes %llu-%llu) does not match %s: expected sha256 %s, found %s\n",
			       cli->target, (unsigned long long)r.first, (unsigned long long)r.last,
			       (unsigned long long)start, (unsigned long long)end - 1, cli->bmap, want, got);
			st = VHDX_EXIT_FAILED;
			goto out;
		}
		next = end;
	}
	printf("%s matches %s: %llu ranges, %llu blocks (%llu bytes of %llu) verified%s", cli->target, cli->bmap,
	       (unsigned long long)p.info.ranges, (unsigned long long)p.info.mapped_blocks,
	       (unsigned long long)(p.info.mapped_blocks << VHDX_BMAP_BLOCK_SHIFT),
	       (unsigned long long)p.info.image_size, cli->zeros ? ", the other blocks read as zeros" : "");
	if (device_tail)
		printf("; the device's last %llu bytes lie beyond the image (not verified)", (unsigned long long)device_tail);
	printf("\n");
	st = fflush(stdout) == 0 ? VHDX_EXIT_OK : VHDX_EXIT_USAGE;
out:
	free(buf);
	free(text);
	host_disk_close(&d);
	return st;
}
